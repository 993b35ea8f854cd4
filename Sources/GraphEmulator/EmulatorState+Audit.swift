import Foundation

/// One entry of the Entra audit log about a user's authentication methods (directoryAudit).
struct AuditEntry: Sendable {
    var id: String
    var time: Double
    var activity: String
    var userId: String
    var userPrincipalName: String
    var displayName: String
    /// A person who did it (UPN), or an app (its id and name).
    var byUser: String?
    var byApp: (appId: String, name: String)?
}

/// The audit log and Entra ID Protection's risky users.
extension EmulatorState {
    /// Graph writes an audit entry for each change an admin or app makes to a user's methods
    /// (Microsoft Entra audit log categories and activities: UserManagement, "Admin registered
    /// security info", "Admin updated security info", "Admin deleted security info"; logged
    /// by the service "Authentication Methods"). OurChoices.auditLogDelay: at once.
    mutating func recordAudit(_ activity: String, user index: Int, now: Double) {
        let user = tenant.users[index]
        audits.append(AuditEntry(id: UUID().uuidString.lowercased(), time: now, activity: activity, userId: user.id,
                                 userPrincipalName: user.userPrincipalName, displayName: user.displayName, byUser: nil,
                                 byApp: (appId: callingApp, name: OurChoices.callingAppDisplayName)))
    }

    /// `GET /auditLogs/directoryAudits` (directoryaudit-list): AuditLog.Read.All with
    /// Directory.Read.All (application); `$filter` on activityDateTime (ge, le),
    /// loggedByService, category and activityDisplayName (eq), joined by `and`; newest first.
    func directoryAudits(params: [String: String], base: String, context: CallContext) -> CallResult {
        guard hasPermission(["AuditLog.Read.All"]), hasPermission(["Directory.Read.All", "Directory.ReadWrite.All"]) else {
            return directoryDenied(context)
        }
        var clauses: [(field: String, op: String, value: String)] = []
        if let filter = params["$filter"] {
            for part in filter.components(separatedBy: " and ") {
                let words = part.trimmingCharacters(in: .whitespaces).split(separator: " ", maxSplits: 2).map(String.init)
                guard words.count == 3, ["activityDateTime", "loggedByService", "category", "activityDisplayName"].contains(words[0]),
                      words[0] == "activityDateTime" ? ["ge", "le"].contains(words[1]) : words[1] == "eq" else {
                    return CallResult(response: error(400, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause specified for property '\(words.first ?? part)' of resource 'directoryAudit'.", context: context))
                }
                clauses.append((words[0], words[1], words[2].trimmingCharacters(in: CharacterSet(charactersIn: "'"))))
            }
        }
        let matching = audits.reversed().filter { entry in
            clauses.allSatisfy { c in
                switch c.field {
                case "activityDateTime":
                    guard let when = parseISODate(c.value) else { return false }
                    return c.op == "ge" ? entry.time >= when : entry.time <= when
                case "loggedByService": return c.value == "Authentication Methods"
                case "category": return c.value == "UserManagement"
                default: return c.value == entry.activity
                }
            }
        }
        return page(matching.map(auditJSON), path: "auditLogs/directoryAudits", context: "auditLogs/directoryAudits", params: params, base: base, call: context)
    }

    func auditJSON(_ e: AuditEntry) -> JSON {
        let initiator: JSON
        if let app = e.byApp {
            initiator = .object([("app", .object([("appId", .string(app.appId)), ("displayName", .string(app.name)),
                                                  ("servicePrincipalId", .string(stableUUID("sp:" + app.appId))), ("servicePrincipalName", .null)])),
                                 ("user", .null)])
        } else {
            initiator = .object([("app", .null),
                                 ("user", .object([("id", .string(stableUUID("user:" + (e.byUser ?? "")))), ("displayName", .null),
                                                   ("userPrincipalName", .string(e.byUser ?? "")), ("ipAddress", .string("203.0.113.7"))]))])
        }
        let operation = e.activity.contains("registered") ? "Add" : e.activity.contains("deleted") ? "Delete" : "Update"
        return .object([
            ("id", .string("Directory_" + e.id)), ("category", .string("UserManagement")), ("correlationId", .string(stableUUID("corr:" + e.id))),
            ("result", .string("success")), ("resultReason", .string("")), ("activityDisplayName", .string(e.activity)),
            ("activityDateTime", .string(isoDate(e.time))), ("loggedByService", .string("Authentication Methods")),
            ("operationType", .string(operation)), ("initiatedBy", initiator),
            ("targetResources", .array([.object([("id", .string(e.userId)), ("displayName", .string(e.displayName)), ("type", .string("User")),
                                                 ("userPrincipalName", .string(e.userPrincipalName)), ("groupType", .null),
                                                 ("modifiedProperties", .array([]))])])),
            ("additionalDetails", .array([])),
        ])
    }

    /// `GET /identityProtection/riskyUsers` (riskyuser-list): IdentityRiskyUser.Read.All;
    /// `$filter` on riskState and riskLevel (eq), joined by `or`.
    func riskyUsers(params: [String: String], base: String, context: CallContext) -> CallResult {
        guard hasPermission(["IdentityRiskyUser.Read.All", "IdentityRiskyUser.ReadWrite.All"]) else { return directoryDenied(context) }
        var wanted: [(field: String, value: String)] = []
        if let filter = params["$filter"] {
            for part in filter.components(separatedBy: " or ") {
                let words = part.trimmingCharacters(in: .whitespaces).split(separator: " ", maxSplits: 2).map(String.init)
                guard words.count == 3, ["riskState", "riskLevel"].contains(words[0]), words[1] == "eq" else {
                    return CallResult(response: error(400, "BadRequest", "Invalid filter clause '\(part)'.", context: context))
                }
                wanted.append((words[0], words[2].trimmingCharacters(in: CharacterSet(charactersIn: "'"))))
            }
        }
        let risky = tenant.users.filter { u in
            guard let state = u.riskState else { return false }
            return wanted.isEmpty || wanted.contains { $0.field == "riskState" ? $0.value == state : $0.value == (u.riskLevel ?? "hidden") }
        }
        let items: [JSON] = risky.map { u in
            .object([("id", .string(u.id)), ("isDeleted", .bool(false)), ("isProcessing", .bool(false)),
                     ("riskLastUpdatedDateTime", .string(isoDate(context.now - 86_400))), ("riskLevel", .string(u.riskLevel ?? "hidden")),
                     ("riskState", .string(u.riskState ?? "none")), ("riskDetail", .string("none")),
                     ("userDisplayName", .string(u.displayName)), ("userPrincipalName", .string(u.userPrincipalName))])
        }
        return page(items, path: "identityProtection/riskyUsers", context: "identityProtection/riskyUsers", params: params, base: base, call: context)
    }
}
