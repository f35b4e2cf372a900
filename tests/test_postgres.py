"""The PostgreSQL backend of the learner state, on a throwaway PostgreSQL 15 (tests/pgserver.py):
the adapter's placeholders and transactions, the migrations' parity with DuckDB, visibility of
an acknowledged answer to another connection, and clear errors for a bad URL."""

import random
import threading
from datetime import datetime, timedelta

import psycopg
import pytest

from conftest import REPO
from triops.errors import StoreError
from triops.quiz import exam as engine
from triops.quiz.bank import load_bank
from triops.quiz.blueprint import load_exams
from triops.quiz.grading import right_answer
from triops.store import schema, users
from triops.store.connection import checkpoint, open_state, open_state_file, rollback
from triops.store.postgres import PostgresState, describe, translate

pytest_plugins = ["tests.pgserver"]

T0 = datetime(2026, 11, 28, 9, 0, 0)


@pytest.fixture
def pg(pg_url, monkeypatch, tmp_path):
    monkeypatch.setenv("TRIOPS_DATABASE_URL", pg_url)
    conn = open_state(tmp_path / "unused.duckdb")
    yield conn
    conn.close()


def test_placeholders_become_psycopg_ones_outside_literals_identifiers_and_comments():
    assert translate("SELECT ? WHERE a = ?") == "SELECT %s WHERE a = %s"
    assert translate("SELECT '?', \"a?\", ? -- why?\n, ?") == (
        "SELECT '?', \"a?\", %s -- why?\n, %s"
    )
    assert translate("SELECT 'it''s ?', ?") == "SELECT 'it''s ?', %s"
    assert translate("SELECT x LIKE '50%' AND y % 2 = ?") == (
        "SELECT x LIKE '50%%' AND y %% 2 = %s"
    )


def test_a_percent_sign_and_a_question_mark_in_data_arrive_verbatim(pg):
    users.set_state(pg, "note", "50% done? yes")
    assert users.get_state(pg, "note") == "50% done? yes"
    assert pg.execute("SELECT 'a?b' || ?", ["%s"]).fetchone() == ("a?b%s",)


def test_open_state_without_a_url_is_the_duckdb_file(tmp_path, monkeypatch):
    monkeypatch.delenv("TRIOPS_DATABASE_URL", raising=False)
    conn = open_state(tmp_path / "state.duckdb")
    assert (tmp_path / "state.duckdb").exists()
    assert schema.dialect(conn) == "duckdb"
    conn.close()


def test_with_a_url_nothing_is_written_to_the_file_and_migrations_apply_once(
    pg_url, tmp_path, monkeypatch
):
    monkeypatch.setenv("TRIOPS_DATABASE_URL", pg_url)
    first = open_state(tmp_path / "state.duckdb")
    assert schema.dialect(first) == "postgres"
    assert not (tmp_path / "state.duckdb").exists()
    users.create_user(first, "Ada", T0)
    first.close()
    again = open_state(tmp_path / "state.duckdb")
    assert schema.migrate(again) == []
    assert schema.applied_versions(again) == [m.version for m in schema.migrations()]
    assert [u.name for u in users.list_users(again)] == ["Ada"]
    again.close()


def test_processes_starting_at_once_apply_each_migration_once(pg_url, monkeypatch, tmp_path):
    monkeypatch.setenv("TRIOPS_DATABASE_URL", pg_url)
    opened, failed = [], []

    def start():
        try:
            opened.append(open_state(tmp_path / "unused.duckdb"))
        except Exception as exc:  # noqa: BLE001 - the assertion below names it
            failed.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failed == []
    rows = opened[0].execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    assert [r[0] for r in rows] == [m.version for m in schema.migrations()]
    for conn in opened:
        conn.close()


def _columns(conn, where: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    rows = conn.execute(
        f"SELECT table_name, column_name FROM information_schema.columns WHERE {where}"
    ).fetchall()
    for table, column in rows:
        found.setdefault(table, set()).add(column)
    return found


def test_both_dialects_end_with_the_same_tables_and_columns(pg, tmp_path):
    duck = open_state_file(tmp_path / "state.duckdb")
    on_duckdb = _columns(duck, "table_schema = 'main'")
    duck.close()
    on_postgres = _columns(pg, "table_schema = 'public'")
    # PostgreSQL tables have no implicit row id: the two append-only answer tables carry one.
    for table in ("attempt_responses", "attempt_flags"):
        on_postgres[table].remove("rowid")
    assert on_postgres == on_duckdb
    assert len(on_duckdb) > 20


def test_every_postgres_variant_replaces_a_migration_of_the_same_version_and_name():
    shipped = {(m.version, m.name) for m in schema.migrations()}
    assert set(schema.postgres_variants()) <= shipped
    assert schema.postgres_variants()


def test_a_failed_migration_leaves_the_database_as_it_was(pg, monkeypatch):
    broken = schema.Migration(
        9999, "broken", "CREATE TABLE t (x INTEGER); INSERT INTO users VALUES (1); SELECT * FROM x;"
    )
    monkeypatch.setattr(schema, "migrations", lambda: [broken])
    with pytest.raises(StoreError, match="migration 9999_broken failed"):
        schema.migrate(pg)
    tables = {
        t for (t,) in pg.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    assert "t" not in tables
    assert 9999 not in schema.applied_versions(pg)
    assert users.list_users(pg) == []


def test_an_acknowledged_answer_is_seen_by_another_connection_at_once(pg, pg_url):
    bank = load_bank(REPO)
    exam = load_exams(REPO, bank).get("devops-practitioner")
    user = users.create_user(pg, "Candidate", T0).id
    row = engine.start(pg, exam, bank, user, T0, random.Random(3))
    view = engine.load(pg, row.token, user, T0)
    first = view.questions[0]
    # Another handle of this process holds a transaction open meanwhile: the save must not wait
    # for it, nor ride in it.
    busy = pg.cursor()
    busy.execute("BEGIN TRANSACTION")
    busy.execute("UPDATE app_state SET value = 'x' WHERE key = 'none'")
    engine.save_answer(
        pg, row.token, user, first.position, right_answer(first.question), T0, first.question
    )
    with psycopg.connect(pg_url) as other:
        saved = other.execute(
            "SELECT count(*) FROM attempt_responses WHERE attempt_id = %s AND position = %s",
            [row.token, first.position],
        ).fetchone()[0]
    assert saved == 1
    rollback(busy)
    busy.close()


def test_a_transaction_is_seen_by_others_only_once_committed(pg, pg_url):
    writer, reader = pg.cursor(), pg.cursor()
    writer.execute("BEGIN TRANSACTION")
    writer.execute("INSERT INTO app_state VALUES (?, ?)", ["k", "v"])
    assert reader.execute("SELECT count(*) FROM app_state").fetchone() == (0,)
    writer.execute("COMMIT")
    assert reader.execute("SELECT value FROM app_state").fetchall() == [("v",)]
    writer.execute("BEGIN TRANSACTION")
    writer.execute("DELETE FROM app_state")
    writer.execute("ROLLBACK")
    assert reader.execute("SELECT value FROM app_state").fetchall() == [("v",)]


def test_changed_row_counts_answer_like_duckdb(pg):
    assert pg.execute("INSERT INTO app_state VALUES (?, ?)", ["a", "1"]).fetchone() == (1,)
    claim = "INSERT INTO app_state VALUES (?, ?) ON CONFLICT DO NOTHING"
    assert pg.execute(claim, ["a", "2"]).fetchone() == (0,)
    assert pg.execute("UPDATE app_state SET value = 'x' WHERE key = 'nope'").fetchone() == (0,)


def test_failed_transactions_give_their_connection_back_to_the_pool(pg):
    # The pool holds at most 10; a leak would make the 11th BEGIN wait for its timeout.
    for _ in range(25):
        handle = pg.cursor()
        handle.execute("BEGIN TRANSACTION")
        with pytest.raises(psycopg.errors.UndefinedTable):
            handle.execute("SELECT * FROM no_such_table")
        rollback(handle)
    stats = pg._pool.get_stats()
    assert stats["pool_size"] - stats["pool_available"] == 0
    checkpoint(pg)  # nothing to do on PostgreSQL, and no error


def test_timestamps_averages_and_booleans_come_back_as_python_values(pg):
    user = users.create_user(pg, "Ada", T0)
    assert users.get_user(pg, user.id).created_at == T0
    row = pg.execute(
        "SELECT avg(x), ? + INTERVAL '1 hour', ? FROM (VALUES (1), (2)) AS v(x)",
        [T0, True],
    ).fetchone()
    assert row == (1.5, T0 + timedelta(hours=1), True)
    assert isinstance(row[0], float)
    frame = pg.execute("SELECT id, created_at FROM users").df()
    assert list(frame.columns) == ["id", "created_at"]
    assert frame["created_at"].iloc[0] == T0


def test_a_wrong_or_unreachable_database_is_one_clear_line_naming_it(pg_server, tmp_path):
    missing = pg_server.url("no_such_db").replace("postgres@", "postgres:s3cret@")
    with pytest.raises(StoreError) as caught:
        PostgresState.open(missing, timeout=2)
    message = caught.value.user_message
    assert "no_such_db" in message and "does not exist" in message
    assert "s3cret" not in message and "\n" not in message
    with pytest.raises(StoreError) as caught:
        PostgresState.open("postgresql://triops:pw@127.0.0.1:1/state", timeout=2)
    message = caught.value.user_message
    assert message.startswith("cannot connect to PostgreSQL at 127.0.0.1:1/state: ")
    assert "refused" in message and "pw@" not in message
    assert describe("postgresql://u:p@db.example:6543/triops") == "db.example:6543/triops"


def test_without_postgresql_the_tests_skip_and_under_the_requirement_fail(tmp_path, monkeypatch):
    from tests import pgserver

    monkeypatch.setattr(pgserver, "PG_BIN", tmp_path / "no-postgres")
    assert str(tmp_path / "no-postgres") in pgserver.postgres_missing_reason()
    monkeypatch.delenv("TRIOPS_REQUIRE_POSTGRES", raising=False)
    with pytest.raises(pytest.skip.Exception):
        pgserver.require_postgres()
    monkeypatch.setenv("TRIOPS_REQUIRE_POSTGRES", "1")
    with pytest.raises(pytest.fail.Exception, match="TRIOPS_REQUIRE_POSTGRES=1"):
        pgserver.require_postgres()


def test_a_command_given_an_unreachable_database_says_so_in_one_line(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from triops.cli import app

    monkeypatch.setenv("TRIOPS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TRIOPS_DATABASE_URL", "postgresql://triops:s3cret@127.0.0.1:1/state")
    result = CliRunner().invoke(app, ["users", "list"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: cannot connect to PostgreSQL at 127.0.0.1:1/state: ")
    assert "s3cret" not in result.output and "state.duckdb" not in result.output


def test_connections_the_server_ended_are_replaced_before_the_next_statement(pg, pg_url):
    """What a database restart does to a running app: every connection of its pool is ended by
    the server. The next store call still succeeds (the pool checks a connection as it hands it
    out) and nothing saved before is lost."""
    user = users.create_user(pg, "Before", T0).id
    handles = [pg.cursor() for _ in range(3)]
    for h in handles:  # several pooled connections in use at least once
        h.execute("SELECT 1")
    with psycopg.connect(pg_url, autocommit=True) as admin:
        ended = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()[0]
    assert ended >= 1
    after = users.create_user(pg, "After", T0).id
    names = {u.id: u.name for u in users.list_users(pg)}
    assert names[user] == "Before" and names[after] == "After"
    for h in handles:
        h.close()
