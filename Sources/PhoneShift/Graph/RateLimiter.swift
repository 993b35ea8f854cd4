import Foundation

/// One budget for all workers: a paced schedule for writes and one for reads (each request
/// reserves the next free slot, so waiting requests keep their order), and one global pause
/// whenever Graph says 429. Slows down before the wall when Graph reports
/// `x-ms-throttle-limit-percentage`, and speeds back up slowly afterwards.
public actor RateLimiter {
    public enum Kind: Sendable { case read, write }

    private var writeInterval: Double
    private var readInterval: Double
    private let writeBurst: Double
    private let readBurst: Double
    private var nextWrite: Double
    private var nextRead: Double
    private var pausedUntil: Double = 0
    /// 1 = full speed; lowered when Graph warns that a limit is near.
    private var factor: Double = 1
    public private(set) var throttledCount = 0
    public private(set) var slowdowns = 0

    /// - Parameters:
    ///   - writesPerSecond: sustained write rate (all workers together).
    ///   - readsPerSecond: sustained read rate.
    ///   - burst: requests that may go at once before pacing starts.
    public init(writesPerSecond: Double, readsPerSecond: Double, burst: Double = 10) {
        writeInterval = 1 / max(0.01, writesPerSecond)
        readInterval = 1 / max(0.01, readsPerSecond)
        writeBurst = burst
        readBurst = burst
        let now = Self.now()
        nextWrite = now
        nextRead = now
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Waits for this request's slot. Cancellation ends the wait with `CancellationError`
    /// (the request is then not sent).
    public func acquire(_ kind: Kind) async throws {
        let now = Self.now()
        let interval = (kind == .write ? writeInterval : readInterval) / factor
        let burst = kind == .write ? writeBurst : readBurst
        var slot = max(kind == .write ? nextWrite : nextRead, now - burst * interval)
        slot = max(slot, pausedUntil)
        if kind == .write { nextWrite = slot + interval } else { nextRead = slot + interval }
        let wait = slot - now
        if wait > 0 { try await Task.sleep(nanoseconds: UInt64(wait * 1e9)) }
        // A 429 that arrived while waiting pauses everyone, this request too.
        let paused = pausedUntil - Self.now()
        if paused > 0 { try await Task.sleep(nanoseconds: UInt64(paused * 1e9)) }
        try Task.checkCancellation()
    }

    /// Graph answered 429: nobody sends anything for `retryAfter` seconds.
    public func throttled(retryAfter: Double) {
        throttledCount += 1
        pausedUntil = max(pausedUntil, Self.now() + max(0.05, retryAfter))
        factor = max(0.5, factor * 0.85)
    }

    /// Graph reported how close to a limit we are (0.8–1.8); above 0.9, slow down.
    public func observe(limitPercentage: Double?) {
        if let p = limitPercentage, p >= 0.9 {
            let target = max(0.5, min(1, 1.0 / p))
            if target < factor { factor = target; slowdowns += 1 }
        } else if factor < 1 {
            factor = min(1, factor + 0.002)
        }
    }
}
