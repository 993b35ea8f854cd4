import Foundation
import Logging

/// How many times, and how patiently, transient failures are retried.
public struct RetryPolicy: Sendable {
    /// Tries for 5xx and network errors (first try included).
    public var maxAttempts: Int = 6
    /// Tries when Graph keeps answering 429 (each honours Retry-After).
    public var maxThrottledAttempts: Int = 30
    public var baseDelay: Double = 0.5
    public var maxDelay: Double = 30
    public init(maxAttempts: Int = 6, maxThrottledAttempts: Int = 30, baseDelay: Double = 0.5, maxDelay: Double = 30) {
        self.maxAttempts = maxAttempts
        self.maxThrottledAttempts = maxThrottledAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// Capped exponential backoff with full jitter.
    func delay(afterAttempt attempt: Int) -> Double {
        let ceiling = min(maxDelay, baseDelay * pow(2, Double(attempt - 1)))
        return Double.random(in: ceiling / 2...ceiling)
    }
}

/// A Graph answer after retries: any status; the caller decides what it means.
public struct GraphResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]
    public var clientRequestId: String
    public var attempts: Int
    public var requestId: String? { headers["request-id"] }

    public var json: Any? { body.isEmpty ? nil : try? JSONSerialization.jsonObject(with: Data(body)) }
    public var object: [String: Any] { json as? [String: Any] ?? [:] }

    /// Graph's error code and message, when the body is an error envelope.
    public var error: (code: String, message: String)? {
        guard let e = object["error"] as? [String: Any] else { return nil }
        return (e["code"] as? String ?? "", e["message"] as? String ?? "")
    }

    public func failure() -> GraphError {
        GraphError(kind: .http, status: status, code: error?.code, message: error?.message ?? "HTTP \(status)",
                   requestId: requestId, clientRequestId: clientRequestId)
    }
}

/// Client-credentials tokens, cached and renewed before they expire (and on demand after
/// a 401). One fetch at a time.
actor TokenProvider {
    private let settings: GraphSettings
    private let transport: CurlTransport
    private var token: String?
    private var renewAt: Double = 0
    private var fetching: Task<String, Error>?
    private let time: any TimeSource

    init(settings: GraphSettings, transport: CurlTransport, time: any TimeSource) {
        self.settings = settings
        self.transport = transport
        self.time = time
    }

    func current() async throws -> String {
        if let token, time.now < renewAt { return token }
        return try await refresh()
    }

    func invalidate(_ stale: String) {
        if token == stale { token = nil }
    }

    /// Drops the cached token and gets a new one (its `roles` are the consent as it is now).
    func renew() async throws {
        token = nil
        _ = try await refresh()
    }

    /// The application permissions in the current token's `roles` claim; nil when the token
    /// is not a JWT whose payload can be read (then only real calls tell).
    func grantedRoles() async throws -> Set<String>? {
        let token = try await current()
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        var text = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        guard let data = Data(base64Encoded: text),
              let payload = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return nil }
        return Set(payload["roles"] as? [String] ?? [])
    }

    private func refresh() async throws -> String {
        if let fetching { return try await fetching.value }
        let task = Task { try await self.fetch() }
        fetching = task
        defer { fetching = nil }
        return try await task.value
    }

    private func fetch() async throws -> String {
        func encode(_ s: String) -> String {
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-._~")
            return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
        }
        let started = time.now
        var lastError: Error?
        for attempt in 1...4 {
            // A certificate signs a new assertion (fresh jti, short life) for every request.
            var fields = [("client_id", settings.clientId), ("scope", settings.scope), ("grant_type", "client_credentials")]
            switch settings.credential {
            case .secret(let secret):
                fields.append(("client_secret", secret.value))
            case .certificate(let certificate):
                fields.append(("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"))
                fields.append(("client_assertion", try certificate.assertion(clientId: settings.clientId, audience: settings.tokenURL)))
            }
            let form = fields.map { "\($0.0)=\(encode($0.1))" }.joined(separator: "&")
            do {
                let response = try await transport.send(HTTPRequest(
                    method: "POST", url: settings.tokenURL,
                    headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
                    body: Array(form.utf8)))
                let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:]
                if response.status == 200, let value = object["access_token"] as? String {
                    let lifetime = (object["expires_in"] as? Double) ?? Double(object["expires_in"] as? Int ?? 3599)
                    token = value
                    // Renew ahead of expiry: five minutes, or a fifth of a short lifetime.
                    renewAt = started + lifetime - min(300, lifetime / 5)
                    return value
                }
                if [429, 500, 502, 503, 504].contains(response.status), attempt < 4 {
                    // Busy, not refused: ask again (after Retry-After when given, capped).
                    let wait = response.headers["retry-after"].flatMap(Double.init).map { min($0, 30) } ?? Double(attempt) * 0.5
                    try await time.sleep(seconds: wait)
                    continue
                }
                throw Self.explain(status: response.status, object: object, settings: settings)
            } catch let error as TransportError {
                lastError = error
                if attempt < 4 { try await time.sleep(seconds: Double(attempt) * 0.5) }
            }
        }
        // Unreachable is not refused: transient (exit 8), not an authentication failure; a
        // certificate TLS does not trust is refused (exit 4).
        let tls = (lastError as? TransportError)?.isTLSFailure == true
        throw GraphError(kind: tls ? .authentication : .transport, status: nil, code: nil,
                         message: "cannot reach the token endpoint \(settings.tokenURL): \(lastError.map { "\($0)" } ?? "")",
                         requestId: nil, clientRequestId: nil)
    }

    static func certificateName(_ settings: GraphSettings) -> String {
        if case .certificate(let c) = settings.credential { return "thumbprint \(c.thumbprintSHA1Hex)" }
        return "none configured"
    }

    /// A person-readable reason for a failed token request (AADSTS codes explained).
    static func explain(status: Int, object: [String: Any], settings: GraphSettings) -> GraphError {
        let codes = (object["error_codes"] as? [Int]) ?? []
        let aad = codes.first.map { "AADSTS\($0)" }
        let reason: String
        switch codes.first {
        case 7000215: reason = "the client secret is wrong for app \(settings.clientId)"
        case 700027: reason = "the identity platform did not accept the certificate's signature for app \(settings.clientId): upload this certificate (\(Self.certificateName(settings))) to the app registration (Certificates & secrets), or check that the key belongs to it"
        case 700024: reason = "the client assertion was not within its valid time range: check this machine's clock (it must be within a few minutes of the real time)"
        case 700021: reason = "the client assertion names another app than \(settings.clientId)"
        case 500011: reason = "the token was asked for a Graph that this cloud does not serve (\(settings.scope)); check tenant.cloud"
        case 7000222: reason = "the client secret of app \(settings.clientId) has expired; create a new one in Entra ID"
        case 700016: reason = "no app with client id \(settings.clientId) exists in tenant \(settings.tenantId)"
        case 90002: reason = "tenant \(settings.tenantId) does not exist (check tenant.tenantId and tenant.authority)"
        case 1002012, 70011: reason = "the scope \(settings.scope) is not valid for this cloud"
        default: reason = (object["error"] as? String).map { "the identity platform refused the request (\($0))" } ?? "HTTP \(status)"
        }
        return GraphError(kind: .authentication, status: status, code: aad ?? object["error"] as? String,
                          message: "cannot get a token: \(reason)", requestId: nil, clientRequestId: nil)
    }
}

/// PhoneShift's Microsoft Graph client: authentication, the shared rate limiter, retries of
/// what is transient (429 honouring Retry-After, 500/502/503/504, network errors, timeouts)
/// with capped backoff, and a fresh `client-request-id` on every request.
public final class GraphClient: Sendable {
    public let settings: GraphSettings
    public let limiter: RateLimiter
    let transport: CurlTransport
    private let tokens: TokenProvider
    let retry: RetryPolicy
    private let logger: Logger

    /// The clock and sleeps of retries, backoffs and token renewal (the system's in a run).
    public let time: any TimeSource

    public init(settings: GraphSettings, transport: CurlTransport, limiter: RateLimiter,
                retry: RetryPolicy = .init(), logger: Logger, time: any TimeSource = SystemTime()) {
        self.settings = settings
        self.transport = transport
        self.limiter = limiter
        self.retry = retry
        self.logger = logger
        self.time = time
        tokens = TokenProvider(settings: settings, transport: transport, time: time)
    }

    /// Gets a token now: a wrong secret or tenant fails here, before any row is touched.
    public func authenticate() async throws {
        _ = try await tokens.current()
    }

    /// The application permissions granted to the app, as its token says (nil: unreadable).
    public func grantedPermissions() async throws -> Set<String>? {
        try await tokens.grantedRoles()
    }

    /// The permissions granted now: a new token is fetched first (a token keeps the roles it
    /// was issued with, so only a new one shows consent withdrawn since).
    public func currentPermissions() async throws -> Set<String>? {
        try await tokens.renew()
        return try await tokens.grantedRoles()
    }

    /// Sends a Graph request (path relative to the Graph base, e.g. `/users/x`), retrying
    /// what is transient. Returns the final answer whatever its status; throws `GraphError`
    /// when the network kept failing or authentication failed.
    ///
    /// A write (anything but GET) whose outcome is unknown — the connection broke or timed
    /// out after it was sent, or Graph answered 504 — is not re-sent here: it throws
    /// `GraphError` with `outcomeUnknown`, so that the caller re-reads before writing again;
    /// so is one answered 500, 502 or 503 (a gateway can fail after Graph applied it).
    /// Cancellation throws `CancellationError`, and only at points where nothing of this
    /// request can have been applied: before it is sent, or after an answer that says it was
    /// not (429; 5xx to a read).
    public func send(_ method: String, _ path: String, json: [String: Any]? = nil) async throws -> GraphResponse {
        let kind: RateLimiter.Kind = method == "GET" ? .read : .write
        let idempotent = method == "GET"
        let body = try json.map { try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]) }.map(Array.init) ?? []
        let url = settings.graphBase.absoluteString.trimmingTrailingSlash + path
        var attempts = 0, throttledAttempts = 0, failures = 0
        var freshConnection = false
        var renewedToken = false
        while true {
            try Task.checkCancellation()
            let ticket = try await limiter.acquire(kind)
            attempts += 1
            let token: String
            do { token = try await tokens.current() } catch {
                await limiter.finished(ticket, status: nil)
                throw error
            }
            let clientRequestId = UUID().uuidString.lowercased()
            var headers = [("Authorization", "Bearer \(token)"), ("Accept", "application/json"),
                           ("client-request-id", clientRequestId), ("return-client-request-id", "true")]
            if !body.isEmpty { headers.append(("Content-Type", "application/json")) }
            let response: HTTPResponse
            do {
                do {
                    response = try await transport.send(HTTPRequest(method: method, url: url, headers: headers, body: body,
                                                                    freshConnection: freshConnection))
                } catch {
                    await limiter.finished(ticket, status: nil)
                    throw error
                }
                await limiter.finished(ticket, status: response.status)
            } catch let error as TransportError where error.isTLSFailure {
                // Not transient: the endpoint's certificate is not trusted (verification is never off).
                throw GraphError(kind: .authentication, status: nil, code: nil, message: "TLS refused \(settings.graphBase.host ?? "Graph"): \(error)",
                                 requestId: nil, clientRequestId: clientRequestId)
            } catch let error as TransportError {
                failures += 1
                logger.debug("network error on \(method) (try \(attempts)): \(error)")
                if !idempotent && !error.beforeSending {
                    throw GraphError(kind: .transport, status: nil, code: nil, message: "\(error)", requestId: nil,
                                     clientRequestId: clientRequestId, outcomeUnknown: true)
                }
                if failures >= retry.maxAttempts {
                    throw GraphError(kind: .transport, status: nil, code: nil, message: "\(error) after \(attempts) tries",
                                     requestId: nil, clientRequestId: clientRequestId)
                }
                freshConnection = true
                try await time.sleep(seconds: retry.delay(afterAttempt: failures))
                continue
            }
            if [500, 502, 503, 504].contains(response.status) && !idempotent {
                // A gateway can fail after Graph applied the write: re-read before re-sending.
                var error = GraphError(kind: .transport, status: response.status, code: nil,
                                       message: response.status == 504 ? "Graph answered 504 (gateway timeout)" : "Graph answered \(response.status) to a write, which may have been applied all the same",
                                       requestId: response.headers["request-id"], clientRequestId: clientRequestId, outcomeUnknown: true)
                error.retryAfter = response.headers["retry-after"].flatMap(Double.init)
                throw error
            }
            freshConnection = false
            let answer = GraphResponse(status: response.status, headers: response.headers, body: response.body,
                                       clientRequestId: clientRequestId, attempts: attempts)
            await limiter.observe(limitPercentage: response.headers["x-ms-throttle-limit-percentage"].flatMap(Double.init), kind: kind,
                                  sentAt: ticket.sentAt)
            switch response.status {
            case 401 where !renewedToken:
                // Expired or revoked early: one new token, then try again.
                renewedToken = true
                await tokens.invalidate(token)
                continue
            case 401:
                throw GraphError(kind: .authentication, status: 401, code: answer.error?.code,
                                 message: "Graph refused a fresh token: \(answer.error?.message ?? "")",
                                 requestId: answer.requestId, clientRequestId: clientRequestId)
            case 429:
                throttledAttempts += 1
                let retryAfter = response.headers["retry-after"].flatMap(Double.init)
                let scope = response.headers["x-ms-throttle-scope"]
                let backoff = retry.delay(afterAttempt: throttledAttempts)
                // A 429 that names neither a wait nor a quota (a gateway's, a proxy's) says
                // nothing about the other requests: this one backs off, the lanes go on (their
                // rate is still lowered, to no less than most of what succeeded lately).
                let pausesLanes = retryAfter != nil || scope != nil
                await limiter.throttled(retryAfter: pausesLanes ? retryAfter ?? backoff : nil, scope: scope, sentAt: ticket.sentAt)
                if throttledAttempts >= retry.maxThrottledAttempts { return answer }
                if !pausesLanes { try await time.sleep(seconds: backoff) }
                continue
            case 500, 502, 503, 504:
                failures += 1
                if failures >= retry.maxAttempts { return answer }
                let wait = response.headers["retry-after"].flatMap(Double.init) ?? retry.delay(afterAttempt: failures)
                freshConnection = response.status == 503
                try await time.sleep(seconds: min(retry.maxDelay, wait))
                continue
            default:
                renewedToken = false
                return answer
            }
        }
    }
}
