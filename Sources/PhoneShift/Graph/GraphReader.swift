import Foundation

/// A user as Graph knows them, with their phone methods.
struct LiveUser: Sendable {
    var id: String
    var userPrincipalName: String
    var displayName: String?
    var mail: String?
    var phones: [PhoneType: String]
    var otherMethods: [String]
    /// Where the user uses services (ISO alpha-2), for the takeover guard's country check.
    var usageLocation: String? = nil
}

/// What `methods(of:)` reads: phones by slot with their SMS sign-in state, and the other MFA
/// methods' types (nil when they could not be read: only phone permissions, or a cloud
/// without `/authentication/methods`).
struct LiveMethods: Sendable {
    var phones: [PhoneType: String]
    var smsSignIn: [PhoneType: String]
    var others: [String]?
}

/// Who holds a directory role, and what the reads found about the tenant.
struct PrivilegedUsers: Sendable {
    /// Roles (for messages) by user id, lowercased.
    var users: [String: [String]] = [:]
    /// The tenant has no Entra ID P2 / Governance licence: PIM reads answered
    /// `AadPremiumLicenseRequired`, so no PIM-eligible assignment can exist.
    var noPremiumLicense = false

    static let noPremiumLicenseNote = "This tenant has no Microsoft Entra ID P2 or Governance licence (Graph answered AadPremiumLicenseRequired to the PIM reads), so it has no PIM-eligible admins; active role holders, direct and through groups, were still checked."

    /// Graph's answer to a PIM read on a tenant without the licence (GRAPH.md, Errors).
    static func isNoPremiumLicense(_ error: GraphError) -> Bool {
        error.status == 400 && error.code?.caseInsensitiveCompare("AadPremiumLicenseRequired") == .orderedSame
    }
}

/// A read of who holds roles that failed, with what it needed (for the message).
struct RoleReadFailure: Error, CustomStringConvertible {
    var error: GraphError
    var need: GraphNeed
    var description: String { error.description }
}

/// Graph reads shared by planning and applying.
struct GraphReader: Sendable {
    let client: GraphClient
    /// Read `/authentication/methods` (all method types); when false, `/phoneMethods` only.
    var listsAllMethods = true

    static func pathComponent(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~@")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// The path of a user: `/users/{key}`, or `/users('{key}')` for a key that starts with `$`
    /// (Graph would read `/users/$…` as a system segment); quotes doubled inside.
    static func userPath(_ key: String) -> String {
        if key.hasPrefix("$") {
            return "/users('" + pathComponent(key.replacingOccurrences(of: "'", with: "''")) + "')"
        }
        return "/users/" + pathComponent(key)
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

    private static let select = "$select=id,userPrincipalName,displayName,mail,usageLocation"

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

    /// Waits before asking again after a 202 (Graph is finishing background work on the user).
    static let acceptedRetryDelays: [Double] = [0.5, 1, 2, 4, 8]

    private func direct(_ key: String) async throws -> Resolution {
        var accepted = 0
        while true {
            let r = try await client.send("GET", Self.userPath(key) + "?" + Self.select)
            switch r.status {
            case 200: return .found(Self.user(r.object))
            case 202:
                // "Processed, but background operations need more time" (user: get): use the
                // user when the answer carries it; otherwise ask again after a pause.
                if r.object["id"] is String { return .found(Self.user(r.object)) }
                guard accepted < Self.acceptedRetryDelays.count else {
                    return .failed(GraphError(kind: .http, status: 202, code: "accepted",
                                              message: "Graph kept answering 202 Accepted (background work on the user is not finished); plan again later",
                                              requestId: r.requestId, clientRequestId: r.clientRequestId))
                }
                try await client.time.sleep(seconds: Self.acceptedRetryDelays[accepted])
                accepted += 1
            case 404: return .notFound
            default: return .failed(r.failure())
            }
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
                 displayName: o["displayName"] as? String, mail: o["mail"] as? String, phones: [:], otherMethods: [],
                 usageLocation: o["usageLocation"] as? String)
    }

    /// The user's phone numbers by slot (from `/authentication/phoneMethods`).
    func phones(of userId: String) async throws -> Result<[PhoneType: String], GraphError> {
        try await phoneMethods(of: userId).map(\.phones)
    }

    /// The phone methods with their SMS sign-in states (`/phoneMethods`, one read).
    func phoneMethods(of userId: String) async throws -> Result<LiveMethods, GraphError> {
        let r = try await client.send("GET", Self.userPath(userId) + "/authentication/phoneMethods")
        guard r.status == 200 else { return .failure(r.failure()) }
        var out = LiveMethods(phones: [:], smsSignIn: [:], others: nil)
        for item in r.object["value"] as? [[String: Any]] ?? [] { Self.addPhone(item, to: &out) }
        return .success(out)
    }

    private static func addPhone(_ item: [String: Any], to out: inout LiveMethods) {
        guard let slot = (item["phoneType"] as? String).flatMap(PhoneType.init(rawValue:)),
              let number = item["phoneNumber"] as? String else { return }
        out.phones[slot] = number
        if let state = item["smsSignInState"] as? String { out.smsSignIn[slot] = state }
    }

    /// All methods: phones by slot, and the other MFA methods' types — or, without
    /// `listsAllMethods`, the phones only.
    func methods(of userId: String) async throws -> Result<LiveMethods, GraphError> {
        guard listsAllMethods else { return try await phoneMethods(of: userId) }
        let r = try await client.send("GET", Self.userPath(userId) + "/authentication/methods")
        guard r.status == 200 else { return .failure(r.failure()) }
        var out = LiveMethods(phones: [:], smsSignIn: [:], others: [])
        for item in r.object["value"] as? [[String: Any]] ?? [] {
            let type = item["@odata.type"] as? String ?? ""
            if type == "#microsoft.graph.phoneAuthenticationMethod" {
                Self.addPhone(item, to: &out)
            } else if type == "#microsoft.graph.temporaryAccessPassAuthenticationMethod" && item["isUsable"] as? Bool != true {
                // An expired or used pass cannot sign anyone in: it is no backup method.
                continue
            } else {
                out.others?.append(type.replacingOccurrences(of: "#microsoft.graph.", with: ""))
            }
        }
        return .success(out)
    }

    /// Hands each page of a collection to `body`, following `@odata.nextLink` (which must stay
    /// on the Graph base this client talks to). Returns the failure that ended it, or nil.
    func pages(_ path: String, _ body: ([[String: Any]]) async throws -> Void) async throws -> GraphError? {
        var next: String? = path
        let base = client.settings.graphBase.absoluteString.trimmingTrailingSlash
        while let current = next {
            let r = try await client.send("GET", current)
            guard r.status == 200 else { return r.failure() }
            try await body(r.object["value"] as? [[String: Any]] ?? [])
            next = nil
            if let link = r.object["@odata.nextLink"] as? String {
                guard link.hasPrefix(base + "/") else {
                    return GraphError(kind: .http, status: nil, code: "bad-next-link", message: "Graph sent a next-page link outside \(base)",
                                      requestId: r.requestId, clientRequestId: r.clientRequestId)
                }
                next = String(link.dropFirst(base.count))
            }
        }
        return nil
    }

    /// Every item of a collection, all pages.
    func all(_ path: String) async throws -> Result<[[String: Any]], GraphError> {
        var items: [[String: Any]] = []
        if let error = try await pages(path, { items += $0 }) { return .failure(error) }
        return .success(items)
    }

    /// What kind of directory object holds something, as far as PhoneShift cares.
    enum Principal {
        case user(String)
        case group(id: String, name: String)
        /// An application, or an object deleted since: nothing to protect.
        case none
    }

    /// The principal of a role assignment or PIM schedule: from the expanded `principal`, or
    /// looked up at `/directoryObjects/{id}` when Graph did not expand it (never guessed: a
    /// group taken for a user would leave its members unprotected). An unknown type fails
    /// closed. `lookedUp` caches the lookups (nil value: gone).
    func principal(of item: [String: Any], id principalId: String, holding what: String,
                   lookedUp: inout [String: [String: Any]?]) async throws -> Result<Principal, RoleReadFailure> {
        var principal = item["principal"] as? [String: Any]
        if principal?["@odata.type"] as? String == nil {
            if lookedUp[principalId] == nil {
                let r = try await client.send("GET", "/directoryObjects/\(Self.pathComponent(principalId))?$select=id,displayName")
                switch r.status {
                case 200: lookedUp[principalId] = .some(r.object)
                case 404: lookedUp[principalId] = .some(nil)  // deleted since: no account left to protect
                default: return .failure(RoleReadFailure(error: r.failure(), need: .readDirectoryObjects))
                }
            }
            guard let found = lookedUp[principalId] ?? nil else { return .success(.none) }
            principal = found
        }
        let type = principal?["@odata.type"] as? String ?? ""
        switch type {
        case "#microsoft.graph.group": return .success(.group(id: principalId, name: principal?["displayName"] as? String ?? principalId))
        case "#microsoft.graph.user": return .success(.user(principalId))
        case "#microsoft.graph.servicePrincipal": return .success(.none)  // applications hold no phone methods
        default:
            return .failure(RoleReadFailure(error: GraphError(
                kind: .http, status: nil, code: "unknownPrincipalType",
                message: "\(what) is held by directory object \(principalId) of type '\(Sanitize.forMessage(type, limit: 80))', which PhoneShift cannot check for admins",
                requestId: nil, clientRequestId: nil), need: .readRoleAssignments))
        }
    }

    /// Users who hold a directory role — active or PIM-eligible, directly or through a group
    /// (members followed transitively, the group's owners, and through PIM for Groups the
    /// users eligible to become a member or owner) — with the roles, for messages. Read from
    /// the unified role-management API with paging; `/directoryRoles?$expand=members` would
    /// miss admins past the `$expand` cap, eligible admins and members of role-assignable groups.
    func privilegedUsers() async throws -> Result<PrivilegedUsers, RoleReadFailure> {
        var found = PrivilegedUsers()
        var names: [String: String] = [:]
        switch try await all("/roleManagement/directory/roleDefinitions?$select=id,displayName") {
        case .failure(let error): return .failure(RoleReadFailure(error: error, need: .readRoleAssignments))
        case .success(let items):
            for item in items {
                if let id = item["id"] as? String, let name = item["displayName"] as? String { names[id.lowercased()] = name }
            }
        }
        var out: [String: [String]] = [:]
        var groups: [String: (name: String, roles: [String])] = [:]
        var lookedUp: [String: [String: Any]?] = [:]
        for (path, eligible) in [("/roleManagement/directory/roleAssignments?$expand=principal", false),
                                 ("/roleManagement/directory/roleEligibilitySchedules?$expand=principal", true)] {
            let items: [[String: Any]]
            switch try await all(path) {
            case .failure(let error) where eligible && PrivilegedUsers.isNoPremiumLicense(error):
                // No P2: no eligible assignments exist. Every other check still runs.
                found.noPremiumLicense = true
                items = []
            case .failure(let error): return .failure(RoleReadFailure(error: error, need: eligible ? .readRoleEligibility : .readRoleAssignments))
            case .success(let page): items = page
            }
            for item in items {
                guard let principalId = (item["principalId"] as? String)?.lowercased() else { continue }
                let definition = (item["roleDefinitionId"] as? String)?.lowercased() ?? ""
                let role = (names[definition] ?? "role \(definition)") + (eligible ? " (eligible)" : "")
                switch try await principal(of: item, id: principalId, holding: "the role \(role)", lookedUp: &lookedUp) {
                case .failure(let failure): return .failure(failure)
                case .success(.group(let id, let name)): groups[id, default: (name, [])].roles.append(role)
                case .success(.user(let id)): out[id, default: []].append(role)
                case .success(.none): continue
                }
            }
        }
        for (groupId, group) in groups.sorted(by: { $0.key < $1.key }) {
            /// Gives every user a group listing names the group's roles, each said `how`.
            func addUsers(_ path: String, _ how: String) async throws -> RoleReadFailure? {
                switch try await all(path) {
                case .failure(let error): return RoleReadFailure(error: error, need: .readGroupMembers)
                case .success(let members):
                    for id in Self.userIds(members) { out[id, default: []] += group.roles.map { "\($0) \(how)" } }
                    return nil
                }
            }
            let component = Self.pathComponent(groupId)
            // Members now (nested groups followed) and current owners (they can add themselves).
            for (path, how) in [("/groups/\(component)/transitiveMembers?$select=id", "through group \(group.name)"),
                                ("/groups/\(component)/owners?$select=id", "as owner of group \(group.name)")] {
                if let failure = try await addUsers(path, how) { return .failure(failure) }
            }
            // PIM for Groups: users who may activate membership or ownership (the filter is required).
            guard !found.noPremiumLicense else { continue }
            let path = "/identityGovernance/privilegedAccess/group/eligibilitySchedules?$filter=groupId%20eq%20\(Self.filterLiteral(groupId))&$expand=principal"
            switch try await all(path) {
            case .failure(let error) where PrivilegedUsers.isNoPremiumLicense(error):
                found.noPremiumLicense = true
            case .failure(let error): return .failure(RoleReadFailure(error: error, need: .readGroupEligibility))
            case .success(let items):
                for item in items {
                    guard let principalId = (item["principalId"] as? String)?.lowercased() else { continue }
                    let access = item["accessId"] as? String == "owner" ? "owner" : "member"
                    let how = "as eligible \(access) of group \(group.name), PIM for Groups"
                    switch try await principal(of: item, id: principalId, holding: "eligibility for group \(group.name)", lookedUp: &lookedUp) {
                    case .failure(let failure): return .failure(failure)
                    case .success(.user(let id)): out[id, default: []] += group.roles.map { "\($0) \(how)" }
                    case .success(.group(let nested, _)):
                        if let failure = try await addUsers("/groups/\(Self.pathComponent(nested))/transitiveMembers?$select=id", how) {
                            return .failure(failure)
                        }
                    case .success(.none): continue
                    }
                }
            }
        }
        found.users = out
        return .success(found)
    }

    /// The users among group members (lowercased ids); a member without `@odata.type` is
    /// taken for a user, as `/transitiveMembers?$select=id` may answer.
    static func userIds(_ members: [[String: Any]]) -> [String] {
        members.compactMap { member in
            (member["@odata.type"] as? String ?? "#microsoft.graph.user") == "#microsoft.graph.user" ? (member["id"] as? String)?.lowercased() : nil
        }
    }

    /// Users Graph will not let an application change: direct user members of restricted
    /// management administrative units, by id (lowercased), with the units' names. The
    /// property has no `$filter` support (resources/administrativeunit): every unit is listed.
    func restrictedUsers() async throws -> Result<[String: [String]], GraphError> {
        let units: [[String: Any]]
        switch try await all("/directory/administrativeUnits?$select=id,displayName,isMemberManagementRestricted") {
        case .failure(let error): return .failure(error)
        case .success(let items): units = items
        }
        var out: [String: [String]] = [:]
        for unit in units where unit["isMemberManagementRestricted"] as? Bool == true {
            guard let id = unit["id"] as? String else { continue }
            let name = unit["displayName"] as? String ?? id
            switch try await all("/directory/administrativeUnits/\(Self.pathComponent(id))/members?$select=id") {
            case .failure(let error): return .failure(error)
            case .success(let members):
                for member in members where (member["@odata.type"] as? String ?? "") == "#microsoft.graph.user" {
                    guard let memberId = (member["id"] as? String)?.lowercased() else { continue }
                    out[memberId, default: []].append(name)
                }
            }
        }
        return .success(out)
    }

    /// The error code of a row blocked because its user is in a restricted management unit.
    static let restrictedCode = "restricted-admin-unit"

    /// Why a protected user's row is blocked, for people.
    static func restrictedReason(_ units: [String]) -> String {
        let named = units.prefix(2).map { "'\(Sanitize.forMessage($0, limit: 80))'" }.joined(separator: ", ") + (units.count > 2 ? ", …" : "")
        return "protected: the user is in the restricted management administrative unit \(named), so Graph lets only administrators assigned to that unit change their methods (no application permission applies); change this number in the Microsoft Entra admin center as such an administrator"
    }
}
