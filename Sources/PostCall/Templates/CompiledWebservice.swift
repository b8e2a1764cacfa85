/// A webservice as a worker sends it: its configuration, its parsed templates and its signer,
/// made once per configuration change.
///
/// A class: every event waiting or in flight refers to one, where copying the configuration and
/// templates (some twenty strings and arrays) cost a retain and a release of each, several
/// times per event.
public final class CompiledWebservice: Sendable {
    /// Identifies the configuration this was made from (see ``OutboxStore/webserviceFingerprint(named:)``).
    public let fingerprint: String
    public let webservice: Webservice
    public let template: RequestTemplate
    /// Signs each request (Standard Webhooks), if the webservice has signing secrets.
    public let signer: WebhookSigner?

    public init(webservice: Webservice, template: RequestTemplate, signer: WebhookSigner? = nil, fingerprint: String = "") {
        self.fingerprint = fingerprint
        self.webservice = webservice
        self.template = template
        self.signer = signer
    }
}
