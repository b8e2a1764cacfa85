-- postcall schema, version 5: event ids that are never reused, an outbox identity for
-- idempotency keys, IVR inserts that cannot skip delivery, crash strikes, durable privacy
-- scrubs, and the redirect setting.

-- One row: who this outbox is, and the privacy scrubs asked for and done.
CREATE TABLE outbox_meta (
    singleton        INTEGER PRIMARY KEY CHECK (singleton = 1),
    -- Random, made once: every request's Idempotency-Key is `<outbox_id>-<event id>`, so keys
    -- from many IVR hosts (each numbering its events from 1) never collide at one receiver.
    outbox_id        TEXT NOT NULL,
    -- Bumped in the transaction that finalises a private event: its old row versions must leave
    -- the write-ahead log. Any worker, or the next to start, empties the log until scrubs_done
    -- catches up, so a worker killed right after finalising leaves no private data behind.
    scrubs_requested INTEGER NOT NULL DEFAULT 0,
    scrubs_done      INTEGER NOT NULL DEFAULT 0
);
INSERT INTO outbox_meta (singleton, outbox_id) VALUES (1, lower(hex(randomblob(16))));

-- Follow a redirect (keeping method and body) instead of failing the attempt.
ALTER TABLE webservices ADD COLUMN follow_redirects INTEGER NOT NULL DEFAULT 0 CHECK (follow_redirects IN (0, 1));

-- The outbox again, with AUTOINCREMENT: without it SQLite hands out max(id) + 1, so after
-- `prune` removed the newest events the next ones reused their ids, and a receiver that
-- deduplicates by Idempotency-Key dropped them.
CREATE TABLE outbox_v5 (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    webservice         TEXT NOT NULL,
    call_id            TEXT NOT NULL,
    reason             TEXT NOT NULL DEFAULT 'hangup' CHECK (reason IN ('hangup', 'exit')),
    variables          TEXT NOT NULL DEFAULT '{}',
    state              TEXT NOT NULL DEFAULT 'pending'
                       CHECK (state IN ('pending', 'in_flight', 'delivered', 'dead')),
    -- Counts claims, not responses: a row that kills its worker every time still runs out.
    attempts           INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    next_attempt_at    INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    lease_owner        TEXT,
    lease_expires_at   INTEGER,
    delivered_at       INTEGER,
    last_error         TEXT,
    retry_base_attempt INTEGER NOT NULL DEFAULT 0,
    retry_base_at      INTEGER,
    -- Claims whose worker vanished without an outcome (the lease expired). Most are external
    -- kills of a worker with many events in flight, so an event that lost a lease before is
    -- next tried alone (lease_solo); only a worker dying while it ran the event alone is a
    -- crash strike, and crash strikes alone give an event up as a poison event.
    lost_leases        INTEGER NOT NULL DEFAULT 0,
    crash_strikes      INTEGER NOT NULL DEFAULT 0,
    lease_solo         INTEGER NOT NULL DEFAULT 0
);
INSERT INTO outbox_v5 (id, webservice, call_id, reason, variables, state, attempts, created_at, next_attempt_at,
                       lease_owner, lease_expires_at, delivered_at, last_error, retry_base_attempt, retry_base_at)
SELECT id, webservice, call_id, reason, variables, state, attempts, created_at, next_attempt_at,
       lease_owner, lease_expires_at, delivered_at, last_error, retry_base_attempt, retry_base_at
FROM outbox;
-- Continue after the highest id ever seen, in the outbox or in the attempts.
DELETE FROM sqlite_sequence WHERE name = 'outbox_v5';
INSERT INTO sqlite_sequence (name, seq)
VALUES ('outbox_v5', max(coalesce((SELECT max(id) FROM outbox), 0), coalesce((SELECT max(event_id) FROM attempts), 0)));
DROP TABLE outbox;
ALTER TABLE outbox_v5 RENAME TO outbox;

CREATE INDEX outbox_pending_due ON outbox (webservice, next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_lease_expiry ON outbox (lease_expires_at) WHERE state = 'in_flight';
CREATE INDEX outbox_call_id ON outbox (call_id);
CREATE INDEX outbox_webservice_created ON outbox (webservice, created_at);
CREATE INDEX outbox_created ON outbox (created_at);
CREATE INDEX outbox_dead_created ON outbox (created_at) WHERE state = 'dead';

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
    -- A row that starts in another state, or with attempts or a lease, would never be sent.
    SELECT RAISE(ABORT, 'postcall: a new event starts pending, with no attempts, lease or delivery; insert only webservice, call_id, reason and variables')
    WHERE NEW.state IS NOT 'pending' OR NEW.attempts IS NOT 0 OR NEW.lease_owner IS NOT NULL
       OR NEW.lease_expires_at IS NOT NULL OR NEW.delivered_at IS NOT NULL OR NEW.retry_base_attempt IS NOT 0
       OR NEW.retry_base_at IS NOT NULL OR NEW.lost_leases IS NOT 0 OR NEW.crash_strikes IS NOT 0
       OR NEW.lease_solo IS NOT 0;
END;
