import Foundation

/// The test hooks (`/_emulator/…`) and the request log.
extension EmulatorState {
    mutating func hook(_ request: EmulatorRequest, segments: [String]) -> EmulatorResponse {
        let context = CallContext(requestId: UUID().uuidString.lowercased(), clientRequestId: nil, now: clock())
        switch (request.method, segments) {
        case ("GET", ["state"]):
            let wanted = queryParameters(request.query)["user"].flatMap { tenant.index(of: $0) }
            let users = wanted.map { [tenant.users[$0]] } ?? tenant.users
            return json(200, .object([("users", .array(users.map { u in
                .object([
                    ("id", .string(u.id)), ("userPrincipalName", .string(u.userPrincipalName)),
                    ("phoneMethods", .array(PhoneSlot.allCases.compactMap { u.phones[$0] }.map(phoneJSON))),
                ])
            }))]))
        case ("GET", ["requests"]):
            // Entries whose sequence is `since` or later; `next` is the sequence the next entry gets.
            let since = Int(queryParameters(request.query)["since"] ?? "") ?? 0
            let first = max(0, since - 1 - logStart)
            let items = first < log.count ? Array(log[first...]) : []
            return json(200, .object([("requests", .array(items.map(\.json))), ("next", .int(nextSequence))]))
        case ("POST", ["reset"]):
            tenant = Tenant(seed: options.seed)
            throttle = Throttle(settings: options.throttle, tenantId: options.seed.tenant.id,
                                tenantUsers: options.seed.users.count, now: clock())
            tokens = [:]
            log = []
            logStart = nextSequence - 1
            faults = options.faults
            faultsFired = [:]
            gatePassed = 0
            gateReleased += releaseHeldWrites()
            return EmulatorResponse(status: 204, headers: [], body: [])
        case ("POST", ["certificates"]):
            // The portal's "Certificates & secrets › Upload certificate" on the app: a PEM body.
            guard let registered = try? RegisteredCertificate(pem: String(decoding: request.body, as: UTF8.self)) else {
                return error(400, "BadRequest", "The body must be a PEM certificate with an RSA key.", context: context)
            }
            registeredCertificates.append(registered)
            return EmulatorResponse(status: 204, headers: [], body: [])
        case ("GET", ["faults"]):
            return json(200, faultsJSON())
        case ("PUT", ["faults"]):
            guard let document = JSON.parse(request.body) else {
                return error(400, "BadRequest", "The fault settings must be a JSON object.", context: context)
            }
            do {
                let merged = try faults.merged(with: document)
                let gateSet = document["holdWritesAfter"] != nil
                faults = merged
                if gateSet {
                    // A new gate counts from now; what it no longer holds goes on.
                    gatePassed = 0
                    gateReleased += releaseHeldWrites()
                }
                if document["revokeTokens"]?.boolValue == true { tokens = [:] }
                if let lifetime = document["tokenLifetimeSeconds"]?.doubleValue { options.tokenLifetime = lifetime }
                if let expired = document["secretExpired"]?.boolValue { options.secretExpired = expired }
                return json(200, faultsJSON())
            } catch {
                return self.error(400, "BadRequest", "\(error)", context: context)
            }
        case ("PUT", ["throttle"]):
            guard let settings = try? JSONDecoder().decode(ThrottleSettings.self, from: Data(request.body)) else {
                return error(400, "BadRequest", "The throttle settings must be a JSON object with every ThrottleSettings field.", context: context)
            }
            options.throttle = settings
            throttle = Throttle(settings: settings, tenantId: options.seed.tenant.id,
                                tenantUsers: options.seed.users.count, now: clock())
            return EmulatorResponse(status: 204, headers: [], body: [])
        default:
            return error(404, "NotFound", "No such emulator hook.", context: context)
        }
    }

        func faultsJSON() -> JSON {
        guard case .object(var pairs) = faults.json else { return faults.json }
        pairs.append(("tokenLifetimeSeconds", .number(options.tokenLifetime)))
        pairs.append(("secretExpired", .bool(options.secretExpired)))
        pairs.append(("fired", .object(faultsFired.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })))
        pairs.append(("heldWrites", .int(heldWrites.count)))
        return .object(pairs)
    }

    /// Takes the held writes the gate now lets through (all of them when it is open), each
    /// counted as passed; the caller resumes them outside the lock.
    mutating func releaseHeldWrites() -> [CheckedContinuation<Bool, Never>] {
        let room = faults.holdWritesAfter.map { max(0, $0 - gatePassed) } ?? heldWrites.count
        let going = Array(heldWrites.prefix(room))
        heldWrites.removeFirst(going.count)
        if faults.holdWritesAfter != nil { gatePassed += going.count }
        return going
    }

    mutating func record(_ request: EmulatorRequest, segments: [String], status: Int, user: String?,
                        context: CallContext, batchId: String? = nil, method: String? = nil, path: String? = nil) {
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
