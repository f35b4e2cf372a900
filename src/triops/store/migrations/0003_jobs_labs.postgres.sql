-- PostgreSQL's text of 0003_jobs_labs.sql: DuckDB's DOUBLE is spelled DOUBLE PRECISION here.
-- Background jobs (lab runs now; index builds later) and lab runs per profile.
CREATE TABLE jobs (
    id           VARCHAR PRIMARY KEY,
    kind         VARCHAR NOT NULL,          -- e.g. 'lab-run', 'lab-check'
    owner        VARCHAR NOT NULL,          -- user id
    subject      VARCHAR NOT NULL,          -- e.g. the lab id
    state        VARCHAR NOT NULL,          -- running, succeeded, failed
    started_at   TIMESTAMP NOT NULL,
    heartbeat    TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP,
    log_path     VARCHAR,                   -- live log file under TRIOPS_HOME
    result_json  VARCHAR
);

-- At most one running lab job per profile, enforced by the key.
CREATE TABLE active_lab_jobs (
    owner   VARCHAR PRIMARY KEY,
    job_id  VARCHAR NOT NULL
);

CREATE TABLE lab_runs (
    job_id        VARCHAR PRIMARY KEY,
    user_id       VARCHAR NOT NULL,
    lab_id        VARCHAR NOT NULL,
    kind          VARCHAR NOT NULL,         -- run or check
    status        VARCHAR NOT NULL,         -- the workflow's or command's status
    seconds       DOUBLE PRECISION NOT NULL,
    passed        BOOLEAN,                  -- checks only: did every criterion pass?
    criteria_json VARCHAR,                  -- checks only: [[criterion, passed, reason], ...]
    log           VARCHAR NOT NULL,         -- capped
    finished_at   TIMESTAMP NOT NULL
);
