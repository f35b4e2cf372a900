"""A password sign-in that outlives its Streamlit session: a signed, HttpOnly cookie.

Behind a load balancer, a candidate whose replica dies reconnects to another replica in a new
Streamlit session, which knows nothing of the old one. With TRIOPS_SECRET set (the same value on
every replica: /etc/triops/triops.env, or scripts/run-cluster.py's own), a password sign-in also
leaves a cookie that any replica reads back from the new session's websocket handshake
(`st.context.cookies`), so the candidate is recognised without the password. Without it,
nothing here is used and a sign-in lasts as long as its tab's session, as before.

The cookie is set by an HTTP route of the replica, never by JavaScript: a websocket cannot set a
cookie, so after a successful sign-in the page is handed a voucher (signed for another purpose,
valid for VOUCHER_SECONDS) that a small component POSTs to SESSION_PATH in the body of a JSON
request; the route answers with `Set-Cookie: triops_session=...; HttpOnly; SameSite=Strict`
(`Secure` when the request came over https). Sign-out is a DELETE to the same route. Neither the
voucher nor the cookie ever appears in an address. The route asks for a JSON body and a custom
header, which a cross-site page cannot send without a CORS preflight the replica never grants.

The value is `<payload>.<signature>`: the payload is base64url JSON with the user id, the
sign-in time (microseconds kept: `accounts.still_valid` compares it with the password's time)
and the expiry; the signature is HMAC-SHA256 under a key derived from the secret for this one
purpose. A value that is tampered with, expired, or signed under another secret is refused.
Reading a cookie never decides alone: `accounts.still_valid` is applied on every rerun, so a
changed or reset password, or a removed account, signs the cookie out."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta

COOKIE = "triops_session"
SESSION_PATH = "/triops/session"  # the route; outside Streamlit's reserved prefixes
SECRET_ENV = "TRIOPS_SECRET"
MIN_SECRET = 32  # characters; `python -c "import secrets; print(secrets.token_urlsafe(32))"`
LIFETIME = timedelta(hours=12)  # longer than any exam sitting, shorter than a school week
VOUCHER_SECONDS = 60  # from the sign-in to the page's POST of its voucher
HEADER = "X-Triops-Session"  # a custom header: cross-site pages cannot send it unasked

_COOKIE_PURPOSE = b"triops password session cookie v1"
_VOUCHER_PURPOSE = b"triops password session voucher v1"


class SecretError(ValueError):
    """TRIOPS_SECRET is set but unusable; the message says why, never the value."""


@dataclass(frozen=True)
class Claim:
    """Who a valid cookie or voucher says signed in, and when."""

    user_id: str
    signed_in_at: datetime  # naive UTC, as triops.ui.identity.now() gives it
    expires: datetime


def secret_from_env(environ: dict[str, str] | None = None) -> str | None:
    """The shared secret, or None when none is configured (one laptop: behaviour as before).
    SecretError for a value too short to sign with."""
    value = (os.environ if environ is None else environ).get(SECRET_ENV, "").strip()
    if not value:
        return None
    if len(value) < MIN_SECRET:
        raise SecretError(
            f"{SECRET_ENV} is {len(value)} characters long; use at least {MIN_SECRET} random "
            "ones, the same on every replica (python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(32))')"
        )
    return value


def _key(secret: str, purpose: bytes) -> bytes:
    return hmac.new(secret.encode(), purpose, hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, purpose: bytes, user_id: str, at: datetime, expires: datetime) -> str:
    payload = json.dumps(
        {"u": user_id, "t": at.isoformat(), "e": expires.isoformat()}, separators=(",", ":")
    )
    body = _b64(payload.encode())
    mac = hmac.new(_key(secret, purpose), body.encode("ascii"), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def _read(secret: str, purpose: bytes, value: str, now: datetime) -> Claim | None:
    if not isinstance(value, str) or len(value) > 1024 or value.count(".") != 1:
        return None
    body, mac = value.split(".")
    try:
        given = _unb64(mac)
        expected = hmac.new(_key(secret, purpose), body.encode("ascii"), hashlib.sha256).digest()
        if not hmac.compare_digest(given, expected):
            return None
        fields = json.loads(_unb64(body))
        claim = Claim(
            user_id=str(fields["u"]),
            signed_in_at=datetime.fromisoformat(fields["t"]),
            expires=datetime.fromisoformat(fields["e"]),
        )
    except (ValueError, KeyError, TypeError, UnicodeError):
        return None
    if claim.expires <= now or claim.signed_in_at > now + timedelta(minutes=5):
        return None
    return claim


def cookie_value(secret: str, user_id: str, signed_in_at: datetime) -> str:
    """The cookie for a sign-in at `signed_in_at`, valid for LIFETIME from then."""
    return _sign(secret, _COOKIE_PURPOSE, user_id, signed_in_at, signed_in_at + LIFETIME)


def read_cookie(secret: str, value: str, now: datetime) -> Claim | None:
    """The claim of a cookie signed under `secret` and not expired at `now`; else None."""
    return _read(secret, _COOKIE_PURPOSE, value, now)


def voucher(secret: str, user_id: str, signed_in_at: datetime, now: datetime) -> str:
    """What the page POSTs to have its cookie set: the same claim, valid VOUCHER_SECONDS, and
    signed for another purpose (a voucher is never a cookie, nor a cookie a voucher)."""
    expires = now + timedelta(seconds=VOUCHER_SECONDS)
    return _sign(secret, _VOUCHER_PURPOSE, user_id, signed_in_at, expires)


def read_voucher(secret: str, value: str, now: datetime) -> Claim | None:
    return _read(secret, _VOUCHER_PURPOSE, value, now)


# -- the route (deploy/replica.py serves it beside Streamlit's) ---------------------------------


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


async def session_route(request):
    """POST {"voucher": ...}: set the cookie for the voucher's sign-in. DELETE: clear it.
    Both need the HEADER and (POST) a JSON body; 404 when no secret is configured."""
    from starlette.responses import JSONResponse, Response

    from triops.ui.identity import now

    try:
        secret = secret_from_env()
    except SecretError:
        secret = None
    if secret is None:
        return _no_store(JSONResponse({"error": "no session cookies here"}, status_code=404))
    if request.headers.get(HEADER) != "1":
        return _no_store(JSONResponse({"error": f"{HEADER} header missing"}, status_code=403))
    secure = (
        request.url.scheme == "https"
        or request.headers.get("x-forwarded-proto", "").lower() == "https"
    )
    if request.method == "DELETE":
        response = Response(status_code=204)
        response.delete_cookie(COOKIE, path="/", secure=secure, httponly=True, samesite="strict")
        return _no_store(response)
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return _no_store(JSONResponse({"error": "a JSON body is expected"}, status_code=415))
    body = await request.body()
    try:
        given = json.loads(body) if len(body) <= 4096 else None
        value = given.get("voucher") if isinstance(given, dict) else None
    except ValueError:
        value = None
    claim = read_voucher(secret, value, now()) if isinstance(value, str) else None
    if claim is None:
        return _no_store(JSONResponse({"error": "voucher refused"}, status_code=400))
    response = Response(status_code=204)
    response.set_cookie(
        COOKIE,
        cookie_value(secret, claim.user_id, claim.signed_in_at),
        path="/",
        secure=secure,
        httponly=True,
        samesite="strict",
    )  # no Max-Age: the browser forgets it when it closes; the value expires after LIFETIME
    return _no_store(response)


def route_path() -> str:
    """SESSION_PATH under Streamlit's server.baseUrlPath, if one is set."""
    from streamlit import config

    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}{SESSION_PATH}" if base else SESSION_PATH


def routes() -> list:
    """The replica's session-cookie route (deploy/replica.py adds it to the st.App)."""
    from starlette.routing import Route

    return [Route(route_path(), session_route, methods=["POST", "DELETE"])]


def startup_problem() -> str | None:
    """One line saying why TRIOPS_SECRET cannot be used, or None (unset is fine)."""
    try:
        secret_from_env()
    except SecretError as exc:
        return str(exc)
    return None
