// swift-tools-version:6.0
import Foundation
import PackageDescription

let package = Package(
    name: "PhoneShift",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "phoneshift", targets: ["phoneshift"]),
        .executable(name: "graph-emulator", targets: ["graph-emulator"]),
        .library(name: "PhoneShift", targets: ["PhoneShift"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        // Already a dependency of Hummingbird; named for HTTPField, which it does not re-export.
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        // Certificate credentials: RSA signatures (_CryptoExtras) and X.509 parsing — never
        // hand-rolled. Both are already in the graph through Hummingbird's TLS stack.
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.0.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.0.0"),
        // Excel workbooks as sheets: the ZIP container and the workbook's small XML parts —
        // never a hand-written ZIP or XML parser.
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
        .package(url: "https://github.com/drmohundro/SWXMLHash", from: "8.0.0"),
    ],
    targets: [
        // System libraries, one module each (Debian packages named in `providers`).
        .systemLibrary(name: "CCSV", providers: [.apt(["libcsv-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // C++ bridge to libphonenumber with a plain C header.
        .target(
            name: "CPhoneNumber",
            cxxSettings: [.unsafeFlags(["-std=c++17"])],
            linkerSettings: [.linkedLibrary("phonenumber"), .linkedLibrary("protobuf"),
                             .linkedLibrary("icui18n"), .linkedLibrary("icuuc")]
        ),
        // All behaviour lives here.
        .target(
            name: "PhoneShift",
            dependencies: [
                "CCSV", "CCurl", "CSQLite", "CPhoneNumber",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "SWXMLHash", package: "SWXMLHash"),
            ],
            exclude: ["Report/report-v1.schema.json", "Readiness/readiness-v1.schema.json"]
        ),
        // Thin executable: argument parsing, exit codes, terminal output.
        .executableTarget(
            name: "phoneshift",
            dependencies: [
                "PhoneShift",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The local Microsoft Graph. It shares no code with the client on purpose.
        .target(
            name: "GraphEmulator",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]
        ),
        .executableTarget(
            name: "graph-emulator",
            dependencies: [
                "GraphEmulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "PhoneShiftTests",
            dependencies: ["PhoneShift", "CPhoneNumber", "CSQLite", "GraphEmulator", .product(name: "Yams", package: "Yams"),
                           .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                           .product(name: "_CryptoExtras", package: "swift-crypto"),
                           .product(name: "X509", package: "swift-certificates")]
        ),
        .testTarget(
            name: "GraphEmulatorTests",
            dependencies: ["GraphEmulator", .product(name: "_CryptoExtras", package: "swift-crypto"), .product(name: "SwiftASN1", package: "swift-asn1"),
                           .product(name: "X509", package: "swift-certificates")]
        ),
    ]
)

// libFuzzer targets (Benchmarks/fuzz.sh): only when PHONESHIFT_FUZZ is set, because their
// main hands over to libFuzzer, which only a -sanitize=fuzzer build links.
if ProcessInfo.processInfo.environment["PHONESHIFT_FUZZ"] != nil {
    package.targets += [
        .target(name: "FuzzSupport", path: "Sources/FuzzSupport"),
        .executableTarget(name: "fuzz-sheet", dependencies: ["PhoneShift", "FuzzSupport", .product(name: "Logging", package: "swift-log")],
                          path: "Sources/fuzz-sheet"),
        .executableTarget(name: "fuzz-normalizer", dependencies: ["PhoneShift", "FuzzSupport"], path: "Sources/fuzz-normalizer"),
        .executableTarget(name: "fuzz-job", dependencies: ["PhoneShift", "FuzzSupport"], path: "Sources/fuzz-job"),
        .executableTarget(name: "fuzz-workbook", dependencies: ["PhoneShift", "FuzzSupport", .product(name: "Logging", package: "swift-log")],
                          path: "Sources/fuzz-workbook"),
    ]
}
