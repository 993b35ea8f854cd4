import Foundation
import Logging

/// Totals of an apply.
public struct ApplySummary: Sendable {
    public var processed = 0
    public var outcomes: [String: Int] = [:]
    public var failed = 0
    public var throttled = 0
    public var elapsed: Double = 0
    /// Rows left undone because the run was interrupted.
    public var interrupted = false
    /// Transactions the checkpointer wrote (in-flight marks and outcomes, grouped).
    public var checkpointBatches = 0
    /// Graph refused a write with 403: the run stopped after it (no point failing the rest).
    public var refused: RefusedWrite?
}

/// The write Graph refused (403) that stopped a run.
public struct RefusedWrite: Sendable {
    public var line: Int
    public var code: String?
    public var message: String
}

/// Live progress, for the terminal.
public struct ApplyProgress: Sendable {
    public var done: Int
    public var total: Int
    public var rate: Double
    public var throttled: Int
    public var failed: Int
}

/// `phoneshift apply`'s engine: carries out a stored plan with concurrent workers under one
/// shared rate budget, checkpointing every row.
///
/// For every write: (1) the row's live value is read (always for a row whose earlier outcome
/// is unknown; for every row with `verifyBeforeWrite`); (2) the row is marked in flight and
/// the mark is committed to the store; only then (3) the write is sent. After a crash a row
/// in flight is re-read before anything else, so a write that landed is recognised
/// (`already-applied`) and never repeated. A write whose answer was lost (timeout, dropped
/// connection, 504) is re-read before it is sent again. Cancellation (Ctrl-C) sends nothing
/// new: rows in flight finish, and a row marked but not yet sent goes back to pending.
public struct Executor: Sendable {
    public let client: GraphClient
    public let store: JobStore
    public let plan: Int
    public let run: Int
    public let concurrency: Int
    public let verifyBeforeWrite: Bool
    public let logger: Logger
    /// Set by the first worker whose write is refused; read by the loop that hands out rows.
    let stopSignal = Locked<RefusedWrite?>(nil)
    /// Tells a user Graph will not let us write from a permission lost (see `RefusalJudge`).
    let refusals: RefusalJudge
    /// The outcome of a row whose number changed since its plan: `moved` for apply,
    /// `drifted` for a rollback (that row is left as it is).
    var movedOutcome: PlanRow.Outcome = .moved
    /// `run`: until then the plan's own read (made moments ago under the same lock) stands
    /// for the re-read before a write; a row of unknown outcome is re-read all the same.
    public var skipVerifyUntil: Date?
    /// Waits between re-reads after a 409 phoneNumberNotUnique (about 30 s in all).
    var notUniqueRereadDelays: [Double] = [1, 2, 4, 8, 15]
    /// `mode: issuePasses`: where the passes go, and what they are.
    public var passVault: PassVault?
    public var passes = JobDefinition.Passes()

    public init(client: GraphClient, store: JobStore, plan: Int, run: Int, concurrency: Int,
                verifyBeforeWrite: Bool = true, logger: Logger) {
        self.client = client
        self.store = store
        self.plan = plan
        self.run = run
        self.concurrency = concurrency
        self.verifyBeforeWrite = verifyBeforeWrite
        self.logger = logger
        refusals = RefusalJudge(client: client)
    }

    /// Applies every open row. Throws when the store cannot be written (the lock lost among
    /// them): then nothing more is sent. Cancellation is not an error: the summary says
    /// `interrupted`.
    public func apply(total: Int, progress: @escaping @Sendable (ApplyProgress) -> Void = { _ in }) async throws -> ApplySummary {
        let checkpoint = Checkpointer(store: store, plan: plan, run: run)
        let started = RateLimiter.now()
        let client = self.client

        // Progress and periodic flushing run beside the workers as a child task that is
        // cancelled and awaited when they are done.
        try await withThrowingTaskGroup(of: Void.self) { outer in
            outer.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(nanoseconds: 1_000_000_000)
                    try? await checkpoint.flush()
                    try? await store.recordThrottles(run: run, await client.limiter.drainEvents())
                    let snapshot = await checkpoint.totals
                    let elapsed = RateLimiter.now() - started
                    progress(ApplyProgress(done: snapshot.processed, total: total, rate: Double(snapshot.processed) / max(elapsed, 0.001),
                                           throttled: await client.limiter.throttledCount, failed: snapshot.failed))
                }
            }
            defer { outer.cancelAll() }
            try await runWorkers(checkpoint: checkpoint)
            outer.cancelAll()
            try await outer.waitForAll()
        }
        // The final flush waits for any batch still being written.
        try await checkpoint.flush()
        try await store.recordThrottles(run: run, await client.limiter.drainEvents())
        let snapshot = await checkpoint.totals
        var summary = ApplySummary()
        summary.processed = snapshot.processed
        summary.outcomes = snapshot.outcomes
        summary.failed = snapshot.failed
        summary.throttled = await client.limiter.throttledCount
        summary.elapsed = RateLimiter.now() - started
        summary.interrupted = Task.isCancelled
        summary.checkpointBatches = await checkpoint.batchesWritten
        summary.refused = stopSignal.current
        logger.info("checkpoint: \(summary.checkpointBatches) batches for \(summary.processed) rows")
        return summary
    }

    private func runWorkers(checkpoint: Checkpointer) async throws {
        var afterLine = 0
        try await withThrowingTaskGroup(of: Void.self) { group in
            var running = 0
            pages: while !Task.isCancelled && stopSignal.current == nil {
                let page = try await store.openRows(plan: plan, after: afterLine, limit: 500)
                guard let last = page.last else { break }
                afterLine = last.line
                for row in page {
                    if running >= concurrency {
                        try await group.next()
                        running -= 1
                    }
                    if Task.isCancelled || stopSignal.current != nil { break pages }
                    running += 1
                    group.addTask {
                        guard let update = try await self.process(row, checkpoint: checkpoint) else { return }
                        try await checkpoint.submit(update)
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// What a re-read says about a row.
    private enum LiveCheck {
        case landed
        case stillBefore
        case moved(String?)
        case failed(RowUpdate)
    }

    private func check(_ row: PlanRow, target: String?, reader: GraphReader) async throws -> LiveCheck {
        switch try await reader.phones(of: row.userId ?? "") {
        case .failure(let error):
            if error.status == 404 {
                return .failed(RowUpdate(line: row.line, state: .failed, outcome: .userNotFound, errorCode: error.code,
                                         errorMessage: "the user no longer exists", requestId: error.requestId))
            }
            return .failed(RowUpdate(line: row.line, state: row.state == .inFlight ? .inFlight : .failed, outcome: row.state == .inFlight ? nil : .failed,
                                     errorCode: error.code ?? error.status.map(String.init) ?? "network",
                                     errorMessage: "could not read the current number: \(error.message)", requestId: error.requestId,
                                     clientRequestId: error.clientRequestId))
        case .success(let phones):
            let live = phones[row.phoneType]
            switch Self.standing(live, of: row, target: target) {
            case .landed: return .landed
            case .stillBefore: return .stillBefore
            case .moved: return .moved(live)
            }
        }
    }

    /// Where a row stands from its live number: the write landed (the target), not yet (the
    /// plan's before value), or someone else changed it.
    enum Standing { case landed, stillBefore, moved }

    static func standing(_ live: String?, of row: PlanRow, target: String?) -> Standing {
        if sameNumber(live, target) { return .landed }
        if sameNumber(live, row.before) { return .stillBefore }
        return .moved
    }

    private func movedUpdate(_ row: PlanRow, live: String?) -> RowUpdate {
        movedOutcome == .moved
            ? RowUpdate(line: row.line, state: .done, outcome: .moved,
                        reason: "the number changed in Graph since the plan (to \(live.map(PhoneMask.mask) ?? "none")); not overwritten — plan again to include it")
            : RowUpdate(line: row.line, state: .done, outcome: movedOutcome,
                        reason: "the number changed in Graph since that run (to \(live.map(PhoneMask.mask) ?? "none")); not rolled back")
    }

    static func doneOutcome(_ action: PlanAction) -> PlanRow.Outcome {
        switch action {
        case .add: .added
        case .remove: .removed
        default: .changed
        }
    }

    /// One row: re-read, mark, write, confirm. Returns the row's new state, or nil when the
    /// run was cancelled before anything was done to it.
    func process(_ row: PlanRow, checkpoint: Checkpointer) async throws -> RowUpdate? {
        if row.action == .issuePass { return try await processPass(row, checkpoint: checkpoint) }
        let reader = GraphReader(client: client)
        guard row.userId != nil, row.target != nil || row.action == .remove else {
            return RowUpdate(line: row.line, state: .failed, outcome: .failed, errorCode: "no-user",
                             errorMessage: "the plan has no user id or number for this row")
        }
        let target = row.target
        // 1. The live value now (always for a row whose earlier outcome is unknown).
        let planIsFresh = skipVerifyUntil.map { Date() < $0 } ?? false
        if (verifyBeforeWrite && !planIsFresh) || row.state == .inFlight {
            let live: LiveCheck
            do { live = try await check(row, target: target, reader: reader) } catch is CancellationError { return nil }
            switch live {
            case .landed:
                return RowUpdate(line: row.line, state: .done, outcome: row.state == .inFlight ? .alreadyApplied : .unchanged,
                                 reason: row.state == .inFlight ? "the write before the interruption had landed" : "already the target number")
            case .moved(let now): return movedUpdate(row, live: now)
            case .failed(let update): return update
            case .stillBefore: break
            }
        }
        if Task.isCancelled || stopSignal.current != nil { return nil }
        // 2. The in-flight mark is durable before the write leaves.
        try await checkpoint.commit(RowUpdate(line: row.line, state: .inFlight))
        // 3. Write: PATCH the existing method, or POST the missing type. A write whose
        //    answer was lost is re-read before it is sent again.
        var attempts = 0
        while true {
            let response: GraphResponse
            do {
                response = try await write(row, target: target)
            } catch is CancellationError {
                // The client throws this only before a write leaves, or after an answer that
                // says it was not applied (429, 5xx): nothing landed, the row is pending again.
                return RowUpdate(line: row.line, state: .pending, reason: "interrupted before the write was sent")
            } catch let error as GraphError where error.outcomeUnknown {
                attempts += 1
                logger.info("line \(row.line): the answer to a write was lost (\(error.message)); re-reading before anything else")
                if Task.isCancelled {
                    return RowUpdate(line: row.line, state: .inFlight, attempts: attempts, errorCode: "unknown-outcome",
                                     errorMessage: "\(error.message); re-read on the next apply", clientRequestId: error.clientRequestId)
                }
                let live: LiveCheck
                do { live = try await check(row, target: target, reader: reader) } catch is CancellationError {
                    return RowUpdate(line: row.line, state: .inFlight, errorCode: "interrupted", errorMessage: "interrupted while the outcome of a write was unknown")
                }
                switch live {
                case .landed:
                    return RowUpdate(line: row.line, state: .done, outcome: Self.doneOutcome(row.action), attempts: attempts,
                                     clientRequestId: error.clientRequestId, reason: "the answer was lost; a re-read shows the new number")
                case .moved(let now): return movedUpdate(row, live: now)
                case .failed(var update):
                    update.state = .inFlight
                    update.outcome = nil
                    return update
                case .stillBefore:
                    if attempts >= client.retry.maxAttempts {
                        // Not landed, and Graph kept failing: nothing was written.
                        return RowUpdate(line: row.line, state: .failed, outcome: .failed, attempts: attempts,
                                         errorCode: error.status.map(String.init) ?? "network",
                                         errorMessage: "\(error.message) (\(attempts) tries; a re-read shows the number unchanged)",
                                         requestId: error.requestId, clientRequestId: error.clientRequestId)
                    }
                    let wait = max(client.retry.delay(afterAttempt: attempts), min(client.retry.maxDelay, error.retryAfter ?? 0))
                    try await client.time.sleep(seconds: wait)
                    continue
                }
            }
            attempts += response.attempts
            return try await settle(row, target: target, response: response, attempts: attempts, reader: reader)
        }
    }

    private func write(_ row: PlanRow, target: String?) async throws -> GraphResponse {
        let user = "/users/\(GraphReader.pathComponent(row.userId ?? ""))/authentication/phoneMethods"
        guard let target else { return try await client.send("DELETE", user + "/\(row.phoneType.methodId)") }
        let body: [String: Any] = ["phoneNumber": target, "phoneType": row.phoneType.rawValue]
        if row.action == .add { return try await client.send("POST", user, json: body) }
        return try await client.send("PATCH", user + "/\(row.phoneType.methodId)", json: body)
    }

    /// For a user enabled for SMS sign-in, the new mobile becomes their sign-in number only if
    /// no other user signs in with it; Graph answers the write 204/201 either way and tells in
    /// the method's `smsSignInState` afterwards (GRAPH.md). Reads it back (with backoff while
    /// the read still shows the old number: replication) and returns the row's update when SMS
    /// sign-in did not follow; nil when it did, or when the state cannot be read.
    private func smsSignInDidNotFollow(_ row: PlanRow, target: String?, response: GraphResponse, attempts: Int,
                                       reader: GraphReader) async throws -> RowUpdate? {
        for delay in [0] + notUniqueRereadDelays {
            if delay > 0 { try await client.time.sleep(seconds: delay) }
            guard case .success(let live) = try await reader.phoneMethods(of: row.userId ?? "") else { return nil }
            guard sameNumber(live.phones[.mobile], target) else { continue }
            guard live.smsSignIn[.mobile] == "phoneNumberNotUnique" else { return nil }
            return RowUpdate(line: row.line, state: .done, outcome: .changedNotUnique, attempts: attempts,
                             errorCode: "phoneNumberNotUnique", errorMessage: Self.notUniqueMessage,
                             requestId: response.requestId, clientRequestId: response.clientRequestId)
        }
        logger.info("line \(row.line): the new number did not show in a re-read yet; its SMS sign-in state is not known")
        return nil
    }

    static let notUniqueMessage = "saved and MFA works, but another user signs in by SMS with this number, so SMS sign-in did not move to it for this user"

    /// What a write's answer means for the row.
    private func settle(_ row: PlanRow, target: String?, response: GraphResponse, attempts: Int, reader: GraphReader) async throws -> RowUpdate {
        switch response.status {
        case 200, 201, 204:
            await refusals.wrote()
            logger.debug("line \(row.line): \(row.action.rawValue) → \(target.map(PhoneMask.mask) ?? "(removed)")")
            if row.phoneType == .mobile, target != nil, PlanRow.smsSignInFollows(row.smsSignIn),
               let notUnique = try await smsSignInDidNotFollow(row, target: target, response: response, attempts: attempts, reader: reader) {
                return notUnique
            }
            return RowUpdate(line: row.line, state: .done, outcome: Self.doneOutcome(row.action), attempts: attempts,
                             requestId: response.requestId, clientRequestId: response.clientRequestId)
        case 404 where row.action == .remove:
            // Already gone (an earlier try that landed): check.
            if case .landed = try await check(row, target: target, reader: reader) {
                return RowUpdate(line: row.line, state: .done, outcome: .removed, attempts: attempts,
                                 requestId: response.requestId, clientRequestId: response.clientRequestId)
            }
        case 400 where row.action == .remove:
            // Graph's rules forbid it (the default method; a mobile while an alternate exists).
            let error = response.failure()
            return RowUpdate(line: row.line, state: .done, outcome: .blocked, attempts: attempts, errorCode: error.code,
                             errorMessage: error.message, requestId: response.requestId, clientRequestId: response.clientRequestId,
                             reason: "Graph does not allow removing this method: \(Sanitize.forMessage(error.message, limit: 200))")
        case 409 where response.error?.code == "phoneNumberNotUnique":
            // Graph saves the method but will not let two users sign in by SMS with one
            // number. A re-read can lag behind the write: ask again with backoff (~30 s).
            for (index, delay) in ([0] + notUniqueRereadDelays).enumerated() {
                if delay > 0 { try await client.time.sleep(seconds: delay) }
                let live = try await check(row, target: target, reader: reader)
                if case .landed = live {
                    if index > 0 { logger.info("line \(row.line): the saved number showed after \(index) re-reads (replication lag)") }
                    return RowUpdate(line: row.line, state: .done, outcome: .changedNotUnique, attempts: attempts,
                                     errorCode: "phoneNumberNotUnique", errorMessage: Self.notUniqueMessage,
                                     requestId: response.requestId, clientRequestId: response.clientRequestId)
                }
                if case .moved = live { break }
                if case .failed = live { break }
            }
        case 403:
            // The same 403 means "this user is protected" or "the app lost the permission":
            // ask Graph which (RefusalJudge). A protected user is held back and the run goes
            // on; a lost permission stops it, this row back to pending (nothing was written).
            let error = response.failure()
            switch try await refusals.judge(userId: row.userId ?? "") {
            case .protectedUser(let units):
                logger.warning("line \(row.line): Graph refused the write: the user is in a restricted management administrative unit; held back")
                return RowUpdate(line: row.line, state: .done, outcome: .blocked, attempts: attempts, errorCode: GraphReader.restrictedCode,
                                 errorMessage: error.message, requestId: response.requestId, clientRequestId: response.clientRequestId,
                                 reason: GraphReader.restrictedReason(units))
            case .refusedUser(let auditUnits):
                logger.warning("line \(row.line): Graph refused the write for this user although the app holds the permission; held back")
                return RowUpdate(line: row.line, state: .done, outcome: .blocked, attempts: attempts, errorCode: error.code ?? "403",
                                 errorMessage: error.message, requestId: response.requestId, clientRequestId: response.clientRequestId,
                                 reason: "Graph refused this user's write (403) although the app still holds the write permission; not written. The user is most likely protected (a restricted management administrative unit)" + (auditUnits ? "; grant \(GraphNeed.readAdministrativeUnits.toGrant) so that PhoneShift can tell" : "") + " — check the user in the Microsoft Entra admin center")
            case .permissionLost:
                stopSignal.offer(RefusedWrite(line: row.line, code: error.code, message: error.message))
                logger.error("line \(row.line): Graph refused the write (\(error)); stopping the run")
                return RowUpdate(line: row.line, state: .pending, attempts: attempts, errorCode: error.code ?? "403",
                                 errorMessage: error.message, requestId: response.requestId, clientRequestId: response.clientRequestId,
                                 reason: "Graph refused the write (403); not written — apply again once the permission is granted")
            }
        case 400 where row.action == .add:
            // A POST whose earlier try landed answers "already exists": check.
            if case .landed = try await check(row, target: target, reader: reader) {
                return RowUpdate(line: row.line, state: .done, outcome: Self.doneOutcome(row.action), attempts: attempts,
                                 requestId: response.requestId, clientRequestId: response.clientRequestId)
            }
        default:
            break
        }
        let error = response.failure()
        logger.warning("line \(row.line): \(row.action.rawValue) failed: \(error)")
        return RowUpdate(line: row.line, state: .failed, outcome: response.status == 429 ? .throttled : .failed, attempts: attempts,
                         errorCode: error.code ?? String(response.status), errorMessage: error.message,
                         requestId: response.requestId, clientRequestId: response.clientRequestId)
    }

    // MARK: - Temporary Access Passes

    static let passLost = "a Temporary Access Pass was issued before the interruption, but its answer (the pass) was never saved; apply --retry-failed issues a new one, which replaces it"

    /// One `issuePass` row. A pass is issued at most once per row: the in-flight mark is
    /// durable before the POST, and a row found in flight with a pass present is never issued
    /// again on its own (a second POST would replace the first pass): it fails, saying so.
    func processPass(_ row: PlanRow, checkpoint: Checkpointer) async throws -> RowUpdate? {
        guard let userId = row.userId, let vault = passVault else {
            return RowUpdate(line: row.line, state: .failed, outcome: .failed, errorCode: "no-user",
                             errorMessage: "the plan has no user id for this row, or the run has no passes file")
        }
        let path = GraphReader.userPath(userId) + "/authentication/temporaryAccessPassMethods"
        /// Whether the user has a usable pass now (nil: could not be read).
        func usablePass() async throws -> Bool? {
            let r = try await client.send("GET", path)
            guard r.status == 200 else { return nil }
            return (r.object["value"] as? [[String: Any]] ?? []).contains { $0["isUsable"] as? Bool == true }
        }
        // A row whose earlier pass was issued but never saved is issued anew (--retry-failed):
        // that pass is present, and this one replaces it.
        let replacing = row.state == .pending && row.errorCode == "pass-not-saved"
        if (verifyBeforeWrite && !replacing) || row.state == .inFlight {
            let present: Bool?
            do { present = try await usablePass() } catch is CancellationError { return nil }
            switch (present, row.state == .inFlight) {
            case (nil, _):
                return RowUpdate(line: row.line, state: row.state == .inFlight ? .inFlight : .failed, outcome: row.state == .inFlight ? nil : .failed,
                                 errorCode: "unreadable", errorMessage: "could not read the user's Temporary Access Passes")
            case (true?, true):
                return RowUpdate(line: row.line, state: .failed, outcome: .failed, errorCode: "pass-not-saved", errorMessage: Self.passLost)
            case (true?, false):
                return RowUpdate(line: row.line, state: .done, outcome: .unchanged, reason: "already has a usable Temporary Access Pass (issued since the plan)")
            case (false?, _):
                break
            }
        }
        if Task.isCancelled || stopSignal.current != nil { return nil }
        try await checkpoint.commit(RowUpdate(line: row.line, state: .inFlight))
        let body: [String: Any] = ["lifetimeInMinutes": passes.lifetimeMinutes, "isUsableOnce": passes.usableOnce]
        var attempts = 0
        while true {
            let response: GraphResponse
            do {
                response = try await client.send("POST", path, json: body)
            } catch is CancellationError {
                return RowUpdate(line: row.line, state: .pending, reason: "interrupted before the pass was asked for")
            } catch let error as GraphError where error.outcomeUnknown {
                // The answer, and the pass in it, may be lost: never ask again blindly.
                attempts += 1
                switch try await usablePass() {
                case true?:
                    return RowUpdate(line: row.line, state: .failed, outcome: .failed, attempts: attempts, errorCode: "pass-not-saved",
                                     errorMessage: Self.passLost, clientRequestId: error.clientRequestId)
                case false? where attempts < client.retry.maxAttempts:
                    try await client.time.sleep(seconds: client.retry.delay(afterAttempt: attempts))
                    continue
                default:
                    return RowUpdate(line: row.line, state: .inFlight, attempts: attempts, errorCode: "unknown-outcome",
                                     errorMessage: "\(error.message); read again on the next apply", clientRequestId: error.clientRequestId)
                }
            }
            attempts += response.attempts
            if response.status == 201, let pass = response.object["temporaryAccessPass"] as? String, !pass.isEmpty {
                // The pass is on disk before the row says done; a crash in between leaves the
                // row in flight, and the next apply finds the pass present: `pass-not-saved`.
                try vault.save(user: row.userPrincipalName ?? row.user, pass: pass,
                               validFrom: response.object["startDateTime"] as? String ?? "", lifetimeMinutes: passes.lifetimeMinutes,
                               usableOnce: passes.usableOnce)
                await refusals.wrote()
                return RowUpdate(line: row.line, state: .done, outcome: .issued, attempts: attempts,
                                 requestId: response.requestId, clientRequestId: response.clientRequestId,
                                 reason: "a Temporary Access Pass for \(passes.lifetimeMinutes) minutes\(passes.usableOnce ? ", one sign-in" : "") is in the helpdesk's passes file")
            }
            if response.status == 403 {
                return try await settle(row, target: nil, response: response, attempts: attempts, reader: GraphReader(client: client))
            }
            let error = response.failure()
            logger.warning("line \(row.line): issuing a pass failed: \(error.code ?? String(response.status))")
            return RowUpdate(line: row.line, state: .failed, outcome: response.status == 429 ? .throttled : .failed, attempts: attempts,
                             errorCode: error.code ?? String(response.status), errorMessage: error.message,
                             requestId: response.requestId, clientRequestId: response.clientRequestId)
        }
    }
}
