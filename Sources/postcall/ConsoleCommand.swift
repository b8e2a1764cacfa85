import ArgumentParser
import Glibc
import PostCall

/// `postcall console …` runs `postcall-console`, installed beside `postcall`: the console's HTTP
/// server (SwiftNIO, Hummingbird) stays out of the binary every worker runs.
struct ConsoleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "The support console in a browser; `postcall console user add NAME --role viewer|operator` manages its users.",
        discussion: "`postcall console --help` lists its options.")

    @Argument(parsing: .captureForPassthrough, help: "[--listen HOST:PORT] | user add NAME --role viewer|operator | user remove NAME | user list")
    var arguments: [String] = []

    func run() throws {
        let program = Self.consoleProgram()
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        execv(program, argv)
        throw PostCallError(
            .invalidInput,
            "cannot run \(program): \(String(cString: strerror(errno))); it is installed beside postcall (the Debian package and `swift build` both put it there)")
    }

    /// `postcall-console` in the folder of this executable.
    static func consoleProgram() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return "postcall-console" }
        let path = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let slash = path.lastIndex(of: "/") else { return "postcall-console" }
        return String(path[...slash]) + "postcall-console"
    }
}
