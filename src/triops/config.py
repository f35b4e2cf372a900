"""Typed settings, read from the environment (prefix TRIOPS_) once per process."""

from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]


def _default_root() -> Path:
    # An installed package has no repo around it; fall back to the working directory.
    return REPO_ROOT if (REPO_ROOT / "content").is_dir() else Path.cwd()


class Settings(BaseSettings):
    """Where Triops reads the course from and keeps its runtime data."""

    model_config = SettingsConfigDict(env_prefix="TRIOPS_", extra="ignore")

    home: Path = Field(
        default=Path(".triops"),
        description="Runtime data: the learner-state DuckDB file and derived artifacts.",
    )
    root: Path = Field(
        default_factory=_default_root,
        description="Folder holding content/, quizzes/, labs/ and data/.",
    )
    memory_limit: str = Field(default="1GB", description="DuckDB memory_limit per connection.")
    db_threads: int = Field(default=2, ge=1, description="DuckDB worker threads.")
    checkpoint_seconds: int = Field(
        default=300, ge=10, description="How often the app checkpoints the learner-state WAL."
    )
    sandbox_root: Path = Field(
        default_factory=lambda: Path(tempfile.gettempdir()) / "triops-sandbox",
        description="Where lab runs get their work dirs (outside the repo and TRIOPS_HOME).",
    )
    embed_model: str | None = Field(
        default=None,
        description="A sentence-transformers model (folder or hub name) instead of the "
        "packaged all-MiniLM-L6-v2.",
    )
    search_warmup: bool = Field(
        default=True,
        description="Build the search index in the background from the app's first page view, "
        "instead of when someone first opens Search or Ask (tests turn it off).",
    )
    sign_in: Literal["none", "password", "oidc"] = Field(
        default="none",
        description="How people sign in: 'none' (one person's laptop: profiles picked in the "
        "sidebar, every page open), 'password' (a class server: accounts made with "
        "`triops users add`, roles learner, instructor and admin) or 'oidc' (a class server "
        "whose people sign in with an OpenID Connect provider set in .streamlit/secrets.toml).",
    )
    oidc_role_claim: str | None = Field(
        default=None,
        description="With sign_in 'oidc': the ID token claim whose value (learner, instructor "
        "or admin, or a list holding them) sets the role at each sign-in. Unset, or a token "
        "without a role in it: the role kept in the accounts table (Admin › Accounts).",
    )
    labs_venv: Path = Field(
        default=Path("/var/tmp/triops-labs-venv"),
        description="The labs' tool environment (ruff, pytest, build), readable by the sandbox.",
    )

    @property
    def content_dir(self) -> Path:
        return self.root / "content"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def quizzes_dir(self) -> Path:
        return self.root / "quizzes"

    @property
    def labs_dir(self) -> Path:
        return self.root / "labs"

    @property
    def state_db(self) -> Path:
        return self.home / "state.duckdb"

    @property
    def derived_dir(self) -> Path:
        return self.home / "derived"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests call get_settings.cache_clear() after changing the env."""
    return Settings()
