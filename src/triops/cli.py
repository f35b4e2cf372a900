"""The `triops` command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from triops.config import REPO_ROOT, get_settings

app = typer.Typer(
    help="Triops: learn DevOps, MLOps and LLMOps offline.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def validate(
    root: Annotated[
        Path | None,
        typer.Argument(
            help="Folder with content/, quizzes/, labs/ and data/ (default: TRIOPS_ROOT)."
        ),
    ] = None,
) -> None:
    """Check lessons, modules, structured knowledge and data; exit 1 on any error."""
    from triops.validate import validate as run_validate

    target = root if root is not None else get_settings().root
    if not target.is_dir():
        typer.echo(f"{target}: error: not a folder", err=True)
        raise typer.Exit(1)
    report = run_validate(target)
    for problem in report.problems:
        typer.echo(str(problem))
    typer.echo(report.summary())
    raise typer.Exit(1 if report.errors else 0)


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8501,
    headless: Annotated[bool, typer.Option(help="Do not open a browser.")] = True,
) -> None:
    """Run the Triops app (streamlit) on this machine."""
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(REPO_ROOT / "app.py"),
        "--server.port",
        str(port),
        "--server.headless",
        str(headless).lower(),
        "--browser.gatherUsageStats",
        "false",
    ]
    raise typer.Exit(subprocess.call(cmd, env=os.environ.copy()))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
