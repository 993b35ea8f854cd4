import Foundation

/// A FIFO with a capacity, for handing work between threads: `push` waits while full,
/// `pop` waits while empty and returns nil once the queue is closed and drained.
final class BoundedQueue<Element: Sendable>: @unchecked Sendable {
    // @unchecked: every access to `items` and `closed` holds `condition`.
    private let condition = NSCondition()
    private var items: [Element] = []
    private var closed = false
    private let capacity: Int

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Adds an element; returns false (dropping it) when the queue was closed.
    @discardableResult
    func push(_ element: Element) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= capacity && !closed { condition.wait() }
        guard !closed else { return false }
        items.append(element)
        condition.broadcast()
        return true
    }

    func pop() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !closed { condition.wait() }
        guard !items.isEmpty else { return nil }
        let first = items.removeFirst()
        condition.broadcast()
        return first
    }

    /// No more pushes; waiting poppers drain what is left, then get nil.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}

/// Collects results that finish out of order and hands them out in sequence order.
/// At most `capacity` results wait; a producer holding the next one in order never waits,
/// so the pipeline cannot deadlock.
final class InOrderCollector<Element: Sendable>: @unchecked Sendable {
    // @unchecked: every access to the mutable state holds `condition`.
    private let condition = NSCondition()
    private var pending: [Int: Element] = [:]
    private var next = 0
    private var producersLeft: Int
    private var cancelled = false
    private let capacity: Int

    init(producers: Int, capacity: Int) {
        producersLeft = producers
        self.capacity = max(1, capacity)
    }

    func put(_ sequence: Int, _ element: Element) {
        condition.lock()
        defer { condition.unlock() }
        while pending.count >= capacity && sequence != next && !cancelled { condition.wait() }
        if cancelled { return }
        pending[sequence] = element
        condition.broadcast()
    }

    /// A producer is finished.
    func producerDone() {
        condition.lock()
        producersLeft -= 1
        condition.broadcast()
        condition.unlock()
    }

    /// The consumer gives up (after an error): producers stop waiting.
    func cancel() {
        condition.lock()
        cancelled = true
        pending.removeAll()
        condition.broadcast()
        condition.unlock()
    }

    /// The next element in order, or nil when every producer is done and nothing is left.
    func take() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while pending[next] == nil && producersLeft > 0 && !cancelled { condition.wait() }
        guard let element = pending.removeValue(forKey: next) else { return nil }
        next += 1
        condition.broadcast()
        return element
    }
}

/// A value behind a pthread mutex (`NSLock`): the one lock box of the client (the first
/// error of a worker, the write that stops a run, the signals counted by the command line).
///
/// Not `Synchronization.Mutex`: on Linux a contended `Mutex` is handed over inside the kernel
/// (PI futex), with no user-space atomic ThreadSanitizer could see, so it reports every
/// contended hand-over as a data race. (The emulator has its own, `LockedState`: it shares no
/// code with the client it checks.)
public final class Locked<Value>: @unchecked Sendable {
    // @unchecked: `value` is only touched inside `withLock`.
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

extension Locked {
    /// Keeps `offered` unless a value is there already (the first offer wins).
    func offer<Wrapped>(_ offered: Wrapped) where Value == Wrapped? {
        withLock { if $0 == nil { $0 = offered } }
    }

    /// The value now.
    var current: Value { withLock { $0 } }
}
