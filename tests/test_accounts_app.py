"""The app with TRIOPS_SIGN_IN=password (AppTest from the entry point, a real DuckDB file): the
sign-in form, roles on the page list and on the server, sign-out, and a reset password."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
import streamlit
from streamlit.testing.v1 import AppTest

from conftest import REPO, fresh_state
from triops import accounts
from triops.config import get_settings
from triops.content.loader import load_course
from triops.store import progress
from triops.ui.navigation import NOT_ALLOWED, NOT_ALLOWED_ADMIN, SECTIONS

NOW = datetime(2026, 12, 6, 9, 0)
PASSWORD = "correct horse battery staple"
INSTRUCTOR_PAGES = [f"app_pages/{spec.path}" for spec in SECTIONS["Instructor"]]


@pytest.fixture
def password_mode(monkeypatch):
    monkeypatch.setenv("TRIOPS_SIGN_IN", "password")
    # A refused sign-in pauses a second (test_accounts asserts the pause); these tests assert
    # what the page says, so the pause is shortened here.
    monkeypatch.setattr(accounts, "FAILURE_DELAY_SECONDS", 0.01)
    get_settings.cache_clear()


def add(name: str, role: str = "learner", password: str = PASSWORD):
    conn = fresh_state(get_settings().state_db)
    try:
        return accounts.add_user(conn, name, password, NOW, role=role)
    finally:
        conn.close()


def app(**params) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    return at


def sign_in(at: AppTest, name: str, password: str = PASSWORD) -> AppTest:
    at.text_input(key="sign_in_name").input(name)
    at.text_input(key="sign_in_password").input(password)
    at.button[0].click()  # the form's submit button
    return at.run()


@pytest.fixture
def menus(monkeypatch) -> list[list[str]]:
    """The titles each run of the app hands st.navigation as visible (hidden pages left out)."""
    seen: list[list[str]] = []
    real = streamlit.navigation

    def spy(pages, **kwargs):
        listed = [p for group in pages.values() for p in group]
        seen.append([p.title for p in listed if p.visibility == "visible"])
        return real(pages, **kwargs)

    monkeypatch.setattr(streamlit, "navigation", spy)
    return seen


def errors(at: AppTest) -> list[str]:
    return [str(e.value) for e in at.error]


def test_password_mode_shows_only_the_sign_in_form_on_every_address(password_mode):
    add("Ada", "admin")
    at = app().run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in to Triops"]
    assert at.text_input(key="sign_in_password").proto.type == 1  # PASSWORD: typed as dots
    for page in ("app_pages/progress.py", "app_pages/learners.py"):
        at.switch_page(page).run()
        assert [t.value for t in at.title] == ["Sign in to Triops"]
    assert not at.sidebar.selectbox  # no profile picker to choose someone else


def test_a_fresh_server_says_how_to_make_the_first_admin(password_mode):
    at = app().run()
    assert "triops users add NAME --admin" in at.caption[0].value


def test_a_wrong_password_is_refused_and_the_form_stays(password_mode):
    add("Ada")
    at = sign_in(app().run(), "Ada", "not the password at all")
    assert errors(at) == [
        "Wrong username or password. 4 more failed tries lock this name for 15 minutes."
    ]
    assert [t.value for t in at.title] == ["Sign in to Triops"]
    assert at.session_state["sign_in_password"] == ""  # the form forgets what was typed


def test_a_locked_name_is_refused_in_the_form(password_mode):
    add("Ada")
    conn = fresh_state(get_settings().state_db)
    try:
        for _ in range(accounts.LOCK_AFTER):
            with pytest.raises(accounts.SignInError):
                accounts.sign_in(conn, "Ada", "wrong wrong wrong", accounts_now(), sleep=no_sleep)
    finally:
        conn.close()
    at = sign_in(app().run(), "Ada")
    assert errors(at)[0].startswith("Too many failed sign-ins under this name")
    assert [t.value for t in at.title] == ["Sign in to Triops"]


def accounts_now() -> datetime:
    from triops.ui.identity import now

    return now()


def no_sleep(_seconds: float) -> None:
    return None


def test_a_learner_signs_in_sees_no_instructor_page_and_is_refused_its_address(
    password_mode, menus
):
    add("Ada")
    at = sign_in(app().run(), "ada")
    assert not at.exception
    assert "Sign in to Triops" not in [t.value for t in at.title]
    shown = menus[-1]
    assert "Progress" in shown
    for spec in SECTIONS["Instructor"]:
        assert spec.title not in shown
    for page in INSTRUCTOR_PAGES:
        at.switch_page(page).run()
        assert not at.exception
        assert errors(at) == [NOT_ALLOWED], page
        assert not at.selectbox  # nothing of the page itself was drawn
        assert not at.metric


@pytest.mark.parametrize("role", ["instructor", "admin"])
def test_instructors_and_admins_see_and_open_the_instructor_pages(password_mode, menus, role):
    add("Ada", "learner")
    add("Grace", role)
    at = sign_in(app().run(), "Grace")
    shown = menus[-1]
    for spec in SECTIONS["Instructor"]:
        assert spec.title in shown
    at.switch_page("app_pages/learners.py").run()
    assert not at.exception
    assert NOT_ALLOWED not in errors(at)
    assert "Learners" in [t.value for t in at.title]


def test_the_signed_in_name_is_shown_as_text_never_as_markup(password_mode):
    hostile = "<img src=x onerror=alert(1)> **bold**"
    add(hostile)
    at = sign_in(app().run(), hostile)
    assert not at.exception
    assert f"Signed in as {hostile} (learner)" in [t.value for t in at.sidebar.text]
    assert not any("<img" in m.value for m in at.markdown)


def test_a_learner_sees_only_their_own_progress_whatever_the_address_says(password_mode):
    ada = add("Ada")
    bob = add("Bob")
    lessons = [lesson.id for lesson in load_course(REPO).track("triad").lessons()]
    conn = fresh_state(get_settings().state_db)
    try:
        progress.mark_complete(conn, bob.id, lessons[0], NOW)
    finally:
        conn.close()
    at = app(profile=bob.id).run()
    at = sign_in(at, "Ada")
    at.switch_page("app_pages/progress.py")
    at.query_params["profile"] = bob.id
    at.run()
    assert not at.exception
    assert at.session_state["triops_identity"].user.id == ada.id
    assert [m.value for m in at.metric][0] == f"0 / {len(lessons)}"


def test_sign_out_returns_to_the_form_and_forgets_the_session(password_mode):
    add("Ada")
    at = sign_in(app().run(), "Ada")
    at.sidebar.button(key="sign_out").click().run()
    assert [t.value for t in at.title] == ["Sign in to Triops"]
    assert "Signed out." in [str(i.value) for i in at.info]
    at.switch_page("app_pages/progress.py").run()
    assert [t.value for t in at.title] == ["Sign in to Triops"]


def test_a_password_reset_signs_out_the_session_on_its_next_rerun(password_mode):
    add("Ada")
    at = sign_in(app().run(), "Ada")
    assert "Sign in to Triops" not in [t.value for t in at.title]
    conn = fresh_state(get_settings().state_db)
    try:
        accounts.set_password(conn, "Ada", "a brand new long passphrase", accounts_now())
    finally:
        conn.close()
    at.run()
    assert [t.value for t in at.title] == ["Sign in to Triops"]
    assert "Your password was changed: sign in again." in [str(i.value) for i in at.info]


def test_a_role_change_applies_on_the_next_rerun(password_mode, menus):
    add("Root", "admin")
    add("Ada")
    at = sign_in(app().run(), "Ada")
    assert "Learners" not in menus[-1]
    conn = fresh_state(get_settings().state_db)
    try:
        accounts.set_role(conn, "Ada", "instructor", NOW)
    finally:
        conn.close()
    at.run()
    assert "Learners" in menus[-1]


def test_local_mode_lists_every_page_and_asks_for_no_password(menus):
    at = app().run()
    assert not at.exception
    assert "Sign in to Triops" not in [t.value for t in at.title]
    assert menus[-1] == [spec.title for specs in SECTIONS.values() for spec in specs]


# -- Admin › Accounts ------------------------------------------------------------------------


def read(elements) -> list[str]:
    """Messages as a reader sees them: markdown escapes removed."""
    return [re.sub(r"\\(.)", r"\1", str(e.value)) for e in elements]


def press(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click()
    return at.run()


def test_an_admin_adds_a_user_changes_a_role_and_resets_a_password_in_the_app(password_mode, menus):
    add("Root", "admin")
    at = sign_in(app().run(), "Root")
    assert "Accounts" in menus[-1]
    at.switch_page("app_pages/accounts.py").run()
    assert not at.exception
    at.text_input(key="acc_new_name").input("Ada")
    at.text_input(key="acc_new_email").input("ada@example.org")
    at.selectbox(key="acc_new_role").select("instructor")
    at.text_input(key="acc_new_pw").input(PASSWORD)
    at.text_input(key="acc_new_pw2").input(PASSWORD)
    at = press(at, "Add user")
    assert not at.exception
    assert read(at.success) == ["Added Ada."]
    assert at.session_state["acc_new_pw"] == ""  # typed passwords are not kept
    conn = fresh_state(get_settings().state_db)
    try:
        ada = next(a for a in accounts.list_accounts(conn) if a.name == "Ada")
        assert (ada.role, ada.email) == ("instructor", "ada@example.org")
    finally:
        conn.close()

    at.selectbox(key="acc_role_user").select(ada.id)
    at.selectbox(key="acc_role_role").select("learner")
    at = press(at, "Change role")
    assert read(at.success) == ["Ada is now learner."]

    at.selectbox(key="acc_reset_user").select(ada.id)
    at.text_input(key="acc_reset_pw").input("a brand new long passphrase")
    at.text_input(key="acc_reset_pw2").input("a brand new long passphrase, typo")
    at = press(at, "Set password")
    assert read(at.error) == ["The two passwords differ: type the same one twice."]
    at.text_input(key="acc_reset_pw").input("a brand new long passphrase")
    at.text_input(key="acc_reset_pw2").input("a brand new long passphrase")
    at = press(at, "Set password")
    assert not at.error

    conn = fresh_state(get_settings().state_db)
    try:
        log = [(r[1], r[2], r[3], r[4]) for r in accounts.audit_rows(conn)]
        accounts.sign_in(conn, "Ada", "a brand new long passphrase", accounts_now())
    finally:
        conn.close()
    assert log[-3:] == [
        ("Root", "account created", "Ada", "role instructor"),
        ("Root", "role changed", "Ada", "instructor -> learner"),
        ("Root", "password reset", "Ada", ""),
    ]
    assert at.download_button(key="acc_audit_csv") is not None


def test_a_duplicate_added_in_the_app_names_the_account_as_text(password_mode):
    add("Root", "admin")
    add("**Ada**")
    at = sign_in(app().run(), "Root")
    at.switch_page("app_pages/accounts.py").run()
    at.text_input(key="acc_new_name").input("**ada**")
    at.text_input(key="acc_new_pw").input(PASSWORD)
    at.text_input(key="acc_new_pw2").input(PASSWORD)
    at = press(at, "Add user")
    # escaped, so the asterisks show as typed instead of turning the name bold
    assert read(at.error) == ["The username '**ada**' is taken by the account '**Ada**' (learner)."]
    assert "\\*\\*Ada\\*\\*" in str(at.error[0].value)


@pytest.mark.parametrize("role", ["learner", "instructor"])
def test_the_accounts_page_is_refused_to_everyone_but_admins(password_mode, menus, role):
    add("Root", "admin")
    add("Ada", role)
    at = sign_in(app().run(), "Ada")
    assert "Accounts" not in menus[-1]
    at.switch_page("app_pages/accounts.py").run()
    assert not at.exception
    assert errors(at) == [NOT_ALLOWED_ADMIN]
    assert not at.text_input  # no form was drawn


def test_a_signed_in_learner_cannot_open_another_learners_exam_attempt(password_mode):
    from triops.quiz import exam as engine
    from triops.quiz.bank import load_bank
    from triops.quiz.blueprint import load_exams

    add("Ada")
    bob = add("Bob")
    bank = load_bank(REPO)
    conn = fresh_state(get_settings().state_db)
    try:
        row = engine.start(
            conn, load_exams(REPO, bank).get("mlops-practitioner"), bank, bob.id, accounts_now()
        )
    finally:
        conn.close()
    at = sign_in(app().run(), "Ada")
    at.switch_page("app_pages/exam.py")
    at.query_params["attempt"] = row.token
    at.query_params["profile"] = bob.id  # naming Bob in the address changes nothing
    at.run()
    assert not at.exception
    assert "belongs to another profile" in at.error[0].value
    assert not at.radio and not at.checkbox  # none of Bob's questions is drawn
