import ArgumentParser
import FoundationEssentials
import Glibc
import PostCall

struct WebserviceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webservice", abstract: "Configure post-call webservices.",
        subcommands: [Set.self, List.self, Show.self, Remove.self, Refresh.self])

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a webservice, or change the given settings of an existing one.")

        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The webservice's name, used in the IVR's INSERT.") var name: String
        @Option(help: "rest or soap.") var type: String?
        @Option(help: "GET, POST, POST_RAW, PUT or DELETE.") var method: String?
        @Option(help: "The URL template, e.g. https://crm.example/survey/{{call_id}}.") var url: String?
        @Option(name: .customLong("header"), help: "'Name: value template' (repeatable; replaces all headers).")
        var headers: [String] = []
        @Option(name: .customLong("param"), help: "name=value template (repeatable; replaces all parameters).")
        var parameters: [String] = []
        @Option(help: "The raw body template (POST_RAW, or PUT).") var body: String?
        @Option(
            name: .customLong("file"),
            help: "FIELD=PATH-TEMPLATE: a file part of a multipart/form-data body (POST, PUT; repeatable; replaces all file parts).")
        var files: [String] = []
        @Flag(name: .customLong("clear-files"), help: "Remove every file part.") var clearFiles = false
        @Option(name: .customLong("body-file"), help: "PATH-TEMPLATE: a file sent as the whole raw body (POST_RAW, PUT); '' removes it.")
        var bodyFile: String?
        @Flag(
            name: .customLong("keep-files"), inversion: .prefixedNo,
            help: "Keep an event's files once it is delivered (default: they are deleted then).")
        var keepFiles: Bool?
        @Option(help: "Seconds allowed for one attempt, connection included (default 10).") var timeout: Double?
        @Flag(inversion: .prefixedNo, help: "Privacy mode: keep no call data once an event is delivered or dead.")
        var `private`: Bool?
        @Option(name: .customLong("max-attempts"), help: "Attempts before an event is dead (default 12).")
        var maxAttempts: Int?
        @Option(name: .customLong("max-age"), help: "Keep retrying until the event is this old, e.g. 24h, 3d; 0 for no age rule (default 24h).")
        var maxAge: String?
        @Flag(name: .customLong("clear-headers"), help: "Remove every header.") var clearHeaders = false
        @Flag(name: .customLong("clear-params"), help: "Remove every parameter.") var clearParameters = false
        @Option(help: "SOAP: the WSDL's URL or file (a file is stored by its absolute path).") var wsdl: String?
        @Option(
            name: .customLong("header-param"),
            help: "SOAP: path=value template for an element of the SOAP header, e.g. SessionHeader.sessionId={{token}} (repeatable; replaces all).")
        var headerParameters: [String] = []
        @Flag(name: .customLong("clear-header-params"), help: "SOAP: remove every header parameter.") var clearHeaderParameters = false
        @Option(name: .customLong("wss-username"), help: "SOAP: send a WS-Security UsernameToken with this user (needs --wss-password-file).")
        var wssUsername: String?
        @Option(
            name: .customLong("wss-password-file"),
            help: "SOAP: the UsernameToken's password, read from this file (- for standard input), never from the command line.")
        var wssPasswordFile: String?
        @Flag(name: .customLong("wss-digest"), inversion: .prefixedNo, help: "SOAP: send the password as a digest (PasswordDigest) instead of text.")
        var wssDigest: Bool?
        @Flag(name: .customLong("no-wss"), help: "SOAP: stop sending a WS-Security UsernameToken.") var noWSS = false
        @Option(
            name: .customLong("ca-file"),
            help: "A CA bundle (PEM) to verify the receiver with instead of the system's; an absolute path the worker can read (empty: the system's).")
        var caFile: String?
        @Option(
            name: .customLong("client-cert"),
            help: "A client certificate (PEM) for a receiver that demands one (mTLS), with --client-key; an absolute path (empty: none).")
        var clientCertificate: String?
        @Option(name: .customLong("client-key"), help: "The client certificate's private key (PEM); an absolute path the worker can read.")
        var clientKey: String?
        @Option(
            name: .customLong("signing-secret-file"),
            help: ArgumentHelp(
                "Sign requests (Standard Webhooks) with the secret in this file (- for standard input), never given on the command line; repeat for several during a rotation. Replaces the secrets set before; needs POSTCALL_SECRET_KEY_FILE, which encrypts them in the database.",
                valueName: "file"))
        var signingSecretFiles: [String] = []
        @Flag(name: .customLong("clear-signing-secrets"), help: "Stop signing requests.") var clearSigningSecrets = false
        @Option(help: "SOAP: the operation.") var operation: String?
        @Option(name: .customLong("soap-version"), help: "SOAP: 1.1 or 1.2.") var soapVersion: SOAPVersion?
        @Flag(
            name: .customLong("follow-redirects"), inversion: .prefixedNo,
            help: "Follow up to 3 redirects, keeping method and body (default: a redirect fails the attempt).")
        var followRedirects: Bool?

        func run() throws {
            let store = try database.openStore(create: true)
            let existing = try store.webservice(named: name)
            var webservice = existing ?? Webservice(name: name)
            if let type {
                guard let kind = Webservice.Kind(rawValue: type.lowercased()) else {
                    throw PostCallError(.invalidInput, "--type must be rest or soap, not \(type.debugDescription)")
                }
                webservice.kind = kind
            }
            if let method {
                guard let parsed = Webservice.Method(rawValue: method.uppercased()) else {
                    throw PostCallError(
                        .invalidInput, "--method must be one of GET, POST, POST_RAW, PUT, DELETE, not \(method.debugDescription)")
                }
                webservice.method = parsed
            }
            if let url { webservice.url = url }
            if wsdl != nil || operation != nil || soapVersion != nil { webservice.kind = .soap }
            if webservice.kind == .soap {
                guard let location = try wsdl.map(Self.absoluteLocation) ?? webservice.soap?.wsdl,
                    let operationName = operation ?? webservice.soap?.operation.name
                else {
                    throw PostCallError(.invalidInput, "a SOAP webservice needs --wsdl URL and --operation NAME (`postcall wsdl URL` lists them)")
                }
                let (binding, endpoint) = try SOAPBinding.resolve(
                    wsdl: location, description: try WSDLFetcher.describe(location), operationName: operationName,
                    version: soapVersion ?? webservice.soap?.version)
                webservice.soap = binding
                if url == nil && (existing?.soap == nil || webservice.url.isEmpty) { webservice.url = endpoint }
            } else {
                webservice.soap = nil
            }
            if existing == nil && url == nil && webservice.kind == .rest {
                throw PostCallError(.invalidInput, "a new REST webservice needs --url")
            }
            if noWSS { webservice.wsSecurity = nil }
            if wssUsername != nil || wssPasswordFile != nil || wssDigest != nil {
                guard let username = wssUsername ?? webservice.wsSecurity?.username else {
                    throw PostCallError(.invalidInput, "--wss-password-file and --wss-digest need --wss-username")
                }
                let password = try wssPasswordFile.map(readSecretText(from:)) ?? webservice.wsSecurity?.password
                guard let password else {
                    throw PostCallError(.invalidInput, "--wss-username needs --wss-password-file FILE (or - for standard input)")
                }
                webservice.wsSecurity = WSSecurity(
                    username: username, password: password, digest: wssDigest ?? webservice.wsSecurity?.digest ?? false)
            }
            if clearHeaderParameters { webservice.soapHeaderParameters = [] }
            if !headerParameters.isEmpty {
                webservice.soapHeaderParameters = try headerParameters.map {
                    let (name, value) = try splitAssignment($0, option: "--header-param")
                    return Webservice.Field(name: name, value: value)
                }
            }
            if clearHeaders { webservice.headers = [] }
            if !headers.isEmpty { webservice.headers = try headers.map(Self.parseHeader) }
            if clearParameters { webservice.parameters = [] }
            if !parameters.isEmpty {
                webservice.parameters = try parameters.map {
                    let (name, value) = try splitAssignment($0, option: "--param")
                    return Webservice.Field(name: name, value: value)
                }
            }
            if let body { webservice.body = body }
            if clearFiles { webservice.files = [] }
            if !files.isEmpty {
                webservice.files = try files.map {
                    let (field, path) = try splitAssignment($0, option: "--file")
                    return Webservice.Field(name: field, value: path)
                }
            }
            if let bodyFile { webservice.bodyFile = bodyFile.isEmpty ? nil : bodyFile }
            if let keepFiles { webservice.keepFiles = keepFiles }
            if clearSigningSecrets { webservice.signingSecrets = [] }
            if !signingSecretFiles.isEmpty {
                guard let key = try SecretKey.fromEnvironment() else {
                    throw PostCallError(
                        .invalidInput,
                        "signing secrets are stored encrypted: set \(SecretKey.environmentVariable) to a file of 32 random bytes (openssl rand -base64 32 > FILE), the same file the workers read")
                }
                webservice.signingSecrets = try signingSecretFiles.map {
                    try WebhookSigner.sealedSecret(try readSecretText(from: $0), for: name, with: key)
                }
            }
            if wssPasswordFile != nil {
                if let key = try SecretKey.fromEnvironment() {
                    webservice = try webservice.sealingSecrets(with: key)
                } else {
                    printError(
                        "postcall: webservice \(name): the WS-Security password is stored in clear; set \(SecretKey.environmentVariable) (the file the workers read) to have it encrypted")
                }
            }
            if let caFile { webservice.tls.caFile = caFile.isEmpty ? nil : caFile }
            if let clientCertificate { webservice.tls.clientCertificate = clientCertificate.isEmpty ? nil : clientCertificate }
            if let clientKey { webservice.tls.clientKey = clientKey.isEmpty ? nil : clientKey }
            if let timeout {
                guard timeout > 0, timeout <= 3600 else {
                    throw PostCallError(.invalidInput, "--timeout must be between 0 and 3600 seconds")
                }
                webservice.timeoutMilliseconds = max(1, Int64((timeout * 1000).rounded()))
            }
            if let isPrivate = `private` { webservice.isPrivate = isPrivate }
            if let followRedirects { webservice.followRedirects = followRedirects }
            if let maxAttempts { webservice.maxAttempts = maxAttempts }
            if let maxAge {
                guard let duration = maxAge == "0" ? 0 : Timestamp.parseDuration(maxAge) else {
                    throw PostCallError(.invalidInput, "--max-age \(maxAge.debugDescription) must be a duration like 90m, 24h, 3d (at most 100 years), or 0")
                }
                webservice.maxAgeMilliseconds = duration
            }
            try store.setWebservice(webservice)
            print("\(existing == nil ? "created" : "updated") webservice \(name)")
        }

        /// A URL as given; a file path made absolute, so a later `set` or `refresh` from another
        /// folder still finds it.
        static func absoluteLocation(_ location: String) throws -> String {
            let lowered = location.lowercased()
            guard !lowered.hasPrefix("http://"), !lowered.hasPrefix("https://") else { return location }
            let path = lowered.hasPrefix("file://") ? String(location.dropFirst(7)) : location
            guard let resolved = realpath(path, nil) else {
                throw PostCallError(.invalidInput, "cannot read WSDL \(location): no such file")
            }
            defer { free(resolved) }
            return String(cString: resolved)
        }

        static func parseHeader(_ text: String) throws -> Webservice.Field {
            guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else {
                throw PostCallError(.invalidInput, "--header \(text.debugDescription) must look like 'Name: value'")
            }
            let value = text[text.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
            return Webservice.Field(name: String(text[..<colon]).trimmingWhitespace(), value: String(value))
        }
    }

    struct Refresh: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fetch a SOAP webservice's WSDL again and update its operation, action and endpoint.")
        @OptionGroup var database: DatabaseOptions
        @Argument var name: String

        func run() throws {
            let store = try database.openStore()
            var webservice = try store.requireWebservice(named: name)
            guard let old = webservice.soap else {
                throw PostCallError(.invalidInput, "webservice \(name) is not a SOAP webservice; there is no WSDL to refresh")
            }
            let (binding, endpoint) = try SOAPBinding.resolve(
                wsdl: old.wsdl, description: try WSDLFetcher.describe(old.wsdl), operationName: old.operation.name,
                version: old.version)
            // An endpoint taken from the WSDL follows it; one the designer typed stays.
            if old.operation.bindings.contains(where: { $0.endpoint == webservice.url }) { webservice.url = endpoint }
            webservice.soap = binding
            try store.setWebservice(webservice)
            print("refreshed webservice \(name) from \(old.wsdl), operation \(binding.operation.name), endpoint \(webservice.url)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the webservices.")
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            var table = TextTable(header: ["NAME", "TYPE", "METHOD", "TIMEOUT", "PRIVATE", "URL"])
            for webservice in try database.openStore().webservices() {
                table.append([
                    webservice.name, webservice.kind.rawValue, webservice.method.rawValue,
                    "\(Double(webservice.timeoutMilliseconds) / 1000)s", webservice.isPrivate ? "yes" : "no",
                    SecretMasking.maskURL(webservice.url),
                ])
            }
            print(table.render())
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one webservice's configuration.")
        @OptionGroup var database: DatabaseOptions
        @Argument var name: String

        func run() throws {
            let webservice = try database.openStore().requireWebservice(named: name)
            print("name:          \(webservice.name)")
            print("type:          \(webservice.kind.rawValue)")
            print("method:        \(webservice.method.rawValue)")
            print("url:           \(SecretMasking.maskURL(webservice.url))")
            for header in webservice.headers {
                print("header:        \(header.name): \(SecretMasking.maskHeader(name: header.name, value: header.value))")
            }
            for parameter in webservice.parameters {
                print("param:         \(parameter.name)=\(SecretMasking.maskParameter(name: parameter.name, value: parameter.value))")
            }
            if let security = webservice.wsSecurity {
                print("ws-security:   UsernameToken \(security.username), password **** as \(security.digest ? "digest" : "text")")
            }
            for parameter in webservice.soapHeaderParameters {
                print("header param:  \(parameter.name)=\(SecretMasking.maskParameter(name: parameter.name, value: parameter.value))")
            }
            if let body = webservice.body { print("body:          \(body)") }
            for file in webservice.files { print("file:          \(file.name)=\(file.value)") }
            if let bodyFile = webservice.bodyFile { print("body file:     \(bodyFile)") }
            if webservice.sendsFiles {
                print("files:         \(webservice.keepFiles ? "kept once delivered" : "deleted once delivered")")
            }
            if !webservice.signingSecrets.isEmpty {
                print("signing:       Standard Webhooks, \(webservice.signingSecrets.count) secret(s), stored encrypted")
            }
            if let caFile = webservice.tls.caFile { print("ca file:       \(caFile)") }
            if let certificate = webservice.tls.clientCertificate, let key = webservice.tls.clientKey {
                print("client cert:   \(certificate) (key \(key))")
            }
            print("timeout:       \(Double(webservice.timeoutMilliseconds) / 1000)s")
            print("redirects:     \(webservice.followRedirects ? "followed (up to 3, same method and body)" : "not followed")")
            if let soap = webservice.soap {
                print("wsdl:          \(soap.wsdl)")
                print("operation:     \(soap.operation.name) (SOAP \(soap.version.rawValue), action \(soap.soapAction.debugDescription))")
            }
            print("private:       \(webservice.isPrivate ? "yes" : "no")")
            print("retries until: \(webservice.maxAttempts) attempts and \(Timestamp.formatDuration(webservice.maxAgeMilliseconds)) of age")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a webservice that no event waits for.")
        @OptionGroup var database: DatabaseOptions
        @Argument var name: String

        func run() throws {
            try database.openStore().removeWebservice(named: name)
            print("removed webservice \(name)")
        }
    }
}
