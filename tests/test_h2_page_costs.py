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

pytest_plugins = ["tests.pgserver"]

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


# -- the exam page reads an attempt's answers and flags only when someone else wrote ---------


def _reads(monkeypatch) -> list[str]:
    """Every read of an attempt's answers or flags, by name."""
    from triops.store import attempts

    reads: list[str] = []
    for name in ("responses", "flags"):
        real = getattr(attempts, name)

        def counted(db, attempt_id, _real=real, _name=name):
            reads.append(_name)
            return _real(db, attempt_id)

        monkeypatch.setattr(attempts, name, counted)
    return reads


def _exam_page(user_id: str, token: str) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.query_params["profile"] = user_id
    at.run()
    at.switch_page("app_pages/exam.py")
    at.query_params.update(profile=user_id, attempt=token, q="1")
    at.run()
    assert not at.exception, at.exception
    return at


def _markdown(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown]


def test_the_exam_page_rereads_answers_and_flags_only_after_a_write_elsewhere(
    state_backend, monkeypatch
):
    import random

    from triops.quiz import exam as engine
    from triops.quiz.bank import load_bank
    from triops.quiz.blueprint import load_exams

    bank = load_bank(REPO)
    exam = load_exams(REPO, bank).get("devops-practitioner")
    db = fresh_state(get_settings().state_db)
    user = users.create_user(db, "Ada", now())
    row = engine.start(db, exam, bank, user.id, now(), random.Random(3))
    view = engine.load(db, row.token, user.id, now())
    db.close()
    # The first question with a radio of options (single choice or true/false).
    first = next(d for d in view.questions if d.question.type in ("single", "true_false"))
    reads = _reads(monkeypatch)
    try:
        at = _exam_page(user.id, row.token)
        assert sorted(reads) == ["flags", "responses"]  # the first drawing reads them
        at.query_params["q"] = str(first.position + 1)
        at.run()
        key = f"{row.token}-q{first.position}"
        radio = next(r for r in at.radio if r.key == key)
        radio.set_value(True if radio.options == ["True", "False"] else 0).run()
        at.checkbox(key=f"{row.token}-flag-{first.position}").check().run()
        at.button(key="exam-next").click().run()
        assert not at.exception, at.exception
        # The page's own answer and flag: confirmed, counted, and nothing read again.
        assert "**1 of 30 answered**" in _markdown(at)
        assert sorted(reads) == ["flags", "responses"]

        # Another tab flags question 30: the next run reads and shows what was stored.
        other = fresh_state(get_settings().state_db)
        engine.set_flag(other, row.token, user.id, 29, True, now())
        other.close()
        at.button(key="exam-next").click().run()
        assert not at.exception, at.exception
        assert sorted(reads) == ["flags", "flags", "responses", "responses"]
        warnings = [w.value for w in at.warning]
        assert any(w.startswith("This attempt was changed in another tab") for w in warnings)
        # What the page shows is what the database holds (this check's own reads not counted).
        counted = len(reads)
        db = fresh_state(get_settings().state_db)
        stored = engine.load(db, row.token, user.id, now())
        db.close()
        del reads[counted:]
        assert stored.flags == {first.position, 29}
        assert len(stored.answered()) == 1 and "**1 of 30 answered**" in _markdown(at)
        at.button(key="exam-prev").click().run()
        assert sorted(reads) == ["flags", "flags", "responses", "responses"]
    finally:
        _close_app_handle()
