"""Run the command line with `python -m textstats`."""

from .cli import main

raise SystemExit(main())
