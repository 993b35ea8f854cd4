import Foundation
import GraphEmulator
import Testing
import SwiftASN1
import X509
import _CryptoExtras

/// The emulator behaves as Graph documents it where the first version assumed otherwise.
@Suite("Emulator: roles, permissions, addressing, certificates as documented")
struct RealTenantEmulatorTests {
    /// 45 users hold Global Administrator directly, a group holds it for 10 more, 5 are eligible.
    static func admins(_ options: inout EmulatorOptions) {
        options.seed = options.seed.adding(syntheticUsers: 60)
        let n = options.seed.users.count
        for i in 0..<45 { options.seed.users[n - 60 + i].roles = ["Global Administrator"] }
        for i in 55..<60 { options.seed.users[n - 60 + i].eligibleRoles = ["Global Administrator"] }
        options.seed.groups = [.init(id: "0b7e6a3c-1111-4222-a333-444455556666", displayName: "Admins group",
                                     members: (45..<55).map { options.seed.users[n - 60 + $0].id }, roles: ["Global Administrator"])]
    }

    @Test("$expand=members on directoryRoles is capped at 20 with no next link; role assignments and eligibilities are paged and name group principals")
    func rolesAsDocumented() async throws {
        let h = try await Harness { Self.admins(&$0) }
        defer { Task { await h.stop() } }
        let token = try await h.token()
        let roles = try await h.send("GET", "/v1.0/directoryRoles?$expand=members", token: token)
        let global = (roles.json["value"] as! [[String: Any]]).first { $0["displayName"] as? String == "Global Administrator" }!
        #expect((global["members"] as! [Any]).count == 20)
        #expect(roles.json["@odata.nextLink"] == nil)

        var assignments: [[String: Any]] = []
        var next: String? = "/v1.0/roleManagement/directory/roleAssignments?$expand=principal&$top=20"
        var pages = 0
        while let path = next {
            let page = try await h.send("GET", path, token: token)
            #expect(page.status == 200)
            assignments += page.json["value"] as! [[String: Any]]
            next = (page.json["@odata.nextLink"] as? String).map { String($0.dropFirst(h.base.count)) }
            pages += 1
        }
        #expect(pages >= 3)
        let globalId = "62e90394-69f5-4237-9190-012177145e10"
        let principals = assignments.filter { $0["roleDefinitionId"] as? String == globalId }.compactMap { $0["principal"] as? [String: Any] }
        #expect(principals.filter { $0["@odata.type"] as? String == "#microsoft.graph.user" }.count >= 45)
        #expect(principals.contains { $0["@odata.type"] as? String == "#microsoft.graph.group" })
        let eligible = try await h.send("GET", "/v1.0/roleManagement/directory/roleEligibilitySchedules", token: token)
        #expect((eligible.json["value"] as! [[String: Any]]).count == 5)
        let members = try await h.send("GET", "/v1.0/groups/0b7e6a3c-1111-4222-a333-444455556666/transitiveMembers", token: token)
        #expect((members.json["value"] as! [[String: Any]]).count == 10)
    }

    @Test("403 shapes: directory endpoints answer Authorization_RequestDenied, authentication methods their own; tokens carry the granted roles")
    func permissionShapes() async throws {
        let h = try await Harness { $0.permissions = ["UserAuthMethod-Phone.Read.All"] }
        defer { Task { await h.stop() } }
        let token = try await h.token()
        let payload = token.split(separator: ".")[1]
        var b64 = payload.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while b64.count % 4 != 0 { b64 += "=" }
        let claims = try JSONSerialization.jsonObject(with: Data(base64Encoded: b64)!) as! [String: Any]
        #expect(claims["roles"] as? [String] == ["UserAuthMethod-Phone.Read.All"])
        let user = h.seed.users[1].id
        for path in ["/v1.0/users", "/v1.0/users/\(user)", "/v1.0/roleManagement/directory/roleAssignments", "/v1.0/directoryRoles"] {
            let reply = try await h.send("GET", path, token: token)
            #expect(reply.status == 403 && reply.errorCode == "Authorization_RequestDenied", "\(path)")
            #expect((reply.json["error"] as? [String: Any])?["message"] as? String == "Insufficient privileges to complete the operation.")
        }
        // The phone-only permission reads phone methods, but not all methods, and writes nothing.
        #expect(try await h.send("GET", "/v1.0/users/\(user)/authentication/phoneMethods", token: token).status == 200)
        let all = try await h.send("GET", "/v1.0/users/\(user)/authentication/methods", token: token)
        #expect(all.status == 403 && all.errorCode == "accessDenied")
        let write = try await h.send("PATCH", "/v1.0/users/\(user)/authentication/phoneMethods/\(MethodIds.mobile)", token: token,
                                     json: ["phoneNumber": "+1 2065550111", "phoneType": "mobile"])
        #expect(write.status == 403 && write.errorCode == "accessDenied")
    }

    @Test("Addressing: /users/$… is refused and /users('$…') works (quotes doubled); braces around an id are refused")
    func addressing() async throws {
        let h = try await Harness { options in
            options.seed.users[1].userPrincipalName = "$o'neil@contoso.com"
        }
        defer { Task { await h.stop() } }
        let token = try await h.token()
        #expect(try await h.send("GET", "/v1.0/users/$o'neil@contoso.com", token: token).status == 400)
        let quoted = try await h.send("GET", "/v1.0/users('$o''neil@contoso.com')", token: token)
        #expect(quoted.status == 200 && quoted.json["id"] as? String == h.seed.users[1].id.lowercased())
        let braced = try await h.send("GET", "/v1.0/users/{\(h.seed.users[2].id)}", token: token)
        #expect(braced.status == 400)
        #expect(try await h.send("GET", "/v1.0/users/\(h.seed.users[2].id)", token: token).status == 200)
    }

    @Test("Client assertions: a good one is accepted once (jti replay refused); unknown certificate 700027, expired 700024, wrong issuer 700021, wrong audience refused; PS256 only with x5t#S256, RS256 only with x5t")
    func clientAssertions() async throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let stranger = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let name = try DistinguishedName { CommonName("emulator test") }
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: Date().addingTimeInterval(-60),
            notValidAfter: Date().addingTimeInterval(86400), issuer: name, subject: name, signatureAlgorithm: .sha256WithRSAEncryption,
            extensions: .init(), issuerPrivateKey: .init(key))
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        let thumbprint = b64url(Data(SHA256.hash(data: serializer.serializedBytes)))
        let sha1 = b64url(Data(Insecure.SHA1.hash(data: serializer.serializedBytes)))
        let h = try await Harness { $0.clientCertificates = [try! certificate.serializeAsPEM().pemString] }
        defer { Task { await h.stop() } }
        let audience = h.base + "/\(h.tenantId)/oauth2/v2.0/token"
        func assertion(signer: _RSA.Signing.PrivateKey = key, alg: String = "PS256", x5t: String = thumbprint, name: String = "x5t#S256", aud: String? = nil,
                       iss: String = EmulatorOptions.defaultClientId, nbf: Double = Date().timeIntervalSince1970, exp: Double = Date().timeIntervalSince1970 + 300,
                       jti: String = UUID().uuidString) throws -> String {
            let header = b64url(try JSONSerialization.data(withJSONObject: ["alg": alg, "typ": "JWT", name: x5t]))
            let claims = b64url(try JSONSerialization.data(withJSONObject: ["aud": aud ?? audience, "iss": iss, "sub": iss, "jti": jti,
                                                                           "nbf": Int(nbf), "exp": Int(exp)]))
            let signature = try signer.signature(for: SHA256.hash(data: Data((header + "." + claims).utf8)), padding: alg == "RS256" ? .insecurePKCS1v1_5 : .PSS)
            return header + "." + claims + "." + b64url(signature.rawRepresentation)
        }
        func send(_ assertion: String) async throws -> Harness.Reply {
            try await h.send("POST", "/\(h.tenantId)/oauth2/v2.0/token", form: [
                "client_id": EmulatorOptions.defaultClientId, "grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion": assertion])
        }
        func code(_ reply: Harness.Reply) -> Int? { (reply.json["error_codes"] as? [Int])?.first }
        let good = try assertion()
        #expect(try await send(good).status == 200)
        #expect(code(try await send(good)) == 700027)  // the same jti again
        #expect(code(try await send(try assertion(signer: stranger))) == 700027)
        #expect(code(try await send(try assertion(x5t: "unknownthumbprint"))) == 700027)
        #expect(code(try await send(try assertion(nbf: Date().timeIntervalSince1970 - 7200, exp: Date().timeIntervalSince1970 - 3600))) == 700024)
        #expect(code(try await send(try assertion(iss: "someone-else"))) == 700021)
        #expect(try await send(try assertion(aud: "https://login.microsoftonline.com/x/oauth2/v2.0/token")).status == 401)
        // The documented pairings: PS256 with x5t#S256 (above), RS256 with x5t (SHA-1). RS256
        // naming its key by x5t#S256 is refused as field reports show, and PS256 by x5t.
        #expect(try await send(try assertion(alg: "RS256", x5t: sha1, name: "x5t")).status == 200)
        #expect(code(try await send(try assertion(alg: "RS256"))) == 700027)
        #expect(code(try await send(try assertion(alg: "PS256", x5t: sha1, name: "x5t"))) == 700027)
    }

    func b64url(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
