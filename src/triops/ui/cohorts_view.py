"""Cohorts on the page: Instructor › Cohorts (create, join code, members, adding learners by
name or CSV, assigning an exam, accommodations) and, on the Exams page, a learner's assigned
exams and the join-code form. Every rule is in triops.cohorts; cohort names, assignment titles
and user names are shown as text, never as markup."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import streamlit as st

from triops import cohorts
from triops.accounts import Actor
from triops.errors import InvalidInputError, TriopsError
from triops.quiz import exam as engine
from triops.store import users
from triops.ui import resources
from triops.ui.exam_view import FACTOR_LABEL
from triops.ui.identity import Identity, current, now
from triops.ui.text import plain

_MESSAGE = "cohorts_message"  # (kind, text or list of texts) left by a callback
_PICK = "coh_pick"


def _actor() -> Actor:
    """Who acts: the signed-in instructor, checked again in the database; on one person's
    laptop the current profile (or the local user before any profile exists)."""
    identity = current()
    if identity.mode == "local":
        return Actor.of(identity.user) if identity.user else Actor(None, "local instructor")
    fresh = users.get_user(resources.state_db(), identity.user_id) if identity.user else None
    if fresh is None or fresh.role not in ("instructor", "admin"):
        raise InvalidInputError("Not allowed: only an instructor manages cohorts.")
    return Actor.of(fresh)


def _scope() -> str | None:
    """Whose cohorts this page may show and change (triops.cohorts): an instructor's own."""
    return current().scope


def _run(action, done) -> None:
    """A form's callback: do it as the instructor and keep the outcome to show once."""
    try:
        outcome = action(_actor())
    except TriopsError as exc:
        st.session_state[_MESSAGE] = ("error", exc.user_message)
    else:
        st.session_state[_MESSAGE] = ("success", done(outcome) if callable(done) else done)


def message() -> None:
    kind, text = st.session_state.pop(_MESSAGE, (None, None))
    if kind == "error":
        st.error(plain(text))
    elif kind == "success":
        st.success(plain(text))
    elif kind == "csv":
        added, already, errors = text
        if added:
            st.success(plain(f"Added {len(added)}: {', '.join(added)}."))
        if already:
            st.info(plain(f"Already in the cohort: {', '.join(already)}."))
        for line in errors:
            st.error(plain(line))


def create_form() -> None:
    def create() -> None:
        name = st.session_state.get("coh_new_name", "")
        try:
            cohort = cohorts.create_cohort(resources.state_db(), name, now(), _actor())
        except TriopsError as exc:
            st.session_state[_MESSAGE] = ("error", exc.user_message)
        else:
            st.session_state[_PICK] = cohort.id
            st.session_state[_MESSAGE] = ("success", f"Created the cohort {cohort.name}.")

    with st.form("coh_create", clear_on_submit=True):
        st.text_input("New cohort name", key="coh_new_name", max_chars=cohorts.MAX_NAME)
        st.form_submit_button("Create cohort", on_click=create)


def pick() -> cohorts.Cohort | None:
    found = {c.id: c for c in cohorts.cohorts(resources.state_db(), _scope())}
    if not found:
        st.info("No cohort yet: create one above.")
        return None
    if st.session_state.get(_PICK) not in found:
        st.session_state[_PICK] = next(iter(found))
    st.selectbox(
        "Cohort",
        list(found),
        format_func=lambda cid: f"{found[cid].name} ({cohorts.members_text(found[cid].members)})",
        key=_PICK,
    )
    return found[st.session_state[_PICK]]


def details(cohort: cohorts.Cohort) -> list[cohorts.Member]:
    db = resources.state_db()
    st.text(f"Join code of {cohort.name}: {cohorts.show_code(cohort.join_code)}")
    st.caption(
        "Learners type this code under Exams › Join a cohort. Letters and digits only; case, "
        "spaces and the dash do not matter."
    )
    people = cohorts.members(db, cohort.id, _scope())
    if people:
        st.dataframe(
            [
                {"Learner": m.name, "Email": m.email or "", "Joined": m.joined_at, "How": m.how}
                for m in people
            ],
            hide_index=True,
            width="stretch",
        )
    else:
        st.info("No members yet.")
    return people


def add_forms(cohort: cohorts.Cohort, people: list[cohorts.Member]) -> None:
    db = resources.state_db()
    # An instructor types the username (as on their class list): a list of every account would
    # show them the names of learners outside their cohorts. An admin and the local user pick.
    typed = _scope() is not None
    inside = {m.user_id for m in people}
    others = {} if typed else {u.id: u.name for u in users.list_users(db) if u.id not in inside}
    left, right = st.columns(2)
    with left, st.form("coh_add", border=True):
        st.markdown("**Add a learner**")
        if typed:
            st.text_input("Username", key="coh_add_name", max_chars=users.MAX_NAME)
        else:
            st.selectbox("User", list(others), format_func=others.get, key="coh_add_user")

        def add() -> None:
            if typed:
                name = st.session_state.get("coh_add_name", "").strip()
                st.session_state["coh_add_name"] = ""
                if not name:
                    st.session_state[_MESSAGE] = ("error", "Type the learner's username.")
                    return
            else:
                name = others.get(st.session_state.get("coh_add_user"), "")
                if not name:
                    st.session_state[_MESSAGE] = ("error", "Everyone is in this cohort already.")
                    return
            _run(
                lambda actor: cohorts.add_learner(
                    resources.state_db(), cohort.id, name, now(), actor, scope=_scope()
                ),
                lambda user: f"Added {user.name} to {cohort.name}.",
            )

        st.form_submit_button("Add learner", on_click=add)
    with right, st.form("coh_csv", border=True):
        mode = resources.settings().sign_in
        password_mode, oidc_mode = mode == "password", mode == "oidc"
        st.markdown("**Add learners from a CSV**")
        st.caption(
            "A header row `username,email`, then one learner a line; the email may be empty. "
            + (
                "Each username must be an account (Admin › Accounts adds accounts)."
                if password_mode
                else "Each row needs the email the identity provider sends: a new username "
                "becomes an account the learner reaches at their first sign-in."
                if oidc_mode
                else "A username with no profile yet becomes a new learner profile."
            )
            + " A bad row is named by its line and adds nobody."
        )
        st.file_uploader("CSV file", type=["csv"], key="coh_csv_file")
        st.text_area("…or paste it here", key="coh_csv_text", height=120)

        def upload() -> None:
            s = st.session_state
            file = s.get("coh_csv_file")
            text, source = s.get("coh_csv_text", ""), "pasted CSV"
            if file is not None:
                text, source = file.getvalue().decode("utf-8", errors="replace"), file.name
            try:
                outcome = cohorts.add_from_csv(
                    resources.state_db(),
                    cohort.id,
                    text,
                    now(),
                    _actor(),
                    source=source,
                    create_missing=not password_mode,
                    oidc=oidc_mode,
                    scope=_scope(),
                )
            except TriopsError as exc:
                s[_MESSAGE] = ("error", exc.user_message)
                return
            s[_MESSAGE] = ("csv", (outcome.added, outcome.already, outcome.errors))
            s["coh_csv_text"] = ""

        st.form_submit_button("Add from CSV", on_click=upload)


def _utc(day, at: time) -> datetime:
    return datetime.combine(day, at)


def assign_form(cohort: cohorts.Cohort) -> None:
    exams = resources.exams()
    titles = {e.id: e.blueprint.title for e in exams.exams}
    start = now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    with st.form("coh_assign", border=True):
        st.markdown("**Assign an exam** (times in UTC)")
        st.selectbox(
            "Exam", list(titles), format_func=lambda x: f"{titles[x]} ({x})", key="coh_exam"
        )
        st.text_input(
            "Title (the exam's own when empty)", key="coh_title", max_chars=cohorts.MAX_NAME
        )
        a, b, c, d = st.columns(4)
        a.date_input("Opens on", value=start.date(), key="coh_open_day")
        b.time_input("at", value=start.time(), key="coh_open_time")
        end = start + timedelta(days=7)
        c.date_input("Closes on", value=end.date(), key="coh_close_day")
        d.time_input("at", value=end.time(), key="coh_close_time")
        st.number_input("Attempts allowed", 1, cohorts.MAX_ATTEMPTS, 1, step=1, key="coh_attempts")

        def assign() -> None:
            s = st.session_state
            _run(
                lambda actor: cohorts.assign(
                    resources.state_db(),
                    cohort.id,
                    exams,
                    s["coh_exam"],
                    _utc(s["coh_open_day"], s["coh_open_time"]),
                    _utc(s["coh_close_day"], s["coh_close_time"]),
                    int(s["coh_attempts"]),
                    now(),
                    actor,
                    title=s.get("coh_title", ""),
                    scope=_scope(),
                ),
                lambda found: f"Assigned {found.title} to {cohort.name}.",
            )

        st.form_submit_button("Assign", on_click=assign)


def assignments_section(cohort: cohorts.Cohort, people: list[cohorts.Member]) -> None:
    db = resources.state_db()
    moment = now()
    found = cohorts.assignments(db, cohort.id, _scope())
    st.subheader("Assigned exams")
    if not found:
        st.info("Nothing assigned to this cohort yet.")
        return
    for a in found:
        with st.container(border=True):
            st.text(
                f"{a.title} ({a.exam_id}) · {cohorts.window_state(a, moment)} · "
                f"{a.opens_at:%Y-%m-%d %H:%M} to {a.closes_at:%Y-%m-%d %H:%M} UTC · "
                f"{a.attempts_allowed} attempt{'s' if a.attempts_allowed != 1 else ''}"
            )
            if not people:
                continue
            with st.expander("Time accommodations for this exam"):
                accommodations_form(db, a, people)


def accommodations_form(db, a, people: list[cohorts.Member]) -> None:
    """One picker per exam (a learner, a time) and the table of what is set: a selectbox per
    learner would make a class of 500 a page of 500 widgets per exam."""
    names = {m.user_id: m.name for m in people}
    chosen = cohorts.accommodations_set(db, a.id, _scope())
    if chosen:
        st.dataframe(
            [
                {"learner": names.get(uid, uid), "time": FACTOR_LABEL.get(f, f)}
                for uid, f in sorted(chosen.items(), key=lambda kv: names.get(kv[0], kv[0]))
            ],
            hide_index=True,
        )
    else:
        st.caption("None set for this exam: each learner's own (Instructor › Learners) applies.")
    who, factor = f"coh-acc-who-{a.id}", f"coh-acc-factor-{a.id}"
    left, right = st.columns(2)
    left.selectbox("Learner", list(names), format_func=names.get, key=who)
    right.selectbox("Time", list(engine.ACCOMMODATIONS), format_func=FACTOR_LABEL.get, key=factor)
    st.button(
        "Set the accommodation",
        key=f"coh-acc-set-{a.id}",
        on_click=_set_accommodation,
        args=(a.id, who, factor, names),
    )


def _set_accommodation(assignment_id: str, who: str, factor_key: str, names: dict) -> None:
    user_id, factor = st.session_state[who], st.session_state[factor_key]
    _run(
        lambda actor: cohorts.set_accommodation(
            resources.state_db(), assignment_id, user_id, factor, now(), actor, scope=_scope()
        ),
        f"{names.get(user_id, user_id)}: {FACTOR_LABEL[factor]} for this exam.",
    )


def gradebook_section(cohort: cohorts.Cohort) -> None:
    """Learner x assigned exam: status and best score, the per-domain results of one exam, and
    the CSV for Moodle's grade import."""
    book = cohorts.gradebook(resources.state_db(), cohort.id, now(), _scope())
    st.subheader("Gradebook")
    if not book.assignments or not book.learners:
        st.info("The gradebook fills in once the cohort has members and an assigned exam.")
        return
    titles = [f"{i + 1}. {a.title}" for i, a in enumerate(book.assignments)]
    st.dataframe(
        [
            {"Learner": m.name}
            | {
                t: book.cell(m.user_id, a.id).text()
                for t, a in zip(titles, book.assignments, strict=True)
            }
            for m in book.learners
        ],
        hide_index=True,
        width="stretch",
    )
    st.download_button(
        "Download for Moodle's grade import (CSV)",
        cohorts.gradebook_csv(book),
        file_name="triops-gradebook.csv",
        mime="text/csv",
        key="coh_gradebook_csv",
    )
    st.caption(
        "Best score in percent per exam. In Moodle: Grades › Import › CSV file, then map "
        "Email address to useremail (or Username to username) and each exam to a grade item."
    )
    by_id = {a.id: a for a in book.assignments}
    chosen = st.selectbox(
        "Results per domain of",
        list(by_id),
        format_func=lambda aid: by_id[aid].title,
        key="coh_domains_of",
    )
    rows = []
    for m in book.learners:
        cell = book.cell(m.user_id, chosen)
        row = {"Learner": m.name, "Result": cell.text()}
        row |= {d.name: f"{d.percent:.0f}%{'' if d.meets else ' (below)'}" for d in cell.domains}
        rows.append(row)
    st.dataframe(rows, hide_index=True, width="stretch")


def dashboard_section(cohort: cohorts.Cohort) -> None:
    """Per learner: lessons done, practice answers (last 7 days and in all), labs passed, and
    readiness for one exam as the readiness service gives it, with a CSV download."""
    from triops.quiz import readiness
    from triops.ui import readiness_view

    db = resources.state_db()
    st.subheader("Dashboard")
    exams = resources.exams()
    titles = {e.id: e.blueprint.title for e in exams.exams}
    assigned = [a.exam_id for a in cohorts.assignments(db, cohort.id, _scope())]
    order = [x for x in dict.fromkeys(assigned) if x in titles] + [
        x for x in titles if x not in assigned
    ]
    exam_id = (
        st.selectbox(
            "Readiness for the exam",
            order,
            format_func=lambda x: titles[x],
            key="coh_dash_exam",
        )
        if order
        else None
    )
    moment = now()
    board = cohorts.dashboard(
        db,
        cohort.id,
        moment,
        lesson_ids={lesson.id for lesson in resources.course().lessons()},
        labs=[(lab.id, lab.spec.title, lab.spec.track) for lab in resources.labs().labs],
        model=readiness_view.model(db, moment) if exam_id else None,
        exam_id=exam_id,
        scope=_scope(),
    )
    if not board.rows:
        st.info("The dashboard fills in once the cohort has members.")
        return
    recent = f"Practice answers ({cohorts.RECENT_DAYS} days)"
    st.dataframe(
        [
            {
                "Learner": r.name,
                "Lessons done": f"{r.lessons_done} / {board.lessons_total}",
                recent: r.answers_recent,
                "Practice answers (total)": r.answers_total,
                "Labs passed": f"{r.labs_passed} / {board.labs_total}",
                "Readiness": r.readiness_text() if board.exam_id else "",
            }
            for r in board.rows
        ],
        hide_index=True,
        width="stretch",
    )
    st.caption(
        "Readiness is the pass probability with its 90 % interval from the learner's graded "
        f"answers (Practice, exams, placement); with fewer than {readiness.MINIMUM_ANSWERS} "
        "answers in the exam's domains it says how many more it needs instead of a number."
    )
    st.download_button(
        "Download the dashboard (CSV)",
        cohorts.dashboard_csv(board),
        file_name="triops-dashboard.csv",
        mime="text/csv",
        key="coh_dashboard_csv",
    )


# -- the learner's side (Exams page) ----------------------------------------------------------


def _join(user_id: str) -> None:
    code = st.session_state.get("coh_join_code", "")
    try:
        cohort = cohorts.join(resources.state_db(), code, user_id, now())
    except TriopsError as exc:
        st.session_state[_MESSAGE] = ("error", exc.user_message)
    else:
        st.session_state[_MESSAGE] = ("success", f"You joined {cohort.name}.")
    st.session_state["coh_join_code"] = ""


def _closes_in(closes_at: datetime, moment: datetime) -> str:
    left = closes_at - moment
    if left.days >= 1:
        return f"{left.days} day{'s' if left.days != 1 else ''} left"
    hours, rest = divmod(int(left.total_seconds()), 3600)
    return f"{hours} h {rest // 60} min left"


def my_assignments(identity: Identity) -> None:
    """The exams assigned to the learner's cohorts, with when they close and a start button
    while one is open (the server checks the window again), and the join-code form."""
    db = resources.state_db()
    user_id = identity.user_id
    moment = now()
    message()
    mine = cohorts.for_learner(db, user_id, moment)
    if mine:
        st.subheader("Assigned to you")
    for item in mine:
        a = item.assignment
        with st.container(border=True):
            when = (
                f"opens {a.opens_at:%Y-%m-%d %H:%M} UTC"
                if item.state == "upcoming"
                else f"closed {a.closes_at:%Y-%m-%d %H:%M} UTC"
                if item.state == "closed"
                else f"closes {a.closes_at:%Y-%m-%d %H:%M} UTC ({_closes_in(a.closes_at, moment)})"
            )
            best = "" if item.best_score is None else f" · best {item.best_score:.0f}%"
            st.text(
                f"{a.title} · {item.cohort_name} · {when} · attempts "
                f"{item.attempts_used} of {a.attempts_allowed}{best}"
            )
            if item.state != "open":
                continue
            if not item.can_start:
                st.caption("All attempts allowed are used.")
                continue
            label = "Resume" if item.open_token else "Start"
            if st.button(label, key=f"assigned-{a.id}", type="primary"):
                try:
                    row = cohorts.start(
                        db, a.id, resources.exams(), resources.bank(), user_id, now()
                    )
                except TriopsError as exc:
                    st.error(plain(exc.user_message))
                else:
                    st.query_params["attempt"] = row.token
                    st.query_params["q"] = "1"
                    st.rerun()
    with st.expander("Join a cohort", expanded=False):
        with st.form("coh_join", border=False):
            st.text_input("Join code from your instructor", key="coh_join_code", max_chars=20)
            st.form_submit_button("Join", on_click=_join, args=(user_id,))
