import Foundation

/// The exit codes of every command (`phoneshift --help` and the README list them). Each code
/// means one thing, whichever command ends with it; `ExitStatus.of(_:)` maps every error a
/// command can end with.
///
/// | code | meaning |
/// |------|---------|
/// | 0    | success (with `--detailed-exitcode`: success, and there was nothing to change) |
/// | 1    | done, but some rows need attention (failed, moved, in conflict, unknown, not read) |
/// | 2    | input or settings invalid: usage, job file, sheet, a plan that no longer fits |
/// | 3    | locked by another run (or this run lost its lock) |
/// | 4    | authentication or permission failure |
/// | 5    | stopped by a safety valve: nothing was written |
/// | 6    | with `--detailed-exitcode` only: success, with changes (plan: to make; apply, run: made) |
/// | 7    | the job store could not be written (disk full, read-only, deleted): run again once fixed |
/// | 9    | change control: the plan has no valid approval (policy.requireApproval) |
/// | 10   | the audit trail does not verify (an event was changed, removed or inserted) |
/// | 130  | interrupted (Ctrl-C, SIGTERM, SIGHUP); run the command again to resume |
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
    /// A safety valve of the job tripped (a broken export?): nothing was written.
    public static let safetyValve: Int32 = 5
    /// With `--detailed-exitcode`: success, and there were changes (plan: changes to make;
    /// apply and run: changes made). Without the flag such a success is 0.
    public static let successWithChanges: Int32 = 6
    /// The job store could not be written (disk full, read-only, deleted or replaced mid-run):
    /// nothing more was sent; run the command again once that is fixed, it resumes.
    public static let storeUnwritable: Int32 = 7
    /// Graph, the network or the token endpoint could not be reached, or kept answering
    /// 5xx/429, after the retries: nothing is lost (in-flight rows are re-read next time);
    /// run the command again later. Monitoring retries it, unlike 2 and 4.
    public static let transient: Int32 = 8
    /// Change control: the plan is not approved, approved by the person who made it, or
    /// changed since its approval (`policy.requireApproval`); nothing was written.
    public static let notApproved: Int32 = 9
    /// `audit --verify`: the chain of events is broken (the output names where).
    public static let auditBroken: Int32 = 10
    /// Interrupted (Ctrl-C, SIGTERM, SIGHUP); apply again to resume.
    public static let interrupted: Int32 = 130

    /// The table for `--help` texts.
    public static let table = """
        Exit codes (the same for every command): 0 success (with --detailed-exitcode: nothing to change); \
        1 some rows need attention (failed, moved, in conflict, unknown, not read; see report.csv); \
        2 input or settings invalid (usage, job file, sheet, a plan that no longer fits); \
        3 locked by another run (or the lock was lost); 4 authentication or permission failure; \
        5 stopped by a safety valve, nothing written; \
        6 with --detailed-exitcode: success with changes (plan: to make; apply, run: made); \
        7 the job store could not be written (disk full, read-only, deleted; run again once fixed); \
        8 Graph or the network unreachable or failing for now (nothing lost; run again later); \
        9 the plan needs an approval it does not have (policy.requireApproval; nothing written); \
        10 the audit trail does not verify (audit --verify names the event); \
        130 interrupted (run it again to resume).
        """

    /// The exit code for an error that ended a command.
    public static func of(_ error: Error) -> Int32 {
        switch error {
        case let e as PhoneShiftError where e.code == .locked || e.code == .lockLost: return locked
        case let e as PhoneShiftError where e.code == .permissionMissing: return authentication
        case let e as PhoneShiftError where e.code == .safetyValve: return safetyValve
        case let e as PhoneShiftError where e.code == .storeUnwritable || e.code == .outputsUnwritable: return storeUnwritable
        case let e as PhoneShiftError where e.code == .transient: return transient
        case let e as PhoneShiftError where e.code == .notApproved: return notApproved
        case let e as PhoneShiftError where e.code == .auditBroken: return auditBroken
        case is PhoneShiftError, is SQLiteError: return usage
        case let e as GraphError where e.isTransient: return transient
        case let e as GraphError where e.kind == .authentication: return authentication
        // The network itself (a connection refused, a name not resolved, a timeout): it passes,
        // so run again later (8); a certificate TLS does not trust does not pass by waiting (4).
        case let e as TransportError: return e.isTLSFailure ? authentication : transient
        case is CancellationError: return interrupted
        default: return usage
        }
    }
}
