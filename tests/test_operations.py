"""Operations (issue 19 item 6, bad input and faults): a replica's health check asks its
database; logs are JSON lines naming the replica, the user and the attempt, and never a secret;
a database restart is a "reconnecting" notice, not an error; a wrong or unreachable database
stops start-up with one line naming the host and the cause; a failed migration changes nothing."""

from __future__ import annotations

import io
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.cluster_fixtures import REPO, restartable_postgres  # noqa: F401 - a fixture
from tests.test_browser_exam import answered_marks, idle
from triops import ops
from triops.errors import StoreError
from triops.store import schema, users
from triops.store.connection import check_startup, open_state
from triops.testing import free_port, streamlit_server
from triops.ui.offline import REPLICA_DOWN

pytest_plugins = ["tests.pgserver"]

REPLICA = REPO / "deploy" / "replica.py"


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _with_password(url: str) -> str:
    """The same URL with a password (the throwaway server trusts local logins, so it is
    accepted and ignored): anything that leaks it into a log or a page shows up."""
    return url.replace("postgres@", "postgres:s3cret-pw@", 1)


# -- logs ---------------------------------------------------------------------------------------


def test_passwords_in_urls_and_settings_are_masked():
    text = (
        "cannot connect to postgresql://triops:hunter2@db.example:5432/state "
        "(password=hunter2 sslmode=require) client_secret: abc123"
    )
    masked = ops.redact(text)
    assert "hunter2" not in masked and "abc123" not in masked
    assert "postgresql://triops:***@db.example:5432/state" in masked
    assert "sslmode=require" in masked


def test_a_json_line_names_the_replica_user_and_attempt_and_no_secret(monkeypatch):
    monkeypatch.setenv(ops.REPLICA, "replica-7")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(ops.JsonFormatter())
    logger = logging.getLogger("triops.test-operations")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    ops.set_context_provider(lambda: {"user": "u1", "attempt": "tok", "page": None})
    try:
        logger.info("saved to postgresql://a:pw@h/db", extra={"ms": 1.5, "what": "x password=pw"})
        try:
            raise RuntimeError("dsn host=h password=pw")
        except RuntimeError:
            logger.exception("failed")
        ops.set_context_provider(lambda: 1 / 0)  # a broken provider never breaks logging
        logger.info("outside")
    finally:
        ops.set_context_provider(None)
        logger.removeHandler(handler)
    first, second, third = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["replica"] == "replica-7" and first["level"] == "INFO"
    assert (first["user"], first["attempt"], first["ms"]) == ("u1", "tok", 1.5)
    assert "page" not in first
    assert second["level"] == "ERROR" and "RuntimeError" in second["error"]
    assert "user" not in third and third["message"] == "outside"
    assert "pw" not in stream.getvalue().replace("password", "")


def test_json_logs_only_when_asked(monkeypatch):
    monkeypatch.delenv(ops.LOG_FORMAT, raising=False)
    assert ops.configure_logging(io.StringIO()) is False
    assert not any(
        isinstance(h.formatter, ops.JsonFormatter) for h in logging.getLogger("triops").handlers
    )


# -- start-up -----------------------------------------------------------------------------------


def _start_replica(url: str, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "streamlit", "run", str(REPLICA), "--server.port", str(free_port())]
        + ["--server.headless", "true", "--browser.gatherUsageStats", "false"],
        env={"PATH": "/usr/bin:/bin", "TRIOPS_HOME": str(tmp_path), "TRIOPS_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow  # starts a replica
def test_an_unreachable_database_stops_a_replica_with_one_line(tmp_path):
    result = _start_replica("postgresql://triops:s3cret@127.0.0.1:1/state", tmp_path)
    assert result.returncode == 1
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("error: cannot connect to PostgreSQL at 127.0.0.1:1/state: ")
    assert "refused" in errors[0]
    assert "Traceback" not in result.stderr
    assert "s3cret" not in result.stderr + result.stdout


def test_a_wrong_database_name_stops_start_up_naming_it(pg_server, monkeypatch):
    monkeypatch.setenv("TRIOPS_DATABASE_URL", _with_password(pg_server.url("no_such_db")))
    problem = check_startup()
    assert problem is not None and "\n" not in problem
    assert "/no_such_db" in problem and "does not exist" in problem
    assert "s3cret" not in problem


def test_without_a_database_url_start_up_leaves_the_duckdb_file_to_the_app(monkeypatch):
    monkeypatch.delenv("TRIOPS_DATABASE_URL", raising=False)
    assert check_startup() is None


@pytest.mark.parametrize("backend", ["duckdb", "postgres"])
def test_a_failed_migration_leaves_tables_and_rows_as_they_were(
    backend, tmp_path, monkeypatch, request
):
    if backend == "postgres":
        monkeypatch.setenv("TRIOPS_DATABASE_URL", request.getfixturevalue("pg_url"))
    else:
        monkeypatch.delenv("TRIOPS_DATABASE_URL", raising=False)
    db = open_state(tmp_path / "state.duckdb")
    try:
        from datetime import datetime

        kept = users.create_user(db, "Kept", datetime(2026, 12, 6, 12, 0))
        before = schema.applied_versions(db)
        columns = db.execute("SELECT * FROM users").df().columns.tolist()
        shipped = schema.migrations()
        broken = schema.Migration(
            max(before) + 1,
            "broken",
            "ALTER TABLE users ADD COLUMN nickname VARCHAR; "
            "CREATE TABLE half_done (x INTEGER); "
            "DELETE FROM users; "
            "INSERT INTO no_such_table VALUES (1);",
        )
        monkeypatch.setattr(schema, "migrations", lambda: [*shipped, broken])
        with pytest.raises(StoreError, match=f"migration {broken.version:04d}_broken failed"):
            schema.migrate(db)
        assert schema.applied_versions(db) == before
        assert db.execute("SELECT * FROM users").df().columns.tolist() == columns
        assert [u.id for u in users.list_users(db)] == [kept.id]
        with pytest.raises(Exception):  # noqa: B017 - either database's "no such table"
            db.execute("SELECT * FROM half_done").fetchall()
    finally:
        db.close()


# -- health, logs and a database restart in a running replica ----------------------------------


def _exam_with_three_answers(page, url: str) -> list[int]:
    page.goto(f"{url}/exam")
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_label("Name").fill("Candidate")
    sidebar.get_by_role("button", name="Create profile").click()
    page.locator(".st-key-start-devops-practitioner").get_by_role("button").click()
    page.get_by_text("Question 1 of 30").wait_for()
    answered, position = [], 1
    while len(answered) < 3:
        position = _answer_and_move(page, position, answered)
    return answered


def _answer_and_move(page, position: int, answered: list[int]) -> int:
    # Count the radios of this question only once its run is over: during a rerun the last
    # question's radio is still on the page, and this one may be a checkbox or a list item.
    page.get_by_text(f"Question {position} of 30").wait_for()
    idle(page)
    radios = page.locator("[data-testid=stMainBlockContainer] [data-testid=stRadio]")
    if radios.count():
        radios.first.locator("label:has(input[type=radio])").first.click()
        idle(page)
        page.get_by_text("Answer saved at").wait_for()
        answered.append(position)
    idle(page)
    page.get_by_role("button", name="Next", exact=True).click()
    page.get_by_text(f"Question {position + 1} of 30").wait_for()
    idle(page)
    return position + 1


@pytest.mark.browser
def test_a_database_restart_is_a_reconnecting_notice_and_loses_nothing(
    browser,
    restartable_postgres,  # noqa: F811
    tmp_path,
):
    url = _with_password(restartable_postgres.start())
    env = {
        "TRIOPS_HOME": str(tmp_path / "home"),
        "TRIOPS_DATABASE_URL": url,
        "TRIOPS_LOG_FORMAT": "json",
        "TRIOPS_REPLICA": "replica-t",
    }
    with streamlit_server(REPLICA, env=env) as server:
        status, report = _get(f"{server.url}/healthz")
        assert status == 200 and report["status"] == "ok" and report["replica"] == "replica-t"
        assert report["backend"] == "postgres" and report["database"].endswith("/triops")

        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        answered = _exam_with_three_answers(page, server.url)
        attempt = dict(p.split("=", 1) for p in page.url.split("?", 1)[1].split("&"))["attempt"]

        restartable_postgres.stop(keep_socket_dir=True)
        status, report = _get(f"{server.url}/healthz")
        assert status == 503 and report["status"] == "unavailable"
        assert "Reconnecting to the database at " in report["error"]
        # The candidate moves on while the database is down: a notice, no error, no traceback.
        page.get_by_role("button", name="Next", exact=True).click()
        page.get_by_text("Reconnecting to the database").first.wait_for(timeout=60_000)
        assert page.get_by_test_id("stException").count() == 0
        assert "s3cret" not in page.content()

        restartable_postgres.start()
        page.get_by_text("Reconnecting to the database").first.wait_for(
            state="detached", timeout=60_000
        )
        page.get_by_text("3 of 30 answered").wait_for()
        status, _ = _get(f"{server.url}/healthz")
        assert status == 200
        position = int(page.url.rsplit("q=", 1)[1].split("&")[0])
        while len(answered) < 4:
            position = _answer_and_move(page, position, answered)
        page.reload()
        page.get_by_text("4 of 30 answered").wait_for()
        assert answered_marks(page, 4) == set(answered)
        # A replica's connection-lost dialog does not send the candidate to `triops serve`.
        idle(page)
        page.wait_for_function("() => window.__triopsConnectionText === true")
        server.process.terminate()
        server.process.wait(timeout=30)
        dialog = page.get_by_role("dialog")
        dialog.get_by_text(REPLICA_DOWN).wait_for(timeout=60_000)
        assert "triops serve" not in dialog.inner_text()
        page.close()
        log = server.log.read_text()

    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert records and all(r["replica"] == "replica-t" for r in records)
    runs = [r for r in records if r["message"] == "script run" and r.get("attempt") == attempt]
    assert runs and all(r.get("user") for r in runs)
    assert any(r["level"] == "WARNING" and "database unavailable" in r["message"] for r in records)
    assert "s3cret" not in log


@pytest.mark.slow  # starts a replica
def test_a_duckdb_replica_reports_its_file(tmp_path):
    env = {"TRIOPS_HOME": str(tmp_path / "home")}
    with streamlit_server(REPLICA, env={**env, "TRIOPS_DATABASE_URL": ""}) as server:
        status, report = _get(f"{server.url}/healthz")
    assert status == 200 and report["backend"] == "duckdb"
    assert report["database"] == str((tmp_path / "home" / "state.duckdb").resolve())


# -- backup and restore, as docs/OPERATIONS.md gives them ------------------------------------


def test_the_guide_s_pg_dump_and_pg_restore_bring_back_every_learner(
    pg_server, tmp_path, monkeypatch
):
    """docs/OPERATIONS.md's backup (pg_dump, custom format) and restore (pg_restore into a new
    database, one transaction, stopping at the first error) with the server's own tools."""
    from datetime import datetime

    from tests.pgserver import PG_BIN, _as_server_user

    source = pg_server.create_database()
    target = pg_server.create_database()
    monkeypatch.setenv("TRIOPS_DATABASE_URL", source)
    db = open_state(tmp_path / "unused.duckdb")
    made = [users.create_user(db, f"Learner {n}", datetime(2026, 12, 6, 12, n)) for n in range(3)]
    versions = schema.applied_versions(db)
    db.close()
    dump = Path(tempfile.mkdtemp(prefix="triops-dump-", dir="/tmp")) / "triops.dump"
    dump.parent.chmod(0o777)
    try:
        subprocess.run(
            _as_server_user([str(PG_BIN / "pg_dump"), "--format=custom", f"--file={dump}", source]),
            check=True,
            capture_output=True,
        )
        subprocess.run(
            _as_server_user(
                [str(PG_BIN / "pg_restore"), "--no-owner", "--exit-on-error"]
                + ["--single-transaction", f"--dbname={target}", str(dump)]
            ),
            check=True,
            capture_output=True,
        )
    finally:
        shutil.rmtree(dump.parent, ignore_errors=True)
    monkeypatch.setenv("TRIOPS_DATABASE_URL", target)
    restored = open_state(tmp_path / "unused.duckdb")
    try:
        assert schema.applied_versions(restored) == versions
        assert {u.id for u in users.list_users(restored)} == {u.id for u in made}
    finally:
        restored.close()
        for url in (source, target):
            pg_server.drop_database(url)


# -- the store's side of a database restart -------------------------------------------------


def test_only_connection_failures_count_as_the_database_being_unavailable():
    import psycopg
    from psycopg_pool import PoolTimeout

    from triops.store.postgres import unavailable

    assert unavailable(PoolTimeout("no connection in 10 s"))
    assert unavailable(psycopg.OperationalError("server closed the connection unexpectedly"))
    assert unavailable(psycopg.errors.AdminShutdown("terminating connection"))
    assert unavailable(psycopg.errors.ConnectionFailure("connection failure"))
    # A conflict or a timeout of one statement is the caller's to retry or report.
    assert not unavailable(psycopg.errors.SerializationFailure("could not serialize"))
    assert not unavailable(psycopg.errors.LockNotAvailable("lock timeout"))
    assert not unavailable(psycopg.errors.UniqueViolation("duplicate key"))


def test_a_transaction_cut_by_a_restart_is_unavailable_and_the_handle_works_after(
    restartable_postgres,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    from datetime import datetime

    from triops.store.postgres import DatabaseUnavailable

    monkeypatch.setenv("TRIOPS_DATABASE_URL", _with_password(restartable_postgres.start()))
    db = open_state(tmp_path / "unused.duckdb")
    try:
        kept = users.create_user(db, "Kept", datetime(2026, 12, 6, 12, 0))
        handle = db.cursor()
        handle.execute("BEGIN TRANSACTION")
        handle.execute("UPDATE users SET name = ? WHERE id = ?", ["Never", kept.id])
        restartable_postgres.stop(keep_socket_dir=True)
        with pytest.raises(DatabaseUnavailable) as caught:
            handle.execute("UPDATE users SET name = ? WHERE id = ?", ["Lost", kept.id])
        message = caught.value.user_message
        assert message.startswith("Reconnecting to the database at ")
        assert "s3cret" not in message and "\n" not in message
        restartable_postgres.start()
        handle.execute("BEGIN TRANSACTION")  # the cut transaction no longer holds the handle
        handle.execute("ROLLBACK")
        assert [u.name for u in users.list_users(db)] == ["Kept"]
    finally:
        db.close()


def test_triops_serve_given_an_unreachable_database_stops_with_one_line(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from triops.cli import app

    monkeypatch.setenv("TRIOPS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TRIOPS_DATABASE_URL", "postgresql://triops:s3cret@127.0.0.1:1/state")
    result = CliRunner().invoke(app, ["serve", "--port", str(free_port())])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: cannot connect to PostgreSQL at 127.0.0.1:1/state: ")
    assert "s3cret" not in result.output


# -- the notice itself ----------------------------------------------------------------------


def _hook_script():
    import streamlit as st

    from triops.store.postgres import DatabaseUnavailable
    from triops.ui.server import on_script_error

    # What Streamlit calls with an exception no page handled (a widget callback, a fragment).
    st.session_state["bug"] = on_script_error(ValueError("a bug"))
    st.session_state["handled"] = on_script_error(
        DatabaseUnavailable("Reconnecting to the database at h:5432/db (down).")
    )


def _retry_script():
    import streamlit as st

    from triops.store.postgres import DatabaseUnavailable
    from triops.ui.reconnect import reconnecting

    runs = st.session_state["runs"] = st.session_state.get("runs", 0) + 1
    with reconnecting():
        if runs == 1:
            raise DatabaseUnavailable("Reconnecting to the database at h:5432/db (down).")
        st.markdown("page drawn")


def test_an_unhandled_database_outage_is_a_notice_and_a_bug_stays_a_bug():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_hook_script, default_timeout=30).run()
    assert at.session_state["bug"] is False and at.session_state["handled"] is True
    assert [w.value for w in at.warning] == ["Reconnecting to the database at h:5432/db (down)."]


def test_a_page_cut_by_an_outage_runs_again_by_itself(monkeypatch):
    from streamlit.testing.v1 import AppTest

    from triops.ui import reconnect

    # The pause before the rerun (2 s in the product) is not what this test asserts.
    monkeypatch.setattr(reconnect, "RETRY_SECONDS", 0.1)
    at = AppTest.from_function(_retry_script, default_timeout=30).run()
    assert not at.exception
    assert at.session_state["runs"] == 2  # the notice's rerun, without anyone clicking
    assert [m.value for m in at.markdown] == ["page drawn"]
