import Foundation

/// Writes row updates to the store in batches, one transaction (and one sync) per batch.
///
/// Two ways in: `submit` for final outcomes (buffered; a crash may lose the last batch,
/// which only means those rows are re-read on resume) and `commit` for marks that must be
/// durable before the caller goes on — the in-flight mark before a write is sent. Commits
/// from all workers share a batch (group commit): while one batch is being written, the
/// next one fills, and each caller waits for the batch that carries its mark.
///
/// A failed batch (the job's lock lost, the disk full) fails its waiters and every later
/// call: nothing more is written or sent after it.
actor Checkpointer {
    private let store: JobStore
    private let plan: Int
    private let run: Int
    private var buffer: [RowUpdate] = []
    /// The number the batch now filling in `buffer` will get.
    private var nextBatch = 1
    /// The highest batch written.
    private var written = 0
    private var writing = false
    private var failure: Error?
    private var waiters: [(batch: Int, continuation: CheckedContinuation<Void, Error>)] = []
    /// Batches written so far (for tests and benchmarks: how well commits were grouped).
    private(set) var batchesWritten = 0

    init(store: JobStore, plan: Int, run: Int) {
        self.store = store
        self.plan = plan
        self.run = run
    }

    /// Totals of what was submitted (for the summary and the progress line).
    struct Totals: Sendable {
        var processed = 0
        var failed = 0
        var outcomes: [String: Int] = [:]
    }
    private(set) var totals = Totals()

    /// Buffers a row's new state and counts it; written with the next batch (at the latest
    /// by `flush`).
    func submit(_ update: RowUpdate) throws {
        if let failure { throw failure }
        buffer.append(update)
        // A row put back to pending (interrupted before its write left) is not processed.
        if update.state != .pending {
            totals.processed += 1
            if update.state == .failed { totals.failed += 1 }
            totals.outcomes[update.outcome?.rawValue ?? update.state.rawValue, default: 0] += 1
        }
        if buffer.count >= 200 { startBatch() }
    }

    /// Adds `update` and returns once the batch holding it is committed.
    func commit(_ update: RowUpdate) async throws {
        if let failure { throw failure }
        buffer.append(update)
        let mine = nextBatch
        startBatch()
        try await wait(for: mine)
    }

    /// Writes everything buffered and waits for any batch still being written.
    func flush() async throws {
        if let failure { throw failure }
        let last = buffer.isEmpty ? nextBatch - 1 : nextBatch
        startBatch()
        try await wait(for: last)
    }

    private func wait(for batch: Int) async throws {
        if batch <= written { return }
        if let failure { throw failure }
        try await withCheckedThrowingContinuation { waiters.append((batch, $0)) }
    }

    /// Starts writing the buffer as the next batch, unless a batch is being written (then
    /// the buffer goes as soon as that one is done).
    private func startBatch() {
        guard !writing, !buffer.isEmpty, failure == nil else { return }
        writing = true
        let batch = buffer, number = nextBatch
        buffer = []
        nextBatch += 1
        Task {
            do {
                try await store.update(batch, plan: plan, run: run)
                self.finished(number, error: nil)
            } catch {
                self.finished(number, error: error)
            }
        }
    }

    private func finished(_ batch: Int, error: Error?) {
        writing = false
        if let error {
            failure = error
            let all = waiters
            waiters = []
            for w in all { w.continuation.resume(throwing: error) }
            return
        }
        written = batch
        batchesWritten += 1
        let ready = waiters.filter { $0.batch <= batch }
        waiters.removeAll { $0.batch <= batch }
        for w in ready { w.continuation.resume() }
        startBatch()
    }
}
