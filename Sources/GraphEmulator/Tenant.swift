import Foundation

/// Phone method types and their fixed ids (the same for every user).
enum PhoneSlot: String, CaseIterable, Sendable {
    case mobile, alternateMobile, office

    var methodId: String {
        switch self {
        case .mobile: "3179e48a-750b-4051-897c-87b9720928f7"
        case .alternateMobile: "b6332ec1-7057-4abe-9331-3d72feddfe41"
        case .office: "e37fc753-ff3b-4958-9484-eaa9425c82bc"
        }
    }

    init?(methodId: String) {
        guard let slot = PhoneSlot.allCases.first(where: { $0.methodId == methodId.lowercased() }) else { return nil }
        self = slot
    }
}

struct PhoneMethodState: Sendable, Equatable {
    var slot: PhoneSlot
    var number: String
    var smsSignInState: String
}

struct OtherMethodState: Sendable {
    var type: String
    var id: String
    var displayName: String?
    var emailAddress: String?
    var created: String
    /// A Temporary Access Pass that can sign in now.
    var isUsable = false
    /// An issued Temporary Access Pass: its lifetime, whether it is good for one sign-in, and
    /// the pass itself (Graph shows it once, in the answer to the POST).
    var lifetimeInMinutes = 60
    var isUsableOnce = true
    var pass: String?
}

struct UserState: Sendable {
    var id: String
    var userPrincipalName: String
    var displayName: String
    var givenName: String?
    var surname: String?
    var mail: String?
    var employeeId: String?
    var accountEnabled: Bool
    var userType: String
    var usageLocation: String?
    var phones: [PhoneSlot: PhoneMethodState]
    var others: [OtherMethodState]
    var roles: [String]
    var defaultMethod: String?
    var riskState: String? = nil
    var riskLevel: String? = nil
    var smsSignInEnabled: Bool
    var acceptedReads: Int
    var unavailableReads = 0
    /// What reads show until `until` (replication lag after a 409), when set.
    var stale: (until: Double, phones: [PhoneSlot: PhoneMethodState])? = nil

    /// The phone methods a read sees at `now`.
    func visiblePhones(at now: Double) -> [PhoneSlot: PhoneMethodState] {
        if let stale, stale.until > now { return stale.phones }
        return phones
    }
}

struct GroupState: Sendable {
    var id: String
    var displayName: String
    var isAssignableToRole: Bool
    /// Direct members: user or group ids (lowercase).
    var members: [String]
    var owners: [String] = []
}

/// A PIM for Groups eligibility: a principal may activate membership or ownership of a group.
struct GroupEligibility: Sendable {
    var id: String
    var groupId: String
    var principalId: String
    /// `member` or `owner` (privilegedAccessGroupRelationships).
    var accessId: String
}

struct AdministrativeUnitState: Sendable {
    var id: String
    var displayName: String
    var isMemberManagementRestricted: Bool
    var members: [String]
}

/// One directory role held by a principal (user or group): active, or PIM-eligible only.
struct RoleGrant: Sendable {
    var id: String
    var principalId: String
    var role: String
    var eligible: Bool
}

/// Well-known directory role template ids.
enum DirectoryRoles {
    static let templates: [String: String] = [
        "Global Administrator": "62e90394-69f5-4237-9190-012177145e10",
        "Privileged Authentication Administrator": "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
        "Authentication Administrator": "c4e39bd9-1100-46d3-8c65-fb160da0071f",
        "User Administrator": "fe930be7-5e62-47db-91af-98c3a49a38b1",
        "Helpdesk Administrator": "729827e3-9c14-49f7-bb1b-9608f156bbb8",
        "Privileged Role Administrator": "e8611ab8-c189-46e8-94e1-60213ab1f814",
        "Security Administrator": "194ae4cb-b126-40b2-bd5b-6091b380977d",
    ]

    static func templateId(_ name: String) -> String {
        templates[name] ?? stableUUID("role:" + name)
    }

    /// The id of the activated role object in this tenant (stable per name).
    static func roleObjectId(_ name: String) -> String { stableUUID("roleobject:" + name) }
}

/// A UUID derived from text (FNV-1a), so that seeded ids stay the same across resets.
func stableUUID(_ text: String) -> String {
    var a: UInt64 = 0xcbf29ce484222325, b: UInt64 = 0x84222325cbf29ce4
    for byte in text.utf8 {
        a = (a ^ UInt64(byte)) &* 0x100000001b3
        b = (b ^ UInt64(byte)) &* 0x100000001b3 ^ (a >> 7)
    }
    let hex = String(format: "%016llx%016llx", a, b)
    let c = Array(hex)
    return "\(String(c[0..<8]))-\(String(c[8..<12]))-4\(String(c[13..<16]))-a\(String(c[17..<20]))-\(String(c[20..<32]))"
}

/// The tenant's directory: users, their methods and the Graph rules for changing them.
/// A value type; the server keeps it behind a lock.
struct Tenant: Sendable {
    var id: String
    var displayName: String
    var users: [UserState]
    var groups: [GroupState]
    /// Every role assignment and eligibility, users' and groups'.
    var grants: [RoleGrant]
    var groupEligibilities: [GroupEligibility] = []
    var administrativeUnits: [AdministrativeUnitState] = []
    private var byId: [String: Int] = [:]
    private var groupById: [String: Int] = [:]
    private var byUPN: [String: Int] = [:]
    /// Numbers in use for SMS sign-in → the users using them.
    private var smsSignIn: [String: Set<Int>] = [:]

    init(seed: DirectorySeed) {
        id = seed.tenant.id
        displayName = seed.tenant.displayName
        users = seed.users.map { u in
            var phones: [PhoneSlot: PhoneMethodState] = [:]
            for p in u.phoneMethods ?? [] {
                guard let slot = PhoneSlot(rawValue: p.phoneType) else { continue }
                let number = PhoneFormat.canonical(p.phoneNumber) ?? p.phoneNumber
                phones[slot] = PhoneMethodState(slot: slot, number: number, smsSignInState: p.smsSignInState ?? "notAllowedByPolicy")
            }
            let others = (u.otherMethods ?? []).map { m in
                OtherMethodState(
                    type: m.type,
                    id: m.type == "password" ? "28c10230-6103-485e-b985-444c60001490"
                        : m.type == "email" ? "3ddfcfc8-9383-446f-83cc-3ab9be4be18f" : stableUUID(u.id + ":" + m.type),
                    displayName: m.displayName, emailAddress: m.emailAddress, created: "2024-03-14T09:26:53Z",
                    isUsable: m.isUsable ?? false)
            }
            let names = u.displayName.split(separator: " ", maxSplits: 1).map(String.init)
            return UserState(
                id: u.id.lowercased(), userPrincipalName: u.userPrincipalName, displayName: u.displayName,
                givenName: names.first, surname: names.count > 1 ? names[1] : nil, mail: u.mail,
                employeeId: u.employeeId, accountEnabled: u.accountEnabled ?? true, userType: u.userType ?? "Member",
                usageLocation: u.usageLocation, phones: phones, others: others, roles: u.roles ?? [],
                defaultMethod: u.defaultMethod ?? (phones[.mobile] != nil ? OurChoices.defaultMethodWhenUnset : nil),
                smsSignInEnabled: u.smsSignInEnabled ?? (OurChoices.smsSignInEnabledWhenReady && phones[.mobile]?.smsSignInState == "ready"),
                acceptedReads: u.acceptedReads ?? 0, unavailableReads: u.unavailableReads ?? 0)
        }
        for (i, u) in seed.users.enumerated() {
            users[i].riskState = u.riskState
            users[i].riskLevel = u.riskLevel
        }
        groups = (seed.groups ?? []).map { g in
            GroupState(id: g.id.lowercased(), displayName: g.displayName, isAssignableToRole: g.isAssignableToRole ?? false,
                       members: g.members.map { $0.lowercased() }, owners: (g.owners ?? []).map { $0.lowercased() })
        }
        for g in seed.groups ?? [] {
            for (access, principals) in [("member", g.eligibleMembers ?? []), ("owner", g.eligibleOwners ?? [])] {
                for p in principals {
                    groupEligibilities.append(GroupEligibility(id: stableUUID("pimgroup:\(g.id):\(p):\(access)"), groupId: g.id.lowercased(),
                                                               principalId: p.lowercased(), accessId: access))
                }
            }
        }
        administrativeUnits = (seed.administrativeUnits ?? []).map { a in
            AdministrativeUnitState(id: a.id.lowercased(), displayName: a.displayName,
                                    isMemberManagementRestricted: a.isMemberManagementRestricted ?? false,
                                    members: a.members.map { $0.lowercased() })
        }
        var grants: [RoleGrant] = []
        func grant(_ principal: String, _ roles: [String]?, eligible: Bool) {
            for role in roles ?? [] {
                grants.append(RoleGrant(id: stableUUID("grant:\(principal):\(role):\(eligible)"), principalId: principal.lowercased(),
                                        role: role, eligible: eligible))
            }
        }
        for u in seed.users {
            grant(u.id, u.roles, eligible: false)
            grant(u.id, u.eligibleRoles, eligible: true)
        }
        for g in seed.groups ?? [] {
            grant(g.id, g.roles, eligible: false)
            grant(g.id, g.eligibleRoles, eligible: true)
        }
        self.grants = grants
        // A user enabled for SMS sign-in by policy whose mobile has no state yet is
        // registered, unless another user signs in with the number already.
        var taken = Set(users.flatMap { $0.phones.values.filter { $0.smsSignInState == "ready" }.map(\.number) })
        for i in users.indices where users[i].smsSignInEnabled {
            guard var mobile = users[i].phones[.mobile], seed.users[i].phoneMethods?.first(where: { $0.phoneType == "mobile" })?.smsSignInState == nil else { continue }
            mobile.smsSignInState = taken.insert(mobile.number).inserted ? "ready" : "phoneNumberNotUnique"
            users[i].phones[.mobile] = mobile
        }
        reindex()
    }

    /// The user is a direct member of a restricted management administrative unit: an
    /// application cannot change them (admin-units-restricted-management).
    func isRestricted(userId: String) -> Bool {
        administrativeUnits.contains { $0.isMemberManagementRestricted && $0.members.contains(userId.lowercased()) }
    }

    /// A group by id (case-insensitive).
    func group(_ id: String) -> GroupState? { groupById[id.lowercased()].map { groups[$0] } }

    /// A user's index by object id only.
    func userIndex(id: String) -> Int? { byId[id.lowercased()] }

    /// The users and groups inside a group, nested groups followed (each once).
    func transitiveMembers(of groupId: String) -> [String] {
        var seen: Set<String> = [groupId.lowercased()]
        var out: [String] = []
        var queue = group(groupId)?.members ?? []
        while !queue.isEmpty {
            let member = queue.removeFirst()
            guard seen.insert(member).inserted else { continue }
            out.append(member)
            if let nested = group(member) { queue += nested.members }
        }
        return out
    }

    private mutating func reindex() {
        byId = [:]
        byUPN = [:]
        smsSignIn = [:]
        groupById = Dictionary(groups.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
        for (i, u) in users.enumerated() {
            byId[u.id] = i
            byUPN[u.userPrincipalName.lowercased()] = i
            for method in u.phones.values where method.smsSignInState == "ready" {
                smsSignIn[method.number, default: []].insert(i)
            }
        }
    }

    /// A user by object id or user principal name (case-insensitive), as `/users/{key}`.
    func index(of key: String) -> Int? {
        let lower = key.lowercased()
        return byId[lower] ?? byUPN[lower]
    }

    // MARK: Phone methods, with the rules of GRAPH.md

    enum Failure: Error, Equatable {
        case badRequest(String)
        case notFound(String)
    }

    /// POST …/phoneMethods. Returns the new method.
    mutating func addPhone(user: Int, number: String, type: String) throws(Failure) -> PhoneMethodState {
        guard let slot = PhoneSlot(rawValue: type) else {
            throw .badRequest("Invalid value for phoneType: '\(type)'. Expected mobile, alternateMobile or office.")
        }
        guard let canonical = PhoneFormat.canonical(number) else { throw .badRequest(PhoneFormat.invalidMessage) }
        if users[user].phones[slot] != nil {
            throw .badRequest("A phone method of type '\(slot.rawValue)' already exists for this user.")
        }
        if slot == .alternateMobile && users[user].phones[.mobile] == nil {
            throw .badRequest("An alternateMobile phone method can only be added when a mobile phone method exists.")
        }
        var method = PhoneMethodState(slot: slot, number: canonical, smsSignInState: "notAllowedByPolicy")
        if slot == .mobile { method.smsSignInState = registerForSMSSignIn(user: user, number: canonical) }
        users[user].phones[slot] = method
        return method
    }

    /// Graph's documented side effect: a user enabled for SMS sign-in by policy gets their
    /// new mobile number registered for it, unless another user already signs in with it.
    /// Returns the new `smsSignInState`.
    private mutating func registerForSMSSignIn(user: Int, number: String) -> String {
        guard users[user].smsSignInEnabled else { return "notAllowedByPolicy" }
        if numberUsedForSMSSignIn(number, except: user) { return "phoneNumberNotUnique" }
        smsSignIn[number, default: []].insert(user)
        return "ready"
    }

    /// PATCH /users/{id} with a new `userPrincipalName` (user-update): the name must be free.
    mutating func rename(user: Int, to upn: String) throws(Failure) {
        if let other = byUPN[upn.lowercased()], other != user {
            throw .badRequest("Another object with the same value for property userPrincipalName already exists.")
        }
        users[user].userPrincipalName = upn
        reindex()
    }

    /// PATCH …/phoneMethods/{id}.
    mutating func updatePhone(user: Int, methodId: String, number: String?, type: String?) throws(Failure) -> PhoneMethodState {
        guard let slot = PhoneSlot(methodId: methodId), var method = users[user].phones[slot] else {
            throw .notFound("The phone method '\(methodId)' was not found for this user.")
        }
        if let type, type != slot.rawValue {
            throw .badRequest("The phoneType of an existing phone method cannot be changed (from '\(slot.rawValue)' to '\(type)').")
        }
        if let number {
            guard let canonical = PhoneFormat.canonical(number) else { throw .badRequest(PhoneFormat.invalidMessage) }
            if method.smsSignInState == "ready" { smsSignIn[method.number]?.remove(user) }
            method.number = canonical
            if slot == .mobile { method.smsSignInState = registerForSMSSignIn(user: user, number: canonical) }
        }
        users[user].phones[slot] = method
        return method
    }

    /// DELETE …/phoneMethods/{id}.
    /// Issues a Temporary Access Pass: "a user can only have one Temporary Access Pass that's
    /// usable within its specified lifetime … the previous Temporary Access Pass will be deleted,
    /// and a new Temporary Access Pass will be created" (temporaryaccesspassauthenticationmethod
    /// create, learn.microsoft.com).
    mutating func issuePass(user: Int, lifetimeInMinutes: Int, isUsableOnce: Bool, now: Double) -> OtherMethodState {
        users[user].others.removeAll { $0.type == "temporaryAccessPass" }
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!@#$%&*")
        var pass = OtherMethodState(type: "temporaryAccessPass", id: UUID().uuidString.lowercased(), created: isoDate(now), isUsable: true)
        pass.lifetimeInMinutes = lifetimeInMinutes
        pass.isUsableOnce = isUsableOnce
        pass.pass = String((0..<OurChoices.temporaryAccessPassLength).map { _ in alphabet.randomElement()! })
        users[user].others.append(pass)
        return pass
    }

    mutating func deletePhone(user: Int, methodId: String) throws(Failure) {
        guard let slot = PhoneSlot(methodId: methodId), users[user].phones[slot] != nil else {
            throw .notFound("The phone method '\(methodId)' was not found for this user.")
        }
        if slot == .mobile && users[user].phones[.alternateMobile] != nil {
            throw .badRequest("The mobile phone method cannot be deleted while an alternateMobile phone method exists.")
        }
        if users[user].defaultMethod == slot.rawValue {
            throw .badRequest("The phone method is the user's default sign-in method and cannot be deleted.")
        }
        if let old = users[user].phones[slot], old.smsSignInState == "ready" { smsSignIn[old.number]?.remove(user) }
        users[user].phones[slot] = nil
    }

    /// Another user already uses `number` for SMS sign-in (409 phoneNumberNotUnique).
    func numberUsedForSMSSignIn(_ number: String, except user: Int) -> Bool {
        !(smsSignIn[number] ?? []).subtracting([user]).isEmpty
    }
}

/// Graph's phone number format, as the emulator understands it (its own code, on purpose).
enum PhoneFormat {
    static let invalidMessage = "Invalid phone number. Phone numbers must be in the format '+{country code} {subscriber number}x{extension}'."

    /// The stored form of an accepted number (`+CC NSN[xEXT]`), or nil when Graph would refuse it.
    static func canonical(_ text: String) -> String? {
        var body = Substring(text)
        var ext: Substring = ""
        if let x = body.firstIndex(where: { $0 == "x" || $0 == "X" }) {
            ext = body[body.index(after: x)...]
            body = body[..<x]
            guard !ext.isEmpty, ext.count <= 10, ext.allSatisfy(isDigit) else { return nil }
        }
        guard body.first == "+" else { return nil }
        body = body.dropFirst()
        let suffix = ext.isEmpty ? "" : "x" + ext
        if let space = body.firstIndex(of: " ") {
            let code = body[..<space], nsn = body[body.index(after: space)...]
            guard !code.isEmpty, code.count <= 3, code.allSatisfy(isDigit), code.first != "0",
                  !nsn.isEmpty, nsn.allSatisfy(isDigit), code.count + nsn.count <= 15, nsn.count >= 4 else { return nil }
            return "+\(code) \(nsn)" + suffix
        }
        guard OurChoices.acceptsCompactE164, body.allSatisfy(isDigit), body.count >= 7, body.count <= 15,
              let codeLength = callingCodeLength(body) else { return nil }
        return "+\(body.prefix(codeLength)) \(body.dropFirst(codeLength))" + suffix
    }

    private static func isDigit(_ c: Character) -> Bool { c.isASCII && c.isNumber }

    /// Length of the country calling code at the start of `digits` (ITU E.164 zones:
    /// codes are prefix-free), or nil when the digits start no code.
    static func callingCodeLength(_ digits: Substring) -> Int? {
        guard let first = digits.first, first != "0" else { return nil }
        if first == "1" || first == "7" { return 1 }
        let two = Int(digits.prefix(2)) ?? 0
        let twoDigitCodes: Set<Int> = [
            20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55, 56, 57, 58,
            60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98,
        ]
        return twoDigitCodes.contains(two) ? 2 : 3
    }
}
