import PostCallCXML2

/// Builds SOAP request envelopes with libxml2, so every value is escaped by construction.
enum SOAPEnvelope {
    static let soap11Namespace = "http://schemas.xmlsoap.org/soap/envelope/"
    static let soap12Namespace = "http://www.w3.org/2003/05/soap-envelope"

    /// The envelope for `operation` with `parameters` (name, value) in the order given.
    static func build(version: SOAPVersion, operation: WSDLOperation, parameters: [(String, String)]) throws -> [UInt8] {
        guard let document = xmlNewDoc("1.0") else { throw outOfMemory }
        defer { xmlFreeDoc(document) }
        guard let envelope = xmlNewNode(nil, "Envelope") else { throw outOfMemory }
        xmlDocSetRootElement(document, envelope)
        let envelopeNamespace = xmlNewNs(envelope, version == .soap12 ? soap12Namespace : soap11Namespace, "soap")
        xmlSetNs(envelope, envelopeNamespace)
        guard let body = xmlNewChild(envelope, envelopeNamespace, "Body", nil) else { throw outOfMemory }

        if let wrapper = operation.wrapper {
            guard let element = xmlNewChild(body, nil, wrapper, nil) else { throw outOfMemory }
            let namespace = xmlNewNs(element, operation.namespace, "tns")
            xmlSetNs(element, namespace)
            for (name, value) in parameters {
                // xmlNewTextChild would make an unqualified child inherit the wrapper's namespace;
                // a raw node keeps exactly the namespace given (none for rpc and unqualified schemas).
                guard let child = xmlNewDocRawNode(document, operation.qualifiedParameters ? namespace : nil, name, xmlSafe(value))
                else { throw outOfMemory }
                xmlAddChild(element, child)
            }
        } else {
            for (name, value) in parameters {
                guard let element = xmlNewTextChild(body, nil, name, xmlSafe(value)) else { throw outOfMemory }
                xmlSetNs(element, xmlNewNs(element, operation.namespace, "tns"))
            }
        }

        var buffer: UnsafeMutablePointer<xmlChar>?
        var size: Int32 = 0
        xmlDocDumpMemoryEnc(document, &buffer, &size, "UTF-8")
        guard let buffer else { throw outOfMemory }
        defer { postcall_xml_free(buffer) }
        return Array(UnsafeBufferPointer(start: buffer, count: Int(size)))
    }

    /// XML 1.0 cannot carry most control characters, not even escaped: they become U+FFFD.
    private static func xmlSafe(_ value: String) -> String {
        guard value.unicodeScalars.contains(where: isForbidden) else { return value }
        return String(String.UnicodeScalarView(value.unicodeScalars.map { isForbidden($0) ? "\u{FFFD}" : $0 }))
    }

    private static func isForbidden(_ scalar: Unicode.Scalar) -> Bool {
        (scalar.value < 0x20 && scalar != "\n" && scalar != "\r" && scalar != "\t") || scalar == "\u{FFFE}" || scalar == "\u{FFFF}"
    }

    private static var outOfMemory: PostCallError { PostCallError(.transport, "libxml2 could not build a SOAP envelope (out of memory?)") }
}
