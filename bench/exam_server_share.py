"""How much of a real exam server's CPU is the script runs: `streamlit run app.py` (a class
server, TRIOPS_SIGN_IN=password, on DuckDB or PostgreSQL) with N of bench/exam_load.py's
candidates sitting the exam over websockets, answering and pressing Next every --interval
seconds.

The server process is started with a sitecustomize that adds up, in each script run's own
thread, the CPU time of the run (as bench/exam_page_bench.py measures it under AppTest). The
server's whole CPU (every thread: the event loop that serialises and sends each element's
delta over the websocket, the script threads, DuckDB's own threads) comes from /proc; with
`--backend postgres` (the tests' throwaway server, tests/pgserver.py) the database's CPU is
its own processes', given apart. Both are read once
every candidate has reached the exam page (so the password sign-ins are left out) and again
when the first candidate stops; the share is the script's part of the server's CPU in that
window, and the CPU per acknowledged save is the server's CPU divided by the saves in it (a
save brings an answer run and a Next run, plus the clock runs of that stretch of time).

    .venv/bin/python -m bench.exam_server_share --candidates 10 --minutes 2.5 --interval 10
    .venv/bin/python -m bench.exam_server_share --backend postgres
    .venv/bin/python -m bench.exam_server_share --loop-profile loop.prof   # the event loop's

The clients run in this process, on the same cores: on a shared machine the figures are noisy;
the share matters more than the absolute milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path

from bench import exam_load
from bench.ws_sessions import process_tree_cpu_seconds
from triops.store.connection import open_state_file
from triops.testing import streamlit_server

REPO = Path(__file__).resolve().parents[1]

# Imported by the server's interpreter at start-up (PYTHONPATH): every script run adds its own
# thread's CPU time to two counters, written to TRIOPS_BENCH_SCRIPT_CPU after each run.
SITECUSTOMIZE = """
import os, threading, time

_out = os.environ.get("TRIOPS_BENCH_SCRIPT_CPU")
if _out:
    from streamlit.runtime.scriptrunner import script_runner as _sr

    _lock = threading.Lock()
    _totals = [0, 0.0]
    _original = _sr.ScriptRunner._run_script

    def _timed(runner, rerun_data):
        start = time.thread_time()
        try:
            return _original(runner, rerun_data)
        finally:
            spent = time.thread_time() - start
            with _lock:
                _totals[0] += 1
                _totals[1] += spent
                line = f"{_totals[0]} {_totals[1]:.6f}\\n"
            with open(_out + ".tmp", "w") as f:
                f.write(line)
            os.replace(_out + ".tmp", _out)

    _sr.ScriptRunner._run_script = _timed

# With TRIOPS_BENCH_LOOP_PROFILE, a cProfile (CPU time) of the main thread, where the server's
# event loop runs (websocket reads and writes, each message's serialisation), written at exit.
_loop = os.environ.get("TRIOPS_BENCH_LOOP_PROFILE")
if _loop:
    import atexit, cProfile

    _profile = cProfile.Profile(time.thread_time)
    _profile.enable()
    atexit.register(lambda: (_profile.disable(), _profile.dump_stats(_loop)))
"""


def _script_totals(path: Path) -> tuple[int, float]:
    try:
        runs, cpu = path.read_text().split()
    except (FileNotFoundError, ValueError):
        return 0, 0.0
    return int(runs), float(cpu)


@contextlib.contextmanager
def _database(backend: str, home: Path):
    """(database URL or "", a function giving the database server's CPU seconds so far)."""
    if backend == "duckdb":
        db = open_state_file(home / "state.duckdb")
        db.close()
        yield "", lambda: 0.0
        return
    from bench.exam_page_bench import _postgres, _server_cpu

    with _postgres() as server:
        yield server.create_database(), lambda: _server_cpu(server)


def _open(url: str, home: Path):
    return exam_load._open_postgres(url) if url else open_state_file(home / "state.duckdb")


def measure(
    candidates: int,
    minutes: float,
    interval: float,
    ramp: float,
    backend: str = "duckdb",
    loop_profile: str | None = None,
) -> dict:
    settle = 20.0  # seconds after the last start for its sign-in and first page runs
    window = minutes * 60 - ramp - settle
    if window < 30:
        raise SystemExit("error: --minutes too short for the ramp: the window would be < 30 s")
    home = Path(tempfile.mkdtemp(prefix="triops-server-share-", dir="/tmp"))
    home.chmod(0o755)  # the tests' PostgreSQL runs as the postgres user
    try:
        (home / "site").mkdir()
        (home / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE)
        counters = home / "script-cpu"
        # Closed in reverse: the app server stops before the database server.
        with contextlib.ExitStack() as stack:
            url, database_cpu = stack.enter_context(_database(backend, home))
            db = _open(url, home)
            try:
                cohort = exam_load.setup_cohort(db, candidates, minutes)
            finally:
                db.close()
            env = {
                "TRIOPS_HOME": str(home),
                "TRIOPS_SIGN_IN": "password",
                "TRIOPS_DATABASE_URL": url,
                "TRIOPS_SEARCH_WARMUP": "0",
                # The sitecustomize first; whatever path this process was given after it.
                "PYTHONPATH": os.pathsep.join(
                    p for p in (str(home / "site"), os.environ.get("PYTHONPATH", "")) if p
                ),
                "TRIOPS_BENCH_SCRIPT_CPU": str(counters),
            }
            if loop_profile:
                env["TRIOPS_BENCH_LOOP_PROFILE"] = str(Path(loop_profile).resolve())
            server = stack.enter_context(streamlit_server(REPO / "app.py", env=env))
            pid = server.process.pid

            def snapshot() -> tuple[float, int, float, float, float]:
                runs, script = _script_totals(counters)
                return (
                    time.monotonic(),
                    runs,
                    script,
                    process_tree_cpu_seconds(pid),
                    database_cpu(),
                )

            async def sitting():
                task = asyncio.create_task(
                    exam_load._sit(
                        server.url,
                        cohort,
                        minutes=minutes,
                        interval=interval,
                        ramp=ramp,
                        kill_at=None,
                        kill=None,
                        seed=19,
                    )
                )
                await asyncio.sleep(ramp + settle)
                first = snapshot()
                await asyncio.sleep(window)
                second = snapshot()
                return await task, first, second

            results, first, second = asyncio.run(sitting())
    finally:
        shutil.rmtree(home, ignore_errors=True)
    saves = [
        s
        for r in results
        for s in r.saves
        if s.acked_ms is not None and first[0] <= s.sent <= second[0]
    ]
    arrived = sum(1 for r in results if r.arrived is not None)
    seconds = second[0] - first[0]
    runs = second[1] - first[1]
    script = second[2] - first[2]
    server = second[3] - first[3]
    database = second[4] - first[4]
    errors = sum(len(r.errors) for r in results)
    return {
        "backend": backend,
        "candidates": candidates,
        "arrived": arrived,
        "errors": errors,
        "window_s": round(seconds, 1),
        "saves": len(saves),
        "script_runs": runs,
        "script_cpu_s": round(script, 3),
        "server_cpu_s": round(server, 3),
        "script_share": round(script / server, 3) if server else None,
        "server_ms_per_save": round(1000 * server / len(saves), 1) if saves else None,
        "script_ms_per_save": round(1000 * script / len(saves), 1) if saves else None,
        "script_ms_per_run": round(1000 * script / runs, 2) if runs else None,
        "server_cpu_percent": round(100 * server / seconds, 1),
        "database_ms_per_save": round(1000 * database / len(saves), 1) if saves else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=10)
    parser.add_argument("--minutes", type=float, default=2.5)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--ramp", type=float, default=10.0)
    parser.add_argument("--backend", choices=("duckdb", "postgres"), default="duckdb")
    parser.add_argument(
        "--loop-profile", help="write a cProfile of the server's main thread (its event loop) here"
    )
    args = parser.parse_args()
    got = measure(
        args.candidates, args.minutes, args.interval, args.ramp, args.backend, args.loop_profile
    )
    for key, value in got.items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
