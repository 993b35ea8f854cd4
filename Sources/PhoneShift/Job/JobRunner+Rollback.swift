import Foundation
import Logging

extension JobRunner {
    /// What a rollback is about to do, told before its first write.
    public struct RollbackStart: Sendable {
        public var sourceRun: Int
        public var planId: Int
        /// The plan was made now (false: an earlier rollback of this run is resumed).
        public var made: Bool
        public var rows: Int
        public var open: Int
        public var preview: [PlanRow]
        /// The job store's key for the fingerprints of masked numbers.
        public var maskKey: PhoneMask.Key
    }

    /// `phoneshift rollback JOB --run N`: restores every row run N (with the earlier runs of
    /// its plan: a resumed apply is one change) changed to its value before — PATCH back, DELETE a method the run added (where Graph allows it;
    /// otherwise `blocked` with Graph's reason), POST one it removed — with the same lock,
    /// rate budget, checkpoints, resume and reports as apply. Every row is re-read first: one
    /// whose number changed since run N is not touched and reported `drifted`. The plan is
    /// kept: running the same rollback again resumes it (after a kill -9, say), and rolling
    /// back the rollback run works the same way.
    public func rollback(run sourceId: Int, dryRun: Bool = false, options: ApplyOptions = .init(),
                         notice: @escaping @Sendable (String) -> Void = { _ in },
                         starting: @escaping @Sendable (RollbackStart) -> Void = { _ in },
                         progress: @escaping @Sendable (ApplyProgress) -> Void = { _ in }) async throws -> ApplyOutcome? {
        let folder = job.outputs + "/rollback-of-run-\(sourceId)"
        try ResultsWriter.prepareOutputs(folder)
        let session = try JobSession(job: job, logger: logger, environment: environment, time: time)
        defer { session.close() }
        let store = session.store
        let job = self.job
        let logger = self.logger
        return try await withLock(store, command: "rollback", force: options.forceUnlock, notice: notice) { runRef in
            guard let source = try await store.changingRun(sourceId) else {
                throw PhoneShiftError(.badSetting, "run \(sourceId) is not in the job store \(job.store): it never wrote anything, or the job's retention removed it; nothing to roll back")
            }
            var made = false
            var plan = try await store.rollbackPlan(of: source.id)
            if plan == nil {
                // Rows the run left in flight (a kill -9) may have landed: find out first, or
                // the rollback would leave those users on the new number.
                let settled = try await Self.settleInFlight(session, plan: source.planId, run: source.id, logger: logger)
                if settled > 0 { notice("\(settled) rows run \(source.id) left in flight were read from Graph first: the writes that had landed are rolled back too") }
                let created = try await store.makeRollbackPlan(of: source)
                plan = try await store.plan(id: created.plan)
                made = true
            }
            guard let plan else { throw PhoneShiftError(.store, "the rollback plan of run \(source.id) could not be read back") }
            if options.retryFailed {
                _ = try await store.requeueFailed(plan: plan.id)
            }
            let counts = try await store.openCounts(plan: plan.id)
            let preview = try await store.rows(plan: plan.id, actions: [.update, .add, .remove], limit: 20)
            starting(RollbackStart(sourceRun: source.id, planId: plan.id, made: made, rows: plan.rows,
                                   open: counts.pending + counts.inFlight, preview: preview,
                                   maskKey: try await store.maskKey()))
            if dryRun { return nil }
            try await Self.checkWritePermissions(session, plan: plan.id, open: counts.pending + counts.inFlight)
            let run = try await store.startRun(plan: plan.id, command: "rollback", settings: session.runSettings + " rollbackOf=\(source.id)")
            await runRef.set(run)
            var executor = Executor(client: session.client, store: store, plan: plan.id, run: run,
                                    concurrency: job.rate.concurrency, verifyBeforeWrite: true, logger: logger)
            executor.movedOutcome = .drifted
            let summary = try await Self.execute(executor, session: session, total: counts.pending + counts.inFlight, progress: progress)
            let state = try await store.progress(plan: plan.id)
            let reports = try await Reports.write(store: store, job: job, run: run, folder: folder, plan: plan)
            if let refused = summary.refused {
                throw Self.refusedError(refused, session, again: "run the same rollback again", results: reports.csv)
            }
            return ApplyOutcome(planId: plan.id, summary: summary, progress: state, reports: reports, drafts: nil)
        }
    }

    /// Settles the rows a run left in flight (its process killed mid-write) by reading each
    /// from Graph: landed → `already-applied`; still the old number → back to pending (the
    /// write never landed); another number → `moved`. A read that fails stops the rollback
    /// before anything is planned or written. Returns how many rows were settled.
    static func settleInFlight(_ session: JobSession, plan: Int, run: Int, logger: Logger) async throws -> Int {
        let rows = try await session.store.inFlightRows(plan: plan, upToRun: run)
        guard !rows.isEmpty else { return 0 }
        let reader = GraphReader(client: session.client)
        var updates: [RowUpdate] = []
        for row in rows {
            switch try await reader.phones(of: row.userId ?? "") {
            case .failure(let error):
                throw PhoneShiftError(.transient, "cannot tell whether the write of line \(row.line), left in flight by run \(run), landed (\(error)); nothing was rolled back — run the same rollback again")
            case .success(let phones):
                switch Executor.standing(phones[row.phoneType], of: row, target: row.target) {
                case .landed:
                    updates.append(RowUpdate(line: row.line, state: .done, outcome: .alreadyApplied, reason: "the write before the interruption had landed (read back before a rollback)"))
                case .stillBefore:
                    updates.append(RowUpdate(line: row.line, state: .pending, reason: "the write before the interruption had not landed (read back before a rollback)"))
                case .moved:
                    updates.append(RowUpdate(line: row.line, state: .done, outcome: .moved, reason: "the number changed in Graph since the plan; not rolled back"))
                }
            }
        }
        try await session.store.update(updates, plan: plan, run: run)
        logger.info("rollback: \(updates.count) in-flight rows of run \(run) settled from Graph")
        return updates.count
    }
}
