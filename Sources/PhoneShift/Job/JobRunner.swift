import Foundation
import Logging

/// Runs a job's commands with every guard, for every caller (the command line, `demo`,
/// `run`): the job's lock with a heartbeat, the checks that a plan still fits the sheet
/// and the job, the safety valves, the unfinished-apply guard, results, and the exit
/// status. The commands only parse arguments and print.
public struct JobRunner: Sendable {
    public let job: JobDefinition
    public let logger: Logger
    public let environment: [String: String]
    /// How often a lock holder proves it is alive. Others treat a heartbeat older than
    /// `JobStore.staleAfter` (from another host) as a dead holder.
    public var heartbeatInterval: Double = 5
    /// Verify reads a row that looks lost again after each of these waits (seconds) before it
    /// calls it lost: a read can trail a write. Tests that lose writes on purpose shorten them.
    public var verifyRereadDelays: [Double] = [1, 2, 4]
    /// The clock and sleeps of Graph's retries, backoffs, token renewal, the rate limiter and
    /// verify's re-read waits (tests pass `VirtualTime`: every wait checked, none spent). The
    /// heartbeat keeps the system's time.
    public var time: any TimeSource = SystemTime()

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
        /// Delta jobs: read every row (a full comparison).
        public var full = false
        /// Go on although a safety valve tripped (a person checked the sheet and the plan).
        public var acceptValves = false
        public init(replace: Bool = false, forceUnlock: Bool = false, previewLimit: Int = 20, full: Bool = false, acceptValves: Bool = false) {
            self.replace = replace
            self.forceUnlock = forceUnlock
            self.previewLimit = previewLimit
            self.full = full
            self.acceptValves = acceptValves
        }
    }

    public struct PlanOutcome: Sendable {
        public var result: PlanResult
        /// Set when the plan trips a safety valve on its changes: apply will refuse it.
        public var valveTripped: PhoneShiftError?
        /// `OUTPUTS/vanished-users.csv` when users of the last successful run are missing.
        public var vanishedFile: String?
        /// `OUTPUTS/plan.csv`, `plan.html`, `plan.json`: the plan to attach to a change ticket.
        public var reviewFiles: [String] = []
        /// Rows that need a look: users not read, conflicts, numbers changed elsewhere and kept.
        public var needAttention: Int {
            result.readErrors + (result.counts[.conflict] ?? 0) + result.changedElsewhere
        }
        /// The exit-code table: 5 over a valve; 1 rows need a look; 6 with `detailed` when
        /// there are changes to make; else 0.
        public func exitStatus(detailed: Bool) -> Int32 {
            if valveTripped != nil { return ExitStatus.safetyValve }
            if needAttention > 0 { return ExitStatus.rowsNeedAttention }
            if detailed && result.changes > 0 { return ExitStatus.successWithChanges }
            return ExitStatus.success
        }
    }

    /// Plans the job under its lock. Throws `locked` / `lockLost` (exit 3), `badSetting`
    /// for an unfinished apply (unless `replace`), a sheet safety valve (exit 5),
    /// authentication errors (exit 4), and `CancellationError` when interrupted (the
    /// half-made plan is never used).
    public func plan(_ options: PlanOptions = .init(), notice: @escaping @Sendable (String) -> Void = { _ in }) async throws -> PlanOutcome {
        let session = try JobSession(job: job, logger: logger, environment: environment, time: time)
        defer { session.close() }
        let store = session.store
        return try await withLock(store, command: "plan", force: options.forceUnlock, notice: notice) { runRef in
            if let previous = try await store.latestPlan(), try await store.applyStarted(plan: previous.id), !options.replace {
                let open = try await store.progress(plan: previous.id).open
                if open > 0 {
                    throw PhoneShiftError(.badSetting, "the apply of plan \(previous.id) is unfinished (\(open) rows to go); finish it with phoneshift apply, or plan again with --replace")
                }
            }
            return try await planLocked(session, runRef: runRef, options, notice: notice)
        }
    }

    /// Plans, the lock held: records what the last apply wrote (delta), makes the plan, and
    /// checks the valves on its changes.
    func planLocked(_ session: JobSession, runRef: RunRef, _ options: PlanOptions, probeMethods: Bool = true,
                    notice: @escaping @Sendable (String) -> Void) async throws -> PlanOutcome {
        let store = session.store
        let valves = SafetyValves(job.valves, accepted: options.acceptValves, notice: notice)
        if job.delta != nil, let previous = try await store.latestPlan() { try await store.recordApplied(plan: previous.id) }
        let run = try await store.startRun(plan: nil, command: "plan", settings: session.runSettings)
        await runRef.set(run)
        var result: PlanResult
        do {
            var planner = Planner(job: job, client: session.client, store: store, logger: logger)
            planner.full = options.full
            planner.valves = valves
            planner.probeMethods = probeMethods || job.delta == nil
            result = try await planner.plan(previewLimit: options.previewLimit)
            try await store.setMeta("job_file", URL(fileURLWithPath: job.jobFile).standardizedFileURL.path)
            try await store.finishRun(run, status: "planned")
        } catch {
            try? await store.finishRun(run, status: Self.endStatus(error))
            throw error
        }
        var outcome = PlanOutcome(result: result)
        outcome.vanishedFile = try writeVanished(result.vanished)
        outcome.reviewFiles = try await writePlanReview(store, plan: result.planId)
        do {
            outcome.result.acceptedValves += try valves.checkChanges(changes: result.changes, rows: result.rowCount, riskyRows: result.riskyRows)
        } catch let error as PhoneShiftError {
            outcome.valveTripped = PhoneShiftError(.safetyValve, error.message.replacingOccurrences(
                of: "; nothing was written.", with: "; nothing was written, and apply will refuse this plan."))
        }
        return outcome
    }

    /// Writes the plan for a change board before anything is written: `OUTPUTS/plan.csv`,
    /// `plan.html` and `plan.json`, made as the reports are (masked unless the job asks for full
    /// numbers, self-contained, owner-only, atomic), replacing the previous plan's.
    func writePlanReview(_ store: JobStore, plan: Int) async throws -> [String] {
        try ResultsWriter.prepareOutputs(job.outputs)
        guard let info = try await store.plan(id: plan) else { return [] }
        let scratch = job.outputs + "/.plan-\(plan)-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let set = try await Reports.write(store: store, job: job, folder: scratch, plan: info)
        var written: [String] = []
        for (from, name) in [(set.csv, "plan.csv"), (set.html, "plan.html"), (set.json, "plan.json")] {
            let target = job.outputs + "/" + name
            guard rename(from, target) == 0 else {
                throw PhoneShiftError(.cannotWriteOutput, "cannot write '\(Sanitize.forMessage(target, limit: 200))': \(String(cString: strerror(errno)))")
            }
            written.append(target)
        }
        return written
    }

    /// Lists the users who vanished from the export (never touched) in
    /// `OUTPUTS/vanished-users.csv`, owner-only; removes an old list when none vanished.
    func writeVanished(_ users: [VanishedUser]) throws -> String? {
        let path = job.outputs + "/vanished-users.csv"
        guard !users.isEmpty else {
            unlink(path)
            return nil
        }
        try ResultsWriter.prepareOutputs(job.outputs)
        let writer = try AtomicFileWriter(path: path)
        try writer.write(CSVFormatting.line(["line_last_run", "user", "upn", "display_name", "note"]))
        for u in users {
            try writer.write(CSVFormatting.line([String(u.line), u.user, u.userPrincipalName ?? "", u.displayName ?? "",
                                                 "in the sheet of the last successful run, not in this one; not touched"]))
        }
        try writer.commit()
        return path
    }

    // MARK: - Apply

    public struct ApplyOptions: Sendable {
        public var retryFailed = false
        public var forceUnlock = false
        /// Apply although the plan trips a safety valve (a person checked it).
        public var acceptValves = false
        public init(retryFailed: Bool = false, forceUnlock: Bool = false, acceptValves: Bool = false) {
            self.retryFailed = retryFailed
            self.forceUnlock = forceUnlock
            self.acceptValves = acceptValves
        }
    }

    public struct ApplyOutcome: Sendable {
        public var planId: Int
        public var summary: ApplySummary
        public var progress: JobStore.Progress
        public var reports: ReportSet
        /// Notification drafts, when the job writes them after every apply.
        public var drafts: Notifier.Outcome?
        /// Plans pruned by `keepRuns` after this apply.
        public var pruned = 0
        /// What `policy.verifyAfterApply` found.
        public var verified: VerifyOutcome?
        /// Who approved the plan (policy.requireApproval), as the approval verified.
        public var approvedBy: String?
        public var resultsPath: String { reports.csv }
        /// Rows that moved since the plan (they need a new plan; never retried blindly), or
        /// drifted since the run a rollback undoes.
        public var moved: Int { (progress.byOutcome["moved"] ?? 0) + (progress.byOutcome["drifted"] ?? 0) }
        /// Failed, moved, in conflict, or still open.
        public var needAttention: Int {
            (progress.byState["failed"] ?? 0) + moved + (progress.byAction[PlanAction.conflict.rawValue] ?? 0) + progress.open + refusedByGraph
                + unreadAtPlan
        }
        /// Rows the plan could not read from Graph (a 503, a timeout): never written, so they
        /// need a new plan; they are in failures.csv.
        public var unreadAtPlan = 0
        /// Rows the plan meant to write that Graph would not let PhoneShift change (a protected
        /// user, a method Graph's rules keep): outcome `blocked` without a plan-time block.
        public var refusedByGraph: Int {
            max(0, (progress.byOutcome["blocked"] ?? 0) - (progress.byAction[PlanAction.blocked.rawValue] ?? 0))
        }
        /// Rows this apply (and the earlier runs of its plan) changed in Graph.
        public var changed: Int {
            PlanRow.Outcome.allCases.filter(\.written).reduce(0) { $0 + (progress.byOutcome[$1.rawValue] ?? 0) }
        }
        public func exitStatus(detailed: Bool = false) -> Int32 {
            if summary.interrupted { return ExitStatus.interrupted }
            if needAttention > 0 { return ExitStatus.rowsNeedAttention }
            return detailed && summary.processed > 0 && changed > 0 ? ExitStatus.successWithChanges : ExitStatus.success
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
    /// shaping settings changed, a plan over a safety valve, and an outputs folder that
    /// cannot be written. Interrupted (cancelled), it finishes the rows in flight and
    /// returns with `summary.interrupted`.
    public func apply(_ options: ApplyOptions = .init(), notice: @escaping @Sendable (String) -> Void = { _ in },
                      starting: @escaping @Sendable (ApplyStart) -> Void = { _ in },
                      progress: @escaping @Sendable (ApplyProgress) -> Void = { _ in }) async throws -> ApplyOutcome {
        try ResultsWriter.prepareOutputs(job.outputs)
        let session = try JobSession(job: job, logger: logger, environment: environment, time: time)
        defer { session.close() }
        return try await withLock(session.store, command: "apply", force: options.forceUnlock, notice: notice) { runRef in
            try await applyLocked(session, runRef: runRef, options, notice: notice, starting: starting, progress: progress)
        }
    }

    /// Applies, the lock held. `freshPlan` (run): the plan was made moments ago under the
    /// same lock, so its valves are not checked again, the permission check reads nothing
    /// (the plan's reads proved them), and rows are not re-read before their write while the
    /// plan is younger than `freshFor` seconds.
    func applyLocked(_ session: JobSession, runRef: RunRef, _ options: ApplyOptions, freshPlan: Bool = false,
                     notice: @escaping @Sendable (String) -> Void, starting: @escaping @Sendable (ApplyStart) -> Void,
                     progress: @escaping @Sendable (ApplyProgress) -> Void) async throws -> ApplyOutcome {
        let store = session.store
        let job = self.job
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
        if !freshPlan {
            _ = try SafetyValves(job.valves, accepted: options.acceptValves, notice: notice)
                .checkChanges(changes: try await store.changeCount(plan: plan.id), rows: plan.rows,
                              riskyRows: try await store.riskCounts(plan: plan.id).risky)
        }
        let approvedBy = try await checkApproved(store, plan: plan)
        let counts = try await store.openCounts(plan: plan.id)
        try await Self.checkWritePermissions(session, plan: plan.id, open: counts.pending + counts.inFlight, probe: !freshPlan,
                                             passes: job.mode == .issuePasses)
        let run = try await store.startRun(plan: plan.id, command: "apply", settings: session.runSettings)
        await runRef.set(run)
        starting(ApplyStart(planId: plan.id, open: counts.pending + counts.inFlight, unknown: counts.inFlight,
                            requeued: requeued, movedNotRetried: movedNotRetried))
        var executor = Executor(client: session.client, store: store, plan: plan.id, run: run,
                                concurrency: job.rate.concurrency, verifyBeforeWrite: job.policy.verifyBeforeWrite, logger: logger)
        if freshPlan { executor.skipVerifyUntil = Date().addingTimeInterval(Self.freshFor) }
        if job.mode == .issuePasses {
            executor.passVault = PassVault(folder: job.outputs, run: run)
            executor.passes = job.passes
        }
        let summary = try await Self.execute(executor, session: session, total: counts.pending + counts.inFlight, progress: progress)
        var verified: VerifyOutcome?
        if job.policy.verifyAfterApply, !summary.interrupted, summary.refused == nil {
            verified = try await verifyLocked(session, plan: plan.id, run: nil, recordAs: run)
        }
        if job.delta != nil { try await store.recordApplied(plan: plan.id) }
        let state = try await store.progress(plan: plan.id)
        let reports: ReportSet
        do {
            reports = try await Reports.write(store: store, job: job, run: run)
        } catch let error as PhoneShiftError where error.code == .cannotWriteOutput {
            // The writes are done and recorded: say what happened, and how to get the reports.
            let outcomes = state.byOutcome.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
            throw PhoneShiftError(.outputsUnwritable, "apply processed \(summary.processed) rows (\(outcomes.isEmpty ? "nothing to do" : outcomes)), but its reports could not be written: \(error.message). The results are safe in the job store \(job.store): free some space and run phoneshift report \(job.jobFile) to write them")
        }
        let results = reports.csv
        var drafts: Notifier.Outcome?
        if job.notify?.afterApply == true, summary.refused == nil {
            drafts = try await Notifier(job: job, store: store).write(summary: reports.summary)
        }
        if let refused = summary.refused { throw Self.refusedError(refused, session, again: "apply again", results: results) }
        var outcome = ApplyOutcome(planId: plan.id, summary: summary, progress: state, reports: reports, drafts: drafts)
        outcome.verified = verified
        outcome.approvedBy = approvedBy
        outcome.unreadAtPlan = try await store.readErrorCount(plan: plan.id)
        if !summary.interrupted {
            try await SafetyValves.recordSuccess(store: store, plan: plan)
            if let keep = job.keepRuns { outcome.pruned = try await prune(store, keep: keep) }
        }
        return outcome
    }

    /// How long after its plan `run` trusts the plan's reads instead of re-reading a row
    /// before its write.
    static let freshFor: Double = 600

    /// `keepRuns`: deletes the older plans from the store and their draft folders from the
    /// outputs.
    func prune(_ store: JobStore, keep: Int) async throws -> Int {
        let pruned = try await store.prune(keep: keep)
        for run in pruned.runs {
            let folder = job.outputs + "/drafts/run-\(run)"
            if FileManager.default.fileExists(atPath: folder) { try? FileManager.default.removeItem(atPath: folder) }
        }
        if pruned.plans > 0 { logger.notice("keepRuns: pruned \(pruned.plans) old plans and \(pruned.runs.count) runs' drafts") }
        return pruned.plans
    }

    // MARK: - Run (unattended)

    public struct RunOptions: Sendable {
        public var full = false
        public var acceptValves = false
        public var forceUnlock = false
        public init(full: Bool = false, acceptValves: Bool = false, forceUnlock: Bool = false) {
            self.full = full
            self.acceptValves = acceptValves
            self.forceUnlock = forceUnlock
        }
    }

    public struct RunOutcome: Sendable {
        public var plan: PlanOutcome
        public var apply: ApplyOutcome
        /// Rows of the plan and of the apply that need a look.
        public var needAttention: Int { plan.result.changedElsewhere + apply.needAttention }  // apply counts the unread rows
        public var nothingToDo: Bool { plan.result.changes == 0 && apply.summary.processed == 0 }
        public func exitStatus(detailed: Bool) -> Int32 {
            if apply.summary.interrupted { return ExitStatus.interrupted }
            if needAttention > 0 { return ExitStatus.rowsNeedAttention }
            return detailed && apply.changed > 0 && !nothingToDo ? ExitStatus.successWithChanges : ExitStatus.success
        }
    }

    /// `phoneshift run`: validate → plan → safety valves → apply → reports (and drafts) under
    /// one lock, heartbeated from start to end. An unfinished earlier apply is superseded:
    /// the new plan reads live state, and a row whose write had landed reads as unchanged.
    public func run(_ options: RunOptions = .init(), notice: @escaping @Sendable (String) -> Void = { _ in },
                    planned: @escaping @Sendable (PlanOutcome) -> Void = { _ in },
                    starting: @escaping @Sendable (ApplyStart) -> Void = { _ in },
                    progress: @escaping @Sendable (ApplyProgress) -> Void = { _ in }) async throws -> RunOutcome {
        try ResultsWriter.prepareOutputs(job.outputs)
        let session = try JobSession(job: job, logger: logger, environment: environment, time: time)
        defer { session.close() }
        return try await withLock(session.store, command: "run", force: options.forceUnlock, notice: notice) { runRef in
            let plan = try await planLocked(session, runRef: runRef,
                                            PlanOptions(previewLimit: 20, full: options.full, acceptValves: options.acceptValves),
                                            probeMethods: false, notice: notice)
            planned(plan)
            if let tripped = plan.valveTripped { throw tripped }
            let apply = try await applyLocked(session, runRef: runRef, ApplyOptions(acceptValves: options.acceptValves), freshPlan: true,
                                              notice: notice, starting: starting, progress: progress)
            return RunOutcome(plan: plan, apply: apply)
        }
    }

    /// A plan is applied only to the sheet it was made from and with the settings it was
    /// made with.
    private func checkPlanFits(_ plan: PlanInfo) async throws {
        let sheet = job.sheet.path
        guard FileManager.default.fileExists(atPath: sheet) else {
            throw PhoneShiftError(.planOutdated, "the sheet '\(sheet)' of plan \(plan.id) is gone; a plan is applied only with the sheet it was made from")
        }
        try InputFile.checkSheet(sheet, allowPipe: false)
        let hash = try await runOnThread { try FileDigest.sha256Hex(ofFile: sheet) }
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

    /// Authenticates, then checks before any row that the app may write phone methods and
    /// read them back (the probe is the first open row's user).
    /// `probe: false` (run, after its plan's reads): the token's permissions only.
    static func checkWritePermissions(_ session: JobSession, plan: Int, open: Int, probe: Bool = true, passes: Bool = false) async throws {
        try await session.client.authenticate()
        guard open > 0 else { return }
        let first = probe ? try await session.store.openRows(plan: plan, after: 0, limit: 1).first?.userId : nil
        _ = try await PermissionCheck(client: session.client).verify([.readPhoneMethods, passes ? .writePasses : .writePhoneMethods], probeUser: first)
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
        if let e = error as? PhoneShiftError, e.code == .safetyValve { return "stopped: safety valve" }
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
