import Foundation
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import GraphEmulator

/// Responses decode into models shaped like those of Microsoft's Graph SDKs (same field
/// names, casing, `@odata.type` values and envelopes), with strict decoding: a missing or
/// mistyped field fails the test.
@Suite("Emulator: responses fit the Graph SDK models")
struct FidelityTests {
    struct ODataError: Decodable {
        struct MainError: Decodable {
            struct InnerError: Decodable {
                let date: String
                let requestId: String
                let clientRequestId: String
                enum CodingKeys: String, CodingKey {
                    case date, requestId = "request-id", clientRequestId = "client-request-id"
                }
            }
            let code: String
            let message: String
            let innerError: InnerError
        }
        let error: MainError
    }
    struct PhoneAuthenticationMethod: Decodable {
        let odataType: String?
        let id: String
        let phoneNumber: String
        let phoneType: String
        let smsSignInState: String
        enum CodingKeys: String, CodingKey {
            case odataType = "@odata.type", id, phoneNumber, phoneType, smsSignInState
        }
    }
    struct Collection<T: Decodable>: Decodable {
        let context: String
        let value: [T]
        let nextLink: String?
        enum CodingKeys: String, CodingKey { case context = "@odata.context", value, nextLink = "@odata.nextLink" }
    }
    struct User: Decodable {
        let id: String
        let userPrincipalName: String
        let displayName: String
        let mail: String?
        let businessPhones: [String]
        let mobilePhone: String?
    }
    struct TokenResponse: Decodable {
        let tokenType: String
        let expiresIn: Int
        let extExpiresIn: Int
        let accessToken: String
        enum CodingKeys: String, CodingKey {
            case tokenType = "token_type", expiresIn = "expires_in", extExpiresIn = "ext_expires_in", accessToken = "access_token"
        }
    }
    struct BatchResponse: Decodable {
        struct Item: Decodable {
            let id: String
            let status: Int
            let headers: [String: String]
        }
        let responses: [Item]
    }

    @Test("Token, user, phone methods, error envelope and batch decode strictly")
    func decode() async throws {
        let h = try await Harness()
        defer { Task { await h.stop() } }
        let decoder = JSONDecoder()
        let token = try decoder.decode(TokenResponse.self, from: try await h.tokenReply().body)
        #expect(token.tokenType == "Bearer")
        let user = h.user(withPhones: ["mobile", "alternateMobile"])
        let u = try decoder.decode(User.self, from: try await h.send("GET", "/v1.0/users/\(user.id)", token: token.accessToken).body)
        #expect(u.id == user.id)
        let phones = try decoder.decode(Collection<PhoneAuthenticationMethod>.self,
            from: try await h.send("GET", "/v1.0/users/\(user.id)/authentication/phoneMethods", token: token.accessToken).body)
        #expect(phones.value.map(\.phoneType) == ["mobile", "alternateMobile"])
        #expect(phones.value.allSatisfy { $0.phoneNumber.hasPrefix("+") && $0.phoneNumber.contains(" ") })
        let one = try decoder.decode(PhoneAuthenticationMethod.self,
            from: try await h.send("GET", "/v1.0/users/\(user.id)/authentication/phoneMethods/\(MethodIds.mobile)", token: token.accessToken).body)
        #expect(one.id == MethodIds.mobile)
        let error = try decoder.decode(ODataError.self, from: try await h.send("GET", "/v1.0/users/none@x.io", token: token.accessToken).body)
        #expect(error.error.code == "Request_ResourceNotFound")
        let batch = try decoder.decode(BatchResponse.self, from: try await h.send("POST", "/v1.0/$batch", token: token.accessToken,
            json: ["requests": [["id": "a", "method": "GET", "url": "/users/\(user.id)"]]]).body)
        #expect(batch.responses.first?.status == 200)
    }
}

@Suite("graph-emulator (the binary)")
struct EmulatorBinaryTests {
    @Test("Starts on a free port, prints its base URL, serves tokens, stops on SIGTERM")
    func binary() async throws {
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: products + "/graph-emulator")
        process.arguments = ["--port", "0", "--directory", Harness.packageRoot + "/Samples/directory.json", "--synthetic-users", "100"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = Pipe()
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        var line = Data()
        while !line.contains(0x0A) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let base = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(base.hasPrefix("http://127.0.0.1:"))
        var request = URLRequest(url: URL(string: base + "/_emulator/state")!)
        request.httpMethod = "GET"
        let (data, _) = try await URLSession.shared.data(for: request)
        let users = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["users"] as? [Any]
        #expect(users?.count == 400)
        process.terminate()
        process.waitUntilExit()  // already terminated: a few milliseconds
        #expect(process.terminationReason == .exit)
    }
}
