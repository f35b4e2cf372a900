-- PostgreSQL's text of 0002_exams_practice.sql: DuckDB's DOUBLE is spelled DOUBLE PRECISION here,
-- and attempt_responses and attempt_flags carry a `rowid` identity column: DuckDB breaks a tie
-- in saved_at by its implicit rowid (the order of insertion), which PostgreSQL tables lack.
-- Timed exam attempts (with the questions as they were shown), answers, flags,
-- time accommodations per profile, and the practice log.
CREATE TABLE accommodations (
    user_id  VARCHAR PRIMARY KEY,
    factor   VARCHAR NOT NULL,          -- '1', '1.5', '2' or 'untimed'
    set_at   TIMESTAMP NOT NULL
);

CREATE TABLE exam_attempts (
    id                  VARCHAR PRIMARY KEY,
    token               VARCHAR NOT NULL UNIQUE,
    user_id             VARCHAR NOT NULL,
    exam_id             VARCHAR NOT NULL,
    blueprint_json      VARCHAR NOT NULL,
    question_count      INTEGER NOT NULL,
    state               VARCHAR NOT NULL,   -- in_progress, overdue, finished, abandoned
    accommodation       VARCHAR NOT NULL,
    started_at          TIMESTAMP NOT NULL,
    deadline            TIMESTAMP,          -- NULL when untimed
    grace_until         TIMESTAMP,          -- NULL unless the policy has a grace period
    finished_at         TIMESTAMP,
    score               DOUBLE PRECISION,
    passed              BOOLEAN,
    result_json         VARCHAR
);

-- At most one open attempt per exam and profile, enforced by the primary key.
CREATE TABLE open_attempts (
    user_id     VARCHAR NOT NULL,
    exam_id     VARCHAR NOT NULL,
    attempt_id  VARCHAR NOT NULL,
    PRIMARY KEY (user_id, exam_id)
);

-- The write guard of an attempt that still takes answers: keyed by token and owner, open until
-- the deadline ('infinity' when untimed). Deleted when the attempt stops taking answers.
-- A narrow table keeps the guarded insert close to a bare insert (measured: 1.35x against
-- 1.65x for the same guard over exam_attempts).
CREATE TABLE attempt_guards (
    guard_key       VARCHAR PRIMARY KEY,    -- '<token>:<user id>'
    attempt_id      VARCHAR NOT NULL,
    write_until     TIMESTAMP NOT NULL,
    question_count  INTEGER NOT NULL
);

CREATE TABLE attempt_questions (
    attempt_id      VARCHAR NOT NULL,
    position        INTEGER NOT NULL,
    question_id     VARCHAR NOT NULL,
    track           VARCHAR NOT NULL,
    snapshot_json   VARCHAR NOT NULL,       -- the question as it was shown: text, options, key
    option_order    VARCHAR NOT NULL,       -- JSON list: display order of options or items
    PRIMARY KEY (attempt_id, position)
);

-- Append-only; the latest row per (attempt, position) is the answer: latest saved_at, then the
-- later insert (rowid). No sequence: nextval costs about a fifth of an insert here.
CREATE TABLE attempt_responses (
    attempt_id     VARCHAR NOT NULL,
    position       INTEGER NOT NULL,
    response_json  VARCHAR,
    saved_at       TIMESTAMP NOT NULL,
    rowid          BIGINT GENERATED ALWAYS AS IDENTITY
);

CREATE TABLE attempt_flags (
    attempt_id  VARCHAR NOT NULL,
    position    INTEGER NOT NULL,
    flagged     BOOLEAN NOT NULL,
    saved_at    TIMESTAMP NOT NULL,
    rowid       BIGINT GENERATED ALWAYS AS IDENTITY
);

CREATE TABLE practice_log (
    user_id      VARCHAR NOT NULL,
    question_id  VARCHAR NOT NULL,
    score        DOUBLE PRECISION NOT NULL,
    answered_at  TIMESTAMP NOT NULL
);
