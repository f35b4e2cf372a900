"""Item analysis of submitted exam attempts (classical test theory), and of practice answers.

Per item (a question within one exam):
- facility: the mean item score (0..1; the share right when items score 0/1);
- discrimination: the point-biserial (Pearson) correlation of the item score with the rest
  score, i.e. the mean score of the attempt's other scored items (the item itself left out, so it
  does not correlate with itself);
- upper-lower index: mean item score in the top 27 % of attempts by percent score minus the mean
  in the bottom 27 % (Kelley 1939); ties at a boundary are broken by attempt order;
- each option's choice rate overall and in those two groups (single, multiple, true/false): the
  chosen option is read from the attempt's stored snapshot of the question, never from the bank;
  rates are shares of every attempt that drew the item, so omitted answers count in the
  denominator;
- median time on the item (seconds; how it is measured: `triops.store.items.attempt_items`).

Per exam form: KR-20 when every item score is 0 or 1, otherwise Cronbach's alpha; the standard
error of measurement SEM = SD x sqrt(1 - reliability) in percentage points (reliability clipped to
0..1, SD the sample standard deviation of percent scores); the score distribution. Exams draw
different questions per attempt from their pools, so the item-variance term of KR-20/alpha is
the mean, over attempts, of the summed variances of the items each attempt drew (each item's
variance over every attempt that drew it); with a fixed form this is exactly KR-20/alpha.

Below `minimum` responses (30 by default) an item's statistics are not reported: the row says how
many more responses are needed. A form needs `minimum` submitted attempts for its reliability.

Flags (each needs `minimum` responses): facility above 0.95 (too easy) or below 0.20 (too hard);
discrimination below 0.20; a distractor chosen by under 5 % (dead distractor); a distractor the
top group picks more than the key (likely miskey; for multiple response, more than the key option
the top group ticks least). Learner reports (triops.quiz.reports) flag an item whatever its number
of responses: "learner reports" for an item with open or upheld reports, counted by category, on
exam items and practice rows alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pydantic import TypeAdapter, ValidationError

from triops.quiz import reports as question_reports
from triops.quiz.models import Question
from triops.store import items as store
from triops.store import reports as report_store

MINIMUM = 30
GROUP_SHARE = 0.27
FACILITY_HIGH = 0.95
FACILITY_LOW = 0.20
DISCRIMINATION_LOW = 0.20
DEAD_DISTRACTOR = 0.05
CHOICE_TYPES = ("single", "multiple", "true_false")

# Flag code -> severity; the item table is sorted by the worst flag first.
REPORTED = "learner reports"
SEVERITY = {
    "likely miskey": 4,
    REPORTED: 3,
    "low discrimination": 3,
    "too hard": 2,
    "too easy": 2,
    "dead distractor": 1,
}
_QUESTION: TypeAdapter = TypeAdapter(Question)


@dataclass(frozen=True)
class FormReliability:
    """An exam form's reliability, or how many more attempts it needs (`needed` > 0)."""

    attempts: int
    needed: int
    coefficient: float | None
    method: str  # "KR-20" or "Cronbach's alpha"
    sem_points: float | None


@dataclass(frozen=True)
class ItemData:
    """The analysis input, one exam or several.

    items: one row per question of a submitted attempt: exam_id, attempt_id, question_id, type,
      score (0..1), scored (bool: counts in the attempt's total), seconds (float, NaN if none);
    options: every option offered, once per (question_id, option label): question_id, option,
      key (bool), order (authored index);
    choices: one row per option chosen: row (index into items), option (index into options);
    questions: question_id, type, stem, versions (distinct snapshots seen)."""

    items: pd.DataFrame
    options: pd.DataFrame
    choices: pd.DataFrame
    questions: pd.DataFrame


@dataclass(frozen=True)
class FormReport:
    exam_id: str
    reliability: FormReliability
    items: pd.DataFrame  # one row per item, sorted by flag severity
    options: pd.DataFrame  # one row per (item, option)
    scores: pd.Series  # percent score per attempt
    excluded: int = 0  # attempts left out of reliability (a different number of scored items)

    @property
    def mean(self) -> float | None:
        return float(self.scores.mean()) if len(self.scores) else None

    @property
    def sd(self) -> float | None:
        return float(self.scores.std(ddof=1)) if len(self.scores) > 1 else None

    def distribution(self, width: int = 10) -> pd.DataFrame:
        """Attempts per score band of `width` points (the last band includes 100)."""
        edges = list(range(0, 100, width)) + [100]
        bands = pd.cut(self.scores, edges, right=False, include_lowest=True)
        counts = bands.value_counts(sort=False)
        counts.iloc[-1] += int((self.scores >= 100).sum())
        labels = [f"{lo}–{min(lo + width, 100)}" for lo in edges[:-1]]
        return pd.DataFrame({"band": labels, "attempts": counts.to_numpy()})


@dataclass(frozen=True)
class ItemReport:
    forms: list[FormReport]
    practice: pd.DataFrame
    simulated: dict | None = None
    minimum: int = MINIMUM
    where: dict[str, tuple[str, int]] = field(default_factory=dict)

    def form(self, exam_id: str) -> FormReport | None:
        return next((f for f in self.forms if f.exam_id == exam_id), None)


# --- statistics over arrays --------------------------------------------------------------------


def pearson(n, sx, sy, sxx, syy, sxy) -> np.ndarray:
    """Pearson correlations from per-group sums (NaN where a variance is zero)."""
    cov = n * sxy - sx * sy
    vx = n * sxx - sx * sx
    vy = n * syy - sy * sy
    with np.errstate(divide="ignore", invalid="ignore"):
        r = cov / np.sqrt(vx * vy)
    return np.where((vx > 1e-12) & (vy > 1e-12), r, np.nan)


def group_sizes(n: int, share: float = GROUP_SHARE) -> int:
    """The size of the top and bottom groups among n attempts (at least 1 when n >= 2)."""
    return 0 if n < 2 else max(1, math.floor(share * n + 0.5))


def reliability(matrix: np.ndarray) -> tuple[float | None, str]:
    """KR-20 (0/1 scores) or Cronbach's alpha of a complete attempts x items matrix."""
    matrix = np.asarray(matrix, dtype=float)
    method = "KR-20" if np.isin(matrix, (0.0, 1.0)).all() else "Cronbach's alpha"
    n, k = matrix.shape
    if n < 2 or k < 2:
        return None, method
    total_var = matrix.sum(axis=1).var()
    if total_var <= 0:
        return None, method
    return k / (k - 1) * (1 - matrix.var(axis=0).sum() / total_var), method


def sem(sd: float | None, coefficient: float | None) -> float | None:
    """Standard error of measurement: SD x sqrt(1 - reliability), reliability clipped to 0..1."""
    if sd is None or coefficient is None or not math.isfinite(coefficient):
        return None
    return sd * math.sqrt(1 - min(1.0, max(0.0, coefficient)))


# --- building the input from the database ------------------------------------------------------


def labelled_options(question) -> list[tuple[int, str, bool]]:
    """(authored index, label, is key) of each option a choice item offers; true/false offers
    "True" (index 0) and "False" (index 1); other types offer none."""
    return question.labelled_options()


def _options_of(snapshot: dict) -> tuple[str, str, list[tuple[int, str, bool]]]:
    """(type, stem, labelled options) of a stored question snapshot; a snapshot the current
    models cannot read keeps its type and stem but offers no options."""
    kind = str(snapshot.get("type", ""))
    stem = str(snapshot.get("stem", ""))
    try:
        return kind, stem, labelled_options(_QUESTION.validate_python(snapshot))
    except ValidationError:
        return kind, stem, []


def load(db, exam_id: str | None = None) -> ItemData:
    """Submitted attempts (of one exam, or all) as the analysis input."""
    rows = store.attempt_items(db, exam_id)
    snaps = store.snapshots(db, exam_id)
    return from_rows(rows, snaps)


def from_rows(rows: pd.DataFrame, snaps: dict[int, dict]) -> ItemData:
    """ItemData from `store.items.attempt_items` rows and their snapshots."""
    parsed = {h: _options_of(s) for h, s in snaps.items()}
    snap_codes = rows["snap"].astype("int64") if len(rows) else pd.Series([], dtype="int64")
    kinds = {h: p[0] for h, p in parsed.items()}
    items = pd.DataFrame(
        {
            "exam_id": rows["exam_id"].astype(str),
            "attempt_id": rows["attempt_id"].astype(str),
            "question_id": rows["question_id"].astype(str),
            "type": snap_codes.map(kinds).fillna("").astype(str),
            "score": rows["score"].astype(float).fillna(0.0),
            "scored": rows["scored"].astype(bool),
            "seconds": rows["seconds"].astype(float),
        }
    ).reset_index(drop=True)

    # One option per (question, label): an option keeps its statistics across snapshots whose
    # texts agree, and a reworded option is a new row.
    table = [
        (h, snaps[h].get("id", ""), i, label, key)
        for h, (_, _, opts) in parsed.items()
        for i, label, key in opts
    ]
    per_snap = pd.DataFrame(table, columns=["snap", "question_id", "index", "option", "key"])
    options = (
        per_snap.groupby(["question_id", "option"], sort=False, as_index=False)
        .agg(key=("key", "max"), order=("index", "min"))
        .sort_values(["question_id", "order"], kind="stable")
        .reset_index(drop=True)
    )
    code = pd.Series(
        range(len(options)), index=pd.MultiIndex.from_frame(options[["question_id", "option"]])
    )
    per_snap["opt"] = code.reindex(
        pd.MultiIndex.from_frame(per_snap[["question_id", "option"]])
    ).to_numpy()

    kind = items["type"]
    picks = []
    single = rows.loc[
        (kind == "single").to_numpy() & rows["choice"].notna().to_numpy(), ["snap", "choice"]
    ]
    picks.append(
        pd.DataFrame(
            {
                "row": single.index,
                "snap": single["snap"].astype("int64"),
                "index": single["choice"].astype("int64"),
            }
        )
    )
    multi = rows.loc[
        (kind == "multiple").to_numpy() & rows["choices"].notna().to_numpy(), ["snap", "choices"]
    ]
    if len(multi):
        exploded = multi.explode("choices").dropna(subset=["choices"])
        picks.append(
            pd.DataFrame(
                {
                    "row": exploded.index,
                    "snap": exploded["snap"].astype("int64"),
                    "index": exploded["choices"].astype("int64"),
                }
            )
        )
    tf = rows.loc[
        (kind == "true_false").to_numpy() & rows["truth"].notna().to_numpy(), ["snap", "truth"]
    ]
    picks.append(
        pd.DataFrame(
            {
                "row": tf.index,
                "snap": tf["snap"].astype("int64"),
                "index": np.where(tf["truth"].astype(bool), 0, 1),
            }
        )
    )
    picked = pd.concat(picks, ignore_index=True)
    merged = picked.merge(per_snap[["snap", "index", "opt"]], on=["snap", "index"], how="inner")
    choices = pd.DataFrame(
        {"row": merged["row"].astype("int64"), "option": merged["opt"].astype("int64")}
    )

    questions = pd.DataFrame(
        [(snaps[h].get("id", ""), p[0], p[1]) for h, p in parsed.items()],
        columns=["question_id", "type", "stem"],
    )
    versions = questions.groupby("question_id").size().rename("versions")
    questions = questions.drop_duplicates("question_id", keep="last").merge(
        versions, left_on="question_id", right_index=True
    )
    return ItemData(items, options, choices, questions.reset_index(drop=True))


# --- the analysis -------------------------------------------------------------------------------


def analyse(data: ItemData, *, minimum: int = MINIMUM) -> list[FormReport]:
    """Item statistics, option rates, flags and form reliability for every exam in `data`."""
    items = data.items
    n_rows = len(items)
    if n_rows == 0:
        return []
    x = items["score"].to_numpy(float)
    scored = items["scored"].to_numpy(bool)
    att, att_ids = pd.factorize(items["attempt_id"])
    exam, exam_ids = pd.factorize(items["exam_id"])
    qcode, q_ids = pd.factorize(items["question_id"])
    item, item_keys = pd.factorize(exam.astype(np.int64) * len(q_ids) + qcode)
    n_att, n_items = len(att_ids), len(item_keys)

    # Attempt totals, percent scores, and the item's rest score (mean of the other scored items).
    xs = np.where(scored, x, 0.0)
    total = np.bincount(att, weights=xs, minlength=n_att)
    count = np.bincount(att, weights=scored, minlength=n_att)
    with np.errstate(divide="ignore", invalid="ignore"):
        percent = np.where(count > 0, 100.0 * total / count, np.nan)
        rest_den = count[att] - scored
        rest = np.where(rest_den > 0, (total[att] - xs) / rest_den, np.nan)
    first = np.zeros(n_att, dtype=np.int64)
    first[att[::-1]] = np.arange(n_rows)[::-1]
    att_exam = exam[first]

    # Top and bottom 27 % by percent score, within each exam.
    group = np.zeros(n_att, dtype=np.int8)  # 1 upper, -1 lower
    valid = np.flatnonzero(np.isfinite(percent))
    order = valid[np.lexsort((valid, percent[valid], att_exam[valid]))]
    sorted_exam = att_exam[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_exam)) + 1]
    ends = np.r_[starts[1:], len(order)]
    for s, e in zip(starts, ends, strict=True):
        g = group_sizes(e - s)
        if g:
            group[order[s : s + g]] = -1
            group[order[e - g : e]] = 1
    row_group = group[att]

    def per_item(weights, mask=None) -> np.ndarray:
        if mask is not None:
            return np.bincount(
                item[mask], weights=None if weights is None else weights[mask], minlength=n_items
            )
        return np.bincount(item, weights=weights, minlength=n_items)

    n = per_item(None)
    facility = per_item(x) / n
    ok = np.isfinite(rest)
    y = np.where(ok, rest, 0.0)
    xo = np.where(ok, x, 0.0)
    r = pearson(
        per_item(None, ok),
        per_item(xo),
        per_item(y),
        per_item(xo * xo),
        per_item(y * y),
        per_item(xo * y),
    )
    up, lo = row_group == 1, row_group == -1
    n_up, n_lo = per_item(None, up), per_item(None, lo)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_up = per_item(x, up) / n_up
        p_lo = per_item(x, lo) / n_lo
    upper_lower = np.where((n_up > 0) & (n_lo > 0), p_up - p_lo, np.nan)
    seconds = items["seconds"].to_numpy(float)
    timed = np.isfinite(seconds)
    median_seconds = (
        pd.Series(seconds[timed]).groupby(item[timed]).median().reindex(range(n_items)).to_numpy()
    )
    item_first = np.zeros(n_items, dtype=np.int64)
    item_first[item[::-1]] = np.arange(n_rows)[::-1]
    enough = n >= minimum

    # Option choice rates: counts per (item, option), overall and in each group.
    options = data.options
    n_opt = max(1, len(options))
    rows = data.choices["row"].to_numpy(np.int64)
    key = item[rows].astype(np.int64) * n_opt + data.choices["option"].to_numpy(np.int64)
    size = n_items * n_opt
    chosen = np.bincount(key, minlength=size)
    chosen_up = np.bincount(key[up[rows]], minlength=size)
    chosen_lo = np.bincount(key[lo[rows]], minlength=size)
    item_question = q_ids[qcode[item_first]]
    item_exam = exam_ids[exam[item_first]]
    offered = pd.DataFrame({"item": np.arange(n_items), "question_id": item_question}).merge(
        options.reset_index(names="opt"), on="question_id"
    )
    it, op = offered["item"].to_numpy(), offered["opt"].to_numpy()
    flat = it * n_opt + op
    with np.errstate(divide="ignore", invalid="ignore"):
        opt_frame = pd.DataFrame(
            {
                "exam_id": np.asarray(item_exam)[it],
                "question_id": offered["question_id"].to_numpy(),
                "option": offered["option"].to_numpy(),
                "key": offered["key"].to_numpy(bool),
                "order": offered["order"].to_numpy(),
                "chosen": chosen[flat],
                "overall": np.where(enough[it], chosen[flat] / n[it], np.nan),
                "upper": np.where(enough[it], chosen_up[flat] / n_up[it], np.nan),
                "lower": np.where(enough[it], chosen_lo[flat] / n_lo[it], np.nan),
                "item": it,
            }
        )
    kinds = items["type"].to_numpy()[item_first]
    flags, notes = _flags(n_items, kinds, facility, r, enough, opt_frame)

    needed = np.maximum(0, minimum - n).astype(int)
    table = pd.DataFrame(
        {
            "exam_id": np.asarray(item_exam),
            "question_id": np.asarray(item_question),
            "type": kinds,
            "responses": n.astype(int),
            "needed": needed,
            "facility": np.where(enough, facility, np.nan),
            "discrimination": np.where(enough, r, np.nan),
            "upper_lower": np.where(enough, upper_lower, np.nan),
            "median_seconds": np.where(enough, median_seconds, np.nan),
            "flags": flags,
            "notes": notes,
            "severity": [max((SEVERITY[f] for f in fl), default=0) for fl in flags],
        }
    )
    stems = dict(zip(data.questions["question_id"], data.questions["stem"], strict=True))
    versions = dict(zip(data.questions["question_id"], data.questions["versions"], strict=True))
    table["stem"] = [str(stems.get(q, "")) for q in table["question_id"]]
    table["versions"] = [int(versions.get(q, 1)) for q in table["question_id"]]

    reports = []
    for e, exam_id in enumerate(exam_ids):
        mine = att_exam == e
        scores = pd.Series(
            percent[mine],
            index=pd.Index(np.asarray(att_ids)[mine], name="attempt_id"),
            name="percent",
        ).dropna()
        rows_e = exam == e
        rel, excluded = _form_reliability(
            item[rows_e], att[rows_e], x[rows_e], scored[rows_e], count, percent, mine, minimum
        )
        t = table[table["exam_id"] == exam_id].copy()
        t["flag_count"] = t["flags"].map(len)
        t = t.sort_values(
            ["severity", "flag_count", "discrimination", "question_id"],
            ascending=[False, False, True, True],
            na_position="last",
            kind="stable",
        ).drop(columns="flag_count")
        o = (
            opt_frame[opt_frame["exam_id"] == exam_id]
            .sort_values(["question_id", "order"])
            .drop(columns="item")
        )
        reports.append(
            FormReport(
                str(exam_id),
                rel,
                t.reset_index(drop=True),
                o.reset_index(drop=True),
                scores,
                excluded,
            )
        )
    return reports


def _form_reliability(
    item, att, x, scored, count, percent, mine, minimum
) -> tuple[FormReliability, int]:
    """KR-20/alpha of one exam's attempts (see the module docstring for random forms)."""
    sx = x[scored]
    method = "KR-20" if np.isin(sx, (0.0, 1.0)).all() else "Cronbach's alpha"
    attempts = int(mine.sum())
    counts = count[mine]
    if attempts == 0:
        return FormReliability(0, minimum, None, method, None), 0
    k = int(pd.Series(counts).mode().iloc[0])
    keep_att = np.flatnonzero(mine & (count == k))
    excluded = attempts - len(keep_att)
    needed = max(0, minimum - len(keep_att))
    if needed or k < 2:
        return FormReliability(len(keep_att), needed, None, method, None), excluded
    keep = np.isin(att, keep_att) & scored
    it, at, xv = item[keep], att[keep], x[keep]
    ni = np.bincount(it)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_i = np.bincount(it, weights=xv) / ni
        var_i = np.bincount(it, weights=xv * xv) / ni - mean_i * mean_i
    var_i = np.nan_to_num(np.maximum(var_i, 0.0))
    totals = np.bincount(at, weights=xv)[keep_att]
    item_var_term = np.bincount(at, weights=var_i[it])[keep_att].mean()
    total_var = totals.var()
    coefficient = None if total_var <= 0 else float(k / (k - 1) * (1 - item_var_term / total_var))
    sd = float(np.std(percent[keep_att], ddof=1))
    return FormReliability(len(keep_att), 0, coefficient, method, sem(sd, coefficient)), excluded


def _flags(
    n_items, kinds, facility, r, enough, opt_frame
) -> tuple[list[tuple[str, ...]], list[str]]:
    flags: list[list[str]] = [[] for _ in range(n_items)]
    notes: list[list[str]] = [[] for _ in range(n_items)]
    for i in np.flatnonzero(enough):
        if facility[i] > FACILITY_HIGH:
            flags[i].append("too easy")
            notes[i].append(f"facility {facility[i]:.2f} > {FACILITY_HIGH:.2f}")
        elif facility[i] < FACILITY_LOW:
            flags[i].append("too hard")
            notes[i].append(f"facility {facility[i]:.2f} < {FACILITY_LOW:.2f}")
        if np.isfinite(r[i]) and r[i] < DISCRIMINATION_LOW:
            flags[i].append("low discrimination")
            notes[i].append(f"rest-score correlation {r[i]:.2f} < {DISCRIMINATION_LOW:.2f}")
    choice = opt_frame[np.isin(kinds[opt_frame["item"].to_numpy()], CHOICE_TYPES)]
    choice = choice[enough[choice["item"].to_numpy()]]
    for i, group in choice.groupby("item", sort=True):
        keys, distractors = group[group["key"]], group[~group["key"]]
        if keys.empty or distractors.empty:
            continue
        kind = kinds[i]
        key_upper = keys["upper"].min() if kind == "multiple" else keys["upper"].max()
        ups = distractors["upper"]
        top = distractors.loc[ups.idxmax()] if ups.notna().any() else None
        if top is not None and np.isfinite(key_upper) and top["upper"] > key_upper:
            flags[i].insert(0, "likely miskey")
            notes[i].insert(
                0,
                f"top group picks '{short(top['option'])}' ({top['upper']:.0%}) more than the "
                f"key ({key_upper:.0%})",
            )
        if kind != "true_false":
            dead = distractors[distractors["overall"] < DEAD_DISTRACTOR]
            for _, d in dead.iterrows():
                if "dead distractor" not in flags[i]:
                    flags[i].append("dead distractor")
                notes[i].append(f"'{short(d['option'])}' chosen by {d['overall']:.0%}")
    return [tuple(f) for f in flags], ["; ".join(n) for n in notes]


def short(text: str, width: int = 40) -> str:
    """One line of at most `width` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


# --- practice ----------------------------------------------------------------------------------


def practice_stats(answers: pd.DataFrame, *, minimum: int = MINIMUM) -> pd.DataFrame:
    """Per question: practice answers, learners, facility over all answers and over each
    learner's first answer; flags for facility only (practice has no test score to correlate)."""
    columns = [
        "question_id",
        "answers",
        "learners",
        "needed",
        "facility",
        "first_try",
        "flags",
        "notes",
    ]
    if answers.empty:
        return pd.DataFrame(columns=columns)
    g = answers.groupby("question_id", sort=True)
    firsts = answers.sort_values("answered_at", kind="stable").drop_duplicates(
        ["user_id", "question_id"]
    )
    out = pd.DataFrame(
        {
            "answers": g.size(),
            "learners": g["user_id"].nunique(),
            "facility": g["score"].mean(),
            "first_try": firsts.groupby("question_id")["score"].mean(),
        }
    ).reset_index()
    enough = out["answers"] >= minimum
    out["needed"] = (minimum - out["answers"]).clip(lower=0).astype(int)
    out.loc[~enough, ["facility", "first_try"]] = np.nan
    out["flags"] = [
        ("too easy",) if f > FACILITY_HIGH else ("too hard",) if f < FACILITY_LOW else ()
        for f in out["facility"].fillna(0.5)
    ]
    out["notes"] = [
        f"facility {f:.2f}" if fl else ""
        for f, fl in zip(out["facility"], out["flags"], strict=True)
    ]
    return out[columns]


# --- the report ----------------------------------------------------------------------------------


def form_reliability(db, exam_id: str, *, minimum: int = MINIMUM) -> FormReliability:
    """The reliability of an exam form from its submitted attempts (see the module docstring)."""
    forms = analyse(load(db, exam_id), minimum=minimum)
    if not forms:
        return FormReliability(0, minimum, None, "KR-20", None)
    return forms[0].reliability


def item_report(
    db,
    exam_id: str | None = None,
    *,
    bank=None,
    minimum: int = MINIMUM,
    practice: bool = True,
) -> ItemReport:
    """The whole report: every exam (or one), practice answers apart, where each item lives."""
    forms = analyse(load(db, exam_id), minimum=minimum)
    answers = store.practice_answers(db) if practice else pd.DataFrame()
    counts = question_reports.flag_counts(db)
    return ItemReport(
        forms=[with_reports(f, counts) for f in forms],
        practice=_practice_reports(practice_stats(answers, minimum=minimum), counts),
        simulated=store.simulated_marker(db),
        minimum=minimum,
        where=locations(bank) if bank is not None else {},
    )


def _report_flags(flags, notes: str, counts: dict | None) -> tuple[tuple[str, ...], str]:
    if not counts:
        return tuple(flags), notes
    note = question_reports.flag_note(counts)
    return (REPORTED, *flags), f"{note}; {notes}" if notes else note


def with_reports(form: FormReport, counts: dict[str, dict]) -> FormReport:
    """The form with the learner-reports flag on every item that has open or upheld reports,
    re-sorted worst flag first."""
    if not counts:
        return form
    t = form.items.copy()
    pairs = [
        _report_flags(f, n, counts.get(q))
        for q, f, n in zip(t["question_id"], t["flags"], t["notes"], strict=True)
    ]
    t["flags"] = [p[0] for p in pairs]
    t["notes"] = [p[1] for p in pairs]
    t["severity"] = [max((SEVERITY[f] for f in fl), default=0) for fl in t["flags"]]
    t["flag_count"] = t["flags"].map(len)
    t = t.sort_values(
        ["severity", "flag_count", "discrimination", "question_id"],
        ascending=[False, False, True, True],
        na_position="last",
        kind="stable",
    ).drop(columns="flag_count")
    return FormReport(
        form.exam_id,
        form.reliability,
        t.reset_index(drop=True),
        form.options,
        form.scores,
        form.excluded,
    )


def _practice_reports(rows: pd.DataFrame, counts: dict[str, dict]) -> pd.DataFrame:
    if rows.empty or not counts:
        return rows
    rows = rows.copy()
    pairs = [
        _report_flags(f, n, counts.get(q))
        for q, f, n in zip(rows["question_id"], rows["flags"], rows["notes"], strict=True)
    ]
    rows["flags"] = [p[0] for p in pairs]
    rows["notes"] = [p[1] for p in pairs]
    return rows


def item_rows(report: ItemReport) -> pd.DataFrame:
    """Every form's per-item rows with the item's file and line, for a CSV or a table."""
    frames = [f.items for f in report.forms]
    if not frames:
        return pd.DataFrame()
    table = pd.concat(frames, ignore_index=True)
    table.insert(2, "where", table["question_id"].map(lambda q: location(report.where, q)))
    table["flags"] = table["flags"].map(", ".join)
    return table


def locations(bank) -> dict[str, tuple[str, int]]:
    """Question id -> (bank file, line) in the bank as it is now."""
    return {q.id: (q.path, q.line) for q in bank.questions}


def data_version(db) -> tuple:
    """Changes whenever an attempt is submitted or regraded, a practice answer logged, or a
    question report made or resolved (for caches)."""
    return (*store.fingerprint(db), *report_store.fingerprint(db))


def location(where: dict[str, tuple[str, int]], question_id: str) -> str:
    """`path:line` of a question, or a note that the bank no longer has it."""
    found = where.get(question_id)
    return f"{found[0]}:{found[1]}" if found else "not in the bank now"


def csv_rows(report: ItemReport, *, practice: bool = False) -> pd.DataFrame:
    """The per-item rows for a CSV file: exam items, and practice rows when asked."""
    table = item_rows(report)
    if not table.empty:
        table.insert(0, "source", "simulated" if report.simulated else "exam")
    if practice and not report.practice.empty:
        rows = report.practice.copy()
        rows.insert(0, "source", "practice")
        rows.insert(2, "where", rows["question_id"].map(lambda q: location(report.where, q)))
        rows["flags"] = rows["flags"].map(", ".join)
        table = pd.concat([table, rows], ignore_index=True)
    return table


def _number(value: float, spec: str) -> str:
    return "-" if value is None or not np.isfinite(value) else format(value, spec)


def simulated_banner(marker: dict) -> str:
    """One line that says the data is simulated, for every place that shows it."""
    return (
        f"SIMULATED DATA: {marker.get('candidates')} simulated candidates of "
        f"{marker.get('exam_id')} (2PL model, seed {marker.get('seed')}), not real learners"
    )


def format_report(report: ItemReport, *, practice: bool = False) -> str:
    """The report as text: per exam the form statistics, the item table (worst flags first) and
    each flag as `path:line: flag: question: why`."""
    lines: list[str] = []
    if report.simulated:
        lines.append(simulated_banner(report.simulated))
        form = report.form(str(report.simulated.get("exam_id")))
        found = (
            dict(zip(form.items["question_id"], form.items["flags"], strict=True)) if form else {}
        )
        for item in report.simulated.get("items", []):
            if item.get("expected_flag"):
                seen = item["expected_flag"] in found.get(item["question_id"], ())
                lines.append(
                    f"planted: {item['question_id']}: {item['role']}: expected flag "
                    f"'{item['expected_flag']}' {'found' if seen else 'NOT found'}"
                )
        lines.append("")
    if not report.forms:
        lines.append("no submitted exam attempts")
    for form in report.forms:
        rel = form.reliability
        lines.append(f"== {form.exam_id}: {len(form.scores)} submitted attempts")
        if rel.needed:
            lines.append(
                f"reliability ({rel.method}): needs {rel.needed} more attempts "
                f"(at least {report.minimum})"
            )
        elif rel.coefficient is None:
            lines.append(f"reliability ({rel.method}): cannot be computed (no score variance)")
        else:
            lines.append(
                f"reliability: {rel.method} {rel.coefficient:.2f}, standard error of "
                f"measurement {_number(rel.sem_points, '.1f')} percentage points"
            )
        if form.excluded:
            lines.append(
                f"({form.excluded} attempts with another number of scored items left out of "
                "the reliability)"
            )
        lines.append(
            f"scores: mean {_number(form.mean, '.1f')} %, SD {_number(form.sd, '.1f')} points; "
            + "  ".join(f"{b} {n}" for b, n in form.distribution().itertuples(index=False))
        )
        lines.append("")
        header = f"{'question':<44} {'n':>5} {'facil':>6} {'disc':>6} {'U-L':>6} {'time':>6}  flags"
        lines += [header, "-" * len(header)]
        for row in form.items.itertuples(index=False):
            if row.needed:
                stats = f"{'':>6} {'':>6} {'':>6} {'':>6}  " + ", ".join(
                    [*row.flags, f"needs {row.needed} more responses"]
                )
            else:
                stats = (
                    f"{_number(row.facility, '.2f'):>6} {_number(row.discrimination, '.2f'):>6} "
                    f"{_number(row.upper_lower, '.2f'):>6} "
                    f"{_number(row.median_seconds, '.0f') + 's':>6}  {', '.join(row.flags)}"
                )
            lines.append(f"{short(row.question_id, 44):<44} {row.responses:>5} {stats}".rstrip())
        flagged = form.items[form.items["flags"].map(len) > 0]
        if len(flagged):
            lines += ["", "flags:"]
            for row in flagged.itertuples(index=False):
                where = location(report.where, row.question_id)
                lines.append(f"{where}: {', '.join(row.flags)}: {row.question_id}: {row.notes}")
        lines.append("")
    if practice:
        lines.append("== practice answers (apart from exams)")
        if report.practice.empty:
            lines.append("no practice answers")
        for row in report.practice.itertuples(index=False):
            if row.needed:
                detail = ", ".join([*row.flags, f"needs {row.needed} more answers"])
            else:
                detail = f"facility {row.facility:.2f}, first try {row.first_try:.2f}" + (
                    f"  {', '.join(row.flags)}" if row.flags else ""
                )
            lines.append(
                f"{short(row.question_id, 44):<44} {row.answers:>5} answers, "
                f"{row.learners} learners: {detail}"
            )
    return "\n".join(lines).rstrip() + "\n"
