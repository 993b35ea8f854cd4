import Foundation

/// A token bucket: `capacity` tokens, refilled continuously at capacity / window.
struct TokenBucket: Sendable {
    let capacity: Double
    let window: Double
    private(set) var tokens: Double
    private var last: Double

    init(capacity: Double, window: Double, now: Double) {
        self.capacity = capacity
        self.window = window
        tokens = capacity
        last = now
    }

    var rate: Double { capacity / window }

    mutating func refill(now: Double) {
        tokens = min(capacity, tokens + (now - last) * rate)
        last = now
    }

    /// Seconds until `cost` tokens are there (0 when they are now).
    func wait(for cost: Double) -> Double { tokens >= cost ? 0 : (cost - tokens) / rate }

    /// Share of the capacity in use (may exceed 1 while in debt).
    var usedFraction: Double { (capacity - tokens) / capacity }

    mutating func charge(_ cost: Double) {
        tokens = max(-capacity * OurChoices.maxDebtInCapacities, tokens - cost)
    }
}

/// Graph's identity-and-access throttling (GRAPH.md): writes per app+tenant, writes per
/// tenant, resource units per app+tenant by tenant size. Limits can be scaled for tests.
public struct ThrottleSettings: Sendable, Codable, Equatable {
    public var enabled: Bool
    /// Writes per app and tenant: count per window seconds (3,000 per 150 s).
    public var appWrites: Double
    public var appWritesWindow: Double
    /// Writes per tenant, all apps (18,000 per 300 s).
    public var tenantWrites: Double
    public var tenantWritesWindow: Double
    /// Resource units per app and tenant per window (3,500 / 5,000 / 8,000 per 10 s by tenant
    /// size); nil picks by the number of users.
    public var resourceUnits: Double?
    public var resourceUnitsWindow: Double

    public init(enabled: Bool = true, appWrites: Double = 3000, appWritesWindow: Double = 150,
                tenantWrites: Double = 18000, tenantWritesWindow: Double = 300,
                resourceUnits: Double? = nil, resourceUnitsWindow: Double = 10) {
        self.enabled = enabled
        self.appWrites = appWrites
        self.appWritesWindow = appWritesWindow
        self.tenantWrites = tenantWrites
        self.tenantWritesWindow = tenantWritesWindow
        self.resourceUnits = resourceUnits
        self.resourceUnitsWindow = resourceUnitsWindow
    }

    /// Every limit and window multiplied by `factor` (0.1: 300 writes per 15 s): the same
    /// sustained rates, a wall reached in seconds instead of minutes.
    public func scaled(by factor: Double) -> ThrottleSettings {
        var s = self
        s.appWrites *= factor; s.appWritesWindow *= factor
        s.tenantWrites *= factor; s.tenantWritesWindow *= factor
        s.resourceUnits = resourceUnits.map { $0 * factor }
        s.resourceUnitsWindow *= factor
        return s
    }

    /// The documented resource-unit limit for a tenant of `users` users.
    static func resourceUnitLimit(users: Int) -> Double {
        users < 50 ? 3500 : users <= 500 ? 5000 : 8000
    }
}

/// The buckets of one tenant (and, for the per-app ones, each app).
struct Throttle: Sendable {
    struct Verdict: Sendable {
        var allowed: Bool
        var retryAfter: Double
        var scope: String
        var information: String
        /// Highest share of a limit in use after this request.
        var usedFraction: Double
    }

    var settings: ThrottleSettings
    let tenantId: String
    let tenantUsers: Int
    private var appWriteBuckets: [String: TokenBucket] = [:]
    private var appUnitBuckets: [String: TokenBucket] = [:]
    private var tenantWriteBucket: TokenBucket

    init(settings: ThrottleSettings, tenantId: String, tenantUsers: Int, now: Double) {
        self.settings = settings
        self.tenantId = tenantId
        self.tenantUsers = tenantUsers
        tenantWriteBucket = TokenBucket(capacity: settings.tenantWrites, window: settings.tenantWritesWindow, now: now)
    }

    /// Admits (and charges) a request costing `units` resource units and `writes` writes.
    /// Throttled requests are charged their resource units all the same, as Graph does.
    mutating func admit(app: String, units: Double, writes: Double, now: Double) -> Verdict {
        guard settings.enabled else {
            return Verdict(allowed: true, retryAfter: 0, scope: "", information: "", usedFraction: 0)
        }
        let unitLimit = settings.resourceUnits ?? ThrottleSettings.resourceUnitLimit(users: tenantUsers)
        var unitBucket = appUnitBuckets[app] ?? TokenBucket(capacity: unitLimit, window: settings.resourceUnitsWindow, now: now)
        var writeBucket = appWriteBuckets[app] ?? TokenBucket(capacity: settings.appWrites, window: settings.appWritesWindow, now: now)
        unitBucket.refill(now: now)
        writeBucket.refill(now: now)
        tenantWriteBucket.refill(now: now)

        var wait = 0.0
        var information = ""
        var scope = ""
        let unitWait = unitBucket.wait(for: units)
        if unitWait > wait { wait = unitWait; information = "ResourceUnitLimitExceeded"; scope = "Tenant_Application/ReadWrite/\(app)/\(tenantId)" }
        if writes > 0 {
            let appWait = writeBucket.wait(for: writes)
            if appWait > wait { wait = appWait; information = "WriteLimitExceeded"; scope = "Tenant_Application/Write/\(app)/\(tenantId)" }
            let tenantWait = tenantWriteBucket.wait(for: writes)
            if tenantWait > wait { wait = tenantWait; information = "WriteLimitExceeded"; scope = "Tenant/Write/\(tenantId)" }
        }
        unitBucket.charge(units)
        if wait == 0 {
            writeBucket.charge(writes)
            tenantWriteBucket.charge(writes)
        }
        appUnitBuckets[app] = unitBucket
        appWriteBuckets[app] = writeBucket
        let used = max(unitBucket.usedFraction, writes > 0 ? max(writeBucket.usedFraction, tenantWriteBucket.usedFraction) : 0)
        return Verdict(allowed: wait == 0, retryAfter: wait, scope: scope, information: information, usedFraction: used)
    }
}
