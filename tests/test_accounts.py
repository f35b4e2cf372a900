"""Accounts for a class server (TRIOPS_SIGN_IN=password): hashing, uniqueness, lockout, roles,
the audit log, and the `triops users` / `triops audit` commands, on a real DuckDB file."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from typer.testing import CliRunner

from conftest import fresh_state
from triops import accounts
from triops.accounts import SignInError
from triops.cli import app as cli
from triops.config import get_settings
from triops.errors import InvalidInputError, NotFoundError
from triops.store import accounts as account_store
from triops.store import audit, users
from triops.store.connection import open_state

NOW = datetime(2026, 12, 6, 9, 0)
PASSWORD = "correct horse battery staple"
OTHER = "a different long passphrase"


@pytest.fixture
def db():
    conn = fresh_state(get_settings().state_db)
    yield conn
    conn.close()


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def sign_in(db, name, password, now=NOW, address=None):
    sleeps = Sleeps()
    try:
        return accounts.sign_in(db, name, password, now, address=address, sleep=sleeps), sleeps
    except SignInError as exc:
        exc.sleeps = sleeps
        raise


def test_add_user_stores_an_argon2id_hash_never_the_password(db, product_hasher):
    user = accounts.add_user(db, "Ada", PASSWORD, NOW, role="admin", email="ada@example.org")
    hashed = account_store.password_hash(db, user.id)
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PASSWORD not in hashed
    db.execute("CHECKPOINT")
    assert PASSWORD.encode() not in get_settings().state_db.read_bytes()
    account = account_store.get_account(db, user.id)
    assert (account.role, account.email, account.has_password) == ("admin", "ada@example.org", True)


def test_a_taken_username_is_refused_naming_the_account_and_nothing_is_added(db):
    accounts.add_user(db, "Ada Lovelace", PASSWORD, NOW, role="admin", email="ada@example.org")
    with pytest.raises(InvalidInputError) as caught:
        accounts.add_user(db, "  ada   LOVELACE ", OTHER, NOW)
    assert caught.value.user_message == (
        "The username 'ada LOVELACE' is taken by the account 'Ada Lovelace' "
        "(admin, ada@example.org)."
    )
    assert [u.name for u in users.list_users(db)] == ["Ada Lovelace"]


def test_a_taken_email_is_refused_regardless_of_case_naming_the_account(db):
    accounts.add_user(db, "Ada", PASSWORD, NOW, email="ada@example.org")
    with pytest.raises(InvalidInputError) as caught:
        accounts.add_user(db, "Bob", OTHER, NOW, email="ADA@Example.org")
    assert "already used by the account 'Ada' (learner, ada@example.org)" in (
        caught.value.user_message
    )
    assert users.find_by_name(db, "Bob") is None
    assert accounts.list_accounts(db)[0].name == "Ada"


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("fourteen chars", "at least 15 characters"),
        ("x" * (accounts.MAX_PASSWORD + 1), "at most 256"),
        ("Ada Lovelace the first", None),
        ("  ada   lovelace the first  ", None),
    ],
)
def test_password_rules(db, password, why):
    if why is None:
        accounts.add_user(db, "Ada Lovelace the first x", password, NOW)
        return
    with pytest.raises(InvalidInputError, match=why):
        accounts.add_user(db, "Ada", password, NOW)
    assert users.list_users(db) == []


def test_a_password_that_is_the_username_is_refused(db):
    with pytest.raises(InvalidInputError, match="cannot be the username"):
        accounts.add_user(db, "Ada Lovelace Byron", "ada lovelace byron", NOW)


def test_malformed_email_is_refused(db):
    with pytest.raises(InvalidInputError, match="not an email address"):
        accounts.add_user(db, "Ada", PASSWORD, NOW, email="ada at example")


def test_sign_in_with_the_right_password_returns_the_user_without_delay(db, product_hasher):
    ada = accounts.add_user(db, "Ada", PASSWORD, NOW)
    user, sleeps = sign_in(db, "  ADA ", PASSWORD)
    assert user.id == ada.id and sleeps == []


def test_a_password_typed_in_another_unicode_form_still_signs_in(db):
    accounts.add_user(db, "Ada", "ｆｕｌｌｗｉｄｔｈ ｐａｓｓｐｈｒａｓｅ", NOW)  # NFKC folds it
    user, _ = sign_in(db, "Ada", "fullwidth passphrase")
    assert user.name == "Ada"


def test_wrong_password_is_delayed_says_how_many_tries_are_left_and_is_audited(db):
    ada = accounts.add_user(db, "Ada", PASSWORD, NOW)
    with pytest.raises(SignInError) as caught:
        sign_in(db, "Ada", OTHER)
    assert caught.value.sleeps == [accounts.FAILURE_DELAY_SECONDS]
    assert caught.value.user_message == (
        "Wrong username or password. 4 more failed tries lock this name for 15 minutes."
    )
    last = audit.entries(db)[-1]
    assert (last.action, last.subject_id, last.subject_name, last.detail) == (
        accounts.SIGN_IN_FAILED,
        ada.id,
        "Ada",
        "1 in a row",
    )


def test_five_failures_lock_the_name_for_fifteen_minutes_even_with_the_right_password(db):
    accounts.add_user(db, "Ada", PASSWORD, NOW)
    for n in range(accounts.LOCK_AFTER):
        with pytest.raises(SignInError) as caught:
            sign_in(db, "Ada", OTHER, NOW + timedelta(seconds=n))
    assert caught.value.user_message.startswith(
        "Too many failed sign-ins under this name: try again in 15 minutes"
    )
    assert [e.action for e in audit.entries(db)][-2:] == [accounts.SIGN_IN_FAILED, accounts.LOCKED]
    later = NOW + timedelta(minutes=14)
    with pytest.raises(SignInError, match="try again in 2 minutes") as caught:
        sign_in(db, "Ada", PASSWORD, later)
    assert caught.value.sleeps == [accounts.FAILURE_DELAY_SECONDS]
    user, _ = sign_in(db, "Ada", PASSWORD, NOW + timedelta(minutes=15, seconds=5))
    assert user.name == "Ada"
    assert account_store.failures(db, "ada") is None  # a success starts the count again


def test_a_success_resets_the_count_of_failures(db):
    accounts.add_user(db, "Ada", PASSWORD, NOW)
    for _ in range(accounts.LOCK_AFTER - 1):
        with pytest.raises(SignInError):
            sign_in(db, "Ada", OTHER)
    sign_in(db, "Ada", PASSWORD)
    with pytest.raises(SignInError, match="4 more failed tries"):
        sign_in(db, "Ada", OTHER)


def test_an_unknown_name_is_refused_and_locked_exactly_like_a_known_one(db):
    accounts.add_user(db, "Ada", PASSWORD, NOW)
    messages = {}
    for name in ("Ada", "Nobody"):
        seen = []
        for _ in range(accounts.LOCK_AFTER + 1):
            with pytest.raises(SignInError) as caught:
                sign_in(db, name, OTHER)
            seen.append(caught.value.user_message)
        messages[name] = seen
    assert messages["Ada"] == messages["Nobody"]
    assert audit.entries(db)[-1].subject_id is None  # the failed name belongs to nobody


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7 ", "203.0.113.7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),  # the same subscriber's /64
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("127.0.0.1", None),
        ("::1", None),
        (None, None),
        ("", None),
        ("not an address", "not an address"),
    ],
)
def test_failures_are_counted_per_ipv4_address_and_per_ipv6_64_network(address, key):
    assert accounts.address_key(address) == key


ATTACKER = "198.51.100.23"


def spray(db, count, address=ATTACKER, start=NOW):
    """`count` wrong passwords from one address, each under a name of its own."""
    for n in range(count):
        with pytest.raises(SignInError) as caught:
            sign_in(db, f"guess {n}", OTHER, start + timedelta(seconds=n), address)
    return caught.value


def test_failures_from_one_address_across_names_lock_that_address(db):
    accounts.add_user(db, "Ada", PASSWORD, NOW)
    last = spray(db, accounts.ADDRESS_LOCK_AFTER - 1)
    assert last.user_message.startswith("Wrong username or password.")  # no name is locked
    locking = spray(db, 1, start=NOW + timedelta(minutes=1))
    assert locking.user_message == (
        "Too many failed sign-ins from your network address, whatever the name: try again in "
        "15 minutes (at 09:16 UTC)."
    )
    assert locking.sleeps == [accounts.FAILURE_DELAY_SECONDS]
    locked = audit.entries(db)[-1]
    assert (locked.action, locked.subject_id, locked.subject_name) == (
        accounts.ADDRESS_LOCKED,
        None,
        ATTACKER,
    )
    assert locked.detail == "30 failed sign-ins since 09:00 UTC, until 09:16 UTC"
    # The right password of a real account is refused from there too, before any hash is
    # checked, and nothing more is counted against Ada's name.
    later = NOW + timedelta(minutes=10)
    with pytest.raises(SignInError, match="try again in 6 minutes") as caught:
        sign_in(db, "Ada", PASSWORD, later, ATTACKER)
    assert caught.value.sleeps == [accounts.FAILURE_DELAY_SECONDS]
    assert account_store.failures(db, "ada") is None
    # Another address, and this machine itself, are not affected.
    assert sign_in(db, "Ada", PASSWORD, later, "198.51.100.24")[0].name == "Ada"
    assert sign_in(db, "Ada", PASSWORD, later, None)[0].name == "Ada"
    # The lock runs out, and the count starts again from one.
    after = NOW + timedelta(minutes=16, seconds=1)
    assert sign_in(db, "Ada", PASSWORD, after, ATTACKER)[0].name == "Ada"
    spray(db, 1, start=after)
    assert account_store.address_failures(db, ATTACKER).failures == 1


@pytest.fixture
def low_address_limit(monkeypatch):
    """An address limit of 4, so these tests hash 4 passwords, not 30."""
    monkeypatch.setattr(accounts, "ADDRESS_LOCK_AFTER", 4)


def test_the_address_count_survives_a_restart_and_a_success_does_not_clear_it(
    tmp_path, low_address_limit
):
    path = tmp_path / "state.duckdb"
    conn = open_state(path)
    try:
        accounts.add_user(conn, "Mallory", PASSWORD, NOW)
        spray(conn, accounts.ADDRESS_LOCK_AFTER - 2)
        # Signing in to an account of one's own buys no more guesses at others.
        assert sign_in(conn, "Mallory", PASSWORD, NOW + timedelta(minutes=1), ATTACKER)[0]
    finally:
        conn.close()
    conn = open_state(path)  # the app restarted
    try:
        assert account_store.address_failures(conn, ATTACKER).failures == 2
        spray(conn, 1, start=NOW + timedelta(minutes=2))
        with pytest.raises(SignInError, match="from your network address"):
            sign_in(conn, "someone else", OTHER, NOW + timedelta(minutes=3), ATTACKER)
    finally:
        conn.close()


def test_the_address_window_lets_failures_spread_over_time_through(db, low_address_limit):
    spray(db, accounts.ADDRESS_LOCK_AFTER - 1)
    # The window began at NOW: a failure after it ends starts a new count.
    spray(db, 2, start=NOW + timedelta(minutes=accounts.ADDRESS_WINDOW_MINUTES, seconds=1))
    assert account_store.address_failures(db, ATTACKER).failures == 2


def test_failures_from_an_unknown_or_local_address_are_not_counted_per_address(
    db, low_address_limit
):
    spray(db, accounts.ADDRESS_LOCK_AFTER + 1, address=None)
    assert db.execute("SELECT count(*) FROM sign_in_addresses").fetchone()[0] == 0


def test_a_local_profile_without_a_password_cannot_sign_in(db):
    users.create_user(db, "Ada", NOW)
    with pytest.raises(SignInError, match="Type your username and password"):
        sign_in(db, "Ada", "")
    with pytest.raises(SignInError, match="Wrong username or password"):
        sign_in(db, "Ada", PASSWORD)


def test_an_admin_reset_lifts_the_lock_signs_out_old_sessions_and_is_audited(db):
    admin = accounts.add_user(db, "Root", PASSWORD, NOW, role="admin")
    ada = accounts.add_user(db, "Ada", PASSWORD, NOW)
    signed_in_at = NOW + timedelta(minutes=1)
    assert accounts.still_valid(db, ada.id, signed_in_at)
    for _ in range(accounts.LOCK_AFTER):
        with pytest.raises(SignInError):
            sign_in(db, "Ada", OTHER)
    reset_at = NOW + timedelta(minutes=2)
    accounts.set_password(db, "ada", OTHER, reset_at, actor=accounts.Actor.of(admin))
    assert not accounts.still_valid(db, ada.id, signed_in_at)
    user, _ = sign_in(db, "Ada", OTHER, reset_at + timedelta(seconds=1))
    assert user.id == ada.id
    last = [e for e in audit.entries(db) if e.action == accounts.PASSWORD_RESET][-1]
    assert (last.actor_name, last.subject_name) == ("Root", "Ada")


def test_a_local_profile_given_a_password_can_sign_in(db):
    users.create_user(db, "Ada", NOW)
    accounts.set_password(db, "Ada", PASSWORD, NOW)
    user, _ = sign_in(db, "Ada", PASSWORD)
    assert user.name == "Ada"


def test_role_change_is_audited_and_the_last_admin_keeps_the_role(db):
    accounts.add_user(db, "Root", PASSWORD, NOW, role="admin")
    accounts.add_user(db, "Ada", PASSWORD, NOW)
    accounts.set_role(db, "Ada", "instructor", NOW)
    assert users.find_by_name(db, "Ada").role == "instructor"
    entry = audit.entries(db)[-1]
    assert (entry.actor_name, entry.action, entry.subject_name, entry.detail) == (
        "command line",
        accounts.ROLE_CHANGED,
        "Ada",
        "learner -> instructor",
    )
    with pytest.raises(InvalidInputError, match="'Root' is the only admin"):
        accounts.set_role(db, "Root", "learner", NOW)
    accounts.set_role(db, "Ada", "admin", NOW)
    assert accounts.set_role(db, "Root", "learner", NOW).role == "learner"


def test_set_role_on_an_unknown_user_names_the_known_ones(db):
    accounts.add_user(db, "Ada", PASSWORD, NOW)
    with pytest.raises(NotFoundError, match=r"No user named 'Bob' \(users: Ada\)"):
        accounts.set_role(db, "Bob", "instructor", NOW)


def test_audit_rows_defuse_spreadsheet_formulas_in_typed_names(db):
    with pytest.raises(SignInError):
        sign_in(db, '=HYPERLINK("http://evil.example")', OTHER)
    row = accounts.audit_rows(db)[-1]
    assert row[3] == '\'=HYPERLINK("http://evil.example")'
    assert row[1] == "not signed in"


# -- the command line -----------------------------------------------------------------------


def run(*args, input=None):
    return CliRunner().invoke(cli, list(args), input=input)


def test_cli_users_add_admin_asks_twice_and_makes_the_first_admin():
    result = run("users", "add", "Ada", "--admin", "--email", "ada@example.org",
                 input=f"{PASSWORD}\n{PASSWORD}\n")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "added Ada (admin)" in result.output
    assert PASSWORD not in result.output  # the prompt hides what is typed
    listing = run("users", "list")
    assert listing.output.splitlines() == ["Ada\tadmin\tada@example.org\tpassword"]
    conn = fresh_state(get_settings().state_db)
    try:
        user, _ = sign_in(conn, "Ada", PASSWORD)
    finally:
        conn.close()
    assert user.role == "admin"


def test_cli_users_add_refuses_a_duplicate_naming_the_account():
    assert run("users", "add", "Ada", "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    dup = run("users", "add", "ADA", "--role", "instructor", "--password-stdin", input=OTHER)
    assert dup.exit_code == 1
    assert "error: The username 'ADA' is taken by the account 'Ada' (learner)." in dup.output
    assert run("users", "list").output.count("\n") == 1


def test_cli_users_add_refuses_a_short_password_and_an_unknown_role():
    short = run("users", "add", "Ada", "--password-stdin", input="short\n")
    assert short.exit_code == 1 and "at least 15 characters" in short.output
    role = run("users", "add", "Ada", "--role", "owner", "--password-stdin", input=PASSWORD)
    assert role.exit_code == 2 and "unknown role 'owner'" in role.output
    assert "no users yet" in run("users", "list").output


def test_cli_passwd_role_and_audit_export():
    run("users", "add", "Root", "--admin", "--password-stdin", input=PASSWORD)
    run("users", "add", "Ada", "--password-stdin", input=PASSWORD)
    assert run("users", "role", "Ada", "instructor").output == "Ada is now instructor\n"
    passwd = run("users", "passwd", "ada", "--password-stdin", input=OTHER + "\n")
    assert passwd.exit_code == 0 and passwd.output == "password set for Ada\n"
    missing = run("users", "passwd", "Bob", "--password-stdin", input=OTHER)
    assert missing.exit_code == 1 and "No user named 'Bob' (users: Ada, Root)" in missing.output
    exported = run("audit", "export")
    rows = list(csv.reader(io.StringIO(exported.output)))
    assert rows[0] == list(accounts.AUDIT_COLUMNS)
    assert [r[1:] for r in rows[1:]] == [
        ["command line", "account created", "Root", "role admin"],
        ["command line", "account created", "Ada", "role learner"],
        ["command line", "role changed", "Ada", "learner -> instructor"],
        ["command line", "password reset", "Ada", ""],
    ]
    assert run("audit", "export", "--since", "someday").exit_code == 2
    future = run("audit", "export", "--since", "2999-01-01")
    assert future.output.splitlines() == [",".join(accounts.AUDIT_COLUMNS)]


def test_cli_users_add_while_the_app_holds_the_database_says_so_in_one_line():
    import subprocess
    import sys

    path = get_settings().state_db
    open_state(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb,sys; c=duckdb.connect({str(path)!r}); "
         "print('held', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        result = run("users", "add", "Ada", "--password-stdin", input=PASSWORD)
    finally:
        holder.communicate("")
    assert result.exit_code == 1
    assert result.output == (
        f"{path}: error: locked by another process (is the Triops app running?): stop it and "
        "run this again\n"
    )


@pytest.mark.parametrize(
    ("mode", "args", "note"),
    [
        ("none", [], "note: the app asks for passwords once started with TRIOPS_SIGN_IN=password"),
        ("password", [], None),
        (
            "oidc",
            ["--email", " ada@example.org "],
            "note: with TRIOPS_SIGN_IN=oidc this password is not asked for: a first sign-in "
            "through the identity provider with the verified email ada@example.org lands in Ada",
        ),
        ("oidc", [], "this one has none, so it stays unused. Add accounts with --email"),
    ],
)
def test_cli_users_add_says_how_the_account_signs_in_for_the_sign_in_mode(
    monkeypatch, mode, args, note
):
    monkeypatch.setenv("TRIOPS_SIGN_IN", mode)
    get_settings.cache_clear()
    result = run("users", "add", "Ada", *args, "--password-stdin", input=PASSWORD)
    assert result.exit_code == 0, result.output
    notes = [line for line in result.output.splitlines() if line.startswith("note:")]
    if note is None:
        assert notes == []
    else:
        assert len(notes) == 1 and note in notes[0]
