"""Labs: hands-on pipelines that run in a local sandbox and a check that says whether they work."""

import streamlit as st

from triops.ui import lab_view, resources
from triops.ui.identity import current
from triops.ui.text import plain

identity = current()
labs = resources.labs()
lab_id = st.query_params.get("lab")
lab = labs.get(lab_id) if lab_id else None

if identity.user is None:
    st.title("Labs")
    st.info(
        "Create a profile in the sidebar to work on labs: your files and runs are kept per profile."
    )
    st.stop()

if lab is None:
    st.title("Labs")
    if lab_id:
        st.warning(f"There is no lab with the id {plain(lab_id)}.")
    lab_view.lab_list(labs, identity)
    st.stop()

st.query_params["lab"] = lab.id
lab_view.lab_page(lab, identity)
