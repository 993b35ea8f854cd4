import Foundation
import Logging

/// `phoneshift readiness --drafts`: one `.eml` draft per phone-only user (enabled, with a
/// usable mail address) telling them what changes when Microsoft stops SMS and voice codes and
/// how to register a passkey, and a summary for the helpdesk — in
/// `OUTPUTS/drafts/readiness-<time>/`, owner-only, from the `readiness-*` templates (the job's
/// `notify.templates` folder replaces them as it replaces the others). Nothing is sent.
struct ReadinessDrafts {
    /// Microsoft's date for the public cloud (concept-sms-voice-retirement.md).
    static let retirementDate = "1 February 2027"
    /// Where users register methods themselves (My Sign-Ins, security info).
    static let securityInfoUrl = "https://mysignins.microsoft.com/security-info"

    struct Outcome: Sendable {
        var folder: String
        var drafts: Int
        var noMail: [String]
        var summary: String
    }

    let job: JobDefinition
    let client: GraphClient
    let logger: Logger

    /// `phoneOnly`: the phone-only users the scan found (a mail address where the source gave one).
    func write(phoneOnly: [ReadinessRow], counts: [ReadinessClass: Int]) async throws -> Outcome {
        guard let settings = job.notify else {
            throw PhoneShiftError(.badSetting, "\(job.jobFile): add a notify: section (from:, helpdesk:) to write readiness drafts")
        }
        let templates = try Notifier.templates(job)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        let folder = job.outputs + "/drafts/readiness-" + formatter.string(from: Date())
        do {
            try OwnerOnly.makeDirectories(folder)
        } catch {
            throw PhoneShiftError(.cannotWriteOutput, "cannot create the drafts folder '\(folder)': \(error.reason)")
        }
        let users = try await withMail(phoneOnly.filter { $0.enabled != false })
        var drafted = 0
        var noMail: [String] = [], admins: [String] = []
        for (index, row) in users.enumerated() {
            let who = Sanitize.forMessage(row.userPrincipalName, limit: 120)
            if let admin = row.admin, !admin.isEmpty { admins.append(who) }
            guard let address = MailAddress.usable(row.mail) else {
                noMail.append(who)
                continue
            }
            let labels = row.phoneTypes.map(\.label)
            let context: [String: Any] = [
                "displayName": row.displayName.isEmpty ? row.userPrincipalName : row.displayName,
                "phoneLabels": labels.count > 1 ? labels.dropLast().joined(separator: ", ") + " or " + labels.last! : labels.first ?? "phone",
                "retirementDate": Self.retirementDate, "securityInfoUrl": Self.securityInfoUrl,
                "helpdesk": settings.helpdesk, "organization": settings.organization ?? "", "userPrincipalName": row.userPrincipalName,
            ]
            let draft = MailDraft(from: settings.from, replyTo: settings.replyTo,
                                  to: MailAddress(name: row.displayName.isEmpty ? nil : row.displayName, address: address),
                                  subject: templates["readiness-user.subject"]!.render(context), date: Date(),
                                  text: templates["readiness-user.txt"]!.render(context), html: templates["readiness-user.html"]!.render(context))
            let writer = try AtomicFileWriter(path: folder + "/\(index + 1)-\(MailDraft.fileName(row.userPrincipalName)).eml")
            try writer.write(draft.rendered())
            try writer.commit()
            drafted += 1
        }
        let context: [String: Any] = [
            "jobName": job.name, "generated": JobStore.now(), "retirementDate": Self.retirementDate,
            "phishingResistant": counts[.phishingResistant] ?? 0, "app": counts[.app] ?? 0, "phoneOnly": counts[.phoneOnly] ?? 0,
            "none": counts[ReadinessClass.none] ?? 0, "drafted": drafted,
            "admins": admins.map { ["user": $0] }, "adminCount": admins.count,
            "noMail": noMail.map { ["user": $0] }, "noMailCount": noMail.count,
        ]
        let summaryPath = try Notifier.writeSummary(settings, templates: templates, prefix: "readiness-helpdesk", context: context, folder: folder)
        return Outcome(folder: folder, drafts: drafted, noMail: noMail, summary: summaryPath)
    }

    /// The users with their mail: read (`/users/{id}?$select=mail`) for those the source did
    /// not give it for (the registration report has no mail), a few at a time.
    func withMail(_ rows: [ReadinessRow]) async throws -> [ReadinessRow] {
        var out = rows
        let missing = rows.indices.filter { rows[$0].mail == nil }
        let concurrency = max(1, job.rate.concurrency)
        let client = self.client
        try await withThrowingTaskGroup(of: (Int, String?).self) { group in
            var started = 0
            for index in missing {
                if started >= concurrency, let (i, mail) = try await group.next() { out[i].mail = mail }
                started += 1
                let id = rows[index].id
                group.addTask {
                    let r = try await client.send("GET", GraphReader.userPath(id) + "?$select=mail")
                    return (index, r.status == 200 ? r.object["mail"] as? String : nil)
                }
            }
            for try await (i, mail) in group { out[i].mail = mail }
        }
        return out
    }
}
