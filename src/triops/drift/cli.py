"""`triops drift REFERENCE.csv CURRENT.csv`: the drift report of two CSV files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from triops.drift.report import ColumnTest, DriftReport

# pandas and scipy are imported when the command runs, not when `triops` starts.
TEST_NAMES = "ks, chisquare, z, wasserstein, jensenshannon, psi"

EXIT_DRIFT = 1
EXIT_BAD_INPUT = 2


def drift_command(
    reference: Annotated[
        Path, typer.Argument(help="The reference CSV (e.g. the data the model was trained on).")
    ],
    current: Annotated[Path, typer.Argument(help="The CSV to compare with it (e.g. a new batch).")],
    columns: Annotated[
        list[str] | None,
        typer.Option(
            "--columns",
            help="Columns to compare, comma-separated or repeated "
            "(default: every column of the reference).",
        ),
    ] = None,
    test: Annotated[
        list[str] | None,
        typer.Option(
            "--test",
            help="Choose a column's test: COL=TEST or COL=TEST:THRESHOLD (repeatable); "
            f"TEST is one of {TEST_NAMES}.",
        ),
    ] = None,
    drift_share: Annotated[
        float,
        typer.Option(help="The dataset drifts when at least this share of columns drifts."),
    ] = 0.5,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Also write the report as JSON to this file.")
    ] = None,
    fail_on_drift: Annotated[
        bool, typer.Option("--fail-on-drift", help="Exit 1 when the dataset drifts.")
    ] = False,
) -> None:
    """Test each column of CURRENT for drift from REFERENCE (Evidently 0.7's default tests).

    Prints each column's test, score, threshold and verdict, then the dataset verdict. Exit 0,
    or 1 with --fail-on-drift when the dataset drifts, or 2 when the input is unusable."""
    from triops.drift.inputs import DriftInputError, is_numeric, read_csv_checked
    from triops.drift.report import drift_report

    try:
        overrides = parse_tests(test or [])
        chosen = parse_columns(columns) or None
        ref = read_csv_checked(reference, required=chosen)
        names = chosen or [str(c) for c in ref.columns]
        numeric = [c for c in names if is_numeric(ref[c])]
        cur = read_csv_checked(current, required=names, numeric=numeric)
        report = drift_report(
            ref, cur, columns=chosen, overrides=overrides, drift_share=drift_share
        )
    except DriftInputError as exc:
        typer.echo(exc.user_message, err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from exc
    for line in format_report(report, str(reference), str(current)):
        typer.echo(line)
    if json_file is not None:
        json_file.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
        typer.echo(f"wrote {json_file}")
    if fail_on_drift and report.dataset_drift:
        raise typer.Exit(EXIT_DRIFT)


def parse_columns(values: list[str] | None) -> list[str]:
    """`--columns a,b --columns c` as ["a", "b", "c"]."""
    return [name.strip() for value in values or [] for name in value.split(",") if name.strip()]


def parse_tests(specs: list[str]) -> dict[str, ColumnTest]:
    """`COL=TEST[:THRESHOLD]` options as overrides; DriftInputError for a malformed one."""
    from triops.drift.inputs import DriftInputError
    from triops.drift.report import ColumnTest

    overrides: dict[str, ColumnTest] = {}
    for spec in specs:
        column, sep, choice = spec.partition("=")
        name, _, threshold = choice.partition(":")
        if not sep or not column.strip() or not name.strip():
            raise DriftInputError(f"--test '{spec}': expected COLUMN=TEST or COLUMN=TEST:THRESHOLD")
        try:
            value = float(threshold) if threshold.strip() else None
            overrides[column.strip()] = ColumnTest(name.strip(), value)
        except ValueError as exc:
            raise DriftInputError(f"--test '{spec}': {exc}") from exc
    return overrides


def format_report(report: DriftReport, reference: str, current: str) -> list[str]:
    """The report as aligned text lines: one per column, then the dataset verdict."""
    rows = [("column", "kind", "test", "score", "threshold", "verdict")]
    for c in report.columns:
        rows.append(
            (c.column, c.kind, c.test, f"{c.score:.4g}", f"{c.threshold:g}", c.verdict.upper())
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        f"reference: {reference} ({report.reference_rows} rows); "
        f"current: {current} ({report.current_rows} rows)",
        "",
    ]
    lines += [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines += [
        "",
        "p-value tests (ks, chisquare, z) flag drift below the threshold (ks: at or below it); "
        "distances (wasserstein, jensenshannon, psi) at or above it.",
    ]
    missing = [c for c in report.columns if c.missing]
    if missing:
        lines += ["", "missing cells, left out of each column's test (empty, NA or only spaces):"]
        for c in missing:
            lines.append(
                f"  {c.column}: {_missing(c.reference_missing, c.reference_blank)} of "
                f"{report.reference_rows} in {reference}; "
                f"{_missing(c.current_missing, c.current_blank)} of "
                f"{report.current_rows} in {current}"
            )
    lines += [f"note: {note}" for note in report.notes]
    verdict = "DRIFT" if report.dataset_drift else "NO DRIFT"
    lines.append(
        f"dataset: {verdict}: {report.drifted_count} of {len(report.columns)} columns drifted "
        f"(share {report.share:.2f}; {report.rule})"
    )
    return lines


def _missing(count: int, blank: int) -> str:
    return f"{count} ({blank} only spaces)" if blank else str(count)
