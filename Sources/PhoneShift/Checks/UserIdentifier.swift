/// A user as a sheet names them, checked for the form Graph accepts.
public struct UserIdentifier: Sendable, Equatable, Hashable {
    /// How Graph will resolve it (never `.automatic`).
    public var kind: UserKeyKind
    /// The value as given, trimmed.
    public var value: String
    /// The form used to compare users within a sheet (UPNs, mail and GUIDs are case-insensitive).
    public var key: String { kind == .employeeId ? "e:" + value : "u:" + value.lowercased() }

    /// Graph's limit on `employeeId`.
    static let maxEmployeeIdLength = 16

    /// Checks `text` from a column of the given kind. Returns the identifier or a reason
    /// (for a person, without the value) why it cannot be one.
    public static func parse(_ text: String, declared: UserKeyKind) -> Result<UserIdentifier, RowFinding> {
        let value = PhoneNormalizer.clean(text)
        if value.isEmpty { return .failure(RowFinding(.emptyUser, "no user given")) }
        if value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            return .failure(RowFinding(.malformedUser, "the user holds control characters (line breaks, tabs)"))
        }
        if isGUID(value), declared != .employeeId {
            return .success(UserIdentifier(kind: .objectId, value: value))
        }
        switch declared {
        case .objectId:
            if value.contains("@"), let problem = addressProblem(value) {
                return .failure(RowFinding(.malformedUser, problem))
            } else if value.contains("@") {
                return .success(UserIdentifier(kind: .userPrincipalName, value: value))
            }
            return .failure(RowFinding(.malformedUser, "not an object id (expected a GUID such as 0f8fad5b-d9cb-469f-a165-70867728950e)"))
        case .employeeId:
            if value.count > maxEmployeeIdLength {
                return .failure(RowFinding(.malformedUser, "an employee id longer than Graph's \(maxEmployeeIdLength) characters"))
            }
            return .success(UserIdentifier(kind: .employeeId, value: value))
        case .userPrincipalName, .mail:
            if let problem = addressProblem(value) { return .failure(RowFinding(.malformedUser, problem)) }
            return .success(UserIdentifier(kind: declared, value: value))
        case .automatic:
            if value.contains("@") {
                if let problem = addressProblem(value) { return .failure(RowFinding(.malformedUser, problem)) }
                return .success(UserIdentifier(kind: .userPrincipalName, value: value))
            }
            if value.count > maxEmployeeIdLength {
                return .failure(RowFinding(.malformedUser, "neither a user principal name, an object id nor an employee id"))
            }
            return .success(UserIdentifier(kind: .employeeId, value: value))
        }
    }

    /// `8-4-4-4-12` hex digits, optionally in braces.
    static func isGUID(_ text: String) -> Bool {
        var s = Substring(text)
        if s.hasPrefix("{") && s.hasSuffix("}") { s = s.dropFirst().dropLast() }
        let groups = s.split(separator: "-", omittingEmptySubsequences: false)
        guard groups.map(\.count) == [8, 4, 4, 4, 12] else { return false }
        return groups.allSatisfy { $0.allSatisfy(\.isHexDigit) }
    }

    /// Why `text` is not a user principal name / e-mail address, or nil when it is one.
    /// Guest UPNs (`ann_contoso.com#EXT#@fabrikam.onmicrosoft.com`) are accepted.
    static func addressProblem(_ text: String) -> String? {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            return parts.count < 2
                ? "not a user principal name or e-mail address (no @)"
                : "not a user principal name or e-mail address (more than one @)"
        }
        let local = parts[0], domain = parts[1]
        if local.isEmpty { return "nothing before the @" }
        if text.count > 256 { return "longer than a user principal name can be" }
        let forbidden: Set<Character> = [" ", "\"", "(", ")", ",", ":", ";", "<", ">", "[", "]", "\\"]
        if local.contains(where: { forbidden.contains($0) }) || local.hasPrefix(".") || local.hasSuffix(".") || local.contains("..") {
            return "the part before the @ holds characters a user principal name cannot have"
        }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return "the domain after the @ has no dot" }
        for label in labels {
            if label.isEmpty || label.hasPrefix("-") || label.hasSuffix("-")
                || !label.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) {
                return "the domain after the @ is not a valid domain name"
            }
        }
        return nil
    }
}

/// A finding about a row, with a stable code (reports count by it) and a message for people.
public struct RowFinding: Sendable, Equatable, Error {
    public enum Code: String, Sendable, CaseIterable {
        case emptyUser = "empty-user"
        case malformedUser = "malformed-user"
        case unreadableRow = "unreadable-row"
        case missingFields = "missing-fields"
        case extraFields = "extra-fields"
        case userConflict = "user-conflict"
        case duplicateRow = "duplicate-row"
        case sharedNumber = "shared-number"
    }
    public var code: Code
    public var message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
