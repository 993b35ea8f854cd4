import Foundation

/// One key a job file may have.
public struct JobKey: Sendable {
    /// Where it is (`policy.onlySetWhenEmpty`).
    public let path: String
    /// What it takes, as the README says it.
    public let type: String
    /// Its value when left out.
    public let defaultValue: String
    /// One line for the README's table.
    public let doc: String
    /// The key's value in a loaded job, for keys that shape a plan: a plan records them, and
    /// apply refuses a plan whose job changed any of them since (`planSettings`).
    let planValue: (@Sendable (JobDefinition) -> String)?
    public var shapesPlan: Bool { planValue != nil }
    /// How the loader reads a key that sets one field (its type, range and field). Keys
    /// without one need more than a type (paths, addresses, secrets, one of two words, two
    /// keys that must agree) and are read by `JobDefinition.load`'s own code.
    let reader: KeyReader?

    /// The mapping the key is in ("" for the top) and its name there.
    var parent: String { path.split(separator: ".").dropLast().joined(separator: ".") }
    var leaf: String { String(path.split(separator: ".").last ?? "") }

    init(_ path: String, _ type: String, _ defaultValue: String, _ doc: String, read: KeyReader? = nil,
         plan: (@Sendable (JobDefinition) -> String)? = nil) {
        self.path = path
        self.type = type
        self.defaultValue = defaultValue
        self.doc = doc
        self.reader = read
        self.planValue = plan
    }
}

/// Reads one key into one field of a job: the type and range it takes, the field it sets.
/// Adding such a key is one line in `JobKeys.all` (and the field it sets in the model).
struct KeyReader: Sendable {
    let read: @Sendable (YAMLMap, String, inout JobDefinition) throws -> Void
    /// The field's value in a job, as the default column says it (nil: none set); a test holds
    /// every reader key's default in the registry to the model's.
    let current: @Sendable (JobDefinition) -> String?

    static func number(_ field: WritableKeyPath<JobDefinition, Double> & Sendable, in range: ClosedRange<Double>) -> KeyReader {
        KeyReader(read: { map, key, job in if let value = try map.number(key, in: range) { job[keyPath: field] = value } },
                  current: { YAMLMap.plain($0[keyPath: field]) })
    }

    static func optionalNumber(_ field: WritableKeyPath<JobDefinition, Double?> & Sendable, in range: ClosedRange<Double>) -> KeyReader {
        KeyReader(read: { map, key, job in if let value = try map.number(key, in: range) { job[keyPath: field] = value } },
                  current: { $0[keyPath: field].map(YAMLMap.plain) })
    }

    static func integer(_ field: WritableKeyPath<JobDefinition, Int> & Sendable, in range: ClosedRange<Int>) -> KeyReader {
        KeyReader(read: { map, key, job in if let value = try map.integer(key, range: range) { job[keyPath: field] = value } },
                  current: { String($0[keyPath: field]) })
    }

    static func optionalInteger(_ field: WritableKeyPath<JobDefinition, Int?> & Sendable, in range: ClosedRange<Int>) -> KeyReader {
        KeyReader(read: { map, key, job in if let value = try map.integer(key, range: range) { job[keyPath: field] = value } },
                  current: { $0[keyPath: field].map(String.init) })
    }

    /// One of a few words (`hold`, `warn`, `off`): anything else is refused, naming them.
    static func choice<T: RawRepresentable<String> & CaseIterable & Sendable>(_ field: WritableKeyPath<JobDefinition, T> & Sendable) -> KeyReader {
        KeyReader(read: { map, key, job in
            guard let text = try map.string(key) else { return }
            guard let value = T(rawValue: text) else {
                let words = T.allCases.map(\.rawValue).joined(separator: ", ")
                throw PhoneShiftError(.badSetting, "\(map.file): \(map.path).\(key) (line \(map.line(key))): '\(Sanitize.forMessage(text, limit: 40))' is not one of \(words)")
            }
            job[keyPath: field] = value
        }, current: { $0[keyPath: field].rawValue })
    }

    static func flag(_ field: WritableKeyPath<JobDefinition, Bool> & Sendable) -> KeyReader {
        KeyReader(read: { map, key, job in if let value = try map.bool(key) { job[keyPath: field] = value } },
                  current: { String($0[keyPath: field]) })
    }
}

/// Every key of a job file, in one place: the loader accepts only these (an unknown key is an
/// error naming it, with the known keys beside it), the plan records the ones that shape it,
/// and a test holds the README's table of keys to this list.
public enum JobKeys {
    public static let all: [JobKey] = [
        JobKey("name", "text", "the job file's name", "Names the job store and the outputs folder (letters, digits, spaces, . - _)."),
        JobKey("sheet.path", "path", "(required)", "The change sheet (CSV), relative to the job file.", plan: { $0.sheet.path }),
        JobKey("sheet.userColumn", "header or number", "detected", "The column naming the user (UPN, object id, e-mail or employee id).", plan: { $0.sheet.userColumn ?? "" }),
        JobKey("sheet.phoneColumn", "header or number", "detected", "The column with the new number.", plan: { $0.sheet.phoneColumn ?? "" }),
        JobKey("sheet.regionColumn", "header or number", "detected", "A column with each row's country, for national numbers.", plan: { $0.sheet.regionColumn ?? "" }),
        JobKey("sheet.defaultRegion", "country code", "none", "The country of national numbers on rows without one (US, GB, DE, …).", plan: { $0.sheet.defaultRegion ?? "" }),
        JobKey("sheet.delimiter", "comma, semicolon, tab or pipe", "detected", "The sheet's delimiter.", plan: { $0.sheet.delimiter ?? "" }),
        JobKey("sheet.worksheet", "worksheet name", "the first", "An Excel workbook's worksheet to read (a .xlsx sheet).", plan: { $0.sheet.worksheet ?? "" }),
        JobKey("sheet.encoding", "utf-8, windows-1252, utf-16", "detected (UTF-8, or UTF-16 by its BOM)", "The sheet's text encoding.", plan: { $0.sheet.encoding ?? "" }),
        JobKey("mode", "setNumbers, removePhones, issuePasses", "setNumbers", "Set the sheet's numbers; remove users' phoneType numbers where they have a phishing-resistant method; or issue Temporary Access Passes to phone-only users.",
               plan: { $0.mode.rawValue }),
        JobKey("phoneType", "mobile, alternateMobile, office", "mobile", "The phone method the job changes.", plan: { $0.phoneType.rawValue }),
        JobKey("strict", "true/false", "false", "Numbers libphonenumber only calls possible are errors, not warnings.", read: .flag(\.strict), plan: { String($0.strict) }),
        JobKey("tenant.tenantId", "GUID or domain", "(required)", "The Entra ID tenant.", plan: { $0.tenant.tenantId }),
        JobKey("tenant.clientId", "GUID", "(required)", "The app registration's application (client) id."),
        JobKey("tenant.clientSecret.env", "variable name", "—", "The environment variable holding the client secret (never the secret itself)."),
        JobKey("tenant.clientSecret.file", "path", "—", "An owner-only file holding the client secret."),
        JobKey("tenant.clientCertificate.certificate", "PEM file", "—", "The app's certificate (instead of a secret)."),
        JobKey("tenant.clientCertificate.privateKey", "PEM file", "—", "Its private key, owner-only."),
        JobKey("tenant.clientCertificate.algorithm", "PS256, RS256", "PS256", "The client assertion's signature."),
        JobKey("tenant.authority", "URL", "the cloud's", "The token endpoint's host (set by tenant.cloud)."),
        JobKey("tenant.graph", "URL", "the cloud's", "Microsoft Graph's base URL (set by tenant.cloud).", plan: { $0.tenant.graph }),
        JobKey("tenant.cloud", "global, usgov, usgovdod, china", "global", "The national cloud.", plan: { $0.tenant.cloud.rawValue }),
        JobKey("tenant.proxy", "URL or none", "HTTPS_PROXY", "An HTTP proxy for every call (no password in the URL)."),
        JobKey("rate.writesPerSecond", "0.1–10000", "found from Graph's answers", "A ceiling on writes per second (leave out to use the quota Graph allows).",
               read: .optionalNumber(\.rate.writesPerSecond, in: JobDefinition.Rate.requestsPerSecondRange)),
        JobKey("rate.readsPerSecond", "0.1–10000", "150", "Reads per second.", read: .number(\.rate.readsPerSecond, in: JobDefinition.Rate.requestsPerSecondRange)),
        JobKey("rate.burst", "1–10000", "10", "Requests that may go at once after a pause.", read: .number(\.rate.burst, in: 1...10_000)),
        JobKey("rate.concurrency", "1–256", "64", "The most requests in flight per lane (in flight follows latency below it).",
               read: .integer(\.rate.concurrency, in: 1...256)),
        JobKey("rate.maxAttempts", "1–100", "6", "Tries for a 5xx or a network error (first try included).", read: .integer(\.rate.maxAttempts, in: 1...100)),
        JobKey("rate.maxThrottledAttempts", "1–1000", "30", "Tries while Graph keeps answering 429 (each waits its Retry-After).",
               read: .integer(\.rate.maxThrottledAttempts, in: 1...1_000)),
        JobKey("rate.connectTimeoutSeconds", "0.5–600", "10", "Seconds to connect.", read: .number(\.rate.connectTimeoutSeconds, in: 0.5...600)),
        JobKey("rate.requestTimeoutSeconds", "1–3600", "60", "Seconds for a whole request.", read: .number(\.rate.requestTimeoutSeconds, in: 1...3_600)),
        JobKey("policy.allowPrivileged", "true/false", "false", "Change accounts that hold a directory role (admins).",
               read: .flag(\.policy.allowPrivileged), plan: { String($0.policy.allowPrivileged) }),
        JobKey("policy.maxChanges", "whole number or off", "off", "Older name of valves.maxChanges."),
        JobKey("policy.verifyBeforeWrite", "true/false", "true", "Re-read each number right before writing it; a moved one is not overwritten.",
               read: .flag(\.policy.verifyBeforeWrite)),
        JobKey("policy.blankRemovesNumber", "true/false", "false", "A blank cell removes the user's number.", read: .flag(\.policy.blankRemovesNumber), plan: { String($0.policy.blankRemovesNumber) }),
        JobKey("policy.onlySetWhenEmpty", "true/false", "false", "Only give numbers to users who have none of the type.",
               read: .flag(\.policy.onlySetWhenEmpty), plan: { String($0.policy.onlySetWhenEmpty) }),
        JobKey("policy.requireBackupMethod", "true/false", "false", "Hold back users whose only MFA methods are phones.",
               read: .flag(\.policy.requireBackupMethod), plan: { String($0.policy.requireBackupMethod) }),
        JobKey("policy.changedElsewhere", "keep, restore", "keep", "Delta: a number changed outside PhoneShift while the sheet kept the old one.",
               plan: { $0.policy.changedElsewhere.rawValue }),
        JobKey("policy.verifyAfterApply", "true/false", "false", "After every apply, re-read what it changed (as verify does).",
               read: .flag(\.policy.verifyAfterApply)),
        JobKey("policy.requireApproval", "true/false", "false", "apply and run refuse a plan without a second person's approval (phoneshift approve).",
               read: .flag(\.policy.requireApproval)),
        JobKey("approval.allowedSigners", "path", "none", "An ssh allowed-signers file: approvals must then be signed by a key in it (ssh-keygen -Y sign)."),
        JobKey("risk.anotherUsersNumber", "hold, warn, off", "hold", "A new number that is already another user's MFA number (read in this tenant).",
               read: .choice(\.risk.anotherUsersNumber), plan: { $0.risk.anotherUsersNumber.rawValue }),
        JobKey("risk.sharedNumber", "hold, warn, off", "hold", "The same new number for several users in the sheet.",
               read: .choice(\.risk.sharedNumber), plan: { $0.risk.sharedNumber.rawValue }),
        JobKey("risk.numberType", "hold, warn, off", "warn", "A new number that is VoIP, personal, shared-cost, toll-free, UAN, or fixed-line for mobile.",
               read: .choice(\.risk.numberType), plan: { $0.risk.numberType.rawValue }),
        JobKey("risk.country", "hold, warn, off", "warn", "The new number's country differs from the user's usageLocation.",
               read: .choice(\.risk.country), plan: { $0.risk.country.rawValue }),
        JobKey("risk.recentChange", "hold, warn, off", "warn", "Someone else changed the user's MFA methods within risk.recentChangeDays.",
               read: .choice(\.risk.recentChange), plan: { $0.risk.recentChange.rawValue }),
        JobKey("risk.recentChangeDays", "1–90", "7", "How far back risk.recentChange looks.",
               read: .integer(\.risk.recentChangeDays, in: 1...90), plan: { String($0.risk.recentChangeDays) }),
        JobKey("risk.riskyUser", "hold, warn, off", "warn", "Entra ID Protection flags the user at risk (needs IdentityRiskyUser.Read.All).",
               read: .choice(\.risk.riskyUser), plan: { $0.risk.riskyUser.rawValue }),
        JobKey("valves.maxChanges", "whole number or off", "off", "Refuse a plan with more changes."),
        JobKey("valves.maxChangePercent", "0–100 or off", "off", "Refuse a plan changing more than this share of its rows."),
        JobKey("valves.maxShrinkPercent", "0–100 or off", "25 for delta jobs, else off", "Refuse a sheet this much shorter than at the last good run."),
        JobKey("valves.maxBlankOrInvalidPercent", "0–100 or off", "50", "Refuse a sheet with this share of blank or invalid numbers."),
        JobKey("valves.maxRiskyRows", "whole number or off", "off", "Refuse a plan with more rows the risk checks found something on (held or warned)."),
        JobKey("delta", "true or a mapping", "off", "Nightly imports: rows unchanged since the last run cost no Graph call."),
        JobKey("delta.fullEveryDays", "0–3650", "7", "Read every row again after this many days (0: every run)."),
        JobKey("passes.lifetimeMinutes", "10–43200", "480", "issuePasses: minutes a Temporary Access Pass is good for.",
               read: .integer(\.passes.lifetimeMinutes, in: 10...43_200), plan: { String($0.passes.lifetimeMinutes) }),
        JobKey("passes.usableOnce", "true/false", "true", "issuePasses: a pass is good for one sign-in.",
               read: .flag(\.passes.usableOnce), plan: { String($0.passes.usableOnce) }),
        JobKey("keepRuns", "1–100000", "all", "Keep the newest N plans with their runs and drafts.", read: .optionalInteger(\.keepRuns, in: 1...100_000)),
        JobKey("store", "path", "OUTPUTS/NAME.sqlite", "The job store (SQLite), owner-only."),
        JobKey("outputs", "path", "out/NAME", "Reports, failures.csv and drafts."),
        JobKey("reports.fullNumbers", "true/false", "false", "Full numbers in the reports (masked by default).", read: .flag(\.fullNumbersInReports)),
        JobKey("notify.from", "address", "(required in notify)", "The drafts' sender, such as IT Helpdesk <helpdesk@contoso.com>."),
        JobKey("notify.replyTo", "address", "none", "Where replies go."),
        JobKey("notify.helpdeskTo", "address", "notify.from", "Where the helpdesk summary is addressed."),
        JobKey("notify.helpdesk", "text", "(required in notify)", "How users reach the helpdesk, as the letter says it."),
        JobKey("notify.organization", "text", "none", "The organisation's name in the letters."),
        JobKey("notify.templates", "folder", "the built-in ones", "Templates that replace the defaults (copies in Jobs/templates)."),
        JobKey("notify.afterApply", "true/false", "false", "Write the drafts after every apply."),
    ]

    /// The keys allowed directly under `map` ("" for the top), in the registry's order.
    static func children(of map: String) -> [String] {
        var seen: [String] = []
        for key in all {
            let rest: Substring
            if map.isEmpty {
                rest = Substring(key.path)
            } else {
                guard key.path.hasPrefix(map + ".") else { continue }
                rest = key.path.dropFirst(map.count + 1)
            }
            let name = String(rest.split(separator: ".").first ?? "")
            if !name.isEmpty && !seen.contains(name) { seen.append(name) }
        }
        return seen
    }

    /// Sets every field of `job` whose key has a reader and is in `map`.
    static func read(_ map: YAMLMap, into job: inout JobDefinition) throws {
        for key in all where key.parent == map.path && map.has(key.leaf) {
            try key.reader?.read(map, key.leaf, &job)
        }
    }

    /// The plan-shaping keys with their values in `job`, one `key=value` per line.
    static func planSettings(of job: JobDefinition) -> String {
        all.compactMap { key in key.planValue.map { "\(key.path)=\($0(job).replacingOccurrences(of: "\n", with: " "))" } }
            .joined(separator: "\n")
    }
}
