import Foundation
import GraphEmulator
import Testing
@testable import PhoneShift

extension EndToEndTenantTests {
    @Test("Rollback end to end: after apply then rollback (killed with -9 and resumed) every number is as before, read through Graph; a drifted user is left alone; a rollback rolls back")
    func rollbackEndToEnd() async throws {
        let f = try await EngineFixture(syntheticUsers: 120) { options in
            // bench116…120 have no mobile: apply adds one (POST), rollback removes it (DELETE).
            let base = options.seed.users.count - 120
            for i in 116...120 { options.seed.users[base + i - 1].phoneMethods = [] }
            // bench120's default sign-in method is "mobile": Graph will not let its new mobile be deleted.
            options.seed.users[base + 119].defaultMethod = "mobile"
        }
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 120)
        _ = f.writeJob(writesPerSecond: 40, concurrency: 4, burst: 2)
        let before = try await f.state()
        #expect(try await f.phoneshift(["plan", f.jobPath]).status == 0)
        let apply = try await f.phoneshift(["apply", f.jobPath])
        #expect(apply.status == 0, "\(apply.stdout) \(apply.stderr)")
        let store = try JobStore(path: f.storePath)
        let applyRun = try #require(try await store.runs(plan: 1).first { $0.command == "apply" }).id
        let after = try await f.state()
        #expect(after["bench116@contoso.com"]?["mobile"] == EngineFixture.newNumber(116))
        // Someone changes a number between the apply and the rollback.
        let ids = try await f.userIds()
        try await f.changeInGraph(userId: ids["bench50@contoso.com"]!, slot: "mobile", number: "+1 2065551234")

        let dry = try await f.phoneshift(["rollback", f.jobPath, "--run", String(applyRun), "--dry-run"])
        #expect(dry.status == 0 && dry.stdout.contains("120 rows to restore"), "\(dry.stdout) \(dry.stderr)")
        #expect(try await f.successfulWrites().count == 120, "the dry run wrote")
        let mark = try await f.requests().count
        let process = try f.launch(["rollback", f.jobPath, "--run", String(applyRun)])
        func rollbackRows() async throws -> [PlanRow] {
            let s = try JobStore(path: f.storePath)
            guard let plan = try await s.rollbackPlan(of: applyRun) else { return [] }
            return try await s.allRows(plan: plan.id)
        }
        #expect(try await f.waitUntil { try await rollbackRows().filter { $0.state == .done }.count >= 30 })
        kill(process.processIdentifier, SIGKILL)
        await waitForExit(process)
        let resumed = try await f.phoneshift(["rollback", f.jobPath, "--run", String(applyRun)])
        #expect(resumed.status == 1, "\(resumed.stdout) \(resumed.stderr)")  // the drifted row needs attention
        #expect(resumed.stdout.contains("Resuming rollback plan"), "\(resumed.stdout)")

        // Read through Graph: every number as before the apply, the drifted one left alone.
        let final = try await f.state()
        for i in 1...119 where i != 50 {
            let upn = "bench\(i)@contoso.com"
            #expect(final[upn]?["mobile"] == before[upn]?["mobile"], "\(upn): \(final[upn] ?? [:]) vs \(before[upn] ?? [:])")
        }
        #expect(final["bench50@contoso.com"]?["mobile"] == "+1 2065551234")
        #expect(final["bench120@contoso.com"]?["mobile"] == after["bench120@contoso.com"]?["mobile"])
        let rows = try await rollbackRows()
        #expect(rows.first { $0.user == "bench50@contoso.com" }?.outcome == .drifted)
        #expect(rows.filter { $0.outcome == .removed }.count == 4)
        let blocked = rows.first { $0.user == "bench120@contoso.com" }
        #expect(blocked?.outcome == .blocked && blocked?.reason.contains("default sign-in method") == true, "\(String(describing: blocked))")
        // No user was written twice by the rollback, kill -9 or not.
        let writes = try await f.requests().dropFirst(mark).filter {
            ["PATCH", "POST", "DELETE"].contains($0["method"] as? String ?? "") && ($0["status"] as? Int ?? 0) < 300
                && ($0["path"] as? String ?? "").hasPrefix("/v1.0/")
        }
        var perUser: [String: Int] = [:]
        for w in writes { perUser[w["user"] as? String ?? "", default: 0] += 1 }
        #expect(perUser.count == 118 && perUser.values.allSatisfy { $0 == 1 }, "\(perUser.filter { $0.value != 1 })")
        let report = f.dir.path + "/out/rollback-of-run-\(applyRun)/report.csv"
        #expect(FileManager.default.fileExists(atPath: report))

        // Rolling back the rollback: the numbers the apply set come back (bench50 stays drifted).
        let rollbackPlan = try #require(try await store.rollbackPlan(of: applyRun))
        let rollbackRun = try #require(try await store.runs(plan: rollbackPlan.id).first).id
        let again = try await f.phoneshift(["rollback", f.jobPath, "--run", String(rollbackRun)])
        #expect(again.status == 0, "\(again.stdout) \(again.stderr)")
        let restored = try await f.state()
        for i in 1...120 where i != 50 {
            #expect(restored["bench\(i)@contoso.com"]?["mobile"] == after["bench\(i)@contoso.com"]?["mobile"], "bench\(i)")
        }
        // A run the store does not hold.
        let gone = try await f.phoneshift(["rollback", f.jobPath, "--run", "999"])
        #expect(gone.status == 2 && gone.stderr.contains("run 999 is not in the job store"), "\(gone.stderr)")
    }
}
