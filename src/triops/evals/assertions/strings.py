"""Yes-or-no checks of the output's text: equals, contains (and its case-folded, any and all
forms), starts-with, regex."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from triops.evals.assertions.outcome import Case, Outcome, binary, short
from triops.evals.assertions.record import AssertionType, Checked, ValueProblem
from triops.evals.text import as_text

if TYPE_CHECKING:
    from triops.evals.models import Assertion


def _equals(a: Assertion, value: Any, case: Case) -> Outcome:
    if isinstance(value, dict | list):
        try:
            same = json.loads(case.output) == value
        except ValueError:
            same = False
        return binary(same, "output is not that JSON value", "output equals the JSON value")
    same = case.output == as_text(value)
    return binary(same, f"output is not exactly '{short(as_text(value))}'", "equal")


def _check_equals(name: str, value: Any, threshold: float | None) -> Checked:
    return Checked(value, [ValueProblem("value", "equals needs a value")] if value is None else [])


def _contains(a: Assertion, value: Any, case: Case) -> Outcome:
    needle, hay = as_text(value), case.output
    if a.type == "icontains":
        needle, hay = needle.lower(), hay.lower()
    return binary(needle in hay, f"'{short(needle)}' not found", f"'{short(needle)}' found")


def _check_text(name: str, value: Any, threshold: float | None) -> Checked:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return Checked(value, [ValueProblem("value", f"{name} needs a string value")])
    return Checked(value, [])


def _contains_many(a: Assertion, value: Any, case: Case) -> Outcome:
    fold = a.type.startswith("i")
    hay = case.output.lower() if fold else case.output
    found = [v for v in value if (v.lower() if fold else v) in hay]
    if a.type.endswith("-all"):
        missing = [v for v in value if v not in found]
        return binary(not missing, f"missing: {', '.join(missing)}", "all found")
    return binary(bool(found), "none found", f"found: {', '.join(found)}")


def _check_text_list(name: str, value: Any, threshold: float | None) -> Checked:
    """A list of strings; a string is split on commas, as promptfoo splits it."""
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
        return Checked(value, [ValueProblem("value", f"{name} needs a list of strings")])
    return Checked(value, [])


def _starts_with(a: Assertion, value: Any, case: Case) -> Outcome:
    prefix = as_text(value)
    return binary(
        case.output.startswith(prefix),
        f"output does not start with '{short(prefix)}'",
        f"output starts with '{short(prefix)}'",
    )


def _regex(a: Assertion, value: Any, case: Case) -> Outcome:
    try:
        pattern = re.compile(as_text(value))
    except re.error as exc:
        return Outcome(False, 0.0, f"invalid regular expression: {exc}")
    found = pattern.search(case.output)
    return binary(
        found is not None,
        f"no match for /{pattern.pattern}/",
        f"/{pattern.pattern}/ matches '{short(found.group(0)) if found else ''}'",
    )


def _check_regex(name: str, value: Any, threshold: float | None) -> Checked:
    """A string that compiles (one with a {{variable}} is compiled once rendered)."""
    checked = _check_text(name, value, threshold)
    if checked.problems or "{{" in str(value):
        return checked
    try:
        re.compile(str(value))
    except re.error as exc:
        return Checked(value, [ValueProblem("value", f"invalid regular expression: {exc}")])
    return checked


DEFINITIONS = [
    AssertionType("equals", "text or JSON", _equals, _check_equals),
    AssertionType("contains", "text", _contains, _check_text),
    AssertionType("icontains", "text", _contains, _check_text),
    AssertionType("contains-any", "text list", _contains_many, _check_text_list),
    AssertionType("contains-all", "text list", _contains_many, _check_text_list),
    AssertionType("icontains-any", "text list", _contains_many, _check_text_list),
    AssertionType("icontains-all", "text list", _contains_many, _check_text_list),
    AssertionType("starts-with", "text", _starts_with, _check_text),
    AssertionType("regex", "text", _regex, _check_regex),
]
