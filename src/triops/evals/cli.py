"""`triops eval run CONFIG [--json FILE] [--compare BASELINE.json]`.

Exit codes: 0 when every test passes (skipped ones aside) and every gate checked holds, 1 when
a test or a gate fails or when no assertion was evaluated at all (the run checked nothing), 2
when the config (or the baseline run file) cannot be used.

This is the operator's command: it runs a config with the rights of whoever starts it, reads any
file:// path the config names and calls any provider it names (an openai-compatible provider
sends the prompts to its URL). Run it only on configs you trust. Learners' configs never go
through it: the prompt-eval lab runs them with triops.labs.eval_lab, in a limited child process
that confines file:// to the work folder and allows only offline providers.

A config that needs the course's search index gets it from the `triops` command, which registers
this app with `obj` set to a function returning (index, embedder): the index holds the labs'
passages, and this library imports nothing of the labs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from triops.errors import InvalidInputError

eval_app = typer.Typer(
    help="Evaluate prompts in promptfoo's config format, with a regression gate.",
    no_args_is_help=True,
)

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


RUN_HELP = (
    "Run every prompt x provider x test; print the matrix, the totals and the gate.\n\n"
    "CONFIG runs with your own rights: it reads every file:// path it names and calls every "
    "provider it names (an openai-compatible provider sends the prompts to its URL). Use it "
    "only on configs you trust. Learners' configs run in the prompt-eval lab instead, in a "
    "limited child process (see SECURITY.md)."
)


@eval_app.command("run", help=RUN_HELP)
def run(
    ctx: typer.Context,
    config: Annotated[Path, typer.Argument(help="An eval config (promptfoo's YAML shape).")],
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Write the run (results and totals) here.")
    ] = None,
    compare_file: Annotated[
        Path | None,
        typer.Option("--compare", help="A saved run (--json) to compare with, and gate against."),
    ] = None,
) -> None:
    """Run every prompt x provider x test (RUN_HELP says with whose rights)."""
    from triops.errors import TriopsError
    from triops.evals import (
        EvalConfigError,
        EvalRun,
        EvalRunError,
        compare,
        format_comparison,
        format_run,
        load_config,
        run_eval,
    )

    try:
        loaded = load_config(config)
    except EvalConfigError as exc:
        typer.echo(exc.user_message, err=True)
        raise typer.Exit(EXIT_CONFIG) from exc
    baseline = None
    if compare_file is not None:
        try:
            baseline = EvalRun.from_dict(json.loads(compare_file.read_text(encoding="utf-8")))
        except (OSError, ValueError, EvalRunError) as exc:
            message = exc.user_message if isinstance(exc, EvalRunError) else str(exc)
            typer.echo(f"{compare_file}: error: {message}", err=True)
            raise typer.Exit(EXIT_CONFIG) from exc
    try:
        embedder, index = _resources(loaded, ctx.obj)
        result = run_eval(loaded, embedder=embedder, index=index)
    except TriopsError as exc:
        typer.echo(f"error: {exc.user_message}", err=True)
        raise typer.Exit(EXIT_CONFIG) from exc
    typer.echo(format_run(result))
    passed = result.passed
    if baseline is not None:
        comparison = compare(baseline, result, loaded.gate)
        typer.echo("")
        typer.echo(format_comparison(comparison))
        passed = passed and comparison.passed
    if json_file is not None:
        json_file.write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
        typer.echo(f"\nwrote {json_file}")
    tests = sum(r.status == "pass" for r in result.results)
    counted = sum(r.status != "skipped" for r in result.results)
    if result.unchecked:
        typer.echo(f"\nnot checked: {result.unchecked}")
    typer.echo(f"\n{tests} of {counted} cases passed; " + ("OK" if passed else "FAILED"))
    raise typer.Exit(EXIT_OK if passed else EXIT_FAILED)


def _resources(config, course_index):
    """The embedder and the search index the config needs; `course_index()` gives (index,
    embedder) as `triops ask` gets them."""
    if config.needs_index:
        if course_index is None:
            raise InvalidInputError(
                "this config needs the course's search index: run it with `triops eval run`"
            )
        index, embedder = course_index()
        return embedder, index
    if config.needs_embedder:
        from triops.config import get_settings
        from triops.search.embedder import default_embedder

        settings = get_settings()
        return default_embedder(settings.embed_model, settings.derived_dir), None
    return None, None
