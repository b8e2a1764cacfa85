-- The roles of a postcall fleet on PostgreSQL. Run once, as a superuser or the database's owner,
-- after `postcall migrate` (which the owner runs):
--   psql -v ON_ERROR_STOP=1 -d postcall -f /usr/share/postcall/postgres-roles.sql
-- then give each role a login and a password (ALTER ROLE … LOGIN PASSWORD …) or map it in
-- pg_hba.conf / pg_ident.conf. Re-running it is harmless.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'postcall_ivr') THEN CREATE ROLE postcall_ivr; END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'postcall_worker') THEN CREATE ROLE postcall_worker; END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'postcall_viewer') THEN CREATE ROLE postcall_viewer; END IF;
END
$$;

-- The IVR: the one INSERT of INTERFACE.md, nothing else (not even reading what it inserted).
GRANT INSERT ON outbox TO postcall_ivr;

-- Workers, and support staff running `postcall webservice set`, `retry`, `prune` and `health`:
-- rows only, no schema changes (those are `postcall migrate`'s, run by the owner).
GRANT SELECT, INSERT, UPDATE, DELETE ON outbox, attempts, webservices, outbox_meta, health TO postcall_worker;
GRANT SELECT ON postcall_schema TO postcall_worker;

-- Read-only support staff and dashboards: `history`, `show` and `stats`. Of the webservices, only
-- what `stats` shows: their headers, bodies and WS-Security passwords stay with the workers.
GRANT SELECT ON outbox, attempts, outbox_meta, health, postcall_schema TO postcall_viewer;
GRANT SELECT (name, private, consecutive_failures, paused_until, files, body_file) ON webservices TO postcall_viewer;
