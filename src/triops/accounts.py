"""Accounts for a class server (TRIOPS_SIGN_IN=password): users with passwords and roles,
sign-in with lockout, and an audit entry for every role change, password change, failed
sign-in and lockout.

Passwords are hashed with Argon2id through pwdlib (argon2-cffi's defaults: 64 MiB, 3 passes,
4 lanes, the second recommended option of RFC 9106, 2021). The length rules follow NIST SP
800-63B-4 (2025), section 3.1.1.2: at least 15 characters for a password that is the only
factor, at least 64 accepted, no composition rules, no truncation, NFKC-normalized first.
The lockout numbers are this module's constants, documented in the README."""

from __future__ import annotations

import csv
import hashlib
import io
import ipaddress
import re
import secrets
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from urllib.parse import urlsplit

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from triops.errors import InvalidInputError, NotFoundError, TriopsError
from triops.store import accounts as store
from triops.store import audit, users
from triops.store.accounts import Account
from triops.store.users import Role, User

SIGN_IN_MODES = ("none", "password", "oidc")
ROLES: tuple[Role, ...] = ("learner", "instructor", "admin")
MIN_PASSWORD = 15
MAX_PASSWORD = 256
# Five failed sign-ins in a row under one name lock that name for 15 minutes; every failed
# sign-in also answers only after a second, so a script guesses at most one password a second
# per session, and five per name per quarter hour.
LOCK_AFTER = 5
LOCK_MINUTES = 15
FAILURE_DELAY_SECONDS = 1.0
# Across names, one client address may fail 30 sign-ins in a 15-minute window; the 30th locks
# the address (every name, the right password too) for 15 minutes. That caps guessing spread
# over many names (five tries each stay under the per-name lock) at 30 passwords per address
# per quarter hour, while a class behind one shared address (a school's NAT) still has room for
# its typos. The count is kept in the database, so a restart does not reset it.
ADDRESS_LOCK_AFTER = 30
ADDRESS_WINDOW_MINUTES = 15
ADDRESS_LOCK_MINUTES = 15
MAX_EMAIL = 254

# Audit actions.
CREATED = "account created"
ROLE_CHANGED = "role changed"
PASSWORD_CHANGED = "password changed"
PASSWORD_RESET = "password reset"
SIGN_IN_FAILED = "sign-in failed"
LOCKED = "locked out"
ADDRESS_LOCKED = "address locked out"

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class SignInError(TriopsError):
    """A sign-in refused: a wrong name or password, or a locked name."""


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a signed-in user, or the command line (id None)."""

    id: str | None
    name: str

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(user.id, user.name)


COMMAND_LINE = Actor(None, "command line")


@lru_cache(maxsize=1)
def _hasher() -> PasswordHash:
    return PasswordHash((Argon2Hasher(),))


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    # A name that has no account is checked against this, so a refusal takes as long either way.
    return _hasher().hash("a password that no account has")


def login_key(name: str) -> str:
    """A typed username as failures are counted: single-spaced, case-folded, cut at 60."""
    return " ".join(name.split()).casefold()[: users.MAX_NAME]


def address_key(address: str | None) -> str | None:
    """The key failures from a client address are counted under: an IPv4 address, or the /64
    network of an IPv6 one (what one subscriber is usually given, RFC 6177, 2011); None when the
    address is unknown or this machine's own (Streamlit's st.context.ip_address gives None for a
    loopback connection)."""
    if not address or not address.strip():
        return None
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return address.strip()[:64]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


def check_password(password: str, name: str) -> str:
    """The password as it is hashed (NFKC), or a clear refusal."""
    normalized = unicodedata.normalize("NFKC", password)
    if len(normalized) < MIN_PASSWORD:
        raise InvalidInputError(
            f"A password has at least {MIN_PASSWORD} characters (a few words make a good one); "
            f"this one has {len(normalized)}."
        )
    if len(normalized) > MAX_PASSWORD:
        raise InvalidInputError(f"A password has at most {MAX_PASSWORD} characters.")
    if login_key(normalized) == login_key(name):
        raise InvalidInputError("A password cannot be the username.")
    return normalized


def clean_email(email: str) -> tuple[str, str]:
    """An email as stored and its uniqueness key, or a clear refusal."""
    cleaned = email.strip()
    if len(cleaned) > MAX_EMAIL or not _EMAIL.match(cleaned):
        raise InvalidInputError(f"'{cleaned}' is not an email address (name@example.org).")
    return cleaned, cleaned.casefold()


def _describe(account: Account) -> str:
    email = f", {account.email}" if account.email else ""
    return f"'{account.name}' ({account.role}{email})"


def find(db, name: str) -> Account:
    """The account of a username, or NotFoundError naming the known ones."""
    user = users.find_by_name(db, name)
    if user is None:
        known = ", ".join(a.name for a in store.list_accounts(db)) or "none yet"
        raise NotFoundError(f"No user named '{' '.join(name.split())}' (users: {known}).")
    account = store.get_account(db, user.id)
    if account is None:  # removed between the two reads
        raise NotFoundError(f"No user named '{user.name}'.")
    return account


def add_user(
    db,
    name: str,
    password: str,
    now: datetime,
    *,
    role: Role = "learner",
    email: str | None = None,
    actor: Actor = COMMAND_LINE,
) -> User:
    """A new user with a password; a taken username or email names the account holding it."""
    if role not in ROLES:
        raise InvalidInputError(f"Unknown role '{role}': one of {', '.join(ROLES)}.")
    cleaned = users.clean_name(name)
    existing = users.find_by_name(db, cleaned)
    if existing is not None:
        holder = store.get_account(db, existing.id)
        raise InvalidInputError(
            f"The username '{cleaned}' is taken by the account {_describe(holder)}."
        )
    email_pair = clean_email(email) if email else (None, None)
    if email_pair[1] is not None:
        holder = store.find_by_email(db, email_pair[1])
        if holder is not None:
            raise InvalidInputError(
                f"The email {email_pair[0]} is already used by the account {_describe(holder)}."
            )
    hashed = _hasher().hash(check_password(password, cleaned))
    user = store.create(
        db, cleaned, role=role, email=email_pair[0], email_key=email_pair[1], hashed=hashed, now=now
    )
    _audit(db, now, actor, CREATED, user, f"role {role}")
    return user


def set_password(
    db,
    name: str,
    password: str,
    now: datetime,
    *,
    actor: Actor = COMMAND_LINE,
) -> User:
    """Give a user a new password (a local profile gets its first) and lift any lockout.

    Sessions signed in before the change are signed out (see `still_valid`)."""
    account = find(db, name)
    hashed = _hasher().hash(check_password(password, account.name))
    store.set_password(db, account.id, hashed, now)
    store.clear_failures(db, login_key(account.name))
    user = users.get_user(db, account.id)
    action = PASSWORD_CHANGED if actor.id == account.id else PASSWORD_RESET
    _audit(db, now, actor, action, user, "")
    return user


def set_role(
    db,
    name: str,
    role: Role,
    now: datetime,
    *,
    actor: Actor = COMMAND_LINE,
) -> User:
    """Change a user's role; the last admin keeps theirs."""
    if role not in ROLES:
        raise InvalidInputError(f"Unknown role '{role}': one of {', '.join(ROLES)}.")
    account = find(db, name)
    if account.role == role:
        return users.get_user(db, account.id)
    if account.role == "admin" and store.count_role(db, "admin") == 1:
        raise InvalidInputError(
            f"'{account.name}' is the only admin: make another admin first, so that someone "
            "can still manage accounts."
        )
    store.set_role(db, account.id, role)
    user = users.get_user(db, account.id)
    _audit(db, now, actor, ROLE_CHANGED, user, f"{account.role} -> {role}")
    return user


def sign_in(
    db,
    name: str,
    password: str,
    now: datetime,
    *,
    address: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> User:
    """The user whose name and password these are; else SignInError after a delay.

    Failures are counted per typed name, known or not, and the message is the same either
    way, so neither a refusal nor a lockout tells which usernames exist. They are also counted
    per client `address` across names (see `address_key`; an unknown or local address is not
    counted), and a locked address is refused before any password is checked."""
    key = login_key(name)
    if not key or not password:
        raise SignInError("Type your username and password.")
    where = address_key(address)
    held = store.address_failures(db, where) if where is not None else None
    if held is not None and held.locked_until is not None and held.locked_until > now:
        sleep(FAILURE_DELAY_SECONDS)
        raise SignInError(_address_locked_message(held.locked_until, now))
    before = store.failures(db, key)
    if before is not None and before.locked_until is not None and before.locked_until > now:
        sleep(FAILURE_DELAY_SECONDS)
        raise SignInError(_locked_message(before.locked_until, now))
    try:
        user = users.find_by_name(db, name)
    except InvalidInputError:
        user = None  # a name no profile could have
    hashed = store.password_hash(db, user.id) if user else None
    normalized = unicodedata.normalize("NFKC", password)[: MAX_PASSWORD + 1]
    valid, updated = _hasher().verify_and_update(normalized, hashed or _decoy_hash())
    if user is not None and hashed is not None and valid:
        if updated is not None:
            store.replace_hash(db, user.id, updated)
        store.clear_failures(db, key)
        return user
    typed = " ".join(name.split())[: users.MAX_NAME]
    after = store.record_failure(
        db,
        key,
        now,
        lock_after=LOCK_AFTER,
        locked_until=now + timedelta(minutes=LOCK_MINUTES),
    )
    anonymous = Actor(None, "not signed in")
    subject_id = user.id if user else None
    _audit_raw(db, now, anonymous, SIGN_IN_FAILED, subject_id, typed, f"{after.failures} in a row")
    from_address = None
    if where is not None:
        from_address = store.record_address_failure(
            db,
            where,
            now,
            window_from=now - timedelta(minutes=ADDRESS_WINDOW_MINUTES),
            lock_after=ADDRESS_LOCK_AFTER,
            locked_until=now + timedelta(minutes=ADDRESS_LOCK_MINUTES),
        )
        if from_address.locked_until is not None:
            _audit_raw(
                db,
                now,
                anonymous,
                ADDRESS_LOCKED,
                None,
                where,
                f"{from_address.failures} failed sign-ins since "
                f"{from_address.window_started:%H:%M} UTC, until "
                f"{from_address.locked_until:%H:%M} UTC",
            )
    sleep(FAILURE_DELAY_SECONDS)
    if from_address is not None and from_address.locked_until is not None:
        raise SignInError(_address_locked_message(from_address.locked_until, now))
    if after.locked_until is not None:
        _audit_raw(
            db, now, anonymous, LOCKED, subject_id, typed, f"until {after.locked_until:%H:%M} UTC"
        )
        raise SignInError(_locked_message(after.locked_until, now))
    left = LOCK_AFTER - after.failures
    raise SignInError(
        f"Wrong username or password. {left} more failed "
        f"{'try' if left == 1 else 'tries'} lock this name for {LOCK_MINUTES} minutes."
    )


OIDC_PREFIX = "oidc:"


def oidc_username(issuer: str, subject: str) -> str:
    """The username of the account an OpenID Connect subject signs in to: 'oidc:HOST:SUB'.

    A subject is unique only within its issuer (OpenID Connect Core 1.0, 2014, section 2), so
    the issuer's host is part of the name; one too long for a username is shortened to a
    SHA-256 digest of the pair, still one name per subject."""
    host = urlsplit(issuer).hostname or issuer
    name = f"{OIDC_PREFIX}{host}:{subject}"
    if len(name) > users.MAX_NAME or not name.isprintable() or name != " ".join(name.split()):
        digest = hashlib.sha256(f"{issuer}\n{subject}".encode()).hexdigest()[:32]
        name = f"{OIDC_PREFIX}{host[:20]}:{digest}"
    return name


def _claimed_role(claims: Mapping[str, object], role_claim: str | None) -> Role | None:
    """The role a claim names: a role's name, or a list holding some (the highest wins)."""
    if not role_claim:
        return None
    value = claims.get(role_claim)
    named = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    held = [role for role in ROLES if role in named]
    return held[-1] if held else None


def oidc_sign_in(
    db,
    claims: Mapping[str, object],
    now: datetime,
    *,
    role_claim: str | None = None,
) -> User:
    """The user an OpenID Connect sign-in is, found or made from the ID token's claims.

    Found by its 'oidc:HOST:SUB' username; else, for a verified email (email_verified not
    false), the account holding that email (say one made with `triops users add --email`);
    else made at once, as a learner. The role comes from `role_claim` when the token names one
    (a change is stored and audited), else it stays the accounts table's."""
    issuer = str(claims.get("iss") or "").strip()
    subject = str(claims.get("sub") or "").strip()
    if not issuer or not subject:
        raise SignInError(
            "The identity provider's answer has no issuer or subject: sign in again, or ask "
            "an admin to check the [auth] settings."
        )
    provider = Actor(None, f"identity provider {urlsplit(issuer).hostname or issuer}")
    username = oidc_username(issuer, subject)
    user = users.find_by_name(db, username)
    email = claims.get("email")
    email_pair = (None, None)
    if isinstance(email, str) and email.strip() and claims.get("email_verified") is not False:
        try:
            email_pair = clean_email(email)
        except InvalidInputError:
            email_pair = (None, None)  # not an address this table keeps: the account has none
    if user is None and email_pair[1] is not None:
        holder = store.find_by_email(db, email_pair[1])
        user = users.get_user(db, holder.id) if holder is not None else None
    role = _claimed_role(claims, role_claim)
    if user is None:
        # The accounts table needs a password hash: this one is of a random secret nobody
        # is told, so the account signs in through its provider only.
        hashed = _hasher().hash(secrets.token_urlsafe(32))
        user = store.create(
            db,
            username,
            role=role or "learner",
            email=email_pair[0],
            email_key=email_pair[1],
            hashed=hashed,
            now=now,
        )
        _audit(db, now, provider, CREATED, user, f"role {user.role}, OpenID Connect")
        return user
    if role is not None and role != user.role:
        store.set_role(db, user.id, role)
        _audit(db, now, provider, ROLE_CHANGED, user, f"{user.role} -> {role} (claim {role_claim})")
        user = users.get_user(db, user.id)
    return user


def _minutes_left(until: datetime, now: datetime) -> str:
    minutes = max(1, -(-int((until - now).total_seconds()) // 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _locked_message(until: datetime, now: datetime) -> str:
    return (
        f"Too many failed sign-ins under this name: try again in {_minutes_left(until, now)}, "
        "or ask an admin to reset your password."
    )


def _address_locked_message(until: datetime, now: datetime) -> str:
    return (
        "Too many failed sign-ins from your network address, whatever the name: try again in "
        f"{_minutes_left(until, now)} (at {until:%H:%M} UTC)."
    )


def still_valid(db, user_id: str, signed_in_at: datetime) -> bool:
    """Whether a session signed in at `signed_in_at` still stands: the user exists and its
    password has not been changed or reset since."""
    account = store.get_account(db, user_id)
    if account is None or account.password_set_at is None:
        return False
    return account.password_set_at <= signed_in_at


def list_accounts(db) -> list[Account]:
    return store.list_accounts(db)


def _audit(db, now: datetime, actor: Actor, action: str, user: User, detail) -> None:
    _audit_raw(db, now, actor, action, user.id, user.name, detail)


def _audit_raw(db, now, actor: Actor, action, subject_id, subject_name, detail) -> None:
    audit.record(
        db,
        now,
        actor_id=actor.id,
        actor_name=actor.name,
        action=action,
        subject_id=subject_id,
        subject_name=subject_name,
        detail=detail,
    )


AUDIT_COLUMNS = ("time_utc", "actor", "action", "user", "detail")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    # A cell opening with one of these is run as a formula by spreadsheets (OWASP, "CSV
    # Injection"); typed names reach the log, so such a cell is opened with a quote.
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def audit_rows(db, since: datetime | None = None) -> list[tuple[str, ...]]:
    """The audit log as rows of AUDIT_COLUMNS, oldest first, safe to open in a spreadsheet."""
    return [
        (
            f"{e.happened_at:%Y-%m-%d %H:%M:%S}",
            _cell(e.actor_name),
            e.action,
            _cell(e.subject_name),
            _cell(e.detail),
        )
        for e in audit.entries(db, since)
    ]


def audit_csv(db, since: datetime | None = None) -> str:
    """The audit log as CSV text with a header row (see audit_rows)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(AUDIT_COLUMNS)
    writer.writerows(audit_rows(db, since))
    return buffer.getvalue()
