-- postcall's PostgreSQL schema, version 3: TLS files per webservice (SQLite's version 8).
ALTER TABLE webservices ADD COLUMN tls_ca_file TEXT;
ALTER TABLE webservices ADD COLUMN tls_client_cert TEXT;
ALTER TABLE webservices ADD COLUMN tls_client_key TEXT;
