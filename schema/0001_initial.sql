-- postcall schema, version 1.
-- Times are integer milliseconds since the Unix epoch (UTC). The default expression works on
-- SQLite 3.31+, so an IVR linked against an older library than ours can still insert.

-- What the IVR designer configured for each post-call webservice.
CREATE TABLE webservices (
    name          TEXT PRIMARY KEY NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind          TEXT NOT NULL CHECK (kind IN ('rest', 'soap')),
    method        TEXT NOT NULL DEFAULT 'POST'
                  CHECK (method IN ('GET', 'POST', 'POST_RAW', 'PUT', 'DELETE')),
    url           TEXT NOT NULL DEFAULT '',
    -- JSON arrays of [name, value] pairs: order and repeated names are kept as configured.
    headers       TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(headers) AND json_type(headers) = 'array'),
    params        TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(params) AND json_type(params) = 'array'),
    body          TEXT,
    timeout_ms    INTEGER NOT NULL DEFAULT 10000 CHECK (timeout_ms BETWEEN 1 AND 3600000),
    private       INTEGER NOT NULL DEFAULT 0 CHECK (private IN (0, 1)),
    max_attempts  INTEGER NOT NULL DEFAULT 12 CHECK (max_attempts >= 1),
    created_at    INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    updated_at    INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
);

-- One row per termination event; `id` is the event id.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    webservice       TEXT NOT NULL,
    call_id          TEXT NOT NULL,
    reason           TEXT NOT NULL DEFAULT 'hangup' CHECK (reason IN ('hangup', 'exit')),
    variables        TEXT NOT NULL DEFAULT '{}',
    state            TEXT NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'in_flight', 'delivered', 'dead')),
    -- Counts claims, not responses: a row that kills its worker every time still runs out.
    attempts         INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    next_attempt_at  INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    delivered_at     INTEGER,
    last_error       TEXT
);

-- Claiming reads only due pending rows (per webservice, oldest due first) and expired leases,
-- however large the delivered history.
CREATE INDEX outbox_pending_due ON outbox (webservice, next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_lease_expiry ON outbox (lease_expires_at) WHERE state = 'in_flight';
CREATE INDEX outbox_call_id ON outbox (call_id);
CREATE INDEX outbox_webservice_created ON outbox (webservice, created_at);
CREATE INDEX outbox_created ON outbox (created_at);

-- The IVR inserts with plain SQL and may not enable foreign keys, so triggers guard its input.
CREATE TRIGGER outbox_validate_insert BEFORE INSERT ON outbox
BEGIN
    SELECT RAISE(ABORT, 'postcall: unknown webservice; create it with `postcall webservice set`')
    WHERE NOT EXISTS (SELECT 1 FROM webservices WHERE name = NEW.webservice);
    SELECT RAISE(ABORT, 'postcall: call_id and variables must be text, not a blob')
    WHERE typeof(NEW.variables) <> 'text' OR typeof(NEW.call_id) <> 'text';
    SELECT RAISE(ABORT, 'postcall: variables must be a JSON object')
    WHERE NOT json_valid(NEW.variables) OR json_type(NEW.variables) <> 'object';
    SELECT RAISE(ABORT, 'postcall: variables must be strings, numbers, booleans or null')
    WHERE EXISTS (SELECT 1 FROM json_each(NEW.variables) WHERE type IN ('object', 'array'));
    SELECT RAISE(ABORT, 'postcall: variables exceed 1 MiB')
    WHERE length(CAST(NEW.variables AS BLOB)) > 1048576;
END;

-- Every delivery attempt, kept for support staff.
CREATE TABLE attempts (
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
    UNIQUE (event_id, attempt)
);
