import Foundation

extension Planner {
    // MARK: - The takeover guard's reads (once per plan)

    /// Reads what the risk checks need from Graph: the Entra audit log's changes to users'
    /// MFA methods in the window (made by anyone but this app), and the users Entra ID
    /// Protection has at risk. Each is optional: without its permission (or when Graph refuses
    /// it) the check says it was skipped, in the plan's notes.
    func readRiskContext(granted: Set<String>?, now: Date) async throws -> (context: RiskContext, notes: [String]) {
        let policy = job.risk
        var context = RiskContext(policy: policy)
        var notes: [String] = []
        let reader = GraphReader(client: client)
        func allowed(_ need: GraphNeed) -> Bool {
            guard let granted else { return true }
            return need.permissions.contains(where: granted.contains)
        }
        if policy.recentChange != .off {
            let days = policy.recentChangeDays
            if !allowed(.readAuditLog) {
                notes.append("Risk check recent-change: the Entra audit log was not read (grant \(GraphNeed.readAuditLog.toGrant) and Directory.Read.All to see who changed users' MFA methods in the last \(days) days); only the changes PhoneShift saw itself are found.")
            } else {
                let since = JobStore.timestamp(now.addingTimeInterval(-Double(days) * 86_400))
                let filter = "activityDateTime ge \(since) and loggedByService eq 'Authentication Methods'"
                let path = "/auditLogs/directoryAudits?$filter=" + (filter.addingPercentEncoding(withAllowedCharacters: Self.queryAllowed) ?? filter)
                var changes: [String: [AuditedMethodChange]] = [:]
                let clientId = client.settings.clientId.lowercased()
                let failure = try await reader.pages(path) { page in
                    for item in page { if let (user, change) = Self.auditedChange(item, ourAppId: clientId) { changes[user, default: []].append(change) } }
                }
                if let failure {
                    notes.append("Risk check recent-change: the Entra audit log could not be read (\(Self.describe(failure))); only the changes PhoneShift saw itself are found.")
                } else {
                    context.auditedChanges = changes
                }
            }
        }
        if policy.riskyUser != .off {
            if !allowed(.readRiskyUsers) {
                notes.append("Risk check risky-user: skipped (grant \(GraphNeed.readRiskyUsers.toGrant) to hold or warn about users Entra ID Protection has at risk).")
            } else {
                let filter = "riskState eq 'atRisk' or riskState eq 'confirmedCompromised'"
                let path = "/identityProtection/riskyUsers?$filter=" + (filter.addingPercentEncoding(withAllowedCharacters: Self.queryAllowed) ?? filter)
                var risky: [String: RiskyUserState] = [:]
                let failure = try await reader.pages(path) { page in
                    for item in page {
                        guard let id = item["id"] as? String, item["isDeleted"] as? Bool != true else { continue }
                        let state = item["riskState"] as? String ?? "atRisk"
                        guard state == "atRisk" || state == "confirmedCompromised" else { continue }
                        risky[id.lowercased()] = RiskyUserState(level: item["riskLevel"] as? String ?? "hidden", state: state)
                    }
                }
                if let failure {
                    notes.append("Risk check risky-user: skipped, Graph refused the read of risky users (\(Self.describe(failure))).")
                } else {
                    context.riskyUsers = risky
                }
            }
        }
        return (context, notes)
    }

    static let queryAllowed: CharacterSet = {
        var set = CharacterSet.alphanumerics
        set.insert(charactersIn: "-._~':")
        return set
    }()

    /// The audit-log activities that change a user's MFA methods (Microsoft Entra audit log
    /// categories and activities, UserManagement: "Admin registered security info", …).
    static let methodActivities: Set<String> = [
        "admin registered security info", "admin updated security info", "admin deleted security info",
        "user registered security info", "user updated security info", "user deleted security info",
        "user changed default security info",
    ]

    /// The user a directoryAudit item changed and what it says, when it is a successful change
    /// of MFA methods made by someone other than this app.
    static func auditedChange(_ item: [String: Any], ourAppId: String) -> (String, AuditedMethodChange)? {
        guard let activity = item["activityDisplayName"] as? String, methodActivities.contains(activity.lowercased()) else { return nil }
        if let result = item["result"] as? String, result.lowercased() != "success" { return nil }
        let initiator = item["initiatedBy"] as? [String: Any]
        let app = initiator?["app"] as? [String: Any]
        if let appId = app?["appId"] as? String, appId.lowercased() == ourAppId { return nil }
        let user = initiator?["user"] as? [String: Any]
        let by = (user?["userPrincipalName"] as? String) ?? (app?["displayName"] as? String).map { "app \($0)" } ?? "someone not named"
        let targets = item["targetResources"] as? [[String: Any]] ?? []
        guard let target = targets.first(where: { ($0["type"] as? String)?.lowercased() == "user" }), let id = target["id"] as? String else { return nil }
        return (id.lowercased(), AuditedMethodChange(time: item["activityDateTime"] as? String ?? "", activity: activity, by: by))
    }

    // MARK: - The checks across rows

    /// Once every row is read: one new number on several users, a number that is another
    /// user's (in this plan's reads and what the store knew), and numbers changed since
    /// PhoneShift last saw them within the window. Findings are applied to their rows (held or
    /// warned) and the numbers this plan read are recorded for the next plans.
    func markCrossRowRisks(plan: Int, now: Date) async throws {
        let policy = job.risk
        let cutoff = JobStore.timestamp(now.addingTimeInterval(-Double(policy.recentChangeDays) * 86_400))
        var found: [Int: [RiskFinding]] = [:]
        if policy.recentChange != .off {
            for (line, finding) in try await store.changedSinceSeen(plan: plan, cutoff: cutoff, days: policy.recentChangeDays) {
                found[line, default: []].append(finding)
            }
        }
        try await store.recordTenantNumbers(plan: plan)
        if policy.sharedNumber != .off {
            for (line, finding) in try await store.sharedNewNumbers(plan: plan) { found[line, default: []].append(finding) }
        }
        if policy.anotherUsersNumber != .off {
            for (line, finding) in try await store.anotherUsersNumbers(plan: plan) { found[line, default: []].append(finding) }
        }
        guard !found.isEmpty else { return }
        let lines = found.keys.sorted()
        for start in stride(from: 0, to: lines.count, by: 500) {
            let chunk = Array(lines[start..<min(start + 500, lines.count)])
            let rows = try await store.rows(plan: plan, lines: chunk)
            let updated = rows.map { row -> PlanRow in
                // The audit log's finding on the same user says more than the store's history.
                let findings = (found[row.line] ?? []).filter { !(row.risks.contains(.recentChange) && $0.check == .recentChange) }
                return RiskChecks.apply(findings, to: row, policy: policy)
            }
            try await store.savePlannedRows(updated, plan: plan)
        }
    }
}
