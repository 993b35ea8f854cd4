import ArgumentParser
import Foundation
import Logging
import PhoneShift

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Opens the job named on the command line: a job file, or a job store (`.sqlite`) whose
/// plan records the job file it came from.
func loadJob(_ argument: String) throws -> JobDefinition {
    if argument.hasSuffix(".sqlite") || argument.hasSuffix(".db") {
        guard FileManager.default.fileExists(atPath: argument) else {
            throw PhoneShiftError(.unreadableFile, "no job store at '\(argument)'")
        }
        let store = try JobStore(path: argument)
        guard let jobFile = try store.meta("job_file") else {
            throw PhoneShiftError(.badSetting, "the job store '\(argument)' has no plan yet; run phoneshift plan JOB.yaml")
        }
        var job = try JobDefinition.load(path: jobFile)
        job.store = URL(fileURLWithPath: argument).standardizedFileURL.path
        return job
    }
    return try JobDefinition.load(path: argument)
}

/// Takes the job's lock or exits 3 naming the holder.
func lockJob(_ store: JobStore, command: String, force: Bool) throws {
    switch try store.acquireLock(command: command, force: force) {
    case .acquired: break
    case .tookOver(let holder, let reason):
        printError("phoneshift: notice: took over the lock of \(holder) because \(reason)")
    case .heldBy(let holder):
        printError("phoneshift: error: the job is locked: \(holder). Wait for it, or if that process is really gone, use --force-unlock")
        throw ExitCode(ExitStatus.locked)
    }
}

/// Runs `body` as a task that SIGINT / SIGTERM cancel (gracefully: in-flight rows finish).
func withInterruptibleTask<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let task = Task { try await body() }
    let sources = [SIGINT, SIGTERM].map { number -> DispatchSourceSignal in
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler {
            printError("\nphoneshift: stopping after the rows in flight (apply again to resume)…")
            task.cancel()
        }
        source.resume()
        return source
    }
    defer { sources.forEach { $0.cancel() } }
    return try await task.value
}

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Read each row's user and current number from Graph (read-only), and store the plan.",
        discussion: "Exit codes: 0 done (no changes with --detailed-exitcode); 2 with --detailed-exitcode: changes to make; 1 some users could not be read; 2 bad job or sheet; 3 locked; 4 authentication failed.")

    @Argument(help: "The job file (YAML).")
    var job: String

    @Flag(help: "Exit 0 when there is nothing to change and 2 when there is.")
    var detailedExitcode = false

    @Flag(help: "Replace a plan whose apply has started and not finished.")
    var replace = false

    @Flag(help: "Show every change, not only the first 20.")
    var showAll = false

    @Flag(help: "Take the job's lock even if another run seems to hold it.")
    var forceUnlock = false

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.makeLogger("phoneshift.plan")
        let definition = try loadJob(job)
        let session = try JobSession(job: definition, logger: logger)
        defer { session.close() }
        try lockJob(session.store, command: "plan", force: forceUnlock)
        defer { try? session.store.releaseLock() }
        if let previous = try session.store.latestPlan(), try session.store.applyStarted(plan: previous.id), !replace {
            let open = try session.store.progress(plan: previous.id)
            if (open.byState["pending"] ?? 0) + (open.byState["in-flight"] ?? 0) > 0 {
                printError("phoneshift: error: the apply of plan \(previous.id) is unfinished; finish it with phoneshift apply, or plan again with --replace")
                throw ExitCode(ExitStatus.usage)
            }
        }
        let run = try session.store.startRun(plan: nil, command: "plan", settings: session.runSettings)
        let result: PlanResult
        do {
            result = try await Planner(job: definition, client: session.client, store: session.store, logger: logger)
                .plan(previewLimit: showAll ? Int.max : 20)
            try session.store.setMeta("job_file", URL(fileURLWithPath: definition.jobFile).standardizedFileURL.path)
            try session.store.finishRun(run, status: "planned")
        } catch {
            try? session.store.finishRun(run, status: "failed: \(error)")
            throw error
        }
        print("Plan \(result.planId) for \(definition.name): \(result.rowCount) rows from \(definition.sheet.path)")
        printPlan(result, limit: showAll ? Int.max : 20)
        print("Stored in \(definition.store); apply with: phoneshift apply \(job)")
        if result.readErrors > 0 { throw ExitCode(ExitStatus.rowsNeedAttention) }
        if detailedExitcode && result.changes > 0 { throw ExitCode(ExitStatus.planHasChanges) }
    }
}

struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Carry out the stored plan at the speed Graph allows; resumable after any crash.",
        discussion: "Exit codes: 0 every row done; 1 some rows failed, moved or are unknown (see results.csv); 2 bad job, no plan, or a changed sheet; 3 locked; 4 authentication failed; 130 interrupted.")

    @Argument(help: "The job file (YAML), or its job store (.sqlite).")
    var job: String

    @Flag(help: "Try failed rows (and rows whose number moved) again.")
    var retryFailed = false

    @Flag(help: "Take the job's lock even if another run seems to hold it.")
    var forceUnlock = false

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.makeLogger("phoneshift.apply")
        let definition = try loadJob(job)
        let session = try JobSession(job: definition, logger: logger)
        defer { session.close() }
        let store = session.store
        try lockJob(store, command: "apply", force: forceUnlock)
        defer { try? store.releaseLock() }
        guard let plan = try store.latestPlan() else {
            printError("phoneshift: error: no plan yet for this job; run phoneshift plan \(job)")
            throw ExitCode(ExitStatus.usage)
        }
        if !(job.hasSuffix(".sqlite") || job.hasSuffix(".db")) {
            let hash = try SHA256.hexDigest(ofFile: definition.sheet.path)
            if hash != plan.sheetHash || URL(fileURLWithPath: plan.sheetPath).standardizedFileURL.path != URL(fileURLWithPath: definition.sheet.path).standardizedFileURL.path {
                printError("phoneshift: error: plan \(plan.id) was made for another version of the sheet (\(plan.sheetPath)); run phoneshift plan again")
                throw ExitCode(ExitStatus.usage)
            }
        }
        if retryFailed {
            let count = try store.requeueFailed(plan: plan.id)
            print("Retrying \(count) rows that failed or moved.")
        }
        let counts = try store.openCounts(plan: plan.id)
        let open = counts.pending + counts.inFlight
        if let maxChanges = definition.policy.maxChanges {
            let changes = try store.changeCount(plan: plan.id)
            if changes > maxChanges {
                printError("phoneshift: error: the plan has \(changes) changes, more than policy.maxChanges (\(maxChanges)); a broken export? Check the plan, or raise the limit")
                throw ExitCode(ExitStatus.usage)
            }
        }
        try await session.client.authenticate()
        let run = try store.startRun(plan: plan.id, command: "apply", settings: session.runSettings)
        if counts.inFlight > 0 {
            print("Resuming: \(counts.inFlight) rows had an unknown outcome; each is re-read before any write.")
        }
        print("Applying plan \(plan.id): \(open) rows to go.")
        let interactive = isatty(STDERR_FILENO) == 1
        let lastLine = LastLine()
        let executor = Executor(client: session.client, store: store, plan: plan.id, run: run,
                                concurrency: definition.rate.concurrency, verifyBeforeWrite: definition.policy.verifyBeforeWrite,
                                logger: logger)
        let summary: ApplySummary
        do {
            summary = try await withInterruptibleTask {
                try await executor.apply(total: open) { p in
                    let remaining = p.rate > 0 ? Double(p.total - p.done) / p.rate : 0
                    let percent = p.total > 0 ? 100 * Double(p.done) / Double(p.total) : 100
                    let text = "applied \(p.done)/\(p.total) (\(String(format: "%.1f", percent))%)  "
                        + "\(String(format: "%.1f", p.rate)) rows/s  ETA \(formatDuration(remaining))  throttled \(p.throttled)  failed \(p.failed)"
                    if interactive {
                        printError("\r\u{1B}[K" + text, newline: false)
                    } else if lastLine.due(every: 10) {
                        printError(text)
                    }
                }
            }
        } catch {
            try? store.finishRun(run, status: "failed: \(error)")
            if interactive { printError("") }
            throw error
        }
        if interactive { printError("") }
        try store.finishRun(run, status: summary.interrupted ? "interrupted" : "finished")
        let progress = try store.progress(plan: plan.id)
        let results = try session.writeResults(plan: plan.id)
        print(String(format: "Done in %.1f s: %d rows processed, %d answered 429.", summary.elapsed, summary.processed, summary.throttled))
        print("Outcomes: " + progress.byOutcome.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "  "))
        print("Results: \(results)")
        if summary.interrupted { throw ExitCode(ExitStatus.interrupted) }
        let stillOpen = (progress.byState["pending"] ?? 0) + (progress.byState["in-flight"] ?? 0)
        let attention = (progress.byState["failed"] ?? 0) + (progress.byOutcome["moved"] ?? 0) + stillOpen
        if attention > 0 {
            print("\(attention) rows need attention (failed, moved or unknown): see \(results); apply --retry-failed tries the failed ones again.")
            throw ExitCode(ExitStatus.rowsNeedAttention)
        }
    }
}

func printError(_ text: String, newline: Bool) {
    FileHandle.standardError.write(Data((text + (newline ? "\n" : "")).utf8))
}

func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "?" }
    let s = Int(seconds.rounded())
    return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
}

/// Rate-limits the plain progress lines written when output is not a terminal.
final class LastLine: @unchecked Sendable {
    // @unchecked: guarded by `lock`.
    private let lock = NSLock()
    private var last = Date.distantPast
    func due(every seconds: Double) -> Bool {
        lock.withLock {
            guard Date().timeIntervalSince(last) >= seconds else { return false }
            last = Date()
            return true
        }
    }
}

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Progress of the current or last run of a job, also while another process applies it.")

    @Argument(help: "The job file (YAML), or its job store (.sqlite).")
    var job: String

    func run() throws {
        let definition = try loadJob(job)
        guard FileManager.default.fileExists(atPath: definition.store) else {
            print("No job store yet at \(definition.store): nothing planned.")
            return
        }
        let store = try JobStore(path: definition.store)
        guard let plan = try store.latestPlan() else {
            print("No plan yet in \(definition.store).")
            return
        }
        let p = try store.progress(plan: plan.id)
        print("Job \(definition.name): plan \(plan.id) of \(plan.created), \(plan.rows) rows from \(plan.sheetPath)")
        print("Plan:     " + p.byAction.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "  "))
        print("State:    " + p.byState.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "  "))
        print("Outcomes: " + p.byOutcome.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "  "))
        let remaining = p.toWrite - p.written
        let rate = Double(p.doneInLastMinute) / 60
        let percent = p.toWrite > 0 ? 100 * Double(p.written) / Double(p.toWrite) : 100
        let eta = rate > 0 ? formatDuration(Double(remaining) / rate) : (remaining == 0 ? "0s" : "?")
        print("Written:  \(p.written) of \(p.toWrite) changes (\(String(format: "%.1f", percent))%); "
              + "\(String(format: "%.1f", rate)) rows/s over the last minute; ETA \(eta); throttled answers: \(p.throttled)")
        if let run = p.lastRun {
            print("Last run: \(run.id) \(run.command), \(run.status), started \(run.started), heartbeat \(run.heartbeat)" + (run.finished.map { ", finished \($0)" } ?? ""))
        }
        if let holder = try store.lockHolder() {
            print("Locked:   \(holder)")
        }
    }
}

/// The plan for people: the changes with masked numbers, the rows that need a look, the counts.
func printPlan(_ result: PlanResult, limit: Int) {
    for row in result.changesPreview.prefix(limit) {
        let before = row.before.map(PhoneMask.mask) ?? "(none)"
        let after = row.target.map(PhoneMask.mask) ?? ""
        print("  line \(row.line)  \(Sanitize.forMessage(row.userPrincipalName ?? row.user))  \(row.phoneType.rawValue)  \(before) → \(after)  (\(row.action.rawValue))")
    }
    if result.changes > limit { print("  … and \(result.changes - limit) more (--show-all lists them)") }
    for row in result.attentionPreview {
        print("  line \(row.line)  \(Sanitize.forMessage(row.user))  \(row.action.rawValue): \(Sanitize.forMessage(row.reason, limit: 200))")
    }
    let order: [PlanAction] = [.update, .add, .unchanged, .userNotFound, .blocked, .invalid, .skipped]
    print("Changes: \(result.changes)  " + order.map { "\($0.rawValue): \(result.counts[$0] ?? 0)" }.joined(separator: "  "))
}
