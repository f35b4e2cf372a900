"""One app replica as an ASGI application (Streamlit 1.67's st.App): app.py's pages, plus
GET /healthz, which checks this replica's learner-state database, JSON logs (triops.ops), and
a "reconnecting" notice for a database that stops answering in a widget callback or fragment.

deploy/replica.py builds the App from these parts (`streamlit run deploy/replica.py`); the
parts live here so that they are tested. Streamlit's own /_stcore/health only says that the
process is up, so a load balancer or an orchestrator asks /healthz instead."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import streamlit as st
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from triops import ops
from triops.errors import StoreError
from triops.store.connection import check_startup, database_url, ping, where
from triops.ui import fragment_race, reconnect

SCRIPT = Path(__file__).resolve().parents[3] / "app.py"
HEALTH_PATH = "/healthz"
HEALTH_TIMEOUT = 2.0

log = logging.getLogger("triops.server")


def database_health() -> tuple[int, dict[str, Any]]:
    """(HTTP status, report) for this replica's learner-state database: 200 when one trivial
    query came back, 503 with the reason otherwise. The query runs on the replica's own
    connection (its pool, or the DuckDB file it holds), so a broken pool shows here too."""
    from triops.ui import resources

    backend = "postgres" if database_url() else "duckdb"
    report: dict[str, Any] = {"replica": ops.replica_name(), "backend": backend}
    try:
        db = resources.state_db()
        report["database"] = where(db, resources.settings().state_db)
        report["ms"] = round(ping(db, HEALTH_TIMEOUT), 2)
    except StoreError as exc:
        report.update(status="unavailable", error=ops.redact(exc.user_message))
        log.warning("health check failed: %s", exc.user_message)
        return 503, report
    report["status"] = "ok"
    return 200, report


async def healthz(request: Request) -> JSONResponse:
    status, report = await run_in_threadpool(database_health)
    return JSONResponse(report, status_code=status, headers={"Cache-Control": "no-store"})


def routes() -> list[Route]:
    """The replica's own HTTP routes, beside Streamlit's."""
    return [Route(HEALTH_PATH, healthz, methods=["GET", "HEAD"])]


def on_script_error(exc: Exception) -> bool:
    """Streamlit's hook for an exception no page handled (widget callbacks and fragments
    included): a database that stopped answering is a notice, not a traceback."""
    return reconnect.notice_for(exc)


def request_fields() -> dict[str, Any]:
    """The user and attempt of the script run on this thread; {} outside one."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None:
        return {}
    from triops.ui.identity import current

    return {"user": current().user_id, "attempt": st.query_params.get("attempt")}


def prepare() -> None:
    """Start-up: JSON logs, and with TRIOPS_DATABASE_URL a reachable, migrated database, or one
    line naming the host and the cause and exit status 1 (nothing is served). The fragment-run
    race fix goes in before any session starts (app.py installs it too, for `streamlit run
    app.py`)."""
    ops.configure_logging()
    fragment_race.install()
    ops.set_context_provider(request_fields)
    problem = check_startup()
    if problem is not None:
        print(f"error: {ops.redact(problem)}", file=sys.stderr, flush=True)
        raise SystemExit(1)
    if database_url():
        log.info("learner state in PostgreSQL, schema current")
