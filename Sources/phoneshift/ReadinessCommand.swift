import ArgumentParser
import Foundation
import PhoneShift

/// `phoneshift readiness JOB`: read-only; every user's MFA methods and what the end of
/// Microsoft-provided SMS and voice (2027-02-01, public cloud) means for them.
struct ReadinessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "readiness",
        abstract: "Read-only: which users have a phishing-resistant method, only an app, only phones, or nothing — before SMS and voice stop.",
        discussion: """
            Reads Microsoft's authentication-methods registration report (AuditLog.Read.All and an Entra ID P1 or P2 \
            licence); when it is refused, reads each user's methods instead (UserAuthenticationMethod.Read.All) and says why. \
            Writes readiness.csv (a sheet a job can read), readiness.json and readiness.html, numbers masked. \
            RoleManagement.Read.Directory and GroupMember.Read.All fill "Admin" for per-user reads.
            """)

    @Argument(help: "The job file (YAML) whose tenant to read.")
    var job: String

    @Option(help: "The CSV to write (default: OUTPUTS/readiness.csv); the .json and .html go beside it.")
    var output: String?

    @Option(help: "Only the users this sheet names (a UPN or object id column).")
    var users: String?

    @Flag(help: "Also write notification drafts (.eml) telling phone-only users to register a passkey, and a helpdesk summary (needs the job's notify: section).")
    var drafts = false

    @OptionGroup var display: OutputOptions

    func run() async throws {
        let logger = display.activate().makeLogger("phoneshift.readiness")
        let definition = try await JobDefinition.open(job)
        try ResultsWriter.prepareOutputs(definition.outputs)
        let path = output ?? definition.outputs + "/readiness.csv"
        let base = path.hasSuffix(".csv") ? String(path.dropLast(4)) : path
        for file in [path, base + ".json", base + ".html"] {
            try checkNotJobInput(file, definition, others: users.map { [$0] } ?? [])
        }
        let filter = try users.map { try ReadinessUsers.read($0) }
        let session = try JobSession(job: definition, logger: logger)
        defer { session.close() }
        let outcome = try await ReadinessScan(session: session, logger: logger)
            .run(.init(output: path, users: filter, drafts: drafts), progress: listingProgress(interactive: Console.current.interactive))
        if Console.current.interactive { printError("") }
        let c = outcome.counts
        say("Readiness of \(outcome.total) users (\(outcome.source == .registrationReport ? "registration report" : "per-user reads")): "
            + ReadinessClass.allCases.map { "\($0.rawValue) \(c[$0] ?? 0)" }.joined(separator: ", ")
            + (outcome.unreadable > 0 ? ", could not be read \(outcome.unreadable)" : ""))
        if outcome.source == .perUserReads { Console.current.problem("notice", "readiness used \(outcome.sourceNote)") }
        if outcome.phoneOnlyAdmins > 0 {
            Console.current.problem("warning", "\(outcome.phoneOnlyAdmins) admins have only phones for MFA: give them a passkey first")
        }
        if !outcome.notFound.isEmpty {
            Console.current.problem("warning", "\(outcome.notFound.count) users of \(Sanitize.forMessage(users ?? "", limit: 200)) were not found (disabled accounts are not in the registration report): "
                                    + outcome.notFound.prefix(5).map { Sanitize.forMessage($0) }.joined(separator: ", ") + (outcome.notFound.count > 5 ? ", …" : ""))
        }
        say("Sheet: \(outcome.csv) (also \(outcome.json)); open \(outcome.html) in a browser")
        if let folder = outcome.draftsFolder {
            say("Drafts: \(outcome.drafts) letters to phone-only users and the helpdesk summary in \(folder) (nothing was sent)")
            if !outcome.noMail.isEmpty {
                Console.current.problem("warning", "\(outcome.noMail.count) phone-only users have no usable e-mail address (listed in the helpdesk summary); tell them another way")
            }
        }
    }
}
