import Foundation

/// The Microsoft clouds, each with its own identity authority and Graph host
/// (learn.microsoft.com/graph/deployments). GCC (moderate) uses the global endpoints;
/// GCC High is `usgov`, DoD is `usgovdod`.
public enum GraphCloud: String, Sendable, CaseIterable {
    case global, usgov, usgovdod, china

    public var authority: String {
        switch self {
        case .global: "https://login.microsoftonline.com"
        case .usgov, .usgovdod: "https://login.microsoftonline.us"
        case .china: "https://login.chinacloudapi.cn"
        }
    }

    public var graphHost: String {
        switch self {
        case .global: "graph.microsoft.com"
        case .usgov: "graph.microsoft.us"
        case .usgovdod: "dod-graph.microsoft.us"
        case .china: "microsoftgraph.chinacloudapi.cn"
        }
    }

    public var graph: String { "https://\(graphHost)/v1.0" }

    /// `/authentication/methods` is marked unavailable in China (21Vianet); the per-type
    /// endpoints (`phoneMethods`) are available everywhere.
    public var listsAuthenticationMethods: Bool { self != .china }

    /// The clouds whose authority is this host (the two US Government clouds share one).
    static func clouds(authorityHost host: String) -> Set<GraphCloud>? {
        let matches = Set(allCases.filter { URL(string: $0.authority)?.host == host.lowercased() })
        return matches.isEmpty ? nil : matches
    }

    static func graphCloud(host: String) -> GraphCloud? {
        allCases.first { $0.graphHost == host.lowercased() }
    }

    /// Parses a job's `tenant.cloud`, with `gcc` accepted for the global endpoints.
    static func named(_ text: String) -> GraphCloud? {
        switch text.lowercased() {
        case "global", "public", "gcc": .global
        case "usgov", "gcchigh", "usgovl4": .usgov
        case "usgovdod", "dod", "usgovl5": .usgovdod
        case "china", "21vianet": .china
        default: nil
        }
    }

    /// Checks an explicit authority/Graph pair against the cloud: a pair from two clouds, or
    /// from another cloud than the one named, is refused. Loopback (the emulator) stands for
    /// any cloud.
    static func check(cloud: GraphCloud, named: Bool, authority: URL, graph: URL, file: String) throws {
        let authorityHost = authority.host ?? "", graphHost = graph.host ?? ""
        let authorityClouds = GraphSettings.isLoopback(authorityHost) ? nil : clouds(authorityHost: authorityHost)
        let graphCloud = GraphSettings.isLoopback(graphHost) ? nil : graphCloud(host: graphHost)
        if let authorityClouds, let graphCloud, !authorityClouds.contains(graphCloud) {
            throw PhoneShiftError(.badSetting, "\(file): tenant.authority (\(authorityHost)) and tenant.graph (\(graphHost)) belong to different clouds; a token from one is not valid in the other. Set tenant.cloud and leave both out, or give a matching pair")
        }
        if named {
            if let authorityClouds, !authorityClouds.contains(cloud) {
                throw PhoneShiftError(.badSetting, "\(file): tenant.authority (\(authorityHost)) is not the authority of tenant.cloud '\(cloud.rawValue)' (\(cloud.authority))")
            }
            if let graphCloud, graphCloud != cloud {
                throw PhoneShiftError(.badSetting, "\(file): tenant.graph (\(graphHost)) is not the Graph of tenant.cloud '\(cloud.rawValue)' (\(cloud.graph))")
            }
        }
    }
}
