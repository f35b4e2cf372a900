"""The learner-state store (on a real DuckDB file and on a throwaway PostgreSQL) and the market
artifact (DuckDB)."""

from datetime import datetime, timedelta

import duckdb
import pytest

from conftest import fresh_state
from triops.errors import InvalidInputError, StoreError
from triops.market.data import load_market_data
from triops.store import market, progress, users
from triops.store.connection import connect, open_state
from triops.store.schema import applied_versions, migrate, migrations

pytest_plugins = ["tests.pgserver"]

T0 = datetime(2026, 11, 28, 9, 0, 0)


@pytest.fixture
def db(tmp_path, state_backend):
    conn = fresh_state(tmp_path / "state.duckdb")
    yield conn
    conn.close()


def test_migrate_from_empty_applies_every_migration(tmp_path):
    conn = connect(tmp_path / "state.duckdb")
    applied = migrate(conn)
    assert applied == [m.version for m in migrations()]
    tables = {
        r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    assert {
        "users",
        "lesson_completions",
        "lesson_visits",
        "app_state",
        "schema_migrations",
    } <= tables


def test_migrate_again_applies_nothing_and_keeps_data(tmp_path):
    path = tmp_path / "state.duckdb"
    conn = open_state(path)
    users.create_user(conn, "Ada", T0)
    conn.close()
    conn = connect(path)
    assert migrate(conn) == []
    assert applied_versions(conn) == [m.version for m in migrations()]
    assert [u.name for u in users.list_users(conn)] == ["Ada"]


def test_state_survives_reopening_the_file(tmp_path):
    path = tmp_path / "state.duckdb"
    conn = open_state(path)
    user = users.create_user(conn, "Grace", T0)
    progress.mark_complete(conn, user.id, "devops-dora-metrics", T0)
    conn.close()
    conn = open_state(path)
    assert progress.completed_lessons(conn, user.id) == {"devops-dora-metrics": T0}


def test_second_writer_on_the_same_file_gets_a_clear_error(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "state.duckdb"
    conn = open_state(path)
    code = (
        "import sys\nfrom pathlib import Path\nfrom triops.store.connection import connect\n"
        "from triops.errors import StoreError\n"
        "try:\n    connect(Path(sys.argv[1]))\nexcept StoreError as e:\n    print(e.user_message)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True)
    conn.close()
    assert "Is another Triops process using this TRIOPS_HOME?" in out.stdout


def test_create_user_rejects_duplicate_names_regardless_of_case(db):
    users.create_user(db, "Ada Lovelace", T0)
    with pytest.raises(InvalidInputError, match="already exists"):
        users.create_user(db, "  ada   LOVELACE ", T0)


@pytest.mark.parametrize("name", ["", "   ", "x" * 61, "bell\x07"])
def test_create_user_rejects_bad_names(db, name):
    with pytest.raises(InvalidInputError):
        users.create_user(db, name, T0)


def test_profile_names_are_stored_verbatim_not_interpreted(db):
    user = users.create_user(db, "<b>bold</b> '; DROP TABLE users; --", T0)
    assert users.get_user(db, user.id).name == "<b>bold</b> '; DROP TABLE users; --"
    assert len(users.list_users(db)) == 1


def test_mark_complete_is_idempotent_and_keeps_first_time(db):
    user = users.create_user(db, "Ada", T0)
    progress.mark_complete(db, user.id, "a", T0)
    progress.mark_complete(db, user.id, "a", T0 + timedelta(hours=1))
    assert progress.completed_lessons(db, user.id) == {"a": T0}
    progress.mark_incomplete(db, user.id, "a")
    assert progress.completed_lessons(db, user.id) == {}


def test_progress_is_kept_per_user(db):
    ada = users.create_user(db, "Ada", T0)
    bob = users.create_user(db, "Bob", T0)
    progress.mark_complete(db, ada.id, "a", T0)
    assert progress.completed_lessons(db, bob.id) == {}


def test_last_visit_is_the_most_recent(db):
    user = users.create_user(db, "Ada", T0)
    assert progress.last_visit(db, user.id) is None
    progress.record_visit(db, user.id, "a", T0)
    progress.record_visit(db, user.id, "b", T0 + timedelta(minutes=5))
    progress.record_visit(db, user.id, "c", T0 - timedelta(minutes=5))
    assert progress.last_visit(db, user.id).lesson_id == "b"


def test_app_state_upserts(db):
    assert users.get_state(db, "k") is None
    users.set_state(db, "k", "1")
    users.set_state(db, "k", "2")
    assert users.get_state(db, "k") == "2"


def test_failed_migration_rolls_back_and_says_which(tmp_path, monkeypatch):
    from triops.store import schema

    broken = schema.Migration(9999, "broken", "CREATE TABLE t (x INTEGER); SELECT * FROM nowhere;")
    monkeypatch.setattr(
        schema,
        "migrations",
        lambda: (
            [*schema.migrations.__wrapped__(), broken]
            if hasattr(schema.migrations, "__wrapped__")
            else [broken]
        ),
    )
    conn = connect(tmp_path / "s.duckdb")
    with pytest.raises(StoreError, match="migration 9999_broken failed"):
        schema.migrate(conn)
    tables = {
        r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    assert "t" not in tables
    assert 9999 not in schema.applied_versions(conn)


def test_market_artifact_is_built_once_per_fingerprint_and_read_only(mini_root, tmp_path):
    data = load_market_data(mini_root / "data")
    derived = tmp_path / "derived"
    path = market.build(data, derived)
    assert path.name == f"market-{data.fingerprint}.duckdb"
    mtime = path.stat().st_mtime_ns
    assert market.build(data, derived) == path and path.stat().st_mtime_ns == mtime
    store = market.open_market(path)
    frame = store.salaries(roles=["MLOps Engineer"])
    assert frame["amount"].tolist() == [87220.0]
    assert frame["cited"].tolist() == ["ZipRecruiter (2026)"]
    with pytest.raises(duckdb.Error):
        store._conn.execute("DELETE FROM salaries")
    store.close()


def test_market_artifact_is_replaced_when_data_changes(mini_root, tmp_path):
    derived = tmp_path / "derived"
    first = market.build(load_market_data(mini_root / "data"), derived)
    csv = mini_root / "data" / "salaries.csv"
    csv.write_text(
        csv.read_text() + "LLMOps Engineer,not stated,165000,USD,year,low,"
        "freelancer.company (own survey),https://freelancer.company/blog/x,,2026,"
        "freelancer.company\n"
    )
    data = load_market_data(mini_root / "data")
    second = market.build(data, derived)
    assert second != first and not first.exists()
    store = market.open_market(second)
    row = store.salaries(roles=["LLMOps Engineer"]).iloc[0]
    assert row["cited"] == "freelancer.company (own survey) (undated, read 2026)"
    roles, regions = store.salary_options()
    assert roles == ["DevOps Engineer", "LLMOps Engineer", "MLOps Engineer"]
    store.close()
