"""Versioned migrations for the learner-state database, applied in order, each exactly once.

One set of migrations serves DuckDB and PostgreSQL. Where the two dialects differ, a
`NNNN_name.postgres.sql` beside `NNNN_name.sql` is what PostgreSQL runs instead (a test checks
that both end with the same tables and columns)."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources

import duckdb

from triops.errors import StoreError

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_POSTGRES_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.postgres\.sql$")
# Taken (per transaction) by each migration on PostgreSQL, so that two app processes starting
# at once apply a migration once: the second waits, then finds it applied.
_MIGRATION_LOCK = 7_304_019


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """The migrations shipped with the package, in version order."""
    found = []
    for entry in resources.files("triops.store").joinpath("migrations").iterdir():
        m = _NAME.match(entry.name)
        if m:
            found.append(Migration(int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda mig: mig.version)
    versions = [mig.version for mig in found]
    if len(set(versions)) != len(versions):
        raise StoreError(f"two migrations share a version number: {versions}")
    return found


def database_errors() -> tuple[type[BaseException], ...]:
    """The error classes of the database in use: DuckDB's, and psycopg's once it is loaded (it
    is imported only when TRIOPS_DATABASE_URL names PostgreSQL, keeping it out of start-up)."""
    psycopg = sys.modules.get("psycopg")
    return (duckdb.Error, psycopg.Error) if psycopg is not None else (duckdb.Error,)


def dialect(conn) -> str:
    """'postgres' for a triops.store.postgres handle, else 'duckdb'."""
    return getattr(conn, "dialect", "duckdb")


def postgres_variants() -> dict[tuple[int, str], str]:
    """The PostgreSQL text of each migration that has one, by (version, name)."""
    found = {}
    for entry in resources.files("triops.store").joinpath("migrations").iterdir():
        m = _POSTGRES_NAME.match(entry.name)
        if m:
            found[(int(m.group(1)), m.group(2))] = entry.read_text(encoding="utf-8")
    return found


def for_dialect(found: list[Migration], name: str) -> list[Migration]:
    """`found` with each migration's SQL as the dialect `name` runs it."""
    if name != "postgres":
        return found
    variants = postgres_variants()
    return [Migration(m.version, m.name, variants.get((m.version, m.name), m.sql)) for m in found]


def applied_versions(conn: duckdb.DuckDBPyConnection) -> list[int]:
    create = (
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    if dialect(conn) == "postgres":
        # Two processes creating the table at once would collide in PostgreSQL's catalog.
        conn.execute("BEGIN TRANSACTION")
        try:
            conn.execute("SELECT pg_advisory_xact_lock(?)", [_MIGRATION_LOCK])
            conn.execute(create)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    else:
        conn.execute(create)
    return [
        row[0]
        for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    ]


def migrate(conn: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply every pending migration, each in its own transaction; return the versions applied."""
    done = set(applied_versions(conn))
    applied = []
    postgres = dialect(conn) == "postgres"
    for mig in for_dialect(migrations(), dialect(conn)):
        if mig.version in done:
            continue
        conn.execute("BEGIN TRANSACTION")
        try:
            if postgres:
                conn.execute("SELECT pg_advisory_xact_lock(?)", [_MIGRATION_LOCK])
                if conn.execute(
                    "SELECT count(*) FROM schema_migrations WHERE version = ?", [mig.version]
                ).fetchone()[0]:
                    conn.execute("COMMIT")  # another process applied it while this one waited
                    continue
            conn.execute(mig.sql)
            conn.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                [mig.version, mig.name, datetime.now(UTC).replace(tzinfo=None)],
            )
            conn.execute("COMMIT")
        except database_errors() as exc:
            conn.execute("ROLLBACK")
            raise StoreError(f"migration {mig.version:04d}_{mig.name} failed: {exc}") from exc
        applied.append(mig.version)
    return applied
