import Foundation

/// A user as Graph knows them, with their phone methods.
struct LiveUser: Sendable {
    var id: String
    var userPrincipalName: String
    var displayName: String?
    var mail: String?
    var phones: [PhoneType: String]
    var otherMethods: [String]
}

/// Graph reads shared by planning and applying.
struct GraphReader: Sendable {
    let client: GraphClient

    static func pathComponent(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~@")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    static func filterLiteral(_ text: String) -> String {
        let quoted = "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~@'")
        return quoted.addingPercentEncoding(withAllowedCharacters: allowed) ?? quoted
    }

    enum Resolution: Sendable {
        case found(LiveUser)
        case notFound
        case ambiguous(Int)
        case failed(GraphError)
    }

    private static let select = "$select=id,userPrincipalName,displayName,mail"

    /// Finds the user a sheet names: UPN or object id directly; e-mail as UPN then by
    /// `mail`; employee id by `$filter`.
    func resolve(_ value: String, kind: UserKeyKind) async throws -> Resolution {
        switch kind {
        case .userPrincipalName, .objectId, .automatic:
            return try await direct(value)
        case .mail:
            let first = try await direct(value)
            if case .notFound = first { return try await filtered("mail", value) }
            return first
        case .employeeId:
            return try await filtered("employeeId", value)
        }
    }

    private func direct(_ key: String) async throws -> Resolution {
        let r = try await client.send("GET", "/users/\(Self.pathComponent(key))?\(Self.select)")
        switch r.status {
        case 200: return .found(Self.user(r.object))
        case 404: return .notFound
        default: return .failed(r.failure())
        }
    }

    private func filtered(_ property: String, _ value: String) async throws -> Resolution {
        let r = try await client.send("GET", "/users?$filter=\(property)%20eq%20\(Self.filterLiteral(value))&\(Self.select)")
        guard r.status == 200 else { return .failed(r.failure()) }
        let items = r.object["value"] as? [[String: Any]] ?? []
        switch items.count {
        case 0: return .notFound
        case 1: return .found(Self.user(items[0]))
        default: return .ambiguous(items.count)
        }
    }

    static func user(_ o: [String: Any]) -> LiveUser {
        LiveUser(id: o["id"] as? String ?? "", userPrincipalName: o["userPrincipalName"] as? String ?? "",
                 displayName: o["displayName"] as? String, mail: o["mail"] as? String, phones: [:], otherMethods: [])
    }

    /// The user's phone numbers by slot (from `/authentication/phoneMethods`).
    func phones(of userId: String) async throws -> Result<[PhoneType: String], GraphError> {
        let r = try await client.send("GET", "/users/\(Self.pathComponent(userId))/authentication/phoneMethods")
        guard r.status == 200 else { return .failure(r.failure()) }
        var out: [PhoneType: String] = [:]
        for item in r.object["value"] as? [[String: Any]] ?? [] {
            if let type = (item["phoneType"] as? String).flatMap(PhoneType.init(rawValue:)), let number = item["phoneNumber"] as? String {
                out[type] = number
            }
        }
        return .success(out)
    }

    /// All methods: phones by slot, and the other MFA methods' types.
    func methods(of userId: String) async throws -> Result<(phones: [PhoneType: String], others: [String]), GraphError> {
        let r = try await client.send("GET", "/users/\(Self.pathComponent(userId))/authentication/methods")
        guard r.status == 200 else { return .failure(r.failure()) }
        var phones: [PhoneType: String] = [:]
        var others: [String] = []
        for item in r.object["value"] as? [[String: Any]] ?? [] {
            let type = item["@odata.type"] as? String ?? ""
            if type == "#microsoft.graph.phoneAuthenticationMethod" {
                if let slot = (item["phoneType"] as? String).flatMap(PhoneType.init(rawValue:)), let number = item["phoneNumber"] as? String {
                    phones[slot] = number
                }
            } else {
                others.append(type.replacingOccurrences(of: "#microsoft.graph.", with: ""))
            }
        }
        return .success((phones, others))
    }

    /// Role display names by user id, for the whole tenant (one call).
    func privilegedUsers() async throws -> Result<[String: [String]], GraphError> {
        let r = try await client.send("GET", "/directoryRoles?$expand=members")
        guard r.status == 200 else { return .failure(r.failure()) }
        var out: [String: [String]] = [:]
        for role in r.object["value"] as? [[String: Any]] ?? [] {
            let name = role["displayName"] as? String ?? "a directory role"
            for member in role["members"] as? [[String: Any]] ?? [] {
                if let id = (member["id"] as? String)?.lowercased() { out[id, default: []].append(name) }
            }
        }
        return .success(out)
    }
}

