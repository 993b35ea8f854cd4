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
        try Self.checkTarget(path)
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

    /// An output replaces only a regular file (or nothing): never a device, a pipe, a folder.
    static func checkTarget(_ path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else { return }
        if info.st_mode & S_IFMT != S_IFREG {
            throw PhoneShiftError(.cannotWriteOutput, "'\(path)' is not a regular file (a device, folder or pipe); results go to a file of their own")
        }
    }

    /// Refuses an output that is one of the inputs (the same file, by any name); `what` names
    /// the input in the message.
    public static func checkNotInput(_ output: String, inputs: [String], what: String = "the sheet") throws {
        for input in inputs where sameFile(output, input) {
            throw PhoneShiftError(.cannotWriteOutput, "the output '\(Sanitize.forMessage(output, limit: 200))' is the input '\(Sanitize.forMessage(input, limit: 200))'; writing it would destroy \(what). Choose another file")
        }
    }

    /// Both paths exist and name one file (by any name: links, `..`, another spelling).
    public static func sameFile(_ a: String, _ b: String) -> Bool {
        var x = stat(), y = stat()
        return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino
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

/// Folders and files made owner-only when they are created, not chmod-ed afterwards (a
/// file created under the umask is readable by others until then).
public enum OwnerOnly {
    /// Creates `path` and any missing parents with mode 0700 (less if the umask says so);
    /// folders that exist are left as they are. Throws the reason as text (strerror).
    public static func makeDirectories(_ path: String) throws(OwnerOnlyError) {
        var built = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            built += "/" + part
            if mkdir(built, 0o700) != 0 && errno != EEXIST {
                throw OwnerOnlyError(path: built, reason: String(cString: strerror(errno)), code: errno)
            }
        }
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            throw OwnerOnlyError(path: path, reason: "it exists and is not a folder", code: ENOTDIR)
        }
    }

    /// Creates `path` empty with mode 0600 unless it exists; true when it was created.
    @discardableResult
    public static func createFile(_ path: String) throws(OwnerOnlyError) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd >= 0 {
            close(fd)
            return true
        }
        if errno == EEXIST { return false }
        throw OwnerOnlyError(path: path, reason: String(cString: strerror(errno)), code: errno)
    }
}

public struct OwnerOnlyError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    /// The errno: ENOTDIR when a part of the path is not a folder (a setting to fix, not a
    /// disk that refuses).
    public let code: Int32
    public var notAFolder: Bool { code == ENOTDIR }
    public var description: String { "'\(path)': \(reason)" }
}
