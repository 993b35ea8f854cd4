import Foundation
import GraphEmulator
import Testing
@testable import PhoneShift

extension EndToEndTenantTests {
    @Test("A tenant without Entra ID P2: the PIM read answers AadPremiumLicenseRequired; plan goes on with every other admin check, says so once on screen and in the reports, and never asks to switch protection off")
    func tenantWithoutP2() async throws {
        let f = try await EngineFixture(syntheticUsers: 3) { options in options.seed.tenant.entraIdP2 = false }
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 3, extra: ["farid.nilsson@contoso.com,+39 3392942199"])
        _ = f.writeJob(writesPerSecond: 50)
        let plan = try await f.phoneshift(["plan", f.jobPath])
        #expect(plan.status == 0, "\(plan.stdout) \(plan.stderr)")
        #expect(plan.stdout.contains("no Microsoft Entra ID P2 or Governance licence"), "\(plan.stdout)")
        // The only mention of allowPrivileged is the admin's own row (as on any tenant); the
        // licence answer does not ask to switch protection off.
        let mentions = (plan.stdout + plan.stderr).split(separator: "\n").filter { $0.contains("allowPrivileged") }
        #expect(mentions.count == 1 && mentions[0].contains("farid.nilsson"), "\(plan.stdout) \(plan.stderr)")
        // The emulator really refused the PIM read with the licence answer.
        let refused = try await f.requests().filter {
            ($0["path"] as? String ?? "").contains("roleEligibilitySchedules") && $0["status"] as? Int == 400
        }
        #expect(!refused.isEmpty)
        // The active Global Administrator is still recognised; the ordinary users are planned.
        let rows = try await f.storeRows()
        #expect(rows[5]?.action == .blocked && rows[5]?.reason.contains("Global Administrator") == true, "\(String(describing: rows[5]))")
        #expect((2...4).allSatisfy { rows[$0]?.action == .update })
        #expect(try await f.phoneshift(["report", f.jobPath]).status == 0)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: f.dir.path + "/out/report.json"))) as! [String: Any]
        let notes = try #require(json["notes"] as? [String])
        #expect(notes.count == 1 && notes[0].contains("AadPremiumLicenseRequired"))
        let html = try String(contentsOfFile: f.dir.path + "/out/report.html", encoding: .utf8)
        #expect(html.contains("no Microsoft Entra ID P2 or Governance licence"))
    }

    @Test("Plain http:// to loopback never goes through a proxy: with http_proxy and all_proxy pointing at a port where nothing listens, plan still reaches the emulator")
    func loopbackIgnoresProxy() async throws {
        let f = try await EngineFixture(syntheticUsers: 2)
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 2)
        _ = f.writeJob(writesPerSecond: 50)
        var env = f.environment()
        // Port 9 (discard) on loopback: nothing listens, so a request sent to the "proxy" fails.
        for name in ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"] { env[name] = "http://127.0.0.1:9" }
        env["no_proxy"] = nil
        env["NO_PROXY"] = nil
        let plan = try await runProduct("phoneshift", ["plan", f.jobPath], environment: env)
        #expect(plan.status == 0, "\(plan.stdout) \(plan.stderr)")
        let tokenRequests = try await f.requests().filter { ($0["path"] as? String ?? "").hasSuffix("/oauth2/v2.0/token") }
        #expect(!tokenRequests.isEmpty, "the token request did not reach the emulator directly")
    }

    @Test("requireBackupMethod counts only methods that can do MFA now: an expired Temporary Access Pass, e-mail and password are no backup; a usable pass is")
    func backupMethodsThatWork() async throws {
        let f = try await EngineFixture(syntheticUsers: 3) { options in
            let base = options.seed.users.count - 3
            options.seed.users[base].otherMethods = [.init(type: "password"), .init(type: "email", emailAddress: "bench1@fabrikam.example"),
                                                     .init(type: "temporaryAccessPass", isUsable: false)]
            options.seed.users[base + 1].otherMethods = [.init(type: "password"), .init(type: "temporaryAccessPass", isUsable: true)]
        }
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 3)
        _ = f.writeJob(writesPerSecond: 50, extra: "policy:\n  requireBackupMethod: true")
        let plan = try await f.phoneshift(["plan", f.jobPath])
        #expect(plan.status == 0, "\(plan.stdout) \(plan.stderr)")
        let rows = try await f.storeRows()
        #expect(rows[2]?.action == .blocked && rows[2]?.reason.contains("requireBackupMethod") == true, "\(String(describing: rows[2]))")
        #expect(rows[3]?.action == .update, "\(String(describing: rows[3]))")
        #expect(rows[4]?.action == .update, "\(String(describing: rows[4]))")
    }

    @Test("Pointing sheet.path at failures.csv with the same outputs folder: apply never writes over or deletes the sheet it applies (the next failures go beside it); export --output onto the job's store, sheet or job file is refused and the file kept")
    func outputsNeverReplaceInputs() async throws {
        let f = try await EngineFixture(syntheticUsers: 2)
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 2, extra: ["farid.nilsson@contoso.com,+39 3392942199"])
        _ = f.writeJob(writesPerSecond: 50)
        #expect(try await f.phoneshift(["plan", f.jobPath]).status == 0)
        _ = try await f.phoneshift(["apply", f.jobPath])
        let failures = f.dir.path + "/out/failures.csv"
        let first = try String(contentsOfFile: failures, encoding: .utf8)
        #expect(first.contains("farid.nilsson@contoso.com"), "\(first)")
        // The README's advice: rerun what failed by pointing the job at failures.csv.
        let job = try String(contentsOfFile: f.jobPath, encoding: .utf8).replacingOccurrences(of: "path: sheet.csv", with: "path: out/failures.csv")
        _ = f.dir.file("job.yaml", job)
        #expect(try await f.phoneshift(["plan", f.jobPath]).status == 0)
        let apply = try await f.phoneshift(["apply", f.jobPath])
        #expect(try String(contentsOfFile: failures, encoding: .utf8) == first, "apply replaced the sheet it was applying")
        let next = try String(contentsOfFile: f.dir.path + "/out/failures-of-plan-2.csv", encoding: .utf8)
        #expect(next.contains("farid.nilsson@contoso.com") && apply.stdout.contains("failures-of-plan-2.csv"), "\(apply.stdout)")
        // export onto the store, the sheet and the job file: refused, each file as it was.
        for (target, what) in [(f.storePath, "the job store"), (failures, "the job's sheet"), (f.jobPath, "the job file")] {
            let before = try Data(contentsOf: URL(fileURLWithPath: target))
            let export = try await f.phoneshift(["export", f.jobPath, "--output", target])
            #expect(export.status != 0 && export.stderr.contains("would destroy \(what)"), "\(export.stderr)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == before)
        }
    }

    @Test("Control characters in a sheet's file name never reach the terminal: validate's Sheet line and plan's 'rows from' show them as ?")
    func controlCharactersInFileNames() async throws {
        let f = try await EngineFixture(syntheticUsers: 1)
        defer { Task { await f.stop() } }
        let name = "sheet\u{1B}[2J\rforged.csv"
        _ = f.dir.file(name, "UPN,Phone\nbench1@contoso.com,\(EngineFixture.newNumber(1))\n")
        let validate = try await f.phoneshift(["validate", f.dir.path + "/" + name])
        #expect(validate.status == 0, "\(validate.stderr)")
        #expect(validate.stdout.contains("sheet?[2J?forged.csv"), "\(validate.stdout)")
        _ = f.writeJob(writesPerSecond: 50)
        // The job names the same file; YAML's "\e" and "\r" escapes are ESC and CR.
        let text = try String(contentsOfFile: f.jobPath, encoding: .utf8).replacingOccurrences(of: "path: sheet.csv", with: "path: \"sheet\\e[2J\\rforged.csv\"")
        _ = f.dir.file("job.yaml", text)
        let plan = try await f.phoneshift(["plan", f.jobPath])
        #expect(plan.status == 0, "\(plan.stdout) \(plan.stderr)")
        #expect(plan.stdout.contains("sheet?[2J?forged.csv"), "\(plan.stdout)")
        for output in [validate.stdout, validate.stderr, plan.stdout, plan.stderr] {
            #expect(!output.contains("\u{1B}") && !output.contains("\r"))
        }
    }

    @Test("A role assignment without its expanded principal: the principal is looked up (/directoryObjects), so a group is not taken for a user and its members stay protected; without the permission for it, plan fails closed naming it")
    func principalTypeNotAssumed() async throws {
        func fixture(directoryRead: Bool) async throws -> EngineFixture {
            try await EngineFixture(syntheticUsers: 2) { options in
                options.expandsRolePrincipals = false
                if directoryRead { options.permissions.insert("Directory.Read.All") }
                let bench1 = options.seed.users[options.seed.users.count - 2].id
                options.seed.groups = (options.seed.groups ?? []) + [
                    .init(id: "5f1c2d3e-4a5b-4c6d-8e7f-901a2b3c4d5e", displayName: "Helpdesk Admins", members: [bench1], roles: ["User Administrator"]),
                ]
            }
        }
        let f = try await fixture(directoryRead: true)
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 2)
        _ = f.writeJob(writesPerSecond: 50)
        let plan = try await f.phoneshift(["plan", f.jobPath])
        #expect(plan.status == 0, "\(plan.stdout) \(plan.stderr)")
        let rows = try await f.storeRows()
        #expect(rows[2]?.action == .blocked && rows[2]?.reason.contains("through group Helpdesk Admins") == true, "\(String(describing: rows[2]))")
        #expect(rows[3]?.action == .update)
        #expect(try await f.requests().contains { ($0["path"] as? String ?? "").contains("/directoryObjects/") })
        // The same tenant, the app without Directory.Read.All: no guess, no plan.
        let g = try await fixture(directoryRead: false)
        defer { Task { await g.stop() } }
        _ = g.writeSheet(count: 2)
        _ = g.writeJob(writesPerSecond: 50)
        let refused = try await g.phoneshift(["plan", g.jobPath])
        #expect(refused.status == 4 && refused.stderr.contains("Directory.Read.All"), "\(refused.stdout) \(refused.stderr)")
        #expect(try await g.storeRows().values.allSatisfy { $0.action != .update })
    }
}

/// Restricted management administrative units, PIM for Groups, writes answered 5xx after
/// they landed (issue 18, items 2, 3 and 9).
extension EndToEndTenantTests {
    /// Synthetic users `indices` (1-based) in a restricted unit "Executives", and user 3 in an
    /// ordinary unit (which protects nobody).
    static func restrictedUnits(_ options: inout EmulatorOptions, _ indices: [Int]) {
        let snapshot = options
        let id = { (i: Int) in syntheticId(snapshot, i) }
        options.seed.administrativeUnits = [
            .init(id: "7c1e0a2b-1111-4aaa-8bbb-000000000001", displayName: "Executives", members: indices.map(id)),
            .init(id: "7c1e0a2b-1111-4aaa-8bbb-000000000002", displayName: "Sales", isMemberManagementRestricted: false, members: [id(3)]),
        ]
    }

    /// The seed id of synthetic user `i` (bench{i}@contoso.com).
    static func syntheticId(_ options: EmulatorOptions, _ i: Int) -> String {
        options.seed.users.first { $0.userPrincipalName == "bench\(i)@contoso.com" }!.id
    }

    @Test("Users in a restricted management administrative unit are blocked at plan time with the unit named; apply writes everyone else, sends them nothing, and lists them in failures.csv")
    func restrictedUsersAtPlan() async throws {
        let f = try await EngineFixture(syntheticUsers: 8) { Self.restrictedUnits(&$0, [2, 5]) }
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 8)
        _ = f.writeJob(writesPerSecond: 50)
        let plan = try await f.phoneshift(["plan", f.jobPath])
        #expect(plan.status == 0, "\(plan.stdout) \(plan.stderr)")
        let rows = try await f.storeRows()
        for line in [3, 6] {
            #expect(rows[line]?.action == .blocked && rows[line]?.reason.contains("restricted management administrative unit 'Executives'") == true,
                    "\(String(describing: rows[line]))")
        }
        #expect([2, 4, 5, 7, 8, 9].allSatisfy { rows[$0]?.action == .update }, "an ordinary unit protects nobody")
        // Blocked at plan time, like an admin: known before apply, so apply succeeds (exit 0).
        let apply = try await f.phoneshift(["apply", f.jobPath])
        #expect(apply.status == 0, "\(apply.stdout) \(apply.stderr)")
        let writes = try await f.successfulWrites(), ids = try await f.userIds()
        #expect(writes.count == 6 && writes[ids["bench2@contoso.com"]!] == nil && writes[ids["bench5@contoso.com"]!] == nil)
        #expect(try await f.requests().filter { $0["status"] as? Int == 403 }.isEmpty, "a write was sent to a protected user")
        let failures = try String(contentsOfFile: f.dir.path + "/out/failures.csv", encoding: .utf8)
        #expect(failures.contains("bench2@contoso.com") && failures.contains("bench5@contoso.com") && !failures.contains("bench3@"), "\(failures)")
    }

    @Test("A protected user Graph refuses at write time (the unit could not be read at plan) is blocked with its unit named and the run goes on; each user is written at most once")
    func restrictedUsersAtWrite() async throws {
        var withoutUnits = EmulatorOptions.defaultPermissions
        withoutUnits.remove("AdministrativeUnit.Read.All")
        let f = try await EngineFixture(syntheticUsers: 40) { Self.restrictedUnits(&$0, [4, 9, 17, 23]); $0.permissions = withoutUnits }
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 40)
        _ = f.writeJob(writesPerSecond: 50, concurrency: 4)
        let plan = try await f.phoneshift(["plan", f.jobPath])
        #expect(plan.status == 0 && plan.stdout.contains("grant AdministrativeUnit.Read.All"), "\(plan.stdout) \(plan.stderr)")
        #expect(try await f.storeRows().values.filter { $0.action == .update }.count == 40)
        // Consent for the units is given before apply: the refusal is explained by them.
        f.emulator.service.setPermissions(EmulatorOptions.defaultPermissions)
        let apply = try await f.phoneshift(["apply", f.jobPath])
        #expect(apply.status == 1, "\(apply.stdout) \(apply.stderr)")
        let rows = try await f.storeRows()
        for i in [4, 9, 17, 23] {
            let row = rows[i + 1]
            #expect(row?.outcome == .blocked && row?.state == .done && row?.reason.contains("'Executives'") == true, "\(String(describing: row))")
        }
        #expect(rows.values.filter { $0.outcome == .changed }.count == 36)
        let refused = try await f.requests().filter { $0["status"] as? Int == 403 && $0["method"] as? String == "PATCH" }
        #expect(refused.count == 4, "each protected user is sent one write: \(refused.count)")
        let failures = try String(contentsOfFile: f.dir.path + "/out/failures.csv", encoding: .utf8)
        #expect(["bench4@", "bench9@", "bench17@", "bench23@"].allSatisfy(failures.contains), "\(failures)")
        // Nothing is retried: a second apply has nothing to do.
        #expect(try await f.phoneshift(["apply", f.jobPath]).status == 1)
        #expect(try await f.requests().filter { $0["status"] as? Int == 403 && $0["method"] as? String == "PATCH" }.count == 4)
    }

    @Test("Refused users PhoneShift cannot explain (no unit permission at all): held back with a hint while the app still holds the write permission; a run of such refusals stops the run")
    func unexplainedRefusals() async throws {
        var withoutUnits = EmulatorOptions.defaultPermissions
        withoutUnits.remove("AdministrativeUnit.Read.All")
        let f = try await EngineFixture(syntheticUsers: 12) { Self.restrictedUnits(&$0, [6]); $0.permissions = withoutUnits }
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 12)
        _ = f.writeJob(writesPerSecond: 50, concurrency: 1)
        #expect(try await f.phoneshift(["plan", f.jobPath]).status == 0)
        let apply = try await f.phoneshift(["apply", f.jobPath])
        #expect(apply.status == 1, "\(apply.stdout) \(apply.stderr)")
        let row = try await f.storeRows()[7]
        #expect(row?.outcome == .blocked && row?.reason.contains("grant AdministrativeUnit.Read.All") == true, "\(String(describing: row))")
        #expect(try await f.successfulWrites().count == 11)

        // Every user refused in a row, the token still claiming the permission: stops after 3.
        let g = try await EngineFixture(syntheticUsers: 12) { Self.restrictedUnits(&$0, Array(1...12)); $0.permissions = withoutUnits }
        defer { Task { await g.stop() } }
        _ = g.writeSheet(count: 12)
        _ = g.writeJob(writesPerSecond: 50, concurrency: 1)
        #expect(try await g.phoneshift(["plan", g.jobPath]).status == 0)
        let stopped = try await g.phoneshift(["apply", g.jobPath])
        #expect(stopped.status == 4, "\(stopped.stdout) \(stopped.stderr)")
        #expect(try await g.requests().filter { $0["status"] as? Int == 403 && $0["method"] as? String == "PATCH" }.count == RefusalJudge.unexplainedLimit)
        #expect(try await g.storeRows().values.filter { $0.state == .pending }.count == 12 - RefusalJudge.unexplainedLimit + 1)
    }

    /// A role-assignable group holding Global Administrator: user 1 a member, 2 an owner,
    /// 3 eligible to become a member, 4 eligible to become an owner (PIM for Groups).
    static func pimGroup(_ options: inout EmulatorOptions) {
        let snapshot = options
        let id = { (i: Int) in syntheticId(snapshot, i) }
        options.seed.groups = [.init(id: "3d2c1b0a-2222-4ccc-9ddd-000000000001", displayName: "Tier 0", members: [id(1)], roles: ["Global Administrator"],
                                     owners: [id(2)], eligibleMembers: [id(3)], eligibleOwners: [id(4)])]
    }

    @Test("PIM for Groups: members, owners and users eligible to join or own a group that holds a role are all blocked with the group named, however Graph returns the principal")
    func pimForGroups() async throws {
        for expands in [true, false] {
            // Principals Graph did not expand are looked up (/directoryObjects: Directory.Read.All).
            let f = try await EngineFixture(syntheticUsers: 6) {
                Self.pimGroup(&$0)
                $0.expandsRolePrincipals = expands
                if !expands { $0.permissions.insert("Directory.Read.All") }
            }
            defer { Task { await f.stop() } }
            _ = f.writeSheet(count: 6)
            _ = f.writeJob(writesPerSecond: 50)
            let plan = try await f.phoneshift(["plan", f.jobPath])
            #expect(plan.status == 0, "\(plan.stdout) \(plan.stderr)")
            let rows = try await f.storeRows()
            for (line, how) in [(2, "through group Tier 0"), (3, "as owner of group Tier 0"), (4, "as eligible member of group Tier 0, PIM for Groups"), (5, "as eligible owner of group Tier 0, PIM for Groups")] {
                #expect(rows[line]?.action == .blocked && rows[line]?.reason.contains("Global Administrator") == true
                        && rows[line]?.reason.contains(how) == true, "\(String(describing: rows[line]))")
            }
            #expect(rows[6]?.action == .update && rows[7]?.action == .update)
            // The eligibility read is filtered by group, as Graph requires.
            #expect(try await f.requests().contains { ($0["path"] as? String ?? "").hasSuffix("/group/eligibilitySchedules") && $0["status"] as? Int == 200 })
        }
    }

    @Test("PIM for Groups fails closed: without PrivilegedEligibilitySchedule.Read.AzureADGroup plan stops (exit 4) naming it; without P2 the read is skipped with the licence note")
    func pimForGroupsFailsClosed() async throws {
        var without = EmulatorOptions.defaultPermissions
        without.remove("PrivilegedEligibilitySchedule.Read.AzureADGroup")
        let f = try await EngineFixture(syntheticUsers: 6) { Self.pimGroup(&$0); $0.permissions = without }
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 6)
        _ = f.writeJob(writesPerSecond: 50)
        let plan = try await f.phoneshift(["plan", f.jobPath])
        #expect(plan.status == 4 && plan.stderr.contains("PrivilegedEligibilitySchedule.Read.AzureADGroup"), "\(plan.stdout) \(plan.stderr)")

        let g = try await EngineFixture(syntheticUsers: 6) { Self.pimGroup(&$0); $0.seed.tenant.entraIdP2 = false }
        defer { Task { await g.stop() } }
        _ = g.writeSheet(count: 6)
        _ = g.writeJob(writesPerSecond: 50)
        let unlicensed = try await g.phoneshift(["plan", g.jobPath])
        #expect(unlicensed.status == 0 && unlicensed.stdout.contains("no Microsoft Entra ID P2"), "\(unlicensed.stdout) \(unlicensed.stderr)")
        let rows = try await g.storeRows()
        #expect(rows[2]?.action == .blocked && rows[3]?.action == .blocked, "members and owners are still admins")
        #expect(rows[4]?.action == .update && rows[5]?.action == .update, "no P2: nobody can be eligible")
    }

    @Test("A write answered 502 after Graph applied it is re-read, not re-sent: every user is written once and reported changed")
    func appliedThenServerError() async throws {
        let f = try await EngineFixture(syntheticUsers: 10)
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 10)
        _ = f.writeJob(writesPerSecond: 50)
        #expect(try await f.phoneshift(["plan", f.jobPath]).status == 0)
        try await f.put("/_emulator/faults", json: ["appliedThenErrorRate": 1.0, "appliedThenStatus": 502])
        let apply = try await f.phoneshift(["apply", f.jobPath])
        #expect(apply.status == 0, "\(apply.stdout) \(apply.stderr)")
        let writes = try await f.successfulWrites()
        #expect(writes.count == 10 && writes.values.allSatisfy { $0 == 1 }, "\(writes)")
        #expect(try await f.storeRows().values.filter { $0.outcome == .changed }.count == 10)
    }

    @Test("Client assertions as documented: PS256 with x5t#S256 by default, RS256 with x5t (the SHA-1 thumbprint); the emulator takes each pairing and refuses the other")
    func assertionPairing() async throws {
        let certificate = try TestCertificate.make(name: "PhoneShift pairing")
        let f = try await EngineFixture(syntheticUsers: 2) { $0.clientCertificates = [certificate.certificatePEM] }
        defer { Task { await f.stop() } }
        let certPath = f.dir.file("app.pem", certificate.certificatePEM), keyPath = f.dir.file("key.pem", certificate.keyPEM)
        chmod(certPath, 0o600)
        chmod(keyPath, 0o600)
        func header(_ credential: CertificateCredential) throws -> [String: Any] {
            let jwt = try credential.assertion(clientId: "c", audience: "https://example.test/token")
            var part = String(jwt.split(separator: ".")[0]).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            while part.count % 4 != 0 { part += "=" }
            return try JSONSerialization.jsonObject(with: Data(base64Encoded: part)!) as! [String: Any]
        }
        let standard = try header(CertificateCredential.load(certificatePath: certPath, keyPath: keyPath))
        #expect(standard["alg"] as? String == "PS256" && standard["x5t#S256"] is String && standard["x5t"] == nil, "\(standard)")
        let legacy = try header(CertificateCredential.load(certificatePath: certPath, keyPath: keyPath, algorithm: .rs256))
        #expect(legacy["alg"] as? String == "RS256" && legacy["x5t"] is String && legacy["x5t#S256"] == nil, "\(legacy)")
        // A job without `algorithm:` and one with RS256 both get tokens from the emulator, which
        // refuses RS256 named by x5t#S256 (RealTenantEmulatorTests.clientAssertions).
        _ = f.writeSheet(count: 2)
        for algorithm in ["", "\n    algorithm: RS256"] {
            _ = f.writeJob(writesPerSecond: 50, credential: "clientCertificate:\n    certificate: \(certPath)\n    privateKey: \(keyPath)" + algorithm)
            let plan = try await f.phoneshift(["plan", f.jobPath], secret: "")
            #expect(plan.status == 0, "\(algorithm): \(plan.stderr)")
        }
    }

    @Test("Rows plan could not read (a 503) need attention in apply as in run: exit 1, listed in failures.csv and named on screen, never written")
    func unreadRowsNeedAttention() async throws {
        let f = try await EngineFixture(syntheticUsers: 6) { options in
            let i = options.seed.users.firstIndex { $0.userPrincipalName == "bench3@contoso.com" }!
            options.seed.users[i].unavailableReads = 1
        }
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 6)
        _ = f.writeJob(writesPerSecond: 50, maxAttempts: 1)
        let plan = try await f.phoneshift(["plan", f.jobPath])
        #expect(plan.status == 1, "\(plan.stdout) \(plan.stderr)")
        #expect(try await f.storeRows()[4]?.action == .skipped)
        let apply = try await f.phoneshift(["apply", f.jobPath])
        #expect(apply.status == 1, "\(apply.stdout) \(apply.stderr)")
        #expect(apply.stdout.contains("1 not read from Graph at plan time"), "\(apply.stdout)")
        let failures = try String(contentsOfFile: f.dir.path + "/out/failures.csv", encoding: .utf8)
        #expect(failures.contains("bench3@contoso.com") && !failures.contains("bench2@"), "\(failures)")
        #expect(try await f.successfulWrites().count == 5)
    }

    @Test("Delta and a reused UPN: when bench2's UPN is given to a new hire, the changed row is written to the new hire, never to the renamed old account, with a note; the drafts have the user's e-mail")
    func deltaUPNReuse() async throws {
        // bench4 is the new hire (not in the sheet until it takes bench2's UPN).
        let f = try await EngineFixture(syntheticUsers: 4) { options in
            options.permissions.insert("User.ReadWrite.All")  // the test's own renames, as an admin's
        }
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 3)
        _ = f.writeJob(writesPerSecond: 50, extra: "delta:\n  fullEveryDays: 7\nnotify:\n  from: IT <it@contoso.com>\n  helpdesk: \"+1 206 555 0100\"\n  afterApply: true")
        #expect(try await f.phoneshift(["run", f.jobPath]).status == 0)
        let ids = try await f.userIds()
        let old = try #require(ids["bench2@contoso.com"]), newHire = try #require(ids["bench4@contoso.com"])
        // bench2 leaves (renamed); the new hire gets the UPN; HR's export has the new hire's number.
        #expect(try await f.asApp("PATCH", "/users/\(old)", json: ["userPrincipalName": "bench2.left@contoso.com"]) == 204)
        #expect(try await f.asApp("PATCH", "/users/\(newHire)", json: ["userPrincipalName": "bench2@contoso.com"]) == 204)
        _ = f.dir.file("sheet.csv", "UPN,Phone\nbench1@contoso.com,\(EngineFixture.newNumber(1))\nbench2@contoso.com,+1 2127000222\nbench3@contoso.com,\(EngineFixture.newNumber(3))\n")
        let second = try await f.phoneshift(["run", f.jobPath])
        #expect(second.status == 0, "\(second.stdout) \(second.stderr)")
        let state = try await f.state()
        #expect(state["bench2@contoso.com"]?["mobile"] == "+1 2127000222", "the new hire has the sheet's number")
        #expect(state["bench2.left@contoso.com"]?["mobile"] == EngineFixture.newNumber(2), "the old account was written: \(String(describing: state["bench2.left@contoso.com"]))")
        let row = try await f.storeRows()[3]
        #expect(row?.userId?.lowercased() == newHire.lowercased() && row?.reason.contains("now names another account") == true, "\(String(describing: row))")
        // The draft of the changed row goes to the new hire's address.
        #expect(!second.stdout.contains("No usable e-mail"), "\(second.stdout)")
        let drafts = try FileManager.default.subpathsOfDirectory(atPath: f.dir.path + "/out/drafts").filter { $0.hasSuffix(".eml") }
        let texts = try drafts.map { try String(contentsOfFile: f.dir.path + "/out/drafts/" + $0, encoding: .utf8) }
        #expect(texts.contains { $0.contains("bench4@contoso.com") }, "\(drafts)")
    }

    @Test("Rollback right after a kill -9 of apply: rows left in flight whose write had landed are read back first and rolled back too")
    func rollbackAfterKill() async throws {
        let f = try await EngineFixture(syntheticUsers: 12)
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 12)
        _ = f.writeJob(writesPerSecond: 200, concurrency: 4)
        #expect(try await f.phoneshift(["plan", f.jobPath]).status == 0)
        // Writes land and their answers are held: apply is killed with four rows in flight.
        try await f.put("/_emulator/faults", json: ["stallRate": 1.0, "stallSeconds": 120, "stallOnlyWrites": true])
        let process = try f.launch(["apply", f.jobPath])
        #expect(try await f.waitUntil { try await f.successfulWrites().count >= 4 })
        kill(process.processIdentifier, SIGKILL)
        await waitForExit(process)
        try await f.put("/_emulator/faults", json: ["stallRate": 0.0])
        #expect(try await f.storeCount(.inFlight) == 4)
        // status tells a killed run from a running one.
        let status = try await f.phoneshift(["status", f.jobPath])
        #expect(status.stdout.contains("interrupted (its process is gone; apply again resumes it)") && status.stdout.contains("not running any more"), "\(status.stdout)")
        let landed = try await f.successfulWrites().count
        let applyRun = try #require(try await JobStore(path: f.storePath).runs(plan: 1).first { $0.command == "apply" }).id
        let rollback = try await f.phoneshift(["rollback", f.jobPath, "--run", String(applyRun)])
        #expect(rollback.status == 0, "\(rollback.stdout) \(rollback.stderr)")
        #expect((rollback.stdout + rollback.stderr).contains("4 rows run \(applyRun) left in flight"), "\(rollback.stdout) \(rollback.stderr)")
        let state = try await f.state()
        for i in 1...12 {
            #expect(state["bench\(i)@contoso.com"]?["mobile"] == "+1 2065\(String(format: "%06d", i))", "bench\(i) is not back on its number")
        }
        #expect(landed == 4)
    }

    @Test("Outages get their own exit code (8, run again later): the token endpoint unreachable, 503s on the role reads, Graph gone mid-apply; never a permission hint")
    func outagesAreTransient() async throws {
        let f = try await EngineFixture(syntheticUsers: 40)
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 40)
        // The token endpoint on a port where nothing listens.
        let path = f.writeJob(writesPerSecond: 50, maxAttempts: 1)
        _ = f.dir.file("job.yaml", try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "authority: \(f.emulator.baseURL)", with: "authority: http://127.0.0.1:9"))
        let noToken = try await f.phoneshift(["plan", f.jobPath])
        #expect(noToken.status == ExitStatus.transient, "\(noToken.stderr)")
        // Graph answers 503 to everything: the role reads cannot be made.
        _ = f.writeJob(writesPerSecond: 50, maxAttempts: 1)
        try await f.put("/_emulator/faults", json: ["errorRates": ["503": 1.0]])
        let unavailable = try await f.phoneshift(["plan", f.jobPath])
        #expect(unavailable.status == ExitStatus.transient && !unavailable.stderr.contains("Grant"), "\(unavailable.stderr)")
        try await f.put("/_emulator/faults", json: ["errorRates": [String: Double]()])
        // Graph goes away mid-apply.
        _ = f.writeJob(writesPerSecond: 20, concurrency: 2, maxAttempts: 2)
        let process = try await f.startApply { try await f.storeCount(.done) >= 5 }
        await f.emulator.stop()
        let exited = try await f.waitUntil(timeout: 60) { !process.isRunning }
        #expect(exited)
        if !exited { kill(process.processIdentifier, SIGKILL) }
        await waitForExit(process)
        #expect(process.terminationStatus == ExitStatus.transient, "\(f.launchedOutput())")
    }

    @Test("A second Ctrl-C stops at once (exit 130) while writes hang; the next apply re-reads the rows in flight and writes each user once")
    func secondInterruptForceQuits() async throws {
        let f = try await EngineFixture(syntheticUsers: 8)
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 8)
        _ = f.writeJob(writesPerSecond: 200, concurrency: 2)
        #expect(try await f.phoneshift(["plan", f.jobPath]).status == 0)
        try await f.put("/_emulator/faults", json: ["stallRate": 1.0, "stallSeconds": 300, "stallOnlyWrites": true])
        let process = try f.launch(["apply", f.jobPath])
        #expect(try await f.waitUntil { try await f.storeCount(.inFlight) == 2 })
        kill(process.processIdentifier, SIGINT)
        #expect(try await f.waitUntil { f.launchedOutput().stderr.contains("a second Ctrl-C stops at once") })
        #expect(process.isRunning, "the first Ctrl-C waits for the rows in flight")
        kill(process.processIdentifier, SIGINT)
        let exited = try await f.waitUntil(timeout: 20) { !process.isRunning }
        #expect(exited, "a second Ctrl-C did not stop apply")
        if !exited { kill(process.processIdentifier, SIGKILL) }
        await waitForExit(process)
        #expect(process.terminationStatus == ExitStatus.interrupted, "\(f.launchedOutput())")
        try await f.put("/_emulator/faults", json: ["stallRate": 0.0])
        let again = try await f.phoneshift(["apply", f.jobPath])
        #expect(again.status == 0, "\(again.stdout) \(again.stderr)")
        let writes = try await f.successfulWrites()
        #expect(writes.count == 8 && writes.values.allSatisfy { $0 == 1 }, "\(writes)")
    }

    @Test("A lock whose heartbeat is in the future (another host's clock ahead) says so and how to take it, instead of 'last heartbeat -3600 s ago'")
    func futureHeartbeat() {
        let holder = LockHolder(pid: 4242, host: "other-host", command: "apply", acquired: "2026-12-02T10:00:00Z", heartbeatAge: -3600)
        #expect(holder.description.contains("3600 s in the future") && holder.description.contains("--force-unlock"), "\(holder)")
        #expect(holder.seemsAlive)
        let stale = LockHolder(pid: 4242, host: "other-host", command: "apply", acquired: "2026-12-02T10:00:00Z", heartbeatAge: 600)
        #expect(!stale.seemsAlive && stale.description.contains("600 s ago"))
    }

    @Test("Proxies for real Graph: tenant.proxy sends the token request through a local CONNECT proxy (only the host travels in clear), HTTPS_PROXY in the environment does too, proxy: none overrides it, and a proxy URL with a password is refused")
    func proxySetting() async throws {
        let dir = TemporaryDirectory()
        // A CONNECT proxy stand-in: records each request's head, refuses the tunnel.
        let script = dir.file("proxy.py", """
            import socket, sys
            log = open(sys.argv[1], "ab", buffering=0)
            server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(16)
            print(server.getsockname()[1], flush=True)
            while True:
                conn, _ = server.accept()
                data = b""
                while b"\\r\\n\\r\\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk: break
                    data += chunk
                log.write(data + b"--\\n")
                conn.sendall(b"HTTP/1.1 403 Forbidden\\r\\nContent-Length: 0\\r\\n\\r\\n"); conn.close()
            """)
        let logPath = dir.path + "/proxy.log"
        let proxy = Process()
        proxy.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        proxy.arguments = [script, logPath]
        let portPipe = Pipe()
        proxy.standardOutput = portPipe
        proxy.standardError = FileHandle.nullDevice
        try proxy.run()
        // SIGKILL: this test process may ignore SIGTERM, and a child inherits that.
        defer { kill(proxy.processIdentifier, SIGKILL) }
        var portText = ""
        while !portText.contains("\n"), let byte = try portPipe.fileHandleForReading.read(upToCount: 1), !byte.isEmpty {
            portText += String(decoding: byte, as: UTF8.self)
        }
        let port = try #require(Int(portText.trimmingCharacters(in: .whitespacesAndNewlines)))
        _ = dir.file("sheet.csv", "UPN,Phone\nbench1@contoso.com,+1 2127000001\n")
        func job(_ proxyLine: String) -> String {
            dir.file("job.yaml", """
                sheet: {path: sheet.csv}
                tenant:
                  tenantId: contoso.onmicrosoft.com
                  clientId: \(EmulatorOptions.defaultClientId)
                  clientSecret: {env: PROXY_TEST_SECRET}
                \(proxyLine)
                rate: {maxAttempts: 1, connectTimeoutSeconds: 5}
                store: out/test.sqlite
                outputs: out
                """)
        }
        let secret = "proxy-test-secret-\(UUID().uuidString)"
        let base = ["PROXY_TEST_SECRET": secret, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        func proxyLog() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

        let viaJob = try await runProduct("phoneshift", ["plan", job("  proxy: http://127.0.0.1:\(port)")], environment: base)
        #expect(viaJob.status == ExitStatus.transient, "\(viaJob.stdout) \(viaJob.stderr)")
        #expect(proxyLog().contains("CONNECT login.microsoftonline.com:443"), "\(proxyLog())")
        #expect(!proxyLog().contains(secret), "the secret went to the proxy in clear")

        let before = proxyLog().components(separatedBy: "--").count
        var env = base
        env["HTTPS_PROXY"] = "http://127.0.0.1:\(port)"
        let viaEnvironment = try await runProduct("phoneshift", ["plan", job("")], environment: env)
        #expect(viaEnvironment.status == ExitStatus.transient, "\(viaEnvironment.stderr)")
        #expect(proxyLog().components(separatedBy: "--").count > before, "HTTPS_PROXY was not used")

        let counted = proxyLog().components(separatedBy: "--").count
        _ = try await runProduct("phoneshift", ["plan", job("  proxy: none")], environment: env)
        #expect(proxyLog().components(separatedBy: "--").count == counted, "proxy: none still used HTTPS_PROXY")

        let withPassword = try await runProduct("phoneshift", ["plan", job("  proxy: http://user:hunter2@127.0.0.1:\(port)")], environment: base)
        #expect(withPassword.status == ExitStatus.usage && withPassword.stderr.contains("tenant.proxy") && !withPassword.stderr.contains("hunter2"), "\(withPassword.stderr)")
    }

    @Test("status, report and export on another program's SQLite file refuse it and leave it as it was: no WAL switch, no chmod, no table")
    func foreignStoreUntouched() async throws {
        let dir = TemporaryDirectory()
        let foreign = dir.path + "/crm.sqlite"
        do {
            let db = try SQLiteDatabase(path: foreign)
            try db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers (name) VALUES ('Ann');")
        }
        chmod(foreign, 0o644)
        let before = try Data(contentsOf: URL(fileURLWithPath: foreign))
        _ = dir.file("sheet.csv", "UPN,Phone\nbench1@contoso.com,+1 2127000001\n")
        let job = dir.file("job.yaml", """
            sheet: {path: sheet.csv}
            tenant: {tenantId: contoso.onmicrosoft.com, clientId: \(EmulatorOptions.defaultClientId), clientSecret: {env: X}}
            store: crm.sqlite
            outputs: out
            """)
        var environment = ProcessInfo.processInfo.environment
        environment["X"] = "not-used"
        for command in [["status", job], ["report", job], ["export", job, "--output", dir.path + "/e.csv"]] {
            let r = try await runProduct("phoneshift", command, environment: environment)
            #expect(r.status == ExitStatus.usage && r.stderr.contains("an SQLite database of another program"), "\(command[0]): \(r.stderr)")
        }
        var info = stat()
        #expect(stat(foreign, &info) == 0 && info.st_mode & 0o777 == 0o644)
        #expect(try Data(contentsOf: URL(fileURLWithPath: foreign)) == before, "the file's bytes changed")
        #expect(!FileManager.default.fileExists(atPath: foreign + "-wal"))
    }

    @Test("A busy token endpoint (429) is asked again after its Retry-After; one that stays busy is exit 8 (run again later), not exit 4 (renew the credential)")
    func tokenEndpointThrottled() async throws {
        let f = try await EngineFixture(syntheticUsers: 2)
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 2)
        _ = f.writeJob(writesPerSecond: 50)
        try await f.put("/_emulator/faults", json: ["tokenThrottledRequests": 2])
        let plan = try await f.phoneshift(["plan", f.jobPath])
        #expect(plan.status == 0, "\(plan.stdout) \(plan.stderr)")
        #expect((try await f.get("/_emulator/faults")["fired"] as? [String: Int])?["token429"] == 2)
        try await f.put("/_emulator/faults", json: ["tokenThrottledRequests": 10])
        let busy = try await f.phoneshift(["plan", f.jobPath])
        #expect(busy.status == ExitStatus.transient && !busy.stderr.contains("renew"), "\(busy.stderr)")
    }
}
