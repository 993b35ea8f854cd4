import Foundation
import Logging

/// `phoneshift readiness`: every user's MFA methods and what the end of SMS and voice means
/// for them, read-only. The registration report first (Microsoft's recommendation for the
/// whole population); per-user reads when the report cannot be had, saying why. Rows go to
/// the sheet and the JSON as they are read (memory stays flat); the page keeps the counts and
/// the first phone-only and method-less users.
public struct ReadinessScan: Sendable {
    public let session: JobSession
    public let logger: Logger

    public init(session: JobSession, logger: Logger) {
        self.session = session
        self.logger = logger
    }

    public struct Options: Sendable {
        /// The CSV sheet; the JSON and the page go beside it (same name, .json and .html).
        public var output: String
        /// Only these users (UPNs and object ids, lowercased), from `--users SHEET`; nil: everyone.
        public var users: Set<String>?
        /// Write notification drafts for the phone-only users (needs the job's notify section).
        public var drafts = false
        public init(output: String, users: Set<String>? = nil, drafts: Bool = false) {
            self.output = output
            self.users = users
            self.drafts = drafts
        }
    }

    public typealias Progress = Exporter.Progress

    public struct Outcome: Sendable {
        public var source: ReadinessSource
        /// Why this source (the report's refusal when it fell back).
        public var sourceNote: String
        public var counts: [ReadinessClass: Int]
        /// Users whose read failed (no class).
        public var unreadable: Int
        public var phoneOnlyAdmins: Int
        public var total: Int
        public var csv: String
        public var json: String
        public var html: String
        /// Users the `--users` sheet names that no read returned (disabled, or not in the tenant).
        public var notFound: [String]
        /// The drafts' folder, how many were written, the phone-only users with no usable mail.
        public var draftsFolder: String?
        public var drafts = 0
        public var noMail: [String] = []
    }

    /// The sheet's columns (README "Moving off SMS and voice" lists them).
    public static let columns = ["User principal name", "Display name", "Object id", "Class", "Phone methods", "SMS sign-in",
                                 "Phishing-resistant methods", "App methods", "Temporary Access Pass", "Default method",
                                 "Admin", "Account enabled", "Note"]

    static let reportPath = "/reports/authenticationMethods/userRegistrationDetails"

    public func run(_ options: Options, progress: @escaping @Sendable (Progress) -> Void = { _ in }) async throws -> Outcome {
        let client = session.client
        try await client.authenticate()
        if options.drafts && session.job.notify == nil {
            throw PhoneShiftError(.badSetting, "\(session.job.jobFile): readiness --drafts needs a notify: section (from:, helpdesk:) in the job")
        }
        let base = options.output.hasSuffix(".csv") ? String(options.output.dropLast(4)) : options.output
        let paths = (csv: options.output, json: base + ".json", html: base + ".html")
        // The registration report first; any refusal of its first page falls back to per-user reads.
        var sink = try Sink(paths: paths, job: session.job, filter: options.users, keepPhoneOnly: options.drafts)
        let reader = GraphReader(client: client, listsAllMethods: true)
        var pages = 0
        let failure = try await reader.pages(Self.reportPath) { page in
            for item in page { try sink.add(Self.row(report: item)) }
            pages += 1
            progress(Progress(users: sink.total, pages: pages))
        }
        var source = ReadinessSource.registrationReport
        var note = "Microsoft's authentication-methods registration report (enabled users; numbers are not in it)"
        if let failure {
            guard pages == 0 else { throw failure }   // refused half-way: transient, run again
            note = "per-user reads of /authentication/methods, because the registration report was refused: " + Self.explain(failure)
            logger.notice("readiness: \(note)")
            source = .perUserReads
            sink = try Sink(paths: paths, job: session.job, filter: options.users, keepPhoneOnly: options.drafts)
            try await perUser(into: &sink, progress: progress)
        }
        let notFound = options.users.map { Array($0.subtracting(sink.seen)).sorted() } ?? []
        try sink.finish(source: source, note: note, notFound: notFound)
        var outcome = Outcome(source: source, sourceNote: note, counts: sink.counts, unreadable: sink.unreadable, phoneOnlyAdmins: sink.phoneOnlyAdmins,
                              total: sink.total, csv: paths.csv, json: paths.json, html: paths.html, notFound: notFound)
        if options.drafts {
            let drafts = try await ReadinessDrafts(job: session.job, client: client, logger: logger)
                .write(phoneOnly: sink.phoneOnly, counts: sink.counts)
            outcome.draftsFolder = drafts.folder
            outcome.drafts = drafts.drafts
            outcome.noMail = drafts.noMail
        }
        return outcome
    }

    /// Why the report could not be used, for the note and the log.
    static func explain(_ error: GraphError) -> String {
        switch (error.status, error.code) {
        case (403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant"?):
            "the tenant has no Microsoft Entra ID P1 or P2 licence, which the report needs"
        case (403, _):
            "the app lacks AuditLog.Read.All (\(error.code ?? "403"))"
        default:
            "\(error.code ?? error.status.map { "HTTP \($0)" } ?? "error"): \(Sanitize.forMessage(error.message, limit: 200))"
        }
    }

    /// Every user, then each one's methods (UserAuthenticationMethod.Read.All), and who is an admin.
    func perUser(into sink: inout Sink, progress: @escaping @Sendable (Progress) -> Void) async throws {
        let client = session.client
        let job = session.job
        let permissions = try await PermissionCheck(client: client)
            .verify([.readUsers, .readPhoneMethods], cloudListsMethods: job.tenant.cloud.listsAuthenticationMethods)
        guard permissions.listsAllMethods else {
            throw PhoneShiftError(.permissionMissing, "readiness needs every MFA method of every user: grant AuditLog.Read.All (the registration report, with an Entra ID P1 or P2 licence) or UserAuthenticationMethod.Read.All (per-user reads) to app \(client.settings.clientId). " + GraphNeed.grantHint([.readAllMethods], clientId: client.settings.clientId))
        }
        let reader = GraphReader(client: client, listsAllMethods: true)
        var roles: [String: [String]]?
        switch try await reader.privilegedUsers() {
        case .success(let found): roles = found.users
        case .failure(let error):
            logger.warning("readiness: cannot read directory roles (\(error)); the Admin column says 'unknown'. Grant RoleManagement.Read.Directory and GroupMember.Read.All to fill it")
        }
        let admins = roles
        let concurrency = max(1, job.rate.concurrency)
        let filter = sink.filter
        var pages = 0
        let failure = try await reader.pages("/users?$select=id,userPrincipalName,displayName,accountEnabled,mail&$top=999") { page in
            let listed = page.map(Exporter.ListedUser.init).filter { user in
                guard let filter else { return true }
                return filter.contains(user.id.lowercased()) || filter.contains(user.userPrincipalName.lowercased())
            }
            var read = [ReadinessRow?](repeating: nil, count: listed.count)
            try await withThrowingTaskGroup(of: (Int, ReadinessRow).self) { group in
                var started = 0
                for (index, item) in listed.enumerated() {
                    if started >= concurrency, let (i, row) = try await group.next() { read[i] = row }
                    started += 1
                    group.addTask { (index, try await Self.row(listed: item, client: client, admins: admins)) }
                }
                for try await (i, row) in group { read[i] = row }
            }
            for row in read.compactMap({ $0 }) { try sink.add(row) }
            pages += 1
            progress(Progress(users: sink.total, pages: pages))
        }
        if let failure { throw failure }
    }

    /// A row of the registration report.
    static func row(report o: [String: Any]) -> ReadinessRow {
        let names = o["methodsRegistered"] as? [String] ?? []
        var methods = Set(names.compactMap(MethodKind.init(registered:)))
        if names.contains("temporaryAccessPass") { methods.insert(.temporaryAccessPass) }
        let preferred = o["userPreferredMethodForSecondaryAuthentication"] as? String
        return ReadinessRow(id: o["id"] as? String ?? "", userPrincipalName: o["userPrincipalName"] as? String ?? "",
                            displayName: o["userDisplayName"] as? String ?? "", enabled: true, methods: methods,
                            temporaryAccessPass: methods.contains(.temporaryAccessPass) ? "registered" : nil,
                            defaultMethod: preferred.flatMap { $0.isEmpty || $0 == "none" ? nil : $0 },
                            admin: (o["isAdmin"] as? Bool).map { $0 ? ["an admin role"] : [] })
    }

    /// A listed user, with their methods read.
    static func row(listed user: Exporter.ListedUser, client: GraphClient, admins: [String: [String]]?) async throws -> ReadinessRow {
        let id = user.id
        var row = ReadinessRow(id: id, userPrincipalName: user.userPrincipalName, displayName: user.displayName, mail: user.mail,
                               enabled: user.enabled, methods: [], admin: admins.map { $0[id.lowercased()] ?? [] })
        let r = try await client.send("GET", GraphReader.userPath(id) + "/authentication/methods")
        guard r.status == 200 else {
            let error = r.failure()
            row.problem = "could not read the methods: \(error.code ?? "HTTP \(r.status)")"
            return row
        }
        for item in r.object["value"] as? [[String: Any]] ?? [] {
            let type = item["@odata.type"] as? String ?? ""
            if type == "#microsoft.graph.phoneAuthenticationMethod" {
                guard let phoneType = (item["phoneType"] as? String).flatMap(PhoneType.init(rawValue:)) else { continue }
                row.methods.insert(phoneType == .mobile ? .mobilePhone : phoneType == .alternateMobile ? .alternateMobilePhone : .officePhone)
                row.phones[phoneType] = item["phoneNumber"] as? String
                if phoneType == .mobile { row.smsSignIn = item["smsSignInState"] as? String }
            } else if let kind = MethodKind(odataType: type) {
                row.methods.insert(kind)
                if kind == .temporaryAccessPass {
                    let usable = item["isUsable"] as? Bool == true
                    if row.temporaryAccessPass != "usable" { row.temporaryAccessPass = usable ? "usable" : "not usable" }
                }
            }
        }
        return row
    }

    /// Writes rows as they come: the sheet and the JSON's rows stream to temporary files,
    /// committed together at the end; the page is made from the counts and the first rows
    /// that need action.
    struct Sink {
        static let listed = 2_000
        let paths: (csv: String, json: String, html: String)
        let job: JobDefinition
        let filter: Set<String>?
        let csv: AtomicFileWriter
        let json: AtomicFileWriter
        var counts: [ReadinessClass: Int] = Dictionary(uniqueKeysWithValues: ReadinessClass.allCases.map { ($0, 0) })
        var unreadable = 0
        var phoneOnlyAdmins = 0
        var total = 0
        var seen = Set<String>()
        var needAction: [ReadinessRow] = []
        /// Every phone-only user, kept only for the drafts (`keepPhoneOnly`).
        var phoneOnly: [ReadinessRow] = []
        let keepPhoneOnly: Bool
        var first = true

        init(paths: (csv: String, json: String, html: String), job: JobDefinition, filter: Set<String>?, keepPhoneOnly: Bool) throws {
            self.paths = paths
            self.job = job
            self.filter = filter
            self.keepPhoneOnly = keepPhoneOnly
            csv = try AtomicFileWriter(path: paths.csv)
            json = try AtomicFileWriter(path: paths.json)
            try csv.write(CSVFormatting.line(ReadinessScan.columns))
            try json.write("{\"schemaVersion\":1,\"generated\":\(Self.quote(JobStore.now())),\"job\":{\"name\":\(Self.quote(job.name))},\"users\":[")
        }

        mutating func add(_ row: ReadinessRow) throws {
            if let filter {
                let keys = [row.id.lowercased(), row.userPrincipalName.lowercased()]
                guard keys.contains(where: filter.contains) else { return }
                for key in keys where filter.contains(key) { seen.insert(key) }
            }
            total += 1
            let cls = row.readinessClass
            if let cls { counts[cls, default: 0] += 1 } else { unreadable += 1 }
            if cls == .phoneOnly, let admin = row.admin, !admin.isEmpty { phoneOnlyAdmins += 1 }
            if cls == .phoneOnly && keepPhoneOnly { phoneOnly.append(row) }
            if (cls == .phoneOnly || cls == .none || cls == nil) && needAction.count < Self.listed { needAction.append(row) }
            try csv.write(CSVFormatting.line(Self.cells(row)))
            try json.write((first ? "" : ",") + Self.jsonRow(row))
            first = false
        }

        mutating func finish(source: ReadinessSource, note: String, notFound: [String]) throws {
            var tail = "],\"source\":\(Self.quote(source.rawValue)),\"sourceNote\":\(Self.quote(note)),\"total\":\(total),\"counts\":{"
            tail += ReadinessClass.allCases.map { "\(Self.quote($0.rawValue)):\(counts[$0] ?? 0)" }.joined(separator: ",")
            tail += "},\"unreadable\":\(unreadable),\"phoneOnlyAdmins\":\(phoneOnlyAdmins),\"notFound\":[" + notFound.map(Self.quote).joined(separator: ",") + "]}\n"
            try json.write(tail)
            let page = ReadinessPage(jobName: job.name, source: source, sourceNote: note, counts: counts, unreadable: unreadable,
                                     phoneOnlyAdmins: phoneOnlyAdmins, total: total, rows: needAction, notFound: notFound)
            let html = try AtomicFileWriter(path: paths.html)
            try html.write(try page.render())
            try csv.commit()
            try json.commit()
            try html.commit()
        }

        /// A row of the sheet: numbers masked; cells from the directory neutralised by CSVFormatting.
        static func cells(_ r: ReadinessRow) -> [String] {
            let phones = r.phoneTypes.map { type in r.phones[type].map { "\(type.rawValue) \(PhoneMask.mask($0))" } ?? type.rawValue }
            let strong = r.methods.filter(\.isPhishingResistant).sorted().map(\.label)
            let apps = r.methods.filter(\.isApp).sorted().map(\.label)
            let admin: String = r.admin.map { $0.isEmpty ? "no" : "yes (" + $0.joined(separator: "; ") + ")" } ?? "unknown"
            return [r.userPrincipalName, r.displayName, r.id, r.readinessClass?.rawValue ?? "unknown", phones.joined(separator: "; "),
                    r.smsSignIn ?? "", strong.joined(separator: "; "), apps.joined(separator: "; "), r.temporaryAccessPass ?? "",
                    r.defaultMethod ?? "", admin, r.enabled.map { $0 ? "yes" : "no" } ?? "", r.problem ?? r.readinessClass?.meaning ?? ""]
        }

        static func jsonRow(_ r: ReadinessRow) -> String {
            func list(_ items: [String]) -> String { "[" + items.map(quote).joined(separator: ",") + "]" }
            func optional(_ s: String?) -> String { s.map(quote) ?? "null" }
            let admin = r.admin.map { $0.isEmpty ? "false" : "true" } ?? "null"
            return "{\"userPrincipalName\":\(quote(r.userPrincipalName)),\"displayName\":\(quote(r.displayName)),\"id\":\(quote(r.id)),"
                + "\"class\":\(optional(r.readinessClass?.rawValue)),\"phoneMethods\":\(list(r.phoneTypes.map(\.rawValue))),"
                + "\"methods\":\(list(r.methods.sorted().map(\.rawValue))),\"smsSignIn\":\(optional(r.smsSignIn)),"
                + "\"temporaryAccessPass\":\(optional(r.temporaryAccessPass)),\"defaultMethod\":\(optional(r.defaultMethod)),"
                + "\"admin\":\(admin),\"adminRoles\":\(list(r.admin ?? [])),\"enabled\":\(r.enabled.map { $0 ? "true" : "false" } ?? "null"),"
                + "\"problem\":\(optional(r.problem))}"
        }

        /// A JSON string, escaped as the JSON log lines escape theirs.
        static func quote(_ s: String) -> String { JSONLinesLogHandler.quote(s) }
    }
}
