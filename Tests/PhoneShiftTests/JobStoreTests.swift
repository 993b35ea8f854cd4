import Foundation
import Testing
@testable import PhoneShift

@Suite("Job store: locks, migrations, permissions, group commit")
struct JobStoreTests {
    let dir = TemporaryDirectory()

    func sql(_ store: JobStore, _ text: String, _ values: [SQLiteValue?] = []) async throws {
        try await store.perform { db in try db.prepare(text).run(values) }
    }

    @Test("Stored rows are read by column name; a value this PhoneShift does not know (an action, a state, a flag, an outcome) is an error naming the row, never a default",
          arguments: ["action = 'frobnicate'", "state = 'half-done'", "phone_type = 'pager'", "flags = 'phones-only,teleported'", "outcome = 'vaporised'"])
    func unknownStoredValue(_ damage: String) async throws {
        let store = try JobStore(path: dir.path + "/rows.sqlite")
        let plan = try await store.beginPlan(sheetPath: "/s.csv", sheetHash: "h", phoneType: .mobile, settings: "")
        var row = PlanRow(line: 4, user: "ada@contoso.com", userId: "id", phoneType: .mobile, before: "+1 2065550100", target: "+1 2065550199", action: .update)
        row.flags = [.phonesOnly]
        try await store.insertPlanRows([row], plan: plan)
        try await store.savePlannedRows([row], plan: plan)
        let read = try await store.allRows(plan: plan)
        #expect(read.count == 1 && read[0].flags == [.phonesOnly] && read[0].action == .update && read[0].target == row.target)
        try await sql(store, "UPDATE rows SET \(damage)")
        await #expect { _ = try await store.allRows(plan: plan) } throws: { error in
            let message = "\(error)"
            return (error as? PhoneShiftError)?.code == .store && message.contains("line 4") && message.contains("does not know")
        }
    }

    @Test("The lock: a dead holder is replaced, a live one on this host never (not even forced), another host's only when stale or forced")
    func lock() async throws {
        let path = dir.path + "/store/job.sqlite"
        let store = try JobStore(path: path)
        #expect((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) == 0o600)
        guard case .acquired = try await store.acquireLock(command: "apply") else { Issue.record("lock not acquired"); return }
        // A lock left by a process that is gone (a pid that exists no more) is taken over.
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        await waitForExit(gone)
        try await sql(store, "UPDATE lock SET pid = ?1, token = 'other'", [.integer(Int64(gone.processIdentifier))])
        guard case .tookOver(let holder, let reason) = try await store.acquireLock(command: "apply") else { Issue.record("no take-over"); return }
        #expect(holder.pid == gone.processIdentifier)
        #expect(reason == "its process is gone")
        // A live holder on this host (pid 1, started when it did) keeps the lock, even with a
        // stale heartbeat, and even against --force-unlock.
        let initStart = try #require(ProcessIdentity.startTime(of: 1), "this machine's process 1 has no start time to compare")
        try await sql(store, "UPDATE lock SET pid = 1, token = 'other', process_start = ?1, heartbeat = heartbeat - 3600", [.text(initStart)])
        guard case .heldBy(let live) = try await store.acquireLock(command: "apply") else { Issue.record("live lock taken"); return }
        #expect(live.pid == 1)
        guard case .holderAlive = try await store.acquireLock(command: "apply", force: true) else { Issue.record("forced past a live holder"); return }
        // The same pid with another start time is a reused pid: its holder is gone.
        try await sql(store, "UPDATE lock SET process_start = 'not-its-start'")
        guard case .tookOver(_, let reused) = try await store.acquireLock(command: "apply") else { Issue.record("reused pid kept the lock"); return }
        #expect(reused == "its process is gone")
        // Another host's holder: kept while its heartbeat is fresh, replaced when stale or forced.
        try await sql(store, "UPDATE lock SET host = 'other-host', token = 'other', heartbeat = ?1", [.real(Date().timeIntervalSince1970)])
        guard case .heldBy = try await store.acquireLock(command: "apply") else { Issue.record("fresh remote lock taken"); return }
        guard case .tookOver(_, let forced) = try await store.acquireLock(command: "apply", force: true) else { Issue.record("force refused"); return }
        #expect(forced == "--force-unlock")
        try await sql(store, "UPDATE lock SET host = 'other-host', token = 'other', heartbeat = heartbeat - 3600")
        guard case .tookOver(_, let stale) = try await store.acquireLock(command: "apply") else { Issue.record("stale remote lock kept"); return }
        #expect(stale.contains("heartbeat"))
        await #expect(throws: SQLiteError.self) {
            try await store.perform { db in try db.execute("UPDATE events SET detail = 'rewritten'") }
        }
    }

    @Test("A store that lost its lock writes nothing more and its heartbeat says so")
    func lostLock() async throws {
        let store = try JobStore(path: dir.path + "/lost.sqlite")
        guard case .acquired = try await store.acquireLock(command: "apply") else { Issue.record("lock not acquired"); return }
        let plan = try await store.beginPlan(sheetPath: "s.csv", sheetHash: "h", phoneType: .mobile, settings: "")
        try await store.insertPlanRows([PlanRow(line: 2, user: "a@b.c", phoneType: .mobile, target: "+1 2125550100", action: .update)], plan: plan)
        try await store.heartbeat(run: nil)
        // Another process (another host) takes the lock.
        try await sql(store, "UPDATE lock SET host = 'elsewhere', token = 'theirs'")
        await #expect { try await store.heartbeat(run: nil) } throws: { ($0 as? PhoneShiftError)?.code == .lockLost }
        await #expect { try await store.update([RowUpdate(line: 2, state: .inFlight)], plan: plan, run: 1) } throws: {
            ($0 as? PhoneShiftError)?.code == .lockLost
        }
        let rows = try await store.allRows(plan: plan)
        #expect(rows.first?.state == .pending)
    }

    @Test("Store timestamps are ISO 8601 in UTC, as Foundation's formatter writes them", arguments: [0.0, 1_795_000_000, 1_795_000_000.999, 951_782_400])
    func timestamps(_ seconds: Double) {
        let date = Date(timeIntervalSince1970: seconds)
        #expect(JobStore.timestamp(date) == ISO8601DateFormatter().string(from: date))
    }

    @Test("Many processes opening a new store at once: each opens it (none is told it is locked) and each migration step is applied once", arguments: Array(1...12))
    func concurrentOpen(_ round: Int) async throws {
        let path = dir.path + "/race-\(round).sqlite"
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<16 { group.addTask { _ = try await runOnThread { try JobStore(path: path) } } }
            try await group.waitForAll()
        }
        #expect(try await JobStore(path: path).meta("schema_version") == String(StoreSchema.version))
    }

    @Test("Opening a new store while another connection holds its read lock: refused as busy, it lets go, starts again and opens once the lock is free")
    func openWhileReadLocked() async throws {
        let path = dir.path + "/held.sqlite"
        // Another opener, in the new file's first (rollback-journal) mode, in the middle of a read.
        let holder = try SQLiteDatabase(path: path)
        try holder.execute("BEGIN; SELECT COUNT(*) FROM sqlite_master;")
        let busyTimes = Counter()
        nonisolated(unsafe) let held = holder
        let store = try await runOnThread {
            try JobStore(path: path, onBusy: {
                // The moment the opener is refused: the other connection finishes its read.
                if busyTimes.increment() == 1 { try? held.execute("COMMIT") }
            })
        }
        #expect(busyTimes.value >= 1, "the held read lock never made the opener wait")
        #expect(try await store.meta("schema_version") == String(StoreSchema.version))
    }

    @Test("A store of schema 1 is migrated to the current schema, keeping its rows")
    func migration() async throws {
        let path = dir.path + "/v1.sqlite"
        do {
            let db = try SQLiteDatabase(path: path)
            try db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            try db.execute(StoreSchema.migrations[0])
            try db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
            try db.execute("INSERT INTO plans (created, sheet_path, sheet_hash, phone_type, rows, complete) VALUES ('t', 's.csv', 'h', 'mobile', 1, 1)")
        }
        let store = try JobStore(path: path)
        #expect(try await store.meta("schema_version") == String(StoreSchema.version))
        let plan = try await store.latestPlan()
        #expect(plan?.sheetPath == "s.csv")
        #expect(plan?.settings == nil)
    }

    @Test("An existing store that others can read is made owner-only")
    func permissions() async throws {
        let path = dir.path + "/open.sqlite"
        _ = try JobStore(path: path)
        chmod(path, 0o644)
        _ = try JobStore(path: path)
        #expect((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) == 0o600)
    }

    @Test("Group commit: every commit is durable when it returns; concurrent commits share batches")
    func groupCommit() async throws {
        let store = try JobStore(path: dir.path + "/commit.sqlite")
        let plan = try await store.beginPlan(sheetPath: "s.csv", sheetHash: "h", phoneType: .mobile, settings: "")
        try await store.insertPlanRows((1...400).map { PlanRow(line: $0, user: "u\($0)", phoneType: .mobile, target: "+1 2125550100", action: .update) }, plan: plan)
        let checkpoint = Checkpointer(store: store, plan: plan, run: 1)
        // A second connection, as another process would read the file.
        let reader = try JobStore(path: dir.path + "/commit.sqlite")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for line in 1...400 {
                group.addTask {
                    try await checkpoint.commit(RowUpdate(line: line, state: .inFlight))
                    let state = try await reader.perform { db -> String? in
                        let q = try db.prepare("SELECT state FROM rows WHERE line = ?1")
                        try q.bind([.int(line)])
                        return try q.step() ? q.text(0) : nil
                    }
                    #expect(state == "in-flight", "line \(line) was not committed when commit returned")
                }
            }
            try await group.waitForAll()
        }
        let batches = await checkpoint.batchesWritten
        #expect(batches < 400, "no commits were grouped: \(batches) batches")
        // Final outcomes are buffered and written by flush.
        try await checkpoint.submit(RowUpdate(line: 1, state: .done, outcome: .changed))
        try await checkpoint.flush()
        #expect(try await reader.allRows(plan: plan).first?.outcome == .changed)
    }
}

/// A count several threads add to.
final class Counter: @unchecked Sendable {
    // @unchecked: `count` is only touched while holding `lock`.
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func increment() -> Int { lock.withLock { count += 1; return count } }
}
