import Foundation

/// A run that changed numbers, and the plan it applied.
public struct ChangingRun: Sendable {
    public var id: Int
    public var command: String
    public var planId: Int
    public var status: String
}

extension JobStore {
    /// A run that wrote (apply or rollback), nil when the store does not hold it (never
    /// existed, or removed by retention).
    public func changingRun(_ id: Int) async throws -> ChangingRun? {
        try await perform { db in
            let q = try db.prepare("SELECT id, command, plan_id, status FROM runs WHERE id = ?1 AND command IN ('apply', 'rollback') AND plan_id IS NOT NULL")
            try q.bind([.int(id)])
            guard try q.step() else { return nil }
            return ChangingRun(id: q.int(0), command: q.text(1) ?? "", planId: q.int(2), status: q.text(3) ?? "")
        }
    }

    /// The rollback plan of `run`, if one was made.
    public func rollbackPlan(of run: Int) async throws -> PlanInfo? {
        let id: Int? = try await perform { db in
            let q = try db.prepare("SELECT id FROM plans WHERE kind = 'rollback' AND source_run = ?1 AND complete = 1 ORDER BY id DESC LIMIT 1")
            try q.bind([.int(run)])
            return try q.step() ? q.int(0) : nil
        }
        guard let id else { return nil }
        return try await plan(id: id)
    }

    /// Makes the plan that undoes what `run` wrote — with the earlier runs of its plan: an
    /// interrupted and resumed apply is one change made by several runs. For every row they
    /// changed, the
    /// value the run set becomes the expected live value (`before`) and the value before the
    /// run the target — PATCH back, DELETE a method the run added, POST one it removed.
    /// Returns the new plan's id and its row count.
    public func makeRollbackPlan(of run: ChangingRun) async throws -> (plan: Int, rows: Int) {
        try await performWrite { db in
            let source = try db.prepare("SELECT phone_type, settings FROM plans WHERE id = ?1")
            try source.bind([.int(run.planId)])
            guard try source.step() else { throw PhoneShiftError(.store, "the plan of run \(run.id) is not in the store") }
            let phoneType = source.text(0) ?? "mobile", settings = source.text(1) ?? ""
            try db.prepare("INSERT INTO plans (created, sheet_path, sheet_hash, phone_type, rows, complete, settings, kind, source_run) VALUES (?1, ?2, '', ?3, 0, 0, ?4, 'rollback', ?5)")
                .run([.text(Self.now()), .text("(rollback of run \(run.id))"), .text(phoneType), .text(settings), .int(run.id)])
            let plan = Int(sqlite3LastInsertRowid(db))
            try db.prepare("""
                INSERT INTO rows (plan_id, line, user, user_kind, user_id, upn, display_name, mail, phone_type, before, target,
                                  action, reason, state, sms_sign_in)
                SELECT ?1, line, user, user_kind, user_id, upn, display_name, mail, phone_type, target, before,
                       CASE WHEN before IS NULL THEN 'remove' WHEN target IS NULL THEN 'add' ELSE 'update' END,
                       'rollback of run ' || ?3, 'pending', sms_sign_in
                FROM rows WHERE plan_id = ?2 AND run_id <= ?3 AND state = 'done'
                  AND outcome IN ('changed', 'added', 'removed', 'changed-not-unique', 'already-applied')
                """).run([.int(plan), .int(run.planId), .int(run.id)])
            try db.prepare("UPDATE plans SET complete = 1, rows = (SELECT COUNT(*) FROM rows WHERE plan_id = ?1) WHERE id = ?1").run([.int(plan)])
            try self.appendEvent(db, run: nil, line: nil, kind: "plan", detail: "rollback plan \(plan) of run \(run.id)")
            return (plan, try Self.scalar(db, "SELECT COUNT(*) FROM rows WHERE plan_id = ?1", [.int(plan)]))
        }
    }
}
