import Foundation
import Logging

/// The result of planning.
public struct PlanResult: Sendable {
    public var planId: Int
    public var rows: [PlanRow]
    public var counts: [PlanAction: Int]
    public var validation: ValidationSummary
    /// Rows whose user could not be read (network or permission trouble).
    public var readErrors: Int
    public var changes: Int { (counts[.update] ?? 0) + (counts[.add] ?? 0) }
}

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

    public func plan() async throws -> PlanResult {
        let options = try job.validationOptions()
        let sheet = job.sheet.path
        // Validation is blocking file and CPU work: on its own thread, off the cooperative pool.
        let (validation, outcomes, hash) = try await runOnThread { () throws -> (ValidationSummary, [RowOutcome], String) in
            var outcomes: [RowOutcome] = []
            let summary = try SheetValidator(options: options, logger: logger).validate(path: sheet) { outcomes.append($0) }
            return (summary, outcomes, try SHA256.hexDigest(ofFile: sheet))
        }
        try await client.authenticate()

        let reader = GraphReader(client: client)
        var privileged: [String: [String]] = [:]
        switch try await reader.privilegedUsers() {
        case .success(let map): privileged = map
        case .failure(let error):
            if !job.policy.allowPrivileged {
                throw PhoneShiftError(.badSetting, "cannot read directory roles to recognise admin accounts (\(error)); grant the app User.Read.All or Directory.Read.All, or set policy.allowPrivileged: true")
            }
        }

        let phoneType = job.phoneType
        let allowPrivileged = job.policy.allowPrivileged
        var rows = [PlanRow?](repeating: nil, count: outcomes.count)
        let concurrency = job.rate.concurrency
        let roles = privileged
        try await withThrowingTaskGroup(of: (Int, PlanRow).self) { group in
            var next = 0, finished = 0
            while next < outcomes.count || !group.isEmpty {
                while next < outcomes.count && next - finished < concurrency {
                    let index = next, outcome = outcomes[index]
                    next += 1
                    group.addTask {
                        (index, try await Self.planRow(outcome, phoneType: phoneType, reader: reader,
                                                       privileged: roles, allowPrivileged: allowPrivileged))
                    }
                }
                guard let (index, row) = try await group.next() else { break }
                rows[index] = row
                finished += 1
            }
        }
        let planned = rows.map { $0! }
        let planId = try store.savePlan(sheetPath: sheet, sheetHash: hash, phoneType: phoneType, rows: planned)
        var counts: [PlanAction: Int] = [:]
        for r in planned { counts[r.action, default: 0] += 1 }
        let readErrors = planned.filter { $0.action == .skipped && $0.errorCode != nil }.count
        return PlanResult(planId: planId, rows: planned, counts: counts, validation: validation, readErrors: readErrors)
    }

    static func planRow(_ o: RowOutcome, phoneType: PhoneType, reader: GraphReader,
                        privileged: [String: [String]], allowPrivileged: Bool) async throws -> PlanRow {
        var row = PlanRow(line: o.line, user: o.user, phoneType: phoneType, target: o.phone, action: .invalid,
                          reason: o.reason, state: .done, outcome: nil)
        switch o.status {
        case .invalid, .conflict: return row.settled(.invalid)
        case .ok, .warning: break
        }
        if o.phone == nil { return row.settled(.skipped, "no number given; nothing to change") }
        if o.codes.contains(RowFinding.Code.duplicateRow.rawValue) { return row.settled(.skipped) }
        let kind = o.userKind ?? .userPrincipalName
        switch try await reader.resolve(o.user, kind: kind) {
        case .notFound:
            return row.settled(.userNotFound, "no user '\(Sanitize.forMessage(o.user))' in the directory")
        case .ambiguous(let count):
            return row.settled(.blocked, "\(count) users match \(kind.label) '\(Sanitize.forMessage(o.user))'; use a UPN or object id")
        case .failed(let error):
            return row.settled(.skipped, "could not read the user from Graph: \(error)", errorCode: error.code ?? error.status.map(String.init))
        case .found(let user):
            row.userId = user.id
            row.userPrincipalName = user.userPrincipalName
            row.displayName = user.displayName
            row.mail = user.mail
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
            if !o.reasons.isEmpty { notes.append(o.reason) }
            if let roles = privileged[userId.lowercased()], !roles.isEmpty, !allowPrivileged {
                return row.settled(.blocked, "privileged account (\(roles.joined(separator: ", "))); set policy.allowPrivileged: true to include it")
            }
            if sameNumber(live, o.phone) {
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
            if methods.others.filter({ $0 != "passwordAuthenticationMethod" && $0 != "emailAuthenticationMethod" }).isEmpty {
                notes.append("the user has no MFA method besides phones")
            }
            row.reason = notes.joined(separator: "; ")
            return row
        }
    }
}

/// Runs blocking work on a new thread and resumes the caller when it is done.
func runOnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try work() }) }
        thread.stackSize = 8 << 20
        thread.start()
    }
}
