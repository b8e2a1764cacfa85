import FoundationEssentials

extension OutboxStore {
    /// Creates or replaces a webservice's configuration. A change also closes its circuit
    /// breaker: a fixed URL deserves a try at once. A webservice that becomes private loses the
    /// call data its history kept until now.
    public func setWebservice(_ webservice: Webservice) throws {
        try webservice.validate()
        let storedPrivate = {
            try self.database.query("SELECT private FROM webservices WHERE name = ?", [.text(webservice.name)]) { $0.int64(0) != 0 }
                .first
        }
        if webservice.isPrivate, let database = database as? Database, try storedPrivate() == false {
            try database.attemptLogTransaction { try erasePrivateAttempts(of: webservice.name) }
        }
        try database.writeTransaction {
            let wasPrivate = try storedPrivate()
            try upsert(webservice)
            if webservice.isPrivate && wasPrivate == false { try erasePrivateHistory(of: webservice.name) }
        }
    }

    private func upsert(_ webservice: Webservice) throws {
        try database.run(
            """
            INSERT INTO webservices (name, kind, method, url, headers, params, body, timeout_ms, private, max_attempts,
                                     max_age_ms, soap_wsdl, soap_operation, soap_version, soap_action, soap_operation_json,
                                     follow_redirects, files, body_file, keep_files, soap_header_params, wss_username,
                                     wss_password, wss_digest, tls_ca_file, tls_client_cert, tls_client_key, signing_secrets)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24,
                    ?26, ?27, ?28, ?29)
            ON CONFLICT (name) DO UPDATE SET
                kind = excluded.kind, method = excluded.method, url = excluded.url, headers = excluded.headers,
                params = excluded.params, body = excluded.body, timeout_ms = excluded.timeout_ms,
                private = excluded.private, max_attempts = excluded.max_attempts, max_age_ms = excluded.max_age_ms,
                consecutive_failures = 0, paused_until = NULL, soap_wsdl = excluded.soap_wsdl,
                soap_operation = excluded.soap_operation, soap_version = excluded.soap_version,
                soap_action = excluded.soap_action, soap_operation_json = excluded.soap_operation_json,
                follow_redirects = excluded.follow_redirects, files = excluded.files, body_file = excluded.body_file,
                keep_files = excluded.keep_files, soap_header_params = excluded.soap_header_params,
                wss_username = excluded.wss_username, wss_password = excluded.wss_password, wss_digest = excluded.wss_digest,
                tls_ca_file = excluded.tls_ca_file, tls_client_cert = excluded.tls_client_cert,
                tls_client_key = excluded.tls_client_key, signing_secrets = excluded.signing_secrets,
                updated_at = CAST(?25 AS BIGINT)
            """,
            [
                .text(webservice.name), .text(webservice.kind.rawValue), .text(webservice.method.rawValue),
                .text(webservice.url), .text(Self.encodeFields(webservice.headers)),
                .text(Self.encodeFields(webservice.parameters)), SQLValue(webservice.body),
                .integer(webservice.timeoutMilliseconds), .integer(webservice.isPrivate ? 1 : 0),
                .integer(Int64(webservice.maxAttempts)), .integer(webservice.maxAgeMilliseconds),
                SQLValue(webservice.soap?.wsdl), SQLValue(webservice.soap?.operation.name), SQLValue(webservice.soap?.version.rawValue),
                SQLValue(webservice.soap?.soapAction),
                SQLValue(webservice.soap.flatMap { try? JSONEncoder().encode($0.operation) }.map { String(decoding: $0, as: UTF8.self) }),
                .integer(webservice.followRedirects ? 1 : 0), .text(Self.encodeFields(webservice.files)),
                SQLValue(webservice.bodyFile), .integer(webservice.keepFiles ? 1 : 0),
                .text(Self.encodeFields(webservice.soapHeaderParameters)), SQLValue(webservice.wsSecurity?.username),
                SQLValue(webservice.wsSecurity?.password), .integer(webservice.wsSecurity?.digest == true ? 1 : 0),
                .integer(Timestamp.now()), SQLValue(webservice.tls.caFile), SQLValue(webservice.tls.clientCertificate),
                SQLValue(webservice.tls.clientKey), .text(Self.encodeStrings(webservice.signingSecrets)),
            ])
    }

    /// The webservice called `name`, or `nil`.
    public func webservice(named name: String) throws -> Webservice? {
        try database.query(Self.selectWebservice + " WHERE name = ?", [.text(name)], row: Self.decodeWebservice).first
    }

    /// Whether the webservice called `name` is private; reads that column alone, which a viewer's
    /// role may read where the rest of the configuration (headers, passwords) is not for it.
    public func isPrivateWebservice(named name: String) throws -> Bool {
        try database.query("SELECT private FROM webservices WHERE name = ?", [.text(name)]) { $0.int64(0) != 0 }.first ?? false
    }

    /// A text that changes whenever `name`'s configuration does, or `nil` if there is no such
    /// webservice. Cheaper than ``webservice(named:)``, which decodes the headers and parameters:
    /// the worker asks for every claimed batch and re-reads only when this changed.
    public func webserviceFingerprint(named name: String) throws -> String? {
        try database.query(
            "SELECT \(dialect.jsonArray)(\(Self.configurationColumns)) FROM webservices WHERE name = ?", [.text(name)]
        ) { $0.text(0) }.first
    }

    /// The webservice called `name`; throws `.notFound` with a hint if there is none.
    public func requireWebservice(named name: String) throws -> Webservice {
        guard let webservice = try webservice(named: name) else { throw Self.unknownWebservice(name) }
        return webservice
    }

    static func unknownWebservice(_ name: String) -> PostCallError {
        PostCallError(.notFound, "no webservice named \(name); `postcall webservice list` shows them")
    }

    /// Every webservice, by name.
    public func webservices() throws -> [Webservice] {
        try database.query(Self.selectWebservice + " ORDER BY name", row: Self.decodeWebservice)
    }

    /// Every webservice's name, sorted: all a viewer's role needs to offer them in a search.
    public func webserviceNames() throws -> [String] {
        try database.query("SELECT name FROM webservices ORDER BY name") { $0.text(0) }
    }

    /// Removes a webservice. Refused while events still wait for it or are dead, since those
    /// need its configuration to be delivered or replayed.
    public func removeWebservice(named name: String) throws {
        try database.writeTransaction {
            let waiting = try database.query(
                "SELECT count(*) FROM outbox WHERE webservice = ? AND state IN ('pending', 'in_flight', 'dead')",
                [.text(name)]
            ) { $0.int64(0) }.first ?? 0
            guard waiting == 0 else {
                throw PostCallError(
                    .invalidInput,
                    "webservice \(name) still has \(waiting) pending, in-flight or dead events; deliver or retry them first")
            }
            guard try database.run("DELETE FROM webservices WHERE name = ?", [.text(name)]) == 1 else {
                throw Self.unknownWebservice(name)
            }
        }
    }

    /// Every column a ``Webservice`` is decoded from besides its name, in the order
    /// ``decodeWebservice(_:)`` reads them. The fingerprint covers the same list, so it changes
    /// whenever what the worker would read does.
    private static let configurationColumns = """
        kind, method, url, headers, params, body, timeout_ms, private, max_attempts, max_age_ms,
        soap_wsdl, soap_version, soap_action, soap_operation_json, follow_redirects, files, body_file, keep_files,
        soap_header_params, wss_username, wss_password, wss_digest, tls_ca_file, tls_client_cert, tls_client_key,
        signing_secrets
        """

    private static let selectWebservice = "SELECT name, \(configurationColumns) FROM webservices"

    private static func decodeWebservice(_ row: any SQLRow) throws -> Webservice {
        let name = row.text(0)
        guard let kind = Webservice.Kind(rawValue: row.text(1)), let method = Webservice.Method(rawValue: row.text(2))
        else {
            throw PostCallError(.invalidInput, "webservice \(name) has an unknown kind or method in the database")
        }
        var webservice = Webservice(
            name: name, kind: kind, method: method, url: row.text(3),
            headers: try decodeFields(row.text(4), of: name), parameters: try decodeFields(row.text(5), of: name),
            body: row.optionalText(6), timeoutMilliseconds: row.int64(7), isPrivate: row.int64(8) != 0,
            maxAttempts: Int(row.int64(9)), maxAgeMilliseconds: row.int64(10), soap: try decodeSOAP(row, of: name),
            followRedirects: row.int64(15) != 0, files: try decodeFields(row.text(16), of: name), bodyFile: row.optionalText(17),
            keepFiles: row.int64(18) != 0)
        webservice.soapHeaderParameters = try decodeFields(row.text(19), of: name)
        if let username = row.optionalText(20) {
            webservice.wsSecurity = WSSecurity(username: username, password: row.text(21), digest: row.int64(22) != 0)
        }
        webservice.tls = TLSFiles(caFile: row.optionalText(23), clientCertificate: row.optionalText(24), clientKey: row.optionalText(25))
        guard let secrets = try? JSONDecoder().decode([String].self, from: Data(row.text(26).utf8)) else {
            throw PostCallError(.invalidInput, "webservice \(name) has malformed signing secrets in the database; set them again")
        }
        webservice.signingSecrets = secrets
        return webservice
    }

    private static func decodeSOAP(_ row: any SQLRow, of webservice: String) throws -> SOAPBinding? {
        guard let wsdl = row.optionalText(11), let json = row.optionalText(14) else { return nil }
        guard let operation = try? JSONDecoder().decode(WSDLOperation.self, from: Data(json.utf8)) else {
            throw PostCallError(
                .invalidInput, "webservice \(webservice) has a malformed stored SOAP operation; run `postcall webservice refresh \(webservice)`")
        }
        return SOAPBinding(wsdl: wsdl, operation: operation, version: row.optionalText(12).flatMap(SOAPVersion.init(rawValue:)) ?? .soap11, soapAction: row.optionalText(13) ?? "")
    }

    static func encodeStrings(_ strings: [String]) -> String {
        guard let data = try? JSONEncoder().encode(strings) else { return "[]" }
        return String(decoding: data, as: UTF8.self)
    }

    static func encodeFields(_ fields: [Webservice.Field]) -> String {
        let pairs = fields.map { [$0.name, $0.value] }
        guard let data = try? JSONEncoder().encode(pairs) else { return "[]" }
        return String(decoding: data, as: UTF8.self)
    }

    private static func decodeFields(_ json: String, of webservice: String) throws -> [Webservice.Field] {
        guard let pairs = try? JSONDecoder().decode([[String]].self, from: Data(json.utf8)),
            pairs.allSatisfy({ $0.count == 2 })
        else {
            throw PostCallError(
                .invalidInput, "webservice \(webservice) has malformed headers or params in the database; set them again")
        }
        return pairs.map { Webservice.Field(name: $0[0], value: $0[1]) }
    }
}
