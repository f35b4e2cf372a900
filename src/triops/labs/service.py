"""Lab work for the app: each profile's files, and runs and checks as background jobs.

A job is a row (DESIGN.md "Jobs"): started here, run in a thread outside any browser session,
with a heartbeat and a live log file, so a page shows progress after a refresh and a restart
marks an interrupted job failed. One lab job at a time per profile."""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
import threading
import traceback
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from triops.errors import InvalidInputError
from triops.labs import runs
from triops.labs.outcome import LabRun
from triops.labs.sandbox import Sandbox
from triops.labs.spec import Lab
from triops.store import jobs as job_store
from triops.store import labruns
from triops.store.jobs import Job

MAX_FILE_BYTES = 200_000


def files_dir(home: Path, user_id: str, lab: Lab) -> Path:
    """The profile's copy of the lab's files (written from the starter the first time)."""
    folder = home / "labs" / user_id / lab.id / "files"
    if not folder.is_dir():
        folder.parent.mkdir(parents=True, exist_ok=True)
        runs.reset(lab, folder)
    return folder


def read_file(folder: Path, lab: Lab, rel: str) -> str:
    _editable(lab, rel)
    path = folder / rel
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def save_file(folder: Path, lab: Lab, rel: str, text: str) -> None:
    """Save an editable file; anything else is refused."""
    _editable(lab, rel)
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise InvalidInputError(f"{rel} is larger than {MAX_FILE_BYTES // 1000} KB.")
    # Browsers send CRLF from text areas and copy buttons drop the final newline; linters
    # (ruff's W292) and git want LF and a final newline, so a saved file always has them.
    text = text.replace("\r\n", "\n")
    if text and not text.endswith("\n"):
        text += "\n"
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _editable(lab: Lab, rel: str) -> None:
    if rel not in lab.spec.editable:
        raise InvalidInputError(f"{rel} is not one of this lab's editable files.")


def reset(home: Path, user_id: str, lab: Lab) -> None:
    runs.reset(lab, home / "labs" / user_id / lab.id / "files")


def solution_files(lab: Lab) -> dict[str, str]:
    """The solution's files as text, for the Show solution panel."""
    out = {}
    for path in sorted(p for p in lab.solution.rglob("*") if p.is_file()):
        out[path.relative_to(lab.solution).as_posix()] = path.read_text(
            encoding="utf-8", errors="replace"
        )
    return out


def log_path(home: Path, job_id: str) -> Path:
    return home / "jobs" / f"{job_id}.log"


def read_log(job: Job, tail_bytes: int = 60_000) -> str:
    if not job.log_path:
        return ""
    path = Path(job.log_path)
    if not path.is_file():
        return ""
    with path.open("rb") as handle:
        size = path.stat().st_size
        handle.seek(max(0, size - tail_bytes))
        return handle.read().decode("utf-8", errors="replace")


def start(
    db,
    connect: Callable[[], object],
    *,
    home: Path,
    sandbox_root: Path,
    labs_venv: Path,
    user_id: str,
    lab: Lab,
    kind: str,
    now: Callable[[], datetime],
) -> Job:
    """Start a run or a check as a background job; refused while the profile has one running.

    `connect` gives the thread its own cursor on the state database."""
    if kind not in ("run", "check"):
        raise InvalidInputError(f"unknown lab job kind '{kind}'")
    job_id = secrets.token_hex(8)
    log = log_path(home, job_id)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("", encoding="utf-8")
    moment = now()
    job = Job(
        id=job_id,
        kind=f"lab-{kind}",
        owner=user_id,
        subject=lab.id,
        state="running",
        started_at=moment,
        heartbeat=moment,
        finished_at=None,
        log_path=str(log),
        result_json=None,
    )
    if job_store.start_lab_job(db, job) is None:
        raise InvalidInputError("A lab run of yours is still going: wait for it to finish.")
    # The job works on a snapshot, so edits made while it runs do not change what it runs.
    snapshot = Path(tempfile.mkdtemp(prefix="triops-lab-job-")) / "files"
    shutil.copytree(files_dir(home, user_id, lab), snapshot)
    thread = threading.Thread(
        target=_work,
        name=f"lab-job-{job_id}",
        daemon=True,
        args=(connect, job, lab, kind, snapshot, log, sandbox_root, labs_venv, now),
    )
    thread.start()
    return job


def _work(
    connect,
    job: Job,
    lab: Lab,
    kind: str,
    files: Path,
    log: Path,
    sandbox_root: Path,
    labs_venv: Path,
    now,
) -> None:
    db = connect()
    lines: list[str] = []
    last_beat = [now()]
    with log.open("a", encoding="utf-8") as handle:

        def on_line(text: str) -> None:
            handle.write(text + "\n")
            handle.flush()
            lines.append(text)
            moment = now()
            if (moment - last_beat[0]).total_seconds() > 5:
                last_beat[0] = moment
                job_store.heartbeat(db, job.id, moment)

        box = Sandbox(root=sandbox_root)
        passed = None
        criteria = None
        try:
            if kind == "check":
                result = runs.check(lab, files, sandbox=box, labs_venv=labs_venv, on_line=on_line)
                run, passed = result.run, result.passed
                criteria = [[c.name, c.passed, c.reason] for c in result.criteria]
                for c in result.criteria:
                    on_line(f"{'passed' if c.passed else 'failed'}: {c.name}: {c.reason}")
            else:
                run = runs.execute(lab, files, sandbox=box, labs_venv=labs_venv, on_line=on_line)
            status, seconds = run.status, run.seconds
            state = "succeeded"
            _keep(run, log.parent.parent / "labs" / job.owner / lab.id / "runs" / job.id)
        except Exception as exc:  # the job reports every failure instead of dying silently
            on_line(f"error: {getattr(exc, 'user_message', None) or exc}")
            handle.write(traceback.format_exc())
            status, seconds, state = "error", 0.0, "failed"
        finally:
            box.close()
            shutil.rmtree(files.parent, ignore_errors=True)
        finished = now()
        labruns.record(
            db,
            labruns.LabRunRow(
                job_id=job.id,
                user_id=job.owner,
                lab_id=lab.id,
                kind=kind,
                status=status,
                seconds=seconds,
                passed=passed,
                criteria=criteria,
                log="\n".join(lines),
                finished_at=finished,
            ),
        )
        job_store.finish(
            db, job.id, state, finished, json.dumps({"status": status, "passed": passed})
        )


def _keep(run: LabRun, target: Path) -> None:
    """Copy the run's report and artifacts back under TRIOPS_HOME, next to the profile's files."""
    target.mkdir(parents=True, exist_ok=True)
    (target / "report.json").write_text(
        json.dumps(run.report, indent=2, default=str), encoding="utf-8"
    )
    if run.artifacts.is_dir():
        shutil.copytree(run.artifacts, target / "artifacts", symlinks=True, dirs_exist_ok=True)
        shutil.rmtree(run.artifacts, ignore_errors=True)


def run_folder(home: Path, user_id: str, lab: Lab, job_id: str) -> Path:
    """Where a finished job's report.json and artifacts/ are kept."""
    return home / "labs" / user_id / lab.id / "runs" / job_id


def current_job(db, user_id: str) -> Job | None:
    return job_store.active_for(db, user_id)


def latest_job(db, user_id: str, lab: Lab) -> Job | None:
    return job_store.latest(db, user_id, lab.id)


def history(db, user_id: str, lab: Lab | None = None):
    return labruns.history(db, user_id, None if lab is None else lab.id)


def unlocked_hints(db, user_id: str, lab: Lab) -> list[str]:
    failed = labruns.failed_checks(db, user_id, lab.id)
    return [h.text for h in lab.spec.hints if h.after_failed_checks <= failed]


def status_for(db, user_id: str, lab: Lab) -> str:
    """not started, in progress, or passed, for the lab list."""
    rows = labruns.history(db, user_id, lab.id)
    if any(r.kind == "check" and r.passed for r in rows):
        return "passed"
    return "in progress" if rows else "not started"


def fail_orphans(db, now: datetime) -> int:
    return job_store.fail_orphans(db, now)
