import Foundation

extension JobStore {
    /// Outcomes that mean a row's change is in Graph (what verify re-reads).
    static let changedOutcomesSQL = "('changed', 'added', 'removed', 'already-applied', 'changed-not-unique')"

    /// Rows of `plan` whose change is in Graph by the store's account, made by run `run`
    /// (nil: by any run of the plan), in line order after `line`.
    public func changedRows(plan: Int, run: Int?, after line: Int, limit: Int) async throws -> [PlanRow] {
        try await perform { db in
            let q = try db.prepare("""
                SELECT \(Self.rowColumns) FROM rows WHERE plan_id = ?1 AND state = 'done' AND outcome IN \(Self.changedOutcomesSQL)
                  AND (?2 IS NULL OR run_id = ?2) AND line > ?3 ORDER BY line LIMIT ?4
                """)
            try q.bind([.int(plan), run.map { .int($0) }, .int(line), .int(limit)])
            var rows: [PlanRow] = []
            while try q.step() { rows.append(try Self.row(q)) }
            return rows
        }
    }

    /// What verify found. A lost change (Graph shows the value before it again) goes back
    /// to pending, so that apply writes it again; a number someone else changed since is
    /// `moved` (a new plan decides). Both record what Graph has now for delta planning.
    public func recordVerification(plan: Int, run: Int, lost: [PlanRow], drifted: [(row: PlanRow, live: String?)]) async throws {
        guard !lost.isEmpty || !drifted.isEmpty else { return }
        try await performWrite { db in
            let now = Self.now()
            let pending = try db.prepare("""
                UPDATE rows SET state = 'pending', outcome = NULL, error_code = 'lost-write', updated = ?3, run_id = ?4,
                    reason = 'verify found the number back at its value before the change (Graph lost the write); apply writes it again'
                WHERE plan_id = ?1 AND line = ?2
                """)
            let moved = try db.prepare("""
                UPDATE rows SET outcome = 'moved', error_code = 'changed-after-apply', updated = ?3, run_id = ?4,
                    reason = 'verify found another number than the one applied: changed since by someone else; plan again to include it'
                WHERE plan_id = ?1 AND line = ?2
                """)
            let known = try db.prepare("""
                UPDATE known_numbers SET value = ?3, source = 'saw in Graph', at = ?4
                WHERE user_key = ?1 AND phone_type = ?2
                """)
            for row in lost {
                try pending.run([.int(plan), .int(row.line), .text(now), .int(run)])
                try known.run([.text(Self.userKey(row)), .text(row.phoneType.rawValue), row.before.map(SQLiteValue.text), .text(now)])
                try self.appendEvent(db, run: run, line: row.line, kind: "verify-lost", detail: "the change is not in Graph; pending again")
            }
            for (row, live) in drifted {
                try moved.run([.int(plan), .int(row.line), .text(now), .int(run)])
                try known.run([.text(Self.userKey(row)), .text(row.phoneType.rawValue), live.map(SQLiteValue.text), .text(now)])
                try self.appendEvent(db, run: run, line: row.line, kind: "verify-moved", detail: "another number than the one applied")
            }
        }
    }

    /// `known_numbers.user_key` of a row (as `userKeySQL` makes it in SQL).
    static func userKey(_ row: PlanRow) -> String {
        (row.userKind?.rawValue ?? "") + ":" + Self.sqlLower(row.user)
    }

    /// SQLite's LOWER: ASCII letters only.
    static func sqlLower(_ s: String) -> String {
        String(decoding: s.utf8.map { (65...90).contains($0) ? $0 + 32 : $0 }, as: UTF8.self)
    }
}
