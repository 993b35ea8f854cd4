import Foundation

/// A request as the emulator's core sees it, independent of the HTTP server.
public struct EmulatorRequest: Sendable {
    public var method: String
    /// Path without the query, percent-encoded as received.
    public var path: String
    /// Query string without the `?`, percent-encoded as received.
    public var query: String
    /// Header names in lowercase.
    public var headers: [String: String]
    public var body: [UInt8]

    public init(method: String, path: String, query: String = "", headers: [String: String] = [:], body: [UInt8] = []) {
        self.method = method.uppercased()
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }
}

/// What the core answers: a response, or a fault the server must act out.
public struct EmulatorResponse: Sendable {
    public enum Fault: Sendable { case none, dropConnection, stall(seconds: Double) }
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]
    public var fault: Fault = .none
}

/// One line of the request log (`GET /_emulator/requests`).
struct LoggedRequest: Sendable {
    var sequence: Int
    var time: Double
    var method: String
    var path: String
    var status: Int
    var user: String?
    var clientRequestId: String?
    var requestId: String
    var batchId: String?

    var json: JSON {
        .object([
            ("sequence", .int(sequence)), ("time", .string(isoDate(time, fractional: true))),
            ("method", .string(method)), ("path", .string(path)), ("status", .int(status)),
            ("user", user.map(JSON.string) ?? .null),
            ("clientRequestId", clientRequestId.map(JSON.string) ?? .null),
            ("requestId", .string(requestId)), ("batchRequestId", batchId.map(JSON.string) ?? .null),
        ])
    }
}

func isoDate(_ time: Double, fractional: Bool = false) -> String {
    let date = Date(timeIntervalSince1970: time)
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .nanosecond], from: date)
    let base = String(format: "%04d-%02d-%02dT%02d:%02d:%02d", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    return fractional ? base + String(format: ".%03dZ", (c.nanosecond ?? 0) / 1_000_000) : base + "Z"
}

/// The emulated Microsoft Graph and identity platform. All state sits behind one lock;
/// each call holds it only for in-memory work (never while sleeping for a fault).
public final class GraphService: @unchecked Sendable {
    // @unchecked: every mutable member is touched only while holding `lock`.
    private let lock = NSLock()
    private var options: EmulatorOptions
    private var tenant: Tenant
    private var throttle: Throttle
    private var tokens: [String: (app: String, expires: Double)] = [:]
    private var log: [LoggedRequest] = []
    private var logStart = 0
    private var nextSequence = 1
    private var faults: FaultSettings
    private let started = Date().timeIntervalSince1970
    private let clock: @Sendable () -> Double

    public init(options: EmulatorOptions, clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.options = options
        self.clock = clock
        tenant = Tenant(seed: options.seed)
        throttle = Throttle(settings: options.throttle, tenantId: options.seed.tenant.id,
                            tenantUsers: options.seed.users.count, now: clock())
        faults = options.faults
    }

    /// Sets the base URL used in links once the server knows its port.
    public func setPublicBaseURL(_ url: String) {
        lock.withLock { options.publicBaseURL = url }
    }

    // MARK: - Entry point

    public func handle(_ request: EmulatorRequest) async -> EmulatorResponse {
        let requestId = UUID().uuidString.lowercased()
        let clientRequestId = request.headers["client-request-id"]
        var context = CallContext(requestId: requestId, clientRequestId: clientRequestId, now: clock())
        let segments = request.path.split(separator: "/", omittingEmptySubsequences: true).map {
            String($0).removingPercentEncoding ?? String($0)
        }

        if segments.first == "_emulator" {
            return finish(hook(request, segments: Array(segments.dropFirst())), context: context)
        }
        if segments.count == 4, segments[1] == "oauth2", segments[2] == "v2.0", segments[3] == "token" {
            _ = await injectLatency()
            let response = token(request, tenant: segments[0], context: &context)
            record(request, segments: segments, status: response.status, user: nil, context: context)
            return finish(response, context: context)
        }
        guard segments.first == "v1.0" else {
            return finish(error(404, "NotFound", "The requested resource was not found.", context: context), context: context)
        }

        // Faults: latency, then one random draw for drop / stall / error.
        let current = await injectLatency()
        var draw = Double.random(in: 0..<1)
        if draw < current.dropRate {
            record(request, segments: segments, status: 0, user: nil, context: context)
            return EmulatorResponse(status: 200, headers: [], body: [], fault: .dropConnection)
        }
        draw -= current.dropRate
        let loseAnswer = draw >= 0 && draw < current.lostAnswerRate
        draw -= current.lostAnswerRate
        var stall: Double?
        if draw < current.stallRate { stall = current.stallSeconds }
        draw -= current.stallRate
        for (status, share) in current.errorRates.sorted(by: { $0.key < $1.key }) {
            if draw < share, let code = Int(status) {
                var response = injectedError(code, retryAfter: current.retryAfterSeconds, context: context)
                record(request, segments: segments, status: code, user: nil, context: context)
                response = finish(response, context: context)
                if let stall { response.fault = .stall(seconds: stall) }
                return response
            }
            draw -= share
        }

        var response: EmulatorResponse
        let rest = Array(segments.dropFirst())
        switch authenticate(request, context: context) {
        case .rejected(let failure):
            response = failure
            record(request, segments: segments, status: failure.status, user: nil, context: context)
        case .app(let app):
            if rest == ["$batch"] {
                guard request.method == "POST" else {
                    response = error(405, "BadRequest", "Only POST is allowed on $batch.", context: context)
                    break
                }
                response = batch(request, app: app, context: context)
                record(request, segments: segments, status: response.status, user: nil, context: context)
            } else {
                let result = call(method: request.method, segments: rest, query: request.query,
                                  headers: request.headers, body: request.body, app: app, context: context)
                response = result.response
                record(request, segments: segments, status: response.status, user: result.user, context: context)
            }
        }
        response = finish(response, context: context)
        if let stall { response.fault = .stall(seconds: stall) }
        if loseAnswer { response.fault = .dropConnection }
        return response
    }

    struct CallContext {
        var requestId: String
        var clientRequestId: String?
        var now: Double
    }

    /// Adds the headers every response carries.
    private func finish(_ response: EmulatorResponse, context: CallContext) -> EmulatorResponse {
        var r = response
        r.headers.append(("request-id", context.requestId))
        r.headers.append(("client-request-id", context.clientRequestId ?? context.requestId))
        r.headers.append(("x-ms-ags-diagnostic", "{\"ServerInfo\":{\"DataCenter\":\"Emulator\",\"Slice\":\"E\",\"Ring\":\"0\",\"ScaleUnit\":\"000\",\"RoleInstance\":\"EMU\"}}"))
        return r
    }

    /// Sleeps for the configured latency (plus spread) and returns the fault settings in force.
    private func injectLatency() async -> FaultSettings {
        let current = lock.withLock { faults }
        let delay = current.latencyMs + (current.latencySpreadMs > 0 ? Double.random(in: 0...current.latencySpreadMs) : 0)
        if delay > 0 { try? await Task.sleep(nanoseconds: UInt64(delay * 1_000_000)) }
        return current
    }

    // MARK: - Responses

    static let jsonContentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

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

    private func injectedError(_ status: Int, retryAfter: Double, context: CallContext) -> EmulatorResponse {
        switch status {
        case 503:
            return error(503, "serviceNotAvailable", "The service is temporarily unavailable. Please retry later.",
                         context: context, headers: [("Retry-After", formatSeconds(retryAfter))])
        case 504:
            return error(504, "UnknownError", "The gateway timed out.", context: context)
        case 502:
            return error(502, "UnknownError", "Bad gateway.", context: context)
        default:
            return error(500, "generalException", "An unexpected error occurred.", context: context)
        }
    }

    // MARK: - Identity platform

    private func token(_ request: EmulatorRequest, tenant tenantName: String, context: inout CallContext) -> EmulatorResponse {
        func aad(_ status: Int, _ code: String, _ aadsts: Int, _ text: String) -> EmulatorResponse {
            let trace = UUID().uuidString.lowercased()
            let description = "AADSTS\(aadsts): \(text) Trace ID: \(trace) Correlation ID: \(context.requestId) Timestamp: \(isoDate(context.now))"
            return json(status, .object([
                ("error", .string(code)), ("error_description", .string(description)),
                ("error_codes", .array([.int(aadsts)])), ("timestamp", .string(isoDate(context.now))),
                ("trace_id", .string(trace)), ("correlation_id", .string(context.requestId)),
                ("error_uri", .string("https://login.microsoftonline.com/error?code=\(aadsts)")),
            ]))
        }
        guard request.method == "POST" else {
            return aad(400, "invalid_request", 900561, "The endpoint only accepts POST requests.")
        }
        let form = parseForm(request.body)
        return lock.withLock { () -> EmulatorResponse in
            let knownTenant = tenantName.lowercased() == options.seed.tenant.id.lowercased()
                || options.tenantAliases.contains { $0.lowercased() == tenantName.lowercased() }
            guard knownTenant else {
                return aad(400, "invalid_request", 90002, "Tenant '\(tenantName)' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.")
            }
            guard form["grant_type"] == "client_credentials" else {
                return aad(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '\(form["grant_type"] ?? "")'.")
            }
            guard let clientId = form["client_id"], clientId.lowercased() == options.clientId.lowercased() else {
                return aad(400, "unauthorized_client", 700016, "Application with identifier '\(form["client_id"] ?? "")' was not found in the directory '\(options.seed.tenant.displayName)'.")
            }
            if form["client_assertion"] != nil {
                return aad(401, "invalid_client", 700027, "The certificate with identifier used to sign the client assertion is not registered on application.")
            }
            guard let secret = form["client_secret"], secret == options.clientSecret else {
                return aad(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '\(options.clientId)'.")
            }
            if options.secretExpired {
                return aad(401, "invalid_client", 7000222, "The provided client secret keys for app '\(options.clientId)' are expired. Visit the Azure portal to create new keys for your app.")
            }
            let scope = form["scope"] ?? ""
            guard scope.hasSuffix("/.default") else {
                return aad(400, "invalid_scope", 1002012, "The provided value for scope \(scope) is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).")
            }
            let token = makeToken(app: clientId, now: context.now)
            tokens[token] = (clientId.lowercased(), context.now + options.tokenLifetime)
            let lifetime = Int(options.tokenLifetime.rounded())
            return json(200, .object([
                ("token_type", .string("Bearer")), ("expires_in", .int(lifetime)),
                ("ext_expires_in", .int(lifetime)), ("access_token", .string(token)),
            ]))
        }
    }

    private func makeToken(app: String, now: Double) -> String {
        func b64(_ s: String) -> String {
            Data(s.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }
        let roles = options.permissions.sorted().map { "\"\($0)\"" }.joined(separator: ",")
        let payload = "{\"aud\":\"https://graph.microsoft.com\",\"iss\":\"https://sts.windows.net/\(options.seed.tenant.id)/\",\"iat\":\(Int(now)),\"exp\":\(Int(now + options.tokenLifetime)),\"appid\":\"\(app)\",\"tid\":\"\(options.seed.tenant.id)\",\"roles\":[\(roles)],\"jti\":\"\(UUID().uuidString.lowercased())\"}"
        return b64("{\"typ\":\"JWT\",\"alg\":\"none\"}") + "." + b64(payload) + "." + b64(UUID().uuidString + UUID().uuidString)
    }

    private func parseForm(_ body: [UInt8]) -> [String: String] {
        var out: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            func decode(_ s: Substring) -> String {
                (String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding) ?? String(s)
            }
            out[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return out
    }

    enum Authentication {
        case app(String)
        case rejected(EmulatorResponse)
    }

    private func authenticate(_ request: EmulatorRequest, context: CallContext) -> Authentication {
        guard let header = request.headers["authorization"], header.lowercased().hasPrefix("bearer "),
              !header.dropFirst(7).trimmingCharacters(in: .whitespaces).isEmpty else {
            return .rejected(error(401, "InvalidAuthenticationToken", "Access token is empty.", context: context,
                                  headers: [("WWW-Authenticate", "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"")]))
        }
        let token = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        return lock.withLock {
            guard let entry = tokens[token] else {
                return .rejected(error(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.", context: context))
            }
            guard entry.expires > context.now else {
                return .rejected(error(401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.", context: context))
            }
            return .app(entry.app)
        }
    }

    // MARK: - Test hooks

    private func hook(_ request: EmulatorRequest, segments: [String]) -> EmulatorResponse {
        let context = CallContext(requestId: UUID().uuidString.lowercased(), clientRequestId: nil, now: clock())
        switch (request.method, segments) {
        case ("GET", ["state"]):
            return lock.withLock {
                let wanted = queryParameters(request.query)["user"].flatMap { tenant.index(of: $0) }
                let users = wanted.map { [tenant.users[$0]] } ?? tenant.users
                return json(200, .object([("users", .array(users.map { u in
                    .object([
                        ("id", .string(u.id)), ("userPrincipalName", .string(u.userPrincipalName)),
                        ("phoneMethods", .array(PhoneSlot.allCases.compactMap { u.phones[$0] }.map(phoneJSON))),
                    ])
                }))]))
            }
        case ("GET", ["requests"]):
            // Entries whose sequence is `since` or later; `next` is the sequence the next entry gets.
            let since = Int(queryParameters(request.query)["since"] ?? "") ?? 0
            return lock.withLock {
                let first = max(0, since - 1 - logStart)
                let items = first < log.count ? Array(log[first...]) : []
                return json(200, .object([("requests", .array(items.map(\.json))), ("next", .int(nextSequence))]))
            }
        case ("POST", ["reset"]):
            lock.withLock {
                tenant = Tenant(seed: options.seed)
                throttle = Throttle(settings: options.throttle, tenantId: options.seed.tenant.id,
                                    tenantUsers: options.seed.users.count, now: clock())
                tokens = [:]
                log = []
                logStart = nextSequence - 1
                faults = options.faults
            }
            return EmulatorResponse(status: 204, headers: [], body: [])
        case ("GET", ["faults"]):
            return lock.withLock { json(200, faultsJSON()) }
        case ("PUT", ["faults"]):
            guard let document = JSON.parse(request.body) else {
                return error(400, "BadRequest", "The fault settings must be a JSON object.", context: context)
            }
            do {
                let merged = try faults.merged(with: document)
                return lock.withLock {
                    faults = merged
                    if document["revokeTokens"]?.boolValue == true { tokens = [:] }
                    if let lifetime = document["tokenLifetimeSeconds"]?.doubleValue { options.tokenLifetime = lifetime }
                    if let expired = document["secretExpired"]?.boolValue { options.secretExpired = expired }
                    return json(200, faultsJSON())
                }
            } catch {
                return self.error(400, "BadRequest", "\(error)", context: context)
            }
        case ("PUT", ["throttle"]):
            guard let settings = try? JSONDecoder().decode(ThrottleSettings.self, from: Data(request.body)) else {
                return error(400, "BadRequest", "The throttle settings must be a JSON object with every ThrottleSettings field.", context: context)
            }
            return lock.withLock {
                options.throttle = settings
                throttle = Throttle(settings: settings, tenantId: options.seed.tenant.id,
                                    tenantUsers: options.seed.users.count, now: clock())
                return EmulatorResponse(status: 204, headers: [], body: [])
            }
        default:
            return error(404, "NotFound", "No such emulator hook.", context: context)
        }
    }

    /// Caller holds the lock.
    private func faultsJSON() -> JSON {
        guard case .object(var pairs) = faults.json else { return faults.json }
        pairs.append(("tokenLifetimeSeconds", .number(options.tokenLifetime)))
        pairs.append(("secretExpired", .bool(options.secretExpired)))
        return .object(pairs)
    }

    private func record(_ request: EmulatorRequest, segments: [String], status: Int, user: String?,
                        context: CallContext, batchId: String? = nil, method: String? = nil, path: String? = nil) {
        lock.withLock {
            log.append(LoggedRequest(sequence: nextSequence, time: context.now, method: method ?? request.method,
                                     path: path ?? "/" + segments.joined(separator: "/"), status: status, user: user,
                                     clientRequestId: context.clientRequestId, requestId: context.requestId, batchId: batchId))
            nextSequence += 1
            // Drop the oldest in chunks of a tenth of the limit: removing from the front of an
            // array moves all the rest, so doing it per request would cost O(limit) each time.
            if log.count > options.requestLogLimit + options.requestLogLimit / 10 {
                let drop = log.count - options.requestLogLimit
                log.removeFirst(drop)
                logStart += drop
            }
        }
    }

    // MARK: - Graph calls (single requests and batch items)

    struct CallResult {
        var response: EmulatorResponse
        /// The user the call was about (id when found), for the request log.
        var user: String?
    }

    private func call(method: String, segments: [String], query: String, headers: [String: String],
                      body: [UInt8], app: String, context: CallContext) -> CallResult {
        let params = queryParameters(query)
        let isWrite = method != "GET"
        // Cost in resource units (GRAPH.md): a GET 1, a user GET 2, a write 1 plus 1 write.
        let units: Double = (segments.count == 2 && segments[0] == "users" && method == "GET") ? 2 : 1
        return lock.withLock { () -> CallResult in
            let verdict = throttle.admit(app: app, units: units, writes: isWrite ? 1 : 0, now: context.now)
            var extra: [(String, String)] = []
            if verdict.usedFraction > 0.8 {
                extra.append(("x-ms-throttle-limit-percentage", String(format: "%.2f", min(1.8, verdict.usedFraction))))
            }
            let userKey = segments.count >= 2 && segments[0] == "users" ? segments[1] : nil
            let userId = userKey.flatMap { tenant.index(of: $0) }.map { tenant.users[$0].id } ?? userKey
            guard verdict.allowed else {
                let response = error(429, "TooManyRequests", "Too many requests.", context: context, headers: [
                    ("Retry-After", formatSeconds(verdict.retryAfter)),
                    ("x-ms-throttle-scope", verdict.scope),
                    ("x-ms-throttle-information", verdict.information),
                ])
                return CallResult(response: response, user: userId)
            }
            var result = route(method: method, segments: segments, params: params, body: body, context: context)
            result.response.headers += extra
            result.user = result.user ?? userId
            return result
        }
    }

    private func hasPermission(_ any: [String]) -> Bool {
        any.contains { options.permissions.contains($0) }
    }

    /// Caller holds the lock.
    private func route(method: String, segments: [String], params: [String: String], body: [UInt8],
                       context: CallContext) -> CallResult {
        let base = options.publicBaseURL + "/v1.0"
        let readUsers = ["User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"]
        let readMethods = ["UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All"]
        let writeMethods = ["UserAuthenticationMethod.ReadWrite.All"]
        func denied() -> CallResult {
            CallResult(response: error(403, "accessDenied", "Request Authorization failed", context: context), user: nil)
        }
        func notFound(_ key: String) -> CallResult {
            CallResult(response: error(404, "Request_ResourceNotFound",
                "Resource '\(key)' does not exist or one of its queried reference-property objects are not present.",
                context: context), user: nil)
        }
        func badRequest(_ message: String, code: String = OurChoices.badRequestCode) -> CallResult {
            CallResult(response: error(400, code, message, context: context), user: nil)
        }

        if segments == ["directoryRoles"], method == "GET" {
            guard hasPermission(readUsers) else { return denied() }
            return CallResult(response: directoryRoles(expandMembers: params["$expand"] == "members", base: base), user: nil)
        }
        guard segments.first == "users" else {
            return CallResult(response: error(400, "BadRequest", "Resource not found for the segment '\(segments.first ?? "")'.", context: context), user: nil)
        }
        if segments.count == 1 {
            guard method == "GET" else { return badRequest("Unsupported method on /users.", code: "BadRequest") }
            guard hasPermission(readUsers) else { return denied() }
            return listUsers(params: params, base: base, context: context)
        }
        let key = segments[1]
        guard let index = tenant.index(of: key) else { return notFound(key) }
        let user = tenant.users[index]
        let rest = Array(segments.dropFirst(2))
        let phoneMethodId: String? = rest.count == 3 && rest[0] == "authentication" && rest[1] == "phoneMethods" ? rest[2] : nil
        let path = phoneMethodId == nil ? rest.joined(separator: "/") : "authentication/phoneMethods/{id}"
        var result: CallResult
        switch (method, path) {
        case ("GET", ""):
            guard hasPermission(readUsers) else { return denied() }
            result = userResponse(user, select: params["$select"], base: base, context: context)
        case ("GET", "authentication/methods"):
            guard hasPermission(readMethods) else { return denied() }
            var items: [JSON] = []
            for other in user.others where other.type == "password" { items.append(otherJSON(other)) }
            for slot in PhoneSlot.allCases { if let p = user.phones[slot] { items.append(phoneJSON(p, typed: true)) } }
            for other in user.others where other.type != "password" { items.append(otherJSON(other)) }
            result = CallResult(response: json(200, .object([
                ("@odata.context", .string("\(base)/$metadata#users('\(user.id)')/authentication/methods")),
                ("value", .array(items)),
            ])))
        case ("GET", "authentication/phoneMethods"):
            guard hasPermission(readMethods) else { return denied() }
            result = CallResult(response: json(200, .object([
                ("@odata.context", .string("\(base)/$metadata#users('\(user.id)')/authentication/phoneMethods")),
                ("value", .array(PhoneSlot.allCases.compactMap { user.phones[$0] }.map { self.phoneJSON($0) })),
            ])))
        case ("GET", "authentication/phoneMethods/{id}"):
            let methodId = phoneMethodId!
            guard hasPermission(readMethods) else { return denied() }
            guard let slot = PhoneSlot(methodId: methodId), let phone = user.phones[slot] else {
                return CallResult(response: error(404, OurChoices.unknownMethodCode, "The phone method '\(methodId)' was not found for this user.", context: context))
            }
            result = CallResult(response: json(200, withContext(phoneJSON(phone), "\(base)/$metadata#users('\(user.id)')/authentication/phoneMethods/$entity")))
        case ("POST", "authentication/phoneMethods"):
            guard hasPermission(writeMethods) else { return denied() }
            guard let document = JSON.parse(body), case .object = document else {
                return badRequest("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.", code: "BadRequest")
            }
            guard let number = document["phoneNumber"]?.stringValue, let type = document["phoneType"]?.stringValue else {
                return badRequest("phoneNumber and phoneType are required.")
            }
            do {
                let method = try tenant.addPhone(user: index, number: number, type: type)
                if method.slot == PhoneSlot.mobile && tenant.numberUsedForSMSSignIn(method.number, except: index) {
                    return CallResult(response: phoneNotUnique(context))
                }
                result = CallResult(response: json(201, withContext(phoneJSON(method), "\(base)/$metadata#users('\(user.id)')/authentication/phoneMethods/$entity"),
                                                   headers: [("Location", "\(base)/users/\(user.id)/authentication/phoneMethods/\(method.slot.methodId)")]))
            } catch {
                return failure(error, context: context)
            }
        case ("PATCH", "authentication/phoneMethods/{id}"):
            let methodId = phoneMethodId!
            guard hasPermission(writeMethods) else { return denied() }
            guard let document = JSON.parse(body), case .object = document else {
                return badRequest("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.", code: "BadRequest")
            }
            do {
                let method = try tenant.updatePhone(user: index, methodId: methodId,
                                                    number: document["phoneNumber"]?.stringValue,
                                                    type: document["phoneType"]?.stringValue)
                if method.slot == PhoneSlot.mobile && tenant.numberUsedForSMSSignIn(method.number, except: index) {
                    return CallResult(response: phoneNotUnique(context))
                }
                result = CallResult(response: EmulatorResponse(status: 204, headers: [], body: []))
            } catch {
                return failure(error, context: context)
            }
        case ("DELETE", "authentication/phoneMethods/{id}"):
            let methodId = phoneMethodId!
            guard hasPermission(writeMethods) else { return denied() }
            do {
                try tenant.deletePhone(user: index, methodId: methodId)
                result = CallResult(response: EmulatorResponse(status: 204, headers: [], body: []))
            } catch {
                return failure(error, context: context)
            }
        case ("GET", "transitiveMemberOf/microsoft.graph.directoryRole"), ("GET", "memberOf/microsoft.graph.directoryRole"):
            guard hasPermission(readUsers) else { return denied() }
            result = CallResult(response: json(200, .object([
                ("@odata.context", .string("\(base)/$metadata#directoryRoles")),
                ("value", .array(user.roles.map(roleJSON))),
            ])))
        default:
            return CallResult(response: error(405, "Request_BadRequest", "The method \(method) is not supported on this resource.", context: context), user: user.id)
        }
        result.user = user.id
        return result
    }

    private func phoneNotUnique(_ context: CallContext) -> EmulatorResponse {
        error(409, "phoneNumberNotUnique", "The phone number is already in use for SMS sign-in by another user. The phone method was saved, but SMS sign-in is not enabled for it.", context: context)
    }

    private func failure(_ error: Error, context: CallContext) -> CallResult {
        switch error as? Tenant.Failure {
        case .badRequest(let message): CallResult(response: self.error(400, OurChoices.badRequestCode, message, context: context))
        case .notFound(let message): CallResult(response: self.error(404, OurChoices.unknownMethodCode, message, context: context))
        case nil: CallResult(response: self.error(500, "generalException", "An unexpected error occurred.", context: context))
        }
    }

    private func withContext(_ value: JSON, _ context: String) -> JSON {
        guard case .object(let pairs) = value else { return value }
        return .object([("@odata.context", .string(context))] + pairs)
    }

    private func phoneJSON(_ p: PhoneMethodState) -> JSON { phoneJSON(p, typed: false) }

    private func phoneJSON(_ p: PhoneMethodState, typed: Bool) -> JSON {
        var pairs: [(String, JSON)] = []
        if typed { pairs.append(("@odata.type", .string("#microsoft.graph.phoneAuthenticationMethod"))) }
        pairs += [("id", .string(p.slot.methodId)), ("phoneNumber", .string(p.number)),
                  ("phoneType", .string(p.slot.rawValue)), ("smsSignInState", .string(p.smsSignInState))]
        return .object(pairs)
    }

    private func otherJSON(_ m: OtherMethodState) -> JSON {
        let created = JSON.string(m.created)
        switch m.type {
        case "password":
            return .object([("@odata.type", .string("#microsoft.graph.passwordAuthenticationMethod")), ("id", .string(m.id)),
                            ("password", .null), ("createdDateTime", created)])
        case "email":
            return .object([("@odata.type", .string("#microsoft.graph.emailAuthenticationMethod")), ("id", .string(m.id)),
                            ("emailAddress", m.emailAddress.map(JSON.string) ?? .null)])
        case "microsoftAuthenticator":
            return .object([("@odata.type", .string("#microsoft.graph.microsoftAuthenticatorAuthenticationMethod")),
                            ("id", .string(m.id)), ("displayName", m.displayName.map(JSON.string) ?? .null),
                            ("deviceTag", .string("SoftwareTokenActivated")), ("phoneAppVersion", .string("6.2401.0119")),
                            ("createdDateTime", created)])
        case "fido2":
            return .object([("@odata.type", .string("#microsoft.graph.fido2AuthenticationMethod")), ("id", .string(m.id)),
                            ("displayName", m.displayName.map(JSON.string) ?? .null), ("createdDateTime", created),
                            ("aaGuid", .string("cb69481e-8ff7-4039-93ec-0a2729a154a8")), ("model", .string("YubiKey 5 Series")),
                            ("attestationCertificates", .array([])), ("attestationLevel", .string("attested"))])
        case "softwareOath":
            return .object([("@odata.type", .string("#microsoft.graph.softwareOathAuthenticationMethod")), ("id", .string(m.id)),
                            ("secretKey", .null)])
        case "temporaryAccessPass":
            return .object([("@odata.type", .string("#microsoft.graph.temporaryAccessPassAuthenticationMethod")), ("id", .string(m.id)),
                            ("temporaryAccessPass", .null), ("createdDateTime", created), ("startDateTime", created),
                            ("lifetimeInMinutes", .int(60)), ("isUsableOnce", .bool(true)), ("isUsable", .bool(false)),
                            ("methodUsabilityReason", .string("Expired"))])
        case "windowsHelloForBusiness":
            return .object([("@odata.type", .string("#microsoft.graph.windowsHelloForBusinessAuthenticationMethod")), ("id", .string(m.id)),
                            ("displayName", m.displayName.map(JSON.string) ?? .null), ("createdDateTime", created),
                            ("keyStrength", .string("normal"))])
        default:
            return .object([("@odata.type", .string("#microsoft.graph.\(m.type)AuthenticationMethod")), ("id", .string(m.id))])
        }
    }

    private func roleJSON(_ name: String) -> JSON {
        .object([
            ("@odata.type", .string("#microsoft.graph.directoryRole")), ("id", .string(DirectoryRoles.roleObjectId(name))),
            ("deletedDateTime", .null), ("description", .string("Members of this role: \(name).")),
            ("displayName", .string(name)), ("roleTemplateId", .string(DirectoryRoles.templateId(name))),
        ])
    }

    private func directoryRoles(expandMembers: Bool, base: String) -> EmulatorResponse {
        var names: [String] = []
        for user in tenant.users { for role in user.roles where !names.contains(role) { names.append(role) } }
        let value: [JSON] = names.sorted().map { name in
            guard case .object(var pairs) = roleJSON(name) else { return roleJSON(name) }
            pairs.removeFirst()
            if expandMembers {
                pairs.append(("members", .array(tenant.users.filter { $0.roles.contains(name) }.map { u in
                    .object([("@odata.type", .string("#microsoft.graph.user")), ("id", .string(u.id)),
                             ("displayName", .string(u.displayName)), ("userPrincipalName", .string(u.userPrincipalName))])
                })))
            }
            return .object(pairs)
        }
        return json(200, .object([("@odata.context", .string("\(base)/$metadata#directoryRoles")), ("value", .array(value))]))
    }

    // MARK: Users

    static let defaultUserProperties = ["businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
                                        "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"]
    static let userProperties: Set<String> = Set(defaultUserProperties + ["employeeId", "accountEnabled", "userType", "usageLocation"])

    private func userProperties(_ u: UserState) -> [String: JSON] {
        [
            "businessPhones": .array([]), "displayName": .string(u.displayName),
            "givenName": u.givenName.map(JSON.string) ?? .null, "jobTitle": .null,
            "mail": u.mail.map(JSON.string) ?? .null, "mobilePhone": .null, "officeLocation": .null,
            "preferredLanguage": .null, "surname": u.surname.map(JSON.string) ?? .null,
            "userPrincipalName": .string(u.userPrincipalName), "id": .string(u.id),
            "employeeId": u.employeeId.map(JSON.string) ?? .null, "accountEnabled": .bool(u.accountEnabled),
            "userType": .string(u.userType), "usageLocation": u.usageLocation.map(JSON.string) ?? .null,
        ]
    }

    /// Parses `$select`; nil (and an error response) when it names an unknown property.
    private enum Selection {
        case fields([String])
        case invalid(EmulatorResponse)
    }

    private func selection(_ select: String?, context: CallContext) -> Selection {
        guard let select, !select.isEmpty else { return .fields(Self.defaultUserProperties) }
        var fields: [String] = []
        for raw in select.split(separator: ",") {
            let name = raw.trimmingCharacters(in: .whitespaces)
            guard let canonical = Self.userProperties.first(where: { $0.lowercased() == name.lowercased() }) else {
                return .invalid(error(400, "BadRequest", "Could not find a property named '\(name)' on type 'microsoft.graph.user'.", context: context))
            }
            if !fields.contains(canonical) { fields.append(canonical) }
        }
        return .fields(fields)
    }

    private func userJSON(_ u: UserState, fields: [String]) -> [(String, JSON)] {
        let all = userProperties(u)
        return fields.map { ($0, all[$0] ?? .null) }
    }

    private func userResponse(_ u: UserState, select: String?, base: String, context: CallContext) -> CallResult {
        switch selection(select, context: context) {
        case .invalid(let response): return CallResult(response: response)
        case .fields(let fields):
            let contextURL = select == nil ? "\(base)/$metadata#users/$entity" : "\(base)/$metadata#users(\(fields.joined(separator: ",")))/$entity"
            return CallResult(response: json(200, .object([("@odata.context", .string(contextURL))] + userJSON(u, fields: fields))))
        }
    }

    private func listUsers(params: [String: String], base: String, context: CallContext) -> CallResult {
        var top = OurChoices.defaultPageSize
        if let raw = params["$top"] {
            guard let value = Int(raw), value >= 1, value <= OurChoices.maxPageSize else {
                return CallResult(response: error(400, "Request_BadRequest", "Invalid page size specified: '\(raw)'. Must be between 1 and \(OurChoices.maxPageSize) inclusive.", context: context))
            }
            top = value
        }
        var matches: [Int] = Array(tenant.users.indices)
        if let filter = params["$filter"] {
            guard let (property, value) = parseEqualityFilter(filter) else {
                return CallResult(response: error(400, OurChoices.unsupportedQueryCode, "Unsupported or invalid query filter clause specified for property or resource.", context: context))
            }
            matches = matches.filter { i in
                let u = tenant.users[i]
                switch property {
                case "employeeid": return u.employeeId == value
                case "mail": return u.mail?.lowercased() == value.lowercased()
                default: return u.userPrincipalName.lowercased() == value.lowercased()
                }
            }
        }
        var offset = 0
        if let token = params["$skiptoken"] {
            guard let value = Int(token, radix: 16), value >= 0 else {
                return CallResult(response: error(400, "Request_BadRequest", "Invalid skip token.", context: context))
            }
            offset = value
        }
        let page = matches.dropFirst(offset).prefix(top)
        let fields: [String]
        switch selection(params["$select"], context: context) {
        case .invalid(let response): return CallResult(response: response)
        case .fields(let f): fields = f
        }
        var pairs: [(String, JSON)] = [("@odata.context", .string("\(base)/$metadata#users"))]
        if offset + top < matches.count {
            var query = ["$top=\(top)", "$skiptoken=\(String(offset + top, radix: 16))"]
            if let filter = params["$filter"] { query.append("$filter=" + (filter.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+'"))) ?? filter)) }
            if let select = params["$select"] { query.append("$select=" + select) }
            pairs.append(("@odata.nextLink", .string("\(base)/users?" + query.joined(separator: "&"))))
        }
        pairs.append(("value", .array(page.map { .object(userJSON(tenant.users[$0], fields: fields)) })))
        return CallResult(response: json(200, .object(pairs)))
    }

    /// `employeeId eq '123'`, `mail eq 'a@b.c'`, `userPrincipalName eq '…'` (quotes doubled inside).
    private func parseEqualityFilter(_ filter: String) -> (String, String)? {
        let text = filter.trimmingCharacters(in: .whitespaces)
        guard let space = text.firstIndex(of: " ") else { return nil }
        let property = text[..<space].lowercased()
        guard ["employeeid", "mail", "userprincipalname"].contains(property) else { return nil }
        let rest = text[space...].trimmingCharacters(in: .whitespaces)
        guard rest.lowercased().hasPrefix("eq ") else { return nil }
        let literal = rest.dropFirst(3).trimmingCharacters(in: .whitespaces)
        guard literal.count >= 2, literal.hasPrefix("'"), literal.hasSuffix("'") else { return nil }
        let inner = literal.dropFirst().dropLast()
        return (property, inner.replacingOccurrences(of: "''", with: "'"))
    }

    // MARK: $batch

    private func batch(_ request: EmulatorRequest, app: String, context: CallContext) -> EmulatorResponse {
        guard let document = JSON.parse(request.body), let requests = document["requests"]?.arrayValue else {
            return error(400, "BadRequest", "Invalid batch payload format.", context: context)
        }
        if requests.count > 20 {
            return error(400, "BadRequest", "Number of requests exceeds the maximum of 20.", context: context)
        }
        var seen = Set<String>()
        var statuses: [String: Int] = [:]
        var responses: [JSON] = []
        for item in requests {
            guard let id = item["id"]?.stringValue ?? item["id"]?.doubleValue.map({ String(Int($0)) }),
                  let method = item["method"]?.stringValue, let url = item["url"]?.stringValue else {
                return error(400, "BadRequest", "Each batch request needs an id, a method and a url.", context: context)
            }
            guard seen.insert(id).inserted else {
                return error(400, "BadRequest", "Batch request ids must be unique ('\(id)' is repeated).", context: context)
            }
            let dependsOn = (item["dependsOn"]?.arrayValue ?? []).compactMap(\.stringValue)
            var itemContext = CallContext(requestId: UUID().uuidString.lowercased(), clientRequestId: nil, now: clock())
            var headers: [String: String] = [:]
            if case .object(let pairs)? = item["headers"] {
                for (k, v) in pairs { if let s = v.stringValue { headers[k.lowercased()] = s } }
            }
            itemContext.clientRequestId = headers["client-request-id"]
            let (path, query) = splitURL(url)
            let segments = path.split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
                .drop(while: { $0 == "v1.0" })
            var response: EmulatorResponse
            var user: String?
            if let failed = dependsOn.first(where: { (statuses[$0] ?? 424) >= 400 }) {
                response = error(424, "FailedDependency", "The request depends on request '\(failed)', which failed.", context: itemContext)
            } else {
                let body = item["body"].map { $0.serialized() } ?? []
                let result = call(method: method.uppercased(), segments: Array(segments), query: query, headers: headers,
                                  body: body, app: app, context: itemContext)
                response = result.response
                user = result.user
            }
            statuses[id] = response.status
            record(request, segments: [], status: response.status, user: user, context: itemContext,
                   batchId: context.requestId, method: method.uppercased(), path: "/v1.0/" + segments.joined(separator: "/"))
            response = finish(response, context: itemContext)
            var itemPairs: [(String, JSON)] = [("id", .string(id)), ("status", .int(response.status))]
            itemPairs.append(("headers", .object(response.headers.map { ($0.0, .string($0.1)) })))
            if !response.body.isEmpty, let body = JSON.parse(response.body) { itemPairs.append(("body", body)) }
            responses.append(.object(itemPairs))
        }
        return json(200, .object([("responses", .array(responses))]))
    }

    private func splitURL(_ url: String) -> (String, String) {
        var text = url
        if let range = text.range(of: "://") {
            let afterScheme = text[range.upperBound...]
            text = afterScheme.firstIndex(of: "/").map { String(afterScheme[$0...]) } ?? "/"
        }
        if let q = text.firstIndex(of: "?") { return (String(text[..<q]), String(text[text.index(after: q)...])) }
        return (text, "")
    }
}

/// Decodes `a=1&b=x%20y` (values percent-decoded, `+` as space).
func queryParameters(_ query: String) -> [String: String] {
    var out: [String: String] = [:]
    for pair in query.split(separator: "&") {
        let parts = pair.split(separator: "=", maxSplits: 1)
        let key = String(parts[0]).removingPercentEncoding ?? String(parts[0])
        let raw = parts.count > 1 ? String(parts[1]) : ""
        out[key] = raw.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? raw
    }
    return out
}

func formatSeconds(_ seconds: Double) -> String {
    let rounded = (seconds * 1000).rounded(.up) / 1000
    if rounded == rounded.rounded() { return String(Int(rounded)) }
    return String(format: "%.3f", rounded)
}
