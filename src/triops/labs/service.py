"""Lab work for the app: each profile's files, and runs and checks as background jobs.

A run or a check is a job of triops.jobs (DESIGN.md "Jobs"): a row, run on its own thread
outside any browser session, with a heartbeat and a live log file, so a page shows progress
after a refresh and a restart marks an interrupted job failed. One lab job at a time per
profile.

With PostgreSQL the job is queued instead (triops.labs.queue): a `triops worker` on any machine with
the sandbox runs it (`run_queued`) from the learner's editable files as they were when queued,
and keeps its log on the job's row and its report and artifacts in the database
(lab_run_files), so whichever replica serves the learner shows them (`results_folder`)."""

from __future__ import annotations

import json
import shutil
import tempfile
import traceback
from functools import partial
from pathlib import Path

from triops import jobs
from triops.errors import InvalidInputError
from triops.labs import runs
from triops.labs.outcome import LabRun
from triops.labs.queue import Queue, queue_for
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


def read_log(job: Job, tail_bytes: int = 60_000) -> str:
    """The end of a job's log: its file (a job of this process) or its row (a queued job's)."""
    if not job.log_path:
        text = job.log_text or ""
        return text[-tail_bytes:]
    path = Path(job.log_path)
    if not path.is_file():
        return ""
    with path.open("rb") as handle:
        size = path.stat().st_size
        handle.seek(max(0, size - tail_bytes))
        return handle.read().decode("utf-8", errors="replace")


def start(
    runner: jobs.Jobs,
    *,
    home: Path,
    sandbox_root: Path,
    labs_venv: Path,
    user_id: str,
    lab: Lab,
    kind: str,
) -> jobs.LiveJob:
    """Start a run or a check as a background job; refused while the profile has one running.
    With a queue (PostgreSQL), the job is queued for a worker instead (a Job row, running
    while queued: its progress says it waits for a worker)."""
    if kind not in ("run", "check"):
        raise InvalidInputError(f"unknown lab job kind '{kind}'")
    queue = queue_for(runner)
    if queue is not None:
        return _queue(queue, runner, home=home, user_id=user_id, lab=lab, kind=kind)
    # The job works on a snapshot, so edits made while it runs do not change what it runs.
    snapshot = Path(tempfile.mkdtemp(prefix="triops-lab-job-")) / "files"
    shutil.copytree(files_dir(home, user_id, lab), snapshot)
    work = partial(
        _work,
        lab=lab,
        kind=kind,
        files=snapshot,
        home=home,
        sandbox_root=sandbox_root,
        labs_venv=labs_venv,
    )
    try:
        return runner.submit(
            f"lab-{kind}", work, owner=user_id, subject=lab.id, one_per_owner=True, log=True
        )
    except jobs.Busy:
        shutil.rmtree(snapshot.parent, ignore_errors=True)
        raise InvalidInputError(
            "A lab run of yours is still going: wait for it to finish."
        ) from None
    except BaseException:
        shutil.rmtree(snapshot.parent, ignore_errors=True)
        raise


def _queue(
    queue: Queue, runner: jobs.Jobs, *, home: Path, user_id: str, lab: Lab, kind: str
) -> Job:
    """Queue a run or a check for a worker, with the editable files as they are now."""
    folder = files_dir(home, user_id, lab)
    files = {rel: read_file(folder, lab, rel) for rel in lab.spec.editable}
    try:
        return queue.submit_lab(runner, user_id=user_id, lab_id=lab.id, kind=kind, files=files)
    except jobs.Busy:
        raise InvalidInputError(
            "A lab run of yours is still going: wait for it to finish."
        ) from None


def run_queued(
    job: jobs.LiveJob,
    *,
    lab: Lab,
    kind: str,
    files: dict[str, str],
    sandbox_root: Path,
    labs_venv: Path,
) -> dict:
    """A queued job's body, in a worker: the lab's starter (and reset hook) with the learner's
    editable files over it, run or checked as in the app; the report and artifacts are kept in
    the database."""
    snapshot = Path(tempfile.mkdtemp(prefix="triops-lab-job-")) / "files"
    try:
        runs.reset(lab, snapshot)
        for rel, text in files.items():
            save_file(snapshot, lab, rel, text)
    except BaseException:
        shutil.rmtree(snapshot.parent, ignore_errors=True)
        raise
    return _work(
        job,
        lab=lab,
        kind=kind,
        files=snapshot,
        home=None,
        sandbox_root=sandbox_root,
        labs_venv=labs_venv,
    )


def _work(
    job: jobs.LiveJob,
    *,
    lab: Lab,
    kind: str,
    files: Path,
    home: Path | None,
    sandbox_root: Path,
    labs_venv: Path,
) -> dict:
    """The job's body, on its thread: run or check the snapshot in the sandbox, keep the
    report and artifacts (under `home`, or in the database when None: a worker's), record the
    run; a failure is logged and recorded as an error run."""
    lines: list[str] = []

    def on_line(text: str) -> None:
        job.log(text)
        lines.append(text)

    box = Sandbox(root=sandbox_root)
    passed = None
    criteria = None
    failure: Exception | None = None
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
        if home is None:
            _keep_in_database(run, job)
        else:
            _keep(run, run_folder(home, job.owner, lab, job.id))
    except Exception as exc:  # recorded as an error run, and the job ends failed
        failure = exc
        on_line(f"error: {getattr(exc, 'user_message', None) or exc}")
        job.log(traceback.format_exc().rstrip("\n"))
        status, seconds = "error", 0.0
    finally:
        box.close()
        shutil.rmtree(files.parent, ignore_errors=True)
    labruns.record(
        job.db,
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
            finished_at=job.now(),
        ),
    )
    outcome = {"status": status, "passed": passed}
    if failure is not None:
        raise jobs.Failed(str(failure), outcome) from failure
    return outcome


def _keep(run: LabRun, target: Path) -> None:
    """Copy the run's report and artifacts back under TRIOPS_HOME, next to the profile's files."""
    target.mkdir(parents=True, exist_ok=True)
    (target / "report.json").write_text(
        json.dumps(run.report, indent=2, default=str), encoding="utf-8"
    )
    if run.artifacts.is_dir():
        shutil.copytree(run.artifacts, target / "artifacts", symlinks=True, dirs_exist_ok=True)
        shutil.rmtree(run.artifacts, ignore_errors=True)


RUN_FILES_CAP = 50_000_000
"""The most of a queued run's report and artifacts kept in the database, in bytes."""


def _keep_in_database(run: LabRun, job: jobs.LiveJob) -> None:
    """A worker's _keep: the report and the artifacts' regular files go to lab_run_files (a
    symlink the run left is not followed: learner code wrote these folders). Past
    RUN_FILES_CAP the remaining files are left out, and the log says which."""
    kept = {"report.json": json.dumps(run.report, indent=2, default=str).encode("utf-8")}
    size = len(kept["report.json"])
    left_out = []
    try:
        if run.artifacts.is_dir() and not run.artifacts.is_symlink():
            for path in sorted(run.artifacts.rglob("*")):
                if path.is_symlink() or not path.is_file():
                    continue
                rel = "artifacts/" + path.relative_to(run.artifacts).as_posix()
                data_size = path.lstat().st_size
                if size + data_size > RUN_FILES_CAP:
                    left_out.append(rel)
                    continue
                kept[rel] = path.read_bytes()
                size += data_size
    finally:
        shutil.rmtree(run.artifacts, ignore_errors=True)
    if left_out:
        job.log(
            f"{len(left_out)} artifact file(s) past {RUN_FILES_CAP // 1_000_000} MB not kept: "
            + ", ".join(left_out[:5])
        )
    labruns.keep_files(job.db, job.id, kept)


def run_folder(home: Path, user_id: str, lab: Lab, job_id: str) -> Path:
    """Where a finished job's report.json and artifacts/ are kept."""
    return home / "labs" / user_id / lab.id / "runs" / job_id


def results_folder(db, home: Path, user_id: str, lab: Lab, job_id: str) -> Path:
    """A finished job's folder of report.json and artifacts/, for a page to read: the run
    folder, written from the database first when a worker ran the job and this replica has
    not shown it yet (the files are written to a new folder, then moved into place)."""
    folder = run_folder(home, user_id, lab, job_id)
    if folder.exists():
        return folder
    files = labruns.run_files(db, job_id)
    if not files:
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{job_id}-", dir=folder.parent))
    try:
        for rel, data in files.items():
            target = scratch / rel
            if not target.resolve().is_relative_to(scratch.resolve()):
                continue  # kept by this code, so never: a path out of the folder is not written
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        scratch.rename(folder)
    except OSError:
        if not folder.exists():
            raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return folder


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
