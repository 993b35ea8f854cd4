import Foundation
import Logging

/// Buffers row updates and writes them to the store in batches (every 100 ms or 200
/// updates): a crash loses at most the last batch, and a lost update only means that row
/// is re-read on resume before anything is written.
actor Checkpointer {
    private let store: JobStore
    private let plan: Int
    private let run: Int
    private var buffer: [RowUpdate] = []
    private var flushing = false

    init(store: JobStore, plan: Int, run: Int) {
        self.store = store
        self.plan = plan
        self.run = run
    }

    func submit(_ update: RowUpdate) async throws {
        buffer.append(update)
        if buffer.count >= 200 { try await flush() }
    }

    func flush() async throws {
        guard !buffer.isEmpty, !flushing else { return }
        flushing = true
        defer { flushing = false }
        while !buffer.isEmpty {
            let batch = buffer
            buffer = []
            try await store.update(batch, plan: plan, run: run)
        }
    }
}

/// Totals of an apply.
public struct ApplySummary: Sendable {
    public var processed = 0
    public var outcomes: [String: Int] = [:]
    public var failed = 0
    public var throttled = 0
    public var elapsed: Double = 0
    /// Rows left undone because the run was interrupted.
    public var interrupted = false
}

/// Live progress, for the terminal.
public struct ApplyProgress: Sendable {
    public var done: Int
    public var total: Int
    public var rate: Double
    public var throttled: Int
    public var failed: Int
}

/// `phoneshift apply`: carries out a stored plan with concurrent workers under one shared
/// rate budget, checkpointing every row. Resumable: rows pending or in flight are taken up
/// again; each one's live value is read before any write, so a write whose answer was lost
/// in a crash is recognised and not repeated.
public struct Executor: Sendable {
    public let client: GraphClient
    public let store: JobStore
    public let plan: Int
    public let run: Int
    public let concurrency: Int
    public let verifyBeforeWrite: Bool
    public let logger: Logger

    public init(client: GraphClient, store: JobStore, plan: Int, run: Int, concurrency: Int,
                verifyBeforeWrite: Bool = true, logger: Logger) {
        self.client = client
        self.store = store
        self.plan = plan
        self.run = run
        self.concurrency = concurrency
        self.verifyBeforeWrite = verifyBeforeWrite
        self.logger = logger
    }

    public func apply(total: Int, progress: @escaping @Sendable (ApplyProgress) -> Void = { _ in }) async throws -> ApplySummary {
        let checkpoint = Checkpointer(store: store, plan: plan, run: run)
        let started = RateLimiter.now()
        let counter = Counter()
        let heartbeat = Task {
            while !Task.isCancelled {
                try? await store.heartbeat(run: run)
                try? await checkpoint.flush()
                let snapshot = await counter.snapshot()
                let elapsed = RateLimiter.now() - started
                progress(ApplyProgress(done: snapshot.processed, total: total, rate: Double(snapshot.processed) / max(elapsed, 0.001),
                                       throttled: await client.limiter.throttledCount, failed: snapshot.failed))
                try? await Task.sleep(nanoseconds: 1_000_000_000)
            }
        }
        defer { heartbeat.cancel() }

        var afterLine = 0
        var interrupted = false
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                var inFlight = 0
                pages: while true {
                    let page = try await store.openRows(plan: plan, after: afterLine, limit: 500)
                    if page.isEmpty { break }
                    afterLine = page.last!.line
                    for row in page {
                        if Task.isCancelled { break pages }
                        if inFlight >= concurrency {
                            try await group.next()
                            inFlight -= 1
                        }
                        inFlight += 1
                        group.addTask {
                            let update = try await self.process(row, checkpoint: checkpoint)
                            try await checkpoint.submit(update)
                            await counter.record(update)
                        }
                    }
                }
                try await group.waitForAll()
            }
        } catch is CancellationError {
            interrupted = true
        }
        if Task.isCancelled { interrupted = true }
        try await checkpoint.flush()
        let snapshot = await counter.snapshot()
        var summary = ApplySummary()
        summary.processed = snapshot.processed
        summary.outcomes = snapshot.outcomes
        summary.failed = snapshot.failed
        summary.throttled = await client.limiter.throttledCount
        summary.elapsed = RateLimiter.now() - started
        summary.interrupted = interrupted
        if summary.throttled > 0 {
            try? await store.event(run: run, kind: "throttled", detail: "\(summary.throttled) answers were 429 in this run")
        }
        return summary
    }

    actor Counter {
        var processed = 0
        var failed = 0
        var outcomes: [String: Int] = [:]
        func record(_ u: RowUpdate) {
            processed += 1
            if u.state == .failed { failed += 1 }
            outcomes[u.outcome ?? u.state.rawValue, default: 0] += 1
        }
        func snapshot() -> (processed: Int, failed: Int, outcomes: [String: Int]) { (processed, failed, outcomes) }
    }

    /// One row: re-read, decide, write, confirm. Returns the row's final state.
    func process(_ row: PlanRow, checkpoint: Checkpointer) async throws -> RowUpdate {
        let reader = GraphReader(client: client)
        guard let userId = row.userId, let target = row.target else {
            return RowUpdate(line: row.line, state: .failed, outcome: "failed", errorCode: "no-user",
                             errorMessage: "the plan has no user id or number for this row")
        }
        let masked = PhoneMask.mask(target)
        var attempts = 0
        // 1. The live value now (always for a row whose earlier outcome is unknown).
        if verifyBeforeWrite || row.state == .inFlight {
            switch try await reader.phones(of: userId) {
            case .failure(let error):
                if error.status == 404 {
                    return RowUpdate(line: row.line, state: .failed, outcome: "user-not-found", errorCode: error.code,
                                     errorMessage: "the user no longer exists", requestId: error.requestId)
                }
                return RowUpdate(line: row.line, state: .failed, outcome: "failed", errorCode: error.code ?? error.status.map(String.init),
                                 errorMessage: "could not read the current number: \(error.message)", requestId: error.requestId,
                                 clientRequestId: error.clientRequestId)
            case .success(let phones):
                let live = phones[row.phoneType]
                if sameNumber(live, target) {
                    return RowUpdate(line: row.line, state: .done, outcome: row.state == .inFlight ? "already-applied" : "unchanged",
                                     reason: row.state == .inFlight ? "the write before the interruption had landed" : "already the target number")
                }
                if !sameNumber(live, row.before) {
                    return RowUpdate(line: row.line, state: .done, outcome: "moved",
                                     reason: "the number changed in Graph since the plan (to \(live.map(PhoneMask.mask) ?? "none")); not overwritten — plan again to include it")
                }
            }
        }
        // 2. Mark in flight, then write: PATCH the existing method, or POST the missing type.
        try await checkpoint.submit(RowUpdate(line: row.line, state: .inFlight))
        let response: GraphResponse
        do {
            if row.action == .add {
                response = try await client.send("POST", "/users/\(GraphReader.pathComponent(userId))/authentication/phoneMethods",
                                                 json: ["phoneNumber": target, "phoneType": row.phoneType.rawValue])
            } else {
                response = try await client.send("PATCH", "/users/\(GraphReader.pathComponent(userId))/authentication/phoneMethods/\(row.phoneType.methodId)",
                                                 json: ["phoneNumber": target, "phoneType": row.phoneType.rawValue])
            }
        } catch let error as GraphError where error.kind == .transport {
            // The write may or may not have landed: leave the row in flight, so that the
            // next run re-reads it first.
            return RowUpdate(line: row.line, state: .inFlight, errorCode: "network", errorMessage: error.message,
                             clientRequestId: error.clientRequestId)
        }
        attempts = response.attempts
        switch response.status {
        case 200, 201, 204:
            logger.debug("line \(row.line): \(row.action.rawValue) → \(masked)")
            return RowUpdate(line: row.line, state: .done, outcome: row.action == .add ? "added" : "changed", attempts: attempts,
                             requestId: response.requestId, clientRequestId: response.clientRequestId)
        case 409 where response.error?.code == "phoneNumberNotUnique":
            // Graph saves the method but will not let two users sign in by SMS with one number.
            if case .success(let phones) = try await reader.phones(of: userId), sameNumber(phones[row.phoneType], target) {
                return RowUpdate(line: row.line, state: .done, outcome: "changed-not-unique", attempts: attempts,
                                 errorCode: "phoneNumberNotUnique", errorMessage: "saved, but another user signs in by SMS with this number, so SMS sign-in stays off for this user",
                                 requestId: response.requestId, clientRequestId: response.clientRequestId)
            }
        case 400 where row.action == .add:
            // A retried POST whose first try landed answers "already exists": check.
            if case .success(let phones) = try await reader.phones(of: userId), sameNumber(phones[row.phoneType], target) {
                return RowUpdate(line: row.line, state: .done, outcome: "added", attempts: attempts,
                                 requestId: response.requestId, clientRequestId: response.clientRequestId)
            }
        default:
            break
        }
        let error = response.failure()
        logger.warning("line \(row.line): \(row.action.rawValue) failed: \(error)")
        return RowUpdate(line: row.line, state: .failed, outcome: response.status == 429 ? "throttled" : "failed", attempts: attempts,
                         errorCode: error.code ?? String(response.status), errorMessage: error.message,
                         requestId: response.requestId, clientRequestId: response.clientRequestId)
    }
}
