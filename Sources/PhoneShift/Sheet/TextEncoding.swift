/// The character encodings a sheet may come in.
///
/// UTF-8 (with or without BOM) and UTF-16 with a BOM are detected; Windows-1252 (what Excel
/// writes as "CSV" on many Western European Windows machines) has no signature and must
/// be asked for explicitly.
public enum TextEncoding: String, Sendable, CaseIterable {
    case utf8 = "utf-8"
    case utf16LittleEndian = "utf-16le"
    case utf16BigEndian = "utf-16be"
    case windows1252 = "windows-1252"

    /// Parses a user-supplied name such as `UTF-8`, `utf8`, `cp1252` or `latin1`.
    /// Returns nil for a name it does not know.
    public init?(name: String) {
        let key = name.lowercased().filter { $0.isLetter || $0.isNumber }
        switch key {
        case "utf8": self = .utf8
        case "utf16le", "utf16": self = .utf16LittleEndian
        case "utf16be": self = .utf16BigEndian
        case "windows1252", "cp1252", "latin1", "iso88591", "ansi": self = .windows1252
        default: return nil
        }
    }

    /// The byte-order mark a file in this encoding starts with when PhoneShift writes one:
    /// UTF-16 needs it to be recognised; UTF-8 and Windows-1252 are written without.
    var byteOrderMark: [UInt8] {
        switch self {
        case .utf16LittleEndian: [0xFF, 0xFE]
        case .utf16BigEndian: [0xFE, 0xFF]
        case .utf8, .windows1252: []
        }
    }

    /// UTF-8 text in this encoding, for writing a file the way its input came (failures.csv
    /// in the sheet's encoding). A character Windows-1252 cannot hold becomes `?` (a sheet
    /// read as Windows-1252 never has one).
    func encode(_ utf8: [UInt8], into out: inout [UInt8]) {
        switch self {
        case .utf8:
            out.append(contentsOf: utf8)
        case .utf16LittleEndian, .utf16BigEndian:
            for unit in String(decoding: utf8, as: UTF8.self).utf16 {
                let (high, low) = (UInt8(unit >> 8), UInt8(unit & 0xFF))
                if self == .utf16LittleEndian { out.append(low); out.append(high) } else { out.append(high); out.append(low) }
            }
        case .windows1252:
            for scalar in String(decoding: utf8, as: UTF8.self).unicodeScalars {
                out.append(Self.windows1252Byte(scalar) ?? UInt8(ascii: "?"))
            }
        }
    }

    /// The Windows-1252 byte of a character, nil when it has none.
    static func windows1252Byte(_ scalar: Unicode.Scalar) -> UInt8? {
        switch scalar.value {
        case 0..<0x80, 0xA0...0xFF: return UInt8(scalar.value)
        default:
            guard let index = UTF8Transcoder.cp1252High.firstIndex(of: scalar.value), scalar.value != 0 else { return nil }
            return UInt8(0x80 + index)
        }
    }

    /// Looks at the first bytes of a file: returns the encoding a byte-order mark names
    /// and the length of that mark, or nil when there is none.
    static func sniff(_ prefix: some Collection<UInt8>) -> (TextEncoding, bomLength: Int)? {
        let b = Array(prefix.prefix(4))
        if b.count >= 3, b[0] == 0xEF, b[1] == 0xBB, b[2] == 0xBF { return (.utf8, 3) }
        if b.count >= 2, b[0] == 0xFF, b[1] == 0xFE { return (.utf16LittleEndian, 2) }
        if b.count >= 2, b[0] == 0xFE, b[1] == 0xFF { return (.utf16BigEndian, 2) }
        // UTF-16 without a BOM: ASCII text shows as every other byte zero.
        if b.count == 4, b[0] != 0, b[1] == 0, b[2] != 0, b[3] == 0 { return (.utf16LittleEndian, 0) }
        if b.count == 4, b[0] == 0, b[1] != 0, b[2] == 0, b[3] != 0 { return (.utf16BigEndian, 0) }
        return nil
    }
}

/// Turns a stream of bytes in some encoding into UTF-8, chunk by chunk.
///
/// Units that are not valid in the source encoding become the byte 0xFF, which is never
/// valid UTF-8: the reader then reports the line that holds it, instead of guessing.
struct UTF8Transcoder {
    let encoding: TextEncoding
    private var carry: [UInt8] = []          // an odd trailing byte of UTF-16
    private var pendingHighSurrogate: UInt16?

    init(encoding: TextEncoding) { self.encoding = encoding }

    /// Converts one chunk; state that spans chunks (split code units, surrogate pairs) is kept.
    mutating func transcode(_ chunk: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        switch encoding {
        case .utf8:
            out.append(contentsOf: chunk)
        case .windows1252:
            out.reserveCapacity(out.count + chunk.count)
            for byte in chunk {
                if byte < 0x80 {
                    out.append(byte)
                } else if let scalar = Self.windows1252Scalar(byte) {
                    Self.appendUTF8(scalar, to: &out)
                } else {
                    out.append(0xFF)
                }
            }
        case .utf16LittleEndian, .utf16BigEndian:
            var bytes = carry
            bytes.append(contentsOf: chunk)
            let pairs = bytes.count / 2
            out.reserveCapacity(out.count + bytes.count)
            for i in 0..<pairs {
                let a = UInt16(bytes[2 * i]), b = UInt16(bytes[2 * i + 1])
                let unit = encoding == .utf16LittleEndian ? (b << 8 | a) : (a << 8 | b)
                appendUnit(unit, to: &out)
            }
            carry = bytes.count % 2 == 1 ? [bytes[bytes.count - 1]] : []
        }
    }

    /// Flushes what is left at end of input (a dangling half unit or surrogate is invalid).
    mutating func finish(into out: inout [UInt8]) {
        if !carry.isEmpty || pendingHighSurrogate != nil { out.append(0xFF) }
        carry = []
        pendingHighSurrogate = nil
    }

    private mutating func appendUnit(_ unit: UInt16, to out: inout [UInt8]) {
        if let high = pendingHighSurrogate {
            pendingHighSurrogate = nil
            if (0xDC00...0xDFFF).contains(unit) {
                let value = 0x10000 + ((UInt32(high) - 0xD800) << 10) + (UInt32(unit) - 0xDC00)
                Self.appendUTF8(value, to: &out)
                return
            }
            out.append(0xFF)
        }
        switch unit {
        case 0xD800...0xDBFF: pendingHighSurrogate = unit
        case 0xDC00...0xDFFF: out.append(0xFF)
        default: Self.appendUTF8(UInt32(unit), to: &out)
        }
    }

    static func appendUTF8(_ value: UInt32, to out: inout [UInt8]) {
        switch value {
        case 0..<0x80:
            out.append(UInt8(value))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | (value >> 6)))
            out.append(UInt8(0x80 | (value & 0x3F)))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | (value >> 12)))
            out.append(UInt8(0x80 | ((value >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (value & 0x3F)))
        default:
            out.append(UInt8(0xF0 | (value >> 18)))
            out.append(UInt8(0x80 | ((value >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((value >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (value & 0x3F)))
        }
    }

    /// Windows-1252's 0x80–0x9F block; the rest of 0xA0–0xFF equals Latin-1.
    /// Bytes 0x81, 0x8D, 0x8F, 0x90 and 0x9D are unassigned.
    static func windows1252Scalar(_ byte: UInt8) -> UInt32? {
        if byte >= 0xA0 { return UInt32(byte) }
        let scalar = cp1252High[Int(byte) - 0x80]
        return scalar == 0 ? nil : scalar
    }

    static let cp1252High: [UInt32] = [
        0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
        0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
        0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
        0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
    ]
}
