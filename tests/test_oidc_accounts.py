"""OpenID Connect sign-in (TRIOPS_SIGN_IN=oidc) on the accounts side: the account a subject
signs in to, the email match, the role claim and the audit log, on a real DuckDB file."""

from __future__ import annotations

from datetime import datetime

import pytest

from conftest import fresh_state
from triops import accounts
from triops.accounts import SignInError
from triops.config import get_settings
from triops.store import accounts as account_store
from triops.store import audit, users

NOW = datetime(2026, 12, 6, 9, 0)
ISSUER = "https://id.example.org/realms/class"
CLAIM = "triops_role"


@pytest.fixture
def db():
    conn = fresh_state(get_settings().state_db)
    yield conn
    conn.close()


def claims(sub: str, **more) -> dict:
    return {"iss": ISSUER, "sub": sub, **more}


def test_a_first_sign_in_makes_a_learner_that_later_sign_ins_find(db):
    first = accounts.oidc_sign_in(db, claims("u-1", email="Bea@Example.org"), NOW)
    assert first.name == "oidc:id.example.org:u-1"
    assert first.role == "learner"
    again = accounts.oidc_sign_in(db, claims("u-1", email="Bea@Example.org"), NOW)
    assert again.id == first.id
    assert len(users.list_users(db)) == 1
    account = account_store.get_account(db, first.id)
    assert account.email == "Bea@Example.org"
    entries = audit.entries(db)
    assert [(e.action, e.actor_name) for e in entries] == [
        (accounts.CREATED, "identity provider id.example.org")
    ]


def test_the_same_subject_at_another_issuer_is_another_account(db):
    one = accounts.oidc_sign_in(db, claims("u-1"), NOW)
    other = accounts.oidc_sign_in(db, {"iss": "https://login.other.org", "sub": "u-1"}, NOW)
    assert one.id != other.id


def test_a_verified_email_signs_in_to_the_existing_account_and_keeps_its_role(db):
    ada = accounts.add_user(
        db, "Ada", "correct horse battery staple", NOW, role="instructor", email="ada@example.org"
    )
    user = accounts.oidc_sign_in(
        db, claims("x9", email="ADA@example.org", email_verified=True), NOW, role_claim=CLAIM
    )
    assert (user.id, user.role) == (ada.id, "instructor")
    assert [u.name for u in users.list_users(db)] == ["Ada"]


def test_an_unverified_email_does_not_take_over_an_account(db):
    ada = accounts.add_user(db, "Ada", "correct horse battery staple", NOW, email="ada@x.org")
    user = accounts.oidc_sign_in(db, claims("x9", email="ada@x.org", email_verified=False), NOW)
    assert user.id != ada.id
    assert account_store.get_account(db, user.id).email is None


def test_the_role_claim_sets_the_role_at_each_sign_in_and_is_audited(db):
    user = accounts.oidc_sign_in(db, claims("g", **{CLAIM: "instructor"}), NOW, role_claim=CLAIM)
    assert user.role == "instructor"
    # A list (say a groups claim) gives the highest role it holds; a value naming no role
    # leaves the stored role as it is.
    user = accounts.oidc_sign_in(
        db, claims("g", **{CLAIM: ["staff", "admin", "learner"]}), NOW, role_claim=CLAIM
    )
    assert user.role == "admin"
    user = accounts.oidc_sign_in(db, claims("g", **{CLAIM: "teacher"}), NOW, role_claim=CLAIM)
    assert user.role == "admin"
    user = accounts.oidc_sign_in(db, claims("g", **{CLAIM: "learner"}), NOW, role_claim=CLAIM)
    assert user.role == "learner"
    changes = [e.detail for e in audit.entries(db) if e.action == accounts.ROLE_CHANGED]
    assert changes == [f"instructor -> admin (claim {CLAIM})", f"admin -> learner (claim {CLAIM})"]


def test_without_a_configured_claim_the_table_role_stands(db):
    user = accounts.oidc_sign_in(db, claims("h", **{CLAIM: "admin"}), NOW)
    assert user.role == "learner"
    accounts.set_role(db, user.name, "instructor", NOW)
    assert accounts.oidc_sign_in(db, claims("h", **{CLAIM: "admin"}), NOW).role == "instructor"


def test_a_long_or_spaced_subject_still_gets_one_valid_username(db):
    long_sub = "f" * 80
    name = accounts.oidc_username(ISSUER, long_sub)
    assert len(name) <= users.MAX_NAME and name.startswith("oidc:id.example.org:")
    assert name != accounts.oidc_username(ISSUER, long_sub + "g")
    user = accounts.oidc_sign_in(db, claims("a  b\n"), NOW)
    assert users.clean_name(user.name) == user.name


def test_an_answer_without_a_subject_is_refused_clearly(db):
    with pytest.raises(SignInError, match="no issuer or subject"):
        accounts.oidc_sign_in(db, {"iss": ISSUER, "email": "a@b.org"}, NOW)
    assert users.list_users(db) == []


@pytest.fixture
def oidc_app(monkeypatch):
    from streamlit.testing.v1 import AppTest

    from conftest import REPO

    monkeypatch.setenv("TRIOPS_SIGN_IN", "oidc")
    get_settings.cache_clear()
    return AppTest.from_file(str(REPO / "app.py"), default_timeout=60)


def test_without_auth_secrets_the_sign_in_page_names_the_missing_keys(oidc_app):
    oidc_app.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback"}
    oidc_app.run()
    assert not oidc_app.exception
    assert oidc_app.title[0].value == "Sign in to Triops"
    [error] = oidc_app.error
    assert "cookie_secret, client_id, client_secret, server_metadata_url" in error.value
    assert "localhost:8501" not in error.value  # names of keys, never their values
    assert not oidc_app.button


def test_with_auth_secrets_the_sign_in_page_offers_the_provider(oidc_app):
    oidc_app.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "a-long-random-string-for-this-test-only",
        "client_id": "triops",
        "client_secret": "s3cret-value",
        "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
    }
    oidc_app.run()
    assert not oidc_app.exception and not oidc_app.error
    assert [b.label for b in oidc_app.button] == ["Sign in"]
    assert len(oidc_app.sidebar.button) == 0  # no page is reachable before sign-in
