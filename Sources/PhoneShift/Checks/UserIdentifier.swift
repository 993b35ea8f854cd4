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
        if value.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F })
            || (!value.utf8.allSatisfy { $0 < 0x80 } && value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })) {
            return .failure(RowFinding(.malformedUser, "the user holds control characters (line breaks, tabs)"))
        }
        if isGUID(value), declared != .employeeId {
            // Graph takes no braces around an id: `{…}` (as some exports write GUIDs) is stripped.
            let bare = value.hasPrefix("{") ? String(value.dropFirst().dropLast()) : value
            return .success(UserIdentifier(kind: .objectId, value: bare))
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
        var bytes = Array(text.utf8)
        if bytes.count == 38, bytes.first == UInt8(ascii: "{"), bytes.last == UInt8(ascii: "}") {
            bytes = Array(bytes[1..<37])
        }
        guard bytes.count == 36 else { return false }
        for (i, b) in bytes.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                if b != UInt8(ascii: "-") { return false }
            } else if !(b >= 0x30 && b <= 0x39 || (b | 0x20) >= 0x61 && (b | 0x20) <= 0x66) {
                return false
            }
        }
        return true
    }

    /// Why `text` is not a user principal name / e-mail address, or nil when it is one.
    /// Guest UPNs (`ann_contoso.com#EXT#@fabrikam.onmicrosoft.com`) are accepted.
    static func addressProblem(_ text: String) -> String? {
        let bytes = text.utf8
        let ats = bytes.reduce(0) { $0 + ($1 == UInt8(ascii: "@") ? 1 : 0) }
        guard ats == 1 else {
            return ats == 0
                ? "not a user principal name or e-mail address (no @)"
                : "not a user principal name or e-mail address (more than one @)"
        }
        let at = bytes.firstIndex(of: UInt8(ascii: "@"))!
        let local = bytes[..<at], domain = bytes[bytes.index(after: at)...]
        if local.isEmpty { return "nothing before the @" }
        if bytes.count > 256 { return "longer than a user principal name can be" }
        let forbidden: [UInt8] = Array(" \"(),:;<>[]\\".utf8)
        var previous: UInt8 = 0
        for b in local {
            if forbidden.contains(b) || (b == UInt8(ascii: ".") && previous == UInt8(ascii: ".")) {
                return "the part before the @ holds characters a user principal name cannot have"
            }
            previous = b
        }
        if local.first == UInt8(ascii: ".") || local.last == UInt8(ascii: ".") {
            return "the part before the @ holds characters a user principal name cannot have"
        }
        var labels = 0, labelLength = 0, labelStart: UInt8 = 0, last: UInt8 = 0
        for b in domain {
            if b == UInt8(ascii: ".") {
                if labelLength == 0 || labelStart == UInt8(ascii: "-") || last == UInt8(ascii: "-") {
                    return "the domain after the @ is not a valid domain name"
                }
                labels += 1
                labelLength = 0
            } else if b >= 0x80 || (b >= 0x30 && b <= 0x39) || ((b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A) || b == UInt8(ascii: "-") {
                if labelLength == 0 { labelStart = b }
                labelLength += 1
            } else {
                return "the domain after the @ is not a valid domain name"
            }
            last = b
        }
        if labels == 0 { return "the domain after the @ has no dot" }
        if labelLength == 0 || labelStart == UInt8(ascii: "-") || last == UInt8(ascii: "-") {
            return "the domain after the @ is not a valid domain name"
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
        /// A workbook's phone cell typed as a number: Excel dropped its `+` or leading zero.
        case excelNumber = "excel-number"
        /// A workbook's phone cell formatted as a date (or a date value).
        case excelDate = "excel-date"
        /// A workbook's phone or user cell holding an Excel error (`#N/A`, `#REF!`).
        case excelError = "excel-error"
        /// A workbook's phone cell that is a formula: its last calculated value is used.
        case excelFormula = "excel-formula"
    }
    public var code: Code
    public var message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
