"""A throwaway PostgreSQL server for the tests, from Debian's packages; no service is assumed.

Load it with `pytest_plugins = ["tests.pgserver"]` at the top of a test file. One server per test
process (per xdist worker), started in a temp folder with its socket there and no TCP listener,
stopped and deleted at the end; every test that asks gets a fresh database: empty (`pg_url`), or
with the schema already migrated for the tests run on both backends (`state_backend`).

PostgreSQL refuses to run as root, so as root (tests and CI here) the server runs as the
`postgres` user in a folder that user owns. Without the binaries the PostgreSQL tests skip with
the reason, and fail instead under TRIOPS_REQUIRE_POSTGRES=1 (as .ci/run sets), so CI can never
pass them by skipping.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_BIN = Path(os.environ.get("TRIOPS_PG_BIN", "/usr/lib/postgresql/15/bin"))
SERVER_USER = "postgres"


def postgres_missing_reason() -> str | None:
    if not (PG_BIN / "initdb").exists() or not (PG_BIN / "pg_ctl").exists():
        return f"PostgreSQL binaries not found in {PG_BIN} (Debian package postgresql-15)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root and there is no '{SERVER_USER}' user to run PostgreSQL as"
    return None


def require_postgres() -> None:
    reason = postgres_missing_reason()
    if reason:
        if os.environ.get("TRIOPS_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required (TRIOPS_REQUIRE_POSTGRES=1) but {reason}")
        pytest.skip(reason)


@dataclass
class PgServer:
    folder: Path
    socket_dir: Path
    _names = itertools.count(1)
    _template: str | None = None  # a database this process migrated (migrated_database)

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{SERVER_USER}@/{dbname}?host={self.socket_dir}"

    def create_database(self) -> str:
        """A fresh empty database; its URL."""
        import psycopg

        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE template0 STRATEGY file_copy")
        return self.url(name)

    def migrated_database(self) -> str:
        """A fresh database with every migration applied: a copy (CREATE DATABASE ... TEMPLATE)
        of one this process migrated once, as tests/conftest.py `fresh_state` copies a migrated
        DuckDB file. open_state still checks the migrations, and finds nothing to apply.
        Migrating each test's database took 0.25-0.33 s of its setup."""
        import psycopg
        from psycopg.conninfo import conninfo_to_dict

        from triops.store.postgres import PostgresState
        from triops.store.schema import migrate

        if self._template is None:
            url = self.create_database()
            state = PostgresState.open(url)
            try:
                migrate(state)
            finally:
                state.close()  # a template may have no connection while it is copied
            self._template = conninfo_to_dict(url)["dbname"]
        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {self._template} STRATEGY file_copy")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database `create_database` made (connections a test left open are ended)."""
        import psycopg
        from psycopg.conninfo import conninfo_to_dict

        name = conninfo_to_dict(url)["dbname"]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _as_server_user(args: list[str]) -> list[str]:
    return ["runuser", "-u", SERVER_USER, "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="session")
def pg_server():
    require_postgres()
    # /tmp, not $TMPDIR: the server user must be able to reach the folder (and the socket path
    # must stay short).
    folder = Path(
        tempfile.mkdtemp(prefix="triops-pg-", dir="/tmp" if Path("/tmp").is_dir() else None)
    )
    data, sockets = folder / "data", folder / "run"
    sockets.mkdir()
    if os.geteuid() == 0:
        user = pwd.getpwnam(SERVER_USER)
        for path in (folder, sockets):
            os.chown(path, user.pw_uid, user.pw_gid)
    try:
        subprocess.run(
            _as_server_user(
                [
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    SERVER_USER,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
            text=True,
        )
        # No TCP listener (the socket only); durability of the server itself is not under test.
        options = (
            f"-k {sockets} -c listen_addresses='' -c fsync=off -c full_page_writes=off "
            "-c max_connections=300"
        )
        subprocess.run(
            _as_server_user(
                [
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(data),
                    "-o",
                    options,
                    "-l",
                    str(folder / "server.log"),
                    "-w",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
            text=True,
        )
    except subprocess.CalledProcessError as exc:
        log = folder / "server.log"
        detail = log.read_text() if log.exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {exc.stderr}{exc.stdout}{detail}")
    try:
        yield PgServer(folder, sockets)
    finally:
        subprocess.run(
            _as_server_user([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server):
    """The URL of a fresh empty database on the throwaway server, dropped after the test."""
    url = pg_server.create_database()
    yield url
    pg_server.drop_database(url)


@pytest.fixture
def pg_migrated_url(pg_server):
    """The URL of a fresh database with every migration applied, dropped after the test."""
    url = pg_server.migrated_database()
    yield url
    pg_server.drop_database(url)


@pytest.fixture(params=["duckdb", "postgres"])
def state_backend(request, monkeypatch):
    """Run the test once on each backend: TRIOPS_DATABASE_URL names a fresh PostgreSQL database
    for 'postgres' (migrated, as `db`'s DuckDB file is: `pg_migrated_url`) and is unset for
    'duckdb', so `open_state` (and any process the test starts with this environment) opens
    that backend."""
    if request.param == "postgres":
        monkeypatch.setenv("TRIOPS_DATABASE_URL", request.getfixturevalue("pg_migrated_url"))
    else:
        monkeypatch.delenv("TRIOPS_DATABASE_URL", raising=False)
    return request.param
