"""Which events start a workflow: `on:` as GitHub reads it, with its branch, tag and path filters.

A workflow runs only for the events its `on:` lists, and for push and pull_request only when the
ref and the changed files pass the event's filters ("Workflow syntax for GitHub Actions",
on.push.<branches|tags|branches-ignore|tags-ignore> and on.<push|pull_request>.<paths|
paths-ignore>; the patterns follow its "Filter pattern cheat sheet"). `Trigger` is the event a
local run simulates; `decide` says whether the workflow runs for it and, when not, which filter
stopped it. `git_trigger` reads the branch and the files changed by the last commit of a folder
that is a git repository: GitHub compares the whole pushed range instead (a two-dot diff of the
push's before and after commits, a three-dot diff for a pull request), so Triops' "changed" is
the last commit only, and uncommitted edits do not count.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Events a workflow's `on:` may name ("Events that trigger workflows").
EVENTS = frozenset(
    {
        *("branch_protection_rule", "check_run", "check_suite", "create", "delete"),
        *("deployment", "deployment_status", "discussion", "discussion_comment", "fork"),
        *("gollum", "image_version", "issue_comment", "issues", "label", "merge_group"),
        *("milestone", "page_build", "project", "project_card", "project_column", "public"),
        *("pull_request", "pull_request_review", "pull_request_review_comment"),
        *("pull_request_target", "push", "registry_package", "release", "repository_dispatch"),
        *("schedule", "status", "watch", "workflow_call", "workflow_dispatch", "workflow_run"),
    }
)
REF_FILTERS = ("branches", "branches-ignore", "tags", "tags-ignore")
PATH_FILTERS = ("paths", "paths-ignore")
PULL_REQUESTS = ("pull_request", "pull_request_target")
# The activity a simulated pull request event has (its `github.event.action`).
PULL_REQUEST_ACTIVITY = "opened"
DEFAULT_REF = "refs/heads/main"
# `triops ci run` exits with this when the event does not trigger the workflow.
NOT_TRIGGERED_EXIT = 3
GIT_SECONDS = 10.0


class PatternError(ValueError):
    """A filter pattern GitHub would refuse (an empty or unclosed `[]`, a bad range)."""


@dataclass(frozen=True)
class Pattern:
    """One filter pattern: its text, whether it starts with `!`, and its regular expression."""

    text: str
    negative: bool
    regex: re.Pattern[str]


def compile_pattern(raw: str) -> Pattern:
    """A filter pattern as GitHub reads it: `*` within one path component, `**` across them,
    `?` and `+` for zero-or-one and one-or-more of the preceding character, `[]` with letters,
    digits and their ranges, `\\` to escape, and `!` at the start to negate."""
    negative = raw.startswith("!")
    text = raw[1:] if negative else raw
    out, i = [], 0
    while i < len(text):
        char = text[i]
        if char == "*":
            if text.startswith("**/", i):
                out.append("(?:.+/)?")
                i += 3
            elif text.startswith("**", i):
                out.append(".*")
                i += 2
            else:
                out.append("[^/]*")
                i += 1
        elif char in "?+":
            out.append(char if i > 0 else re.escape(char))
            i += 1
        elif char == "[":
            end = text.find("]", i + 1)
            if end < 0:
                raise PatternError(f"pattern '{raw}' has a '[' without its closing ']'")
            body = text[i + 1 : end]
            if not body:
                raise PatternError(f"pattern '{raw}' has empty brackets '[]'")
            out.append("[" + _bracket(body, raw) + "]")
            i = end + 1
        elif char == "\\":
            if i + 1 >= len(text):
                raise PatternError(f"pattern '{raw}' ends with a lone '\\'")
            out.append(re.escape(text[i + 1]))
            i += 2
        else:
            out.append(re.escape(char))
            i += 1
    return Pattern(raw, negative, re.compile("(?s:" + "".join(out) + r")\Z"))


def _bracket(body: str, raw: str) -> str:
    out, i = [], 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            low, high = body[i], body[i + 2]
            same_kind = any(low.isascii() and check(low) and check(high) for check in _KINDS)
            if not same_kind or low > high:
                raise PatternError(
                    f"pattern '{raw}': ranges in [] can only be a-z, A-Z or 0-9 ('{low}-{high}')"
                )
            out.append(f"{low}-{high}")
            i += 3
            continue
        if not (body[i].isascii() and body[i].isalnum()):
            raise PatternError(
                f"pattern '{raw}': [] can only hold letters, digits and their ranges"
            )
        out.append(body[i])
        i += 1
    return "".join(out)


_KINDS = (str.isdigit, str.islower, str.isupper)


def selected(patterns: list[Pattern], name: str) -> bool:
    """Whether `name` is selected by an ordered list: the last matching pattern decides, a `!`
    pattern deselecting what an earlier one selected and a later plain one selecting it again."""
    chosen = False
    for pattern in patterns:
        if pattern.regex.match(name):
            chosen = not pattern.negative
    return chosen


def patterns_of(value: Any) -> list[Pattern]:
    """A filter's patterns (a list of strings, or one string); PatternError for a bad one."""
    items = [value] if isinstance(value, str) else list(value or [])
    return [compile_pattern(str(item)) for item in items]


@dataclass(frozen=True)
class Trigger:
    """The event a local run simulates.

    `ref` is the full ref: refs/heads/<branch> or refs/tags/<tag>; for a pull request it is the
    branch the pull request targets (its base), which is what its branch filters match.
    `changed` lists the files the event changed (None when unknown, as outside a git
    repository); `source` says where ref and files came from, for the run's notes."""

    event: str = "push"
    ref: str = DEFAULT_REF
    sha: str = ""
    before: str = ""
    changed: tuple[str, ...] | None = None
    head_ref: str = ""
    source: str = ""


@dataclass
class Decision:
    """Whether a workflow runs for a trigger; `reason` names the filter when it does not, and
    `notes` what could not be evaluated."""

    triggered: bool
    reason: str = ""
    notes: list[str] = field(default_factory=list)


def normalise_ref(ref: str) -> str:
    """`main` -> refs/heads/main; a full ref (refs/...) stays as it is."""
    ref = ref.strip()
    return ref if ref.startswith("refs/") else f"refs/heads/{ref}"


def ref_parts(ref: str) -> tuple[str, str]:
    """(kind, name) of a full ref: ('branch', 'main'), ('tag', 'v1.0') or ('other', ref)."""
    for prefix, kind in (("refs/heads/", "branch"), ("refs/tags/", "tag")):
        if ref.startswith(prefix):
            return kind, ref[len(prefix) :]
    return "other", ref


def _listing(value: Any) -> str:
    items = [value] if isinstance(value, str) else list(value or [])
    return "[" + ", ".join(str(item) for item in items) + "]"


def decide(
    on: dict[str, Any], trigger: Trigger, lines: dict[str, int] | None = None, path: str = ""
) -> Decision:
    """Whether a workflow whose `on:` is `on` (event -> its settings, None when it has none)
    runs for `trigger`. `lines` maps 'event' and 'event.filter' to their line in the file
    `path`, which reasons then start with (ci.yml:4: ...)."""
    lines = lines or {}
    event = trigger.event

    def at(key: str) -> str:
        line = lines.get(key) or lines.get(key.split(".")[0])
        if not line:
            return ""
        return f"{path}:{line}: " if path else f"line {line}: "

    if event == "workflow_call":
        return Decision(
            False,
            "workflow_call is not an event that can be triggered on its own: a reusable "
            "workflow runs when another workflow calls it with jobs.<id>.uses",
        )
    if event not in on:
        listed = ", ".join(sorted(on)) or "nothing"
        if set(on) == {"workflow_call"}:
            return Decision(
                False,
                f"{at('workflow_call')}this is a reusable workflow (its only event is "
                "workflow_call): it runs when another workflow calls it with jobs.<id>.uses, "
                "which Triops does not run; it is never triggered by an event of its own",
            )
        return Decision(False, f"on: lists {listed}; {event} is not among them")
    settings = on[event] if isinstance(on[event], dict) else {}
    notes: list[str] = []
    if event == "push":
        why = _ref_filters(settings, trigger.ref, "push", at)
        if why:
            return Decision(False, why)
        kind, _ = ref_parts(trigger.ref)
        if kind != "tag":  # "Path filters are not evaluated for pushes of tags."
            why = _path_filters(settings, trigger, at, notes)
            if why:
                return Decision(False, why, notes)
    elif event in PULL_REQUESTS:
        types = settings.get("types")
        if types is not None and PULL_REQUEST_ACTIVITY not in _names(types):
            return Decision(
                False,
                f"{at(event + '.types')}on.{event}.types {_listing(types)} does not include "
                f"'{PULL_REQUEST_ACTIVITY}', the activity of the simulated pull request",
            )
        why = _branch_filter(settings, trigger.ref, event, at, "the pull request's base branch")
        if why:
            return Decision(False, why)
        why = _path_filters(settings, trigger, at, notes)
        if why:
            return Decision(False, why, notes)
    elif settings:
        known = {"workflow_dispatch": {"inputs"}, "schedule": set(), "workflow_call": set()}
        skipped = sorted(set(settings) - known.get(event, set()))
        if skipped:
            notes.append(
                f"on.{event}: {', '.join(skipped)} not evaluated: Triops simulates the event "
                "itself, not the activity or the filters of this kind of event"
            )
    return Decision(True, "", notes)


def _names(value: Any) -> list[str]:
    items = [value] if isinstance(value, str) else list(value or [])
    return [str(item) for item in items]


def _ref_filters(settings: dict, ref: str, event: str, at) -> str:
    """Why a push to `ref` does not pass on.push's branch and tag filters ('' when it does)."""
    kind, name = ref_parts(ref)
    has_branches = any(key in settings for key in ("branches", "branches-ignore"))
    has_tags = any(key in settings for key in ("tags", "tags-ignore"))
    if kind == "branch":
        if has_branches:
            return _branch_filter(settings, ref, event, at, "branch")
        if has_tags:
            return (
                f"{at(event + '.tags')}on.{event} has tag filters and no branch filter, so a "
                f"push to branch '{name}' does not trigger it"
            )
    elif kind == "tag":
        if has_tags:
            for key in ("tags", "tags-ignore"):
                if key in settings:
                    return _judge(settings, key, name, f"tag '{name}'", event, at)
        if has_branches:
            return (
                f"{at(event + '.branches')}on.{event} has branch filters and no tag filter, "
                f"so a push of tag '{name}' does not trigger it"
            )
    elif has_branches or has_tags:
        return f"on.{event} filters branches and tags, and {ref} is neither"
    return ""


def _branch_filter(settings: dict, ref: str, event: str, at, what: str) -> str:
    kind, name = ref_parts(ref)
    for key in ("branches", "branches-ignore"):
        if key in settings:
            return _judge(settings, key, name, f"{what} '{name}'", event, at)
    return ""


def _judge(settings: dict, key: str, name: str, shown: str, event: str, at) -> str:
    patterns = patterns_of(settings[key])
    hit = selected(patterns, name)
    if key.endswith("-ignore"):
        if hit:
            return f"{at(event + '.' + key)}{shown} is ignored by on.{event}.{key} " + _listing(
                settings[key]
            )
        return ""
    if not hit:
        return f"{at(event + '.' + key)}{shown} does not match on.{event}.{key} " + _listing(
            settings[key]
        )
    return ""


def _path_filters(settings: dict, trigger: Trigger, at, notes: list[str]) -> str:
    event = trigger.event
    for key in PATH_FILTERS:
        if key not in settings:
            continue
        if trigger.changed is None:
            notes.append(
                f"on.{event}.{key} was not evaluated: there is no list of changed files "
                f"({trigger.source or 'not a git repository'}), so the workflow runs as if the "
                "filter matched"
            )
            return ""
        patterns = patterns_of(settings[key])
        if not trigger.changed:
            return f"{at(event + '.' + key)}no file changed, and on.{event}.{key} needs one"
        if key == "paths":
            if not any(selected(patterns, path) for path in trigger.changed):
                return (
                    f"{at(event + '.paths')}none of the {len(trigger.changed)} changed file(s) "
                    f"matches on.{event}.paths {_listing(settings[key])}"
                )
        elif all(selected(patterns, path) for path in trigger.changed):
            return (
                f"{at(event + '.paths-ignore')}every changed file is ignored by "
                f"on.{event}.paths-ignore {_listing(settings[key])}"
            )
    return ""


# --------------------------------------------------------------------------- git


def _git(folder: Path, *args: str) -> str | None:
    """A read-only git command in `folder` (stdout, stripped), or None when it fails. Only
    plumbing that neither reads the index nor runs diff drivers, with fsmonitor off: a
    repository's own configuration cannot make these start a program."""
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "LANG": "C.UTF-8",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_OPTIONAL_LOCKS": "0",
        "HOME": os.environ.get("HOME", "/"),
    }
    try:
        done = subprocess.run(
            ["git", "-c", "core.fsmonitor=false", "-C", str(folder), *args],
            capture_output=True,
            text=True,
            timeout=GIT_SECONDS,
            env=env,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_trigger(folder: Path, event: str = "push", ref: str | None = None) -> Trigger:
    """The trigger for a run on `folder`: the ref given, else the folder's current branch when
    it is in a git repository, else refs/heads/main; the files changed by its last commit
    (relative to `folder`) when it is a git repository, else None."""
    folder = Path(folder)
    inside = _git(folder, "rev-parse", "--is-inside-work-tree") == "true"
    if not inside:
        return Trigger(
            event=event,
            ref=normalise_ref(ref) if ref else DEFAULT_REF,
            source=f"{folder}: not a git repository",
        )
    current = _git(folder, "symbolic-ref", "-q", "HEAD")
    if current is None:  # a detached HEAD: a tag pointing at it, if there is one
        tag = _git(folder, "describe", "--tags", "--exact-match", "HEAD")
        current = f"refs/tags/{tag}" if tag else None
    sha = _git(folder, "rev-parse", "--verify", "-q", "HEAD") or ""
    parent = _git(folder, "rev-parse", "--verify", "-q", "HEAD^") if sha else None
    changed: tuple[str, ...] | None = None
    if sha:
        span = [parent, sha] if parent else ["--root", sha]
        listing = _git(
            folder, "diff-tree", "-r", "--name-only", "--no-commit-id", "--relative", *span
        )
        if listing is not None:
            changed = tuple(line for line in listing.splitlines() if line)
    head = ref_parts(current)[1] if current else ""
    chosen = normalise_ref(ref) if ref else (current or DEFAULT_REF)
    if event in PULL_REQUESTS and not ref:
        chosen = DEFAULT_REF  # a pull request's ref is the branch it targets
    source = f"{folder}: git, the last commit {sha[:12]}" if sha else f"{folder}: git, no commit"
    return Trigger(
        event=event,
        ref=chosen,
        sha=sha,
        before=parent or "",
        changed=changed if sha else (),
        head_ref=head,
        source=source,
    )
