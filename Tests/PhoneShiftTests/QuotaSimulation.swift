import Foundation
@testable import GraphEmulator
@testable import PhoneShift

/// A write lane (`RateLimiter.Lane`, the code apply runs) against a simulated Graph quota, in
/// simulated time: the emulator's own throttle (`Throttle`, a token bucket of `capacity`
/// writes refilled at `refill` per second, as GRAPH.md describes Graph's quotas), answering
/// 429 with its wait when empty and `x-ms-throttle-limit-percentage` (two decimals, as the
/// emulator sends it) above 80 %.
/// Each request reaches the bucket after a latency drawn from `latency` (the emulator's
/// latency comes before the work) and is answered then. Seeded: the same figures every run,
/// whatever the machine, so a test can hold the controller to a target.
struct QuotaSimulation {
    var capacity: Double
    var refill: Double
    var latency: ClosedRange<Double>
    var rows: Int
    /// The job's `writesPerSecond` (nil: discovered).
    var configuredRate: Double? = nil
    var burst: Double = 10
    var maxInFlight: Int = 64
    var seed: UInt64 = 1
    /// The share of the bucket already used when the run starts (a run of the same app moments ago).
    var startUsed: Double = 0
    /// Prints the lane's rate and the bucket's level every simulated second (for tuning by hand).
    var trace = false
    /// Whether the quota sends `x-ms-throttle-limit-percentage` (documented for the identity
    /// resources only: authentication methods may not).
    var marks = true

    struct Outcome: CustomStringConvertible {
        var seconds: Double
        var written: Int
        var throttled: Int
        /// The quota-bound minimum: what the bucket held at the start, then the refill rate.
        var minimumSeconds: Double
        var refill: Double
        var writesPerSecond: Double { Double(written) / seconds }
        var shareOfQuota: Double { writesPerSecond / refill }
        var throttledShare: Double { Double(throttled) / Double(written + throttled) }
        var description: String {
            String(format: "%d writes in %.1f s (minimum %.1f s) = %.2f/s = %.1f%% of the quota; 429 on %.2f%% of writes",
                   written, seconds, minimumSeconds, writesPerSecond, 100 * shareOfQuota, 100 * throttledShare)
        }
    }

    private enum Event { case send, arrive(sentAt: Double), answer(sentAt: Double, status: Int, share: Double?, retryAfter: Double) }

    func run() -> Outcome {
        var rng = SplitMix64(seed: seed)
        var now = 0.0
        var lane = RateLimiter.Lane(rate: configuredRate, ceiling: RateLimiter.discoveryCeiling, burst: burst,
                                    maxInFlight: maxInFlight, now: now)
        var quota = Throttle(settings: ThrottleSettings(appWrites: capacity, appWritesWindow: capacity / refill,
                                                        tenantWrites: 1e12, tenantWritesWindow: 1, resourceUnits: 1e12),
                             tenantId: "simulated", tenantUsers: 1000, now: now)
        for _ in 0..<Int(capacity * startUsed) { _ = quota.admit(app: "app", units: 0, writes: 1, now: now) }
        var pending = rows, written = 0, throttled = 0
        var queue: [(time: Double, order: Int, event: Event)] = []
        var order = 0
        func schedule(_ time: Double, _ event: Event) {
            order += 1
            let entry = (time: time, order: order, event: event)
            let index = queue.firstIndex { ($0.time, $0.order) > (time, order) } ?? queue.endIndex
            queue.insert(entry, at: index)
        }
        func admit() {
            while pending > 0 && lane.inFlight < lane.inFlightLimit {
                pending -= 1
                lane.inFlight += 1
                schedule(lane.reserve(now: now), .send)
            }
        }
        admit()
        var traced = 0.0, throttledThen = 0
        while !queue.isEmpty {
            let (time, _, event) = queue.removeFirst()
            now = time
            if trace && now >= traced + 1 {
                traced = now.rounded(.down)
                print(String(format: "t=%5.0f rate=%6.2f level=%.3f inflight=%2d limit=%2d written=%5d 429s=%d", traced, lane.sendRate,
                             lane.level ?? 0, lane.inFlight, lane.inFlightLimit, written, throttled - throttledThen))
                throttledThen = throttled
            }
            switch event {
            case .send:
                // A 429 that came while this request waited for its slot pauses it too.
                if lane.pausedUntil > now { schedule(lane.pausedUntil, .send); continue }
                schedule(now + Double.random(in: latency, using: &rng), .arrive(sentAt: now))
            case .arrive(let sentAt):
                let verdict = quota.admit(app: "app", units: 1, writes: 1, now: now)
                if verdict.allowed {
                    let used = verdict.usedFraction
                    schedule(now, .answer(sentAt: sentAt, status: 204, share: marks && used > 0.8 ? (min(1.8, used) * 100).rounded() / 100 : nil,
                                          retryAfter: 0))
                } else {
                    schedule(now, .answer(sentAt: sentAt, status: 429, share: nil, retryAfter: verdict.retryAfter))
                }
            case .answer(let sentAt, let status, let share, let retryAfter):
                lane.answered(sentAt: sentAt, now: now, status: status)
                lane.inFlight -= 1
                if status == 429 {
                    throttled += 1
                    pending += 1
                    lane.throttled(now: now, retryAfter: retryAfter, sentAt: sentAt, scoped: true)
                } else {
                    written += 1
                    if let share { lane.mark(share, now: now, sentAt: sentAt) }
                }
            }
            admit()
        }
        let stored = capacity * (1 - startUsed)
        return Outcome(seconds: now, written: written, throttled: throttled,
                       minimumSeconds: max(0, Double(rows) - stored) / refill, refill: refill)
    }
}
