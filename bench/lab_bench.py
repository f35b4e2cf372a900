"""Lab figures: sandbox start overhead, a CPU-bound job, and the CI lab end to end, each against
the same work done without the sandbox in the same run."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench.report import Figure, median
from triops.config import get_settings
from triops.labs import runs
from triops.labs.sandbox import Limits, Sandbox
from triops.labs.spec import load_labs

REPO = Path(__file__).resolve().parents[1]
BURN = "import time\nt = time.process_time()\nwhile time.process_time() - t < 1.0:\n    pass\n"


def available() -> str | None:
    if os.geteuid() != 0:
        return "the sandbox needs root for its UIDs"
    if not (get_settings().labs_venv / "bin" / "ruff").exists():
        return "the labs' tool environment is missing (make install)"
    return None


def _time(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def start_overhead(runs_: int = 30) -> Figure:
    python = "/usr/bin/python3"
    with Sandbox(root=get_settings().sandbox_root) as box:
        box.run([python, "-c", "pass"])  # warm the page cache for both
        bare, boxed = [], []
        for _ in range(runs_):
            bare.append(_time(lambda: subprocess.run([python, "-c", "pass"], check=True)))
            boxed.append(_time(lambda: box.cleanup(box.run([python, "-c", "pass"]).workdir)))
    b, s = median(bare) * 1000, median(boxed) * 1000
    return Figure(
        "sandbox start: python -c pass (median)",
        s,
        "ms",
        b,
        "<= +50 ms",
        f"+{s - b:.0f} ms over a bare subprocess",
    )


def cpu_job(runs_: int = 3) -> Figure:
    python = "/usr/bin/python3"
    limits = Limits(wall_seconds=30, cpu_seconds=10)
    bare, boxed = [], []
    with Sandbox(root=get_settings().sandbox_root) as box:
        for _ in range(runs_):
            bare.append(_time(lambda: subprocess.run([python, "-c", BURN], check=True)))
            boxed.append(
                _time(lambda: box.cleanup(box.run([python, "-c", BURN], limits=limits).workdir))
            )
    return Figure("1-second CPU job (median)", median(boxed), "s", median(bare), "ratio <= 1.1")


def ci_lab(runs_: int = 2) -> Figure:
    """The solved CI lab through the sandboxed workflow runner, against the same ruff, pytest
    and build commands run directly in bash."""
    settings = get_settings()
    venv = settings.labs_venv
    lab = load_labs(REPO).get("ci-build")
    direct = (
        f"export PATH={venv}/bin:$PATH; set -e; ruff check . ; ruff format --check . ; "
        "pytest tests/unit -q ; pytest tests/integration -q ; "
        "python -m build --no-isolation --wheel >/dev/null"
    )
    lab_times, bash_times = [], []
    for _ in range(runs_):
        with tempfile.TemporaryDirectory() as scratch:
            files = Path(scratch) / "files"
            runs.solve(lab, files)
            copy = Path(scratch) / "direct"
            shutil.copytree(files, copy)
            start = time.perf_counter()
            subprocess.run(["bash", "-c", direct], cwd=copy, check=True, capture_output=True)
            bash_times.append(time.perf_counter() - start)
            with Sandbox(root=settings.sandbox_root) as box:
                start = time.perf_counter()
                result = runs.execute(lab, files, sandbox=box, labs_venv=venv)
                lab_times.append(time.perf_counter() - start)
            if result.status != "success":
                raise RuntimeError("the solved CI lab did not succeed in the bench")
            shutil.rmtree(result.artifacts, ignore_errors=True)
    return Figure(
        "CI lab end to end (solved, median)",
        median(lab_times),
        "s",
        median(bash_times),
        "ratio <= 1.5",
        "baseline: the same commands in bash, no sandbox, no runner",
    )


DRIFT_ENV = {
    "MLFLOW_TRACKING_URI": "sqlite:///mlruns.db",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "1",
    "GIT_PYTHON_REFRESH": "quiet",
    "USER": "learner",
    "LOGNAME": "learner",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "JOBLIB_MULTIPROCESSING": "0",
}  # the workflow's own env (labs/drift-retrain/starter/.github/workflows/pipeline.yml)


def drift_lab(runs_: int = 2) -> Figure:
    """The solved drift-retrain lab end to end through the sandboxed workflow runner (train,
    register in MLflow, four weeks of drift reports, retrain, gate, promote), against the same
    `python -m pipeline.run` run directly with the labs' venv, no sandbox, no runner."""
    settings = get_settings()
    venv = settings.labs_venv
    lab = load_labs(REPO).get("drift-retrain")
    lab_times, direct_times = [], []
    for _ in range(runs_):
        with tempfile.TemporaryDirectory() as scratch:
            files = Path(scratch) / "files"
            runs.solve(lab, files)
            copy = Path(scratch) / "direct"
            shutil.copytree(files, copy)
            env = {"PATH": f"{venv}/bin:/usr/bin:/bin", "HOME": scratch, **DRIFT_ENV}
            start = time.perf_counter()
            subprocess.run(
                [str(venv / "bin" / "python"), "-m", "pipeline.run"],
                cwd=copy,
                env=env,
                check=True,
                capture_output=True,
            )
            direct_times.append(time.perf_counter() - start)
            with Sandbox(root=settings.sandbox_root) as box:
                start = time.perf_counter()
                result = runs.execute(lab, files, sandbox=box, labs_venv=venv)
                lab_times.append(time.perf_counter() - start)
            shutil.rmtree(result.artifacts, ignore_errors=True)
            if result.status != "success":
                raise RuntimeError("the solved drift-retrain lab did not succeed in the bench")
    return Figure(
        "drift-retrain lab end to end (solved, median)",
        median(lab_times),
        "s",
        median(direct_times),
        "<= 30 s",
        "baseline: python -m pipeline.run directly with the labs' venv, no sandbox, no runner",
    )
