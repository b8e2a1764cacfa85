-- postcall's PostgreSQL schema, version 2: the IVR's role may hold nothing but INSERT on outbox.
-- The insert trigger checks the webservice exists, which reads webservices: it runs with the
-- rights of the schema's owner, on the search_path the migration ran with, so neither the IVR
-- role's rights nor its search_path can change what it checks.
ALTER FUNCTION outbox_validate_insert() SECURITY DEFINER SET search_path FROM CURRENT;
ALTER FUNCTION outbox_notify() SET search_path FROM CURRENT;
