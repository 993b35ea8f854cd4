import ArgumentParser
import Foundation
import Logging
import PhoneShift

/// An output that replaces `path` must not be the job's store (or its journal), its sheet,
/// the job file, or one of `others` (by any name).
func checkNotJobInput(_ path: String, _ definition: JobDefinition, others: [String] = []) throws {
    try AtomicFileWriter.checkNotInput(path, inputs: [definition.store, definition.store + "-wal", definition.store + "-shm"],
                                       what: "the job store")
    try AtomicFileWriter.checkNotInput(path, inputs: [definition.sheet.path], what: "the job's sheet")
    if !others.isEmpty { try AtomicFileWriter.checkNotInput(path, inputs: others, what: "an input sheet") }
    try AtomicFileWriter.checkNotInput(path, inputs: [definition.jobFile], what: "the job file")
}

/// The job's store, when it exists (opening a missing one would create an empty store).
func existingStore(of definition: JobDefinition, else nothing: String) throws -> JobStore {
    guard FileManager.default.fileExists(atPath: definition.store) else {
        throw PhoneShiftError(.badSetting, "no job store yet at \(definition.store): \(nothing)")
    }
    return try JobStore(path: definition.store)
}

// Errors end these commands through `Entry.main`, which prints them and maps them to the
// exit codes of `ExitStatus`.

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write the report set of a job from its store: report.csv, report.json, report.html, failures.csv.",
        discussion: "Works for a finished, partial or running run (the store is only read). Numbers are masked unless the job sets reports.fullNumbers: true.")

    @Argument(help: "The job file (YAML), or its job store (.sqlite).")
    var job: String

    @Option(help: "The apply run to report (default: the last).")
    var run: Int?

    @Option(help: "Folder for the reports (default: the job's outputs).")
    var output: String?

    @OptionGroup var display: OutputOptions

    func run() async throws {
        let logger = display.activate().makeLogger("phoneshift.report")
        let definition = try await JobDefinition.open(job)
        let store = try existingStore(of: definition, else: "nothing planned")
        let set = try await Reports.write(store: store, job: definition, run: run, folder: output)
        let s = set.summary
        logger.info("reported plan \(s.plan.id) (\(s.rowCount) rows) and \(s.run.map { "run \($0.id) (\($0.command), \($0.status))" } ?? "no run yet") into \(Sanitize.forMessage(output ?? definition.outputs, limit: 300)); numbers \(definition.fullNumbersInReports ? "in full (reports.fullNumbers)" : "masked")")
        logger.info("results: \(s.byResult.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")); 429 answers: \(s.throttles.count)")
        say("Report: \(set.csv), \(set.json)")
        say("Open in a browser: \(set.html)")
        if let failures = set.failures { say("Rows to run again: \(set.failureRows) in \(failures)") }
        if let why = set.failuresNotWritten { Console.current.problem("warning", why) }
    }
}

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export every user's MFA phone numbers, SMS sign-in, other MFA methods, admin roles and account state.",
        discussion: """
            The file is a working sheet: edit a column, point a job's sheet.path at it, plan, apply. It holds full \
            numbers and is readable by you only; --masked writes a review copy that is safe to share. Needs User.Read.All \
            and UserAuthMethod-Phone.Read.All (UserAuthenticationMethod.Read.All also fills "Other MFA method"); \
            RoleManagement.Read.Directory and GroupMember.Read.All fill "Privileged".
            """)

    @Argument(help: "The job file (YAML) whose tenant to read.")
    var job: String

    @Option(help: "The CSV to write (default: OUTPUTS/export.csv).")
    var output: String?

    @Flag(help: "Mask the numbers (a copy to share).")
    var masked = false

    @OptionGroup var display: OutputOptions

    func run() async throws {
        _ = display.activate()
        let logger = Console.current.makeLogger("phoneshift.export")
        let definition = try await JobDefinition.open(job)
        try ResultsWriter.prepareOutputs(definition.outputs)
        let path = output ?? definition.outputs + "/export.csv"
        // The export replaces its file: never the job's store, its sheet or the job file.
        try checkNotJobInput(path, definition)
        let session = try JobSession(job: definition, logger: logger)
        defer { session.close() }
        let count = try await Exporter(session: session, logger: logger).export(to: path, masked: masked,
                                                                               progress: listingProgress(interactive: Console.current.interactive))
        if Console.current.interactive { printError("") }
        say("Exported \(count) users to \(path)" + (masked ? " (numbers masked)" : " (full numbers; readable by you only)"))
    }
}

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Re-read from Graph every number a run changed and report what is no longer as applied (read-only towards Graph).",
        discussion: "A change Graph lost (the number is back at its value before) goes back to pending: apply writes it again. A number someone changed since becomes 'moved': plan again to include it. " + ExitStatus.table)

    @Argument(help: "The job file (YAML), or its job store (.sqlite).")
    var job: String

    @Option(help: "The run whose changes to check (default: every run of the latest plan).")
    var run: Int?

    @Flag(help: "Take the job's lock from a holder that is not running on this host.")
    var forceUnlock = false

    @OptionGroup var display: OutputOptions

    func run() async throws {
        _ = display.activate()
        let definition = try await JobDefinition.open(job)
        _ = try existingStore(of: definition, else: "nothing was applied, so there is nothing to verify")
        let runner = JobRunner(job: definition, logger: Console.current.makeLogger("phoneshift.verify"))
        let outcome = try await withInterruptibleTask {
            try await runner.verify(run: run, forceUnlock: forceUnlock, notice: { notice($0) })
        }
        printVerify(outcome)
        if outcome.exitStatus != 0 { throw ExitCode(outcome.exitStatus) }
    }
}

func printVerify(_ v: JobRunner.VerifyOutcome) {
    say("Verified \(v.checked) changes\(v.run.map { " of run \($0)" } ?? "") of plan \(v.planId): \(v.matched) as applied"
          + "; \(v.lost.count) lost (back at the value before: pending again, apply writes them)"
          + "; \(v.drifted.count) changed since by someone else (moved: plan again)"
          + (v.unreadable.isEmpty ? "" : "; \(v.unreadable.count) could not be read"))
    for row in (v.lost + v.drifted).sorted(by: { $0.line < $1.line }).prefix(10) {
        say("  line \(row.line)  \(Sanitize.forMessage(row.userPrincipalName ?? row.user))  \(v.lost.contains(row) ? "lost" : "changed since")")
    }
    for u in v.unreadable.prefix(5) { say("  line \(u.line)  could not be read: \(Sanitize.forMessage(u.error, limit: 200))") }
}

struct NotifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notify",
        abstract: "Write notification drafts (.eml) for the users a run changed, and a summary for the helpdesk.",
        discussion: "Needs a notify: section in the job (from:, helpdesk:). Drafts go to OUTPUTS/drafts/run-N/; nothing is sent.")

    @Argument(help: "The job file (YAML), or its job store (.sqlite).")
    var job: String

    @Option(help: "The apply run (default: the last).")
    var run: Int?

    @OptionGroup var display: OutputOptions

    func run() async throws {
        let logger = display.activate().makeLogger("phoneshift.notify")
        let definition = try await JobDefinition.open(job)
        let outcome = try await Notifier(job: definition, store: try existingStore(of: definition, else: "nothing applied")).write(run: run)
        logger.info("drafts for \(run.map { "run \($0)" } ?? "the last run") in \(Sanitize.forMessage(outcome.folder, limit: 300)): \(outcome.drafts) written, \(outcome.noMail.count) users without a usable address, templates \(definition.notify?.templates.map { Sanitize.forMessage($0, limit: 200) } ?? "built in")")
        printDrafts(outcome)
    }
}

struct RollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Restore every number a run changed to its value before that run (resumable; a rollback can be rolled back).",
        discussion: """
            Shows the rows to restore, then applies them with apply's engine (lock, rate budget, checkpoints, \
            reports in OUTPUTS/rollback-of-run-N/). A row whose number changed since that run is left alone and \
            reported as drifted. Interrupted or killed, run the same command again to resume. \
            Exit codes as apply.
            """)

    @Argument(help: "The job file (YAML), or its job store (.sqlite).")
    var job: String

    @Option(help: "The run to undo (an apply or a rollback run; `phoneshift status` shows the last).")
    var run: Int

    @Flag(help: "Show what would be restored and stop.")
    var dryRun = false

    @Flag(help: "Try failed rows of this rollback again.")
    var retryFailed = false

    @Flag(help: "Take the job's lock from a holder that is not running on this host.")
    var forceUnlock = false

    @OptionGroup var display: OutputOptions

    func run() async throws {
        _ = display.activate()
        let definition = try await JobDefinition.open(job)
        let runner = JobRunner(job: definition, logger: Console.current.makeLogger("phoneshift.rollback"))
        let interactive = Console.current.interactive
        let outcome = try await withInterruptibleTask {
            try await runner.rollback(run: run, dryRun: dryRun, options: .init(retryFailed: retryFailed, forceUnlock: forceUnlock),
                notice: { notice($0) },
                starting: { start in
                    say((start.made ? "Rollback plan \(start.planId)" : "Resuming rollback plan \(start.planId)")
                          + " of run \(start.sourceRun): \(start.rows) rows to restore, \(start.open) still to do.")
                    for row in start.preview {
                        let (live, restore) = PhoneMask.maskPair(row.before, row.target, key: start.maskKey)
                        say("  line \(row.line)  \(Sanitize.forMessage(row.userPrincipalName ?? row.user))  \(row.phoneType.rawValue)  \(live ?? "(none)") → \(restore ?? "(removed)")  (\(row.action.rawValue))")
                    }
                    if start.rows > start.preview.count { say("  … and \(start.rows - start.preview.count) more") }
                },
                progress: progressPrinter("restored", interactive: interactive))
        }
        if interactive { printError("") }
        guard let outcome else { return }
        printApplyOutcome(outcome)
        if outcome.exitStatus() != 0 { throw ExitCode(outcome.exitStatus()) }
    }
}
