import Glibc

/// Which addresses the worker may connect to: an SSRF guard. A webservice URL is a template over
/// call data, and a redirect can point anywhere, so the check is made on the address libcurl is
/// about to connect to (its open-socket callback), after DNS and after every redirect.
///
/// An address is refused when a denied network contains it and no allowed network does. No
/// denied network (the default) permits everything.
public struct NetworkPolicy: Sendable, Equatable {
    public var denied: [IPNetwork]
    public var allowed: [IPNetwork]

    public init(denied: [IPNetwork] = [], allowed: [IPNetwork] = []) {
        self.denied = denied
        self.allowed = allowed
    }

    /// Whether the worker may connect to `address` (4 or 16 bytes).
    func permits(_ address: [UInt8]) -> Bool {
        let address = IPNetwork.unmapped(address)
        guard denied.contains(where: { $0.contains(address) }) else { return true }
        return allowed.contains { $0.contains(address) }
    }

    /// Parses a comma-separated list of CIDR networks, single addresses and `private`.
    public static func networks(_ text: String, option: String) throws -> [IPNetwork] {
        try text.split(separator: ",").flatMap { item -> [IPNetwork] in
            let item = item.trimmingWhitespace()
            if item == "private" { return IPNetwork.privateRanges }
            guard let network = IPNetwork(item) else {
                throw PostCallError(
                    .invalidInput, "\(option): \(item.debugDescription) is not a network; give CIDRs such as 10.0.0.0/8 or fd00::/8, addresses, or private")
            }
            return [network]
        }
    }
}

/// An IPv4 or IPv6 network: an address and a prefix length.
public struct IPNetwork: Sendable, Equatable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6.
    let address: [UInt8]
    let prefixLength: Int

    /// `10.0.0.0/8`, `fd00::/8`, or a single address (`169.254.169.254`, `::1`).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = Self.parse(String(parts[0])) else { return nil }
        let maximum = address.count * 8
        if parts.count == 2 {
            guard let length = Int(parts[1]), (0...maximum).contains(length) else { return nil }
            prefixLength = length
        } else {
            prefixLength = maximum
        }
        self.address = address
    }

    public var description: String { Self.text(of: address) + "/\(prefixLength)" }

    /// An address's usual text form: `127.0.0.1`, `::1`.
    static func text(of address: [UInt8]) -> String {
        var buffer = [UInt8](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = address.count == 4 ? AF_INET : AF_INET6
        let written = address.withUnsafeBytes { source in
            buffer.withUnsafeMutableBytes { target in
                inet_ntop(family, source.baseAddress, target.baseAddress?.assumingMemoryBound(to: CChar.self), socklen_t(target.count))
            }
        }
        return written == nil ? "?" : String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
    }

    func contains(_ other: [UInt8]) -> Bool {
        guard other.count == address.count else { return false }
        var remaining = prefixLength
        for (mine, theirs) in zip(address, other) where remaining > 0 {
            let mask: UInt8 = remaining >= 8 ? 0xFF : ~(0xFF >> UInt8(remaining))
            if mine & mask != theirs & mask { return false }
            remaining -= 8
        }
        return true
    }

    /// An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) as the IPv4 address it is, so a mapped
    /// form cannot slip past an IPv4 range.
    static func unmapped(_ address: [UInt8]) -> [UInt8] {
        guard address.count == 16, address[0..<10].allSatisfy({ $0 == 0 }), address[10] == 0xFF, address[11] == 0xFF else {
            return address
        }
        return Array(address[12..<16])
    }

    static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return unmapped(withUnsafeBytes(of: &v6) { Array($0) }) }
        return nil
    }

    /// What `private` stands for: loopback, RFC 1918, link-local (cloud metadata at
    /// 169.254.169.254 among it), CGNAT, "this network", and their IPv6 counterparts (loopback,
    /// unspecified, unique-local, link-local).
    static let privateRanges: [IPNetwork] = [
        "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10", "0.0.0.0/8",
        "::1/128", "::/128", "fc00::/7", "fe80::/10",
    ].compactMap(IPNetwork.init)
}
