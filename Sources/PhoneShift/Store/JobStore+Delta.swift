import Foundation

/// What the job store knows of a user's number from earlier runs: the value PhoneShift last
/// applied (`applied`) or read from Graph (`seen`), and when.
public struct KnownNumber: Sendable, Equatable {
    public var value: String?
    public var source: String
    public var at: String
}

/// A user who was in the sheet of the last successful run and is not in this one.
public struct VanishedUser: Sendable {
    public var user: String
    public var userPrincipalName: String?
    public var displayName: String?
    public var line: Int
}

extension JobStore {
    // MARK: - Delta

    /// How a row's user is keyed in `known_numbers`: the way the sheet names them.
    static let userKeySQL = "COALESCE(user_kind, '') || ':' || LOWER(user)"
    /// Two numbers in Graph's form compared as `sameNumber` does (spaces and case of x aside).
    static func numberKeySQL(_ column: String) -> String { "REPLACE(LOWER(\(column)), ' ', '')" }

    /// Settles, without a Graph call, every row still to read whose number equals the one
    /// PhoneShift last applied or saw for that user and phone type (`unchanged`, with the
    /// known time in `known_at`); gives the other rows to read their known user id, so that
    /// planning reads only their methods. Returns how many rows were settled.
    public func settleFromKnown(plan: Int) async throws -> Int {
        try await performWrite { db in
            try db.prepare("""
                UPDATE rows SET action = 'unchanged', state = 'done', outcome = 'unchanged', before = k.value,
                    user_id = k.user_id, upn = k.upn, display_name = k.display_name, mail = k.mail, known_at = k.at,
                    reason = 'the number PhoneShift last ' || k.source || ' (' || k.at || '); not read again (delta)', updated = ?2
                FROM known_numbers k
                WHERE rows.plan_id = ?1 AND rows.action = 'to-read' AND k.phone_type = rows.phone_type
                  AND k.user_key = COALESCE(rows.user_kind, '') || ':' || LOWER(rows.user) AND k.user_id IS NOT NULL
                  AND ((k.value IS NULL AND rows.target IS NULL) OR \(Self.numberKeySQL("k.value")) = \(Self.numberKeySQL("rows.target")))
                """).run([.int(plan), .text(Self.now())])
            let settled = Int(sqlite3Changes(db))
            try db.prepare("""
                UPDATE rows SET user_id = k.user_id
                FROM known_numbers k
                WHERE rows.plan_id = ?1 AND rows.action = 'to-read' AND rows.user_id IS NULL AND k.phone_type = rows.phone_type
                  AND k.user_key = COALESCE(rows.user_kind, '') || ':' || LOWER(rows.user) AND k.user_id IS NOT NULL
                """).run([.int(plan)])
            return settled
        }
    }

    /// The known numbers of the rows still to read with lines `from...to`, by line.
    public func knownNumbers(plan: Int, lines: ClosedRange<Int>) async throws -> [Int: KnownNumber] {
        try await perform { db in
            let q = try db.prepare("""
                SELECT r.line, k.value, k.source, k.at FROM rows r JOIN known_numbers k
                  ON k.user_key = COALESCE(r.user_kind, '') || ':' || LOWER(r.user) AND k.phone_type = r.phone_type
                WHERE r.plan_id = ?1 AND r.line BETWEEN ?2 AND ?3 AND r.action = 'to-read'
                """)
            try q.bind([.int(plan), .int(lines.lowerBound), .int(lines.upperBound)])
            var found: [Int: KnownNumber] = [:]
            while try q.step() { found[q.int(0)] = KnownNumber(value: q.text(1), source: q.text(2) ?? "", at: q.text(3) ?? "") }
            return found
        }
    }

    /// Records what planning read from Graph: each row whose user was read (not settled from
    /// the known numbers) gives its user's live number (`seen`).
    public func recordSeen(plan: Int) async throws {
        try await performWrite { db in
            try db.prepare("""
                INSERT INTO known_numbers (user_key, phone_type, value, source, at, user_id, upn, display_name, mail)
                SELECT \(Self.userKeySQL), phone_type, before, 'saw in Graph', updated, user_id, upn, display_name, mail FROM rows
                WHERE plan_id = ?1 AND known_at IS NULL AND user_id IS NOT NULL
                  AND (action IN ('update', 'add', 'unchanged', 'remove') OR (action = 'skipped' AND error_code IN ('changed-elsewhere', 'kept')))
                ON CONFLICT (user_key, phone_type) DO UPDATE SET value = excluded.value, source = excluded.source, at = excluded.at,
                    user_id = excluded.user_id, upn = excluded.upn, display_name = excluded.display_name, mail = excluded.mail
                """).run([.int(plan)])
        }
    }

    /// Records what applying a plan wrote: each row an apply finished with the target in
    /// Graph gives its user's number (`applied`). Idempotent; run after every apply and at the
    /// start of the next plan (a killed apply recorded nothing).
    public func recordApplied(plan: Int) async throws {
        try await performWrite { db in
            try db.prepare("""
                INSERT INTO known_numbers (user_key, phone_type, value, source, at, user_id, upn, display_name, mail)
                SELECT \(Self.userKeySQL), phone_type, target, 'applied', updated, user_id, upn, display_name, mail FROM rows
                WHERE plan_id = ?1 AND state = 'done' AND user_id IS NOT NULL AND action IN ('update', 'add', 'remove')
                  AND outcome IN ('changed', 'added', 'removed', 'already-applied', 'changed-not-unique', 'unchanged')
                ON CONFLICT (user_key, phone_type) DO UPDATE SET value = excluded.value, source = excluded.source, at = excluded.at,
                    user_id = excluded.user_id, upn = excluded.upn, display_name = excluded.display_name, mail = excluded.mail
                """).run([.int(plan)])
        }
    }

    /// Users on rows of plan `previous` whose sheet key is on no row of `plan`. The keys are
    /// compared as sets (EXCEPT, then IN: temporary indexes), not row by row.
    public func vanishedUsers(plan: Int, previous: Int) async throws -> [VanishedUser] {
        try await perform { db in
            let q = try db.prepare("""
                SELECT p.user, p.upn, p.display_name, p.line FROM rows p WHERE p.plan_id = ?2 AND LOWER(p.user) IN
                  (SELECT LOWER(user) FROM rows WHERE plan_id = ?2 EXCEPT SELECT LOWER(user) FROM rows WHERE plan_id = ?1)
                ORDER BY p.line
                """)
            try q.bind([.int(plan), .int(previous)])
            var users: [VanishedUser] = []
            while try q.step() { users.append(VanishedUser(user: q.text(0) ?? "", userPrincipalName: q.text(1), displayName: q.text(2), line: q.int(3))) }
            return users
        }
    }

    /// The sheet's size for the safety valves: data rows, and those whose number is blank or
    /// invalid.
    /// Rows of a plan's sheet, and those blank or invalid (`usersOnly`: a sheet that names users
    /// only has no number to be blank, so only invalid rows count).
    public func sheetCounts(plan: Int, usersOnly: Bool = false) async throws -> (rows: Int, blankOrInvalid: Int) {
        try await perform { db in
            let q = try db.prepare(usersOnly
                ? "SELECT COUNT(*), COALESCE(SUM(action = 'invalid'), 0) FROM rows WHERE plan_id = ?1"
                : "SELECT COUNT(*), COALESCE(SUM(action = 'invalid' OR target IS NULL), 0) FROM rows WHERE plan_id = ?1")
            try q.bind([.int(plan)])
            _ = try q.step()
            return (q.int(0), q.int(1))
        }
    }

    // MARK: - Retention

    /// Deletes every sheet plan but the newest `keep` (with their rollback plans, rows, runs
    /// and 429 records; plan runs older than the oldest kept plan too). The event log is
    /// append-only and stays. Returns the ids of the deleted apply and rollback runs (their
    /// draft folders go too) and how many plans were deleted.
    public func prune(keep: Int) async throws -> (plans: Int, runs: [Int]) {
        try await performWrite { db in
            let q = try db.prepare("SELECT id FROM plans WHERE kind = 'sheet' AND complete = 1 ORDER BY id DESC LIMIT -1 OFFSET ?1")
            try q.bind([.int(keep)])
            var old: [Int] = []
            while try q.step() { old.append(q.int(0)) }
            guard let newestOld = old.first else { return (0, []) }
            // Every plan (of any kind, finished or not) up to the newest pruned sheet plan goes,
            // except a rollback of a run that is kept (it has no sheet plan to point at otherwise).
            let runs = try db.prepare("SELECT id FROM runs WHERE command IN ('apply', 'rollback') AND plan_id IN (SELECT id FROM plans WHERE id <= ?1)")
            try runs.bind([.int(newestOld)])
            var deletedRuns: [Int] = []
            while try runs.step() { deletedRuns.append(runs.int(0)) }
            try db.prepare("CREATE TEMP TABLE IF NOT EXISTS pruned_plans (id INTEGER PRIMARY KEY)").run([])
            try db.prepare("DELETE FROM pruned_plans").run([])
            try db.prepare("INSERT INTO pruned_plans SELECT id FROM plans WHERE id <= ?1").run([.int(newestOld)])
            // Plan runs have no plan id: those older than the last run of a pruned plan go.
            let boundary = try Self.scalar(db, "SELECT COALESCE(MAX(id), 0) FROM runs WHERE plan_id IN (SELECT id FROM pruned_plans)", [])
            try db.prepare("DELETE FROM rows WHERE plan_id IN (SELECT id FROM pruned_plans)").run([])
            try db.prepare("DELETE FROM throttles WHERE run_id IN (SELECT id FROM runs WHERE plan_id IN (SELECT id FROM pruned_plans))").run([])
            try db.prepare("DELETE FROM runs WHERE plan_id IN (SELECT id FROM pruned_plans)").run([])
            try db.prepare("DELETE FROM runs WHERE plan_id IS NULL AND id < ?1 AND id NOT IN (SELECT run_id FROM lock WHERE run_id IS NOT NULL)")
                .run([.int(boundary)])
            try db.prepare("DELETE FROM plans WHERE id IN (SELECT id FROM pruned_plans)").run([])
            let count = Int(sqlite3Changes(db))
            try self.appendEvent(db, run: nil, line: nil, kind: "prune", detail: "kept the newest \(keep) plans; deleted \(count) plans up to \(newestOld)")
            return (count, deletedRuns)
        }
    }
}
