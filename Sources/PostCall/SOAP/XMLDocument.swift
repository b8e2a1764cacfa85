import PostCallCXML2

/// An XML document parsed by libxml2 with the options untrusted input needs: no network access,
/// no DTD loading, no entity expansion, a bounded size, and no document type declaration at all.
final class XMLDocument {
    /// Larger documents are refused before parsing.
    static let maximumBytes = 8 << 20

    private let document: xmlDocPtr

    /// Parses `bytes`; `source` names the document in error messages. With `recover`, a document
    /// cut off part way (a response read up to a bound) yields the elements read so far.
    init(_ bytes: [UInt8], source: String, recover: Bool = false) throws {
        guard bytes.count <= Self.maximumBytes else {
            throw PostCallError(.invalidInput, "\(source) is larger than \(Self.maximumBytes >> 20) MiB; refusing to parse it")
        }
        // Even unexpanded by the parser, internal entities are expanded when an attribute is read,
        // and nested ones grow quadratically (a 61 KB WSDL took 880 MiB). Neither WSDL nor SOAP
        // needs a DTD (SOAP forbids one), so a document that declares one is refused outright.
        if Self.declaresDocumentType(bytes) {
            throw PostCallError(
                .invalidInput, "\(source) has a document type declaration (<!DOCTYPE>), which WSDL and SOAP documents never need; refusing to parse it")
        }
        var options = XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue
        if recover { options |= XML_PARSE_RECOVER.rawValue }
        let parsed = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress.map { base in
                base.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                    xmlReadMemory($0, Int32(buffer.count), nil, nil, Int32(options))
                }
            } ?? nil
        }
        guard let parsed else {
            let reason = xmlGetLastError().map { String(cString: $0.pointee.message).trimmingWhitespace() }
            throw PostCallError(.invalidInput, "\(source) is not well-formed XML: \(reason ?? "empty document")")
        }
        document = parsed
    }

    deinit { xmlFreeDoc(document) }

    /// Parses elements and text that are not a document by themselves (an `xs:any` template's
    /// rendering), inside a wrapper of our own.
    convenience init(fragment: String, source: String) throws {
        try self.init(Array(("<postcall-fragment>" + fragment + "</postcall-fragment>").utf8), source: source)
        guard root?.children().isEmpty == false else {
            throw PostCallError(.invalidInput, "\(source) holds no element")
        }
    }

    /// Copies the root's content (elements with their namespace declarations, and text) under
    /// `parent`, a node of `target`.
    func copyContent(into parent: xmlNodePtr, of target: xmlDocPtr) throws {
        var child = xmlDocGetRootElement(document)?.pointee.children
        while let current = child {
            guard let copy = xmlDocCopyNode(current, target, 1) else { throw SOAPEnvelope.outOfMemory }
            xmlAddChild(parent, copy)
            child = current.pointee.next
        }
    }

    /// Whether `<!DOCTYPE` appears anywhere: a cheap scan that may refuse a document mentioning
    /// it in a comment, which is harmless.
    static func declaresDocumentType(_ bytes: [UInt8]) -> Bool {
        let marker = Array("<!DOCTYPE".utf8)
        guard bytes.count >= marker.count else { return false }
        var index = 0
        while let start = bytes[index...].firstIndex(of: UInt8(ascii: "<")) {
            if start + marker.count <= bytes.count, bytes[start..<(start + marker.count)].elementsEqual(marker) { return true }
            index = start + 1
        }
        return false
    }

    var root: XMLElement? { xmlDocGetRootElement(document).map { XMLElement(node: $0, owner: self) } }
}

/// An element of an ``XMLDocument``; keeps its document alive.
struct XMLElement {
    fileprivate let node: xmlNodePtr
    fileprivate let owner: XMLDocument

    var name: String { String(cString: node.pointee.name) }
    var namespace: String? { node.pointee.ns.flatMap { $0.pointee.href.map { String(cString: $0) } } }

    func attribute(_ name: String) -> String? {
        guard let value = xmlGetProp(node, name) else { return nil }
        defer { postcall_xml_free(value) }
        return String(cString: value)
    }

    /// The child elements, optionally only those with this local name.
    func children(_ name: String? = nil) -> [XMLElement] {
        var result: [XMLElement] = []
        var child = node.pointee.children
        while let current = child {
            if current.pointee.type == XML_ELEMENT_NODE {
                let element = XMLElement(node: current, owner: owner)
                if name == nil || element.name == name { result.append(element) }
            }
            child = current.pointee.next
        }
        return result
    }

    func child(_ name: String) -> XMLElement? { children(name).first }

    /// Every descendant element with this local name, in document order.
    func descendants(_ name: String) -> [XMLElement] {
        children().flatMap { ($0.name == name ? [$0] : []) + $0.descendants(name) }
    }

    /// The text content, entities left as written.
    var text: String {
        guard let content = xmlNodeGetContent(node) else { return "" }
        defer { postcall_xml_free(content) }
        return String(cString: content)
    }

    /// Resolves a QName such as `tns:Submit` against the namespaces in scope here.
    func resolve(_ qualifiedName: String) -> (namespace: String?, name: String) {
        let parts = qualifiedName.split(separator: ":", maxSplits: 1).map(String.init)
        let prefix = parts.count == 2 ? parts[0] : nil
        let local = parts.last ?? qualifiedName
        let namespace = xmlSearchNs(node.pointee.doc, node, prefix).flatMap { $0.pointee.href.map { String(cString: $0) } }
        return (namespace, local)
    }
}
