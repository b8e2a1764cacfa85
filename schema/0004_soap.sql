-- postcall schema, version 4: SOAP webservices.
-- What delivery needs from the WSDL is stored when the webservice is set (or refreshed), so
-- delivering an event never fetches the WSDL.
ALTER TABLE webservices ADD COLUMN soap_wsdl TEXT;
ALTER TABLE webservices ADD COLUMN soap_operation TEXT;
ALTER TABLE webservices ADD COLUMN soap_version TEXT CHECK (soap_version IN ('1.1', '1.2'));
ALTER TABLE webservices ADD COLUMN soap_action TEXT;
-- The operation as the WSDL describes it (style, wrapper, namespace, parameter order), as JSON.
ALTER TABLE webservices ADD COLUMN soap_operation_json TEXT CHECK (soap_operation_json IS NULL OR json_valid(soap_operation_json));
