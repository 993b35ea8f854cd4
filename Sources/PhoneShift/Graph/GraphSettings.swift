import Foundation

/// A secret value: never printed, logged or stored. `description`, `debugDescription` and
/// the mirror that `dump()` and the debugger walk show a placeholder.
public struct Secret: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "<secret>" }
    public var debugDescription: String { "<secret>" }
    public var customMirror: Mirror { Mirror(self, children: ["value": "<secret>"], displayStyle: .struct) }
}

/// Where and as whom PhoneShift talks to Microsoft Graph.
public struct GraphSettings: Sendable {
    public var tenantId: String
    public var clientId: String
    public var credential: ClientCredential
    /// e.g. https://login.microsoftonline.com (national clouds have their own).
    public var authority: URL
    /// e.g. https://graph.microsoft.com/v1.0
    public var graphBase: URL
    public var cloud: GraphCloud

    public init(tenantId: String, clientId: String, credential: ClientCredential, authority: URL, graphBase: URL,
                cloud: GraphCloud = .global) throws {
        self.tenantId = tenantId
        self.clientId = clientId
        self.credential = credential
        self.authority = authority
        self.graphBase = graphBase
        self.cloud = cloud
        try Self.checkEndpoint(authority, name: "tenant.authority")
        try Self.checkEndpoint(graphBase, name: "tenant.graph")
    }

    /// `https://` anywhere; plain `http://` only to this machine (the emulator).
    static func checkEndpoint(_ url: URL, name: String) throws {
        switch url.scheme?.lowercased() {
        case "https": return
        case "http":
            let host = (url.host ?? "").lowercased()
            if isLoopback(host) { return }
            throw PhoneShiftError(.badSetting, "\(name): plain http:// is allowed only to this machine (127.0.0.1, localhost); use https:// for '\(host)'")
        default:
            throw PhoneShiftError(.badSetting, "\(name): '\(url.absoluteString)' is not an http(s) URL")
        }
    }

    /// `localhost`, an IPv4 address in 127.0.0.0/8, or `::1` — parsed as addresses, so that a
    /// name such as `127.evil.example` is not taken for this machine.
    static func isLoopback(_ host: String) -> Bool {
        var name = host
        if name.hasPrefix("[") && name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        if name == "localhost" { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, name, &v4) == 1 {
            return UInt32(bigEndian: v4.s_addr) >> 24 == 127
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, name, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { bytes in bytes.prefix(15).allSatisfy { $0 == 0 } && bytes[15] == 1 }
        }
        return false
    }

    /// The scope of Graph application permissions: `https://{Graph host}/.default` — the
    /// cloud's Graph host when talking to the emulator on loopback.
    var scope: String {
        let host = graphBase.host ?? ""
        if Self.isLoopback(host) { return "https://\(cloud.graphHost)/.default" }
        return "https://\(host)/.default"
    }

    var tokenURL: String {
        authority.absoluteString.trimmingTrailingSlash + "/\(tenantId)/oauth2/v2.0/token"
    }
}

extension String {
    var trimmingTrailingSlash: String {
        var s = self
        while s.hasSuffix("/") { s.removeLast() }
        return s
    }
}

/// A Graph or identity-platform failure, with what is needed to follow it up: the HTTP
/// status, Graph's error code, and the request ids. No secret or phone number inside.
public struct GraphError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable { case http, transport, authentication }
    public var kind: Kind
    public var status: Int?
    public var code: String?
    public var message: String
    public var requestId: String?
    public var clientRequestId: String?
    /// A write was sent and its answer lost: it may or may not have landed.
    public var outcomeUnknown = false
    /// Seconds Graph asked to wait (`Retry-After`) before asking again.
    public var retryAfter: Double?

    /// Trouble that passes: the network, a 5xx or a 429 that outlasted the retries (exit 8).
    public var isTransient: Bool {
        kind == .transport || status.map { $0 == 429 || (500...599).contains($0) } == true
    }

    public init(kind: Kind, status: Int?, code: String?, message: String, requestId: String?, clientRequestId: String?,
                outcomeUnknown: Bool = false) {
        self.kind = kind
        self.status = status
        self.code = code
        self.message = message
        self.requestId = requestId
        self.clientRequestId = clientRequestId
        self.outcomeUnknown = outcomeUnknown
    }

    public var description: String {
        var parts: [String] = []
        if let status { parts.append("HTTP \(status)") }
        if let code { parts.append(code) }
        var text = parts.isEmpty ? message : parts.joined(separator: " ") + ": " + message
        if let requestId { text += " (request-id \(requestId))" }
        return text
    }
}
