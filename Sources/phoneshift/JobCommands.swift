import ArgumentParser
import Foundation
import Logging
import PhoneShift

func printError(_ text: String, newline: Bool = true) {
    FileHandle.standardError.write(Data((text + (newline ? "\n" : "")).utf8))
}

/// Runs `body` as a task that SIGINT, SIGTERM and SIGHUP (a dropped SSH session) cancel
/// gracefully: nothing new is sent, rows in flight finish. A second signal stops at once
/// (exit 130), as a kill would: every write in flight has its in-flight mark in the job
/// store already, so the next apply re-reads those rows before anything else.
func withInterruptibleTask<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let task = Task { try await body() }
    let received = Locked(0)  // signals so far (the handlers run on a global queue)
    let sources = [SIGINT, SIGTERM, SIGHUP].map { number -> DispatchSourceSignal in
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler {
            if received.withLock({ $0 += 1; return $0 }) > 1 {
                printError("\nphoneshift: stopped at once (second signal); rows in flight are re-read by the next apply")
                exit(ExitStatus.interrupted)
            }
            printError("\nphoneshift: stopping after the rows in flight (apply again to resume; a second Ctrl-C stops at once)…")
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
        discussion: ExitStatus.table)

    @Argument(help: "The job file (YAML).")
    var job: String

    @Flag(help: "Exit 0 when there is nothing to change and 6 when there is (see the exit codes).")
    var detailedExitcode = false

    @Flag(help: "Delta jobs: read every row from Graph (a full comparison), not only the rows whose number changed.")
    var full = false

    @Flag(help: "Go on although a safety valve tripped (after checking the sheet).")
    var acceptValves = false

    @Flag(help: "Replace a plan whose apply has started and not finished.")
    var replace = false

    @Flag(help: "Show every change, not only the first 20.")
    var showAll = false

    @Flag(help: "Take the job's lock from a holder that is not running on this host.")
    var forceUnlock = false

    @OptionGroup var display: OutputOptions

    func run() async throws {
        _ = display.activate()
        let definition = try await JobDefinition.open(job)
        let runner = JobRunner(job: definition, logger: Console.current.makeLogger("phoneshift.plan"))
        let outcome = try await withInterruptibleTask {
            try await runner.plan(.init(replace: replace, forceUnlock: forceUnlock, previewLimit: showAll ? Int.max : 20,
                                        full: full, acceptValves: acceptValves),
                                  notice: { notice($0) })
        }
        let result = outcome.result
        say("Plan \(result.planId) for \(definition.name): \(result.rowCount) rows from \(Sanitize.forMessage(definition.sheet.path, limit: 300))")
        printPlan(result, limit: showAll ? Int.max : 20)
        if !outcome.reviewFiles.isEmpty { say("For review: \(outcome.reviewFiles.map { Sanitize.forMessage($0, limit: 300) }.joined(separator: ", "))") }
        if definition.policy.requireApproval {
            say("Stored in \(Sanitize.forMessage(definition.store, limit: 300)); policy.requireApproval: a second person runs phoneshift approve \(Sanitize.forMessage(job, limit: 300)), then apply")
        } else {
            say("Stored in \(Sanitize.forMessage(definition.store, limit: 300)); apply with: phoneshift apply \(Sanitize.forMessage(job, limit: 300))")
        }
        if let tripped = outcome.valveTripped { printError("phoneshift: error: \(tripped)") }
        let status = outcome.exitStatus(detailed: detailedExitcode)
        if status != 0 { throw ExitCode(status) }
    }
}

struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Carry out the stored plan at the speed Graph allows; resumable after any crash.",
        discussion: ExitStatus.table)

    @Argument(help: "The job file (YAML), or its job store (.sqlite).")
    var job: String

    @Flag(help: "Exit 0 when nothing was changed and 6 when changes were made (see the exit codes).")
    var detailedExitcode = false

    @Flag(help: "Apply although the plan trips a safety valve (after checking the plan).")
    var acceptValves = false

    @Flag(help: "Try failed rows again (rows whose number moved since the plan need a new plan).")
    var retryFailed = false

    @Flag(help: "Take the job's lock from a holder that is not running on this host.")
    var forceUnlock = false

    @OptionGroup var display: OutputOptions

    func run() async throws {
        _ = display.activate()
        let definition = try await JobDefinition.open(job)
        let runner = JobRunner(job: definition, logger: Console.current.makeLogger("phoneshift.apply"))
        let interactive = Console.current.interactive
        let outcome = try await withInterruptibleTask {
            try await runner.apply(.init(retryFailed: retryFailed, forceUnlock: forceUnlock, acceptValves: acceptValves),
                notice: { notice($0) },
                starting: { start in
                    if let requeued = start.requeued { say("Retrying \(requeued) rows that failed.") }
                    if start.movedNotRetried > 0 {
                        say("\(start.movedNotRetried) rows moved since the plan (someone changed the number): they are not retried; plan again to include them.")
                    }
                    if start.unknown > 0 { say("Resuming: \(start.unknown) rows had an unknown outcome; each is re-read before any write.") }
                    say("Applying plan \(start.planId): \(start.open) rows to go.")
                },
                progress: progressPrinter("applied", interactive: interactive))
        }
        if interactive { printError("") }
        printApplyOutcome(outcome)
        let status = outcome.exitStatus(detailed: detailedExitcode)
        if status != 0 { throw ExitCode(status) }
    }
}

/// The progress line of apply, run and rollback: rewritten in place on a terminal; never
/// written otherwise (logs and cron mails get the summary, not a line every few seconds).
func progressPrinter(_ verb: String, interactive: Bool) -> @Sendable (ApplyProgress) -> Void {
    guard interactive else { return { _ in } }
    return { p in
        let remaining = p.rate > 0 ? Double(p.total - p.done) / p.rate : 0
        let percent = p.total > 0 ? 100 * Double(p.done) / Double(p.total) : 100
        let text = "\(verb) \(p.done)/\(p.total) (\(String(format: "%.1f", percent))%)  "
            + "\(String(format: "%.1f", p.rate)) rows/s  ETA \(formatDuration(remaining))  throttled \(p.throttled)  failed \(p.failed)"
        printError("\r\u{1B}[K" + text, newline: false)
    }
}

/// The progress line of export and readiness (users read, pages of `/users`): on a terminal only.
func listingProgress(interactive: Bool) -> @Sendable (Exporter.Progress) -> Void {
    guard interactive else { return { _ in } }
    return { p in printError("\r\(p.users) users read (\(p.pages) pages)…", newline: false) }
}

func printApplyOutcome(_ outcome: JobRunner.ApplyOutcome) {
    let s = outcome.summary
    let head = s.interrupted ? "Interrupted after" : "Done in"
    say(String(format: "%@ %.1f s: %d rows processed, %d answered 429.", head, s.elapsed, s.processed, s.throttled))
    say("Outcomes: " + outcome.progress.byOutcome.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "  "))
    say("Report: \(outcome.reports.csv)  (also report.json; open \(outcome.reports.html) in a browser)")
    if let drafts = outcome.drafts { printDrafts(drafts) }
    if let verified = outcome.verified { printVerify(verified) }
    if let failures = outcome.reports.failures {
        say("Rows to run again (failed, blocked, moved, not read): \(outcome.reports.failureRows) in \(failures) — point a job's sheet.path at it and plan")
    }
    if let why = outcome.reports.failuresNotWritten { Console.current.problem("warning", why) }
    if s.interrupted {
        say("\(outcome.progress.open) rows still to do; apply again to resume.")
    } else if outcome.needAttention > 0 {
        var parts: [String] = []
        if let failed = outcome.progress.byState["failed"], failed > 0 { parts.append("\(failed) failed (apply --retry-failed tries them again)") }
        if outcome.moved > 0 { parts.append("\(outcome.moved) moved since the plan (plan again to include them)") }
        if let c = outcome.progress.byAction[PlanAction.conflict.rawValue], c > 0 { parts.append("\(c) in conflict (fix the sheet)") }
        if outcome.unreadAtPlan > 0 { parts.append("\(outcome.unreadAtPlan) not read from Graph at plan time, so never written (plan again to include them)") }
        if outcome.refusedByGraph > 0 { parts.append("\(outcome.refusedByGraph) refused by Graph (protected users; change them in the Entra admin center)") }
        let lost = outcome.verified?.lost.count ?? 0
        if lost > 0 { parts.append("\(lost) changes Graph lost (apply again writes them)") }
        if outcome.progress.open > lost { parts.append("\(outcome.progress.open - lost) of unknown outcome (apply again re-reads them)") }
        say("\(outcome.needAttention) rows need attention: " + parts.joined(separator: "; ") + ". See \(outcome.resultsPath).")
    }
}

func printDrafts(_ drafts: Notifier.Outcome) {
    say("Drafts: \(drafts.drafts) notification drafts and the helpdesk summary in \(drafts.folder)")
    if !drafts.noMail.isEmpty {
        say("No usable e-mail address for \(drafts.noMail.count) users (listed in \(drafts.summary)); tell them another way")
    }
}

/// What a delta plan adds to the counts: rows not read, changes made elsewhere, vanished users.
func planNotes(_ result: PlanResult) -> [String] {
    var lines: [String] = result.notes.map { "Note: \($0)" }
    if result.settledFromKnown > 0 {
        lines.append("Delta: \(result.settledFromKnown) rows have the number PhoneShift last applied or saw; not read (a full comparison reads them: --full)")
    }
    if result.fullComparison { lines.append("Full comparison: every row was read from Graph") }
    if result.changedElsewhere > 0 {
        lines.append("Changed elsewhere: \(result.changedElsewhere) numbers were changed outside PhoneShift and kept (policy.changedElsewhere: keep); see the report")
    }
    if !result.vanished.isEmpty {
        let names = result.vanished.prefix(5).map { Sanitize.forMessage($0.userPrincipalName ?? $0.user) }.joined(separator: ", ")
        lines.append("Vanished: \(result.vanished.count) users of the last successful run are not in this sheet (never touched): \(names)\(result.vanished.count > 5 ? ", …" : "")")
    }
    return lines
}

func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "?" }
    let s = Int(seconds.rounded())
    return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Progress of the current or last run of a job, also while another process applies it.")

    @Argument(help: "The job file (YAML), or its job store (.sqlite).")
    var job: String

    @OptionGroup var display: OutputOptions

    func run() async throws {
        _ = display.activate()
        let definition = try await JobDefinition.open(job)
        guard FileManager.default.fileExists(atPath: definition.store) else {
            say("No job store yet at \(definition.store): nothing planned.")
            return
        }
        let store = try JobStore(path: definition.store)
        guard let plan = try await store.latestPlan() else {
            say("No plan yet in \(definition.store).")
            return
        }
        let p = try await store.progress(plan: plan.id)
        say("Job \(definition.name): plan \(plan.id) of \(plan.created), \(plan.rows) rows from \(Sanitize.forMessage(plan.sheetPath, limit: 300))")
        say("Plan:     " + p.byAction.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "  "))
        say("State:    " + p.byState.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "  "))
        say("Outcomes: " + p.byOutcome.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "  "))
        let remaining = p.toWrite - p.written
        let rate = Double(p.doneInLastMinute) / 60
        let percent = p.toWrite > 0 ? 100 * Double(p.written) / Double(p.toWrite) : 100
        let eta = rate > 0 ? formatDuration(Double(remaining) / rate) : (remaining == 0 ? "0s" : "?")
        say("Written:  \(p.written) of \(p.toWrite) changes (\(String(format: "%.1f", percent))%); "
              + "\(String(format: "%.1f", rate)) rows/s over the last minute; ETA \(eta); 429 answers in finished runs: \(p.throttledAnswers)")
        let holder = try await store.lockHolder()
        if let run = p.lastRun {
            var status = run.status
            if status == "running", !(holder?.seemsAlive ?? false) {
                // Killed (kill -9, a crash, a reboot): nobody runs it any more.
                status = "interrupted (its process is gone; \(run.command) again resumes it)"
            }
            say("Last run: \(run.id) \(run.command), \(status), started \(run.started), heartbeat \(run.heartbeat)" + (run.finished.map { ", finished \($0)" } ?? ""))
        }
        if let holder {
            say("Locked:   \(holder)" + (holder.seemsAlive ? "" : " — not running any more; the next command takes the lock over"))
        }
        if let approval = try await ApprovalState.load(store: store, plan: plan.id, job: definition) {
            say("Approval: " + approval.verdict.line)
        }
        if let head = try await store.auditHead() { say("Audit:    \(head.id) events, head \(head.hash)") }
    }
}

/// The plan for people: the changes with masked numbers (enough digits shown to tell the
/// two sides apart), the rows that need a look, the counts.
func printPlan(_ result: PlanResult, limit: Int) {
    for row in result.changesPreview.prefix(limit) {
        if row.action == .issuePass {
            say("  line \(row.line)  \(Sanitize.forMessage(row.userPrincipalName ?? row.user))  a Temporary Access Pass  (\(row.action.rawValue))")
            continue
        }
        let (before, after) = PhoneMask.maskPair(row.before, row.target, key: result.maskKey)
        let sms = row.action == .update && PlanRow.smsSignInFollows(row.smsSignIn) ? "  [SMS sign-in number changes too]" : ""
        say("  line \(row.line)  \(Sanitize.forMessage(row.userPrincipalName ?? row.user))  \(row.phoneType.rawValue)  \(before ?? "(none)") → \(after ?? "")  (\(row.action.rawValue))\(sms)")
    }
    if result.changes > limit { say("  … and \(result.changes - limit) more (--show-all lists them)") }
    for row in result.attentionPreview {
        say("  line \(row.line)  \(Sanitize.forMessage(row.user))  \(row.action.rawValue): \(Sanitize.forMessage(row.reason, limit: 200))")
    }
    let order: [PlanAction] = [.update, .add, .remove, .issuePass, .unchanged, .userNotFound, .blocked, .conflict, .invalid, .skipped]
    say("Changes: \(result.changes)  " + order.map { "\($0.rawValue): \(result.counts[$0] ?? 0)" }.joined(separator: "  "))
    if result.smsSignInChanges > 0 {
        say("SMS sign-in: \(result.smsSignInChanges) of these users sign in by SMS; their sign-in number changes with their mobile (column sms_sign_in)")
    }
    if result.riskyRows > 0 {
        say("Takeover guard: \(result.riskyRows) rows with findings, \(result.heldByRisk) held (column risks in plan.csv):")
        for row in result.riskPreview.prefix(limit) {
            say("  line \(row.line)  \(Sanitize.forMessage(row.userPrincipalName ?? row.user))  \(row.action.rawValue): \(Sanitize.forMessage(row.reason, limit: 300))")
        }
    }
    for line in result.riskNotes { say("Note: " + line) }
    for line in planNotes(result) { say(line) }
    if !result.checkedOtherMethods {
        say("Note: other MFA methods were not read, so users whose phone is their only MFA method are not flagged")
    }
}
