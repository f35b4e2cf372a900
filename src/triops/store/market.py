"""The market-data artifact: a read-only DuckDB file rebuilt whenever data/*.csv change."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from triops.market.data import MarketData
from triops.store.connection import connect

PREFIX = "market-"

_SCHEMA = """
CREATE TABLE salaries (
    role VARCHAR, region VARCHAR, amount DOUBLE, currency VARCHAR, period VARCHAR,
    statistic VARCHAR, source VARCHAR, source_url VARCHAR, published INTEGER,
    retrieved INTEGER, via VARCHAR);
CREATE TABLE market_figures (
    market VARCHAR, metric VARCHAR, value DOUBLE, unit VARCHAR, region VARCHAR, year INTEGER,
    source VARCHAR, source_url VARCHAR, published INTEGER,
    retrieved INTEGER, via VARCHAR);
CREATE TABLE market_claims (
    claim VARCHAR, market VARCHAR, region VARCHAR, source VARCHAR, source_url VARCHAR,
    published INTEGER, retrieved INTEGER, via VARCHAR);
"""

_TABLES = {"salaries": "salaries", "figures": "market_figures", "claims": "market_claims"}


def artifact_path(derived_dir: Path, fingerprint: str) -> Path:
    return derived_dir / f"{PREFIX}{fingerprint}.duckdb"


def build(data: MarketData, derived_dir: Path) -> Path:
    """Write the artifact for this data's fingerprint unless it exists; swap it in atomically."""
    target = artifact_path(derived_dir, data.fingerprint)
    if target.exists():
        return target
    derived_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    conn = connect(tmp, memory_limit="256MB", threads=1)
    try:
        conn.execute(_SCHEMA)
        for attr, table in _TABLES.items():
            rows = getattr(data, attr)
            columns = [c[1] for c in conn.execute(f"PRAGMA table_info('{table}')").fetchall()]
            if rows:
                placeholders = ", ".join("?" for _ in columns)
                conn.executemany(
                    f"INSERT INTO {table} VALUES ({placeholders})",
                    [[getattr(r, c) for c in columns] for r in rows],
                )
        conn.execute("CHECKPOINT")
    finally:
        conn.close()
    os.replace(tmp, target)
    for old in derived_dir.glob(f"{PREFIX}*.duckdb"):
        if old != target:
            old.unlink(missing_ok=True)
    return target


# How every figure is cited on screen: its source and the year, or that the page is undated.
_CITED = (
    "source || ' (' || coalesce(CAST(published AS VARCHAR), "
    "'undated, read ' || CAST(retrieved AS VARCHAR)) || ')' AS cited"
)


class MarketStore:
    """Read-only queries over the market artifact."""

    def __init__(self, path: Path):
        self.path = path
        self._conn = connect(path, read_only=True, memory_limit="256MB", threads=1)

    def _frame(self, sql: str, params: list | None = None) -> pd.DataFrame:
        cur = self._conn.cursor()
        try:
            return cur.execute(sql, params or []).df()
        finally:
            cur.close()

    def salaries(
        self, roles: list[str] | None = None, regions: list[str] | None = None
    ) -> pd.DataFrame:
        """Salary figures, optionally filtered by role and region."""
        sql = f"SELECT *, {_CITED} FROM salaries WHERE 1=1"
        params: list = []
        if roles:
            sql += " AND list_contains(?, role)"
            params.append(roles)
        if regions:
            sql += " AND list_contains(?, region)"
            params.append(regions)
        return self._frame(sql + " ORDER BY role, region, amount", params)

    def salary_options(self) -> tuple[list[str], list[str]]:
        roles = self._frame("SELECT DISTINCT role FROM salaries ORDER BY role")["role"].tolist()
        regions = self._frame("SELECT DISTINCT region FROM salaries ORDER BY region")[
            "region"
        ].tolist()
        return roles, regions

    def figures(
        self, markets: list[str] | None = None, regions: list[str] | None = None
    ) -> pd.DataFrame:
        """Market size, growth and share figures."""
        sql = f"SELECT *, {_CITED} FROM market_figures WHERE 1=1"
        params: list = []
        if markets:
            sql += " AND list_contains(?, market)"
            params.append(markets)
        if regions:
            sql += " AND list_contains(?, region)"
            params.append(regions)
        return self._frame(sql + " ORDER BY market, metric, year, source", params)

    def claims(self) -> pd.DataFrame:
        return self._frame(f"SELECT *, {_CITED} FROM market_claims ORDER BY market, region")

    def close(self) -> None:
        self._conn.close()


def open_market(path: Path) -> MarketStore:
    return MarketStore(path)
