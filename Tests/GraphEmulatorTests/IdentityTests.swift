import Foundation
import Testing
@testable import GraphEmulator

@Suite("Emulator: identity platform and tokens")
struct IdentityTests {
    @Test("Client credentials: a bearer token with its lifetime")
    func success() async throws {
        let h = try await Harness()
        defer { Task { await h.stop() } }
        let reply = try await h.tokenReply()
        #expect(reply.status == 200)
        #expect(reply.json["token_type"] as? String == "Bearer")
        #expect(reply.json["expires_in"] as? Int == 3599)
        #expect((reply.json["access_token"] as? String)?.split(separator: ".").count == 3)
        #expect(reply.json["refresh_token"] == nil)
        // The tenant's domain works as the tenant name too.
        #expect(try await h.tokenReply(tenant: "contoso.com").status == 200)
    }

    @Test("Documented failures carry the AADSTS code", arguments: [
        ("wrong secret", 401, "invalid_client", 7000215),
        ("unknown client", 400, "unauthorized_client", 700016),
        ("unknown tenant", 400, "invalid_request", 90002),
        ("bad scope", 400, "invalid_scope", 1002012),
    ])
    func failures(_ kind: String, _ status: Int, _ error: String, _ code: Int) async throws {
        let h = try await Harness()
        defer { Task { await h.stop() } }
        let reply: Harness.Reply
        switch kind {
        case "wrong secret": reply = try await h.tokenReply(secret: "nope")
        case "unknown client": reply = try await h.tokenReply(clientId: "00000000-0000-0000-0000-000000000001")
        case "unknown tenant": reply = try await h.tokenReply(tenant: "fabrikam.example")
        default: reply = try await h.tokenReply(scope: "User.Read")
        }
        #expect(reply.status == status)
        #expect(reply.json["error"] as? String == error)
        #expect(reply.json["error_codes"] as? [Int] == [code])
        #expect((reply.json["error_description"] as? String)?.hasPrefix("AADSTS\(code):") == true)
        // The secret never comes back in an error.
        #expect(!String(decoding: reply.body, as: UTF8.self).contains(EmulatorOptions.defaultClientSecret))
    }

    @Test("An expired client secret: AADSTS7000222")
    func expiredSecret() async throws {
        let h = try await Harness { $0.secretExpired = true }
        defer { Task { await h.stop() } }
        let reply = try await h.tokenReply()
        #expect(reply.status == 401)
        #expect(reply.json["error_codes"] as? [Int] == [7000222])
    }

    @Test("Missing, unknown, expired and revoked tokens: 401 InvalidAuthenticationToken")
    func badTokens() async throws {
        let h = try await Harness { $0.tokenLifetime = 1 }
        defer { Task { await h.stop() } }
        let user = h.seed.users[1].id
        let missing = try await h.send("GET", "/v1.0/users/\(user)")
        #expect(missing.status == 401 && missing.errorCode == "InvalidAuthenticationToken")
        #expect(missing.header("WWW-Authenticate") != nil)
        let unknown = try await h.send("GET", "/v1.0/users/\(user)", token: "not-a-token")
        #expect(unknown.status == 401 && unknown.errorCode == "InvalidAuthenticationToken")
        let token = try await h.token()
        #expect(try await h.send("GET", "/v1.0/users/\(user)", token: token).status == 200)
        try await Task.sleep(nanoseconds: 1_200_000_000)
        let expired = try await h.send("GET", "/v1.0/users/\(user)", token: token)
        #expect(expired.status == 401)
        #expect((expired.json["error"] as? [String: Any])?["message"] as? String == "Lifetime validation failed, the token is expired.")
        // Revoked early through the fault hook.
        _ = try await h.send("PUT", "/_emulator/faults", json: ["tokenLifetimeSeconds": 3599])
        let fresh = try await h.token()
        #expect(try await h.send("GET", "/v1.0/users/\(user)", token: fresh).status == 200)
        #expect(try await h.send("PUT", "/_emulator/faults", json: ["revokeTokens": true]).status == 200)
        #expect(try await h.send("GET", "/v1.0/users/\(user)", token: fresh).status == 401)
    }

    @Test("An app without the write permission gets 403 accessDenied on writes, reads still work")
    func permissions() async throws {
        let h = try await Harness { $0.permissions = ["UserAuthenticationMethod.Read.All", "User.Read.All"] }
        defer { Task { await h.stop() } }
        let token = try await h.token()
        let user = h.user(withPhones: ["mobile"])
        #expect(try await h.send("GET", "/v1.0/users/\(user.id)/authentication/phoneMethods", token: token).status == 200)
        let patch = try await h.send("PATCH", "/v1.0/users/\(user.id)/authentication/phoneMethods/\(MethodIds.mobile)",
                                     token: token, json: ["phoneNumber": "+1 2065550100", "phoneType": "mobile"])
        #expect(patch.status == 403)
        #expect(patch.errorCode == "accessDenied")
        #expect((patch.json["error"] as? [String: Any])?["message"] as? String == "Request Authorization failed")
    }
}
