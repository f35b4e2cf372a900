-- PostgreSQL's text of 0006_readiness.sql: DuckDB's DOUBLE is spelled DOUBLE PRECISION here.
-- Readiness (issue 17): item parameters calibrated from everyone's answers, and the adaptive
-- placement test's sessions and answers.
CREATE TABLE item_calibrations (
    id          VARCHAR PRIMARY KEY,
    created_at  TIMESTAMP NOT NULL,
    answers     INTEGER NOT NULL,       -- answers the fit counted (first answer per profile and
                                        -- question)
    learners    INTEGER NOT NULL,
    evidence    INTEGER NOT NULL,       -- all graded answers on the installation at the time
    seconds     DOUBLE PRECISION NOT NULL,
    level_means VARCHAR NOT NULL        -- JSON: the mean difficulty of foundation,
                                        -- practitioner, expert and unlevelled questions
);

-- The latest calibration's parameters only (older ones are deleted when a new one is saved).
CREATE TABLE item_parameters (
    calibration_id  VARCHAR NOT NULL,
    question_id     VARCHAR NOT NULL,
    a               DOUBLE PRECISION NOT NULL,    -- discrimination
    b               DOUBLE PRECISION NOT NULL,    -- difficulty
    model           VARCHAR NOT NULL,   -- 2pl, rasch or prior (nobody answered it)
    answers         INTEGER NOT NULL,
    PRIMARY KEY (calibration_id, question_id)
);

CREATE TABLE placement_sessions (
    id           VARCHAR PRIMARY KEY,
    user_id      VARCHAR NOT NULL,
    track        VARCHAR NOT NULL,
    state        VARCHAR NOT NULL,      -- open, finished
    started_at   TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP,
    theta        DOUBLE PRECISION,                -- the ability estimate at the end
    se           DOUBLE PRECISION,                -- its standard error (posterior standard deviation)
    stop_reason  VARCHAR
);

-- At most one open placement per profile and track, enforced by the key.
CREATE TABLE open_placements (
    user_id     VARCHAR NOT NULL,
    track       VARCHAR NOT NULL,
    session_id  VARCHAR NOT NULL,
    PRIMARY KEY (user_id, track)
);

CREATE TABLE placement_responses (
    session_id   VARCHAR NOT NULL,
    position     INTEGER NOT NULL,
    question_id  VARCHAR NOT NULL,
    domain       VARCHAR NOT NULL,      -- track/domain
    response_json VARCHAR NOT NULL,     -- the answer as given
    score        DOUBLE PRECISION NOT NULL,       -- 0..1 as graded
    answered_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (session_id, position)
);
