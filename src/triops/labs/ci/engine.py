"""Run a workflow: its jobs in dependency order, each matrix cell in a fresh work folder, each
step through a StepRunner (the only part that starts processes) or a built-in action.

`on:` decides whether the simulated event triggers the workflow at all (triops.labs.ci.triggers);
a job or matrix cell whose `runs-on` names a Windows or macOS runner is skipped, never run as
Linux. Expressions, matrix expansion and the environment files follow GitHub's documented rules.
"""

from __future__ import annotations

import hashlib
import math
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from triops.labs.ci.actions import ActionCall, ActionResult, action_for
from triops.labs.ci.cell import Cell
from triops.labs.ci.envfiles import COMMAND_FILE_LIMIT, REFUSED_ENV, parse_env_file
from triops.labs.ci.expressions import (
    ExpressionContext,
    ExpressionError,
    evaluate_condition,
    evaluate_value,
    interpolate,
    to_number,
    to_str,
    truthy,
)
from triops.labs.ci.matrix import (
    MatrixError,
    evaluate_deep,
    expand_matrix,
    matrix_label,
    runner_os,
    runs_on_label,
)
from triops.labs.ci.model import SHELLS, UNSET_SHELL, Job, Step, Workflow
from triops.labs.ci.report import (
    CI_NETWORK_HINT,
    LOG_LIMIT,
    NOT_TRIGGERED,
    CellReport,
    Event,
    JobReport,
    RunReport,
    StepReport,
    cap_log,
    network_error,
    skipped_note,
)
from triops.labs.ci.steps import CappedOutput, StepOutcome, StepRunner
from triops.labs.ci.triggers import PULL_REQUEST_ACTIVITY, PULL_REQUESTS, Trigger, decide, ref_parts
from triops.labs.safefs import Confined, TooLarge, UnsafePath
from triops.terminal import visible

DEFAULT_COPY_BUDGET = 1 << 30  # bytes a run's built-in actions may copy (artifacts, checkout)
DEFAULT_TIMEOUT_MINUTES = 360


class _Run:
    def __init__(
        self,
        workflow: Workflow,
        runner: StepRunner,
        seed: Path,
        on_event: Callable[[Event], None] | None,
        allow_network: bool,
        env: dict[str, str] | None,
        python: str,
        artifacts_dir: Path | None,
        github: dict[str, Any] | None,
        copy_budget: int = DEFAULT_COPY_BUDGET,
        time_limit: float | None = None,
        trigger: Trigger | None = None,
        network_hint: str | None = CI_NETWORK_HINT,
    ):
        self.workflow = workflow
        self.trigger = trigger or Trigger()
        self.network_hint = None if allow_network else network_hint
        self.copy_budget = copy_budget
        self.time_limit = time_limit
        self.run_deadline = math.inf
        self.copied = 0  # bytes the built-in actions copied so far (apparent sizes)
        self.runner = runner
        self.seed = Path(seed)
        self.on_event = on_event
        self.allow_network = allow_network
        self.base_env = dict(env or {})
        self.base_env.setdefault("PATH", os.environ.get("PATH", os.defpath))
        self.python = python
        self.python_version: str | None = None
        # Without a folder of the caller's, artifacts live in a temporary folder made at the
        # first upload and removed when the run ends.
        self.artifacts_dir: Path | None = Path(artifacts_dir) if artifacts_dir else None
        self.owns_artifacts = False
        self.artifacts: dict[str, list[str]] = {}
        self.artifact_ids: dict[int, str] = {}
        self.results: dict[str, JobReport] = {}
        self.skipped_cells = 0
        self.run_id = str(int(time.time() * 1000))
        self.inputs = self.dispatch_inputs()
        self.github = self.github_context()
        self.github.update(github or {})

    def github_context(self) -> dict[str, Any]:
        """The github context of the simulated event and ref ("Contexts", github context)."""
        trigger = self.trigger
        sha = trigger.sha or hashlib.sha1(self.workflow.text.encode()).hexdigest()
        repository = f"local/{self.seed.name or 'workspace'}"
        repo = {"full_name": repository, "name": self.seed.name or "workspace"}
        kind, name = ref_parts(trigger.ref)
        ref, ref_name, ref_type = trigger.ref, name, kind if kind != "other" else ""
        head_ref = base_ref = ""
        event: dict[str, Any] = {"repository": repo}
        if trigger.event == "push":
            event.update(
                ref=ref,
                before=trigger.before or "0" * 40,
                after=sha,
                head_commit={"id": sha},
            )
        elif trigger.event in PULL_REQUESTS:
            head_ref, base_ref = trigger.head_ref or "triops-local", name
            pull = {
                "number": 1,
                "head": {"ref": head_ref, "sha": sha, "repo": repo},
                "base": {"ref": base_ref, "repo": repo},
            }
            event.update(action=PULL_REQUEST_ACTIVITY, number=1, pull_request=pull)
            if trigger.event == "pull_request":  # pull_request_target runs on the base branch
                ref, ref_name, ref_type = "refs/pull/1/merge", "1/merge", "branch"
        elif trigger.event == "workflow_dispatch":
            event.update(ref=ref, inputs={k: to_str(v) for k, v in self.inputs.items()})
        elif trigger.event == "schedule":
            crons = self.workflow.on.get("schedule") or [{}]
            event.update(schedule=crons[0].get("cron", ""))
        return {
            "event_name": trigger.event,
            "event": event,
            "ref": ref,
            "ref_name": ref_name,
            "ref_type": ref_type,
            "sha": sha,
            "repository": repository,
            "repository_owner": "local",
            "actor": "learner",
            "workflow": self.workflow.name,
            "run_id": self.run_id,
            "run_number": "1",
            "run_attempt": "1",
            "server_url": "https://github.com",
            "head_ref": head_ref,
            "base_ref": base_ref,
            "token": "",
            "workspace": "",
            "job": "",
            "action": "",
        }

    def dispatch_inputs(self) -> dict[str, Any]:
        """The inputs context of a workflow_dispatch run: each input's default, booleans as
        booleans and numbers as numbers, as when the run is started without changing them."""
        if self.trigger.event != "workflow_dispatch":
            return {}
        settings = self.workflow.on.get("workflow_dispatch")
        declared = settings.get("inputs") if isinstance(settings, dict) else None
        values: dict[str, Any] = {}
        for name, spec in (declared or {}).items():
            spec = spec if isinstance(spec, dict) else {}
            default, kind = spec.get("default"), spec.get("type", "string")
            if kind == "boolean":
                values[str(name)] = default is True or to_str(default).lower() == "true"
            elif kind == "number":
                number = to_number(default)
                values[str(name)] = 0 if math.isnan(number) else number
            elif kind == "choice" and default is None and spec.get("options"):
                values[str(name)] = to_str(spec["options"][0])
            else:
                values[str(name)] = to_str(default)
        return values

    def artifacts_folder(self) -> Path:
        """Where uploads go: the caller's folder, or a temporary one made now."""
        if self.artifacts_dir is None:
            self.artifacts_dir = Path(tempfile.mkdtemp(prefix="triops-artifacts-"))
            self.owns_artifacts = True
        return self.artifacts_dir

    def emit(self, kind: str, job: str, cell: str = "", **fields: Any) -> None:
        if self.on_event is not None:
            self.on_event(Event(kind, job, cell, **fields))

    # -- the run --------------------------------------------------------------------------

    def execute(self) -> RunReport:
        start = time.monotonic()
        if self.time_limit is not None:
            self.run_deadline = start + self.time_limit
        report = RunReport(
            workflow=self.workflow.name,
            path=str(self.workflow.path),
            status="success",
            seconds=0.0,
            run_id=self.run_id,
            artifacts=self.artifacts,
            artifacts_dir=str(self.artifacts_dir or ""),
            event=self.trigger.event,
            ref=self.trigger.ref,
        )
        try:
            self.run_jobs(report)
        finally:
            if self.owns_artifacts and self.artifacts_dir is not None:
                shutil.rmtree(self.artifacts_dir, ignore_errors=True)
                report.artifacts_dir = ""
        report.seconds = round(time.monotonic() - start, 3)
        self.emit(
            "workflow_finished",
            self.workflow.name,
            status=report.status,
            line=report.message if report.status == NOT_TRIGGERED else None,
        )
        return report

    def run_jobs(self, report: RunReport) -> None:
        decision = decide(
            self.workflow.on, self.trigger, self.workflow.on_lines, str(self.workflow.path)
        )
        report.notes = list(decision.notes)
        for note in report.notes:
            self.emit("note", self.workflow.name, line=note)
        if not decision.triggered:
            report.status = NOT_TRIGGERED
            report.message = decision.reason
            return
        ctx = ExpressionContext(
            {"github": self.github, "secrets": {}, "inputs": self.inputs, "vars": {}}
        )
        try:
            self.workflow_env = {
                str(k): to_str(evaluate_value(v, ctx)) for k, v in self.workflow.env.items()
            }
        except ExpressionError as exc:
            report.status = "failure"
            report.message = f"workflow env: {exc}"
            return
        for job_id in self.workflow.order:
            job_report = self.run_job(self.workflow.jobs[job_id])
            self.results[job_id] = job_report
            report.jobs.append(job_report)
        report.skipped_cells = self.skipped_cells
        if self.skipped_cells:
            note = skipped_note(report)
            report.notes.append(note)
            self.emit("note", self.workflow.name, line=note)
        if any(job.result == "failure" for job in report.jobs):
            report.status = "failure"

    def ancestors(self, job_id: str) -> list[str]:
        seen: list[str] = []
        todo = list(self.workflow.jobs[job_id].needs)
        while todo:
            need = todo.pop(0)
            if need not in seen:
                seen.append(need)
                todo.extend(self.workflow.jobs[need].needs)
        return seen

    def run_job(self, job: Job) -> JobReport:
        report = JobReport(id=job.id, name=to_str(job.name) or job.id, result="success")
        report.needs = list(job.needs)
        report.outputs = {str(k): "" for k in job.outputs}
        needs = {
            n: {"result": self.results[n].result, "outputs": dict(self.results[n].outputs)}
            for n in job.needs
        }
        ancestors = self.ancestors(job.id)
        results = {a: self.results[a].result for a in ancestors}

        def status(name: str) -> bool:
            if name == "success":
                return all(r == "success" for r in results.values())
            if name == "failure":
                return any(r == "failure" for r in results.values())
            return name == "always"

        data = {
            "github": {**self.github, "job": job.id},
            "needs": needs,
            "vars": {},
            "inputs": self.inputs,
        }
        ctx = ExpressionContext(data, status)
        try:
            runs = evaluate_condition(job.if_, ctx)
        except ExpressionError as exc:
            return self.finish_job(report, "failure", f"line {job.line}: if: {exc}")
        if not runs:
            unhappy = [f"{a} ({r})" for a, r in results.items() if r != "success"]
            if unhappy and job.if_ is None:
                why = f"skipped because needed jobs did not succeed: {', '.join(unhappy)}"
            else:
                why = "skipped because its if condition was false"
            return self.finish_job(report, "skipped", why)
        try:
            combos, fail_fast, max_parallel = self.strategy(job, ctx)
        except (ExpressionError, MatrixError) as exc:
            return self.finish_job(report, "failure", f"strategy: {exc}")
        cancel_rest = False
        for index, combo in enumerate(combos):
            strategy = {
                "fail-fast": fail_fast,
                "job-index": index,
                "job-total": len(combos),
                "max-parallel": max_parallel or len(combos),
            }
            other = self.other_runner(job, combo, strategy, needs)
            if other is not None:
                cell = self.skipped_cell(job, combo, other)
            elif cancel_rest:
                cell = self.cancelled_cell(job, combo)
            else:
                cell = self.run_cell(job, combo, strategy, needs)
            report.cells.append(cell)
            for key, value in cell.outputs.items():
                if value != "" or key not in report.outputs:
                    report.outputs[key] = value
            failed = cell.status == "failure" and not cell.continue_on_error
            if failed and fail_fast and job.strategy is not None:
                cancel_rest = True
        if all(c.status == "skipped" for c in report.cells):
            # Every run of the job needs Windows or macOS: skipped, and so are the jobs that
            # need it unless their if: says otherwise (as for any skipped job on GitHub).
            reasons = sorted({c.message for c in report.cells})
            return self.finish_job(report, "skipped", "; ".join(reasons))
        if any(c.status == "failure" and not c.continue_on_error for c in report.cells):
            result = "failure"
        elif any(c.status == "cancelled" for c in report.cells):
            result = "cancelled"
        else:
            result = "success"
        return self.finish_job(report, result, "")

    def other_runner(
        self, job: Job, combo: dict[str, Any], strategy: dict[str, Any], needs: dict[str, Any]
    ) -> str | None:
        """`runs-on windows-latest: only Linux runs here` when the cell's runs-on (evaluated)
        names a Windows or macOS runner; None when it runs here (or cannot be evaluated: the
        cell then fails with the expression's error)."""
        data = {
            "github": {**self.github, "job": job.id},
            "needs": needs,
            "strategy": strategy,
            "matrix": combo,
            "vars": {},
            "inputs": self.inputs,
        }
        try:
            runs_on = evaluate_deep(job.runs_on, ExpressionContext(data))
        except ExpressionError:
            return None
        if runner_os(runs_on) is None:
            return None
        return f"runs-on {runs_on_label(runs_on)}: only Linux runs here"

    def skipped_cell(self, job: Job, combo: dict[str, Any], message: str) -> CellReport:
        label = matrix_label(combo)
        name = job.id
        try:
            ctx = ExpressionContext(
                {"github": self.github, "matrix": combo, "needs": {}, "vars": {}, "inputs": {}}
            )
            name = interpolate(to_str(job.name), ctx) if job.name is not None else job.id
        except ExpressionError:
            pass
        if label and not (isinstance(job.name, str) and "matrix" in job.name):
            name = f"{name} ({label})"
        cell = CellReport(name=name, matrix=combo, status="skipped", message=message)
        for step in job.steps:
            cell.steps.append(
                StepReport(
                    name=to_str(step.name) or step.default_name(), id=step.id, status="skipped"
                )
            )
        self.skipped_cells += 1
        if label:
            self.emit("cell_finished", job.id, label, status="skipped", line=message)
        return cell

    def finish_job(self, report: JobReport, result: str, message: str) -> JobReport:
        report.result = result
        report.message = message
        self.emit("job_finished", report.id, status=result, line=message or None)
        return report

    def strategy(self, job: Job, ctx: ExpressionContext) -> tuple[list[dict], bool, int | None]:
        if job.strategy is None:
            return [{}], True, None
        matrix = job.strategy.matrix
        if isinstance(matrix, str):
            matrix = evaluate_value(matrix, ctx)
        elif isinstance(matrix, dict):
            matrix = {k: evaluate_value(v, ctx) for k, v in matrix.items()}
            for key in ("include", "exclude"):
                if isinstance(matrix.get(key), list):
                    matrix[key] = [
                        {k: evaluate_value(v, ctx) for k, v in e.items()}
                        if isinstance(e, dict)
                        else e
                        for e in matrix[key]
                    ]
        fail_fast = truthy(evaluate_value(job.strategy.fail_fast, ctx))
        max_parallel = evaluate_value(job.strategy.max_parallel, ctx)
        return (
            expand_matrix(matrix),
            fail_fast,
            int(to_number(max_parallel)) if max_parallel else None,
        )

    def cancelled_cell(self, job: Job, combo: dict[str, Any]) -> CellReport:
        label = matrix_label(combo)
        cell = CellReport(
            name=f"{job.id} ({label})" if label else job.id,
            matrix=combo,
            status="cancelled",
            message="cancelled by fail-fast after another matrix cell failed",
        )
        for step in job.steps:
            cell.steps.append(
                StepReport(
                    name=to_str(step.name) or step.default_name(), id=step.id, status="cancelled"
                )
            )
        self.emit("cell_finished", job.id, label, status="cancelled", line=cell.message)
        return cell

    # -- one cell ---------------------------------------------------------------------------

    def run_cell(
        self, job: Job, combo: dict[str, Any], strategy: dict[str, Any], needs: dict[str, Any]
    ) -> CellReport:
        start = time.monotonic()
        label = matrix_label(combo)
        report = CellReport(name=job.id, matrix=combo, status="success")
        self.emit("job_started", job.id, label)
        workdir = Path(self.runner.new_workdir())
        workspace = workdir / "workspace"
        runner_dir = workdir / "_runner"
        for directory in (
            workspace,
            runner_dir / "temp",
            runner_dir / "home",
            runner_dir / "files",
        ):
            directory.mkdir(parents=True, exist_ok=True)
        runner_ctx = {
            "os": "Linux",
            "arch": "X64",
            "name": "triops-local",
            "temp": str(runner_dir / "temp"),
            "tool_cache": str(runner_dir / "tool_cache"),
            "environment": "self-hosted",
        }
        contexts = {
            "github": {**self.github, "job": job.id, "workspace": str(workspace)},
            "needs": needs,
            "vars": {},
            "inputs": {},
            "secrets": {},
            "strategy": strategy,
            "matrix": combo,
            "runner": runner_ctx,
            "job": {"status": "success"},
            "env": dict(self.workflow_env),
            "steps": {},
        }
        contexts["inputs"] = self.inputs
        cell = Cell(
            job=job,
            report=report,
            label=label,
            workdir=workdir,
            workspace=workspace,
            runner_dir=runner_dir,
            contexts=contexts,
            env=dict(self.workflow_env),
            defaults_run={},
            deadline=0.0,
            timeout_minutes=DEFAULT_TIMEOUT_MINUTES,
        )
        try:
            cell.box = Confined(workdir)
            cell.ws = Confined(workspace)
            return self.run_cell_in(cell, start)
        finally:
            for folder in (cell.ws, cell.box):
                if folder is not None:
                    folder.close()
            self.runner.release(workdir)

    def run_cell_in(self, cell: Cell, start: float) -> CellReport:
        job, report, contexts, label = cell.job, cell.report, cell.contexts, cell.label
        ctx = ExpressionContext(contexts, workspace=cell.ws)
        try:
            name = interpolate(to_str(job.name), ctx) if job.name is not None else job.id
            if label and not (isinstance(job.name, str) and "matrix" in job.name):
                name = f"{name} ({label})"
            report.name = name
            report.runs_on = runs_on_label(evaluate_deep(job.runs_on, ctx))
            job_env = {str(k): to_str(evaluate_value(v, ctx)) for k, v in job.env.items()}
            cell.env.update(job_env)
            contexts["env"] = dict(cell.env)
            minutes = evaluate_value(job.timeout_minutes, ctx)
            cell.timeout_minutes = to_number(minutes) if minutes is not None else 360
            report.continue_on_error = truthy(evaluate_value(job.continue_on_error, ctx))
            defaults = {**self.workflow.defaults_run}
            for key, value in job.defaults_run.items():
                defaults[key] = evaluate_value(value, ctx)
            cell.defaults_run = defaults
        except ExpressionError as exc:
            return self.end_cell(cell, start, f"line {job.line}: {exc}")
        cell.deadline = min(start + cell.timeout_minutes * 60, self.run_deadline)
        for step in job.steps:
            report.steps.append(self.run_step(cell, step))
        self.job_outputs(cell)
        return self.end_cell(cell, start, "")

    def end_cell(self, cell: Cell, start: float, message: str) -> CellReport:
        report = cell.report
        if message:
            cell.status = "failure"
        report.status = cell.status
        if cell.timed_out:
            message = message or self.timeout_message(cell)
        report.message = message
        report.seconds = round(time.monotonic() - start, 3)
        if cell.label:
            self.emit(
                "cell_finished", cell.job.id, cell.label, status=report.status, line=message or None
            )
        return report

    def timeout_message(self, cell: Cell) -> str:
        if cell.deadline >= self.run_deadline and self.time_limit is not None:
            return (
                f"the run exceeded its time limit ({to_str(self.time_limit)} s for the whole run)"
            )
        return f"the job exceeded timeout-minutes ({to_str(cell.timeout_minutes)})"

    def job_outputs(self, cell: Cell) -> None:
        contexts = {
            **cell.contexts,
            "env": dict(cell.env),
            "steps": cell.steps,
            "job": {"status": cell.status},
        }
        ctx = ExpressionContext(contexts, workspace=cell.ws)
        for key, value in cell.job.outputs.items():
            try:
                cell.report.outputs[str(key)] = to_str(evaluate_value(value, ctx))
            except ExpressionError as exc:
                cell.status = "failure"
                cell.report.message = f"outputs.{key}: {exc}"

    def step_status(self, cell: Cell) -> Callable[[str], bool]:
        def status(name: str) -> bool:
            if name == "success":
                return cell.status == "success" and not cell.timed_out
            if name == "failure":
                return cell.status == "failure"
            if name == "cancelled":
                return cell.timed_out
            return True

        return status

    def run_step(self, cell: Cell, step: Step) -> StepReport:
        job_id = cell.job.id
        contexts = {
            **cell.contexts,
            "env": {**cell.env, **cell.scope_env},
            "steps": cell.steps,
            "job": {"status": cell.status},
        }
        contexts["github"] = {**contexts["github"], "action": step.id or f"__run_{step.index}"}
        ctx = ExpressionContext(contexts, self.step_status(cell), cell.ws)
        try:
            name = interpolate(to_str(step.name), ctx) if step.name else step.default_name()
        except ExpressionError:
            name = to_str(step.name)
        report = StepReport(name=name, id=step.id, status="skipped")
        name = f"{cell.name_prefix}{name}"  # as events show it: inside its composite action
        if cell.timed_out or time.monotonic() >= cell.deadline:
            cell.timed_out = True
            cell.status = "failure"
            report.status = "cancelled"
            report.message = f"cancelled: {self.timeout_message(cell)}"
            self.record(cell, step, report, "cancelled", "cancelled")
            return report
        try:
            runs = evaluate_condition(step.if_, ctx)
        except ExpressionError as exc:
            return self.fail_step(cell, step, report, f"{step.where}: if: {exc}")
        if not runs:
            self.record(cell, step, report, "skipped", "skipped")
            self.emit("step_finished", job_id, cell.label, step=name, status="skipped")
            return report
        self.emit("step_started", job_id, cell.label, step=name)
        log = CappedOutput(head=LOG_LIMIT // 4, tail=LOG_LIMIT // 2)
        logged = False

        def on_output(line: str) -> None:
            nonlocal logged
            logged = True
            log.add(line)
            self.emit("output", job_id, cell.label, step=name, line=line)

        start = time.monotonic()
        try:
            step_env = {str(k): to_str(evaluate_value(v, ctx)) for k, v in step.env.items()}
            contexts["env"] = {**cell.env, **cell.scope_env, **step_env}
            minutes = evaluate_value(step.timeout_minutes, ctx)
            continue_on_error = truthy(evaluate_value(step.continue_on_error, ctx))
            inputs = {str(k): to_str(evaluate_value(v, ctx)) for k, v in step.with_.items()}
            workdir_spec = step.working_directory
            if workdir_spec is None:
                workdir_spec = cell.defaults_run.get("working-directory")
            working_directory = to_str(evaluate_value(workdir_spec, ctx)) if workdir_spec else ""
            script = interpolate(step.run, ctx) if step.run is not None else None
        except ExpressionError as exc:
            return self.fail_step(cell, step, report, f"{step.where}: {exc}")
        remaining = cell.deadline - time.monotonic()
        step_limit = to_number(minutes) * 60 if minutes is not None else None
        timeout = remaining if step_limit is None else min(step_limit, remaining)
        files = {
            kind: f"_runner/files/{cell.key_prefix}{step.index}-{kind.lower()}"
            for kind in ("ENV", "OUTPUT", "PATH", "STEP_SUMMARY")
        }
        try:
            for relative in files.values():
                cell.box.write_file(relative, b"")  # type: ignore[union-attr]
        except (OSError, UnsafePath) as exc:
            return self.fail_step(cell, step, report, f"cannot prepare the step's files: {exc}")
        env = self.process_env(
            cell, step, step_env, {k: cell.workdir / v for k, v in files.items()}
        )
        if script is not None:
            outcome = self.run_script(
                cell, step, script, working_directory, env, timeout, on_output
            )
            ok = outcome.status == "ok" and outcome.exit_code == 0
            report.exit_code = outcome.exit_code
            if outcome.status == "timeout":
                report.timed_out = True
                if step_limit is not None and step_limit <= remaining:
                    report.message = (
                        f"the step timed out after {to_str(to_number(minutes))} minutes "
                        "(timeout-minutes)"
                    )
                else:
                    cell.timed_out = True
                    report.message = self.timeout_message(cell)
            elif not ok:
                report.message = (
                    f"Process completed with exit code {outcome.exit_code}."
                    if outcome.status == "failed"
                    else f"{outcome.status}: {outcome.output.strip()[-500:]}"
                )
            hint = self.network_hint if not ok and network_error(outcome.output) else None
            if hint:
                if not logged:  # keep the output the runner did not stream, then the hint
                    for line in outcome.output.splitlines():
                        log.add(line)
                on_output(hint)
                report.message = f"{report.message} {hint}".strip()
            log_text = log.text() if logged else outcome.output
            outputs: dict[str, str] = {}
        else:
            cell.step_env, cell.step_name = step_env, report.name
            result = self.run_action(cell, step, inputs, env, timeout, on_output)
            ok, report.message, outputs = result.ok, result.message, dict(result.outputs)
            report.steps = result.steps
            if report.message and not ok:
                on_output(f"Error: {report.message}")
            log_text = log.text()
        try:
            outputs.update(parse_env_file(self.command_file(cell, files["OUTPUT"]), "output"))
            self.apply_env_file(cell, self.command_file(cell, files["ENV"]), on_output)
            for line in self.command_file(cell, files["PATH"]).splitlines():
                if line.strip():
                    cell.path_prepend.insert(0, line.strip())
            report.summary = self.command_file(cell, files["STEP_SUMMARY"])
        except ValueError as exc:
            ok = False
            report.message = visible(exc)
            on_output(f"Error: {visible(exc)}")
        if logged:
            log_text = log.text()  # with what the file commands added (warnings, errors)
        if report.summary:
            cell.report.summary += report.summary
        report.outputs = outputs
        report.log = cap_log(log_text)
        report.seconds = round(time.monotonic() - start, 3)
        outcome_name = "success" if ok else "failure"
        conclusion = "success" if ok or continue_on_error else "failure"
        if not ok and continue_on_error:
            report.message = f"{report.message} (continue-on-error)".strip()
        if conclusion == "failure":
            cell.status = "failure"
        self.record(cell, step, report, outcome_name, conclusion)
        detail = f"{report.seconds:.1f}s" + (f", {report.message}" if report.message else "")
        self.emit("step_finished", job_id, cell.label, step=name, status=conclusion, line=detail)
        return report

    def fail_step(self, cell: Cell, step: Step, report: StepReport, message: str) -> StepReport:
        report.message = message
        cell.status = "failure"
        self.record(cell, step, report, "failure", "failure")
        self.emit(
            "step_finished",
            cell.job.id,
            cell.label,
            step=f"{cell.name_prefix}{report.name}",
            status="failure",
            line=message,
        )
        return report

    def record(self, cell: Cell, step: Step, report: StepReport, outcome: str, conclusion: str):
        report.outcome = outcome
        report.conclusion = conclusion
        report.status = conclusion
        if step.id is not None:
            cell.steps[step.id] = {
                "outputs": dict(report.outputs),
                "outcome": outcome,
                "conclusion": conclusion,
            }

    def command_file(self, cell: Cell, relative: str) -> str:
        """A file command's file as the step left it: a regular file of at most 1 MiB, or
        nothing. A link, FIFO or device there fails the step instead of being followed or
        blocking the runner."""
        name = relative.rsplit("-", 1)[-1].upper()
        try:
            return cell.box.read_text(relative, COMMAND_FILE_LIMIT)  # type: ignore[union-attr]
        except UnsafePath as exc:
            raise ValueError(f"GITHUB_{name} was replaced by something else: {exc}") from exc
        except TooLarge as exc:
            raise ValueError(
                f"GITHUB_{name} holds more than {COMMAND_FILE_LIMIT:,} bytes; "
                "Triops reads at most 1 MiB of each file command"
            ) from exc

    def apply_env_file(self, cell: Cell, text: str, on_output: Callable[[str], None]) -> None:
        for key, value in parse_env_file(text, "env").items():
            if key.upper().startswith(("GITHUB_", "RUNNER_")):
                on_output(
                    f"Warning: {visible(key)} cannot be overwritten through GITHUB_ENV; ignored"
                )
                continue
            if REFUSED_ENV.match(key):
                on_output(
                    f"Warning: {visible(key)} cannot be set through GITHUB_ENV: it would make the "
                    "dynamic loader or an interpreter run code in every later step; ignored"
                )
                continue
            cell.env[key] = value

    def process_env(
        self, cell: Cell, step: Step, step_env: dict[str, str], files: dict[str, Path]
    ) -> dict[str, str]:
        env = dict(self.base_env)
        env.setdefault("HOME", str(cell.runner_dir / "home"))
        env.setdefault("LANG", "C.UTF-8")
        env["CI"] = "true"
        env.update(cell.env)
        env.update(cell.scope_env)
        env.update(step_env)
        github = cell.contexts["github"]
        env.update(
            {
                "GITHUB_ACTIONS": "true",
                "GITHUB_WORKSPACE": str(cell.workspace),
                "GITHUB_RUN_ID": self.run_id,
                "GITHUB_RUN_NUMBER": "1",
                "GITHUB_RUN_ATTEMPT": "1",
                "GITHUB_JOB": cell.job.id,
                "GITHUB_ACTION": step.id or f"__run_{step.index}",
                "GITHUB_EVENT_NAME": to_str(github["event_name"]),
                "GITHUB_REF": to_str(github["ref"]),
                "GITHUB_REF_NAME": to_str(github["ref_name"]),
                "GITHUB_REF_TYPE": to_str(github["ref_type"]),
                "GITHUB_SHA": to_str(github["sha"]),
                "GITHUB_REPOSITORY": to_str(github["repository"]),
                "GITHUB_REPOSITORY_OWNER": to_str(github["repository_owner"]),
                "GITHUB_ACTOR": to_str(github["actor"]),
                "GITHUB_WORKFLOW": self.workflow.name,
                "GITHUB_SERVER_URL": to_str(github["server_url"]),
                "GITHUB_ENV": str(files["ENV"]),
                "GITHUB_OUTPUT": str(files["OUTPUT"]),
                "GITHUB_PATH": str(files["PATH"]),
                "GITHUB_STEP_SUMMARY": str(files["STEP_SUMMARY"]),
                "RUNNER_OS": "Linux",
                "RUNNER_ARCH": "X64",
                "RUNNER_NAME": "triops-local",
                "RUNNER_TEMP": str(cell.runner_dir / "temp"),
                "RUNNER_TOOL_CACHE": str(cell.runner_dir / "tool_cache"),
            }
        )
        if github.get("action_path"):
            env["GITHUB_ACTION_PATH"] = to_str(github["action_path"])
        base_path = env.get("PATH") or self.base_env["PATH"]
        env["PATH"] = os.pathsep.join([*cell.path_prepend, base_path])
        return env

    def run_script(
        self,
        cell: Cell,
        step: Step,
        script: str,
        working_directory: str,
        env: dict[str, str],
        timeout: float,
        on_output: Callable[[str], None],
    ) -> StepOutcome:
        shell = step.shell or cell.defaults_run.get("shell") or None
        template, suffix = SHELLS.get(shell, (shell, ".sh")) if shell else UNSET_SHELL
        script_name = f"_runner/step-{cell.key_prefix}{step.index}{suffix}"
        script_path = cell.workdir / script_name
        cmd = [part.replace("{0}", str(script_path)) for part in shlex.split(template)]
        try:
            relative = cell.inside_workdir(working_directory or ".")
        except UnsafePath:
            message = f"working-directory '{working_directory}' is outside the workspace"
            on_output(f"Error: {visible(message)}")
            return StepOutcome(None, "error", message, 0.0)
        if not cell.box.is_dir(relative):  # type: ignore[union-attr]
            message = (
                f"working-directory '{working_directory}' does not exist in the workspace "
                "(it is relative to the workspace root)"
            )
            on_output(f"Error: {visible(message)}")
            return StepOutcome(None, "error", message, 0.0)
        try:
            cell.box.write_file(script_name, script.encode("utf-8"))  # type: ignore[union-attr]
        except (OSError, UnsafePath) as exc:
            message = f"cannot write the step's script: {exc}"
            on_output(f"Error: {visible(message)}")
            return StepOutcome(None, "error", message, 0.0)
        directory = cell.workdir / relative
        self.runner.prepare(cell.workdir)
        return self.runner.run(
            cmd,
            workdir=cell.workdir,
            cwd=str(directory.relative_to(cell.workdir)),
            env=env,
            timeout=max(timeout, 0.0),
            on_output=on_output,
            allow_network=self.allow_network,
        )

    def run_action(
        self,
        cell: Cell,
        step: Step,
        inputs: dict[str, str],
        env: dict[str, str],
        timeout: float,
        log: Callable[[str], None],
    ) -> ActionResult:
        uses = step.uses or ""
        action = action_for(uses)
        if action is None:
            return ActionResult(False, f"not available offline: {uses}")
        try:
            return action.run(self, ActionCall(cell, step, inputs, env, timeout, log))
        except (OSError, ValueError) as exc:
            # ValueError: UnsafePath (a link a step left), TooLarge, TooSlow.
            return ActionResult(False, f"{uses}: {visible(exc)}")


def run_workflow(
    workflow: Workflow,
    *,
    runner: StepRunner,
    workspace_seed: Path,
    on_event: Callable[[Event], None] | None = None,
    allow_network: bool = False,
    max_parallel: int = 1,
    env: dict[str, str] | None = None,
    python: str = sys.executable,
    artifacts_dir: Path | None = None,
    github: dict[str, Any] | None = None,
    copy_budget: int = DEFAULT_COPY_BUDGET,
    time_limit: float | None = None,
    trigger: Trigger | None = None,
    network_hint: str | None = CI_NETWORK_HINT,
) -> RunReport:
    """Run the jobs in dependency order, one matrix cell at a time, and report what happened.

        `trigger` is the simulated event (default: a push to refs/heads/main with no list of
        changed files); when `on:` does not select it, nothing runs and the report's status is
        not-triggered, its message naming the filter. `network_hint` is the line added to a step
        that failed on a network error (none when the network is allowed).

    `workspace_seed` is what actions/checkout copies in. Each cell gets a fresh work folder from
        the runner (`runner.new_workdir()`, given back with `runner.release` when the cell is
        done): `<dir>/workspace` is GITHUB_WORKSPACE and `<dir>/_runner` holds scripts, the
        GITHUB_* files, RUNNER_TEMP and HOME. `env` is the base process
        environment (lowest precedence, not part of the `env` context); `python` is the interpreter
        setup-python offers. Jobs run sequentially: `max_parallel` and strategy.max-parallel are
        accepted for compatibility. `github` overrides fields of the github context.
        `runner.prepare(workdir)` is called before each command, after this module has written
        scripts and files into the work folder (a sandbox hands them to its own user there).
        `copy_budget` caps the bytes the built-in actions copy in one run (checkout, artifacts),
        each file counted at its apparent size so that sparse files cannot slip past.
        `time_limit` bounds the whole run in seconds (a lab's wall_seconds): once it has passed,
        the remaining steps are cancelled, whatever timeout-minutes the workflow sets.

        The built-in actions run here, in the caller's process (as root under the sandbox), on
        folders a step may have filled with links, FIFOs and huge files: they reach every path
        through descriptors opened before the first step and never follow a link
        (triops.labs.safefs), read only regular files within caps, and stop at the step's deadline.
    """
    if max_parallel < 1:
        raise ValueError("max_parallel must be at least 1")
    run = _Run(
        workflow,
        runner,
        workspace_seed,
        on_event,
        allow_network,
        env,
        python,
        artifacts_dir,
        github,
        copy_budget,
        time_limit,
        trigger,
        network_hint,
    )
    return run.execute()
