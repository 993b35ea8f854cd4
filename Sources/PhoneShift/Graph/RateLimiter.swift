import Foundation

/// One budget for all workers, in two lanes (reads and writes). Each lane has a rate (a
/// paced schedule: each request reserves the next free slot, so waiting requests keep their
/// order), a pause, and a number of requests it lets be in flight at once.
///
/// **In flight follows latency** (Little's law): a lane lets `rate × latency × headroom`
/// requests be on the wire at once, with the latency measured from its own answers, between
/// 1 and `maxInFlight`. At 400 ms a 20/s lane needs 8 in flight, at 40 ms one or two; a fixed
/// number of workers would be either the ceiling at real latency or a burst at low latency.
///
/// **The rate follows Graph** (AIMD with congestion marks):
/// - a 429 pauses the lane `x-ms-throttle-scope` names (a write limit does not stop reads;
///   a resource-unit limit or an unnamed one pauses both) for its `Retry-After` and halves
///   its rate — once per epoch: a 429 to a request sent before the last decrease is the
///   same wall, not a new one. A 429 that names no quota (a gateway's, a proxy's) cannot
///   be told from a rate we chose, so it lowers the rate no further than 80 % of what
///   succeeded over the last seconds: random 429s do not make the run crawl;
/// - `x-ms-throttle-limit-percentage` (sent above 80 % of a quota) is a mark before the
///   wall: while it rises, the rate is lowered a little (once per round trip; the first
///   mark while discovering halves it) and does not grow,
///   so the lane settles at the quota's refill rate without meeting the wall;
/// - with no mark and no 429 the rate grows: fast (×`slowStartGrowth` per second) while
///   discovering a quota nobody configured, gently once a wall or a mark has been met,
///   never above the lane's ceiling (the configured rate, or `discoveryCeiling`).
public actor RateLimiter {
    public enum Kind: Sendable { case read, write }

    /// A request let through: when it was, in which lane. Handed back to `finished`.
    public struct Ticket: Sendable {
        public let kind: Kind
        public let sentAt: Double
    }

    struct Lane {
        /// The ceiling: the configured rate, or `discoveryCeiling` when none was.
        let ceiling: Double
        /// The rate in force now (requests per second).
        var rate: Double
        let burst: Double
        var next: Double
        var pausedUntil: Double = 0
        /// When the rate was last lowered; a signal to a request sent before then is the same epoch.
        var lastDecrease: Double = -.infinity
        var lastGrowth: Double
        /// Growing fast until the first congestion signal (discovery only).
        var slowStart: Bool
        /// When the last throttle mark (limit percentage) was seen.
        var lastMarkTime: Double = -.infinity
        /// The mark when the rate was last lowered for one.
        var markAtDecrease: Double = 0
        /// Smoothed latency of this lane's answers (seconds); nil until the first.
        var latency: Double?
        var inFlight = 0
        let maxInFlight: Int
        var waiters: [(id: Int, continuation: CheckedContinuation<Void, Error>)] = []
        /// Successful answers per second over the last `successWindow` seconds (ring).
        var successes = [Int](repeating: 0, count: RateLimiter.successWindow)
        var successSecond = 0

        init(rate: Double?, ceiling: Double, burst: Double, maxInFlight: Int, now: Double) {
            self.ceiling = max(0.01, rate ?? ceiling)
            self.rate = rate.map { max(0.01, $0) } ?? min(self.ceiling, RateLimiter.discoveryStart)
            slowStart = rate == nil
            self.burst = burst
            self.maxInFlight = max(1, maxInFlight)
            next = now
            lastGrowth = now
            successSecond = Int(now.rounded(.down))
        }

        /// Requests this lane lets be in flight now: rate × latency × headroom (Little's
        /// law), plus one, between 1 and `maxInFlight`. Before the first answer, the
        /// latency is taken to be `assumedLatency`.
        var inFlightLimit: Int {
            let needed = rate * (latency ?? RateLimiter.assumedLatency) * RateLimiter.headroom
            guard needed.isFinite else { return maxInFlight }
            return min(maxInFlight, max(1, Int(needed.rounded(.up)) + 1))
        }

        mutating func grow(now: Double) {
            // A lane near a quota (marked in the last seconds) holds its rate; growth counts
            // from when the hold ended.
            let from = max(lastGrowth, lastMarkTime + RateLimiter.markHold)
            lastGrowth = now
            guard rate < ceiling, now > from else { return }
            let factor = slowStart ? RateLimiter.slowStartGrowth : RateLimiter.growth
            rate = min(ceiling, rate * pow(factor, now - from))
        }

        /// Multiplicative decrease, once per epoch (the signal must be about a request sent
        /// since the last decrease, and not within `decreaseSpacing` of it); never below
        /// `floor` or 0.01 requests per second. Returns whether the rate was lowered.
        mutating func decrease(now: Double, sentAt: Double, by factor: Double, floor: Double = 0,
                               spacing: Double = RateLimiter.decreaseSpacing) -> Bool {
            guard sentAt >= lastDecrease, now >= lastDecrease + spacing else { return false }
            lastDecrease = now
            slowStart = false
            rate = max(0.01, min(rate, max(floor, rate * factor)))
            return true
        }

        mutating func recordSuccess(now: Double) {
            advanceSuccessRing(to: Int(now.rounded(.down)))
            successes[successSecond % successes.count] += 1
        }

        mutating func advanceSuccessRing(to second: Int) {
            guard second > successSecond else { return }
            for s in (successSecond + 1)...min(second, successSecond + successes.count) { successes[s % successes.count] = 0 }
            successSecond = second
        }

        /// Successes per second over the last full seconds of the window.
        mutating func recentSuccessRate(now: Double) -> Double {
            advanceSuccessRing(to: Int(now.rounded(.down)))
            let current = successes[successSecond % successes.count]
            return Double(successes.reduce(0, +) - current) / Double(successes.count - 1)
        }
    }

    /// Headroom over Little's law's in-flight count (latency varies from request to request).
    static let headroom = 1.5
    /// The latency assumed before a lane has its first answer.
    static let assumedLatency = 0.5
    /// Weight of a new latency in the lane's smoothed latency.
    static let latencyWeight = 0.2
    /// Where a write lane with no configured rate starts (requests per second).
    static let discoveryStart = 5.0
    /// The ceiling of a lane with no configured rate: Graph's tenant-wide write budget
    /// (18,000 per 300 s, all apps together) is 60/s; no app gets more.
    static let discoveryCeiling = 60.0
    /// Growth per second while discovering (before any congestion signal): ×1.15.
    static let slowStartGrowth = 1.15
    /// Growth per second after a congestion signal: ×1.03.
    static let growth = 1.03
    /// Rate kept after a 429 that names a quota (multiplicative decrease).
    static let decreaseFactor = 0.5
    /// Rate kept after a rising throttle mark.
    static let markDecreaseFactor = 0.85
    /// A signal within this many seconds of the last decrease lowers the rate no more.
    static let decreaseSpacing = 1.0
    /// A mark keeps the rate from growing for this many seconds.
    static let markHold = 2.0
    /// Seconds of successes the floor of an unscoped 429 looks back over (plus the current one).
    static let successWindow = 11
    /// An unscoped 429 keeps at least this share of the recent success rate.
    static let unscopedFloorShare = 0.8
    /// Marks below this share of a quota are not acted on (Graph sends them from 0.8).
    static let markThreshold = 0.8

    private var write: Lane
    private var read: Lane
    private var nextWaiterId = 0
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
    ///   - writesPerSecond: sustained write rate (all workers together), the ceiling; nil:
    ///     found from Graph's answers (starts at `discoveryStart`, up to `discoveryCeiling`).
    ///   - readsPerSecond: sustained read rate, the ceiling; nil: discovered the same way.
    ///   - burst: requests that may go at once before pacing starts.
    ///   - maxInFlight: the most requests one lane has in flight, whatever the latency.
    ///   - clock: monotonic seconds (tests pass their own, so that no figure depends on how
    ///     fast the machine runs).
    public init(writesPerSecond: Double?, readsPerSecond: Double?, burst: Double = 10, maxInFlight: Int = 64,
                clock: @escaping @Sendable () -> Double = RateLimiter.now) {
        self.clock = clock
        let now = clock()
        write = Lane(rate: writesPerSecond, ceiling: Self.discoveryCeiling, burst: burst, maxInFlight: maxInFlight, now: now)
        read = Lane(rate: readsPerSecond, ceiling: Self.discoveryCeiling * 10, burst: burst, maxInFlight: maxInFlight, now: now)
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

    /// Requests a lane lets be in flight at once now.
    public func inFlightLimit(_ kind: Kind) -> Int { withLane(kind) { $0.inFlightLimit } }

    /// Requests a lane has in flight now.
    public func inFlight(_ kind: Kind) -> Int { withLane(kind) { $0.inFlight } }

    /// Requests waiting for room in a lane.
    public func waiting(_ kind: Kind) -> Int { withLane(kind) { $0.waiters.count } }

    /// Seconds until a paused lane may send again (0 when it is not paused).
    public func pausedFor(_ kind: Kind) -> Double { max(0, withLane(kind) { $0.pausedUntil } - clock()) }

    /// Waits for room in the lane (its in-flight limit), then for this request's slot.
    /// Cancellation ends the wait with `CancellationError` (the request is then not sent, and
    /// holds no room). Every ticket must be handed back to `finished`.
    @discardableResult
    public func acquire(_ kind: Kind) async throws -> Ticket {
        try await enter(kind)
        do {
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
        } catch {
            leave(kind)
            throw error
        }
        return Ticket(kind: kind, sentAt: clock())
    }

    /// The request of `ticket` has its answer (or failed): its room in the lane is free, and
    /// its latency and success count. `status` is nil when no answer came.
    public func finished(_ ticket: Ticket, status: Int?) {
        let now = clock()
        withLane(ticket.kind) { lane in
            if let status {
                let latency = max(0, now - ticket.sentAt)
                lane.latency = lane.latency.map { $0 + Self.latencyWeight * (latency - $0) } ?? latency
                if status != 429 && status < 500 { lane.recordSuccess(now: now) }
            }
        }
        leave(ticket.kind)
    }

    private func enter(_ kind: Kind) async throws {
        let admitted = withLane(kind) { lane -> Bool in
            guard lane.waiters.isEmpty, lane.inFlight < lane.inFlightLimit else { return false }
            lane.inFlight += 1
            return true
        }
        if admitted { return }
        let id = nextWaiterId
        nextWaiterId += 1
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                if Task.isCancelled { continuation.resume(throwing: CancellationError()); return }
                withLane(kind) { $0.waiters.append((id, continuation)) }
            }
        } onCancel: {
            Task { await self.cancelWaiter(id, kind) }
        }
    }

    private func cancelWaiter(_ id: Int, _ kind: Kind) {
        let waiter = withLane(kind) { lane -> CheckedContinuation<Void, Error>? in
            guard let index = lane.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return lane.waiters.remove(at: index).continuation
        }
        waiter?.resume(throwing: CancellationError())
    }

    private func leave(_ kind: Kind) {
        withLane(kind) { $0.inFlight -= 1 }
        admitWaiters(kind)
    }

    /// Lets waiting requests in while the lane has room (after an answer, or a new limit).
    private func admitWaiters(_ kind: Kind) {
        let admitted = withLane(kind) { lane -> [CheckedContinuation<Void, Error>] in
            var out: [CheckedContinuation<Void, Error>] = []
            while !lane.waiters.isEmpty && lane.inFlight < lane.inFlightLimit {
                out.append(lane.waiters.removeFirst().continuation)
                lane.inFlight += 1
            }
            return out
        }
        for continuation in admitted { continuation.resume() }
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

    /// Graph answered 429: the named lanes pause for `retryAfter` seconds and slow down (once
    /// per epoch: `sentAt` is when the throttled request was sent; nil: now).
    public func throttled(retryAfter: Double, scope: String? = nil, sentAt: Double? = nil) {
        throttledCount += 1
        let lanes = Self.lanes(scope: scope)
        events.append(ThrottleEvent(time: Date().timeIntervalSince1970, lane: lanes.count == 2 ? "all" : lanes[0] == .write ? "write" : "read",
                                    retryAfter: retryAfter))
        let now = clock()
        let until = now + max(0.05, retryAfter)
        for kind in lanes {
            withLane(kind) { lane in
                // A 429 that names no quota may not be about our rate at all: keep most of what worked.
                let floor = scope == nil ? Self.unscopedFloorShare * lane.recentSuccessRate(now: now) : 0
                lane.pausedUntil = max(lane.pausedUntil, until)
                _ = lane.decrease(now: now, sentAt: sentAt ?? now, by: Self.decreaseFactor, floor: floor)
                lane.lastGrowth = max(lane.lastGrowth, until)
                lane.next = max(lane.next, until)
            }
            admitWaiters(kind)
        }
    }

    /// Graph reported how close to a quota we are (`x-ms-throttle-limit-percentage`, 0.8–1.8).
    /// A mark that has not fallen since the last one acted on lowers the rate a little, once
    /// per epoch; any mark holds the rate from growing for `markHold` seconds.
    public func observe(limitPercentage: Double?, kind: Kind = .write, sentAt: Double? = nil) {
        guard let p = limitPercentage, p >= Self.markThreshold else { return }
        let now = clock()
        let slowed = withLane(kind) { lane -> Bool in
            lane.lastMarkTime = now
            guard p >= lane.markAtDecrease - 0.01 || now - lane.lastDecrease > Self.markHold * 2 else { return false }
            // The first mark while discovering: the rate grew past the quota's refill rate
            // some time ago (the bucket was full), so it is cut as hard as by a wall; later
            // marks a little, once per round trip.
            let factor = lane.slowStart ? Self.decreaseFactor : Self.markDecreaseFactor
            let spacing = min(Self.decreaseSpacing, max(0.2, lane.latency ?? Self.assumedLatency))
            guard lane.decrease(now: now, sentAt: sentAt ?? now, by: factor, spacing: spacing) else { return false }
            lane.markAtDecrease = p
            return true
        }
        if slowed { slowdowns += 1 }
    }
}
