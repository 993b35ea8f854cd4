import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import GraphEmulator

@Suite("Emulator: $batch, throttling, faults and test hooks")
struct BatchThrottleFaultTests {
    @Test("$batch: per-item status, dependsOn with 424, at most 20 requests")
    func batch() async throws {
        let h = try await Harness()
        defer { Task { await h.stop() } }
        let token = try await h.token()
        let user = h.user(withPhones: ["mobile"])
        let reply = try await h.send("POST", "/v1.0/$batch", token: token, json: ["requests": [
            ["id": "1", "method": "GET", "url": "/users/\(user.id)/authentication/phoneMethods"],
            ["id": "2", "method": "PATCH", "url": "/users/\(user.id)/authentication/phoneMethods/\(MethodIds.mobile)",
             "headers": ["Content-Type": "application/json"], "body": ["phoneNumber": "+1 2065550123", "phoneType": "mobile"]],
            ["id": "3", "method": "GET", "url": "/users/nobody@contoso.com"],
            ["id": "4", "method": "GET", "url": "/users/\(user.id)", "dependsOn": ["3"]],
        ]])
        #expect(reply.status == 200)
        let responses = reply.json["responses"] as! [[String: Any]]
        let status = Dictionary(uniqueKeysWithValues: responses.map { ($0["id"] as! String, $0["status"] as! Int) })
        #expect(status == ["1": 200, "2": 204, "3": 404, "4": 424])
        #expect((responses[2]["body"] as? [String: Any])?["error"] != nil)
        #expect(try await h.state(of: user.id).first?["phoneNumber"] as? String == "+1 2065550123")
        let tooMany = (1...21).map { ["id": "\($0)", "method": "GET", "url": "/users/\(user.id)"] }
        let refused = try await h.send("POST", "/v1.0/$batch", token: token, json: ["requests": tooMany])
        #expect(refused.status == 400)
    }

    @Test("Writes over the per-app quota get 429 with a fractional Retry-After and the throttle headers; after waiting they pass")
    func writeQuota() async throws {
        // 5 writes per 10 s, on the emulator's clock, moved by hand: however slow the machine,
        // the bucket refills only when the test says so.
        let clock = EmulatorTestClock()
        let h = try await Harness(configure: { $0.throttle = ThrottleSettings(appWrites: 5, appWritesWindow: 10) }, clock: { clock.now })
        defer { Task { await h.stop() } }
        let token = try await h.token()
        let user = h.user(withPhones: ["mobile"])
        let path = "/v1.0/users/\(user.id)/authentication/phoneMethods/\(MethodIds.mobile)"
        var statuses: [Int] = []
        var sawPercentage = false
        var throttled: Harness.Reply?
        for i in 0..<7 {
            let reply = try await h.send("PATCH", path, token: token, json: ["phoneNumber": "+1 20655501\(10 + i)", "phoneType": "mobile"])
            statuses.append(reply.status)
            if let p = reply.header("x-ms-throttle-limit-percentage"), let value = Double(p), value >= 0.8 { sawPercentage = true }
            if reply.status == 429 { throttled = reply }
        }
        #expect(statuses.prefix(5).allSatisfy { $0 == 204 })
        #expect(statuses.last == 429, "\(statuses)")
        #expect(sawPercentage)
        let t = try #require(throttled)
        #expect(t.errorCode == "TooManyRequests")
        #expect(t.header("x-ms-throttle-information") == "WriteLimitExceeded")
        #expect(t.header("x-ms-throttle-scope")?.contains(EmulatorOptions.defaultClientId) == true)
        let retryAfter = try #require(t.header("Retry-After").flatMap(Double.init))
        #expect(retryAfter > 0 && retryAfter <= 2)
        // Reads still pass: they do not use write quota.
        #expect(try await h.send("GET", "/v1.0/users/\(user.id)/authentication/phoneMethods", token: token).status == 200)
        clock.advance(retryAfter + 0.05)
        #expect(try await h.send("PATCH", path, token: token, json: ["phoneNumber": "+1 2065550199", "phoneType": "mobile"]).status == 204)
    }

    @Test("The write gate (a test hook): after N writes the next are held before Graph carries them out; raising it lets that many more go; null opens it; reads pass all along")
    func writeGate() async throws {
        let h = try await Harness()
        defer { Task { await h.stop() } }
        let token = try await h.token()
        let users = Array(h.seed.users.filter { $0.phoneMethods?.first?.phoneType == "mobile" && $0.phoneMethods?.first?.smsSignInState == nil }.prefix(4))
        func write(_ i: Int) async throws -> Int {
            try await h.send("PATCH", "/v1.0/users/\(users[i].id)/authentication/phoneMethods/\(MethodIds.mobile)", token: token,
                             json: ["phoneNumber": "+1 20655503\(10 + i)", "phoneType": "mobile"]).status
        }
        func held() async throws -> Int { try await h.send("GET", "/_emulator/faults").json["heldWrites"] as? Int ?? -1 }
        #expect(try await h.send("PUT", "/_emulator/faults", json: ["holdWritesAfter": 1]).status == 200)
        #expect(try await write(0) == 204)
        let second = Task { try await write(1) }
        #expect(try await Harness.poll { try await held() == 1 })
        let third = Task { try await write(2) }
        // Both wait at the gate, not carried out; a read still answers.
        #expect(try await Harness.poll { try await held() == 2 })
        #expect(try await h.state(of: users[1].id).first?["phoneNumber"] as? String == users[1].phoneMethods?.first?.phoneNumber)
        #expect(try await h.send("GET", "/v1.0/users/\(users[3].id)/authentication/phoneMethods", token: token).status == 200)
        // A new gate counts from when it is set: one more goes, in the order they came.
        #expect(try await h.send("PUT", "/_emulator/faults", json: ["holdWritesAfter": 1]).status == 200)
        #expect(try await second.value == 204)
        #expect(try await held() == 1)
        #expect(try await h.send("PUT", "/_emulator/faults", json: ["holdWritesAfter": NSNull()]).status == 200)
        #expect(try await third.value == 204)
        #expect(try await held() == 0)
        #expect(try await write(3) == 204)
        for i in 0..<4 { #expect(try await h.state(of: users[i].id).first?["phoneNumber"] as? String == "+1 20655503\(10 + i)") }
    }

    @Test("Batch items are throttled one by one, each with its own 429 and Retry-After")
    func batchThrottle() async throws {
        let h = try await Harness { $0.throttle = ThrottleSettings(appWrites: 3, appWritesWindow: 3) }
        defer { Task { await h.stop() } }
        let token = try await h.token()
        let users = h.seed.users.filter { $0.phoneMethods?.first?.phoneType == "mobile" && $0.phoneMethods?.first?.smsSignInState == nil }.prefix(5)
        let requests: [[String: Any]] = users.enumerated().map { i, u in
            ["id": "\(i)", "method": "PATCH", "url": "/users/\(u.id)/authentication/phoneMethods/\(MethodIds.mobile)",
             "headers": ["Content-Type": "application/json"], "body": ["phoneNumber": "+1 20655502\(10 + i)", "phoneType": "mobile"]]
        }
        let reply = try await h.send("POST", "/v1.0/$batch", token: token, json: ["requests": requests])
        let responses = reply.json["responses"] as! [[String: Any]]
        #expect(responses.map { $0["status"] as! Int } == [204, 204, 204, 429, 429])
        let headers = responses[3]["headers"] as! [String: String]
        #expect(Double(headers["Retry-After"] ?? "") ?? 0 > 0)
    }

    @Test("Resource units: a tenant-size budget of reads per window")
    func resourceUnits() async throws {
        let h = try await Harness { $0.throttle = ThrottleSettings(resourceUnits: 4, resourceUnitsWindow: 10) }
        defer { Task { await h.stop() } }
        let token = try await h.token()
        // Listing users costs 2 units: two lists pass, the third is throttled.
        let statuses = try await [1, 2, 3].asyncMap { _ in try await h.send("GET", "/v1.0/users", token: token).status }
        #expect(statuses == [200, 200, 429])
        let last = try await h.send("GET", "/v1.0/users", token: token)
        #expect(last.header("x-ms-throttle-information") == "ResourceUnitLimitExceeded")
    }

    @Test("Resource-unit costs follow the documented table: a user read 1, a list 2, $select one less, $expand one more")
    func resourceUnitCosts() async throws {
        let h = try await Harness { $0.throttle = ThrottleSettings(resourceUnits: 4, resourceUnitsWindow: 1000) }
        defer { Task { await h.stop() } }
        let token = try await h.token()
        let user = h.seed.users[1].id
        // Four user reads (1 unit each) pass, the fifth does not.
        let reads = try await [1, 2, 3, 4, 5].asyncMap { _ in try await h.send("GET", "/v1.0/users/\(user)", token: token).status }
        #expect(reads == [200, 200, 200, 200, 429])
        let h2 = try await Harness { $0.throttle = ThrottleSettings(resourceUnits: 4, resourceUnitsWindow: 1000) }
        defer { Task { await h2.stop() } }
        let token2 = try await h2.token()
        // A list with $select costs 1: four pass. The fifth fails.
        let lists = try await [1, 2, 3, 4, 5].asyncMap { _ in try await h2.send("GET", "/v1.0/users?$select=id", token: token2).status }
        #expect(lists == [200, 200, 200, 200, 429])
    }

    @Test("Injected 503s carry Retry-After; faults can be changed at run time and are validated")
    func errors() async throws {
        let h = try await Harness()
        defer { Task { await h.stop() } }
        let token = try await h.token()
        let user = h.seed.users[1].id
        #expect(try await h.send("PUT", "/_emulator/faults", json: ["errorRates": ["503": 1.0], "retryAfterSeconds": 0.25]).status == 200)
        let reply = try await h.send("GET", "/v1.0/users/\(user)", token: token)
        #expect(reply.status == 503)
        #expect(reply.header("Retry-After") == "0.250")
        #expect(reply.header("request-id") != nil)
        let bad = try await h.send("PUT", "/_emulator/faults", json: ["errorRate": 1])
        #expect(bad.status == 400)
        #expect(String(decoding: bad.body, as: UTF8.self).contains("errorRate"))
        #expect(try await h.send("PUT", "/_emulator/faults", json: ["errorRates": [String: Double]()]).status == 200)
        #expect(try await h.send("GET", "/v1.0/users/\(user)", token: token).status == 200)
    }

    @Test("Latency with spread; dropped connections and stalls fail the client, not the server")
    func latencyDropStall() async throws {
        let h = try await Harness()
        defer { Task { await h.stop() } }
        let token = try await h.token()
        let user = h.seed.users[1].id
        _ = try await h.send("PUT", "/_emulator/faults", json: ["latencyMs": 150, "latencySpreadMs": 50])
        let start = Date()
        #expect(try await h.send("GET", "/v1.0/users/\(user)", token: token).status == 200)
        #expect(Date().timeIntervalSince(start) >= 0.15)
        _ = try await h.send("PUT", "/_emulator/faults", json: ["latencyMs": 0, "latencySpreadMs": 0, "dropRate": 1])
        await #expect(throws: (any Error).self) { try await h.send("GET", "/v1.0/users/\(user)", token: token) }
        _ = try await h.send("PUT", "/_emulator/faults", json: ["dropRate": 0, "stallRate": 1, "stallSeconds": 2])
        await #expect(throws: (any Error).self) { try await h.send("GET", "/v1.0/users/\(user)", token: token, timeout: 0.5) }
        _ = try await h.send("PUT", "/_emulator/faults", json: ["stallRate": 0])
        #expect(try await h.send("GET", "/v1.0/users/\(user)", token: token).status == 200)
    }

    @Test("Hooks: the request log records each call with its user and client-request-id; reset restores the seed")
    func hooks() async throws {
        let h = try await Harness()
        defer { Task { await h.stop() } }
        let token = try await h.token()
        let user = h.user(withPhones: ["mobile"])
        let before = try await h.state(of: user.id)
        _ = try await h.send("PATCH", "/v1.0/users/\(user.userPrincipalName)/authentication/phoneMethods/\(MethodIds.mobile)",
                             token: token, json: ["phoneNumber": "+1 2065550177", "phoneType": "mobile"],
                             headers: ["client-request-id": "row-42"])
        let log = try await h.requests()
        let patch = try #require(log.first { $0["method"] as? String == "PATCH" })
        #expect(patch["status"] as? Int == 204)
        #expect(patch["user"] as? String == user.id)
        #expect(patch["clientRequestId"] as? String == "row-42")
        #expect((patch["path"] as? String)?.hasSuffix("/phoneMethods/\(MethodIds.mobile)") == true)
        let next = try await h.send("GET", "/_emulator/requests").json["next"] as! Int
        #expect(try await h.requests(since: next).isEmpty)
        #expect(try await h.state(of: user.id).first?["phoneNumber"] as? String == "+1 2065550177")
        #expect(try await h.send("POST", "/_emulator/reset").status == 204)
        #expect(try await h.state(of: user.id).first?["phoneNumber"] as? String == before.first?["phoneNumber"] as? String)
        #expect(try await h.requests(since: next).isEmpty)
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for element in self { out.append(try await transform(element)) }
        return out
    }
}
