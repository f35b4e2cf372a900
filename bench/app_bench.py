"""Start-up, page rerun time and memory of the app, each against a baseline in the same run."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from bench.generate import scaled_course
from bench.report import Figure, percentile
from triops.testing import streamlit_server

REPO = Path(__file__).resolve().parents[1]
APPS = Path(__file__).parent / "apps"
PAGES = [
    "",
    "learn?lesson=devops-dora-metrics",
    "progress",
    "lifecycles",
    "compare",
    "applications",
    "careers",
    "content-health",
]


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def _start_and_render(browser, script: Path, path: str, wait_text: str, env: dict) -> float:
    """Seconds from launching the server to the text being visible in chromium."""
    with streamlit_server(script, env=env) as server:
        page = browser.new_page()
        page.goto(f"{server.url}/{path}")
        page.get_by_text(wait_text, exact=False).first.wait_for(timeout=60_000)
        elapsed = time.monotonic() - server.started
        page.close()
    return elapsed


def startup(browser, runs: int = 3) -> Figure:
    app_times, hello_times = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as home:
            env = {"TRIOPS_HOME": home}
            hello_times.append(
                _start_and_render(
                    browser, APPS / "hello.py", "", "Hello from the baseline app", env
                )
            )
            app_times.append(
                _start_and_render(
                    browser,
                    REPO / "app.py",
                    "learn?lesson=devops-dora-metrics",
                    "Check yourself",
                    env,
                )
            )
    return Figure(
        "server start to first lesson in chromium (median)",
        sorted(app_times)[runs // 2],
        "s",
        sorted(hello_times)[runs // 2],
        "ratio <= 2",
        f"{runs} runs each; baseline: one-line app",
    )


def memory(browser) -> Figure:
    def visit(script: Path, paths: list[str], env: dict) -> int:
        with streamlit_server(script, env=env) as server:
            page = browser.new_page()
            for path in paths:
                page.goto(f"{server.url}/{path}")
                page.locator("h1, [data-testid=stMarkdown]").first.wait_for(timeout=60_000)
                page.wait_for_timeout(500)
            page.close()
            time.sleep(1)
            return _rss_kb(server.process.pid)

    with tempfile.TemporaryDirectory() as home:
        # The pages' own memory: the search model stays unloaded (the default loads it in the
        # background from the first page view; "RSS with the model" measures that).
        env = {"TRIOPS_HOME": home, "TRIOPS_SEARCH_WARMUP": "0"}
        base = visit(APPS / "hello_imports.py", [""], env)
        app = visit(REPO / "app.py", PAGES, env)
    return Figure(
        "server RSS after visiting every page (search model not loaded)",
        app / 1024,
        "MB",
        base / 1024,
        "ratio <= 1.5",
        "baseline: hello app importing the same libraries; TRIOPS_SEARCH_WARMUP=0",
    )


def _rerun_times(script: Path, params: dict, runs: int) -> list[float]:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(script), default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    if params:
        at.switch_page("app_pages/learn.py")
        for key, value in params.items():
            at.query_params[key] = value
        at.run()
    assert not at.exception, at.exception
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - start) * 1000)
    return times


def rerun(runs: int = 60) -> list[Figure]:
    from triops.config import get_settings

    figures = []
    # The page's own cost: without the search index building in the background from the first
    # page view (a fresh home starts it; it takes a core for about a minute and a half).
    warmup = os.environ.get("TRIOPS_SEARCH_WARMUP")
    os.environ["TRIOPS_SEARCH_WARMUP"] = "0"
    with tempfile.TemporaryDirectory() as home, tempfile.TemporaryDirectory() as big:
        os.environ["TRIOPS_HOME"] = home
        get_settings.cache_clear()
        hello = _rerun_times(APPS / "hello.py", {}, runs)
        real = _rerun_times(REPO / "app.py", {"lesson": "devops-dora-metrics"}, runs)
        figures.append(
            Figure(
                "lesson page rerun, real course (AppTest p95)",
                percentile(real, 95),
                "ms",
                percentile(hello, 95),
                "p95 <= 50 ms",
                "baseline: one-line app rerun; no index build running",
            )
        )
        lessons = scaled_course(REPO, Path(big), copies=10)
        os.environ["TRIOPS_ROOT"] = big
        get_settings.cache_clear()
        scaled = _rerun_times(REPO / "app.py", {"lesson": "devops-dora-metrics-c5"}, runs)
        figures.append(
            Figure(
                f"lesson page rerun, {lessons}-lesson course (AppTest p95)",
                percentile(scaled, 95),
                "ms",
                percentile(hello, 95),
                "p95 <= 150 ms",
                "course generated 10x in a temp dir",
            )
        )
        del os.environ["TRIOPS_ROOT"]
        get_settings.cache_clear()
    if warmup is None:
        os.environ.pop("TRIOPS_SEARCH_WARMUP", None)
    else:
        os.environ["TRIOPS_SEARCH_WARMUP"] = warmup
    get_settings.cache_clear()
    return figures


def memory_with_model(browser) -> Figure:
    """RSS once Search has loaded the model and built the index, against the same server
    before any search page was opened."""
    with tempfile.TemporaryDirectory() as home:
        env = {"TRIOPS_HOME": home}
        with streamlit_server(REPO / "app.py", env=env) as server:
            page = browser.new_page()
            for path in PAGES:
                page.goto(f"{server.url}/{path}")
                page.locator("h1").first.wait_for(timeout=60_000)
            time.sleep(1)
            before = _rss_kb(server.process.pid)
            page.goto(f"{server.url}/search")
            page.get_by_text("Type a few words or a question").wait_for(timeout=600_000)
            time.sleep(1)
            after = _rss_kb(server.process.pid)
            page.close()
    return Figure(
        "server RSS with the search model loaded and the index built",
        after / 1024,
        "MB",
        before / 1024,
        "<= 1200 MB",
        "baseline: the same server before search",
    )
