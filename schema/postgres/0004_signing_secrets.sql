-- postcall's PostgreSQL schema, version 4: signing secrets per webservice (SQLite's version 9),
-- each encrypted with the key in POSTCALL_SECRET_KEY_FILE.
ALTER TABLE webservices ADD COLUMN signing_secrets TEXT NOT NULL DEFAULT '[]'
    CHECK (json_typeof(signing_secrets::json) = 'array');
