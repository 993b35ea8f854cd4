import Foundation

/// The header of a stored plan.
public struct PlanInfo: Sendable {
    public var id: Int
    public var created: String
    public var sheetPath: String
    public var sheetHash: String
    public var phoneType: PhoneType
    public var rows: Int
    /// The job settings that shaped the plan (`key=value` lines), nil for plans of schema 1.
    public var settings: String?
}

extension JobStore {
    // MARK: - Making a plan

    /// Starts a plan; it is not visible to `latestPlan` until `completePlan`.
    public func beginPlan(sheetPath: String, sheetHash: String, phoneType: PhoneType, settings: String) async throws -> Int {
        try await performWrite { db in
            try db.prepare("INSERT INTO plans (created, sheet_path, sheet_hash, phone_type, rows, complete, settings) VALUES (?1, ?2, ?3, ?4, 0, 0, ?5)")
                .run([.text(Self.now()), .text(sheetPath), .text(sheetHash), .text(phoneType.rawValue), .text(settings)])
            return Int(sqlite3LastInsertRowid(db))
        }
    }

    /// Records the digest of the sheet a plan being made was read from (known once the whole
    /// sheet was read; the plan is not complete before).
    public func recordSheetHash(_ sheetHash: String, plan: Int) async throws {
        try await performWrite { db in
            try db.prepare("UPDATE plans SET sheet_hash = ?1 WHERE id = ?2").run([.text(sheetHash), .int(plan)])
        }
    }

    /// Adds rows to a plan being made, in one transaction.
    public func insertPlanRows(_ rows: [PlanRow], plan: Int) async throws {
        guard !rows.isEmpty else { return }
        try await performWrite { db in
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
                                .text(r.reason), .text(r.state.rawValue), r.outcome.map { .text($0.rawValue) },
                                r.errorCode.map(SQLiteValue.text), .text(now)])
            }
        }
    }

    /// Rows of a plan being made whose user is still to be read, in line order, after `line`.
    public func rowsToRead(plan: Int, after line: Int, limit: Int) async throws -> [PlanRow] {
        try await selectRows("plan_id = ?1 AND action = 'to-read' AND line > ?2 ORDER BY line LIMIT ?3",
                             [.int(plan), .int(line), .int(limit)])
    }

    /// Writes what planning found for rows (user, before value, action, reason, state).
    public func savePlannedRows(_ rows: [PlanRow], plan: Int) async throws {
        try await performWrite { db in
            let q = try db.prepare("""
                UPDATE rows SET user_id = ?3, upn = ?4, display_name = ?5, mail = ?6, before = ?7, action = ?8,
                    reason = ?9, state = ?10, outcome = ?11, error_code = ?12, updated = ?13, sms_sign_in = ?14, flags = ?15, risks = ?16
                WHERE plan_id = ?1 AND line = ?2
                """)
            let now = Self.now()
            for r in rows {
                try q.run([.int(plan), .int(r.line), r.userId.map(SQLiteValue.text), r.userPrincipalName.map(SQLiteValue.text),
                           r.displayName.map(SQLiteValue.text), r.mail.map(SQLiteValue.text), r.before.map(SQLiteValue.text),
                           .text(r.action.rawValue), .text(r.reason), .text(r.state.rawValue), r.outcome.map { .text($0.rawValue) },
                           r.errorCode.map(SQLiteValue.text), .text(now), r.smsSignIn.map(SQLiteValue.text), Self.flagsText(r.flags),
                           Self.risksText(r.risks)])
            }
        }
    }

    /// One user named on several rows (by UPN on one, object id or e-mail on another) for the
    /// same phone type: with different numbers every such row becomes a `conflict` and none
    /// is written; with the same number the first row stays and the others are skipped as
    /// duplicates. Returns how many rows became conflicts. Only the groups are held in memory.
    public func markSameUserRows(plan: Int) async throws -> Int {
        try await performWrite { db in
            let groups = try db.prepare("""
                SELECT user_id, phone_type, COUNT(DISTINCT REPLACE(LOWER(target), ' ', '')), GROUP_CONCAT(line)
                FROM rows WHERE plan_id = ?1 AND user_id IS NOT NULL AND action IN ('update', 'add', 'unchanged')
                GROUP BY LOWER(user_id), phone_type HAVING COUNT(*) > 1
                """)
            try groups.bind([.int(plan)])
            var found: [(targets: Int, lines: [Int])] = []
            while try groups.step() {
                let lines = (groups.text(3) ?? "").split(separator: ",").compactMap { Int($0) }.sorted()
                found.append((groups.int(2), lines))
            }
            let settle = try db.prepare("""
                UPDATE rows SET action = ?3, state = 'done', outcome = ?3, reason = ?4, updated = ?5 WHERE plan_id = ?1 AND line = ?2
                """)
            var conflicts = 0
            let now = Self.now()
            for group in found {
                if group.targets > 1 {
                    for line in group.lines {
                        let others = group.lines.filter { $0 != line }.map(String.init).joined(separator: ", ")
                        try settle.run([.int(plan), .int(line), .text(PlanAction.conflict.rawValue),
                                        .text("the same user as line \(others) (named another way) with a different number; neither is written — keep one row"), .text(now)])
                        conflicts += 1
                    }
                } else {
                    for line in group.lines.dropFirst() {
                        try settle.run([.int(plan), .int(line), .text(PlanAction.skipped.rawValue),
                                        .text("the same user and number as line \(group.lines[0]); written once"), .text(now)])
                    }
                }
            }
            return conflicts
        }
    }

    /// Makes a plan visible (the latest), with its row count.
    public func completePlan(_ plan: Int, sheetPath: String) async throws {
        try await performWrite { db in
            try db.prepare("UPDATE plans SET complete = 1, rows = (SELECT COUNT(*) FROM rows WHERE plan_id = ?1) WHERE id = ?1")
                .run([.int(plan)])
            let digest = try Self.planDigest(db, plan: plan)
            let maker = OperatorIdentity.current
            try db.prepare("UPDATE plans SET plan_hash = ?2, made_by = ?3, made_on = ?4 WHERE id = ?1")
                .run([.int(plan), .text(digest), .text(maker.account), .text(maker.host)])
            let risk = try Self.riskCounts(db, plan: plan)
            try self.appendEvent(db, run: nil, line: nil, kind: "plan",
                                 detail: "plan \(plan) from \(sheetPath) by \(maker.account) on \(maker.host); digest \(digest); \(risk.risky) rows with risk findings, \(risk.held) held")
        }
    }

    // MARK: - Reading plans

    /// Rows of a plan by action.
    public func actionCounts(plan: Int) async throws -> [PlanAction: Int] {
        try await perform { db in
            let q = try db.prepare("SELECT action, COUNT(*) FROM rows WHERE plan_id = ?1 GROUP BY action")
            try q.bind([.int(plan)])
            var out: [PlanAction: Int] = [:]
            while try q.step() { if let a = PlanAction(rawValue: q.text(0) ?? "") { out[a] = q.int(1) } }
            return out
        }
    }

    /// Changes to the mobile number of users who sign in by SMS (their sign-in number follows).
    public func smsSignInChanges(plan: Int) async throws -> Int {
        let states = PlanRow.smsSignInFollowingStates.map { "'\($0)'" }.joined(separator: ", ")
        return try await count("SELECT COUNT(*) FROM rows WHERE plan_id = ?1 AND action = 'update' AND sms_sign_in IN (\(states))", [.int(plan)])
    }

    /// Rows skipped because Graph could not be read for them (counted, not loaded).
    public func readErrorCount(plan: Int) async throws -> Int {
        try await count("SELECT COUNT(*) FROM rows WHERE plan_id = ?1 AND action = 'skipped' AND error_code IS NOT NULL AND error_code != 'changed-elsewhere'", [.int(plan)])
    }

    /// Rows whose number was changed outside PhoneShift and kept (`policy.changedElsewhere: keep`).
    public func changedElsewhereCount(plan: Int) async throws -> Int {
        try await count("SELECT COUNT(*) FROM rows WHERE plan_id = ?1 AND error_code = 'changed-elsewhere' AND action = 'skipped'", [.int(plan)])
    }

    /// Rows still to be read from Graph while a plan is made.
    public func toReadCount(plan: Int) async throws -> Int {
        try await count("SELECT COUNT(*) FROM rows WHERE plan_id = ?1 AND action = 'to-read'", [.int(plan)])
    }

    /// The first `limit` rows of a plan with one of `actions`, in line order.
    public func rows(plan: Int, actions: [PlanAction], limit: Int) async throws -> [PlanRow] {
        let list = actions.map { "'\($0.rawValue)'" }.joined(separator: ", ")
        return try await selectRows("plan_id = ?1 AND action IN (\(list)) ORDER BY line LIMIT ?2", [.int(plan), .int(limit)])
    }

    /// Rows still to do (pending or in flight), in line order, after `line`.
    public func openRows(plan: Int, after line: Int, limit: Int) async throws -> [PlanRow] {
        try await selectRows("plan_id = ?1 AND state IN ('pending', 'in-flight') AND line > ?2 ORDER BY line LIMIT ?3",
                             [.int(plan), .int(line), .int(limit)])
    }

    /// Rows a run (or an earlier run of its plan) left in flight.
    public func inFlightRows(plan: Int, upToRun run: Int) async throws -> [PlanRow] {
        try await selectRows("plan_id = ?1 AND state = 'in-flight' AND run_id <= ?2 ORDER BY line", [.int(plan), .int(run)])
    }

    /// Every row of a plan in line order (for tests and small plans; large ones use `withRows`).
    public func allRows(plan: Int) async throws -> [PlanRow] {
        try await selectRows("plan_id = ?1 ORDER BY line", [.int(plan)])
    }

    /// Streams every row of a plan, in line order, to `body` on the store's queue: `next()`
    /// gives the next row or nil. Memory stays flat whatever the plan's size.
    public func withRows<T: Sendable>(plan: Int, _ body: @escaping @Sendable (_ next: () throws -> PlanRow?) throws -> T) async throws -> T {
        try await perform { db in
            let q = try db.prepare("SELECT \(Self.rowColumns) FROM rows WHERE plan_id = ?1 ORDER BY line")
            try q.bind([.int(plan)])
            return try body { try q.step() ? try Self.row(q) : nil }
        }
    }

    func selectRows(_ condition: String, _ values: [SQLiteValue?]) async throws -> [PlanRow] {
        try await perform { db in
            let q = try db.prepare("SELECT \(Self.rowColumns) FROM rows WHERE \(condition)")
            try q.bind(values)
            var out: [PlanRow] = []
            while try q.step() { out.append(try Self.row(q)) }
            return out
        }
    }

    func count(_ sql: String, _ values: [SQLiteValue?]) async throws -> Int {
        try await perform { db in try Self.scalar(db, sql, values) }
    }

    /// The first column of the first row of a query (0 when there is none), on the queue.
    static func scalar(_ db: SQLiteDatabase, _ sql: String, _ values: [SQLiteValue?]) throws -> Int {
        let q = try db.prepare(sql)
        try q.bind(values)
        return try q.step() ? q.int(0) : 0
    }

    /// A value kept in the store's meta table (e.g. the job file a plan came from).
    public func meta(_ key: String) async throws -> String? {
        try await perform { db in
            let q = try db.prepare("SELECT value FROM meta WHERE key = ?1")
            try q.bind([.text(key)])
            return try q.step() ? q.text(0) : nil
        }
    }

    public func setMeta(_ key: String, _ value: String) async throws {
        try await performWrite { db in try db.prepare("INSERT OR REPLACE INTO meta VALUES (?1, ?2)").run([.text(key), .text(value)]) }
    }

    /// Whether an apply has already touched this plan (some run started on it).
    public func applyStarted(plan: Int) async throws -> Bool {
        try await count("SELECT COUNT(*) FROM runs WHERE plan_id = ?1 AND command = 'apply'", [.int(plan)]) > 0
    }

    public func latestPlan() async throws -> PlanInfo? {
        try await perform { db in
            let q = try db.prepare("SELECT id, created, sheet_path, sheet_hash, phone_type, rows, settings FROM plans WHERE complete = 1 AND kind = 'sheet' ORDER BY id DESC LIMIT 1")
            try q.bind([])
            guard try q.step() else { return nil }
            return PlanInfo(id: q.int(0), created: q.text(1) ?? "", sheetPath: q.text(2) ?? "", sheetHash: q.text(3) ?? "",
                            phoneType: PhoneType(rawValue: q.text(4) ?? "") ?? .mobile, rows: q.int(5), settings: q.text(6))
        }
    }

    /// A plan by id (any kind).
    public func plan(id: Int) async throws -> PlanInfo? {
        try await perform { db in
            let q = try db.prepare("SELECT id, created, sheet_path, sheet_hash, phone_type, rows, settings FROM plans WHERE id = ?1")
            try q.bind([.int(id)])
            guard try q.step() else { return nil }
            return PlanInfo(id: q.int(0), created: q.text(1) ?? "", sheetPath: q.text(2) ?? "", sheetHash: q.text(3) ?? "",
                            phoneType: PhoneType(rawValue: q.text(4) ?? "") ?? .mobile, rows: q.int(5), settings: q.text(6))
        }
    }

    static let rowColumns = """
        line, user, user_kind, user_id, upn, display_name, mail, phone_type, before, target, action, reason, state, outcome,
        attempts, error_code, error_message, request_id, client_request_id, updated, sms_sign_in, run_id, known_at, flags, risks
        """

    /// A stored row, decoded by column name. A value this version does not know (a newer
    /// PhoneShift's, or a damaged file) is an error that names the row, never a default.
    static func row(_ q: SQLiteStatement) throws -> PlanRow {
        let line = try q.int("line")
        func unknown(_ column: String, _ text: String) -> PhoneShiftError {
            PhoneShiftError(.store, "the job store's row for line \(line) has \(column) '\(Sanitize.forMessage(text, limit: 40))', which this PhoneShift does not know (a newer version's store, or a damaged file)")
        }
        func known<T: RawRepresentable<String>>(_ column: String, as: T.Type) throws -> T? {
            guard let text = try q.text(column) else { return nil }
            guard let value = T(rawValue: text) else { throw unknown(column, text) }
            return value
        }
        func required<T: RawRepresentable<String>>(_ column: String, as type: T.Type) throws -> T {
            guard let value = try known(column, as: type) else {
                throw PhoneShiftError(.store, "the job store's row for line \(line) has no \(column) (a damaged file)")
            }
            return value
        }
        var r = PlanRow(line: line, user: try q.text("user") ?? "", userId: try q.text("user_id"), userPrincipalName: try q.text("upn"),
                        displayName: try q.text("display_name"), mail: try q.text("mail"), phoneType: try required("phone_type", as: PhoneType.self),
                        before: try q.text("before"), target: try q.text("target"), action: try required("action", as: PlanAction.self),
                        reason: try q.text("reason") ?? "", state: try required("state", as: RowState.self),
                        outcome: try known("outcome", as: PlanRow.Outcome.self), attempts: try q.int("attempts"))
        r.userKind = try known("user_kind", as: UserKeyKind.self)
        r.errorCode = try q.text("error_code")
        r.errorMessage = try q.text("error_message")
        r.requestId = try q.text("request_id")
        r.clientRequestId = try q.text("client_request_id")
        r.updated = try q.text("updated")
        r.smsSignIn = try q.text("sms_sign_in")
        r.runId = try q.isNull("run_id") ? nil : try q.int("run_id")
        r.knownAt = try q.text("known_at")
        for name in (try q.text("flags") ?? "").split(separator: ",") {
            guard let flag = RowFlag(rawValue: String(name)) else { throw unknown("flag", String(name)) }
            r.flags.insert(flag)
        }
        for name in (try q.text("risks") ?? "").split(separator: ",") {
            guard let risk = RiskCheck(rawValue: String(name)) else { throw unknown("risk", String(name)) }
            r.risks.insert(risk)
        }
        return r
    }

    /// The text stored for a row's risk findings (NULL for none), in a fixed order.
    static func risksText(_ risks: Set<RiskCheck>) -> SQLiteValue? {
        risks.isEmpty ? nil : .text(RiskCheck.allCases.filter(risks.contains).map(\.rawValue).joined(separator: ","))
    }

    /// The text stored for a row's flags (NULL for none), in a fixed order.
    static func flagsText(_ flags: Set<RowFlag>) -> SQLiteValue? {
        flags.isEmpty ? nil : .text(RowFlag.allCases.filter(flags.contains).map(\.rawValue).joined(separator: ","))
    }

    // MARK: - Applying

    /// Writes a batch of row updates in one transaction (after checking the lock is still ours).
    public func update(_ updates: [RowUpdate], plan: Int, run: Int) async throws {
        guard !updates.isEmpty else { return }
        try await performWrite { db in
            let q = try self.cached(db, """
                UPDATE rows SET state = ?3, outcome = COALESCE(?4, outcome), attempts = attempts + ?5,
                    error_code = ?6, error_message = ?7, request_id = COALESCE(?8, request_id),
                    client_request_id = COALESCE(?9, client_request_id), reason = COALESCE(?10, reason),
                    updated = ?11, run_id = ?12
                WHERE plan_id = ?1 AND line = ?2
                """)
            let now = Self.now()
            for u in updates {
                try q.run([.int(plan), .int(u.line), .text(u.state.rawValue), u.outcome.map { .text($0.rawValue) },
                           .int(u.attempts), u.errorCode.map(SQLiteValue.text), u.errorMessage.map(SQLiteValue.text),
                           u.requestId.map(SQLiteValue.text), u.clientRequestId.map(SQLiteValue.text),
                           u.reason.map(SQLiteValue.text), .text(now), .int(run)])
                if u.state == .done || u.state == .failed {
                    try self.appendEvent(db, run: run, line: u.line, kind: u.state.rawValue,
                                         detail: [u.outcome?.rawValue, u.errorCode, u.requestId.map { "request-id \($0)" }].compactMap { $0 }.joined(separator: " "))
                }
            }
        }
    }

    /// Puts failed rows back to pending (for `apply --retry-failed`). Rows whose number
    /// moved since the plan are not retried: their before-value is stale, so they need a
    /// new plan. Returns (requeued, moved).
    public func requeueFailed(plan: Int) async throws -> (requeued: Int, moved: Int) {
        try await performWrite { db in
            try db.prepare("UPDATE rows SET state = 'pending', outcome = NULL WHERE plan_id = ?1 AND state = 'failed'").run([.int(plan)])
            let requeued = Int(sqlite3Changes(db))
            return (requeued, try Self.scalar(db, "SELECT COUNT(*) FROM rows WHERE plan_id = ?1 AND outcome = 'moved'", [.int(plan)]))
        }
    }
}
