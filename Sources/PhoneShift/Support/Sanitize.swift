import Crypto
import Foundation

/// Making text from a sheet or the directory safe to show.
public enum Sanitize {
    /// For error messages and terminal output: control characters (CR, LF, ESC…) become
    /// `?` so that a cell cannot forge log lines or drive the terminal, and long text is cut.
    public static func forMessage(_ text: String, limit: Int = 60) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if out.unicodeScalars.count >= limit { out += "…"; break }
            if scalar.properties.generalCategory == .control || scalar == "\u{2028}" || scalar == "\u{2029}"
                || (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value) {
                out.unicodeScalars.append("?")
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

/// Masking of phone numbers, which are personal data, for logs, screens, reports and drafts.
/// A masked number never shows more than the last four digits of its national number.
public enum PhoneMask {
    /// The secret that keys the fingerprints of `maskPair`: 32 random bytes kept in the job
    /// store (`meta.mask_key`), so a fingerprint in a report cannot be matched against a list
    /// of candidate numbers by someone who has only the report.
    public struct Key: Sendable {
        let key: SymmetricKey
        /// A key from its stored hex form; nil when it is not 64 hex digits.
        public init?(hex: String) {
            guard hex.count == 64, let bytes = Self.bytes(hex) else { return nil }
            key = SymmetricKey(data: bytes)
        }
        init(key: SymmetricKey) { self.key = key }
        /// A new random key (for a store that has none yet, or an output made without a store).
        public static func random() -> Key { Key(key: SymmetricKey(size: .bits256)) }
        /// The form kept in the store.
        public var hex: String { key.withUnsafeBytes { $0.lowercaseHex } }
        static func bytes(_ hex: String) -> [UInt8]? {
            var out: [UInt8] = []
            var it = hex.utf8.makeIterator()
            while let hi = it.next() {
                guard let lo = it.next(), let h = nibble(hi), let l = nibble(lo) else { return nil }
                out.append(h << 4 | l)
            }
            return out
        }
        static func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            case 65...70: c - 55
            default: nil
            }
        }
    }

    /// `+1 2065550123` → `+1 ******0123`; an extension is dropped. Anything that is not in
    /// Graph's form is masked whole except its last two characters.
    public static func mask(_ graphForm: String) -> String {
        let withoutExtension = graphForm.split(separator: "x", maxSplits: 1).first.map(String.init) ?? graphForm
        let parts = withoutExtension.split(separator: " ", maxSplits: 1)
        if parts.count == 2, parts[0].hasPrefix("+") {
            let nsn = parts[1]
            let keep = min(nsn.count, nsn.count > 6 ? 4 : max(0, nsn.count - 3))
            return "\(parts[0]) " + String(repeating: "*", count: nsn.count - keep) + nsn.suffix(keep)
        }
        let keep = min(2, max(0, graphForm.count - 4))
        return String(repeating: "*", count: max(0, graphForm.count - keep)) + graphForm.suffix(keep)
    }

    /// Masks two numbers shown side by side (a change). Each shows at most its last four
    /// national digits. Where the two would look alike (`+1 206 555 0100 → +1 425 555 0100`),
    /// each gets a short fingerprint of the whole number, keyed with `key`:
    /// `+1 ******0100 #3fa2 → +1 ******0100 #91c7`. Equal fingerprints mean equal numbers;
    /// the fingerprint reveals no digit. Where only the extension differs, the extensions show.
    public static func maskPair(_ a: String?, _ b: String?, key: Key) -> (String?, String?) {
        guard let a, let b else { return (a.map { mask($0) }, b.map { mask($0) }) }
        func split(_ n: String) -> (String, String?) {
            let parts = n.split(separator: "x", maxSplits: 1).map(String.init)
            return (parts.first ?? n, parts.count > 1 ? parts[1] : nil)
        }
        let (baseA, extA) = split(a), (baseB, extB) = split(b)
        let maskedA = mask(a), maskedB = mask(b)
        if baseA == baseB {
            // The same number; only the extension differs: show the extensions, not more digits.
            return (maskedA + (extA.map { "x" + $0 } ?? ""), maskedB + (extB.map { "x" + $0 } ?? ""))
        }
        guard maskedA == maskedB else { return (maskedA, maskedB) }
        // Four hex digits tell two different numbers apart but for 1 in 65,536; then eight.
        let fingerprintA = fingerprint(baseA, key: key), fingerprintB = fingerprint(baseB, key: key)
        var length = 4
        while fingerprintA.prefix(length) == fingerprintB.prefix(length) && length < 16 { length *= 2 }
        return (maskedA + " #" + fingerprintA.prefix(length), maskedB + " #" + fingerprintB.prefix(length))
    }

    /// HMAC-SHA256 of the number (digits only, so `+1 2065550100` and `+12065550100` agree),
    /// as hex; a mask shows its first 4 (or 8, 16) digits.
    static func fingerprint(_ number: String, key: Key) -> String {
        let digits = number.filter(\.isNumber)
        return HMAC<Crypto.SHA256>.authenticationCode(for: Data(digits.utf8), using: key.key).lowercaseHex
    }
}
