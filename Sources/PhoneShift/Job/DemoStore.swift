import Foundation
import Logging

/// The demo's job store: marked when the demo creates it, and deleted by the next demo
/// only when it bears that mark — a demo pointed at a real job's store refuses to touch it.
public enum DemoStore {
    static let markKey = "created_by"
    static let mark = "phoneshift demo"

    /// Deletes the store at `path` if a demo made it; refuses any other store.
    public static func reset(_ path: String) async throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        let existing = try JobStore(path: path)
        guard try await existing.meta(markKey) == mark else {
            throw PhoneShiftError(.badSetting, "'\(path)' is a job store that the demo did not make (it may hold a real job's plans and the before-values rollback needs); the demo will not delete it. Give the demo job a store of its own")
        }
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    /// Creates the demo's store with the demo's mark.
    public static func create(_ path: String) async throws {
        try await JobStore(path: path).setMeta(markKey, mark)
    }

    /// Validates a sheet off the cooperative pool.
    public static func validate(_ sheet: String, options: ValidationOptions, logger: Logger) async throws -> ValidationSummary {
        try await runOnThread { try SheetValidator(options: options, logger: logger).validate(path: sheet) }
    }
}
