import ArgumentParser
import Foundation
import Logging
import PhoneShift

/// `phoneshift run JOB`: the unattended command for cron, systemd timers and Kubernetes
/// CronJobs. Validate → plan → safety valves → apply → reports (and drafts) under one lock.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Unattended: validate, plan, check the safety valves, apply and report, under one lock (cron, systemd, Kubernetes).",
        discussion: ExitStatus.table)

    @Argument(help: "The job file (YAML).")
    var job: String

    @Flag(help: "Exit 0 when there was nothing to change and 6 when changes were made.")
    var detailedExitcode = false

    @Flag(help: "Delta jobs: read every row from Graph this time (a full comparison).")
    var full = false

    @Flag(help: "Go on although a safety valve tripped (after a person checked the sheet).")
    var acceptValves = false

    @Flag(help: "Take the job's lock from a holder that is not running on this host.")
    var forceUnlock = false

    @OptionGroup var display: OutputOptions

    func run() async throws {
        let console = display.activate()
        let definition = try await JobDefinition.open(job)
        let runner = JobRunner(job: definition, logger: console.makeLogger("phoneshift.run"))
        let interactive = console.interactive
        let started = Date()
        let outcome = try await withInterruptibleTask {
            try await runner.run(.init(full: full, acceptValves: acceptValves, forceUnlock: forceUnlock),
                notice: { console.problem("notice", $0) },
                planned: { plan in
                    let r = plan.result
                    console.event("plan", "Plan \(r.planId) for \(definition.name): \(r.rowCount) rows, \(r.changes) changes"
                                  + (r.settledFromKnown > 0 ? ", \(r.settledFromKnown) unchanged since the last run (not read)" : "")
                                  + (r.fullComparison ? " (full comparison)" : ""),
                                  ["plan": .int(r.planId), "rows": .int(r.rowCount), "changes": .int(r.changes),
                                   "notRead": .int(r.settledFromKnown), "fullComparison": .bool(r.fullComparison),
                                   "changedElsewhere": .int(r.changedElsewhere), "vanished": .int(r.vanished.count),
                                   "heldBack": .int(r.counts[.blocked] ?? 0)])
                    for line in planNotes(r) { console.event("plan.note", line) }
                },
                starting: { start in
                    if start.open > 0 { console.event("apply.start", "Applying plan \(start.planId): \(start.open) rows to go.", ["open": .int(start.open)]) }
                },
                progress: progressPrinter("applied", interactive: interactive))
        }
        if interactive { printError("") }
        let status = outcome.exitStatus(detailed: detailedExitcode)
        report(outcome, status: status, console: console, elapsed: Date().timeIntervalSince(started))
        if status != 0 { throw ExitCode(status) }
    }

    func report(_ outcome: JobRunner.RunOutcome, status: Int32, console: Console, elapsed: Double) {
        let apply = outcome.apply
        let outcomes = apply.progress.byOutcome.sorted { $0.key < $1.key }
        let fields: [String: JSONLinesLogHandler.Value] = [
            "exitCode": .int(Int(status)), "changed": .int(apply.changed), "needAttention": .int(outcome.needAttention),
            "seconds": .double((elapsed * 10).rounded() / 10), "throttled": .int(apply.summary.throttled),
            "report": .string(apply.reports.csv), "prunedPlans": .int(apply.pruned),
        ].merging(Dictionary(uniqueKeysWithValues: outcomes.map { ("outcome." + $0.key, JSONLinesLogHandler.Value.int($0.value)) })) { a, _ in a }
        let head: String
        if apply.summary.interrupted {
            head = "Interrupted: \(apply.progress.open) rows still to do; run again to go on."
        } else if outcome.nothingToDo {
            head = "Nothing to do: every number is as the sheet says."
        } else {
            head = String(format: "Done in %.1f s: %d changed.", elapsed, apply.changed)
        }
        let text = head + " Outcomes: " + outcomes.map { "\($0.key): \($0.value)" }.joined(separator: "  ")
            + ". Report: \(apply.reports.csv)"
        if outcome.needAttention > 0 {
            console.problem("warning", "\(outcome.needAttention) rows need attention (failed, moved, in conflict, not read, or changed elsewhere); see \(apply.reports.csv)",
                            ["event": .string("attention")])
        }
        console.event("result", text, fields)
        if let drafts = apply.drafts { console.event("drafts", "Drafts: \(drafts.drafts) notification drafts and the helpdesk summary in \(drafts.folder)") }
    }
}
