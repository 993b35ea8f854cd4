import Foundation

/// The job store: one SQLite database per job (WAL), owned by one serial queue.
/// It holds the plans, every row's plan and state, the runs, the lock and an append-only
/// event log. Every public call is async and runs on the store's own queue, so no SQLite
/// call ever blocks one of Swift's cooperative threads.
///
/// Invariants the engine relies on: a row's state changes go through `update(_:)` in
/// order; the lock row is taken in an IMMEDIATE transaction and carries a token unique to
/// its holder; once this store holds the lock, every write first checks that it still
/// does (`LockLost` otherwise), so a process that lost its lock writes nothing more.
public final class JobStore: @unchecked Sendable {
    // @unchecked: `db` and `lockToken` are touched only on `queue`.
    public let path: String
    let queue: DispatchQueue
    private let db: SQLiteDatabase
    /// The token of the lock this store holds, if any (on `queue` only).
    var lockToken: String?
    /// Statements of the hot paths, prepared once (on `queue` only).
    private var statements: [String: SQLiteStatement] = [:]
    /// A lock whose holder is on another host and whose heartbeat is older than this is stale.
    public static let staleAfter: Double = 30
    /// The store file's device and inode when it was opened: a run whose file was deleted or
    /// replaced under it stops instead of writing into an unlinked file.
    private let identity: (dev: UInt64, ino: UInt64)?
    /// Space set aside beside the store: deleted when the disk is full, so that the run can
    /// still record how it ended and give its lock back.
    static func reservePath(_ store: String) -> String { store + "-reserve" }
    static let reserveBytes = 256 << 10

    /// Opens (creating when needed, owner-only) the store at `path`. An existing store file
    /// that others could read is tightened to owner-only. Throws `store` with the path when
    /// it cannot, or when the file is from a newer PhoneShift.
    public convenience init(path: String) throws { try self.init(path: path, onBusy: nil) }

    /// `onBusy` is called each time an opening step is refused as busy and is about to be
    /// run again (tests use it to let go of the lock they hold at that moment).
    init(path: String, onBusy: (() -> Void)?) throws {
        self.path = path
        queue = DispatchQueue(label: "phoneshift.store")
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var info = stat()
        if lstat(path, &info) == 0, info.st_mode & S_IFMT != S_IFREG {
            throw PhoneShiftError(.store, "the job store '\(Sanitize.forMessage(path, limit: 200))' is not a regular file (a folder, device, link or pipe); point store: at a file of its own")
        }
        do {
            do {
                try OwnerOnly.makeDirectories(directory)
                // Owner-only from its first byte: SQLite would create it under the umask.
                try OwnerOnly.createFile(path)
            } catch {
                throw PhoneShiftError(error.notAFolder ? .store : .storeUnwritable, "cannot create the job store '\(Sanitize.forMessage(path, limit: 200))': \(error.reason)")
            }
            let db = try SQLiteDatabase(path: path)
            self.db = db
            try Self.retryingWhenBusy(onBusy: onBusy) {
                // Another program's database is refused before anything touches it: its mode,
                // its journal mode and its tables stay as they were.
                try StoreSchema.refuseForeignDatabase(db, path: path)
                try Self.tightenPermissions(path)
                // FULL: a commit (one per batch of row marks) is synced before the writes it
                // announces are sent, so an in-flight mark survives a power cut too.
                try db.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
                try StoreSchema.migrate(db, path: path)
                // The key of the masked numbers' fingerprints (PhoneMask.maskPair): made once per store.
                try db.prepare("INSERT OR IGNORE INTO meta VALUES ('mask_key', ?1)").run([.text(PhoneMask.Key.random().hex)])
            }
            for suffix in ["-wal", "-shm"] { try Self.tightenPermissions(path + suffix) }
            var opened = stat()
            identity = stat(path, &opened) == 0 ? (UInt64(opened.st_dev), UInt64(opened.st_ino)) : nil
            Self.makeReserve(Self.reservePath(path))
        } catch let error as PhoneShiftError {
            throw error
        } catch {
            if let sqlite = error as? SQLiteError, let unwritable = Self.unwritable(sqlite, path: path) { throw unwritable }
            throw PhoneShiftError(.store, "cannot open the job store '\(Sanitize.forMessage(path, limit: 200))': \(error)")
        }
    }

    /// Runs the idempotent opening steps again when SQLite answers BUSY or LOCKED. The busy
    /// timeout covers ordinary waits, but SQLite skips it and answers BUSY at once where
    /// waiting could deadlock (a connection holding a read lock that needs a write lock,
    /// as switching a new file to WAL or creating the first table does while another
    /// opener holds the write lock: sqlite.org/c3ref/busy_handler.html). Every step here can
    /// be run twice, so the answer is to let go and start again, up to `limit`.
    static func retryingWhenBusy(limit: TimeInterval = 30, onBusy: (() -> Void)? = nil, _ body: () throws -> Void) throws {
        let deadline = Date().addingTimeInterval(limit)
        var pause: UInt32 = 2_000
        while true {
            do { return try body() } catch let error as SQLiteError where [5, 6].contains(error.code & 0xFF) && Date() < deadline {
                onBusy?()
                usleep(pause + UInt32.random(in: 0...pause))
                pause = min(pause * 2, 100_000)
            }
        }
    }

    /// Full phone numbers live in the store: an existing file that group or others can read
    /// is made owner-only, or refused when that is not possible.
    static func tightenPermissions(_ file: String) throws {
        var info = stat()
        guard stat(file, &info) == 0 else { return }
        guard info.st_mode & 0o077 != 0 else { return }
        if chmod(file, 0o600) != 0 {
            throw PhoneShiftError(.store, "the job store file '\(file)' can be read by others (mode \(String(info.st_mode & 0o777, radix: 8))) and cannot be made owner-only: \(String(cString: strerror(errno))); run: chmod 600 '\(file)'")
        }
    }

    /// The key of this store's number fingerprints (see `PhoneMask.maskPair`). Throws `store`
    /// when the stored key is damaged.
    public func maskKey() async throws -> PhoneMask.Key {
        let hex = try await perform { db -> String? in
            let query = try db.prepare("SELECT value FROM meta WHERE key = 'mask_key'")
            try query.bind([])
            return try query.step() ? query.text(0) : nil
        }
        guard let hex, let key = PhoneMask.Key(hex: hex) else {
            throw PhoneShiftError(.store, "the job store '\(Sanitize.forMessage(path, limit: 200))' has no valid mask_key in its meta table")
        }
        return key
    }

    // MARK: - Access through the owner

    /// Runs `body` on the store's queue, without blocking a cooperative thread.
    public func perform<T: Sendable>(_ body: @escaping @Sendable (SQLiteDatabase) throws -> T) async throws -> T {
        // The database never leaves the queue: the closure runs there and only its result comes back.
        nonisolated(unsafe) let db = self.db
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result {
                    do {
                        if self.lockToken != nil { try self.checkFileIdentity() }
                        return try body(db)
                    } catch let error as SQLiteError {
                        throw self.unwritable(error) ?? error
                    }
                })
            }
        }
    }

    /// The store file is still the one this store opened (a run holding the lock checks it
    /// before every call): deleted or replaced, the run stops.
    func checkFileIdentity() throws {
        guard let identity else { return }
        var now = stat()
        if stat(path, &now) != 0 || UInt64(now.st_dev) != identity.dev || UInt64(now.st_ino) != identity.ino {
            throw PhoneShiftError(.storeUnwritable, "the job store '\(Sanitize.forMessage(path, limit: 200))' was deleted or replaced while this run was using it; stopped, nothing more is sent. Plan again: the plan reads live state, and a change already made reads as unchanged")
        }
    }

    /// A SQLite error that means the store cannot be written (disk full, read-only, I/O), as
    /// a message a person can act on; the reserve is released on a full disk so that the run
    /// can still end cleanly and give its lock back.
    func unwritable(_ error: SQLiteError) -> PhoneShiftError? { Self.unwritable(error, path: path) }

    static func unwritable(_ error: SQLiteError, path: String) -> PhoneShiftError? {
        let shown = Sanitize.forMessage(path, limit: 200)
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var fs = statvfs()
        let fileSystemKnown = statvfs(folder, &fs) == 0
        func diskFull() -> PhoneShiftError {
            unlink(reservePath(path))
            return PhoneShiftError(.storeUnwritable, "the disk of the job store '\(shown)' is full; nothing more is sent. Free some space and run the command again: it resumes where it stopped")
        }
        switch error.code & 0xFF {
        case 13:  // SQLITE_FULL
            return diskFull()
        case 8, 14 where (fileSystemKnown && fs.f_flag & UInt(ST_RDONLY) != 0) || access(folder, W_OK) != 0:  // SQLITE_READONLY, SQLITE_CANTOPEN
            return PhoneShiftError(.storeUnwritable, "the job store '\(shown)' is read-only (its file, folder or file system); nothing is sent. Make it writable and run the command again: it resumes where it stopped")
        case 10:  // SQLITE_IOERR (a full disk shows as this while the WAL or its index grows)
            if fileSystemKnown, fs.f_bavail == 0 { return diskFull() }
            return PhoneShiftError(.storeUnwritable, "the job store '\(shown)' cannot be written (\(error.message)); nothing more is sent. Run the command again once the disk is sound: it resumes where it stopped")
        default:
            return nil
        }
    }

    /// Sets space aside beside the store (owner-only), when there is room.
    static func makeReserve(_ path: String) {
        guard access(path, F_OK) != 0 else { return }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let zeros = [UInt8](repeating: 0, count: reserveBytes)
        if write(fd, zeros, zeros.count) != zeros.count { unlink(path) }
    }

    /// Like `perform`, for work that changes the job: when this store holds the lock, the
    /// body runs in a transaction that first checks the lock is still ours.
    func performWrite<T: Sendable>(_ body: @escaping @Sendable (SQLiteDatabase) throws -> T) async throws -> T {
        try await perform { db in
            try db.transaction {
                try self.checkLockHeld(db)
                return try body(db)
            }
        }
    }

    /// Now as ISO 8601 in UTC (`2026-11-29T13:16:15Z`). Formatted by hand: a formatter object
    /// per call cost more than the row update it stamps.
    static func now() -> String { timestamp(Date()) }

    /// Seconds since 1970 of a `timestamp` (`YYYY-MM-DDTHH:MM:SSZ`), nil when it is not one.
    static func parseTimestamp(_ text: String) -> Double? {
        let parts = text.split(whereSeparator: { "-T:Z".contains($0) }).compactMap { Int($0) }
        guard parts.count == 6 else { return nil }
        var t = tm()
        t.tm_year = Int32(parts[0] - 1900); t.tm_mon = Int32(parts[1] - 1); t.tm_mday = Int32(parts[2])
        t.tm_hour = Int32(parts[3]); t.tm_min = Int32(parts[4]); t.tm_sec = Int32(parts[5])
        return Double(timegm(&t))
    }

    /// A prepared statement for `sql`, kept for the next call (on `queue` only). Callers
    /// run it to the end or reset it, so that no read stays open.
    func cached(_ db: SQLiteDatabase, _ sql: String) throws -> SQLiteStatement {
        if let statement = statements[sql] { return statement }
        let statement = try db.prepare(sql)
        statements[sql] = statement
        return statement
    }

    static func timestamp(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }

    static var hostName: String { ProcessInfo.processInfo.hostName }
}

/// The store's schema, one numbered step per version, each applied once in a transaction.
enum StoreSchema {
    /// A database that has tables but no PhoneShift schema version is another program's:
    /// PhoneShift's tables are never added to it.
    static func refuseForeignDatabase(_ db: SQLiteDatabase, path: String) throws {
        let tables = try db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        try tables.bind([])
        var names: [String] = []
        while try tables.step() { names.append(tables.text(0) ?? "") }
        // Only PhoneShift's own tables (another opener may be creating them right now): ours.
        let ours: Set<String> = ["meta", "plans", "rows", "runs", "lock", "events", "throttles", "known_numbers", "approvals", "tenant_numbers",
                                 "sqlite_sequence", "sqlite_stat1"]
        guard names.contains(where: { !ours.contains($0) }) else { return }
        if names.contains("meta") {
            let version = try db.prepare("SELECT COUNT(*) FROM meta WHERE key = 'schema_version'")
            try version.bind([])
            if try version.step(), version.int(0) > 0 { return }
        }
        let shown = names.filter { !ours.contains($0) }.prefix(5).map { Sanitize.forMessage($0, limit: 40) }.joined(separator: ", ") + (names.count > 5 ? ", …" : "")
        throw PhoneShiftError(.store, "'\(Sanitize.forMessage(path, limit: 200))' is an SQLite database of another program (tables: \(shown)), not a PhoneShift job store; nothing was changed in it. Point store: at a file of its own")
    }

    static let version = migrations.count

    static let migrations: [String] = [
        // 1: plans, rows, runs, lock, events.
        """
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
        """,
        // 2: the lock's holder token and process start (a reused pid is not its holder);
        // the job settings a plan was made with; 429s counted per run.
        """
        ALTER TABLE lock ADD COLUMN token TEXT;
        ALTER TABLE lock ADD COLUMN process_start TEXT;
        ALTER TABLE plans ADD COLUMN settings TEXT;
        ALTER TABLE runs ADD COLUMN throttled INTEGER NOT NULL DEFAULT 0;
        """,
        // 3: each row's SMS sign-in state at plan time.
        """
        ALTER TABLE rows ADD COLUMN sms_sign_in TEXT;
        """,
        // 4: every 429 a run met, with its time and lane (for the report's chart).
        """
        CREATE TABLE throttles (run_id INTEGER NOT NULL, time TEXT NOT NULL, lane TEXT NOT NULL, retry_after REAL NOT NULL);
        CREATE INDEX throttles_run ON throttles(run_id, time);
        """,
        // 5: plan kinds: a rollback plan restores what one run changed (it has no sheet).
        """
        ALTER TABLE plans ADD COLUMN kind TEXT NOT NULL DEFAULT 'sheet';
        ALTER TABLE plans ADD COLUMN source_run INTEGER;
        """,
        // 6: delta planning: per user (as the sheet names them) and phone type, the number
        // PhoneShift last applied or saw in Graph, with when; rows settled from it carry
        // that time (`known_at`) instead of a Graph read.
        """
        CREATE TABLE known_numbers (
            user_key TEXT NOT NULL, phone_type TEXT NOT NULL, value TEXT, source TEXT NOT NULL, at TEXT NOT NULL,
            user_id TEXT, upn TEXT, display_name TEXT, mail TEXT,
            PRIMARY KEY (user_key, phone_type)) WITHOUT ROWID;
        ALTER TABLE rows ADD COLUMN known_at TEXT;
        """,
        // 7: typed findings on a row that code acts on (`RowFlag`, comma-separated; NULL: none).
        """
        ALTER TABLE rows ADD COLUMN flags TEXT;
        """,
        // 8: change control. Events chained by hash (each carries its predecessor's; events of
        // earlier versions stay unchained, before the chain's start); a plan's digest and who
        // made it; approvals bound to a plan's digest (append-only); the risk checks' findings
        // on a row; the numbers PhoneShift has read in the tenant, per user and phone type.
        """
        ALTER TABLE events ADD COLUMN prev_hash TEXT;
        ALTER TABLE events ADD COLUMN hash TEXT;
        ALTER TABLE plans ADD COLUMN plan_hash TEXT;
        ALTER TABLE plans ADD COLUMN made_by TEXT;
        ALTER TABLE plans ADD COLUMN made_on TEXT;
        ALTER TABLE rows ADD COLUMN risks TEXT;
        CREATE TABLE approvals (
            id INTEGER PRIMARY KEY, plan_id INTEGER NOT NULL, plan_hash TEXT NOT NULL, time TEXT NOT NULL,
            os_account TEXT NOT NULL, host TEXT NOT NULL, statement TEXT NOT NULL, signature TEXT, comment TEXT);
        CREATE TRIGGER approvals_append_only_update BEFORE UPDATE ON approvals
            BEGIN SELECT RAISE(ABORT, 'approvals are append-only'); END;
        CREATE TRIGGER approvals_append_only_delete BEFORE DELETE ON approvals
            BEGIN SELECT RAISE(ABORT, 'approvals are append-only'); END;
        CREATE TABLE tenant_numbers (
            user_id TEXT NOT NULL, phone_type TEXT NOT NULL, number_key TEXT NOT NULL, upn TEXT,
            source TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (user_id, phone_type)) WITHOUT ROWID;
        CREATE INDEX tenant_numbers_number ON tenant_numbers(number_key);
        """,
    ]

    /// Brings the schema to `version`, one step per write transaction. Each step reads the
    /// version inside its transaction (BEGIN IMMEDIATE holds the write lock), so two
    /// processes opening a new store at once never apply the same step twice.
    static func migrate(_ db: SQLiteDatabase, path: String) throws {
        try refuseForeignDatabase(db, path: path)
        try db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        func current() throws -> Int {
            let query = try db.prepare("SELECT value FROM meta WHERE key = 'schema_version'")
            try query.bind([])
            return try query.step() ? Int(query.text(0) ?? "0") ?? 0 : 0
        }
        while true {
            let done = try db.transaction { () -> Bool in
                let step = try current()
                if step > version {
                    throw PhoneShiftError(.store, "the job store '\(path)' was written by a newer PhoneShift (schema \(step)); update PhoneShift")
                }
                if step == version { return true }
                try db.execute(migrations[step])
                try db.prepare("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?1)").run([.text(String(step + 1))])
                return false
            }
            if done { return }
        }
    }
}
