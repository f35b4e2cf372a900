-- "Report a problem" (issue 20 item 3): a learner's report on a question as they saw it, its
-- resolution by an instructor, and which profile has an open report on which question.
CREATE TABLE question_reports (
    id             VARCHAR PRIMARY KEY,
    question_id    VARCHAR NOT NULL,
    version        VARCHAR NOT NULL,   -- hash of the question as shown (text, options, key)
    bank_file      VARCHAR NOT NULL,   -- its bank file when reported ('' if no longer in the bank)
    track          VARCHAR NOT NULL,
    snapshot_json  VARCHAR NOT NULL,   -- the question as shown: the options a corrected key names
    user_id        VARCHAR NOT NULL,
    category       VARCHAR NOT NULL,   -- wrong-key, unclear, outdated, typo
    comment        VARCHAR NOT NULL,
    source         VARCHAR NOT NULL,   -- practice, review or exam (an exam's review screen)
    attempt_id     VARCHAR,            -- the exam attempt, for source 'exam'
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL, -- a second report while open updates the comment
    verdict        VARCHAR,            -- NULL while open; upheld-fixed, upheld-miskeyed,
                                       -- rejected, duplicate
    note           VARCHAR,
    resolved_by    VARCHAR,            -- user id; NULL for the command line
    resolver_name  VARCHAR,
    resolved_at    TIMESTAMP,
    remedy_json    VARCHAR             -- upheld-miskeyed only: how attempts were regraded
);

-- At most one open report per profile and question, enforced by the key; deleted on resolution.
CREATE TABLE open_reports (
    user_id      VARCHAR NOT NULL,
    question_id  VARCHAR NOT NULL,
    report_id    VARCHAR NOT NULL,
    PRIMARY KEY (user_id, question_id)
);
