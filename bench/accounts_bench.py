"""Class-server figures (issue 18 item 7).

- Sign-in: a successful password sign-in through triops.accounts (the failure counter read, the
  user and hash read, the Argon2id verify, the counter cleared) on a real DuckDB file, against
  a bare pwdlib verify of the same hash with the same Argon2 parameters, interleaved run by run.
- The gradebook: Instructor › Cohorts (app_pages/cohorts.py from the entry point, through
  AppTest) for a cohort of 500 learners with 20 assigned exams, the gradebook at the end of the
  page. Most cells hold a graded attempt; a few an attempt still running; the rest none.
  Baseline: the gradebook's store read alone (every attempt of the cohort), in the same run.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from bench.report import Figure, percentile
from triops import accounts, cohorts
from triops.quiz import exam as engine
from triops.quiz.bank import load_bank
from triops.quiz.blueprint import load_exams
from triops.quiz.grading import right_answer
from triops.store import accounts as account_store
from triops.store import cohorts as cohort_store
from triops.store import users
from triops.store.connection import open_state

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery staple"
EXAM = "devops-practitioner"


def sign_in(runs: int = 40) -> Figure:
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    now = datetime(2026, 12, 6, 9, 0)
    bare_hasher = PasswordHash((Argon2Hasher(),))  # the same defaults as triops.accounts
    with tempfile.TemporaryDirectory() as home:
        db = open_state(Path(home) / "state.duckdb")
        for k in range(30):  # a class of accounts, so the lookups are not of a lone row
            accounts.add_user(db, f"Learner {k}", f"{PASSWORD} {k}", now)
        hashed = account_store.password_hash(db, users.find_by_name(db, "Learner 7").id)
        accounts.sign_in(db, "Learner 7", f"{PASSWORD} 7", now)  # warm: the hasher is built
        ours, bare = [], []
        for n in range(runs):
            at = now + timedelta(seconds=n)
            start = time.perf_counter()
            user = accounts.sign_in(db, "Learner 7", f"{PASSWORD} 7", at)
            ours.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            ok = bare_hasher.verify(f"{PASSWORD} 7", hashed)
            bare.append((time.perf_counter() - start) * 1000)
            if user.name != "Learner 7" or not ok:
                raise RuntimeError("a sign-in with the right password was refused")
        db.close()
    return Figure(
        "password sign-in, successful (p95)",
        percentile(ours, 95),
        "ms",
        baseline=percentile(bare, 95),
        target="ratio <= 1.2",
        note=f"{runs} runs, interleaved; baseline: pwdlib Argon2Hasher().verify of the same "
        "hash (argon2-cffi defaults)",
    )


def _fill(db, learners: int, assignments: int, now: datetime) -> str:
    """A cohort of `learners` with `assignments` exams; returns the cohort's id.

    One real attempt is started, answered and graded; the others copy its blueprint and
    result (with their own scores), written in bulk as the readiness bench does."""
    bank = load_bank(REPO)
    exams = load_exams(REPO, bank)
    cohort = cohorts.create_cohort(db, "Bench class", now)
    people = [users.create_user(db, f"Learner {k:03d}", now).id for k in range(learners)]
    for user_id in people:
        cohort_store.add_member(db, cohort.id, user_id, now, "added")
    opened = now - timedelta(days=7)
    found = [
        cohorts.assign(
            db,
            cohort.id,
            exams,
            EXAM,
            opened,
            now + timedelta(days=7),
            3,
            opened,
            title=f"Mock {k + 1:02d}",
        )
        for k in range(assignments)
    ]
    model = engine.start(db, exams.get(EXAM), bank, people[0], opened, random.Random(5))
    view = engine.load(db, model.token, people[0], opened)
    for d in view.questions[:20]:
        engine.save_answer(
            db, model.token, people[0], d.position, right_answer(d.question), opened, d.question
        )
    graded = engine.submit(db, model.token, people[0], opened + timedelta(minutes=30))
    cohort_store.link_attempt(db, graded.id, found[0].id, people[0])
    result = json.loads(graded.result_json)
    rng = random.Random(7)
    rows, links = [], []
    for user_id in people:
        for a in found:
            if user_id == people[0] and a is found[0]:
                continue
            roll = rng.random()
            if roll < 0.1:
                continue  # not started
            token = secrets.token_urlsafe(18)
            started = now - timedelta(days=rng.randint(1, 6))
            running = roll < 0.15
            percent = rng.uniform(30, 100)
            cell = dict(result, percent=percent, passed=percent >= 70)
            rows.append(
                {
                    "id": token,
                    "token": token,
                    "user_id": user_id,
                    "exam_id": EXAM,
                    "blueprint_json": graded.blueprint_json,
                    "question_count": graded.question_count,
                    "state": "in_progress" if running else "finished",
                    "accommodation": "1",
                    "started_at": now - timedelta(minutes=5) if running else started,
                    "deadline": now + timedelta(minutes=40) if running else graded.deadline,
                    "grace_until": None,
                    "finished_at": None if running else started + timedelta(minutes=40),
                    "score": None if running else percent,
                    "passed": None if running else percent >= 70,
                    "result_json": None if running else json.dumps(cell),
                }
            )
            links.append({"attempt_id": token, "assignment_id": a.id, "user_id": user_id})
    frame = pd.DataFrame(rows)
    frame["grace_until"] = pd.to_datetime(frame["grace_until"])
    db.register("_attempts", frame)
    db.execute(f"INSERT INTO exam_attempts ({', '.join(frame.columns)}) SELECT * FROM _attempts")
    db.unregister("_attempts")
    db.register("_links", pd.DataFrame(links))
    db.execute("INSERT INTO assignment_attempts SELECT * FROM _links")
    db.unregister("_links")
    return cohort.id


def gradebook(learners: int = 500, assignments: int = 20, runs: int = 20) -> Figure:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from triops.config import get_settings

    now = datetime.now(UTC).replace(tzinfo=None)
    previous = os.environ.get("TRIOPS_HOME")
    with tempfile.TemporaryDirectory() as home:
        os.environ["TRIOPS_HOME"] = home
        get_settings.cache_clear()
        try:
            db = open_state(get_settings().state_db)
            cohort_id = _fill(db, learners, assignments, now)
            instructor = users.create_user(db, "Grace", now, "instructor").id
            bare = []
            for _ in range(runs):
                start = time.perf_counter()
                found = cohort_store.cohort_attempts(db, cohort_id)
                bare.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            book = cohorts.gradebook(db, cohort_id, now)
            service_ms = (time.perf_counter() - start) * 1000
            db.close()  # the page opens the file itself
            at = AppTest.from_file(str(REPO / "app.py"), default_timeout=600)
            at.query_params["profile"] = instructor
            at.run()
            at.switch_page("app_pages/cohorts.py").run()  # the first run warms the caches
            if at.exception or len(at.dataframe) < 2:
                raise RuntimeError(f"the cohorts page did not show the gradebook: {at.exception}")
            shown = at.dataframe[1].value
            if shown.shape != (learners, assignments + 1):
                raise RuntimeError(f"the gradebook showed {shown.shape}, not the whole class")
            page = []
            for _ in range(runs):
                start = time.perf_counter()
                at.run()
                page.append((time.perf_counter() - start) * 1000)
                if at.exception:
                    raise RuntimeError(f"the cohorts page failed: {at.exception}")
        finally:
            st.cache_resource.clear()  # closes the page's connection to the temp file
            if previous is None:
                os.environ.pop("TRIOPS_HOME", None)
            else:
                os.environ["TRIOPS_HOME"] = previous
            get_settings.cache_clear()
    return Figure(
        f"Instructor › Cohorts with the gradebook, {learners} learners x {assignments} exams "
        "(AppTest p95)",
        percentile(page, 95),
        "ms",
        baseline=percentile(bare, 95),
        target="p95 <= 1000 ms",
        note=f"{runs} reruns after a warm one; {len(found)} attempts; the gradebook service "
        f"call alone took {service_ms:.0f} ms ({len(book.cells)} cells); baseline: the store "
        "read of the cohort's attempts",
    )
