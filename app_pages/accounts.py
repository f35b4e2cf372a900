"""Admin › Accounts (class server only): users, roles, password resets and the audit log."""

import streamlit as st

from triops.ui import accounts_view as view
from triops.ui.identity import current
from triops.ui.navigation import NOT_ALLOWED_ADMIN

st.title("Accounts")
if not current().is_admin:
    st.error(NOT_ALLOWED_ADMIN)
    st.stop()

view.message()
rows = view.accounts_table()
left, middle, right = st.columns(3)
with left:
    view.add_user_form()
with middle:
    view.role_form(rows)
with right:
    view.reset_form(rows)
view.audit_section()
