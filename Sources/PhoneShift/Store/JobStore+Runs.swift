import Foundation

extension JobStore {
    // MARK: - Runs and events

    public func startRun(plan: Int?, command: String, settings: String) async throws -> Int {
        try await performWrite { db in
            try db.prepare("INSERT INTO runs (plan_id, command, pid, host, started, heartbeat, status, settings) VALUES (?1, ?2, ?3, ?4, ?5, ?5, 'running', ?6)")
                .run([plan.map { .int($0) }, .text(command), .integer(Int64(getpid())), .text(Self.hostName), .text(Self.now()), .text(settings)])
            let id = Int(sqlite3LastInsertRowid(db))
            if let token = self.lockToken {
                try db.prepare("UPDATE lock SET run_id = ?1 WHERE id = 1 AND token = ?2").run([.int(id), .text(token)])
            }
            try self.appendEvent(db, run: id, line: nil, kind: "run-start", detail: "\(command) (pid \(getpid()) on \(Self.hostName))")
            return id
        }
    }

    /// Ends a run with its status and the number of 429 answers it met. Written even when
    /// the lock was lost (it only describes this run).
    public func finishRun(_ run: Int, status: String, throttled: Int = 0) async throws {
        try await perform { db in
            try db.transaction {
                try db.prepare("UPDATE runs SET finished = ?1, status = ?2, throttled = ?3 WHERE id = ?4")
                    .run([.text(Self.now()), .text(status), .int(throttled), .int(run)])
                try self.appendEvent(db, run: run, line: nil, kind: "run-end", detail: status)
            }
        }
    }

    /// Records 429 answers (wall-clock time, lane, Retry-After) met by a run.
    public func recordThrottles(run: Int, _ events: [RateLimiter.ThrottleEvent]) async throws {
        guard !events.isEmpty else { return }
        try await perform { db in
            try db.transaction {
                let q = try self.cached(db, "INSERT INTO throttles (run_id, time, lane, retry_after) VALUES (?1, ?2, ?3, ?4)")
                for e in events {
                    try q.run([.int(run), .text(Self.timestamp(Date(timeIntervalSince1970: e.time))), .text(e.lane), .real(e.retryAfter)])
                }
            }
        }
    }

    public func event(run: Int?, kind: String, detail: String) async throws {
        try await performWrite { db in try self.appendEvent(db, run: run, line: nil, kind: kind, detail: detail) }
    }

    /// Appends an event to the chain: it carries the hash of the event before it and its own
    /// (`AuditChain.hash`). Called inside a write transaction (BEGIN IMMEDIATE), so the last
    /// event read here is the last one in the file, whichever process wrote it.
    func appendEvent(_ db: SQLiteDatabase, run: Int?, line: Int?, kind: String, detail: String) throws {
        let last = try db.prepare("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1")
        try last.bind([])
        let (previousId, previousHash) = try last.step() ? (last.int(0), last.text(1) ?? "") : (0, "")
        last.reset()
        let event = AuditEvent(id: previousId + 1, time: Self.now(), run: run, line: line, kind: kind, detail: detail, previousHash: previousHash)
        try cached(db, "INSERT INTO events (id, time, run_id, line, kind, detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
            .run([.int(event.id), .text(event.time), run.map { .int($0) }, line.map { .int($0) }, .text(kind), .text(detail),
                  .text(previousHash), .text(event.computedHash)])
    }

    // MARK: - Progress

    /// Rows still to do, by state (pending, in-flight), read from the state index only:
    /// cheap even for a million-row plan, so that a resumed apply starts at once.
    public func openCounts(plan: Int) async throws -> (pending: Int, inFlight: Int) {
        try await perform { db in
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
    public func changeCount(plan: Int) async throws -> Int {
        try await count("SELECT COUNT(*) FROM rows WHERE plan_id = ?1 AND action IN ('update', 'add', 'remove')", [.int(plan)])
    }

    public struct Progress: Sendable {
        public var planId: Int
        public var byAction: [String: Int]
        public var byState: [String: Int]
        public var byOutcome: [String: Int]
        public var toWrite: Int
        public var written: Int
        /// Answers that were 429 (Too Many Requests), over every finished run of the plan.
        public var throttledAnswers: Int
        public var lastRun: (id: Int, command: String, status: String, started: String, heartbeat: String, finished: String?)?
        public var doneInLastMinute: Int
        /// Rows still to do or of unknown outcome.
        public var open: Int { (byState["pending"] ?? 0) + (byState["in-flight"] ?? 0) }
    }

    public func progress(plan: Int) async throws -> Progress {
        try await perform { db in
            func grouped(_ column: String, _ condition: String = "1") throws -> [String: Int] {
                let q = try db.prepare("SELECT \(column), COUNT(*) FROM rows WHERE plan_id = ?1 AND \(condition) GROUP BY \(column)")
                try q.bind([.int(plan)])
                var out: [String: Int] = [:]
                while try q.step() { out[q.text(0) ?? "-"] = q.int(1) }
                return out
            }
            let byAction = try grouped("action"), byState = try grouped("state"), byOutcome = try grouped("outcome", "outcome IS NOT NULL")
            let toWrite = (byAction["update"] ?? 0) + (byAction["add"] ?? 0) + (byAction["remove"] ?? 0)
            let written = try Self.scalar(db, "SELECT COUNT(*) FROM rows WHERE plan_id = ?1 AND action IN ('update', 'add', 'remove') AND state IN ('done', 'failed')", [.int(plan)])
            let throttled = try Self.scalar(db, "SELECT COALESCE(SUM(throttled), 0) FROM runs WHERE plan_id = ?1", [.int(plan)])
            let recent = try Self.scalar(db, "SELECT COUNT(*) FROM rows WHERE plan_id = ?1 AND action IN ('update','add') AND state IN ('done','failed') AND updated >= ?2",
                                    [.int(plan), .text(Self.timestamp(Date().addingTimeInterval(-60)))])
            let r = try db.prepare("SELECT id, command, status, started, heartbeat, finished FROM runs WHERE plan_id = ?1 ORDER BY id DESC LIMIT 1")
            try r.bind([.int(plan)])
            let last = try r.step() ? (r.int(0), r.text(1) ?? "", r.text(2) ?? "", r.text(3) ?? "", r.text(4) ?? "", r.text(5)) : nil
            return Progress(planId: plan, byAction: byAction, byState: byState, byOutcome: byOutcome, toWrite: toWrite,
                            written: written, throttledAnswers: throttled, lastRun: last, doneInLastMinute: recent)
        }
    }
}
