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

/// The first value any thread offers (the first error of a worker, the write that stops a
/// run); later offers are dropped.
///
/// Behind a pthread mutex (`NSLock`), as every lock here, not `Synchronization.Mutex`: on
/// Linux a contended `Mutex` is handed over inside the kernel (PI futex), with no user-space
/// atomic ThreadSanitizer could see, so it reports every contended hand-over as a data race.
final class FirstValue<Value>: @unchecked Sendable {
    // @unchecked: `stored` is only touched while holding `lock`.
    private let lock = NSLock()
    private var stored: Value?

    func offer(_ value: Value) { lock.withLock { if stored == nil { stored = value } } }
    var value: Value? { lock.withLock { stored } }
}
