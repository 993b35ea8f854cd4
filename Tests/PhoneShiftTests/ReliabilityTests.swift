import Foundation
import GraphEmulator
import Logging
import Testing
@testable import PhoneShift

/// Faults that lose or hide state: Graph losing writes, the store's disk, the store file.
extension EndToEndTenantTests {
    @Test("Graph loses writes (the emulator restarted mid-apply): verify finds exactly the lost changes, apply writes them again, and verifyAfterApply finds them at once")
    func lostWritesFoundByVerify() async throws {
        let count = 80
        let f = try await EngineFixture(syntheticUsers: count)
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: count)
        _ = f.writeJob(writesPerSecond: 200, concurrency: 4, burst: 4)
        // The mid-run moment: 30 writes made, the next held at the emulator's gate.
        try await f.holdWrites(after: 30)
        let apply = try await f.startApply { try await f.heldWrites() >= 1 }
        try await f.post("/_emulator/reset")   // a restart: every write so far is gone (and the gate open)
        await waitForExit(apply)
        #expect(apply.terminationStatus == 0, "\(f.launchedOutput())")
        func lostUsers() async throws -> [Int] {
            let state = try await f.state()
            return (1...count).filter { state["bench\($0)@contoso.com"]?["mobile"] != EngineFixture.newNumber($0) }
        }
        let lost = try await lostUsers()
        #expect(lost.count >= 30, "\(lost.count) lost")

        // Verify in this process, so that its re-reads of rows that look lost (after 1, 2 and
        // 4 s: a read can trail a write) can be short; the lost rows stay lost however long it waits.
        var runner = JobRunner(job: try JobDefinition.load(path: f.jobPath), logger: Logger(label: "test"), environment: f.environment())
        runner.verifyRereadDelays = [0.05, 0.05]
        let beforeVerify = try await f.requests().count
        let verified = try await runner.verify()
        #expect(verified.checked == count && verified.matched == count - lost.count && verified.drifted.isEmpty, "\(verified)")
        let ids = try await f.userIds()
        #expect(Set(verified.lost.compactMap(\.userId)) == Set(lost.map { ids["bench\($0)@contoso.com"]! }))
        // Each looked-lost row was read again after every wait (not called lost on one read).
        let rereads = try await f.requests().dropFirst(beforeVerify).filter { ($0["method"] as? String) == "GET" && ($0["path"] as? String ?? "").contains("/authentication/phoneMethods") }
        #expect(rereads.count == count + 2 * lost.count, "\(rereads.count) reads for \(count) rows, \(lost.count) lost")
        let mark = try await f.requests().count
        let again = try await f.phoneshift(["apply", f.jobPath])
        #expect(again.status == 0, "\(again.stdout) \(again.stderr)")
        #expect(again.stdout.contains("Applying plan 1: \(lost.count) rows to go"), "\(again.stdout)")
        let rewritten = try await f.successfulWrites(from: mark)
        #expect(Set(rewritten.keys) == Set(lost.map { ids["bench\($0)@contoso.com"]! }) && rewritten.values.allSatisfy { $0 == 1 })
        #expect(try await lostUsers().isEmpty)
        // The binary's verify: every change in Graph now, so no re-read waits.
        let binaryVerify = try await f.phoneshift(["verify", f.jobPath])
        #expect(binaryVerify.status == 0 && binaryVerify.stdout.contains("Verified \(count) changes"), "\(binaryVerify.stdout) \(binaryVerify.stderr)")

        // The job asks for it: apply verifies what it changed and says what Graph lost.
        _ = f.writeSheet(count: count, extra: [])
        try await f.post("/_emulator/reset")
        _ = f.writeJob(writesPerSecond: 200, concurrency: 4, burst: 4, extra: "policy:\n  verifyAfterApply: true")
        #expect(try await f.phoneshift(["plan", f.jobPath]).status == 0)
        try await f.holdWrites(after: 20)
        var applier = JobRunner(job: try JobDefinition.load(path: f.jobPath), logger: Logger(label: "test"), environment: f.environment())
        applier.verifyRereadDelays = [0.05, 0.05]
        let second = Task { [applier] in try await applier.apply() }
        #expect(try await f.waitUntil { try await f.heldWrites() >= 1 })
        try await f.post("/_emulator/reset")
        let outcome = try await second.value
        let lostNow = try await lostUsers()
        #expect(outcome.verified?.lost.count == lostNow.count && lostNow.count >= 20, "\(String(describing: outcome.verified)) \(lostNow.count)")
        #expect(outcome.progress.open == lostNow.count, "lost rows are pending again: \(outcome.progress.open)")
        #expect(try await f.phoneshift(["apply", f.jobPath]).status == 0)
        #expect(try await lostUsers().isEmpty)
    }
}

/// One fault of the matrix (or several together), as emulator settings.
struct FaultCase: Sendable, CustomTestStringConvertible {
    let name: String
    /// `PUT /_emulator/faults` body (JSON text).
    let faults: String
    /// Emulator quotas (nil: the defaults).
    var appWritesPerSecond: Double?
    /// Revoke every token once this many writes have landed.
    var revokeAfterWrites: Int?
    var requestTimeout: Double = 20
    /// What must be seen for the case to count: the emulator's `fired` counters (fault kinds)
    /// and statuses in its request log (a quota's 429, a revoked token's 401).
    var fired: [String] = []
    var statuses: [Int] = []
    var testDescription: String { name }

    static let matrix: [FaultCase] = [
        FaultCase(name: "429 storm with Retry-After (a quota of 10 writes/s under a job asking 60/s)", faults: "{}", appWritesPerSecond: 10, statuses: [429]),
        FaultCase(name: "429 storm without Retry-After (10 % of requests)", faults: #"{"errorRates": {"429": 0.1}}"#, fired: ["429"]),
        FaultCase(name: "503 with Retry-After (20 %)", faults: #"{"errorRates": {"503": 0.2}, "retryAfterSeconds": 0.2}"#, fired: ["503"]),
        FaultCase(name: "500 and 504 (10 % each)", faults: #"{"errorRates": {"500": 0.1, "504": 0.1}}"#, fired: ["500", "504"]),
        FaultCase(name: "dropped connections (10 %)", faults: #"{"dropRate": 0.1}"#, fired: ["drop"]),
        FaultCase(name: "answers lost after the write was made (10 %)", faults: #"{"lostAnswerRate": 0.1}"#, fired: ["lostAnswer"]),
        FaultCase(name: "writes applied, then answered 502 (10 %)", faults: #"{"appliedThenErrorRate": 0.1, "appliedThenStatus": 502}"#, fired: ["appliedThen"]),
        FaultCase(name: "stalls beyond the timeout (5 %, 3 s against 1 s)", faults: #"{"stallRate": 0.05, "stallSeconds": 3}"#, requestTimeout: 1, fired: ["stall"]),
        FaultCase(name: "token revoked mid-run", faults: "{}", revokeAfterWrites: 20, statuses: [401]),
        FaultCase(name: "all of them at once", faults: #"{"errorRates": {"429": 0.03, "500": 0.03, "503": 0.05, "504": 0.03}, "retryAfterSeconds": 0.1, "dropRate": 0.03, "lostAnswerRate": 0.03, "appliedThenErrorRate": 0.03, "stallRate": 0.02, "stallSeconds": 3}"#,
                  appWritesPerSecond: 20, revokeAfterWrites: 20, requestTimeout: 1, fired: ["503", "drop"], statuses: [401]),
    ]
}

/// The fault matrix is a stream of its own beside `EngineTests`: its cases spend most of
/// their time waiting out backoffs (the client's, as on a real tenant), not on the cores.
@Suite("Fault matrix against the emulator (end to end, the real binaries and HTTP)", .serialized)
struct FaultMatrixTests {
    @Test("Fault matrix: under each fault alone and all together, every row ends as the sheet says, each user is written exactly once, no one else is touched, and the report's counts are the truth",
          arguments: FaultCase.matrix)
    func faultMatrix(_ fault: FaultCase) async throws {
        let count = 100
        let started = Date()
        defer { print("fault matrix: \(fault.name): \(String(format: "%.1f", Date().timeIntervalSince(started))) s") }
        let f = try await EngineFixture(syntheticUsers: count + 20) { options in
            if let writes = fault.appWritesPerSecond {
                options.throttle = ThrottleSettings(appWrites: writes, appWritesWindow: 1, resourceUnits: 200_000, resourceUnitsWindow: 10)
            }
        }
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: count)
        _ = f.writeJob(writesPerSecond: 60, concurrency: 6, burst: 6, requestTimeout: fault.requestTimeout, maxAttempts: 8)
        try await f.put("/_emulator/faults", json: try JSONSerialization.jsonObject(with: Data(fault.faults.utf8)) as! [String: Any])
        let plan = try await f.phoneshift(["plan", f.jobPath])
        #expect(plan.status == 0, "\(fault.name): plan \(plan.stdout) \(plan.stderr)")
        var apply: (status: Int32, stdout: String, stderr: String)
        if let writes = fault.revokeAfterWrites {
            // Mid-run: once that many writes landed, every token is revoked.
            let process = try f.launch(["apply", f.jobPath])
            #expect(try await f.waitUntil { try await f.successfulWrites().count >= writes }, "\(fault.name): apply never got that far")
            try await f.put("/_emulator/faults", json: ["revokeTokens": true])
            await waitForExit(process)
            apply = (process.terminationStatus, f.launchedOutput().stdout, f.launchedOutput().stderr)
        } else {
            apply = try await f.phoneshift(["apply", f.jobPath])
        }
        // A row that used up its tries is failed, never lost: --retry-failed finishes it.
        for _ in 0..<3 where apply.status == ExitStatus.rowsNeedAttention {
            apply = try await f.phoneshift(["apply", f.jobPath, "--retry-failed"])
        }
        #expect(apply.status == 0, "\(fault.name): \(apply.stdout) \(apply.stderr)")
        let state = try await f.state()
        for i in 1...count { #expect(state["bench\(i)@contoso.com"]?["mobile"] == EngineFixture.newNumber(i), "\(fault.name): bench\(i)") }
        for i in (count + 1)...(count + 20) { #expect(state["bench\(i)@contoso.com"]?["mobile"] != EngineFixture.newNumber(i)) }
        let ids = try await f.userIds()
        let sheetUsers = Set((1...count).map { ids["bench\($0)@contoso.com"]! })
        let writes = try await f.successfulWrites()
        #expect(Set(writes.keys) == sheetUsers, "\(fault.name): written \(writes.count) users")
        #expect(writes.values.allSatisfy { $0 == 1 }, "\(fault.name): written twice: \(writes.filter { $0.value > 1 }.count)")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: f.dir.path + "/out/report.json"))) as! [String: Any]
        let byResult = (report["counts"] as? [String: Any])?["byResult"] as? [String: Int] ?? [:]
        let changed = (byResult["changed"] ?? 0) + (byResult["already-applied"] ?? 0)
        #expect(changed == count && byResult.values.reduce(0, +) == count, "\(fault.name): report \(byResult)")
        // The fault really fired (else the case proved nothing).
        let fired = try await f.get("/_emulator/faults")["fired"] as? [String: Int] ?? [:]
        for kind in fault.fired { #expect((fired[kind] ?? 0) > 0, "\(fault.name): no '\(kind)' fault fired: \(fired)") }
        let statuses = Set(try await f.requests().compactMap { $0["status"] as? Int })
        for status in fault.statuses { #expect(statuses.contains(status), "\(fault.name): no \(status) answer in the emulator's log") }
    }

    @Test("The secret expires mid-run: apply stops with exit 4 saying so, loses no row, gives the lock back; with a new secret the next apply finishes, each user written once")
    func secretExpiresMidRun() async throws {
        let count = 120
        let f = try await EngineFixture(syntheticUsers: count)
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: count)
        _ = f.writeJob(writesPerSecond: 30, concurrency: 4, burst: 2)
        let apply = try await f.startApply { try await f.successfulWrites().count >= 30 }
        try await f.put("/_emulator/faults", json: ["secretExpired": true, "revokeTokens": true])
        await waitForExit(apply)
        let output = f.launchedOutput()
        #expect(apply.terminationStatus == ExitStatus.authentication, "\(output)")
        #expect(output.stderr.contains("AADSTS7000222") && output.stderr.contains("expired"), "\(output.stderr)")
        let rows = try await f.storeRows()
        #expect(rows.count == count && !rows.values.contains { $0.state == .failed }, "\(rows.values.map(\.state))")
        let status = try await f.phoneshift(["status", f.jobPath])
        #expect(!status.stdout.contains("Locked:"), "\(status.stdout)")
        try await f.put("/_emulator/faults", json: ["secretExpired": false])
        let again = try await f.phoneshift(["apply", f.jobPath])
        #expect(again.status == 0, "\(again.stdout) \(again.stderr)")
        let writes = try await f.successfulWrites()
        #expect(writes.count == count && writes.values.allSatisfy { $0 == 1 }, "\(writes.filter { $0.value > 1 })")
    }
}

/// A small tmpfs for store faults (root only; the machines this runs on allow it).
final class SmallDisk {
    let path: String
    init?(megabytes: Int) {
        guard getuid() == 0 else { return nil }
        path = NSTemporaryDirectory() + "phoneshift-disk-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m,mode=0700", "tmpfs", path]) == 0 else { return nil }
    }
    deinit {
        _ = Self.run("/bin/umount", ["-l", path])
        try? FileManager.default.removeItem(atPath: path)
    }
    func remount(readOnly: Bool) -> Bool { Self.run("/bin/mount", ["-o", "remount,\(readOnly ? "ro" : "rw")", path]) == 0 }
    /// Fills the disk with a file until it is full (nothing left for the store).
    func fill() -> String {
        let filler = path + "/filler"
        let fd = open(filler, O_WRONLY | O_CREAT, 0o600)
        let chunk = [UInt8](repeating: 1, count: 64 << 10)
        while write(fd, chunk, chunk.count) > 0 {}
        var one: UInt8 = 1
        while write(fd, &one, 1) > 0 {}
        close(fd)
        return filler
    }
    static func run(_ tool: String, _ arguments: [String]) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }
    static var available: Bool { SmallDisk(megabytes: 1) != nil }
}

extension EndToEndTenantTests {
    @Test("The store's disk fills up mid-run: apply stops with exit 7 saying so, gives its lock back, loses nothing; with room again it resumes and writes each user once",
          .enabled(if: SmallDisk.available, "needs root to mount a small tmpfs"))
    func storeDiskFull() async throws {
        let count = 200
        let f = try await EngineFixture(syntheticUsers: count)
        defer { Task { await f.stop() } }
        let disk = try #require(SmallDisk(megabytes: 8))
        _ = f.writeSheet(count: count)
        let job = f.writeJob(writesPerSecond: 30, concurrency: 4, burst: 2)
        try String(contentsOfFile: job, encoding: .utf8).replacingOccurrences(of: "store: out/test.sqlite", with: "store: \(disk.path)/test.sqlite")
            .write(toFile: job, atomically: true, encoding: .utf8)
        let launched = try await f.startApply { try await f.successfulWrites().count >= 30 }
        let filler = disk.fill()
        await waitForExit(launched)
        let apply = f.launchedOutput()
        #expect(launched.terminationStatus == ExitStatus.storeUnwritable, "\(apply.stdout) \(apply.stderr)")
        #expect(apply.stderr.contains("is full; nothing more is sent. Free some space and run the command again"), "\(apply.stderr)")
        let status = try await f.phoneshift(["status", disk.path + "/test.sqlite"])
        #expect(!status.stdout.contains("Locked:"), "the lock was left behind: \(status.stdout)")
        unlink(filler)
        let again = try await f.phoneshift(["apply", f.jobPath])
        #expect(again.status == 0, "\(again.stdout) \(again.stderr)")
        let writes = try await f.successfulWrites()
        #expect(writes.count == count && writes.values.allSatisfy { $0 == 1 })
    }

    @Test("The outputs' disk fills up during apply: the writes finish, apply exits 7 with its counts and how to get the reports; with room again, report writes them",
          .enabled(if: SmallDisk.available, "needs root to mount a small tmpfs"))
    func outputsDiskFull() async throws {
        let count = 60
        let f = try await EngineFixture(syntheticUsers: count)
        defer { Task { await f.stop() } }
        let disk = try #require(SmallDisk(megabytes: 1))
        _ = f.writeSheet(count: count)
        let job = f.writeJob(writesPerSecond: 30, concurrency: 4, burst: 2)
        try String(contentsOfFile: job, encoding: .utf8).replacingOccurrences(of: "outputs: out", with: "outputs: \(disk.path)/out")
            .write(toFile: job, atomically: true, encoding: .utf8)
        let launched = try await f.startApply { try await f.successfulWrites().count >= 10 }
        let filler = disk.fill()
        await waitForExit(launched)
        let apply = f.launchedOutput()
        #expect(launched.terminationStatus == ExitStatus.storeUnwritable, "\(apply.stdout) \(apply.stderr)")
        #expect(apply.stderr.contains("apply processed \(count) rows (changed: \(count))") && apply.stderr.contains("phoneshift report"), "\(apply.stderr)")
        #expect(try await f.successfulWrites().count == count)
        unlink(filler)
        let report = try await f.phoneshift(["report", f.jobPath])
        #expect(report.status == 0, "\(report.stdout) \(report.stderr)")
        #expect(FileManager.default.fileExists(atPath: disk.path + "/out/report.csv"))
    }

    @Test("A read-only store: apply refuses with exit 7 before any write and says what to fix",
          .enabled(if: SmallDisk.available, "needs root to mount a small tmpfs"))
    func storeReadOnly() async throws {
        let f = try await EngineFixture(syntheticUsers: 20)
        defer { Task { await f.stop() } }
        let disk = try #require(SmallDisk(megabytes: 8))
        _ = f.writeSheet(count: 20)
        let job = f.writeJob(writesPerSecond: 100, concurrency: 4)
        try String(contentsOfFile: job, encoding: .utf8).replacingOccurrences(of: "store: out/test.sqlite", with: "store: \(disk.path)/test.sqlite")
            .write(toFile: job, atomically: true, encoding: .utf8)
        #expect(try await f.phoneshift(["plan", f.jobPath]).status == 0)
        #expect(disk.remount(readOnly: true))
        let apply = try await f.phoneshift(["apply", f.jobPath])
        #expect(apply.status == ExitStatus.storeUnwritable, "\(apply.stdout) \(apply.stderr)")
        #expect(apply.stderr.contains("read-only"), "\(apply.stderr)")
        #expect(try await f.successfulWrites().isEmpty)
        #expect(disk.remount(readOnly: false))
        #expect(try await f.phoneshift(["apply", f.jobPath]).status == 0)
    }

    @Test("The store file deleted mid-run: apply stops (exit 7) instead of finishing on an unlinked file; a new plan finds what was done and each user is written once")
    func storeDeletedMidRun() async throws {
        let count = 120
        let f = try await EngineFixture(syntheticUsers: count)
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: count)
        _ = f.writeJob(writesPerSecond: 30, concurrency: 4, burst: 2)
        let apply = try await f.startApply { try await f.successfulWrites().count >= 20 }
        for suffix in ["", "-wal", "-shm"] { unlink(f.storePath + suffix) }
        await waitForExit(apply)
        #expect(apply.terminationStatus == ExitStatus.storeUnwritable, "\(f.launchedOutput())")
        #expect(f.launchedOutput().stderr.contains("was deleted or replaced while this run was using it"), "\(f.launchedOutput().stderr)")
        let written = try await f.successfulWrites().count
        #expect(written < count)
        #expect(try await f.phoneshift(["plan", f.jobPath]).stdout.contains("unchanged: \(written)"))
        #expect(try await f.phoneshift(["apply", f.jobPath]).status == 0)
        let writes = try await f.successfulWrites()
        #expect(writes.count == count && writes.values.allSatisfy { $0 == 1 }, "\(writes.filter { $0.value > 1 })")
    }
}

extension EndToEndTenantTests {
    @Test("Chaos: rows with faults on, SIGKILLed again and again (twice during plan) and resumed; the truth checked from the emulator (Benchmarks/chaos.py; 200 rows and 6 kills here, 2,000 and 20 under .ci/nightly)")
    func chaosShort() async throws {
        let dir = TemporaryDirectory()
        let (rows, kills, rate) = RunSize.pick(short: (200, 6, 30), full: (2000, 20, 100))
        let run = try await runTool("/usr/bin/env", ["python3", packageRoot + "/Benchmarks/chaos.py", "--bin", productsDirectory, "--seed", "11",
                                                     "--rows", "\(rows)", "--kills", "\(kills)", "--plan-kills", "2", "--writes-per-second", "\(rate)",
                                                     "--work", dir.path + "/chaos"], in: dir)
        let text = run.stdout + run.stderr
        #expect(run.status == 0, "\(text)")
        // The kills happen while there is still work (an apply that finishes first ends the killing early).
        let done = text.firstMatch(of: /kills=(\d+) \(plan (\d+), apply (\d+)\)/)
        #expect(done.map { Int($0.2) == 2 && Int($0.3)! >= (kills - 2) / 2 + 1 } == true, "\(text)")
        #expect(text.contains("applied=\(rows)/\(rows)") && text.contains("outside=0 report=ok"), "\(text)")
    }
}
