import Foundation
import Logging

/// The result of planning. The rows themselves are in the job store; `changesPreview` and
/// `attentionPreview` hold the first few of each for the screen.
public struct PlanResult: Sendable {
    public var planId: Int
    public var rowCount: Int
    public var counts: [PlanAction: Int]
    public var validation: ValidationSummary
    /// Rows whose user could not be read (network or permission trouble).
    public var readErrors: Int
    /// Changes that also change the user's SMS sign-in number.
    public var smsSignInChanges: Int = 0
    /// Other MFA methods were read (false: phone permissions only, or a cloud without them).
    public var checkedOtherMethods = true
    public var changesPreview: [PlanRow]
    public var attentionPreview: [PlanRow]
    public var changes: Int { (counts[.update] ?? 0) + (counts[.add] ?? 0) }
}

extension PlanRow {
    /// The row, settled at plan time: nothing to write.
    func settled(_ action: PlanAction, _ reason: String? = nil, errorCode: String? = nil) -> PlanRow {
        var row = self
        row.action = action
        row.state = .done
        row.outcome = action == .skipped ? "skipped" : action.rawValue
        if let reason { row.reason = reason }
        if let errorCode { row.errorCode = errorCode }
        return row
    }
}

/// Two numbers in Graph's form are the same number (spaces and the case of `x` aside).
func sameNumber(_ a: String?, _ b: String?) -> Bool {
    guard let a, let b else { return a == nil && b == nil }
    func key(_ s: String) -> String { s.lowercased().filter { $0 != " " } }
    return key(a) == key(b)
}

/// `phoneshift plan`: reads each row's user and current numbers from Graph (read-only) and
/// decides per row; stores the plan with the sheet's fingerprint and each row's before value.
public struct Planner: Sendable {
    public let job: JobDefinition
    public let client: GraphClient
    public let store: JobStore
    public let logger: Logger

    public init(job: JobDefinition, client: GraphClient, store: JobStore, logger: Logger) {
        self.job = job
        self.client = client
        self.store = store
        self.logger = logger
    }

    /// Plans the job. Rows stream: the sheet goes to the store in batches as it is validated,
    /// then the rows whose users must be read are taken from the store page by page, so
    /// memory stays flat whatever the sheet's size. A plan interrupted half-way is never
    /// used (`latestPlan` only sees finished plans).
    public func plan(previewLimit: Int = 20) async throws -> PlanResult {
        let options = try job.validationOptions()
        let sheet = job.sheet.path
        let store = self.store
        let phoneType = job.phoneType
        let hash = try await runOnThread { try SHA256.hexDigest(ofFile: sheet) }
        let planId = try await store.beginPlan(sheetPath: sheet, sheetHash: hash, phoneType: phoneType, settings: job.planSettings)
        // Validation is blocking file and CPU work: on its own thread, off the cooperative pool.
        let logger = self.logger
        let validation = try await runOnThread { () throws -> ValidationSummary in
            var batch: [PlanRow] = []
            let summary = try SheetValidator(options: options, logger: logger).validate(path: sheet) { outcome in
                batch.append(Self.sheetRow(outcome, phoneType: phoneType))
                if batch.count == 1000 {
                    try blocking { [batch] in try await store.insertPlanRows(batch, plan: planId) }
                    batch.removeAll(keepingCapacity: true)
                }
            }
            try blocking { [batch] in try await store.insertPlanRows(batch, plan: planId) }
            return summary
        }
        try await client.authenticate()
        // Permissions before any row: what plan needs, from the token and one real read.
        var needs: [GraphNeed] = [.readUsers, .readPhoneMethods]
        if !job.policy.allowPrivileged { needs += [.readRoleAssignments, .readRoleEligibility] }
        let permissions = try await PermissionCheck(client: client)
            .verify(needs, cloudListsMethods: job.tenant.cloud.listsAuthenticationMethods)
        if !permissions.listsAllMethods {
            logger.notice("other MFA methods are not read (\(job.tenant.cloud.listsAuthenticationMethods ? "the app holds phone-method permissions only" : "not available in this cloud")): the plan cannot warn about users whose phone is their only MFA method")
        }

        let reader = GraphReader(client: client, listsAllMethods: permissions.listsAllMethods)
        var privileged: [String: [String]] = [:]
        switch try await reader.privilegedUsers() {
        case .success(let map): privileged = map
        case .failure(let failure):
            if !job.policy.allowPrivileged {
                let error = failure.error
                if error.status == 403 {
                    throw GraphNeed.missingError([failure.need], clientId: client.settings.clientId,
                                                 detail: "\(error.code ?? "403"): \(Sanitize.forMessage(error.message))")
                }
                throw PhoneShiftError(.badSetting, "cannot read who holds directory roles, so admin accounts cannot be recognised (\(error)); nothing was planned. Grant RoleManagement.Read.Directory and GroupMember.Read.All, or set policy.allowPrivileged: true to include admins knowingly")
            }
        }

        let allowPrivileged = job.policy.allowPrivileged
        let concurrency = job.rate.concurrency
        let roles = privileged
        var afterLine = 0
        while true {
            let page = try await store.rowsToRead(plan: planId, after: afterLine, limit: 500)
            guard let last = page.last else { break }
            afterLine = last.line
            var planned = [PlanRow?](repeating: nil, count: page.count)
            try await withThrowingTaskGroup(of: (Int, PlanRow).self) { group in
                var next = 0, finished = 0
                while next < page.count || !group.isEmpty {
                    while next < page.count && next - finished < concurrency {
                        let index = next, row = page[index]
                        next += 1
                        group.addTask {
                            (index, try await Self.resolve(row, reader: reader, privileged: roles, allowPrivileged: allowPrivileged))
                        }
                    }
                    guard let (index, row) = try await group.next() else { break }
                    planned[index] = row
                    finished += 1
                }
            }
            try await store.savePlannedRows(planned.map { $0! }, plan: planId)
        }
        // One user named two ways (UPN here, object id or e-mail there) is only visible now.
        let conflicts = try await store.markSameUserRows(plan: planId)
        if conflicts > 0 { logger.warning("\(conflicts) rows name a user that another row names with a different number: marked conflict") }
        try await store.completePlan(planId, sheetPath: sheet)
        let counts = try await store.actionCounts(plan: planId)
        var result = PlanResult(planId: planId, rowCount: counts.values.reduce(0, +), counts: counts, validation: validation,
                                readErrors: try await store.readErrorCount(plan: planId),
                                changesPreview: try await store.rows(plan: planId, actions: [.update, .add], limit: previewLimit),
                                attentionPreview: try await store.rows(plan: planId, actions: [.conflict, .blocked, .userNotFound, .skipped, .invalid], limit: 10))
        result.smsSignInChanges = try await store.smsSignInChanges(plan: planId)
        result.checkedOtherMethods = permissions.listsAllMethods
        return result
    }

    /// What the sheet alone decides for a row: settled (invalid, nothing to change, a
    /// duplicate) or still to be read from Graph.
    static func sheetRow(_ o: RowOutcome, phoneType: PhoneType) -> PlanRow {
        var row = PlanRow(line: o.line, user: o.user, phoneType: phoneType, target: o.phone, action: .toRead,
                          reason: o.reason, state: .pending, outcome: nil)
        row.userKind = o.userKind
        switch o.status {
        case .invalid, .conflict: return row.settled(.invalid)
        case .ok, .warning: break
        }
        if o.phone == nil { return row.settled(.skipped, "no number given; nothing to change") }
        if o.codes.contains(RowFinding.Code.duplicateRow.rawValue) { return row.settled(.skipped) }
        return row
    }

    /// Reads a row's user and current numbers from Graph and decides its action.
    static func resolve(_ sheetRow: PlanRow, reader: GraphReader,
                        privileged: [String: [String]], allowPrivileged: Bool) async throws -> PlanRow {
        var row = sheetRow
        let phoneType = row.phoneType
        let user = row.user, target = row.target, sheetReason = row.reason
        let kind = row.userKind ?? .userPrincipalName
        switch try await reader.resolve(user, kind: kind) {
        case .notFound:
            return row.settled(.userNotFound, "no user '\(Sanitize.forMessage(user))' in the directory")
        case .ambiguous(let count):
            return row.settled(.blocked, "\(count) users match \(kind.label) '\(Sanitize.forMessage(user))'; use a UPN or object id")
        case .failed(let error):
            return row.settled(.skipped, "could not read the user from Graph: \(error)", errorCode: error.code ?? error.status.map(String.init))
        case .found(let found):
            row.userId = found.id
            row.userPrincipalName = found.userPrincipalName
            row.displayName = found.displayName
            row.mail = found.mail
        }
        let userId = row.userId!
        switch try await reader.methods(of: userId) {
        case .failure(let error):
            return row.settled(.skipped, "could not read the user's authentication methods: \(error)",
                               errorCode: error.code ?? error.status.map(String.init))
        case .success(let methods):
            let live = methods.phones[phoneType]
            row.before = live
            var notes: [String] = []
            if !sheetReason.isEmpty { notes.append(sheetReason) }
            if phoneType == .mobile, let state = methods.smsSignIn[.mobile] { row.smsSignIn = state }
            if let roles = privileged[userId.lowercased()], !roles.isEmpty, !allowPrivileged {
                let named = roles.prefix(3).map { Sanitize.forMessage($0) }.joined(separator: ", ") + (roles.count > 3 ? ", …" : "")
                return row.settled(.blocked, "privileged account (\(named)); set policy.allowPrivileged: true to include it")
            }
            if sameNumber(live, target) {
                row = row.settled(.unchanged)
            } else if live == nil {
                if phoneType == .alternateMobile && methods.phones[.mobile] == nil {
                    return row.settled(.blocked, "an alternate mobile needs a mobile number first; add the mobile number in an earlier job")
                }
                row.action = .add
                row.state = .pending
            } else {
                row.action = .update
                row.state = .pending
            }
            if let others = methods.others,
               others.filter({ $0 != "passwordAuthenticationMethod" && $0 != "emailAuthenticationMethod" }).isEmpty {
                notes.append("the user has no MFA method besides phones")
            }
            if row.action == .update, PlanRow.smsSignInFollows(row.smsSignIn) {
                notes.append("the user signs in by SMS: their sign-in number changes too")
            }
            row.reason = notes.joined(separator: "; ")
            return row
        }
    }
}

