"""Validate a batch against schema.yaml before anything scores it.

Usage: python validate.py BATCH.csv --schema schema.yaml

Prints one line per problem, `BATCH.csv:LINE: COLUMN: what is wrong` (LINE is the line of the
CSV file, the header being line 1), and exits with 1 when there is any problem, else 0.
"""

import argparse
import math
import re
import sys
from pathlib import Path

import pandas as pd
import yaml


def problems(batch_path: str, schema: dict) -> list[str]:
    # Every value as the text in the file: "" for an empty cell.
    batch = pd.read_csv(batch_path, dtype=str, keep_default_na=False)
    found = []
    for column, rule in schema["columns"].items():
        if column not in batch.columns:
            found.append(f"{batch_path}:1: {column}: missing column")
            continue
        for index, text in batch[column].items():
            problem = check_value(text.strip(), rule)
            if problem:
                # Line 1 is the header, so row 0 of the frame is line 2.
                found.append(f"{batch_path}:{index + 2}: {column}: {problem}")
    return found


def check_value(text: str, rule: dict) -> str | None:
    """What is wrong with one value under its column's rule, or None."""
    if text == "":
        return "empty value"
    kind = rule["type"]
    if kind == "category":
        if text not in rule["values"]:
            return f"'{text}' is not one of {', '.join(rule['values'])}"
        return None
    if kind == "integer" and not re.fullmatch(r"[+-]?\d+", text):
        return f"'{text}' is not a whole number"
    try:
        value = float(text)
    except ValueError:
        return f"'{text}' is not a number"
    if not math.isfinite(value):
        return f"'{text}' is not a finite number"
    if "min" in rule and value < rule["min"]:
        return f"{text} is below the minimum {rule['min']}"
    if "max" in rule and value > rule["max"]:
        return f"{text} is above the maximum {rule['max']}"
    return None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("batch")
    parser.add_argument("--schema", required=True)
    args = parser.parse_args()
    schema = yaml.safe_load(Path(args.schema).read_text())
    found = problems(args.batch, schema)
    for line in found:
        print(line)
    print(f"{args.batch}: {len(found)} problem(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
