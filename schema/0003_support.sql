-- postcall schema, version 3: manual retries and the support queries.

-- `postcall retry` gives an event a fresh retry budget: the give-up rule counts attempts after
-- retry_base_attempt and age since retry_base_at (created_at when NULL).
ALTER TABLE outbox ADD COLUMN retry_base_attempt INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN retry_base_at INTEGER;

-- `history --state dead` and `retry --state dead`, newest first. Partial, so that the states
-- every event passes through (pending, in_flight, delivered) cost nothing to maintain; the other
-- states are served by outbox_pending_due, outbox_lease_expiry and outbox_created.
CREATE INDEX outbox_dead_created ON outbox (created_at) WHERE state = 'dead';

-- `postcall health` proves the database takes writes by updating this one row.
CREATE TABLE health (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at INTEGER NOT NULL
);
