"""Shared fixtures: an isolated TRIOPS_HOME, copies of content roots, the real repository."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from attacklib import (  # noqa: F401  (fixtures: the attack tests and every sandbox test)
    attack_sandbox,
    root_only,
    root_required,
    sandbox_required,
)

from triops.config import get_settings
from triops.testing import CHROMIUM, CHROMIUM_ARGS, chromium_missing_reason

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def triops_home(tmp_path, monkeypatch):
    """Every test gets its own runtime folder; nothing touches the developer's .triops/."""
    home = tmp_path / "home"
    monkeypatch.setenv("TRIOPS_HOME", str(home))
    # An app started in a test builds no search index unless the test asks for it (it costs a
    # core for about a minute); the search tests set TRIOPS_SEARCH_WARMUP=1.
    monkeypatch.setenv("TRIOPS_SEARCH_WARMUP", "0")
    monkeypatch.delenv("TRIOPS_ROOT", raising=False)
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


@pytest.fixture
def mini_root(tmp_path) -> Path:
    """A writable copy of the two-lesson fixture course."""
    root = tmp_path / "mini"
    shutil.copytree(FIXTURES / "mini", root)
    return root


@pytest.fixture
def course_copy(tmp_path) -> Path:
    """A writable copy of the real course (content/ and data/)."""
    root = tmp_path / "course"
    root.mkdir()
    for name in ("content", "data"):
        shutil.copytree(REPO / name, root / name)
    return root


@pytest.fixture
def use_root(monkeypatch):
    """Point TRIOPS_ROOT at a folder for the code under test."""

    def _use(root: Path) -> Path:
        monkeypatch.setenv("TRIOPS_ROOT", str(root))
        get_settings.cache_clear()
        return root

    return _use


@pytest.fixture(scope="session")
def browser():
    reason = chromium_missing_reason()
    if reason:
        if os.environ.get("TRIOPS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser required (TRIOPS_REQUIRE_BROWSER=1) but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()
