/// What a SOAP response body says, whatever its HTTP status: servers send faults with 500 (SOAP
/// 1.1 and 1.2 both say so) but also with 200, and a proxy may answer 200 with an HTML page.
enum SOAPResponseCheck {
    enum Verdict: Equatable {
        /// A SOAP envelope without a fault.
        case envelope
        /// A SOAP envelope whose body is a Fault.
        case fault(SOAPFault)
        /// No body at all (some one-way operations answer 202 with nothing).
        case empty
        /// A body that is not a SOAP envelope.
        case notSOAP
    }

    /// Reads `body`, the inspected start of a response. A body cut off at the inspection bound is
    /// read as far as it goes (libxml2's recovery mode), which is enough to find the Body's first
    /// element: a fault comes first in it.
    static func judge(_ body: [UInt8]) -> Verdict {
        guard body.contains(where: { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D) }) else { return .empty }
        guard let document = try? XMLDocument(body, source: "the response", recover: true), let root = document.root,
            root.name == "Envelope",
            root.namespace == SOAPEnvelope.soap11Namespace || root.namespace == SOAPEnvelope.soap12Namespace
        else { return .notSOAP }
        guard let fault = root.child("Body")?.child("Fault") else { return .envelope }
        func local(_ text: String) -> String { String(text.split(separator: ":").last ?? Substring(text)).trimmingWhitespace() }
        if root.namespace == SOAPEnvelope.soap12Namespace {
            return .fault(SOAPFault(
                code: local(fault.child("Code")?.child("Value")?.text ?? ""),
                reason: fault.child("Reason")?.child("Text")?.text ?? "", detail: fault.child("Detail")?.text ?? ""))
        }
        return .fault(SOAPFault(
            code: local(fault.child("faultcode")?.text ?? ""), reason: fault.child("faultstring")?.text ?? "",
            detail: fault.child("detail")?.text ?? ""))
    }

    /// The failure a SOAP response stands for, or `nil` when the status decides alone.
    static func failure(status: Int, body: [UInt8]) -> AttemptFailure? {
        switch judge(body) {
        case .fault(let fault): return fault.failure
        case .notSOAP where (200..<300).contains(status):
            return AttemptFailure(
                errorClass: "invalid response",
                detail: "HTTP \(status) with a body that is not a SOAP envelope (a proxy's or a load balancer's page?)",
                isTransient: true)
        case .envelope, .empty, .notSOAP: return nil
        }
    }
}

/// A SOAP Fault found in a response.
struct SOAPFault: Sendable, Equatable {
    /// The fault code without its prefix, e.g. `Client.BadAnswer` or `Receiver`.
    var code: String
    var reason: String
    var detail: String

    /// Client/Sender (and version or header problems) cannot be cured by waiting; Server/Receiver can.
    var isTransient: Bool { code.hasPrefix("Server") || code.hasPrefix("Receiver") }

    /// The fault as an attempt's failure. The reason and detail stay out of the class: they can
    /// echo call data.
    var failure: AttemptFailure {
        let detailText = detail.trimmingWhitespace()
        return AttemptFailure(
            errorClass: "soap fault \(code)", detail: reason.trimmingWhitespace() + (detailText.isEmpty ? "" : " (\(detailText))"),
            isTransient: isTransient)
    }
}
