/// How an emulator instance is set up.
public struct EmulatorOptions: Sendable {
    public var host: String
    /// 0 picks a free port.
    public var port: Int
    public var seed: DirectorySeed
    /// The one registered application.
    public var clientId: String
    public var clientSecret: String
    /// Accepted tenant names besides the tenant id (e.g. "contoso.com").
    public var tenantAliases: [String]
    /// Lifetime of issued tokens, seconds.
    public var tokenLifetime: Double
    /// The client secret has expired (AADSTS7000222).
    public var secretExpired: Bool
    /// Application permissions granted to the app.
    public var permissions: Set<String>
    public var throttle: ThrottleSettings
    public var faults: FaultSettings
    /// Base of the URLs the emulator writes into responses (`@odata.nextLink`); set by the
    /// server once it knows its port.
    public var publicBaseURL: String
    /// Most requests kept in the request log (oldest dropped first).
    public var requestLogLimit: Int
    /// The national cloud this emulator stands for: `global`, `usgov`, `usgovdod` or `china`.
    /// It sets the token scope the identity endpoint expects and the endpoints available.
    public var cloud: String = "global"
    /// Role assignments and eligibilities honour `$expand=principal` (documented). False
    /// stands in for answers without the expanded principal (a principal Graph cannot expand):
    /// a client must then look the principal up, not guess its type.
    public var expandsRolePrincipals = true
    /// Certificates registered on the app (PEM), for client assertions.
    public var clientCertificates: [String] = []

    /// The Graph host whose `/.default` scope this cloud's tokens are for.
    public var graphHost: String {
        switch cloud {
        case "usgov": "graph.microsoft.us"
        case "usgovdod": "dod-graph.microsoft.us"
        case "china": "microsoftgraph.chinacloudapi.cn"
        default: "graph.microsoft.com"
        }
    }

    public static let defaultClientId = "8a3b6c0e-2f1d-4e5a-9b7c-1d2e3f4a5b6c"
    public static let defaultClientSecret = "phoneshift-emulator-secret"
    /// What a PhoneShift app is granted in a well-set-up tenant (least privilege).
    public static let defaultPermissions: Set<String> = ["UserAuthenticationMethod.ReadWrite.All", "User.Read.All",
                                                         "RoleManagement.Read.Directory", "GroupMember.Read.All",
                                                         "PrivilegedEligibilitySchedule.Read.AzureADGroup", "AdministrativeUnit.Read.All"]

    public init(seed: DirectorySeed, host: String = "127.0.0.1", port: Int = 0,
                clientId: String = EmulatorOptions.defaultClientId,
                clientSecret: String = EmulatorOptions.defaultClientSecret,
                tenantAliases: [String] = [], tokenLifetime: Double = OurChoices.defaultTokenLifetime,
                secretExpired: Bool = false,
                permissions: Set<String> = EmulatorOptions.defaultPermissions,
                throttle: ThrottleSettings = .init(), faults: FaultSettings = .init(),
                publicBaseURL: String = "http://127.0.0.1", requestLogLimit: Int = 200_000) {
        self.host = host
        self.port = port
        self.seed = seed
        self.clientId = clientId
        self.clientSecret = clientSecret
        self.tenantAliases = tenantAliases + (seed.tenant.domain.map { [$0] } ?? [])
        self.tokenLifetime = tokenLifetime
        self.secretExpired = secretExpired
        self.permissions = permissions
        self.throttle = throttle
        self.faults = faults
        self.publicBaseURL = publicBaseURL
        self.requestLogLimit = requestLogLimit
    }
}

extension DirectorySeed {
    /// `count` extra generated users (bench1…@<domain>), each with a mobile number,
    /// for tests and benchmarks that need a large tenant without a large file.
    public func adding(syntheticUsers count: Int) -> DirectorySeed {
        guard count > 0 else { return self }
        var copy = self
        let domain = tenant.domain ?? "contoso.com"
        for i in 1...count {
            let id = stableUUID("synthetic:\(i)")
            copy.users.append(UserSeed(
                id: id, userPrincipalName: "bench\(i)@\(domain)", displayName: "Bench User \(i)",
                mail: "bench\(i)@\(domain)", employeeId: "B\(String(format: "%07d", i))", accountEnabled: true,
                userType: "Member", usageLocation: "US",
                phoneMethods: [PhoneMethodSeed(phoneType: "mobile", phoneNumber: "+1 2065\(String(format: "%06d", i % 1_000_000))", smsSignInState: nil)],
                otherMethods: [OtherMethodSeed(type: "password"), OtherMethodSeed(type: "microsoftAuthenticator", displayName: "Phone")],
                roles: nil, defaultMethod: "microsoftAuthenticator"))
        }
        return copy
    }
}
