-- Every read of an attempt's answers and flags names its attempt (the exam page's resync, a
-- save's own check, the review screen, grading), and without an index PostgreSQL reads the whole
-- table for each: with 500 candidates 30 answers deep that is some 15,000 rows per query, several
-- times per page run. Position and time follow, so "the latest answer at this position" is an
-- index range too. The tables are append-only, so the index costs one insert per save.
CREATE INDEX attempt_responses_by_attempt ON attempt_responses (attempt_id, position, saved_at);
CREATE INDEX attempt_flags_by_attempt ON attempt_flags (attempt_id, position, saved_at);
