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
    /// What the plan found about the tenant as a whole (shown once, kept for the reports).
    public var notes: [String] = []
    /// The job store's key for the fingerprints of masked numbers (see `PhoneMask.maskPair`).
    public var maskKey: PhoneMask.Key = .random()
    /// Delta: rows settled from the numbers PhoneShift last applied or saw (no Graph call).
    public var settledFromKnown = 0
    /// Delta: every row was read (`--full`, or the job's `delta.fullEveryDays` came round).
    public var fullComparison = false
    /// Numbers changed outside PhoneShift, kept by `policy.changedElsewhere: keep`.
    public var changedElsewhere = 0
    /// Users of the last successful run's sheet who are not in this one (never touched).
    public var vanished: [VanishedUser] = []
    /// Safety valves that tripped and were accepted for this run.
    public var acceptedValves: [String] = []
    /// Rows the takeover guard found something on, and those it held.
    public var riskyRows = 0
    public var heldByRisk = 0
    /// The first rows with risk findings, for the screen.
    public var riskPreview: [PlanRow] = []
    /// Risk checks that could not be made (no permission, Graph refused), said once.
    public var riskNotes: [String] = []
    public var changes: Int { (counts[.update] ?? 0) + (counts[.add] ?? 0) + (counts[.remove] ?? 0) + (counts[.issuePass] ?? 0) }
}

extension PlanRow {
    /// The row, settled at plan time: nothing to write.
    func settled(_ action: PlanAction, _ reason: String? = nil, errorCode: String? = nil) -> PlanRow {
        var row = self
        row.action = action
        row.state = .done
        row.outcome = PlanRow.Outcome(settled: action)
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
    /// Delta jobs: read every row this time (a full comparison).
    public var full = false
    /// Checked once the sheet is in the store, before any Graph read.
    public var valves: SafetyValves?
    /// Delta jobs: read other MFA methods' permission from the token alone (no probe read of
    /// a user who is not in the sheet's changes); a 403 on a row's read still stops the plan.
    var probeMethods = true

    public init(job: JobDefinition, client: GraphClient, store: JobStore, logger: Logger) {
        self.job = job
        self.client = client
        self.store = store
        self.logger = logger
    }

    /// What the job says about rows, for `resolve`.
    struct Rules: Sendable {
        var privileged: [String: [String]]
        /// Users in restricted management administrative units, with the units' names.
        var restricted: [String: [String]] = [:]
        var allowPrivileged: Bool
        var policy: JobDefinition.Policy
        var delta: Bool
        var clientId: String
        /// `mode: removePhones`: each row removes the user's number, where that is safe.
        var removePhones = false
        /// `mode: issuePasses`: each phone-only user gets a Temporary Access Pass.
        var issuePasses = false
        /// The takeover guard: its settings and what was read for it.
        var risk = RiskContext()
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
        // A removePhones job's rows name users only: each one's number goes (where it is safe).
        let blankRemoves = job.policy.blankRemovesNumber || job.mode != .setNumbers
        try InputFile.checkSheet(sheet, allowPipe: false)
        // The digest is recorded once the sheet was read: of the bytes validated, not of a
        // read before them (the file could change between two reads).
        let planId = try await store.beginPlan(sheetPath: sheet, sheetHash: "", phoneType: phoneType, settings: job.planSettings)
        // Validation is blocking file and CPU work: on its own thread, off the cooperative pool.
        // Its rows come here through a stream, a few batches at most in flight, and go to the store.
        let logger = self.logger
        let (batches, sink) = AsyncStream<[PlanRow]>.makeStream()
        let room = DispatchSemaphore(value: 4)
        let stopped = Locked(false)
        async let validated = runOnThread { () throws -> ValidationSummary in
            defer { sink.finish() }
            var batch: [PlanRow] = []
            func send() throws {
                room.wait()
                if stopped.current { throw CancellationError() }
                sink.yield(batch)
                batch.removeAll(keepingCapacity: true)
            }
            let summary = try SheetValidator(options: options, logger: logger).validate(path: sheet) { outcome in
                batch.append(Self.sheetRow(outcome, phoneType: phoneType, blankRemoves: blankRemoves))
                if batch.count == 1000 { try send() }
            }
            if !batch.isEmpty { try send() }
            return summary
        }
        // The validating thread stops at its next batch once this side stopped taking them
        // (the store failed, or the task was cancelled, which ends the stream's iteration).
        func release() {
            stopped.withLock { $0 = true }
            for _ in 0..<8 { room.signal() }
        }
        do {
            for await batch in batches {
                try await store.insertPlanRows(batch, plan: planId)
                room.signal()
            }
        } catch {
            release()
            _ = try? await validated
            throw error
        }
        release()
        let validation = try await validated
        guard let hash = validation.sha256 else {
            throw PhoneShiftError(.unreadableFile, "'\(Sanitize.forMessage(sheet, limit: 200))' was not read to its end; plan again")
        }
        try await store.recordSheetHash(hash, plan: planId)
        var result = PlanResult(planId: planId, rowCount: 0, counts: [:], validation: validation, readErrors: 0,
                                changesPreview: [], attentionPreview: [])
        result.maskKey = try await store.maskKey()
        // Delta: rows whose number is the one PhoneShift last applied or saw cost nothing.
        if job.delta != nil {
            result.fullComparison = try await fullComparisonDue()
            if !result.fullComparison { result.settledFromKnown = try await store.settleFromKnown(plan: planId) }
        }
        // Safety valves on the sheet itself, before any Graph read.
        if let valves {
            let counts = try await store.sheetCounts(plan: planId, usersOnly: job.mode != .setNumbers)
            let previous = try await store.meta(SafetyValves.lastGoodRowsKey).flatMap(Int.init)
            result.acceptedValves += try valves.checkSheet(rows: counts.rows, blankOrInvalid: counts.blankOrInvalid, previousRows: previous,
                                                           previousWhen: try await store.meta(SafetyValves.lastGoodAtKey))
        }
        try await client.authenticate()
        let toRead = try await store.toReadCount(plan: planId)
        var listsAllMethods = job.tenant.cloud.listsAuthenticationMethods
        var privileged: [String: [String]] = [:]
        var restricted: [String: [String]] = [:]
        var risk = RiskContext(policy: job.risk)
        if toRead > 0 {
            // Permissions before any row: what plan needs, from the token and one real read.
            var needs: [GraphNeed] = [.readUsers, .readPhoneMethods]
            if !job.policy.allowPrivileged { needs += [.readRoleAssignments, .readRoleEligibility] }
            let permissions = try await PermissionCheck(client: client)
                .verify(needs, cloudListsMethods: job.tenant.cloud.listsAuthenticationMethods, probeMethods: probeMethods)
            listsAllMethods = permissions.listsAllMethods
            if !listsAllMethods && job.mode != .setNumbers {
                throw GraphNeed.missingError([.readAllMethods], clientId: client.settings.clientId,
                                             detail: job.tenant.cloud.listsAuthenticationMethods
                                                ? "mode: \(job.mode.rawValue) decides from every user's other MFA methods (a phone goes, or a pass is issued, only by what else the user has)"
                                                : "mode: \(job.mode.rawValue) needs every user's other MFA methods, which this cloud does not list")
            }
            if !listsAllMethods {
                if job.policy.requireBackupMethod {
                    throw GraphNeed.missingError([.readAllMethods], clientId: client.settings.clientId,
                                                 detail: job.tenant.cloud.listsAuthenticationMethods
                                                    ? "policy.requireBackupMethod needs every user's other MFA methods"
                                                    : "policy.requireBackupMethod needs every user's other MFA methods, which this cloud does not list; turn the policy off")
                }
                logger.notice("other MFA methods are not read (\(job.tenant.cloud.listsAuthenticationMethods ? "the app holds phone-method permissions only" : "not available in this cloud")): the plan cannot warn about users whose phone is their only MFA method")
            }
            let found = try await readPrivileged(GraphReader(client: client, listsAllMethods: listsAllMethods))
            privileged = found.users
            if found.noPremiumLicense {
                result.notes.append(PrivilegedUsers.noPremiumLicenseNote)
                logger.notice("\(PrivilegedUsers.noPremiumLicenseNote)")
            }
            let granted = try await client.grantedPermissions()
            let units = try await Self.readRestricted(GraphReader(client: client), granted: granted)
            restricted = units.users
            if let note = units.note {
                result.notes.append(note)
                logger.notice("\(note)")
            }
            let guardReads = try await readRiskContext(granted: granted, now: Date())
            risk = guardReads.context
            // Said on screen and in the log; the reports' notes stay about the tenant itself.
            result.riskNotes = guardReads.notes
            for note in guardReads.notes { logger.info("\(note)") }
        }
        // The reports show the plan's notes: kept with the plan.
        try await store.setMeta(Self.notesKey(planId), result.notes.joined(separator: "\n"))

        let reader = GraphReader(client: client, listsAllMethods: listsAllMethods)
        let rules = Rules(privileged: privileged, restricted: restricted, allowPrivileged: job.policy.allowPrivileged, policy: job.policy,
                          delta: job.delta != nil, clientId: client.settings.clientId, removePhones: job.mode == .removePhones,
                          issuePasses: job.mode == .issuePasses, risk: risk)
        let concurrency = job.rate.concurrency
        let delta = job.delta != nil
        var afterLine = 0
        while toRead > 0 {
            var page = try await store.rowsToRead(plan: planId, after: afterLine, limit: 500)
            guard let first = page.first, let last = page.last else { break }
            afterLine = last.line
            if delta {
                let known = try await store.knownNumbers(plan: planId, lines: first.line...last.line)
                for i in page.indices { page[i].known = known[page[i].line] }
            }
            let rows = page
            var planned = [PlanRow?](repeating: nil, count: rows.count)
            try await withThrowingTaskGroup(of: (Int, PlanRow).self) { group in
                var next = 0, finished = 0
                while next < rows.count || !group.isEmpty {
                    while next < rows.count && next - finished < concurrency {
                        let index = next, row = rows[index]
                        next += 1
                        group.addTask { (index, try await Self.resolve(row, reader: reader, rules: rules)) }
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
        // The takeover guard's checks across rows, and the numbers read for the next plans.
        try await markCrossRowRisks(plan: planId, now: Date())
        try await store.completePlan(planId, sheetPath: sheet)
        if delta {
            try await store.recordSeen(plan: planId)
            if result.fullComparison { try await store.setMeta(Self.lastFullKey, JobStore.now()) }
        }
        // Delta jobs only: their sheet is the whole population; a migration's sheets are batches.
        if delta, let previous = try await store.meta(SafetyValves.lastGoodPlanKey).flatMap(Int.init), previous != planId {
            result.vanished = try await store.vanishedUsers(plan: planId, previous: previous)
        }
        let counts = try await store.actionCounts(plan: planId)
        result.rowCount = counts.values.reduce(0, +)
        result.counts = counts
        result.readErrors = try await store.readErrorCount(plan: planId)
        result.changedElsewhere = try await store.changedElsewhereCount(plan: planId)
        result.changesPreview = try await store.rows(plan: planId, actions: [.update, .add, .remove, .issuePass], limit: previewLimit)
        result.attentionPreview = try await store.rows(plan: planId, actions: [.conflict, .blocked, .userNotFound, .skipped, .invalid], limit: 10)
        result.smsSignInChanges = try await store.smsSignInChanges(plan: planId)
        result.checkedOtherMethods = listsAllMethods
        (result.riskyRows, result.heldByRisk) = try await store.riskCounts(plan: planId)
        result.riskPreview = try await store.riskyRows(plan: planId, limit: previewLimit)
        return result
    }

    /// Users in restricted management administrative units, or the note to show when they
    /// cannot be read (then Graph's refusal of their write finds them, and apply goes on).
    static func readRestricted(_ reader: GraphReader, granted: Set<String>?) async throws -> (users: [String: [String]], note: String?) {
        let need = GraphNeed.readAdministrativeUnits
        let note = "Users in restricted management administrative units could not be looked up (grant \(need.toGrant) to see them in the plan): any such user is found when Graph refuses their write, marked blocked, and the run goes on."
        if let granted, !need.permissions.contains(where: granted.contains) { return ([:], note) }
        switch try await reader.restrictedUsers() {
        case .success(let found): return (found, nil)
        case .failure(let error): return ([:], note + " (Graph said: \(describe(error)))")
        }
    }

    /// The meta key of a plan's notes (one per line).
    static func notesKey(_ plan: Int) -> String { "plan_notes.\(plan)" }

    /// The meta key of the last full comparison's time (delta jobs).
    static let lastFullKey = "delta_last_full"

    /// Whether this plan reads every row: asked for, never done, or older than the job's
    /// `delta.fullEveryDays` (0: every time).
    func fullComparisonDue() async throws -> Bool {
        if full { return true }
        guard let days = job.delta?.fullEveryDays, days > 0 else { return true }
        guard let last = try await store.meta(Self.lastFullKey).flatMap(JobStore.parseTimestamp) else { return true }
        return Date().timeIntervalSince1970 - last >= days * 86_400 - 3_600
    }

    /// Who holds a directory role. A failed read refuses the plan unless the job allows
    /// privileged accounts knowingly.
    func readPrivileged(_ reader: GraphReader) async throws -> PrivilegedUsers {
        switch try await reader.privilegedUsers() {
        case .success(let found): return found
        case .failure(let failure):
            guard !job.policy.allowPrivileged else { return PrivilegedUsers() }
            let error = failure.error
            if error.status == 403 {
                throw GraphNeed.missingError([failure.need], clientId: client.settings.clientId,
                                             detail: "\(error.code ?? "403"): \(Sanitize.forMessage(error.message))")
            }
            if error.isTransient {
                throw PhoneShiftError(.transient, "Graph did not answer the reads of who holds directory roles (\(error)); nothing was planned — run plan again later")
            }
            throw PhoneShiftError(.badSetting, "cannot read who holds directory roles, so admin accounts cannot be recognised (\(error)); nothing was planned. Grant RoleManagement.Read.Directory and GroupMember.Read.All, or set policy.allowPrivileged: true to include admins knowingly")
        }
    }

    /// What the sheet alone decides for a row: settled (invalid, nothing to change, a
    /// duplicate) or still to be read from Graph.
    static func sheetRow(_ o: RowOutcome, phoneType: PhoneType, blankRemoves: Bool = false) -> PlanRow {
        var row = PlanRow(line: o.line, user: o.user, phoneType: phoneType, target: o.phone, action: .toRead,
                          reason: o.reason, state: .pending, outcome: nil)
        row.userKind = o.userKind
        switch o.status {
        case .invalid, .conflict: return row.settled(.invalid)
        case .ok, .warning: break
        }
        if o.phone == nil && !blankRemoves { return row.settled(.skipped, "no number given; nothing to change (a blank cell removes nothing unless policy.blankRemovesNumber is on)") }
        if o.codes.contains(RowFinding.Code.duplicateRow.rawValue) { return row.settled(.skipped) }
        return row
    }

    /// Reads a row's user and current numbers from Graph and decides its action. A 403 on
    /// either read stops the plan (every other row would be refused the same way).
    static func resolve(_ sheetRow: PlanRow, reader: GraphReader, rules: Rules) async throws -> PlanRow {
        var row = sheetRow
        let user = row.user
        let kind = row.userKind ?? .userPrincipalName
        var methods: LiveMethods?
        // Delta: the id known from an earlier run is not trusted on its own. The sheet's name
        // is resolved again (one read): a UPN given to a new hire must not reach the renamed
        // account that had it, and the read brings the mail and name the drafts need.
        let knownId = row.userId
        row.userId = nil
        var notes: [String] = []
        // A UPN or an object id addresses the methods directly (/users/{id | UPN}/…): the
        // user and their methods are read at the same time, one latency instead of two.
        let direct = kind == .userPrincipalName || kind == .objectId || kind == .automatic
        async let early = direct ? reader.methods(of: user) : nil
        switch try await reader.resolve(user, kind: kind) {
        case .notFound:
            return row.settled(.userNotFound, "no user '\(Sanitize.forMessage(user))' in the directory")
        case .ambiguous(let count):
            return row.settled(.blocked, "\(count) users match \(kind.label) '\(Sanitize.forMessage(user))'; use a UPN or object id")
        case .failed(let error):
            if error.status == 403 { throw GraphNeed.missingError([.readUsers], clientId: rules.clientId, detail: describe(error)) }
            return row.settled(.skipped, "could not read the user from Graph: \(error)", errorCode: error.code ?? error.status.map(String.init))
        case .found(let found):
            row.userId = found.id
            row.userPrincipalName = found.userPrincipalName
            row.displayName = found.displayName
            row.mail = found.mail
            row.usageLocation = found.usageLocation
            if let knownId, knownId.lowercased() != found.id.lowercased() {
                // The name now belongs to another account: what PhoneShift knew was the other one's.
                row.known = nil
                notes.append("\(kind.label) '\(Sanitize.forMessage(user))' now names another account than at the last run (was object id \(knownId)); planned for the account that has it now")
            }
        }
        var read = try await early
        if case .failure(let error)? = read, error.status == 404 {
            read = nil  // found by name, yet its methods not: ask by object id
        }
        if read == nil { read = try await reader.methods(of: row.userId!) }
        switch read! {
        case .success(let m): methods = m
        case .failure(let error):
            if error.status == 403 { throw GraphNeed.missingError([.readPhoneMethods], clientId: rules.clientId, detail: describe(error)) }
            return row.settled(.skipped, "could not read the user's authentication methods: \(error)",
                               errorCode: error.code ?? error.status.map(String.init))
        }
        guard let methods else { return row }
        let decided = decide(row, live: methods, rules: rules, notes: notes)
        return RiskChecks.apply(RiskChecks.findings(for: decided, usageLocation: decided.usageLocation, context: rules.risk),
                                to: decided, policy: rules.risk.policy)
    }

    /// What the plan does with a row whose user and numbers were read: pure (no Graph, no
    /// store, no clock), so every policy is a table test. `row` carries the user's id and,
    /// for delta jobs, what the store knew; `notes` are what the reads found to say.
    static func decide(_ resolved: PlanRow, live methods: LiveMethods, rules: Rules, notes readNotes: [String] = []) -> PlanRow {
        var row = resolved
        var notes = readNotes
        let phoneType = row.phoneType, target = row.target, sheetReason = row.reason
        guard let userId = row.userId else { return row.settled(.skipped, "the user's object id was not read", errorCode: "no-user") }
        let live = methods.phones[phoneType]
        row.before = live
        if !sheetReason.isEmpty { notes.insert(sheetReason, at: 0) }
        if phoneType == .mobile, let state = methods.smsSignIn[.mobile] { row.smsSignIn = state }
        if let roles = rules.privileged[userId.lowercased()], !roles.isEmpty, !rules.allowPrivileged {
            let named = roles.prefix(3).map { Sanitize.forMessage($0, limit: 160) }.joined(separator: ", ") + (roles.count > 3 ? ", …" : "")
            return row.settled(.blocked, "privileged account (\(named)); set policy.allowPrivileged: true to include it")
        }
        if rules.issuePasses {
            if let units = rules.restricted[userId.lowercased()] {
                return row.settled(.blocked, GraphReader.restrictedReason(units), errorCode: GraphReader.restrictedCode)
            }
            return issuance(row, methods: methods, notes: notes)
        }
        if rules.removePhones {
            if live != nil, let units = rules.restricted[userId.lowercased()] {
                return row.settled(.blocked, GraphReader.restrictedReason(units), errorCode: GraphReader.restrictedCode)
            }
            return removal(row, live: live, methods: methods, notes: notes)
        }
        let policy = rules.policy
        if sameNumber(live, target) {
            return row.settled(.unchanged, notes.isEmpty ? nil : notes.joined(separator: "; "))
        }
        if let units = rules.restricted[userId.lowercased()] {
            return row.settled(.blocked, GraphReader.restrictedReason(units), errorCode: GraphReader.restrictedCode)
        }
        // Delta: the sheet still has the number PhoneShift last applied or saw, and Graph has
        // another one: someone changed it elsewhere since.
        if rules.delta, let known = row.known, sameNumber(known.value, target) {
            if policy.changedElsewhere == .keep {
                var kept = row.settled(.skipped, "the number was changed outside PhoneShift since \(known.at) while the sheet still has the old one; kept (policy.changedElsewhere: keep) — update the HR system, or set changedElsewhere: restore",
                                       errorCode: "changed-elsewhere")
                kept.outcome = .changedElsewhere
                return kept
            }
            notes.append("changed outside PhoneShift since \(known.at); the sheet's number is restored (policy.changedElsewhere: restore)")
        }
        if target == nil {
            // policy.blankRemovesNumber: the cell is blank and the user has a number.
            row.action = .remove
            notes.append("the sheet's cell is blank and policy.blankRemovesNumber is on: the number is removed")
        } else if live == nil {
            if phoneType == .alternateMobile && methods.phones[.mobile] == nil {
                return row.settled(.blocked, "an alternate mobile needs a mobile number first; add the mobile number in an earlier job")
            }
            row.action = .add
        } else {
            if policy.onlySetWhenEmpty {
                var kept = row.settled(.skipped, "the user already has a \(phoneType.rawValue) number; kept (policy.onlySetWhenEmpty)")
                kept.outcome = .kept
                return kept
            }
            row.action = .update
        }
        row.state = .pending
        let phonesOnly = methods.others.map { others in
            others.allSatisfy { $0 == "passwordAuthenticationMethod" || $0 == "emailAuthenticationMethod" }
        } ?? false
        if phonesOnly {
            row.flags.insert(.phonesOnly)
            // Adding a first phone cannot lock anyone out; changing or removing the only one can.
            if policy.requireBackupMethod && row.action != .add {
                return row.settled(.blocked, "held back: phones are the user's only MFA methods, and changing the only method can lock them out (policy.requireBackupMethod); ask the user to register another method (Authenticator, a FIDO2 key) first")
            }
            notes.append("the user has no MFA method besides phones")
        }
        if row.action == .update, PlanRow.smsSignInFollows(row.smsSignIn) {
            notes.append("the user signs in by SMS: their sign-in number changes too")
        }
        row.reason = notes.joined(separator: "; ")
        return row
    }

    /// `mode: removePhones`: the number goes only where the user keeps a phishing-resistant
    /// method, and not where Graph's rules refuse it (a mobile while an alternate exists). A
    /// default method Graph refuses to delete at apply: that row ends `blocked` with its answer.
    static func removal(_ resolved: PlanRow, live: String?, methods: LiveMethods, notes readNotes: [String]) -> PlanRow {
        var row = resolved
        var notes = readNotes
        let phoneType = row.phoneType
        guard live != nil else { return row.settled(.unchanged, "no \(phoneType.label) number to remove") }
        let strong = Set((methods.others ?? []).compactMap(MethodKind.init(odataType:)).filter(\.isPhishingResistant)).sorted()
        guard !strong.isEmpty else {
            return row.settled(.blocked, "no phishing-resistant method (a passkey or FIDO2 key, Windows Hello for Business, a platform credential): without the \(phoneType.label) the user could be left without MFA; they register a passkey first (phoneshift readiness lists them)")
        }
        if phoneType == .mobile && methods.phones[.alternateMobile] != nil {
            return row.settled(.blocked, "Graph does not delete a mobile number while an alternate mobile exists; remove the alternate mobile first (a removePhones job with phoneType: alternateMobile)")
        }
        row.target = nil
        row.action = .remove
        row.state = .pending
        notes.append("has \(strong.map(\.label).joined(separator: ", ")): the \(phoneType.label) number is removed (mode: removePhones)")
        if phoneType == .mobile, PlanRow.smsSignInFollows(row.smsSignIn) {
            notes.append("the user signs in by SMS with this number: that goes with it")
        }
        row.reason = notes.joined(separator: "; ")
        return row
    }

    /// `mode: issuePasses`: a pass only for a phone-only user (phones and nothing else that can
    /// do MFA) who has no usable pass yet; admins never reach here (held back above).
    static func issuance(_ resolved: PlanRow, methods: LiveMethods, notes readNotes: [String]) -> PlanRow {
        var row = resolved
        var notes = readNotes
        guard let others = methods.others else {
            return row.settled(.blocked, "the user's other MFA methods were not read; a pass goes only to a user known to have phones only")
        }
        let kinds = Set(others.compactMap(MethodKind.init(odataType:)))
        let other = kinds.filter { $0.isPhishingResistant || $0.isApp }.sorted()
        if !other.isEmpty {
            return row.settled(.skipped, "not phone-only (has \(other.map(\.label).joined(separator: ", "))): no pass needed")
        }
        if methods.phones.isEmpty {
            return row.settled(.skipped, "no phone method: not phone-only (the user has no MFA method; give them a first one another way)")
        }
        if kinds.contains(.temporaryAccessPass) {
            return row.settled(.unchanged, "already has a usable Temporary Access Pass")
        }
        row.target = nil
        row.action = .issuePass
        row.state = .pending
        notes.append("phones are the user's only MFA methods: a Temporary Access Pass lets them register a passkey")
        row.reason = notes.joined(separator: "; ")
        return row
    }

    static func describe(_ error: GraphError) -> String {
        "\(error.code ?? error.status.map { "HTTP \($0)" } ?? "error"): \(Sanitize.forMessage(error.message))"
    }
}
