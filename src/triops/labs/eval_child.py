"""An eval lab's run, in a child process: `python -I -m triops.labs.eval_child CONFIG --out DIR`.

The lab runner (triops.labs.eval_lab) starts this module with the project's Python in a fresh
work folder that holds a copy of the learner's files, and kills it at the lab's wall-clock
limit. The learner wrote only YAML, and only Triops' code runs; still, before it imports
anything heavy, the process protects itself (no preexec_fn in the server: the child does it):
rlimits on address space, CPU seconds, file size and open files, no core files, no new
privileges, and the sandbox launcher's seccomp filter (triops.labs.launcher.confine), which
refuses network sockets, ptrace and namespaces. Then it:

1. loads the config in lab mode: providers triops:extractive and echo only (the run is offline),
   every file:// reference inside the work folder (no absolute path, no `..`, no link out);
2. opens the course's search index from TRIOPS_HOME, building it when it is missing or stale
   (the first build encodes the whole course: about 40 s), and reads the vectors of the
   sentences Ask has quoted from in earlier runs (derived/sentence-vectors-*.npz; this run's new
   ones are stored there at its end): a run that needs no other sentence encodes only its
   questions, and takes about 5 s where it took 18 (measured on the refusal-case-set task,
   2026-12-07); with the query encoder an earlier process saved in derived/, every text is
   encoded with it and sentence-transformers is never imported (triops.search.embedder);
3. runs every prompt x provider x test, printing one line per case as it completes;
4. writes into --out (documented in labs/prompt-eval/README.md):

       protections.json   the protections applied, and those missing with the reason
       results.json       EvalRun.to_dict(): every result row, the totals, the gate's verdicts
       summary.json       the lab's verdict and its reasons, the totals of each column, the
                          gate's rows, and the results matrix in brief

The lab's verdict: pass when the config's gate names a baseline and a candidate prompt, the
candidate passes every test (the baseline is expected to fail some) and every gate holds.

Exit status: 0 verdict pass, 1 verdict fail, 2 a config the lab refuses, 3 the run failed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any

ALLOWED_PROVIDERS = ("triops:extractive", "echo")
SUMMARY_FORMAT = 1
EXIT_PASS, EXIT_FAIL, EXIT_CONFIG, EXIT_ERROR = 0, 1, 2, 3
MISSING_UID = (
    "the eval runs Triops' own code in the project's Python, which the sandbox UIDs cannot "
    "execute; the learner's files are YAML and no learner code runs"
)
MISSING_LANDLOCK = (
    "writes are not confined to the work folder: the run may build the search index in TRIOPS_HOME"
)


# --------------------------------------------------------------------------- protections


def protect(
    *, memory_mb: int, cpu_seconds: int, file_size_mb: int, open_files: int
) -> tuple[list[str], dict[str, str]]:
    """Limit this process (and its threads, none yet) before any heavy import; returns the
    protections applied and the missing ones with the reason."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # SIGXCPU at the soft limit, SIGKILL one second later.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    memory = memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    size = file_size_mb * 2**20
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))
    protections = ["rlimits", "env-clean"]
    missing = {"uid": MISSING_UID, "landlock": MISSING_LANDLOCK}
    # The sandbox launcher's seccomp filter (standard library and libseccomp through ctypes).
    from triops.labs.launcher import confine

    try:
        confine(network=False)
        protections += ["seccomp", "network-off"]
    except OSError as exc:
        missing["seccomp"] = exc.strerror or str(exc)
        missing["network-off"] = (
            "no seccomp filter: only the lab's provider check keeps the run offline"
        )
    return protections, missing


# --------------------------------------------------------------------------- the verdict


def lab_verdict(config, run) -> tuple[bool, list[str]]:
    """(passed, reasons): the gate names a baseline and a candidate, the candidate passes every
    test and every gate holds."""
    gate = config.gate
    if gate is None or gate.baseline is None or gate.candidate is None or not gate.rules:
        return False, ["the config has no gate naming a baseline and a candidate prompt"]
    candidate = config.prompt(gate.candidate)
    reasons = []
    rows = [r for r in run.results if r.prompt_id == candidate.id]
    bad = [r for r in rows if r.status in ("fail", "error")]
    if bad:
        first = bad[0]
        reasons.append(
            f"{candidate.label} fails {len(bad)} of {len(rows)} tests "
            f"(first: {first.description or first.test_key}: {first.reason})"
        )
    for result in run.gates:
        failed = [r for r in result.rows if r.verdict == "fail"]
        if failed:
            listed = "; ".join(f"{r.metric} {r.rule}: {r.reason}" for r in failed)
            reasons.append(f"the gate stops {result.candidate}: {listed}")
    if not run.gates:
        reasons.append("the gate compared nothing: no column of the baseline and the candidate")
    return not reasons, reasons


def summary(config, run, *, passed: bool, reasons: list[str], seconds: float) -> dict[str, Any]:
    """The summary.json of a completed run (labs/prompt-eval/README.md documents it)."""
    gate = config.gate
    columns = [t.column for t in run.totals]
    matrix: dict[int, dict[str, Any]] = {}
    for row in run.results:
        entry = matrix.setdefault(
            row.test_index,
            {
                "test_index": row.test_index,
                "test_key": row.test_key,
                "description": row.description,
                "vars": row.vars,
                "cells": {},
            },
        )
        entry["cells"][row.column] = {
            "status": row.status,
            "score": row.score,
            "reason": row.reason,
            "output": row.output,
            "abstained": row.abstained,
            "confidence": row.confidence,
            "tokens": row.tokens_prompt + row.tokens_completion,
            "cost": row.cost,
            "latency_ms": row.latency_ms,
            "assertions": [
                {"type": a.type, "status": a.status, "score": a.score, "measure": a.measure}
                for a in row.assertions
            ],
        }
    return {
        "format": SUMMARY_FORMAT,
        "status": "complete",
        "verdict": "pass" if passed else "fail",
        "reasons": reasons,
        "config": Path(config.path).name,
        "config_hash": run.config_hash,
        "description": run.description,
        "currency": run.currency,
        "baseline": config.prompt(gate.baseline).id if gate and gate.baseline else None,
        "candidate": config.prompt(gate.candidate).id if gate and gate.candidate else None,
        "columns": [{"column": t.column, **t.model_dump(mode="json")} for t in run.totals],
        "gates": [{**g.model_dump(mode="json"), "passed": g.passed} for g in run.gates],
        "column_order": columns,
        "matrix": [matrix[i] for i in sorted(matrix)],
        "skipped": run.skipped,
        "problems": [],
        "seconds": round(seconds, 3),
    }


def _write(path: Path, data: Any) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(partial, path)


def _case_line(row) -> str:
    from triops.evals.report import STATUS, case_label

    label = " ".join(case_label(row).split())
    line = (
        f"{row.prompt_label} · {label}: {STATUS[row.status]} {row.score:.2f} · "
        f"{row.tokens_prompt + row.tokens_completion} tokens · {row.latency_ms:.0f} ms"
    )
    if row.confidence is not None:
        line += f" · confidence {row.confidence:.3f}"
    if row.status in ("fail", "error"):
        line += f" · {row.reason}"
    return line


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m triops.labs.eval_child")
    parser.add_argument("config", help="the eval config, inside the work folder (the cwd)")
    parser.add_argument("--out", required=True, help="folder for the run's JSON files")
    parser.add_argument("--memory-mb", type=int, default=4096)
    parser.add_argument("--cpu-seconds", type=int, default=600)
    parser.add_argument("--file-size-mb", type=int, default=256)
    parser.add_argument("--open-files", type=int, default=1024)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    protections, missing = protect(
        memory_mb=args.memory_mb,
        cpu_seconds=args.cpu_seconds,
        file_size_mb=args.file_size_mb,
        open_files=args.open_files,
    )
    _write(out / "protections.json", {"protections": protections, "missing": missing})
    print("protections: " + ", ".join(protections), flush=True)
    for name, why in missing.items():
        print(f"missing protection {name}: {why}", flush=True)
    try:
        return _run(Path(args.config), out, started)
    except MemoryError:
        reason = f"the run needed more than {args.memory_mb} MB of memory"
        return _failed(out, started, reason, status="memory-limit")
    except Exception as exc:  # a bug: say so in the summary as well as the log
        traceback.print_exc()
        sys.stdout.flush()
        return _failed(out, started, f"the run failed: {type(exc).__name__}: {exc}")


def _failed(out: Path, started: float, reason: str, *, status: str = "error") -> int:
    print(f"error: {reason}", flush=True)
    _write(
        out / "summary.json",
        {
            "format": SUMMARY_FORMAT,
            "status": status,
            "verdict": "fail",
            "reasons": [reason],
            "config": None,
            "problems": [],
            "seconds": round(time.monotonic() - started, 3),
        },
    )
    return EXIT_ERROR


def _run(config_path: Path, out: Path, started: float) -> int:
    from triops.config import get_settings
    from triops.errors import TriopsError
    from triops.evals.config import EvalConfigError, load_config
    from triops.evals.report import format_gate, format_skips, format_totals
    from triops.evals.runner import run_eval
    from triops.labs.spec import load_labs
    from triops.search.ask import persisted_sentences
    from triops.search.service import course_index

    work = Path.cwd()
    try:
        config = load_config(config_path, root=work, providers=ALLOWED_PROVIDERS)
    except EvalConfigError as exc:
        problems = [p.to_dict() for p in exc.problems]
        for p in exc.problems:
            print(str(p).replace(str(work) + os.sep, ""), flush=True)
        _write(
            out / "summary.json",
            {
                "format": SUMMARY_FORMAT,
                "status": "config-error",
                "verdict": "fail",
                "reasons": [f"the config has {len(problems)} error(s)"],
                "config": config_path.name,
                "problems": problems,
                "seconds": round(time.monotonic() - started, 3),
            },
        )
        return EXIT_CONFIG
    print(
        f"{config_path.name}: {len(config.prompts)} prompts x {len(config.providers)} providers "
        f"x {len(config.tests)} tests = {config.case_count} cases",
        flush=True,
    )
    try:
        embedder = index = None
        if config.needs_index:
            print("opening the course's search index…", flush=True)
            # The traced query encoder saved in TRIOPS_HOME is read, never written: this
            # process's file-size limit would kill it in the middle of a 90 MB save.
            index, embedder = course_index(
                get_settings(), load_labs, log=lambda t: print(t, flush=True), save_encoder=False
            )
        elif config.needs_embedder:
            from triops.search.embedder import default_embedder

            settings = get_settings()
            embedder = default_embedder(settings.embed_model, settings.derived_dir, save=False)
        # Ask's sentence vectors from earlier runs in this TRIOPS_HOME, and this run's added
        # for the next: a run whose sentences are all there encodes only its questions.
        with persisted_sentences(embedder):
            run = run_eval(
                config,
                embedder=embedder,
                index=index,
                on_result=lambda row: print(_case_line(row), flush=True),
            )
    except TriopsError as exc:
        return _failed(out, started, exc.user_message)
    run.config_path = config_path.name
    passed, reasons = lab_verdict(config, run)
    _write(out / "results.json", run.to_dict())
    _write(
        out / "summary.json",
        summary(config, run, passed=passed, reasons=reasons, seconds=time.monotonic() - started),
    )
    skips = format_skips(run)
    print("\n" + "\n\n".join(p for p in [skips, format_totals(run)] if p), flush=True)
    for result in run.gates:
        print("\n" + format_gate(result), flush=True)
    print("", flush=True)
    for reason in reasons:
        print(f"not yet: {reason}", flush=True)
    print(f"eval: {'passed' if passed else 'failed'}", flush=True)
    return EXIT_PASS if passed else EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
