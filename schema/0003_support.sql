-- postcall schema, version 3: manual retries and the support queries.

-- `postcall retry` gives an event a fresh retry budget: the give-up rule counts attempts after
-- retry_base_attempt and age since retry_base_at (created_at when NULL).
ALTER TABLE outbox ADD COLUMN retry_base_attempt INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN retry_base_at INTEGER;

-- `history --state` and `retry --state`, newest first; `prune` walks delivered rows by age.
CREATE INDEX outbox_state_created ON outbox (state, created_at);
