"""The workflow model and its loader: a workflow file (or a local composite action's
action.yml) parsed with the bounds of learner YAML and checked before anything runs, every
error located by file and line (WorkflowError)."""

from __future__ import annotations

import difflib
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from triops.content.yamlsource import LEARNER_YAML, YamlDoc, YamlSyntaxError, parse_yaml
from triops.errors import InvalidInputError
from triops.labs.ci.expressions import (
    CONTEXTS,
    ExpressionError,
    check_expression,
    condition_expression,
    kind_of,
    template_parts,
    to_str,
)
from triops.labs.ci.matrix import MatrixError, expand_matrix, has_expression
from triops.labs.ci.triggers import (
    EVENTS,
    PATH_FILTERS,
    REF_FILTERS,
    PatternError,
    patterns_of,
)

# GitHub's shells on Linux runners ("Workflow syntax for GitHub Actions", jobs.<job_id>.steps[*].
# shell): a step with no `shell:` (and no defaults.run.shell) runs `bash -e {0}`, without
# pipefail; `shell: bash` runs `bash --noprofile --norc -eo pipefail {0}`.
UNSET_SHELL = ("bash -e {0}", ".sh")
SHELLS = {
    "bash": ("bash --noprofile --norc -eo pipefail {0}", ".sh"),
    "sh": ("sh -e {0}", ".sh"),
    "python": ("python {0}", ".py"),
}


class WorkflowError(InvalidInputError):
    """A workflow that cannot run, located by file and 1-based line."""

    def __init__(self, path: str | Path, line: int, message: str):
        self.path = str(path)
        self.line = line
        self.message = message
        super().__init__(f"{self.path}:{line}: error: {message}")


class WorkflowUnreadable(WorkflowError):
    """A workflow file that cannot be read at all (missing, a folder, a FIFO, no permission):
    a problem of the machine or the command line, not of the workflow's text."""


_WORKFLOW_KEYS = {"name", "run-name", "on", "env", "defaults", "jobs", "permissions", "concurrency"}
_JOB_KEYS = {
    *("name", "needs", "runs-on", "permissions", "environment", "concurrency", "outputs"),
    *("env", "defaults", "if", "steps", "timeout-minutes", "strategy", "continue-on-error"),
    *("container", "services", "uses", "with", "secrets"),
}
_STEP_KEYS = {
    *("id", "if", "name", "uses", "run", "working-directory", "shell", "with", "env"),
    *("continue-on-error", "timeout-minutes"),
}
# "Metadata syntax for GitHub Actions": the keys of action.yml and of a composite action's steps.
_ACTION_KEYS = {"name", "author", "description", "inputs", "outputs", "runs", "branding"}
_COMPOSITE_STEP_KEYS = {
    *("id", "if", "name", "uses", "run", "working-directory", "shell", "with", "env"),
    "continue-on-error",
}
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_USES = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[^@\s]+)?@[^@\s]+$")


@dataclass
class Step:
    """One entry of `jobs.<id>.steps`, as written (expressions are evaluated when it runs)."""

    index: int
    line: int
    id: str | None = None
    name: str | None = None
    if_: Any = None
    run: str | None = None
    uses: str | None = None
    with_: dict[str, Any] = field(default_factory=dict)
    env: dict[str, Any] = field(default_factory=dict)
    working_directory: str | None = None
    shell: str | None = None
    timeout_minutes: Any = None
    continue_on_error: Any = False
    file: str | None = None  # set for a composite action's steps: the action.yml they are in

    @property
    def where(self) -> str:
        """`line 12`, or `./.github/actions/x/action.yml:12` for a composite action's step."""
        return f"{self.file}:{self.line}" if self.file else f"line {self.line}"

    def default_name(self) -> str:
        """`Run <first line of the script>` or `Run <action>`, as GitHub names unnamed steps."""
        if self.run is not None:
            first = next((ln for ln in self.run.splitlines() if ln.strip()), "")
            return f"Run {first.strip()}"
        return f"Run {self.uses}"


@dataclass
class Strategy:
    """`jobs.<id>.strategy`: the matrix as written, fail-fast and max-parallel."""

    matrix: Any
    fail_fast: Any = True
    max_parallel: Any = None


@dataclass
class Job:
    """One entry of `jobs`."""

    id: str
    line: int
    name: str | None
    needs: list[str]
    runs_on: Any
    steps: list[Step]
    if_: Any = None
    env: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    strategy: Strategy | None = None
    timeout_minutes: Any = None
    continue_on_error: Any = False
    defaults_run: dict[str, Any] = field(default_factory=dict)


@dataclass
class Workflow:
    """A checked workflow: jobs keyed by id and `order`, a dependency order for running them."""

    path: Path
    name: str
    env: dict[str, Any]
    defaults_run: dict[str, Any]
    jobs: dict[str, Job]
    order: list[str]
    text: str = ""
    # `on:` as event -> its settings (None when it has none), and the line of each event and
    # filter ('push', 'push.branches') for messages.
    on: dict[str, Any] = field(default_factory=lambda: {"push": None})
    on_lines: dict[str, int] = field(default_factory=dict)


@dataclass
class ActionInput:
    """One input of a composite action: its default (an expression is allowed), whether it is
    required, and its deprecation message."""

    default: Any = None
    required: bool = False
    deprecation: str | None = None


@dataclass
class Action:
    """A local composite action (action.yml with runs.using: composite), checked."""

    path: str  # as shown in messages: ./path/action.yml
    name: str
    inputs: dict[str, ActionInput]
    outputs: dict[str, Any]
    steps: list[Step]


class _Loader:
    def __init__(self, path: Path | str, doc: YamlDoc):
        self.path = path
        self.doc = doc

    def fail(self, loc: tuple[Any, ...], message: str) -> WorkflowError:
        return WorkflowError(self.path, self.doc.line_of(loc), message)

    def line(self, loc: tuple[Any, ...]) -> int:
        return self.doc.line_of(loc)

    def check_keys(self, data: dict, allowed: set[str], loc: tuple, what: str) -> None:
        for key in data:
            if key is True:  # YAML 1.1 reads the key `on` as the boolean true
                key = "on"
            if key not in allowed:
                raise self.fail(
                    (*loc, key),
                    f"unknown key '{key}' in {what} (allowed: {', '.join(sorted(allowed))})",
                )

    def mapping(self, value: Any, loc: tuple, what: str) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(loc, f"{what} must be a mapping, got {kind_of(value)}")
        return value

    def expr(self, value: Any, loc: tuple, where: str, *, condition: bool = False) -> None:
        """Check every expression in `value` (a string, or a mapping/list of them)."""
        if isinstance(value, dict):
            for key, item in value.items():
                self.expr(item, (*loc, key), where)
            return
        if isinstance(value, list):
            for index, item in enumerate(value):
                self.expr(item, (*loc, index), where)
            return
        if not isinstance(value, str) and not condition:
            return
        status_ok = where in ("job_if", "step_if", "composite_if")
        steps_ok = where.startswith(("step", "composite"))
        try:
            if condition:
                expression = condition_expression(value)
                if expression is not None:
                    check_expression(
                        expression, CONTEXTS[where], status_ok=status_ok, steps_ok=steps_ok
                    )
                    return
            for part in template_parts(str(value)):
                if isinstance(part, tuple):
                    check_expression(
                        part[0], CONTEXTS[where], status_ok=status_ok, steps_ok=steps_ok
                    )
        except ExpressionError as exc:
            raise self.fail(loc, str(exc)) from None

    def load(self, text: str) -> Workflow:
        data = self.doc.data
        if not isinstance(data, dict):
            raise self.fail((), f"a workflow must be a mapping, got {kind_of(data)}")
        self.check_keys(data, _WORKFLOW_KEYS, (), "the workflow")
        if "on" not in data and True not in data:
            raise self.fail((), "missing required key 'on' (the events that trigger the workflow)")
        if "jobs" not in data:
            raise self.fail((), "missing required key 'jobs'")
        on, on_lines = self.on(data["on"] if "on" in data else data[True])
        env = self.mapping(data.get("env"), ("env",), "env")
        self.expr(env, ("env",), "workflow")
        defaults = self.defaults(data.get("defaults"), ("defaults",), "workflow")
        jobs_data = data["jobs"]
        if not isinstance(jobs_data, dict) or not jobs_data:
            raise self.fail(("jobs",), "'jobs' must be a mapping with at least one job")
        jobs = {}
        for job_id, job_data in jobs_data.items():
            jobs[str(job_id)] = self.job(str(job_id), job_data)
        for job in jobs.values():
            for index, need in enumerate(job.needs):
                if need not in jobs:
                    known = ", ".join(jobs)
                    raise self.fail(
                        ("jobs", job.id, "needs", index),
                        f"job '{job.id}' needs '{need}', which is not a job in this workflow "
                        f"(jobs: {known})",
                    )
        self.check_cycles(jobs)
        name = data.get("name")
        return Workflow(
            path=self.path,
            name=to_str(name) if name is not None else str(self.path),
            env=env,
            defaults_run=defaults,
            jobs=jobs,
            order=_dependency_order(jobs),
            text=text,
            on=on,
            on_lines=on_lines,
        )

    def on(self, value: Any) -> tuple[dict[str, Any], dict[str, int]]:
        """`on:` as event -> settings: a name, a list of names or a mapping, each event known to
        GitHub, each filter a list of valid patterns, never both a filter and its -ignore."""
        loc: tuple[Any, ...] = ("on",)
        lines: dict[str, int] = {}
        if isinstance(value, str):
            names = [(value, loc)]
            events: dict[str, Any] = {value: None}
        elif isinstance(value, list) and value:
            names = []
            for index, item in enumerate(value):
                if not isinstance(item, str):
                    raise self.fail(
                        (*loc, index), f"on: entries must be event names, got {kind_of(item)}"
                    )
                names.append((item, (*loc, index)))
            events = {item: None for item in value}
        elif isinstance(value, dict) and value:
            names = [(str(k), (*loc, k)) for k in value]
            events = {str(k): v for k, v in value.items()}
        else:
            raise self.fail(
                loc,
                "on must name the events that trigger the workflow: an event, a list or a mapping",
            )
        for name, where in names:
            lines[name] = self.line(where)
            if name not in EVENTS:
                close = difflib.get_close_matches(name, sorted(EVENTS), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise self.fail(where, f"'{name}' is not an event that triggers workflows{hint}")
            settings = events[name]
            if name == "schedule":
                self.schedule(settings, where)
                continue
            if settings is None:
                continue
            if not isinstance(settings, dict):
                raise self.fail(
                    where, f"on.{name} must be a mapping of its settings, got {kind_of(settings)}"
                )
            for pair in (("branches", "branches-ignore"), ("tags", "tags-ignore"), PATH_FILTERS):
                if all(key in settings for key in pair):
                    raise self.fail(
                        (*where, pair[1]),
                        f"on.{name} cannot use both {pair[0]} and {pair[1]}; put the exclusions "
                        f"in {pair[0]} with a leading '!'",
                    )
            for key, patterns in settings.items():
                key = str(key)
                lines[f"{name}.{key}"] = self.line((*where, key))
                if key in REF_FILTERS or key in PATH_FILTERS:
                    self.filter(patterns, (*where, key), f"on.{name}.{key}")
        return events, lines

    def filter(self, value: Any, loc: tuple, what: str) -> None:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(p, str) and p for p in items):
            raise self.fail(loc, f"{what} must be a list of patterns (strings)")
        try:
            patterns_of(items)
        except PatternError as exc:
            raise self.fail(loc, f"{what}: {exc}") from None

    def schedule(self, value: Any, loc: tuple) -> None:
        if not isinstance(value, list) or not value:
            raise self.fail(
                loc, "on.schedule must be a list of entries such as - cron: '0 6 * * 1'"
            )
        for index, entry in enumerate(value):
            if not isinstance(entry, dict) or not isinstance(entry.get("cron"), str):
                raise self.fail(
                    (*loc, index), "each on.schedule entry needs cron: 'MIN HOUR DAY MONTH WEEKDAY'"
                )
            if len(entry["cron"].split()) != 5:
                raise self.fail(
                    (*loc, index, "cron"),
                    f"cron '{entry['cron']}' needs five fields: minute hour day month weekday",
                )

    def action(self) -> Action:
        """A composite action's action.yml: its inputs, outputs and steps, checked as GitHub
        checks them (a run step needs shell:)."""
        data = self.doc.data
        if not isinstance(data, dict):
            raise self.fail((), f"an action must be a mapping, got {kind_of(data)}")
        self.check_keys(data, _ACTION_KEYS, (), "action.yml")
        if "runs" not in data:
            raise self.fail((), "missing required key 'runs'")
        runs = self.mapping(data["runs"], ("runs",), "runs")
        using = runs.get("using")
        if using != "composite":
            raise self.fail(
                ("runs", "using"),
                f"runs.using is {using!r}: only composite actions (runs.using: composite) run "
                "here; JavaScript and Docker actions are not available offline",
            )
        self.check_keys(runs, {"using", "steps"}, ("runs",), "runs of a composite action")
        steps_data = runs.get("steps")
        if not isinstance(steps_data, list) or not steps_data:
            raise self.fail(("runs",), "runs.steps must be a list with at least one step")
        inputs: dict[str, ActionInput] = {}
        for input_id, spec in self.mapping(data.get("inputs"), ("inputs",), "inputs").items():
            where = ("inputs", input_id)
            if not isinstance(input_id, str) or not _ID.match(input_id):
                raise self.fail(where, f"input id {input_id!r} must start with a letter or '_'")
            spec = self.mapping(spec, where, f"input '{input_id}'")
            self.check_keys(
                spec,
                {"description", "required", "default", "deprecationMessage"},
                where,
                f"input '{input_id}'",
            )
            self.expr(spec.get("default"), (*where, "default"), "step")
            inputs[input_id] = ActionInput(
                default=spec.get("default"),
                required=spec.get("required") is True
                or str(spec.get("required")).lower() == "true",
                deprecation=to_str(spec["deprecationMessage"])
                if "deprecationMessage" in spec
                else None,
            )
        outputs: dict[str, Any] = {}
        for output_id, spec in self.mapping(data.get("outputs"), ("outputs",), "outputs").items():
            where = ("outputs", output_id)
            spec = self.mapping(spec, where, f"output '{output_id}'")
            self.check_keys(spec, {"description", "value"}, where, f"output '{output_id}'")
            if "value" not in spec:
                raise self.fail(where, f"output '{output_id}' of a composite action needs a value")
            self.expr(spec["value"], (*where, "value"), "composite_step")
            outputs[str(output_id)] = spec["value"]
        steps = [
            self.step("", index, item, composite=True) for index, item in enumerate(steps_data)
        ]
        seen: set[str] = set()
        for step in steps:
            if step.id is not None:
                if step.id in seen:
                    raise self.fail(
                        ("runs", "steps", step.index, "id"), f"step id '{step.id}' is used twice"
                    )
                seen.add(step.id)
        name = data.get("name")
        return Action(
            path=str(self.path),
            name=to_str(name) if name is not None else str(self.path),
            inputs=inputs,
            outputs=outputs,
            steps=steps,
        )

    def defaults(self, value: Any, loc: tuple, where: str) -> dict[str, Any]:
        defaults = self.mapping(value, loc, "defaults")
        run = self.mapping(defaults.get("run"), (*loc, "run"), "defaults.run")
        for key in run:
            if key not in ("shell", "working-directory"):
                raise self.fail((*loc, "run", key), f"unknown key '{key}' in defaults.run")
        if "shell" in run:
            self.shell(run["shell"], (*loc, "run", "shell"))
        if where == "job":
            self.expr(run, (*loc, "run"), "job_defaults")
        elif has_expression(run):
            raise self.fail((*loc, "run"), "workflow defaults.run cannot use expressions")
        return run

    def shell(self, value: Any, loc: tuple) -> None:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(loc, "shell must be a string")
        if value not in SHELLS and "{0}" not in value:
            raise self.fail(
                loc,
                f"shell '{value}' is not available here; use bash, sh, python "
                "or a command with {0} for the script file",
            )

    def job(self, job_id: str, data: Any) -> Job:
        loc = ("jobs", job_id)
        if not _ID.match(job_id):
            raise self.fail(
                loc,
                f"job id '{job_id}' must start with a letter or '_' and contain only "
                "letters, digits, '-' and '_'",
            )
        if not isinstance(data, dict):
            raise self.fail(loc, f"job '{job_id}' must be a mapping, got {kind_of(data)}")
        self.check_keys(data, _JOB_KEYS, loc, f"job '{job_id}'")
        if "uses" in data:
            raise self.fail((*loc, "uses"), "reusable workflows (jobs.<id>.uses) are not supported")
        for key in ("container", "services"):
            if key in data:
                raise self.fail((*loc, key), f"'{key}' needs Docker, which is not available here")
        if "runs-on" not in data:
            raise self.fail(loc, f"job '{job_id}' is missing 'runs-on'")
        steps_data = data.get("steps")
        if not isinstance(steps_data, list) or not steps_data:
            raise self.fail(
                (*loc, "steps") if "steps" in data else loc,
                f"job '{job_id}' needs 'steps': a list with at least one step",
            )
        needs = data.get("needs") or []
        if isinstance(needs, str):
            needs = [needs]
        if not isinstance(needs, list) or not all(isinstance(n, str) for n in needs):
            raise self.fail((*loc, "needs"), "needs must be a job id or a list of job ids")
        if "if" in data:
            self.expr(data["if"], (*loc, "if"), "job_if", condition=True)
        for key in ("name", "runs-on", "timeout-minutes", "continue-on-error"):
            self.expr(data.get(key), (*loc, key), "job")
        self.number_or_expr(data.get("timeout-minutes"), (*loc, "timeout-minutes"))
        self.bool_or_expr(data.get("continue-on-error"), (*loc, "continue-on-error"))
        env = self.mapping(data.get("env"), (*loc, "env"), "env")
        self.expr(env, (*loc, "env"), "job_env")
        outputs = self.mapping(data.get("outputs"), (*loc, "outputs"), "outputs")
        self.expr(outputs, (*loc, "outputs"), "job_outputs")
        strategy = (
            self.strategy(data.get("strategy"), (*loc, "strategy")) if "strategy" in data else None
        )
        steps = [self.step(job_id, index, item) for index, item in enumerate(steps_data)]
        seen: dict[str, int] = {}
        for step in steps:
            if step.id is None:
                continue
            if step.id in seen:
                raise self.fail(
                    (*loc, "steps", step.index, "id"),
                    f"step id '{step.id}' is used twice in job '{job_id}'",
                )
            seen[step.id] = step.index
        return Job(
            id=job_id,
            line=self.line(loc),
            name=data.get("name"),
            needs=needs,
            runs_on=data["runs-on"],
            steps=steps,
            if_=data.get("if"),
            env=env,
            outputs=outputs,
            strategy=strategy,
            timeout_minutes=data.get("timeout-minutes"),
            continue_on_error=data.get("continue-on-error", False),
            defaults_run=self.defaults(data.get("defaults"), (*loc, "defaults"), "job"),
        )

    def number_or_expr(self, value: Any, loc: tuple) -> None:
        if value is None or (isinstance(value, str) and "${{" in value):
            return
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise self.fail(loc, f"timeout-minutes must be a positive number, got {value!r}")

    def bool_or_expr(self, value: Any, loc: tuple) -> None:
        if value is None or isinstance(value, bool) or (isinstance(value, str) and "${{" in value):
            return
        raise self.fail(
            loc, f"continue-on-error must be true, false or an expression, got {value!r}"
        )

    def strategy(self, value: Any, loc: tuple) -> Strategy:
        data = self.mapping(value, loc, "strategy")
        for key in data:
            if key not in ("matrix", "fail-fast", "max-parallel"):
                raise self.fail((*loc, key), f"unknown key '{key}' in strategy")
        if "matrix" not in data:
            raise self.fail(loc, "strategy needs a 'matrix'")
        matrix = data["matrix"]
        self.expr(matrix, (*loc, "matrix"), "strategy")
        self.expr(data.get("fail-fast"), (*loc, "fail-fast"), "strategy")
        self.expr(data.get("max-parallel"), (*loc, "max-parallel"), "strategy")
        if isinstance(matrix, str):
            if condition_expression(matrix) is None or "${{" not in matrix:
                raise self.fail((*loc, "matrix"), "matrix must be a mapping or a ${{ }} expression")
        elif not has_expression(matrix):
            try:
                expand_matrix(matrix)
            except MatrixError as exc:
                raise self.fail((*loc, "matrix", *exc.loc), str(exc)) from None
        fail_fast = data.get("fail-fast", True)
        if not isinstance(fail_fast, bool) and not has_expression(fail_fast):
            raise self.fail((*loc, "fail-fast"), "fail-fast must be true or false")
        max_parallel = data.get("max-parallel")
        if max_parallel is not None and not has_expression(max_parallel):
            if (
                isinstance(max_parallel, bool)
                or not isinstance(max_parallel, int)
                or max_parallel < 1
            ):
                raise self.fail((*loc, "max-parallel"), "max-parallel must be a positive integer")
        return Strategy(matrix=matrix, fail_fast=fail_fast, max_parallel=max_parallel)

    def step(self, job_id: str, index: int, data: Any, *, composite: bool = False) -> Step:
        loc: tuple[Any, ...] = (
            ("runs", "steps", index) if composite else ("jobs", job_id, "steps", index)
        )
        which = (
            f"step {index + 1} of the action"
            if composite
            else f"step {index + 1} of job '{job_id}'"
        )
        if not isinstance(data, dict):
            raise self.fail(loc, f"{which} must be a mapping")
        self.check_keys(data, _COMPOSITE_STEP_KEYS if composite else _STEP_KEYS, loc, "a step")
        has_run, has_uses = "run" in data, "uses" in data
        if not has_run and not has_uses:
            raise self.fail(loc, f"{which} has neither 'run' nor 'uses'")
        if has_run and has_uses:
            raise self.fail(loc, f"{which} has both 'run' and 'uses'")
        if composite and has_run and "shell" not in data:
            raise self.fail(
                loc,
                f"{which} runs a script without shell: a composite action's run steps must "
                "name their shell (for example shell: bash), as GitHub requires",
            )
        where_if, where = ("composite_if", "composite_step") if composite else ("step_if", "step")
        step_id = data.get("id")
        if step_id is not None and (not isinstance(step_id, str) or not _ID.match(step_id)):
            raise self.fail(
                (*loc, "id"),
                f"step id {step_id!r} must start with a letter or '_' and contain only "
                "letters, digits, '-' and '_'",
            )
        if has_uses:
            uses = data["uses"]
            if not isinstance(uses, str) or not (
                _USES.match(uses) or uses.startswith(("./", "docker://"))
            ):
                raise self.fail(
                    (*loc, "uses"),
                    f"uses {uses!r} must look like owner/repo@ref "
                    "(for example actions/checkout@v4)",
                )
        elif not isinstance(data["run"], str):
            raise self.fail((*loc, "run"), "run must be a string (use '|' for several lines)")
        if "shell" in data:
            self.shell(data["shell"], (*loc, "shell"))
        if "if" in data:
            self.expr(data["if"], (*loc, "if"), where_if, condition=True)
        with_ = self.mapping(data.get("with"), (*loc, "with"), "with")
        env = self.mapping(data.get("env"), (*loc, "env"), "env")
        for key in ("name", "run", "working-directory", "timeout-minutes", "continue-on-error"):
            self.expr(data.get(key), (*loc, key), where)
        self.expr(with_, (*loc, "with"), where)
        self.expr(env, (*loc, "env"), where)
        self.number_or_expr(data.get("timeout-minutes"), (*loc, "timeout-minutes"))
        self.bool_or_expr(data.get("continue-on-error"), (*loc, "continue-on-error"))
        return Step(
            index=index,
            line=self.line(loc),
            id=step_id,
            name=data.get("name"),
            if_=data.get("if"),
            run=data.get("run"),
            uses=data.get("uses"),
            with_=with_,
            env=env,
            working_directory=data.get("working-directory"),
            shell=data.get("shell"),
            timeout_minutes=data.get("timeout-minutes"),
            continue_on_error=data.get("continue-on-error", False),
            file=str(self.path) if composite else None,
        )

    def check_cycles(self, jobs: dict[str, Job]) -> None:
        state: dict[str, int] = {}  # 1 visiting, 2 done
        stack: list[str] = []

        def visit(job_id: str) -> None:
            state[job_id] = 1
            stack.append(job_id)
            job = jobs[job_id]
            for index, need in enumerate(job.needs):
                if state.get(need) == 1:
                    cycle = [*stack[stack.index(need) :], need]
                    raise self.fail(
                        ("jobs", job_id, "needs", index),
                        f"needs form a cycle: {' -> '.join(cycle)}",
                    )
                if need not in state:
                    visit(need)
            stack.pop()
            state[job_id] = 2

        for job_id in jobs:
            if job_id not in state:
                visit(job_id)


def _dependency_order(jobs: dict[str, Job]) -> list[str]:
    """Jobs in file order, each after everything it needs."""
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(jobs):
        for job_id, job in jobs.items():
            if job_id not in done and all(n in done for n in job.needs):
                order.append(job_id)
                done.add(job_id)
                break
    return order


def load_workflow(path: str | Path) -> Workflow:
    """Parse and check a workflow file; raise WorkflowError (file and line) before anything runs."""
    path = Path(path)
    try:
        # Non-blocking and regular files only: a FIFO in its place cannot hang the runner.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise WorkflowUnreadable(path, 1, "cannot read the workflow: not a regular file")
            os.set_blocking(fd, True)
            with os.fdopen(fd, "rb", closefd=False) as handle:
                raw = handle.read(LEARNER_YAML.max_bytes + 1)
        finally:
            os.close(fd)
        text = raw.decode("utf-8")
    except OSError as exc:
        raise WorkflowUnreadable(
            path, 1, f"cannot read the workflow: {exc.strerror or exc}"
        ) from exc
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise WorkflowError(path, line, "the workflow is not UTF-8 text") from exc
    return parse_workflow(text, path)


def parse_workflow(text: str, path: str | Path = "<workflow>") -> Workflow:
    """Parse and check workflow text; `path` is only used in messages."""
    path = Path(path)
    try:
        doc = parse_yaml(text, limits=LEARNER_YAML)
    except YamlSyntaxError as exc:
        raise WorkflowError(path, exc.line, exc.message) from exc
    except yaml.YAMLError as exc:  # constructor errors that compose accepted
        raise WorkflowError(path, 1, f"YAML error: {exc}") from exc
    return _Loader(path, doc).load(text)


def parse_action(text: str, path: str) -> Action:
    """Parse and check a composite action's action.yml; WorkflowError (`path:line`)."""
    try:
        doc = parse_yaml(text, limits=LEARNER_YAML)
    except YamlSyntaxError as exc:
        raise WorkflowError(path, exc.line, exc.message) from exc
    except yaml.YAMLError as exc:
        raise WorkflowError(path, 1, f"YAML error: {exc}") from exc
    return _Loader(path, doc).action()  # the path as written: ./.github/actions/x/action.yml
