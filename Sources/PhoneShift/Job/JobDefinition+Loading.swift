import Foundation
import Yams

/// Reading a job file: YAML parsed strictly, every key checked against the registry
/// (`JobKeys`), every problem named with its key and line.
extension JobDefinition {
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
                          delimiter: try sheetMap.string("delimiter"), encoding: try sheetMap.string("encoding"),
                          worksheet: try sheetMap.string("worksheet"))

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

        // Keys with a reader in the registry (numbers, flags, whole numbers) are read in one
        // pass once the job exists (below); here only what needs more than a type.
        let rateMap = try top.map("rate")
        try rateMap?.onlyKnown()
        var policy = Policy()
        var valves = Valves()
        let policyMap = try top.map("policy")
        if let p = policyMap {
            try p.onlyKnown()
            // policy.maxChanges is kept where earlier job files have it; valves.maxChanges is the same valve.
            valves.maxChanges = try p.limit("maxChanges")
            if let text = try p.string("changedElsewhere") {
                guard let value = ChangedElsewhere(rawValue: text) else {
                    throw PhoneShiftError(.badSetting, "\(path): policy.changedElsewhere (line \(p.line("changedElsewhere"))): '\(Sanitize.forMessage(text))' is not keep or restore")
                }
                policy.changedElsewhere = value
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
            valves.maxRiskyRows = try v.limit("maxRiskyRows")
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
        let riskMap = try top.map("risk")
        try riskMap?.onlyKnown()
        let approvalMap = try top.map("approval")
        try approvalMap?.onlyKnown()
        let reportsMap = try top.map("reports")
        try reportsMap?.onlyKnown()
        let passesMap = try top.map("passes")
        try passesMap?.onlyKnown()
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
        var mode = Mode.setNumbers
        if let text = try top.string("mode") {
            guard let value = Mode(rawValue: text) else {
                throw PhoneShiftError(.badSetting, "\(path): mode (line \(top.line("mode"))): '\(Sanitize.forMessage(text))' is not setNumbers, removePhones or issuePasses")
            }
            mode = value
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
        var job = JobDefinition(
            name: name, jobFile: path, sheet: sheet, phoneType: phoneType, strict: false,
            tenant: tenant, rate: Rate(), policy: policy, valves: valves, delta: delta, keepRuns: nil,
            store: resolve(try top.string("store") ?? outputs + "/\(name).sqlite"), outputs: outputs,
            fullNumbersInReports: false, notify: notify)
        job.mode = mode
        for map in [top, rateMap, policyMap, reportsMap, passesMap, riskMap].compactMap({ $0 }) { try JobKeys.read(map, into: &job) }
        if let signers = try approvalMap?.string("allowedSigners") {
            job.allowedSigners = resolve(signers)
        }
        if job.policy.blankRemovesNumber && job.policy.onlySetWhenEmpty {
            throw PhoneShiftError(.badSetting, "\(path): policy.blankRemovesNumber and policy.onlySetWhenEmpty contradict each other (one removes numbers, the other never touches an existing one); keep one")
        }
        return job
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
