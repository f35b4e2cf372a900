"""Plain-text views of a run: the results matrix, the totals, the gate and a comparison."""

from __future__ import annotations

from collections.abc import Sequence

from triops.evals.gate import Comparison
from triops.evals.results import EvalRun, GateResult, ResultRow

STATUS = {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "skipped": "SKIP"}


def _table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    return "\n".join(out)


def _short(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _fmt(value: float | None) -> str:
    """A gate or comparison figure: whole numbers as such, small ones in 3 significant digits."""
    if value is None:
        return "-"
    if float(value).is_integer():
        return str(int(value))
    if abs(value) < 0.01:
        return f"{value:.3g}"
    return f"{value:.4f}"


def _delta(value: float | None) -> str:
    return "-" if value is None else ("+" if value >= 0 else "") + _fmt(value)


def case_label(row: ResultRow) -> str:
    """A test as the matrix names it: its description, else its vars."""
    if row.description:
        return row.description
    return ", ".join(f"{k}={v}" for k, v in row.vars.items()) or row.test_key


def format_matrix(run: EvalRun, *, width: int = 44) -> str:
    """Tests down, columns (prompt / provider) across: each test's status and score, and below
    it each assertion's pass, fail or skip and score."""
    columns = [t.column for t in run.totals]
    cells: dict[tuple[int, str], ResultRow] = {(r.test_index, r.column): r for r in run.results}
    indices = sorted({r.test_index for r in run.results})
    rows: list[list[str]] = []
    for i in indices:
        first = next(cells[(i, c)] for c in columns if (i, c) in cells)
        rows.append(
            [f"{i + 1}. {_short(case_label(first), width)}"]
            + [_cell(cells.get((i, c))) for c in columns]
        )
        for n, a in enumerate(first.assertions):
            rows.append(
                [f"   {_short(_assertion_label(a), width - 3)}"]
                + [_assertion_cell(cells.get((i, c)), n) for c in columns]
            )
    return _table(rows, ["test", *columns])


def _assertion_label(a) -> str:
    value = a.value
    if isinstance(value, str):
        return f'{a.type} "{value}"'
    if isinstance(value, list):
        return f"{a.type} {value}"
    if a.threshold is not None:
        return f"{a.type} {a.threshold:g}"
    return a.type


def _cell(row: ResultRow | None) -> str:
    if row is None:
        return ""
    return f"{STATUS[row.status]} {row.score:.2f}"


def _assertion_cell(row: ResultRow | None, n: int) -> str:
    if row is None or n >= len(row.assertions):
        return ""
    a = row.assertions[n]
    if a.status == "skipped":
        return "skip"
    return f"{a.status} {_num(a.score)}"


def format_failures(run: EvalRun) -> str:
    """Why each failing or erroring case failed, one line each."""
    lines = []
    for row in run.results:
        if row.status == "error":
            lines.append(f"[{row.column}] {row.test_index + 1}. error: {row.reason}")
        elif row.status == "fail":
            for a in row.assertions:
                if a.status == "fail":
                    lines.append(f"[{row.column}] {row.test_index + 1}. {a.type}: {a.reason}")
    return "\n".join(lines)


def format_skips(run: EvalRun) -> str:
    """Config features not run, and assertions skipped, each once with its reason."""
    lines = [f"{s['path']}:{s['line']}: skipped: {s['key']}: {s['message']}" for s in run.skipped]
    seen = set()
    for row in run.results:
        for a in row.assertions:
            if a.status == "skipped" and (a.type, a.reason) not in seen:
                seen.add((a.type, a.reason))
                lines.append(f"skipped assertion {a.type}: {a.reason}")
    return "\n".join(lines)


def format_totals(run: EvalRun) -> str:
    """One line per column: counts, pass rate, tokens, cost, latency and mean groundedness."""
    currency = f" {run.currency}" if run.currency else ""
    header = [
        "column",
        "pass",
        "fail",
        "err",
        "skip",
        "pass rate",
        "score",
        "tokens",
        f"cost{currency}",
        "p50 ms",
        "p95 ms",
        "grounded",
    ]
    rows = [
        [
            t.column,
            str(t.passed),
            str(t.failed),
            str(t.errors),
            str(t.skipped),
            _num(t.pass_rate),
            _num(t.score),
            str(t.tokens),
            "-" if t.cost is None else f"{t.cost:.6f}",
            _num(t.latency_p50_ms, 1),
            _num(t.latency_p95_ms, 1),
            _num(t.groundedness),
        ]
        for t in run.totals
    ]
    return _table(rows, header)


def format_gate(result: GateResult) -> str:
    """The gate's rows: metric, rule, baseline, candidate, delta, verdict and why."""
    title = f"gate: {result.candidate}" + (f" against {result.baseline}" if result.baseline else "")
    rows = [
        [
            r.metric,
            r.rule,
            _fmt(r.baseline),
            _fmt(r.candidate),
            _delta(r.delta),
            r.verdict.upper(),
            r.reason,
        ]
        for r in result.rows
    ]
    verdict = "gate passed" if result.passed else "gate FAILED"
    header = ["metric", "rule", "baseline", "candidate", "delta", "verdict", "why"]
    return f"{title}\n{_table(rows, header)}\n{verdict}"


def format_comparison(comparison: Comparison) -> str:
    """The regression table of each column, then tests newly failing and newly passing."""
    parts = []
    if not comparison.same_config:
        parts.append("note: the baseline ran a different config (its hash differs)")
    for col in comparison.columns:
        rows = [
            [
                m.metric,
                _fmt(m.baseline),
                _fmt(m.current),
                _delta(m.delta),
                m.rule,
                m.verdict.upper(),
            ]
            for m in col.metrics
        ]
        header = ["metric", "baseline", "current", "delta", "rule", "verdict"]
        parts.append(f"compared: {col.column}\n{_table(rows, header)}")
        for title, changes in (
            ("newly failing", col.newly_failing),
            ("newly passing", col.newly_passing),
        ):
            if changes:
                listed = [f"  {_short(c.key, 70)} ({c.baseline} -> {c.current})" for c in changes]
                parts.append(f"{title}:\n" + "\n".join(listed))
        if col.added:
            parts.append("only in this run: " + ", ".join(_short(k, 40) for k in col.added))
        if col.removed:
            parts.append("only in the baseline: " + ", ".join(_short(k, 40) for k in col.removed))
        if col.gate is not None:
            parts.append("gate " + ("passed" if col.gate.passed else "FAILED"))
    for name in comparison.unmatched:
        parts.append(f"not in the baseline: {name}")
    return "\n\n".join(parts)


def format_run(run: EvalRun) -> str:
    """Skips, the matrix, failures, totals and the gate, as `triops eval run` prints them."""
    parts = [format_skips(run), format_matrix(run), format_failures(run), format_totals(run)]
    parts += [format_gate(g) for g in run.gates]
    return "\n\n".join(p for p in parts if p)
