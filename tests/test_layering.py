"""DESIGN.md's layering: thin pages, SQL only in the store, no streamlit in domain code."""

import ast
import re
from pathlib import Path

import pytest

from conftest import REPO

SRC = REPO / "src" / "triops"
SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE TABLE|ALTER TABLE)\b")


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def string_constants(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    nodes = ast.walk(tree)
    return [n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)]


PAGES = sorted((REPO / "app_pages").glob("*.py")) + [REPO / "app.py"]
DOMAIN = [p for p in SRC.rglob("*.py") if "ui" not in p.relative_to(SRC).parts]
NOT_STORE = [p for p in SRC.rglob("*.py") if "store" not in p.relative_to(SRC).parts]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_pages_hold_no_sql_duckdb_subprocess_or_file_parsing(page):
    bad = {m for m in imports(page) if m.split(".")[0] in {"duckdb", "subprocess", "yaml", "csv"}}
    bad |= {
        m
        for m in imports(page)
        if m.startswith("triops.store.")
        and m != "triops.store"
        and m.split(".")[-1] not in {"progress", "users"}
    }
    assert not bad, f"{page.name} imports {bad}"
    assert not [s for s in string_constants(page) if SQL.search(s)], f"SQL in {page.name}"


@pytest.mark.parametrize("module", DOMAIN, ids=lambda p: str(p.relative_to(SRC)))
def test_domain_code_never_imports_streamlit(module):
    assert not {m for m in imports(module) if m.split(".")[0] == "streamlit"}


@pytest.mark.parametrize("module", NOT_STORE, ids=lambda p: str(p.relative_to(SRC)))
def test_sql_lives_only_in_the_store(module):
    assert "duckdb" not in {m.split(".")[0] for m in imports(module)} or module.parent.name == "ui"
    assert not [s for s in string_constants(module) if SQL.search(s) and "FROM" in s.upper()]


def test_the_layering_test_sees_the_files():
    assert len(PAGES) >= 9 and len(DOMAIN) >= 15
