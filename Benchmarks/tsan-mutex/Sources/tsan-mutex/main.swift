// Four threads append to one array under a lock, 20,000 times each. The lock is
// `Synchronization.Mutex` or, with the argument `nslock`, a pthread mutex (`NSLock`).
// Both are correct locks; run under ThreadSanitizer, only the Mutex is reported as racing:
// a contended Mutex is handed over inside the kernel (PI futex) where the tool cannot see it.
import Foundation
import Synchronization

final class Guarded: @unchecked Sendable {
    // @unchecked: `values` is only touched while holding `lock`.
    let lock = NSLock()
    var values: [Int] = []
}

let useNSLock = CommandLine.arguments.dropFirst().first == "nslock"
let mutex = Mutex<[Int]>([])
let guarded = Guarded()
let finished = DispatchGroup()

func append(_ i: Int, to values: inout [Int]) {
    values.append(i)
    if values.count > 100 { values.removeAll() }
}

for _ in 0..<4 {
    finished.enter()
    Thread {
        for i in 0..<20_000 {
            if useNSLock {
                guarded.lock.withLock { append(i, to: &guarded.values) }
            } else {
                mutex.withLock { append(i, to: &$0) }
            }
        }
        finished.leave()
    }.start()
}
finished.wait()
print(useNSLock ? "NSLock: done" : "Mutex: done")
