import Foundation

/// What the plan decided for a row.
public enum PlanAction: String, Sendable, Codable, CaseIterable {
    case update, add, unchanged
    case userNotFound = "user-not-found"
    case blocked, invalid, skipped
    /// Two rows name the same user (perhaps in two ways) for the same phone type with
    /// different numbers: neither is written.
    case conflict
    /// While planning: the user and their numbers are still to be read from Graph.
    case toRead = "to-read"
    /// Rollback: delete the method a run added.
    case remove
    /// `mode: issuePasses`: issue the user a Temporary Access Pass.
    case issuePass = "issue-pass"

    /// Actions that write to Graph.
    public var writes: Bool { self == .update || self == .add || self == .remove || self == .issuePass }
}

/// Where a row is in its life.
public enum RowState: String, Sendable, Codable {
    /// Still to do.
    case pending
    /// A write may have been sent; its outcome is unknown until it is re-read.
    case inFlight = "in-flight"
    /// Finished, one way or another (see the outcome).
    case done
    case failed
}

/// A finding on a row that code acts on (the reason beside it is for people, never parsed).
public enum RowFlag: String, Sendable, CaseIterable {
    /// Phones are the user's only MFA methods (Authenticator, FIDO2 and the like were read
    /// and none found): the helpdesk summary lists these users.
    case phonesOnly = "phones-only"
}

/// One row of a plan, and what became of it.
public struct PlanRow: Sendable, Equatable {
    public var line: Int
    public var user: String
    /// How the sheet names the user (for resolving it while planning).
    public var userKind: UserKeyKind?
    public var userId: String?
    public var userPrincipalName: String?
    public var displayName: String?
    public var mail: String?
    public var phoneType: PhoneType
    public var before: String?
    public var target: String?
    public var action: PlanAction
    public var reason: String
    public var state: RowState
    public var outcome: Outcome?
    public var attempts: Int
    public var errorCode: String?
    public var errorMessage: String?
    public var requestId: String?
    public var clientRequestId: String?
    public var updated: String?
    /// The run that last changed the row (nil before any apply).
    public var runId: Int?
    /// The mobile method's `smsSignInState` at plan time (nil: not read or not a mobile job).
    public var smsSignIn: String?
    /// Delta: the row was settled from the number PhoneShift last applied or saw at this
    /// time, without reading Graph.
    public var knownAt: String?
    /// Delta, while planning: what the store knew of this user's number before this plan.
    public var known: KnownNumber?
    /// Typed findings (stored with the row).
    public var flags: Set<RowFlag> = []
    /// What the takeover guard found (stored with the row; held rows are `blocked`).
    public var risks: Set<RiskCheck> = []
    /// While planning: the user's `usageLocation` as Graph has it (not stored).
    public var usageLocation: String?

    /// What became of a row: written (and how), found so, held back, failed. Stored and
    /// reported by its raw value; the store refuses a value this version does not know.
    public enum Outcome: String, Sendable, CaseIterable, Codable {
        case changed, added, removed
        /// A Temporary Access Pass was issued; the pass is in the helpdesk's passes file only.
        case issued
        /// Found written when its outcome was unknown (a crash, a lost answer): read back.
        case alreadyApplied = "already-applied"
        /// Written, but the number is also another user's (Graph's phoneNumberNotUnique).
        case changedNotUnique = "changed-not-unique"
        case unchanged
        /// Someone changed the number since the plan: not overwritten.
        case moved
        /// Rollback: the number changed since the run being rolled back.
        case drifted
        case failed
        /// Failed on 429 after every try.
        case throttled
        case blocked
        case userNotFound = "user-not-found"
        /// Delta: the number was changed outside PhoneShift, and the job keeps it.
        case changedElsewhere = "changed-elsewhere"
        /// The job keeps the user's own number (policy.onlySetWhenEmpty).
        case kept
        case skipped, invalid, conflict

        /// The outcomes that wrote to Graph (or found the write made).
        public var written: Bool {
            switch self {
            case .changed, .added, .removed, .alreadyApplied, .changedNotUnique, .issued: true
            default: false
            }
        }

        /// The outcome of a row settled at plan time with `action` (nothing to write).
        init(settled action: PlanAction) {
            switch action {
            case .unchanged: self = .unchanged
            case .userNotFound: self = .userNotFound
            case .blocked: self = .blocked
            case .invalid: self = .invalid
            case .conflict: self = .conflict
            case .skipped, .update, .add, .toRead, .remove, .issuePass: self = .skipped
            }
        }
    }

    /// A user in this state who gets a new mobile number gets it as their SMS sign-in
    /// number too (Graph registers it when the policy enables them).
    public static func smsSignInFollows(_ state: String?) -> Bool {
        state.map(smsSignInFollowingStates.contains) ?? false
    }
    /// `notConfigured`: enabled by policy, needing further action (GRAPH.md) — Graph still
    /// tries to register a new mobile for it.
    static let smsSignInFollowingStates = ["ready", "phoneNumberNotUnique", "notEnabled", "notConfigured"]

    public init(line: Int, user: String, userId: String? = nil, userPrincipalName: String? = nil, displayName: String? = nil,
                mail: String? = nil, phoneType: PhoneType, before: String? = nil, target: String?, action: PlanAction,
                reason: String = "", state: RowState = .pending, outcome: Outcome? = nil, attempts: Int = 0) {
        self.line = line
        self.user = user
        self.userId = userId
        self.userPrincipalName = userPrincipalName
        self.displayName = displayName
        self.mail = mail
        self.phoneType = phoneType
        self.before = before
        self.target = target
        self.action = action
        self.reason = reason
        self.state = state
        self.outcome = outcome
        self.attempts = attempts
    }
}

/// A change to one row's state, written in batches by the store's owner.
public struct RowUpdate: Sendable {
    public var line: Int
    public var state: RowState
    public var outcome: PlanRow.Outcome?
    public var attempts: Int
    public var errorCode: String?
    public var errorMessage: String?
    public var requestId: String?
    public var clientRequestId: String?
    public var reason: String?

    public init(line: Int, state: RowState, outcome: PlanRow.Outcome? = nil, attempts: Int = 0, errorCode: String? = nil,
                errorMessage: String? = nil, requestId: String? = nil, clientRequestId: String? = nil, reason: String? = nil) {
        self.line = line
        self.state = state
        self.outcome = outcome
        self.attempts = attempts
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.requestId = requestId
        self.clientRequestId = clientRequestId
        self.reason = reason
    }
}

