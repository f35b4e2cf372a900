"""Baseline for start-up: a one-line Streamlit app."""

import streamlit as st

st.write("Hello from the baseline app")
