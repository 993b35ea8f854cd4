import Foundation
import Mustache

/// `phoneshift notify` (and `notify.afterApply`): one `.eml` draft per user whose number a
/// run changed, addressed to their mail from the directory, and a summary draft for the
/// helpdesk — in `OUTPUTS/drafts/run-N/`, owner-only. Nothing is sent: the drafts are
/// opened in a mail client (Outlook opens them as drafts) or handed to a mail system.
public struct Notifier: Sendable {
    public struct Outcome: Sendable {
        public var folder: String
        public var drafts: Int
        public var noMail: [String]
        public var summary: String
    }

    public let job: JobDefinition
    public let store: JobStore

    public init(job: JobDefinition, store: JobStore) {
        self.job = job
        self.store = store
    }

    /// The templates: the job's folder (each file it has replaces the default) or the defaults.
    func templates() throws -> [String: MustacheTemplate] { try Self.templates(job) }

    static func templates(_ job: JobDefinition) throws -> [String: MustacheTemplate] {
        var out: [String: MustacheTemplate] = [:]
        for name in DraftTemplates.names {
            var text = DraftTemplates.defaults[name]!
            if let folder = job.notify?.templates {
                let path = folder + "/" + name + ".mustache"
                if FileManager.default.fileExists(atPath: path) {
                    guard let custom = try? String(contentsOfFile: path, encoding: .utf8) else {
                        throw PhoneShiftError(.badSetting, "cannot read the template '\(path)' as UTF-8 text")
                    }
                    text = custom
                }
            }
            do {
                out[name] = try MustacheTemplate(string: text)
            } catch {
                throw PhoneShiftError(.badSetting, "the template \(name).mustache\(job.notify?.templates.map { " in \($0)" } ?? "") is not valid Mustache: \(error)")
            }
        }
        return out
    }

    /// Drafts for run `runId` (default: the last), or for the run `known` describes (apply
    /// passes the summary its reports were made from).
    public func write(run runId: Int? = nil, summary known: ReportSummary? = nil) async throws -> Outcome {
        guard let settings = job.notify else {
            throw PhoneShiftError(.badSetting, "\(job.jobFile): add a notify: section (from:, helpdesk:) to write notification drafts")
        }
        var summary = known
        if summary == nil { summary = try await Reports.summary(store: store, run: runId) }
        guard let summary, let run = summary.run else {
            throw PhoneShiftError(.badSetting, "no apply run yet; nothing to notify")
        }
        let plan = summary.plan
        let templates = try templates()
        let folder = job.outputs + "/drafts/run-\(run.id)"
        do {
            try OwnerOnly.makeDirectories(folder)
        } catch {
            throw PhoneShiftError(.cannotWriteOutput, "cannot create the drafts folder '\(folder)': \(error.reason)")
        }
        let jobName = job.name
        let maskKey = try await store.maskKey()
        let result = try await store.withRows(plan: plan.id) { next -> (Int, [String], [[String: String]], [String], [String], [String]) in
            var drafted = 0
            var noMail: [String] = [], failures: [[String: String]] = [], sms: [String] = [], noBackup: [String] = []
            var smsNotUnique: [String] = []
            while let row = try next() {
                guard row.runId == run.id else { continue }
                let who = Sanitize.forMessage(row.userPrincipalName ?? row.user, limit: 120)
                if row.state == .failed {
                    failures.append(["user": who, "error": Sanitize.forMessage([row.errorCode, row.errorMessage].compactMap { $0 }.joined(separator: ": "), limit: 200)])
                    continue
                }
                guard row.outcome?.written == true else { continue }
                if row.flags.contains(.phonesOnly) { noBackup.append(who) }
                // Graph said after the write (read back) that SMS sign-in did not follow the number.
                let smsNotMoved = row.outcome == .changedNotUnique
                let smsMoved = PlanRow.smsSignInFollows(row.smsSignIn) && row.action == .update && !smsNotMoved
                if smsMoved { sms.append(who) }
                if smsNotMoved { smsNotUnique.append(who) }
                guard let address = MailAddress.usable(row.mail) else {
                    noMail.append(who)
                    continue
                }
                let (old, new) = PhoneMask.maskPair(row.before, row.target, key: maskKey)
                // A removed number (mode: removePhones, or a blank cell) gets its own letter.
                let removed = row.outcome == .removed && row.target == nil
                let context: [String: Any] = [
                    "displayName": row.displayName ?? row.userPrincipalName ?? row.user,
                    "oldNumber": old ?? "(none)", "newNumber": new ?? "", "phoneLabel": row.phoneType.label,
                    "changedAt": row.updated ?? "", "helpdesk": settings.helpdesk, "organization": settings.organization ?? "",
                    "smsSignIn": removed ? PlanRow.smsSignInFollows(row.smsSignIn) : smsMoved, "smsSignInNotMoved": smsNotMoved,
                    "userPrincipalName": row.userPrincipalName ?? row.user,
                    "retirementDate": ReadinessDrafts.retirementDate, "securityInfoUrl": ReadinessDrafts.securityInfoUrl,
                ]
                let kind = removed ? "removed" : row.outcome == .issued ? "pass" : "user"
                let draft = MailDraft(from: settings.from, replyTo: settings.replyTo,
                                      to: MailAddress(name: row.displayName, address: address),
                                      subject: templates[kind + ".subject"]!.render(context), date: Date(),
                                      text: templates[kind + ".txt"]!.render(context), html: templates[kind + ".html"]!.render(context))
                let writer = try AtomicFileWriter(path: folder + "/\(row.line)-\(MailDraft.fileName(row.userPrincipalName ?? row.user)).eml")
                try writer.write(draft.rendered())
                try writer.commit()
                drafted += 1
            }
            return (drafted, noMail, failures, sms, noBackup, smsNotUnique)
        }
        let (drafted, noMail, failures, sms, noBackup, smsNotUnique) = result
        let byResult = summary.byResult
        let changed = Reports.writtenOutcomes.reduce(0) { $0 + (byResult[$1] ?? 0) }
        let context: [String: Any] = [
            "jobName": jobName, "runId": run.id, "runStatus": run.status, "runStarted": run.started, "runFinished": run.finished ?? "(not finished)",
            "changed": changed, "failed": failures.count, "attention": summary.attentionCount, "drafted": drafted,
            "failures": failures, "sms": sms.map { ["user": $0] }, "smsCount": sms.count,
            "smsNotUnique": smsNotUnique.map { ["user": $0] }, "smsNotUniqueCount": smsNotUnique.count,
            "noBackup": noBackup.map { ["user": $0] }, "noBackupCount": noBackup.count,
            "noMail": noMail.map { ["user": $0] }, "noMailCount": noMail.count,
        ]
        let summaryPath = try Self.writeSummary(settings, templates: templates, prefix: "helpdesk", context: context, folder: folder)
        return Outcome(folder: folder, drafts: drafted, noMail: noMail, summary: summaryPath)
    }

    /// The helpdesk summary draft (`<prefix>.subject/.txt/.html`) as `folder/helpdesk-summary.eml`; returns its path.
    static func writeSummary(_ settings: JobDefinition.Notify, templates: [String: MustacheTemplate], prefix: String,
                             context: [String: Any], folder: String) throws -> String {
        let draft = MailDraft(from: settings.from, replyTo: settings.replyTo, to: settings.helpdeskTo ?? settings.from,
                              subject: templates[prefix + ".subject"]!.render(context), date: Date(),
                              text: templates[prefix + ".txt"]!.render(context), html: templates[prefix + ".html"]!.render(context))
        let path = folder + "/helpdesk-summary.eml"
        let writer = try AtomicFileWriter(path: path)
        try writer.write(draft.rendered())
        try writer.commit()
        return path
    }
}

extension PhoneType {
    /// How a letter names the slot.
    var label: String {
        switch self {
        case .mobile: "mobile phone"
        case .alternateMobile: "alternate mobile phone"
        case .office: "office phone"
        }
    }
}
