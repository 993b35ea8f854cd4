import Foundation

/// Faults the emulator injects into `/v1.0` requests, set at start and changed at run time
/// through `PUT /_emulator/faults`. Rates are shares of requests (0…1).
public struct FaultSettings: Sendable, Codable, Equatable {
    /// Added to every Graph request, in milliseconds.
    public var latencyMs: Double
    /// Plus a uniformly random 0…spread milliseconds.
    public var latencySpreadMs: Double
    /// Share of requests answered with each status ("500", "503", "504").
    public var errorRates: [String: Double]
    /// `Retry-After` seconds on injected 503s.
    public var retryAfterSeconds: Double
    /// Share of requests whose connection is dropped mid-response.
    public var dropRate: Double
    /// Share of requests that are carried out and whose answer is then lost (the connection
    /// drops before the response): a write that landed although its client never heard so.
    public var lostAnswerRate: Double = 0
    /// Share of writes that are carried out and then answered `appliedThenStatus` (500, 502
    /// or 503): a gateway that failed after Graph applied the write.
    public var appliedThenErrorRate: Double = 0
    public var appliedThenStatus = 502
    /// Share of requests answered only after `stallSeconds`.
    public var stallRate: Double
    public var stallSeconds: Double
    /// Stall writes only (reads answer at once): a write lands and its answer is held.
    public var stallOnlyWrites = false
    /// After a write whose number another user signs in by SMS with, reads of that user's
    /// methods show the old value for this many seconds (replication lag, reported by practitioners).
    public var replicationLagSeconds: Double = OurChoices.defaultReplicationLagSeconds
    /// Answer such a write 409 `phoneNumberNotUnique` (saved all the same), as practitioners
    /// report in some cases, instead of the documented 204/201.
    public var notUniqueAnswers409 = false
    /// The next this many token requests answer 429 (the identity platform busy).
    public var tokenThrottledRequests = 0
    /// A test's gate: once this many writes have passed it (counted from when it was set),
    /// the next writes are held before Graph carries them out, until it is raised or opened
    /// (null). Tests get their "mid-run" moment from it instead of writing slowly and sleeping.
    public var holdWritesAfter: Int?

    public init(latencyMs: Double = 0, latencySpreadMs: Double = 0, errorRates: [String: Double] = [:],
                retryAfterSeconds: Double = OurChoices.defaultServiceUnavailableRetryAfter,
                dropRate: Double = 0, stallRate: Double = 0, stallSeconds: Double = 30) {
        self.latencyMs = latencyMs
        self.latencySpreadMs = latencySpreadMs
        self.errorRates = errorRates
        self.retryAfterSeconds = retryAfterSeconds
        self.dropRate = dropRate
        self.stallRate = stallRate
        self.stallSeconds = stallSeconds
    }

    /// Reads a settings document; keys left out keep their current value. Throws with the
    /// offending key named.
    func merged(with json: JSON) throws -> FaultSettings {
        guard case .object(let pairs) = json else { throw EmulatorError("the fault settings must be a JSON object") }
        var s = self
        for (key, value) in pairs {
            func number() throws -> Double {
                guard let d = value.doubleValue, d >= 0 else { throw EmulatorError("'\(key)' must be a number ≥ 0") }
                return d
            }
            func rate() throws -> Double {
                let d = try number()
                guard d <= 1 else { throw EmulatorError("'\(key)' must be a share between 0 and 1") }
                return d
            }
            switch key {
            case "latencyMs": s.latencyMs = try number()
            case "latencySpreadMs": s.latencySpreadMs = try number()
            case "retryAfterSeconds": s.retryAfterSeconds = try number()
            case "dropRate": s.dropRate = try rate()
            case "stallRate": s.stallRate = try rate()
            case "lostAnswerRate": s.lostAnswerRate = try rate()
            case "appliedThenErrorRate": s.appliedThenErrorRate = try rate()
            case "appliedThenStatus":
                guard let d = value.doubleValue, [500, 502, 503].contains(Int(d)) else {
                    throw EmulatorError("'appliedThenStatus' must be 500, 502 or 503")
                }
                s.appliedThenStatus = Int(d)
            case "stallSeconds": s.stallSeconds = try number()
            case "replicationLagSeconds": s.replicationLagSeconds = try number()
            case "tokenThrottledRequests": s.tokenThrottledRequests = Int(try number())
            case "holdWritesAfter":
                if case .null = value { s.holdWritesAfter = nil } else { s.holdWritesAfter = Int(try number()) }
            case "stallOnlyWrites":
                guard let b = value.boolValue else { throw EmulatorError("'stallOnlyWrites' must be true or false") }
                s.stallOnlyWrites = b
            case "notUniqueAnswers409":
                guard let b = value.boolValue else { throw EmulatorError("'notUniqueAnswers409' must be true or false") }
                s.notUniqueAnswers409 = b
            case "errorRates":
                guard case .object(let rates) = value else { throw EmulatorError("'errorRates' must be an object such as {\"503\": 0.05}") }
                var parsed: [String: Double] = [:]
                for (status, share) in rates {
                    guard ["429", "500", "502", "503", "504"].contains(status) else {
                        throw EmulatorError("'errorRates' takes the statuses 429, 500, 502, 503 and 504, not '\(status)'")
                    }
                    guard let d = share.doubleValue, (0...1).contains(d) else { throw EmulatorError("'errorRates.\(status)' must be a share between 0 and 1") }
                    parsed[status] = d
                }
                s.errorRates = parsed
            case "revokeTokens", "tokenLifetimeSeconds", "secretExpired", "fired":
                continue  // actions and identity settings, handled by the service
            default:
                throw EmulatorError("unknown fault setting '\(key)'")
            }
        }
        return s
    }

    var json: JSON {
        .object([
            ("latencyMs", .number(latencyMs)), ("latencySpreadMs", .number(latencySpreadMs)),
            ("errorRates", .object(errorRates.sorted { $0.key < $1.key }.map { ($0.key, .number($0.value)) })),
            ("retryAfterSeconds", .number(retryAfterSeconds)), ("dropRate", .number(dropRate)),
            ("lostAnswerRate", .number(lostAnswerRate)),
            ("appliedThenErrorRate", .number(appliedThenErrorRate)), ("appliedThenStatus", .int(appliedThenStatus)),
            ("stallRate", .number(stallRate)), ("stallSeconds", .number(stallSeconds)), ("stallOnlyWrites", .bool(stallOnlyWrites)),
            ("replicationLagSeconds", .number(replicationLagSeconds)),
            ("holdWritesAfter", holdWritesAfter.map { .int($0) } ?? .null),
        ])
    }
}
