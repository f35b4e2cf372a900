"""What a run reports: the RunReport (jobs, matrix cells, steps, artifacts) that the CLI prints as
JSON and a lab's check reads, and the events that stream a run as escaped, marked lines."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from triops.labs.ci.triggers import NOT_TRIGGERED_EXIT
from triops.terminal import visible

LOG_LIMIT = 64_000
STEP_STATUSES = ("success", "failure", "skipped", "cancelled")
NOT_TRIGGERED = "not-triggered"  # a RunReport's status when the event does not trigger it
# Output of a failed step that says it met the network, which the sandbox does not have.
NETWORK_SIGNS = (
    "Temporary failure in name resolution",
    "Temporary failure resolving",
    "Could not resolve host",
    "getaddrinfo",
    "Name or service not known",
    "No address associated with hostname",
    "nodename nor servname provided",
    "unable to resolve host address",
    "Network is unreachable",
    "Connection refused",
    "Failed to establish a new connection",
)
CI_NETWORK_HINT = (
    "Hint: this looks like a network error, and the sandbox has no network. Where this "
    "machine has one, run it with `triops ci run --allow-network` (only for a workflow you "
    "trust)."
)
LAB_NETWORK_HINT = (
    "Hint: this looks like a network error: labs run offline, so a step cannot download "
    "anything; use the tools the lab's environment already provides."
)


def network_error(output: str) -> bool:
    """Whether a failed step's output says it tried the network (name resolution, a refused
    or unreachable connection)."""
    return any(sign in output for sign in NETWORK_SIGNS)


def cap_log(text: str, limit: int = LOG_LIMIT) -> str:
    if len(text) <= limit:
        return text
    head = limit // 4
    tail = limit - head
    omitted = len(text) - head - tail
    return f"{text[:head]}\n... {omitted} characters omitted ...\n{text[-tail:]}"


@dataclass
class StepReport:
    """One step: status is its conclusion (success, failure, skipped or cancelled)."""

    name: str
    id: str | None
    status: str
    outcome: str | None = None
    conclusion: str | None = None
    exit_code: int | None = None
    seconds: float = 0.0
    outputs: dict[str, str] = field(default_factory=dict)
    log: str = ""
    message: str = ""
    summary: str = ""
    timed_out: bool = False
    steps: list[StepReport] = field(default_factory=list)  # a composite action's own steps


@dataclass
class CellReport:
    """One run of a job: the whole job, or one matrix combination. A cell whose runs-on names
    a Windows or macOS runner is `skipped` with the reason in `message`."""

    name: str
    matrix: dict[str, Any]
    status: str
    seconds: float = 0.0
    steps: list[StepReport] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    message: str = ""
    continue_on_error: bool = False
    runs_on: str = ""


@dataclass
class JobReport:
    """One job: its result (success, failure, cancelled or skipped) over all its cells."""

    id: str
    name: str
    result: str
    needs: list[str] = field(default_factory=list)
    cells: list[CellReport] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    message: str = ""


@dataclass
class RunReport:
    """A whole run; `to_json()` is what the CLI prints and the lab pipeline stores.

    `status` is success, failure, or not-triggered (the event does not trigger the workflow:
    `message` says which filter). `skipped_cells` counts the jobs and matrix cells skipped
    because they run on Windows or macOS; `notes` what Triops could not evaluate.
    `artifacts_dir` is '' when the artifacts were only kept for the run."""

    workflow: str
    path: str
    status: str
    seconds: float
    run_id: str
    jobs: list[JobReport] = field(default_factory=list)
    artifacts: dict[str, list[str]] = field(default_factory=dict)
    artifacts_dir: str = ""
    message: str = ""
    event: str = "push"
    ref: str = ""
    notes: list[str] = field(default_factory=list)
    skipped_cells: int = 0

    def job(self, job_id: str) -> JobReport:
        """The report of one job by id."""
        for job in self.jobs:
            if job.id == job_id:
                return job
        raise KeyError(job_id)

    def to_dict(self) -> dict[str, Any]:
        """Plain data: dicts, lists, strings and numbers."""
        return asdict(self)

    def to_json(self, indent: int | None = 2) -> str:
        """The report as JSON text."""
        return json.dumps(self.to_dict(), indent=indent, default=str)


EVENT_KINDS = (
    "note",
    "job_started",
    "step_started",
    "output",
    "step_finished",
    "cell_finished",
    "job_finished",
    "workflow_finished",
)


@dataclass(frozen=True)
class Event:
    """Something that happened during a run, for live logs; `cell` is '' outside a matrix."""

    kind: str
    job: str
    cell: str = ""
    step: str | None = None
    status: str | None = None
    line: str | None = None


MARKS = {"success": "✓", "failure": "✗", "skipped": "-", "cancelled": "⊘", NOT_TRIGGERED: "-"}


def format_event(event: Event) -> str:
    """One line of live output for an event. Every part a workflow or a run controls (job,
    cell and step names, output lines, messages) is escaped: a carriage return, newline or
    ANSI sequence in them cannot forge a line of the runner's own."""
    who = visible(f"{event.job} ({event.cell})" if event.cell else event.job)
    mark = MARKS.get(event.status or "", "?")
    extra = f" ({visible(event.line)})" if event.line else ""
    event = Event(
        event.kind,
        visible(event.job),
        visible(event.cell),
        visible(event.step) if event.step is not None else None,
        visible(event.status) if event.status is not None else None,
        visible(event.line) if event.line is not None else None,
    )
    if event.kind == "note":
        return f"note: {event.line}"
    if event.kind == "job_started":
        return f"[{who}] job started"
    if event.kind == "step_started":
        return f"[{who}] ▶ {event.step}"
    if event.kind == "output":
        return f"[{who}]   {event.line}"
    if event.kind == "step_finished":
        return f"[{who}] {mark} {event.step}: {event.status}{extra}"
    if event.kind in ("cell_finished", "job_finished"):
        return f"[{who}] {mark} job {event.status}{extra}"
    if event.kind == "workflow_finished":
        return f"{mark} workflow {event.job}: {event.status}{extra}"
    return f"[{who}] {event.kind} {event.status or ''}{extra}"


def exit_code(report: RunReport) -> int:
    """0 when the workflow succeeded, 3 when the event did not trigger it, else 1."""
    if report.status == NOT_TRIGGERED:
        return NOT_TRIGGERED_EXIT
    return 0 if report.status == "success" else 1


def skipped_note(report: RunReport) -> str:
    """The note a run ends with when some of its job runs were skipped for their runner."""
    total = sum(len(job.cells) for job in report.jobs)
    return (
        f"{report.skipped_cells} of {total} job runs were skipped: their runs-on names a "
        "Windows or macOS runner, and only Linux runs here"
    )


def skipped_summary(report: RunReport) -> str:
    """`; 2 of 6 job runs skipped: ...` for the run's last line, or '' when none was skipped."""
    if not report.skipped_cells:
        return ""
    total = sum(len(job.cells) for job in report.jobs)
    return (
        f"; {report.skipped_cells} of {total} job runs skipped (they run on Windows or macOS: "
        "only Linux runs here)"
    )
