"""What the exam page's runs no longer repeat (issue 19 item 5, the 500-candidate exam): the state
database's handle is looked up once per settings (resources.state_db), PostgreSQL statements are
translated once per text (store.postgres), and the profile picker reads the last used profile
only when nothing else names one (identity.sidebar_identity). Each shortcut must give what the
long way gives, and must let go when the long way would give something else."""

from __future__ import annotations

import streamlit as st
from streamlit.testing.v1 import AppTest

from conftest import REPO, fresh_state
from triops.config import get_settings
from triops.store import postgres, users
from triops.ui import resources
from triops.ui.identity import now

STATEMENTS = [
    "SELECT ? WHERE a = ?",
    "SELECT '?', \"a?\", ? -- why?\n, ?",
    "SELECT 'it''s ?', ?",
    "SELECT x LIKE '50%' AND y % 2 = ?",
    "INSERT INTO t (a, b) SELECT ?, ? FROM g WHERE k = ? AND n > ?",
    "SELECT 1",
]


def test_a_cached_translation_is_the_translation():
    postgres._translated.cache_clear()
    for sql in STATEMENTS:
        first = postgres._translated(sql)  # a miss: translated
        again = postgres._translated(sql)  # a hit: the text kept from the first call
        assert first == again == postgres.translate(sql)
    info = postgres._translated.cache_info()
    assert (info.hits, info.misses) == (len(STATEMENTS), len(STATEMENTS))


def test_the_translation_cache_is_bounded():
    postgres._translated.cache_clear()
    limit = postgres._translated.cache_info().maxsize
    assert limit is not None
    for i in range(limit + 50):  # statements built from data cannot grow it without end
        assert postgres._translated(f"SELECT {i}, ?") == f"SELECT {i}, %s"
    assert postgres._translated.cache_info().currsize == limit


def _close_app_handle() -> None:
    handle = resources._handle()
    handle.jobs.close()
    handle.conn.close()
    st.cache_resource.clear()


def test_the_state_handle_is_reused_until_the_cache_lets_it_go(triops_home, monkeypatch):
    first = resources._handle()
    try:
        assert resources._handle() is first
        users.create_user(resources.state_db(), "Ada", now())
        st.cache_resource.clear()  # what the tests and Streamlit's "Clear caches" do
        assert first.released
        second = resources._handle()
        assert second is not first and not second.released
        # The new handle is a working connection on the same file.
        assert [u.name for u in users.list_users(resources.state_db())] == ["Ada"]
    finally:
        _close_app_handle()


def test_other_settings_get_the_handle_of_their_own_database(tmp_path, monkeypatch):
    first = resources._handle()
    users.create_user(resources.state_db(), "Ada", now())
    monkeypatch.setenv("TRIOPS_HOME", str(tmp_path / "other"))
    get_settings.cache_clear()
    try:
        other = resources._handle()
        assert other is not first
        assert users.list_users(resources.state_db()) == []
    finally:
        _close_app_handle()
        first.jobs.close()
        first.conn.close()


def test_the_last_profile_is_read_once_a_session_knows_its_profile(monkeypatch):
    db = fresh_state(get_settings().state_db)
    users.create_user(db, "Ada", now())
    bob = users.create_user(db, "Bob", now())
    users.set_state(db, "last_profile", bob.id)
    db.close()
    reads: list[str] = []
    real = users.get_state

    def counted(conn, key):
        reads.append(key)
        return real(conn, key)

    monkeypatch.setattr(users, "get_state", counted)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    try:
        at.run()
        assert not at.exception, at.exception
        # A first visit without an address: the last used profile is picked, as before.
        assert at.sidebar.selectbox(key="profile_picker").value == bob.id
        first_run = len(reads)  # the pick, and the write that records it as the last one
        assert first_run >= 1
        at.run()
        at.run()
        assert at.sidebar.selectbox(key="profile_picker").value == bob.id
        assert len(reads) == first_run  # the session knows its profile now: no more reads
    finally:
        _close_app_handle()
