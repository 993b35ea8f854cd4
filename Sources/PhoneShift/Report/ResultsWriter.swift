import Foundation

/// `results.csv`: one row per sheet row (plan, outcome, error, request ids), written
/// atomically and owner-only. Numbers are masked unless the job asks for full numbers.
public enum ResultsWriter {
    public static let columns = ["line", "user", "user_id", "phone_type", "before", "after", "action", "state",
                                 "outcome", "attempts", "error_code", "error_message", "request_id",
                                 "client_request_id", "reason", "updated", "sms_sign_in"]

    /// Creates the outputs folder (owner-only) and proves a file can be written there, so
    /// that a folder that cannot take the results is found before the first row is touched.
    public static func prepareOutputs(_ folder: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw PhoneShiftError(.cannotWriteOutput, "cannot create the outputs folder '\(folder)': \((error as NSError).localizedDescription)")
        }
        let probe = folder + "/.phoneshift-write-check.\(getpid())"
        let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw PhoneShiftError(.cannotWriteOutput, "cannot write in the outputs folder '\(folder)': \(String(cString: strerror(errno))); fix it (or set outputs: in the job) before anything is changed")
        }
        close(fd)
        unlink(probe)
    }

    /// Writes `folder/results.csv` for `plan`, streaming the rows on the store's queue.
    public static func write(store: JobStore, plan: Int, folder: String, fullNumbers: Bool) async throws -> String {
        try prepareOutputs(folder)
        let path = folder + "/results.csv"
        try await store.withRows(plan: plan) { next in
            let writer = try AtomicFileWriter(path: path)
            try writer.write(CSVFormatting.line(columns))
            var line: [UInt8] = []
            while let r = try next() {
                func number(_ n: String?) -> String { n.map { fullNumbers ? $0 : PhoneMask.mask($0) } ?? "" }
                line.removeAll(keepingCapacity: true)
                CSVFormatting.append([String(r.line), r.user, r.userId ?? "", r.phoneType.rawValue, number(r.before), number(r.target),
                                      r.action.rawValue, r.state.rawValue, r.outcome ?? "", String(r.attempts), r.errorCode ?? "",
                                      r.errorMessage ?? "", r.requestId ?? "", r.clientRequestId ?? "", r.reason, r.updated ?? "",
                                      r.smsSignIn ?? ""], to: &line)
                try writer.write(bytes: line)
            }
            try writer.commit()
        }
        return path
    }
}
