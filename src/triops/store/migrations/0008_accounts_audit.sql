-- Password sign-in (TRIOPS_SIGN_IN=password): a password and an optional email per user, failed
-- sign-ins counted per typed name (known or not, so a lockout tells nobody which names exist),
-- and the audit log of role changes, password changes, sign-in failures and lockouts.
CREATE TABLE accounts (
    user_id          VARCHAR PRIMARY KEY,
    email            VARCHAR,
    email_key        VARCHAR UNIQUE,
    password_hash    VARCHAR NOT NULL,
    password_set_at  TIMESTAMP NOT NULL,
    created_at       TIMESTAMP NOT NULL
);

CREATE TABLE sign_in_failures (
    login_key       VARCHAR PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_failed_at  TIMESTAMP NOT NULL,
    locked_until    TIMESTAMP
);

CREATE SEQUENCE audit_log_seq START 1;

CREATE TABLE audit_log (
    id            BIGINT PRIMARY KEY DEFAULT nextval('audit_log_seq'),
    happened_at   TIMESTAMP NOT NULL,
    actor_id      VARCHAR,
    actor_name    VARCHAR NOT NULL,
    action        VARCHAR NOT NULL,
    subject_id    VARCHAR,
    subject_name  VARCHAR NOT NULL,
    detail        VARCHAR NOT NULL DEFAULT ''
);
