"""The `triops` command."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from triops.config import REPO_ROOT, get_settings
from triops.drift.cli import drift_command
from triops.evals.cli import eval_app
from triops.tasks import register as register_tasks

register_tasks()  # exam profiles with tasks load them, and attempts grade them (quiz.hooks)

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
    fast: Annotated[
        bool,
        typer.Option(
            "--fast",
            help="Skip the checks that need the language model (near-duplicate "
            "questions, questions far from their lesson).",
        ),
    ] = False,
    strategies: Annotated[
        bool,
        typer.Option(
            "--strategies",
            help="Also print, per exam profile, what blind strategies expect to score "
            "(longest option, first option, always false, most words shared with the stem) "
            "beside pure guessing and the pass mark.",
        ),
    ] = False,
) -> None:
    """Check lessons, questions, exams, labs, knowledge and data; exit 1 on any error."""
    from triops.validate import validate as run_validate

    target = root if root is not None else get_settings().root
    if not target.is_dir():
        typer.echo(f"{target}: error: not a folder", err=True)
        raise typer.Exit(1)
    embedder = None
    if not fast:
        from triops.search.embedder import default_embedder

        embedder = default_embedder(get_settings().embed_model, get_settings().derived_dir)
    report = run_validate(target, embedder, get_settings().derived_dir)
    for problem in report.problems:
        typer.echo(str(problem))
    if strategies:
        from triops.quiz.itemwriting import format_strategies

        typer.echo(format_strategies(report.strategies))
    typer.echo(report.summary())
    raise typer.Exit(1 if report.errors else 0)


@app.command()
def coverage(
    root: Annotated[
        Path | None,
        typer.Argument(help="Folder with content/ and quizzes/ (default: TRIOPS_ROOT)."),
    ] = None,
    guide: Annotated[
        str | None,
        typer.Option("--guide", help="One exam guide of quizzes/guides/, e.g. dop-c02."),
    ] = None,
) -> None:
    """Per exam guide and domain: task statements taught by a lesson section, tested by 3+
    practice and 3+ exam questions, the gaps by name, and whether the bank fills the guide's
    exam profile twice without reusing a question."""
    from triops.errors import InvalidInputError
    from triops.quiz.coverage import report

    target = root if root is not None else get_settings().root
    try:
        text, problems = report(target, guide)
    except InvalidInputError as exc:
        typer.echo(f"error: {exc.user_message}", err=True)
        raise typer.Exit(1) from exc
    for problem in problems:
        typer.echo(str(problem), err=True)
    typer.echo(text)


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8501,
    headless: Annotated[bool, typer.Option(help="Do not open a browser.")] = True,
) -> None:
    """Run the Triops app (streamlit) on this machine."""
    from triops.store.connection import check_startup

    # With TRIOPS_DATABASE_URL: a server that cannot be reached, or a migration that fails, is
    # one line and exit status 1 before anything is served.
    problem = check_startup()
    if problem is not None:
        typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(1)
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
app.command("drift")(drift_command)

TRACKS = ("triad", "devops", "mlops", "llmops")


@quiz_app.command("import-gift")
def import_gift(
    file: Annotated[Path, typer.Argument(help="A Moodle GIFT file.")],
    out: Annotated[
        Path | None,
        typer.Option(
            help="Folder for the bank file (default: quizzes/<track>/ under TRIOPS_ROOT); "
            "when the file spans several tracks, one subfolder per track."
        ),
    ] = None,
    track: Annotated[
        str | None,
        typer.Option(
            help="Put every question in this track (default: the track each $CATEGORY names, "
            "one bank file per track)."
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite existing bank files.")] = False,
) -> None:
    """Convert GIFT into bank files; prints skipped questions, then `imported N, skipped M`."""
    from triops.quiz.gift import GiftError, questions_by_track, to_bank_yaml
    from triops.quiz.gift import import_gift as run_import

    if track is not None and track not in TRACKS:
        typer.echo(f"error: unknown track '{track}' (use one of: {', '.join(TRACKS)})", err=True)
        raise typer.Exit(1)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"{file}:1: error: cannot read file: {exc}", err=True)
        raise typer.Exit(1) from exc
    try:
        result = run_import(text, source=str(file), id_prefix=_slug(file.stem))
        groups = questions_by_track(result, TRACKS, forced=track, source=str(file))
    except GiftError as exc:
        typer.echo(f"{file}:{exc.line}: error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    name = f"{_slug(file.stem)}.yaml"
    targets = {}
    for t in groups:
        if out is None:
            folder = get_settings().root / "quizzes" / t
        else:
            folder = out if len(groups) == 1 else out / t
        targets[t] = folder / name
    existing = [target for target in targets.values() if target.exists()]
    if existing and not force:
        for target in existing:
            typer.echo(f"{target}:1: error: already exists; use --force to overwrite", err=True)
        raise typer.Exit(1)
    for line, reason in result.skipped:
        typer.echo(f"{file}:{line}: skipped: {reason}")
    for line, reason in result.warnings:
        typer.echo(f"{file}:{line}: warning: {reason}")
    for t, questions in groups.items():
        targets[t].parent.mkdir(parents=True, exist_ok=True)
        targets[t].write_text(to_bank_yaml(questions), encoding="utf-8")
        count = f"{len(questions)} {t} question" + ("" if len(questions) == 1 else "s")
        typer.echo(f"wrote {targets[t]} ({count})")
    typer.echo(f"imported {len(result.questions)}, skipped {len(result.skipped)}")


@quiz_app.command("export-gift")
def export_gift(
    out: Annotated[
        Path | None, typer.Option(help="File to write (default: standard output).")
    ] = None,
    track: Annotated[str | None, typer.Option(help="Only this track's questions.")] = None,
    root: Annotated[Path | None, typer.Option(help="Course root (default: TRIOPS_ROOT).")] = None,
) -> None:
    """Write the bank as Moodle GIFT; questions GIFT cannot express are listed as comments.

    Problems go to stderr as `path:line: severity: message`; exit 1 when nothing is written or a
    question could not be read."""
    from triops.quiz.gift import export_bank

    report = export_bank(root or get_settings().root, track)
    for problem in report.problems:
        typer.echo(str(problem), err=True)
    if not report.written:
        raise typer.Exit(1)
    if out is None:
        typer.echo(report.text, nl=False)
    else:
        out.write_text(report.text, encoding="utf-8")
        typer.echo(
            f"exported {len(report.exported)} questions to {out}, skipped "
            f"{len(report.unexpressible)} that GIFT cannot express",
            err=True,
        )
    raise typer.Exit(0 if report.ok else 1)


items_app = typer.Typer(
    help="Item analysis of submitted exam attempts, and simulated candidates to try it on.",
    no_args_is_help=True,
)
app.add_typer(items_app, name="items")
DEMO_DB = "demo-items.duckdb"


def _read_only(path: Path):
    """A read-only connection, or a one-line error: with DuckDB, a running app holds the lock."""
    from triops.errors import StoreError
    from triops.store.connection import connect

    try:
        return connect(path, read_only=True)
    except StoreError as exc:
        _cannot_open(path, exc, " or open Instructor › Item analysis in the app")


@items_app.command("report")
def items_report(
    exam: Annotated[str | None, typer.Option(help="Only this exam (default: every exam).")] = None,
    csv: Annotated[
        Path | None, typer.Option("--csv", help="Also write the per-item rows to this CSV file.")
    ] = None,
    practice: Annotated[
        bool, typer.Option("--practice", help="Also report practice answers (shown apart).")
    ] = False,
    db: Annotated[
        Path | None,
        typer.Option(
            "--db",
            help="A database to read instead of the learner state, e.g. the simulated demo "
            f"(TRIOPS_HOME/{DEMO_DB}).",
        ),
    ] = None,
    minimum: Annotated[
        int,
        typer.Option(
            min=2, help="Responses (per item) and attempts (per form) before a figure is shown."
        ),
    ] = 30,
) -> None:
    """Facility, discrimination, upper-lower index, option rates, time, reliability and flags."""
    from triops.quiz.analysis import csv_rows, format_report, item_report
    from triops.quiz.bank import load_bank
    from triops.store.connection import database_url, open_state

    settings = get_settings()
    path = db if db is not None else settings.state_db
    on_postgres = db is None and database_url() is not None
    if not on_postgres and not path.is_file():
        if db is not None:
            typer.echo(f"{path}: error: no such database", err=True)
            raise typer.Exit(1)
        typer.echo(f"no learner state at {path} yet: no exam has been submitted")
        return
    conn = open_state(path) if on_postgres else _read_only(path)
    try:
        report = item_report(
            conn, exam, bank=load_bank(settings.root), minimum=minimum, practice=practice
        )
    finally:
        conn.close()
    if exam is not None and not report.forms:
        typer.echo(f"no submitted attempts of exam '{exam}' in {path}")
    else:
        typer.echo(format_report(report, practice=practice), nl=False)
    if csv is not None:
        csv_rows(report, practice=practice).to_csv(csv, index=False)
        typer.echo(f"wrote {csv}")


@items_app.command("simulate")
def items_simulate(
    candidates: Annotated[int, typer.Option(min=1, max=100_000, help="How many.")] = 500,
    seed: Annotated[int, typer.Option(help="Random seed (the same seed gives the same data).")] = 0,
    exam: Annotated[
        str, typer.Option(help="The exam whose blueprint draws the simulated form.")
    ] = "triad-mock-certification",
    out: Annotated[
        Path | None,
        typer.Option(help=f"The demo database to write (default: TRIOPS_HOME/{DEMO_DB})."),
    ] = None,
) -> None:
    """Write simulated candidates (2PL model, three planted bad items) into a demo database."""
    import random
    from datetime import UTC, datetime

    from triops.errors import TriopsError
    from triops.quiz import analysis, simulate
    from triops.quiz.bank import load_bank
    from triops.quiz.blueprint import load_exams
    from triops.quiz.exam import draw
    from triops.store.connection import open_state_file
    from triops.store.items import simulated_marker

    settings = get_settings()
    target = out if out is not None else settings.home / DEMO_DB
    if target.resolve() == settings.state_db.resolve():
        typer.echo(f"{target}: error: this is the learner state; simulate into a demo file")
        raise typer.Exit(1)
    if target.exists():
        conn = _read_only(target)
        try:
            marker = simulated_marker(conn)
        except Exception:  # not a Triops database at all
            marker = None
        finally:
            conn.close()
        if marker is None:
            typer.echo(f"{target}: error: exists and is not a simulated demo database", err=True)
            raise typer.Exit(1)
        target.unlink()
        target.with_name(target.name + ".wal").unlink(missing_ok=True)
    bank = load_bank(settings.root)
    exams = load_exams(settings.root, bank)
    chosen = exams.get(exam)
    if chosen is None:
        known = ", ".join(e.id for e in exams.exams) or "none"
        typer.echo(f"error: unknown exam '{exam}' (exams: {known})", err=True)
        raise typer.Exit(1)
    try:
        form = draw(chosen.blueprint, bank, random.Random(seed))
        plan = simulate.plan_form([(d.question, d.track, d.pilot) for d in form], seed)
        sim = simulate.simulate(
            plan, candidates, seed, multiple_response=chosen.blueprint.multiple_response
        )
        conn = open_state_file(target)  # a demo file, even with the state in PostgreSQL
        try:
            now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
            simulate.write(conn, sim, chosen.id, chosen.blueprint, now)
            found = analysis.analyse(analysis.load(conn, chosen.id))[0]
        finally:
            conn.close()
    except TriopsError as exc:
        typer.echo(f"error: {exc.user_message}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(
        f"wrote {candidates} simulated candidates of {chosen.id} ({len(form)} items) to {target}"
    )
    for item in plan:
        if item.role != simulate.GOOD:
            typer.echo(f"planted: {item.question.id}: {item.role}")
    result = simulate.check(found.items, sim)
    planted = sum(result["planted_found"].values())
    good = len(plan) - len(result["planted_found"])
    typer.echo(
        f"the item report flags {planted} of {len(result['planted_found'])} planted items "
        f"and {len(result['good_flagged'])} of {good} good items"
    )
    typer.echo(f"open it: triops items report --db {target} (or Instructor › Item analysis)")


review_app = typer.Typer(
    help="Spaced review (FSRS): what a profile has due, and fitting its own parameters.",
    no_args_is_help=True,
)
app.add_typer(review_app, name="review")
ProfileOption = Annotated[str, typer.Option("--profile", help="The profile's name.")]


def _profile_state(profile: str):
    """The learner state, open for writing, and the named profile; else a one-line error."""
    from triops.errors import StoreError, TriopsError
    from triops.store import users
    from triops.store.connection import database_url, open_state

    path = get_settings().state_db
    if database_url() is None and not path.is_file():
        typer.echo(
            f"{path}: error: no learner state yet, so no profile named '{profile}'", err=True
        )
        raise typer.Exit(1)
    try:
        conn = open_state(path, memory_limit=get_settings().memory_limit)
    except StoreError as exc:
        _cannot_open(path, exc)
    try:
        user = users.find_by_name(conn, profile)
    except TriopsError as exc:
        conn.close()
        typer.echo(f"error: {exc.user_message}", err=True)
        raise typer.Exit(1) from exc
    if user is None:
        known = ", ".join(u.name for u in users.list_users(conn)) or "none yet"
        conn.close()
        typer.echo(f"error: no profile named '{profile}' (profiles: {known})", err=True)
        raise typer.Exit(1)
    return conn, user


@review_app.command("optimize")
def review_optimize(profile: ProfileOption) -> None:
    """Fit the profile's FSRS parameters to its reviews (py-fsrs's Optimizer) once it has 512
    reviews made a day or more after the question's previous one; keep them only if they
    predict its recalls better than the defaults, and reschedule its cards."""
    from datetime import UTC, datetime

    from triops.errors import TriopsError
    from triops.quiz import review

    conn, user = _profile_state(profile)
    try:
        counted, needed = review.evidence(conn, user.id)
        if counted >= needed:
            typer.echo(f"fitting {user.name}'s FSRS parameters to {counted} reviews…")
        fit = review.optimize(conn, user.id, datetime.now(UTC).replace(tzinfo=None))
    except TriopsError as exc:
        typer.echo(f"error: {exc.user_message}", err=True)
        raise typer.Exit(1) from exc
    finally:
        conn.close()
    typer.echo(
        f"log loss on {user.name}'s reviews (lower predicts better): defaults "
        f"{fit.loss_default:.4f}, fitted {fit.loss_fitted:.4f}"
    )
    if fit.kept:
        typer.echo(f"kept the fitted parameters; {fit.cards} card(s) rescheduled with them")
    else:
        typer.echo(
            "the fitted parameters predict no better than the defaults: the defaults stay; "
            f"{fit.cards} card(s) rescheduled with them"
        )


@review_app.command("due")
def review_due(profile: ProfileOption) -> None:
    """What the profile has due today per track, the next 7 days, and its parameters."""
    from datetime import UTC, datetime

    from triops.quiz import review
    from triops.quiz.bank import load_bank

    conn, user = _profile_state(profile)
    try:
        moment = datetime.now(UTC).replace(tzinfo=None)
        summary = review.overview(conn, user.id, load_bank(get_settings().root), moment, TRACKS)
        counted, needed = review.evidence(conn, user.id)
        fitted = review.fitted(conn, user.id)
    finally:
        conn.close()
    typer.echo(f"{user.name}: cards: {summary.cards}, due today (UTC): {summary.due_today}")
    for t in summary.tracks:
        exam = (
            "" if t.exam_day is None else f" (exam {t.exam_day}, target recall {t.retention:.1%})"
        )
        typer.echo(f"  {t.track}: {t.due_now} due now, {t.later_today} later today{exam}")
    week = {}
    for day, _track, n in summary.forecast:
        if (day - moment.date()).days < 7:
            week[day] = week.get(day, 0) + n
    typer.echo("next 7 days: " + (" · ".join(f"{d} {n}" for d, n in week.items()) or "nothing due"))
    if fitted is not None:
        typer.echo(f"parameters: fitted {fitted.fitted_at:%Y-%m-%d} from {fitted.reviews} reviews")
    else:
        typer.echo(
            f"parameters: FSRS defaults; a fit needs {needed} reviews made a day or more after "
            f"the question's previous one, and {user.name} has {counted}"
        )


users_app = typer.Typer(
    help="Accounts for a class server (TRIOPS_SIGN_IN=password or oidc): add users, set "
    "passwords and roles. Run with the app stopped: it holds the database file while it runs.",
    no_args_is_help=True,
)
audit_app = typer.Typer(
    help="The audit log: role changes, password changes and resets, failed sign-ins, lockouts.",
    no_args_is_help=True,
)
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from the first line of standard input instead of asking.",
    ),
]


def _state_for_accounts():
    """The learner state, open for writing (made on first use); else a one-line error."""
    from triops.errors import StoreError
    from triops.store.connection import open_state

    path = get_settings().state_db
    try:
        return open_state(path, memory_limit=get_settings().memory_limit)
    except StoreError as exc:
        _cannot_open(path, exc)


def _cannot_open(path, exc: Exception, elsewhere: str = "") -> NoReturn:
    """One line for a state file the command cannot open (another process holding DuckDB's lock,
    or any other cause), then exit 1."""
    from triops.errors import StoreError
    from triops.store.connection import database_url

    if database_url() is not None and isinstance(exc, StoreError):
        # PostgreSQL: the message names the host and the cause; there is no file lock.
        typer.echo(f"error: {exc.user_message}", err=True)
        raise typer.Exit(1) from exc
    cause = str(exc.__cause__ or exc)
    if "lock" in cause.lower():
        typer.echo(
            f"{path}: error: locked by another process (is the Triops app running?): stop it "
            f"and run this again{',' if elsewhere else ''}{elsewhere}",
            err=True,
        )
    else:
        typer.echo(f"{path}: error: cannot open: {cause.splitlines()[0]}", err=True)
    raise typer.Exit(1) from exc


def _new_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt="Repeat the password")


def _accounts_call(action):
    """Run `action(conn)` on the learner state; a refusal is one line and exit 1."""
    from triops.errors import TriopsError

    conn = _state_for_accounts()
    try:
        return action(conn)
    except TriopsError as exc:
        typer.echo(f"error: {exc.user_message}", err=True)
        raise typer.Exit(1) from exc
    finally:
        conn.close()


def _utc_now():
    from datetime import UTC, datetime

    return datetime.now(UTC).replace(tzinfo=None)


def _sign_in_hint(name: str, email: str | None) -> None:
    """What the new account signs in with, in the sign-in mode the settings choose."""
    mode = get_settings().sign_in
    if mode == "none":
        typer.echo(
            "note: the app asks for passwords once started with TRIOPS_SIGN_IN=password "
            "(with TRIOPS_SIGN_IN=oidc it signs in through the identity provider instead)"
        )
    elif mode == "oidc" and email:
        typer.echo(
            "note: with TRIOPS_SIGN_IN=oidc this password is not asked for: a first sign-in "
            f"through the identity provider with the verified email {email.strip()} lands in {name}"
        )
    elif mode == "oidc":
        typer.echo(
            "note: with TRIOPS_SIGN_IN=oidc this password is not asked for, and a provider "
            "sign-in finds an account by its email: this one has none, so it stays unused. "
            "Add accounts with --email, or let people sign in first and set their role "
            "with `triops users role`"
        )


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The username (also the name shown).")],
    email: Annotated[str | None, typer.Option(help="An email address, unique if given.")] = None,
    role: Annotated[
        str, typer.Option(help="learner, instructor or admin.", show_default=True)
    ] = "learner",
    admin: Annotated[bool, typer.Option("--admin", help="Same as --role admin.")] = False,
    password_stdin: PasswordStdin = False,
) -> None:
    """Add a user with a password; the first admin is made this way."""
    from triops import accounts

    chosen = "admin" if admin else role
    if chosen not in accounts.ROLES:
        typer.echo(f"error: unknown role '{chosen}': one of {', '.join(accounts.ROLES)}", err=True)
        raise typer.Exit(2)
    password = _new_password(password_stdin)
    user = _accounts_call(
        lambda conn: accounts.add_user(conn, name, password, _utc_now(), role=chosen, email=email)
    )
    typer.echo(f"added {user.name} ({user.role})")
    _sign_in_hint(user.name, email)


@users_app.command("passwd")
def users_passwd(
    name: Annotated[str, typer.Argument(help="The username.")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Set a user's password (an admin's reset); lifts a lockout and signs out its sessions.
    A local profile given a password can sign in on a class server."""
    from triops import accounts

    password = _new_password(password_stdin)
    user = _accounts_call(lambda conn: accounts.set_password(conn, name, password, _utc_now()))
    typer.echo(f"password set for {user.name}")


@users_app.command("role")
def users_role(
    name: Annotated[str, typer.Argument(help="The username.")],
    role: Annotated[str, typer.Argument(help="learner, instructor or admin.")],
) -> None:
    """Change a user's role (recorded in the audit log)."""
    from triops import accounts

    if role not in accounts.ROLES:
        typer.echo(f"error: unknown role '{role}': one of {', '.join(accounts.ROLES)}", err=True)
        raise typer.Exit(2)
    user = _accounts_call(lambda conn: accounts.set_role(conn, name, role, _utc_now()))
    typer.echo(f"{user.name} is now {user.role}")


@users_app.command("list")
def users_list() -> None:
    """Every user: role, email, and whether it has a password."""
    from triops import accounts

    rows = _accounts_call(accounts.list_accounts)
    if not rows:
        typer.echo("no users yet: add the first admin with `triops users add NAME --admin`")
        return
    for a in rows:
        password = "password" if a.has_password else "no password (local profile)"
        typer.echo(f"{a.name}\t{a.role}\t{a.email or '-'}\t{password}")


@audit_app.command("export")
def audit_export(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the CSV here (default: standard output)."),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Only entries from this UTC day on (YYYY-MM-DD).")
    ] = None,
) -> None:
    """The audit log as CSV: time_utc, actor, action, user, detail."""
    from datetime import date, datetime

    from triops import accounts

    start = None
    if since is not None:
        try:
            start = datetime.combine(date.fromisoformat(since), datetime.min.time())
        except ValueError as exc:
            typer.echo(f"error: --since '{since}' is not a day (YYYY-MM-DD)", err=True)
            raise typer.Exit(2) from exc
    text = _accounts_call(lambda conn: accounts.audit_csv(conn, start))
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {text.count(chr(10)) - 1} entries to {output}", err=True)


cohorts_app = typer.Typer(
    help="Cohorts of learners (also Instructor › Cohorts): create one, list them, add learners "
    "from a CSV, export a gradebook for Moodle and a progress dashboard. Run with the app "
    "stopped. --instructor NAME reads as that instructor: only the cohorts they own.",
    no_args_is_help=True,
)
app.add_typer(cohorts_app, name="cohorts")
InstructorOption = Annotated[
    str | None,
    typer.Option(
        "--instructor",
        help="Act as this instructor: only the cohorts they own (an admin: every cohort).",
    ),
]


def _scope(conn, instructor: str | None):
    """(the instructor user or None, the scope triops.cohorts reads with)."""
    from triops import cohorts

    return (None, None) if instructor is None else cohorts.instructor(conn, instructor)


@cohorts_app.command("create")
def cohorts_create(
    name: Annotated[str, typer.Argument(help="The cohort's name.")],
    instructor: Annotated[
        str | None,
        typer.Option("--instructor", help="The instructor who owns it (sees it in the app)."),
    ] = None,
) -> None:
    """Create a cohort and print its join code (recorded in the audit log). Without
    --instructor only admins see it in the app."""
    from triops import cohorts

    cohort = _accounts_call(
        lambda conn: cohorts.create_cohort(
            conn, name, _utc_now(), owner=_scope(conn, instructor)[0]
        )
    )
    typer.echo(f"created {cohort.name}: join code {cohorts.show_code(cohort.join_code)}")


@cohorts_app.command("list")
def cohorts_list(instructor: InstructorOption = None) -> None:
    """Every cohort (or the instructor's): name, join code, members."""
    from triops import cohorts

    rows = _accounts_call(lambda conn: cohorts.cohorts(conn, _scope(conn, instructor)[1]))
    if not rows:
        typer.echo("no cohorts yet: create one with `triops cohorts create NAME`")
    for c in rows:
        typer.echo(f"{c.name}\t{cohorts.show_code(c.join_code)}\t{cohorts.members_text(c.members)}")


@cohorts_app.command("add")
def cohorts_add(
    cohort: Annotated[str, typer.Argument(help="The cohort's name.")],
    csv_file: Annotated[
        Path, typer.Argument(help="A CSV with a header row username,email (email may be empty).")
    ],
    instructor: InstructorOption = None,
) -> None:
    """Add the learners of a CSV to a cohort. A bad row is reported as FILE:LINE: error: and
    adds nobody; the exit code is 1 when any row was refused. With TRIOPS_SIGN_IN=password each
    username must be an account; with oidc each row needs the email the provider sends and a
    new username becomes an account the learner reaches at first sign-in; otherwise a new
    username becomes a learner profile."""
    from triops import cohorts

    try:
        text = csv_file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"{csv_file}: error: cannot read: {exc}", err=True)
        raise typer.Exit(1) from exc
    mode = get_settings().sign_in

    def add(conn):
        scope = _scope(conn, instructor)[1]
        return cohorts.add_from_csv(
            conn,
            cohorts.find_cohort(conn, cohort, scope).id,
            text,
            _utc_now(),
            source=str(csv_file),
            create_missing=mode != "password",
            oidc=mode == "oidc",
            scope=scope,
        )

    outcome = _accounts_call(add)
    for line in outcome.errors:
        typer.echo(line, err=True)
    typer.echo(f"added {len(outcome.added)}, already members {len(outcome.already)}")
    if outcome.errors:
        raise typer.Exit(1)


OutputOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write the CSV here (default: standard output)."),
]


def _write_csv(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {text.count(chr(10)) - 1} learners to {output}", err=True)


@cohorts_app.command("gradebook")
def cohorts_gradebook(
    cohort: Annotated[str, typer.Argument(help="The cohort's name.")],
    output: OutputOption = None,
    instructor: InstructorOption = None,
) -> None:
    """The cohort's gradebook as CSV for Moodle's grade import: Email address, Username, then
    the best percent per assigned exam."""
    from triops import cohorts

    def book(conn):
        scope = _scope(conn, instructor)[1]
        found = cohorts.find_cohort(conn, cohort, scope)
        return cohorts.gradebook_csv(cohorts.gradebook(conn, found.id, _utc_now(), scope))

    _write_csv(_accounts_call(book), output)


@cohorts_app.command("dashboard")
def cohorts_dashboard(
    cohort: Annotated[str, typer.Argument(help="The cohort's name.")],
    exam: Annotated[
        str | None,
        typer.Option(help="The exam id readiness is given for (default: the first assigned)."),
    ] = None,
    output: OutputOption = None,
    instructor: InstructorOption = None,
) -> None:
    """The cohort's dashboard as CSV: per learner, lessons done, practice answers (last 7 days
    and in all), labs passed, and the pass probability for one exam where the readiness service
    gives one (else the answers it still needs)."""
    from triops import cohorts
    from triops.content.loader import load_course
    from triops.labs.spec import load_labs
    from triops.quiz.bank import load_bank
    from triops.quiz.blueprint import load_exams

    root = get_settings().root
    bank = load_bank(root)
    exams = load_exams(root, bank)
    if exam is not None and exams.get(exam) is None:
        known = ", ".join(e.id for e in exams.exams) or "none"
        typer.echo(f"error: unknown exam '{exam}' (exams: {known})", err=True)
        raise typer.Exit(2)

    def board(conn):
        scope = _scope(conn, instructor)[1]
        found = cohorts.find_cohort(conn, cohort, scope)
        assigned = [a.exam_id for a in cohorts.assignments(conn, found.id, scope)]
        chosen = exam or next((x for x in assigned if exams.get(x) is not None), None)
        moment = _utc_now()
        return cohorts.dashboard_csv(
            cohorts.dashboard(
                conn,
                found.id,
                moment,
                lesson_ids={lesson.id for lesson in load_course(root).lessons()},
                labs=[(x.id, x.spec.title, x.spec.track) for x in load_labs(root).labs],
                model=cohorts.readiness_model(conn, bank, exams, moment) if chosen else None,
                exam_id=chosen,
                scope=scope,
            )
        )

    _write_csv(_accounts_call(board), output)


reports_app = typer.Typer(
    help="Learners' question reports (also Instructor › Content health): list them with each "
    "question's file and line, resolve one. Run with the app stopped.",
    no_args_is_help=True,
)
app.add_typer(reports_app, name="reports")


def _one_line(text: str) -> str:
    return " ".join(text.split())


@reports_app.command("list")
def reports_list(
    state: Annotated[
        str, typer.Option(help="open, resolved or all.", case_sensitive=False)
    ] = "open",
    category: Annotated[
        list[str] | None,
        typer.Option(help="Only this category (wrong-key, unclear, outdated, typo); repeatable."),
    ] = None,
    track: Annotated[list[str] | None, typer.Option(help="Only this track; repeatable.")] = None,
) -> None:
    """One line per report, oldest first: FILE:LINE: category: question: who, when, comment (and
    the verdict and note once resolved)."""
    from triops.errors import InvalidInputError
    from triops.quiz import reports
    from triops.quiz.bank import load_bank

    if state not in ("open", "resolved", "all"):
        typer.echo(f"error: unknown state '{state}': open, resolved or all", err=True)
        raise typer.Exit(1)
    bank = load_bank(get_settings().root)

    def read(conn):
        if any(c not in reports.CATEGORIES for c in category or []):
            raise InvalidInputError(f"unknown category: use {', '.join(reports.CATEGORIES)}")
        return reports.queue(
            conn,
            bank,
            state=None if state == "all" else state,
            categories=category or None,
            tracks=track or None,
        )

    items = _accounts_call(read)
    if not items:
        typer.echo(f"no {'' if state == 'all' else state + ' '}reports")
    for i in items:
        r = i.report
        line = (
            f"{i.where}: {r.category}: {r.question_id}: report {r.id} by {i.reporter} "
            f"({reports.SOURCES[r.source].lower()}, {r.updated_at:%Y-%m-%d %H:%M} UTC): "
            f"{_one_line(r.comment) or '(no comment)'}"
        )
        if not r.is_open:
            line += f" => {r.verdict} by {r.resolver_name}: {_one_line(r.note or '')}"
        typer.echo(line)


@reports_app.command("resolve")
def reports_resolve(
    report_id: Annotated[str, typer.Argument(help="The report's id, as `reports list` shows it.")],
    verdict: Annotated[
        str,
        typer.Option(help="upheld-fixed, upheld-miskeyed, rejected or duplicate."),
    ],
    note: Annotated[str, typer.Option(help="The note the reporter reads (required).")],
    remedy: Annotated[
        str | None,
        typer.Option(
            help="With upheld-miskeyed: rekey, credit-all or drop (see quizzes/README.md)."
        ),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            help="With --remedy rekey: the right option number(s) in the order of the bank "
            "file, from 1, comma-separated (e.g. 2 or 1,3); true or false for a true/false "
            "question."
        ),
    ] = None,
) -> None:
    """Resolve a report with a verdict and a note (recorded in the audit log); with
    upheld-miskeyed, regrade the finished exam attempts that drew the question."""
    from triops.errors import InvalidInputError
    from triops.quiz import reports

    def parsed_key():
        if key is None:
            return None
        if key.lower() in ("true", "false"):
            return key.lower() == "true"
        try:
            numbers = [int(part) for part in key.split(",")]
        except ValueError:
            raise InvalidInputError(
                f"--key '{key}': option numbers from 1, comma-separated, or true/false"
            ) from None
        if any(n < 1 for n in numbers):
            raise InvalidInputError(f"--key '{key}': option numbers start at 1")
        return [n - 1 for n in numbers]

    outcome = _accounts_call(
        lambda conn: reports.resolve(
            conn, report_id, verdict, note, _utc_now(), remedy=remedy, key=parsed_key()
        )
    )
    typer.echo(f"resolved {report_id}: {verdict}")
    if verdict == "upheld-miskeyed":
        typer.echo(
            f"regraded {len(outcome.regrades)} of {outcome.attempts_checked} finished attempt(s) "
            "that drew the question"
        )
        for g in outcome.regrades:
            typer.echo(
                f"  {g.exam_id}, attempt of {g.user_name} started "
                f"{g.started_at:%Y-%m-%d %H:%M} UTC: {g.before:.1f}% -> {g.after:.1f}%"
                + (" (now passed)" if g.passed_after and not g.passed_before else "")
            )


sandbox_app = typer.Typer(help="Run a command in the labs' sandbox.", no_args_is_help=True)
ci_app = typer.Typer(
    help="Run GitHub Actions workflows locally, offline, in the sandbox.", no_args_is_help=True
)
lab_app = typer.Typer(
    help="Hands-on labs: list, reset, solve, run and check.", no_args_is_help=True
)
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(ci_app, name="ci")
app.add_typer(lab_app, name="lab")


def _sandbox():
    from triops.labs.sandbox import Sandbox

    return Sandbox(root=get_settings().sandbox_root)


def _environment_error(exc: Exception):
    """A problem of the machine (the sandbox root, the pool of UIDs, the labs' venv, a file
    that cannot be read): one line on stderr and exit 2, never a traceback."""
    message = " ".join(str(getattr(exc, "user_message", None) or exc or type(exc).__name__).split())
    # A located message (path:line: error: ...) is printed as it is.
    typer.echo(message if ": error: " in message else f"error: {message}", err=True)
    raise typer.Exit(2) from exc


@sandbox_app.command(
    "run", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
)
def sandbox_run(
    ctx: typer.Context,
    timeout: Annotated[float, typer.Option(help="Wall-clock limit in seconds.")] = 30.0,
    memory: Annotated[int, typer.Option(help="Memory limit in MB.")] = 512,
    dir: Annotated[
        Path | None, typer.Option("--dir", help="Seed the work folder with a copy of this folder.")
    ] = None,
) -> None:
    """Run CMD (after --) in a fresh sandbox work folder; exit 0 only when it succeeds."""
    from triops.labs.sandbox import Limits

    cmd = list(ctx.args)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        typer.echo(
            "error: give a command after --, e.g. triops sandbox run -- python -c pass", err=True
        )
        raise typer.Exit(2)
    from triops.errors import TriopsError

    box = _sandbox()
    limits = Limits(wall_seconds=timeout, cpu_seconds=max(1, int(timeout)), memory_mb=memory)
    try:
        box.check()
        # The command's lines are marked, so that none can pass for the verdict line below.
        result = box.run(
            cmd, seed=dir, limits=limits, on_output=lambda line: typer.echo(f"| {line}")
        )
    except (TriopsError, OSError) as exc:
        _environment_error(exc)
    finally:
        box.close()
    code = "none" if result.exit_code is None else str(result.exit_code)
    typer.echo(
        f"sandbox: status={result.status} exit={code} seconds={result.seconds:.2f} "
        f"protections={','.join(result.protections) or 'none'}"
        + (f" missing={','.join(result.missing)}" if result.missing else "")
    )
    raise typer.Exit(0 if result.status == "ok" else 1)


@ci_app.command("run")
def ci_run(
    workflow: Annotated[Path, typer.Argument(help="A GitHub Actions workflow file.")],
    dir: Annotated[
        Path | None,
        typer.Option("--dir", help="The repository to run it on (default: the current folder)."),
    ] = None,
    json_file: Annotated[Path | None, typer.Option("--json", help="Write the JSON report.")] = None,
    artifacts: Annotated[
        Path | None,
        typer.Option(help="Keep uploaded artifacts in this folder (default: none are kept)."),
    ] = None,
    allow_network: Annotated[
        bool, typer.Option(help="Lift the network ban (only for a trusted workflow of your own).")
    ] = False,
    event: Annotated[
        str,
        typer.Option(
            help="The event to simulate: push, pull_request, workflow_dispatch, schedule, ... "
            "The workflow runs only when its on: selects it."
        ),
    ] = "push",
    ref: Annotated[
        str | None,
        typer.Option(
            help="The branch or tag: main, refs/heads/main or refs/tags/v1.0 (default: the "
            "folder's current branch when it is a git repository, else refs/heads/main; for "
            "pull_request, the base branch, default main)."
        ),
    ] = None,
) -> None:
    """Run a workflow locally in the sandbox; exit 0 when it succeeds, 1 when it fails or does
    not load, 2 on a problem of the machine, 3 when the event does not trigger it."""
    from triops.errors import TriopsError
    from triops.labs.ci.model import WorkflowError, WorkflowUnreadable, load_workflow
    from triops.labs.ci.report import NOT_TRIGGERED, exit_code, format_event, skipped_summary
    from triops.labs.ci.triggers import EVENTS, git_trigger
    from triops.labs.sandbox import Limits
    from triops.labs.workflow_lab import run_sandboxed
    from triops.terminal import visible

    if event not in EVENTS:
        typer.echo(
            f"error: unknown event '{visible(event)}' (for example push, pull_request, "
            "workflow_dispatch, schedule)",
            err=True,
        )
        raise typer.Exit(2)
    repo = (dir or Path.cwd()).resolve()
    if not repo.is_dir():
        typer.echo(f"error: {repo} is not a folder to run the workflow on (--dir)", err=True)
        raise typer.Exit(2)
    path = workflow if workflow.is_absolute() or workflow.exists() else repo / workflow
    try:
        wf = load_workflow(path)
    except WorkflowUnreadable as exc:
        _environment_error(exc)
    except WorkflowError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    trigger = git_trigger(repo, event, ref)
    typer.echo(f"event: {event} on {visible(trigger.ref)} ({visible(trigger.source)})")
    box = _sandbox()

    def show(event) -> None:
        if event.kind == "workflow_finished" and event.status == NOT_TRIGGERED:
            return  # the last line says it
        if event.kind == "note" and "job runs were skipped" in (event.line or ""):
            return  # so does the last line
        text = format_event(event)
        if text:
            typer.echo(text)

    try:
        box.check()
        report, _ = run_sandboxed(
            wf,
            repo,
            sandbox=box,
            limits=Limits(wall_seconds=1800, cpu_seconds=1800, memory_mb=2048),
            venv=get_settings().labs_venv,
            on_event=show,
            allow_network=allow_network,
            artifacts_dir=artifacts,
            trigger=trigger,
        )
    except (TriopsError, OSError) as exc:
        _environment_error(exc)
    finally:
        box.close()
    if json_file is not None:
        json_file.write_text(report.to_json(), encoding="utf-8")
    if report.status == NOT_TRIGGERED:
        typer.echo(f"workflow: not triggered: {visible(report.message)}")
    else:
        if report.artifacts and artifacts is None:
            typer.echo(
                f"artifacts: {len(report.artifacts)} uploaded and removed with the run; "
                "keep them with --artifacts DIR"
            )
        typer.echo(f"workflow: {report.status} in {report.seconds:.1f} s{skipped_summary(report)}")
    raise typer.Exit(exit_code(report))


def _lab(lab_id: str):
    from triops.labs.spec import load_labs

    labs = load_labs(get_settings().root)
    lab = labs.get(lab_id)
    if lab is None:
        known = ", ".join(x.id for x in labs.labs) or "none"
        typer.echo(f"error: unknown lab '{lab_id}' (labs: {known})", err=True)
        raise typer.Exit(2)
    return lab


DirOption = Annotated[Path, typer.Option("--dir", help="The folder with the lab's files.")]


@lab_app.command("list")
def lab_list() -> None:
    """Every lab with its track and length."""
    from triops.labs.spec import load_labs

    for lab in load_labs(get_settings().root).labs:
        typer.echo(f"{lab.id}\t{lab.spec.track}\t{lab.spec.minutes} min\t{lab.spec.title}")


@lab_app.command("reset")
def lab_reset(lab_id: str, dir: DirOption) -> None:
    """Write the lab's starter files into DIR (replacing what is there)."""
    from triops.labs import runs

    runs.reset(_lab(lab_id), dir)
    typer.echo(f"wrote the starter of {lab_id} to {dir}")


@lab_app.command("solve")
def lab_solve(lab_id: str, dir: DirOption) -> None:
    """Write the lab's solution into DIR (replacing what is there)."""
    from triops.labs import runs

    runs.solve(_lab(lab_id), dir)
    typer.echo(f"wrote the solution of {lab_id} to {dir}")


@lab_app.command("run")
def lab_run(
    lab_id: str,
    dir: DirOption,
    artifacts: Annotated[
        Path | None,
        typer.Option(
            help="Keep the run's artifacts (reports, drift tables, registry...) in this folder."
        ),
    ] = None,
) -> None:
    """Run the lab on the files in DIR, in the sandbox; exit 0 when the run succeeds, 1 when
    it fails, 2 on a problem of the machine."""
    from triops.errors import TriopsError
    from triops.labs import runs
    from triops.labs.ci.model import WorkflowError, WorkflowUnreadable

    lab = _lab(lab_id)
    box = _sandbox()
    try:
        box.check()
        run = runs.execute(
            lab, dir, sandbox=box, labs_venv=get_settings().labs_venv, on_line=typer.echo
        )
    except WorkflowUnreadable as exc:
        _environment_error(exc)
    except WorkflowError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    except (TriopsError, OSError) as exc:
        _environment_error(exc)
    finally:
        box.close()
    if artifacts is not None:
        artifacts.mkdir(parents=True, exist_ok=True)
        shutil.copytree(run.artifacts, artifacts, symlinks=True, dirs_exist_ok=True)
        typer.echo(f"artifacts kept in {artifacts}")
    shutil.rmtree(run.artifacts, ignore_errors=True)
    typer.echo(f"lab run: {run.status} in {run.seconds:.1f} s")
    raise typer.Exit(0 if run.status == "success" else 1)


@lab_app.command("check")
def lab_check(lab_id: str, dir: DirOption) -> None:
    """Run the lab, then print each criterion as passed or failed; exit 0 when all pass, 1
    when one fails, 2 on a problem of the machine."""
    from triops.errors import TriopsError
    from triops.labs import runs
    from triops.labs.ci.model import WorkflowError, WorkflowUnreadable

    lab = _lab(lab_id)
    box = _sandbox()
    try:
        box.check()
        result = runs.check(
            lab, dir, sandbox=box, labs_venv=get_settings().labs_venv, on_line=typer.echo
        )
    except WorkflowUnreadable as exc:
        _environment_error(exc)
    except WorkflowError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    except (TriopsError, OSError) as exc:
        _environment_error(exc)
    finally:
        box.close()
    shutil.rmtree(result.run.artifacts, ignore_errors=True)
    for c in result.criteria:
        typer.echo(f"{'passed' if c.passed else 'failed'}: {c.name}: {c.reason}")
    typer.echo(
        f"check: {'passed' if result.passed else 'failed'} "
        f"({sum(c.passed for c in result.criteria)} of {len(result.criteria)})"
    )
    raise typer.Exit(0 if result.passed else 1)


tasks_app = typer.Typer(
    help="Performance-based exam items (quizzes/tasks/): list them, check one end to end.",
    no_args_is_help=True,
)
app.add_typer(tasks_app, name="tasks")


@tasks_app.command("list")
def tasks_list() -> None:
    """Every task with its track, domain, time budget and title."""
    from triops.tasks.spec import load_tasks

    for task in load_tasks(get_settings().root).tasks:
        s = task.spec
        typer.echo(f"{task.key}\t{s.domain}\t{s.minutes} min\t{s.title}")


@tasks_app.command("check")
def tasks_check(
    folder: Annotated[Path, typer.Argument(help="A task folder: quizzes/tasks/<track>/<id>.")],
    once: Annotated[
        bool, typer.Option("--once", help="Grade starter and solution once, not twice.")
    ] = False,
) -> None:
    """Grade the task's starter (must score below 100) and solution (must score 100), each twice
    with the same verdicts, printing each criterion; exit 0 when the task is sound, 1 when it is
    not, 2 when it does not load or the machine cannot run it."""
    from triops.errors import TriopsError
    from triops.tasks.selfcheck import self_check
    from triops.tasks.spec import course_domains, load_task

    root = get_settings().root
    task, problems = load_task(folder.resolve(), root, course_domains(root))
    for problem in problems:
        typer.echo(str(problem), err=True)
    if task is None:
        if not problems:
            typer.echo(f"error: {folder} is not a task folder", err=True)
        raise typer.Exit(2)

    def shown(label: str, grade) -> None:
        typer.echo(f"{label}: {grade.points}/100")
        for v in grade.verdicts:
            mark = "passed" if v.passed else "failed"
            typer.echo(f"  {mark}  {v.id} ({v.weight}): {v.reason}")

    settings = get_settings()
    try:
        result = self_check(
            task,
            sandbox_root=settings.sandbox_root,
            labs_venv=settings.labs_venv,
            twice=not once,
            on_grade=shown,
        )
    except (TriopsError, OSError) as exc:
        _environment_error(exc)
    for problem in result.problems:
        typer.echo(f"error: {task.key}: {problem}", err=True)
    if not result.ok:
        raise typer.Exit(1)
    again = "" if once else ", the same verdicts on a second grading"
    typer.echo(f"ok: starter {result.starter.points} < 100, solution 100{again}")


def _search_index(model: str | None = None, rebuild: bool = False):
    """The search index for the course as it is now (with its labs' passages): opened, or
    (re)built incrementally."""
    from triops.labs.spec import load_labs
    from triops.search.service import course_index

    return course_index(
        get_settings(),
        load_labs,
        model,
        rebuild=rebuild,
        log=lambda text: typer.echo(text, err=True),
    )


@app.command()
def index(
    model: Annotated[
        str | None,
        typer.Option(
            help="A sentence-transformers model (default: the packaged all-MiniLM-L6-v2)."
        ),
    ] = None,
) -> None:
    """Build or update the search index (only changed passages are encoded again)."""
    _search_index(model, rebuild=True)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Words or a question.")],
    k: Annotated[int, typer.Option("--k", min=1, max=50, help="How many results.")] = 5,
    track: Annotated[str | None, typer.Option(help="Only this track.")] = None,
    kind: Annotated[
        list[str] | None, typer.Option(help="Only these kinds: lesson, question, lab (repeatable).")
    ] = None,
) -> None:
    """Search lessons, practice questions and labs; each result links to its place."""
    from triops.errors import TriopsError
    from triops.search.index import unescape_snippet

    idx, embedder = _search_index(None)
    try:
        hits = idx.search(query, embedder, k=k, track=track, kinds=kind or None)
    except TriopsError as exc:
        typer.echo(exc.user_message)
        raise typer.Exit(2) from exc
    note = getattr(hits, "note", "")
    if note:
        typer.echo(f"note: {note}")
    if not hits:
        typer.echo("no results")
    for n, hit in enumerate(hits, start=1):
        c = hit.chunk
        where = c.title + (f" › {c.section}" if c.section else "")
        typer.echo(f"{n}. {where}  [{c.kind}, {c.track}]  score {hit.score:.2f}")
        typer.echo(f"   {c.url}")
        typer.echo(f"   {unescape_snippet(hit.snippet)}")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="A question about the course.")],
) -> None:
    """Answer from the lessons with citations, or say "I don't know"."""
    from triops.errors import TriopsError
    from triops.search.ask import ask as run_ask
    from triops.search.ask import persisted_sentences

    idx, embedder = _search_index(None)
    try:
        # The sentence vectors of earlier asks are read from the derived folder and this ask's
        # added: asking again around the same lessons loads only the query encoder.
        with persisted_sentences(embedder):
            answer = run_ask(question, idx, embedder)
    except TriopsError as exc:
        typer.echo(exc.user_message)
        raise typer.Exit(2) from exc
    if answer.abstained:
        typer.echo(answer.reason or "I don't know: the course does not seem to cover this.")
        typer.echo(f"(confidence {answer.confidence:.2f})")
        return
    for n, sentence in enumerate(answer.sentences, start=1):
        typer.echo(f"{sentence.text} [{n}]")
    typer.echo("")
    for n, sentence in enumerate(answer.sentences, start=1):
        c = sentence.chunk
        where = c.title + (f" › {c.section}" if c.section else "")
        typer.echo(f"[{n}] {where}: {c.url}")
    typer.echo(f"(confidence {answer.confidence:.2f})")


@app.command()
def worker(
    concurrency: Annotated[
        int, typer.Option(min=1, max=16, help="Lab jobs this worker runs at once.")
    ] = 1,
    heartbeat: Annotated[
        float, typer.Option(min=0.1, help="Seconds between this worker's heartbeats.")
    ] = 10.0,
    stalled_after: Annotated[
        float,
        typer.Option(help="Seconds without a heartbeat after which a worker counts as dead."),
    ] = 30.0,
    attempts: Annotated[
        int,
        typer.Option(min=1, help="Runs a job gets when its workers die, before it ends failed."),
    ] = 2,
    check_every: Annotated[
        float, typer.Option(min=0.1, help="Seconds between checks for stalled jobs.")
    ] = 10.0,
    take_pause: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="Seconds between the three tries to take a queued job's row while the "
            "database refuses it.",
        ),
    ] = 1.0,
    queue: Annotated[
        list[str] | None,
        typer.Option(
            help="Only this queue: labs (lab runs, checks, task runs) or index (repeatable; "
            "default both)."
        ),
    ] = None,
) -> None:
    """Run queued lab runs, lab checks, hands-on task runs and search index builds (PostgreSQL
    only; see docs/WORKERS.md) until stopped."""
    from triops.errors import TriopsError
    from triops.labs.worker import work

    try:
        work(
            concurrency=concurrency,
            heartbeat=heartbeat,
            stalled_after=stalled_after,
            attempts=attempts,
            check_every=check_every,
            take_pause=take_pause,
            **({"queues": tuple(queue)} if queue else {}),
        )
    except TriopsError as exc:
        typer.echo(f"error: {exc.user_message}", err=True)
        raise typer.Exit(1) from exc
    except KeyboardInterrupt:
        pass


# `eval run` gets the course's index from here (its obj): the index holds the labs' passages,
# and the evals library knows nothing of the labs.
app.add_typer(eval_app, name="eval", context_settings={"obj": _search_index})


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "imported"


def main() -> None:
    app()


if __name__ == "__main__":
    main()
