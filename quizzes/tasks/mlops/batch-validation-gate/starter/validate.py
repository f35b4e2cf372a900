"""Validate a batch against schema.yaml before anything scores it.

Usage: python validate.py BATCH.csv --schema schema.yaml

Prints one line per problem, `BATCH.csv:LINE: COLUMN: what is wrong` (LINE is the line of the
CSV file, the header being line 1), and exits with 1 when there is any problem, else 0.
"""

import argparse
import sys
from pathlib import Path

import pandas as pd
import yaml


def problems(batch_path: str, schema: dict) -> list[str]:
    # Every value as the text in the file: "" for an empty cell.
    batch = pd.read_csv(batch_path, dtype=str, keep_default_na=False)
    found = []
    for column in schema["columns"]:
        if column not in batch.columns:
            found.append(f"{batch_path}:1: {column}: missing column")
    return found


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
