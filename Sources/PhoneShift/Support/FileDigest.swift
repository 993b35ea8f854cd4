import Crypto
import Foundation

extension Sequence<UInt8> {
    /// The bytes as lowercase hex, two digits each. (A table, not `String(format:)`: reports
    /// fingerprint every changed row, and formatting each byte was most of apply's CPU time.)
    var lowercaseHex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// SHA-256 of a whole file (swift-crypto), for the sheet fingerprint that ties a plan to its sheet.
public enum FileDigest {
    /// The digest of `text`'s UTF-8 bytes as lowercase hex.
    public static func hex(of bytes: some DataProtocol) -> String {
        Crypto.SHA256.hash(data: bytes).lowercaseHex
    }

    /// The digest of a whole file, read in 64 KiB chunks. Throws `unreadableFile`.
    public static func sha256Hex(ofFile path: String) throws -> String {
        guard let file = fopen(path, "rb") else {
            throw PhoneShiftError(.unreadableFile, "cannot open '\(Sanitize.forMessage(path, limit: 200))': \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var hasher = Crypto.SHA256()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n > 0 { chunk.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) } }
            if n < chunk.count { break }
        }
        return hasher.finalize().lowercaseHex
    }
}
