-- postcall schema, version 6: files uploaded from disk (a voicemail recording).

-- JSON array of [field, path template] pairs: each a file part of a multipart/form-data body
-- (POST, PUT).
ALTER TABLE webservices ADD COLUMN files TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(files) AND json_type(files) = 'array');
-- A path template whose file is the whole raw body (POST_RAW, PUT).
ALTER TABLE webservices ADD COLUMN body_file TEXT;
-- Keep an event's files once it is delivered (they are deleted by default).
ALTER TABLE webservices ADD COLUMN keep_files INTEGER NOT NULL DEFAULT 0 CHECK (keep_files IN (0, 1));
