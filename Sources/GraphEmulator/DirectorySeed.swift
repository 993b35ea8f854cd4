import Foundation

/// The JSON file that seeds the emulator's tenant (`Samples/directory.json`).
/// This is the emulator's own format, not Graph's.
public struct DirectorySeed: Codable, Sendable {
    public struct Tenant: Codable, Sendable {
        public var id: String
        public var displayName: String
        public var domain: String?
        /// The tenant has a Microsoft Entra ID P2 or Governance licence (PIM). Absent: it has.
        /// Without one, every PIM read answers 400 `AadPremiumLicenseRequired`.
        public var entraIdP2: Bool?
        /// The tenant has Microsoft Entra ID P1 (or P2): the authentication-methods reports
        /// need it. Absent: it has. Without one, `userRegistrationDetails` answers 403.
        public var entraIdP1: Bool?
    }
    public struct PhoneMethodSeed: Codable, Sendable {
        public var phoneType: String
        public var phoneNumber: String
        public var smsSignInState: String?
        public init(phoneType: String, phoneNumber: String, smsSignInState: String? = nil) {
            self.phoneType = phoneType
            self.phoneNumber = phoneNumber
            self.smsSignInState = smsSignInState
        }
    }
    public struct OtherMethodSeed: Codable, Sendable {
        /// password, email, microsoftAuthenticator, fido2, softwareOath,
        /// temporaryAccessPass, windowsHelloForBusiness
        public var type: String
        public var displayName: String?
        public var emailAddress: String?
        /// A Temporary Access Pass that can sign in now (absent: expired, as most are).
        public var isUsable: Bool?
        public init(type: String, displayName: String? = nil, emailAddress: String? = nil, isUsable: Bool? = nil) {
            self.type = type
            self.displayName = displayName
            self.emailAddress = emailAddress
            self.isUsable = isUsable
        }
    }
    public struct UserSeed: Codable, Sendable {
        public var id: String
        public var userPrincipalName: String
        public var displayName: String
        public var mail: String?
        public var employeeId: String?
        public var accountEnabled: Bool?
        public var userType: String?
        public var usageLocation: String?
        public var phoneMethods: [PhoneMethodSeed]?
        public var otherMethods: [OtherMethodSeed]?
        /// Directory role display names held actively, e.g. "Global Administrator".
        public var roles: [String]?
        /// The user's default MFA method (`mobile`, `alternateMobile`, `office`, …).
        public var defaultMethod: String?
        /// Roles the user is only PIM-eligible for (not a member until activated).
        public var eligibleRoles: [String]? = nil
        /// Enabled for SMS sign-in by the authentication-methods policy.
        public var smsSignInEnabled: Bool? = nil
        /// The first this many reads of the user answer 202 Accepted (background work pending).
        public var acceptedReads: Int? = nil
        /// The first this many reads of the user (or their methods) answer 503: Graph could not
        /// serve them for the moment (a test of rows plan could not read).
        public var unavailableReads: Int? = nil
        /// Entra ID Protection's view of the user (riskyUser): `atRisk`, `confirmedCompromised`,
        /// `remediated`, `dismissed`, `confirmedSafe`; absent: not risky.
        public var riskState: String? = nil
        /// `low`, `medium`, `high`, `hidden` (with riskState).
        public var riskLevel: String? = nil
    }
    /// An entry of the Entra audit log already there when the emulator starts: a change of a
    /// user's MFA methods by a person (an admin in the portal, or the user).
    public struct AuditEventSeed: Codable, Sendable {
        /// The user whose methods changed (object id).
        public var userId: String
        /// `Admin updated security info`, `User registered security info`, …
        public var activity: String?
        /// How long before the emulator started it happened.
        public var hoursAgo: Double
        /// Who did it (a UPN); absent with `initiatedByApp`.
        public var initiatedByUser: String?
        /// An app that did it (its display name).
        public var initiatedByApp: String?
        public init(userId: String, activity: String? = nil, hoursAgo: Double, initiatedByUser: String? = nil, initiatedByApp: String? = nil) {
            self.userId = userId
            self.activity = activity
            self.hoursAgo = hoursAgo
            self.initiatedByUser = initiatedByUser
            self.initiatedByApp = initiatedByApp
        }
    }
    /// A group. A role-assignable group may hold directory roles; its members (users or
    /// other groups, by id) then hold them too.
    public struct GroupSeed: Codable, Sendable {
        public var id: String
        public var displayName: String
        public var isAssignableToRole: Bool?
        public var members: [String]
        public var roles: [String]?
        public var eligibleRoles: [String]?
        /// Current owners (user ids).
        public var owners: [String]?
        /// PIM for Groups: principals eligible to become a member, or an owner, of the group
        /// (not members until they activate).
        public var eligibleMembers: [String]?
        public var eligibleOwners: [String]?
        public init(id: String, displayName: String, isAssignableToRole: Bool? = true, members: [String],
                    roles: [String]? = nil, eligibleRoles: [String]? = nil, owners: [String]? = nil,
                    eligibleMembers: [String]? = nil, eligibleOwners: [String]? = nil) {
            self.id = id
            self.displayName = displayName
            self.isAssignableToRole = isAssignableToRole
            self.members = members
            self.roles = roles
            self.eligibleRoles = eligibleRoles
            self.owners = owners
            self.eligibleMembers = eligibleMembers
            self.eligibleOwners = eligibleOwners
        }
    }
    /// An administrative unit. Members of one with `isMemberManagementRestricted` cannot be
    /// changed by an application, whatever its permissions (admin-units-restricted-management).
    public struct AdministrativeUnitSeed: Codable, Sendable {
        public var id: String
        public var displayName: String
        public var isMemberManagementRestricted: Bool?
        /// Direct members: user or group ids.
        public var members: [String]
        public init(id: String, displayName: String, isMemberManagementRestricted: Bool? = true, members: [String]) {
            self.id = id
            self.displayName = displayName
            self.isMemberManagementRestricted = isMemberManagementRestricted
            self.members = members
        }
    }

    public var tenant: Tenant
    public var users: [UserSeed]
    public var groups: [GroupSeed]? = nil
    public var administrativeUnits: [AdministrativeUnitSeed]? = nil
    public var auditEvents: [AuditEventSeed]? = nil

    /// Reads a seed file; the error names the file and what is wrong.
    public static func load(path: String) throws -> DirectorySeed {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EmulatorError("cannot read the directory file '\(path)'")
        }
        do {
            return try JSONDecoder().decode(DirectorySeed.self, from: data)
        } catch {
            throw EmulatorError("the directory file '\(path)' is not a valid seed: \(error)")
        }
    }
}

/// A start-up error of the emulator, for people.
public struct EmulatorError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
