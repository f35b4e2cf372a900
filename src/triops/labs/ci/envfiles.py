"""The file commands a step writes (GITHUB_ENV, GITHUB_OUTPUT) and the python-version specs and
version files setup-python reads, as GitHub's runner and actions/setup-python read them."""

from __future__ import annotations

import itertools
import re
import tomllib
from typing import Any

from triops.labs.ci.expressions import to_str

# What the runner (as root) reads back from files a step may have written or replaced. GitHub
# caps a step summary at 1 MiB and a job's outputs at 1 MB; Triops caps each file at 1 MiB.
COMMAND_FILE_LIMIT = 1 << 20
# Variables a step may not set through GITHUB_ENV: they make the dynamic loader or an
# interpreter run code of the step's choosing in every later process. GitHub refuses only
# NODE_OPTIONS; Triops refuses these too (labs/README.md says so).
REFUSED_ENV = re.compile(
    r"^(LD_[A-Za-z0-9_]*|GCONV_PATH|GLIBC_TUNABLES|MALLOC_[A-Za-z0-9_]*|HOSTALIASES|LOCALDOMAIN|"
    r"RES_OPTIONS|NODE_OPTIONS|PYTHONSTARTUP|PYTHONHOME|PYTHONEXECUTABLE|PYTHONINSPECT|"
    r"BASH_ENV|ENV|BASH_FUNC_.*|SHELLOPTS|BASHOPTS|PS4|PERL5OPT|PERL5DB|PERLLIB|PERL5LIB|"
    r"RUBYOPT|RUBYLIB|JAVA_TOOL_OPTIONS|_JAVA_OPTIONS|JDK_JAVA_OPTIONS)$"
)


def parse_env_file(text: str, command: str = "env") -> dict[str, str]:
    """`NAME=value` lines and `NAME<<DELIM` ... `DELIM` blocks, as GITHUB_ENV/OUTPUT hold them."""
    values: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip():
            continue
        eq, heredoc = line.find("="), line.find("<<")
        if eq >= 0 and (heredoc < 0 or eq < heredoc):
            key, value = line[:eq], line[eq + 1 :]
        elif heredoc >= 0:
            key, delimiter = line[:heredoc], line[heredoc + 2 :]
            if not delimiter:
                raise ValueError(f"Unable to process file command '{command}': empty delimiter")
            block = []
            while i < len(lines) and lines[i] != delimiter:
                block.append(lines[i])
                i += 1
            if i >= len(lines):
                raise ValueError(
                    f"Unable to process file command '{command}' successfully: "
                    f"Matching delimiter not found '{delimiter}'"
                )
            i += 1
            value = "\n".join(block)
        else:
            raise ValueError(
                f"Unable to process file command '{command}' successfully: Invalid format '{line}'"
            )
        if not key:
            raise ValueError(f"Unable to process file command '{command}': a line has no name")
        values[key] = value
    return values


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


# One comparator of a semver range as setup-python reads it (node-semver, loose): an optional
# operator, then a version of up to three parts, each a number or x/X/*.
_COMPARATOR = re.compile(r"(>=|<=|>|<|==|=|~=|~>|~|\^)?v?=?((?:\d+|[xX*])(?:\.(?:\d+|[xX*])){0,2})")
_OPERATOR_SPACE = re.compile(r"(>=|<=|~=|~>|==|[<>=~^])\s+")


def _comparators(spec: str, text: str) -> list[tuple[str, list[int]]]:
    clauses = [c for c in re.split(r"[\s,]+", _OPERATOR_SPACE.sub(r"\1", text.strip())) if c]
    if not clauses:
        raise ValueError(f"cannot read python-version '{spec}'")
    out = []
    for clause in clauses:
        match = _COMPARATOR.fullmatch(clause)
        if not match:
            raise ValueError(f"cannot read python-version '{spec}'")
        op = {"==": "=", "~=": "~", "~>": "~"}.get(match.group(1) or "", match.group(1) or "")
        fixed = [int(p) for p in itertools.takewhile(str.isdigit, match.group(2).split("."))]
        out.append((op, fixed))
    return out


def _satisfies(have: tuple[int, int, int], op: str, fixed: list[int]) -> bool:
    want = tuple(fixed + [0] * (3 - len(fixed)))
    # node-semver's X-ranges: `>3.9` means above every 3.9.x, `<=3.9` up to the last 3.9.x.
    bumped = tuple(fixed[:-1] + [fixed[-1] + 1] + [0] * (3 - len(fixed))) if fixed else (0, 0, 0)
    if op in ("", "="):
        return tuple(have[: len(fixed)]) == tuple(fixed)
    if not fixed:
        return op in ("~", "^", ">=", "<=")
    if op == "~":
        upper = (fixed[0], fixed[1] + 1, 0) if len(fixed) > 1 else (fixed[0] + 1, 0, 0)
        return want <= have < upper
    if op == "^":
        if fixed[0] == 0 and len(fixed) > 1:
            return want <= have < (0, fixed[1] + 1, 0)
        return want <= have < (fixed[0] + 1, 0, 0)
    if op == ">=":
        return have >= want
    if op == "<":
        return have < want
    if op == ">":
        return have > want if len(fixed) == 3 else have >= bumped
    return have <= want if len(fixed) == 3 else have < bumped  # <=


def python_version_matches(spec: str, version: str) -> bool:
    """Whether `version` (3.11.7) satisfies a setup-python spec, a semver range as node-semver
    reads it: 3.11, 3.x, >=3.10, >=3.10 <3.13, ~3.11, ^3, ~=3.10 (read as ~3.10), a || b.

    Raises ValueError for a spec it cannot read (such as pypy or a -dev build).
    """
    actual = _version_tuple(version)
    have = tuple((list(actual) + [0, 0, 0])[:3])
    alternatives = [_comparators(spec, part) for part in spec.split("||")]
    return any(all(_satisfies(have, op, fixed) for op, fixed in alt) for alt in alternatives)


def semver_range(text: str) -> str | None:
    """`requires-python` (or poetry's python) as setup-python passes it on: commas become
    spaces, and what node-semver cannot read as a range (`!=3.9.1`, a -dev build) is None."""
    spec = " ".join(text.split(","))
    try:
        python_version_matches(spec, "0.0.0")
    except ValueError:
        return None
    return spec.strip()


def python_versions_from_file(name: str, text: str) -> tuple[list[str], list[str]]:
    """The versions setup-python reads from a python-version-file, and the lines it logs.

    As actions/setup-python does (src/utils.ts, getVersionInputFromFile): a name ending in
    .toml is pyproject.toml (project.requires-python, else tool.poetry.dependencies.python,
    as a semver range); a name containing .tool-versions takes its first `python <version>`
    line; Pipfile its requires.python_full_version or python_version; anything else is a
    plain file (.python-version): one version per line, `#` comments and blank lines
    skipped, a pyenv-virtualenv suffix (3.10/envs/name) dropped. ValueError for bad TOML."""
    log: list[str] = []
    if name.endswith(".toml") or re.search("Pipfile", name):
        try:
            data = tomllib.loads(text.replace("\r\n", "\n"))
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{name} is not valid TOML: {exc}") from exc
        if name.endswith(".toml"):
            keys = ("project", "requires-python") if "project" in data else None
            keys = keys or ("tool", "poetry", "dependencies", "python")
        else:
            requires = data.get("requires") if isinstance(data.get("requires"), dict) else {}
            full = "python_full_version" in requires
            keys = ("requires", "python_full_version" if full else "python_version")
        value: Any = data
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            log.append(f"Warning: No Python version found in {name} ({'.'.join(keys)})")
            return [], log
        if not name.endswith(".toml"):
            return [to_str(value)], log
        spec = semver_range(to_str(value))
        log.append(f"Extracted {to_str(value)} from {name}")
        if spec is None:
            log.append(f"Warning: {to_str(value)} is not a valid SemVer range; it is ignored")
            return [], log
        return [spec], log
    if re.search(r".tool-versions", name):
        for line in text.split("\n"):
            if line.strip().startswith("#"):
                continue
            match = re.match(r"^\s*python\s*v?\s*(\S+)\s*$", line)
            if match:
                return [match.group(1)], log
        log.append(f"Warning: No Python version found in {name}")
        return [], log
    versions = []
    for line in re.split(r"\r\n|\r|\n", text.strip()):
        if line.startswith("#") or not line.strip():
            continue
        versions.append(line.strip().split("/")[0])
    log.append(f"Resolved {name} as {', '.join(versions)}")
    return versions, log
