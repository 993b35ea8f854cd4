import Foundation

/// A job file (YAML): what to change, where, how fast, and where the results go.
/// Relative paths are relative to the job file's folder. The model is here; reading a job file
/// is in JobDefinition+Loading.swift, its credential in JobDefinition+Credentials.swift, and
/// the list of keys in JobKeys.swift.
public struct JobDefinition: Sendable {
    public struct Sheet: Sendable {
        public var path: String
        public var userColumn: String?
        public var phoneColumn: String?
        public var regionColumn: String?
        public var defaultRegion: String?
        public var delimiter: String?
        public var encoding: String?
        /// The worksheet of an Excel workbook (nil: the first).
        public var worksheet: String? = nil
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
        /// Tries while Graph keeps answering 429, each after its Retry-After.
        public var maxThrottledAttempts: Int = 30
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
        /// apply and run refuse a plan that a second person has not approved (`approve`).
        public var requireApproval = false
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
        /// More rows with a risk finding (held or warned) than this.
        public var maxRiskyRows: Int?
    }
    /// Delta: rows whose number equals the one PhoneShift last applied or saw cost no
    /// Graph call; every `fullEveryDays` days (and with `--full`) every row is read again.
    public struct Delta: Sendable {
        public var fullEveryDays: Double = 7
    }

    /// What a job does with its sheet's users.
    public enum Mode: String, Sendable, CaseIterable {
        /// Set each user's number of `phoneType` to the sheet's (the default).
        case setNumbers
        /// Remove each user's number of `phoneType`, only where the user has a phishing-resistant
        /// method (passkey or FIDO2 key, Windows Hello for Business, platform credential); the
        /// sheet names users only (readiness.csv will do).
        case removePhones
        /// Issue a Temporary Access Pass to each phone-only user (no admin, no usable pass yet),
        /// so that they can register a passkey; the passes go only into an owner-only file for
        /// the helpdesk. The sheet names users only.
        case issuePasses
    }
    /// `passes:` — the Temporary Access Passes an `issuePasses` job issues.
    public struct Passes: Sendable {
        /// Minutes a pass is good for (the tenant's TAP policy may allow less).
        public var lifetimeMinutes = 480
        /// Good for one sign-in only.
        public var usableOnce = true
    }

    public var name: String
    public var jobFile: String
    public var mode: Mode = .setNumbers
    public var passes = Passes()
    public var sheet: Sheet
    public var phoneType: PhoneType
    public var strict: Bool
    public var tenant: Tenant
    public var rate: Rate
    public var policy: Policy
    public var valves = Valves()
    /// The takeover guard's checks on new numbers (`risk:`).
    public var risk = RiskPolicy()
    /// `approval.allowedSigners`: an ssh allowed-signers file; set, only signed approvals count.
    public var allowedSigners: String?
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
        var options = ValidationOptions(columns: ColumnOverrides(user: sheet.userColumn, phone: sheet.phoneColumn, region: sheet.regionColumn),
                                        phoneType: phoneType, defaultRegion: region, strict: strict,
                                        reader: SheetReaderOptions(delimiter: delimiter, encoding: encoding))
        options.reader.worksheet = sheet.worksheet
        options.usersOnly = mode != .setNumbers
        return options
    }
}
