-- Cohorts and assigned exams (issue 18 item 3): a cohort with a join code, its members, the
-- exams assigned to it with a window and an attempt allowance, per-learner time accommodations
-- for one assignment, and which exam attempts were started for which assignment.
CREATE TABLE cohorts (
    id          VARCHAR PRIMARY KEY,
    name        VARCHAR NOT NULL,
    name_key    VARCHAR NOT NULL UNIQUE,
    join_code   VARCHAR NOT NULL UNIQUE,
    created_by  VARCHAR,
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE cohort_members (
    cohort_id  VARCHAR NOT NULL,
    user_id    VARCHAR NOT NULL,
    joined_at  TIMESTAMP NOT NULL,
    how        VARCHAR NOT NULL,            -- 'code', 'added' or 'csv'
    PRIMARY KEY (cohort_id, user_id)
);

CREATE TABLE assignments (
    id                VARCHAR PRIMARY KEY,
    cohort_id         VARCHAR NOT NULL,
    exam_id           VARCHAR NOT NULL,
    title             VARCHAR NOT NULL,
    opens_at          TIMESTAMP NOT NULL,
    closes_at         TIMESTAMP NOT NULL,
    attempts_allowed  INTEGER NOT NULL,
    created_by        VARCHAR,
    created_at        TIMESTAMP NOT NULL
);

CREATE TABLE assignment_accommodations (
    assignment_id  VARCHAR NOT NULL,
    user_id        VARCHAR NOT NULL,
    factor         VARCHAR NOT NULL,        -- '1', '1.5', '2' or 'untimed' (as accommodations)
    set_at         TIMESTAMP NOT NULL,
    PRIMARY KEY (assignment_id, user_id)
);

CREATE TABLE assignment_attempts (
    attempt_id     VARCHAR PRIMARY KEY,
    assignment_id  VARCHAR NOT NULL,
    user_id        VARCHAR NOT NULL
);
