"""Learner state in PostgreSQL: a psycopg 3 connection pool behind the part of DuckDB's
connection API that the store uses, so every store module runs unchanged on either database.

What the store relies on, and how it is kept here:
- `db.execute(sql, params)` with `?` placeholders returns something with `fetchall()`,
  `fetchone()`, `df()`/`fetchdf()` and `fetchnumpy()`. Placeholders become psycopg's `%s`
  (outside quoted literals, identifiers and comments; a literal `%` is doubled). Rows are read
  at once, so no result keeps a pooled connection.
- An INSERT, UPDATE or DELETE answers one row holding the number of rows it changed, as DuckDB's
  do (`INSERT ... ON CONFLICT DO NOTHING` then `.fetchone()[0]` tells whether a claim won).
- `BEGIN TRANSACTION` takes a connection from the pool and keeps it for this handle until
  `COMMIT` or `ROLLBACK` hands it back; every other statement runs autocommitted on whichever
  pooled connection is free, so an answer is durable when `execute` returns.
- `cursor()` gives another handle on the same pool (the app takes one per script run and per
  job thread, as with DuckDB); `close()` on the handle `open_state` returned closes the pool.
- NUMERIC values (PostgreSQL's `avg` of integers, say) load as floats, as DuckDB's DOUBLE does.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.numeric import FloatLoader
from psycopg_pool import ConnectionPool, PoolTimeout

from triops.errors import StoreError

_TRANSACTION = re.compile(r"^\s*(BEGIN|START|COMMIT|END|ROLLBACK|ABORT)\b", re.IGNORECASE)
_VERBS = {"BEGIN": "BEGIN", "START": "BEGIN", "COMMIT": "COMMIT", "END": "COMMIT"}


def translate(sql: str) -> str:
    """DuckDB's `?` placeholders as psycopg's `%s`; a `%` that is SQL text becomes `%%`.

    A `?` inside a quoted literal, a quoted identifier or a comment is text and stays."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in ("'", '"'):
            end = i + 1
            while end < n:
                if sql[end] == ch:
                    if end + 1 < n and sql[end + 1] == ch:  # '' or "" inside: an escaped quote
                        end += 2
                        continue
                    break
                end += 1
            out.append(sql[i : end + 1].replace("%", "%%"))
            i = end + 1
        elif ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif ch == "?":
            out.append("%s")
            i += 1
        elif ch == "%":
            out.append("%%")
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


# The store's statements are a small fixed set of texts (a few vary with the length of an IN
# list), and translate walks each one character by character (0.03-0.1 ms): every execute
# looks its text up here instead. Bounded, so statements built from data cannot grow it.
_translated = lru_cache(maxsize=1024)(translate)


class Result:
    """A statement's rows, read in full: the DuckDB result methods the store calls."""

    def __init__(self, columns: list[str], rows: list[tuple]):
        self.columns = columns
        self._rows = rows
        self._next = 0

    @property
    def description(self) -> list[tuple] | None:
        return [(c, None, None, None, None, None, None) for c in self.columns] or None

    def fetchone(self) -> tuple | None:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> list[tuple]:
        rows = self._rows[self._next :]
        self._next = len(self._rows)
        return rows

    def fetchmany(self, size: int = 1) -> list[tuple]:
        rows = self._rows[self._next : self._next + size]
        self._next += len(rows)
        return rows

    def df(self):
        import pandas as pd

        return pd.DataFrame.from_records(self.fetchall(), columns=self.columns)

    fetchdf = df

    def fetchnumpy(self) -> dict[str, Any]:
        import numpy as np

        rows = self.fetchall()
        return {name: np.array([row[i] for row in rows]) for i, name in enumerate(self.columns)}


def describe(url: str) -> str:
    """host:port/database of a connection URL, never its password."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "an unreadable TRIOPS_DATABASE_URL"
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    return f"{host}:{port}/{parts.get('dbname') or parts.get('user') or ''}"


class DatabaseUnavailable(StoreError):  # noqa: N818 - a condition the page waits out, not a bug
    """The server is not answering now (restarting, failing over, unreachable): the page says
    it is reconnecting and tries again; what it confirmed before is saved."""


# SQLSTATE classes that mean the connection, not the statement, failed: 08 connection
# exceptions; 57P01-57P03 administrator or crash shutdown and "cannot connect now" (starting up).
_CONNECTION_STATES = ("08", "57P01", "57P02", "57P03")


def unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the server cannot be reached now, rather than that a statement failed
    (a serialization failure or a lock timeout is an OperationalError too, and is the caller's)."""
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = getattr(exc, "sqlstate", None)
    return state is None or state.startswith(_CONNECTION_STATES)


def _unavailable_error(where: str, exc: BaseException) -> DatabaseUnavailable:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    cause = lines[0] if lines else type(exc).__name__
    return DatabaseUnavailable(
        f"Reconnecting to the database at {where} ({cause}). Everything this page confirmed "
        "is saved; an answer without a confirmation was not, so give it again once this "
        "message is gone."
    )


def _configure(conn: psycopg.Connection) -> None:
    conn.adapters.register_loader("numeric", FloatLoader)


class PostgresState:
    """One handle on the learner-state database in PostgreSQL (see the module's docstring)."""

    dialect = "postgres"

    def __init__(self, pool: ConnectionPool, where: str, *, owns_pool: bool):
        self._pool = pool
        self.where = where
        self._owns_pool = owns_pool
        self._held: psycopg.Connection | None = None
        self._lock = threading.Lock()

    @classmethod
    def open(cls, url: str, *, max_size: int = 10, timeout: float = 10.0) -> PostgresState:
        """A pool on `url`; an unreachable server or a refused login is one clear StoreError."""
        where = describe(url)
        try:
            # One direct connection first: the pool would only log why it cannot connect.
            with psycopg.connect(url, connect_timeout=max(1, int(timeout))):
                pass
        except psycopg.Error as exc:
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            cause = " ".join(lines) or type(exc).__name__
            raise StoreError(f"cannot connect to PostgreSQL at {where}: {cause}") from exc
        pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max_size,
            kwargs={"autocommit": True},
            configure=_configure,
            # A connection the server has ended (a restart, a failover, an idle timeout) is
            # found out and replaced when it is taken from the pool, not by the statement that
            # would fail on it: one round trip per statement (psycopg-pool's documented check).
            check=ConnectionPool.check_connection,
            timeout=timeout,
            open=False,
            name="triops-state",
        )
        pool.open(wait=True, timeout=timeout)
        return cls(pool, where, owns_pool=True)

    def cursor(self) -> PostgresState:
        """Another handle on the same pool, with its own transaction."""
        return PostgresState(self._pool, self.where, owns_pool=False)

    def execute(self, sql: str, params: Any = None) -> Result:
        try:
            return self._execute(sql, params)
        except (psycopg.OperationalError, PoolTimeout) as exc:
            if not unavailable(exc):
                raise
            self._release_broken()
            raise _unavailable_error(self.where, exc) from exc

    def _release_broken(self) -> None:
        """A transaction whose connection died is over: give the connection back (the pool
        discards a broken one) so the next BEGIN on this handle starts afresh."""
        with self._lock:
            conn = self._held
            if conn is None or not conn.broken:
                return
            self._held = None
        self._pool.putconn(conn)

    def ping(self, timeout: float = 2.0) -> None:
        """One trivial round trip on a pooled connection, waiting at most `timeout` seconds for
        one; DatabaseUnavailable when the server cannot be reached."""
        try:
            with self._pool.connection(timeout=timeout) as conn:
                conn.execute("SELECT 1").fetchone()
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise _unavailable_error(self.where, exc) from exc

    def _execute(self, sql: str, params: Any = None) -> Result:
        verb = _TRANSACTION.match(sql)
        if verb is not None and _is_bare(sql):
            return self._transaction(_VERBS.get(verb.group(1).upper(), "ROLLBACK"))
        query = _translated(sql) if params is not None else sql
        with self._lock:
            if self._held is not None:
                return _run(self._held, query, params)
        conn = self._pool.getconn()
        try:
            return _run(conn, query, params)
        finally:
            self._pool.putconn(conn)

    def _transaction(self, verb: str) -> Result:
        with self._lock:
            if verb == "BEGIN":
                if self._held is not None:
                    raise StoreError("a transaction is already open on this handle")
                conn = self._pool.getconn()
                try:
                    conn.execute("BEGIN")
                except BaseException:
                    self._pool.putconn(conn)
                    raise
                self._held = conn
                return Result([], [])
            conn, self._held = self._held, None
        if conn is None:  # COMMIT or ROLLBACK with nothing open, as after a failed COMMIT
            return Result([], [])
        try:
            conn.execute(verb)
        finally:
            self._pool.putconn(conn)
        return Result([], [])

    def close(self) -> None:
        with self._lock:
            conn, self._held = self._held, None
        if conn is not None:
            try:
                conn.execute("ROLLBACK")
            finally:
                self._pool.putconn(conn)
        if self._owns_pool:
            self._pool.close()

    def __del__(self) -> None:
        # A handle dropped mid-transaction (a cursor nobody closed) gives its connection back.
        conn = getattr(self, "_held", None)
        if conn is not None and not self._pool.closed:
            self._held = None
            try:
                self._pool.putconn(conn)
            except Exception:  # noqa: BLE001, S110 - the pool may be closing at exit
                pass


def _is_bare(sql: str) -> bool:
    """BEGIN/COMMIT/ROLLBACK alone (with TRANSACTION or WORK), not e.g. a function body."""
    words = sql.strip().rstrip(";").split()
    return 1 <= len(words) <= 2 and (len(words) == 1 or words[1].upper() in ("TRANSACTION", "WORK"))


def _run(conn: psycopg.Connection, query: str, params: Any) -> Result:
    cur = conn.execute(query, params if params is not None else None)
    if cur.description is None:
        # INSERT, UPDATE, DELETE: one row with the count, as DuckDB answers.
        return Result(["Count"], [(max(cur.rowcount, 0),)])
    columns = [d.name for d in cur.description]
    return Result(columns, cur.fetchall())
