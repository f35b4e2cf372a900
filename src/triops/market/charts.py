"""Charts of the salary and market figures (Altair specifications; the page only draws them).

Restrained on purpose: three colours for three kinds of salary figure instead of one per
statistic, one colour per market, a time axis on which 2020 to 2023 is three times as wide as
2024 to 2025, and legends below the plot, where no label is cut off."""

from __future__ import annotations

import altair as alt
import pandas as pd

# What kind of figure each published statistic is. A reader compares like with like: a
# median against an average, a 90th percentile against a senior salary.
FIGURE_KIND = {
    "average": "typical",
    "mean": "typical",
    "median": "typical",
    "low": "low end",
    "p10": "low end",
    "entry": "low end",
    "high": "high end",
    "p90": "high end",
    "senior": "high end",
}
KINDS = ["low end", "typical", "high end"]
KIND_COLORS = ["#9db9d3", "#1d4f73", "#c2410c"]

MARKETS = ["DevOps", "MLOps", "LLMOps"]
MARKET_COLORS = ["#1d4f73", "#c2410c", "#6b7f3a"]


def _legend(title: str | None, **kw) -> alt.Legend:
    return alt.Legend(title=title, orient="bottom", direction="horizontal", labelLimit=0, **kw)


def salary_chart(salaries: pd.DataFrame) -> alt.Chart:
    """One dot per published salary figure, by role, coloured by the kind of figure."""
    frame = salaries.assign(
        kind=salaries["statistic"].map(FIGURE_KIND).fillna("typical"),
    )
    return (
        alt.Chart(frame)
        .mark_circle(size=110, opacity=0.9)
        .encode(
            x=alt.X("amount:Q", title="Annual amount (USD)", axis=alt.Axis(format="~s")),
            y=alt.Y("role:N", title=None, axis=alt.Axis(labelLimit=0)),
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(domain=KINDS, range=KIND_COLORS),
                legend=_legend("Kind of figure"),
            ),
            tooltip=[
                "role",
                "region",
                alt.Tooltip("amount:Q", format=",.0f"),
                alt.Tooltip("statistic:N", title="published as"),
                alt.Tooltip("cited:N", title="source"),
                "source_url",
            ],
        )
        .properties(height=alt.Step(40))
    )


def market_size_chart(figures: pd.DataFrame) -> alt.Chart:
    """Market size estimates over the year they refer to (a time axis), one colour per market;
    each source's estimates for a market are joined by a line."""
    sizes = figures[figures["metric"] == "size"].copy()
    sizes["when"] = pd.to_datetime(sizes["year"].astype(int).astype(str), format="%Y")
    markets = MARKETS + sorted(set(sizes["market"]) - set(MARKETS))
    base = alt.Chart(sizes).encode(
        x=alt.X(
            "when:T",
            title="Year the figure refers to",
            axis=alt.Axis(format="%Y", tickCount={"interval": "year", "step": 2}),
        ),
        y=alt.Y("value:Q", title="USD billion"),
        color=alt.Color(
            "market:N",
            scale=alt.Scale(domain=markets, range=MARKET_COLORS + ["#6b6f76"] * len(markets)),
            legend=_legend("Market", symbolType="stroke", symbolStrokeWidth=3),
        ),
        detail="cited:N",
    )
    tooltip = [
        "market",
        "region",
        alt.Tooltip("year:Q", format="d"),
        alt.Tooltip("value:Q", title="USD billion"),
        alt.Tooltip("cited:N", title="source"),
        "source_url",
    ]
    return base.mark_line(strokeWidth=2) + base.mark_point(filled=True, size=60).encode(
        tooltip=tooltip
    )
