-- The SQLite outbox's attempts, in a file of their own beside it (`<outbox>-attempts`), attached
-- to every postcall connection as `attempt_log`: a worker writes an exchange's attempts here in
-- a transaction of its own, before it takes the outbox's write lock to apply their outcomes, so
-- the IVR's inserts wait only for the outbox's share of the work. The IVR never opens this file.
-- Statements name the schema, since they run on the outbox's connection.

-- Every delivery attempt, kept for support staff (as in the outbox before schema version 10).
CREATE TABLE IF NOT EXISTS attempt_log.attempts (
    id           INTEGER PRIMARY KEY,
    event_id     INTEGER NOT NULL,
    attempt      INTEGER NOT NULL,
    worker       TEXT NOT NULL,
    started_at   INTEGER NOT NULL,
    duration_ms  INTEGER NOT NULL,
    outcome      TEXT NOT NULL CHECK (outcome IN ('delivered', 'retry', 'failed')),
    http_status  INTEGER,
    error        TEXT,
    -- JSON summaries (method, URL, headers, first 4 KiB of body); NULL for private webservices.
    request      TEXT,
    response     TEXT,
    -- An attempt is logged before its outcome is applied; a store failure in between makes the
    -- worker log it again, which this key turns into a no-op.
    UNIQUE (event_id, attempt)
);
-- `postcall stats` reads recent attempts by time.
CREATE INDEX IF NOT EXISTS attempt_log.attempts_started ON attempts (started_at);
