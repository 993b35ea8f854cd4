/// The verdict on one sheet row.
public enum RowStatus: String, Sendable, Codable, CaseIterable, Comparable {
    case ok, warning, invalid, conflict

    /// Order of severity, also the value kept in the check store.
    var rank: Int {
        switch self {
        case .ok: 0
        case .warning: 1
        case .invalid: 2
        case .conflict: 3
        }
    }

    init(rank: Int) {
        self = [.ok, .warning, .invalid, .conflict][min(max(rank, 0), 3)]
    }

    public static func < (a: RowStatus, b: RowStatus) -> Bool { a.rank < b.rank }
}

/// What validation decided for one row.
public struct RowOutcome: Sendable, Equatable {
    public var line: Int
    /// The user as given (trimmed).
    public var user: String
    /// How Graph will resolve the user; nil when the user was unusable.
    public var userKind: UserKeyKind?
    /// Comparison key of the user (nil when unusable).
    public var userKey: String?
    /// The phone cell as given.
    public var input: String
    /// Graph's form, when the number could be read.
    public var phone: String?
    public var numberKind: NumberKind?
    public var status: RowStatus
    /// Stable codes of every finding, in order.
    public var codes: [String]
    /// Messages for people, in the same order.
    public var reasons: [String]

    public var reason: String { reasons.joined(separator: "; ") }

    mutating func add(_ code: String, _ message: String, status: RowStatus) {
        codes.append(code)
        reasons.append(message)
        if status > self.status { self.status = status }
    }
}
