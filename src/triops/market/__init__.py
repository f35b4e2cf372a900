"""Salary and market figures with their sources, read from data/*.csv."""
