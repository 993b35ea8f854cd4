import Foundation
import GraphEmulator
@testable import PhoneShift

/// An emulator (in this process, over real HTTP on loopback) plus a job folder, for the
/// end-to-end tests of plan and apply that run the real `phoneshift` binary.
final class EngineFixture: @unchecked Sendable {
    // @unchecked: set up once in init; read-only afterwards.
    let emulator: EmulatorServer.Running
    let dir = TemporaryDirectory()
    let users: Int
    static let secretVariable = "PHONESHIFT_TEST_SECRET"

    init(syntheticUsers: Int, configure: (inout EmulatorOptions) -> Void = { _ in }) async throws {
        users = syntheticUsers
        let seed = try DirectorySeed.load(path: packageRoot + "/Samples/directory.json").adding(syntheticUsers: syntheticUsers)
        var options = EmulatorOptions(seed: seed)
        configure(&options)
        emulator = try await EmulatorServer.start(options)
    }

    func stop() async { await emulator.stop() }

    var tenantId: String { "9188040d-6c67-4c5b-b112-36a304b66dad" }

    /// The number the sheet gives synthetic user `i`.
    static func newNumber(_ i: Int) -> String { "+1 2127\(String(format: "%06d", i % 1_000_000))" }

    /// A sheet changing users 1...count, plus `extra` lines appended as they are.
    func writeSheet(count: Int, extra: [String] = []) -> String {
        var text = "UPN,Phone\n"
        for i in 1...count { text += "bench\(i)@contoso.com,\(Self.newNumber(i))\n" }
        for line in extra { text += line + "\n" }
        return dir.file("sheet.csv", text)
    }

    func writeJob(writesPerSecond: Double, readsPerSecond: Double = 2000, concurrency: Int = 16, burst: Double = 20,
                  tenantId: String? = nil, extra: String = "") -> String {
        dir.file("job.yaml", """
            name: test
            sheet:
              path: sheet.csv
            phoneType: mobile
            tenant:
              tenantId: \(tenantId ?? self.tenantId)
              clientId: \(EmulatorOptions.defaultClientId)
              clientSecret:
                env: \(Self.secretVariable)
              authority: \(emulator.baseURL)
              graph: \(emulator.baseURL)/v1.0
            rate:
              writesPerSecond: \(writesPerSecond)
              readsPerSecond: \(readsPerSecond)
              burst: \(burst)
              concurrency: \(concurrency)
              maxAttempts: 8
              requestTimeoutSeconds: 20
            store: out/test.sqlite
            outputs: out
            \(extra)
            """)
    }

    var storePath: String { dir.path + "/out/test.sqlite" }
    var jobPath: String { dir.path + "/job.yaml" }

    func environment(secret: String = EmulatorOptions.defaultClientSecret) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env[Self.secretVariable] = secret
        return env
    }

    func phoneshift(_ arguments: [String], secret: String = EmulatorOptions.defaultClientSecret) throws -> (status: Int32, stdout: String, stderr: String) {
        try runProduct("phoneshift", arguments, environment: environment(secret: secret))
    }

    /// Starts `phoneshift` without waiting.
    func launch(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: productsDirectory + "/phoneshift")
        process.arguments = arguments
        process.environment = environment()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Every user's phone methods now, by UPN (lowercased).
    func state() async throws -> [String: [String: String]] {
        let object = try await get("/_emulator/state")
        var out: [String: [String: String]] = [:]
        for user in object["users"] as! [[String: Any]] {
            var phones: [String: String] = [:]
            for p in user["phoneMethods"] as! [[String: Any]] { phones[p["phoneType"] as! String] = p["phoneNumber"] as? String }
            out[(user["userPrincipalName"] as! String).lowercased()] = phones
        }
        return out
    }

    func requests() async throws -> [[String: Any]] {
        try await get("/_emulator/requests")["requests"] as! [[String: Any]]
    }

    func get(_ path: String) async throws -> [String: Any] {
        let transport = CurlTransport()
        defer { transport.shutdown() }
        let response = try await transport.send(HTTPRequest(method: "GET", url: emulator.baseURL + path))
        return try JSONSerialization.jsonObject(with: Data(response.body)) as! [String: Any]
    }

    func put(_ path: String, json: [String: Any]) async throws {
        let transport = CurlTransport()
        defer { transport.shutdown() }
        _ = try await transport.send(HTTPRequest(method: "PUT", url: emulator.baseURL + path,
                                                 headers: [("Content-Type", "application/json")],
                                                 body: Array(try JSONSerialization.data(withJSONObject: json))))
    }

    /// Rows of the job store, by line.
    func storeRows() async throws -> [Int: PlanRow] {
        let store = try JobStore(path: storePath)
        guard let plan = try await store.latestPlan() else { return [:] }
        var out: [Int: PlanRow] = [:]
        for row in try await store.allRows(plan: plan.id) { out[row.line] = row }
        return out
    }
}
