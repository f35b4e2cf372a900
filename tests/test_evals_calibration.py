"""The semantic assertions' shipped thresholds still hold: the calibration is re-run on the
labelled questions over the whole course (see src/triops/evals/CALIBRATION.md)."""

from __future__ import annotations

import pytest

from conftest import ASK_PAIRS, FIXTURES, REPO
from triops.evals.calibration import (
    CALIBRATION_TOLERANCE,
    SHIPPED,
    calibrate,
    labelled_scores,
    separation,
)
from triops.search.ask import load_pairs

# One process asks the labelled questions once for this module and test_ask.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group(ASK_PAIRS)]


@pytest.fixture(scope="module")
def scores(stored_embedder, lesson_index, ask_pairs_results):
    """The labelled questions scored over the course's lessons (the session's model and index,
    and the session's run of Ask over them, tests/conftest.py ask_pairs_results; the model's
    vectors of their texts kept between runs: StoredVectors)."""
    from triops.content.loader import load_course

    pairs = load_pairs(FIXTURES / "ask_pairs.yaml")
    return labelled_scores(
        pairs, lesson_index, stored_embedder, results=ask_pairs_results, course=load_course(REPO)
    )


@pytest.fixture(scope="module")
def calibration(scores):
    return calibrate(None, None, None, scores=scores)


def test_every_labelled_set_has_both_classes_in_both_splits(scores):
    assert set(scores) == set(SHIPPED)
    for name, scored in scores.items():
        for split in ("calibration", "holdout"):
            m = separation(scored, SHIPPED[name], split)
            assert m["positives"] >= 10 and m["negatives"] >= 10, (name, split, m)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_the_shipped_threshold_is_the_calibrated_one(calibration, name):
    found = calibration[name]
    report = (
        f"{name}: calibrated {found.threshold:.4f}, shipped {SHIPPED[name]}; "
        f"holdout {found.splits['holdout']}; re-run triops.evals.calibration.calibrate, "
        "update the constant and CALIBRATION.md"
    )
    print(report)
    assert abs(found.threshold - SHIPPED[name]) <= CALIBRATION_TOLERANCE, report


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_the_shipped_threshold_separates_the_holdout_split(scores, name):
    m = separation(scores[name], SHIPPED[name], "holdout")
    # Floors, not goals: 0.80 to 0.94 balanced accuracy when the values were set (2026-11-28).
    assert m["balanced_accuracy"] >= 0.75, (name, m)
    assert m["auc"] >= 0.8, (name, m)
