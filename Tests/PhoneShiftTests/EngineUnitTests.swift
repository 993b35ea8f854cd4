import Foundation
import GraphEmulator
import Logging
import Testing
@testable import PhoneShift

@Suite("Engine parts as units: rate limiter, retries, tokens, masking, endpoints, job-file hygiene")
struct EngineUnitTests {
    let dir = TemporaryDirectory()

    @Test("RateLimiter: a cancelled wait throws and nothing is let through; a 429 pauses every lane's next request")
    func rateLimiter() async throws {
        let limiter = RateLimiter(writesPerSecond: 0.01, readsPerSecond: 100, burst: 1)
        try await limiter.acquire(.write)  // the burst
        let waiting = Task { try await limiter.acquire(.write) }  // 100 s away
        try await Task.sleep(nanoseconds: 50_000_000)
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }

        await limiter.throttled(retryAfter: 0.4)
        let start = ContinuousClock.now
        try await limiter.acquire(.read)
        #expect(ContinuousClock.now - start >= .milliseconds(350), "a read went through during the pause")
        #expect(await limiter.throttledCount == 1)
    }

    @Test("RateLimiter lanes and AIMD: a write-scope 429 pauses writes only and halves their rate once per wall; spaced walls keep lowering it (no floor); it grows back")
    func rateLimiterLanes() async throws {
        // The limiter's clock is moved by hand: no figure depends on the machine's speed.
        let clock = ManualClock()
        let limiter = RateLimiter(writesPerSecond: 20, readsPerSecond: 1000, burst: 1, time: clock)
        await limiter.throttled(retryAfter: 0.5, scope: "Tenant_Application/Write/app/tenant")
        #expect(await limiter.pausedFor(.read) == 0, "a write limit stopped reads")
        #expect(abs(await limiter.pausedFor(.write) - 0.5) < 1e-9)
        #expect(await limiter.currentRate(.write) == 20 * RateLimiter.decreaseFactor)
        // A resource-unit limit stops both lanes (the longer pause stands).
        await limiter.throttled(retryAfter: 0.4, scope: "Tenant_Application/ReadWrite/app/tenant")
        #expect(abs(await limiter.pausedFor(.read) - 0.4) < 1e-9)
        #expect(abs(await limiter.pausedFor(.write) - 0.5) < 1e-9)
        #expect(await limiter.currentRate(.read) == 1000 * RateLimiter.decreaseFactor)
        // A burst of 429s within a second counts once; spaced ones keep lowering the rate.
        for _ in 0..<5 { await limiter.throttled(retryAfter: 0.01, scope: "Tenant_Application/Write/app/tenant") }
        #expect(await limiter.currentRate(.write) == 20 * RateLimiter.decreaseFactor)
        for _ in 0..<2 {
            clock.advance(1.05)
            await limiter.throttled(retryAfter: 0.01, scope: "Tenant_Application/Write/app/tenant")
        }
        let lowered = await limiter.currentRate(.write)
        #expect(abs(lowered - 20 * pow(RateLimiter.decreaseFactor, 3)) < 1e-9, "the write rate is \(lowered)/s")
        // Growth starts when the pause ends (0.05 s after the 429): ×1.03 per second after a wall.
        clock.advance(1.05)
        try await limiter.acquire(.write)
        let grown = await limiter.currentRate(.write)
        #expect(abs(grown - lowered * RateLimiter.growth) < 1e-9, "the rate grew to \(grown)/s")
    }

    @Test("RateLimiter: a 429 to a request sent before the last decrease is the same wall and lowers the rate no more, however late it arrives")
    func rateLimiterEpochs() async throws {
        let clock = ManualClock()
        let limiter = RateLimiter(writesPerSecond: 40, readsPerSecond: 1000, burst: 100, time: clock)
        let early = try await limiter.acquire(.write)
        let alsoEarly = try await limiter.acquire(.write)
        clock.advance(0.5)
        await limiter.throttled(retryAfter: 0.1, scope: "Tenant_Application/Write/app/tenant", sentAt: early.sentAt)
        await limiter.finished(early, status: 429)
        #expect(await limiter.currentRate(.write) == 20)
        // At 3 s of latency, the other request of the same wall is answered 429 long after.
        clock.advance(2.5)
        await limiter.throttled(retryAfter: 0.1, scope: "Tenant_Application/Write/app/tenant", sentAt: alsoEarly.sentAt)
        await limiter.finished(alsoEarly, status: 429)
        #expect(await limiter.currentRate(.write) == 20, "one wall lowered the rate twice")
        // A request sent after the decrease that meets the wall again: a new epoch.
        let later = try await limiter.acquire(.write)
        clock.advance(1.5)
        await limiter.throttled(retryAfter: 0.1, scope: "Tenant_Application/Write/app/tenant", sentAt: later.sentAt)
        await limiter.finished(later, status: 429)
        #expect(await limiter.currentRate(.write) == 10)
    }

    @Test("RateLimiter: a 429 that names no quota keeps 80 % of what succeeded in the last seconds (and with no Retry-After pauses nobody); one that names the write quota halves the rate")
    func rateLimiterUnscopedFloor() async throws {
        let clock = ManualClock()
        let limiter = RateLimiter(writesPerSecond: 20, readsPerSecond: 1000, burst: 100, time: clock)
        // 16 writes answered per second for 12 seconds.
        for _ in 0..<(12 * 16) {
            let ticket = try await limiter.acquire(.write)
            await limiter.finished(ticket, status: 204)
            clock.advance(1.0 / 16)
        }
        // Neither a wait nor a quota: only the request that got it backs off (GraphClient).
        await limiter.throttled(retryAfter: nil, scope: nil)
        #expect(await limiter.pausedFor(.write) == 0, "a gateway's 429 paused the writes")
        #expect(await limiter.pausedFor(.read) == 0, "a gateway's 429 paused the reads")
        let afterUnscoped = await limiter.currentRate(.write)
        #expect(abs(afterUnscoped - 16 * RateLimiter.unscopedFloorShare) < 1e-9, "a gateway's 429 took the rate to \(afterUnscoped)/s")
        // With a Retry-After it pauses both lanes (the quota is not named).
        await limiter.throttled(retryAfter: 0.3, scope: nil)
        #expect(abs(await limiter.pausedFor(.read) - 0.3) < 1e-9)
        #expect(abs(await limiter.pausedFor(.write) - 0.3) < 1e-9)
        #expect(abs(await limiter.currentRate(.write) - afterUnscoped) < 1e-9, "the same wall lowered the rate twice")
        clock.advance(1.5)
        await limiter.throttled(retryAfter: 0.1, scope: "Tenant_Application/Write/app/tenant")
        #expect(abs(await limiter.currentRate(.write) - afterUnscoped * RateLimiter.decreaseFactor) < 1e-9)
    }

    @Test("RateLimiter: the first throttle mark halves the rate; then the level steers it: marks over the target lower it, marks under it raise it, time does not grow it while marked")
    func rateLimiterMarks() async throws {
        let clock = ManualClock()
        let limiter = RateLimiter(writesPerSecond: 30, readsPerSecond: 1000, burst: 100, time: clock)
        await limiter.observe(limitPercentage: 0.7, kind: .write)
        #expect(await limiter.currentRate(.write) == 30, "a share under 0.8 is no mark")
        // The first mark: the bucket filled to 80 % at this rate, which is well over its refill rate.
        await limiter.observe(limitPercentage: 0.82, kind: .write)
        #expect(await limiter.currentRate(.write) == 15)
        // A level over the target, for three seconds: the rate falls, and keeps falling.
        var last = 15.0
        for second in 1...3 {
            for _ in 0..<10 {
                clock.advance(0.1)
                await limiter.observe(limitPercentage: 0.97, kind: .write)
            }
            let now = await limiter.currentRate(.write)
            #expect(now < last, "second \(second) over the target: \(now)/s after \(last)/s")
            last = now
        }
        // Marked a moment ago: time alone does not raise the rate.
        clock.advance(1)
        _ = try await limiter.acquire(.write)
        #expect(await limiter.currentRate(.write) == last, "the rate grew by time while the quota was near")
        // A level under the target: the rate rises, over the rate sent at the target.
        for _ in 0..<30 {
            clock.advance(0.1)
            await limiter.observe(limitPercentage: 0.81, kind: .write)
        }
        let under = await limiter.currentRate(.write)
        #expect(under > last * 1.2, "under the target the rate went from \(last)/s to \(under)/s")
        // At the target the rate stays where it is.
        for _ in 0..<40 {
            clock.advance(0.1)
            await limiter.observe(limitPercentage: RateLimiter.levelTarget, kind: .write)
        }
        let atTarget = await limiter.currentRate(.write)
        for _ in 0..<20 {
            clock.advance(0.1)
            await limiter.observe(limitPercentage: RateLimiter.levelTarget, kind: .write)
        }
        #expect(abs(await limiter.currentRate(.write) - atTarget) < atTarget * 0.01)
        #expect(atTarget < under)
    }

    @Test("RateLimiter with no configured write rate: starts at 5/s, grows ×1.15 per second until the first mark halves it; with the marks gone it grows back (×1.05 per second) up to 60/s")
    func rateLimiterDiscovery() async throws {
        let clock = ManualClock()
        let limiter = RateLimiter(writesPerSecond: nil, readsPerSecond: 1000, burst: 100, time: clock)
        #expect(await limiter.currentRate(.write) == RateLimiter.discoveryStart)
        for _ in 0..<10 {
            clock.advance(1)
            await limiter.finished(try await limiter.acquire(.write), status: 201)
        }
        let grown = await limiter.currentRate(.write)
        #expect(abs(grown - 5 * pow(RateLimiter.slowStartGrowth, 10)) < 1e-6, "after 10 s: \(grown)/s")
        // The first mark ends the fast growth: the rate passed the refill rate a while ago.
        await limiter.observe(limitPercentage: 0.81, kind: .write)
        let halved = await limiter.currentRate(.write)
        #expect(abs(halved - grown * RateLimiter.decreaseFactor) < 1e-9)
        // The marks stop (the level fell under 80 %): for a while the lane sends as if the level
        // were 0.8, a little over its rate, then it grows back by time.
        clock.advance(RateLimiter.markQuiet + 0.5)
        await limiter.finished(try await limiter.acquire(.write), status: 201)
        let steered = await limiter.currentRate(.write)
        #expect(steered > halved && steered <= halved * RateLimiter.levelFactorRange.upperBound * 1.01, "\(steered)/s")
        clock.advance(RateLimiter.quietGrace)
        await limiter.finished(try await limiter.acquire(.write), status: 201)
        let before = await limiter.currentRate(.write)
        clock.advance(2)
        await limiter.finished(try await limiter.acquire(.write), status: 201)
        let after = await limiter.currentRate(.write)
        #expect(abs(after - before * pow(RateLimiter.returnGrowth, 2)) < 1e-6, "\(before)/s → \(after)/s in 2 s")
        for _ in 0..<200 {
            clock.advance(1)
            await limiter.finished(try await limiter.acquire(.write), status: 201)
        }
        #expect(await limiter.currentRate(.write) == RateLimiter.discoveryCeiling)
    }

    @Test("RateLimiter: in flight follows latency (rate × latency × 1.5, plus one, capped); a request beyond it waits for an answer")
    func rateLimiterInFlight() async throws {
        let clock = ManualClock()
        let limiter = RateLimiter(writesPerSecond: 20, readsPerSecond: 1000, burst: 1000, maxInFlight: 64, time: clock)
        // Latency 400 ms: 20 × 0.4 × 1.5 = 12, plus one.
        let first = try await limiter.acquire(.write)
        clock.advance(0.4)
        await limiter.finished(first, status: 204)
        #expect(await limiter.inFlightLimit(.write) == 13)
        // Latency 40 ms from now on: the smoothed latency falls and the limit with it.
        for _ in 0..<40 {
            let t = try await limiter.acquire(.write)
            clock.advance(0.04)
            await limiter.finished(t, status: 204)
        }
        #expect(await limiter.inFlightLimit(.write) == 3)
        // Reads at 1,000/s and 400 ms would need 600: capped at 64.
        let read = try await limiter.acquire(.read)
        clock.advance(0.4)
        await limiter.finished(read, status: 200)
        #expect(await limiter.inFlightLimit(.read) == 64)
        // Three writes in flight fill the lane; a fourth waits until one is answered.
        var held: [RateLimiter.Ticket] = []
        for _ in 0..<3 { held.append(try await limiter.acquire(.write)) }
        let fourth = Task { try await limiter.acquire(.write) }
        while await limiter.waiting(.write) == 0 { await Task.yield() }
        #expect(await limiter.inFlight(.write) == 3)
        clock.advance(0.04)
        await limiter.finished(held.removeFirst(), status: 204)
        let admitted = try await fourth.value
        #expect(await limiter.inFlight(.write) == 3)
        // A waiting request that is cancelled holds no room.
        let fifth = Task { try await limiter.acquire(.write) }
        while await limiter.waiting(.write) == 0 { await Task.yield() }
        fifth.cancel()
        await #expect(throws: CancellationError.self) { try await fifth.value }
        for t in held + [admitted] { await limiter.finished(t, status: 204) }
        #expect(await limiter.inFlight(.write) == 0)
        #expect(await limiter.waiting(.write) == 0)
    }

    @Test("RateLimiter: a request waits out a lane's pause in real time")
    func rateLimiterPauseIsReal() async throws {
        let limiter = RateLimiter(writesPerSecond: 20, readsPerSecond: 1000, burst: 1)
        await limiter.throttled(retryAfter: 0.5, scope: "Tenant_Application/Write/app/tenant")
        let start = ContinuousClock.now
        try await limiter.acquire(.write)
        #expect(ContinuousClock.now - start >= .milliseconds(400), "a write went through during the write pause")
    }

    func client(_ emulator: EmulatorServer.Running, maxAttempts: Int = 3, retry: RetryPolicy? = nil,
                time: any TimeSource = SystemTime()) throws -> GraphClient {
        let settings = try GraphSettings(tenantId: "9188040d-6c67-4c5b-b112-36a304b66dad", clientId: EmulatorOptions.defaultClientId,
                                         credential: .secret(Secret(EmulatorOptions.defaultClientSecret)),
                                         authority: URL(string: emulator.baseURL)!, graphBase: URL(string: emulator.baseURL + "/v1.0")!)
        return GraphClient(settings: settings, transport: CurlTransport(),
                           limiter: RateLimiter(writesPerSecond: 100, readsPerSecond: 100, time: time),
                           retry: retry ?? RetryPolicy(maxAttempts: maxAttempts, baseDelay: 0.01, maxDelay: 0.05), logger: Logger(label: "test"),
                           time: time)
    }

    func emulator(users: Int = 3, clock: (any TimeSource)? = nil,
                  _ configure: (inout EmulatorOptions) -> Void = { _ in }) async throws -> EmulatorServer.Running {
        var options = EmulatorOptions(seed: try DirectorySeed.load(path: packageRoot + "/Samples/directory.json").adding(syntheticUsers: users))
        configure(&options)
        if let clock { return try await EmulatorServer.start(options, clock: { clock.now }) }
        return try await EmulatorServer.start(options)
    }

    @Test("Retries: a 503 is tried maxAttempts times and then returned; a write whose answer is lost is not re-sent")
    func retries() async throws {
        let server = try await emulator { $0.faults = FaultSettings(errorRates: ["503": 1.0], retryAfterSeconds: 0.01) }
        defer { Task { await server.stop() } }
        let graph = try client(server, maxAttempts: 3)
        let answer = try await graph.send("GET", "/users/bench1@contoso.com")
        #expect(answer.status == 503 && answer.attempts == 3)
        // A lost answer on a write: thrown as of unknown outcome after one try.
        var faults = FaultSettings()
        faults.lostAnswerRate = 1
        server.service.setFaults(faults)
        await #expect { _ = try await graph.send("PATCH", "/users/bench1@contoso.com/authentication/phoneMethods/3179e48a-750b-4051-897c-87b9720928f7",
                                                 json: ["phoneNumber": "+1 2065550111", "phoneType": "mobile"]) } throws: {
            ($0 as? GraphError)?.outcomeUnknown == true
        }
        let patches = server.service.requestLog().filter { $0.method == "PATCH" }
        #expect(patches.count == 1, "the write was re-sent \(patches.count - 1) times")
        // A read whose answer is lost is simply tried again, maxAttempts times in all.
        await #expect { _ = try await graph.send("GET", "/users/bench2@contoso.com") } throws: {
            ($0 as? GraphError)?.kind == .transport && ($0 as? GraphError)?.outcomeUnknown == false
        }
        #expect(server.service.requestLog().filter { $0.method == "GET" && $0.path.hasSuffix("bench2@contoso.com") }.count == 3)
    }

    @Test("Tokens: a revoked one is replaced once and the request goes through; renewed before they expire (the client and the emulator on one clock, moved by hand)")
    func tokens() async throws {
        let clock = ManualClock()
        let server = try await emulator(clock: clock) { $0.tokenLifetime = 6 }
        defer { Task { await server.stop() } }
        let graph = try client(server, time: clock)
        #expect(try await graph.send("GET", "/users/bench1@contoso.com").status == 200)
        server.service.revokeTokens()
        #expect(try await graph.send("GET", "/users/bench1@contoso.com").status == 200)
        #expect(server.service.requestLog().filter { $0.status == 401 }.count == 1)
        // 6 s tokens are renewed after 4.8 s; requests 2.5 s apart: the one at 5 s renews ahead
        // of expiry, so the one at 7.5 s does not meet an expired token (which would be a 401).
        let tokensBefore = server.service.requestLog().filter { $0.path.hasSuffix("/token") }.count
        for _ in 0..<3 {
            clock.advance(2.5)
            #expect(try await graph.send("GET", "/users/bench1@contoso.com").status == 200)
        }
        let log = server.service.requestLog()
        #expect(log.filter { $0.path.hasSuffix("/token") }.count == tokensBefore + 1, "the token was not renewed once")
        #expect(log.filter { $0.status == 401 }.count == 1, "a request went out with an expired token")
    }

    @Test("Backoff in virtual time: a 503 with Retry-After waits what Graph asked (capped by maxDelay), one without waits the policy's growing, jittered delay; none is spent")
    func backoffWaits() async throws {
        let time = VirtualTime()
        let server = try await emulator(clock: time) { $0.faults = FaultSettings(errorRates: ["503": 1.0], retryAfterSeconds: 7) }
        defer { Task { await server.stop() } }
        let graph = try client(server, retry: RetryPolicy(maxAttempts: 4, baseDelay: 2, maxDelay: 5), time: time)
        #expect(try await graph.send("GET", "/users/bench1@contoso.com").status == 503)
        // Three waits between four tries: Retry-After 7, capped at 5.
        #expect(time.waits.filter { $0 >= 1 } == [5, 5, 5], "\(time.waits)")

        let plain = VirtualTime()
        let other = try await emulator(clock: plain) { $0.faults = FaultSettings(errorRates: ["500": 1.0]) }
        defer { Task { await other.stop() } }
        let graph2 = try client(other, retry: RetryPolicy(maxAttempts: 4, baseDelay: 2, maxDelay: 5), time: plain)
        #expect(try await graph2.send("GET", "/users/bench1@contoso.com").status == 500)
        // No Retry-After: full jitter under 2, 4, then the 5 s cap.
        let waits = plain.waits.filter { $0 >= 0.9 }
        #expect(waits.count == 3, "\(plain.waits)")
        for (wait, ceiling) in zip(waits, [2.0, 4.0, 5.0]) { #expect(wait >= ceiling / 2 && wait <= ceiling, "\(waits)") }
    }

    @Test("A write the tenant's quota throttles waits Retry-After in virtual time (the emulator's windows on the same clock) and goes through on the next try")
    func throttledWriteWaitsRetryAfter() async throws {
        let time = VirtualTime()
        let server = try await emulator(clock: time) { options in
            options.throttle = ThrottleSettings(appWrites: 1, appWritesWindow: 10, resourceUnits: 200_000, resourceUnitsWindow: 10)
        }
        defer { Task { await server.stop() } }
        let graph = try client(server, time: time)
        // The mobile method's id is the same for every user (Graph's phone method ids).
        let mobile = "/authentication/phoneMethods/3179e48a-750b-4051-897c-87b9720928f7"
        let first = try await graph.send("PATCH", "/users/bench1@contoso.com" + mobile, json: ["phoneNumber": "+1 2065550100", "phoneType": "mobile"])
        #expect(first.status == 204, "\(first.status)")
        let before = time.now
        let second = try await graph.send("PATCH", "/users/bench2@contoso.com" + mobile, json: ["phoneNumber": "+1 2065550101", "phoneType": "mobile"])
        #expect(second.status == 204, "\(second.status)")
        let answers429 = server.service.requestLog().filter { $0.status == 429 }.count
        #expect(answers429 >= 1, "the quota never answered 429")
        // The wait was the emulator's Retry-After (the rest of its 10 s window), not more.
        #expect(time.now - before >= 9 && time.now - before <= 12, "waited \(time.now - before) s: \(time.waits)")
    }

    @Test("A transport dropped without shutdown() ends its transfer thread (nothing keeps it alive)")
    func transportReleased() async throws {
        let server = try await emulator()
        defer { Task { await server.stop() } }
        weak var engine: CurlEngine?
        do {
            let transport = CurlTransport()
            engine = transport.engine
            #expect(try await transport.send(HTTPRequest(method: "GET", url: server.baseURL + "/v1.0/users/x")).status == 401)
        }
        // The transfer thread holds the engine until its loop ends: the engine is freed only
        // once the thread has stopped.
        let gone = try await EngineFixture.poll { engine == nil }
        #expect(gone, "the transfer thread outlived its transport")
    }

    @Test("An answer larger than the cap ends its transfer with a transport error naming the cap; under the default cap the same answer arrives")
    func responseBodyCapped() async throws {
        let server = try await emulator()
        defer { Task { await server.stop() } }
        let request = HTTPRequest(method: "GET", url: server.baseURL + "/v1.0/users/x")
        let whole = try await CurlTransport().send(request)
        #expect(whole.status == 401 && whole.body.count > 50, "\(whole.body.count) bytes")
        var options = TransportOptions()
        options.maxResponseBytes = 50
        await #expect { _ = try await CurlTransport(options: options).send(request) } throws: { error in
            "\(error)".contains("larger than the 50 bytes accepted")
        }
    }

    @Test("Every curl option is checked: one libcurl refuses (a URL over its 8 MB limit) fails that request with the option named, and the next request works")
    func setoptRefusalFailsTheRequest() async throws {
        let server = try await emulator()
        defer { Task { await server.stop() } }
        let transport = CurlTransport()
        let huge = server.baseURL + "/v1.0/users/" + String(repeating: "x", count: 9 << 20)
        await #expect { _ = try await transport.send(HTTPRequest(method: "GET", url: huge)) } throws: { error in
            "\(error)".contains("cannot set up the request (URL)")
        }
        #expect(try await transport.send(HTTPRequest(method: "GET", url: server.baseURL + "/v1.0/users/x")).status == 401)
    }

    /// The national digits a masked number shows (the characters after the country code that are digits).
    static func shownDigits(_ masked: String) -> Int {
        let number = masked.split(separator: " ").dropFirst().first ?? ""
        return number.filter(\.isNumber).count
    }

    @Test("A masked change never shows more than four national digits; look-alikes get keyed fingerprints", arguments: [
        // The commonest migration: only the area code changes.
        ("+1 2065550100", "+1 4255550100", "+1 ******0100", "+1 ******0100", true),
        // One digit changed in the middle.
        ("+1 2065550100", "+1 2065551100", "+1 ******0100", "+1 ******1100", false),
        ("+1 2065550123", "+1 2065550199", "+1 ******0123", "+1 ******0199", false),
        // A different country, the same last digits: the country codes already tell them apart.
        ("+44 7911550100", "+1 4255550100", "+44 ******0100", "+1 ******0100", false),
    ])
    func maskPair(_ a: String, _ b: String, _ maskedA: String, _ maskedB: String, _ fingerprinted: Bool) throws {
        let key = try #require(PhoneMask.Key(hex: String(repeating: "ab", count: 32)))
        let (x, y) = PhoneMask.maskPair(a, b, key: key)
        let shownA = try #require(x), shownB = try #require(y)
        #expect(shownA.hasPrefix(maskedA) && shownB.hasPrefix(maskedB))
        #expect(Self.shownDigits(shownA) <= 4 && Self.shownDigits(shownB) <= 4)
        #expect(shownA != shownB)
        #expect(shownA.contains(" #") == fingerprinted && shownB.contains(" #") == fingerprinted)
    }

    @Test("Fingerprints: the same number gives the same one under one key, another key gives another, none shows digits of the number")
    func fingerprints() throws {
        let k1 = try #require(PhoneMask.Key(hex: String(repeating: "01", count: 32)))
        let k2 = try #require(PhoneMask.Key(hex: String(repeating: "02", count: 32)))
        let (a1, b1) = PhoneMask.maskPair("+1 2065550100", "+1 4255550100", key: k1)
        let (a1again, _) = PhoneMask.maskPair("+1 2065550100", "+1 3605550100", key: k1)
        let (a2, _) = PhoneMask.maskPair("+1 2065550100", "+1 4255550100", key: k2)
        let fp = { (s: String?) in String(s!.split(separator: "#").last!) }
        #expect(fp(a1) == fp(a1again))
        #expect(fp(a1) != fp(b1))
        #expect(fp(a1) != fp(a2))
        #expect(fp(a1).count == 4 && fp(a1).allSatisfy(\.isHexDigit))
        // The same number with only the extension changed: the extensions show, no more digits.
        let (e1, e2) = PhoneMask.maskPair("+44 7911123456", "+44 7911123456x12", key: k1)
        #expect(e1 == "+44 ******3456" && e2 == "+44 ******3456x12")
        // A stored key round-trips; a damaged one is refused.
        #expect(PhoneMask.Key(hex: k1.hex)?.hex == k1.hex)
        #expect(PhoneMask.Key(hex: "zz") == nil)
        #expect(PhoneMask.Key(hex: String(repeating: "g", count: 64)) == nil)
    }

    @Test("Plain http:// only to this machine: addresses are parsed, not prefixes", arguments: [
        ("http://127.0.0.1:8080", true), ("http://127.8.9.10", true), ("http://localhost:1", true), ("http://[::1]:8080", true),
        ("http://127.evil.example", false), ("http://127.0.0.1.evil.example", false), ("http://10.0.0.1", false),
        ("http://[::2]", false), ("https://graph.microsoft.com", true),
    ])
    func loopback(_ url: String, _ allowed: Bool) {
        let ok = (try? GraphSettings.checkEndpoint(URL(string: url)!, name: "tenant.graph")) != nil
        #expect(ok == allowed)
    }

    @Test("tenant.cloud sets authority, Graph and token scope; an unknown cloud or a pair from two clouds is refused with the key named")
    func clouds() throws {
        func job(_ tenantLines: String) throws -> JobDefinition {
            let path = dir.file("cloud.yaml", "sheet:\n  path: a.csv\ntenant:\n  tenantId: t\n  clientId: c\n  clientSecret:\n    env: S\n" + tenantLines)
            return try JobDefinition.load(path: path)
        }
        let expected: [(String, String, String, String)] = [
            ("global", "https://login.microsoftonline.com", "https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/.default"),
            ("gcc", "https://login.microsoftonline.com", "https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/.default"),
            ("usgov", "https://login.microsoftonline.us", "https://graph.microsoft.us/v1.0", "https://graph.microsoft.us/.default"),
            ("usgovdod", "https://login.microsoftonline.us", "https://dod-graph.microsoft.us/v1.0", "https://dod-graph.microsoft.us/.default"),
            ("china", "https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn/v1.0", "https://microsoftgraph.chinacloudapi.cn/.default"),
        ]
        for (name, authority, graph, scope) in expected {
            let j = try job("  cloud: \(name)\n")
            #expect(j.tenant.authority == authority && j.tenant.graph == graph, "\(name)")
            let settings = try j.graphSettings(environment: ["S": "x"])
            #expect(settings.scope == scope, "\(name)")
        }
        // The emulator on loopback stands for the cloud named: the scope is the cloud's.
        let local = try job("  cloud: usgov\n  authority: http://127.0.0.1:9\n  graph: http://127.0.0.1:9/v1.0\n")
        #expect(try local.graphSettings(environment: ["S": "x"]).scope == "https://graph.microsoft.us/.default")
        #expect(throws: PhoneShiftError.self) { try job("  cloud: mars\n") }
        #expect(throws: PhoneShiftError.self) { try job("  cloud: china\n  graph: https://graph.microsoft.com/v1.0\n") }
        #expect(throws: PhoneShiftError.self) { try job("  authority: https://login.chinacloudapi.cn\n  graph: https://graph.microsoft.us/v1.0\n") }
        #expect((try? job("  authority: https://login.microsoftonline.us\n  graph: https://dod-graph.microsoft.us/v1.0\n")) != nil)
    }

    @Test("~ in job paths is the home folder")
    func home() throws {
        let path = dir.file("job.yaml", "sheet:\n  path: ~/sheets/a.csv\ntenant:\n  tenantId: t\n  clientId: c\n  clientSecret:\n    file: ~/.config/phoneshift/secret\nstore: ~/jobs/x.sqlite\n")
        let job = try JobDefinition.load(path: path)
        let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        #expect(job.sheet.path == home + "/sheets/a.csv")
        #expect(job.store == home + "/jobs/x.sqlite")
        #expect(job.tenant.secretFile == home + "/.config/phoneshift/secret")
    }

    @Test("A secret pasted into the job file is never echoed: not from a YAML error, not from clientSecret.env or .file")
    func noSecretEcho() throws {
        let secret = "Xq8~Pz.SECRETVALUE-1234_abcd"
        let broken = dir.file("broken.yaml", "sheet:\n  path: a.csv\ntenant:\n  clientSecret: \"\(secret)\n  tenantId: [t\n")
        #expect { try JobDefinition.load(path: broken) } throws: { error in
            let text = "\(error)"
            return text.contains("not valid YAML") && text.contains("line") && !text.contains("SECRETVALUE")
        }
        let inEnv = dir.file("env.yaml", "sheet:\n  path: a.csv\ntenant:\n  tenantId: t\n  clientId: c\n  clientSecret:\n    env: \(secret)\n")
        #expect { try JobDefinition.load(path: inEnv) } throws: { error in
            let text = "\(error)"
            return text.contains("tenant.clientSecret.env") && !text.contains("SECRETVALUE")
        }
        let inFile = dir.file("file.yaml", "sheet:\n  path: a.csv\ntenant:\n  tenantId: t\n  clientId: c\n  clientSecret:\n    file: \(secret)\n")
        let job = try JobDefinition.load(path: inFile)
        #expect { try job.clientSecret() } throws: { error in
            let text = "\(error)"
            return text.contains("tenant.clientSecret.file") && !text.contains("SECRETVALUE")
        }
    }

    @Test("A sheet.path that is the client secret file (or the private key) is refused when the job is read, and the message holds no secret")
    func sheetIsTheSecret() throws {
        let secret = "Xq8~Pz.SECRETVALUE-5678_abcd"
        _ = dir.file("secret.txt", secret + "\n")
        chmod(dir.path + "/secret.txt", 0o600)
        // Two spellings of one file: the same name, and a path through "sub/..".
        try FileManager.default.createDirectory(atPath: dir.path + "/sub", withIntermediateDirectories: true)
        for sheet in ["secret.txt", "sub/../secret.txt"] {
            let path = dir.file("job-\(sheet.count).yaml", "sheet:\n  path: \(sheet)\ntenant:\n  tenantId: t\n  clientId: c\n  clientSecret:\n    file: secret.txt\n")
            #expect { try JobDefinition.load(path: path) } throws: { error in
                let text = "\(error)"
                return text.contains("sheet.path (line 2)") && text.contains("tenant.clientSecret.file") && !text.contains("SECRETVALUE")
            }
        }
    }

    @Test("valves.maxChanges and policy.maxChanges take off as the README says; anything else but a whole number is named with its line")
    func maxChangesOff() throws {
        func job(_ valves: String) throws -> JobDefinition {
            try JobDefinition.load(path: dir.file("valves.yaml", "sheet:\n  path: a.csv\ntenant:\n  tenantId: t\n  clientId: c\n  clientSecret:\n    env: X\n\(valves)"))
        }
        #expect(try job("valves:\n  maxChanges: off\n").valves.maxChanges == nil)
        #expect(try job("valves:\n  maxChanges: 40\n").valves.maxChanges == 40)
        #expect(try job("policy:\n  maxChanges: off\n").valves.maxChanges == nil)
        #expect { try job("valves:\n  maxChanges: lots\n") } throws: { error in
            "\(error)".contains("valves.maxChanges (line 9)") && "\(error)".contains("or off")
        }
        #expect { try job("policy:\n  maxChanges: 10\nvalves:\n  maxChanges: off\n") } throws: { error in
            "\(error)".contains("say different things")
        }
    }

    @Test("validate --output refuses a device file and the input sheet itself; both stay as they were")
    func outputTargets() async throws {
        let sheet = dir.file("sheet.csv", "UPN,Phone\na@contoso.com,+1 2065550100\n")
        let device = try await runProduct("phoneshift", ["validate", sheet, "--output", "/dev/null"])
        #expect(device.status == 2 && device.stderr.contains("not a regular file"), "\(device.stderr)")
        var info = stat()
        #expect(stat("/dev/null", &info) == 0 && info.st_mode & S_IFMT == S_IFCHR)
        let same = try await runProduct("phoneshift", ["validate", sheet, "--output", sheet])
        #expect(same.status == 2 && same.stderr.contains("is the input"), "\(same.stderr)")
        #expect(try String(contentsOfFile: sheet, encoding: .utf8) == "UPN,Phone\na@contoso.com,+1 2065550100\n")
    }

    @Test("Validation keeps no named file on disk while it runs (nothing to leave behind after a crash)")
    func noSpoolOnDisk() throws {
        let sheet = dir.file("sheet.csv", "UPN,Phone\n" + (1...300).map { "u\($0)@contoso.com,+1 206555\(String(format: "%04d", $0))\n" }.joined())
        let spoolDir = dir.path + "/spool"
        try FileManager.default.createDirectory(atPath: spoolDir, withIntermediateDirectories: true)
        var options = ValidationOptions()
        options.temporaryDirectory = spoolDir
        var seen: [String] = []
        var rows = 0
        _ = try SheetValidator(options: options, logger: Logger(label: "test")).validate(path: sheet) { _ in
            rows += 1
            if rows == 150 { seen = try FileManager.default.contentsOfDirectory(atPath: spoolDir) }
        }
        #expect(rows == 300)
        #expect(seen.isEmpty, "files on disk during validation: \(seen)")
    }

    @Test("The plan's lock has a heartbeat; a plan that loses its lock stops and is never completed")
    func planHeartbeat() async throws {
        let server = try await emulator(users: 250) { $0.faults = FaultSettings(latencyMs: 15) }
        defer { Task { await server.stop() } }
        // 250 users, two reads each at no less than 15 ms, one at a time: a plan of 7.5 s or
        // more, still running when the sampling (6 s at most) ends and the lock is taken.
        _ = dir.file("sheet.csv", "UPN,Phone\n" + (1...250).map { "bench\($0)@contoso.com,+1 2127\(String(format: "%06d", $0))\n" }.joined())
        let jobPath = dir.file("job.yaml", """
            sheet:
              path: sheet.csv
            tenant:
              tenantId: 9188040d-6c67-4c5b-b112-36a304b66dad
              clientId: \(EmulatorOptions.defaultClientId)
              clientSecret:
                env: S
              authority: \(server.baseURL)
              graph: \(server.baseURL)/v1.0
            rate:
              concurrency: 1
            store: out/job.sqlite
            outputs: out
            """)
        var runner = JobRunner(job: try JobDefinition.load(path: jobPath), logger: Logger(label: "test"),
                               environment: ["S": EmulatorOptions.defaultClientSecret])
        runner.heartbeatInterval = 0.1
        let planning = Task { try await runner.plan() }
        let other = try JobStore(path: dir.path + "/out/job.sqlite")
        // A refresh shows as the age dropping back: only a heartbeat can do that. (An absolute
        // bound on the age would measure how busy this test process is, not the heartbeat.)
        var ages: [Double] = []
        var refreshes = 0
        let until = Date().addingTimeInterval(6)
        while refreshes < 3 && Date() < until {
            try await Task.sleep(nanoseconds: 50_000_000)
            guard let holder = try await other.lockHolder() else { continue }
            if let last = ages.last, holder.heartbeatAge < last { refreshes += 1 }
            ages.append(holder.heartbeatAge)
        }
        #expect(refreshes >= 3, "heartbeat ages seen during the plan: \(ages)")
        // Another host takes the lock: the plan stops with lockLost and leaves no plan.
        try await other.perform { db in try db.execute("UPDATE lock SET host = 'elsewhere', token = 'theirs'") }
        await #expect { _ = try await planning.value } throws: { ($0 as? PhoneShiftError)?.code == .lockLost }
        #expect(try await other.latestPlan() == nil)
    }

    @Test("The emulator's request log: ?since=next returns exactly what came after")
    func requestLogSince() async throws {
        let server = try await emulator()
        defer { Task { await server.stop() } }
        let transport = CurlTransport()
        defer { transport.shutdown() }
        func log(_ query: String) async throws -> [String: Any] {
            let r = try await transport.send(HTTPRequest(method: "GET", url: server.baseURL + "/_emulator/requests" + query))
            return try JSONSerialization.jsonObject(with: Data(r.body)) as! [String: Any]
        }
        _ = try await transport.send(HTTPRequest(method: "GET", url: server.baseURL + "/v1.0/users/a"))
        let next = try await log("")["next"] as! Int
        _ = try await transport.send(HTTPRequest(method: "GET", url: server.baseURL + "/v1.0/users/b"))
        let after = try await log("?since=\(next)")["requests"] as! [[String: Any]]
        #expect(after.count == 1)
        #expect(after.first?["sequence"] as? Int == next)
    }
}

/// A clock a test moves by hand (monotonic seconds). Its sleeps are real: only the readings
/// are the test's (see `VirtualTime` for sleeps that take no time).
final class ManualClock: TimeSource {
    private let seconds = Locked(1_000.0)
    var now: Double { seconds.withLock { $0 } }
    func advance(_ by: Double) { seconds.withLock { $0 += by } }
    func sleep(seconds: Double) async throws { try await SystemTime().sleep(seconds: seconds) }
}

/// Time in which a sleep returns at once, having moved the clock on by its length: a test
/// sees every wait the code asked for (`waits`) and spends none of them.
final class VirtualTime: TimeSource {
    private let state = Locked((now: 1_000.0, waits: [Double]()))
    var now: Double { state.withLock { $0.now } }
    var waits: [Double] { state.withLock { $0.waits } }
    func advance(_ by: Double) { state.withLock { $0.now += by } }
    func sleep(seconds: Double) async throws {
        try Task.checkCancellation()
        state.withLock {
            $0.waits.append(seconds)
            $0.now += max(0, seconds)
        }
        await Task.yield()
    }
}
