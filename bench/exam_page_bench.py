"""CPU of one exam-page rerun (an answer changed, the page drawn again) and of one clock
fragment rerun, against a one-line app's rerun measured in the same run.

The page runs through Streamlit's AppTest from app.py, on a real DuckDB file (and, with
`backend="postgres"`, on a throwaway PostgreSQL from tests/pgserver.py): a profile, an attempt
of the 30-question DevOps practitioner mock, then N reruns that each change the answer on
screen (the save and the redraw that confirms it), N that press Next, and N runs of the clock's
`run_every` fragment. CPU is the script thread's own CPU time (AppTest's polling and parsing in
the main thread left out), which holds on a busy machine better than wall time does.

Not counted: what a server does besides the script run (sending each message over the
websocket from its event loop: bench/exam_server_share.py measures that share on a real
`streamlit run`), the database's own threads (PostgreSQL's server CPU is given in the figure's
note), and a class server's sign-in check (TRIOPS_SIGN_IN=password): the app runs here with the
profile picker of one person's laptop.

    .venv/bin/python -m bench.exam_page_bench                 # figures, DuckDB
    .venv/bin/python -m bench.exam_page_bench --backend postgres
    .venv/bin/python -m bench.exam_page_bench --profile out.prof   # cProfile of the answer reruns
"""

from __future__ import annotations

import argparse
import cProfile
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.report import Figure, table

REPO = Path(__file__).resolve().parents[1]
HELLO = Path(__file__).parent / "apps" / "hello.py"
CLOCK = Path(__file__).parent / "apps" / "exam_clock.py"
EXAM = "devops-practitioner"


def _postgres():
    """The tests' throwaway PostgreSQL server (tests/pgserver.py), as a context manager."""
    import sys

    sys.path.insert(0, str(REPO / "tests"))
    import pgserver  # type: ignore[import-not-found]

    return contextmanager(pgserver.pg_server.__wrapped__)()


def _server_cpu(server) -> float:
    """CPU seconds so far of the PostgreSQL server (the postmaster and its backends); 0 for
    DuckDB, which runs in this process."""
    if server is None:
        return 0.0
    from bench.ws_sessions import process_tree_cpu_seconds

    pid = int((server.folder / "data" / "postmaster.pid").read_text().split()[0])
    return process_tree_cpu_seconds(pid)


@contextmanager
def _home(backend: str) -> Iterator[object | None]:
    """A fresh TRIOPS_HOME (and database for PostgreSQL: the server is yielded), restored
    afterwards."""
    import streamlit as st

    from triops.config import get_settings

    saved = {
        k: os.environ.get(k) for k in ("TRIOPS_HOME", "TRIOPS_SEARCH_WARMUP", "TRIOPS_DATABASE_URL")
    }
    with tempfile.TemporaryDirectory() as home:
        os.environ["TRIOPS_HOME"] = home
        # The page's own cost: no search index building in the background.
        os.environ["TRIOPS_SEARCH_WARMUP"] = "0"
        try:
            if backend == "postgres":
                with _postgres() as server:
                    url = server.create_database()
                    os.environ["TRIOPS_DATABASE_URL"] = url
                    get_settings.cache_clear()
                    try:
                        yield server
                    finally:
                        st.cache_resource.clear()  # the app's pool closes before the server
            else:
                get_settings.cache_clear()
                yield None
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            get_settings.cache_clear()


def _attempt() -> tuple[str, str]:
    """A profile and an open attempt of the mock, through the product's services."""
    from datetime import UTC, datetime

    from triops.config import get_settings
    from triops.quiz import exam as engine
    from triops.quiz.bank import load_bank
    from triops.quiz.blueprint import load_exams
    from triops.store import users
    from triops.store.connection import open_state

    now = datetime.now(UTC).replace(tzinfo=None)
    bank = load_bank(REPO)
    exam = load_exams(REPO, bank).get(EXAM)
    db = open_state(get_settings().state_db)
    try:
        user = users.create_user(db, "Candidate", now)
        row = engine.start(db, exam, bank, user.id, now, random.Random(7))
    finally:
        db.close()
    return user.id, row.token


class ScriptCpu:
    """The CPU time of each script run, taken in the script's own thread (AppTest's polling
    and element-tree parsing in the main thread are left out), optionally under cProfile."""

    def __init__(self) -> None:
        self.runs: list[float] = []
        self.profiler: cProfile.Profile | None = None
        self._patched = None

    def __enter__(self) -> ScriptCpu:
        from streamlit.runtime.scriptrunner import script_runner

        original = script_runner.ScriptRunner._run_script
        self._patched = (script_runner.ScriptRunner, original)
        spy = self

        def timed(runner, rerun_data):
            profiler = spy.profiler
            start = time.thread_time()
            if profiler is not None:
                profiler.enable()
            try:
                return original(runner, rerun_data)
            finally:
                if profiler is not None:
                    profiler.disable()
                spy.runs.append((time.thread_time() - start) * 1000)

        script_runner.ScriptRunner._run_script = timed
        # A server compiles each page once (its ScriptCache is shared by every session);
        # AppTest makes a new cache per run, which would put the compile in every figure.
        from streamlit.runtime.scriptrunner.script_cache import ScriptCache
        from streamlit.testing.v1 import app_test, local_script_runner

        shared = ScriptCache()
        self._caches = (app_test.ScriptCache, local_script_runner.ScriptCache)
        app_test.ScriptCache = local_script_runner.ScriptCache = lambda: shared
        return self

    def __exit__(self, *exc) -> None:
        from streamlit.testing.v1 import app_test, local_script_runner

        cls, original = self._patched
        cls._run_script = original
        app_test.ScriptCache, local_script_runner.ScriptCache = self._caches

    def last(self, fn: Callable[[], object]) -> float:
        """Call fn (one AppTest run) and return its script run's CPU ms."""
        before = len(self.runs)
        fn()
        assert len(self.runs) == before + 1, "expected one script run"
        return self.runs[-1]


class ExamPage:
    """The exam page of one candidate in AppTest, with the steps a candidate takes."""

    def __init__(self, user_id: str, token: str) -> None:
        from streamlit.testing.v1 import AppTest

        self.token = token
        self.at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
        self.at.query_params["profile"] = user_id
        self.at.run()
        self.at.switch_page("app_pages/exam.py")
        self.at.query_params["profile"] = user_id
        self.at.query_params["attempt"] = token
        self.at.query_params["q"] = "1"
        self.at.run()
        self._check()

    def _check(self) -> None:
        assert not self.at.exception, self.at.exception
        assert any(m.value.startswith("**Question ") for m in self.at.markdown), "no question"

    def position(self) -> int:
        q = self.at.query_params["q"]
        return int(q[0] if isinstance(q, list) else q) - 1

    def change_answer(self) -> bool:
        """Change the answer on screen and rerun; False for a question type passed over."""
        key = f"{self.token}-q{self.position()}"
        at = self.at
        radios = [r for r in at.radio if r.key == key]
        texts = [t for t in at.text_input if t.key == key]
        boxes = [c for c in at.checkbox if c.key and c.key.startswith(f"{key}-")]
        if radios:
            radio = radios[0]
            # Options are indices (or True/False): pick one that is not the current one.
            true_false = radio.options == ["True", "False"]
            values = [True, False] if true_false else range(len(radio.options))
            radio.set_value(next(v for v in values if v != radio.value))
        elif texts:
            texts[0].input("42" if texts[0].value != "42" else "42.5")
        elif boxes:
            box = boxes[0]
            box.set_value(not box.value)
        else:
            return False
        at.run()
        self._check()
        assert any(c.value.startswith("Answer saved at") for c in at.caption), "not confirmed"
        return True

    def next(self) -> None:
        at = self.at
        key = "exam-next" if not at.button(key="exam-next").disabled else "exam-prev"
        if key == "exam-prev":
            # From the last question back to the first, as the load test's candidates do.
            at.query_params["q"] = "1"
            at.run()
        else:
            at.button(key=key).click().run()
        self._check()


def _clock_ms(cpu: ScriptCpu, user_id: str, token: str, runs: int) -> list[float]:
    """One run of the clock fragment's body per script run (bench/apps/exam_clock.py)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(CLOCK), default_timeout=60)
    at.query_params["profile"] = user_id
    at.query_params["attempt"] = token
    at.run()
    assert not at.exception, at.exception
    at.run()
    return [cpu.last(at.run) for _ in range(runs)]


def _hello_ms(cpu: ScriptCpu, runs: int) -> list[float]:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(HELLO), default_timeout=60)
    at.run()
    return [cpu.last(at.run) for _ in range(runs)]


def measure(runs: int = 30, backend: str = "duckdb", profile: str | None = None) -> dict:
    """CPU ms per rerun: answer changed, Next pressed, and the one-line app's rerun."""
    with _home(backend) as server, ScriptCpu() as cpu:
        user_id, token = _attempt()
        page = ExamPage(user_id, token)
        for _ in range(3):  # warm: caches, first-run imports
            page.change_answer() or page.next()
            page.next()
        answer: list[float] = []
        nexts: list[float] = []
        if profile:
            cpu.profiler = cProfile.Profile(time.thread_time)  # CPU, not wall
        server_before = _server_cpu(server)
        while len(answer) < runs:
            before = len(cpu.runs)
            if page.change_answer():
                answer.append(cpu.runs[before])
            nexts.append(cpu.last(page.next))
        # The database server's CPU per page run (answer and Next runs alike).
        server_ms = (_server_cpu(server) - server_before) * 1000 / (len(answer) + len(nexts))
        if cpu.profiler is not None:
            cpu.profiler.dump_stats(profile)
            cpu.profiler = None
        clock = _clock_ms(cpu, user_id, token, runs)
        hello = _hello_ms(cpu, runs)
    return {
        "answer": answer,
        "next": nexts,
        "clock": clock,
        "hello": hello,
        "server": [server_ms],
    }


def figures(runs: int = 30, backend: str = "duckdb") -> list[Figure]:
    got = measure(runs, backend)
    hello = statistics.median(got["hello"])
    note = f"{runs} reruns, median CPU ms of the script thread; baseline: one-line app rerun"
    if backend == "postgres":
        note += f"; PostgreSQL's own CPU: {got['server'][0]:.1f} ms per page run"
    return [
        Figure(
            f"exam page rerun after an answer ({backend}, AppTest CPU)",
            statistics.median(got["answer"]),
            "ms",
            hello,
            "",
            note,
        ),
        Figure(
            f"exam page rerun after Next ({backend}, AppTest CPU)",
            statistics.median(got["next"]),
            "ms",
            hello,
            "",
            note,
        ),
        Figure(
            f"exam clock fragment run ({backend}, AppTest CPU)",
            statistics.median(got["clock"]),
            "ms",
            hello,
            "",
            note + "; the fragment's body run as a page",
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--backend", choices=("duckdb", "postgres"), default="duckdb")
    parser.add_argument("--profile", help="write a cProfile of the answer reruns here")
    args = parser.parse_args()
    if args.profile:
        got = measure(args.runs, args.backend, args.profile)
        print({k: round(statistics.median(v), 1) for k, v in got.items()})
        return 0
    got = figures(args.runs, args.backend)
    print(table(got))
    for figure in got:
        print(f"{figure.name}: {figure.note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
