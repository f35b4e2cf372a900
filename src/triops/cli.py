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


quiz_app = typer.Typer(help="Question banks: Moodle GIFT import and export.", no_args_is_help=True)
app.add_typer(quiz_app, name="quiz")

TRACKS = ("triad", "devops", "mlops", "llmops")


@quiz_app.command("import-gift")
def import_gift(
    file: Annotated[Path, typer.Argument(help="A Moodle GIFT file.")],
    out: Annotated[
        Path | None,
        typer.Option(
            help="Folder for the bank file (default: quizzes/<track>/ under TRIOPS_ROOT)."
        ),
    ] = None,
    track: Annotated[
        str | None,
        typer.Option(help="Track of the questions (default: the first part of $CATEGORY)."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing bank file.")] = False,
) -> None:
    """Convert GIFT into a bank file; prints skipped questions, then `imported N, skipped M`."""
    from triops.quiz.gift import GiftError, to_bank_yaml
    from triops.quiz.gift import import_gift as run_import

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"{file}:1: error: cannot read file: {exc}", err=True)
        raise typer.Exit(1) from exc
    try:
        result = run_import(text, source=str(file), id_prefix=_slug(file.stem))
    except GiftError as exc:
        typer.echo(f"{file}:{exc.line}: error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    if track is None:
        firsts = {c.strip("/").split("/")[0] for c in result.categories}
        guessed = [t for t in TRACKS if t in firsts]
        if len(guessed) != 1:
            typer.echo(
                f"{file}:1: error: cannot tell the track from $CATEGORY; "
                f"give --track ({', '.join(TRACKS)})",
                err=True,
            )
            raise typer.Exit(1)
        track = guessed[0]
    if track not in TRACKS:
        typer.echo(f"error: unknown track '{track}' (use one of: {', '.join(TRACKS)})", err=True)
        raise typer.Exit(1)
    folder = out if out is not None else get_settings().root / "quizzes" / track
    target = folder / f"{_slug(file.stem)}.yaml"
    if target.exists() and not force:
        typer.echo(f"{target}:1: error: already exists; use --force to overwrite", err=True)
        raise typer.Exit(1)
    for line, reason in result.skipped:
        typer.echo(f"{file}:{line}: skipped: {reason}")
    for line, reason in getattr(result, "warnings", []):
        typer.echo(f"{file}:{line}: warning: {reason}")
    folder.mkdir(parents=True, exist_ok=True)
    target.write_text(to_bank_yaml(result.questions), encoding="utf-8")
    typer.echo(f"wrote {target}")
    typer.echo(f"imported {len(result.questions)}, skipped {len(result.skipped)}")


@quiz_app.command("export-gift")
def export_gift(
    out: Annotated[
        Path | None, typer.Option(help="File to write (default: standard output).")
    ] = None,
    track: Annotated[str | None, typer.Option(help="Only this track's questions.")] = None,
    root: Annotated[Path | None, typer.Option(help="Course root (default: TRIOPS_ROOT).")] = None,
) -> None:
    """Write the bank as Moodle GIFT; questions GIFT cannot express are listed as comments."""
    from triops.quiz.bank import load_bank
    from triops.quiz.gift import export_gift as run_export
    from triops.quiz.gift import unexportable

    bank = load_bank(root or get_settings().root)
    chosen = [q for q in bank.questions if track is None or q.track == track]
    text = run_export(chosen)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        skipped = sum(1 for q in chosen if unexportable(q.question) is not None)
        typer.echo(
            f"exported {len(chosen) - skipped} questions to {out}, skipped {skipped} "
            "that GIFT cannot express",
            err=True,
        )


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "imported"


def main() -> None:
    app()


if __name__ == "__main__":
    main()
