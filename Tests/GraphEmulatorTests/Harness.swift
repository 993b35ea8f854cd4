import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import GraphEmulator

/// A real emulator on a free loopback port, and a small HTTP client for it (URLSession:
/// the emulator's tests share no code with PhoneShift's Graph client).
final class Harness: Sendable {
    let running: EmulatorServer.Running
    let seed: DirectorySeed
    let session: URLSession
    var base: String { running.baseURL }
    var tenantId: String { seed.tenant.id }

    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static func sampleSeed() throws -> DirectorySeed {
        try DirectorySeed.load(path: packageRoot + "/Samples/directory.json")
    }

    /// `clock`: the emulator's time (seconds), when a test moves it by hand.
    init(configure: (inout EmulatorOptions) -> Void = { _ in }, clock: (@Sendable () -> Double)? = nil) async throws {
        seed = try Harness.sampleSeed()
        var options = EmulatorOptions(seed: seed)
        configure(&options)
        if let clock {
            running = try await EmulatorServer.start(options, clock: clock)
        } else {
            running = try await EmulatorServer.start(options)
        }
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 10
        session = URLSession(configuration: configuration)
    }

    func stop() async { await running.stop() }

    /// Checks `condition` until it holds (true) or `timeout` seconds pass (false).
    static func poll(timeout: Double = 10, _ condition: () async throws -> Bool) async throws -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if try await condition() { return true }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        return try await condition()
    }

    struct Reply: Sendable {
        var status: Int
        var headers: [String: String]
        var body: Data
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
        func header(_ name: String) -> String? { headers[name.lowercased()] }
    }

    func send(_ method: String, _ path: String, token: String? = nil, json: Any? = nil, form: [String: String]? = nil,
              headers: [String: String] = [:], timeout: Double = 10) async throws -> Reply {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method
        request.timeoutInterval = timeout
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        if let form {
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-._~")
            request.httpBody = Data(form.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed)!)" }
                .joined(separator: "&").utf8)
            request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        }
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (k, v) in http.allHeaderFields { fields[String(describing: k).lowercased()] = String(describing: v) }
        return Reply(status: http.statusCode, headers: fields, body: data)
    }

    func tokenReply(secret: String = EmulatorOptions.defaultClientSecret, clientId: String = EmulatorOptions.defaultClientId,
                    tenant: String? = nil, scope: String = "https://graph.microsoft.com/.default") async throws -> Reply {
        try await send("POST", "/\(tenant ?? tenantId)/oauth2/v2.0/token", form: [
            "client_id": clientId, "client_secret": secret, "grant_type": "client_credentials", "scope": scope,
        ])
    }

    func token() async throws -> String {
        let reply = try await tokenReply()
        return reply.json["access_token"] as! String
    }

    /// The first seeded member with the given phone slots (and no others).
    func user(withPhones slots: Set<String>, roles: Bool = false) -> DirectorySeed.UserSeed {
        seed.users.first { u in
            Set((u.phoneMethods ?? []).map(\.phoneType)) == slots && u.userType == "Member" && ((u.roles ?? []).isEmpty != roles)
        }!
    }

    func state(of userId: String) async throws -> [[String: Any]] {
        let reply = try await send("GET", "/_emulator/state?user=\(userId)")
        let users = reply.json["users"] as! [[String: Any]]
        return users[0]["phoneMethods"] as! [[String: Any]]
    }

    func requests(since: Int = 0) async throws -> [[String: Any]] {
        try await send("GET", "/_emulator/requests?since=\(since)").json["requests"] as! [[String: Any]]
    }
}

enum MethodIds {
    static let mobile = "3179e48a-750b-4051-897c-87b9720928f7"
    static let alternateMobile = "b6332ec1-7057-4abe-9331-3d72feddfe41"
    static let office = "e37fc753-ff3b-4958-9484-eaa9425c82bc"
}
