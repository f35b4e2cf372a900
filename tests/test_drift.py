"""triops.drift: each test both ways, Evidently's choice of test, the dataset rule, overrides, bad
input, the JSON form, the `triops drift` command, and agreement with Evidently 0.7.23 on the
committed fixture (tests/fixtures/drift/, made by scripts/evidently_fixture.py)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import FIXTURES, REPO
from triops.cli import app
from triops.drift import (
    TESTS,
    ColumnDrift,
    ColumnTest,
    DriftInputError,
    DriftReport,
    drift_report,
    psi,
    read_csv_checked,
)
from triops.drift.inputs import blank_cells

DRIFT_FIXTURES = FIXTURES / "drift"
EVIDENTLY = json.loads((DRIFT_FIXTURES / "evidently_0.7.23.json").read_text(encoding="utf-8"))
SCORE_RTOL = 1e-9


def numbers(seed: int, rows: int, shift: float = 0.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(50 + shift, 10, rows)


def categories(seed: int, rows: int, p: list[float]) -> np.ndarray:
    return np.random.default_rng(seed).choice(["a", "b", "c"], rows, p=p)


def yes_no(seed: int, rows: int, p_yes: float) -> np.ndarray:
    return np.where(np.random.default_rng(seed).random(rows) < p_yes, "yes", "no")


def one_column(reference, current, **kwargs) -> ColumnDrift:
    report = drift_report(pd.DataFrame({"x": reference}), pd.DataFrame({"x": current}), **kwargs)
    return report.column("x")


# --------------------------------------------------------------------------- each test both ways

SMALL, LARGE = 500, 1500
CASES = [
    # (test, reference, same distribution, shifted)
    ("ks", numbers(1, SMALL), numbers(2, 400), numbers(3, 400, shift=4)),
    (
        "chisquare",
        categories(1, SMALL, [0.5, 0.3, 0.2]),
        categories(2, 400, [0.5, 0.3, 0.2]),
        categories(3, 400, [0.3, 0.3, 0.4]),
    ),
    ("z", yes_no(1, SMALL, 0.6), yes_no(2, 400, 0.6), yes_no(3, 400, 0.4)),
    ("wasserstein", numbers(1, LARGE), numbers(2, 800), numbers(3, 800, shift=2)),
    (
        "jensenshannon",
        categories(1, LARGE, [0.5, 0.3, 0.2]),
        categories(2, 800, [0.5, 0.3, 0.2]),
        categories(3, 800, [0.3, 0.3, 0.4]),
    ),
]


@pytest.mark.parametrize(("test", "reference", "same", "shifted"), CASES, ids=[c[0] for c in CASES])
def test_default_test_is_quiet_on_the_same_distribution_and_flags_a_shift(
    test, reference, same, shifted
):
    quiet = one_column(reference, same)
    loud = one_column(reference, shifted)
    assert (quiet.test, loud.test) == (test, test)
    assert not quiet.drifted and loud.drifted
    spec = TESTS[test]
    assert quiet.threshold == loud.threshold == spec.default_threshold
    if spec.score_kind == "p_value":
        assert quiet.score > 0.05 > loud.score
    else:
        assert quiet.score < 0.1 <= loud.score


def test_psi_by_name_is_quiet_on_the_same_distribution_and_flags_a_shift():
    reference = numbers(1, LARGE)
    quiet = one_column(reference, numbers(2, 800), overrides={"x": ColumnTest("psi")})
    loud = one_column(reference, numbers(3, 800, shift=4), overrides={"x": "psi"})
    assert (quiet.test, loud.test) == ("psi", "psi")
    assert quiet.threshold == loud.threshold == 0.1
    assert quiet.score < 0.1 <= loud.score
    assert not quiet.drifted and loud.drifted
    assert psi(reference, numbers(3, 800, shift=4)) == pytest.approx(loud.score, rel=1e-12)


def test_psi_of_categories_counts_a_value_missing_from_one_side_as_its_own_bin():
    score = psi(pd.Series(["a"] * 60 + ["b"] * 40), pd.Series(["a"] * 50 + ["b"] * 30 + ["c"] * 20))
    ref = np.array([0.6, 0.4, 0.0001])  # Evidently's fill for an empty bin
    cur = np.array([0.5, 0.3, 0.2])
    assert score == pytest.approx(np.sum((ref - cur) * np.log(ref / cur)), rel=1e-12)


def test_chisquare_p_value_is_zero_when_the_current_has_a_value_the_reference_never_had():
    result = one_column(["a", "b", "c"] * 100, ["a", "b", "c", "d"] * 75)
    assert result.test == "chisquare" and result.score == 0.0 and result.drifted


def test_z_test_on_one_and_the_same_value_on_both_sides_has_p_value_1():
    result = one_column(["yes"] * 50, ["yes"] * 30)
    assert (result.kind, result.test, result.score, result.drifted) == ("binary", "z", 1.0, False)


def test_normed_wasserstein_divides_by_the_reference_standard_deviation():
    reference = numbers(1, LARGE)
    result = one_column(reference, reference + 3.0)
    assert result.score == pytest.approx(3.0 / np.std(reference), rel=1e-9)


# --------------------------------------------------------------------------- choosing the test


@pytest.mark.parametrize(
    ("rows", "numeric_test", "categorical_test", "binary_test"),
    [(1000, "ks", "chisquare", "z"), (1001, "wasserstein", "jensenshannon", "jensenshannon")],
)
def test_the_tests_switch_to_distances_above_1000_reference_rows(
    rows, numeric_test, categorical_test, binary_test
):
    reference = pd.DataFrame(
        {
            "n": numbers(1, rows),
            "c": categories(1, rows, [0.5, 0.3, 0.2]),
            "b": yes_no(1, rows, 0.5),
        }
    )
    current = pd.DataFrame(
        {"n": numbers(2, 300), "c": categories(2, 300, [0.5, 0.3, 0.2]), "b": yes_no(2, 300, 0.5)}
    )
    report = drift_report(reference, current)
    assert [c.test for c in report.columns] == [numeric_test, categorical_test, binary_test]
    assert report.column("n").threshold == (0.05 if rows <= 1000 else 0.1)
    assert report.reference_rows == rows


def test_the_switch_counts_a_columns_present_values_not_the_rows():
    values = numbers(1, 1001)
    values[0] = np.nan
    reference = pd.DataFrame({"gappy": values, "full": numbers(1, 1001)})
    current = pd.DataFrame({"gappy": numbers(2, 300), "full": numbers(2, 300)})
    report = drift_report(reference, current)
    assert report.column("gappy").test == "ks" and report.column("gappy").reference_count == 1000
    assert report.column("full").test == "wasserstein"


@pytest.mark.parametrize(
    ("reference", "current", "kind", "test"),
    [
        # A float column with at most 5 distinct values (both sides) is tested as categories.
        ([0.0, 0.5, 1.0, 1.5] * 100, [0.0, 0.5, 1.0, 2.0] * 50, "categorical", "chisquare"),
        ([0.0, 1.0] * 100, [0.0, 1.0] * 50, "binary", "z"),
        ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0] * 50, [1.0, 2.0, 3.0] * 50, "numeric", "ks"),
        # Evidently types an integer column with <= 10 distinct current values as categorical.
        (list(range(8)) * 50, list(range(8)) * 30, "categorical", "chisquare"),
        (list(range(11)) * 40, list(range(11)) * 30, "numeric", "ks"),
        ([True, False] * 100, [True, True, False] * 50, "binary", "z"),
    ],
    ids=["float-4-values", "float-2-values", "float-6-values", "int-8", "int-11", "bool"],
)
def test_columns_with_few_values_are_tested_as_categories_as_evidently_does(
    reference, current, kind, test
):
    result = one_column(reference, current)
    assert (result.kind, result.test) == (kind, test)


def test_a_category_column_ignores_categories_that_never_occur():
    kinds = ["a", "b", "c", "unused"]
    reference = pd.Categorical(["a", "b", "c"] * 100, categories=kinds)
    current = pd.Categorical(["a", "b", "c", "c"] * 50, categories=kinds)
    as_category = one_column(reference, current)
    as_text = one_column(np.asarray(reference), np.asarray(current))
    assert (as_category.test, as_category.score) == ("chisquare", as_text.score)
    assert as_category.drifted


def test_missing_and_infinite_values_are_dropped_per_column():
    reference = pd.Series([1.0, 2.0, np.nan, 3.0, np.inf, 4.0, 5.0, 6.0] * 20)
    current = pd.Series([1.0, 2.0, 3.0, -np.inf, 4.0, 5.0, 6.0, None] * 20)
    with_gaps = one_column(reference, current)
    clean = one_column(reference[np.isfinite(reference)], current.dropna()[np.isfinite(current)])
    assert with_gaps.score == clean.score
    assert (with_gaps.reference_count, with_gaps.current_count) == (120, 120)


def _pandas_counts(values: pd.Series) -> tuple[list, list[int]]:
    """What the report's counting must agree with: pandas' value_counts in order of first
    appearance, unused categories left out."""
    counted = values.value_counts(sort=False)
    counted = counted[counted > 0]
    return counted.index.tolist(), counted.tolist()


COUNTED = {
    "str": pd.Series(["b", None, "a", "b", "c", "a", "b"], dtype="str"),
    "object": pd.Series(["b", None, "a", "b", 3, "a", "b"], dtype=object),
    "bool-false-first": pd.Series([False, True, True, False, False]),
    "bool-true-only": pd.Series([True, True, True]),
    "bool-nullable": pd.Series([True, None, False, True], dtype="boolean"),
    "category": pd.Series(pd.Categorical(["y", "x", None, "y"], categories=["x", "y", "z"])),
    "int-arrow": pd.Series([3, None, 1, 3, 3], dtype="int64[pyarrow]"),
}


@pytest.mark.parametrize("kind", list(COUNTED))
def test_the_value_counts_and_missing_counts_agree_with_pandas_on_every_kind_of_column(kind):
    from triops.drift.report import _present_values
    from triops.drift.stattests import Samples

    series = COUNTED[kind]
    values, missing = _present_values(series, False, "x", "current")
    assert missing == int(series.isna().sum())
    counted = Samples(values, values).value_counts[1]
    assert counted == _pandas_counts(series.dropna())
    assert [type(k) for k in counted[0]] == [type(k) for k in _pandas_counts(series.dropna())[0]]


def test_a_numeric_columns_missing_count_leaves_infinite_values_out():
    from triops.drift.report import _present_values

    for series in (
        pd.Series([1.0, np.nan, np.inf, -np.inf, None, 2.0]),
        pd.Series([1.0, None, np.inf, 2.0], dtype="Float64"),
        pd.Series([1, None, 3], dtype="Int64"),
    ):
        values, missing = _present_values(series, True, "x", "current")
        assert missing == int(series.isna().sum())
        assert values.tolist() == [v for v in series.dropna().astype(float) if np.isfinite(v)]


def test_a_string_column_of_mostly_distinct_values_gets_a_note():
    ids = [f"id-{i}" for i in range(200)]
    report = drift_report(pd.DataFrame({"id": ids}), pd.DataFrame({"id": ids[:100]}))
    assert report.column("id").test == "chisquare"
    assert "text" in report.notes[0] and "'id'" in report.notes[0]


def test_datetime_columns_are_skipped_unless_chosen():
    frame = pd.DataFrame({"when": pd.date_range("2026-01-01", periods=100), "x": numbers(1, 100)})
    assert [c.column for c in drift_report(frame, frame).columns] == ["x"]


# --------------------------------------------------------------------------- the dataset rule


def report_with(drifted: list[bool], drift_share: float = 0.5) -> DriftReport:
    reference = pd.DataFrame({f"c{i}": numbers(i, 400) for i in range(len(drifted))})
    current = pd.DataFrame(
        {f"c{i}": numbers(100 + i, 300, shift=8 if d else 0) for i, d in enumerate(drifted)}
    )
    report = drift_report(reference, current, drift_share=drift_share)
    assert [c.drifted for c in report.columns] == drifted
    return report


def test_exactly_half_of_the_columns_drifting_is_dataset_drift():
    report = report_with([True, False, True, False])
    assert (report.drifted_count, report.share, report.dataset_drift) == (2, 0.5, True)
    assert report.drifted_columns == ["c0", "c2"]


def test_fewer_than_half_drifting_is_no_dataset_drift():
    report = report_with([True, False, False])
    assert report.share == pytest.approx(1 / 3) and not report.dataset_drift


def test_drift_share_sets_the_dataset_rule():
    assert not report_with([True, False, True, False], drift_share=0.75).dataset_drift
    assert report_with([True, False, False], drift_share=0.3).dataset_drift


# --------------------------------------------------------------------------- overrides


def test_an_override_changes_the_threshold_and_the_verdict():
    reference, current = numbers(1, SMALL), numbers(3, 400, shift=2)
    default = one_column(reference, current)
    strict = one_column(reference, current, overrides={"x": ColumnTest("ks", 1e-12)})
    assert default.drifted and default.score > 1e-12
    assert strict.score == default.score and strict.threshold == 1e-12 and not strict.drifted


def test_an_override_changes_the_test_of_one_column_only():
    frame = pd.DataFrame({"a": numbers(1, SMALL), "b": numbers(2, SMALL)})
    report = drift_report(frame, frame, overrides={"a": ColumnTest("wasserstein", 0.2)})
    assert [(c.test, c.threshold) for c in report.columns] == [("wasserstein", 0.2), ("ks", 0.05)]


def test_an_unknown_test_name_is_refused():
    with pytest.raises(ValueError, match="unknown drift test 'kolmogorov'"):
        ColumnTest("kolmogorov")


def test_a_numbers_only_test_on_a_category_column_names_the_column():
    with pytest.raises(DriftInputError, match="column 'x': the 'ks' test needs numbers"):
        one_column(["a", "b"] * 20, ["a", "b"] * 20, overrides={"x": ColumnTest("ks")})


def test_an_override_for_a_column_not_compared_is_refused():
    with pytest.raises(DriftInputError, match="column 'y': has a test override"):
        one_column([1.0, 2.0] * 20, [1.0, 2.0] * 20, overrides={"y": ColumnTest("psi")})


# --------------------------------------------------------------------------- bad input


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_read_csv_checked_names_file_column_and_line_of_a_missing_column(tmp_path):
    path = write(tmp_path, "cur.csv", "age,plan\n30,basic\n")
    with pytest.raises(DriftInputError) as caught:
        read_csv_checked(path, required=["age", "income"])
    assert str(caught.value) == (
        f"{path}:1: column 'income': missing from the header (it has: age, plan)"
    )
    assert (caught.value.column, caught.value.row) == ("income", 1)


def test_read_csv_checked_names_the_line_of_a_non_numeric_value(tmp_path):
    path = write(tmp_path, "cur.csv", "age,plan\n30,basic\n\n41,basic\nforty,premium\n")
    with pytest.raises(DriftInputError) as caught:
        read_csv_checked(path, numeric=["age"])
    assert str(caught.value) == f"{path}:5: column 'age': 'forty' is not a number"


def test_read_csv_checked_turns_numeric_columns_into_numbers_and_skips_blank_lines(tmp_path):
    path = write(tmp_path, "cur.csv", "age,plan\n30,basic\n\n,premium\n41,basic\n")
    frame = read_csv_checked(path, numeric=["age"])
    assert frame["age"].tolist()[::2] == [30.0, 41.0] and frame["age"].isna().sum() == 1
    assert len(frame) == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("age,plan\n", "{path}:1: no data rows below the header"),
        ("age,plan\n\n\n", "{path}:1: no data rows below the header"),
        ("", "{path}:1: the file is empty; expected a header line"),
        ("age,plan\n30,basic\n31,basic,extra\n", "{path}:3: expected 2 fields, saw 3"),
    ],
    ids=["header-only", "blank-lines-only", "empty-file", "ragged-row"],
)
def test_read_csv_checked_refuses_a_file_without_usable_rows(tmp_path, text, message):
    path = write(tmp_path, "cur.csv", text)
    with pytest.raises(DriftInputError) as caught:
        read_csv_checked(path)
    assert str(caught.value) == message.format(path=path)


# The churn files are trimmed copies of IBM's public Telco Customer Churn sample
# (WA_Fn-UseC_-Telco-Customer-Churn.csv, as published in aiplanethub/Datasets on GitHub): its first
# 20 customers, and 20 from row 482 on, among them 4472-LVYGI, a new customer (tenure 0) whose
# TotalCharges cell holds one space, as 11 of the file's 7043 rows do.
CHURN_REF = DRIFT_FIXTURES / "churn_ref.csv"
CHURN_CUR = DRIFT_FIXTURES / "churn_cur.csv"


def test_a_cell_of_only_spaces_is_missing_and_the_report_counts_it():
    current = read_csv_checked(CHURN_CUR)
    assert pd.api.types.is_float_dtype(current["TotalCharges"])
    assert current["TotalCharges"].isna().sum() == 1
    assert blank_cells(current) == {"TotalCharges": 1}
    report = drift_report(read_csv_checked(CHURN_REF), current, columns=["TotalCharges"])
    total = report.column("TotalCharges")
    assert (total.kind, total.test) == ("numeric", "ks")
    assert (total.current_count, total.current_missing, total.current_blank) == (19, 1, 1)
    assert (total.reference_missing, total.reference_blank) == (0, 0)


def test_spaces_only_cells_read_like_empty_cells_so_the_scores_agree(tmp_path):
    emptied = tmp_path / "churn_cur.csv"
    emptied.write_text(CHURN_CUR.read_text().replace(",52.55, ,No", ",52.55,,No"))
    columns = ["tenure", "MonthlyCharges", "TotalCharges", "Contract", "Churn"]
    ref = read_csv_checked(CHURN_REF)
    spaces = drift_report(ref, read_csv_checked(CHURN_CUR), columns=columns)
    empty = drift_report(ref, read_csv_checked(emptied), columns=columns)
    assert [(c.test, c.score) for c in spaces.columns] == [(c.test, c.score) for c in empty.columns]
    assert empty.column("TotalCharges").current_blank == 0


def test_the_command_counts_spaces_only_cells_per_column_instead_of_stopping():
    result = runner.invoke(
        app,
        ["drift", str(CHURN_REF), str(CHURN_CUR), "--columns", "tenure,TotalCharges,Churn"],
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "missing cells, left out of each column's test (empty, NA or only spaces):" in lines
    assert f"  TotalCharges: 0 of 20 in {CHURN_REF}; 1 (1 only spaces) of 20 in {CHURN_CUR}" in (
        lines
    )
    assert not any(line.startswith("  tenure:") for line in lines)


def test_a_file_that_is_not_utf8_names_the_line_of_the_first_bad_byte(tmp_path):
    latin = tmp_path / "churn_cur.csv"
    text = CHURN_CUR.read_text().replace("Mailed check,20.4", "Chèque postal,20.4")
    latin.write_bytes(text.encode("cp1252"))
    line = next(n for n, row in enumerate(text.splitlines(), start=1) if "Chèque" in row)
    with pytest.raises(DriftInputError) as caught:
        read_csv_checked(latin)
    column = text.splitlines()[line - 1].index("è") + 1
    assert str(caught.value) == (
        f"{latin}:{line}: not UTF-8: byte {column} of this line (0xe8) cannot be decoded; "
        "save the file as UTF-8"
    )
    result = runner.invoke(app, ["drift", str(CHURN_REF), str(latin)])
    assert result.exit_code == 2 and result.output == str(caught.value) + "\n"


def test_a_utf8_file_with_a_byte_order_mark_reads_as_without_one(tmp_path):
    marked = tmp_path / "churn_ref.csv"
    marked.write_bytes(b"\xef\xbb\xbf" + CHURN_REF.read_bytes())
    assert read_csv_checked(marked).columns[0] == "customerID"


def test_read_csv_checked_names_a_missing_file(tmp_path):
    with pytest.raises(DriftInputError, match="no such file"):
        read_csv_checked(tmp_path / "nope.csv")


def test_drift_report_names_the_file_and_column_of_an_all_missing_column(tmp_path):
    ref = read_csv_checked(write(tmp_path, "ref.csv", "age,plan\n30,basic\n40,premium\n"))
    path = write(tmp_path, "cur.csv", "age,plan\n,basic\n,premium\n")
    with pytest.raises(DriftInputError) as caught:
        drift_report(ref, read_csv_checked(path))
    assert str(caught.value) == f"{path}: column 'age': has no values (all 2 are missing)"


def test_drift_report_names_the_line_of_text_in_a_column_numeric_in_the_reference(tmp_path):
    ref = read_csv_checked(write(tmp_path, "ref.csv", "age\n30\n40\n"))
    path = write(tmp_path, "cur.csv", "age\n30\nn/a years\n")
    with pytest.raises(DriftInputError) as caught:
        drift_report(ref, read_csv_checked(path))
    assert str(caught.value) == (
        f"{path}:3: column 'age': 'n/a years' is not a number; the column holds numbers in "
        f"{tmp_path / 'ref.csv'}"
    )


def test_drift_report_on_frames_names_reference_or_current():
    frame = pd.DataFrame({"a": [1.0, 2.0]})
    with pytest.raises(DriftInputError, match="^current: no rows$"):
        drift_report(frame, frame.iloc[:0])
    with pytest.raises(DriftInputError, match=r"^current: column 'b': missing \(the data has: a\)"):
        drift_report(frame.assign(b=1.0), frame, columns=["a", "b"])
    with pytest.raises(
        DriftInputError, match=r"current: column 'a': 'x' is not a number \(row 1\)"
    ):
        drift_report(frame, pd.DataFrame({"a": ["1", "x"]}))


# --------------------------------------------------------------------------- the JSON form


def test_report_survives_a_json_round_trip():
    report = drift_report(
        pd.DataFrame({"n": numbers(1, SMALL), "c": categories(1, SMALL, [0.5, 0.3, 0.2])}),
        pd.DataFrame({"n": numbers(2, 300, shift=5), "c": categories(2, 300, [0.5, 0.3, 0.2])}),
        drift_share=0.4,
    )
    data = json.loads(json.dumps(report.to_dict()))
    assert DriftReport.from_dict(data) == report
    assert data["dataset_drift"] is True and data["drifted_count"] == 1 and data["share"] == 0.5
    assert data["columns"][0] == {
        "column": "n",
        "kind": "numeric",
        "test": "ks",
        "score": report.columns[0].score,
        "threshold": 0.05,
        "drifted": True,
        "score_kind": "p_value",
        "reference_count": SMALL,
        "current_count": 300,
        "reference_missing": 0,
        "current_missing": 0,
        "reference_blank": 0,
        "current_blank": 0,
    }


# --------------------------------------------------------------------------- agreement


def evidently_scenarios():
    return [pytest.param(s, id=s["name"]) for s in EVIDENTLY["scenarios"]]


@pytest.mark.parametrize("scenario", evidently_scenarios())
def test_verdicts_and_scores_agree_with_evidently(scenario):
    reference = read_csv_checked(DRIFT_FIXTURES / f"{scenario['reference']}.csv")
    current = read_csv_checked(DRIFT_FIXTURES / f"{scenario['current']}.csv")
    overrides = {c: ColumnTest(o["test"], o["threshold"]) for c, o in scenario["overrides"].items()}
    report = drift_report(
        reference, current, columns=scenario["chosen_columns"], overrides=overrides
    )
    expected = scenario["columns"]
    # Evidently lists numerical columns before categorical ones; the set is what must agree.
    assert sorted(c.column for c in report.columns) == sorted(expected)
    for got in report.columns:
        want = expected[got.column]
        assert (got.column, got.test, got.threshold, got.drifted) == (
            got.column,
            want["test"],
            want["threshold"],
            want["drifted"],
        )
        assert got.score == pytest.approx(want["score"], rel=SCORE_RTOL, abs=1e-300)
    dataset = scenario["dataset"]
    assert (report.drifted_count, report.share, report.dataset_drift) == (
        dataset["drifted_count"],
        pytest.approx(dataset["share"]),
        dataset["dataset_drift"],
    )


def test_the_evidently_fixture_covers_every_default_test_and_both_dataset_verdicts():
    scenarios = EVIDENTLY["scenarios"]
    assert EVIDENTLY["versions"]["evidently"] == "0.7.23"
    tests = {c["test"] for s in scenarios for c in s["columns"].values()}
    assert tests == set(TESTS)
    assert {s["dataset"]["dataset_drift"] for s in scenarios} == {True, False}
    sizes = sum(p.stat().st_size for p in DRIFT_FIXTURES.glob("*"))
    assert sizes < 600_000


# --------------------------------------------------------------------------- the command

runner = CliRunner()
SMALL_REF = str(DRIFT_FIXTURES / "ref_small.csv")


def test_command_prints_each_column_and_the_dataset_verdict():
    result = runner.invoke(app, ["drift", SMALL_REF, str(DRIFT_FIXTURES / "cur_numeric.csv")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    age = next(line for line in lines if line.startswith("age "))
    assert age.split() == ["age", "numeric", "ks", "2.518e-12", "0.05", "DRIFT"]
    assert any(line.split()[:4] == ["is_active", "binary", "z", "0.4866"] for line in lines)
    assert lines[-1] == (
        "dataset: NO DRIFT: 3 of 10 columns drifted "
        "(share 0.30; dataset drift when drifted columns / columns >= 0.5)"
    )


def test_command_fail_on_drift_exits_1_only_when_the_dataset_drifts(tmp_path):
    drifting = str(DRIFT_FIXTURES / "cur_everything.csv")
    quiet = str(DRIFT_FIXTURES / "cur_same.csv")
    assert runner.invoke(app, ["drift", SMALL_REF, drifting]).exit_code == 0
    loud = runner.invoke(app, ["drift", SMALL_REF, drifting, "--fail-on-drift"])
    assert loud.exit_code == 1 and "dataset: DRIFT: 8 of 10" in loud.output
    assert runner.invoke(app, ["drift", SMALL_REF, quiet, "--fail-on-drift"]).exit_code == 0


def test_command_writes_the_json_report(tmp_path):
    out = tmp_path / "report.json"
    args = ["drift", SMALL_REF, str(DRIFT_FIXTURES / "cur_numeric.csv"), "--json", str(out)]
    result = runner.invoke(app, [*args, "--columns", "age,plan", "--columns", "is_active"])
    assert result.exit_code == 0, result.output
    report = DriftReport.from_dict(json.loads(out.read_text(encoding="utf-8")))
    assert [c.column for c in report.columns] == ["age", "plan", "is_active"]
    assert report.drifted_columns == ["age"] and not report.dataset_drift


def test_command_takes_per_column_tests(tmp_path):
    args = ["drift", SMALL_REF, str(DRIFT_FIXTURES / "cur_numeric.csv"), "--columns", "age,plan"]
    result = runner.invoke(app, [*args, "--test", "age=psi", "--test", "plan=jensenshannon:0.2"])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split() for line in result.output.splitlines() if line}
    assert rows["age"][2] == "psi" and rows["plan"][2:5:2] == ["jensenshannon", "0.2"]


@pytest.mark.parametrize(
    ("current", "extra", "message"),
    [
        ("age,plan\n30,basic\n", [], "{cur}:1: column 'income': missing from the header"),
        (
            "age,income,plan\n30,1.5,basic\n31,lots,basic\n",
            [],
            "{cur}:3: column 'income': 'lots' is not a number",
        ),
        ("age,income,plan\n", [], "{cur}:1: no data rows below the header"),
        ("age,income,plan\n30,1.5,basic\n", ["--test", "age"], "--test 'age': expected"),
        ("age,income,plan\n30,1.5,basic\n", ["--test", "age=t"], "unknown drift test 't'"),
    ],
    ids=["missing-column", "not-a-number", "empty-batch", "bad-test-option", "unknown-test"],
)
def test_command_reports_bad_input_on_one_line_and_exits_2(tmp_path, current, extra, message):
    ref = write(tmp_path, "ref.csv", "age,income,plan\n30,1.5,basic\n40,2.5,premium\n")
    cur = write(tmp_path, "cur.csv", current)
    result = runner.invoke(app, ["drift", str(ref), str(cur), *extra])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert message.format(cur=cur) in result.output


def test_command_help_lists_every_test():
    result = runner.invoke(app, ["drift", "--help"])
    assert result.exit_code == 0
    assert all(name in result.output for name in TESTS)


# --------------------------------------------------------------------------- dependencies


def test_the_drift_library_imports_only_numpy_pandas_scipy_and_the_standard_library():
    allowed = {"numpy", "pandas", "scipy", "triops", "__future__"}
    for path in (REPO / "src" / "triops" / "drift").glob("*.py"):
        if path.name == "cli.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top in allowed | sys.stdlib_module_names, f"{path.name} imports {name}"
                if top == "triops":
                    assert name.startswith("triops.drift"), f"{path.name} imports {name}"


def test_importing_the_library_loads_no_torch_streamlit_duckdb_or_typer():
    code = (
        "import sys; from triops.drift import drift_report, read_csv_checked, psi; "
        "print(sorted(m for m in ('torch', 'streamlit', 'duckdb', 'typer', "
        "'sentence_transformers', 'sklearn') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_starting_triops_does_not_import_pandas_or_scipy_for_the_drift_command():
    code = "import sys, triops.cli; print(sorted({'pandas', 'scipy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
