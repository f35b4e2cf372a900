"""Check for the ci-build lab: every job green, a real matrix, the wheel, and a gate that holds.

Nothing here trusts the run's log text: results come from the run report's job results, the
wheel is opened and its metadata compared with the learner's pyproject.toml, and the gate is
tested by running the workflow again with a test that always fails.

The report is `RunReport.to_dict()` from `triops.labs.ci.report`: ``report["jobs"]`` lists jobs
with ``id``, ``name``, ``result`` and ``cells`` (one per matrix combination, each with ``name``,
``matrix`` and ``status``: success, failure, cancelled or skipped). `_jobs` flattens that to one
entry per cell and also accepts flat job entries. Each artifact is a folder named after its
upload, so the wheel is ``<artifacts>/wheel/*.whl``.
"""

from __future__ import annotations

import tomllib
import zipfile
from email.parser import HeaderParser
from pathlib import Path

from triops.content.yamlsource import LEARNER_YAML, YamlSyntaxError, parse_yaml

JOBS = ("lint", "test", "build")
WORKFLOW = ".github/workflows/ci.yml"

# Files the check adds in its reruns. They pass the starter's ruff configuration, so lint stays
# green and only the tests decide the outcome.
GATE_PROBE = (
    "tests/unit/test_zz_gate_probe.py",
    '''\
"""Added by the check: a test that always fails, to see whether build waits for test."""


def test_the_gate_holds():
    raise AssertionError("the check broke this test on purpose")
''',
)

# The lab's own cases for reading_time, so that editing the expected values in
# tests/unit/test_core.py cannot make the check pass.
REFERENCE_TESTS = (
    "tests/unit/test_zz_reference_reading_time.py",
    '''\
"""Added by the check: the lab's reference cases for reading_time."""

import pytest

from textstats import reading_time


@pytest.mark.parametrize(
    ("n_words", "wpm", "minutes"),
    [
        (0, 200, 0),
        (1, 200, 1),
        (199, 200, 1),
        (200, 200, 1),
        (201, 200, 2),
        (399, 200, 2),
        (401, 200, 3),
        (500, 200, 3),
        (61, 60, 2),
        (90, 60, 2),
    ],
)
def test_reference_reading_time(n_words, wpm, minutes):
    assert reading_time("word " * n_words, wpm=wpm) == minutes
''',
)


def check(ctx):
    """Return a list of (criterion, passed, reason) for this run."""
    results = []
    jobs = _jobs(ctx.report)
    all_green = _all_green(jobs)
    results.append(all_green)
    results.append(_matrix_ran(jobs))
    results.append(_wheel(Path(ctx.workdir), Path(ctx.artifacts)))
    results.append(_gate(ctx, jobs, run_is_green=all_green[1]))
    results.append(_reference_tests(ctx, run_is_green=all_green[1]))
    return results


# --- criteria -------------------------------------------------------------------------------


def _all_green(jobs):
    criterion = "Every job is green (lint, both test cells, build)"
    missing = [job for job in JOBS if not any(j["id"] == job for j in jobs)]
    if missing:
        return criterion, False, f"the run has no job named {', '.join(missing)}"
    red = [f"{j['label']}: {j['result']}" for j in jobs if j["result"] != "success"]
    if red:
        return criterion, False, "not green: " + "; ".join(red)
    return criterion, True, "succeeded: " + ", ".join(j["label"] for j in jobs)


def _matrix_ran(jobs):
    criterion = "The test matrix ran at least two cells"
    ran = [j for j in jobs if j["id"] == "test" and j["result"] in ("success", "failure")]
    cells = {repr(sorted(j["matrix"].items())) if j["matrix"] else j["label"] for j in ran}
    if len(cells) >= 2:
        return criterion, True, f"{len(cells)} cells ran: " + ", ".join(j["label"] for j in ran)
    return (
        criterion,
        False,
        f"{len(cells)} test cell(s) ran; give strategy.matrix two test groups "
        "(and keep fail-fast: false so a failing cell does not cancel the other)",
    )


def _wheel(workdir: Path, artifacts: Path):
    criterion = "The `wheel` artifact holds the package's wheel, with pyproject's name and version"
    try:
        project = tomllib.loads((workdir / "pyproject.toml").read_text(encoding="utf-8"))
        name, version = project["project"]["name"], str(project["project"]["version"])
    except (OSError, tomllib.TOMLDecodeError, KeyError) as exc:
        return criterion, False, f"cannot read name and version from pyproject.toml: {exc}"
    dist = name.replace("-", "_").replace(".", "_").lower()
    folder = artifacts / "wheel"
    wheels = sorted(folder.glob("*.whl")) if folder.is_dir() else []
    if not wheels:
        found = sorted(p.relative_to(artifacts).as_posix() for p in artifacts.rglob("*.whl"))
        where = f" (found {', '.join(found)})" if found else ""
        return criterion, False, f"no .whl in an artifact named `wheel`{where}"
    expected_prefix = f"{dist}-{version}-"
    matching = [w for w in wheels if w.name.lower().startswith(expected_prefix)]
    if not matching:
        names = ", ".join(w.name for w in wheels)
        return criterion, False, f"expected {expected_prefix}*.whl, the artifact has {names}"
    wheel = matching[0]
    try:
        headers, has_code = _read_wheel(wheel, dist, version)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        return criterion, False, f"{wheel.name} is not a readable wheel: {exc}"
    if (headers["Name"], headers["Version"]) != (name, version):
        found = f"{headers['Name']} {headers['Version']}"
        return criterion, False, f"{wheel.name} says it is {found}, pyproject says {name} {version}"
    if not has_code:
        return criterion, False, f"{wheel.name} contains no {dist}/*.py module"
    return criterion, True, f"{wheel.name} ({name} {version})"


# A wheel is a zip the learner's run built: read it like untrusted input. A 1.5 MB zip once
# inflated to 15.8 GB in this check; now every size is checked before anything is inflated.
WHEEL_MAX_BYTES = 50 << 20
WHEEL_MAX_ENTRIES = 10_000
METADATA_MAX_BYTES = 1 << 20


def _read_wheel(wheel: Path, dist: str, version: str):
    """(METADATA headers, whether it holds a module of the package), within size caps."""
    if wheel.is_symlink() or not wheel.is_file():
        raise ValueError("not a regular file")
    if wheel.stat().st_size > WHEEL_MAX_BYTES:
        raise ValueError(f"larger than {WHEEL_MAX_BYTES >> 20} MB")
    with zipfile.ZipFile(wheel) as archive:
        entries = archive.infolist()
        if len(entries) > WHEEL_MAX_ENTRIES:
            raise ValueError(f"more than {WHEEL_MAX_ENTRIES:,} entries")
        info = archive.getinfo(f"{dist}-{version}.dist-info/METADATA")
        if info.file_size > METADATA_MAX_BYTES:
            raise ValueError(f"its METADATA says it is {info.file_size:,} bytes")
        with archive.open(info) as handle:
            raw = handle.read(METADATA_MAX_BYTES + 1)  # the declared size may lie
        if len(raw) > METADATA_MAX_BYTES:
            raise ValueError(f"its METADATA inflates past {METADATA_MAX_BYTES:,} bytes")
        headers = HeaderParser().parsestr(raw.decode("utf-8", "replace"))
        has_code = any(
            e.filename.startswith(f"{dist}/") and e.filename.endswith(".py") for e in entries
        )
    return headers, has_code


def _gate(ctx, jobs, *, run_is_green: bool):
    criterion = "build waits for lint and test (needs), and is skipped when a test fails"
    failed = [j["label"] for j in jobs if j["id"] in ("lint", "test") and j["result"] == "failure"]
    builds = [j for j in jobs if j["id"] == "build"]
    if failed and any(b["result"] == "success" for b in builds):
        return (
            criterion,
            False,
            f"build ran and succeeded although {', '.join(failed)} failed: "
            "an artifact was published from a broken commit",
        )
    needs = _build_needs(Path(ctx.workdir) / WORKFLOW)
    if isinstance(needs, str):
        return criterion, False, needs
    if not {"lint", "test"} <= needs:
        missing = ", ".join(sorted({"lint", "test"} - needs))
        return criterion, False, f"build does not need {missing}"
    if not run_is_green:
        return criterion, False, "not tested yet: make every job green, then the check reruns it"
    rerun = _jobs(_report_of(ctx.rerun(lambda folder: _add(folder, *GATE_PROBE))))
    test_failed = any(j["id"] == "test" and j["result"] == "failure" for j in rerun)
    build_results = sorted({j["result"] for j in rerun if j["id"] == "build"})
    if not test_failed:
        return (
            criterion,
            False,
            "with a failing test added, the test job did not fail: let pytest's exit status "
            "fail the step (no `|| true`, no continue-on-error)",
        )
    if build_results != ["skipped"]:
        return (
            criterion,
            False,
            f"with a failing test added, build was {', '.join(build_results) or 'missing'} "
            "instead of skipped",
        )
    return criterion, True, "with a failing test added, test failed and build was skipped"


def _reference_tests(ctx, *, run_is_green: bool):
    criterion = "reading_time passes the lab's own reference tests"
    if not run_is_green:
        return criterion, False, "not tested yet: make every job green first"
    rerun = _jobs(_report_of(ctx.rerun(lambda folder: _add(folder, *REFERENCE_TESTS))))
    tests = [j for j in rerun if j["id"] == "test"]
    if tests and all(j["result"] == "success" for j in tests):
        return criterion, True, "the reference cases pass"
    return (
        criterion,
        False,
        "the lab's reference cases for reading_time fail: fix the function, not the test's "
        "expected values",
    )


# --- helpers --------------------------------------------------------------------------------


def _jobs(report) -> list[dict]:
    """One dict (id, label, matrix, result) per job, or per matrix cell where the job has cells."""
    raw = (report or {}).get("jobs") or []
    entries = raw.items() if isinstance(raw, dict) else ((None, job) for job in raw)
    jobs = []
    for key, job in entries:
        label = str(job.get("name") or key or job.get("id") or job.get("job") or "?")
        job_id = str(job.get("id") or job.get("job") or label.split(" (")[0])
        for cell in job.get("cells") or [job]:
            result = cell.get("result") or cell.get("conclusion") or cell.get("status")
            jobs.append(
                {
                    "id": job_id,
                    "label": str(cell.get("name") or label),
                    "matrix": cell.get("matrix") or {},
                    "result": str(result or "unknown").lower(),
                }
            )
    return jobs


def _report_of(run) -> dict:
    """The report of a rerun, whether `ctx.rerun` returned a context-like object or a dict."""
    return getattr(run, "report", run) or {}


def _build_needs(workflow: Path) -> set[str] | str:
    """The build job's `needs` as a set, or a reason why it cannot be read."""
    try:
        data = parse_yaml(workflow.read_text(encoding="utf-8"), limits=LEARNER_YAML).data
        build = data["jobs"]["build"]
    except (OSError, UnicodeDecodeError, YamlSyntaxError, KeyError, TypeError) as exc:
        return f"cannot read jobs.build from {WORKFLOW}: {exc}"
    needs = build.get("needs", []) if isinstance(build, dict) else []
    return {needs} if isinstance(needs, str) else {str(n) for n in needs}


def _add(folder, relative: str, text: str) -> None:
    path = Path(folder) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
