import ArgumentParser
import Foundation
import GraphEmulator
import Logging

/// `graph-emulator`: a local Microsoft Graph (and token endpoint) for tests, demos and
/// benchmarks. Prints its base URL on the first line of standard output once it listens.
@main
struct GraphEmulatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph-emulator",
        abstract: "Serve the Microsoft Graph subset PhoneShift uses, on loopback, from a seed directory.",
        discussion: """
            Token endpoint: POST {base}/{tenant}/oauth2/v2.0/token. Graph: {base}/v1.0/…
            Test hooks: GET {base}/_emulator/state, GET {base}/_emulator/requests?since=N,
            POST {base}/_emulator/reset, GET|PUT {base}/_emulator/faults, PUT {base}/_emulator/throttle.
            The client secret may also come from GRAPH_EMULATOR_CLIENT_SECRET.
            """)

    @Option(help: "Port to listen on (0 picks a free one).")
    var port: Int = 0

    @Option(help: "Address to listen on. Anything but loopback must be asked for explicitly.")
    var host: String = "127.0.0.1"

    @Option(help: "Seed directory (JSON), e.g. Samples/directory.json.")
    var directory: String

    @Option(help: "Add this many generated users (bench1@…) to the seed, for large tests.")
    var syntheticUsers: Int = 0

    @Option(help: "The registered application's client id.")
    var clientId: String = EmulatorOptions.defaultClientId

    @Option(help: "The application's client secret (or GRAPH_EMULATOR_CLIENT_SECRET).")
    var clientSecret: String?

    @Option(help: "The tenant id (default: the seed's).")
    var tenantId: String?

    @Option(help: "Lifetime of issued tokens in seconds.")
    var tokenLifetime: Double = OurChoices.defaultTokenLifetime

    @Flag(help: "Answer the token endpoint as if the client secret had expired (AADSTS7000222).")
    var secretExpired = false

    @Option(help: "Application permissions granted, comma-separated.")
    var permissions: String = EmulatorOptions.defaultPermissions.sorted().joined(separator: ",")

    @Option(help: "A certificate (PEM) registered on the app, for client assertions. Repeatable.")
    var clientCertificate: [String] = []

    @Option(help: "The cloud this emulator stands for: global, usgov, usgovdod or china (sets the token scope it expects; china has no /authentication/methods).")
    var cloud: String = "global"

    @Flag(help: "Turn throttling off.")
    var noThrottle = false

    @Option(help: "Multiply every throttling limit and window by this (0.1: 300 writes per 15 s).")
    var throttleScale: Double = 1

    @Option(help: "Writes per app and tenant, as COUNT/SECONDS (default 3000/150).")
    var writeQuota: String?

    @Option(help: "Resource units per app and tenant, as COUNT/SECONDS (default by tenant size, per 10 s).")
    var resourceUnitQuota: String?

    @Option(help: "Latency added to each Graph request, in milliseconds.")
    var latencyMs: Double = 0

    @Option(help: "Plus a random 0…N milliseconds.")
    var latencySpreadMs: Double = 0

    @Option(help: "Injected errors, e.g. 503=0.05,500=0.01 (shares of requests).")
    var errorRate: String?

    @Option(help: "Share of requests whose connection is dropped.")
    var dropRate: Double = 0

    @Option(help: "Share of requests carried out whose answer is then lost (the connection drops).")
    var lostAnswerRate: Double = 0

    @Option(help: "Share of requests that stall for --stall-seconds.")
    var stallRate: Double = 0

    @Option(help: "How long a stalled request stalls.")
    var stallSeconds: Double = 30

    mutating func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard throttleScale > 0 else { throw ValidationError("--throttle-scale must be above 0") }
        guard ["global", "usgov", "usgovdod", "china"].contains(cloud) else {
            throw ValidationError("--cloud must be global, usgov, usgovdod or china")
        }
        for (name, value) in [("--drop-rate", dropRate), ("--lost-answer-rate", lostAnswerRate), ("--stall-rate", stallRate)] where !(0...1).contains(value) {
            throw ValidationError("\(name) must be a share between 0 and 1")
        }
    }

    func run() async throws {
        var seed = try DirectorySeed.load(path: directory).adding(syntheticUsers: syntheticUsers)
        if let tenantId { seed.tenant.id = tenantId }
        var throttle = ThrottleSettings(enabled: !noThrottle).scaled(by: throttleScale)
        if let writeQuota {
            let (count, seconds) = try quota(writeQuota, "--write-quota")
            throttle.appWrites = count
            throttle.appWritesWindow = seconds
        }
        if let resourceUnitQuota {
            let (count, seconds) = try quota(resourceUnitQuota, "--resource-unit-quota")
            throttle.resourceUnits = count
            throttle.resourceUnitsWindow = seconds
        }
        var rates: [String: Double] = [:]
        for part in (errorRate ?? "").split(separator: ",") {
            let pieces = part.split(separator: "=")
            guard pieces.count == 2, ["500", "502", "503", "504"].contains(String(pieces[0])),
                  let share = Double(pieces[1]), (0...1).contains(share) else {
                throw ValidationError("--error-rate takes STATUS=SHARE pairs such as 503=0.05 (statuses 500, 502, 503, 504)")
            }
            rates[String(pieces[0])] = share
        }
        let secret = clientSecret ?? ProcessInfo.processInfo.environment["GRAPH_EMULATOR_CLIENT_SECRET"] ?? EmulatorOptions.defaultClientSecret
        var faults = FaultSettings(latencyMs: latencyMs, latencySpreadMs: latencySpreadMs, errorRates: rates,
                                   dropRate: dropRate, stallRate: stallRate, stallSeconds: stallSeconds)
        faults.lostAnswerRate = lostAnswerRate
        var options = EmulatorOptions(
            seed: seed, host: host, port: port, clientId: clientId, clientSecret: secret,
            tokenLifetime: tokenLifetime, secretExpired: secretExpired,
            permissions: Set(permissions.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }),
            throttle: throttle,
            faults: faults)

        options.cloud = cloud
        options.clientCertificates = try clientCertificate.map { path in
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ValidationError("--client-certificate: cannot read '\(path)'")
            }
            do { _ = try RegisteredCertificate.check(pem: text) } catch {
                throw ValidationError("--client-certificate: '\(path)' is not a PEM certificate with an RSA key: \(error)")
            }
            return text
        }
        let running = try await EmulatorServer.start(options)
        FileHandle.standardOutput.write(Data((running.baseURL + "\n").utf8))
        FileHandle.standardError.write(Data("graph-emulator: \(seed.users.count) users in tenant \(seed.tenant.id); token endpoint \(running.baseURL)/\(seed.tenant.id)/oauth2/v2.0/token\n".utf8))
        // Serve until terminated.
        let signals = AsyncStream<Void> { continuation in
            let sources = [SIGINT, SIGTERM].map { signalNumber in
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
                source.setEventHandler { continuation.yield() }
                source.resume()
                return source
            }
            nonisolated(unsafe) let keep = sources
            continuation.onTermination = { _ in keep.forEach { $0.cancel() } }
        }
        for await _ in signals { break }
        await running.stop()
    }

    private func quota(_ text: String, _ flag: String) throws -> (Double, Double) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let count = Double(parts[0]), let seconds = Double(parts[1]), count > 0, seconds > 0 else {
            throw ValidationError("\(flag) takes COUNT/SECONDS, e.g. 300/15")
        }
        return (count, seconds)
    }
}


