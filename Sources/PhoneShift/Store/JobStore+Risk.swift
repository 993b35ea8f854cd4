import Foundation

extension JobStore {
    // MARK: - The takeover guard's checks across rows

    /// Rows (writing a new number) whose new number is also the new number of other users in
    /// the same plan: every such row, with the lines of the others.
    func sharedNewNumbers(plan: Int) async throws -> [(Int, RiskFinding)] {
        try await perform { db in
            let q = try db.prepare("""
                SELECT GROUP_CONCAT(line), COUNT(DISTINCT LOWER(user_id)) FROM rows
                WHERE plan_id = ?1 AND action IN ('update', 'add') AND target IS NOT NULL AND user_id IS NOT NULL
                GROUP BY \(Self.numberKeySQL("target")) HAVING COUNT(DISTINCT LOWER(user_id)) > 1
                """)
            try q.bind([.int(plan)])
            var out: [(Int, RiskFinding)] = []
            while try q.step() {
                let lines = (q.text(0) ?? "").split(separator: ",").compactMap { Int($0) }.sorted()
                let users = q.int(1)
                for line in lines {
                    let others = lines.filter { $0 != line }
                    let shown = others.prefix(8).map(String.init).joined(separator: ", ") + (others.count > 8 ? ", …" : "")
                    out.append((line, RiskFinding(check: .sharedNumber,
                                                  reason: "the same new number is given to \(users) users in the sheet (also line\(others.count == 1 ? "" : "s") \(shown))")))
                }
            }
            return out
        }
    }

    /// Rows whose new number is already an MFA number of another user, as PhoneShift last
    /// read it in this tenant (this plan's reads, earlier plans', exports, what apply wrote).
    func anotherUsersNumbers(plan: Int) async throws -> [(Int, RiskFinding)] {
        try await perform { db in
            let q = try db.prepare("""
                SELECT r.line, COUNT(DISTINCT t.user_id), MIN(COALESCE(t.upn, t.user_id)), MIN(t.phone_type), MAX(t.at)
                FROM rows r JOIN tenant_numbers t ON t.number_key = \(Self.numberKeySQL("r.target")) AND t.user_id != LOWER(r.user_id)
                WHERE r.plan_id = ?1 AND r.action IN ('update', 'add') AND r.target IS NOT NULL AND r.user_id IS NOT NULL
                GROUP BY r.line
                """)
            try q.bind([.int(plan)])
            var out: [(Int, RiskFinding)] = []
            while try q.step() {
                let count = q.int(1)
                let who = Sanitize.forMessage(q.text(2) ?? "", limit: 120)
                let more = count > 1 ? " and \(count - 1) other user\(count == 2 ? "" : "s")" : ""
                out.append((q.int(0), RiskFinding(check: .anotherUsersNumber,
                                                  reason: "the new number is already the \(q.text(3) ?? "phone") number of \(who)\(more) (as read in this tenant, \(q.text(4) ?? ""))")))
            }
            return out
        }
    }

    /// Rows whose user's number is not the one PhoneShift last saw or wrote, when that was
    /// within the window: someone else changed it since (call before `recordTenantNumbers`).
    func changedSinceSeen(plan: Int, cutoff: String, days: Int) async throws -> [(Int, RiskFinding)] {
        try await perform { db in
            let q = try db.prepare("""
                SELECT r.line, t.source, t.at, r.before IS NULL FROM rows r
                JOIN tenant_numbers t ON t.user_id = LOWER(r.user_id) AND t.phone_type = r.phone_type
                WHERE r.plan_id = ?1 AND r.action IN ('update', 'add', 'remove', 'issue-pass') AND r.known_at IS NULL AND t.at >= ?2
                  AND (r.before IS NULL OR t.number_key != \(Self.numberKeySQL("r.before")))
                """)
            try q.bind([.int(plan), .text(cutoff)])
            var out: [(Int, RiskFinding)] = []
            while try q.step() {
                let what = q.text(1) == "applied" ? "wrote" : "saw"
                let change = q.int(3) == 1 ? "was removed" : "was changed"
                out.append((q.int(0), RiskFinding(check: .recentChange,
                                                  reason: "the user's number \(change) outside PhoneShift since PhoneShift \(what) it on \(q.text(2) ?? ""), within \(days) days")))
            }
            return out
        }
    }

    /// The rows of a plan with these lines.
    func rows(plan: Int, lines: [Int]) async throws -> [PlanRow] {
        guard !lines.isEmpty else { return [] }
        return try await selectRows("plan_id = ?1 AND line IN (\(lines.map(String.init).joined(separator: ","))) ORDER BY line", [.int(plan)])
    }

    /// The first `limit` rows of a plan with risk findings, in line order.
    public func riskyRows(plan: Int, limit: Int) async throws -> [PlanRow] {
        try await selectRows("plan_id = ?1 AND risks IS NOT NULL ORDER BY line LIMIT ?2", [.int(plan), .int(limit)])
    }

    /// A plan's rows with risk findings, and those the takeover guard held.
    public func riskCounts(plan: Int) async throws -> (risky: Int, held: Int) {
        try await perform { db in try Self.riskCounts(db, plan: plan) }
    }

    static func riskCounts(_ db: SQLiteDatabase, plan: Int) throws -> (risky: Int, held: Int) {
        (try scalar(db, "SELECT COUNT(*) FROM rows WHERE plan_id = ?1 AND risks IS NOT NULL", [.int(plan)]),
         try scalar(db, "SELECT COUNT(*) FROM rows WHERE plan_id = ?1 AND error_code = ?2", [.int(plan), .text(RiskChecks.holdCode)]))
    }
}
