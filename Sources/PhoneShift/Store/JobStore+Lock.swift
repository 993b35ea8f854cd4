import Foundation

/// Who holds a job's lock.
public struct LockHolder: Sendable, CustomStringConvertible {
    public var pid: Int32
    public var host: String
    public var command: String
    public var acquired: String
    public var heartbeatAge: Double
    var token: String?
    var processStart: String?
    public var description: String {
        if heartbeatAge < -JobStore.staleAfter {
            // A heartbeat from the future: the other host's clock is ahead, so its age says
            // nothing about whether that run is alive.
            return "\(command) by pid \(pid) on \(host) since \(acquired) (its last heartbeat is \(Int(-heartbeatAge)) s in the future: the clocks of this host and \(host) differ; if that run is over, take the lock with --force-unlock)"
        }
        return "\(command) by pid \(pid) on \(host) since \(acquired) (last heartbeat \(Int(heartbeatAge)) s ago)"
    }
    var onThisHost: Bool { host == JobStore.hostName }
    /// Whether the holder still runs: its process on this host, or a recent heartbeat from
    /// another host (one from the future cannot be judged: taken as alive).
    public var seemsAlive: Bool {
        onThisHost ? ProcessIdentity.isAlive(pid: pid, start: processStart) : heartbeatAge <= JobStore.staleAfter
    }
}

/// A process as the lock knows it: its pid and, where the system tells, when it started
/// (so that a pid reused by an unrelated process is not taken for the holder).
enum ProcessIdentity {
    /// This process's start time in clock ticks since boot (`/proc/self/stat`, field 22).
    static let currentStart: String? = startTime(of: getpid())

    static func startTime(of pid: Int32) -> String? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat"),
              let text = String(data: data, encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // After the command name (which may hold spaces): state is field 3, start time field 22.
        let fields = text[text.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? String(fields[19]) : nil
    }

    /// Whether the process `pid` that started at `start` still runs on this host.
    static func isAlive(pid: Int32, start: String?) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let start, let now = startTime(of: pid) else { return true }
        return now == start
    }
}

extension JobStore {
    public enum LockResult: Sendable {
        case acquired
        /// A lock left by a dead process (or, across hosts, with a stale heartbeat) was taken over.
        case tookOver(LockHolder, reason: String)
        /// Another run holds the lock.
        case heldBy(LockHolder)
        /// `--force-unlock` was asked for, but the holder still runs on this host.
        case holderAlive(LockHolder)
    }

    /// Takes the job's lock for `command`, or says who holds it. A holder whose process is
    /// gone (this host), or whose heartbeat is stale (another host), is replaced with a
    /// notice. `force` replaces any holder that this host cannot see running — never a
    /// live process on this host, which would go on writing beside us.
    public func acquireLock(command: String, force: Bool = false) async throws -> LockResult {
        try await perform { db in
            try db.transaction {
                var result = LockResult.acquired
                if let holder = try Self.readLock(db) {
                    let alive = holder.onThisHost && ProcessIdentity.isAlive(pid: holder.pid, start: holder.processStart)
                    if holder.onThisHost && holder.pid == getpid() && holder.token != nil && holder.token == self.lockToken {
                        result = .acquired
                    } else if alive {
                        return force ? LockResult.holderAlive(holder) : LockResult.heldBy(holder)
                    } else if holder.onThisHost {
                        result = .tookOver(holder, reason: "its process is gone")
                    } else if force {
                        result = .tookOver(holder, reason: "--force-unlock")
                    } else if holder.heartbeatAge > Self.staleAfter {
                        result = .tookOver(holder, reason: "its heartbeat is \(Int(holder.heartbeatAge)) s old")
                    } else {
                        return LockResult.heldBy(holder)
                    }
                }
                let token = UUID().uuidString
                try db.prepare("INSERT OR REPLACE INTO lock (id, run_id, pid, host, command, acquired, heartbeat, token, process_start) VALUES (1, NULL, ?1, ?2, ?3, ?4, ?5, ?6, ?7)")
                    .run([.integer(Int64(getpid())), .text(Self.hostName), .text(command), .text(Self.now()),
                          .real(Date().timeIntervalSince1970), .text(token), ProcessIdentity.currentStart.map(SQLiteValue.text)])
                self.lockToken = token
                if case .tookOver(let holder, let reason) = result {
                    try self.appendEvent(db, run: nil, line: nil, kind: "lock-taken-over",
                                         detail: "took over the lock of \(holder.command) (pid \(holder.pid) on \(holder.host)): \(reason)")
                }
                return result
            }
        }
    }

    /// Who holds the lock now, if anyone.
    public func lockHolder() async throws -> LockHolder? {
        try await perform { db in try Self.readLock(db) }
    }

    static func readLock(_ db: SQLiteDatabase) throws -> LockHolder? {
        let query = try db.prepare("SELECT pid, host, command, acquired, heartbeat, token, process_start FROM lock WHERE id = 1")
        try query.bind([])
        guard try query.step() else { return nil }
        return LockHolder(pid: Int32(query.int(0)), host: query.text(1) ?? "", command: query.text(2) ?? "",
                          acquired: query.text(3) ?? "", heartbeatAge: Date().timeIntervalSince1970 - query.double(4),
                          token: query.text(5), processStart: query.text(6))
    }

    /// Throws `lockLost` when this store took the lock and another process has it now.
    /// Runs on the queue (inside the write transactions).
    func checkLockHeld(_ db: SQLiteDatabase) throws {
        guard let token = lockToken else { return }
        let query = try cached(db, "SELECT token FROM lock WHERE id = 1")
        try query.bind([])
        let current = try query.step() ? query.text(0) : nil
        query.reset()
        if current != token {
            throw PhoneShiftError.lockLost(try Self.readLock(db))
        }
    }

    /// Gives the lock back (only if this store still holds it).
    public func releaseLock() async throws {
        try await perform { db in
            guard let token = self.lockToken else { return }
            try db.prepare("DELETE FROM lock WHERE id = 1 AND token = ?1").run([.text(token)])
            self.lockToken = nil
        }
    }

    /// Refreshes the lock's heartbeat and the run's. Throws `lockLost` when the lock is no
    /// longer this store's.
    public func heartbeat(run: Int?) async throws {
        try await perform { db in
            try db.transaction {
                try self.checkLockHeld(db)
                try db.prepare("UPDATE lock SET heartbeat = ?1 WHERE id = 1").run([.real(Date().timeIntervalSince1970)])
                if let run { try db.prepare("UPDATE runs SET heartbeat = ?1 WHERE id = ?2").run([.text(Self.now()), .int(run)]) }
            }
        }
    }
}

extension PhoneShiftError {
    static func lockLost(_ holder: LockHolder?) -> PhoneShiftError {
        PhoneShiftError(.lockLost, "this run lost the job's lock" + (holder.map { " to \($0)" } ?? " (the lock was cleared)")
                        + "; stopped before any further write. Check who runs the job (phoneshift status) before applying again")
    }
}
