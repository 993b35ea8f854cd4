import Foundation

/// Tells a write Graph refused (403) for one user from a permission the app no longer has.
///
/// Graph answers both with the same 403, so the answer alone says nothing. Asked about a
/// refusal, the judge (1) looks the user up among the members of restricted management
/// administrative units (read on the first refusal, and again for a user not found there:
/// units change); (2) otherwise fetches a new token and reads its `roles`: without a write
/// permission the consent was withdrawn and the run stops, as before; (3) a user refused
/// while the token still holds the permission is held back too, but after `unexplainedLimit`
/// such refusals with no successful write between them the run stops all the same (a
/// permission lost in a way the token does not show).
actor RefusalJudge {
    enum Verdict: Sendable {
        /// In a restricted management unit (names): never writable by an application.
        case protectedUser([String])
        /// Refused, though the app holds the permission and no restricted unit explains it.
        case refusedUser(auditUnits: Bool)
        /// The app cannot write any more: stop the run.
        case permissionLost
    }

    static let unexplainedLimit = 3

    private let client: GraphClient
    private var restricted: [String: [String]]?
    private var unitsReadable = true
    private var unexplainedInARow = 0

    init(client: GraphClient) { self.client = client }

    /// A write succeeded: refusals before it were about their users.
    func wrote() { unexplainedInARow = 0 }

    func judge(userId: String) async throws -> Verdict {
        let id = userId.lowercased()
        if restricted?[id] == nil, unitsReadable {
            switch try await GraphReader(client: client).restrictedUsers() {
            case .success(let found): restricted = found
            case .failure: unitsReadable = false
            }
        }
        if let units = restricted?[id] { return .protectedUser(units) }
        guard let roles = try await client.currentPermissions(),
              GraphNeed.writePhoneMethods.permissions.contains(where: roles.contains) else { return .permissionLost }
        unexplainedInARow += 1
        return unexplainedInARow >= Self.unexplainedLimit ? .permissionLost : .refusedUser(auditUnits: !unitsReadable)
    }
}
