import ArgumentParser
import Foundation
import PhoneShift

struct ApproveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve",
        abstract: "Review the stored plan (masked, risky rows first) and record your approval of it, bound to its digest.",
        discussion: """
            Under policy.requireApproval, apply and run refuse a plan without a valid approval: one \
            by another account than the one that made the plan (or signed by another person's key), \
            for the plan as it is now (planning again voids it). With --sign-with, the approval is \
            signed by ssh-keygen -Y sign (namespace phoneshift-approval) and checked against \
            approval.allowedSigners; with that file set, only signed approvals count.

            """ + ExitStatus.table)

    @Argument(help: "The job file (YAML), or its job store (.sqlite).")
    var job: String

    @Option(help: "An SSH private key (or a public key whose private half is in ssh-agent) to sign the approval with.")
    var signWith: String?

    @Option(help: "A note kept with the approval (a change ticket number, say).")
    var comment: String?

    @Flag(help: "Record the approval without asking (for scripts). Without it, a terminal asks; anything else is refused.")
    var yes = false

    @Flag(help: "Only show the plan and its approvals; record nothing.")
    var showOnly = false

    @OptionGroup var display: OutputOptions

    func run() async throws {
        _ = display.activate()
        let definition = try await JobDefinition.open(job)
        let runner = JobRunner(job: definition, logger: Console.current.makeLogger("phoneshift.approve"))
        let review = try await runner.reviewForApproval()
        printReview(review)
        if showOnly { return }
        if !yes {
            guard Console.current.interactive, isatty(STDIN_FILENO) != 0 else {
                throw PhoneShiftError(.badSetting, "approve asks before it records; on a terminal answer its question, or add --yes")
            }
            printError("Approve plan \(review.plan.id) (digest \(review.digest.prefix(12))…)? Type yes: ", newline: false)
            guard readLine()?.trimmingCharacters(in: .whitespaces).lowercased() == "yes" else {
                say("Not approved; nothing was recorded.")
                throw ExitCode(ExitStatus.notApproved)
            }
        }
        let (approval, by) = try await runner.approve(review, .init(signWith: signWith, comment: comment))
        say("Approved plan \(approval.plan) as \(by)\(approval.signature == nil ? "" : " (signed)") at \(approval.time); digest \(approval.planHash).")
        say("Apply it with: phoneshift apply \(Sanitize.forMessage(job, limit: 300))")
    }

    func printReview(_ r: JobRunner.ApprovalReview) {
        say("Plan \(r.plan.id) of \(r.plan.created) for \(r.plan.rows) rows from \(Sanitize.forMessage(r.plan.sheetPath, limit: 300))")
        say("Made by:  \(r.madeBy ?? "unknown") on \(r.madeOn ?? "unknown")")
        say("Digest:   \(r.digest)")
        let order: [PlanAction] = [.update, .add, .remove, .issuePass, .unchanged, .userNotFound, .blocked, .conflict, .invalid, .skipped]
        say("Changes:  \(r.changes)  " + order.map { "\($0.rawValue): \(r.counts[$0] ?? 0)" }.joined(separator: "  "))
        say("Risk:     \(r.riskyRows) rows with findings, \(r.held) held by the takeover guard")
        for row in r.rows {
            let (before, after) = PhoneMask.maskPair(row.before, row.target, key: r.maskKey)
            let risks = row.risks.isEmpty ? "" : "  [" + RiskCheck.allCases.filter(row.risks.contains).map(\.rawValue).joined(separator: ", ") + "]"
            say("  line \(row.line)  \(Sanitize.forMessage(row.userPrincipalName ?? row.user))  \(before ?? "(none)") → \(after ?? "")  (\(row.action.rawValue))\(risks)")
            if !row.risks.isEmpty { say("      \(Sanitize.forMessage(row.reason, limit: 300))") }
        }
        for a in r.approvals {
            say("Approval: \(a.osAccount) on \(a.host) at \(a.time)\(a.signature == nil ? "" : ", signed")\(a.comment.map { " — \(Sanitize.forMessage($0, limit: 200))" } ?? "")")
        }
        say("Status:   " + r.verdict.line)
        if r.applyStarted { say("Note:     the apply of this plan has started.") }
    }
}

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Check the job store's hash-chained audit trail, or export it for a SIEM (JSON lines or CEF).",
        discussion: """
            Every event the store records (plans, approvals, each write with Graph's request id, \
            rollbacks, verify) carries the hash of the event before it. --verify walks the chain and \
            names the first event that was changed, removed or inserted (exit 10). Keep the head hash \
            it prints somewhere else (a ticket, the SIEM): --anchor HASH then also proves the chain was \
            not rewritten as a whole.

            """ + ExitStatus.table)

    @Argument(help: "The job file (YAML), or its job store (.sqlite).")
    var job: String

    @Flag(help: "Check the chain.")
    var verify = false

    @Option(help: "A head hash kept elsewhere earlier: the chain must still hold an event with it.")
    var anchor: String?

    @Option(help: "Write every event to this file (owner-only, written whole or not at all).")
    var export: String?

    @Option(help: "The export's format: jsonl (one JSON object per line) or cef (ArcSight Common Event Format).")
    var format: AuditExport.Format = .jsonl

    @OptionGroup var display: OutputOptions

    func validate() throws {
        if !verify && export == nil { throw ValidationError("say --verify, --export FILE, or both") }
    }

    func run() async throws {
        _ = display.activate()
        let definition = try await JobDefinition.open(job)
        guard FileManager.default.fileExists(atPath: definition.store) else {
            throw PhoneShiftError(.badSetting, "no job store at \(definition.store): nothing recorded yet")
        }
        let store = try JobStore(path: definition.store)
        if let export {
            let count = try await AuditExport.write(store: store, job: definition.name, to: export, format: format)
            say("Exported \(count) events to \(Sanitize.forMessage(export, limit: 300)) (\(format.rawValue)).")
        }
        if verify || anchor != nil {
            let result = try await store.verifyAuditChain(anchor: anchor)
            if let problem = result.problem {
                throw PhoneShiftError(.auditBroken, "the audit trail does not verify: \(problem) (checked \(result.events) events)")
            }
            if result.anchorFound == false {
                throw PhoneShiftError(.auditBroken, "the audit trail holds no event with the anchor hash \(Sanitize.forMessage(anchor ?? "", limit: 80)): it was rewritten, or the anchor is from another job")
            }
            say("The audit trail holds: \(result.events) events\(result.unchained > 0 ? " (the first \(result.unchained) from before the chain, not covered)" : ""); head event \(result.headId.map(String.init) ?? "-") \(result.head ?? "-")")
        }
    }
}

extension AuditExport.Format: ExpressibleByArgument {}
