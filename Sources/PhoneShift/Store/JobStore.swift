import Foundation

/// What the plan decided for a row.
public enum PlanAction: String, Sendable, Codable, CaseIterable {
    case update, add, unchanged
    case userNotFound = "user-not-found"
    case blocked, invalid, skipped
    /// While planning: the user and their numbers are still to be read from Graph.
    case toRead = "to-read"

    /// Actions that write to Graph.
    public var writes: Bool { self == .update || self == .add }
}

/// Where a row is in its life.
public enum RowState: String, Sendable, Codable {
    /// Still to do.
    case pending
    /// A write may have been sent; its outcome is unknown until it is re-read.
    case inFlight = "in-flight"
    /// Finished, one way or another (see the outcome).
    case done
    case failed
}

/// One row of a plan, and what became of it.
public struct PlanRow: Sendable, Equatable {
    public var line: Int
    public var user: String
    /// How the sheet names the user (for resolving it while planning).
    public var userKind: UserKeyKind?
    public var userId: String?
    public var userPrincipalName: String?
    public var displayName: String?
    public var mail: String?
    public var phoneType: PhoneType
    public var before: String?
    public var target: String?
    public var action: PlanAction
    public var reason: String
    public var state: RowState
    public var outcome: String?
    public var attempts: Int
    public var errorCode: String?
    public var errorMessage: String?
    public var requestId: String?
    public var clientRequestId: String?
    public var updated: String?

    public init(line: Int, user: String, userId: String? = nil, userPrincipalName: String? = nil, displayName: String? = nil,
                mail: String? = nil, phoneType: PhoneType, before: String? = nil, target: String?, action: PlanAction,
                reason: String = "", state: RowState = .pending, outcome: String? = nil, attempts: Int = 0) {
        self.line = line
        self.user = user
        self.userId = userId
        self.userPrincipalName = userPrincipalName
        self.displayName = displayName
        self.mail = mail
        self.phoneType = phoneType
        self.before = before
        self.target = target
        self.action = action
        self.reason = reason
        self.state = state
        self.outcome = outcome
        self.attempts = attempts
    }
}

/// The header of a stored plan.
public struct PlanInfo: Sendable {
    public var id: Int
    public var created: String
    public var sheetPath: String
    public var sheetHash: String
    public var phoneType: PhoneType
    public var rows: Int
}

/// A change to one row's state, written in batches by the store's owner.
public struct RowUpdate: Sendable {
    public var line: Int
    public var state: RowState
    public var outcome: String?
    public var attempts: Int
    public var errorCode: String?
    public var errorMessage: String?
    public var requestId: String?
    public var clientRequestId: String?
    public var reason: String?

    public init(line: Int, state: RowState, outcome: String? = nil, attempts: Int = 0, errorCode: String? = nil,
                errorMessage: String? = nil, requestId: String? = nil, clientRequestId: String? = nil, reason: String? = nil) {
        self.line = line
        self.state = state
        self.outcome = outcome
        self.attempts = attempts
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.requestId = requestId
        self.clientRequestId = clientRequestId
        self.reason = reason
    }
}

/// Who holds a job's lock.
public struct LockHolder: Sendable, CustomStringConvertible {
    public var pid: Int32
    public var host: String
    public var command: String
    public var acquired: String
    public var heartbeatAge: Double
    public var description: String {
        "\(command) by pid \(pid) on \(host) since \(acquired) (last heartbeat \(Int(heartbeatAge)) s ago)"
    }
}

/// The job store: one SQLite database per job (WAL), owned by one serial queue.
/// It holds the plans, every row's plan and state, the runs, the lock and an append-only
/// event log. Invariants the engine relies on: writes to a row's state go through
/// `update(_:)` in order; the lock row is taken and released in IMMEDIATE transactions.
public final class JobStore: @unchecked Sendable {
    // @unchecked: `db` is touched only on `queue`.
    public let path: String
    private let queue: DispatchQueue
    private let db: SQLiteDatabase
    static let schemaVersion = 1
    /// A lock whose heartbeat is older than this is stale.
    public static let staleAfter: Double = 30

    /// Opens (creating when needed, owner-only) the store at `path`. Throws `store` with
    /// the path when it cannot, or when the file is from a newer PhoneShift.
    public init(path: String) throws {
        self.path = path
        queue = DispatchQueue(label: "phoneshift.store")
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            db = try SQLiteDatabase(path: path)
            try db.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
            try migrate()
        } catch let error as PhoneShiftError {
            throw error
        } catch {
            throw PhoneShiftError(.store, "cannot open the job store '\(path)': \(error)")
        }
    }

    private func migrate() throws {
        try db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        let query = try db.prepare("SELECT value FROM meta WHERE key = 'schema_version'")
        try query.bind([])
        let version = try query.step() ? Int(query.text(0) ?? "0") ?? 0 : 0
        if version > Self.schemaVersion {
            throw PhoneShiftError(.store, "the job store '\(path)' was written by a newer PhoneShift (schema \(version)); update PhoneShift")
        }
        if version < 1 {
            try db.transaction {
                try db.execute("""
                    CREATE TABLE plans (
                        id INTEGER PRIMARY KEY, created TEXT NOT NULL, sheet_path TEXT NOT NULL,
                        sheet_hash TEXT NOT NULL, phone_type TEXT NOT NULL, rows INTEGER NOT NULL,
                        complete INTEGER NOT NULL DEFAULT 0);
                    CREATE TABLE rows (
                        plan_id INTEGER NOT NULL REFERENCES plans(id), line INTEGER NOT NULL,
                        user TEXT NOT NULL, user_kind TEXT, user_id TEXT, upn TEXT, display_name TEXT, mail TEXT,
                        phone_type TEXT NOT NULL, before TEXT, target TEXT, action TEXT NOT NULL, reason TEXT NOT NULL,
                        state TEXT NOT NULL, outcome TEXT, attempts INTEGER NOT NULL DEFAULT 0,
                        error_code TEXT, error_message TEXT, request_id TEXT, client_request_id TEXT,
                        updated TEXT, run_id INTEGER,
                        PRIMARY KEY (plan_id, line)) WITHOUT ROWID;
                    CREATE INDEX rows_state ON rows(plan_id, state, line);
                    CREATE TABLE runs (
                        id INTEGER PRIMARY KEY, plan_id INTEGER, command TEXT NOT NULL, pid INTEGER NOT NULL,
                        host TEXT NOT NULL, started TEXT NOT NULL, heartbeat TEXT NOT NULL, finished TEXT,
                        status TEXT NOT NULL, settings TEXT NOT NULL);
                    CREATE TABLE lock (
                        id INTEGER PRIMARY KEY CHECK (id = 1), run_id INTEGER, pid INTEGER NOT NULL,
                        host TEXT NOT NULL, command TEXT NOT NULL, acquired TEXT NOT NULL, heartbeat REAL NOT NULL);
                    CREATE TABLE events (
                        id INTEGER PRIMARY KEY, time TEXT NOT NULL, run_id INTEGER, line INTEGER,
                        kind TEXT NOT NULL, detail TEXT NOT NULL);
                    CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
                        BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
                    CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
                        BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
                    INSERT OR REPLACE INTO meta VALUES ('schema_version', '1');
                    """)
            }
        }
    }

    // MARK: - Access through the owner

    /// Runs `body` on the store's queue, without blocking a cooperative thread.
    public func perform<T: Sendable>(_ body: @escaping @Sendable (SQLiteDatabase) throws -> T) async throws -> T {
        // The database never leaves the queue: the closure runs there and only its result comes back.
        nonisolated(unsafe) let db = self.db
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try body(db) })
            }
        }
    }

    /// Runs `body` on the store's queue and waits (for plain threads, not async code).
    public func performSync<T>(_ body: (SQLiteDatabase) throws -> T) throws -> T {
        try queue.sync { try body(db) }
    }

    static func now() -> String { ISO8601DateFormatter().string(from: Date()) }

    static var hostName: String { ProcessInfo.processInfo.hostName }

    // MARK: - Lock

    public enum LockResult: Sendable {
        case acquired
        /// A lock left by a dead process (or with a stale heartbeat) was taken over.
        case tookOver(LockHolder, reason: String)
        case heldBy(LockHolder)
    }

    /// Takes the job's lock for `command`, or says who holds it. With `force`, a lock is
    /// taken whatever its state (for `--force-unlock`).
    public func acquireLock(command: String, force: Bool = false) throws -> LockResult {
        try performSync { db in
            try db.transaction {
                var result = LockResult.acquired
                if let holder = try Self.readLock(db) {
                    let sameHost = holder.host == Self.hostName
                    let alive = sameHost && holder.pid != getpid() && (kill(holder.pid, 0) == 0 || errno == EPERM)
                    if force {
                        result = .tookOver(holder, reason: "--force-unlock")
                    } else if sameHost && holder.pid == getpid() {
                        result = .acquired
                    } else if sameHost && !alive {
                        result = .tookOver(holder, reason: "its process is gone")
                    } else if holder.heartbeatAge > Self.staleAfter {
                        result = .tookOver(holder, reason: "its heartbeat is \(Int(holder.heartbeatAge)) s old")
                    } else {
                        return LockResult.heldBy(holder)
                    }
                }
                try db.prepare("INSERT OR REPLACE INTO lock VALUES (1, NULL, ?1, ?2, ?3, ?4, ?5)")
                    .run([.integer(Int64(getpid())), .text(Self.hostName), .text(command), .text(Self.now()),
                          .real(Date().timeIntervalSince1970)])
                if case .tookOver(let holder, let reason) = result {
                    try appendEvent(db, run: nil, line: nil, kind: "lock-taken-over",
                                    detail: "took over the lock of \(holder.command) (pid \(holder.pid) on \(holder.host)): \(reason)")
                }
                return result
            }
        }
    }

    /// Who holds the lock now, if anyone.
    public func lockHolder() throws -> LockHolder? {
        try performSync { db in try Self.readLock(db) }
    }

    private static func readLock(_ db: SQLiteDatabase) throws -> LockHolder? {
        let query = try db.prepare("SELECT pid, host, command, acquired, heartbeat FROM lock WHERE id = 1")
        try query.bind([])
        guard try query.step() else { return nil }
        return LockHolder(pid: Int32(query.int(0)), host: query.text(1) ?? "", command: query.text(2) ?? "",
                          acquired: query.text(3) ?? "", heartbeatAge: Date().timeIntervalSince1970 - query.double(4))
    }

    public func releaseLock() throws {
        try performSync { db in
            try db.prepare("DELETE FROM lock WHERE id = 1 AND pid = ?1 AND host = ?2")
                .run([.integer(Int64(getpid())), .text(Self.hostName)])
        }
    }

    /// Refreshes the lock's heartbeat and the run's.
    public func heartbeat(run: Int?) async throws {
        try await perform { db in
            try db.prepare("UPDATE lock SET heartbeat = ?1 WHERE id = 1 AND pid = ?2")
                .run([.real(Date().timeIntervalSince1970), .integer(Int64(getpid()))])
            if let run { try db.prepare("UPDATE runs SET heartbeat = ?1 WHERE id = ?2").run([.text(Self.now()), .int(run)]) }
        }
    }

    // MARK: - Plans and rows

    /// Starts a plan; it is not visible to `latestPlan` until `completePlan`.
    public func beginPlan(sheetPath: String, sheetHash: String, phoneType: PhoneType) throws -> Int {
        try performSync { db in
            try db.prepare("INSERT INTO plans (created, sheet_path, sheet_hash, phone_type, rows, complete) VALUES (?1, ?2, ?3, ?4, 0, 0)")
                .run([.text(Self.now()), .text(sheetPath), .text(sheetHash), .text(phoneType.rawValue)])
            return Int(sqlite3LastInsertRowid(db))
        }
    }

    /// Adds rows to a plan being made, in one transaction.
    public func insertPlanRows(_ rows: [PlanRow], plan: Int) throws {
        guard !rows.isEmpty else { return }
        try performSync { db in
            try db.transaction {
                let insert = try db.prepare("""
                    INSERT INTO rows (plan_id, line, user, user_kind, user_id, upn, display_name, mail, phone_type, before, target,
                                      action, reason, state, outcome, attempts, error_code, updated)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, 0, ?16, ?17)
                    """)
                let now = Self.now()
                for r in rows {
                    try insert.run([.int(plan), .int(r.line), .text(r.user), r.userKind.map { .text($0.rawValue) },
                                    r.userId.map(SQLiteValue.text), r.userPrincipalName.map(SQLiteValue.text),
                                    r.displayName.map(SQLiteValue.text), r.mail.map(SQLiteValue.text), .text(r.phoneType.rawValue),
                                    r.before.map(SQLiteValue.text), r.target.map(SQLiteValue.text), .text(r.action.rawValue),
                                    .text(r.reason), .text(r.state.rawValue), r.outcome.map(SQLiteValue.text),
                                    r.errorCode.map(SQLiteValue.text), .text(now)])
                }
            }
        }
    }

    /// Rows of a plan being made whose user is still to be read, in line order, after `line`.
    public func rowsToRead(plan: Int, after line: Int, limit: Int) async throws -> [PlanRow] {
        try await perform { db in
            let q = try db.prepare("""
                SELECT \(Self.rowColumns) FROM rows WHERE plan_id = ?1 AND action = 'to-read' AND line > ?2 ORDER BY line LIMIT ?3
                """)
            try q.bind([.int(plan), .int(line), .int(limit)])
            var out: [PlanRow] = []
            while try q.step() { out.append(Self.row(q)) }
            return out
        }
    }

    /// Writes what planning found for rows (user, before value, action, reason, state).
    public func savePlannedRows(_ rows: [PlanRow], plan: Int) async throws {
        try await perform { db in
            try db.transaction {
                let q = try db.prepare("""
                    UPDATE rows SET user_id = ?3, upn = ?4, display_name = ?5, mail = ?6, before = ?7, action = ?8,
                        reason = ?9, state = ?10, outcome = ?11, error_code = ?12, updated = ?13
                    WHERE plan_id = ?1 AND line = ?2
                    """)
                let now = Self.now()
                for r in rows {
                    try q.run([.int(plan), .int(r.line), r.userId.map(SQLiteValue.text), r.userPrincipalName.map(SQLiteValue.text),
                               r.displayName.map(SQLiteValue.text), r.mail.map(SQLiteValue.text), r.before.map(SQLiteValue.text),
                               .text(r.action.rawValue), .text(r.reason), .text(r.state.rawValue), r.outcome.map(SQLiteValue.text),
                               r.errorCode.map(SQLiteValue.text), .text(now)])
                }
            }
        }
    }

    /// Makes a plan visible (the latest), with its row count.
    public func completePlan(_ plan: Int, sheetPath: String) throws {
        try performSync { db in
            try db.transaction {
                try db.prepare("UPDATE plans SET complete = 1, rows = (SELECT COUNT(*) FROM rows WHERE plan_id = ?1) WHERE id = ?1")
                    .run([.int(plan)])
                try appendEvent(db, run: nil, line: nil, kind: "plan", detail: "plan \(plan) from \(sheetPath)")
            }
        }
    }

    /// Rows of a plan by action.
    public func actionCounts(plan: Int) throws -> [PlanAction: Int] {
        try performSync { db in
            let q = try db.prepare("SELECT action, COUNT(*) FROM rows WHERE plan_id = ?1 GROUP BY action")
            try q.bind([.int(plan)])
            var out: [PlanAction: Int] = [:]
            while try q.step() { if let a = PlanAction(rawValue: q.text(0) ?? "") { out[a] = q.int(1) } }
            return out
        }
    }

    /// The first `limit` rows of a plan with one of `actions`, in line order.
    public func rows(plan: Int, actions: [PlanAction], limit: Int) throws -> [PlanRow] {
        try performSync { db in
            let list = actions.map { "'\($0.rawValue)'" }.joined(separator: ", ")
            let q = try db.prepare("SELECT \(Self.rowColumns) FROM rows WHERE plan_id = ?1 AND action IN (\(list)) ORDER BY line LIMIT ?2")
            try q.bind([.int(plan), .int(limit)])
            var out: [PlanRow] = []
            while try q.step() { out.append(Self.row(q)) }
            return out
        }
    }

    /// A value kept in the store's meta table (e.g. the job file a plan came from).
    public func meta(_ key: String) throws -> String? {
        try performSync { db in
            let q = try db.prepare("SELECT value FROM meta WHERE key = ?1")
            try q.bind([.text(key)])
            return try q.step() ? q.text(0) : nil
        }
    }

    public func setMeta(_ key: String, _ value: String) throws {
        try performSync { db in try db.prepare("INSERT OR REPLACE INTO meta VALUES (?1, ?2)").run([.text(key), .text(value)]) }
    }

    /// Whether an apply has already touched this plan (some run started on it).
    public func applyStarted(plan: Int) throws -> Bool {
        try performSync { db in
            let q = try db.prepare("SELECT COUNT(*) FROM runs WHERE plan_id = ?1 AND command = 'apply'")
            try q.bind([.int(plan)])
            return try q.step() && q.int(0) > 0
        }
    }

    public func latestPlan() throws -> PlanInfo? {
        try performSync { db in
            let q = try db.prepare("SELECT id, created, sheet_path, sheet_hash, phone_type, rows FROM plans WHERE complete = 1 ORDER BY id DESC LIMIT 1")
            try q.bind([])
            guard try q.step() else { return nil }
            return PlanInfo(id: q.int(0), created: q.text(1) ?? "", sheetPath: q.text(2) ?? "", sheetHash: q.text(3) ?? "",
                            phoneType: PhoneType(rawValue: q.text(4) ?? "") ?? .mobile, rows: q.int(5))
        }
    }

    static let rowColumns = """
        line, user, user_kind, user_id, upn, display_name, mail, phone_type, before, target, action, reason, state, outcome,
        attempts, error_code, error_message, request_id, client_request_id, updated
        """

    static func row(_ q: SQLiteStatement) -> PlanRow {
        var r = PlanRow(line: q.int(0), user: q.text(1) ?? "", userId: q.text(3), userPrincipalName: q.text(4),
                        displayName: q.text(5), mail: q.text(6), phoneType: PhoneType(rawValue: q.text(7) ?? "") ?? .mobile,
                        before: q.text(8), target: q.text(9), action: PlanAction(rawValue: q.text(10) ?? "") ?? .skipped,
                        reason: q.text(11) ?? "", state: RowState(rawValue: q.text(12) ?? "") ?? .pending,
                        outcome: q.text(13), attempts: q.int(14))
        r.userKind = q.text(2).flatMap(UserKeyKind.init(rawValue:))
        r.errorCode = q.text(15)
        r.errorMessage = q.text(16)
        r.requestId = q.text(17)
        r.clientRequestId = q.text(18)
        r.updated = q.text(19)
        return r
    }

    /// Rows still to do (pending or in flight), in line order, after `line`.
    public func openRows(plan: Int, after line: Int, limit: Int) async throws -> [PlanRow] {
        try await perform { db in
            let q = try db.prepare("""
                SELECT \(Self.rowColumns) FROM rows
                WHERE plan_id = ?1 AND state IN ('pending', 'in-flight') AND line > ?2 ORDER BY line LIMIT ?3
                """)
            try q.bind([.int(plan), .int(line), .int(limit)])
            var out: [PlanRow] = []
            while try q.step() { out.append(Self.row(q)) }
            return out
        }
    }

    /// Every row of a plan, in line order.
    public func forEachRow(plan: Int, _ body: (PlanRow) throws -> Void) throws {
        try performSync { db in
            let q = try db.prepare("SELECT \(Self.rowColumns) FROM rows WHERE plan_id = ?1 ORDER BY line")
            try q.bind([.int(plan)])
            while try q.step() { try body(Self.row(q)) }
        }
    }

    /// Writes a batch of row updates in one transaction.
    public func update(_ updates: [RowUpdate], plan: Int, run: Int) async throws {
        guard !updates.isEmpty else { return }
        try await perform { db in
            try db.transaction {
                let q = try db.prepare("""
                    UPDATE rows SET state = ?3, outcome = COALESCE(?4, outcome), attempts = attempts + ?5,
                        error_code = ?6, error_message = ?7, request_id = COALESCE(?8, request_id),
                        client_request_id = COALESCE(?9, client_request_id), reason = COALESCE(?10, reason),
                        updated = ?11, run_id = ?12
                    WHERE plan_id = ?1 AND line = ?2
                    """)
                let now = Self.now()
                for u in updates {
                    try q.run([.int(plan), .int(u.line), .text(u.state.rawValue), u.outcome.map(SQLiteValue.text),
                               .int(u.attempts), u.errorCode.map(SQLiteValue.text), u.errorMessage.map(SQLiteValue.text),
                               u.requestId.map(SQLiteValue.text), u.clientRequestId.map(SQLiteValue.text),
                               u.reason.map(SQLiteValue.text), .text(now), .int(run)])
                    if u.state == .done || u.state == .failed {
                        try self.appendEvent(db, run: run, line: u.line, kind: u.state.rawValue,
                                        detail: [u.outcome, u.errorCode, u.requestId.map { "request-id \($0)" }].compactMap { $0 }.joined(separator: " "))
                    }
                }
            }
        }
    }

    /// Puts failed rows (and rows skipped because their value moved) back to pending.
    public func requeueFailed(plan: Int) throws -> Int {
        try performSync { db in
            try db.prepare("UPDATE rows SET state = 'pending', outcome = NULL WHERE plan_id = ?1 AND (state = 'failed' OR outcome = 'moved')")
                .run([.int(plan)])
            return Int(sqlite3Changes(db))
        }
    }

    // MARK: - Runs and events

    public func startRun(plan: Int?, command: String, settings: String) throws -> Int {
        try performSync { db in
            try db.prepare("INSERT INTO runs (plan_id, command, pid, host, started, heartbeat, status, settings) VALUES (?1, ?2, ?3, ?4, ?5, ?5, 'running', ?6)")
                .run([plan.map { .int($0) }, .text(command), .integer(Int64(getpid())), .text(Self.hostName), .text(Self.now()), .text(settings)])
            let id = Int(sqlite3LastInsertRowid(db))
            try db.prepare("UPDATE lock SET run_id = ?1 WHERE id = 1").run([.int(id)])
            try appendEvent(db, run: id, line: nil, kind: "run-start", detail: "\(command) (pid \(getpid()) on \(Self.hostName))")
            return id
        }
    }

    public func finishRun(_ run: Int, status: String) throws {
        try performSync { db in
            try db.prepare("UPDATE runs SET finished = ?1, status = ?2 WHERE id = ?3").run([.text(Self.now()), .text(status), .int(run)])
            try appendEvent(db, run: run, line: nil, kind: "run-end", detail: status)
        }
    }

    public func event(run: Int?, kind: String, detail: String) async throws {
        try await perform { db in try self.appendEvent(db, run: run, line: nil, kind: kind, detail: detail) }
    }

    private func appendEvent(_ db: SQLiteDatabase, run: Int?, line: Int?, kind: String, detail: String) throws {
        try db.prepare("INSERT INTO events (time, run_id, line, kind, detail) VALUES (?1, ?2, ?3, ?4, ?5)")
            .run([.text(Self.now()), run.map { .int($0) }, line.map { .int($0) }, .text(kind), .text(detail)])
    }

    // MARK: - Progress

    /// Rows still to do, by state (pending, in-flight), read from the state index only:
    /// cheap even for a million-row plan, so that a resumed apply starts at once.
    public func openCounts(plan: Int) throws -> (pending: Int, inFlight: Int) {
        try performSync { db in
            let q = try db.prepare("SELECT state, COUNT(*) FROM rows WHERE plan_id = ?1 AND state IN ('pending', 'in-flight') GROUP BY state")
            try q.bind([.int(plan)])
            var pending = 0, inFlight = 0
            while try q.step() {
                if q.text(0) == "pending" { pending = q.int(1) } else { inFlight = q.int(1) }
            }
            return (pending, inFlight)
        }
    }

    /// Rows of a plan that write (update or add).
    public func changeCount(plan: Int) throws -> Int {
        try performSync { db in
            let q = try db.prepare("SELECT COUNT(*) FROM rows WHERE plan_id = ?1 AND action IN ('update', 'add')")
            try q.bind([.int(plan)])
            return try q.step() ? q.int(0) : 0
        }
    }

    public struct Progress: Sendable {
        public var planId: Int
        public var byAction: [String: Int]
        public var byState: [String: Int]
        public var byOutcome: [String: Int]
        public var toWrite: Int
        public var written: Int
        public var throttled: Int
        public var lastRun: (id: Int, command: String, status: String, started: String, heartbeat: String, finished: String?)?
        public var doneInLastMinute: Int
    }

    public func progress(plan: Int) throws -> Progress {
        try performSync { db in
            func grouped(_ column: String, _ condition: String = "1") throws -> [String: Int] {
                let q = try db.prepare("SELECT \(column), COUNT(*) FROM rows WHERE plan_id = ?1 AND \(condition) GROUP BY \(column)")
                try q.bind([.int(plan)])
                var out: [String: Int] = [:]
                while try q.step() { out[q.text(0) ?? "-"] = q.int(1) }
                return out
            }
            let byAction = try grouped("action"), byState = try grouped("state"), byOutcome = try grouped("outcome", "outcome IS NOT NULL")
            let toWrite = (byAction["update"] ?? 0) + (byAction["add"] ?? 0)
            let written = try { () -> Int in
                let q = try db.prepare("SELECT COUNT(*) FROM rows WHERE plan_id = ?1 AND action IN ('update', 'add') AND state IN ('done', 'failed')")
                try q.bind([.int(plan)])
                return try q.step() ? q.int(0) : 0
            }()
            let throttled = try { () -> Int in
                let q = try db.prepare("SELECT COUNT(*) FROM events WHERE kind = 'throttled' AND run_id IN (SELECT id FROM runs WHERE plan_id = ?1)")
                try q.bind([.int(plan)])
                return try q.step() ? q.int(0) : 0
            }()
            let recent = try { () -> Int in
                let q = try db.prepare("SELECT COUNT(*) FROM rows WHERE plan_id = ?1 AND action IN ('update','add') AND state IN ('done','failed') AND updated >= ?2")
                try q.bind([.int(plan), .text(ISO8601DateFormatter().string(from: Date().addingTimeInterval(-60)))])
                return try q.step() ? q.int(0) : 0
            }()
            let r = try db.prepare("SELECT id, command, status, started, heartbeat, finished FROM runs WHERE plan_id = ?1 ORDER BY id DESC LIMIT 1")
            try r.bind([.int(plan)])
            let last = try r.step() ? (r.int(0), r.text(1) ?? "", r.text(2) ?? "", r.text(3) ?? "", r.text(4) ?? "", r.text(5)) : nil
            return Progress(planId: plan, byAction: byAction, byState: byState, byOutcome: byOutcome, toWrite: toWrite,
                            written: written, throttled: throttled, lastRun: last, doneInLastMinute: recent)
        }
    }
}
