import CCSV
import CCurl
import CPhoneNumber
import CSQLite
import Foundation

/// `phoneshift --version`: PhoneShift's version and those of the C libraries it runs on, for
/// support tickets (a number parsed differently is most often a libphonenumber metadata
/// question).
public enum VersionInfo {
    /// PhoneShift's own version.
    public static let phoneShift = "0.12.0"

    public static var text: String {
        var lines = ["phoneshift \(phoneShift)"]
        lines.append("libphonenumber \(phoneNumber)")
        let curl = String(cString: curl_version()).split(separator: " ", maxSplits: 1).map(String.init)
        lines.append("libcurl \(curl[0].replacingOccurrences(of: "libcurl/", with: ""))" + (curl.count > 1 ? " (\(curl[1]))" : ""))
        lines.append("SQLite \(String(cString: sqlite3_libversion())) (\(String(cString: sqlite3_sourceid()).prefix(19)))")
        let release = phoneshift_csv_version_release()
        lines.append("libcsv \(phoneshift_csv_version_major()).\(phoneshift_csv_version_minor())" + (release >= 0 ? ".\(release)" : "") + " (headers built against)")
        return lines.joined(separator: "\n")
    }

    /// The loaded libphonenumber: its version from the shared library's file name (and from
    /// the Debian package when there is one), and the date of the library file — the
    /// metadata is compiled into it, so that is the newest the metadata can be.
    static var phoneNumber: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        guard ps_phone_library_path(&buffer, Int32(buffer.count)) == 1 else { return "(linked statically; version unknown)" }
        let path = String(cString: buffer)
        let real = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)).map { link in
            link.hasPrefix("/") ? link : (path as NSString).deletingLastPathComponent + "/" + link
        } ?? path
        let resolved = URL(fileURLWithPath: real).resolvingSymlinksInPath().path
        let file = (resolved as NSString).lastPathComponent
        var version = file.range(of: ".so.").map { String(file[$0.upperBound...]) } ?? "?"
        if let package = debianPackageVersion("libphonenumber" + (version.split(separator: ".").first.map(String.init) ?? "")) {
            version = package
        }
        var built = "date unknown"
        if let attributes = try? FileManager.default.attributesOfItem(atPath: resolved), let date = attributes[.modificationDate] as? Date {
            built = String(JobStore.timestamp(date).prefix(10))
        }
        return "\(version) (\(resolved); metadata compiled in, library built \(built))"
    }

    /// The version of an installed Debian package, from dpkg's status file.
    static func debianPackageVersion(_ package: String) -> String? {
        guard let status = try? String(contentsOfFile: "/var/lib/dpkg/status", encoding: .utf8) else { return nil }
        for stanza in status.components(separatedBy: "\n\n") where stanza.hasPrefix("Package: \(package)\n") {
            for line in stanza.split(separator: "\n") where line.hasPrefix("Version: ") {
                return String(line.dropFirst("Version: ".count))
            }
        }
        return nil
    }
}
