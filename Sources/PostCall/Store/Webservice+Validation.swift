extension Webservice {
    /// Checks the configuration before it is stored, so a mistake is reported to the person who
    /// typed it rather than discovered by the worker at the end of a call.
    public func validate() throws {
        guard !name.isEmpty, name.count <= 200, !name.contains(where: { $0.isNewline }) else {
            throw PostCallError(.invalidInput, "webservice name \(name.debugDescription) must be 1 to 200 characters on one line")
        }
        guard (1...3_600_000).contains(timeoutMilliseconds) else {
            throw PostCallError(.invalidInput, "webservice \(name): timeout must be between 1 ms and 1 hour")
        }
        guard maxAttempts >= 1 else {
            throw PostCallError(.invalidInput, "webservice \(name): --max-attempts must be at least 1")
        }
        guard maxAgeMilliseconds >= 0 else {
            throw PostCallError(.invalidInput, "webservice \(name): --max-age cannot be negative")
        }
        try tls.validate(webservice: name)
        _ = try RequestTemplate(self)
    }
}
