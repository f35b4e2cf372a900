"""JSON in the output: is-json (the whole output), contains-json (any JSON value in it), each
optionally against a JSON schema."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from triops.evals.assertions.outcome import Case, Outcome
from triops.evals.assertions.record import AssertionType, Checked, ValueProblem

if TYPE_CHECKING:
    from triops.evals.models import Assertion


def json_values(text: str) -> list[Any]:
    """Every JSON object or array embedded in a text, in order."""
    decoder = json.JSONDecoder()
    found, i = [], 0
    while i < len(text):
        if text[i] in "{[":
            try:
                value, end = decoder.raw_decode(text, i)
            except ValueError:
                i += 1
                continue
            found.append(value)
            i = end
        else:
            i += 1
    return found


def _schema_errors(schema: Any, data: Any) -> str | None:
    import jsonschema

    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
    return "; ".join(e.message for e in errors[:3]) if errors else None


def _is_json(a: Assertion, value: Any, case: Case) -> Outcome:
    try:
        data = json.loads(case.output)
    except ValueError:
        return Outcome(False, 0.0, "output is not valid JSON")
    if value not in (None, ""):
        errors = _schema_errors(value, data)
        if errors:
            return Outcome(False, 0.0, f"JSON does not match the schema: {errors}")
    return Outcome(True, 1.0, "valid JSON")


def _contains_json(a: Assertion, value: Any, case: Case) -> Outcome:
    found = json_values(case.output)
    if not found:
        return Outcome(False, 0.0, "no JSON in the output")
    if value in (None, ""):
        return Outcome(True, 1.0, f"{len(found)} JSON value(s) found")
    errors = ""
    for data in found:
        problem = _schema_errors(value, data)
        if problem is None:
            return Outcome(True, 1.0, "JSON matching the schema found")
        errors = problem
    return Outcome(False, 0.0, f"no JSON matches the schema: {errors}")


def check_schema(name: str, value: Any, threshold: float | None) -> Checked:
    """An optional JSON schema: a mapping (or true/false), or YAML or JSON text of one. The
    config loader reads a `file://` value first, so `value` is the file's text."""
    import jsonschema
    import yaml

    if value in (None, ""):
        return Checked(value, [])
    schema = value
    if isinstance(schema, str):
        try:
            schema = yaml.safe_load(schema)
        except yaml.YAMLError as exc:
            return Checked(None, [ValueProblem("value", f"the JSON schema does not parse: {exc}")])
    if not isinstance(schema, dict | bool):
        return Checked(None, [ValueProblem("value", "a JSON schema is a mapping")])
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        return Checked(schema, [ValueProblem("value", f"invalid JSON schema: {exc.message}")])
    return Checked(schema, [])


DEFINITIONS = [
    AssertionType("is-json", "schema", _is_json, check_schema),
    AssertionType("contains-json", "schema", _contains_json, check_schema),
]
