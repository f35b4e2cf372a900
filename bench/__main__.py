"""`python -m bench`: run every benchmark, print the table, write bench/results/latest.json.

Each figure is printed as soon as it is measured; a benchmark that fails is reported and the
others still run (the exit code is then 1)."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

from bench import (
    accounts_bench,
    app_bench,
    ask_bench,
    drift_bench,
    eval_bench,
    exam_page_bench,
    items_bench,
    lab_bench,
    quiz_bench,
    readiness_bench,
    review_bench,
    search_bench,
    task_bench,
)
from bench.report import Figure, table, write
from triops.tasks import register as register_tasks
from triops.testing import chromium_missing_reason, launch_chromium

register_tasks()  # the hands-on profile draws tasks (triops.quiz.hooks)

RESULTS = Path(__file__).parent / "results" / "latest.json"


def main() -> int:
    figures: list[Figure] = []
    failed: list[str] = []

    def measure(name: str, fn, *args) -> None:
        try:
            got = fn(*args)
        except Exception:  # report and go on: one broken benchmark must not hide the others
            failed.append(name)
            print(f"bench: {name} failed:\n{traceback.format_exc()}", file=sys.stderr)
            return
        for figure in got if isinstance(got, list) else [got]:
            figures.append(figure)
            print(table([figure]).splitlines()[-1], flush=True)

    measure("page rerun", app_bench.rerun)
    measure("answer save", quiz_bench.save_latency)
    measure("exam start", quiz_bench.start_exam)
    measure("exam page rerun", exam_page_bench.figures)
    measure("grading", quiz_bench.grading)
    measure("semantic grading", quiz_bench.semantic_grading)
    measure("search", search_bench.run)
    measure("ask", ask_bench.ask_figures)
    measure("drift report", drift_bench.run)
    measure("eval runner", eval_bench.run)
    measure("item report", items_bench.report_vs_groupby)
    measure("item-writing checks", items_bench.validate_item_writing)
    measure("due queue", review_bench.due_queue)
    measure("readiness after an answer", readiness_bench.after_answer)
    measure("item calibration", readiness_bench.calibration)
    measure("calibration simulation", readiness_bench.simulation)
    measure("placement test", readiness_bench.placement_vs_fixed)
    measure("password sign-in", accounts_bench.sign_in)
    measure("cohort gradebook", accounts_bench.gradebook)
    reason = chromium_missing_reason()
    if reason:
        print(f"bench: browser figures skipped: {reason}", file=sys.stderr)
    else:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = launch_chromium(pw)
            measure("start-up", app_bench.startup, browser)
            measure("memory", app_bench.memory, browser)
            measure("memory with model", app_bench.memory_with_model, browser)
            browser.close()
    measure("idle exam sessions", quiz_bench.idle_exam_cpu)
    reason = lab_bench.available()
    if reason:
        print(f"bench: lab figures skipped: {reason}", file=sys.stderr)
    else:
        measure("sandbox start", lab_bench.start_overhead)
        measure("cpu job", lab_bench.cpu_job)
        measure("ci lab", lab_bench.ci_lab)
        measure("drift lab", lab_bench.drift_lab)
        measure("task open", task_bench.open_task)
        measure("task grading", task_bench.grade_at_submit)
    print()
    print(table(figures))
    write(figures, RESULTS)
    print(f"\nwritten to {RESULTS}")
    if failed:
        print(f"bench: failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
