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

/// Seconds since 1970 of an ISO 8601 UTC time as `isoDate` writes it; nil when it is not one.
func parseISODate(_ text: String) -> Double? {
    ISO8601DateFormatter().date(from: text)?.timeIntervalSince1970
}
