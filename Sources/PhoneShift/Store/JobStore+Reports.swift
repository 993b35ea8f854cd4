import Foundation

/// A run as the reports describe it.
public struct RunInfo: Sendable {
    public var id: Int
    public var command: String
    public var status: String
    public var started: String
    public var finished: String?
    public var settings: String
    public var throttled: Int
}

/// What the reports are built from: read from the job store in a few grouped queries; the
/// rows themselves are streamed separately (`withRows`).
public struct ReportSummary: Sendable {
    public var plan: PlanInfo
    public var run: RunInfo?
    /// Each row's result: its outcome, or its action when nothing was written, or
    /// `pending` / `unknown` while still open.
    public var byResult: [String: Int]
    public var byAction: [String: Int]
    public var byErrorCode: [String: Int]
    /// Successful writes per second of the run (UTC timestamps, whole seconds).
    public var writesPerSecond: [(time: String, count: Int)]
    /// The run's 429s (UTC timestamps) and their lanes.
    public var throttles: [(time: String, lane: String)]
    public var rowCount: Int
    public var attentionCount: Int
    /// What the plan found about the tenant as a whole (`PlanResult.notes`).
    public var notes: [String] = []
    /// Who made the plan and who approved it, when the job needs an approval or the plan has one.
    public var approval: ApprovalState?
}

extension JobStore {
    /// The SQL for a row's result (see `ReportSummary.byResult`).
    static let resultSQL = "CASE WHEN state = 'pending' AND action IN ('update', 'add', 'remove') THEN 'pending' WHEN state = 'in-flight' THEN 'unknown' ELSE COALESCE(outcome, action) END"

    /// Rows that need a person's attention first: failed, unknown, blocked, moved, in
    /// conflict, not found, invalid, not read, saved with a warning.
    static let attentionSQL = """
        (state IN ('failed', 'in-flight') OR outcome IN ('moved', 'drifted', 'changed-not-unique', 'failed', 'throttled', 'user-not-found', 'blocked')
         OR action IN ('blocked', 'conflict', 'user-not-found', 'invalid') OR (action = 'skipped' AND error_code IS NOT NULL))
        """

    /// The apply runs of a plan, newest first.
    public func runs(plan: Int) async throws -> [RunInfo] {
        try await perform { db in
            let q = try db.prepare("SELECT id, command, status, started, finished, settings, throttled FROM runs WHERE plan_id = ?1 AND command IN ('apply', 'rollback') ORDER BY id DESC")
            try q.bind([.int(plan)])
            var out: [RunInfo] = []
            while try q.step() {
                out.append(RunInfo(id: q.int(0), command: q.text(1) ?? "", status: q.text(2) ?? "", started: q.text(3) ?? "",
                                   finished: q.text(4), settings: q.text(5) ?? "", throttled: q.int(6)))
            }
            return out
        }
    }

    public func reportSummary(plan: PlanInfo, run: RunInfo?) async throws -> ReportSummary {
        try await perform { db in
            func grouped(_ expression: String, _ condition: String = "1") throws -> [String: Int] {
                let q = try db.prepare("SELECT \(expression), COUNT(*) FROM rows WHERE plan_id = ?1 AND \(condition) GROUP BY 1")
                try q.bind([.int(plan.id)])
                var out: [String: Int] = [:]
                while try q.step() { out[q.text(0) ?? "-"] = q.int(1) }
                return out
            }
            var perSecond: [(String, Int)] = []
            var throttles: [(String, String)] = []
            if let run {
                let w = try db.prepare("""
                    SELECT updated, COUNT(*) FROM rows WHERE plan_id = ?1 AND run_id = ?2
                    AND outcome IN ('changed', 'added', 'removed', 'changed-not-unique') GROUP BY updated ORDER BY updated
                    """)
                try w.bind([.int(plan.id), .int(run.id)])
                while try w.step() { perSecond.append((w.text(0) ?? "", w.int(1))) }
                let t = try db.prepare("SELECT time, lane FROM throttles WHERE run_id = ?1 ORDER BY time")
                try t.bind([.int(run.id)])
                while try t.step() { throttles.append((t.text(0) ?? "", t.text(1) ?? "")) }
            }
            return ReportSummary(
                plan: plan, run: run, byResult: try grouped(Self.resultSQL), byAction: try grouped("action"),
                byErrorCode: try grouped("error_code", "error_code IS NOT NULL"), writesPerSecond: perSecond, throttles: throttles,
                rowCount: try Self.scalar(db, "SELECT COUNT(*) FROM rows WHERE plan_id = ?1", [.int(plan.id)]),
                attentionCount: try Self.scalar(db, "SELECT COUNT(*) FROM rows WHERE plan_id = ?1 AND \(Self.attentionSQL)", [.int(plan.id)]))
        }
    }

    /// The first `limit` rows that need attention, the most serious first.
    public func attentionRows(plan: Int, limit: Int) async throws -> [PlanRow] {
        try await perform { db in
            let q = try db.prepare("""
                SELECT \(Self.rowColumns) FROM rows WHERE plan_id = ?1 AND \(Self.attentionSQL)
                ORDER BY CASE WHEN state = 'failed' THEN 0 WHEN state = 'in-flight' THEN 1 WHEN outcome = 'moved' THEN 2
                              WHEN action = 'blocked' OR outcome = 'blocked' THEN 3 WHEN action = 'conflict' THEN 4 ELSE 5 END, line LIMIT ?2
                """)
            try q.bind([.int(plan), .int(limit)])
            var out: [PlanRow] = []
            while try q.step() { out.append(try Self.row(q)) }
            return out
        }
    }

    /// Lines of the rows to run again: failed, blocked, moved, and not read at plan time.
    public func rerunLines(plan: Int) async throws -> Set<Int> {
        try await perform { db in
            let q = try db.prepare("SELECT line FROM rows WHERE plan_id = ?1 AND (state = 'failed' OR outcome IN ('moved', 'blocked') OR action = 'blocked' OR (action = 'skipped' AND error_code IS NOT NULL AND error_code != 'changed-elsewhere'))")
            try q.bind([.int(plan)])
            var out = Set<Int>()
            while try q.step() { out.insert(q.int(0)) }
            return out
        }
    }
}
