import Foundation

/// Where issued Temporary Access Passes go: one owner-only CSV per run for the helpdesk
/// (`OUTPUTS/passes/run-N.csv`), appended and synced line by line before the row is marked
/// done. A pass is written nowhere else: not the job store, not a log, not a report.
public final class PassVault: Sendable {
    public let path: String
    private let state = Locked<Int32?>(nil)

    public init(folder: String, run: Int) {
        path = folder + "/passes/run-\(run).csv"
    }

    /// Appends one pass and syncs it to disk. Throws `cannotWriteOutput` when it cannot: the
    /// row is then not marked done (its pass would be lost), and the run stops.
    public func save(user: String, pass: String, validFrom: String, lifetimeMinutes: Int, usableOnce: Bool) throws {
        try state.withLock { fd in
            if fd == nil {
                do { try OwnerOnly.makeDirectories((path as NSString).deletingLastPathComponent) } catch {
                    throw PhoneShiftError(.cannotWriteOutput, "cannot create the passes folder: \(error)")
                }
                let created = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o600)
                let opened = created >= 0 ? created : open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
                guard opened >= 0 else {
                    throw PhoneShiftError(.cannotWriteOutput, "cannot write the passes file '\(path)': \(String(cString: strerror(errno)))")
                }
                fd = opened
                if created >= 0 { try Self.write(opened, CSVFormatting.line(["User principal name", "Temporary Access Pass", "Valid from", "Lifetime (minutes)", "One-time"]), path) }
            }
            try Self.write(fd!, CSVFormatting.line([user, pass, validFrom, String(lifetimeMinutes), usableOnce ? "yes" : "no"]), path)
            guard fsync(fd!) == 0 else {
                throw PhoneShiftError(.cannotWriteOutput, "cannot sync the passes file '\(path)': \(String(cString: strerror(errno)))")
            }
        }
    }

    private static func write(_ fd: Int32, _ text: String, _ path: String) throws {
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            throw PhoneShiftError(.cannotWriteOutput, "cannot write the passes file '\(path)': \(String(cString: strerror(errno)))")
        }
    }

    deinit { state.withLock { if let fd = $0 { close(fd) } } }
}
