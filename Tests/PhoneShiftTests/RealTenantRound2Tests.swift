import Foundation
import GraphEmulator
import Testing
@testable import PhoneShift

extension EngineTests {
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
