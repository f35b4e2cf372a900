-- Lab runs and index builds queued for `triops worker` processes (PostgreSQL only; see
-- docs/WORKERS.md). DuckDB gets the same columns and table, unused, so both dialects keep one
-- schema. queue_id: the procrastinate job that carries the work (NULL for in-process jobs, which
-- a restart may mark failed); worker: the worker running it; log_text: its log, kept on the row
-- where every replica can read it (in-process jobs keep theirs in a file, log_path).
ALTER TABLE jobs ADD COLUMN queue_id BIGINT;
ALTER TABLE jobs ADD COLUMN worker VARCHAR;
ALTER TABLE jobs ADD COLUMN log_text VARCHAR;

-- A queued lab run's report.json and artifacts/ files, by path under the run's folder, so a
-- replica that did not run it can show its results.
CREATE TABLE lab_run_files (
    job_id  VARCHAR NOT NULL,
    path    VARCHAR NOT NULL,
    data    BLOB NOT NULL,
    PRIMARY KEY (job_id, path)
);

-- A derived artifact a worker built (the search index's DuckDB file), by its file name and the
-- fingerprint of what it was built from, for every replica to copy into its own derived folder.
CREATE TABLE job_artifacts (
    name         VARCHAR NOT NULL,
    fingerprint  VARCHAR NOT NULL,
    job_id       VARCHAR NOT NULL,
    data         BLOB NOT NULL,
    made_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (name, fingerprint)
);
