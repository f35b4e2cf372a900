-- Learner profiles, lesson completion, lesson visits, and small app-level state.
CREATE TABLE users (
    id          VARCHAR PRIMARY KEY,
    name        VARCHAR NOT NULL,
    name_key    VARCHAR NOT NULL UNIQUE,
    role        VARCHAR NOT NULL DEFAULT 'learner',
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE lesson_completions (
    user_id       VARCHAR NOT NULL,
    lesson_id     VARCHAR NOT NULL,
    completed_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, lesson_id)
);

CREATE TABLE lesson_visits (
    user_id     VARCHAR NOT NULL,
    lesson_id   VARCHAR NOT NULL,
    visited_at  TIMESTAMP NOT NULL
);

CREATE TABLE app_state (
    key    VARCHAR PRIMARY KEY,
    value  VARCHAR NOT NULL
);
