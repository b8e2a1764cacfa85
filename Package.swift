// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "postcall",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "PostCall", targets: ["PostCall"]),
        .executable(name: "postcall", targets: ["postcall"]),
        .executable(name: "postcall-console", targets: ["postcall-console"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.11.0"),
        // The Prometheus text exposition format, kept by the Swift server workgroup.
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // The support console's HTTP server and its password hashes (bcrypt). Only the
        // `postcall-console` executable links them: workers stay free of SwiftNIO. No default
        // traits: neither full Foundation nor swift-configuration is needed.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        .systemLibrary(name: "PostCallCSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "PostCallCXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        .systemLibrary(name: "PostCallCPostgres", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // Digests and MACs, never by hand: OpenSSL's libcrypto, which libcurl loads anyway (swift-crypto
        // would bring Foundation, about 7 MiB more per worker).
        .systemLibrary(name: "PostCallCOpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // libcurl's setopt/getinfo are variadic, which Swift cannot call: the shim gives them types.
        .target(name: "PostCallCCurl", linkerSettings: [.linkedLibrary("curl")]),
        // GNU calls (CPU affinity, malloc's tuning) that Swift's Glibc module does not import.
        .target(name: "PostCallCSystem"),
        .executableTarget(name: "PostCallSchemaEmbedder", path: "Sources/PostCallSchemaEmbedder"),
        .plugin(name: "EmbedSchemaPlugin", capability: .buildTool(), dependencies: ["PostCallSchemaEmbedder"]),
        .target(
            name: "PostCall",
            dependencies: [
                "PostCallCSQLite", "PostCallCCurl", "PostCallCXML2", "PostCallCPostgres", "PostCallCOpenSSL", "PostCallCSystem",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            // Release builds leave out the run-time exclusivity checks: the worker's loop state
            // lives in class properties, and checking each access cost 3,500 of its 128,700
            // instructions per delivered event (callgrind). Debug builds, which the tests run,
            // keep them, so an overlapping access still fails there.
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))],
            plugins: ["EmbedSchemaPlugin"]
        ),
        .executableTarget(
            name: "postcall",
            dependencies: [
                "PostCall", "PostCallCSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "PostCallConsole",
            dependencies: [
                "PostCall",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "postcall-console",
            dependencies: [
                "PostCallConsole",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Depending on the executables makes `swift test` build the `postcall` and
        // `postcall-console` the tests run as processes.
        .testTarget(
            name: "PostCallTests", dependencies: ["PostCall", "PostCallConsole", "PostCallCSQLite", "PostCallCSystem", "postcall", "postcall-console"]),
    ]
)
