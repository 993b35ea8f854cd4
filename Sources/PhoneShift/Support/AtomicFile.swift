import Foundation

/// Writes a file so that readers see either the old file or the whole new one: bytes go
/// to an owner-only temporary file beside the target, which is synced and renamed over
/// the target on `commit()`. Dropped without `commit()`, the temporary file is removed.
///
/// Not thread-safe: one writer belongs to one thread at a time.
public final class AtomicFileWriter {
    public let path: String
    private let temporaryPath: String
    private var file: UnsafeMutablePointer<FILE>?
    private var buffer: [UInt8] = []
    private let flushThreshold = 64 << 10

    /// Creates the temporary file (mode 0600). Throws `cannotWriteOutput` naming the path.
    public init(path: String) throws {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        temporaryPath = (directory.isEmpty ? "." : directory) + "/.\(name).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0, let file = fdopen(fd, "wb") else {
            let reason = String(cString: strerror(errno))
            throw PhoneShiftError(.cannotWriteOutput, "cannot write '\(path)': \(reason)")
        }
        self.file = file
        buffer.reserveCapacity(flushThreshold * 2)
    }

    deinit {
        if let file {
            fclose(file)
            unlink(temporaryPath)
        }
    }

    public func write(_ text: String) throws {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= flushThreshold { try flush() }
    }

    public func write(bytes: some Sequence<UInt8>) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= flushThreshold { try flush() }
    }

    private func flush() throws {
        guard let file, !buffer.isEmpty else { return }
        let count = buffer.count
        let written = buffer.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        buffer.removeAll(keepingCapacity: true)
        if written != count {
            throw PhoneShiftError(.cannotWriteOutput, "cannot write '\(path)': \(String(cString: strerror(errno)))")
        }
    }

    /// Flushes, syncs and renames the file into place.
    public func commit() throws {
        try flush()
        guard let file else { return }
        let failed = fflush(file) != 0 || fsync(fileno(file)) != 0
        fclose(file)
        self.file = nil
        if failed || rename(temporaryPath, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporaryPath)
            throw PhoneShiftError(.cannotWriteOutput, "cannot write '\(path)': \(reason)")
        }
    }
}

@available(*, unavailable, message: "a file writer belongs to one thread")
extension AtomicFileWriter: Sendable {}
