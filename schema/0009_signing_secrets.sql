-- postcall schema, version 9: Standard Webhooks signing secrets per webservice, a JSON array of
-- secrets each encrypted with the key in POSTCALL_SECRET_KEY_FILE (AES-256-GCM, bound to the
-- webservice's name), so a reader of the database cannot sign as us.
ALTER TABLE webservices ADD COLUMN signing_secrets TEXT NOT NULL DEFAULT '[]'
    CHECK (json_valid(signing_secrets) AND json_type(signing_secrets) = 'array');
