-- postcall schema, version 2: retry limits by age and per-webservice health.

-- An event is given up once it has had max_attempts attempts AND is older than max_age_ms
-- (whichever comes later); 0 turns the age rule off.
ALTER TABLE webservices ADD COLUMN max_age_ms INTEGER NOT NULL DEFAULT 86400000 CHECK (max_age_ms >= 0);

-- Failures in a row, reset by a delivery. Past a threshold the webservice is paused (circuit
-- open) until paused_until: its events wait without using up attempts, and the receiver is not
-- hammered while it is down.
ALTER TABLE webservices ADD COLUMN consecutive_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webservices ADD COLUMN paused_until INTEGER;

-- `postcall stats` reads recent attempts by time.
CREATE INDEX IF NOT EXISTS attempts_started ON attempts (started_at);
