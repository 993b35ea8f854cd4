import Foundation

/// Checks on files PhoneShift reads (sheets, secrets, keys), with messages a person can act
/// on. Paths in messages are sanitised: a file name can hold terminal escape sequences.
public enum InputFile {
    /// What a path names, as far as reading it goes.
    enum Kind { case regular, pipe, directory, device, missing, other }

    static func kind(_ path: String) -> (Kind, stat) {
        var info = stat()
        guard stat(path, &info) == 0 else { return (.missing, info) }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return (.regular, info)
        case S_IFIFO: return (.pipe, info)
        case S_IFDIR: return (.directory, info)
        case S_IFCHR, S_IFBLK: return (.device, info)
        default: return (.other, info)
        }
    }

    /// A path argument whose bytes were not UTF-8 reaches Swift with U+FFFD in their place:
    /// it can name no file, so say so instead of "No such file or directory".
    static func checkName(_ path: String, what: String) throws {
        if path.unicodeScalars.contains("\u{FFFD}") {
            throw PhoneShiftError(.unreadableFile, "the \(what) '\(Sanitize.forMessage(path, limit: 200))' has a name with bytes that are not UTF-8 (shown as �); rename the file, or link it under a plain name (ln -s)")
        }
    }

    /// A sheet: a regular file (plan and apply hash and re-read it), or, for validate, a
    /// pipe (`<(…)`). A device such as /dev/zero would never end.
    public static func checkSheet(_ path: String, allowPipe: Bool) throws {
        try checkName(path, what: "sheet")
        let shown = Sanitize.forMessage(path, limit: 200)
        switch kind(path).0 {
        case .regular: return
        case .pipe where allowPipe: return
        case .missing: throw PhoneShiftError(.unreadableFile, "cannot open the sheet '\(shown)': \(String(cString: strerror(errno)))")
        case .directory: throw PhoneShiftError(.unreadableFile, "'\(shown)' is a directory, not a sheet")
        case .pipe: throw PhoneShiftError(.unreadableFile, "the sheet '\(shown)' is a pipe; plan and apply need a file (they record its SHA-256 and read it again): save it to a file first")
        case .device, .other: throw PhoneShiftError(.unreadableFile, "the sheet '\(shown)' is a device or special file, not a sheet saved to disk")
        }
    }

    /// Folders whose files are the system's: never advised to chmod, never a secret file.
    static let systemFolders = ["/etc/", "/usr/", "/bin/", "/sbin/", "/lib", "/boot/", "/proc/", "/sys/", "/dev/", "/var/lib/dpkg/"]

    /// A secret or key file: a regular file only its owner can read. The chmod advice is
    /// given only for a regular file this user owns (never for /etc/shadow or a device).
    static func checkSecret(_ path: String, what: String, showName: Bool = true) throws -> stat {
        try checkName(path, what: what)
        let shown = showName ? "'\(Sanitize.forMessage(path, limit: 200))'" : "named in the job"
        let (kind, info) = kind(path)
        switch kind {
        case .regular: break
        case .missing: throw PhoneShiftError(.badSetting, "cannot read the \(what) \(shown): \(String(cString: strerror(errno)))")
        default: throw PhoneShiftError(.badSetting, "the \(what) \(shown) is not a regular file (a folder, device or pipe); save it to a file only you can read")
        }
        if systemFolders.contains(where: { path.hasPrefix($0) }) {
            throw PhoneShiftError(.badSetting, "the \(what) \(shown) is a system file, not a secret kept for PhoneShift; save the secret to a file of its own (chmod 600) and name that")
        }
        if info.st_uid != getuid() {
            throw PhoneShiftError(.badSetting, "the \(what) \(shown) belongs to another user (uid \(info.st_uid)); use a copy owned by the account PhoneShift runs as, readable by it alone")
        }
        if info.st_mode & 0o077 != 0 {
            throw PhoneShiftError(.badSetting, "the \(what) \(shown) can be read by others (mode \(String(info.st_mode & 0o777, radix: 8))); run: chmod 600 \(showName ? shown : "on it")")
        }
        return info
    }
}
