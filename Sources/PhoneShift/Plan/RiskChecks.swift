import Foundation

/// A sign that a new MFA number may be an attacker's (help-desk social engineering, a
/// poisoned HR export): each is a finding on the row, which the job holds, warns about, or
/// ignores (`risk:` in the job file).
public enum RiskCheck: String, Sendable, CaseIterable, Codable {
    /// The new number is already an MFA number of another user PhoneShift has read in this
    /// tenant (this plan's reads, earlier plans', exports).
    case anotherUsersNumber = "another-users-number"
    /// The same new number for several users in the sheet.
    case sharedNumber = "shared-number"
    /// A number whose type is not a mobile where SMS is expected (VoIP, personal, shared-cost…).
    case numberType = "number-type"
    /// The number's country differs from the user's `usageLocation`.
    case country = "country-mismatch"
    /// Someone else changed the user's MFA methods recently (Entra audit log, or what
    /// PhoneShift saw before).
    case recentChange = "recent-change"
    /// Entra ID Protection has the user at risk.
    case riskyUser = "risky-user"

    /// The job key that sets what this check does.
    public var key: String {
        switch self {
        case .anotherUsersNumber: "risk.anotherUsersNumber"
        case .sharedNumber: "risk.sharedNumber"
        case .numberType: "risk.numberType"
        case .country: "risk.country"
        case .recentChange: "risk.recentChange"
        case .riskyUser: "risk.riskyUser"
        }
    }
}

/// What the job does with a finding.
public enum RiskAction: String, Sendable, CaseIterable {
    /// The row is `blocked` (listed with its reason); nothing is written for it.
    case hold
    /// The row goes ahead; the finding is in its reason, the plan and the reports.
    case warn
    /// The check is not made.
    case off
}

/// `risk:` in the job file. Defaults: the two checks that point at one attacker number on
/// many accounts hold; the others warn.
public struct RiskPolicy: Sendable, Equatable {
    public var anotherUsersNumber = RiskAction.hold
    public var sharedNumber = RiskAction.hold
    public var numberType = RiskAction.warn
    public var country = RiskAction.warn
    public var recentChange = RiskAction.warn
    /// How far back `recentChange` looks.
    public var recentChangeDays = 7
    public var riskyUser = RiskAction.warn

    public init() {}

    public func action(_ check: RiskCheck) -> RiskAction {
        switch check {
        case .anotherUsersNumber: anotherUsersNumber
        case .sharedNumber: sharedNumber
        case .numberType: numberType
        case .country: country
        case .recentChange: recentChange
        case .riskyUser: riskyUser
        }
    }
}

/// One finding on a row, with its reason for people.
public struct RiskFinding: Sendable, Equatable {
    public var check: RiskCheck
    public var reason: String
}

/// A change of a user's MFA methods that the Entra audit log records (directoryAudit).
public struct AuditedMethodChange: Sendable, Equatable {
    public var time: String
    public var activity: String
    /// Who did it, as the audit log names them (a UPN, or an app's name).
    public var by: String
}

/// Entra ID Protection's view of a user (riskyUser).
public struct RiskyUserState: Sendable, Equatable {
    public var level: String
    public var state: String
}

/// What the takeover guard knows about the tenant while planning (read once per plan).
public struct RiskContext: Sendable {
    public var policy = RiskPolicy()
    /// Audited changes to users' methods in the window, by user id (lowercased), made by
    /// anyone but this app. Nil: the audit log was not read (the note says why).
    public var auditedChanges: [String: [AuditedMethodChange]]?
    /// Users at risk, by user id (lowercased). Nil: not read.
    public var riskyUsers: [String: RiskyUserState]?

    public init(policy: RiskPolicy = RiskPolicy(), auditedChanges: [String: [AuditedMethodChange]]? = nil, riskyUsers: [String: RiskyUserState]? = nil) {
        self.policy = policy
        self.auditedChanges = auditedChanges
        self.riskyUsers = riskyUsers
    }
}

/// The takeover guard's decisions: pure functions of a row and what was read, so that every
/// case is a table test. The checks across rows (one number on several users, another
/// user's number) are made by the store once every row is read (`JobStore.markRisks`).
public enum RiskChecks {
    /// The error code of a row the takeover guard held (the store counts held rows by it).
    public static let holdCode = "risk-hold"

    /// The findings on one row whose user was read: the new number's type and country, the
    /// user's recent changes by others and their risk state. Rows that write no new number
    /// (removals) get the user checks only.
    public static func findings(for row: PlanRow, usageLocation: String?, context: RiskContext,
                                normalizer: PhoneNormalizer = PhoneNormalizer()) -> [RiskFinding] {
        var found: [RiskFinding] = []
        let policy = context.policy
        if let target = row.target, row.action == .update || row.action == .add {
            let parsed = normalizer.normalize(target, region: nil).phone
            if policy.numberType != .off, let phone = parsed, let reason = numberTypeReason(phone.kind, phoneType: row.phoneType) {
                found.append(RiskFinding(check: .numberType, reason: reason))
            }
            if policy.country != .off, let phone = parsed, let location = usageLocation?.uppercased(), location.count == 2 {
                let region = phone.region
                if region != "ZZ", region != location, !sameNumberingArea(region, location, countryCode: phone.countryCode) {
                    found.append(RiskFinding(check: .country, reason: "the new number is from \(region), the user's usage location is \(location)"))
                }
            }
        }
        if policy.recentChange != .off, let userId = row.userId?.lowercased(), let changes = context.auditedChanges?[userId], let last = changes.max(by: { $0.time < $1.time }) {
            let more = changes.count > 1 ? " (and \(changes.count - 1) more)" : ""
            found.append(RiskFinding(check: .recentChange,
                                     reason: "the user's MFA methods were changed by \(Sanitize.forMessage(last.by, limit: 120)) on \(last.time) (\(Sanitize.forMessage(last.activity, limit: 60)))\(more), within \(policy.recentChangeDays) days"))
        }
        if policy.riskyUser != .off, let userId = row.userId?.lowercased(), let risky = context.riskyUsers?[userId] {
            found.append(RiskFinding(check: .riskyUser, reason: "Entra ID Protection has the user \(risky.state) (risk level \(risky.level))"))
        }
        return found
    }

    /// The reason a number of `kind` is a risk in a `phoneType` slot, or nil. Premium-rate,
    /// pager and voicemail numbers never get here: validation refuses them.
    static func numberTypeReason(_ kind: NumberKind, phoneType: PhoneType) -> String? {
        switch kind {
        case .voip: "a VoIP number (anyone can rent one online, in minutes)"
        case .personal: "a personal (forwarding) number: it can be redirected anywhere"
        case .sharedCost, .uan, .tollFree: "a \(kind.rawValue) number: not a person's own phone"
        case .fixedLine where phoneType == .mobile: "a fixed-line number where a mobile is expected"
        default: nil
        }
    }

    /// Regions that share a numbering plan with their neighbour closely enough that a number
    /// of one is ordinary for a user of the other (the NANP's US and its territories; the
    /// UK's Crown Dependencies).
    static func sameNumberingArea(_ a: String, _ b: String, countryCode: Int) -> Bool {
        let groups: [Set<String>] = [["US", "PR", "VI", "GU", "AS", "MP", "UM"], ["GB", "GG", "JE", "IM"]]
        return groups.contains { $0.contains(a) && $0.contains(b) }
    }

    /// The row after its findings: held (`blocked`, the reasons given) when any finding's
    /// check holds, else the warnings added to its reason. The findings are kept on the row.
    public static func apply(_ findings: [RiskFinding], to row: PlanRow, policy: RiskPolicy) -> PlanRow {
        guard !findings.isEmpty else { return row }
        var out = row
        out.risks.formUnion(findings.map(\.check))
        let held = findings.filter { policy.action($0.check) == .hold }
        if !held.isEmpty, row.action.writes {
            let text = held.map { "\($0.reason) [\($0.check.key): hold]" }.joined(separator: "; ")
            let rest = findings.filter { policy.action($0.check) != .hold }.map(\.reason)
            var settled = out.settled(.blocked, "held by the takeover guard: " + text + (rest.isEmpty ? "" : "; also: " + rest.joined(separator: "; ")),
                                      errorCode: holdCode)
            settled.risks = out.risks
            return settled
        }
        let warned = findings.filter { policy.action($0.check) == .warn }.map { "risk: \($0.reason)" }
        if !warned.isEmpty {
            out.reason = ([out.reason].filter { !$0.isEmpty } + warned).joined(separator: "; ")
        }
        return out
    }
}
