import Foundation
import Logging

/// A job opened for work: its definition, its store, and a Graph client built from it.
public final class JobSession: Sendable {
    public let job: JobDefinition
    public let store: JobStore
    public let client: GraphClient
    let transport: CurlTransport

    public init(job: JobDefinition, logger: Logger, environment: [String: String] = ProcessInfo.processInfo.environment,
                time: any TimeSource = SystemTime()) throws {
        self.job = job
        let settings = try job.graphSettings(environment: environment)
        store = try JobStore(path: job.store)
        (client, transport) = Self.client(job: job, settings: settings, logger: logger, time: time)
    }

    /// A Graph client for the job (its rate, retries and proxy), and the transport to shut down.
    static func client(job: JobDefinition, settings: GraphSettings, logger: Logger, time: any TimeSource = SystemTime())
        -> (GraphClient, CurlTransport) {
        let transport = CurlTransport(options: TransportOptions(connectTimeout: job.rate.connectTimeoutSeconds,
                                                                requestTimeout: job.rate.requestTimeoutSeconds,
                                                                maxConnectionsPerHost: max(2, 2 * job.rate.concurrency),
                                                                proxy: job.tenant.proxy))
        let limiter = RateLimiter(writesPerSecond: job.rate.writesPerSecond, readsPerSecond: job.rate.readsPerSecond,
                                  burst: job.rate.burst, maxInFlight: job.rate.concurrency, time: time)
        let client = GraphClient(settings: settings, transport: transport, limiter: limiter,
                                 retry: RetryPolicy(maxAttempts: job.rate.maxAttempts, maxThrottledAttempts: job.rate.maxThrottledAttempts),
                                 logger: logger, time: time)
        return (client, transport)
    }

    public func close() {
        transport.shutdown()
    }

    /// The settings of a run, for the store (never the secret).
    public var runSettings: String {
        "writesPerSecond=\(job.rate.writesPerSecond.map { String($0) } ?? "discovered") readsPerSecond=\(job.rate.readsPerSecond) concurrency=\(job.rate.concurrency) maxAttempts=\(job.rate.maxAttempts) verifyBeforeWrite=\(job.policy.verifyBeforeWrite)"
    }
}
