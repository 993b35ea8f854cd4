import Foundation

/// A file in memory-backed /dev/shm (or the temporary folder) that each fuzz input is
/// written to, for the parts of PhoneShift that read files.
public final class FuzzScratch: @unchecked Sendable {
    // @unchecked: libFuzzer calls its target from one thread.
    public let path: String

    public init(suffix: String) {
        let folder = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        path = folder + "/phoneshift-fuzz-\(getpid())\(suffix)"
    }

    public func write(_ data: UnsafePointer<UInt8>, _ size: Int) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { fatalError("cannot write the fuzz scratch file \(path)") }
        var written = 0
        while written < size {
            let n = Foundation.write(fd, data + written, size - written)
            if n <= 0 { break }
            written += n
        }
        close(fd)
    }
}

/// libFuzzer's entry point for programs that have their own `main` (SwiftPM gives every
/// executable one: `<module>_main`), declared by hand: it is a plain C function.
public typealias FuzzCallback = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: FuzzCallback) -> CInt

/// Runs libFuzzer with the process's arguments and `callback` as the target.
public func runFuzzer(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ callback: FuzzCallback) -> CInt {
    var count = argc
    var vector = argv
    return LLVMFuzzerRunDriver(&count, &vector, callback)
}
