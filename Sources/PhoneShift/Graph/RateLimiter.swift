import Foundation

/// One budget for all workers, in two lanes (reads and writes). Each lane is a paced
/// schedule (each request reserves the next free slot, so waiting requests keep their
/// order) with its own pause and its own rate.
///
/// A 429 pauses the lane that `x-ms-throttle-scope` names (a write limit does not stop
/// reads; a resource-unit limit or an unnamed one pauses both) for its `Retry-After`, and
/// lowers that lane's rate multiplicatively (at most once per pause, so that the burst of
/// 429s one wall produces counts once). There is no floor: a tenant whose real limit is far
/// below the configured rate is followed down. While no 429 comes, the rate grows back
/// additively towards the configured rate, probing for the limit (AIMD).
/// `x-ms-throttle-limit-percentage` above 0.9 slows a lane before the wall.
public actor RateLimiter {
    public enum Kind: Sendable { case read, write }

    struct Lane {
        /// The configured rate: the ceiling.
        let configured: Double
        /// The rate in force now (requests per second).
        var rate: Double
        let burst: Double
        var next: Double
        var pausedUntil: Double = 0
        /// When the rate was last lowered; growth starts again from there.
        var lastDecrease: Double = -.infinity
        var lastGrowth: Double

        init(rate: Double, burst: Double, now: Double) {
            configured = max(0.01, rate)
            self.rate = configured
            self.burst = burst
            next = now
            lastGrowth = now
        }

        /// Additive increase: a twentieth of the configured rate per 10 s without a 429.
        mutating func grow(now: Double) {
            let elapsed = now - lastGrowth
            lastGrowth = now
            guard rate < configured, elapsed > 0 else { return }
            rate = min(configured, rate + configured * RateLimiter.growthPerSecond * elapsed)
        }

        /// Multiplicative decrease, once per pause; never below 0.01 requests per second.
        mutating func decrease(now: Double, by factor: Double) {
            guard now >= lastDecrease + RateLimiter.decreaseSpacing else { return }
            lastDecrease = now
            rate = max(0.01, rate * factor)
        }

        /// A 429: nothing until `until`, a lower rate, and growth again only from then.
        mutating func pause(until: Double, now: Double) {
            pausedUntil = max(pausedUntil, until)
            decrease(now: now, by: RateLimiter.decreaseFactor)
            lastGrowth = max(lastGrowth, until)
            next = max(next, until)
        }
    }

    /// Share of the configured rate regained per second without a 429.
    static let growthPerSecond = 0.005
    /// Rate kept after a 429 (multiplicative decrease).
    static let decreaseFactor = 0.75
    /// A burst of 429s within this many seconds lowers the rate once.
    static let decreaseSpacing = 1.0

    private var write: Lane
    private var read: Lane
    public private(set) var throttledCount = 0
    public private(set) var slowdowns = 0

    /// A 429 as the report draws it.
    public struct ThrottleEvent: Sendable {
        public var time: Double
        public var lane: String
        public var retryAfter: Double
    }
    private var events: [ThrottleEvent] = []

    /// The 429s met since the last call (the store records them).
    public func drainEvents() -> [ThrottleEvent] {
        defer { events.removeAll() }
        return events
    }

    /// - Parameters:
    ///   - writesPerSecond: sustained write rate (all workers together), the ceiling.
    ///   - readsPerSecond: sustained read rate, the ceiling.
    ///   - burst: requests that may go at once before pacing starts.
    ///   - clock: monotonic seconds (tests pass their own, so that no figure depends on how
    ///     fast the machine runs).
    public init(writesPerSecond: Double, readsPerSecond: Double, burst: Double = 10,
                clock: @escaping @Sendable () -> Double = RateLimiter.now) {
        self.clock = clock
        let now = clock()
        write = Lane(rate: writesPerSecond, burst: burst, now: now)
        read = Lane(rate: readsPerSecond, burst: burst, now: now)
    }

    private let clock: @Sendable () -> Double

    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    private func withLane<T>(_ kind: Kind, _ body: (inout Lane) -> T) -> T {
        kind == .write ? body(&write) : body(&read)
    }

    /// The rate a lane runs at now (for tests and progress).
    public func currentRate(_ kind: Kind) -> Double { withLane(kind) { $0.rate } }

    /// Seconds until a paused lane may send again (0 when it is not paused).
    public func pausedFor(_ kind: Kind) -> Double { max(0, withLane(kind) { $0.pausedUntil } - clock()) }

    /// Waits for this request's slot. Cancellation ends the wait with `CancellationError`
    /// (the request is then not sent).
    public func acquire(_ kind: Kind) async throws {
        let now = clock()
        let slot = withLane(kind) { lane in
            lane.grow(now: now)
            let interval = 1 / lane.rate
            let slot = max(lane.next, now - lane.burst * interval, lane.pausedUntil)
            lane.next = slot + interval
            return slot
        }
        let wait = slot - now
        if wait > 0 { try await Task.sleep(nanoseconds: UInt64(wait * 1e9)) }
        // A 429 that arrived while waiting pauses the lane, this request too.
        let paused = withLane(kind) { $0.pausedUntil } - clock()
        if paused > 0 { try await Task.sleep(nanoseconds: UInt64(paused * 1e9)) }
        try Task.checkCancellation()
    }

    /// The lanes a 429's `x-ms-throttle-scope` names: `…/Write/…` the writes only; anything
    /// else (resource units, `ReadWrite`, no header) both.
    static func lanes(scope: String?) -> [Kind] {
        guard let scope else { return [.read, .write] }
        let parts = scope.split(separator: "/").map { $0.lowercased() }
        if parts.contains("write") { return [.write] }
        if parts.contains("read") { return [.read] }
        return [.read, .write]
    }

    /// Graph answered 429: the named lane pauses for `retryAfter` seconds and slows down.
    public func throttled(retryAfter: Double, scope: String? = nil) {
        throttledCount += 1
        let lanes = Self.lanes(scope: scope)
        events.append(ThrottleEvent(time: Date().timeIntervalSince1970, lane: lanes.count == 2 ? "all" : lanes[0] == .write ? "write" : "read",
                                    retryAfter: retryAfter))
        let now = clock()
        let until = now + max(0.05, retryAfter)
        for kind in lanes { withLane(kind) { $0.pause(until: until, now: now) } }
    }

    /// Graph reported how close to a limit we are (0.8–1.8); above 0.9, slow the lane to
    /// the share that would keep it under.
    public func observe(limitPercentage: Double?, kind: Kind = .write) {
        guard let p = limitPercentage, p >= 0.9 else { return }
        let slowed = withLane(kind) { lane in
            let target = lane.configured * min(1, 1.0 / p)
            guard target < lane.rate else { return false }
            lane.rate = target
            return true
        }
        if slowed { slowdowns += 1 }
    }
}
