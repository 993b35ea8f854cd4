import Foundation

extension JobRunner {
    /// What `verify` found.
    public struct VerifyOutcome: Sendable {
        public var planId: Int
        /// The run whose changes were checked (nil: every run of the plan).
        public var run: Int?
        public var checked = 0
        public var matched = 0
        /// Changes Graph no longer has (the number is back at its value before): pending again.
        public var lost: [PlanRow] = []
        /// Numbers someone changed since: `moved`.
        public var drifted: [PlanRow] = []
        /// Rows whose user or methods could not be read (with why).
        public var unreadable: [(line: Int, error: String)] = []
        public var exitStatus: Int32 { lost.isEmpty && drifted.isEmpty && unreadable.isEmpty ? ExitStatus.success : ExitStatus.rowsNeedAttention }
    }

    /// `phoneshift verify JOB [--run N]`: re-reads from Graph every row the run (default: any
    /// run of the latest plan) changed and compares it with what was applied. A change Graph
    /// lost goes back to pending (apply writes it again); a number changed since by someone
    /// else becomes `moved`. Under the job's lock; read-only towards Graph.
    public func verify(run: Int? = nil, forceUnlock: Bool = false, notice: @escaping @Sendable (String) -> Void = { _ in }) async throws -> VerifyOutcome {
        let session = try JobSession(job: job, logger: logger, environment: environment, time: time)
        defer { session.close() }
        return try await withLock(session.store, command: "verify", force: forceUnlock, notice: notice) { runRef in
            guard let plan = try await session.store.latestPlan() else {
                throw PhoneShiftError(.badSetting, "no plan yet for this job; nothing was applied to verify")
            }
            try await session.client.authenticate()
            let verifyRun = try await session.store.startRun(plan: plan.id, command: "verify", settings: session.runSettings)
            await runRef.set(verifyRun)
            do {
                let outcome = try await verifyLocked(session, plan: plan.id, run: run, recordAs: verifyRun)
                try await session.store.finishRun(verifyRun, status: "verified: \(outcome.matched) of \(outcome.checked) as applied, \(outcome.lost.count) lost, \(outcome.drifted.count) changed since")
                return outcome
            } catch {
                try? await session.store.finishRun(verifyRun, status: Self.endStatus(error))
                throw error
            }
        }
    }

    /// Verifies, the lock held. Rows found at their value before the change are read again
    /// after `verifyRereadDelays` (1, 2 and 4 s; together, not one by one) before they are
    /// called lost: a read can trail a write.
    func verifyLocked(_ session: JobSession, plan: Int, run: Int?, recordAs: Int) async throws -> VerifyOutcome {
        let delays = verifyRereadDelays
        let store = session.store
        let reader = GraphReader(client: session.client, listsAllMethods: false)
        var outcome = VerifyOutcome(planId: plan, run: run)
        let concurrency = job.rate.concurrency
        /// Reads `rows`, counts what matched or could not be read, records the drifted ones,
        /// and returns the rows that look lost (at their value before the change).
        func sort(_ rows: [PlanRow]) async throws -> [PlanRow] {
            var lost: [PlanRow] = []
            var drifted: [(row: PlanRow, live: String?)] = []
            for finding in try await Self.check(rows, reader: reader, concurrency: concurrency) {
                switch finding {
                case .matched: outcome.matched += 1
                case .lost(let row): lost.append(row)
                case .drifted(let row, let live): drifted.append((row, live))
                case .unreadable(let line, let error): outcome.unreadable.append((line, error))
                }
            }
            try await store.recordVerification(plan: plan, run: recordAs, lost: [], drifted: drifted)
            outcome.drifted += drifted.map(\.row)
            return lost
        }
        var after = 0
        var candidates: [PlanRow] = []
        while true {
            let page = try await store.changedRows(plan: plan, run: run, after: after, limit: 500)
            guard let last = page.last else { break }
            after = last.line
            outcome.checked += page.count
            candidates += try await sort(page)
        }
        for delay in delays where !candidates.isEmpty {
            try await session.client.time.sleep(seconds: delay)
            candidates = try await sort(candidates)
        }
        try await store.recordVerification(plan: plan, run: recordAs, lost: candidates, drifted: [])
        outcome.lost = candidates
        if !outcome.lost.isEmpty || !outcome.drifted.isEmpty {
            logger.warning("verify: \(outcome.lost.count) changes are not in Graph any more (pending again: apply writes them), \(outcome.drifted.count) numbers were changed since by someone else")
        }
        return outcome
    }

    enum Finding: Sendable { case matched, lost(PlanRow), drifted(PlanRow, String?), unreadable(Int, String) }

    /// Reads `rows` with `concurrency` reads in flight; one finding per row.
    static func check(_ rows: [PlanRow], reader: GraphReader, concurrency: Int) async throws -> [Finding] {
        try await withThrowingTaskGroup(of: Finding.self) { group in
            var next = 0, findings: [Finding] = []
            func add() {
                let row = rows[next]
                next += 1
                group.addTask { try await verifyRow(row, reader: reader) }
            }
            while next < min(concurrency, rows.count) { add() }
            while let finding = try await group.next() {
                findings.append(finding)
                if next < rows.count { add() }
            }
            return findings
        }
    }

    /// One row: Graph's number now against the one applied (`target`; nil for a removal).
    static func verifyRow(_ row: PlanRow, reader: GraphReader) async throws -> Finding {
        guard let userId = row.userId else { return .unreadable(row.line, "the row has no user id") }
        switch try await reader.methods(of: userId) {
        case .failure(let error):
            return .unreadable(row.line, "\(error)")
        case .success(let methods):
            let live = methods.phones[row.phoneType]
            if sameNumber(live, row.target) { return .matched }
            if sameNumber(live, row.before) { return .lost(row) }
            return .drifted(row, live)
        }
    }
}
