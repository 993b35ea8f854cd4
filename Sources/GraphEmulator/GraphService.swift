import Foundation

/// The emulated Microsoft Graph and identity platform. Its state (tenant, tokens,
/// throttling buckets, request log, faults) is one value behind a lock; each request holds it
/// only for in-memory work, never while sleeping for latency or a fault.
public final class GraphService: Sendable, Responding {
    let state: LockedState<EmulatorState>
    private let clock: @Sendable () -> Double

    public init(options: EmulatorOptions, clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.clock = clock
        state = LockedState(EmulatorState(options: options, clock: clock))
    }

    /// Sets the base URL used in links once the server knows its port.
    public func setPublicBaseURL(_ url: String) {
        state.withLock { $0.options.publicBaseURL = url }
    }

    // MARK: - Test hooks for in-process tests (the same as `/_emulator/…` over HTTP)

    /// Replaces the fault settings.
    public func setFaults(_ faults: FaultSettings) {
        state.withLock { $0.faults = faults }
    }

    /// Replaces the app's granted permissions (as an admin removing consent would): calls
    /// are checked against them at once; tokens already issued keep their `roles` claim.
    public func setPermissions(_ permissions: Set<String>) {
        state.withLock { $0.options.permissions = permissions }
    }

    /// Revokes every token issued so far (the next request with one answers 401).
    public func revokeTokens() {
        state.withLock { $0.tokens = [:] }
    }

    /// The request log (method, path, status, user) as kept for `/_emulator/requests`.
    public func requestLog() -> [RequestLogEntry] {
        state.withLock { s in s.log.map { RequestLogEntry(method: $0.method, path: $0.path, status: $0.status, user: $0.user) } }
    }

    // MARK: - Entry point

    public func handle(_ request: EmulatorRequest) async -> EmulatorResponse {
        let requestId = UUID().uuidString.lowercased()
        let clientRequestId = request.headers["client-request-id"]
        let context = CallContext(requestId: requestId, clientRequestId: clientRequestId, now: clock())
        let segments = request.path.split(separator: "/", omittingEmptySubsequences: true).map {
            String($0).removingPercentEncoding ?? String($0)
        }

        if segments.first == "_emulator" {
            let hookSegments = Array(segments.dropFirst())
            let (response, released) = state.withLock { s in
                let response = s.hook(request, segments: hookSegments)
                defer { s.gateReleased.removeAll() }
                return (response, s.gateReleased)
            }
            for continuation in released { continuation.resume(returning: true) }
            return finish(response, context: context)
        }
        if segments.count == 4, segments[1] == "oauth2", segments[2] == "v2.0", segments[3] == "token" {
            _ = await injectLatency()
            let tenantName = segments[0]
            let call = context
            let response = state.withLock { s -> EmulatorResponse in
                if s.faults.tokenThrottledRequests > 0 {
                    // OurChoices.tokenThrottled: 429 with Retry-After and an OAuth error body.
                    s.faults.tokenThrottledRequests -= 1
                    s.faultsFired["token429", default: 0] += 1
                    let r = s.json(429, .object([("error", .string("temporarily_unavailable")),
                                                 ("error_description", .string("The service is temporarily unavailable; try again later."))]),
                                   headers: [("Retry-After", "1")])
                    s.record(request, segments: segments, status: 429, user: nil, context: call)
                    return r
                }
                let r = s.token(request, tenant: tenantName, context: call)
                s.record(request, segments: segments, status: r.status, user: nil, context: call)
                return r
            }
            return finish(response, context: context)
        }
        guard segments.first == "v1.0" else {
            return finish(error(404, "NotFound", "The requested resource was not found.", context: context), context: context)
        }

        // Faults: latency, the test gate for writes, then one random draw for drop / stall / error.
        var current = await injectLatency()
        if request.method != "GET" && segments.count > 1 && segments[1] != "$batch", await passWriteGate() {
            current = state.withLock { $0.faults }   // it was held: the settings may have changed meanwhile
        }
        var draw = Double.random(in: 0..<1)
        if draw < current.dropRate {
            let call = context
            state.withLock {
                $0.record(request, segments: segments, status: 0, user: nil, context: call)
                $0.faultsFired["drop", default: 0] += 1
            }
            return EmulatorResponse(status: 200, headers: [], body: [], fault: .dropConnection)
        }
        draw -= current.dropRate
        let loseAnswer = draw >= 0 && draw < current.lostAnswerRate
        draw -= current.lostAnswerRate
        // A draw of its own: only writes can fail after they were applied.
        let failAfterApply = request.method != "GET" && current.appliedThenErrorRate > 0 && Double.random(in: 0..<1) < current.appliedThenErrorRate
        var stall: Double?
        if draw < current.stallRate { stall = current.stallSeconds }
        draw -= current.stallRate
        if current.stallOnlyWrites && request.method == "GET" { stall = nil }
        for (status, share) in current.errorRates.sorted(by: { $0.key < $1.key }) {
            if draw < share, let code = Int(status) {
                var response = injectedError(code, retryAfter: current.retryAfterSeconds, context: context)
                let call = context
                state.withLock {
                    $0.record(request, segments: segments, status: code, user: nil, context: call)
                    $0.faultsFired[status, default: 0] += 1
                    if stall != nil { $0.faultsFired["stall", default: 0] += 1 }
                }
                response = finish(response, context: context)
                if let stall { response.fault = .stall(seconds: stall) }
                return response
            }
            draw -= share
        }

        // Authentication, throttling, the call itself and its log entry: one turn of the state.
        let rest = Array(segments.dropFirst())
        let call = context
        var response = state.withLock { s -> EmulatorResponse in
            switch s.authenticate(request, context: call) {
            case .rejected(let failure):
                s.record(request, segments: segments, status: failure.status, user: nil, context: call)
                return failure
            case .app(let app):
                if rest == ["$batch"] {
                    guard request.method == "POST" else {
                        return s.error(405, "BadRequest", "Only POST is allowed on $batch.", context: call)
                    }
                    let r = s.batch(request, app: app, context: call)
                    s.record(request, segments: segments, status: r.status, user: nil, context: call)
                    return r
                }
                let result = s.call(method: request.method, segments: rest, query: request.query,
                                    headers: request.headers, body: request.body, app: app, context: call)
                s.record(request, segments: segments, status: result.response.status, user: result.user, context: call)
                return result.response
            }
        }
        let fired = [(failAfterApply && (200..<300).contains(response.status), "appliedThen"), (stall != nil, "stall"), (loseAnswer, "lostAnswer")]
            .filter(\.0).map(\.1)
        if !fired.isEmpty { state.withLock { s in for kind in fired { s.faultsFired[kind, default: 0] += 1 } } }
        if failAfterApply, (200..<300).contains(response.status) {
            // Applied, then the gateway failed: the client hears only the 5xx.
            // The request log keeps the write's real status (it landed).
            response = injectedError(current.appliedThenStatus, retryAfter: current.retryAfterSeconds, context: context)
        }
        response = finish(response, context: context)
        if let stall { response.fault = .stall(seconds: stall) }
        if loseAnswer { response.fault = .dropConnection }
        return response
    }

    /// Lets a write through the test gate, or holds it there until the gate is raised or
    /// opened. Returns whether it was held.
    private func passWriteGate() async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let pass = state.withLock { s -> Bool in
                guard let limit = s.faults.holdWritesAfter, s.gatePassed >= limit else {
                    if s.faults.holdWritesAfter != nil { s.gatePassed += 1 }
                    return true
                }
                s.heldWrites.append(continuation)
                return false
            }
            if pass { continuation.resume(returning: false) }
        }
    }

    /// Releases every write the test gate holds and opens it (the emulator is stopping).
    public func openWriteGate() {
        let held = state.withLock { s -> [CheckedContinuation<Bool, Never>] in
            s.faults.holdWritesAfter = nil
            return s.releaseHeldWrites()
        }
        for continuation in held { continuation.resume(returning: true) }
    }

    /// Sleeps for the configured latency (plus spread) and returns the fault settings in force.
    private func injectLatency() async -> FaultSettings {
        let current = state.withLock { $0.faults }
        let delay = current.latencyMs + (current.latencySpreadMs > 0 ? Double.random(in: 0...current.latencySpreadMs) : 0)
        if delay > 0 { try? await Task.sleep(nanoseconds: UInt64(delay * 1_000_000)) }
        return current
    }

    private func injectedError(_ status: Int, retryAfter: Double, context: CallContext) -> EmulatorResponse {
        switch status {
        case 503:
            return error(503, "serviceNotAvailable", "The service is temporarily unavailable. Please retry later.",
                         context: context, headers: [("Retry-After", formatSeconds(retryAfter))])
        case 504:
            return error(504, "UnknownError", "The gateway timed out.", context: context)
        case 429:
            // OurChoices.injected429HasRetryAfter: a 429 without Retry-After.
            return error(429, "TooManyRequests", "Too many requests.", context: context)
        case 502:
            return error(502, "UnknownError", "Bad gateway.", context: context)
        default:
            return error(500, "generalException", "An unexpected error occurred.", context: context)
        }
    }

}

/// One request as the log keeps it, for in-process tests.
public struct RequestLogEntry: Sendable {
    public var method: String
    public var path: String
    public var status: Int
    public var user: String?
}

/// The emulator's mutable state: one value, changed only inside `GraphService.state`'s lock.
/// Its methods (in the EmulatorState+… files) are the emulator's behaviour.
struct EmulatorState: Responding {
    var options: EmulatorOptions
    var tenant: Tenant
    var throttle: Throttle
    var tokens: [String: (app: String, expires: Double)] = [:]
    var log: [LoggedRequest] = []
    var logStart = 0
    var nextSequence = 1
    var faults: FaultSettings
    let clock: @Sendable () -> Double
    /// Certificates registered on the app (parsed from `options.clientCertificates`).
    var registeredCertificates: [RegisteredCertificate]
    /// Client-assertion `jti`s seen (each may be used once).
    var usedAssertionIds: Set<String> = []
    /// Faults injected so far, by kind (`drop`, `lostAnswer`, `stall`, `appliedThen`, or the
    /// status of an injected error), for tests to check that a fault really fired.
    var faultsFired: [String: Int] = [:]
    /// Writes that passed the test gate since it was set (`FaultSettings.holdWritesAfter`),
    /// and the writes it holds, each waiting to go on.
    var gatePassed = 0
    var heldWrites: [CheckedContinuation<Bool, Never>] = []
    /// Held writes a hook let go, for the service to resume once the lock is given back.
    var gateReleased: [CheckedContinuation<Bool, Never>] = []
    /// The Entra audit log's entries about authentication methods, oldest first.
    var audits: [AuditEntry] = []
    /// The app (client id) of the call being routed, for the audit entries its writes make.
    var callingApp = ""

    init(options: EmulatorOptions, clock: @escaping @Sendable () -> Double) {
        self.options = options
        self.clock = clock
        registeredCertificates = options.clientCertificates.compactMap { try? RegisteredCertificate(pem: $0) }
        tenant = Tenant(seed: options.seed)
        throttle = Throttle(settings: options.throttle, tenantId: options.seed.tenant.id,
                            tenantUsers: options.seed.users.count, now: clock())
        faults = options.faults
        let start = clock()
        for seeded in options.seed.auditEvents ?? [] {
            guard let index = tenant.userIndex(id: seeded.userId) else { continue }
            let user = tenant.users[index]
            audits.append(AuditEntry(id: stableUUID("audit:\(seeded.userId):\(seeded.hoursAgo)"), time: start - seeded.hoursAgo * 3600,
                                     activity: seeded.activity ?? "Admin updated security info", userId: user.id, userPrincipalName: user.userPrincipalName,
                                     displayName: user.displayName, byUser: seeded.initiatedByApp == nil ? (seeded.initiatedByUser ?? "admin@" + (options.seed.tenant.domain ?? "contoso.com")) : nil,
                                     byApp: seeded.initiatedByApp.map { (appId: stableUUID("app:" + $0), name: $0) }))
        }
        audits.sort { $0.time < $1.time }
    }
}

/// The identity of one call, for its answer and its log entry.
struct CallContext {
    var requestId: String
    var clientRequestId: String?
    var now: Double
}

/// Graph's response shapes, shared by the service and its state.
protocol Responding {}

extension Responding {
    static var jsonContentType: String { "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8" }

    func json(_ status: Int, _ value: JSON, headers: [(String, String)] = []) -> EmulatorResponse {
        EmulatorResponse(status: status, headers: [("Content-Type", Self.jsonContentType)] + headers, body: value.serialized())
    }

    func errorBody(_ code: String, _ message: String, context: CallContext) -> JSON {
        .object([("error", .object([
            ("code", .string(code)), ("message", .string(message)),
            ("innerError", .object([
                ("date", .string(isoDate(context.now))), ("request-id", .string(context.requestId)),
                ("client-request-id", .string(context.clientRequestId ?? context.requestId)),
            ])),
        ]))])
    }

    func error(_ status: Int, _ code: String, _ message: String, context: CallContext,
               headers: [(String, String)] = []) -> EmulatorResponse {
        json(status, errorBody(code, message, context: context), headers: headers)
    }

    /// Adds the headers every response carries.
    func finish(_ response: EmulatorResponse, context: CallContext) -> EmulatorResponse {
        var r = response
        r.headers.append(("request-id", context.requestId))
        r.headers.append(("client-request-id", context.clientRequestId ?? context.requestId))
        r.headers.append(("x-ms-ags-diagnostic", "{\"ServerInfo\":{\"DataCenter\":\"Emulator\",\"Slice\":\"E\",\"Ring\":\"0\",\"ScaleUnit\":\"000\",\"RoleInstance\":\"EMU\"}}"))
        return r
    }
}

/// A value behind a pthread mutex (`NSLock`).
///
/// Not `Synchronization.Mutex`: on Linux a contended `Mutex` is handed from one thread to the
/// next inside the kernel (`FUTEX_UNLOCK_PI` / `FUTEX_LOCK_PI`), with no user-space atomic for
/// ThreadSanitizer to see, so it reported every contended hand-over as a data race on the
/// state (16 reports in the end-to-end tests). ThreadSanitizer intercepts pthread mutexes.
final class LockedState<Value>: @unchecked Sendable {
    // @unchecked: `value` is only touched inside `withLock`.
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
