import Foundation
import GraphEmulator
import Testing
@testable import PhoneShift

/// Faults that lose or hide state: Graph losing writes, the store's disk, the store file.
extension EngineTests {
    @Test("Graph loses writes (the emulator restarted mid-apply): verify finds exactly the lost changes, apply writes them again, and verifyAfterApply finds them at once")
    func lostWritesFoundByVerify() async throws {
        let count = 200
        let f = try await EngineFixture(syntheticUsers: count)
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: count)
        _ = f.writeJob(writesPerSecond: 40, concurrency: 4, burst: 2)
        #expect(try await f.phoneshift(["plan", f.jobPath]).status == 0)
        let apply = try f.launch(["apply", f.jobPath])
        #expect(try await f.waitUntil { try await f.successfulWrites().count >= 60 })
        try await f.post("/_emulator/reset")   // a restart: every write so far is gone
        await waitForExit(apply)
        #expect(apply.terminationStatus == 0, "\(f.launchedOutput())")
        func lostUsers() async throws -> [Int] {
            let state = try await f.state()
            return (1...count).filter { state["bench\($0)@contoso.com"]?["mobile"] != EngineFixture.newNumber($0) }
        }
        let lost = try await lostUsers()
        #expect(lost.count >= 60, "\(lost.count) lost")

        let verify = try await f.phoneshift(["verify", f.jobPath])
        #expect(verify.status == ExitStatus.rowsNeedAttention, "\(verify.stdout) \(verify.stderr)")
        #expect(verify.stdout.contains("Verified \(count) changes") && verify.stdout.contains("\(count - lost.count) as applied; \(lost.count) lost"), "\(verify.stdout)")
        let mark = try await f.requests().count
        let again = try await f.phoneshift(["apply", f.jobPath])
        #expect(again.status == 0, "\(again.stdout) \(again.stderr)")
        #expect(again.stdout.contains("Applying plan 1: \(lost.count) rows to go"), "\(again.stdout)")
        let rewritten = try await f.successfulWrites(from: mark)
        let ids = try await f.userIds()
        #expect(Set(rewritten.keys) == Set(lost.map { ids["bench\($0)@contoso.com"]! }) && rewritten.values.allSatisfy { $0 == 1 })
        #expect(try await lostUsers().isEmpty)
        #expect(try await f.phoneshift(["verify", f.jobPath]).status == 0)

        // The job asks for it: apply verifies what it changed and says what Graph lost.
        _ = f.writeSheet(count: count, extra: [])
        try await f.post("/_emulator/reset")
        _ = f.writeJob(writesPerSecond: 40, concurrency: 4, burst: 2, extra: "policy:\n  verifyAfterApply: true")
        #expect(try await f.phoneshift(["plan", f.jobPath]).status == 0)
        let second = try f.launch(["apply", f.jobPath])
        #expect(try await f.waitUntil { try await f.successfulWrites().count >= 40 })
        try await f.post("/_emulator/reset")
        await waitForExit(second)
        #expect(second.terminationStatus == ExitStatus.rowsNeedAttention, "\(f.launchedOutput())")
        #expect(f.launchedOutput().stdout.contains("changes Graph lost (apply again writes them)"), "\(f.launchedOutput())")
        #expect(try await f.phoneshift(["apply", f.jobPath]).status == 0)
        #expect(try await lostUsers().isEmpty)
    }
}
