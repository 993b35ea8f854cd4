import Foundation
import GraphEmulator
import Testing
@testable import PhoneShift

/// The end-to-end tests run in three serialized streams beside each other (this one,
/// `EndToEndTenantTests` and `FaultMatrixTests`): within a stream one test at a time, so no
/// more than three end-to-end runs share the two cores, and their waits overlap.
@Suite("Plan and apply against the emulator (end to end, the real binaries and HTTP)", .serialized)
struct EngineTests {
    @Test("Plan shows the changes (detailed exit code 6), apply makes them (0), plan again finds none (0)")
    func planApplyPlan() async throws {
        let f = try await EngineFixture(syntheticUsers: 40)
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 40, extra: ["nobody@contoso.com,+1 2127999999", "bench41@contoso.com,N/A"])
        _ = f.writeJob(writesPerSecond: 200)
        let plan = try await f.phoneshift(["plan", f.jobPath, "--detailed-exitcode"])
        #expect(plan.status == ExitStatus.successWithChanges, "\(plan.stderr)")
        #expect(plan.stdout.contains("Changes: 40"))
        #expect(plan.stdout.contains("user-not-found: 1"))
        #expect(plan.stdout.contains("invalid: 1"))
        #expect(!plan.stdout.contains("2127000001"))  // numbers are masked on screen
        let apply = try await f.phoneshift(["apply", f.jobPath])
        #expect(apply.status == 0, "\(apply.stdout) \(apply.stderr)")
        let state = try await f.state()
        for i in 1...40 { #expect(state["bench\(i)@contoso.com"]?["mobile"] == EngineFixture.newNumber(i)) }
        let again = try await f.phoneshift(["plan", f.jobPath, "--detailed-exitcode"])
        #expect(again.status == 0, "\(again.stdout) \(again.stderr)")
        #expect(again.stdout.contains("Changes: 0"))
        let status = try await f.phoneshift(["status", f.jobPath])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("unchanged: 40"), "\(status.stdout)")
        let results = try String(contentsOfFile: f.dir.path + "/out/report.csv", encoding: .utf8)
        #expect(results.split(separator: "\n").count == 43)
        let mode = try FileManager.default.attributesOfItem(atPath: f.storePath)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test("Thousands of rows (1,000; 5,000 under .ci/nightly) with 5% 503s, latency, tokens expiring and revoked mid-run and throttling hit: final state equals the sheet")
    func fiveThousandWithFaults() async throws {
        let count = RunSize.pick(short: 1000, full: 5000)
        // 200 writes/s against a job asking for 400/s: the wall a debug build hits.
        let quota = ThrottleSettings(appWrites: 200, appWritesWindow: 1, resourceUnits: 200_000, resourceUnitsWindow: 10)
        let f = try await EngineFixture(syntheticUsers: count) { options in
            options.throttle = quota
            options.tokenLifetime = 2
        }
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: count, extra: ["bench1@contoso.com,+1 2127000002", "ghost@contoso.com,+1 2127000003", "bad@contoso.com,555"])
        _ = f.writeJob(writesPerSecond: 400, concurrency: 24)
        try await f.put("/_emulator/faults", json: ["errorRates": ["503": 0.05], "retryAfterSeconds": 0.05,
                                                   "latencyMs": 1, "latencySpreadMs": 8])
        let plan = try await f.phoneshift(["plan", f.jobPath])
        #expect(plan.status == 0, "\(plan.stdout) \(plan.stderr)")
        // Once a tenth of the writes landed, every token is revoked while writes wait at the
        // emulator's gate with the old token: they answer 401, and the client must get a new one.
        // (Revoking at a quiet moment proves nothing: a 2 s token may be renewed before its next use.)
        let revoke = Task {
            guard try await f.waitUntil(timeout: 120, { try await f.successfulWrites().count >= count / 10 }) else { return false }
            try await f.holdWrites(after: 0)
            let held = try await f.waitUntil(timeout: 60) { try await f.heldWrites() >= 1 }
            try await f.put("/_emulator/faults", json: ["revokeTokens": true])
            try await f.holdWrites(after: nil)
            return held
        }
        // Once 50 rows are done, another app takes the write quota (one write per 2 s) until
        // 429s came: they come however slowly this build runs.
        let squeeze = Task {
            let started = try await f.waitUntil(timeout: 120) { try await f.storeCount(.done) >= 50 }
            guard started else { return false }
            var tight = quota
            tight.appWrites = 1
            tight.appWritesWindow = 2
            try await f.setThrottle(tight)
            let throttled = try await f.waitUntil(timeout: 60) { try await f.requests().contains { $0["status"] as? Int == 429 } }
            try await f.setThrottle(quota)
            return throttled
        }
        let applyStarts = try await f.requests().count
        let apply = try await f.phoneshift(["apply", f.jobPath])
        #expect(try await revoke.value, "the apply never got to a tenth of the writes")
        #expect(try await squeeze.value, "the apply never got to 50 rows done, or met no 429 while squeezed")
        #expect(apply.status == 0, "\(apply.stdout) \(apply.stderr)")
        let rows = try await f.storeRows()
        #expect(rows.count == count + 3)
        #expect(rows.values.allSatisfy { $0.state == .done || $0.state == .failed })
        let state = try await f.state()
        var changed = 0
        for i in 2...count {
            #expect(state["bench\(i)@contoso.com"]?["mobile"] == EngineFixture.newNumber(i))
            if rows[i + 1]?.outcome == .changed { changed += 1 }
        }
        #expect(changed == count - 1)
        // bench1 is on two lines with two numbers: a conflict, not applied.
        #expect(rows[2]?.action == .invalid && rows[count + 2]?.action == .invalid)
        #expect(rows[count + 3]?.action == .userNotFound)
        let log = try await f.requests()
        #expect(log.contains { $0["status"] as? Int == 429 })
        // Every 429 the run met is in the report with its time (the chart's red ticks).
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: f.dir.path + "/out/report.json"))) as! [String: Any]
        let throttling = report["throttling"] as! [String: Any]
        let run = report["run"] as! [String: Any]
        // Counted against the emulator's own log of the apply, not another field of the report.
        let answered429 = log.dropFirst(applyStarts).filter { $0["status"] as? Int == 429 }.count
        #expect(answered429 > 0 && throttling["answers429"] as? Int == answered429, "report \(throttling["answers429"] ?? "none"), emulator \(answered429)")
        #expect(run["throttled"] as? Int == answered429)
        #expect((throttling["events"] as? [[String: Any]])?.count == throttling["answers429"] as? Int)
        let page = try String(contentsOfFile: f.dir.path + "/out/report.html", encoding: .utf8)
        #expect(page.contains("red ticks: answers 429 (\(throttling["answers429"] as? Int ?? -1))"))
        #expect(log.contains { $0["status"] as? Int == 503 })
        #expect(log.contains { $0["status"] as? Int == 401 }, "the writes held across the revocation were not refused")
        // Tokens expire every 2 s: renewed ahead of expiry, several times during the run.
        #expect(log.filter { ($0["path"] as? String ?? "").hasSuffix("/oauth2/v2.0/token") }.count >= 3)
    }

    @Test("Killed with SIGKILL during apply, then resumed: nothing lost, nothing written twice, counts exact",
          arguments: [true, false])
    func killAndResume(verifyBeforeWrite: Bool) async throws {
        let count = 90
        let f = try await EngineFixture(syntheticUsers: count)
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: count)
        _ = f.writeJob(writesPerSecond: 200, concurrency: 8, burst: 5, extra: "policy:\n  verifyBeforeWrite: \(verifyBeforeWrite)")
        #expect(try await f.phoneshift(["plan", f.jobPath]).status == 0)
        var inFlightAtKill: [Set<Int>] = []
        var landedAtKill = Set<Int>()
        var doneAtKill: [Int] = []
        var logMarks: [Int] = []
        // Each kill comes while writes wait at the emulator's gate (in flight, their marks in
        // the store). After the kill the gate opens: those writes land though nobody hears of
        // them, as a write whose answer a crash lost does.
        for writes in [20, 25, 25] {
            try await f.holdWrites(after: writes)
            let process = try f.launch(["apply", f.jobPath])
            let reached = try await f.waitUntil { try await f.heldWrites() >= 1 }
            kill(process.processIdentifier, SIGKILL)
            await waitForExit(process)
            #expect(reached, "the apply never reached the gate after \(writes) writes")
            let rows = try await f.storeRows()
            let inFlight = rows.values.filter { $0.state == .inFlight }
            inFlightAtKill.append(Set(inFlight.map(\.line)))
            doneAtKill.append(rows.values.filter { $0.state == .done }.count)
            let before = try await f.successfulWrites().values.reduce(0, +)
            let held = try await f.heldWrites()
            try await f.holdWrites(after: nil)
            #expect(try await f.waitUntil { try await f.successfulWrites().values.reduce(0, +) == before + held },
                    "the \(held) held writes did not land")
            let live = try await f.state()
            landedAtKill.formUnion(inFlight.filter { live[$0.user.lowercased()]?["mobile"] == $0.target }.map(\.line))
            logMarks.append(try await f.requests().count)
        }
        #expect(!landedAtKill.isEmpty, "no write landed while its row was in flight")
        // Every kill came mid-run: some rows done, some not.
        #expect(doneAtKill.allSatisfy { $0 > 0 && $0 < count }, "done at each kill: \(doneAtKill)")
        #expect(doneAtKill == doneAtKill.sorted())
        let final = try await f.phoneshift(["apply", f.jobPath])
        #expect(final.status == 0, "\(final.stdout) \(final.stderr)")
        let rows = try await f.storeRows()
        #expect(rows.count == count)
        #expect(rows.values.allSatisfy { $0.state == .done })
        let outcomes = Dictionary(grouping: rows.values, by: { $0.outcome?.rawValue ?? "" }).mapValues(\.count)
        // Every row counts as changed by this job: written now, or found landed after a kill.
        #expect((outcomes["changed"] ?? 0) + (outcomes["already-applied"] ?? 0) == count, "\(outcomes)")
        // Each write that had landed before a kill is found by re-reading, and counted as changed.
        for line in landedAtKill { #expect(rows[line]?.outcome == .alreadyApplied, "line \(line): \(rows[line]?.outcome?.rawValue ?? "-")") }
        let state = try await f.state()
        for i in 1...count { #expect(state["bench\(i)@contoso.com"]?["mobile"] == EngineFixture.newNumber(i)) }
        // Each user's number was written exactly once across all four runs.
        let writes = try await f.successfulWrites()
        #expect(writes.count == count)
        #expect(writes.values.allSatisfy { $0 == 1 }, "some user was written more than once")
        // Rows in flight at a kill were re-read before anything else was done to them (with
        // verifyBeforeWrite off, nothing else re-reads them).
        let log = try await f.requests()
        var checked = 0
        for (kill, lines) in inFlightAtKill.enumerated() {
            let after = log.dropFirst(logMarks[kill])
            for line in lines {
                let userId = rows[line]!.userId!
                if let first = after.first(where: { $0["user"] as? String == userId }) {
                    #expect(first["method"] as? String == "GET", "line \(line) was written before it was re-read")
                    checked += 1
                }
            }
        }
        #expect(checked > 0, "no row was in flight at any kill")
    }

    @Test("A second apply of the same job is refused (exit 3, naming the holder); a dead holder's lock is taken over")
    func locking() async throws {
        let f = try await EngineFixture(syntheticUsers: 30)
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 30)
        _ = f.writeJob(writesPerSecond: 200, concurrency: 2)
        #expect(try await f.phoneshift(["plan", f.jobPath]).status == 0)
        // The first apply holds the lock while its writes wait at the emulator's gate.
        try await f.holdWrites(after: 5)
        let first = try f.launch(["apply", f.jobPath])
        #expect(try await f.waitUntil { try await f.heldWrites() >= 1 }, "the first apply never reached the gate")
        let second = try await f.phoneshift(["apply", f.jobPath])
        #expect(second.status == 3)
        #expect(second.stderr.contains("pid \(first.processIdentifier)"))
        let status = try await f.phoneshift(["status", f.jobPath])
        #expect(status.stdout.contains("Locked:"))
        kill(first.processIdentifier, SIGKILL)
        await waitForExit(first)
        try await f.holdWrites(after: nil)
        let third = try await f.phoneshift(["apply", f.jobPath])
        #expect(third.status == 0, "\(third.stdout) \(third.stderr)")
        #expect(third.stderr.contains("took over the lock"))
        #expect(third.stderr.contains("process is gone"))
    }

    @Test("A wrong or expired secret, or a wrong tenant: a clear error and exit 4 before any row is touched",
          arguments: ["secret", "expired", "tenant"])
    func authenticationFailures(_ kind: String) async throws {
        let f = try await EngineFixture(syntheticUsers: 5)
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 5)
        let wrongSecret = kind == "secret" ? "wrong-secret" : EmulatorOptions.defaultClientSecret
        // Plan: refused at authentication.
        _ = f.writeJob(writesPerSecond: 10, tenantId: kind == "tenant" ? "11111111-2222-3333-4444-555555555555" : nil)
        if kind == "expired" { try await f.put("/_emulator/faults", json: ["secretExpired": true]) }
        let result = try await f.phoneshift(["plan", f.jobPath], secret: wrongSecret)
        #expect(result.status == 4, "\(result.stderr)")
        let expected = ["secret": "client secret is wrong", "expired": "has expired", "tenant": "does not exist"][kind]!
        #expect(result.stderr.contains(expected), "\(result.stderr)")
        #expect(!result.stderr.contains("wrong-secret"))
        #expect(try await f.requests().allSatisfy { !($0["path"] as? String ?? "").hasPrefix("/v1.0") })
        // Apply: a plan made while authentication worked, then applied when it does not.
        guard kind != "tenant" else { return }  // another tenant is another plan: see jobEditedAfterPlan
        try await f.put("/_emulator/faults", json: ["secretExpired": false])
        _ = f.writeJob(writesPerSecond: 10)
        #expect(try await f.phoneshift(["plan", f.jobPath]).status == 0)
        if kind == "expired" { try await f.put("/_emulator/faults", json: ["secretExpired": true]) }
        let mark = try await f.requests().count
        let apply = try await f.phoneshift(["apply", f.jobPath], secret: wrongSecret)
        #expect(apply.status == 4, "\(apply.stdout) \(apply.stderr)")
        #expect(apply.stderr.contains(expected), "\(apply.stderr)")
        #expect(try await f.requests().dropFirst(mark).allSatisfy { !($0["path"] as? String ?? "").hasPrefix("/v1.0") })
        #expect(try await f.storeRows().values.allSatisfy { $0.state != .inFlight && $0.outcome != .changed })
    }

    @Test("A plan killed half-way is never applied")
    func interruptedPlan() async throws {
        let f = try await EngineFixture(syntheticUsers: 300) { $0.faults = FaultSettings(latencyMs: 20) }
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 300)
        _ = f.writeJob(writesPerSecond: 300, concurrency: 2)
        let plan = try f.launch(["plan", f.jobPath])
        // Killed while users are being read: an unfinished plan with its rows is in the store.
        let partial = try await f.waitUntil {
            guard FileManager.default.fileExists(atPath: f.storePath) else { return false }
            let store = try JobStore(path: f.storePath)
            let rows = try await store.perform { db in
                let q = try db.prepare("SELECT COUNT(*) FROM rows JOIN plans ON plans.id = rows.plan_id WHERE plans.complete = 0")
                try q.bind([])
                return try q.step() ? q.int(0) : 0
            }
            let reads = try await f.requests().filter { ($0["path"] as? String ?? "").hasPrefix("/v1.0/users/") }.count
            return rows == 300 && reads >= 20
        }
        kill(plan.processIdentifier, SIGKILL)
        await waitForExit(plan)
        #expect(partial, "no partial plan was seen before the kill")
        let apply = try await f.phoneshift(["apply", f.jobPath])
        #expect(apply.status == 2)
        #expect(apply.stderr.contains("no plan yet"), "\(apply.stderr)")
        // Planning again (now without the slow answers) finishes and is applied.
        try await f.put("/_emulator/faults", json: ["latencyMs": 0])
        #expect(try await f.phoneshift(["plan", f.jobPath]).status == 0)
        #expect(try await f.phoneshift(["apply", f.jobPath]).status == 0)
    }

    @Test("Apply refuses a plan made for another version of the sheet")
    func sheetChanged() async throws {
        let f = try await EngineFixture(syntheticUsers: 5)
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 5)
        _ = f.writeJob(writesPerSecond: 10)
        #expect(try await f.phoneshift(["plan", f.jobPath]).status == 0)
        _ = f.writeSheet(count: 4)
        let apply = try await f.phoneshift(["apply", f.jobPath])
        #expect(apply.status == 2)
        #expect(apply.stderr.contains("another version of the sheet"))
        #expect(try await f.requests().filter { ($0["path"] as? String ?? "").hasPrefix("/v1.0/") }.allSatisfy { ($0["method"] as? String) == "GET" })
    }
}
