import Foundation

/// Users and directory roles.
extension EmulatorState {
    static let defaultUserProperties = ["businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
                                        "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"]
    static let userProperties: Set<String> = Set(defaultUserProperties + ["employeeId", "accountEnabled", "userType", "usageLocation"])

    func userProperties(_ u: UserState) -> [String: JSON] {
        [
            "businessPhones": .array([]), "displayName": .string(u.displayName),
            "givenName": u.givenName.map(JSON.string) ?? .null, "jobTitle": .null,
            "mail": u.mail.map(JSON.string) ?? .null, "mobilePhone": .null, "officeLocation": .null,
            "preferredLanguage": .null, "surname": u.surname.map(JSON.string) ?? .null,
            "userPrincipalName": .string(u.userPrincipalName), "id": .string(u.id),
            "employeeId": u.employeeId.map(JSON.string) ?? .null, "accountEnabled": .bool(u.accountEnabled),
            "userType": .string(u.userType), "usageLocation": u.usageLocation.map(JSON.string) ?? .null,
        ]
    }

    /// Parses `$select`; nil (and an error response) when it names an unknown property.
    enum Selection {
        case fields([String])
        case invalid(EmulatorResponse)
    }

    func selection(_ select: String?, context: CallContext) -> Selection {
        guard let select, !select.isEmpty else { return .fields(Self.defaultUserProperties) }
        var fields: [String] = []
        for raw in select.split(separator: ",") {
            let name = raw.trimmingCharacters(in: .whitespaces)
            guard let canonical = Self.userProperties.first(where: { $0.lowercased() == name.lowercased() }) else {
                return .invalid(error(400, "BadRequest", "Could not find a property named '\(name)' on type 'microsoft.graph.user'.", context: context))
            }
            if !fields.contains(canonical) { fields.append(canonical) }
        }
        return .fields(fields)
    }

    func userJSON(_ u: UserState, fields: [String]) -> [(String, JSON)] {
        let all = userProperties(u)
        return fields.map { ($0, all[$0] ?? .null) }
    }

    func userResponse(_ u: UserState, select: String?, base: String, context: CallContext) -> CallResult {
        switch selection(select, context: context) {
        case .invalid(let response): return CallResult(response: response)
        case .fields(let fields):
            let contextURL = select == nil ? "\(base)/$metadata#users/$entity" : "\(base)/$metadata#users(\(fields.joined(separator: ",")))/$entity"
            return CallResult(response: json(200, .object([("@odata.context", .string(contextURL))] + userJSON(u, fields: fields))))
        }
    }

    func listUsers(params: [String: String], base: String, context: CallContext) -> CallResult {
        var matches: [Int] = Array(tenant.users.indices)
        if let filter = params["$filter"] {
            guard let (property, value) = parseEqualityFilter(filter) else {
                return CallResult(response: error(400, OurChoices.unsupportedQueryCode, "Unsupported or invalid query filter clause specified for property or resource.", context: context))
            }
            matches = matches.filter { i in
                let u = tenant.users[i]
                switch property {
                case "employeeid": return u.employeeId == value
                case "mail": return u.mail?.lowercased() == value.lowercased()
                default: return u.userPrincipalName.lowercased() == value.lowercased()
                }
            }
        }
        let fields: [String]
        switch selection(params["$select"], context: context) {
        case .invalid(let response): return CallResult(response: response)
        case .fields(let f): fields = f
        }
        return page(count: matches.count, item: { .object(self.userJSON(self.tenant.users[matches[$0]], fields: fields)) },
                    path: "users", context: "users", params: params, base: base, call: context)
    }

    /// `employeeId eq '123'`, `mail eq 'a@b.c'`, `userPrincipalName eq '…'` (quotes doubled inside).
    func parseEqualityFilter(_ filter: String) -> (String, String)? {
        let text = filter.trimmingCharacters(in: .whitespaces)
        guard let space = text.firstIndex(of: " ") else { return nil }
        let property = text[..<space].lowercased()
        guard ["employeeid", "mail", "userprincipalname"].contains(property) else { return nil }
        let rest = text[space...].trimmingCharacters(in: .whitespaces)
        guard rest.lowercased().hasPrefix("eq ") else { return nil }
        let literal = rest.dropFirst(3).trimmingCharacters(in: .whitespaces)
        guard literal.count >= 2, literal.hasPrefix("'"), literal.hasSuffix("'") else { return nil }
        let inner = literal.dropFirst().dropLast()
        return (property, inner.replacingOccurrences(of: "''", with: "'"))
    }
}
