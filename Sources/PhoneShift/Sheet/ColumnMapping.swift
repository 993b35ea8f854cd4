/// How a sheet's user column identifies a user to Graph.
public enum UserKeyKind: String, Sendable, Codable, CaseIterable {
    /// `GET /users/{upn}`.
    case userPrincipalName = "upn"
    /// `GET /users?$filter=mail eq '…'` (or the UPN, which is usually the same).
    case mail = "mail"
    /// `GET /users/{id}`.
    case objectId = "object-id"
    /// `GET /users?$filter=employeeId eq '…'`.
    case employeeId = "employee-id"
    /// Column named by the user with no recognisable name: decided per value
    /// (GUID: object id; has `@`: UPN; else employee id).
    case automatic = "auto"

    var label: String {
        switch self {
        case .userPrincipalName: "user principal name"
        case .mail: "e-mail address"
        case .objectId: "object id"
        case .employeeId: "employee id"
        case .automatic: "detected per row"
        }
    }
}

/// Column choices made on the command line or in a job file.
public struct ColumnOverrides: Sendable {
    public var user: String?
    public var phone: String?
    public var region: String?
    public init(user: String? = nil, phone: String? = nil, region: String? = nil) {
        self.user = user
        self.phone = phone
        self.region = region
    }
}

/// Which columns of a sheet hold the user, the phone number and the region.
public struct ColumnMapping: Sendable, Equatable {
    public var headers: [String]
    /// 0-based column indexes.
    public var userColumn: Int
    public var userKind: UserKeyKind
    /// nil: a sheet of users only (a `mode: removePhones` job reads no number).
    public var phoneColumn: Int?
    public var regionColumn: Int?
    /// One line per decision, for people ("user: 'Work Email' (column 3) …").
    public var notes: [String]

    /// The highest column index a row must have (the region column may be cut off, as
    /// spreadsheets drop trailing empty cells).
    public var lastRequiredColumn: Int { max(userColumn, phoneColumn ?? userColumn) }

    /// Header aliases, best first. Matching ignores case, spaces and punctuation.
    static let userAliases: [(alias: String, kind: UserKeyKind)] = [
        ("userprincipalname", .userPrincipalName), ("upn", .userPrincipalName),
        ("signinname", .userPrincipalName), ("username", .userPrincipalName),
        ("login", .userPrincipalName), ("user", .userPrincipalName), ("account", .userPrincipalName),
        ("email", .mail), ("workemail", .mail), ("mail", .mail), ("emailaddress", .mail),
        ("workemailaddress", .mail), ("businessemail", .mail), ("primaryemail", .mail),
        ("objectid", .objectId), ("azureobjectid", .objectId), ("aadobjectid", .objectId),
        ("entraobjectid", .objectId), ("userobjectid", .objectId), ("userid", .objectId),
        ("employeeid", .employeeId), ("employeenumber", .employeeId), ("employeeno", .employeeId),
        ("empid", .employeeId), ("personnelnumber", .employeeId), ("staffid", .employeeId),
        ("workerid", .employeeId), ("staffnumber", .employeeId),
    ]
    static let phoneAliases = [
        "newnumber", "newphone", "newphonenumber", "newmobile", "newmobilenumber",
        "mfaphone", "mfanumber", "mfaphonenumber", "mfamobile", "authenticationphone",
        "mobilephone", "mobile", "mobilenumber", "mobilephonenumber", "cellphone", "cell",
        "cellnumber", "phone", "phonenumber", "telephone", "telephonenumber", "number",
    ]
    static let officePhoneAliases = [
        "officephone", "officenumber", "businessphone", "workphone", "deskphone", "officetelephone",
    ]
    static let regionAliases = [
        "country", "countrycode", "region", "countryregion", "countryorregion", "regioncode",
        "usagelocation", "isocountry", "countryiso", "ctry",
    ]

    /// The form in which header names are compared.
    static func key(_ header: String) -> String {
        String(header.unicodeScalars.filter { $0 != "\u{FEFF}" }.map(Character.init))
            .lowercased()
            .filter { $0.isLetter || $0.isNumber }
    }

    /// Chooses the columns for `headers`.
    ///
    /// Throws `columnNotFound` when no user or phone column is recognised (the message
    /// lists the headers and the flags to use), `ambiguousColumn` when the chosen column's
    /// name appears twice, `badHeader` for an empty header.
    public static func resolve(headers: [String], overrides: ColumnOverrides = .init(),
                               phoneType: PhoneType = .mobile, usersOnly: Bool = false) throws -> ColumnMapping {
        let keys = headers.map(key)
        guard keys.contains(where: { !$0.isEmpty }) else {
            throw PhoneShiftError(.badHeader, line: 1, "the header row is empty")
        }
        var notes: [String] = []

        func column(named name: String, flag: String) throws -> Int {
            let wanted = key(name)
            let matches = keys.indices.filter { keys[$0] == wanted && !wanted.isEmpty }
            if matches.count == 1 { return matches[0] }
            if matches.count > 1 { throw duplicate(headers, matches) }
            if let number = Int(name), number >= 1, number <= headers.count { return number - 1 }
            throw PhoneShiftError(.columnNotFound, line: 1,
                "\(flag) '\(name)' names no column; the header has: \(list(headers))")
        }

        func firstMatch(_ aliases: [String]) throws -> Int? {
            for alias in aliases {
                let matches = keys.indices.filter { keys[$0] == alias }
                if matches.count > 1 { throw duplicate(headers, matches) }
                if let only = matches.first { return only }
            }
            return nil
        }

        // User column.
        let userColumn: Int
        let userKind: UserKeyKind
        if let name = overrides.user {
            userColumn = try column(named: name, flag: "--user-column")
            userKind = userAliases.first { $0.alias == keys[userColumn] }?.kind ?? .automatic
            notes.append("user: '\(headers[userColumn])' (column \(userColumn + 1), \(userKind.label)), as asked")
        } else {
            let found = try detectUserColumn(headers: headers)
            userColumn = found.column
            userKind = found.kind
            notes.append(found.note)
        }

        // Phone column (none for a sheet of users only: its numbers, if any, are not read).
        let phoneColumn: Int?
        if usersOnly {
            phoneColumn = nil
            notes.append("phone: no column read (the job removes numbers; the sheet names users only)")
        } else if let name = overrides.phone {
            let chosen = try column(named: name, flag: "--phone-column")
            phoneColumn = chosen
            notes.append("phone: '\(headers[chosen])' (column \(chosen + 1)), as asked")
        } else {
            let aliases = phoneType == .office ? officePhoneAliases + phoneAliases : phoneAliases + officePhoneAliases
            guard let found = try firstMatch(aliases) else {
                throw PhoneShiftError(.columnNotFound, line: 1,
                    "no phone column found (looked for Phone, Mobile, Mobile Phone, New Number, MFA Phone and similar); "
                    + "the header has: \(list(headers)). Name the column with --phone-column")
            }
            phoneColumn = found
            notes.append("phone: '\(headers[found])' (column \(found + 1))")
        }
        if let phoneColumn, phoneColumn == userColumn {
            throw PhoneShiftError(.badSetting, "the user and the phone cannot come from the same column ('\(headers[phoneColumn])')")
        }

        // Region column (optional).
        var regionColumn: Int?
        if let name = overrides.region {
            regionColumn = try column(named: name, flag: "--region-column")
            notes.append("region: '\(headers[regionColumn!])' (column \(regionColumn! + 1)), as asked")
        } else if let found = try firstMatch(regionAliases), found != userColumn, found != phoneColumn {
            regionColumn = found
            notes.append("region: '\(headers[found])' (column \(found + 1)) gives each row's default country")
        }

        // A chosen column whose name appears twice is ambiguous even when chosen by number.
        for used in [userColumn, phoneColumn, regionColumn].compactMap({ $0 }) where !keys[used].isEmpty {
            let same = keys.indices.filter { keys[$0] == keys[used] }
            if same.count > 1 { throw duplicate(headers, same) }
        }
        return ColumnMapping(headers: headers, userColumn: userColumn, userKind: userKind,
                             phoneColumn: phoneColumn, regionColumn: regionColumn, notes: notes)
    }

    /// The user column a header names (UPN, e-mail, object id, employee id and their aliases),
    /// the best kind first; `note` says which was taken and which were not.
    public static func detectUserColumn(headers: [String]) throws -> (column: Int, kind: UserKeyKind, note: String) {
        let keys = headers.map(key)
        var found: [(column: Int, kind: UserKeyKind)] = []
        for entry in userAliases {
            let matches = keys.indices.filter { keys[$0] == entry.alias }
            if matches.count > 1 { throw duplicate(headers, matches) }
            if let only = matches.first { found.append((only, entry.kind)) }
        }
        guard let best = found.first else {
            throw PhoneShiftError(.columnNotFound, line: 1,
                "no user column found (looked for UPN, Email, Object ID, Employee ID and similar); "
                + "the header has: \(list(headers)). Name the column with --user-column")
        }
        var note = "user: '\(headers[best.column])' (column \(best.column + 1), \(best.kind.label))"
        let others = found.dropFirst().map { "'\(headers[$0.column])'" }
        if !others.isEmpty {
            note += "; also found \(others.joined(separator: ", ")), not used: Graph resolves the \(best.kind.label) most directly"
        }
        return (best.column, best.kind, note)
    }

    private static func duplicate(_ headers: [String], _ columns: [Int]) -> PhoneShiftError {
        let where_ = columns.map { "column \($0 + 1)" }.joined(separator: " and ")
        return PhoneShiftError(.ambiguousColumn, line: 1,
            "the header names '\(Sanitize.forMessage(headers[columns[0]]))' twice (\(where_)); rename one, or choose by number")
    }

    private static func list(_ headers: [String]) -> String {
        headers.map { "'\(Sanitize.forMessage($0))'" }.joined(separator: ", ")
    }
}
