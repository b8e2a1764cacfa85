-- postcall schema, version 8: TLS files per webservice. A private CA bundle to verify the
-- receiver with, and a client certificate and key for receivers that demand one (mTLS). Paths
-- on the worker's host; verification stays on whatever is set.
ALTER TABLE webservices ADD COLUMN tls_ca_file TEXT;
ALTER TABLE webservices ADD COLUMN tls_client_cert TEXT;
ALTER TABLE webservices ADD COLUMN tls_client_key TEXT;
