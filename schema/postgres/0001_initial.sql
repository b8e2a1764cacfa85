-- postcall's PostgreSQL schema, version 1: the fleet's shared outbox, holding what SQLite's
-- schema 1 to 7 hold. Times are integer milliseconds since the Unix epoch (UTC), as there.

-- Who this outbox is (the first half of every Idempotency-Key), and the privacy scrubs asked for.
CREATE TABLE outbox_meta (
    singleton        INTEGER PRIMARY KEY CHECK (singleton = 1),
    outbox_id        TEXT NOT NULL,
    scrubs_requested BIGINT NOT NULL DEFAULT 0,
    scrubs_done      BIGINT NOT NULL DEFAULT 0
);
INSERT INTO outbox_meta (singleton, outbox_id) VALUES (1, replace(gen_random_uuid()::text, '-', ''));

CREATE FUNCTION postcall_now_ms() RETURNS BIGINT LANGUAGE sql VOLATILE
    AS $$ SELECT (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT $$;

-- What the IVR designer configured for each post-call webservice.
CREATE TABLE webservices (
    name                 TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 200),
    kind                 TEXT NOT NULL CHECK (kind IN ('rest', 'soap')),
    method               TEXT NOT NULL DEFAULT 'POST' CHECK (method IN ('GET', 'POST', 'POST_RAW', 'PUT', 'DELETE')),
    url                  TEXT NOT NULL DEFAULT '',
    -- JSON arrays of [name, value] pairs, kept as text as written.
    headers              TEXT NOT NULL DEFAULT '[]' CHECK (json_typeof(headers::json) = 'array'),
    params               TEXT NOT NULL DEFAULT '[]' CHECK (json_typeof(params::json) = 'array'),
    body                 TEXT,
    timeout_ms           BIGINT NOT NULL DEFAULT 10000 CHECK (timeout_ms BETWEEN 1 AND 3600000),
    private              INTEGER NOT NULL DEFAULT 0 CHECK (private IN (0, 1)),
    max_attempts         INTEGER NOT NULL DEFAULT 12 CHECK (max_attempts >= 1),
    max_age_ms           BIGINT NOT NULL DEFAULT 86400000 CHECK (max_age_ms >= 0),
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    paused_until         BIGINT,
    soap_wsdl            TEXT,
    soap_operation       TEXT,
    soap_version         TEXT CHECK (soap_version IN ('1.1', '1.2')),
    soap_action          TEXT,
    soap_operation_json  TEXT CHECK (soap_operation_json IS NULL OR json_typeof(soap_operation_json::json) = 'object'),
    follow_redirects     INTEGER NOT NULL DEFAULT 0 CHECK (follow_redirects IN (0, 1)),
    files                TEXT NOT NULL DEFAULT '[]' CHECK (json_typeof(files::json) = 'array'),
    body_file            TEXT,
    keep_files           INTEGER NOT NULL DEFAULT 0 CHECK (keep_files IN (0, 1)),
    soap_header_params   TEXT NOT NULL DEFAULT '[]' CHECK (json_typeof(soap_header_params::json) = 'array'),
    wss_username         TEXT,
    wss_password         TEXT,
    wss_digest           INTEGER NOT NULL DEFAULT 0 CHECK (wss_digest IN (0, 1)),
    created_at           BIGINT NOT NULL DEFAULT postcall_now_ms(),
    updated_at           BIGINT NOT NULL DEFAULT postcall_now_ms()
);

-- One row per termination event. Identities are never handed out twice, so event ids, and
-- with them Idempotency-Keys, are never reused; ALWAYS keeps an IVR from choosing its own.
CREATE TABLE outbox (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webservice         TEXT NOT NULL,
    call_id            TEXT NOT NULL,
    reason             TEXT NOT NULL DEFAULT 'hangup' CHECK (reason IN ('hangup', 'exit')),
    variables          TEXT NOT NULL DEFAULT '{}',
    state              TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'in_flight', 'delivered', 'dead')),
    attempts           INTEGER NOT NULL DEFAULT 0,
    created_at         BIGINT NOT NULL DEFAULT postcall_now_ms(),
    next_attempt_at    BIGINT NOT NULL DEFAULT postcall_now_ms(),
    lease_owner        TEXT,
    lease_expires_at   BIGINT,
    delivered_at       BIGINT,
    last_error         TEXT,
    retry_base_attempt INTEGER NOT NULL DEFAULT 0,
    retry_base_at      BIGINT,
    lost_leases        INTEGER NOT NULL DEFAULT 0,
    crash_strikes      INTEGER NOT NULL DEFAULT 0,
    lease_solo         INTEGER NOT NULL DEFAULT 0
);

-- The same partial indexes as SQLite's: claiming reads only due pending rows and expired leases.
CREATE INDEX outbox_pending_due ON outbox (webservice, next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_lease_expiry ON outbox (lease_expires_at) WHERE state = 'in_flight';
CREATE INDEX outbox_call_id ON outbox (call_id);
CREATE INDEX outbox_webservice_created ON outbox (webservice, created_at);
CREATE INDEX outbox_created ON outbox (created_at);
CREATE INDEX outbox_dead_created ON outbox (created_at) WHERE state = 'dead';

-- The IVR inserts with plain SQL through any driver, so the database checks its input.
CREATE FUNCTION outbox_validate_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    parsed JSONB;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webservices WHERE name = NEW.webservice) THEN
        RAISE EXCEPTION 'postcall: unknown webservice; create it with `postcall webservice set`';
    END IF;
    BEGIN
        parsed := NEW.variables::JSONB;
    EXCEPTION WHEN others THEN
        RAISE EXCEPTION 'postcall: variables must be a JSON object';
    END;
    IF jsonb_typeof(parsed) <> 'object' THEN
        RAISE EXCEPTION 'postcall: variables must be a JSON object';
    END IF;
    IF EXISTS (SELECT 1 FROM jsonb_each(parsed) WHERE jsonb_typeof(value) IN ('object', 'array')) THEN
        RAISE EXCEPTION 'postcall: variables must be strings, numbers, booleans or null';
    END IF;
    IF octet_length(NEW.variables) > 1048576 THEN
        RAISE EXCEPTION 'postcall: variables exceed 1 MiB';
    END IF;
    -- A row that starts in another state, or with attempts or a lease, would never be sent.
    IF NEW.state <> 'pending' OR NEW.attempts <> 0 OR NEW.lease_owner IS NOT NULL OR NEW.lease_expires_at IS NOT NULL
       OR NEW.delivered_at IS NOT NULL OR NEW.retry_base_attempt <> 0 OR NEW.retry_base_at IS NOT NULL
       OR NEW.lost_leases <> 0 OR NEW.crash_strikes <> 0 OR NEW.lease_solo <> 0 THEN
        RAISE EXCEPTION 'postcall: a new event starts pending, with no attempts, lease or delivery; insert only webservice, call_id, reason and variables';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER outbox_validate_insert BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION outbox_validate_insert();

-- Workers LISTEN on postcall_outbox: an insert wakes them within a millisecond, once per
-- statement, however many rows it inserts.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('postcall_outbox', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- Every delivery attempt, kept for support staff.
CREATE TABLE attempts (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id    BIGINT NOT NULL,
    attempt     INTEGER NOT NULL,
    worker      TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('delivered', 'retry', 'failed')),
    http_status INTEGER,
    error       TEXT,
    request     TEXT,
    response    TEXT,
    UNIQUE (event_id, attempt)
);
CREATE INDEX attempts_started ON attempts (started_at);

-- `postcall health` proves the database takes writes by updating this one row.
CREATE TABLE health (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at BIGINT NOT NULL
);
