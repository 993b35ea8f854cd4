import Foundation

/// Exit codes of plan, apply, demo and status (also listed in `phoneshift --help`). Each
/// code means one thing; `ExitStatus.of(_:)` maps every error a command can end with.
public enum ExitStatus {
    public static let success: Int32 = 0
    /// Some rows failed, moved, are in conflict or still unknown: look at report.csv.
    public static let rowsNeedAttention: Int32 = 1
    /// Usage error, bad job file or setting, unreadable input, a plan that no longer fits.
    public static let usage: Int32 = 2
    /// Another run holds the job's lock, or this run lost it.
    public static let locked: Int32 = 3
    /// Authentication failed (wrong secret, certificate, tenant or app), or the app lacks a
    /// permission the job needs: nothing more was written.
    public static let authentication: Int32 = 4
    /// `plan --detailed-exitcode`: the plan has changes to make.
    public static let planHasChanges: Int32 = 2
    /// Interrupted (Ctrl-C, SIGTERM, SIGHUP); apply again to resume.
    public static let interrupted: Int32 = 130

    /// The exit code for an error that ended a command.
    public static func of(_ error: Error) -> Int32 {
        switch error {
        case let e as PhoneShiftError where e.code == .locked || e.code == .lockLost: return locked
        case let e as PhoneShiftError where e.code == .permissionMissing: return authentication
        case is PhoneShiftError, is SQLiteError: return usage
        case let e as GraphError where e.kind == .authentication: return authentication
        case is CancellationError: return interrupted
        default: return usage
        }
    }
}
