/// An error that stops a whole command (as opposed to a bad row, which is recorded and
/// the run goes on). Its `description` is written for a person and never holds a secret
/// or a phone number.
public struct PhoneShiftError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, for callers that branch on it.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let unreadableFile = Code("unreadable-file")
        public static let emptySheet = Code("empty-sheet")
        public static let noDataRows = Code("no-data-rows")
        public static let unbalancedQuote = Code("unbalanced-quote")
        public static let fieldTooLarge = Code("field-too-large")
        public static let badHeader = Code("bad-header")
        public static let columnNotFound = Code("column-not-found")
        public static let ambiguousColumn = Code("ambiguous-column")
        public static let badSetting = Code("bad-setting")
        public static let cannotWriteOutput = Code("cannot-write-output")
        public static let store = Code("store")
        /// Another run holds the job's lock (exit 3).
        public static let locked = Code("locked")
        /// This run held the lock and another process has it now (exit 3).
        public static let lockLost = Code("lock-lost")
        /// A setting that shaped the plan differs now; plan again.
        public static let planOutdated = Code("plan-outdated")
        /// The app lacks an application permission the job needs (exit 4).
        public static let permissionMissing = Code("permission-missing")
        /// The job store cannot be written: disk full, read-only, deleted or replaced (exit 7).
        public static let storeUnwritable = Code("store-unwritable")
        /// A safety valve of the job stopped the run before anything was written (exit 5).
        public static let safetyValve = Code("safety-valve")
        /// Graph, the network or the identity platform could not be reached or kept failing
        /// (exit 8): nothing is lost; run the command again later.
        public static let transient = Code("transient")
        /// Apply did its writes, but the outputs folder could not take the reports (exit 7).
        public static let outputsUnwritable = Code("outputs-unwritable")
        /// Change control: the plan lacks a valid approval under policy.requireApproval (exit 9).
        public static let notApproved = Code("not-approved")
        /// The job store's audit trail does not verify: an event was changed, removed or
        /// inserted (exit 10).
        public static let auditBroken = Code("audit-broken")
    }

    public let code: Code
    /// Physical line number in the input, when the problem has one.
    public let line: Int?
    public let message: String

    public init(_ code: Code, line: Int? = nil, _ message: String) {
        self.code = code
        self.line = line
        self.message = message
    }

    public var description: String {
        if let line { return "line \(line): \(message)" }
        return message
    }
}
