import Foundation
import XCTest

@testable import PostCall

/// A `postcall console` process on 127.0.0.1, on a port it picks, started through `postcall`.
final class ConsoleProcess {
    let process = Process()
    let logPath: String
    let baseURL: String

    init(database: String, usersFile: String, logPath: String, arguments: [String] = []) throws {
        self.logPath = logPath
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = postcallExecutable
        process.arguments = ["console", "--db", database, "--users", usersFile, "--listen", "127.0.0.1:0"] + arguments
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = log
        process.standardError = log
        try process.run()
        var url: String?
        let deadline = Date().addingTimeInterval(30)
        while url == nil && Date() < deadline && process.isRunning {
            let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.contains("msg=\"console listening\"") }),
                let start = line.range(of: "url=http://")
            {
                url = String(line[start.upperBound...].prefix { $0 != " " }).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            }
            if url == nil { Thread.sleep(forTimeInterval: 0.05) }
        }
        guard let url else {
            throw PostCallError(.invalidInput, "the console did not start: \((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")")
        }
        baseURL = "http://" + url
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    var output: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}

/// An HTTP answer as curl received it.
struct ConsoleAnswer {
    var status: Int
    var headers: [(String, String)]
    var body: String

    func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    func headers(_ name: String) -> [String] { headers.filter { $0.0.lowercased() == name.lowercased() }.map(\.1) }

    /// The value of the first hidden `csrf` field on the page.
    var csrfField: String? {
        guard let range = body.range(of: "name=\"csrf\" value=\"") else { return nil }
        return String(body[range.upperBound...].prefix { $0 != "\"" })
    }

    func json() throws -> Any { try JSONSerialization.jsonObject(with: Data(body.utf8)) }
}

/// A browser's worth of HTTP for the console's tests: curl (a client we did not write) with a
/// cookie jar of its own; redirects are not followed, so tests see them.
final class ConsoleClient {
    let baseURL: String
    let jar: String
    let scratch: Scratch

    init(baseURL: String, scratch: Scratch) {
        self.baseURL = baseURL
        self.scratch = scratch
        jar = scratch.path("cookies-\(UUID().uuidString).txt")
    }

    func get(_ path: String, basic: (String, String)? = nil, headers: [String] = []) throws -> ConsoleAnswer {
        try request("GET", path, form: nil, basic: basic, headers: headers)
    }

    func post(_ path: String, form: [(String, String)] = [], basic: (String, String)? = nil, headers: [String] = []) throws -> ConsoleAnswer {
        try request("POST", path, form: form, basic: basic, headers: headers)
    }

    /// Signs in through the form, as a browser does: fetch it, post it with its token.
    @discardableResult
    func signIn(_ name: String, _ password: String) throws -> ConsoleAnswer {
        let form = try get("/login")
        return try post("/login", form: [("csrf", form.csrfField ?? ""), ("name", name), ("password", password), ("next", "/")])
    }

    /// The session's CSRF token, as the API reports it.
    func csrfToken() throws -> String {
        let session = try XCTUnwrap(try get("/api/session").json() as? [String: Any])
        return try XCTUnwrap(session["csrf_token"] as? String)
    }

    private func request(_ method: String, _ path: String, form: [(String, String)]?, basic: (String, String)?, headers: [String]) throws -> ConsoleAnswer {
        let headerFile = scratch.path("headers-\(UUID().uuidString).txt")
        var arguments = ["-s", "-S", "-X", method, "-b", jar, "-c", jar, "-D", headerFile, "--max-time", "30"]
        for (name, value) in form ?? [] { arguments += ["--data-urlencode", "\(name)=\(value)"] }
        if method == "POST" && (form ?? []).isEmpty { arguments += ["--data", ""] }
        if let basic { arguments += ["-u", "\(basic.0):\(basic.1)"] }
        for header in headers { arguments += ["-H", header] }
        arguments.append(baseURL + path)
        let result = try runProcess("/usr/bin/curl", arguments)
        guard result.status == 0 else { throw PostCallError(.invalidInput, "curl \(method) \(path): \(result.stderr)") }
        let head = try String(contentsOfFile: headerFile, encoding: .utf8)
        try? FileManager.default.removeItem(atPath: headerFile)
        let lines = head.components(separatedBy: "\r\n")
        let status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        let fields = lines.dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return ConsoleAnswer(status: status, headers: fields, body: result.stdout)
    }
}

extension EndToEndTestCase {
    /// Adds a console user through `postcall console user add`, the password from a file.
    func addConsoleUser(_ name: String, role: String, password: String, usersFile: String) throws {
        let passwordFile = scratch.path("password-\(name)")
        try password.write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let result = try run(["console", "user", "add", name, "--role", role, "--users", usersFile, "--password-file", passwordFile])
        XCTAssertEqual(result.status, 0, result.stderr)
    }
}
