import PostCallCXML2

/// Builds SOAP request envelopes with libxml2 from an operation's element tree and the rendered
/// parameter values, so every value is escaped by construction and every element carries the
/// namespace its schema gives it.
enum SOAPEnvelope {
    static let soap11Namespace = "http://schemas.xmlsoap.org/soap/envelope/"
    static let soap12Namespace = "http://www.w3.org/2003/05/soap-envelope"
    static let xsiNamespace = "http://www.w3.org/2001/XMLSchema-instance"
    static let soap11EncodingNamespace = "http://schemas.xmlsoap.org/soap/encoding/"
    static let soap12EncodingNamespace = "http://www.w3.org/2003/05/soap-encoding"

    /// The envelope for `operation`. `body` and `headers` are rendered values by path; a path
    /// ending in `(any)` holds XML, inserted as elements. `security`, if any, is added to the
    /// header as is.
    static func build(
        version: SOAPVersion, operation: WSDLOperation, body: [(SOAPParameterPath, String)],
        headers: [(SOAPParameterPath, String)] = [], security: ((xmlNodePtr, xmlDocPtr) throws -> Void)? = nil
    ) throws -> [UInt8] {
        guard let document = xmlNewDoc("1.0") else { throw outOfMemory }
        defer { xmlFreeDoc(document) }
        guard let envelope = xmlNewNode(nil, "Envelope") else { throw outOfMemory }
        xmlDocSetRootElement(document, envelope)
        let envelopeNamespace = xmlNewNs(envelope, version == .soap12 ? soap12Namespace : soap11Namespace, "soap")
        xmlSetNs(envelope, envelopeNamespace)
        var writer = Writer(document: document, encoded: operation.use == .encoded)

        if !headers.isEmpty || security != nil {
            guard let header = xmlNewChild(envelope, envelopeNamespace, "Header", nil) else { throw outOfMemory }
            try writer.write(operation.headers, values: ValueTree(headers), into: header)
            try security?(header, document)
        }
        guard let bodyNode = xmlNewChild(envelope, envelopeNamespace, "Body", nil) else { throw outOfMemory }
        let values = ValueTree(body)
        if operation.wrapped, let wrapper = operation.body.first {
            let node = try writer.element(wrapper, into: bodyNode)
            if operation.use == .encoded {
                xmlSetNsProp(
                    node, envelopeNamespace, "encodingStyle", version == .soap12 ? soap12EncodingNamespace : soap11EncodingNamespace)
            }
            try writer.fill(node, as: wrapper, with: values)
        } else {
            try writer.write(operation.body, values: values, into: bodyNode)
        }

        var buffer: UnsafeMutablePointer<xmlChar>?
        var size: Int32 = 0
        xmlDocDumpMemoryEnc(document, &buffer, &size, "UTF-8")
        guard let buffer else { throw outOfMemory }
        defer { postcall_xml_free(buffer) }
        return Array(UnsafeBufferPointer(start: buffer, count: Int(size)))
    }

    /// Whether `xml` is a well-formed fragment (elements and text) that ``build`` can insert for
    /// an `xs:any`; throws why not.
    static func checkFragment(_ xml: String, source: String) throws {
        _ = try XMLDocument(fragment: xml, source: source)
    }

    /// The values given, by path, as a tree.
    final class ValueTree {
        var text: String?
        var attributes: [String: String] = [:]
        var children: [String: [Int: ValueTree]] = [:]

        init() {}

        convenience init(_ values: [(SOAPParameterPath, String)]) {
            self.init()
            for (path, text) in values {
                var node = self
                for step in path.steps {
                    let next = node.children[step.name, default: [:]][step.index] ?? ValueTree()
                    node.children[step.name, default: [:]][step.index] = next
                    node = next
                }
                if let attribute = path.attribute { node.attributes[attribute] = text } else { node.text = text }
            }
        }
    }

    private struct Writer {
        let document: xmlDocPtr
        let encoded: Bool
        private var prefixes = 0

        init(document: xmlDocPtr, encoded: Bool) {
            self.document = document
            self.encoded = encoded
        }

        /// Every element of `elements` that has values, or must be there, in schema order.
        mutating func write(_ elements: [SchemaElement], values: ValueTree, into parent: xmlNodePtr) throws {
            for element in elements {
                if element.isAny {
                    for (_, value) in (values.children[element.name] ?? [:]).sorted(by: { $0.key < $1.key }) {
                        try insertFragment(value.text ?? "", into: parent)
                    }
                    continue
                }
                let instances = (values.children[element.name] ?? [:]).sorted { $0.key < $1.key }.map(\.value)
                // A required element with nothing given (a structure whose fields are all
                // optional) is still sent, empty; optional ones are left out.
                let toWrite = instances.isEmpty && element.minOccurs >= 1 && element.choiceGroup == nil ? [ValueTree()] : instances
                for value in toWrite {
                    let node = try self.element(element, into: parent)
                    try fill(node, as: element, with: value)
                }
            }
        }

        /// A new child element of `parent` in the element's namespace (none when unqualified).
        mutating func element(_ element: SchemaElement, into parent: xmlNodePtr) throws -> xmlNodePtr {
            guard let node = xmlNewDocRawNode(document, nil, element.name, nil) else { throw outOfMemory }
            xmlAddChild(parent, node)
            if let namespace = element.namespace { xmlSetNs(node, self.namespace(namespace, at: node)) }
            if encoded, let typeName = element.typeName {
                let xsi = self.namespace(SOAPEnvelope.xsiNamespace, at: node, preferring: "xsi")
                let prefix = element.typeNamespace.map { self.namespace($0, at: node).pointee.prefix.map { String(cString: $0) } ?? "" }
                xmlSetNsProp(node, xsi, "type", (prefix.map { $0.isEmpty ? "" : $0 + ":" } ?? "") + typeName)
            }
            return node
        }

        /// The element's attributes, text or children.
        mutating func fill(_ node: xmlNodePtr, as element: SchemaElement, with value: ValueTree) throws {
            // Defaults are written out: a receiver that does not apply the schema still sees them.
            for attribute in element.attributes {
                guard let text = attribute.fixed ?? value.attributes[attribute.name] ?? attribute.defaultValue else { continue }
                let namespace = attribute.namespace.map { self.namespace($0, at: node) }
                xmlSetNsProp(node, namespace, attribute.name, SOAPEnvelope.xmlSafe(text))
            }
            if element.isStructure {
                try write(element.children, values: value, into: node)
            } else if let text = value.text {
                xmlNodeAddContent(node, SOAPEnvelope.xmlSafe(text))
            }
        }

        /// The namespace `href` as seen from `node`: one in scope, or a new declaration on it.
        private mutating func namespace(_ href: String, at node: xmlNodePtr, preferring prefix: String? = nil) -> xmlNsPtr {
            if let existing = xmlSearchNsByHref(document, node, href), existing.pointee.prefix != nil { return existing }
            prefixes += 1
            return xmlNewNs(node, href, prefix ?? "ns\(prefixes)")
        }

        private func insertFragment(_ xml: String, into parent: xmlNodePtr) throws {
            let fragment = try XMLDocument(fragment: xml, source: "an xs:any template")
            try fragment.copyContent(into: parent, of: document)
        }
    }

    /// XML 1.0 cannot carry most control characters, not even escaped: they become U+FFFD.
    static func xmlSafe(_ value: String) -> String {
        guard value.unicodeScalars.contains(where: isForbidden) else { return value }
        return String(String.UnicodeScalarView(value.unicodeScalars.map { isForbidden($0) ? "\u{FFFD}" : $0 }))
    }

    private static func isForbidden(_ scalar: Unicode.Scalar) -> Bool {
        (scalar.value < 0x20 && scalar != "\n" && scalar != "\r" && scalar != "\t") || scalar == "\u{FFFE}" || scalar == "\u{FFFF}"
    }

    static var outOfMemory: PostCallError { PostCallError(.transport, "libxml2 could not build a SOAP envelope (out of memory?)") }
}
