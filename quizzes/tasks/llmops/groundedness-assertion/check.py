"""Check of llmops/groundedness-assertion: every logged answer is checked against its context.

The candidate's own run must give every test a groundedness assertion. Then the check replaces
answers.yaml with eight logged answers of its own and reruns the candidate's config: four are
faithful paraphrases of their passages, four add one sentence the passages do not support among
two to four that they do (so that a threshold below 1.0 lets some through). With the packaged
embedding model, every supported sentence scores at least 0.49 against its context and every
added one at most 0.18, against the support cut of 0.37 (src/triops/evals/CALIBRATION.md).
"""

from __future__ import annotations

import json

import yaml

RESULTS = "eval/results.json"
TESTS = "answers.yaml"
# The check's own logged answers (its answers.yaml for the rerun).
HIDDEN_TESTS = [
    {
        "description": "faithful: upload size",
        "vars": {
            "question": "Is there a limit on file size?",
            "context": (
                "A single file can be up to 50 GB when uploaded with the desktop app. "
                "The web uploader accepts files up to 5 GB."
            ),
            "answer": (
                "With the desktop app you can upload files of up to 50 GB. In the "
                "browser the limit is 5 GB per file."
            ),
        },
    },
    {
        "description": "faithful: two-factor sign-in",
        "vars": {
            "question": "Can I turn on two-factor authentication?",
            "context": (
                "Two-factor authentication can be turned on in Settings > Security. It "
                "works with any authenticator app that supports TOTP codes."
            ),
            "answer": (
                "Go to Settings > Security to switch on two-factor authentication. Any "
                "authenticator app that supports TOTP codes works."
            ),
        },
    },
    {
        "description": "faithful: family plan members",
        "vars": {
            "question": "How many people can share the Family plan?",
            "context": (
                "The Family plan can be shared by up to 6 people. Each member gets "
                "their own private folder."
            ),
            "answer": (
                "Up to 6 people can share a Family plan. Every member has a private "
                "folder of their own."
            ),
        },
    },
    {
        "description": "faithful: offline access",
        "vars": {
            "question": "Can I open my files without internet?",
            "context": (
                "Files marked as available offline are kept on the device. They can be "
                "opened without a connection and sync when the device is back online."
            ),
            "answer": (
                "Files you mark as available offline are stored on your device, so you "
                "can open them with no connection. Changes sync once you are online "
                "again."
            ),
        },
    },
    {
        "description": "unsupported: invoices",
        "vars": {
            "question": "Where do I find my invoices?",
            "context": (
                "Invoices are listed in Settings > Billing > Invoices and can be downloaded as PDF."
            ),
            "answer": (
                "Your invoices are in Settings > Billing > Invoices, as PDF downloads. "
                "The Stash office dog is called Biscuit."
            ),
        },
    },
    {
        "description": "unsupported: photo backup",
        "vars": {
            "question": "Does the phone app back up my photos?",
            "context": (
                "The mobile app can back up photos and videos automatically. Automatic "
                "backup runs only on Wi-Fi unless you allow mobile data."
            ),
            "answer": (
                "The mobile app backs up photos and videos automatically. By default it"
                " waits for Wi-Fi unless you allow mobile data. Our founders met at a "
                "chess tournament in 2014."
            ),
        },
    },
    {
        "description": "unsupported: storage quota",
        "vars": {
            "question": "What happens when my storage is full?",
            "context": (
                "When storage is full, new files stop syncing. Existing files stay "
                "available and can still be downloaded. You can free space or upgrade "
                "your plan."
            ),
            "answer": (
                "Once storage is full, new files stop syncing. Files already stored "
                "stay available for download. You can free space or upgrade. Every "
                "customer also receives a free printed calendar in December."
            ),
        },
    },
    {
        "description": "unsupported: account deletion",
        "vars": {
            "question": "How do I delete my account?",
            "context": (
                "An account can be deleted from Settings > Account. All files are "
                "erased within 14 days of the deletion."
            ),
            "answer": (
                "Delete your account from Settings > Account. Within 14 days all your "
                "files are erased. Stash sponsors a cycling team in the Alps."
            ),
        },
    },
]
HIDDEN = yaml.safe_dump(HIDDEN_TESTS, sort_keys=False, width=1000)


def _results(run) -> tuple[list[dict] | None, str]:
    text = run.artifact_text(RESULTS)
    if text is None:
        reason = (run.report or {}).get("reasons") or [(run.report or {}).get("message")]
        return None, f"the eval run left no results ({'; '.join(str(r) for r in reason if r)})"
    try:
        results = json.loads(text).get("results")
    except (ValueError, AttributeError):
        return None, "the eval run's results are not readable"
    if not isinstance(results, list):
        return None, "the eval run's results are not readable"
    return [r for r in results if isinstance(r, dict)], ""


def _groundedness(result: dict) -> list[dict]:
    return [
        a
        for a in result.get("assertions") or []
        if isinstance(a, dict) and a.get("type") == "groundedness"
    ]


def _hidden_results(ctx) -> tuple[dict[str, dict], str]:
    results, problem = _results(ctx.rerun({TESTS: HIDDEN}))
    if problem:
        return {}, problem
    by_test = {str(r.get("description")): r for r in results}
    wanted = [t["description"] for t in yaml.safe_load(HIDDEN)]
    missing = [d for d in wanted if d not in by_test]
    if missing:
        return {}, (
            f"with the check's {TESTS}, the run did not grade its tests "
            f"({len(missing)} of {len(wanted)} missing): the config must read its tests from "
            f"file://{TESTS}"
        )
    return {d: by_test[d] for d in wanted}, ""


def groundedness_on_every_test(ctx):
    results, problem = _results(ctx.run())
    if problem:
        return False, problem
    if not results:
        return False, "the eval run graded no test"
    without = [str(r.get("description")) for r in results if not _groundedness(r)]
    if without:
        return False, f"{len(without)} of {len(results)} tests have no groundedness assertion"
    return True, f"all {len(results)} tests are checked for groundedness"


def _verdicts(ctx, kind: str, want: str):
    found, problem = _hidden_results(ctx)
    if problem:
        return False, problem
    wrong = []
    chosen = {d: r for d, r in found.items() if d.startswith(kind + ":")}
    for description, result in chosen.items():
        checks = _groundedness(result)
        if not checks:
            wrong.append(f"'{description}' has no groundedness assertion")
        elif any(a.get("status") != want for a in checks):
            measure = checks[0].get("measure")
            share = f" (supported share {measure:.2f})" if isinstance(measure, float) else ""
            wrong.append(f"'{description}' did not {want}{share}")
    if wrong:
        return False, "; ".join(wrong)
    return True, f"groundedness gave {want} on all {len(chosen)} {kind} answers of the check"


def flags_unsupported_claims(ctx):
    return _verdicts(ctx, "unsupported", "fail")


def passes_faithful_answers(ctx):
    return _verdicts(ctx, "faithful", "pass")
