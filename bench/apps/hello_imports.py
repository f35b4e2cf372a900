"""Baseline for memory: a hello-world app that imports the same libraries as Triops."""

import altair  # noqa: F401
import duckdb  # noqa: F401
import pandas  # noqa: F401
import pydantic  # noqa: F401
import streamlit as st
import yaml  # noqa: F401

st.write("Hello from the baseline app")
