import Foundation
import Testing
@testable import PhoneShift

/// The write lane apply runs (`RateLimiter.Lane`) against a token-bucket quota in simulated
/// time (`QuotaSimulation`): seeded, so each figure is the same on every machine and a test
/// can hold the controller to issue 19's targets. The benchmarks measure the same against the
/// real emulator (Benchmarks/apply_latency.sh, adaptive_throttle.sh).
@Suite("The write lane against a simulated Graph quota (simulated time, seeded)")
struct QuotaSimulationTests {
    @Test("No rate configured, a 300 writes / 15 s quota (Graph's 3,000 / 150 s scaled), 1,200 rows and 10,000 (where the held rate, not the bucket, decides): at least 95 % of the quota with at most 1 % of writes answered 429, at 300-500, 60-100 and 20-40 ms",
          arguments: [0.3...0.5, 0.06...0.1, 0.02...0.04])
    func discoveredQuota(latency: ClosedRange<Double>) {
        for (rows, seed) in [(1200, 1), (1200, 2), (1200, 3), (10_000, 1)] as [(Int, UInt64)] {
            let outcome = QuotaSimulation(capacity: 300, refill: 20, latency: latency, rows: rows, seed: seed).run()
            #expect(outcome.written == rows)
            #expect(outcome.shareOfQuota >= 0.95, "seed \(seed): \(outcome)")
            #expect(outcome.throttledShare <= 0.01, "seed \(seed): \(outcome)")
        }
    }

    @Test("A job configured for 2, 4 and 6 times the real quota (150 / 15 s), or for none, 900 rows at 300-500 ms: under 5 % of writes answered 429 and at least 85 % of the quota",
          arguments: [20.0, 40.0, 60.0, nil] as [Double?])
    func configuredAboveTheQuota(rate: Double?) {
        for seed: UInt64 in 1...3 {
            let outcome = QuotaSimulation(capacity: 150, refill: 10, latency: 0.3...0.5, rows: 900, configuredRate: rate, seed: seed).run()
            #expect(outcome.shareOfQuota >= 0.85, "seed \(seed): \(outcome)")
            #expect(outcome.throttledShare < 0.05, "seed \(seed): \(outcome)")
        }
    }

    @Test("Graph's own bucket (3,000 writes / 150 s), 10,000 rows at 300-500 ms: within 10 % of the quota-bound minimum time (the bucket spent, then 20/s), no 429")
    func spendsTheBucket() {
        let outcome = QuotaSimulation(capacity: 3000, refill: 20, latency: 0.3...0.5, rows: 10_000).run()
        #expect(outcome.seconds <= outcome.minimumSeconds * 1.1, "\(outcome)")
        #expect(outcome.throttled == 0, "\(outcome)")
    }

    @Test("A quota that sends no throttle marks (only 429s, as authentication methods may): under 5 % of writes answered 429, at least 90 % of the quota")
    func quotaWithoutMarks() {
        let outcome = QuotaSimulation(capacity: 300, refill: 20, latency: 0.3...0.5, rows: 1200, marks: false).run()
        #expect(outcome.shareOfQuota >= 0.9, "\(outcome)")
        #expect(outcome.throttledShare < 0.05, "\(outcome)")
    }

    @Test("A run moments ago left the bucket 90 % used: the lane still reaches 75 % of the quota, under 2 % 429")
    func bucketAlreadyUsed() {
        let outcome = QuotaSimulation(capacity: 300, refill: 20, latency: 0.3...0.5, rows: 1200, startUsed: 0.9).run()
        #expect(outcome.shareOfQuota >= 0.75, "\(outcome)")
        #expect(outcome.throttledShare < 0.02, "\(outcome)")
    }

    @Test("A configured rate at the quota (19.6/s against 20/s) is kept: no mark, no 429, the configured rate")
    func configuredAtTheQuota() {
        let outcome = QuotaSimulation(capacity: 300, refill: 20, latency: 0.06...0.1, rows: 2000, configuredRate: 19.6).run()
        #expect(outcome.throttled == 0, "\(outcome)")
        #expect(outcome.writesPerSecond >= 19.6 * 0.97, "\(outcome)")
    }

    @Test("Figures for tuning by hand (SIM_TRACE=1 prints a line per simulated second)", .enabled(if: ProcessInfo.processInfo.environment["SIM_TRACE"] != nil))
    func trace() {
        let env = ProcessInfo.processInfo.environment
        var sim = QuotaSimulation(capacity: Double(env["SIM_CAP"] ?? "") ?? 300, refill: Double(env["SIM_REFILL"] ?? "") ?? 20,
                                  latency: 0.3...0.5, rows: Int(env["SIM_ROWS"] ?? "") ?? 1200)
        sim.configuredRate = Double(env["SIM_RATE"] ?? "")
        sim.trace = true
        print(sim.run())
    }
}
extension QuotaSimulationTests {
    @Test("figures", .enabled(if: ProcessInfo.processInfo.environment["SIM_FIGURES"] != nil))
    func figures() {
        let cases: [(String, QuotaSimulation)] = [
            ("300/15 1200 300-500 none", QuotaSimulation(capacity: 300, refill: 20, latency: 0.3...0.5, rows: 1200)),
            ("300/15 10000 300-500 none", QuotaSimulation(capacity: 300, refill: 20, latency: 0.3...0.5, rows: 10000)),
            ("300/15 1200 60-100 none", QuotaSimulation(capacity: 300, refill: 20, latency: 0.06...0.1, rows: 1200)),
            ("150/15 900 300-500 none", QuotaSimulation(capacity: 150, refill: 10, latency: 0.3...0.5, rows: 900)),
            ("150/15 900 300-500 20", QuotaSimulation(capacity: 150, refill: 10, latency: 0.3...0.5, rows: 900, configuredRate: 20)),
            ("150/15 900 300-500 40", QuotaSimulation(capacity: 150, refill: 10, latency: 0.3...0.5, rows: 900, configuredRate: 40)),
            ("150/15 900 300-500 60", QuotaSimulation(capacity: 150, refill: 10, latency: 0.3...0.5, rows: 900, configuredRate: 60)),
            ("3000/150 10000 300-500 none", QuotaSimulation(capacity: 3000, refill: 20, latency: 0.3...0.5, rows: 10000)),
            ("3000/150 50000 300-500 none", QuotaSimulation(capacity: 3000, refill: 20, latency: 0.3...0.5, rows: 50000)),
            ("300/15 1200 300-500 none no marks", QuotaSimulation(capacity: 300, refill: 20, latency: 0.3...0.5, rows: 1200, marks: false)),
            ("300/15 1200 300-500 none 90% used", QuotaSimulation(capacity: 300, refill: 20, latency: 0.3...0.5, rows: 1200, startUsed: 0.9)),
        ]
        for (name, sim) in cases { print("SIM \(name): \(sim.run())") }
    }
}
