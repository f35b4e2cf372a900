"""Careers & Market: salary and market figures from DuckDB, each with its source and year."""

import streamlit as st

from triops.market import charts
from triops.ui import resources

st.title("Careers & Market")
st.markdown(
    "Published estimates disagree, sometimes by a factor of two, because each source samples "
    "different people and defines the role or the market its own way. Every figure below names "
    "its source and the year it was published; compare them as a range, not as one true number."
)
store = resources.market()
roles, regions = store.salary_options()

st.header("Salaries")
left, right = st.columns(2)
chosen_roles = left.multiselect("Role", roles, key="careers_roles", placeholder="All roles")
chosen_regions = right.multiselect(
    "Region", regions, key="careers_regions", placeholder="All regions"
)
salaries = store.salaries(chosen_roles, chosen_regions)
if salaries.empty:
    st.info("No salary figures match these filters.")
else:
    st.altair_chart(charts.salary_chart(salaries), width="stretch")
    st.dataframe(
        salaries[
            [
                "role",
                "region",
                "amount",
                "currency",
                "period",
                "statistic",
                "cited",
                "source_url",
                "via",
            ]
        ],
        hide_index=True,
        width="stretch",
        column_config={
            "amount": st.column_config.NumberColumn("amount", format="%,.0f"),
            "cited": st.column_config.TextColumn("source (year)"),
            "source_url": st.column_config.LinkColumn("page"),
        },
    )

st.header("Market size")
figures = store.figures()
if (figures["metric"] == "size").any():
    st.altair_chart(charts.market_size_chart(figures), width="stretch")
st.dataframe(
    figures[["market", "metric", "value", "unit", "region", "year", "cited", "source_url", "via"]],
    hide_index=True,
    width="stretch",
    column_config={
        "cited": st.column_config.TextColumn("source (year)"),
        "year": st.column_config.NumberColumn("year", format="%d"),
        "source_url": st.column_config.LinkColumn("page"),
    },
)

st.header("What the sources say")
for claim in store.claims().itertuples():
    where = f" — [{claim.via}]({claim.source_url})" if claim.source_url else f" — {claim.via}"
    st.markdown(f"- {claim.claim} *({claim.cited}{where})*")

problems = resources.market_data().problems
if problems:
    st.warning(f"{len(problems)} data row(s) were skipped; see Instructor › Content health.")
