import Foundation
import GraphEmulator
import Testing
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
                  tenantId: String? = nil, requestTimeout: Double = 20, maxAttempts: Int = 8, phoneType: String = "mobile", extra: String = "",
                  credential: String? = nil, tenantExtra: String = "") -> String {
        let credentialLines = credential ?? "clientSecret:\n    env: \(Self.secretVariable)"
        return dir.file("job.yaml", """
            name: test
            sheet:
              path: sheet.csv
            phoneType: \(phoneType)
            tenant:
              tenantId: \(tenantId ?? self.tenantId)
              clientId: \(EmulatorOptions.defaultClientId)
              \(credentialLines)
              authority: \(emulator.baseURL)
              graph: \(emulator.baseURL)/v1.0
              \(tenantExtra)
            rate:
              writesPerSecond: \(writesPerSecond)
              readsPerSecond: \(readsPerSecond)
              burst: \(burst)
              concurrency: \(concurrency)
              maxAttempts: \(maxAttempts)
              requestTimeoutSeconds: \(requestTimeout)
            store: out/test.sqlite
            outputs: out
            \(extra)
            """)
    }

    /// The job lines that make apply write notification drafts (for `writeJob(extra:)`).
    static let notifyAfterApply = """
        notify:
          from: Contoso IT <it@contoso.com>
          helpdesk: "ext. 4400"
          afterApply: true
        """

    var storePath: String { dir.path + "/out/test.sqlite" }
    var jobPath: String { dir.path + "/job.yaml" }

    func environment(secret: String = EmulatorOptions.defaultClientSecret) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env[Self.secretVariable] = secret
        return env
    }

    func phoneshift(_ arguments: [String], secret: String = EmulatorOptions.defaultClientSecret) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await runProduct("phoneshift", arguments, environment: environment(secret: secret))
    }

    /// Starts `phoneshift` without waiting; its output goes to files in the job folder.
    func launch(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: productsDirectory + "/phoneshift")
        process.arguments = arguments
        process.environment = environment()
        launched += 1
        FileManager.default.createFile(atPath: dir.path + "/launch\(launched).out", contents: nil)
        FileManager.default.createFile(atPath: dir.path + "/launch\(launched).err", contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: dir.path + "/launch\(launched).out")
        process.standardError = FileHandle(forWritingAtPath: dir.path + "/launch\(launched).err")
        try process.run()
        return process
    }
    private var launched = 0

    /// What the last launched process wrote.
    func launchedOutput() -> (stdout: String, stderr: String) {
        ((try? String(contentsOfFile: dir.path + "/launch\(launched).out", encoding: .utf8)) ?? "",
         (try? String(contentsOfFile: dir.path + "/launch\(launched).err", encoding: .utf8)) ?? "")
    }

    /// Waits (polling) until `condition` holds; false after `timeout` seconds.
    static func poll(timeout: Double = 10, _ condition: () async throws -> Bool) async throws -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if try await condition() { return true }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        return false
    }

    /// Waits (polling) until `condition` holds; false after `timeout` seconds.
    func waitUntil(timeout: Double = 30, _ condition: () async throws -> Bool) async throws -> Bool {
        try await Self.poll(timeout: timeout, condition)
    }

    /// Rows of the store in a state, read by another connection as `status` would.
    func storeCount(_ state: RowState) async throws -> Int {
        guard FileManager.default.fileExists(atPath: storePath) else { return 0 }
        return try await storeRows().values.filter { $0.state == state }.count
    }

    /// Runs SQL on the job store from outside the process that applies (as another host would).
    func storeSQL(_ sql: String) async throws {
        let store = try JobStore(path: storePath)
        try await store.perform { db in try db.execute(sql) }
    }

    /// Object ids by UPN (lowercased).
    func userIds() async throws -> [String: String] {
        let object = try await get("/_emulator/state")
        var out: [String: String] = [:]
        for user in object["users"] as! [[String: Any]] {
            out[(user["userPrincipalName"] as! String).lowercased()] = user["id"] as? String
        }
        return out
    }

    /// Successful writes (PATCH, POST) per user id in the request log, from entry `from` on.
    func successfulWrites(from: Int = 0) async throws -> [String: Int] {
        var writes: [String: Int] = [:]
        for entry in try await requests().dropFirst(from)
        where ["PATCH", "POST"].contains(entry["method"] as? String ?? "") && (200..<300).contains(entry["status"] as? Int ?? 0)
            && (entry["path"] as? String ?? "").hasPrefix("/v1.0/") {
            writes[entry["user"] as? String ?? "", default: 0] += 1
        }
        return writes
    }

    /// Changes a user's number in Graph behind PhoneShift's back (as an admin in the portal would).
    func changeInGraph(userId: String, slot: String, number: String) async throws {
        let methodId = ["mobile": "3179e48a-750b-4051-897c-87b9720928f7", "office": "e37fc753-ff3b-4958-9484-eaa9425c82bc"][slot]!
        let status = try await asApp("PATCH", "/users/\(userId)/authentication/phoneMethods/\(methodId)", json: ["phoneNumber": number, "phoneType": slot])
        precondition(status == 204, "the test's own change was refused: \(status)")
    }

    /// One Graph call as the app (a token of its own, over HTTP), as an admin's script would
    /// make it behind PhoneShift's back; returns the status.
    func asApp(_ method: String, _ path: String, json: [String: Any]) async throws -> Int {
        let transport = CurlTransport()
        defer { transport.shutdown() }
        let form = "grant_type=client_credentials&client_id=\(EmulatorOptions.defaultClientId)&client_secret=\(EmulatorOptions.defaultClientSecret)&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"
        let tokenAnswer = try await transport.send(HTTPRequest(method: "POST", url: emulator.baseURL + "/\(tenantId)/oauth2/v2.0/token",
                                                               headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array(form.utf8)))
        let token = (try JSONSerialization.jsonObject(with: Data(tokenAnswer.body)) as! [String: Any])["access_token"] as! String
        let answer = try await transport.send(HTTPRequest(method: method, url: emulator.baseURL + "/v1.0" + path,
                                                          headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")],
                                                          body: Array(try JSONSerialization.data(withJSONObject: json))))
        return answer.status
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

    /// A POST to an emulator hook (`/_emulator/reset`: a restart that loses every write).
    func post(_ path: String) async throws {
        let transport = CurlTransport()
        defer { transport.shutdown() }
        let response = try await transport.send(HTTPRequest(method: "POST", url: emulator.baseURL + path))
        precondition((200..<300).contains(response.status), "POST \(path): \(response.status)")
    }

    /// Uploads a certificate to the emulated app registration (`POST /_emulator/certificates`,
    /// the portal's "Upload certificate"); returns the status.
    func uploadCertificate(pem: String) async throws -> Int {
        let transport = CurlTransport()
        defer { transport.shutdown() }
        return try await transport.send(HTTPRequest(method: "POST", url: emulator.baseURL + "/_emulator/certificates",
                                                    body: Array(pem.utf8))).status
    }

    /// A PUT to an emulator hook; returns the status.
    @discardableResult
    func put(_ path: String, json: [String: Any]) async throws -> Int {
        let transport = CurlTransport()
        defer { transport.shutdown() }
        return try await transport.send(HTTPRequest(method: "PUT", url: emulator.baseURL + path,
                                                    headers: [("Content-Type", "application/json")],
                                                    body: Array(try JSONSerialization.data(withJSONObject: json)))).status
    }

    /// Plans the job (the plan must succeed), starts `apply` in the background and returns
    /// its process once `progress` holds (an issue is recorded if it does not within 30 s).
    func startApply(until progress: () async throws -> Bool,
                    sourceLocation: SourceLocation = #_sourceLocation) async throws -> Process {
        #expect(try await phoneshift(["plan", jobPath]).status == 0, sourceLocation: sourceLocation)
        let process = try launch(["apply", jobPath])
        #expect(try await waitUntil(progress), "apply never got that far", sourceLocation: sourceLocation)
        return process
    }

    /// Sets the emulator's write gate: after `after` more writes the next are held before
    /// Graph carries them out (nil: open it, and let every held write go on).
    func holdWrites(after: Int?) async throws {
        let status = try await put("/_emulator/faults", json: ["holdWritesAfter": after.map { $0 as Any } ?? NSNull()])
        try #require(status == 200, "the emulator refused the write gate (\(status))")
    }

    /// Writes the emulator's gate holds now.
    func heldWrites() async throws -> Int {
        try await get("/_emulator/faults")["heldWrites"] as? Int ?? 0
    }

    /// Replaces the emulator's throttling limits (`PUT /_emulator/throttle`; the buckets start full).
    func setThrottle(_ settings: ThrottleSettings) async throws {
        let transport = CurlTransport()
        defer { transport.shutdown() }
        let response = try await transport.send(HTTPRequest(method: "PUT", url: emulator.baseURL + "/_emulator/throttle",
                                                            headers: [("Content-Type", "application/json")],
                                                            body: Array(try JSONEncoder().encode(settings))))
        precondition(response.status == 204, "PUT /_emulator/throttle: \(response.status)")
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
