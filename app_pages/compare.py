"""Compare: DevOps, MLOps and LLMOps side by side, filterable, and what they share."""

import pandas as pd
import streamlit as st

from triops.ui import resources

NAMES = {"devops": "DevOps", "mlops": "MLOps", "llmops": "LLMOps"}

st.title("Compare DevOps, MLOps and LLMOps")
knowledge = resources.knowledge()
comparison = knowledge.comparison
if comparison is None:
    st.error("The comparison data could not be loaded; see Instructor › Content health.")
    st.stop()

dims = {d.id: d for d in comparison.dimensions}
left, right = st.columns([2, 1])
chosen = left.multiselect(
    "Dimensions",
    list(dims),
    format_func=lambda d: dims[d].name,
    key="compare_dims",
    placeholder="All dimensions",
)
disciplines = right.multiselect(
    "Disciplines",
    comparison.disciplines,
    default=comparison.disciplines,
    format_func=NAMES.get,
    key="compare_disciplines",
)
query = st.text_input("Find a word in the matrix", key="compare_query").strip().lower()

rows = []
for dim in comparison.dimensions:
    if chosen and dim.id not in chosen:
        continue
    row = {"Dimension": dim.name}
    for d in disciplines:
        row[NAMES[d]] = getattr(dim, d)
    row["Example"] = dim.example
    if query and query not in " ".join(str(v) for v in row.values()).lower():
        continue
    rows.append(row)

st.caption(f"{len(rows)} of {len(comparison.dimensions)} dimensions")
# A static table wraps its cells: every discipline is on screen at once, no sideways scrolling.
st.table(pd.DataFrame(rows).set_index("Dimension") if rows else pd.DataFrame(rows))

st.header("What they share")
for trait in comparison.shared_traits:
    with st.expander(trait.name):
        st.markdown(trait.description)
        for d in disciplines:
            st.markdown(f"**{NAMES[d]}:** {getattr(trait, d)}")
