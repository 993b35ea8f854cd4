import Foundation
import Logging

/// `phoneshift export`: every user's phone methods, SMS sign-in state, whether they have a
/// non-phone MFA method, whether they are privileged and whether the account is enabled —
/// read through Graph with the job's rate budget and paging, one page of users in memory at
/// a time. The file is a working sheet PhoneShift reads back (edit a column, plan, apply):
/// full numbers, owner-only, written atomically; `masked` writes a copy safe to share.
public struct Exporter: Sendable {
    public static let columns = ["User principal name", "Display name", "Object id", "Account enabled", "Mobile", "Alternate mobile",
                                 "Office phone", "SMS sign-in", "Other MFA method", "Privileged"]

    public let session: JobSession
    public let logger: Logger

    public init(session: JobSession, logger: Logger) {
        self.session = session
        self.logger = logger
    }

    /// Users read so far, in pages of `/users` (export and readiness).
    public struct Progress: Sendable {
        public var users: Int
        public var pages: Int
    }

    /// Writes the export to `path`; returns how many users it holds.
    public func export(to path: String, masked: Bool, progress: @escaping @Sendable (Progress) -> Void = { _ in }) async throws -> Int {
        let client = session.client
        let job = session.job
        try await client.authenticate()
        let permissions = try await PermissionCheck(client: client)
            .verify([.readUsers, .readPhoneMethods], cloudListsMethods: job.tenant.cloud.listsAuthenticationMethods)
        let reader = GraphReader(client: client, listsAllMethods: permissions.listsAllMethods)
        var privileged: [String: [String]]?
        switch try await reader.privilegedUsers() {
        case .success(let found): privileged = found.users
        case .failure(let error):
            logger.warning("cannot read directory roles (\(error)); the Privileged column says 'unknown'. Grant RoleManagement.Read.Directory and GroupMember.Read.All to fill it")
        }
        let roles = privileged
        let writer = try AtomicFileWriter(path: path)
        try writer.write(CSVFormatting.line(Self.columns))
        var users = 0, pages = 0
        let concurrency = max(1, job.rate.concurrency)
        let failure = try await reader.pages("/users?$select=id,userPrincipalName,displayName,accountEnabled&$top=999") { page in
            let items = page.map(ListedUser.init)
            var lines = [[String]?](repeating: nil, count: items.count)
            var read = [[PhoneType: String]?](repeating: nil, count: items.count)
            try await withThrowingTaskGroup(of: (Int, ([String], [PhoneType: String]?)).self) { group in
                var started = 0
                for (index, item) in items.enumerated() {
                    if started >= concurrency, let (i, line) = try await group.next() { (lines[i], read[i]) = line }
                    started += 1
                    group.addTask { (index, try await Self.line(item, reader: reader, roles: roles, masked: masked)) }
                }
                for try await (i, line) in group { (lines[i], read[i]) = line }
            }
            // The numbers read go to the job store: the takeover guard's "another user's number"
            // check of later plans looks there.
            var numbers: [(userId: String, upn: String?, phoneType: PhoneType, number: String?)] = []
            for (item, phones) in zip(items, read) {
                guard let phones else { continue }
                for type in PhoneType.allCases { numbers.append((item.id, item.userPrincipalName, type, phones[type])) }
            }
            try await session.store.recordTenantNumbers(numbers)
            var bytes: [UInt8] = []
            for line in lines { if let line { CSVFormatting.append(line, to: &bytes) } }
            try writer.write(bytes: bytes)
            users += items.count
            pages += 1
            progress(Progress(users: users, pages: pages))
        }
        if let failure { throw failure }
        try writer.commit()
        return users
    }

    /// A user as `/users` lists them (export and readiness's per-user reads).
    struct ListedUser: Sendable {
        var id: String
        var userPrincipalName: String
        var displayName: String
        var enabled: Bool?
        var mail: String?
        init(_ o: [String: Any]) {
            id = o["id"] as? String ?? ""
            userPrincipalName = o["userPrincipalName"] as? String ?? ""
            displayName = o["displayName"] as? String ?? ""
            enabled = o["accountEnabled"] as? Bool
            mail = o["mail"] as? String
        }
    }

    /// The export's cells for a user, and the phones read (nil when they could not be).
    static func line(_ item: ListedUser, reader: GraphReader, roles: [String: [String]]?, masked: Bool) async throws -> ([String], [PhoneType: String]?) {
        let id = item.id, enabled = item.enabled.map { $0 ? "yes" : "no" } ?? ""
        var phones: [PhoneType: String] = [:], sms = "", others = "unknown"
        var read = false
        switch try await reader.methods(of: id) {
        case .success(let methods):
            phones = methods.phones
            read = true
            sms = methods.smsSignIn[.mobile] ?? ""
            if let list = methods.others {
                others = list.contains { $0 != "passwordAuthenticationMethod" && $0 != "emailAuthenticationMethod" } ? "yes" : "no"
            }
        case .failure(let error):
            sms = "could not read: \(error.code ?? error.status.map(String.init) ?? "error")"
        }
        func number(_ type: PhoneType) -> String { phones[type].map { masked ? PhoneMask.mask($0) : $0 } ?? "" }
        let privileged: String
        if let roles {
            privileged = roles[id.lowercased()].map { "yes (" + $0.joined(separator: "; ") + ")" } ?? "no"
        } else {
            privileged = "unknown"
        }
        return ([item.userPrincipalName, item.displayName, id, enabled,
                 number(.mobile), number(.alternateMobile), number(.office), sms, others, privileged], read ? phones : nil)
    }
}
