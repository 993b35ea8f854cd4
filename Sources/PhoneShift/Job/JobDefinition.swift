import Foundation
import Yams

/// A job file (YAML): what to change, where, how fast, and where the results go.
/// Relative paths are relative to the job file's folder.
public struct JobDefinition: Sendable {
    public struct Sheet: Sendable {
        public var path: String
        public var userColumn: String?
        public var phoneColumn: String?
        public var regionColumn: String?
        public var defaultRegion: String?
        public var delimiter: String?
        public var encoding: String?
    }
    public struct Tenant: Sendable {
        public var tenantId: String
        public var clientId: String
        /// Where the secret comes from; the secret itself is never in the job file.
        public var secretEnvironment: String?
        public var secretFile: String?
        /// Certificate credential instead of a secret: PEM certificate and RSA key files.
        public var certificateFile: String?
        public var privateKeyFile: String?
        public var assertionAlgorithm: CertificateCredential.Algorithm = .ps256
        public var authority: String
        public var graph: String
        /// The Microsoft cloud (authority, Graph host, token scope, available endpoints).
        public var cloud: GraphCloud = .global
        /// `tenant.proxy`: the HTTPS proxy for the identity platform and Graph (services
        /// under cron or systemd do not inherit a login shell's HTTPS_PROXY). nil: the
        /// environment's (HTTPS_PROXY, NO_PROXY); "": none, whatever the environment says.
        public var proxy: String?
    }
    public struct Rate: Sendable {
        /// Sustained writes per second for all workers together, the most apply sends; nil
        /// (the default): found from Graph's answers — apply starts at 5/s and settles just
        /// under the tenant's real quota (Graph's per-app write quota is 20/s).
        public var writesPerSecond: Double?
        /// Sustained reads per second.
        public var readsPerSecond: Double = 150
        public var burst: Double = 10
        /// The most requests one lane (reads, writes) has in flight at once. Not the speed:
        /// in flight follows the measured latency (rate × latency, Little's law) below it.
        public var concurrency: Int = 64
        public var maxAttempts: Int = 6
        public var connectTimeoutSeconds: Double = 10
        public var requestTimeoutSeconds: Double = 60
        /// Requests per second a job may ask for (reads or writes). Below 0.1/s a 1,000-row
        /// job takes hours; above 10,000/s is no Graph tenant's budget.
        public static let requestsPerSecondRange: ClosedRange<Double> = 0.1...10_000
    }
    /// Notification drafts (`phoneshift notify`, or after every apply with `afterApply`).
    public struct Notify: Sendable {
        var from: MailAddress
        var replyTo: MailAddress?
        /// Where the helpdesk summary is addressed (default: `from`).
        var helpdeskTo: MailAddress?
        /// How users reach the helpdesk, as the letter says it ("+1 206 555 0100, help@contoso.com").
        public var helpdesk: String
        public var organization: String?
        /// A folder of templates replacing the defaults (`Jobs/templates` holds copies to edit).
        public var templates: String?
        public var afterApply: Bool
    }
    public struct Policy: Sendable {
        /// Change accounts that hold a directory role (admins). Off by default.
        public var allowPrivileged = false
        /// Re-read each user's phone methods right before writing (on by default: a value
        /// that moved since the plan is never overwritten blindly).
        public var verifyBeforeWrite = true
        /// A blank number in the sheet removes the user's number of the job's type. Off: a
        /// blank cell never removes anything.
        public var blankRemovesNumber = false
        /// Only give numbers to users who have none of the job's type; a number a user
        /// registered (or anyone set) is kept.
        public var onlySetWhenEmpty = false
        /// Hold back users whose only MFA methods are phones (changing their only method can
        /// lock them out); they are listed in the report.
        public var requireBackupMethod = false
        /// After every apply (and run), re-read each row it changed and compare (`verify`).
        public var verifyAfterApply = false
        /// What a full comparison does with a number changed outside PhoneShift while the
        /// sheet still has the value PhoneShift last applied (delta jobs).
        public var changedElsewhere: ChangedElsewhere = .keep
    }
    public enum ChangedElsewhere: String, Sendable {
        /// Leave the number as it is and report the row (needs attention).
        case keep
        /// Write the sheet's number again.
        case restore
    }
    /// Safety valves: a plan that trips one is never applied (unless accepted for one run).
    public struct Valves: Sendable {
        /// More changes than this.
        public var maxChanges: Int?
        /// More than this share of the sheet's rows would change (percent).
        public var maxChangePercent: Double?
        /// The sheet has this share fewer rows than at the last successful run (percent).
        /// Default: 25 for delta jobs (the export is the whole population), off for others
        /// (a migration's sheets are batches of any size).
        public var maxShrinkPercent: Double?
        /// This share of the sheet's numbers is blank or invalid (percent).
        public var maxBlankOrInvalidPercent: Double? = 50
    }
    /// Delta: rows whose number equals the one PhoneShift last applied or saw cost no
    /// Graph call; every `fullEveryDays` days (and with `--full`) every row is read again.
    public struct Delta: Sendable {
        public var fullEveryDays: Double = 7
    }

    public var name: String
    public var jobFile: String
    public var sheet: Sheet
    public var phoneType: PhoneType
    public var strict: Bool
    public var tenant: Tenant
    public var rate: Rate
    public var policy: Policy
    public var valves = Valves()
    /// Nil: every plan reads every row (migrations); set: delta planning (nightly imports).
    public var delta: Delta?
    /// Keep this many plans (with their runs, rows and drafts); older ones are pruned after
    /// a successful apply or run. Nil: keep all.
    public var keepRuns: Int?
    /// The job store (SQLite).
    public var store: String
    /// Folder for the reports (report.csv, report.json, report.html, failures.csv).
    public var outputs: String
    /// Full phone numbers in the reports (masked by default).
    public var fullNumbersInReports: Bool
    public var notify: Notify?

    /// Reads and checks a job file. Every problem names its key (and line): unknown keys,
    /// wrong types, missing required settings.
    public static func load(path: String) throws -> JobDefinition {
        try InputFile.checkName(path, what: "job file")
        if case (let kind, _) = InputFile.kind(path), kind != .regular {
            throw PhoneShiftError(.unreadableFile, kind == .missing
                ? "cannot read the job file '\(Sanitize.forMessage(path, limit: 200))': no such file"
                : "the job file '\(Sanitize.forMessage(path, limit: 200))' is not a regular file")
        }
        guard let data = FileManager.default.contents(atPath: path), data.count <= 1 << 20 else {
            throw PhoneShiftError(.unreadableFile, "cannot read the job file '\(Sanitize.forMessage(path, limit: 200))' (or it is over 1 MB: a job file is a page of settings)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PhoneShiftError(.badSetting, "the job file '\(path)' is not UTF-8 text")
        }
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw PhoneShiftError(.badSetting, "the job file '\(path)' is empty")
            }
            root = node
        } catch let error as PhoneShiftError {
            throw error
        } catch {
            // Yams quotes the offending line; it may hold a pasted secret, so only the place
            // and the kind of problem are told.
            throw PhoneShiftError(.badSetting, "the job file '\(path)' is not valid YAML: \(Self.describeYAMLError(error))")
        }
        let base = (URL(fileURLWithPath: path).deletingLastPathComponent().path)
        func resolve(_ p: String) -> String {
            let expanded = Self.expandHome(p)
            return expanded.hasPrefix("/") ? expanded : URL(fileURLWithPath: base).appendingPathComponent(expanded).standardizedFileURL.path
        }
        let top = try YAMLMap(root, path: "", file: path)
        try top.onlyKnown()

        let sheetMap = try top.map("sheet", required: true)!
        try sheetMap.onlyKnown()
        let sheet = Sheet(path: resolve(try sheetMap.string("path", required: true)!),
                          userColumn: try sheetMap.string("userColumn"), phoneColumn: try sheetMap.string("phoneColumn"),
                          regionColumn: try sheetMap.string("regionColumn"), defaultRegion: try sheetMap.string("defaultRegion"),
                          delimiter: try sheetMap.string("delimiter"), encoding: try sheetMap.string("encoding"))

        let tenantMap = try top.map("tenant", required: true)!
        try tenantMap.onlyKnown()
        var cloud = GraphCloud.global
        let cloudName = try tenantMap.string("cloud")
        if let cloudName {
            guard let named = GraphCloud.named(cloudName) else {
                throw PhoneShiftError(.badSetting, "\(path): tenant.cloud (line \(tenantMap.line("cloud"))): '\(cloudName)' is not a cloud PhoneShift knows; use global (also for GCC), usgov (GCC High), usgovdod (DoD) or china (21Vianet)")
            }
            cloud = named
        }
        let secretMap = try tenantMap.map("clientSecret")
        let certificateMap = try tenantMap.map("clientCertificate")
        if (secretMap == nil) == (certificateMap == nil) {
            throw PhoneShiftError(.badSetting, "\(path): tenant: give exactly one of clientSecret (env: or file:) or clientCertificate (certificate: and privateKey: PEM files)")
        }
        var secretEnv: String?, secretFile: String?
        if let secretMap {
            try secretMap.onlyKnown()
            secretEnv = try secretMap.string("env")
            secretFile = try secretMap.string("file").map(resolve)
            if let name = secretEnv, !Self.isVariableName(name) {
                throw PhoneShiftError(.badSetting, "\(path): tenant.clientSecret.env (line \(secretMap.line("env"))) must be the name of an environment variable (letters, digits and _, such as PHONESHIFT_SECRET); what is there is not one — if it is the secret itself, remove it from the file and rotate it. (The value is not shown.)")
            }
            if (secretEnv == nil) == (secretFile == nil) {
                throw PhoneShiftError(.badSetting, "\(path): tenant.clientSecret: give exactly one of 'env' (an environment variable) or 'file' (a file readable by you only); never the secret itself")
            }
        }
        var certificateFile: String?, privateKeyFile: String?
        var algorithm = CertificateCredential.Algorithm.ps256
        if let certificateMap {
            try certificateMap.onlyKnown()
            certificateFile = resolve(try certificateMap.string("certificate", required: true)!)
            privateKeyFile = resolve(try certificateMap.string("privateKey", required: true)!)
            if let name = try certificateMap.string("algorithm") {
                guard let known = CertificateCredential.Algorithm(rawValue: name.uppercased()) else {
                    throw PhoneShiftError(.badSetting, "\(path): tenant.clientCertificate.algorithm (line \(certificateMap.line("algorithm"))): '\(name)' is not RS256 or PS256")
                }
                algorithm = known
            }
        }
        var tenant = Tenant(tenantId: try tenantMap.string("tenantId", required: true)!,
                            clientId: try tenantMap.string("clientId", required: true)!,
                            secretEnvironment: secretEnv, secretFile: secretFile,
                            certificateFile: certificateFile, privateKeyFile: privateKeyFile, assertionAlgorithm: algorithm,
                            authority: try tenantMap.string("authority") ?? cloud.authority,
                            graph: try tenantMap.string("graph") ?? cloud.graph, cloud: cloud)
        if let proxy = try tenantMap.string("proxy") {
            tenant.proxy = try Self.proxySetting(proxy, file: path, line: tenantMap.line("proxy"))
        }
        if let authority = URL(string: tenant.authority), let graph = URL(string: tenant.graph) {
            try GraphCloud.check(cloud: cloud, named: cloudName != nil, authority: authority, graph: graph, file: path)
        }

        var rate = Rate()
        if let r = try top.map("rate") {
            try r.onlyKnown()
            rate.writesPerSecond = try r.number("writesPerSecond", in: Rate.requestsPerSecondRange)
            rate.readsPerSecond = try r.number("readsPerSecond", in: Rate.requestsPerSecondRange) ?? rate.readsPerSecond
            rate.burst = try r.number("burst", in: 1...10_000) ?? rate.burst
            rate.concurrency = try r.integer("concurrency", range: 1...256) ?? rate.concurrency
            rate.maxAttempts = try r.integer("maxAttempts", range: 1...100) ?? rate.maxAttempts
            rate.connectTimeoutSeconds = try r.number("connectTimeoutSeconds", in: 0.5...600) ?? rate.connectTimeoutSeconds
            rate.requestTimeoutSeconds = try r.number("requestTimeoutSeconds", in: 1...3_600) ?? rate.requestTimeoutSeconds
        }
        var policy = Policy()
        var valves = Valves()
        if let p = try top.map("policy") {
            try p.onlyKnown()
            policy.allowPrivileged = try p.bool("allowPrivileged") ?? false
            // policy.maxChanges is kept where earlier job files have it; valves.maxChanges is the same valve.
            valves.maxChanges = try p.limit("maxChanges")
            policy.verifyBeforeWrite = try p.bool("verifyBeforeWrite") ?? true
            policy.blankRemovesNumber = try p.bool("blankRemovesNumber") ?? false
            policy.onlySetWhenEmpty = try p.bool("onlySetWhenEmpty") ?? false
            policy.requireBackupMethod = try p.bool("requireBackupMethod") ?? false
            policy.verifyAfterApply = try p.bool("verifyAfterApply") ?? false
            if let text = try p.string("changedElsewhere") {
                guard let value = ChangedElsewhere(rawValue: text) else {
                    throw PhoneShiftError(.badSetting, "\(path): policy.changedElsewhere (line \(p.line("changedElsewhere"))): '\(Sanitize.forMessage(text))' is not keep or restore")
                }
                policy.changedElsewhere = value
            }
            if policy.blankRemovesNumber && policy.onlySetWhenEmpty {
                throw PhoneShiftError(.badSetting, "\(path): policy.blankRemovesNumber and policy.onlySetWhenEmpty contradict each other (one removes numbers, the other never touches an existing one); keep one")
            }
        }
        if let v = try top.map("valves") {
            try v.onlyKnown()
            if v.has("maxChanges") {
                // A whole number, or off (documented: `off` turns a valve off).
                let m = try v.limit("maxChanges")
                if let old = valves.maxChanges, old != m {
                    throw PhoneShiftError(.badSetting, "\(path): valves.maxChanges (line \(v.line("maxChanges"))) and policy.maxChanges say different things (\(m.map(String.init) ?? "off"), \(old)); keep one")
                }
                valves.maxChanges = m
            }
            valves.maxChangePercent = try v.percent("maxChangePercent")
            if v.has("maxShrinkPercent") { valves.maxShrinkPercent = try v.percent("maxShrinkPercent") }
            if v.has("maxBlankOrInvalidPercent") { valves.maxBlankOrInvalidPercent = try v.percent("maxBlankOrInvalidPercent") }
        }
        var delta: Delta?
        if let d = try top.map("delta") {
            try d.onlyKnown()
            var value = Delta()
            if let days = try d.integer("fullEveryDays", range: 0...3650) { value.fullEveryDays = Double(days) }
            delta = value
        } else if top.has("delta"), try top.bool("delta") == true {
            delta = Delta()
        }
        let shrinkSet = try top.map("valves")?.has("maxShrinkPercent") ?? false
        if delta != nil && !shrinkSet { valves.maxShrinkPercent = 25 }
        let keepRuns = try top.integer("keepRuns", range: 1...100_000)
        var fullNumbers = false
        if let r = try top.map("reports") {
            try r.onlyKnown()
            fullNumbers = try r.bool("fullNumbers") ?? false
        }
        var notify: Notify?
        if let n = try top.map("notify") {
            try n.onlyKnown()
            func address(_ key: String, required: Bool = false) throws -> MailAddress? {
                guard let text = try n.string(key, required: required) else { return nil }
                guard let parsed = MailAddress.parse(text) else {
                    throw PhoneShiftError(.badSetting, "\(path): notify.\(key) (line \(n.line(key))): '\(Sanitize.forMessage(text))' is not an address such as 'IT Helpdesk <helpdesk@contoso.com>'")
                }
                return parsed
            }
            notify = Notify(from: try address("from", required: true)!, replyTo: try address("replyTo"), helpdeskTo: try address("helpdeskTo"),
                            helpdesk: try n.string("helpdesk", required: true)!, organization: try n.string("organization"),
                            templates: try n.string("templates").map(resolve), afterApply: try n.bool("afterApply") ?? false)
        }
        let phoneTypeText = try top.string("phoneType") ?? "mobile"
        guard let phoneType = PhoneType(rawValue: phoneTypeText) else {
            throw PhoneShiftError(.badSetting, "\(path): phoneType (line \(top.line("phoneType"))): '\(phoneTypeText)' is not mobile, alternateMobile or office")
        }
        let name = try top.string("name") ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        if !Self.isPlainName(name) {
            throw PhoneShiftError(.badSetting, "\(path): name (line \(top.line("name"))): '\(Sanitize.forMessage(name, limit: 80))' may hold only letters, digits, spaces, '.', '-' and '_' (up to 64, not starting with '.'): it names the job store and the outputs folder, so no '/', '..' or control characters")
        }
        let outputs = resolve(try top.string("outputs") ?? "out/\(name)")
        // A sheet that is the secret or the private key would put it in error messages (a
        // header error lists the header's cells): refused before it is read.
        for (secret, what) in [(tenant.secretFile, "tenant.clientSecret.file"), (tenant.privateKeyFile, "tenant.clientCertificate.privateKey")] {
            if let secret, secret == sheet.path || AtomicFileWriter.sameFile(secret, sheet.path) {
                throw PhoneShiftError(.badSetting, "\(path): sheet.path (line \(sheetMap.line("path"))) names the same file as \(what); the sheet is read and quoted in messages, so it must never be the secret. Point sheet.path at the change sheet")
            }
        }
        return JobDefinition(
            name: name, jobFile: path, sheet: sheet, phoneType: phoneType, strict: try top.bool("strict") ?? false,
            tenant: tenant, rate: rate, policy: policy, valves: valves, delta: delta, keepRuns: keepRuns,
            store: resolve(try top.string("store") ?? outputs + "/\(name).sqlite"), outputs: outputs,
            fullNumbersInReports: fullNumbers, notify: notify)
    }

    /// `~` and `~/…` mean the home folder, as in a shell.
    static func expandHome(_ p: String) -> String {
        guard p == "~" || p.hasPrefix("~/") else { return p }
        let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        return home + p.dropFirst()
    }

    /// A job name that is safe as a file name: letters, digits, space, `.`, `-`, `_`, not
    /// starting with `.` or a space, 1 to 64 characters.
    static func isPlainName(_ s: String) -> Bool {
        guard !s.isEmpty, s.count <= 64, !s.hasPrefix("."), !s.hasPrefix(" ") else { return false }
        return s.unicodeScalars.allSatisfy { c in
            c.properties.isAlphabetic || ("0"..."9").contains(c) || c == " " || c == "." || c == "-" || c == "_"
        }
    }

    /// `tenant.proxy`: `none` (no proxy, whatever the environment says), or the proxy's URL
    /// (`http://host:port`, the usual CONNECT proxy, or `https://`). Credentials in it are
    /// refused: the job file is no place for a secret.
    static func proxySetting(_ text: String, file: String, line: Int) throws -> String {
        let key = "\(file): tenant.proxy (line \(line))"
        if ["none", "off", "no"].contains(text.lowercased()) { return "" }
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = url.host, !host.isEmpty else {
            throw PhoneShiftError(.badSetting, "\(key): '\(Sanitize.forMessage(text, limit: 100))' is not a proxy URL such as http://proxy.example.com:3128 (or none)")
        }
        if url.user != nil || url.password != nil {
            throw PhoneShiftError(.badSetting, "\(key): the proxy URL carries a user name or password; PhoneShift keeps no secret in the job file — use a proxy that admits this host, or give the credentials in HTTPS_PROXY in the service's environment. (The value is not shown.)")
        }
        guard url.path.isEmpty || url.path == "/", url.query == nil else {
            throw PhoneShiftError(.badSetting, "\(key): a proxy URL is scheme, host and port only (such as http://proxy.example.com:3128)")
        }
        return "\(scheme)://\(host)" + (url.port.map { ":\($0)" } ?? "")
    }

    static func isVariableName(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, s.count <= 128 else { return false }
        let letters = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
        let rest = letters.union(CharacterSet(charactersIn: "0123456789"))
        return letters.contains(first) && s.unicodeScalars.allSatisfy { rest.contains($0) }
    }

    /// A YAML error without the text of the file: the line and column, and the problem.
    static func describeYAMLError(_ error: Error) -> String {
        if let e = error as? YamlError {
            switch e {
            case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _):
                return "line \(mark.line), column \(mark.column): \(problem)" + (context.map { " (\($0.text))" } ?? "")
            case .composer(let context, let problem, let mark, _):
                return "line \(mark.line), column \(mark.column): \(problem)" + (context.map { " (\($0.text))" } ?? "")
            case .duplicatedKeysInMapping(let duplicates, let context):
                // Key names only (never values), shortened and sanitised.
                let keys = duplicates.prefix(3).map { "'\(Sanitize.forMessage($0, limit: 40))'" }.joined(separator: ", ")
                return "line \(context.mark.line): the key \(keys) appears more than once in one mapping; keep one"
            default:
                return "the YAML parser refused it"
            }
        }
        return "the YAML parser refused it"
    }

    /// The settings that shape a plan, one `key=value` per line. A plan records them; apply
    /// refuses a plan whose job has changed any of them since (`changedPlanSettings`).
    public var planSettings: String { JobKeys.planSettings(of: self) }

    /// The keys whose value differs between the plan's recorded settings and this job, with
    /// both values (`recorded` nil: a plan from before settings were recorded — all differ).
    public func changedPlanSettings(recorded: String?) -> [(key: String, planned: String, now: String)] {
        func parse(_ text: String) -> [(String, String)] {
            text.split(separator: "\n").map { line in
                let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
            }
        }
        let then = Dictionary(parse(recorded ?? ""), uniquingKeysWith: { a, _ in a })
        return parse(planSettings).compactMap { key, value in
            let old = then[key] ?? "(not recorded)"
            return old == value ? nil : (key, old, value)
        }
    }

    /// The validation settings the sheet part of the job stands for.
    public func validationOptions() throws -> ValidationOptions {
        var delimiter: UInt8?
        if let d = sheet.delimiter {
            guard let byte = SheetReaderOptions.delimiter(named: d) else {
                throw PhoneShiftError(.badSetting, "\(jobFile): sheet.delimiter must be \(SheetReaderOptions.delimiterWords), not '\(Sanitize.forMessage(d, limit: 40))'")
            }
            delimiter = byte
        }
        var encoding: TextEncoding?
        if let e = sheet.encoding {
            guard let known = TextEncoding(name: e) else {
                throw PhoneShiftError(.badSetting, "\(jobFile): sheet.encoding must be utf-8, utf-16le, utf-16be or windows-1252")
            }
            encoding = known
        }
        var region: String?
        if let r = sheet.defaultRegion {
            guard let code = RegionResolver.region(for: r) else {
                throw PhoneShiftError(.badSetting, "\(jobFile): sheet.defaultRegion '\(r)' is not a country the phone library knows")
            }
            region = code
        }
        return ValidationOptions(columns: ColumnOverrides(user: sheet.userColumn, phone: sheet.phoneColumn, region: sheet.regionColumn),
                                 phoneType: phoneType, defaultRegion: region, strict: strict,
                                 reader: SheetReaderOptions(delimiter: delimiter, encoding: encoding))
    }

    /// Reads the client secret from where the job says, checking a file's mode.
    /// Errors name the variable or file, never the value.
    public func clientSecret(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Secret {
        if let name = tenant.secretEnvironment {
            guard let value = environment[name], !value.isEmpty else {
                throw PhoneShiftError(.badSetting, "the client secret is to come from the environment variable \(name), which is not set")
            }
            // (`name` passed isVariableName when the job was read.)
            return Secret(value)
        }
        guard let file = tenant.secretFile else {
            throw PhoneShiftError(.badSetting, "\(jobFile): the job uses a certificate, not a client secret")
        }
        if access(file, F_OK) != 0 {
            // What stands in the secret's position is not echoed: it may be the secret itself.
            throw PhoneShiftError(.badSetting, "cannot read the client secret file named by tenant.clientSecret.file in \(jobFile): \(String(cString: strerror(errno))) (the name is not shown, in case it is the secret itself)")
        }
        _ = try InputFile.checkSecret(file, what: "client secret file")
        guard let data = FileManager.default.contents(atPath: file),
              let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
            throw PhoneShiftError(.badSetting, "the client secret file '\(file)' is empty or not text")
        }
        return Secret(text)
    }

    /// Graph connection settings with the secret resolved.
    public func graphSettings(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> GraphSettings {
        guard let authority = URL(string: tenant.authority), let graph = URL(string: tenant.graph) else {
            throw PhoneShiftError(.badSetting, "\(jobFile): tenant.authority and tenant.graph must be URLs")
        }
        let credential: ClientCredential
        if let certificate = tenant.certificateFile, let key = tenant.privateKeyFile {
            credential = .certificate(try CertificateCredential.load(certificatePath: certificate, keyPath: key,
                                                                     algorithm: tenant.assertionAlgorithm))
        } else {
            credential = .secret(try clientSecret(environment: environment))
        }
        return try GraphSettings(tenantId: tenant.tenantId, clientId: tenant.clientId, credential: credential,
                                 authority: authority, graphBase: graph, cloud: tenant.cloud)
    }
}

/// A YAML mapping read strictly: unknown keys and wrong types are errors naming the key path and line.
struct YAMLMap {
    let node: Node.Mapping
    let path: String
    let file: String

    init(_ node: Node, path: String, file: String) throws {
        guard case .mapping(let mapping) = node else {
            throw PhoneShiftError(.badSetting, "\(file): \(path.isEmpty ? "the job" : path) (line \((node.mark?.line ?? 0))) must be a mapping of keys to values")
        }
        self.node = mapping
        self.path = path
        self.file = file
    }

    private func key(_ k: String) -> String { path.isEmpty ? k : path + "." + k }

    func line(_ k: String) -> Int {
        node.first { $0.key.string == k }?.key.mark?.line ?? node.mark?.line ?? 0
    }

    /// Refuses any key the registry (`JobKeys`) does not list under this mapping.
    func onlyKnown() throws { try only(JobKeys.children(of: path)) }

    func only(_ allowed: [String]) throws {
        for (k, _) in node {
            let name = k.string ?? "?"
            if !allowed.contains(name) {
                let hint = allowed.first { $0.lowercased() == name.lowercased() || Self.distance($0.lowercased(), name.lowercased()) <= 2 }
                throw PhoneShiftError(.badSetting, "\(file): \(key(name)) (line \(k.mark?.line ?? 0)): unknown key" + (hint.map { " (did you mean '\($0)'?)" } ?? "") + "; known keys here: \(allowed.joined(separator: ", "))")
            }
        }
    }

    private func value(_ k: String) -> Node? { node.first { $0.key.string == k }?.value }

    func map(_ k: String, required: Bool = false) throws -> YAMLMap? {
        guard let v = value(k) else {
            if required { throw PhoneShiftError(.badSetting, "\(file): \(key(k)) is required") }
            return nil
        }
        return try YAMLMap(v, path: key(k), file: file)
    }

    func string(_ k: String, required: Bool = false) throws -> String? {
        guard let v = value(k) else {
            if required { throw PhoneShiftError(.badSetting, "\(file): \(key(k)) is required") }
            return nil
        }
        guard case .scalar(let s) = v else {
            throw PhoneShiftError(.badSetting, "\(file): \(key(k)) (line \(v.mark?.line ?? 0)): expected a single value")
        }
        return s.string
    }

    /// A number within `range` (NaN, infinities and anything outside refused, naming the range).
    func number(_ k: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let text = try string(k) else { return nil }
        guard let d = Double(text), d.isFinite, range.contains(d) else {
            throw PhoneShiftError(.badSetting, "\(file): \(key(k)) (line \(line(k))): expected a number from \(Self.plain(range.lowerBound)) to \(Self.plain(range.upperBound)), got '\(Sanitize.forMessage(text, limit: 40))'")
        }
        return d
    }

    static func plain(_ d: Double) -> String { d == d.rounded() ? String(Int(d)) : String(d) }

    func integer(_ k: String, range: ClosedRange<Int>) throws -> Int? {
        guard let text = try string(k) else { return nil }
        guard let i = Int(text), range.contains(i) else {
            throw PhoneShiftError(.badSetting, "\(file): \(key(k)) (line \(line(k))): expected a whole number from \(range.lowerBound)\(range.upperBound == Int.max ? " up" : " to \(range.upperBound)"), got '\(Sanitize.forMessage(text, limit: 40))'")
        }
        return i
    }

    func has(_ k: String) -> Bool { value(k) != nil }

    /// What turns a valve off (`limit`, `percent`).
    static let offWords: Set<String> = ["off", "none", "false", "no"]

    /// A whole number from 0 up, or `off` / `none` (nil: the valve is off).
    func limit(_ k: String) throws -> Int? {
        guard let text = try string(k) else { return nil }
        if Self.offWords.contains(text.lowercased()) { return nil }
        guard let i = Int(text), i >= 0 else {
            throw PhoneShiftError(.badSetting, "\(file): \(key(k)) (line \(line(k))): expected a whole number from 0 up (or off), got '\(Sanitize.forMessage(text, limit: 40))'")
        }
        return i
    }

    /// A percentage from 0 to 100, or `off` / `none` (nil: the valve is off).
    func percent(_ k: String) throws -> Double? {
        guard let text = try string(k) else { return nil }
        if Self.offWords.contains(text.lowercased()) { return nil }
        guard let d = Double(text.hasSuffix("%") ? String(text.dropLast()) : text), d.isFinite, d >= 0, d <= 100 else {
            throw PhoneShiftError(.badSetting, "\(file): \(key(k)) (line \(line(k))): expected a percentage from 0 to 100 (or off), got '\(Sanitize.forMessage(text))'")
        }
        return d
    }

    func bool(_ k: String) throws -> Bool? {
        guard let text = try string(k) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw PhoneShiftError(.badSetting, "\(file): \(key(k)) (line \(line(k))): expected true or false, got '\(text)'")
        }
    }

    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(1, a.count) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in 1...max(1, b.count) where !b.isEmpty {
                let current = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = current
            }
        }
        return row[b.count]
    }
}
