import CPhoneNumber

/// Skips libphonenumber's text parser (about half of the cost of a number) for input whose
/// country code and national number can be read off without judgement, and asks the library
/// only for length, validity and type.
///
/// It answers only when the result is certainly what the full parser would give: plain digits
/// and separators (no letters, so no extension), a country whose national prefix for parsing
/// is a single plain prefix (so nothing else could be stripped), and a number the library
/// calls possible and valid. Anything else returns nil and goes the full way, which also
/// gives the precise reasons for refusals. A test compares both paths on the same numbers.
enum FastPath {
    /// Regions whose national prefix for parsing is exactly their national prefix, with
    /// their calling code and international prefix.
    static let simpleRegions: [String: (code: Int, nationalPrefix: UInt8, internationalPrefix: String)] = [
        "US": (1, UInt8(ascii: "1"), "011"), "CA": (1, UInt8(ascii: "1"), "011"),
        "GB": (44, UInt8(ascii: "0"), "00"), "DE": (49, UInt8(ascii: "0"), "00"),
        "FR": (33, UInt8(ascii: "0"), "00"), "NL": (31, UInt8(ascii: "0"), "00"),
        "SE": (46, UInt8(ascii: "0"), "00"), "IN": (91, UInt8(ascii: "0"), "00"),
        "CH": (41, UInt8(ascii: "0"), "00"), "IE": (353, UInt8(ascii: "0"), "00"),
    ]
    /// Calling code → national prefix, for the same countries.
    static let simpleCodes: [Int: UInt8] = {
        var map: [Int: UInt8] = [:]
        for (_, entry) in simpleRegions { map[entry.code] = entry.nationalPrefix }
        return map
    }()

    static func check(_ text: String, region: String?) -> ps_phone_info? {
        // Digits, a leading '+', and separators only.
        var digits: [UInt8] = []
        digits.reserveCapacity(20)
        var plus = false
        for (i, byte) in text.utf8.enumerated() {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digits.append(byte)
            case UInt8(ascii: "+") where i == 0: plus = true
            case UInt8(ascii: " "), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "/"): continue
            default: return nil
            }
        }
        guard digits.count >= 4, digits.count <= 17 else { return nil }

        let code: Int
        var nsn: ArraySlice<UInt8>
        if plus {
            // No calling code starts with 0 ("+049…" is not +49: libphonenumber refuses it).
            // Found by fuzzing: Int("049") is 49.
            if digits.first == UInt8(ascii: "0") { return nil }
            // Calling codes are prefix-free: the first 1–3 digits that form one are it.
            guard let found = (1...3).lazy.compactMap({ n -> (Int, Int)? in
                let value = Int(String(decoding: digits.prefix(n), as: UTF8.self))!
                return simpleCodes[value] != nil ? (value, n) : nil
            }).first else { return nil }
            code = found.0
            nsn = digits.dropFirst(found.1)
            if nsn.first == simpleCodes[code] { return nil }
        } else {
            guard let region, let entry = simpleRegions[region] else { return nil }
            if digits.starts(with: entry.internationalPrefix.utf8) { return nil }
            code = entry.code
            nsn = digits[...]
            if nsn.first == entry.nationalPrefix { nsn = nsn.dropFirst() }
            if nsn.first == UInt8(ascii: "0") || nsn.first == entry.nationalPrefix { return nil }
        }
        guard !nsn.isEmpty else { return nil }
        var info = ps_phone_info()
        let status = (String(decoding: nsn, as: UTF8.self)).withCString { ps_phone_check(Int32(code), $0, &info) }
        guard status == Int32(PS_PHONE_PARSED.rawValue), info.valid == 1,
              info.possibility == Int32(PS_PHONE_IS_POSSIBLE.rawValue) else { return nil }
        return info
    }
}
