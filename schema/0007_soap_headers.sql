-- postcall schema, version 7: SOAP header parameters and WS-Security.
-- JSON array of [path, value template] pairs for the elements the binding declares in the SOAP
-- header (`--header-param 'SessionHeader.sessionId={{token}}'`).
ALTER TABLE webservices ADD COLUMN soap_header_params TEXT NOT NULL DEFAULT '[]'
    CHECK (json_valid(soap_header_params) AND json_type(soap_header_params) = 'array');
-- WS-Security UsernameToken: the user, the password (read from a file by `webservice set`, so
-- it is never on a command line) and whether it is sent as a digest.
ALTER TABLE webservices ADD COLUMN wss_username TEXT;
ALTER TABLE webservices ADD COLUMN wss_password TEXT;
ALTER TABLE webservices ADD COLUMN wss_digest INTEGER NOT NULL DEFAULT 0 CHECK (wss_digest IN (0, 1));
