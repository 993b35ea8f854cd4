import Foundation

/// The outputs folder: made owner-only and proved writable before anything is changed.
public enum ResultsWriter {
    /// Creates the outputs folder (owner-only) and proves a file can be written there, so
    /// that a folder that cannot take the results is found before the first row is touched.
    public static func prepareOutputs(_ folder: String) throws {
        do {
            try OwnerOnly.makeDirectories(folder)
        } catch {
            throw PhoneShiftError(.cannotWriteOutput, "cannot create the outputs folder '\(folder)': \(error.reason)")
        }
        let probe = folder + "/.phoneshift-write-check.\(getpid())"
        let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw PhoneShiftError(.cannotWriteOutput, "cannot write in the outputs folder '\(folder)': \(String(cString: strerror(errno))); fix it (or set outputs: in the job) before anything is changed")
        }
        close(fd)
        unlink(probe)
    }
}
