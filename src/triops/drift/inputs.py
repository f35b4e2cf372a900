"""Reading reference and current data from CSV files, with errors that point at the bad cell."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd

# The file a DataFrame was read from, kept in DataFrame.attrs so that drift_report can name it.
SOURCE_ATTR = "triops_drift_source"
# Per column, how many cells of the file held only spaces (read as missing), in DataFrame.attrs.
BLANK_ATTR = "triops_drift_blank_cells"
HEADER_LINE = 1


class DriftInputError(ValueError):
    """Data that drift detection cannot use; `str()` reads `source:row: column 'x': message`.

    `source` is the file (or "reference"/"current" for a DataFrame), `row` the line number as a
    user sees it in a CSV (the header is line 1), `column` the column concerned; each may be
    None."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        column: str | None = None,
        row: int | None = None,
    ):
        self.message = message
        self.source = source
        self.column = column
        self.row = row
        super().__init__(self.user_message)

    @property
    def user_message(self) -> str:
        where = ":".join(str(part) for part in (self.source, self.row) if part is not None)
        what = (
            f"column '{self.column}': {self.message}" if self.column is not None else self.message
        )
        return f"{where}: {what}" if where else what


def source_of(frame: pd.DataFrame, default: str) -> str:
    """The CSV file the frame was read from by read_csv_checked, else `default`."""
    return str(frame.attrs.get(SOURCE_ATTR, default))


def header_line(frame: pd.DataFrame) -> int | None:
    """Line 1 when the frame came from read_csv_checked, else None."""
    return HEADER_LINE if SOURCE_ATTR in frame.attrs else None


def line_of(frame: pd.DataFrame, position: int) -> int | None:
    """The CSV line of the row at `position` when the frame came from read_csv_checked, else
    None (a DataFrame built in code has no lines). Exact for files without blank lines or
    quoted line breaks."""
    return position + HEADER_LINE + 1 if SOURCE_ATTR in frame.attrs else None


def blank_cells(frame: pd.DataFrame) -> dict[str, int]:
    """Per column, the cells of the CSV file that held only spaces (read_csv_checked reads them
    as missing); empty for a frame built in code."""
    return dict(frame.attrs.get(BLANK_ATTR, {}))


def _decode(raw: bytes, source: str) -> str:
    """The file's text; DriftInputError at the line of the first byte that is not UTF-8."""
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        offset = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise DriftInputError(
            f"not UTF-8: byte {offset} of this line (0x{raw[exc.start]:02x}) cannot be decoded; "
            "save the file as UTF-8",
            source=source,
            row=line,
        ) from None


def _spaces_only(frame: pd.DataFrame) -> tuple[dict[str, int], set[str]]:
    """The cells that hold nothing but spaces: how many per column, and their exact texts."""
    counts: dict[str, int] = {}
    texts: set[str] = set()
    for column in frame.columns:
        series = frame[column]
        if not (series.dtype == object or pd.api.types.is_string_dtype(series)):
            continue
        values = series.dropna()
        values = values[values.map(lambda v: isinstance(v, str) and not v.strip())]
        if len(values):
            counts[str(column)] = len(values)
            texts.update(values)
    return counts, texts


def is_numeric(series: pd.Series) -> bool:
    """Numbers (ints or floats); booleans count as categories, as in Evidently."""
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def first_non_number(series: pd.Series) -> tuple[int, object] | None:
    """Position and value of the first present value that is not a number, or None."""
    if is_numeric(series):
        return None
    parsed = pd.to_numeric(series, errors="coerce")
    if pd.api.types.is_bool_dtype(parsed):
        bad = series.notna()
    else:
        bad = parsed.isna() & series.notna()
    if not bad.any():
        return None
    position = int(bad.to_numpy().argmax())
    return position, series.iloc[position]


def read_csv_checked(
    path: str | Path,
    *,
    numeric: list[str] | None = None,
    required: list[str] | None = None,
) -> pd.DataFrame:
    """Read a UTF-8 CSV whose header is line 1; check it has data rows, the `required` columns,
    and only numbers (or empty cells) in the `numeric` ones, which come back as numbers.

    A cell holding only spaces is missing, like an empty cell; how many there were per column
    is kept (blank_cells). Blank lines are skipped. Raises DriftInputError naming the file, the
    column and the line (of the first byte that is not UTF-8, for a file that is not)."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise DriftInputError("no such file", source=source) from exc
    except OSError as exc:
        raise DriftInputError(f"cannot read the file: {exc}", source=source) from exc
    text = _decode(raw, source)
    try:
        # Blank lines are kept while checking so that row positions map to file lines.
        frame = pd.read_csv(io.StringIO(text), skip_blank_lines=False)
        blanks, spaces = _spaces_only(frame)
        if spaces:  # read again with those texts as missing values, typed as pandas types them
            frame = pd.read_csv(io.StringIO(text), skip_blank_lines=False, na_values=sorted(spaces))
    except pd.errors.EmptyDataError as exc:
        raise DriftInputError(
            "the file is empty; expected a header line", source=source, row=HEADER_LINE
        ) from exc
    except pd.errors.ParserError as exc:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if found:
            expected, line, saw = found.groups()
            raise DriftInputError(
                f"expected {expected} fields, saw {saw}", source=source, row=int(line)
            ) from exc
        raise DriftInputError(f"not a readable CSV file: {exc}", source=source) from exc

    for column in [*(required or []), *(numeric or [])]:
        if column not in frame.columns:
            raise DriftInputError(
                f"missing from the header (it has: {', '.join(map(str, frame.columns))})",
                source=source,
                column=column,
                row=HEADER_LINE,
            )
    for column in numeric or []:
        bad = first_non_number(frame[column])
        if bad is not None:
            position, value = bad
            raise DriftInputError(
                f"{value!r} is not a number",
                source=source,
                column=column,
                row=position + HEADER_LINE + 1,
            )
        if not is_numeric(frame[column]):
            frame[column] = pd.to_numeric(frame[column])
    blank = frame.isna().all(axis=1)
    if blank.any():
        frame = frame.loc[~blank].reset_index(drop=True)
    if frame.empty:
        raise DriftInputError("no data rows below the header", source=source, row=HEADER_LINE)
    frame.attrs[SOURCE_ATTR] = source
    frame.attrs[BLANK_ATTR] = blanks
    return frame
