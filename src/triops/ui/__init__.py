"""Streamlit helpers shared by the pages: cached resources, identity, the error guard, views."""
