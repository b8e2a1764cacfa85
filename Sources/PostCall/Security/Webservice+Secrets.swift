extension Webservice {
    /// What a WS-Security password is sealed for: its webservice and its use.
    static func wsSecurityContext(_ name: String) -> String { "\(name)/ws-security" }

    /// This webservice with its WS-Security password sealed by `key`, so a reader of the
    /// database cannot use it. A password already sealed stays as it is.
    public func sealingSecrets(with key: SecretKey) throws -> Webservice {
        guard var security = wsSecurity, !SecretKey.isSealed(security.password) else { return self }
        security.password = try key.seal(Array(security.password.utf8), context: Self.wsSecurityContext(name))
        var sealed = self
        sealed.wsSecurity = security
        return sealed
    }

    /// This webservice with a sealed WS-Security password opened by `key`, for the worker to
    /// send; one stored in clear (set without a key) is used as it is.
    func openingSecrets(with key: SecretKey?) throws -> Webservice {
        guard var security = wsSecurity, SecretKey.isSealed(security.password) else { return self }
        guard let key else {
            throw PostCallError(
                .invalidInput,
                "webservice \(name)'s WS-Security password is stored encrypted, and this worker has no \(SecretKey.environmentVariable) to decrypt it with; set it and retry the event")
        }
        security.password = String(decoding: try key.open(security.password, context: Self.wsSecurityContext(name)), as: UTF8.self)
        var opened = self
        opened.wsSecurity = security
        return opened
    }
}
