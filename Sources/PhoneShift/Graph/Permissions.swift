import Foundation

/// What a job needs from Microsoft Graph, and the application permissions that allow each
/// (least privileged first, from each API's permissions table on learn.microsoft.com).
public enum GraphNeed: String, Sendable, CaseIterable {
    case readUsers, readPhoneMethods, readAllMethods, writePhoneMethods, readRoleAssignments, readRoleEligibility, readGroupMembers
    /// `GET /directoryObjects/{id}`: only when a role assignment comes back without its principal.
    case readDirectoryObjects
    /// PIM for Groups: who may activate membership or ownership of a role-holding group.
    case readGroupEligibility
    /// Restricted management administrative units and their members (optional: without it,
    /// protected users are found when Graph refuses their write).
    case readAdministrativeUnits
    /// Issue Temporary Access Passes (temporaryaccesspassauthenticationmethod-post).
    case writePasses
    /// The takeover guard (optional): who changed users' MFA methods lately (directoryAudit-list).
    case readAuditLog
    /// The takeover guard (optional): users Entra ID Protection has at risk (riskyuser-list).
    case readRiskyUsers

    public var permissions: [String] {
        switch self {
        case .readUsers: ["User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"]
        case .readPhoneMethods: ["UserAuthMethod-Phone.Read.All", "UserAuthMethod-Phone.ReadWrite.All",
                                 "UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All"]
        case .readAllMethods: ["UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All"]
        case .writePhoneMethods: ["UserAuthenticationMethod.ReadWrite.All", "UserAuthMethod-Phone.ReadWrite.All"]
        case .readRoleAssignments: ["RoleManagement.Read.Directory", "RoleManagement.Read.All", "Directory.Read.All",
                                    "RoleManagement.ReadWrite.Directory", "Directory.ReadWrite.All"]
        case .readRoleEligibility: ["RoleManagement.Read.Directory", "RoleEligibilitySchedule.Read.Directory",
                                    "RoleEligibilitySchedule.ReadWrite.Directory", "RoleManagement.Read.All", "RoleManagement.ReadWrite.Directory"]
        case .readGroupMembers: ["GroupMember.Read.All", "Group.Read.All", "Directory.Read.All", "GroupMember.ReadWrite.All",
                                 "Group.ReadWrite.All", "Directory.ReadWrite.All"]
        // directoryobject-get: Directory.Read.All; no higher permission is listed.
        case .readDirectoryObjects: ["Directory.Read.All"]
        // privilegedaccessgroup-list-eligibilityschedules (application): these two only.
        case .readGroupEligibility: ["PrivilegedEligibilitySchedule.Read.AzureADGroup", "PrivilegedEligibilitySchedule.ReadWrite.AzureADGroup"]
        // directory-list-administrativeunits, administrativeunit-list-members.
        case .readAdministrativeUnits: ["AdministrativeUnit.Read.All", "AdministrativeUnit.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"]
        // authentication-post-temporaryaccesspassmethods (application).
        case .writePasses: ["UserAuthMethod-TAP.ReadWrite.All", "UserAuthenticationMethod.ReadWrite.All"]
        // directoryaudit-list (application): AuditLog.Read.All, with Directory.Read.All beside it.
        case .readAuditLog: ["AuditLog.Read.All"]
        // riskyuser-list (application).
        case .readRiskyUsers: ["IdentityRiskyUser.Read.All", "IdentityRiskyUser.ReadWrite.All"]
        }
    }

    /// The permission to ask for (least privileged that covers the whole job's need).
    public var toGrant: String {
        switch self {
        case .writePhoneMethods: "UserAuthMethod-Phone.ReadWrite.All"
        case .readPhoneMethods: "UserAuthMethod-Phone.Read.All"
        default: permissions[0]
        }
    }

    var purpose: String {
        switch self {
        case .readUsers: "find the users the sheet names"
        case .readPhoneMethods: "read users' phone numbers"
        case .readAllMethods: "see users' other MFA methods"
        case .writePhoneMethods: "change phone numbers"
        case .readRoleAssignments: "find admin accounts (active role assignments)"
        case .readRoleEligibility: "find admin accounts (PIM-eligible roles)"
        case .readGroupMembers: "find admins who hold a role through a group"
        case .readDirectoryObjects: "tell what kind of account holds a role when Graph did not say"
        case .readGroupEligibility: "find admins in waiting: users PIM-eligible to join or own a group that holds a role"
        case .readAdministrativeUnits: "find users in restricted management administrative units before anything is written"
        case .writePasses: "issue Temporary Access Passes"
        case .readAuditLog: "see who changed users' MFA methods lately (the takeover guard; Directory.Read.All too)"
        case .readRiskyUsers: "see users Entra ID Protection has at risk (the takeover guard)"
        }
    }

    /// Where an admin grants it, as a message names it.
    static func grantHint(_ needs: [GraphNeed], clientId: String, wroteNothing: Bool = true) -> String {
        let names = needs.map(\.toGrant)
        return "Grant \(names.joined(separator: " and ")) to app \(clientId): Microsoft Entra admin center › Identity › Applications › App registrations › (the app) › API permissions › Add a permission › Microsoft Graph › Application permissions, then \"Grant admin consent\"." + (wroteNothing ? " Nothing was written." : "")
    }

    static func missingError(_ needs: [GraphNeed], clientId: String, detail: String? = nil, wroteNothing: Bool = true) -> PhoneShiftError {
        let list = needs.map { "\($0.toGrant) (to \($0.purpose); any of \($0.permissions.joined(separator: ", ")) will do)" }
        var text = "the app lacks the application permission" + (needs.count > 1 ? "s " : " ") + list.joined(separator: "; ")
        if let detail { text += " — Graph said: \(detail)" }
        return PhoneShiftError(.permissionMissing, text + ". " + grantHint(needs, clientId: clientId, wroteNothing: wroteNothing))
    }
}

/// The check that runs before the first row: the token's `roles` claim, then one real read.
public struct PermissionCheck: Sendable {
    public struct Outcome: Sendable {
        /// `/authentication/methods` may be read (else phones only: other methods unknown).
        public var listsAllMethods: Bool
    }

    let client: GraphClient

    /// Throws `PhoneShiftError(.permissionMissing)` naming what to grant when a need is not met.
    /// `readAllMethods` is optional: without it plan reads phone methods only. The real read
    /// is of `probeUser`'s phone methods, or of the first user `/users` lists.
    /// `probeMethods: false` (delta plans) skips the probe read of a user's phone methods when
    /// the token lists its permissions: the plan's first real read is the probe then.
    func verify(_ needs: [GraphNeed], probeUser: String? = nil, cloudListsMethods: Bool = true, probeMethods: Bool = true) async throws -> Outcome {
        let granted = try await client.grantedPermissions()
        var allMethods = cloudListsMethods && needs.contains(.readPhoneMethods)
        if let granted {
            let missing = needs.filter { need in !need.permissions.contains(where: granted.contains) }
            if !missing.isEmpty { throw GraphNeed.missingError(missing, clientId: client.settings.clientId) }
            if !GraphNeed.readAllMethods.permissions.contains(where: granted.contains) { allMethods = false }
        }
        // One real read of each kind the job relies on: a token can carry a permission whose
        // consent was withdrawn, and an opaque token says nothing.
        var user = probeUser
        if needs.contains(.readUsers) {
            let probe = try await client.send("GET", "/users?$top=1&$select=id")
            if probe.status == 403 {
                throw GraphNeed.missingError([.readUsers], clientId: client.settings.clientId, detail: Self.describe(probe))
            }
            user = user ?? (probe.object["value"] as? [[String: Any]])?.first?["id"] as? String
        }
        if let user, needs.contains(.readPhoneMethods), probeMethods || granted == nil {
            let phones = try await client.send("GET", GraphReader.userPath(user) + "/authentication/phoneMethods")
            if phones.status == 403 {
                throw GraphNeed.missingError([.readPhoneMethods], clientId: client.settings.clientId, detail: Self.describe(phones))
            }
        }
        return Outcome(listsAllMethods: allMethods)
    }

    static func describe(_ r: GraphResponse) -> String {
        let error = r.failure()
        return "\(error.code ?? "HTTP \(r.status)"): \(Sanitize.forMessage(error.message))" + (r.requestId.map { " (request-id \($0))" } ?? "")
    }
}
