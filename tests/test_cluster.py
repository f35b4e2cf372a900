"""Replicas behind nginx (issue 19 items 2 and 3): `scripts/run-cluster.py` (make run-cluster)
starts PostgreSQL, two replicas and nginx; a browser keeps to one replica; and when that replica
is killed with SIGKILL mid-exam, the page reconnects through nginx to the other one and the
exam goes on with every acknowledged answer and the clock where it was; with password sign-in,
the candidate is back on the exam without being asked to sign in again (the signed session
cookie, triops.ui.session_cookie, under the secret run-cluster gives every replica)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.cluster_fixtures import (
    SCRIPT,
    cluster,  # noqa: F401 - a fixture
    free_ports,
    load_cluster_script,
    require_nginx,
    start_cluster,
    stop_cluster,
)
from tests.test_browser_exam import answered_marks, idle, seconds_left

pytest_plugins = ["tests.pgserver"]

EXAM = "devops-practitioner"  # the 30-question, 45-minute DevOps practitioner mock


def _health(url: str, cookie: str | None = None) -> dict:
    request = urllib.request.Request(f"{url}healthz")
    if cookie is not None:
        request.add_header("Cookie", f"triops_affinity={cookie}")
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.loads(resp.read())


def _watch_connection(page) -> None:
    """Record every connection state the page goes through from now on."""
    page.evaluate(
        """() => {
          const app = document.querySelector('[data-testid=stApp]');
          window.__states = [app.getAttribute('data-test-connection-state')];
          new MutationObserver(() => window.__states.push(
            app.getAttribute('data-test-connection-state'))).observe(
              app, {attributes: true, attributeFilter: ['data-test-connection-state']});
        }"""
    )


def _wait_reconnected(page) -> None:
    """Until the page, watched since _watch_connection, lost its connection and has one again."""
    page.wait_for_function(
        "() => window.__states.some(s => s !== 'CONNECTED') && "
        "document.querySelector('[data-testid=stApp]')"
        ".getAttribute('data-test-connection-state') === 'CONNECTED'",
        timeout=90_000,
    )


def test_the_deploy_configuration_lists_replicas_where_the_script_replaces_them():
    script = load_cluster_script()
    site = script.SITE.read_text()
    rendered = script.nginx_config(site, [9001, 9002, 9003], 9100, script.REPO / "x")
    upstream = rendered[rendered.index("upstream triops_replicas") :]
    upstream = upstream[: upstream.index("}")]
    assert re.findall(r"server 127\.0\.0\.1:(\d+)", upstream) == ["9001", "9002", "9003"]
    assert "hash $triops_affinity consistent;" in upstream
    assert re.findall(r"^\s*listen\s+([^;]+);", rendered, flags=re.M) == ["127.0.0.1:9100"]
    for directive in ("proxy_next_upstream error timeout", "proxy_set_header Upgrade"):
        assert directive in rendered


@pytest.mark.slow  # starts replicas (run-cluster)
def test_a_browser_stays_on_one_replica_and_the_replicas_share_one_database(cluster):  # noqa: F811
    first = _health(cluster.url)
    assert first["status"] == "ok" and first["backend"] == "postgres"
    seen = {}
    for n in range(12):
        cookie = f"browser-{n}"
        answers = {_health(cluster.url, cookie)["replica"] for _ in range(4)}
        assert len(answers) == 1, f"cookie {cookie} went to {answers}"
        seen[cookie] = answers.pop()
    assert set(seen.values()) == {"replica-1", "replica-2"}
    databases = {
        _health(f"http://127.0.0.1:{r['port']}/")["database"] for r in cluster.state["replicas"]
    }
    assert len(databases) == 1
    for replica in cluster.state["replicas"]:
        lines = open(replica["log"]).read().splitlines()
        assert any(
            json.loads(ln).get("replica") == replica["name"] for ln in lines if ln[:1] == "{"
        )


@pytest.mark.browser
def test_killing_the_replica_serving_a_candidate_loses_no_acknowledged_answer(
    browser,
    cluster,  # noqa: F811
):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{cluster.url}exam")
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_label("Name").fill("Candidate")
    sidebar.get_by_role("button", name="Create profile").click()
    page.locator(f".st-key-start-{EXAM}").get_by_role("button").click()
    page.get_by_text("Question 1 of 30").wait_for()

    def answer_here(position: int) -> bool:
        radios = page.locator("[data-testid=stMainBlockContainer] [data-testid=stRadio]")
        if not radios.count():
            return False
        radios.first.locator("label:has(input[type=radio])").first.click()
        idle(page)
        page.get_by_text("Answer saved at").wait_for()
        return True

    def next_question(position: int) -> int:
        idle(page)
        page.get_by_role("button", name="Next", exact=True).click()
        page.get_by_text(f"Question {position + 1} of 30").wait_for()
        idle(page)
        return position + 1

    answered: list[int] = []
    position = 1
    while len(answered) < 3:
        if answer_here(position):
            answered.append(position)
        position = next_question(position)
    assert answered_marks(page, 3) == set(answered)

    # The replica serving this browser: nginx hashes the same affinity cookie for /healthz as
    # for the page's websocket.
    serving = page.request.get(f"{cluster.url}healthz").json()["replica"]
    other = ({"replica-1", "replica-2"} - {serving}).pop()
    _watch_connection(page)
    left_before, clock_before = seconds_left(page), time.monotonic()
    cluster.kill(serving)

    # The page notices the lost connection and reconnects (through nginx, to the other replica).
    _wait_reconnected(page)
    idle(page)
    assert page.request.get(f"{cluster.url}healthz").json()["replica"] == other
    # The new session on the other replica shows the same attempt: the three answers, and it
    # takes a fourth (acknowledged by the live replica).
    page.get_by_text("3 of 30 answered").wait_for()
    while len(answered) < 4:
        position = next_question(position)
        if answer_here(position):
            answered.append(position)
    assert answered_marks(page, 4) == set(answered)
    # An honest clock: the deadline is the database's, so the time left went on running.
    expected = left_before - (time.monotonic() - clock_before)
    assert abs(seconds_left(page) - expected) <= 5

    # A fresh page load reads everything back from PostgreSQL through the surviving replica.
    page.reload()
    page.get_by_text("4 of 30 answered").wait_for()
    assert answered_marks(page, 4) == set(answered)
    expected = left_before - (time.monotonic() - clock_before)
    assert abs(seconds_left(page) - expected) <= 5
    context.close()


@pytest.mark.browser
def test_a_password_candidate_whose_replica_is_killed_is_not_asked_to_sign_in_again(
    browser, pg_url, monkeypatch, tmp_path
):
    from triops import accounts
    from triops.store.connection import open_state
    from triops.ui.identity import now

    require_nginx()
    password = "correct horse battery staple"
    monkeypatch.setenv("TRIOPS_DATABASE_URL", pg_url)
    db = open_state(tmp_path / "unused.duckdb")
    try:
        accounts.add_user(db, "Cand", password, now())
    finally:
        db.close()
    # TRIOPS_SECRET left to run-cluster, which makes one and gives it to both replicas.
    running = start_cluster(
        2, extra=["--database-url", pg_url], env={"TRIOPS_SIGN_IN": "password", "TRIOPS_SECRET": ""}
    )
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{running.url}exam")
        page.get_by_role("textbox", name="Username").fill("Cand")
        page.get_by_role("textbox", name="Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.locator(f".st-key-start-{EXAM}").get_by_role("button").click()
        page.get_by_text("Question 1 of 30").wait_for()
        for _ in range(100):  # the page stores its cookie through the replica's route
            if any(c["name"] == "triops_session" for c in context.cookies()):
                break
            page.wait_for_timeout(100)
        assert any(c["name"] == "triops_session" for c in context.cookies())
        radios = page.locator("[data-testid=stMainBlockContainer] [data-testid=stRadio]")
        position = 1
        while not radios.count():
            idle(page)
            page.get_by_role("button", name="Next", exact=True).click()
            position += 1
            page.get_by_text(f"Question {position} of 30").wait_for()
            idle(page)
        radios.first.locator("label:has(input[type=radio])").first.click()
        idle(page)
        page.get_by_text("Answer saved at").wait_for()
        serving = page.request.get(f"{running.url}healthz").json()["replica"]
        _watch_connection(page)
        running.kill(serving)
        _wait_reconnected(page)
        idle(page)
        assert page.request.get(f"{running.url}healthz").json()["replica"] != serving
        # Back on the exam page, at the same question, with its answer: no sign-in form.
        page.get_by_text("1 of 30 answered").wait_for()
        page.get_by_text(f"Question {position} of 30").wait_for()
        page.get_by_text("Signed in as Cand (learner)").wait_for()
        assert page.get_by_role("textbox", name="Password").count() == 0
        assert page.get_by_role("heading", name="Sign in to Triops").count() == 0
        assert answered_marks(page, 1) == {position}
        context.close()
    finally:
        stop_cluster(running)


@pytest.mark.slow  # starts replicas (run-cluster)
def test_an_unreachable_database_stops_the_cluster_with_one_line(tmp_path):
    from tests.pgserver import require_postgres

    require_postgres()
    require_nginx()
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--replicas", "1", "--home", str(tmp_path / "c")]
        + [
            "--base-port",
            str(free_ports(1)),
            "--database-url",
            "postgresql://triops:s3cret@127.0.0.1:1/state",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert re.match(r"error: replica on port \d+: cannot connect to PostgreSQL at ", lines[0])
    assert "127.0.0.1:1/state" in lines[0] and "refused" in lines[0]
    assert "s3cret" not in result.stderr + result.stdout


@pytest.mark.slow  # starts replicas (run-cluster)
def test_the_cluster_stops_cleanly_on_ctrl_c():
    from tests.pgserver import require_postgres

    require_postgres()
    require_nginx()
    running = start_cluster(1)
    state = running.state
    output = stop_cluster(running)
    assert output.strip().endswith("stopped")
    for port in [state["nginx"]["port"], *(r["port"] for r in state["replicas"])]:
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)


def test_without_nginx_the_cluster_tests_skip_and_under_the_requirement_fail(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIOPS_NGINX", str(tmp_path / "no-nginx"))
    monkeypatch.delenv("TRIOPS_REQUIRE_NGINX", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no-nginx is not installed"):
        require_nginx()
    monkeypatch.setenv("TRIOPS_REQUIRE_NGINX", "1")
    with pytest.raises(pytest.fail.Exception, match="TRIOPS_REQUIRE_NGINX=1"):
        require_nginx()
