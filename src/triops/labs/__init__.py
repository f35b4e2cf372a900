"""Hands-on labs: specs, the sandbox, the workflow runner, and lab runs."""
