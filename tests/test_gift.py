"""Moodle GIFT import and export: exact models per feature, located errors, exact round trips."""

from __future__ import annotations

from pathlib import Path

import pytest

from triops.quiz.bank import load_bank, parse_bank_file
from triops.quiz.gift import (
    DESCRIPTION,
    ESSAY,
    GiftError,
    export_gift,
    import_gift,
    to_bank_yaml,
    unexportable,
)
from triops.quiz.models import (
    BLANK,
    Matching,
    Multiple,
    Numeric,
    NumericAnswer,
    Option,
    Ordering,
    Pair,
    ShortText,
    Single,
    TextAnswer,
    TrueFalse,
)

REPO = Path(__file__).resolve().parents[1]
GIFT = REPO / "tests" / "fixtures" / "gift"
EVERYTHING = GIFT / "everything.gift"
CI = "integration-and-testing"
DORA = "measurement-and-improvement"


@pytest.fixture(scope="module")
def imported():
    return import_gift(EVERYTHING.read_text(encoding="utf-8"), source=str(EVERYTHING))


@pytest.fixture(scope="module")
def by_id(imported):
    return {q.id: q for q in imported.questions}


@pytest.fixture(scope="module")
def bank_questions():
    return [bq.question for bq in load_bank(REPO).questions]


def _without_gift_gaps(q):
    """What a round trip can reproduce: GIFT has no place for these fields."""
    gaps = {"lesson": None, "difficulty": None, "tags": [], "exam_only": False}
    gaps["practice_only"] = False
    gaps["covers"] = []
    if q.type == "multiple":
        gaps["choose"] = None
    return q.model_copy(update=gaps)


# --- import: one test per feature of everything.gift -----------------------------------------


def test_fixture_imports_every_gradable_question_in_file_order(imported):
    assert [q.id for q in imported.questions] == [
        "gift-red-main",
        "gift-continuous-integration-merges-every-change-into",
        "gift-flaky-tests",
        "gift-trunk",
        "gift-trunk-2",
        "gift-ci-name",
        "gift-escapes-bash-tests",
        "gift-dora-metrics",
        "gift-release-strategy",
        "gift-fast-restore",
        "gift-error-budget",
        "gift-canary-share",
        "gift-deployment-frequency",
        "gift-drift-kinds",
    ]
    assert imported.warnings == []


def test_essay_and_description_are_skipped_with_their_lines(imported):
    assert imported.skipped == [(77, ESSAY), (82, DESCRIPTION)]
    assert ESSAY == "essay question (free text cannot be graded automatically)"
    assert DESCRIPTION == "description (no answers)"


def test_category_sets_domain_from_slug_of_last_path_part(imported, by_id):
    assert imported.categories == [
        "devops/integration-and-testing",
        "devops/measurement-and-improvement",
        "$course$/top/MLOps/Monitoring and retraining",
    ]
    assert by_id["gift-trunk"].domain == CI
    assert by_id["gift-dora-metrics"].domain == DORA
    assert by_id["gift-drift-kinds"].domain == "monitoring-and-retraining"


def test_gift_cannot_carry_lesson_or_difficulty(imported):
    assert all(q.lesson is None and q.difficulty is None for q in imported.questions)


def test_single_choice_with_wrapped_answer_feedback_comment_and_general_feedback(by_id):
    assert by_id["gift-red-main"] == Single(
        id="gift-red-main",
        title="Red main",
        type="single",
        domain=CI,
        stem="A teammate's merge turns `main` red. What does continuous integration ask the team"
        "\nto do first?",
        options=[
            Option(
                text="Fix or revert the change before merging anything else",
                correct=True,
                feedback="A red main blocks everyone; restoring it comes first.",
            ),
            Option(
                text="Keep merging and fix the build at the end of the sprint",
                feedback="Every later merge lands on a broken base.",
            ),
            Option(
                text="Disable the failing tests",
                feedback="That hides the problem instead of fixing it.",
            ),
        ],
        explanation="Continuous integration only pays off while the main line stays releasable.",
    )


def test_missing_word_marks_blank_where_block_was_and_unnamed_id_comes_from_stem(by_id):
    assert by_id["gift-continuous-integration-merges-every-change-into"] == Single(
        id="gift-continuous-integration-merges-every-change-into",
        type="single",
        domain=CI,
        stem="Continuous integration merges every change into the [[blank]] at least once a day.",
        options=[
            Option(text="main line", correct=True),
            Option(text="release branch"),
            Option(text="feature branch"),
        ],
    )


def test_true_false_reads_wrong_answer_feedback_first_then_right_answer_feedback(by_id):
    assert by_id["gift-flaky-tests"] == TrueFalse(
        id="gift-flaky-tests",
        title="Flaky tests",
        type="true_false",
        domain=CI,
        stem="A test that fails one run in fifty can safely be ignored.",
        stem_format="plain",
        answer=False,
        feedback_wrong="It cannot: a flaky test teaches the team to ignore red builds.",
        feedback_right="Right: quarantine it and fix it.",
        explanation="Flaky tests erode trust in the pipeline.",
    )


def test_true_false_short_forms_and_right_feedback_only(by_id):
    assert by_id["gift-trunk"] == TrueFalse(
        id="gift-trunk",
        title="Trunk",
        type="true_false",
        domain=CI,
        stem="Trunk-based development keeps branches short-lived.",
        answer=True,
    )
    assert by_id["gift-trunk-2"] == TrueFalse(
        id="gift-trunk-2",
        title="Trunk",
        type="true_false",
        domain=CI,
        stem="Long-lived feature branches make merging easier.",
        answer=False,
        feedback_right="Right: the longer a branch lives, the harder its merge.",
    )


def test_short_answer_keeps_weights_feedback_and_wildcard(by_id):
    assert by_id["gift-ci-name"] == ShortText(
        id="gift-ci-name",
        title="CI name",
        type="short_text",
        domain=CI,
        stem="Name the practice of merging every developer's work into the main line at least "
        "daily.",
        answers=[
            TextAnswer(text="continuous integration"),
            TextAnswer(text="CI", feedback="Accepted: the usual abbreviation."),
            TextAnswer(
                text="continuous deliv*",
                weight=50,
                feedback="Close: continuous delivery builds on integration.",
            ),
        ],
    )


def test_every_escape_is_unescaped_in_name_stem_answers_and_feedback(by_id):
    assert by_id["gift-escapes-bash-tests"] == Single(
        id="gift-escapes-bash-tests",
        title="Escapes: bash tests",
        type="single",
        domain=CI,
        stem="In bash, which operator compares two strings inside `[[ ... ]]`?\n"
        "Not `~` (home) and not `#` (a comment); braces { } group commands, and a path like "
        "C:\\tools stays as it is.",
        options=[
            Option(text="==", correct=True, feedback="Right: `[[ $a == $b ]]`."),
            Option(text="-eq", feedback="That compares integers."),
            Option(text="=~", feedback="That matches a regular expression."),
        ],
    )


def test_several_positive_weights_make_multiple_and_negative_weights_are_kept(by_id):
    assert by_id["gift-dora-metrics"] == Multiple(
        id="gift-dora-metrics",
        title="DORA metrics",
        type="multiple",
        domain=DORA,
        stem="Which of these are DORA software delivery metrics?",
        options=[
            Option(text="Deployment frequency", weight=50),
            Option(text="Lead time for changes", weight=50),
            Option(
                text="Lines of code per developer",
                weight=-100,
                feedback="Output volume is not a delivery metric.",
            ),
            Option(text="Story points per sprint"),
        ],
    )


def test_one_equals_answer_makes_single_and_other_answers_keep_partial_weights(by_id):
    assert by_id["gift-release-strategy"] == Single(
        id="gift-release-strategy",
        title="Release strategy",
        type="single",
        domain=DORA,
        stem="Which release strategy exposes a new version to a small share of users first?",
        options=[
            Option(text="Canary release", correct=True),
            Option(
                text="Blue-green release",
                weight=50,
                feedback="Also limits risk, but switches all traffic at once.",
            ),
            Option(
                text="Big-bang release", weight=-25, feedback="Everyone gets the change at once."
            ),
        ],
    )


def test_one_hundred_percent_weight_without_equals_makes_single(by_id):
    assert by_id["gift-fast-restore"] == Single(
        id="gift-fast-restore",
        title="Fast restore",
        type="single",
        domain=DORA,
        stem="Which step usually restores service fastest after a bad deploy?",
        options=[
            Option(text="Roll back to the last good version", weight=100),
            Option(text="Debug in production"),
            Option(text="Wait for the next release"),
        ],
    )


def test_numeric_value_with_tolerance_in_html(by_id):
    assert by_id["gift-error-budget"] == Numeric(
        id="gift-error-budget",
        title="Error budget",
        type="numeric",
        domain=DORA,
        stem="<p>A service has a 99.9&nbsp;% availability SLO over 30 days. How many minutes of "
        "downtime does its error budget allow?</p>",
        stem_format="html",
        answers=[NumericAnswer(value=43.2, tolerance=0.1)],
    )


def test_numeric_range_becomes_min_and_max(by_id):
    assert by_id["gift-canary-share"] == Numeric(
        id="gift-canary-share",
        title="Canary share",
        type="numeric",
        domain=DORA,
        stem="What share of traffic, in percent, is a sensible first canary step? Any value from "
        "1 to 5 is accepted.",
        answers=[NumericAnswer(min=1, max=5)],
    )


def test_numeric_several_weighted_answers_with_feedback_in_moodle_format(by_id):
    assert by_id["gift-deployment-frequency"] == Numeric(
        id="gift-deployment-frequency",
        title="Deployment frequency",
        type="numeric",
        domain=DORA,
        stem="Over 20 days a team made 12 deployments, on 14 working days. What is its "
        "deployment frequency, per calendar day?",
        stem_format="moodle",
        answers=[
            NumericAnswer(value=0.6, tolerance=0.01, feedback="Right: 12 / 20."),
            NumericAnswer(
                value=0.857, tolerance=0.01, weight=50, feedback="That is per working day."
            ),
            NumericAnswer(
                value=0.75, tolerance=0.01, weight=0, feedback="That counts 15 deployments."
            ),
        ],
        explanation="Deployment frequency is deployments divided by the days in the period.",
    )


def test_matching_empty_left_side_adds_a_distractor(by_id):
    assert by_id["gift-drift-kinds"] == Matching(
        id="gift-drift-kinds",
        title="Drift kinds",
        type="matching",
        domain="monitoring-and-retraining",
        stem="Match each kind of drift with **what changes**.",
        pairs=[
            Pair(left="Data drift", right="The input distribution changes"),
            Pair(left="Concept drift", right="The relation between inputs and label changes"),
            Pair(left="Label shift", right="The class balance changes"),
        ],
        distractors=["The model file is corrupted"],
        explanation="A drift test on the inputs alone cannot see concept drift.",
    )


# --- import: smaller rules ---------------------------------------------------------------------


def test_id_prefix_replaces_gift_and_must_be_kebab_case():
    result = import_gift("::Trunk::Short branches.{T}", id_prefix="devops-import")
    assert result.questions[0].id == "devops-import-trunk"
    with pytest.raises(ValueError, match="not kebab-case"):
        import_gift("::Trunk::Short branches.{T}", id_prefix="Bad Prefix")


def test_several_equals_answers_make_multiple_keyed_by_correct_flags():
    result = import_gift("Which are DORA metrics? {=Deployment frequency =Lead time ~Story points}")
    question = result.questions[0]
    assert isinstance(question, Multiple)
    assert [(o.text, o.correct, o.weight) for o in question.options] == [
        ("Deployment frequency", True, None),
        ("Lead time", True, None),
        ("Story points", False, None),
    ]


def test_text_after_an_escaped_newline_at_the_end_keeps_the_newline():
    result = import_gift("::Q::Line one\\nline two\\n{T}")
    assert result.questions[0].stem == "Line one\nline two\n"


def test_unknown_backslash_sequences_are_kept():
    result = import_gift(r"::Regex::Does \d match a digit in Python's re?{T}")
    assert result.questions[0].stem == r"Does \d match a digit in Python's re?"


def test_numeric_catch_all_feedback_is_dropped_with_a_warning():
    result = import_gift("::Q::How many?{#=42 ~#Count again.}")
    assert result.questions[0].answers == [NumericAnswer(value=42)]
    assert result.warnings == [
        (
            1,
            "numeric feedback for any other answer (~#...) dropped: the model has no place for it",
        )
    ]


def test_pair_feedback_after_a_hash_is_read_as_an_extension():
    result = import_gift("Match.{=a -> 1#Because. =b -> 2 =c -> 3}")
    assert result.questions[0].pairs[0] == Pair(left="a", right="1", feedback="Because.")


# --- what Moodle refuses stops the file; what it accepts imports as it reads it ----------------
#
# Each case below was compared with Moodle's importer (qformat_gift::readquestion in
# question/format/gift/format.php, then qformat_default::importprocess and the question types'
# save_question_options).


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("::Q::Pick.{=a ~%120%b}", 1, "weight %120% is outside -100%..100%"),
        ("::Q::Done? }", 1, "'}' without an opening '{' (write \\} for a brace)"),
        ("::Q::Pick one.{~a}", 1, "a multiple-choice question needs at least two answers"),
        ("::Q::Pick.{~%100%a ~%50%b}", 1, "positive option weights add up to 150, not 100"),
        ("::Q::Name it.{=%50%close}", 1, "no answer is worth 100%: give one without a %weight%"),
        ("::Q::How many?{#5:a lot}", 1, "'a lot' is not a number"),
        ("::Q::How many?{#1..many}", 1, "'many' is not a number"),
        ("// triops-id: Not Kebab\n::Q::Is it?{T}", 1, "triops-id 'Not Kebab' is not kebab-case"),
        (
            "::Q::Match.{=a -> 1 =b -> 2 =c}",
            1,
            "a matching answer needs '->' between its two items",
        ),
        ("::Q::Match.{=a -> 1}", 1, "a matching question needs at least two answers"),
    ],
)
def test_what_moodle_refuses_raises_gift_error_at_its_line(text, line, message):
    with pytest.raises(GiftError) as caught:
        import_gift(text)
    assert (caught.value.line, caught.value.message) == (line, message)


MALFORMED = {
    "unclosed_brace.gift": (
        5,
        "unclosed '{': the answer block has no closing '}' (a blank line ends a question)",
    ),
    "no_right_answer.gift": (6, "no right answer: mark it with = or give it a positive %weight%"),
    "weights_not_100.gift": (3, "positive option weights add up to 75, not 100"),
}


def test_every_malformed_fixture_has_an_expected_error():
    assert sorted(p.name for p in (GIFT / "malformed").glob("*.gift")) == sorted(MALFORMED)


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_file_raises_gift_error_with_line_and_message(name):
    path = GIFT / "malformed" / name
    with pytest.raises(GiftError) as caught:
        import_gift(path.read_text(encoding="utf-8"), source=name)
    line, message = MALFORMED[name]
    assert (caught.value.line, caught.value.message) == (line, message)
    assert str(caught.value) == f"{name}:{line}: error: {message}"


def _accepted(name):
    path = GIFT / "accepted" / name
    return import_gift(path.read_text(encoding="utf-8"), source=name)


# Moodle imports each of these files (the comment at the top of each says how format.php reads
# it); Triops imports them the same way, and says what it read with a warning or a skip.
ACCEPTED = {
    "garbage_answer.gift": (["true_false", "short_text"], [], []),
    "text_before_answers.gift": (
        ["single"],
        [
            (
                4,
                "text before the first answer, 'pick one:', is read as a wrong answer, as "
                "Moodle reads it",
            )
        ],
        [],
    ),
    "bad_weight.gift": (
        ["single"],
        [
            (
                6,
                "'%half%' is not a weight (write a number such as %50%): Moodle keeps it as part "
                "of the answer text",
            )
        ],
        [],
    ),
    "bad_numeric.gift": (
        ["numeric"],
        [
            (
                6,
                "'forty' is not a number: Moodle reads this answer as the catch-all '*' (any "
                "response), which has no place in the model: dropped",
            )
        ],
        [],
    ),
    "bad_category.gift": (
        ["true_false"],
        [
            (
                8,
                "$CATEGORY without a category path: Moodle files the questions after it in a "
                "category with no name; here they get no domain",
            )
        ],
        [],
    ),
    "second_block.gift": (
        ["single"],
        [
            (
                3,
                "a second {...} stays in the question text, as Moodle reads it: a question has "
                "one answer block (write \\{ and \\} for braces)",
            )
        ],
        [],
    ),
    "unclosed_name.gift": (
        ["true_false"],
        [(3, "'::' has no closing '::': read as a question without a name, as Moodle reads it")],
        [],
    ),
    "matching_two_pairs.gift": (
        [],
        [],
        [
            (
                3,
                "a matching question with 2 pairs: Moodle imports it, but a bank question needs "
                "at least three",
            )
        ],
    ),
}


def test_every_accepted_fixture_has_an_expected_reading():
    assert sorted(p.name for p in (GIFT / "accepted").glob("*.gift")) == sorted(ACCEPTED)


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_a_file_moodle_imports_is_imported_with_its_warnings_and_skips(name):
    result = _accepted(name)
    types, warnings, skipped = ACCEPTED[name]
    assert [q.type for q in result.questions] == types
    assert result.warnings == warnings
    assert result.skipped == skipped


def test_a_single_answer_without_equals_is_a_short_answer_as_in_moodle():
    path = GIFT / "short_answers.gift"
    result = import_gift(path.read_text(encoding="utf-8"), source=str(path))
    assert result.warnings == [] and result.skipped == []
    answers = [[(a.text, a.weight, a.feedback) for a in q.answers] for q in result.questions]
    assert answers == [
        [("no one", 100, ""), ("nobody", 100, "")],
        [("four", 100, ""), ("4", 100, "")],
        [("China", 100, "")],
        [
            ("Nazareth", 100, "Yes! That's right!"),
            ("Nazereth", 75, "Right, but misspelled."),
            ("Bethlehem", 25, "He was born here, but not raised here."),
        ],
        [("no one", 100, "")],
        [("four", 100, "")],
        [("four", 100, "")],
    ]
    assert {q.type for q in result.questions} == {"short_text"}
    with_equals, without = result.questions[-2:]
    assert without.model_copy(update={"id": with_equals.id}) == with_equals
    assert result.questions[1].stem == f"Two plus two equals {BLANK}."


def test_garbage_answer_becomes_the_one_accepted_short_answer():
    runner = _accepted("garbage_answer.gift").questions[1]
    assert runner == ShortText(
        id="gift-runner",
        title="Runner",
        type="short_text",
        stem="Which tool runs the pipeline?",
        answers=[TextAnswer(text="Jenkins or GitHub Actions")],
    )


def test_lead_text_of_a_choice_is_a_wrong_option_and_a_bad_weight_stays_in_the_text():
    runner = _accepted("text_before_answers.gift").questions[0]
    assert [(o.text, o.correct) for o in runner.options] == [
        ("pick one:", False),
        (".github/workflows/ci.yml", True),
        ("Jenkinsfile", False),
    ]
    release = _accepted("bad_weight.gift").questions[0]
    assert [o.text for o in release.options][1] == "%half%Blue-green release"
    assert release.options[1].weight is None


def test_a_numerical_answer_that_is_not_a_number_is_dropped_as_moodles_catch_all():
    question = _accepted("bad_numeric.gift").questions[0]
    assert question.answers == [NumericAnswer(value=43.2, tolerance=0.1)]


def test_second_block_and_unclosed_name_read_as_moodle_reads_them():
    merge = _accepted("second_block.gift").questions[0]
    assert merge.stem == f"Merge {BLANK} and run the tests {{=always ~sometimes}}."
    trunk = _accepted("unclosed_name.gift").questions[0]
    assert (trunk.title, trunk.stem) == (
        "",
        "Trunk Trunk-based development keeps branches short-lived.",
    )


@pytest.mark.parametrize(
    ("text", "reading", "note"),
    [
        (
            "::Q::Is it?{true}",
            [("short_text", ["true"])],
            (
                "warning",
                "'true' is read as a short answer, as Moodle reads it: true/false is written "
                "T, TRUE, F or FALSE, in capitals",
            ),
        ),
        (
            "::Q::Pick.{=%50%a ~b}",
            [("single", ["%50%a", "b"])],
            (
                "warning",
                "'=' gives 100%, so '%50%' is not a weight (write ~%50% for less): Moodle keeps "
                "it as part of the answer text",
            ),
        ),
        (
            "::Q::Pick.{=a ~%33%b ~c}",
            [("single", ["a", "b", "c"])],
            (
                "warning",
                "weight %33% is not one of Moodle's grades: Moodle's import refuses it unless "
                "'Match grades' is set to 'Nearest grade if not listed'",
            ),
        ),
        (
            "::Q::Pick.{=a =b ~%-50%c}",
            [],
            (
                "skipped",
                "several = answers with %weights% on the others: Moodle reads a single-choice "
                "question with several right answers, which the bank cannot hold (give every "
                "answer a weight, ~%50%, or drop the weights)",
            ),
        ),
        (
            "::Q::Pick.{=a ~a}",
            [],
            (
                "skipped",
                "Moodle imports this question but the bank cannot hold it: two options have "
                "the same text",
            ),
        ),
        (
            "::Q::\n{=a ~b}",
            [],
            (
                "skipped",
                "the question has no text: Moodle imports it, but a bank question needs a stem",
            ),
        ),
        (
            "$CATEGORY: devops/x\n::Q::Is it?{T}",
            [],
            (
                "skipped",
                "text in the same block as $CATEGORY: Moodle reads it as part of the category "
                "name, so no question is imported from it (leave a blank line after $CATEGORY)",
            ),
        ),
        (
            "$CATEGORY: devops/???\n\n::Q::Is it?{T}",
            [("true_false", [])],
            (
                "warning",
                "category 'devops/???': its last part has no letters or digits, so the "
                "questions after it get no domain",
            ),
        ),
        (
            "::Q::Pick.{=a =b ~}",
            [("multiple", ["a", "b"])],
            ("warning", "empty answer dropped, as Moodle drops it"),
        ),
        (
            "::Q::How many?{#1 =2}",
            [("numeric", [1.0, 2.0])],
            None,
        ),
    ],
)
def test_what_moodle_accepts_imports_with_a_warning_or_a_reason_to_skip(text, reading, note):
    result = import_gift(text)

    def shown(q):
        if isinstance(q, ShortText):
            return [a.text for a in q.answers]
        if isinstance(q, Numeric):
            return [a.value for a in q.answers]
        return [o.text for o in getattr(q, "options", [])]

    assert [(q.type, shown(q)) for q in result.questions] == reading
    notes = [("warning", m) for _, m in result.warnings] + [
        ("skipped", m) for _, m in result.skipped
    ]
    assert notes == ([] if note is None else [note])
    assert all(line >= 1 for line, _ in result.warnings + result.skipped)


# --- export and round trips ------------------------------------------------------------------


def test_fixture_questions_survive_export_and_import_with_their_ids(imported):
    again = import_gift(export_gift(imported.questions))
    assert again.questions == imported.questions
    assert again.skipped == [] and again.warnings == []


def test_each_expressible_bank_question_survives_export_and_import(bank_questions):
    expressible = [q for q in bank_questions if unexportable(q) is None]
    assert len(expressible) > 250
    mismatches = []
    for question in expressible:
        back = import_gift(export_gift([question])).questions
        if back != [_without_gift_gaps(question)]:
            mismatches.append(question.id)
    assert mismatches == []


def test_whole_bank_exports_to_one_file_that_imports_back_in_order(bank_questions):
    expressible = [_without_gift_gaps(q) for q in bank_questions if unexportable(q) is None]
    assert import_gift(export_gift(bank_questions)).questions == expressible


def test_ordering_questions_are_exported_as_skipped_comments(bank_questions):
    orderings = [q for q in bank_questions if isinstance(q, Ordering)]
    assert orderings
    text = export_gift(orderings)
    for q in orderings:
        assert f"// skipped {q.id}: ordering questions have no GIFT form\n" in text
    assert import_gift(text).questions == []


def test_export_writes_category_when_domain_changes_and_top_for_no_domain():
    def tf(qid, domain):
        return TrueFalse(id=qid, type="true_false", domain=domain, stem="S.", answer=True)

    questions = [tf("a", "governance"), tf("b", "governance"), tf("c", None), tf("d", "x-y")]
    text = export_gift(questions)
    categories = [line for line in text.splitlines() if line.startswith("$CATEGORY")]
    assert categories == ["$CATEGORY: governance", "$CATEGORY: $course$/top", "$CATEGORY: x-y"]
    assert import_gift(text).questions == questions


def test_export_text_of_true_false_with_format_escapes_and_both_feedbacks():
    question = TrueFalse(
        id="mlops-drift-quiet",
        title="Quiet drift",
        type="true_false",
        stem="Drift tests on inputs {always} catch concept drift: true?\nThink.",
        stem_format="plain",
        answer=False,
        feedback_right="Right: 100% quiet inputs can hide it.",
        feedback_wrong="Concept drift changes P(y|x), not P(x).",
        explanation="See #monitoring.",
    )
    assert export_gift([question]).splitlines()[3:] == [
        "// triops-id: mlops-drift-quiet",
        "::Quiet drift::[plain]Drift tests on inputs \\{always\\} catch concept drift\\: "
        "true?\\nThink.{FALSE#Concept drift changes P(y|x), not P(x).#Right\\: 100% quiet "
        "inputs can hide it.####See \\#monitoring.}",
    ]
    assert import_gift(export_gift([question])).questions == [question]


def test_keyed_multiple_exports_moodle_weights_and_imports_back_keyed():
    question = Multiple(
        id="devops-dora-four",
        type="multiple",
        stem="Which are DORA metrics?",
        options=[
            Option(text="Deployment frequency", correct=True),
            Option(text="Lead time for changes", correct=True),
            Option(text="Change failure rate", correct=True),
            Option(text="Lines of code"),
        ],
    )
    text = export_gift([question])
    assert text.splitlines()[3:] == [
        "// triops-id: devops-dora-four",
        "// triops-multiple: keyed",
        "::devops-dora-four::Which are DORA metrics?{",
        "\t~%33.333333333333336%Deployment frequency",
        "\t~%33.333333333333336%Lead time for changes",
        "\t~%33.333333333333336%Change failure rate",
        "\t~%-33.333333333333336%Lines of code",
        "}",
    ]
    assert import_gift(text).questions == [question]


def test_keyed_comment_is_ignored_with_a_warning_when_weights_were_edited():
    text = "// triops-multiple: keyed\n::Q::Pick.{~%60%a ~%40%b ~%-50%c}"
    result = import_gift(text)
    assert [o.weight for o in result.questions[0].options] == [60, 40, -50]
    assert result.warnings == [
        (1, "triops-multiple: keyed ignored: the weights are not +100/k and -100/k")
    ]


def test_unit_case_sensitivity_title_and_missing_word_survive_round_trip():
    numeric = Numeric(
        id="devops-lead-time",
        title="Lead time: median",
        type="numeric",
        stem="Median lead time in hours?\n",
        unit="hours: wall clock",
        answers=[NumericAnswer(value=6, tolerance=0.05), NumericAnswer(min=-1.5, max=1e-05)],
    )
    short = ShortText(
        id="mlops-champion",
        type="short_text",
        stem="The model in production is the [[blank]] model.\n",
        answers=[TextAnswer(text="Champion", weight=100), TextAnswer(text="prod*", weight=-10)],
        case_sensitive=True,
        explanation="",
    )
    text = export_gift([numeric, short])
    assert "// triops-unit: hours\\: wall clock" in text
    assert "// triops-case-sensitive: true" in text
    assert import_gift(text).questions == [numeric, short]


def test_texts_that_look_like_format_prefixes_get_an_explicit_markdown_prefix():
    question = Single(
        id="q",
        type="single",
        stem="[html] is what this option names",
        options=[Option(text="[plain] text", correct=True), Option(text="other")],
    )
    text = export_gift([question])
    assert "::q::[markdown][html] is what" in text
    assert "=[markdown][plain] text" in text
    assert import_gift(text).questions == [question]


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        (
            ShortText(id="a", type="short_text", stem="S", answers=[TextAnswer(text="x -> y")]),
            "'->' in a short-text answer or its feedback would read as a matching question",
        ),
        (
            Single(
                id="b",
                type="single",
                stem="S",
                options=[Option(text="%50% of traffic", correct=True), Option(text="all")],
            ),
            "an answer begins like a %weight%",
        ),
        (Ordering(id="c", type="ordering", stem="S", items=["1", "2", "3"]), None),
    ],
)
def test_questions_gift_would_misread_are_skipped_with_a_reason(question, reason):
    reason = reason or "ordering questions have no GIFT form"
    assert unexportable(question) == reason
    assert f"// skipped {question.id}: {reason}" in export_gift([question])


# --- bank YAML ---------------------------------------------------------------------------------


def test_bank_yaml_of_imported_fixture_loads_back_through_the_bank_loader(imported, tmp_path):
    path = tmp_path / "quizzes" / "devops" / "imported.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(to_bank_yaml(imported.questions), encoding="utf-8")
    parsed = parse_bank_file(path, tmp_path, "devops")
    assert parsed.problems == []
    assert [bq.question for bq in parsed.value] == imported.questions


def test_bank_yaml_omits_defaults_keeps_key_order_and_uses_block_strings():
    question = Single(
        id="devops-red-main",
        title="Red main",
        type="single",
        domain=CI,
        difficulty="foundation",
        tags=["ci"],
        stem="A merge turns `main` red.\nWhat first?\n",
        options=[
            Option(text="Fix or revert", correct=True, feedback="Restore main first."),
            Option(text="Keep merging", weight=-50),
        ],
        explanation="Keep main releasable.",
    )
    assert to_bank_yaml([question]) == (
        "questions:\n"
        "  - id: devops-red-main\n"
        "    title: Red main\n"
        "    type: single\n"
        "    domain: integration-and-testing\n"
        "    difficulty: foundation\n"
        "    tags:\n"
        "      - ci\n"
        "    stem: |\n"
        "      A merge turns `main` red.\n"
        "      What first?\n"
        "    options:\n"
        "      - text: Fix or revert\n"
        "        correct: true\n"
        "        feedback: Restore main first.\n"
        "      - text: Keep merging\n"
        "        weight: -50\n"
        "    explanation: Keep main releasable.\n"
    )


def test_bank_yaml_keeps_a_false_true_false_answer():
    question = TrueFalse(id="t", type="true_false", stem="S", answer=False)
    assert "    answer: false\n" in to_bank_yaml([question])


# --- $CATEGORY across tracks -------------------------------------------------------------------

TRACKS = ("triad", "devops", "mlops", "llmops")
MIXED = """\
// Several tracks in one file, with categories as Moodle writes them.
$CATEGORY: devops/ci

::Trunk::Which branch does CI integrate into?{=main ~a release branch ~a fork}

$CATEGORY: $course$/mlops/monitoring

::Drift::Input drift changes P(x).{T}

$CATEGORY: $course$/top/Default for C1/LLMOps/Evaluation and safety

::Judge::A judge model needs its own evaluation.{TRUE}

$CATEGORY: devops

::Flow::Small batches shorten lead time.{T}
"""


@pytest.mark.parametrize(
    ("path", "names", "track"),
    [
        ("devops/ci", ["devops", "ci"], "devops"),
        ("$course$/mlops/monitoring", ["mlops", "monitoring"], "mlops"),
        ("$course$/top/Default for C1/LLMOps/Eval", ["Default for C1", "LLMOps", "Eval"], "llmops"),
        ("$system$/top", [], None),
        ("top/ MLOps // Ops /x", ["MLOps / Ops", "x"], None),
        ("$module$/top/Data//ML/triad", ["Data/ML", "triad"], "triad"),
    ],
)
def test_category_paths_split_as_moodle_splits_them(path, names, track):
    from triops.quiz.gift import category_names, track_of

    assert category_names(path) == names
    assert track_of(path, TRACKS) == track


def test_questions_go_to_the_track_their_category_names():
    from triops.quiz.gift import questions_by_track

    result = import_gift(MIXED, id_prefix="mixed")
    groups = questions_by_track(result, TRACKS)
    assert {t: [q.id for q in qs] for t, qs in groups.items()} == {
        "devops": ["mixed-trunk", "mixed-flow"],
        "mlops": ["mixed-drift"],
        "llmops": ["mixed-judge"],
    }
    domains = {q.id: q.domain for qs in groups.values() for q in qs}
    assert domains == {
        "mixed-trunk": "ci",
        "mixed-drift": "monitoring",
        "mixed-judge": "evaluation-and-safety",
        "mixed-flow": None,  # the category is only the track
    }
    forced = questions_by_track(result, TRACKS, forced="triad")
    assert list(forced) == ["triad"] and len(forced["triad"]) == 4


def test_a_category_naming_no_track_is_an_error_at_its_line_naming_it():
    from triops.quiz.gift import questions_by_track

    text = MIXED.replace("$CATEGORY: $course$/mlops/monitoring", "$CATEGORY: $course$/Data/drift")
    with pytest.raises(GiftError) as caught:
        questions_by_track(import_gift(text), TRACKS, source="mixed.gift")
    assert caught.value.line == 6
    assert caught.value.message.startswith("category '$course$/Data/drift' names no track")
    before = "::Q::Asked before any category?{T}\n\n" + MIXED
    with pytest.raises(GiftError) as caught:
        questions_by_track(import_gift(before), TRACKS)
    assert caught.value.line == 1 and "no $CATEGORY" in caught.value.message


def gift_cli(*args):
    from typer.testing import CliRunner

    from triops.cli import app

    return CliRunner().invoke(app, ["quiz", "import-gift", *map(str, args)])


@pytest.fixture
def gift_root(tmp_path, use_root):
    root = tmp_path / "root"
    (root / "quizzes").mkdir(parents=True)
    (root / "quizzes" / "vocabulary.yaml").write_text(
        (REPO / "quizzes" / "vocabulary.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    return use_root(root)


def test_import_without_track_writes_one_bank_file_per_track(tmp_path, gift_root):
    source = tmp_path / "Mixed Bank.gift"
    source.write_text(MIXED, encoding="utf-8")
    result = gift_cli(source)
    assert result.exit_code == 0, result.output
    quizzes = gift_root / "quizzes"
    written = sorted(p.relative_to(quizzes).as_posix() for p in quizzes.glob("*/*.yaml"))
    assert written == ["devops/mixed-bank.yaml", "llmops/mixed-bank.yaml", "mlops/mixed-bank.yaml"]
    assert f"wrote {quizzes / 'devops' / 'mixed-bank.yaml'} (2 devops questions)" in result.output
    assert result.output.endswith("imported 4, skipped 0\n")
    parsed = parse_bank_file(quizzes / "mlops" / "mixed-bank.yaml", gift_root, "mlops")
    assert [q.id for q in parsed.value] == ["mixed-bank-drift"] and parsed.problems == []
    # Importing again refuses to overwrite any of them, and writes nothing.
    again = gift_cli(source)
    assert again.exit_code == 1
    assert again.output.count("already exists; use --force to overwrite") == 3
    assert gift_cli(source, "--force").exit_code == 0


def test_import_with_track_forces_one_file_and_out_gets_a_folder_per_track(tmp_path, gift_root):
    source = tmp_path / "mixed.gift"
    source.write_text(MIXED, encoding="utf-8")
    forced = gift_cli(source, "--track", "triad")
    assert forced.exit_code == 0, forced.output
    assert [p.name for p in (gift_root / "quizzes").glob("*/*.yaml")] == ["mixed.yaml"]
    assert (gift_root / "quizzes" / "triad" / "mixed.yaml").is_file()
    out = tmp_path / "out"
    split = gift_cli(source, "--out", out)
    assert split.exit_code == 0, split.output
    assert sorted(p.relative_to(out).as_posix() for p in out.glob("*/*.yaml")) == [
        "devops/mixed.yaml",
        "llmops/mixed.yaml",
        "mlops/mixed.yaml",
    ]
    single = gift_cli(source, "--out", tmp_path / "one", "--track", "devops")
    assert single.exit_code == 0 and (tmp_path / "one" / "mixed.yaml").is_file()


def test_import_of_a_category_without_track_is_a_file_line_error(tmp_path, gift_root):
    source = tmp_path / "mixed.gift"
    source.write_text(MIXED.replace("mlops/monitoring", "Data/drift"), encoding="utf-8")
    result = gift_cli(source)
    assert result.exit_code == 1
    assert result.output.startswith(
        f"{source}:6: error: category '$course$/Data/drift' names no track "
        "(triad, devops, mlops, llmops)"
    )
    assert not list((gift_root / "quizzes").glob("*/*.yaml"))
    assert gift_cli(source, "--track", "mlops").exit_code == 0


# --- quiz export-gift never exports less than it was given, silently -------------------------

EXPORT_BANK = """\
questions:
  - id: ci-red-main
    type: single
    domain: integration-and-testing
    stem: A merge turns main red. What comes first?
    options:
      - {text: Fix or revert the change, correct: true}
      - Keep merging
  - id: ci-drift-kind
    type: true_false
    domain: pipelines-of-the-future
    stem: Trunk-based development keeps branches short-lived.
    answer: true
  - id: ci-order
    type: ordering
    domain: integration-and-testing
    stem: Put the stages in order.
    items: [build, test, deploy]
"""


def export_cli(*args):
    from typer.testing import CliRunner

    from triops.cli import app

    return CliRunner().invoke(app, ["quiz", "export-gift", *map(str, args)])


@pytest.fixture
def export_root(tmp_path):
    root = tmp_path / "course"
    (root / "quizzes" / "devops").mkdir(parents=True)
    (root / "quizzes" / "devops" / "ci.yaml").write_text(EXPORT_BANK, encoding="utf-8")
    return root


def _with_vocabulary(root):
    (root / "quizzes" / "vocabulary.yaml").write_text(
        (REPO / "quizzes" / "vocabulary.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    return root


def test_export_without_vocabulary_warns_once_and_writes_every_question(export_root, tmp_path):
    out = tmp_path / "bank.gift"
    result = export_cli("--root", export_root, "--out", out)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "quizzes/vocabulary.yaml:1: warning: missing vocabulary file: every folder under "
        "quizzes/ is read as a track and domains are not checked",
        f"exported 2 questions to {out}, skipped 1 that GIFT cannot express",
    ]
    ids = [q.id for q in import_gift(out.read_text(encoding="utf-8")).questions]
    assert ids == ["ci-red-main", "ci-drift-kind"]
    assert "// skipped ci-order: ordering questions have no GIFT form" in out.read_text()


def test_export_warns_per_question_whose_domain_the_vocabulary_lacks(export_root, tmp_path):
    out = tmp_path / "bank.gift"
    result = export_cli("--root", _with_vocabulary(export_root), "--out", out)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == (
        "quizzes/devops/ci.yaml:9: warning: question 'ci-drift-kind': domain "
        "'pipelines-of-the-future' is not a devops domain in quizzes/vocabulary.yaml; exported "
        "under $CATEGORY devops/pipelines-of-the-future"
    )
    back = import_gift(out.read_text(encoding="utf-8"))
    assert [(q.id, q.domain) for q in back.questions] == [
        ("ci-red-main", "integration-and-testing"),
        ("ci-drift-kind", "pipelines-of-the-future"),
    ]


def test_export_with_nothing_to_write_is_an_error_and_writes_no_file(export_root, tmp_path):
    (export_root / "quizzes" / "devops" / "ci.yaml").write_text(
        EXPORT_BANK.split("  - id: ci-drift-kind")[0].replace("type: single", "type: singel"),
        encoding="utf-8",
    )
    out = tmp_path / "bank.gift"
    result = export_cli("--root", _with_vocabulary(export_root), "--out", out)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "quizzes:1: error: nothing to export: no question could be read in quizzes/"
    )
    assert "quizzes/devops/ci.yaml:2: error: unknown type" in result.stderr
    assert not out.exists()
    stdout_only = export_cli("--root", export_root, "--track", "mlops")
    assert stdout_only.exit_code == 1 and stdout_only.stdout == ""
    assert "quizzes/mlops:1: error: no folder for track 'mlops' under quizzes/" in (
        stdout_only.stderr
    )


def test_export_of_only_ordering_questions_says_none_has_a_gift_form(export_root, tmp_path):
    (export_root / "quizzes" / "devops" / "ci.yaml").write_text(
        "questions:\n" + EXPORT_BANK.split("  - id: ci-order")[1].join(["  - id: ci-order", ""]),
        encoding="utf-8",
    )
    result = export_cli("--root", export_root, "--out", tmp_path / "bank.gift")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "quizzes:1: error: nothing to export: none of its 1 questions has a GIFT form"
    )


def test_export_leaves_out_an_invalid_question_with_its_line_and_exits_1(export_root, tmp_path):
    path = export_root / "quizzes" / "devops" / "ci.yaml"
    path.write_text(EXPORT_BANK.replace("answer: true", "answer: maybe"), encoding="utf-8")
    out = tmp_path / "bank.gift"
    result = export_cli("--root", _with_vocabulary(export_root), "--out", out)
    assert result.exit_code == 1
    assert "quizzes/devops/ci.yaml:13: error: field 'answer'" in result.stderr
    assert [q.id for q in import_gift(out.read_text(encoding="utf-8")).questions] == ["ci-red-main"]
