import Foundation
import GraphEmulator
import Testing
import Yams
@testable import PhoneShift

/// `phoneshift run`: delta, safety valves, the exit-code table, locks and output modes,
/// against the emulator with the real binary.
extension EndToEndTenantTests {
    /// A sheet giving bench users 1...count a number: `number(i)` (nil: a blank cell), rows
    /// `skip` left out.
    static func exportSheet(_ f: EngineFixture, count: Int, skip: Set<Int> = [], number: (Int) -> String?) -> String {
        var text = "UPN,Phone\n"
        for i in 1...count where !skip.contains(i) { text += "bench\(i)@contoso.com,\(number(i) ?? "")\n" }
        return f.dir.file("sheet.csv", text)
    }

    /// The number the emulator seeds synthetic user `i` with.
    static func seededNumber(_ i: Int) -> String { "+1 2065\(String(format: "%06d", i % 1_000_000))" }

    /// Request-log entries from `from` on that read or write one user (`/users/{id}/…`).
    static func perUser(_ entries: ArraySlice<[String: Any]>) -> (reads: [[String: Any]], writes: [[String: Any]]) {
        var reads: [[String: Any]] = [], writes: [[String: Any]] = []
        for e in entries {
            let path = e["path"] as? String ?? "", method = e["method"] as? String ?? ""
            guard path.hasPrefix("/v1.0/users/") || path.hasPrefix("/v1.0/users(") else { continue }
            if method == "GET" { reads.append(e) } else { writes.append(e) }
        }
        return (reads, writes)
    }

    static let deltaJob = "delta:\n  fullEveryDays: 7"

    @Test("Delta: a second run of an unchanged export (2,000 rows; 10,000 under .ci/nightly) makes no write and no per-user read and says nothing to do; one changed number costs two reads (its UPN resolved again, its methods) and one write")
    func deltaRunCostsOnlyWhatChanged() async throws {
        let count = RunSize.pick(short: 2_000, full: 10_000)
        let f = try await EngineFixture(syntheticUsers: count)
        defer { Task { await f.stop() } }
        // The export as Graph already has it, except users 1...5 (new numbers).
        _ = Self.exportSheet(f, count: count) { $0 <= 5 ? EngineFixture.newNumber($0) : Self.seededNumber($0) }
        _ = f.writeJob(writesPerSecond: 200, readsPerSecond: 5000, concurrency: 32, burst: 50, extra: Self.deltaJob)
        let first = try await f.phoneshift(["run", f.jobPath, "--detailed-exitcode"])
        #expect(first.status == ExitStatus.successWithChanges, "\(first.stdout) \(first.stderr)")
        #expect(first.stdout.contains("(full comparison)"), "\(first.stdout)")

        let mark = try await f.requests().count
        let second = try await f.phoneshift(["run", f.jobPath, "--detailed-exitcode"])
        #expect(second.status == ExitStatus.success, "\(second.stdout) \(second.stderr)")
        #expect(second.stdout.contains("Nothing to do"), "\(second.stdout)")
        #expect(second.stdout.contains("\(count) unchanged since the last run (not read)"), "\(second.stdout)")
        let quiet = Self.perUser(try await f.requests().dropFirst(mark))
        #expect(quiet.reads.isEmpty, "per-user reads: \(quiet.reads.prefix(3))")
        #expect(quiet.writes.isEmpty)

        // One number changes in the export: that user alone is read once and written once.
        _ = Self.exportSheet(f, count: count) { $0 <= 5 ? EngineFixture.newNumber($0) : $0 == count - 42 ? "+1 2129994242" : Self.seededNumber($0) }
        let ids = try await f.userIds()
        let mark2 = try await f.requests().count
        let third = try await f.phoneshift(["run", f.jobPath, "--detailed-exitcode"])
        #expect(third.status == ExitStatus.successWithChanges, "\(third.stdout) \(third.stderr)")
        let one = Self.perUser(try await f.requests().dropFirst(mark2))
        let target = try #require(ids["bench\(count - 42)@contoso.com"])
        // Two reads: the UPN resolved again (a reused UPN must not reach the old account), then its methods.
        #expect(one.reads.count == 2 && one.reads.allSatisfy { ($0["path"] as? String ?? "").contains(target) || ($0["path"] as? String ?? "").contains("bench\(count - 42)@") },
                "\(one.reads)")
        #expect(one.writes.count == 1 && (one.writes.first?["path"] as? String ?? "").contains(target), "\(one.writes)")
        #expect(try await f.state()["bench\(count - 42)@contoso.com"]?["mobile"] == "+1 2129994242")
    }

    @Test("Safety valves: an export with every phone blank, half its rows missing, or every number changed writes nothing, exits 5 and says why in one line; --accept-valves lets a checked one through")
    func brokenExportsTripValves() async throws {
        let count = 200
        let f = try await EngineFixture(syntheticUsers: count)
        defer { Task { await f.stop() } }
        _ = Self.exportSheet(f, count: count) { $0 <= 4 ? EngineFixture.newNumber($0) : Self.seededNumber($0) }
        _ = f.writeJob(writesPerSecond: 200, concurrency: 8, extra: Self.deltaJob + "\nvalves:\n  maxChangePercent: 20")
        let good = try await f.phoneshift(["run", f.jobPath])
        #expect(good.status == 0, "\(good.stdout) \(good.stderr)")
        let afterGood = try await f.state()

        func expectTripped(_ valve: String, _ because: String) async throws {
            let mark = try await f.requests().count
            let r = try await f.phoneshift(["run", f.jobPath])
            #expect(r.status == ExitStatus.safetyValve, "\(valve): \(r.status) \(r.stdout) \(r.stderr)")
            let lines = r.stderr.split(separator: "\n").filter { $0.contains("safety valve") }
            #expect(lines.count == 1 && lines[0].contains(valve) && lines[0].contains(because) && lines[0].contains("nothing was written"), "\(r.stderr)")
            #expect(Self.perUser(try await f.requests().dropFirst(mark)).writes.isEmpty, "\(valve) wrote")
        }
        // Every phone blank: stopped before any Graph read.
        _ = Self.exportSheet(f, count: count) { _ in nil }
        let mark = try await f.requests().count
        try await expectTripped("valves.maxBlankOrInvalidPercent", "200 of 200 numbers in the sheet (100 %) are blank or invalid")
        #expect(Self.perUser(try await f.requests().dropFirst(mark)).reads.isEmpty)
        // Half the rows missing (the classic half-written export).
        _ = Self.exportSheet(f, count: count, skip: Set(101...200)) { Self.seededNumber($0) }
        try await expectTripped("valves.maxShrinkPercent", "the sheet has 100 rows, 50 % fewer than the 200 of the last successful run")
        // Every number changed.
        _ = Self.exportSheet(f, count: count) { "+1 2128\(String(format: "%06d", $0))" }
        try await expectTripped("valves.maxChangePercent", "200 of 200 rows (100 %) would change, more than 20 %")
        #expect(try await f.state() == afterGood)
        // A person checked it: accepted for one run.
        let accepted = try await f.phoneshift(["run", f.jobPath, "--accept-valves"])
        #expect(accepted.status == 0, "\(accepted.stdout) \(accepted.stderr)")
        #expect(accepted.stderr.contains("valves.maxChangePercent tripped and was accepted"), "\(accepted.stderr)")
        #expect(try await f.state()["bench7@contoso.com"]?["mobile"] == "+1 2128000007")
    }

    @Test("A number changed in Graph by someone else: skipped by delta, found by the next full comparison (--full, or fullEveryDays come round) and kept or restored as the job says")
    func changedElsewhereFoundByFullComparison() async throws {
        let f = try await EngineFixture(syntheticUsers: 30)
        defer { Task { await f.stop() } }
        _ = Self.exportSheet(f, count: 30) { EngineFixture.newNumber($0) }
        _ = f.writeJob(writesPerSecond: 200, concurrency: 8, extra: Self.deltaJob)
        #expect(try await f.phoneshift(["run", f.jobPath]).status == 0)
        let ids = try await f.userIds()
        try await f.changeInGraph(userId: ids["bench9@contoso.com"]!, slot: "mobile", number: "+1 2065550909")

        // Delta reads nothing: the change is not seen (that is what the full comparison is for).
        let delta = try await f.phoneshift(["run", f.jobPath])
        #expect(delta.status == 0 && delta.stdout.contains("Nothing to do"), "\(delta.stdout) \(delta.stderr)")
        // --full finds it; the default policy keeps it and says the row needs attention (exit 1).
        let mark = try await f.requests().count
        let full = try await f.phoneshift(["run", f.jobPath, "--full"])
        #expect(full.status == ExitStatus.rowsNeedAttention, "\(full.stdout) \(full.stderr)")
        #expect(full.stdout.contains("Changed elsewhere: 1"), "\(full.stdout)")
        #expect(Self.perUser(try await f.requests().dropFirst(mark)).writes.isEmpty)
        #expect(try await f.state()["bench9@contoso.com"]?["mobile"] == "+1 2065550909")
        let report = try String(contentsOfFile: f.dir.path + "/out/report.csv", encoding: .utf8)
        let line = try #require(report.split(separator: "\n").first { $0.contains("bench9@contoso.com") })
        #expect(line.contains("changed-elsewhere") && line.contains("changed outside PhoneShift"), "\(line)")

        // The job says restore. bench9 is known to differ (the full comparison saw it), so the
        // next delta run restores it; bench10 is changed behind PhoneShift's back now, and only
        // a full comparison can find it: not while the last one is six days old (fullEveryDays: 7),
        // at once when it is eight days old.
        _ = f.writeJob(writesPerSecond: 200, concurrency: 8, extra: Self.deltaJob + "\npolicy:\n  changedElsewhere: restore")
        try await f.changeInGraph(userId: ids["bench10@contoso.com"]!, slot: "mobile", number: "+1 2065551010")
        func lastFull(daysAgo: Double) async throws {
            let when = JobStore.timestamp(Date().addingTimeInterval(-daysAgo * 86_400))
            try await f.storeSQL("UPDATE meta SET value = '\(when)' WHERE key = 'delta_last_full'")
        }
        try await lastFull(daysAgo: 6)
        let notDue = try await f.phoneshift(["run", f.jobPath, "--detailed-exitcode"])
        #expect(notDue.status == ExitStatus.successWithChanges && !notDue.stdout.contains("(full comparison)"), "\(notDue.stdout) \(notDue.stderr)")
        #expect(try await f.state()["bench9@contoso.com"]?["mobile"] == EngineFixture.newNumber(9))
        #expect(try await f.state()["bench10@contoso.com"]?["mobile"] == "+1 2065551010", "a delta run that was not due read bench10")
        try await lastFull(daysAgo: 8)
        let restore = try await f.phoneshift(["run", f.jobPath, "--detailed-exitcode"])
        #expect(restore.status == ExitStatus.successWithChanges, "\(restore.stdout) \(restore.stderr)")
        #expect(restore.stdout.contains("(full comparison)"), "\(restore.stdout)")
        #expect(try await f.state()["bench10@contoso.com"]?["mobile"] == EngineFixture.newNumber(10))

        // Two users leave the export: listed, never touched.
        let before = try await f.state()
        _ = Self.exportSheet(f, count: 30, skip: [29, 30]) { EngineFixture.newNumber($0) }
        let vanished = try await f.phoneshift(["run", f.jobPath])
        #expect(vanished.status == 0, "\(vanished.stdout) \(vanished.stderr)")
        #expect(vanished.stdout.contains("Vanished: 2 users") && vanished.stdout.contains("bench29@contoso.com"), "\(vanished.stdout)")
        let list = try String(contentsOfFile: f.dir.path + "/out/vanished-users.csv", encoding: .utf8)
        #expect(list.contains("bench29@contoso.com") && list.contains("bench30@contoso.com") && !list.contains("bench28@"), "\(list)")
        #expect(try await f.state() == before)
    }

    @Test("requireBackupMethod holds back a phone-only user and lists them in the report; onlySetWhenEmpty keeps users' own numbers; a blank cell removes a number only when the job says so")
    func policiesForImports() async throws {
        let f = try await EngineFixture(syntheticUsers: 12) { options in
            let base = options.seed.users.count - 12
            options.seed.users[base + 2].otherMethods = options.seed.users[base + 2].otherMethods?.filter { $0.type == "password" }  // bench3: phones only
            options.seed.users[base + 4].phoneMethods = []   // bench5: no mobile yet
            options.seed.users[base + 11].phoneMethods = []  // bench12: no mobile yet
        }
        defer { Task { await f.stop() } }
        _ = Self.exportSheet(f, count: 12) { $0 >= 11 ? nil : EngineFixture.newNumber($0) }
        _ = f.writeJob(writesPerSecond: 200, concurrency: 4, extra: "policy:\n  requireBackupMethod: true")
        let r = try await f.phoneshift(["run", f.jobPath])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        var state = try await f.state()
        #expect(state["bench3@contoso.com"]?["mobile"] == Self.seededNumber(3))       // held back
        #expect(state["bench4@contoso.com"]?["mobile"] == EngineFixture.newNumber(4))  // has Authenticator: changed
        #expect(state["bench5@contoso.com"]?["mobile"] == EngineFixture.newNumber(5))  // had none: added
        #expect(state["bench11@contoso.com"]?["mobile"] == Self.seededNumber(11))     // blank: untouched
        let report = try String(contentsOfFile: f.dir.path + "/out/report.csv", encoding: .utf8)
        let held = try #require(report.split(separator: "\n").first { $0.contains("bench3@contoso.com") })
        #expect(held.contains("blocked") && held.contains("held back") && held.contains("requireBackupMethod"), "\(held)")
        let html = try String(contentsOfFile: f.dir.path + "/out/report.html", encoding: .utf8)
        #expect(html.contains("held back"))

        // onlySetWhenEmpty: a user's own number stays; a user without one gets the sheet's.
        _ = Self.exportSheet(f, count: 12) { $0 == 6 ? "+1 2129990006" : $0 == 12 ? EngineFixture.newNumber(12) : $0 == 11 ? nil : EngineFixture.newNumber($0) }
        _ = f.writeJob(writesPerSecond: 200, concurrency: 4, extra: "policy:\n  onlySetWhenEmpty: true")
        let kept = try await f.phoneshift(["run", f.jobPath])
        #expect(kept.status == 0, "\(kept.stdout) \(kept.stderr)")
        state = try await f.state()
        #expect(state["bench6@contoso.com"]?["mobile"] == EngineFixture.newNumber(6))
        #expect(state["bench12@contoso.com"]?["mobile"] == EngineFixture.newNumber(12))

        // blankRemovesNumber: now the blank cell removes bench11's number.
        _ = f.writeJob(writesPerSecond: 200, concurrency: 4, extra: "policy:\n  blankRemovesNumber: true")
        let removed = try await f.phoneshift(["run", f.jobPath])
        #expect(removed.status == 0, "\(removed.stdout) \(removed.stderr)")
        #expect(try await f.state()["bench11@contoso.com"]?["mobile"] == nil)
        #expect(try await f.state()["bench6@contoso.com"]?["mobile"] == "+1 2129990006")
    }

    @Test("Two runs at once: one works, the other exits 3 with a clear message and touches nothing")
    func concurrentRunsLock() async throws {
        let f = try await EngineFixture(syntheticUsers: 40)
        defer { Task { await f.stop() } }
        _ = Self.exportSheet(f, count: 40) { EngineFixture.newNumber($0) }
        _ = f.writeJob(writesPerSecond: 8, concurrency: 2, burst: 1, extra: Self.deltaJob)
        let first = try f.launch(["run", f.jobPath])
        let store = try JobStore(path: f.storePath)
        #expect(try await f.waitUntil { try await f.successfulWrites().count >= 2 })
        let mark = try await f.requests().count
        let runsBefore = try await store.count("SELECT COUNT(*) FROM runs", [])
        let second = try await f.phoneshift(["run", f.jobPath])
        #expect(second.status == ExitStatus.locked, "\(second.stdout) \(second.stderr)")
        #expect(second.stderr.contains("the job is locked") && second.stderr.contains("run by pid \(first.processIdentifier)"), "\(second.stderr)")
        let during = try await f.requests().dropFirst(mark)
        #expect(!during.contains { ($0["path"] as? String ?? "").contains("/token") }, "the second run asked for a token")
        #expect(try await store.count("SELECT COUNT(*) FROM runs", []) == runsBefore)
        await waitForExit(first)
        #expect(first.terminationStatus == 0, "\(f.launchedOutput())")
        #expect(try await f.successfulWrites().values.allSatisfy { $0 == 1 })
    }

    @Test("Every command takes the same output options: with --log-format json only JSON lines on standard error and nothing on standard output; with --quiet nothing at all on success; -v everywhere")
    func sameOutputOptionsEverywhere() async throws {
        let f = try await EngineFixture(syntheticUsers: 5)
        defer { Task { await f.stop() } }
        let sheet = f.writeSheet(count: 5)
        _ = f.writeJob(writesPerSecond: 200, extra: EngineFixture.notifyAfterApply)
        let commands: [[String]] = [["validate", sheet], ["plan", f.jobPath], ["apply", f.jobPath], ["status", f.jobPath],
                                    ["report", f.jobPath], ["verify", f.jobPath], ["export", f.jobPath], ["notify", f.jobPath]]
        for command in commands {
            let name = command[0]
            let json = try await f.phoneshift(command + ["--log-format", "json", "-v"])
            #expect(json.status == 0, "\(name): \(json.stderr)")
            #expect(json.stdout.isEmpty, "\(name) wrote to standard output: \(json.stdout)")
            let lines = json.stderr.split(separator: "\n")
            #expect(!lines.isEmpty, "\(name): no JSON line")
            for line in lines {
                let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
                #expect(object?["time"] != nil && object?["level"] != nil && object?["message"] != nil, "\(name): \(line)")
            }
            #expect(!json.stderr.contains("2127000003"), "\(name): a number unmasked")
            let quiet = try await f.phoneshift(command + ["--quiet"])
            #expect(quiet.status == 0 && quiet.stdout.isEmpty && quiet.stderr.isEmpty, "\(name) --quiet: \(quiet.stdout) \(quiet.stderr)")
        }
        let text = try await f.phoneshift(["status", f.jobPath])
        #expect(text.stdout.contains("Written:"), "\(text.stdout)")
        // -v is not parsed and ignored: report and notify say what they decided.
        let report = try await f.phoneshift(["report", f.jobPath, "-v"])
        #expect(report.stderr.contains("reported plan") && report.stderr.contains("numbers masked"), "\(report.stderr)")
        let notify = try await f.phoneshift(["notify", f.jobPath, "-v"])
        #expect(notify.stderr.contains("drafts for the last run") && notify.stderr.contains("templates built in"), "\(notify.stderr)")
    }

    @Test("Output for machines: --log-format json writes only JSON lines (masked, no secret) with the exit code; --quiet prints nothing on success; --version names the libraries")
    func outputModes() async throws {
        let f = try await EngineFixture(syntheticUsers: 10)
        defer { Task { await f.stop() } }
        _ = Self.exportSheet(f, count: 10) { EngineFixture.newNumber($0) }
        _ = f.writeJob(writesPerSecond: 200, concurrency: 4, extra: Self.deltaJob + """

            keepRuns: 2
            notify:
              from: IT Helpdesk <helpdesk@contoso.com>
              helpdesk: "+1 206 555 0100"
              afterApply: true
            """)
        let json = try await f.phoneshift(["run", f.jobPath, "--log-format", "json", "--verbose", "--detailed-exitcode"])
        #expect(json.status == ExitStatus.successWithChanges, "\(json.stderr)")
        #expect(json.stdout.isEmpty, "\(json.stdout)")
        let lines = json.stderr.split(separator: "\n")
        #expect(lines.count >= 3)
        var events: [[String: Any]] = []
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["time"] != nil && object?["level"] != nil && object?["message"] != nil, "\(line)")
            if let object { events.append(object) }
        }
        let result = try #require(events.first { $0["event"] as? String == "result" })
        #expect(result["exitCode"] as? Int == Int(ExitStatus.successWithChanges) && result["changed"] as? Int == 10, "\(result)")
        #expect(!json.stderr.contains(EmulatorOptions.defaultClientSecret) && !json.stderr.contains("2127000003"), "\(json.stderr)")

        let quiet = try await f.phoneshift(["run", f.jobPath, "--quiet"])
        #expect(quiet.status == 0 && quiet.stdout.isEmpty && quiet.stderr.isEmpty, "\(quiet.stdout) \(quiet.stderr)")
        // A failure in JSON mode is a JSON line with its exit code.
        let locked = try await f.phoneshift(["run", f.dir.path + "/missing.yaml", "--log-format", "json"])
        let failure = try JSONSerialization.jsonObject(with: Data(locked.stderr.utf8)) as? [String: Any]
        #expect(locked.status == ExitStatus.usage && failure?["exitCode"] as? Int == 2 && failure?["level"] as? String == "error", "\(locked.stderr)")

        // keepRuns: 2 — after four runs the store holds the newest two plans, and the draft-less
        // apply runs of the pruned ones are gone.
        for i in 1...2 {
            _ = Self.exportSheet(f, count: 10) { $0 == i ? "+1 212555000\(i)" : EngineFixture.newNumber($0) }
            #expect(try await f.phoneshift(["run", f.jobPath]).status == 0)
        }
        let store = try JobStore(path: f.storePath)
        #expect(try await store.count("SELECT COUNT(*) FROM plans", []) == 2)
        #expect(try await store.count("SELECT COUNT(DISTINCT plan_id) FROM rows", []) == 2)
        #expect(try await store.count("SELECT COUNT(*) FROM runs WHERE plan_id IS NOT NULL AND plan_id NOT IN (SELECT id FROM plans)", []) == 0)
        #expect(try await store.count("SELECT COUNT(*) FROM events WHERE kind = 'prune'", []) >= 1)
        let folders = try FileManager.default.contentsOfDirectory(atPath: f.dir.path + "/out/drafts").sorted()
        let keptRuns = try await store.perform { db in
            let q = try db.prepare("SELECT id FROM runs WHERE command = 'apply' ORDER BY id")
            try q.bind([])
            var ids: [String] = []
            while try q.step() { ids.append("run-\(q.int(0))") }
            return ids
        }
        #expect(!folders.isEmpty && Set(folders).isSubset(of: Set(keptRuns)), "drafts \(folders), runs \(keptRuns)")

        let version = try await f.phoneshift(["--version"])
        #expect(version.status == 0)
        for library in ["phoneshift \(VersionInfo.phoneShift)", "libphonenumber 8.", "metadata compiled in", "libcurl 7.", "SQLite 3.", "libcsv 3."] {
            #expect(version.stdout.contains(library), "\(library) in \(version.stdout)")
        }
    }
}

@Suite("Unattended deployment files: systemd units, the Kubernetes CronJob, the nightly job")
struct DeploymentFilesTests {
    static let systemdAnalyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test("The systemd service and timer pass systemd-analyze verify",
          .enabled(if: DeploymentFilesTests.systemdAnalyze != nil, "systemd-analyze is not installed: the units are not verified here"))
    func systemdUnits() async throws {
        let analyze = try #require(Self.systemdAnalyze)
        let dir = TemporaryDirectory()
        for name in ["phoneshift-hr-nightly.service", "phoneshift-hr-nightly.timer"] {
            var text = try String(contentsOfFile: packageRoot + "/Jobs/systemd/" + name, encoding: .utf8)
            // verify checks that ExecStart's program exists: point it at the built one.
            text = text.replacingOccurrences(of: "/usr/local/bin/phoneshift", with: productsDirectory + "/phoneshift")
            _ = dir.file(name, text)
        }
        let verify = try await runTool(analyze, ["verify", dir.path + "/phoneshift-hr-nightly.service", dir.path + "/phoneshift-hr-nightly.timer"], in: dir)
        let output = verify.stdout + verify.stderr
        #expect(verify.status == 0 && output.isEmpty, "\(output)")
        let service = try String(contentsOfFile: packageRoot + "/Jobs/systemd/phoneshift-hr-nightly.service", encoding: .utf8)
        #expect(service.contains("ExecStart=/usr/local/bin/phoneshift run ") && service.contains("SuccessExitStatus=\(ExitStatus.successWithChanges)"))
    }

    @Test("The Kubernetes manifest: a CronJob that forbids overlapping runs, keeps the job store on a persistent volume, runs phoneshift run, and a job file PhoneShift accepts")
    func kubernetesCronJob() throws {
        let text = try String(contentsOfFile: packageRoot + "/Jobs/kubernetes/phoneshift-cronjob.yaml", encoding: .utf8)
        let documents = try Yams.load_all(yaml: text).compactMap { $0 as? [String: Any] }
        func kind(_ k: String) -> [String: Any]? { documents.first { $0["kind"] as? String == k } }
        let cron = try #require(kind("CronJob")?["spec"] as? [String: Any])
        #expect(cron["concurrencyPolicy"] as? String == "Forbid")
        let pod = try #require(((cron["jobTemplate"] as? [String: Any])?["spec"] as? [String: Any])?["template"] as? [String: Any])
        let podSpec = try #require(pod["spec"] as? [String: Any])
        let container = try #require((podSpec["containers"] as? [[String: Any]])?.first)
        #expect((container["args"] as? [String])?.prefix(1) == ["run"])
        let claim = try #require(kind("PersistentVolumeClaim")?["metadata"] as? [String: Any])["name"] as? String
        let volumes = try #require(podSpec["volumes"] as? [[String: Any]])
        let store = try #require(volumes.first { ($0["persistentVolumeClaim"] as? [String: Any])?["claimName"] as? String == claim })
        let mounts = try #require(container["volumeMounts"] as? [[String: Any]])
        let storeMount = try #require(mounts.first { $0["name"] as? String == store["name"] as? String })["mountPath"] as? String
        // The job file in the ConfigMap is one PhoneShift loads, with its store on that volume.
        let jobText = try #require((kind("ConfigMap")?["data"] as? [String: Any])?["hr-nightly.yaml"] as? String)
        let dir = TemporaryDirectory()
        let job = try JobDefinition.load(path: dir.file("hr-nightly.yaml", jobText))
        #expect(job.store.hasPrefix(try #require(storeMount) + "/"), "\(job.store)")
        #expect(job.delta != nil && job.valves.maxChangePercent == 10)
    }

    @Test("Jobs/hr-nightly.yaml uses run, delta and the valves")
    func nightlyJob() throws {
        let job = try JobDefinition.load(path: packageRoot + "/Jobs/hr-nightly.yaml")
        #expect(job.delta?.fullEveryDays == 7 && job.keepRuns == 30 && job.policy.requireBackupMethod)
        #expect(job.valves.maxShrinkPercent == 20 && job.valves.maxChanges == 500)
        let text = try String(contentsOfFile: packageRoot + "/Jobs/hr-nightly.yaml", encoding: .utf8)
        #expect(text.contains("phoneshift run ") && !text.contains("phoneshift plan"))
    }
}
