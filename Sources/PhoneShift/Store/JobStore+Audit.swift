import Crypto
import Foundation

/// One event of the job store's log, as it is chained: each carries the hash of the event
/// before it, so that changing, removing or inserting one breaks every hash after it.
public struct AuditEvent: Sendable, Equatable {
    public var id: Int
    public var time: String
    public var run: Int?
    public var line: Int?
    public var kind: String
    public var detail: String
    /// The hash of the event before (empty for the first chained event).
    public var previousHash: String
    /// The hash stored with the event (nil: written by a PhoneShift before the chain).
    public var storedHash: String?

    public init(id: Int, time: String, run: Int?, line: Int?, kind: String, detail: String, previousHash: String, storedHash: String? = nil) {
        self.id = id
        self.time = time
        self.run = run
        self.line = line
        self.kind = kind
        self.detail = detail
        self.previousHash = previousHash
        self.storedHash = storedHash
    }

    /// SHA-256 (swift-crypto) of every field, each prefixed with its length in bytes so that
    /// no two events share a text, and of the previous event's hash.
    public var computedHash: String {
        let fields = ["phoneshift-event-v1", String(id), time, run.map(String.init) ?? "", line.map(String.init) ?? "", kind, detail, previousHash]
        var text = ""
        for field in fields { text += "\(field.utf8.count):\(field);" }
        return Crypto.SHA256.hash(data: Array(text.utf8)).lowercaseHex
    }

    /// How a person reads it in a message: `event 57 (done, line 12, run 3, 2026-12-07T10:00:00Z)`.
    var label: String {
        var parts = [kind]
        if let line { parts.append("line \(line)") }
        if let run { parts.append("run \(run)") }
        parts.append(time)
        return "event \(id) (\(parts.joined(separator: ", ")))"
    }
}

/// What `audit --verify` found.
public struct AuditVerification: Sendable {
    /// Events in the store.
    public var events = 0
    /// Events written before the chain existed (an older PhoneShift): not covered.
    public var unchained = 0
    /// The last event's hash: keep it elsewhere (a ticket, the SIEM) to detect a rewrite of the
    /// whole chain later (`--anchor`).
    public var head: String?
    public var headId: Int?
    /// The first place the chain breaks, said for a person; nil when it holds.
    public var problem: String?
    /// The id of the first event that does not verify.
    public var brokenAt: Int?
    /// `--anchor`: whether an event with that hash is still in the chain (nil: not asked).
    public var anchorFound: Bool?
    public var holds: Bool { problem == nil && anchorFound != false }
}

extension JobStore {
    // MARK: - The audit trail

    /// Walks every event in id order and checks the chain: ids without gaps, each event's
    /// `prev_hash` the hash of the one before, each hash its content's. Events of an older
    /// PhoneShift (no hash) are allowed only before the first chained one. Memory stays flat.
    public func verifyAuditChain(anchor: String? = nil) async throws -> AuditVerification {
        try await perform { db in
            var result = AuditVerification()
            if anchor != nil { result.anchorFound = false }
            let q = try db.prepare(Self.eventsQuery)
            try q.bind([])
            var previous: AuditEvent?
            var chainStarted = false
            while try q.step() {
                let event = Self.event(q)
                result.events += 1
                defer { previous = event }
                guard result.problem == nil else { continue }
                func broken(_ text: String) {
                    result.problem = text
                    result.brokenAt = event.id
                }
                if let previous, event.id != previous.id + 1 {
                    let missing = event.id - previous.id - 1
                    broken(missing == 1 ? "event \(previous.id + 1) is missing (deleted from the store): the chain goes from event \(previous.id) to \(event.id)"
                                        : "events \(previous.id + 1)–\(event.id - 1) are missing (deleted from the store): the chain goes from event \(previous.id) to \(event.id)")
                    continue
                }
                guard let stored = event.storedHash else {
                    if chainStarted {
                        broken("\(event.label) has no hash although the events before it are chained: it was added outside PhoneShift")
                    } else {
                        result.unchained += 1
                    }
                    continue
                }
                // The first chained event follows nothing (or an unchained event of an older version).
                let expectedPrevious = chainStarted ? (previous?.storedHash ?? "") : ""
                if event.previousHash != expectedPrevious {
                    broken("\(event.label) does not follow the event before it (its prev_hash is not that event's hash): an event before it was changed, or it was inserted")
                    continue
                }
                chainStarted = true
                if event.computedHash != stored {
                    broken("\(event.label) was changed after it was written: its content no longer matches its hash")
                    continue
                }
                if let anchor, stored == anchor.lowercased() { result.anchorFound = true }
                result.head = stored
                result.headId = event.id
            }
            return result
        }
    }

    /// Streams every event in id order to `body` on the store's queue (for the SIEM export).
    public func withEvents<T: Sendable>(_ body: @escaping @Sendable (_ next: () throws -> AuditEvent?) throws -> T) async throws -> T {
        try await perform { db in
            let q = try db.prepare(Self.eventsQuery)
            try q.bind([])
            return try body { try q.step() ? Self.event(q) : nil }
        }
    }

    /// Every event in id order, with the columns `event(_:)` decodes.
    static let eventsQuery = "SELECT id, time, run_id, line, kind, detail, prev_hash, hash FROM events ORDER BY id"

    static func event(_ q: SQLiteStatement) -> AuditEvent {
        AuditEvent(id: q.int(0), time: q.text(1) ?? "", run: q.isNull(2) ? nil : q.int(2), line: q.isNull(3) ? nil : q.int(3),
                   kind: q.text(4) ?? "", detail: q.text(5) ?? "", previousHash: q.text(6) ?? "", storedHash: q.text(7))
    }

    /// The last event's id and hash (the head to keep elsewhere).
    public func auditHead() async throws -> (id: Int, hash: String)? {
        try await perform { db in
            let q = try db.prepare("SELECT id, hash FROM events WHERE hash IS NOT NULL ORDER BY id DESC LIMIT 1")
            try q.bind([])
            return try q.step() ? (q.int(0), q.text(1) ?? "") : nil
        }
    }

    // MARK: - A plan's digest

    /// The digest that binds an approval to a plan: SHA-256 over the plan's sheet digest,
    /// settings and kind, then each row's line, user, object id, phone type, before value,
    /// target, action and risk findings, in line order (states and outcomes are left out: they
    /// change while the plan is applied). Computed on the store's queue, row by row.
    static func planDigest(_ db: SQLiteDatabase, plan: Int) throws -> String {
        var hasher = Crypto.SHA256()
        func add(_ field: String?) {
            let text = field.map { "\($0.utf8.count):\($0);" } ?? "-;"
            hasher.update(data: Array(text.utf8))
        }
        let header = try db.prepare("SELECT sheet_hash, settings, kind, phone_type FROM plans WHERE id = ?1")
        try header.bind([.int(plan)])
        guard try header.step() else { throw PhoneShiftError(.store, "plan \(plan) is not in the job store") }
        add("phoneshift-plan-v1")
        for i in 0..<4 { add(header.text(Int32(i))) }
        header.reset()
        let rows = try db.prepare("SELECT line, user, user_id, phone_type, before, target, action, risks FROM rows WHERE plan_id = ?1 ORDER BY line")
        try rows.bind([.int(plan)])
        while try rows.step() {
            for i in 0..<8 { add(rows.text(Int32(i))) }
        }
        return hasher.finalize().lowercaseHex
    }

    /// The plan's digest as it is now (recomputed from its rows).
    public func currentPlanDigest(plan: Int) async throws -> String {
        try await perform { db in try Self.planDigest(db, plan: plan) }
    }

    /// The digest recorded when the plan was made, and who made it where.
    public func planRecord(plan: Int) async throws -> (hash: String?, madeBy: String?, madeOn: String?) {
        try await perform { db in
            let q = try db.prepare("SELECT plan_hash, made_by, made_on FROM plans WHERE id = ?1")
            try q.bind([.int(plan)])
            guard try q.step() else { return (nil, nil, nil) }
            return (q.text(0), q.text(1), q.text(2))
        }
    }

    // MARK: - Approvals

    /// Records an approval of `plan` (append-only; an `approval` event in the chain).
    public func recordApproval(_ approval: Approval) async throws {
        try await performWrite { db in
            try db.prepare("INSERT INTO approvals (plan_id, plan_hash, time, os_account, host, statement, signature, comment) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
                .run([.int(approval.plan), .text(approval.planHash), .text(approval.time), .text(approval.osAccount), .text(approval.host),
                      .text(approval.statement), approval.signature.map(SQLiteValue.text), approval.comment.map(SQLiteValue.text)])
            let signed = approval.signature == nil ? "unsigned" : "signed"
            try self.appendEvent(db, run: nil, line: nil, kind: "approval",
                                 detail: "plan \(approval.plan) approved by \(approval.osAccount) on \(approval.host) (\(signed)), plan digest \(approval.planHash)")
        }
    }

    /// The approvals recorded for a plan, oldest first.
    public func approvals(plan: Int) async throws -> [Approval] {
        try await perform { db in
            let q = try db.prepare("SELECT plan_id, plan_hash, time, os_account, host, statement, signature, comment FROM approvals WHERE plan_id = ?1 ORDER BY id")
            try q.bind([.int(plan)])
            var out: [Approval] = []
            while try q.step() {
                out.append(Approval(plan: q.int(0), planHash: q.text(1) ?? "", time: q.text(2) ?? "", osAccount: q.text(3) ?? "", host: q.text(4) ?? "",
                                    statement: q.text(5) ?? "", signature: q.text(6), comment: q.text(7)))
            }
            return out
        }
    }

    // MARK: - Numbers seen in the tenant

    /// Records every number a plan read in Graph (each row's before value, per user and phone
    /// type), replacing what was known of that user's slot: the "another user's number" check
    /// of later plans looks here.
    public func recordTenantNumbers(plan: Int) async throws {
        try await performWrite { db in
            try db.prepare("""
                INSERT INTO tenant_numbers (user_id, phone_type, number_key, upn, source, at)
                SELECT LOWER(user_id), phone_type, \(Self.numberKeySQL("before")), upn, 'seen', updated FROM rows
                WHERE plan_id = ?1 AND user_id IS NOT NULL AND before IS NOT NULL AND known_at IS NULL
                ON CONFLICT (user_id, phone_type) DO UPDATE SET number_key = excluded.number_key, upn = excluded.upn,
                    source = excluded.source, at = excluded.at
                """).run([.int(plan)])
            try db.prepare("""
                DELETE FROM tenant_numbers WHERE (user_id, phone_type) IN
                  (SELECT LOWER(user_id), phone_type FROM rows WHERE plan_id = ?1 AND user_id IS NOT NULL AND before IS NULL
                     AND known_at IS NULL AND action IN ('add', 'unchanged', 'blocked', 'skipped', 'update', 'remove'))
                """).run([.int(plan)])
        }
    }

    /// Records what an apply wrote: the target of each row it changed becomes that user's known number.
    public func recordTenantNumbersApplied(plan: Int) async throws {
        try await performWrite { db in
            try db.prepare("""
                INSERT INTO tenant_numbers (user_id, phone_type, number_key, upn, source, at)
                SELECT LOWER(user_id), phone_type, \(Self.numberKeySQL("target")), upn, 'applied', updated FROM rows
                WHERE plan_id = ?1 AND state = 'done' AND user_id IS NOT NULL AND target IS NOT NULL AND action IN ('update', 'add')
                  AND outcome IN ('changed', 'added', 'already-applied', 'changed-not-unique')
                ON CONFLICT (user_id, phone_type) DO UPDATE SET number_key = excluded.number_key, upn = excluded.upn,
                    source = excluded.source, at = excluded.at
                """).run([.int(plan)])
            try db.prepare("""
                DELETE FROM tenant_numbers WHERE (user_id, phone_type) IN
                  (SELECT LOWER(user_id), phone_type FROM rows WHERE plan_id = ?1 AND state = 'done' AND action = 'remove' AND outcome = 'removed')
                """).run([.int(plan)])
        }
    }

    /// Records numbers read outside a plan (export): user id, phone type, number in Graph's form.
    public func recordTenantNumbers(_ numbers: [(userId: String, upn: String?, phoneType: PhoneType, number: String?)]) async throws {
        guard !numbers.isEmpty else { return }
        try await performWrite { db in
            let upsert = try db.prepare("""
                INSERT INTO tenant_numbers (user_id, phone_type, number_key, upn, source, at) VALUES (?1, ?2, \(Self.numberKeySQL("?3")), ?4, 'seen', ?5)
                ON CONFLICT (user_id, phone_type) DO UPDATE SET number_key = excluded.number_key, upn = excluded.upn,
                    source = excluded.source, at = excluded.at
                """)
            let delete = try db.prepare("DELETE FROM tenant_numbers WHERE user_id = ?1 AND phone_type = ?2")
            let now = Self.now()
            for n in numbers {
                if let number = n.number {
                    try upsert.run([.text(n.userId.lowercased()), .text(n.phoneType.rawValue), .text(number), n.upn.map(SQLiteValue.text), .text(now)])
                } else {
                    try delete.run([.text(n.userId.lowercased()), .text(n.phoneType.rawValue)])
                }
            }
        }
    }

}
