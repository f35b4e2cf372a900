-- PostgreSQL only (0014_attempt_indexes.postgres.sql adds indexes on the attempt's answers and
-- flags). DuckDB is left without them: one process reads its own columnar file, where a filter on
-- attempt_id skips row groups by their min/max, and an ART index would cost every save and hold
-- memory for what is already fast. This statement only records the version.
SELECT 1;
