"""`python -m bench`: run every benchmark, print the table, write bench/results/latest.json."""

from __future__ import annotations

import sys
from pathlib import Path

from bench import app_bench, ask_bench, lab_bench, quiz_bench, search_bench
from bench.report import table, write
from triops.testing import CHROMIUM, CHROMIUM_ARGS, chromium_missing_reason

RESULTS = Path(__file__).parent / "results" / "latest.json"


def main() -> int:
    figures = []
    figures += app_bench.rerun()
    figures += quiz_bench.save_latency()
    figures.append(quiz_bench.start_exam())
    figures.append(quiz_bench.grading())
    figures.append(quiz_bench.semantic_grading())
    figures += search_bench.run()
    figures += ask_bench.ask_figures()
    reason = chromium_missing_reason()
    if reason:
        print(f"bench: browser figures skipped: {reason}", file=sys.stderr)
    else:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            figures.append(app_bench.startup(browser))
            figures.append(app_bench.memory(browser))
            figures.append(app_bench.memory_with_model(browser))
            browser.close()
    figures.append(quiz_bench.idle_exam_cpu())
    reason = lab_bench.available()
    if reason:
        print(f"bench: lab figures skipped: {reason}", file=sys.stderr)
    else:
        figures.append(lab_bench.start_overhead())
        figures.append(lab_bench.cpu_job())
        figures.append(lab_bench.ci_lab())
    print(table(figures))
    write(figures, RESULTS)
    print(f"\nwritten to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
