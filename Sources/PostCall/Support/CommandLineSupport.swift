import FoundationEssentials
import Glibc

/// Writes a line to standard error, unbuffered: the commands' error messages.
public func printError(_ text: String) {
    var line = Array((text + "\n").utf8)
    _ = line.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

/// An environment variable's value; `nil` when unset or empty, so `VAR=` in an environment file
/// means the default.
public func environment(_ name: String) -> String? {
    // One variable read, where `ProcessInfo.environment` copies the whole environment into a
    // dictionary at every call: a worker's options read it some 80 times as it started (31
    // million instructions, callgrind).
    guard let value = getenv(name), value.pointee != 0 else { return nil }
    return String(cString: value)
}

/// A secret (a password, a signing secret) from a file or from standard input (`-`), without
/// its final line break: never from the command line, where `ps` and shell history see it.
public func readSecretText(from source: String) throws -> String {
    var text: String
    if source == "-" {
        text = ""
        while let line = readLine(strippingNewline: false) { text += line }
    } else {
        guard let data = FileManager.default.contents(atPath: source) else {
            throw PostCallError(.invalidInput, "cannot read \(source): no such readable file")
        }
        text = String(decoding: data, as: UTF8.self)
    }
    while let last = text.last, last.isNewline { text.removeLast() }
    guard !text.isEmpty else { throw PostCallError(.invalidInput, "\(source) holds no password") }
    return text
}
