import Foundation
@testable import PhoneShift

/// A private temporary folder, removed when the value is dropped.
final class TemporaryDirectory: @unchecked Sendable {
    // @unchecked: immutable after init; only the path is shared.
    let path: String

    init() {
        let base = NSTemporaryDirectory() + "phoneshift-tests-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        path = base
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `bytes` to a file in the folder and returns its path.
    func file(_ name: String, bytes: [UInt8]) -> String {
        let full = path + "/" + name
        FileManager.default.createFile(atPath: full, contents: Data(bytes))
        return full
    }

    func file(_ name: String, _ text: String) -> String { file(name, bytes: Array(text.utf8)) }
}

/// Reads every record of a file.
func readAll(_ path: String, _ options: SheetReaderOptions = .init()) throws -> [SheetRecord] {
    let reader = try SheetReader(path: path, options: options)
    var records: [SheetRecord] = []
    while let record = try reader.next() { records.append(record) }
    return records
}

/// The package's root folder (for Samples/ and the built binaries).
let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// Folder of the built products (the test bundle sits beside them).
let productsDirectory: String = {
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
}()

/// Runs a built product and returns its exit code and output. The wait happens on a thread
/// of its own: a cooperative thread blocked on a child that talks to an emulator served in
/// this process (on that same small pool) could starve it.
func runProduct(_ name: String, _ arguments: [String], environment: [String: String]? = nil) async throws
    -> (status: Int32, stdout: String, stderr: String)
{
    try await runOnThread { try runProductBlocking(name, arguments, environment: environment) }
}

/// Waits for a process to end without blocking a cooperative thread.
func waitForExit(_ process: Process) async {
    _ = try? await runOnThread { process.waitUntilExit() }
}

/// Runs `script` with /bin/sh, `arguments` as $0, $1… (a product under a shell's setting, such as a umask).
func runProductBlockingShell(_ script: String, _ arguments: [String], environment: [String: String]? = nil) throws
    -> (status: Int32, stdout: String, stderr: String)
{
    try runProductBlocking("/bin/sh", ["-c", script] + arguments, environment: environment)
}

func runProductBlocking(_ name: String, _ arguments: [String], environment: [String: String]? = nil) throws
    -> (status: Int32, stdout: String, stderr: String)
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: name.hasPrefix("/") ? name : productsDirectory + "/" + name)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read both pipes while it runs so that a full pipe cannot block it.
    nonisolated(unsafe) var errData = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        errData = err.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

/// The heavy runs' sizes: a short form in `swift test`, the full size under `.ci/nightly`
/// (`PHONESHIFT_FULL_SIZE=1`). The same test code runs both; only the numbers change.
enum RunSize {
    static let full = ProcessInfo.processInfo.environment["PHONESHIFT_FULL_SIZE"] == "1"
    static func pick<T>(short: T, full: T) -> T { Self.full ? full : short }
}

/// The column list README.md gives after `marker`: the next back-quoted, comma-separated list
/// (it may wrap lines). Tests hold the files PhoneShift writes to what the README promises,
/// not to the code's own constants.
func readmeColumns(after marker: String) throws -> [String] {
    let readme = try String(contentsOfFile: packageRoot + "/README.md", encoding: .utf8)
    guard let start = readme.range(of: marker) else { throw ReadmeError(what: "no '\(marker)' in README.md") }
    let rest = readme[start.upperBound...]
    guard let open = rest.firstIndex(of: "`"), let close = rest[rest.index(after: open)...].firstIndex(of: "`") else {
        throw ReadmeError(what: "no back-quoted list after '\(marker)' in README.md")
    }
    return rest[rest.index(after: open)..<close].split(separator: ",").map { $0.split(whereSeparator: \.isWhitespace).joined(separator: " ") }
}

struct ReadmeError: Error, CustomStringConvertible {
    let what: String
    var description: String { what }
}
