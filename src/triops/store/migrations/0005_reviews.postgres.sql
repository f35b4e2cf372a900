-- PostgreSQL's text of 0005_reviews.sql: DuckDB's DOUBLE is spelled DOUBLE PRECISION here.
-- Spaced review with FSRS (issue 17): one card per profile and question, every review logged,
-- FSRS parameters fitted per profile, and an exam date per profile and track.
CREATE TABLE review_cards (
    user_id      VARCHAR NOT NULL,
    question_id  VARCHAR NOT NULL,
    track        VARCHAR NOT NULL,
    state        SMALLINT NOT NULL,     -- py-fsrs State: 1 learning, 2 review, 3 relearning
    step         INTEGER,               -- learning or relearning step; NULL in the review state
    stability    DOUBLE PRECISION NOT NULL,       -- days until predicted recall falls to 90 %
    difficulty   DOUBLE PRECISION NOT NULL,       -- 1 (easiest) to 10
    last_review  TIMESTAMP NOT NULL,
    fsrs_due     TIMESTAMP NOT NULL,    -- when FSRS schedules the next review
    due          TIMESTAMP NOT NULL,    -- fsrs_due, or earlier when an exam date pulls it forward
    last_log_id  VARCHAR NOT NULL,      -- the review that set this state (the one a rating
                                        -- override replaces)
    PRIMARY KEY (user_id, question_id)
);

-- Append-only except for `rating`, which the learner may change on the latest review of a card.
CREATE TABLE review_logs (
    id             VARCHAR NOT NULL,
    user_id        VARCHAR NOT NULL,
    question_id    VARCHAR NOT NULL,
    question_type  VARCHAR NOT NULL,
    source         VARCHAR NOT NULL,    -- practice, exam or review
    score          DOUBLE PRECISION NOT NULL,     -- 0..1 as graded
    seconds        DOUBLE PRECISION,              -- time to answer; NULL where it is not measured (exams)
    suggested      SMALLINT NOT NULL,   -- the rating the mapping gave: 1 Again .. 4 Easy
    rating         SMALLINT NOT NULL,   -- the rating applied (the learner may override)
    reviewed_at    TIMESTAMP NOT NULL,
    card_before    VARCHAR              -- the card before this review (JSON); NULL when new
);

CREATE TABLE review_params (
    user_id     VARCHAR PRIMARY KEY,
    parameters  VARCHAR NOT NULL,       -- JSON list of FSRS-6's 21 weights
    reviews     INTEGER NOT NULL,       -- reviews the fit counted (a day or more apart)
    fitted_at   TIMESTAMP NOT NULL
);

CREATE TABLE review_exam_dates (
    user_id    VARCHAR NOT NULL,
    track      VARCHAR NOT NULL,
    exam_date  DATE NOT NULL,
    set_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, track)
);
