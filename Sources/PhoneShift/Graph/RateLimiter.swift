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
/// **The rate follows Graph.** Graph's quotas are token buckets: a window's worth of requests
/// that refills continuously. Above 80 % of a quota Graph says how full it is
/// (`x-ms-throttle-limit-percentage`) on every answer; at 100 % it answers 429.
/// - The first mark halves the rate: the bucket had time to fill to 80 %, so the rate has
///   been over the refill rate for a while (while discovering it grew ×1.15 per second).
/// - From then on the bucket's level steers the rate towards `levelTarget` (90 %: under the
///   wall, over the 80 % where the marks start): the lane sends more than its rate while the
///   level is under the target and less while it is over (proportional), and the rate itself
///   drifts towards the rate that holds the level (integral). A level held between 80 % and
///   100 % means the lane sends exactly what the quota refills, whatever the quota is.
/// - When the marks stop (the level fell under 80 %) the level is taken to be 80 % for
///   `quietGrace` seconds, then the rate grows by time again (×`returnGrowth` per second).
/// - A 429 pauses the lane `x-ms-throttle-scope` names (a write limit does not stop reads;
///   a resource-unit limit or an unnamed one pauses both) for its `Retry-After` and halves
///   its rate — once per epoch: a 429 to a request sent before the last decrease is the
///   same wall, not a new one. A 429 that names no quota (a gateway's, a proxy's) cannot
///   be told from a rate we chose, so it lowers the rate no further than 80 % of what
///   succeeded over the last seconds: random 429s do not make the run crawl.
/// - With no mark and no 429 the rate grows over time: fast (×`slowStartGrowth` per second)
///   while discovering a quota nobody configured, spending what its bucket holds, gently
///   (×`growth`) after a wall on a quota that sends no marks; never above the lane's ceiling
///   (the configured rate, or `discoveryCeiling`).
public actor RateLimiter {
    public enum Kind: Sendable { case read, write }

    /// A request let through: when it was, in which lane. Handed back to `finished`.
    public struct Ticket: Sendable {
        public let kind: Kind
        public let sentAt: Double
    }

    /// One lane's schedule and rate. Every decision is a mutating function of the lane and
    /// the time it is given, so that a simulated quota can drive it (the tests do).
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
        /// Whether this lane has met throttle marks (the quota tells how full it is).
        var markedBefore = false
        /// When the last throttle mark was seen.
        var lastMarkTime: Double = -.infinity
        /// The bucket's level (share of the quota in use), smoothed over the marks; restarted
        /// by the first mark after a quiet spell.
        var level: Double?
        /// When the level was last acted on.
        var lastLevelTime: Double = -.infinity
        /// The share of `rate` sent while the level steers it.
        var levelFactor = 1.0
        /// The rate requests are sent at: `rate` as the level steers it, never above the ceiling.
        var sendRate: Double { min(ceiling, rate * levelFactor) }
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
            let needed = sendRate * (latency ?? RateLimiter.assumedLatency) * RateLimiter.headroom
            guard needed.isFinite else { return maxInFlight }
            return min(maxInFlight, max(1, Int(needed.rounded(.up)) + 1))
        }

        /// Whether the quota has been near (a mark) within the last `markQuiet` seconds:
        /// its level, not time, then steers the rate.
        func nearQuota(now: Double) -> Bool { now - lastMarkTime <= RateLimiter.markQuiet }

        /// The time of the next request's slot (it reserves it): after the last one by one
        /// interval at the current rate, never before a pause ends; up to `burst` requests
        /// may go at once after a quiet spell.
        mutating func reserve(now: Double) -> Double {
            grow(now: now)
            let interval = 1 / sendRate
            let slot = max(next, now - burst * interval, pausedUntil)
            next = slot + interval
            return slot
        }

        mutating func grow(now: Double) {
            let from = lastGrowth
            lastGrowth = now
            // Near the quota the level steers the rate (`mark`), not time.
            guard !nearQuota(now: now), now > from else { return }
            // (A lane that has met a mark has been halved by it: it is out of slow start.)
            if markedBefore && now - lastMarkTime <= RateLimiter.markQuiet + RateLimiter.quietGrace {
                // The marks stopped: the level fell under 80 %. It is steered as if it were
                // there, its lowest visible value: a little more than the rate is sent, and the
                // rate drifts up, until the marks come back.
                steer(level: RateLimiter.markThreshold, seconds: now - from)
                return
            }
            // Time steers it: what was sent is the rate it grows from.
            rate = sendRate
            levelFactor = 1
            guard rate < ceiling else { return }
            let factor = slowStart ? RateLimiter.slowStartGrowth : markedBefore ? RateLimiter.returnGrowth : RateLimiter.growth
            rate = min(ceiling, rate * pow(factor, now - from))
        }

        /// The level steers the rate (proportional and integral): over `seconds` the rate
        /// drifts by exp(`levelIntegral` × (`levelTarget` − level)) per second, and it is sent
        /// at 1 + `levelProportional` × (`levelTarget` − level) of itself.
        mutating func steer(level: Double, seconds: Double) {
            let error = RateLimiter.levelTarget - level
            rate = max(0.01, min(ceiling, rate * exp(RateLimiter.levelIntegral * error * min(1, max(0, seconds)))))
            levelFactor = max(RateLimiter.levelFactorRange.lowerBound,
                              min(RateLimiter.levelFactorRange.upperBound, 1 + RateLimiter.levelProportional * error))
        }

        /// Multiplicative decrease, once per epoch (the signal must be about a request sent
        /// since the last decrease, and not within `decreaseSpacing` of it); never below
        /// `floor` or 0.01 requests per second.
        mutating func decrease(now: Double, sentAt: Double, by factor: Double, floor: Double = 0) {
            guard sentAt >= lastDecrease, now >= lastDecrease + RateLimiter.decreaseSpacing else { return }
            lastDecrease = now
            slowStart = false
            let sent = sendRate
            levelFactor = 1
            rate = max(0.01, min(sent, max(floor, sent * factor)))
        }

        /// The answer to a request sent at `sentAt` came (`status` nil: none came).
        mutating func answered(sentAt: Double, now: Double, status: Int?) {
            guard let status else { return }
            let latency = max(0, now - sentAt)
            self.latency = self.latency.map { $0 + RateLimiter.latencyWeight * (latency - $0) } ?? latency
            if status != 429 && status < 500 { recordSuccess(now: now) }
        }

        /// A 429: pause for `retryAfter` (nil: no pause), halve the rate once per epoch (a
        /// 429 that names no quota keeps `unscopedFloorShare` of the recent successes).
        mutating func throttled(now: Double, retryAfter: Double?, sentAt: Double, scoped: Bool) {
            let floor = scoped ? 0 : RateLimiter.unscopedFloorShare * recentSuccessRate(now: now)
            decrease(now: now, sentAt: sentAt, by: RateLimiter.decreaseFactor, floor: floor)
            guard let retryAfter else { return }
            let until = now + max(0.05, retryAfter)
            pausedUntil = max(pausedUntil, until)
            lastGrowth = max(lastGrowth, until)
            next = max(next, until)
        }

        /// A throttle mark: the quota is `share` full (0.8–1.8) as the request sent at
        /// `sentAt` found it.
        mutating func mark(_ share: Double, now: Double, sentAt: Double) {
            guard share >= RateLimiter.markThreshold else { return }
            if !nearQuota(now: now) {
                level = nil
                lastLevelTime = now
            }
            lastMarkTime = now
            let first = !markedBefore
            markedBefore = true
            let level = self.level.map { $0 + RateLimiter.levelWeight * (share - $0) } ?? share
            self.level = level
            if first {
                // The first mark: the rate passed the quota's refill rate a while ago (the
                // bucket had time to fill to 80 %), so it is cut as by a wall.
                decrease(now: now, sentAt: sentAt, by: RateLimiter.decreaseFactor)
                return
            }
            steer(level: level, seconds: now - lastLevelTime)
            lastLevelTime = now
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
    /// Growth per second after a wall (a 429) on a quota that sends no marks: ×1.03.
    static let growth = 1.03
    /// Growth per second of a rate whose quota's marks stopped `quietGrace` seconds ago and
    /// more: the bucket has room (over 20 %, and more every second), the marks will say when
    /// it fills again.
    static let returnGrowth = 1.05
    static let quietGrace = 5.0
    /// Rate kept after a 429 that names a quota (multiplicative decrease).
    static let decreaseFactor = 0.5
    /// A signal within this many seconds of the last decrease lowers the rate no more.
    static let decreaseSpacing = 1.0
    /// Marks below this share of a quota are not acted on (Graph sends them from 0.8).
    static let markThreshold = 0.8
    /// With no mark for this many seconds the bucket's level is under 80 %: time, not the
    /// level, steers the rate again.
    static let markQuiet = 2.0
    /// Weight of a new mark in the smoothed level (Graph's share has two decimals, and
    /// requests reach Graph in a jittered order).
    static let levelWeight = 0.25
    /// The level the lane steers the bucket to: under the wall (1.0), over the 0.8 where
    /// the marks start, so that it stays in sight.
    static let levelTarget = 0.9
    /// Per second, the rate changes by exp(levelIntegral × (levelTarget − level)).
    static let levelIntegral = 0.1
    /// The rate is sent at 1 + levelProportional × (levelTarget − level) of itself, within
    /// `levelFactorRange`.
    static let levelProportional = 2.5
    static let levelFactorRange = 0.6...1.3
    /// Seconds of successes the floor of an unscoped 429 looks back over (plus the current one).
    static let successWindow = 11
    /// An unscoped 429 keeps at least this share of the recent success rate.
    static let unscopedFloorShare = 0.8

    private var write: Lane
    private var read: Lane
    private var nextWaiterId = 0
    public private(set) var throttledCount = 0

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
    ///   - time: the clock and the sleeps of the waits (tests pass their own, so that no
    ///     figure depends on how fast the machine runs).
    public init(writesPerSecond: Double?, readsPerSecond: Double?, burst: Double = 10, maxInFlight: Int = 64,
                time: any TimeSource = SystemTime()) {
        self.time = time
        let now = time.now
        write = Lane(rate: writesPerSecond, ceiling: Self.discoveryCeiling, burst: burst, maxInFlight: maxInFlight, now: now)
        read = Lane(rate: readsPerSecond, ceiling: Self.discoveryCeiling * 10, burst: burst, maxInFlight: maxInFlight, now: now)
    }

    private let time: any TimeSource

    private func clock() -> Double { time.now }

    /// The system's monotonic seconds.
    public static func now() -> Double { SystemTime().now }

    private func withLane<T>(_ kind: Kind, _ body: (inout Lane) -> T) -> T {
        kind == .write ? body(&write) : body(&read)
    }

    /// The rate a lane runs at now (for tests and progress).
    public func currentRate(_ kind: Kind) -> Double { withLane(kind) { $0.sendRate } }

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
            let slot = withLane(kind) { $0.reserve(now: now) }
            let wait = slot - now
            if wait > 0 { try await time.sleep(seconds: wait) }
            // A 429 that arrived while waiting pauses the lane, this request too.
            let paused = withLane(kind) { $0.pausedUntil } - clock()
            if paused > 0 { try await time.sleep(seconds: paused) }
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
        withLane(ticket.kind) { $0.answered(sentAt: ticket.sentAt, now: now, status: status) }
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

    /// Graph answered 429: the named lanes pause for `retryAfter` seconds (nil: they do not
    /// pause) and slow down (once per epoch: `sentAt` is when the throttled request was
    /// sent; nil: now).
    public func throttled(retryAfter: Double?, scope: String? = nil, sentAt: Double? = nil) {
        throttledCount += 1
        let lanes = Self.lanes(scope: scope)
        events.append(ThrottleEvent(time: Date().timeIntervalSince1970, lane: lanes.count == 2 ? "all" : lanes[0] == .write ? "write" : "read",
                                    retryAfter: retryAfter ?? 0))
        let now = clock()
        for kind in lanes {
            withLane(kind) { $0.throttled(now: now, retryAfter: retryAfter, sentAt: sentAt ?? now, scoped: scope != nil) }
            admitWaiters(kind)
        }
    }

    /// Graph reported how full a quota is (`x-ms-throttle-limit-percentage`, 0.8–1.8) in its
    /// answer to a request sent at `sentAt` (nil: now): the lane steers the level towards
    /// `levelTarget` (see the type's comment).
    public func observe(limitPercentage: Double?, kind: Kind = .write, sentAt: Double? = nil) {
        guard let share = limitPercentage else { return }
        let now = clock()
        withLane(kind) { $0.mark(share, now: now, sentAt: sentAt ?? now) }
    }
}
