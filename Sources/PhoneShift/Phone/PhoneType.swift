/// The slot of a user's phone authentication method, as Graph names it.
public enum PhoneType: String, Sendable, Codable, CaseIterable {
    case mobile
    case alternateMobile
    case office

    /// Fixed method ids, the same for every user (GRAPH.md).
    public var methodId: String {
        switch self {
        case .mobile: "3179e48a-750b-4051-897c-87b9720928f7"
        case .alternateMobile: "b6332ec1-7057-4abe-9331-3d72feddfe41"
        case .office: "e37fc753-ff3b-4958-9484-eaa9425c82bc"
        }
    }

    /// Only `mobile` takes SMS; the other two are voice only.
    public var receivesSMS: Bool { self == .mobile }
}
