"""The actions a workflow can use offline, built in: checkout, setup-python, upload-artifact and
download-artifact, and local composite actions (`uses: ./path`). One small class per action,
chosen by `action_for` from the `uses:` name, as act's step factory chooses a step type; any
other action fails its step with `not available offline: <owner/repo@ref>`.

They run in the runner's own process (as root under the sandbox), on folders a step may have
filled with links, FIFOs and huge files: they reach every path through the cell's descriptors
opened before the first step and never follow a link (triops.labs.safefs), read only regular
files within caps, copy at most the run's budget, and stop at the step's deadline.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from triops.content.yamlsource import LEARNER_YAML
from triops.labs.ci.cell import Cell
from triops.labs.ci.envfiles import python_version_matches, python_versions_from_file
from triops.labs.ci.expressions import (
    ExpressionContext,
    ExpressionError,
    component_regex,
    evaluate_value,
    glob_regex,
    to_str,
)
from triops.labs.ci.model import Action, Step, WorkflowError, parse_action
from triops.labs.ci.report import MARKS, StepReport
from triops.labs.ci.steps import StepRunner
from triops.labs.safefs import TooLarge, TooSlow, UnsafePath, check_deadline
from triops.terminal import visible

# GitHub's runner refuses composite actions nested deeper than this (Constants.
# CompositeActionsMaxDepth in actions/runner): an action that uses itself stops here too.
MAX_COMPOSITE_DEPTH = 9
VERSION_FILE_LIMIT = 1 << 20  # python-version-file, read by the runner as root


@dataclass
class ActionResult:
    """How a built-in action ended: ok or not, why, its outputs, a composite action's steps."""

    ok: bool
    message: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    steps: list[StepReport] = field(default_factory=list)


@dataclass
class ActionCall:
    """One use of an action: the cell and step, the evaluated `with:` inputs, the step's process
    environment, the seconds left and where its log lines go."""

    cell: Cell
    step: Step
    inputs: dict[str, str]
    env: dict[str, str]
    timeout: float
    log: Callable[[str], None]


class Host(Protocol):
    """What the built-in actions use of the run they belong to (triops.labs.ci.engine)."""

    seed: Path
    runner: StepRunner
    python: str
    python_version: str | None
    copy_budget: int
    copied: int
    artifacts: dict[str, list[str]]
    artifact_ids: dict[int, str]

    def artifacts_folder(self) -> Path:
        """Where uploads go."""

    def run_step(self, cell: Cell, step: Step) -> StepReport:
        """Run one step in `cell` (a composite action's steps)."""

    def step_status(self, cell: Cell) -> Callable[[str], bool]:
        """success(), failure() and cancelled() as the cell's steps see them."""


class BuiltIn(Protocol):
    """A built-in action."""

    def run(self, host: Host, call: ActionCall) -> ActionResult:
        """Do what the action does for one step."""


class Checkout:
    """actions/checkout: the lab's files (the run's seed) copied into the workspace."""

    def run(self, host: Host, call: ActionCall) -> ActionResult:
        cell, inputs, timeout, log = call.cell, call.inputs, call.timeout, call.log
        try:
            target = cell.inside_workspace(inputs.get("path") or ".")
        except UnsafePath:
            return ActionResult(False, "checkout path is outside the workspace")
        if not host.seed.is_dir():
            return ActionResult(False, f"the workspace to check out does not exist: {host.seed}")
        relative = f"{cell.workspace.name}/{target}".rstrip("/")
        box = cell.box
        deadline = time.monotonic() + max(timeout, 0.0)
        copied: list[str] = []
        if box.is_dir(relative):
            box.remove_children(relative)
        box.copy_in(
            host.seed,
            relative,
            budget=host.copy_budget - host.copied,
            deadline=deadline,
            on_file=copied.append,
        )
        where = target or "."
        log(f"Copied {len(copied)} files from the lab workspace into {visible(where)}")
        return ActionResult(True)


class SetupPython:
    """actions/setup-python: the one interpreter the run has (probed once per run), when it
    satisfies the versions asked for, first on PATH."""

    def run(self, host: Host, call: ActionCall) -> ActionResult:
        cell, step, inputs, log = call.cell, call.step, call.inputs, call.log
        specs = [s.strip() for s in inputs.get("python-version", "").splitlines() if s.strip()]
        version_file = inputs.get("python-version-file", "").strip()
        source = ""
        if specs and version_file:
            log(
                "Warning: Both python-version and python-version-file inputs are specified, "
                "only python-version will be used."
            )
        elif version_file:
            try:
                specs, notes = _versions_from_file(cell, version_file)
            except FileNotFoundError:
                return ActionResult(
                    False, f"The specified python version file at: {version_file} doesn't exist."
                )
            except UnsafePath as exc:
                return ActionResult(
                    False, f"python-version-file {version_file} is not a regular file: {exc}"
                )
            except (OSError, ValueError) as exc:
                return ActionResult(False, f"python-version-file {version_file}: {exc}")
            for note in notes:
                log(visible(note))
            source = f" (from {version_file})"
        elif not specs:
            log(
                "Warning: Neither 'python-version' nor 'python-version-file' inputs were "
                "supplied. Attempting to find '.python-version' file."
            )
            try:
                specs, notes = _versions_from_file(cell, ".python-version")
                source = " (from .python-version)"
                for note in notes:
                    log(visible(note))
            except FileNotFoundError:
                log("Warning: .python-version doesn't exist.")
            except (OSError, ValueError) as exc:
                return ActionResult(False, f".python-version: {exc}")
        if not specs:
            log(
                "Warning: The `python-version` input is not set.  The version of Python "
                "currently in `PATH` will be used."
            )
        version = host.python_version
        if version is None:
            # One probe per run: the interpreter cannot change between jobs.
            host.runner.prepare(cell.workdir)
            probe = host.runner.run(
                [host.python, "-c", "import sys; print('.'.join(map(str, sys.version_info[:3])))"],
                workdir=cell.workdir,
                cwd=str(cell.workspace.relative_to(cell.workdir)),
                env=call.env,
                timeout=min(max(call.timeout, 0.0), 60.0),
                on_output=None,
                allow_network=False,
            )
            lines = probe.output.strip().splitlines()
            version = lines[-1].strip() if lines else ""
            if probe.status != "ok" or not re.fullmatch(r"\d+\.\d+\.\d+", version):
                return ActionResult(False, f"could not run {host.python}: {probe.output.strip()}")
            host.python_version = version
        for wanted in specs or [version]:
            try:
                ok = python_version_matches(wanted, version)
            except ValueError as exc:
                return ActionResult(
                    False, f"{exc}{source}; offline, only Python {version} is available"
                )
            if not ok:
                hint = ""
                raw = step.with_.get("python-version")
                if isinstance(raw, float):
                    hint = (
                        f" (YAML reads the unquoted number as {to_str(raw)}; "
                        "quote versions such as '3.10')"
                    )
                return ActionResult(
                    False,
                    f"python-version '{wanted}'{source} was requested, but the available Python "
                    f"is {version} ({host.python}); offline runs can only use the installed "
                    f"interpreter{hint}",
                )
        bin_dir = str(Path(host.python).parent)
        cell.path_prepend.insert(0, bin_dir)
        cell.env["pythonLocation"] = str(Path(host.python).parent.parent)
        log(f"Using Python {version} from {host.python}")
        return ActionResult(True, outputs={"python-version": version, "python-path": host.python})


class UploadArtifact:
    """actions/upload-artifact: the matching files of the work folder copied into the run's
    artifacts, under their common root; links never, hidden files only when asked."""

    def run(self, host: Host, call: ActionCall) -> ActionResult:
        cell, inputs, timeout, log = call.cell, call.inputs, call.timeout, call.log
        name = inputs.get("name") or "artifact"
        if re.search(r'[\\/:*?"<>|\r\n]', name) or name in (".", ".."):
            return ActionResult(False, f"artifact name '{name}' contains a character not allowed")
        patterns = [p.strip() for p in inputs.get("path", "").splitlines() if p.strip()]
        if not patterns:
            return ActionResult(False, "Input required and not supplied: path")
        missing = (inputs.get("if-no-files-found") or "warn").strip().lower()
        if missing not in ("warn", "error", "ignore"):
            return ActionResult(
                False, f"if-no-files-found must be warn, error or ignore: {missing}"
            )
        hidden = inputs.get("include-hidden-files", "").strip().lower() == "true"
        deadline = time.monotonic() + max(timeout, 0.0)
        try:
            files, root = _artifact_files(cell, patterns, hidden, deadline)
        except ValueError as exc:
            return ActionResult(False, str(exc))
        if not files:
            message = (
                f"No files were found with the provided path: {', '.join(patterns)}. "
                "No artifacts will be uploaded."
            )
            if missing == "error":
                return ActionResult(False, message)
            log(f"Warning: {message}" if missing == "warn" else message)
            return ActionResult(True)
        dest = host.artifacts_folder() / name
        if name in host.artifacts or dest.exists():
            if inputs.get("overwrite", "").strip().lower() != "true":
                return ActionResult(
                    False,
                    f"an artifact named '{name}' was already uploaded in this run; give each "
                    "job or matrix cell its own name, or set overwrite: true",
                )
            shutil.rmtree(dest, ignore_errors=True)
        relative = []
        for path, size in files:
            check_deadline(deadline, "uploading the artifact")
            if host.copied + size > host.copy_budget:
                shutil.rmtree(dest, ignore_errors=True)
                return ActionResult(
                    False,
                    f"the artifacts of this run would pass {host.copy_budget // 2**20} MB "
                    f"(counting each file at its apparent size, holes included)",
                )
            data = cell.box.read_file(path, host.copy_budget - host.copied)
            rel = path[len(root) + 1 :] if root else path
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            host.copied += len(data)
            relative.append(rel)
        host.artifacts[name] = sorted(relative)
        artifact_id = next((k for k, v in host.artifact_ids.items() if v == name), None)
        if artifact_id is None:
            artifact_id = len(host.artifact_ids) + 1
            host.artifact_ids[artifact_id] = name
        log(f"Uploaded artifact '{name}' with {len(relative)} file(s)")
        return ActionResult(
            True, outputs={"artifact-id": str(artifact_id), "artifact-url": dest.as_uri()}
        )


class DownloadArtifact:
    """actions/download-artifact: one artifact by `name`, some by `artifact-ids`, or every
    artifact of the run matching `pattern` (all without one), each into a folder of its name
    under `path` unless `merge-multiple` (or, from v5, a single match) puts them straight into
    `path`."""

    def run(self, host: Host, call: ActionCall) -> ActionResult:
        cell, inputs, timeout, log = call.cell, call.inputs, call.timeout, call.log
        where = (inputs.get("path") or ".").strip()
        if where.startswith("~"):
            where = f"{cell.runner_dir / 'home'}{where[1:]}"
        try:
            target = cell.inside_workdir(where)
        except UnsafePath:
            return ActionResult(False, "download path is outside the job's work folder")
        name = inputs.get("name", "").strip()
        ids = inputs.get("artifact-ids", "").strip()
        pattern = inputs.get("pattern", "").strip()
        try:
            merge = boolean_input(inputs, "merge-multiple")
        except ValueError as exc:
            return ActionResult(False, str(exc))
        if name and ids:
            return ActionResult(
                False,
                "Inputs 'name' and 'artifact-ids' cannot be used together. Please specify "
                "only one.",
            )
        if name:
            if name not in host.artifacts:
                return ActionResult(
                    False, f"Unable to download artifact(s): Artifact '{name}' not found"
                )
            chosen = [name]
        elif ids:
            wanted = [part.strip() for part in ids.split(",") if part.strip()]
            if not all(part.isdigit() for part in wanted):
                return ActionResult(False, f"Invalid artifact ID in '{ids}': IDs are numbers")
            chosen = [host.artifact_ids[int(i)] for i in wanted if int(i) in host.artifact_ids]
            if not chosen:
                return ActionResult(
                    False,
                    "Unable to download artifact(s): None of the provided artifact IDs were found",
                )
        else:
            chosen = sorted(host.artifacts)
            if pattern:
                log(f"Filtering artifacts by pattern '{visible(pattern)}'")
                chosen = [item for item in chosen if artifact_pattern_matches(pattern, item)]
        # v4 gives every artifact found by pattern (or all) a folder of its own unless
        # merge-multiple; from v5 on a single match goes straight into path, as a name does.
        single = bool(name) or merge or (action_major(call.step.uses) >= 5 and len(chosen) == 1)
        deadline = time.monotonic() + max(timeout, 0.0)
        for item in chosen:
            source = host.artifacts_folder() / item
            if not source.is_dir():
                return ActionResult(
                    False, f"Unable to download artifact(s): Artifact '{item}' not found"
                )
            dest = target if single else f"{target}/{item}".lstrip("/")
            host.copied += cell.box.copy_in(
                source, dest, budget=host.copy_budget - host.copied, deadline=deadline
            )
            shown = os.path.relpath(cell.workdir / dest, cell.workspace)
            log(f"Downloaded artifact '{visible(item)}' into {visible(shown)}")
        log(f"Total of {len(chosen)} artifact(s) downloaded")
        return ActionResult(True, outputs={"download-path": str(cell.workdir / target)})

    # -- local composite actions ------------------------------------------------------------


class Composite:
    """A local composite action (uses: ./path): its action.yml read from the workspace as root
    (through the work folder's descriptor, no link followed, at most 1 MiB, parsed with the
    bounds of learner YAML), then its steps run like the job's own, with the inputs context,
    github.action_path and the outputs its action.yml maps."""

    def run(self, host: Host, call: ActionCall) -> ActionResult:
        cell, step, timeout, log = call.cell, call.step, call.timeout, call.log
        uses = (step.uses or "").strip()
        if cell.depth > MAX_COMPOSITE_DEPTH:
            return ActionResult(
                False, f"Composite action depth exceeded max depth {MAX_COMPOSITE_DEPTH}"
            )
        try:
            relative = cell.inside_workspace(uses)
        except UnsafePath:
            return ActionResult(False, f"uses: {uses} is outside the workspace")
        folder = f"{cell.workspace.name}/{relative}".rstrip("/")
        shown = f"./{relative}" if relative else "."
        action = _load_action(cell, folder, shown)
        if isinstance(action, ActionResult):
            return action
        caller = ExpressionContext(
            {
                **cell.contexts,
                "env": {**cell.env, **cell.scope_env, **cell.step_env},
                "steps": cell.steps,
                "job": {"status": cell.status},
            },
            host.step_status(cell),
            cell.ws,
        )
        try:
            values = _action_inputs(action, call.inputs, caller, log)
        except ExpressionError as exc:
            return ActionResult(False, f"{action.path}: inputs: {exc}")
        github = {**cell.contexts["github"], "action_path": str(cell.workdir / folder)}
        sub = replace(
            cell,
            contexts={**cell.contexts, "github": github, "inputs": values},
            steps={},
            status="success",
            defaults_run={},
            depth=cell.depth + 1,
            key_prefix=f"{cell.key_prefix}{step.index}.",
            name_prefix=f"{cell.name_prefix}{cell.step_name or step.default_name()} › ",
            scope_env={**cell.scope_env, **cell.step_env},
            deadline=min(cell.deadline, time.monotonic() + max(timeout, 0.0)),
        )
        reports = [host.run_step(sub, inner) for inner in action.steps]
        if sub.timed_out and time.monotonic() >= cell.deadline:
            cell.timed_out = True
        for report in reports:
            detail = f" ({report.message})" if report.message else ""
            log(f"{MARKS.get(report.status, '?')} {visible(report.name)}: {report.status}{detail}")
        outputs_ctx = ExpressionContext(
            {
                **sub.contexts,
                "env": {**cell.env, **sub.scope_env},
                "steps": sub.steps,
                "job": {"status": sub.status},
            },
            workspace=cell.ws,
        )
        outputs = {}
        try:
            for output_id, value in action.outputs.items():
                outputs[output_id] = to_str(evaluate_value(value, outputs_ctx))
        except ExpressionError as exc:
            return ActionResult(False, f"{action.path}: outputs: {exc}", outputs, reports)
        if sub.status == "failure":
            failed = next((r for r in reports if r.status in ("failure", "cancelled")), None)
            why = f"{failed.name}: {failed.message}" if failed else "a step failed"
            return ActionResult(False, f"{shown}: {why}", outputs, reports)
        return ActionResult(True, "", outputs, reports)


def _versions_from_file(cell: Cell, name: str) -> tuple[list[str], list[str]]:
    """The versions in a version file of the workspace (read as root: through the work
    folder's descriptor, no link followed, a regular file of at most 1 MiB)."""
    relative = cell.inside_workdir(name)
    text = cell.box.read_file(relative, VERSION_FILE_LIMIT).decode("utf-8", "replace")  # type: ignore[union-attr]
    return python_versions_from_file(name, text)


def _artifact_files(
    cell: Cell, patterns: list[str], hidden: bool, deadline: float
) -> tuple[list[tuple[str, int]], str]:
    """Matched regular files (paths relative to the work folder, apparent sizes) and their
    root: the common ancestor of the search paths. Links are never uploaded, nor anything
    found only through a link (a step could point one at a file outside the sandbox)."""
    included, excluded, roots = [], [], []
    top = cell.workspace.name
    for pattern in patterns:
        negate = pattern.startswith("!")
        spec = pattern[1:] if negate else pattern
        try:
            relative = cell.inside_workdir(spec)
        except UnsafePath:
            raise ValueError(f"artifact path '{spec}' is outside the job's work folder") from None
        regex = glob_regex(relative)
        if negate:
            excluded.append(regex)
            continue
        included.append(regex)
        fixed = []
        for part in relative.split("/") if relative else []:
            if any(c in part for c in "*?["):
                break
            fixed.append(part)
        search = "/".join(fixed)
        if len(fixed) == len(relative.split("/")) and not cell.box.is_dir(search):
            search = "/".join(fixed[:-1])  # a file: its folder is the root
        roots.append(search)
    base = os.path.commonpath(roots) if roots and all(roots) else ""
    walk_from = base if cell.box.is_dir(base) else ""
    if not walk_from and base:
        return [], base
    files = []
    try:
        for entry in cell.box.walk(walk_from, deadline=deadline):
            if entry.kind != "file":
                continue
            if not any(r.match(entry.path) for r in included):
                continue
            if any(r.match(entry.path) for r in excluded):
                continue
            below = entry.path[len(top) + 1 :] if entry.path.startswith(top + "/") else entry.path
            if not hidden and any(part.startswith(".") for part in below.split("/")):
                continue
            files.append((entry.path, entry.size))
    except (TooLarge, TooSlow, UnsafePath) as exc:
        raise ValueError(f"cannot gather the artifact's files: {exc}") from exc
    return sorted(files), base


def _load_action(cell: Cell, folder: str, shown: str) -> Action | ActionResult:
    """The checked action.yml (or action.yaml) of `folder`, or the failure to report."""
    for candidate in ("action.yml", "action.yaml"):
        try:
            raw = cell.box.read_file(f"{folder}/{candidate}", LEARNER_YAML.max_bytes)  # type: ignore[union-attr]
        except FileNotFoundError:
            continue
        except NotADirectoryError:
            break
        except TooLarge:
            return ActionResult(
                False,
                f"{shown}/{candidate} is larger than {LEARNER_YAML.max_bytes:,} bytes",
            )
        path = f"{shown}/{candidate}"
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            return ActionResult(False, f"{path}:{line}: error: the action is not UTF-8 text")
        try:
            return parse_action(text, path)
        except WorkflowError as exc:
            return ActionResult(False, str(exc))
    return ActionResult(
        False,
        f"Can't find 'action.yml' or 'action.yaml' under '{shown}'. Did you forget to run "
        "actions/checkout before running your local action?",
    )


def _action_inputs(
    action: Action,
    given: dict[str, str],
    ctx: ExpressionContext,
    log: Callable[[str], None],
) -> dict[str, str]:
    """The inputs context of a composite action: what `with:` gave, else each input's
    default; as on GitHub, an unexpected input or a missing required one only warns."""
    lowered = {key.lower(): value for key, value in given.items()}
    declared = {key.lower() for key in action.inputs}
    unexpected = [key for key in given if key.lower() not in declared]
    if unexpected:
        valid = ", ".join(f"'{key}'" for key in action.inputs)
        names = ", ".join(f"'{visible(key)}'" for key in unexpected)
        log(f"Warning: Unexpected input(s) {names}, valid inputs are [{valid}]")
    values: dict[str, str] = {}
    for input_id, spec in action.inputs.items():
        if input_id.lower() in lowered:
            values[input_id] = lowered[input_id.lower()]
            if spec.deprecation:
                log(
                    f"Warning: Input '{input_id}' has been deprecated with message: "
                    f"{visible(spec.deprecation)}"
                )
        elif spec.default is not None:
            values[input_id] = to_str(evaluate_value(spec.default, ctx))
        else:
            values[input_id] = ""
            if spec.required:
                log(
                    f"Warning: input '{input_id}' is required by {action.path} but was not "
                    f"supplied; GitHub does not stop the step for that either, and "
                    f"inputs.{input_id} is empty"
                )
    return values


def boolean_input(inputs: dict[str, str], name: str, default: bool = False) -> bool:
    """An action's boolean input as @actions/core's getBooleanInput reads it: true, True,
    TRUE, false, False or FALSE; anything else is an error."""
    value = inputs.get(name, "").strip()
    if not value:
        return default
    if value in ("true", "True", "TRUE"):
        return True
    if value in ("false", "False", "FALSE"):
        return False
    raise ValueError(
        f'Input does not meet YAML 1.2 "Core Schema" specification: {name}. Support boolean '
        "input list: `true | True | TRUE | false | False | FALSE`"
    )


def action_major(uses: str | None) -> int:
    """The major version of an action's ref (actions/download-artifact@v4 -> 4); a commit or
    a branch counts as the newest (99)."""
    match = re.fullmatch(r"v?(\d+)(?:\.\d+)*", (uses or "").rsplit("@", 1)[-1])
    return int(match.group(1)) if match else 99


def artifact_pattern_matches(pattern: str, name: str) -> bool:
    """Whether an artifact name matches a download-artifact `pattern` (minimatch, as the
    action uses it): `*`, `?`, `[...]`, `{a,b}` alternatives, a leading `!` negates, and a
    wildcard does not match a leading dot."""
    negate = False
    while pattern.startswith("!"):
        negate, pattern = not negate, pattern[1:]
    hit = False
    for alternative in _braces(pattern):
        if name.startswith(".") and not alternative.startswith("."):
            continue
        body = alternative.replace("**", "*")
        if re.fullmatch(component_regex(body), name):
            hit = True
            break
    return hit != negate


def _braces(pattern: str) -> list[str]:
    match = re.search(r"\{([^{}]*,[^{}]*)\}", pattern)
    if not match:
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    out: list[str] = []
    for part in match.group(1).split(","):
        out.extend(_braces(head + part + tail))
    return out


ACTIONS: dict[str, BuiltIn] = {
    "actions/checkout": Checkout(),
    "actions/setup-python": SetupPython(),
    "actions/upload-artifact": UploadArtifact(),
    "actions/download-artifact": DownloadArtifact(),
}


def action_for(uses: str) -> BuiltIn | None:
    """The built-in action a `uses:` names (any version), a local composite action for `./path`,
    or None: the action is not available offline."""
    if uses.startswith("docker://"):
        return None
    if uses.startswith("./") or uses in (".", "./"):
        return Composite()
    return ACTIONS.get(uses.split("@", 1)[0].lower())
