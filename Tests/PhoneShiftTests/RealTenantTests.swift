import Foundation
import GraphEmulator
import Testing
import X509
import _CryptoExtras
@testable import PhoneShift

/// Issue 8: what a real tenant does that the first emulator did not — admins however they
/// hold a role, permissions, SMS sign-in, users as sheets name them, certificates, clouds.
/// End to end (real binaries, emulator over HTTP, SQLite); part of the serialized suite.
/// The second stream of end-to-end tests (see `EngineTests`): real tenants' differences,
/// faults that lose or hide state, rollback and unattended runs.
@Suite("Real tenants, lost state, rollback and unattended runs against the emulator (end to end, the real binaries and HTTP)", .serialized)
struct EndToEndTenantTests {}

extension EndToEndTenantTests {
    /// A tenant where synthetic users 1…60 hold a role directly, 61…100 through
    /// role-assignable groups (81…100 through a group nested in another), and 101…130 are
    /// only PIM-eligible; 131…200 are ordinary.
    static func adminTenant(_ options: inout EmulatorOptions) {
        let roles = ["Global Administrator", "User Administrator", "Authentication Administrator", "Helpdesk Administrator"]
        for i in 1...60 { options.seed.users[options.seed.users.count - 200 + i - 1].roles = [roles[i % roles.count]] }
        for i in 101...130 { options.seed.users[options.seed.users.count - 200 + i - 1].eligibleRoles = ["Privileged Authentication Administrator"] }
        let id = { (i: Int) in options.seed.users[options.seed.users.count - 200 + i - 1].id }
        options.seed.groups = [
            .init(id: "6a1f0c2e-3b4d-4e5f-a617-2839405a6b01", displayName: "Helpdesk admins", members: (61...80).map(id) + ["6a1f0c2e-3b4d-4e5f-a617-2839405a6b02"],
                  roles: ["Helpdesk Administrator"]),
            .init(id: "6a1f0c2e-3b4d-4e5f-a617-2839405a6b02", displayName: "Nested <script>", isAssignableToRole: false, members: (81...100).map(id)),
        ]
    }

    @Test("Admin guard: 130 admins — direct, through (nested) groups, PIM-eligible — are all blocked, past the $expand cap")
    func adminsHoweverTheyHoldARole() async throws {
        let f = try await EngineFixture(syntheticUsers: 200) { Self.adminTenant(&$0) }
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 200)
        _ = f.writeJob(writesPerSecond: 200)
        let plan = try await f.phoneshift(["plan", f.jobPath])
        #expect(plan.status == 0, "\(plan.stderr)")
        let rows = try await f.storeRows()
        let blocked = Set(rows.values.filter { $0.action == .blocked }.map(\.user))
        let expected = Set((1...130).map { "bench\($0)@contoso.com" })
        #expect(blocked == expected, "missed: \(expected.subtracting(blocked).sorted().prefix(5)); wrongly blocked: \(blocked.subtracting(expected).sorted().prefix(5))")
        #expect(rows.values.filter { $0.action == .update }.count == 70)
        let eligible = rows.values.first { $0.user == "bench101@contoso.com" }!
        #expect(eligible.reason.contains("(eligible)"), "\(eligible.reason)")
        let nested = rows.values.first { $0.user == "bench90@contoso.com" }!
        #expect(nested.reason.contains("through group Helpdesk admins"), "\(nested.reason)")
        // Paged: the assignments took more than one page.
        let paths = try await f.requests().compactMap { $0["path"] as? String }
        #expect(paths.filter { $0.hasSuffix("/roleManagement/directory/roleAssignments") }.count >= 1)
        #expect(!paths.contains { $0.hasSuffix("/directoryRoles") })
        // Nothing of it is written by apply.
        #expect(try await f.phoneshift(["apply", f.jobPath]).status == 0)
        let written = Set(try await f.successfulWrites().keys)
        let ids = try await f.userIds()
        #expect(written.isDisjoint(with: expected.compactMap { ids[$0] }))
        #expect(written.count == 70)
    }

    @Test("Admin guard fails closed: without RoleManagement.Read.Directory, or GroupMember.Read.All when a group holds a role, plan refuses (exit 4) and says what to grant")
    func adminGuardFailsClosed() async throws {
        for (permissions, named) in [(["UserAuthenticationMethod.ReadWrite.All", "User.Read.All", "GroupMember.Read.All"], "RoleManagement.Read.Directory"),
                                     (["UserAuthenticationMethod.ReadWrite.All", "User.Read.All", "RoleManagement.Read.Directory"], "GroupMember.Read.All")] {
            let f = try await EngineFixture(syntheticUsers: 200) { Self.adminTenant(&$0); $0.permissions = Set(permissions) }
            defer { Task { await f.stop() } }
            _ = f.writeSheet(count: 200)
            _ = f.writeJob(writesPerSecond: 200)
            let plan = try await f.phoneshift(["plan", f.jobPath])
            #expect(plan.status == 4, "\(plan.stdout) \(plan.stderr)")
            #expect(plan.stderr.contains(named), "\(plan.stderr)")
            #expect(plan.stderr.contains("Grant admin consent"), "\(plan.stderr)")
            #expect(try await f.requests().filter { ($0["path"] as? String ?? "").hasSuffix("/authentication/methods") }.isEmpty)
            // Knowingly including admins plans without the role reads.
            _ = f.writeJob(writesPerSecond: 200, extra: "policy:\n  allowPrivileged: true")
            #expect(try await f.phoneshift(["plan", f.jobPath]).status == 0)
        }
    }

    @Test("Permissions before any row: plan without User.Read.All and apply without a write permission stop with exit 4, name the permission, write nothing")
    func permissionsBeforeAnyRow() async throws {
        let f = try await EngineFixture(syntheticUsers: 50) {
            $0.permissions = ["UserAuthenticationMethod.Read.All", "RoleManagement.Read.Directory", "GroupMember.Read.All"]
        }
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 50)
        _ = f.writeJob(writesPerSecond: 200)
        let plan = try await f.phoneshift(["plan", f.jobPath])
        #expect(plan.status == 4)
        #expect(plan.stderr.contains("User.Read.All"), "\(plan.stderr)")
        // One call at most to learn it: not one 403 per row.
        #expect(try await f.requests().filter { ($0["status"] as? Int) == 403 }.count <= 1)
        f.emulator.service.setPermissions(["UserAuthenticationMethod.Read.All", "User.Read.All", "RoleManagement.Read.Directory", "GroupMember.Read.All",
                                           "PrivilegedEligibilitySchedule.Read.AzureADGroup"])
        #expect(try await f.phoneshift(["plan", f.jobPath]).status == 0)
        let apply = try await f.phoneshift(["apply", f.jobPath])
        #expect(apply.status == 4, "\(apply.stdout) \(apply.stderr)")
        #expect(apply.stderr.contains("UserAuthMethod-Phone.ReadWrite.All"), "\(apply.stderr)")
        #expect(try await f.requests().filter { ["PATCH", "POST"].contains($0["method"] as? String ?? "") && ($0["path"] as? String ?? "").hasPrefix("/v1.0/") }.isEmpty)
    }

    @Test("A write refused with 403 during apply stops the run after it; the rest stay pending and a later apply finishes them")
    func refusedWriteStopsTheRun() async throws {
        let f = try await EngineFixture(syntheticUsers: 200)
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 200)
        _ = f.writeJob(writesPerSecond: 40, concurrency: 4, burst: 2)
        let process = try await f.startApply { try await f.storeCount(.done) >= 30 }
        // Consent withdrawn mid-run: the token still claims the permission, Graph refuses.
        f.emulator.service.setPermissions(["UserAuthenticationMethod.Read.All", "User.Read.All", "RoleManagement.Read.Directory"])
        let exited = try await f.waitUntil(timeout: 20) { !process.isRunning }
        #expect(exited)
        if !exited { kill(process.processIdentifier, SIGKILL) }
        await waitForExit(process)
        #expect(process.terminationStatus == 4, "\(f.launchedOutput())")
        #expect(f.launchedOutput().stderr.contains("UserAuthMethod-Phone.ReadWrite.All"), "\(f.launchedOutput().stderr)")
        let refused = try await f.requests().filter { $0["status"] as? Int == 403 && ["PATCH", "POST"].contains($0["method"] as? String ?? "") }.count
        #expect(refused >= 1 && refused <= 4, "\(refused) writes refused: the run went on after the first")
        let rows = try await f.storeRows()
        #expect(rows.values.filter { $0.state == .failed }.isEmpty)
        #expect(rows.values.filter { $0.state == .pending }.count > 100)
        f.emulator.service.setPermissions(EmulatorOptions.defaultPermissions)
        let again = try await f.phoneshift(["apply", f.jobPath])
        #expect(again.status == 0, "\(again.stdout) \(again.stderr)")
        let writes = try await f.successfulWrites()
        #expect(writes.count == 200 && writes.values.allSatisfy { $0 == 1 })
    }

    @Test("The narrower UserAuthMethod-Phone.ReadWrite.All is enough: plan reads phone methods only and says so, apply writes")
    func phoneOnlyPermission() async throws {
        let f = try await EngineFixture(syntheticUsers: 30) {
            $0.permissions = ["UserAuthMethod-Phone.ReadWrite.All", "User.Read.All", "RoleManagement.Read.Directory", "GroupMember.Read.All",
                              "PrivilegedEligibilitySchedule.Read.AzureADGroup"]
        }
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 30)
        _ = f.writeJob(writesPerSecond: 200)
        let plan = try await f.phoneshift(["plan", f.jobPath])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("other MFA methods were not read"), "\(plan.stdout)")
        #expect(try await f.requests().filter { ($0["path"] as? String ?? "").hasSuffix("/authentication/methods") }.isEmpty)
        #expect(try await f.phoneshift(["apply", f.jobPath]).status == 0)
        #expect(try await f.successfulWrites().count == 30)
    }

    @Test("SMS sign-in as Graph reports it: the write answers 204, the read-back (with backoff while replication lags) finds phoneNumberNotUnique; report, helpdesk summary and the user's draft say SMS sign-in did not follow")
    func smsSignIn() async throws {
        let f = try await EngineFixture(syntheticUsers: 20) { options in
            let base = options.seed.users.count - 20
            // bench1 signs in by SMS with +1 2127000002, the number bench2 is to get; bench2
            // and bench3 are enabled for SMS sign-in by policy.
            options.seed.users[base].phoneMethods = [.init(phoneType: "mobile", phoneNumber: "+1 2127000002", smsSignInState: "ready")]
            options.seed.users[base + 1].smsSignInEnabled = true
            options.seed.users[base + 1].phoneMethods = [.init(phoneType: "mobile", phoneNumber: "+1 2065550002", smsSignInState: "ready")]
            options.seed.users[base + 2].smsSignInEnabled = true
            options.faults.replicationLagSeconds = 2.5
        }
        defer { Task { await f.stop() } }
        // bench1 keeps its number (it is not in the sheet).
        _ = f.dir.file("sheet.csv", "UPN,Phone\n" + (2...20).map { "bench\($0)@contoso.com,\(EngineFixture.newNumber($0))" }.joined(separator: "\n") + "\n")
        _ = f.writeJob(writesPerSecond: 200, extra: EngineFixture.notifyAfterApply)
        let plan = try await f.phoneshift(["plan", f.jobPath])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("SMS sign-in: 2 of these users sign in by SMS"), "\(plan.stdout)")
        #expect(plan.stdout.split(separator: "\n").contains { $0.contains("bench2@contoso.com") && $0.contains("[SMS sign-in number changes too]") })
        let planned = try await f.storeRows()
        #expect(planned.values.first { $0.user == "bench2@contoso.com" }?.smsSignIn == "ready")
        let apply = try await f.phoneshift(["apply", f.jobPath])
        #expect(apply.status == 0, "\(apply.stdout) \(apply.stderr)")
        let rows = try await f.storeRows()
        let conflicted = rows.values.first { $0.user == "bench2@contoso.com" }!
        #expect(conflicted.outcome == .changedNotUnique && conflicted.state == .done, "\(conflicted)")
        #expect(rows.values.filter { $0.state == .failed }.isEmpty)
        // bench3 (enabled, nobody else has its number): SMS sign-in followed.
        #expect(rows.values.first { $0.user == "bench3@contoso.com" }?.outcome == .changed)
        // Graph answered as documented: no 409 anywhere; bench2's write was a 204.
        let ids = try await f.userIds()
        let log = try await f.requests()
        #expect(!log.contains { $0["status"] as? Int == 409 })
        #expect(log.contains { $0["method"] as? String == "PATCH" && $0["user"] as? String == ids["bench2@contoso.com"] && $0["status"] as? Int == 204 })
        // The drafts: bench2 is told SMS sign-in did not follow; bench3 that it moved.
        let drafts = try await EngineTests.draftTexts(f)
        func draft(_ who: String) throws -> String { try #require(drafts.first { $0.key.contains(who) }?.value) }
        #expect(try draft("bench2@").contains("text-message sign-in did not move"))
        #expect(try !draft("bench2@").contains("your sign-in number changed with it"))
        #expect(try draft("bench3@").contains("your sign-in number changed with it"))
        let helpdesk = try draft("helpdesk-summary")
        let section = try #require(helpdesk.components(separatedBy: "SMS sign-in did not follow").dropFirst().first)
        #expect(section.contains("(1)") && section.contains("bench2@contoso.com"))
        let results = try String(contentsOfFile: f.dir.path + "/out/report.csv", encoding: .utf8)
        #expect(results.split(separator: "\n").first?.contains("sms_sign_in") == true)
    }

    @Test("Users as sheets name them: a UPN starting with $ (as users('…')), an object id in braces, a user whose read answers 202 first")
    func usersAsSheetsNameThem() async throws {
        let dollarId = "6a1f0c2e-3b4d-4e5f-a617-2839405a6b03"
        let f = try await EngineFixture(syntheticUsers: 5) { options in
            var user = options.seed.users[options.seed.users.count - 1]
            user.id = dollarId
            user.userPrincipalName = "$o'brien@contoso.com"
            user.mail = nil
            user.employeeId = nil
            options.seed.users.append(user)
            let third = options.seed.users.firstIndex { $0.userPrincipalName == "bench3@contoso.com" }!
            options.seed.users[third].acceptedReads = 2
        }
        defer { Task { await f.stop() } }
        let ids = try await f.userIds()
        let braced = "{" + ids["bench1@contoso.com"]!.uppercased() + "}"
        _ = f.dir.file("sheet.csv", "UPN,Phone\n\"$o'brien@contoso.com\",+1 2127000101\n\(braced),+1 2127000102\nbench3@contoso.com,+1 2127000103\n")
        _ = f.writeJob(writesPerSecond: 200)
        let plan = try await f.phoneshift(["plan", f.jobPath])
        #expect(plan.status == 0, "\(plan.stderr)")
        let rows = try await f.storeRows()
        #expect(rows.values.map(\.action).sorted { $0.rawValue < $1.rawValue } == [.update, .update, .update], "\(rows.values.map { ($0.user, $0.action, $0.reason, $0.errorCode ?? "") })")
        let paths = try await f.requests().compactMap { $0["path"] as? String }
        #expect(paths.contains { $0.contains("users('$o''brien@contoso.com')") }, "\(paths)")
        #expect(try await f.requests().contains { $0["status"] as? Int == 202 })
        #expect(try await f.phoneshift(["apply", f.jobPath]).status == 0)
        #expect(try await f.state()["$o'brien@contoso.com"]?["mobile"] == "+1 2127000101")
    }

    @Test("Certificate credentials: a signed client assertion gets a token; an unregistered certificate, a key readable by others and a mismatched key are refused with a reason")
    func certificateCredentials() async throws {
        let registered = try TestCertificate.make(name: "PhoneShift test app")
        let other = try TestCertificate.make(name: "Not registered")
        let f = try await EngineFixture(syntheticUsers: 10) { $0.clientCertificates = [registered.certificatePEM] }
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 10)
        func job(_ cert: TestCertificate, keyFrom: TestCertificate? = nil, algorithm: String = "RS256") throws {
            let certPath = f.dir.file("app-\(cert.name.hashValue).pem", cert.certificatePEM)
            let keyPath = f.dir.file("key-\((keyFrom ?? cert).name.hashValue).pem", (keyFrom ?? cert).keyPEM)
            chmod(certPath, 0o600)
            chmod(keyPath, 0o600)
            _ = f.writeJob(writesPerSecond: 200, credential: "clientCertificate:\n    certificate: \(certPath)\n    privateKey: \(keyPath)\n    algorithm: \(algorithm)")
        }
        try job(registered)
        let plan = try await f.phoneshift(["plan", f.jobPath], secret: "")
        #expect(plan.status == 0, "\(plan.stderr)")
        try job(registered, algorithm: "PS256")
        #expect(try await f.phoneshift(["apply", f.jobPath], secret: "").status == 0)
        #expect(try await f.successfulWrites().count == 10)

        try job(other)
        let refused = try await f.phoneshift(["plan", f.jobPath], secret: "")
        #expect(refused.status == 4)
        #expect(refused.stderr.contains("AADSTS700027") && refused.stderr.contains("upload this certificate"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("PRIVATE KEY"))

        try job(registered, keyFrom: other)
        let mismatched = try await f.phoneshift(["plan", f.jobPath], secret: "")
        #expect(mismatched.status == 2)
        #expect(mismatched.stderr.contains("does not belong to the certificate"), "\(mismatched.stderr)")

        try job(registered)
        chmod(f.dir.path + "/key-\(registered.name.hashValue).pem", 0o644)
        let loose = try await f.phoneshift(["plan", f.jobPath], secret: "")
        #expect(loose.status == 2)
        #expect(loose.stderr.contains("chmod 600"), "\(loose.stderr)")
    }

    @Test("National clouds: the token scope follows the cloud's Graph; China plans without /authentication/methods; a mixed authority/graph pair is refused")
    func nationalClouds() async throws {
        let f = try await EngineFixture(syntheticUsers: 10) { $0.cloud = "china" }
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 10)
        _ = f.writeJob(writesPerSecond: 200)
        // A global-cloud job asks for graph.microsoft.com: the China identity platform refuses.
        let wrongCloud = try await f.phoneshift(["plan", f.jobPath])
        #expect(wrongCloud.status == 4)
        #expect(wrongCloud.stderr.contains("AADSTS500011") && wrongCloud.stderr.contains("tenant.cloud"), "\(wrongCloud.stderr)")
        _ = f.writeJob(writesPerSecond: 200, tenantExtra: "cloud: china")
        let plan = try await f.phoneshift(["plan", f.jobPath])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("other MFA methods were not read"))
        #expect(try await f.requests().filter { ($0["path"] as? String ?? "").hasSuffix("/authentication/methods") }.isEmpty)
        #expect(try await f.phoneshift(["apply", f.jobPath]).status == 0)
        #expect(try await f.successfulWrites().count == 10)

        let mixed = f.dir.file("mixed.yaml", """
            sheet: {path: sheet.csv}
            tenant:
              tenantId: contoso.onmicrosoft.us
              clientId: \(EmulatorOptions.defaultClientId)
              clientSecret: {env: X}
              authority: https://login.microsoftonline.us
              graph: https://graph.microsoft.com/v1.0
            """)
        let refused = try await f.phoneshift(["plan", mixed])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("belong to different clouds"), "\(refused.stderr)")
    }
}

/// A self-signed RSA certificate and its key, made with swift-certificates for a test.
struct TestCertificate {
    var name: String
    var certificatePEM: String
    var keyPEM: String

    static func make(name: String, validFor days: Double = 30) throws -> TestCertificate {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let subject = try DistinguishedName { CommonName(name) }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(days * 86400),
            issuer: subject, subject: subject, signatureAlgorithm: .sha256WithRSAEncryption, extensions: Certificate.Extensions(),
            issuerPrivateKey: Certificate.PrivateKey(key))
        return TestCertificate(name: name, certificatePEM: try certificate.serializeAsPEM().pemString, keyPEM: key.pemRepresentation)
    }
}
