"""What the runner sends an llm-rubric judge and how it reads the reply."""

from __future__ import annotations

from triops.evals.assertions.json_checks import json_values
from triops.evals.assertions.outcome import short
from triops.evals.providers import ProviderError

RUBRIC_SYSTEM = (
    "You grade an answer against a rubric. Reply with one JSON object and nothing else: "
    '{"reason": "<one sentence>", "pass": true or false, "score": <a number from 0 to 1>}. '
    "The answer passes when what the rubric states is true of it."
)


def rubric_prompt(output: str, rubric: str) -> str:
    """The message sent to a judge: the answer and the rubric, each in its own tags."""
    return f"<answer>\n{output}\n</answer>\n<rubric>\n{rubric}\n</rubric>"


def parse_verdict(reply: str) -> dict:
    """The first JSON object in a judge's reply, with `pass` a boolean."""
    for value in json_values(reply):
        if isinstance(value, dict) and ("pass" in value or "score" in value):
            verdict = dict(value)
            if "pass" in verdict and not isinstance(verdict["pass"], bool):
                verdict["pass"] = str(verdict["pass"]).lower() == "true"
            return verdict
    raise ProviderError(f"the judge's reply holds no verdict: '{short(reply, 120)}'")
