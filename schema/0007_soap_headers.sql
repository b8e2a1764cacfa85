-- postcall schema, version 7: SOAP header parameters.
-- JSON array of [path, value template] pairs for the elements the binding declares in the SOAP
-- header (`--header-param 'SessionHeader.sessionId={{token}}'`).
ALTER TABLE webservices ADD COLUMN soap_header_params TEXT NOT NULL DEFAULT '[]'
    CHECK (json_valid(soap_header_params) AND json_type(soap_header_params) = 'array');
