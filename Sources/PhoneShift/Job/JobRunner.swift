import Foundation
import Logging

/// Runs a job's commands with every guard, for every caller (the command line, `demo`,
/// and later `run`): the job's lock with a heartbeat, the checks that a plan still fits
/// the sheet and the job, `policy.maxChanges`, the unfinished-apply guard, results, and
/// the exit status. The commands only parse arguments and print.
public struct JobRunner: Sendable {
    public let job: JobDefinition
    public let logger: Logger
    public let environment: [String: String]
    /// How often a lock holder proves it is alive. Others treat a heartbeat older than
    /// `JobStore.staleAfter` (from another host) as a dead holder.
    public var heartbeatInterval: Double = 5

    public init(job: JobDefinition, logger: Logger, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.job = job
        self.logger = logger
        self.environment = environment
    }

    // MARK: - Plan

    public struct PlanOptions: Sendable {
        public var replace = false
        public var forceUnlock = false
        public var previewLimit = 20
        public init(replace: Bool = false, forceUnlock: Bool = false, previewLimit: Int = 20) {
            self.replace = replace
            self.forceUnlock = forceUnlock
            self.previewLimit = previewLimit
        }
    }

    public struct PlanOutcome: Sendable {
        public var result: PlanResult
        /// Set when the plan has more changes than `policy.maxChanges`: apply will refuse it.
        public var overMaxChanges: String?
        /// 1 when some rows need a look (Graph could not be read, conflicts); 2 with `detailed`
        /// when there are changes, or when the plan is over `maxChanges`; else 0.
        public func exitStatus(detailed: Bool) -> Int32 {
            if overMaxChanges != nil { return ExitStatus.usage }
            if result.readErrors > 0 || (result.counts[.conflict] ?? 0) > 0 { return ExitStatus.rowsNeedAttention }
            if detailed && result.changes > 0 { return ExitStatus.planHasChanges }
            return ExitStatus.success
        }
    }

    /// Plans the job under its lock. Throws `locked` / `lockLost` (exit 3), `badSetting`
    /// for an unfinished apply (unless `replace`), authentication errors (exit 4), and
    /// `CancellationError` when interrupted (the half-made plan is never used).
    public func plan(_ options: PlanOptions = .init(), notice: @escaping @Sendable (String) -> Void = { _ in }) async throws -> PlanOutcome {
        let session = try JobSession(job: job, logger: logger, environment: environment)
        defer { session.close() }
        let store = session.store
        return try await withLock(store, command: "plan", force: options.forceUnlock, notice: notice) { runRef in
            if let previous = try await store.latestPlan(), try await store.applyStarted(plan: previous.id), !options.replace {
                let open = try await store.progress(plan: previous.id).open
                if open > 0 {
                    throw PhoneShiftError(.badSetting, "the apply of plan \(previous.id) is unfinished (\(open) rows to go); finish it with phoneshift apply, or plan again with --replace")
                }
            }
            let run = try await store.startRun(plan: nil, command: "plan", settings: session.runSettings)
            await runRef.set(run)
            let result: PlanResult
            do {
                result = try await Planner(job: job, client: session.client, store: store, logger: logger).plan(previewLimit: options.previewLimit)
                try await store.setMeta("job_file", URL(fileURLWithPath: job.jobFile).standardizedFileURL.path)
                try await store.finishRun(run, status: "planned")
            } catch {
                try? await store.finishRun(run, status: Self.endStatus(error))
                throw error
            }
            var outcome = PlanOutcome(result: result)
            outcome.overMaxChanges = overMaxChanges(result.changes).map { $0 + ". apply will refuse this plan" }
            return outcome
        }
    }

    // MARK: - Apply

    public struct ApplyOptions: Sendable {
        public var retryFailed = false
        public var forceUnlock = false
        public init(retryFailed: Bool = false, forceUnlock: Bool = false) {
            self.retryFailed = retryFailed
            self.forceUnlock = forceUnlock
        }
    }

    public struct ApplyOutcome: Sendable {
        public var planId: Int
        public var summary: ApplySummary
        public var progress: JobStore.Progress
        public var reports: ReportSet
        /// Notification drafts, when the job writes them after every apply.
        public var drafts: Notifier.Outcome?
        public var resultsPath: String { reports.csv }
        /// Rows that moved since the plan (they need a new plan; never retried blindly), or
        /// drifted since the run a rollback undoes.
        public var moved: Int { (progress.byOutcome["moved"] ?? 0) + (progress.byOutcome["drifted"] ?? 0) }
        /// Failed, moved, in conflict, or still open.
        public var needAttention: Int {
            (progress.byState["failed"] ?? 0) + moved + (progress.byAction[PlanAction.conflict.rawValue] ?? 0) + progress.open
        }
        public var exitStatus: Int32 {
            if summary.interrupted { return ExitStatus.interrupted }
            return needAttention > 0 ? ExitStatus.rowsNeedAttention : ExitStatus.success
        }
    }

    /// What apply is about to do, told before the first row.
    public struct ApplyStart: Sendable {
        public var planId: Int
        public var open: Int
        public var unknown: Int
        public var requeued: Int?
        public var movedNotRetried: Int
    }

    /// Applies the stored plan under the job's lock. Refuses (before authenticating, nothing
    /// written) a missing plan, a plan for another version of the sheet, a plan whose
    /// shaping settings changed, a plan over `maxChanges`, and an outputs folder that
    /// cannot be written. Interrupted (cancelled), it finishes the rows in flight and
    /// returns with `summary.interrupted`.
    public func apply(_ options: ApplyOptions = .init(), notice: @escaping @Sendable (String) -> Void = { _ in },
                      starting: @escaping @Sendable (ApplyStart) -> Void = { _ in },
                      progress: @escaping @Sendable (ApplyProgress) -> Void = { _ in }) async throws -> ApplyOutcome {
        try ResultsWriter.prepareOutputs(job.outputs)
        let session = try JobSession(job: job, logger: logger, environment: environment)
        defer { session.close() }
        let store = session.store
        let job = self.job
        return try await withLock(store, command: "apply", force: options.forceUnlock, notice: notice) { runRef in
            guard let plan = try await store.latestPlan() else {
                throw PhoneShiftError(.badSetting, "no plan yet for this job; run phoneshift plan \(job.jobFile)")
            }
            try await checkPlanFits(plan)
            var requeued: Int?
            var movedNotRetried = 0
            if options.retryFailed {
                let r = try await store.requeueFailed(plan: plan.id)
                requeued = r.requeued
                movedNotRetried = r.moved
            }
            if job.policy.maxChanges != nil, let over = overMaxChanges(try await store.changeCount(plan: plan.id)) {
                throw PhoneShiftError(.badSetting, over)
            }
            let counts = try await store.openCounts(plan: plan.id)
            try await Self.checkWritePermissions(session, plan: plan.id, open: counts.pending + counts.inFlight)
            let run = try await store.startRun(plan: plan.id, command: "apply", settings: session.runSettings)
            await runRef.set(run)
            starting(ApplyStart(planId: plan.id, open: counts.pending + counts.inFlight, unknown: counts.inFlight,
                                requeued: requeued, movedNotRetried: movedNotRetried))
            let executor = Executor(client: session.client, store: store, plan: plan.id, run: run,
                                    concurrency: job.rate.concurrency, verifyBeforeWrite: job.policy.verifyBeforeWrite, logger: logger)
            let summary = try await Self.execute(executor, session: session, total: counts.pending + counts.inFlight, progress: progress)
            let state = try await store.progress(plan: plan.id)
            let reports = try await Reports.write(store: store, job: job, run: run)
            let results = reports.csv
            var drafts: Notifier.Outcome?
            if job.notify?.afterApply == true, summary.refused == nil {
                drafts = try await Notifier(job: job, store: store).write(summary: reports.summary)
            }
            if let refused = summary.refused { throw Self.refusedError(refused, session, again: "apply again", results: results) }
            return ApplyOutcome(planId: plan.id, summary: summary, progress: state, reports: reports, drafts: drafts)
        }
    }

    /// A plan is applied only to the sheet it was made from and with the settings it was
    /// made with.
    private func checkPlanFits(_ plan: PlanInfo) async throws {
        let sheet = job.sheet.path
        guard FileManager.default.fileExists(atPath: sheet) else {
            throw PhoneShiftError(.planOutdated, "the sheet '\(sheet)' of plan \(plan.id) is gone; a plan is applied only with the sheet it was made from")
        }
        let hash = try await runOnThread { try SHA256.hexDigest(ofFile: sheet) }
        let samePath = URL(fileURLWithPath: plan.sheetPath).standardizedFileURL.path == URL(fileURLWithPath: sheet).standardizedFileURL.path
        if hash != plan.sheetHash || !samePath {
            throw PhoneShiftError(.planOutdated, "plan \(plan.id) was made for another version of the sheet (\(plan.sheetPath)); run phoneshift plan again")
        }
        let changed = job.changedPlanSettings(recorded: plan.settings)
        if !changed.isEmpty {
            let list = changed.map { "\($0.key) (planned with '\($0.planned)', now '\($0.now)')" }.joined(separator: ", ")
            throw PhoneShiftError(.planOutdated, "the job changed since plan \(plan.id) was made: \(list); run phoneshift plan again")
        }
    }

    /// The safety valve against a broken export: what to say when `changes` is over
    /// `policy.maxChanges`, nil when it is not.
    private func overMaxChanges(_ changes: Int) -> String? {
        guard let max = job.policy.maxChanges, changes > max else { return nil }
        return "the plan has \(changes) changes, more than policy.maxChanges (\(max)); a broken export? Check the sheet and the plan, or raise the limit"
    }

    /// Authenticates, then checks before any row that the app may write phone methods and
    /// read them back (the probe is the first open row's user).
    static func checkWritePermissions(_ session: JobSession, plan: Int, open: Int) async throws {
        try await session.client.authenticate()
        guard open > 0 else { return }
        let first = try await session.store.openRows(plan: plan, after: 0, limit: 1).first?.userId
        _ = try await PermissionCheck(client: session.client).verify([.readPhoneMethods, .writePhoneMethods], probeUser: first)
    }

    /// Graph refused a write (403) and the run stopped there: every other row would have
    /// been refused the same way.
    static func refusedError(_ refused: RefusedWrite, _ session: JobSession, again: String, results: String) -> PhoneShiftError {
        GraphNeed.missingError([.writePhoneMethods], clientId: session.client.settings.clientId,
                               detail: "\(refused.code ?? "403"): \(Sanitize.forMessage(refused.message)) on line \(refused.line); the run stopped there, the rows not yet written stay pending; \(again) once it is granted (results: \(results))",
                               wroteNothing: false)
    }

    /// Runs the executor as run `executor.run` and records how the run ended.
    static func execute(_ executor: Executor, session: JobSession, total: Int,
                        progress: @escaping @Sendable (ApplyProgress) -> Void) async throws -> ApplySummary {
        let store = session.store, run = executor.run
        let summary: ApplySummary
        do {
            summary = try await executor.apply(total: total, progress: progress)
        } catch {
            try? await store.finishRun(run, status: endStatus(error), throttled: await session.client.limiter.throttledCount)
            throw error
        }
        try await store.finishRun(run, status: summary.interrupted ? "interrupted" : summary.refused != nil ? "stopped: permission refused" : "finished",
                                  throttled: summary.throttled)
        return summary
    }

    static func endStatus(_ error: Error) -> String {
        if error is CancellationError { return "interrupted" }
        return "failed: \(error)"
    }

    // MARK: - Lock and heartbeat

    /// The run whose heartbeat the lock's heartbeat also refreshes.
    actor RunRef {
        var id: Int?
        func set(_ run: Int) { id = run }
    }

    private enum LockedResult<T: Sendable>: Sendable {
        case body(T)
        case heartbeatStopped
    }

    /// Takes the lock (or throws `locked`), runs `body` while a child task heartbeats, and
    /// gives the lock back. A heartbeat that finds the lock taken throws `lockLost`, which
    /// cancels `body`; the store refuses every write of `body` from then on too.
    func withLock<T: Sendable>(_ store: JobStore, command: String, force: Bool, notice: @escaping @Sendable (String) -> Void,
                               _ body: @escaping @Sendable (RunRef) async throws -> T) async throws -> T {
        switch try await store.acquireLock(command: command, force: force) {
        case .acquired: break
        case .tookOver(let holder, let reason):
            notice("took over the lock of \(holder) because \(reason)")
        case .heldBy(let holder):
            throw PhoneShiftError(.locked, "the job is locked: \(holder). Wait for it; if that process is really gone, use --force-unlock")
        case .holderAlive(let holder):
            throw PhoneShiftError(.locked, "the job is locked: \(holder), and that process is still running on this host; --force-unlock never displaces a live run. Stop it first (kill \(holder.pid)) or wait for it")
        }
        let runRef = RunRef()
        let interval = heartbeatInterval
        do {
            let result = try await withThrowingTaskGroup(of: LockedResult<T>.self) { group -> T in
                group.addTask { .body(try await body(runRef)) }
                group.addTask {
                    while true {
                        do { try await Task.sleep(nanoseconds: UInt64(interval * 1e9)) } catch { return .heartbeatStopped }
                        try await store.heartbeat(run: await runRef.id)
                    }
                }
                while let next = try await group.next() {
                    if case .body(let value) = next {
                        group.cancelAll()
                        return value
                    }
                }
                throw CancellationError()
            }
            try await store.releaseLock()
            return result
        } catch {
            try? await store.releaseLock()
            throw error
        }
    }
}

extension JobDefinition {
    /// Opens the job a command names: a job file, or a job store (`.sqlite`, `.db`) whose
    /// plan records the job file it came from.
    public static func open(_ argument: String) async throws -> JobDefinition {
        guard argument.hasSuffix(".sqlite") || argument.hasSuffix(".db") else { return try load(path: argument) }
        guard FileManager.default.fileExists(atPath: argument) else {
            throw PhoneShiftError(.unreadableFile, "no job store at '\(argument)'")
        }
        let store = try JobStore(path: argument)
        guard let jobFile = try await store.meta("job_file") else {
            throw PhoneShiftError(.badSetting, "the job store '\(argument)' has no plan yet; run phoneshift plan JOB.yaml")
        }
        var job = try load(path: jobFile)
        job.store = URL(fileURLWithPath: argument).standardizedFileURL.path
        return job
    }
}
