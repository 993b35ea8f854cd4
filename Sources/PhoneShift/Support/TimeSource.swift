import Foundation

/// Time as PhoneShift's waits see it: a monotonic reading in seconds, and sleeping. A run uses
/// the system's (`SystemTime`); tests pass their own, so that backoffs, Retry-After pauses,
/// token renewal and verify's re-read waits are checked without waiting them out.
///
/// The loops that only keep something alive or on screen (the lock's heartbeat, the progress
/// line) keep the system's time: a clock that returns at once would make them spin.
public protocol TimeSource: Sendable {
    /// Monotonic seconds (only differences mean something).
    var now: Double { get }
    /// Waits `seconds` (nothing for 0 or less). Cancellation throws `CancellationError`.
    func sleep(seconds: Double) async throws
}

/// The machine's monotonic clock and real sleeps.
public struct SystemTime: TimeSource {
    public init() {}

    public var now: Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    public func sleep(seconds: Double) async throws {
        guard seconds > 0 else { return try Task.checkCancellation() }
        try await Task.sleep(nanoseconds: UInt64(min(seconds, 86_400) * 1e9))
    }
}
