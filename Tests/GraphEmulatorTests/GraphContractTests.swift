import Foundation
import Synchronization
import Testing
@testable import GraphEmulator

@Suite("Emulator: Graph users and authentication methods")
struct GraphContractTests {
    @Test("Users by id and by UPN (any case, guest #EXT# UPNs), with $select; unknown users 404")
    func users() async throws {
        let h = try await Harness()
        defer { Task { await h.stop() } }
        let token = try await h.token()
        let member = h.seed.users[1]
        let byId = try await h.send("GET", "/v1.0/users/\(member.id)", token: token)
        #expect(byId.status == 200)
        #expect(byId.json["userPrincipalName"] as? String == member.userPrincipalName)
        #expect(byId.json["employeeId"] == nil)  // not in the default property set
        let byUPN = try await h.send("GET", "/v1.0/users/\(member.userPrincipalName.uppercased())?$select=id,employeeId,accountEnabled", token: token)
        #expect(byUPN.json["id"] as? String == member.id)
        #expect(byUPN.json["employeeId"] as? String == member.employeeId)
        #expect(Set(byUPN.json.keys) == ["@odata.context", "id", "employeeId", "accountEnabled"])
        let guest = try #require(h.seed.users.first { $0.userPrincipalName.contains("#EXT#") })
        let encoded = guest.userPrincipalName.replacingOccurrences(of: "#", with: "%23")
        #expect(try await h.send("GET", "/v1.0/users/\(encoded)", token: token).json["id"] as? String == guest.id)
        let missing = try await h.send("GET", "/v1.0/users/nobody@contoso.com", token: token)
        #expect(missing.status == 404)
        #expect(missing.errorCode == "Request_ResourceNotFound")
        #expect((missing.json["error"] as? [String: Any])?["message"] as? String
                == "Resource 'nobody@contoso.com' does not exist or one of its queried reference-property objects are not present.")
        #expect(try await h.send("GET", "/v1.0/users/\(member.id)?$select=shoeSize", token: token).status == 400)
    }

    @Test("Listing with $filter on employeeId, mail and userPrincipalName; paging with $top and nextLink")
    func listing() async throws {
        let h = try await Harness()
        defer { Task { await h.stop() } }
        let token = try await h.token()
        let member = h.seed.users[5]
        for (property, value) in [("employeeId", member.employeeId!), ("mail", member.mail!), ("userPrincipalName", member.userPrincipalName)] {
            let filter = "\(property) eq '\(value)'".addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed)!
            let reply = try await h.send("GET", "/v1.0/users?$filter=\(filter)&$select=id", token: token)
            let value = reply.json["value"] as! [[String: Any]]
            #expect(value.map { $0["id"] as? String } == [member.id])
        }
        var seen: [String] = []
        var path = "/v1.0/users?$top=64&$select=id"
        var pages = 0
        while true {
            let reply = try await h.send("GET", path, token: token)
            #expect(reply.status == 200)
            seen += (reply.json["value"] as! [[String: Any]]).map { $0["id"] as! String }
            pages += 1
            guard let next = reply.json["@odata.nextLink"] as? String else { break }
            #expect(next.hasPrefix(h.base + "/v1.0/users?"))
            path = String(next.dropFirst(h.base.count))
        }
        #expect(pages == 5)
        #expect(seen == h.seed.users.map(\.id))
        let unsupported = try await h.send("GET", "/v1.0/users?$filter=\("startswith(displayName,'A')".addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed)!)", token: token)
        #expect(unsupported.status == 400 && unsupported.errorCode == OurChoices.unsupportedQueryCode)
        #expect(try await h.send("GET", "/v1.0/users?$top=1000", token: token).status == 400)
    }

    @Test("All methods are polymorphic with @odata.type; phone methods list, get")
    func methods() async throws {
        let h = try await Harness()
        defer { Task { await h.stop() } }
        let token = try await h.token()
        let user = try #require(h.seed.users.first { Set(($0.phoneMethods ?? []).map(\.phoneType)) == ["mobile", "alternateMobile"] && ($0.otherMethods ?? []).count >= 2 })
        let all = try await h.send("GET", "/v1.0/users/\(user.id)/authentication/methods", token: token)
        let items = all.json["value"] as! [[String: Any]]
        let types = Set(items.map { $0["@odata.type"] as! String })
        let known: Set<String> = [
            "#microsoft.graph.passwordAuthenticationMethod", "#microsoft.graph.phoneAuthenticationMethod",
            "#microsoft.graph.emailAuthenticationMethod", "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod",
            "#microsoft.graph.fido2AuthenticationMethod", "#microsoft.graph.softwareOathAuthenticationMethod",
            "#microsoft.graph.temporaryAccessPassAuthenticationMethod", "#microsoft.graph.windowsHelloForBusinessAuthenticationMethod",
        ]
        #expect(types.isSubset(of: known))
        #expect(items.filter { $0["@odata.type"] as? String == "#microsoft.graph.phoneAuthenticationMethod" }.count == 2)
        let phones = try await h.send("GET", "/v1.0/users/\(user.id)/authentication/phoneMethods", token: token)
        let list = phones.json["value"] as! [[String: Any]]
        #expect(list.count == 2)
        #expect(list.allSatisfy { Set($0.keys) == ["id", "phoneNumber", "phoneType", "smsSignInState"] })
        let one = try await h.send("GET", "/v1.0/users/\(user.id)/authentication/phoneMethods/\(MethodIds.mobile)", token: token)
        #expect(one.json["phoneType"] as? String == "mobile")
        #expect(one.json["phoneNumber"] as? String == user.phoneMethods?.first { $0.phoneType == "mobile" }?.phoneNumber)
        let unknown = try await h.send("GET", "/v1.0/users/\(user.id)/authentication/phoneMethods/\(MethodIds.office)", token: token)
        #expect(unknown.status == 404 && unknown.errorCode == OurChoices.unknownMethodCode)
    }

    @Test("Directory roles: per user (transitiveMemberOf) and for the tenant ($expand=members)")
    func roles() async throws {
        let h = try await Harness()
        defer { Task { await h.stop() } }
        let token = try await h.token()
        let admin = try #require(h.seed.users.first { $0.roles == ["Global Administrator"] })
        let reply = try await h.send("GET", "/v1.0/users/\(admin.id)/transitiveMemberOf/microsoft.graph.directoryRole", token: token)
        let roles = reply.json["value"] as! [[String: Any]]
        #expect(roles.map { $0["displayName"] as? String } == ["Global Administrator"])
        #expect(roles[0]["roleTemplateId"] as? String == "62e90394-69f5-4237-9190-012177145e10")
        let plain = h.user(withPhones: ["mobile"])
        #expect((try await h.send("GET", "/v1.0/users/\(plain.id)/transitiveMemberOf/microsoft.graph.directoryRole", token: token).json["value"] as! [Any]).isEmpty)
        let tenantRoles = try await h.send("GET", "/v1.0/directoryRoles?$expand=members", token: token)
        let global = (tenantRoles.json["value"] as! [[String: Any]]).first { $0["displayName"] as? String == "Global Administrator" }!
        #expect((global["members"] as! [[String: Any]]).contains { $0["id"] as? String == admin.id })
    }

    @Test("POST adds a missing type (201, Location); the rules refuse duplicates, orphan alternates and bad numbers")
    func add() async throws {
        let h = try await Harness()
        defer { Task { await h.stop() } }
        let token = try await h.token()
        let none = h.user(withPhones: [])
        let path = "/v1.0/users/\(none.id)/authentication/phoneMethods"
        let orphan = try await h.send("POST", path, token: token, json: ["phoneNumber": "+1 2065550101", "phoneType": "alternateMobile"])
        #expect(orphan.status == 400 && orphan.errorCode == OurChoices.badRequestCode)
        let created = try await h.send("POST", path, token: token, json: ["phoneNumber": "+12065550100", "phoneType": "mobile"])
        #expect(created.status == 201)
        #expect(created.json["id"] as? String == MethodIds.mobile)
        #expect(created.json["phoneNumber"] as? String == "+1 2065550100")  // compact form accepted, stored spaced
        #expect(created.header("Location")?.hasSuffix("/phoneMethods/\(MethodIds.mobile)") == true)
        let duplicate = try await h.send("POST", path, token: token, json: ["phoneNumber": "+1 2065550102", "phoneType": "mobile"])
        #expect(duplicate.status == 400 && duplicate.errorCode == OurChoices.badRequestCode)
        #expect(try await h.send("POST", path, token: token, json: ["phoneNumber": "+1 2065550101", "phoneType": "alternateMobile"]).status == 201)
        for bad in ["2065550100", "+1-206-555-0100", "+1 (206) 5550100", "+0 2065550100", "+1 206555010x", "+44 7400 123456", ""] {
            let reply = try await h.send("POST", path, token: token, json: ["phoneNumber": bad, "phoneType": "office"])
            #expect(reply.status == 400, "\(bad)")
        }
        let office = try await h.send("POST", path, token: token, json: ["phoneNumber": "+44 2079460958x123", "phoneType": "office"])
        #expect(office.status == 201 && office.json["phoneNumber"] as? String == "+44 2079460958x123")
        let state = try await h.state(of: none.id)
        #expect(state.map { $0["phoneType"] as? String } == ["mobile", "alternateMobile", "office"])
        #expect(try await h.send("POST", path, token: token, json: ["phoneType": "office"]).status == 400)
        let notJSON = try await h.send("POST", path, token: token, headers: ["Content-Type": "application/json"])
        #expect(notJSON.status == 400)
    }

    @Test("PATCH changes the number (204) but never the type; unknown method 404")
    func update() async throws {
        let h = try await Harness()
        defer { Task { await h.stop() } }
        let token = try await h.token()
        let user = h.user(withPhones: ["mobile"])
        let path = "/v1.0/users/\(user.id)/authentication/phoneMethods/\(MethodIds.mobile)"
        let patch = try await h.send("PATCH", path, token: token, json: ["phoneNumber": "+44 7400999888", "phoneType": "mobile"])
        #expect(patch.status == 204)
        #expect(patch.body.isEmpty)
        #expect(try await h.state(of: user.id).first?["phoneNumber"] as? String == "+44 7400999888")
        let typeChange = try await h.send("PATCH", path, token: token, json: ["phoneNumber": "+44 7400999887", "phoneType": "office"])
        #expect(typeChange.status == 400)
        #expect(try await h.state(of: user.id).first?["phoneNumber"] as? String == "+44 7400999888")
        let missing = try await h.send("PATCH", "/v1.0/users/\(user.id)/authentication/phoneMethods/\(MethodIds.office)",
                                       token: token, json: ["phoneNumber": "+44 2079460958", "phoneType": "office"])
        #expect(missing.status == 404 && missing.errorCode == OurChoices.unknownMethodCode)
        #expect(try await h.send("PATCH", path, token: token, json: ["phoneNumber": "07400 999888"]).status == 400)
    }

    @Test("DELETE: 204; mobile not while an alternate exists; never the default method")
    func delete() async throws {
        let h = try await Harness()
        defer { Task { await h.stop() } }
        let token = try await h.token()
        let both = h.user(withPhones: ["mobile", "alternateMobile"])
        let base = "/v1.0/users/\(both.id)/authentication/phoneMethods/"
        let blocked = try await h.send("DELETE", base + MethodIds.mobile, token: token)
        #expect(blocked.status == 400)
        #expect(try await h.send("DELETE", base + MethodIds.alternateMobile, token: token).status == 204)
        // The mobile is this user's default method: still refused.
        let isDefault = try await h.send("DELETE", base + MethodIds.mobile, token: token)
        #expect(isDefault.status == 400)
        #expect((isDefault.json["error"] as? [String: Any])?["message"] as? String == "The phone method is the user's default sign-in method and cannot be deleted.")
        let office = h.user(withPhones: ["mobile", "office"])
        #expect(try await h.send("DELETE", "/v1.0/users/\(office.id)/authentication/phoneMethods/\(MethodIds.office)", token: token).status == 204)
        #expect(try await h.send("DELETE", "/v1.0/users/\(office.id)/authentication/phoneMethods/\(MethodIds.office)", token: token).status == 404)
    }

    @Test("A user enabled for SMS sign-in whose new number another user signs in with: the write answers 204 as documented, the method is saved and reads back smsSignInState phoneNumberNotUnique; the 409 practitioners report only as a fault")
    func notUnique() async throws {
        let seed = try Harness.sampleSeed()
        let owner = try #require(seed.users.first { $0.phoneMethods?.first?.smsSignInState == "ready" })
        let number: String = owner.phoneMethods![0].phoneNumber
        let candidates: [DirectorySeed.UserSeed] = seed.users.filter { u in
            guard u.id != owner.id, let first = u.phoneMethods?.first else { return false }
            return first.phoneType == "mobile" && first.smsSignInState == nil
        }
        let enabled = try #require(candidates.first), notEnabled = try #require(candidates.dropFirst().first)
        let h = try await Harness { options in
            let index = options.seed.users.firstIndex { $0.id == enabled.id }!
            options.seed.users[index].smsSignInEnabled = true
        }
        defer { Task { await h.stop() } }
        let token = try await h.token()
        let reply = try await h.send("PATCH", "/v1.0/users/\(enabled.id)/authentication/phoneMethods/\(MethodIds.mobile)",
                                     token: token, json: ["phoneNumber": number, "phoneType": "mobile"])
        #expect(reply.status == 204)
        let saved = try await h.state(of: enabled.id).first
        #expect(saved?["phoneNumber"] as? String == number)
        #expect(saved?["smsSignInState"] as? String == "phoneNumberNotUnique")
        // Read back through Graph, as a client does.
        let read = try await h.send("GET", "/v1.0/users/\(enabled.id)/authentication/phoneMethods/\(MethodIds.mobile)", token: token)
        #expect(read.status == 200 && read.json["smsSignInState"] as? String == "phoneNumberNotUnique")
        // The reported 409 (saved all the same), when asked for.
        let h409 = try await Harness { options in
            let index = options.seed.users.firstIndex { $0.id == enabled.id }!
            options.seed.users[index].smsSignInEnabled = true
            options.faults.notUniqueAnswers409 = true
        }
        defer { Task { await h409.stop() } }
        let conflict = try await h409.send("PATCH", "/v1.0/users/\(enabled.id)/authentication/phoneMethods/\(MethodIds.mobile)",
                                           token: try await h409.token(), json: ["phoneNumber": number, "phoneType": "mobile"])
        #expect(conflict.status == 409 && conflict.errorCode == "phoneNumberNotUnique")
        #expect(try await h409.state(of: enabled.id).first?["phoneNumber"] as? String == number)
        // Not enabled for SMS sign-in by policy: Graph does not try to register the number.
        let plain = try await h.send("PATCH", "/v1.0/users/\(notEnabled.id)/authentication/phoneMethods/\(MethodIds.mobile)",
                                     token: token, json: ["phoneNumber": number, "phoneType": "mobile"])
        #expect(plain.status == 204)
        // The owner changes number: the SMS sign-in registration follows the new number.
        let moved = try await h.send("PATCH", "/v1.0/users/\(owner.id)/authentication/phoneMethods/\(MethodIds.mobile)",
                                     token: token, json: ["phoneNumber": "+1 2065550199", "phoneType": "mobile"])
        #expect(moved.status == 204)
        #expect(try await h.state(of: owner.id).first?["smsSignInState"] as? String == "ready")
    }

    @Test("Every response carries request-id and echoes client-request-id; errors carry innerError")
    func correlation() async throws {
        let h = try await Harness()
        defer { Task { await h.stop() } }
        let token = try await h.token()
        let reply = try await h.send("GET", "/v1.0/users/nobody@x.io", token: token, headers: ["client-request-id": "c0ffee00-0000-4000-8000-000000000001"])
        #expect(reply.header("client-request-id") == "c0ffee00-0000-4000-8000-000000000001")
        let requestId = try #require(reply.header("request-id"))
        let inner = (reply.json["error"] as? [String: Any])?["innerError"] as? [String: Any]
        #expect(inner?["request-id"] as? String == requestId)
        #expect(inner?["client-request-id"] as? String == "c0ffee00-0000-4000-8000-000000000001")
        #expect(inner?["date"] is String)
        #expect(try await h.tokenReply().header("request-id") != nil)
    }
}

@Suite("Emulator: the authentication-methods registration report")
struct RegistrationReportTests {
    @Test("userRegistrationDetails: enabled users only, paged by 500 with nextLink; methodsRegistered, isAdmin and the preferred method from each user's methods; AuditLog.Read.All or UserAuthenticationMethod.Read.All, else 403; a tenant without P1 answers 403 with the premium-licence code")
    func registrationDetails() async throws {
        let h = try await Harness { options in
            options.seed = options.seed.adding(syntheticUsers: 600)
            options.permissions.insert("AuditLog.Read.All")
            let index = options.seed.users.firstIndex { $0.userPrincipalName == "bench3@contoso.com" }!
            options.seed.users[index].otherMethods = [.init(type: "password"), .init(type: "fido2"), .init(type: "email", emailAddress: "x@y.example")]
            options.seed.users[index].roles = ["Helpdesk Administrator"]
            let disabled = options.seed.users.firstIndex { $0.userPrincipalName == "bench4@contoso.com" }!
            options.seed.users[disabled].accountEnabled = false
        }
        defer { Task { await h.stop() } }
        let token = try await h.token()
        var rows: [[String: Any]] = []
        var next: String? = "/v1.0/reports/authenticationMethods/userRegistrationDetails"
        var pages = 0
        while let path = next {
            let page = try await h.send("GET", path, token: token)
            #expect(page.status == 200)
            let value = page.json["value"] as? [[String: Any]] ?? []
            #expect(value.count <= 500)
            rows += value
            pages += 1
            next = (page.json["@odata.nextLink"] as? String).map { String($0[$0.range(of: "/v1.0/")!.lowerBound...]) }
        }
        let enabled = h.seed.users.filter { $0.accountEnabled != false }.count + 600 - 1
        #expect(rows.count == enabled && pages == 2, "\(rows.count) rows in \(pages) pages")
        let byUPN = Dictionary(uniqueKeysWithValues: rows.map { ($0["userPrincipalName"] as? String ?? "", $0) })
        #expect(byUPN["bench4@contoso.com"] == nil, "a disabled user is in the report")
        let three = try #require(byUPN["bench3@contoso.com"])
        #expect(three["methodsRegistered"] as? [String] == ["mobilePhone", "passKeyDeviceBound", "email"])
        #expect(three["isAdmin"] as? Bool == true && three["isPasswordlessCapable"] as? Bool == true)
        #expect(byUPN["bench5@contoso.com"]?["userPreferredMethodForSecondaryAuthentication"] as? String == "push")

        let denied = try await Harness { $0.permissions = ["User.Read.All", "UserAuthenticationMethod.ReadWrite.All"] }
        defer { Task { await denied.stop() } }
        let refused = try await denied.send("GET", "/v1.0/reports/authenticationMethods/userRegistrationDetails", token: try await denied.token())
        #expect(refused.status == 403 && refused.errorCode == "Authorization_RequestDenied")
        let unlicensed = try await Harness { options in
            options.permissions = ["UserAuthenticationMethod.Read.All"]
            options.seed.tenant.entraIdP1 = false
        }
        defer { Task { await unlicensed.stop() } }
        let noP1 = try await unlicensed.send("GET", "/v1.0/reports/authenticationMethods/userRegistrationDetails", token: try await unlicensed.token())
        #expect(noP1.status == 403 && noP1.errorCode == OurChoices.reportsLicenseCode)
    }
}

/// The emulator's clock, moved by hand (seconds).
final class EmulatorTestClock: Sendable {
    private let seconds = Mutex(1_800_000_000.0)
    var now: Double { seconds.withLock { $0 } }
    func advance(_ by: Double) { seconds.withLock { $0 += by } }
}

@Suite("Emulator: Temporary Access Passes")
struct TemporaryAccessPassTests {
    @Test("POST issues a pass shown once (201), reads never show it, a second POST replaces the first, a lifetime outside the policy is 400, it stops being usable when its lifetime ends, the phone-only permission is refused, DELETE removes it")
    func issue() async throws {
        let clock = EmulatorTestClock()
        let h = try await Harness(clock: { clock.now })
        defer { Task { await h.stop() } }
        let token = try await h.token()
        let user = h.user(withPhones: ["mobile"])
        let path = "/v1.0/users/\(user.id)/authentication/temporaryAccessPassMethods"
        let first = try await h.send("POST", path, token: token, json: ["lifetimeInMinutes": 120, "isUsableOnce": true])
        #expect(first.status == 201)
        let pass = try #require(first.json["temporaryAccessPass"] as? String)
        #expect(pass.count == OurChoices.temporaryAccessPassLength && first.json["isUsable"] as? Bool == true && first.json["lifetimeInMinutes"] as? Int == 120)
        let listed = try await h.send("GET", path, token: token)
        let items = listed.json["value"] as? [[String: Any]] ?? []
        #expect(items.count == 1 && items[0]["id"] as? String == first.json["id"] as? String)
        #expect(items[0]["temporaryAccessPass"] is NSNull, "a read showed the pass")
        let all = try await h.send("GET", "/v1.0/users/\(user.id)/authentication/methods", token: token)
        #expect(!String(decoding: all.body, as: UTF8.self).contains(pass) && !String(decoding: listed.body, as: UTF8.self).contains(pass))
        // Replaced, not added: still one, the first one gone.
        let second = try await h.send("POST", path, token: token, json: ["lifetimeInMinutes": 60])
        #expect(second.status == 201 && second.json["id"] as? String != first.json["id"] as? String)
        #expect((try await h.send("GET", path, token: token).json["value"] as? [Any])?.count == 1)
        #expect(try await h.send("GET", path + "/\(first.json["id"] as! String)", token: token).status == 404)
        #expect(try await h.send("POST", path, token: token, json: ["lifetimeInMinutes": 5]).status == 400)
        // Its lifetime runs on the emulator's clock.
        clock.advance(59 * 60)
        #expect((try await h.send("GET", path, token: token).json["value"] as? [[String: Any]])?.first?["isUsable"] as? Bool == true)
        clock.advance(2 * 60)
        let later = try await h.token()  // the first token's hour is over too
        let expired = (try await h.send("GET", path, token: later).json["value"] as? [[String: Any]])?.first
        #expect(expired?["isUsable"] as? Bool == false && expired?["methodUsabilityReason"] as? String == "Expired")
        #expect(try await h.send("DELETE", path + "/\(second.json["id"] as! String)", token: later).status == 204)
        #expect((try await h.send("GET", path, token: later).json["value"] as? [Any])?.isEmpty == true)

        let phoneOnly = try await Harness { $0.permissions = ["User.Read.All", "UserAuthMethod-Phone.ReadWrite.All"] }
        defer { Task { await phoneOnly.stop() } }
        let refused = try await phoneOnly.send("POST", path, token: try await phoneOnly.token(), json: ["lifetimeInMinutes": 60])
        #expect(refused.status == 403)
    }
}
