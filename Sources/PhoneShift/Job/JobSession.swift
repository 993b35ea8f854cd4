import Foundation
import Logging

/// Exit codes of plan, apply and status (also listed in `phoneshift --help`).
public enum ExitStatus {
    public static let success: Int32 = 0
    /// Some rows failed, moved, or are still unknown: look at the report.
    public static let rowsNeedAttention: Int32 = 1
    /// Usage error, bad job file or setting, unreadable input.
    public static let usage: Int32 = 2
    /// Another run holds the job's lock.
    public static let locked: Int32 = 3
    /// Authentication failed (wrong secret, tenant or app) before any row was touched.
    public static let authentication: Int32 = 4
    /// `plan --detailed-exitcode`: the plan has changes to make.
    public static let planHasChanges: Int32 = 2
    /// Interrupted (Ctrl-C or SIGTERM); apply again to resume.
    public static let interrupted: Int32 = 130
}

/// A job opened for work: its definition, its store, and a Graph client built from it.
public final class JobSession: Sendable {
    public let job: JobDefinition
    public let store: JobStore
    public let client: GraphClient
    let transport: CurlTransport

    public init(job: JobDefinition, logger: Logger, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.job = job
        let settings = try job.graphSettings(environment: environment)
        store = try JobStore(path: job.store)
        transport = CurlTransport(options: TransportOptions(connectTimeout: job.rate.connectTimeoutSeconds,
                                                            requestTimeout: job.rate.requestTimeoutSeconds,
                                                            maxConnectionsPerHost: max(2, job.rate.concurrency)))
        let limiter = RateLimiter(writesPerSecond: job.rate.writesPerSecond, readsPerSecond: job.rate.readsPerSecond,
                                  burst: job.rate.burst)
        client = GraphClient(settings: settings, transport: transport, limiter: limiter,
                             retry: RetryPolicy(maxAttempts: job.rate.maxAttempts), logger: logger)
    }

    public func close() {
        transport.shutdown()
    }

    /// The settings of a run, for the store (never the secret).
    public var runSettings: String {
        "writesPerSecond=\(job.rate.writesPerSecond) readsPerSecond=\(job.rate.readsPerSecond) concurrency=\(job.rate.concurrency) maxAttempts=\(job.rate.maxAttempts) verifyBeforeWrite=\(job.policy.verifyBeforeWrite)"
    }

    /// Writes `results.csv` (one row per sheet row: plan, outcome, error, request ids) to the
    /// job's outputs folder, atomically and owner-only. Numbers are masked unless the job
    /// asks for full numbers.
    public func writeResults(plan: Int) throws -> String {
        try FileManager.default.createDirectory(atPath: job.outputs, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let path = job.outputs + "/results.csv"
        let writer = try AtomicFileWriter(path: path)
        try writer.write(CSVFormatting.line(["line", "user", "user_id", "phone_type", "before", "after", "action", "state",
                                             "outcome", "attempts", "error_code", "error_message", "request_id",
                                             "client_request_id", "reason", "updated"]))
        let full = job.fullNumbersInReports
        var line: [UInt8] = []
        try store.forEachRow(plan: plan) { r in
            func number(_ n: String?) -> String { n.map { full ? $0 : PhoneMask.mask($0) } ?? "" }
            line.removeAll(keepingCapacity: true)
            CSVFormatting.append([String(r.line), r.user, r.userId ?? "", r.phoneType.rawValue, number(r.before), number(r.target),
                                  r.action.rawValue, r.state.rawValue, r.outcome ?? "", String(r.attempts), r.errorCode ?? "",
                                  r.errorMessage ?? "", r.requestId ?? "", r.clientRequestId ?? "", r.reason, r.updated ?? ""], to: &line)
            try writer.write(bytes: line)
        }
        try writer.commit()
        return path
    }
}
