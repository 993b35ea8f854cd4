import Foundation
import GraphEmulator
import Testing
@testable import PhoneShift

/// The engine's guards, end to end (real binaries, real emulator over HTTP, real SQLite).
/// Part of `EngineTests`, so that all end-to-end runs are serialized: each one loads both cores.
extension EngineTests {
    @Test("SIGINT, SIGTERM or SIGHUP: nothing new is sent, no row is left in flight, exit 130; apply again finishes",
          arguments: [SIGINT, SIGTERM, SIGHUP])
    func interruptAndResume(_ signal: Int32) async throws {
        let f = try await EngineFixture(syntheticUsers: 60)
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 60)
        _ = f.writeJob(writesPerSecond: 200, concurrency: 4, burst: 4)
        // The mid-run moment: 20 writes made, the next held at the emulator's gate, in flight.
        try await f.holdWrites(after: 20)
        let process = try await f.startApply { try await f.heldWrites() >= 1 }
        kill(process.processIdentifier, signal)
        // The writes on the wire are answered; apply must send nothing new after the signal.
        try await f.holdWrites(after: nil)
        let exited = try await f.waitUntil(timeout: 15) { !process.isRunning }
        #expect(exited, "apply did not stop after the signal")
        if !exited { kill(process.processIdentifier, SIGKILL) }
        await waitForExit(process)
        #expect(process.terminationStatus == 130, "\(f.launchedOutput())")
        let output = f.launchedOutput()
        #expect(output.stdout.contains("Interrupted after"), "\(output.stdout)")
        #expect(!output.stdout.contains("Done in"))
        let rows = try await f.storeRows()
        #expect(rows.values.allSatisfy { $0.state != .inFlight }, "rows left in flight after the interruption")
        let done = rows.values.filter { $0.outcome == .changed }.count
        #expect(done >= 20 && done < 60, "\(done) rows changed")
        // Every write that reached Graph is recorded: nothing was sent unaccounted for.
        #expect(try await f.successfulWrites().count == done)
        let resumed = try await f.phoneshift(["apply", f.jobPath])
        #expect(resumed.status == 0, "\(resumed.stdout) \(resumed.stderr)")
        let writes = try await f.successfulWrites()
        #expect(writes.count == 60 && writes.values.allSatisfy { $0 == 1 })
    }

    @Test("A holder that loses its lock stops before another write and exits 3 saying so")
    func lockLostMidApply() async throws {
        let f = try await EngineFixture(syntheticUsers: 200)
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 200)
        _ = f.writeJob(writesPerSecond: 20, concurrency: 2, burst: 1)
        let process = try await f.startApply { try await f.storeCount(.done) >= 20 }
        // Another host takes the lock (as after a stale heartbeat there).
        try await f.storeSQL("UPDATE lock SET host = 'other-host', pid = 1, token = 'theirs'")
        let mark = try await f.requests().count
        let exited = try await f.waitUntil(timeout: 10) { !process.isRunning }
        #expect(exited)
        if !exited { kill(process.processIdentifier, SIGKILL) }
        await waitForExit(process)
        #expect(process.terminationStatus == 3)
        #expect(f.launchedOutput().stderr.contains("lost the job's lock"), "\(f.launchedOutput().stderr)")
        // At most the writes already on the wire (concurrency 2) arrive after the theft.
        let after = try await f.successfulWrites(from: mark).values.reduce(0, +)
        #expect(after <= 2, "\(after) writes after the lock was lost")
        let status = try await f.phoneshift(["status", f.jobPath])
        #expect(status.stdout.contains("other-host"))
    }

    @Test("--force-unlock never displaces a live holder on this host")
    func forceUnlockLiveHolder() async throws {
        let f = try await EngineFixture(syntheticUsers: 120)
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 120)
        _ = f.writeJob(writesPerSecond: 30, concurrency: 2, burst: 1)
        let first = try await f.startApply { try await f.storeCount(.done) >= 5 }
        let forced = try await f.phoneshift(["apply", f.jobPath, "--force-unlock"])
        #expect(forced.status == 3)
        #expect(forced.stderr.contains("still running on this host"), "\(forced.stderr)")
        await waitForExit(first)
        #expect(first.terminationStatus == 0, "\(f.launchedOutput())")
        let writes = try await f.successfulWrites()
        #expect(writes.count == 120 && writes.values.allSatisfy { $0 == 1 })
    }

    @Test("Dropped connections, stalls and lost answers: a write whose answer was lost is re-read, never re-sent blindly")
    func lostAnswers() async throws {
        let f = try await EngineFixture(syntheticUsers: 300) { options in
            var faults = FaultSettings(dropRate: 0.05, stallRate: 0.03, stallSeconds: 3)
            faults.lostAnswerRate = 0.1
            options.faults = faults
        }
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 300)
        _ = f.writeJob(writesPerSecond: 400, concurrency: 16, requestTimeout: 1, extra: "policy:\n  verifyBeforeWrite: false")
        #expect(try await f.phoneshift(["plan", f.jobPath]).status == 0, "plan")
        let apply = try await f.phoneshift(["apply", f.jobPath])
        #expect(apply.status == 0, "\(apply.stdout) \(apply.stderr)")
        let state = try await f.state()
        for i in 1...300 { #expect(state["bench\(i)@contoso.com"]?["mobile"] == EngineFixture.newNumber(i)) }
        let writes = try await f.successfulWrites()
        #expect(writes.count == 300)
        #expect(writes.values.allSatisfy { $0 == 1 }, "a write that had landed was sent again")
        let rows = try await f.storeRows()
        #expect(rows.values.contains { $0.reason.contains("answer was lost") }, "no answer was lost: the test proves nothing")
        let log = try await f.requests()
        #expect(log.contains { $0["status"] as? Int == 0 }, "no connection was dropped before an answer")
    }

    @Test("Settings that shaped the plan changed since: apply refuses, names the key, writes nothing")
    func jobEditedAfterPlan() async throws {
        let f = try await EngineFixture(syntheticUsers: 10)
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 10, extra: ["farid.nilsson@contoso.com,+39 3392942199"])
        _ = f.writeJob(writesPerSecond: 50, extra: "policy:\n  allowPrivileged: true")
        let plan = try await f.phoneshift(["plan", f.jobPath])
        #expect(plan.status == 0 && plan.stdout.contains("Changes: 11"), "\(plan.stdout)")
        _ = f.writeJob(writesPerSecond: 50, extra: "policy:\n  allowPrivileged: false")
        let apply = try await f.phoneshift(["apply", f.jobPath])
        #expect(apply.status == 2)
        #expect(apply.stderr.contains("policy.allowPrivileged"), "\(apply.stderr)")
        _ = f.writeJob(writesPerSecond: 50, phoneType: "office", extra: "policy:\n  allowPrivileged: true")
        let office = try await f.phoneshift(["apply", f.jobPath])
        #expect(office.status == 2 && office.stderr.contains("phoneType"), "\(office.stderr)")
        #expect(try await f.successfulWrites().isEmpty)
        // Planned again with the new settings, it goes.
        _ = f.writeJob(writesPerSecond: 50, extra: "policy:\n  allowPrivileged: false")
        #expect(try await f.phoneshift(["plan", f.jobPath]).status == 0)
        #expect(try await f.phoneshift(["apply", f.jobPath]).status == 0)
        #expect(try await f.state()["farid.nilsson@contoso.com"]?["mobile"] == "+39 3392942141", "the admin was changed")
    }

    @Test("One user named two ways with two numbers: both rows conflict, neither is written; with one number it is written once")
    func sameUserTwoWays() async throws {
        let f = try await EngineFixture(syntheticUsers: 5)
        defer { Task { await f.stop() } }
        let ids = try await f.userIds()
        let one = ids["bench1@contoso.com"]!, two = ids["bench2@contoso.com"]!
        _ = f.writeSheet(count: 3, extra: ["\(one),+1 2127555001", "\(two.uppercased()),\(EngineFixture.newNumber(2))"])
        _ = f.writeJob(writesPerSecond: 50)
        let plan = try await f.phoneshift(["plan", f.jobPath])
        #expect(plan.status == 1, "\(plan.stdout) \(plan.stderr)")
        #expect(plan.stdout.contains("conflict: 2"), "\(plan.stdout)")
        let rows = try await f.storeRows()
        #expect(rows[2]?.action == .conflict && rows[5]?.action == .conflict)
        #expect(rows[6]?.action == .skipped && rows[3]?.action == .update)
        let apply = try await f.phoneshift(["apply", f.jobPath])
        #expect(apply.status == 1)
        let state = try await f.state()
        #expect(state["bench1@contoso.com"]?["mobile"] != EngineFixture.newNumber(1))
        #expect(state["bench1@contoso.com"]?["mobile"] != "+1 2127555001")
        let writes = try await f.successfulWrites()
        #expect(writes[one] == nil && writes[two] == 1)
    }

    @Test("policy.maxChanges: plan says so (exit 5, the safety valve's code), apply refuses before any write")
    func maxChanges() async throws {
        let f = try await EngineFixture(syntheticUsers: 20)
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 20)
        _ = f.writeJob(writesPerSecond: 50, extra: "policy:\n  maxChanges: 10")
        let plan = try await f.phoneshift(["plan", f.jobPath])
        #expect(plan.status == ExitStatus.safetyValve)
        #expect(plan.stderr.contains("valves.maxChanges: the plan has 20 changes, more than 10"), "\(plan.stderr)")
        let apply = try await f.phoneshift(["apply", f.jobPath])
        #expect(apply.status == ExitStatus.safetyValve && apply.stderr.contains("maxChanges"), "\(apply.stderr)")
        #expect(try await f.successfulWrites().isEmpty)
    }

    @Test("Moved and failed rows: moved ones are never overwritten and need a new plan; --retry-failed retries the failed")
    func movedAndRetryFailed() async throws {
        let f = try await EngineFixture(syntheticUsers: 30)
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 30)
        _ = f.writeJob(writesPerSecond: 200, concurrency: 4, maxAttempts: 2)
        #expect(try await f.phoneshift(["plan", f.jobPath]).status == 0)
        let ids = try await f.userIds()
        try await f.changeInGraph(userId: ids["bench3@contoso.com"]!, slot: "mobile", number: "+1 2127999003")
        // Every write fails for a while (500 on each try): rows end failed.
        try await f.put("/_emulator/faults", json: ["errorRates": ["500": 1.0], "retryAfterSeconds": 0])
        let failing = try await f.phoneshift(["apply", f.jobPath])
        #expect(failing.status == 1)
        var rows = try await f.storeRows()
        #expect(rows.values.filter { $0.state == .failed }.count == 30, "\(Dictionary(grouping: rows.values, by: \.state.rawValue).mapValues(\.count))")
        try await f.put("/_emulator/faults", json: ["errorRates": [String: Double]()])
        let retry = try await f.phoneshift(["apply", f.jobPath, "--retry-failed"])
        #expect(retry.status == 1, "\(retry.stdout)")
        #expect(retry.stdout.contains("Retrying 30 rows that failed"), "\(retry.stdout)")
        rows = try await f.storeRows()
        #expect(rows[4]?.outcome == .moved)
        #expect(rows.values.filter { $0.outcome == .changed }.count == 29)
        #expect(try await f.state()["bench3@contoso.com"]?["mobile"] == "+1 2127999003", "a moved number was overwritten")
        // A second retry does not touch the moved row, and says it needs a new plan.
        let again = try await f.phoneshift(["apply", f.jobPath, "--retry-failed"])
        #expect(again.stdout.contains("1 rows moved since the plan"), "\(again.stdout)")
        #expect(try await f.state()["bench3@contoso.com"]?["mobile"] == "+1 2127999003")
        // Planned again, the row is an update from the new value, and applied.
        #expect(try await f.phoneshift(["plan", f.jobPath]).status == 0)
        #expect(try await f.storeRows()[4]?.before == "+1 2127999003")
        #expect(try await f.phoneshift(["apply", f.jobPath]).status == 0)
        #expect(try await f.state()["bench3@contoso.com"]?["mobile"] == EngineFixture.newNumber(3))
    }

    @Test("An unfinished apply blocks a new plan unless --replace")
    func unfinishedApplyGuard() async throws {
        let f = try await EngineFixture(syntheticUsers: 200)
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 200)
        _ = f.writeJob(writesPerSecond: 30, concurrency: 2, burst: 1)
        let process = try await f.startApply { try await f.storeCount(.done) >= 5 }
        kill(process.processIdentifier, SIGINT)
        await waitForExit(process)
        #expect(process.terminationStatus == 130)
        let plan = try await f.phoneshift(["plan", f.jobPath])
        #expect(plan.status == 2 && plan.stderr.contains("unfinished"), "\(plan.stderr)")
        let replaced = try await f.phoneshift(["plan", f.jobPath, "--replace"])
        #expect(replaced.status == 0, "\(replaced.stderr)")
        #expect(try await f.phoneshift(["apply", f.jobPath]).status == 0)
    }

    @Test("Admins blocked, a missing method added by POST, a 409 phoneNumberNotUnique (the practitioners' case) seen as saved, masking on screen and in results")
    func directoryCases() async throws {
        let f = try await EngineFixture(syntheticUsers: 2) { options in options.faults.notUniqueAnswers409 = true }
        defer { Task { await f.stop() } }
        _ = f.dir.file("sheet.csv", """
            User,Phone
            farid.nilsson@contoso.com,+39 3392942100
            ann.bianchi@contoso.com,+1 2065550142
            omar.smith@contoso.com,+91 9886415838
            bench1@contoso.com,+1 2125000001

            """)
        _ = f.writeJob(writesPerSecond: 50)
        let plan = try await f.phoneshift(["plan", f.jobPath])
        #expect(plan.status == 0, "\(plan.stdout) \(plan.stderr)")
        var rows = try await f.storeRows()
        #expect(rows[2]?.action == .blocked && rows[2]?.reason.contains("Global Administrator") == true)
        #expect(rows[3]?.action == .add)
        // Masked on screen, four digits at most; the look-alike sides (+1 2065000001 → +1 2125000001)
        // are told apart by their fingerprints.
        #expect(!plan.stdout.contains("2125000001") && !plan.stdout.contains("5000001"))
        let change = try #require(plan.stdout.split(separator: "\n").first { $0.contains("bench1@contoso.com") })
        let sides = change.components(separatedBy: " → ")
        #expect(sides.count == 2 && sides[0].contains("+1 ******0001 #") && sides[1].hasPrefix("+1 ******0001 #"), "\(change)")
        let fingerprints = change.split(separator: "#").dropFirst().map { $0.prefix(4) }
        #expect(fingerprints.count == 2 && fingerprints[0] != fingerprints[1], "\(change)")
        let apply = try await f.phoneshift(["apply", f.jobPath])
        #expect(apply.status == 0, "\(apply.stdout) \(apply.stderr)")
        rows = try await f.storeRows()
        #expect(rows[3]?.outcome == .added)
        #expect(rows[4]?.outcome == .changedNotUnique && rows[4]?.errorCode == "phoneNumberNotUnique")
        let log = try await f.requests()
        #expect(log.contains { $0["method"] as? String == "POST" && $0["status"] as? Int == 201 })
        #expect(log.contains { $0["status"] as? Int == 409 })
        let state = try await f.state()
        #expect(state["farid.nilsson@contoso.com"]?["mobile"] == "+39 3392942141")
        #expect(state["ann.bianchi@contoso.com"]?["mobile"] == "+1 2065550142")
        // report.csv masks numbers; reports.fullNumbers shows them.
        let results = try String(contentsOfFile: f.dir.path + "/out/report.csv", encoding: .utf8)
        #expect(!results.contains("2065550142") && results.contains("+1 ******0142"))
        _ = f.writeJob(writesPerSecond: 50, extra: "reports:\n  fullNumbers: true")
        #expect(try await f.phoneshift(["apply", f.jobPath]).status == 0)
        #expect(try String(contentsOfFile: f.dir.path + "/out/report.csv", encoding: .utf8).contains("+1 2065550142"))
    }

    @Test("Users found by employee id; an employee id two users share is ambiguous and blocked")
    func byEmployeeId() async throws {
        let f = try await EngineFixture(syntheticUsers: 2) { options in
            options.seed.users[1].employeeId = options.seed.users[2].employeeId
        }
        defer { Task { await f.stop() } }
        let seed = try DirectorySeed.load(path: packageRoot + "/Samples/directory.json")
        let shared = try #require(seed.users[2].employeeId), target = seed.users[5]
        _ = f.dir.file("sheet.csv", "EmployeeId,Phone\n\(target.employeeId!),+1 2065550177\n\(shared),+1 2065550188\n")
        _ = f.writeJob(writesPerSecond: 50)
        #expect(try await f.phoneshift(["plan", f.jobPath]).status == 0)
        let rows = try await f.storeRows()
        #expect(rows[2]?.userId == target.id && rows[2]?.action.writes == true, "\(String(describing: rows[2]))")
        #expect(rows[3]?.action == .blocked && rows[3]?.reason.contains("2 users match") == true, "\(String(describing: rows[3]))")
        #expect(try await f.phoneshift(["apply", f.jobPath]).status == 0)
        #expect(try await f.state()[target.userPrincipalName.lowercased()]?["mobile"] == "+1 2065550177")
    }

    @Test("Users found by e-mail (a guest whose UPN is not their address)")
    func byMail() async throws {
        let f = try await EngineFixture(syntheticUsers: 1)
        defer { Task { await f.stop() } }
        _ = f.dir.file("sheet.csv", "Email,Phone\ngrace.garcia2@fabrikam.com,+1 2065550190\n")
        _ = f.writeJob(writesPerSecond: 50)
        #expect(try await f.phoneshift(["plan", f.jobPath]).status == 0)
        #expect(try await f.storeRows()[2]?.userPrincipalName == "grace.garcia2_fabrikam.com#EXT#@contoso.onmicrosoft.com")
        #expect(try await f.phoneshift(["apply", f.jobPath]).status == 0)
        #expect(try await f.state()["grace.garcia2_fabrikam.com#ext#@contoso.onmicrosoft.com"]?["mobile"] == "+1 2065550190")
    }

    @Test("An outputs folder that cannot be written is found before any row is touched")
    func outputsNotWritable() async throws {
        let f = try await EngineFixture(syntheticUsers: 5)
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 5)
        _ = f.writeJob(writesPerSecond: 50)
        #expect(try await f.phoneshift(["plan", f.jobPath]).status == 0)
        // A folder below a regular file cannot exist (even for root).
        var job = try String(contentsOfFile: f.jobPath, encoding: .utf8)
        job = job.replacingOccurrences(of: "outputs: out", with: "outputs: sheet.csv/results")
        _ = f.dir.file("job.yaml", job)
        let apply = try await f.phoneshift(["apply", f.jobPath])
        #expect(apply.status == 2)
        #expect(apply.stderr.contains("outputs folder"), "\(apply.stderr)")
        #expect(try await f.successfulWrites().isEmpty)
    }

    @Test("demo runs end to end twice, and never deletes a store it did not make")
    func demo() async throws {
        let dir = TemporaryDirectory()
        var job = try String(contentsOfFile: packageRoot + "/Jobs/demo.yaml", encoding: .utf8)
        job = job.replacingOccurrences(of: "../Samples/migration-q3.csv", with: packageRoot + "/Samples/migration-q3.csv")
            .replacingOccurrences(of: "../out/demo/demo.sqlite", with: "out/demo.sqlite")
            .replacingOccurrences(of: "../out/demo", with: "out")
        // A configured rate spares the test the quota's discovery from 5 writes/s (the
        // quota simulation tests that); everything else is the demo as shipped.
        let rateLine = try #require(job.firstRange(of: /\nrate:[^\n]*\n/))
        job.insert(contentsOf: "  writesPerSecond: 200\n", at: rateLine.upperBound)
        let jobPath = dir.file("demo.yaml", job)
        let arguments = ["demo", "--job", jobPath, "--directory", packageRoot + "/Samples/directory.json"]
        for _ in 0..<2 {
            let run = try await runProduct("phoneshift", arguments)
            // Every row is settled as the plan said (admins and the protected user blocked at
            // plan time; the SMS collision saved): success.
            #expect(run.status == 0, "\(run.stdout) \(run.stderr)")
            #expect(run.stdout.contains("== 3. apply") && run.stdout.contains("Open in a browser: file://") && run.stdout.contains("report.html")
                    && run.stdout.contains("== 5. notification drafts") && run.stdout.contains("/drafts/run-"), "\(run.stdout)")
            #expect(run.stdout.contains("== 6. readiness") && run.stdout.contains("readiness.html"), "\(run.stdout)")
        }
        // Readiness of the sample tenant: its sheet names every user with a class.
        let readiness = try readAll(dir.path + "/out/readiness.csv")
        let classes = Set(readiness.dropFirst().map { $0.fields[3] })
        #expect(readiness.count > 1 && classes.isSubset(of: ["phishing-resistant", "app", "phone-only", "none", "unknown"]) && classes.contains("phone-only"),
                "\(classes)")
        // The sample tenant's hard cases (Samples/generate.py, add_protection and the sheet's
        // SMS collision), as the report tells them.
        let report = try String(contentsOfFile: dir.path + "/out/report.csv", encoding: .utf8).split(separator: "\n")
        func row(_ user: String) -> String { String(report.first { $0.split(separator: ",").dropFirst().first == Substring(user) } ?? "") }
        #expect(row("kai.berg@contoso.com").contains(",blocked,done,blocked,") && row("kai.berg@contoso.com").contains("restricted management administrative unit 'Executives (restricted)'"))
        #expect(row("grace.tanaka@contoso.com").contains(",blocked,done,blocked,") && row("grace.tanaka@contoso.com").contains("eligible member of group Tier 0 role admins, PIM for Groups"))
        #expect(row("omar.singh@contoso.com").contains("as owner of group Tier 0 role admins"))
        #expect(row("lena.garcia@contoso.com").contains(",update,done,changed-not-unique,ready,phoneNumberNotUnique,"), "\(row("lena.garcia@contoso.com"))")
        // A job store that the demo did not make is refused and left as it is.
        try FileManager.default.removeItem(atPath: dir.path + "/out/demo.sqlite")
        let real = try JobStore(path: dir.path + "/out/demo.sqlite")
        try await real.setMeta("job_file", "/somewhere/real.yaml")
        let refused = try await runProduct("phoneshift", arguments)
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("the demo did not make"), "\(refused.stderr)")
        #expect(try await JobStore(path: dir.path + "/out/demo.sqlite").meta("job_file") == "/somewhere/real.yaml")
    }
}
