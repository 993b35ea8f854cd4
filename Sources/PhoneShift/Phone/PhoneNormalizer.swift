import CPhoneNumber
import Foundation

/// A phone number in the form Graph stores: `+{country code} {national number}` with
/// `x{extension}` when there is one.
public struct NormalizedPhone: Sendable, Equatable, Hashable {
    public var countryCode: Int
    public var nationalNumber: String
    public var extensionDigits: String?
    public var kind: NumberKind

    /// ISO region the number belongs to ("ZZ" when unknown or not valid). Looked up on
    /// demand: it costs as much as a parse, and validation does not need it.
    public var region: String {
        RegionResolver.regionCode { _ = ps_phone_region_of(Int32(countryCode), nationalNumber, $0, $1) }
    }

    public var graphForm: String {
        "+\(countryCode) \(nationalNumber)" + (extensionDigits.map { "x\($0)" } ?? "")
    }
    /// For logs and screens: `+1 ******0123`.
    public var masked: String { PhoneMask.mask(graphForm) }
}

/// What kind of line a number is, per libphonenumber's metadata.
public enum NumberKind: String, Sendable {
    case fixedLine = "fixed-line", mobile, fixedLineOrMobile = "fixed-line-or-mobile"
    case tollFree = "toll-free", premiumRate = "premium-rate", sharedCost = "shared-cost"
    case voip = "voip", personal = "personal-number", pager, uan, voicemail, unknown

    init(_ raw: Int32) {
        switch raw {
        case Int32(PS_PHONE_FIXED_LINE.rawValue): self = .fixedLine
        case Int32(PS_PHONE_MOBILE.rawValue): self = .mobile
        case Int32(PS_PHONE_FIXED_LINE_OR_MOBILE.rawValue): self = .fixedLineOrMobile
        case Int32(PS_PHONE_TOLL_FREE.rawValue): self = .tollFree
        case Int32(PS_PHONE_PREMIUM_RATE.rawValue): self = .premiumRate
        case Int32(PS_PHONE_SHARED_COST.rawValue): self = .sharedCost
        case Int32(PS_PHONE_VOIP.rawValue): self = .voip
        case Int32(PS_PHONE_PERSONAL_NUMBER.rawValue): self = .personal
        case Int32(PS_PHONE_PAGER.rawValue): self = .pager
        case Int32(PS_PHONE_UAN.rawValue): self = .uan
        case Int32(PS_PHONE_VOICEMAIL.rawValue): self = .voicemail
        default: self = .unknown
        }
    }
}

/// Why a number was refused or flagged. `code` is stable (reports count by it);
/// `message` is for people and never contains the number itself.
public struct PhoneFinding: Sendable, Equatable {
    public enum Code: String, Sendable, CaseIterable {
        case emptyPhone = "empty-phone"
        case placeholder
        case formula
        case scientificNotation = "scientific-notation"
        case notANumber = "not-a-number"
        case noCountry = "no-country"
        case unknownRegion = "unknown-region"
        case invalidCountryCode = "invalid-country-code"
        case tooShort = "too-short"
        case tooLong = "too-long"
        case localOnly = "local-only"
        case notInNumberingPlan = "not-in-numbering-plan"
        case premiumRate = "premium-rate"
        case wrongTypeForSlot = "wrong-type-for-slot"
        case voiceOnlyForSlot = "voice-only-in-sms-slot"
        case unusualType = "unusual-number-type"
        case extensionInSMSSlot = "extension-in-sms-slot"
    }
    public enum Severity: Sendable { case warning, error }

    public var code: Code
    public var severity: Severity
    public var message: String
}

/// The normalizer's verdict on one cell.
public struct PhoneVerdict: Sendable, Equatable {
    /// Nil when the number could not be used at all.
    public var phone: NormalizedPhone?
    public var findings: [PhoneFinding]

    public var isUsable: Bool { phone != nil && !findings.contains { $0.severity == .error } }
    public var hasWarnings: Bool { findings.contains { $0.severity == .warning } }
}

/// Turns what people type into sheets into Graph's phone format, with libphonenumber.
///
/// Copes with punctuation, `(0)` trunk digits in international form, `00`/`011` prefixes,
/// `tel:` URIs, a leading apostrophe, non-breaking and zero-width spaces, full-width digits
/// and extensions (`x`, `ext.`, `#`). Refuses, with a reason, Excel's scientific notation,
/// locally-dialable-only numbers, placeholders, formulas and premium-rate numbers, and
/// checks that the number's type can serve the slot. Thread-safe: a value type over a
/// thread-safe C library.
public struct PhoneNormalizer: Sendable {
    public var phoneType: PhoneType
    /// Under `strict`, a number outside the library's (2022) numbering-plan data is an error.
    public var strict: Bool
    /// Reads plain numbers of a few countries without the full text parser (same answers;
    /// see `FastPath`). Off only to compare both paths.
    public var fastPath: Bool

    public init(phoneType: PhoneType = .mobile, strict: Bool = false, fastPath: Bool = true) {
        self.phoneType = phoneType
        self.strict = strict
        self.fastPath = fastPath
    }

    /// Normalises `text` using `region` (ISO alpha-2) for numbers without a country code.
    public func normalize(_ text: String, region: String?) -> PhoneVerdict {
        var cleaned = Self.clean(text)
        if cleaned.isEmpty {
            // A blank is "no change", not "remove": HR exports leave cells blank for people
            // without a company phone. It is a warning so that a migration sheet shows it.
            return PhoneVerdict(phone: nil, findings: [PhoneFinding(code: .emptyPhone, severity: .warning,
                message: "no phone number given; the row is skipped (a blank cell never removes a number)")])
        }
        if cleaned.hasPrefix("'") { cleaned.removeFirst() }
        if let refusal = Self.precheck(cleaned) { return refusal }
        cleaned = Self.rewrite(cleaned)
        if cleaned.count > 80 { return .refused(.notANumber, "too long to be a phone number") }

        if fastPath, let info = FastPath.check(cleaned, region: region) {
            return judge(info, hadCountryCode: true, region: region)
        }
        var info = parse(cleaned, region: region)
        // `00` / `011` international prefixes, when the row's region dials abroad differently.
        if info.status != Int32(PS_PHONE_PARSED.rawValue) || info.valid == 0 {
            for prefix in ["00", "011"] where cleaned.hasPrefix(prefix) && !cleaned.hasPrefix("000") {
                let retry = parse("+" + cleaned.dropFirst(prefix.count), region: region)
                if retry.status == Int32(PS_PHONE_PARSED.rawValue), retry.valid != 0 { info = retry; break }
            }
        }
        return judge(info, hadCountryCode: cleaned.hasPrefix("+"), region: region)
    }

    private func parse(_ text: String, region: String?) -> ps_phone_info {
        var info = ps_phone_info()
        _ = text.withCString { cText in
            (region ?? "").withCString { cRegion in ps_phone_parse(cText, cRegion, &info) }
        }
        return info
    }

    private func judge(_ info: ps_phone_info, hadCountryCode: Bool, region: String?) -> PhoneVerdict {
        switch info.status {
        case Int32(PS_PHONE_PARSED.rawValue): break
        case Int32(PS_PHONE_INVALID_COUNTRY_CODE.rawValue):
            if !hadCountryCode && region == nil {
                return .refused(.noCountry, "no country code (+CC) and no country for this row; add a Country column or use --region")
            }
            return .refused(.invalidCountryCode, "the country code is not one that exists")
        case Int32(PS_PHONE_TOO_SHORT_AFTER_IDD.rawValue), Int32(PS_PHONE_TOO_SHORT_NSN.rawValue):
            return .refused(.tooShort, "too few digits to be a phone number")
        case Int32(PS_PHONE_TOO_LONG_NSN.rawValue):
            return .refused(.tooLong, "too many digits to be a phone number")
        case Int32(PS_PHONE_NOT_A_NUMBER.rawValue):
            return .refused(.notANumber, "not a phone number")
        default:
            return .refused(.notANumber, "the phone library could not read this value")
        }

        let phone = NormalizedPhone(
            countryCode: Int(info.country_code),
            nationalNumber: Self.string(from: info.national_number),
            extensionDigits: Self.string(from: info.extension).nilIfEmpty,
            kind: NumberKind(info.number_type))
        let cc = "+\(phone.countryCode)"

        switch info.possibility {
        case Int32(PS_PHONE_IS_POSSIBLE.rawValue): break
        case Int32(PS_PHONE_IS_POSSIBLE_LOCAL_ONLY.rawValue):
            return .refused(.localOnly, "only dialable locally: the area code is missing")
        case Int32(PS_PHONE_POSSIBLE_TOO_SHORT.rawValue):
            return .refused(.tooShort, "too few digits for a \(cc) number")
        case Int32(PS_PHONE_POSSIBLE_TOO_LONG.rawValue):
            return .refused(.tooLong, "too many digits for a \(cc) number")
        case Int32(PS_PHONE_POSSIBLE_INVALID_COUNTRY_CODE.rawValue):
            return .refused(.invalidCountryCode, "the country code is not one that exists")
        default:
            return .refused(.tooLong, "no \(cc) number has this many digits")
        }

        var findings: [PhoneFinding] = []
        if info.valid == 0 {
            findings.append(PhoneFinding(
                code: .notInNumberingPlan, severity: strict ? .error : .warning,
                message: "a possible \(cc) number, but outside the numbering-plan data this build knows (libphonenumber 8.12, 2022); "
                    + "ranges allocated since then look like this, so check it" + (strict ? " (refused under --strict)" : "")))
        }
        findings += slotFindings(phone)
        if phone.extensionDigits != nil, phoneType != .office {
            findings.append(PhoneFinding(code: .extensionInSMSSlot, severity: .warning,
                message: "has an extension; an automated MFA call or SMS to a \(phoneType.rawValue) number cannot dial it"))
        }
        return PhoneVerdict(phone: phone, findings: findings)
    }

    /// Whether a number of this kind can serve the slot.
    private func slotFindings(_ phone: NormalizedPhone) -> [PhoneFinding] {
        switch phone.kind {
        case .premiumRate:
            return [PhoneFinding(code: .premiumRate, severity: .error,
                message: "a premium-rate number: calls to it cost money and MFA services refuse them")]
        case .pager, .voicemail:
            return [PhoneFinding(code: .wrongTypeForSlot, severity: .error,
                message: "a \(phone.kind.rawValue) number cannot answer an MFA call or SMS")]
        case .tollFree where phoneType == .mobile:
            return [PhoneFinding(code: .wrongTypeForSlot, severity: .error,
                message: "a toll-free number in the mobile slot: toll-free lines cannot receive SMS and often refuse calls from abroad; "
                    + "use --phone-type office for a voice-only desk line")]
        case .fixedLine where phoneType == .mobile:
            return [PhoneFinding(code: .voiceOnlyForSlot, severity: .warning,
                message: "a fixed-line number in the mobile slot: it cannot receive SMS, only the voice-call method will work")]
        case .voip, .uan, .sharedCost, .personal, .tollFree:
            return [PhoneFinding(code: .unusualType, severity: .warning,
                message: "a \(phone.kind.rawValue) number: MFA calls may not reach it; check with the user")]
        default:
            return []
        }
    }

    // MARK: - Cleaning

    /// Trims blanks (also non-breaking, zero-width, direction marks) and maps full-width
    /// digits and plus to ASCII.
    static func clean(_ text: String) -> String {
        // Most cells are plain printable ASCII with nothing to trim: return them as they are.
        let utf8 = text.utf8
        if let first = utf8.first, let last = utf8.last, first > 0x20, last > 0x20,
           utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
            return text
        }
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0xFF10...0xFF19: scalars.append(Unicode.Scalar(scalar.value - 0xFF10 + 0x30)!)
            case 0xFF0B: scalars.append("+")
            case 0xFF08: scalars.append("(")
            case 0xFF09: scalars.append(")")
            case 0xFF0D, 0x2010...0x2015, 0x2212: scalars.append("-")
            case 0x00A0, 0x2007, 0x202F, 0x3000, 0x2000...0x2006, 0x2008...0x200A: scalars.append(" ")
            case 0x200B...0x200D, 0x200E, 0x200F, 0xFEFF, 0x2060: continue
            default: scalars.append(scalar)
            }
        }
        return String(scalars).trimmedBlanks
    }

    /// Refusals that need no phone library: placeholders, formulas, scientific notation.
    static func precheck(_ text: String) -> PhoneVerdict? {
        var letters = 0, digits = 0, zeros = 0
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "0"): digits += 1; zeros += 1
            case UInt8(ascii: "1")...UInt8(ascii: "9"): digits += 1
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), 0x80...: letters += 1
            default: break
            }
        }
        if let first = text.utf8.first {
            let second = text.utf8.dropFirst().first
            let secondIsLetter = second.map { ($0 | 0x20) >= UInt8(ascii: "a") && ($0 | 0x20) <= UInt8(ascii: "z") } ?? false
            if first == UInt8(ascii: "=") || first == UInt8(ascii: "@")
                || ((first == UInt8(ascii: "+") || first == UInt8(ascii: "-")) && secondIsLetter) {
                return .refused(.formula, "a spreadsheet formula, not a number; export the sheet with values, not formulas")
            }
        }
        if letters == 0 {
            // No letters: only "-", "?", "0000000" and the like are placeholders.
            if digits == 0 || (zeros == digits && digits >= 3 && !text.hasPrefix("+")) {
                return .refused(.placeholder, "a placeholder, not a number")
            }
            return nil
        }
        let folded = text.lowercased().filter { $0.isLetter || $0.isNumber }
        let placeholders: Set<String> = [
            "na", "nav", "tbd", "tba", "tbc", "none", "null", "nil", "unknown", "pending", "todo",
            "notapplicable", "nophone", "nonumber", "missing", "blank", "empty", "xxx", "x",
        ]
        if placeholders.contains(folded) || folded.allSatisfy({ $0 == "x" }) {
            return .refused(.placeholder, "a placeholder, not a number")
        }
        if isScientificNotation(text) {
            return .refused(.scientificNotation,
                "Excel turned this number into scientific notation and digits were lost; format the column as Text and export again")
        }
        return nil
    }

    /// `4.25555E+09`, `4,25555E+9`, `1E10`.
    static func isScientificNotation(_ text: String) -> Bool {
        let parts = text.uppercased().split(separator: "E", omittingEmptySubsequences: false)
        guard parts.count == 2, let mantissa = parts.first, !mantissa.isEmpty else { return false }
        var exponent = parts[1]
        if exponent.hasPrefix("+") { exponent = exponent.dropFirst() }
        guard !exponent.isEmpty, exponent.allSatisfy(\.isASCIIDigit) else { return false }
        let mantissaParts = mantissa.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "." || $0 == "," })
        return mantissaParts.count <= 2 && mantissaParts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isASCIIDigit) }
    }

    /// `tel:` URIs and `(0)` trunk digits after a country code.
    static func rewrite(_ input: String) -> String {
        var text = input
        if text.lowercased().hasPrefix("tel:") {
            let parts = text.dropFirst(4).split(separator: ";")
            text = parts.first.map(String.init) ?? ""
            for parameter in parts.dropFirst() where parameter.lowercased().hasPrefix("ext=") {
                text += " ext. " + parameter.dropFirst(4)
            }
        }
        if text.hasPrefix("+") || text.hasPrefix("00") {
            text = text.replacingOccurrences(of: "(0)", with: " ")
        }
        return text
    }

    static func string<T>(from tuple: T) -> String {
        withUnsafeBytes(of: tuple) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}

extension PhoneVerdict {
    static func refused(_ code: PhoneFinding.Code, _ message: String) -> PhoneVerdict {
        PhoneVerdict(phone: nil, findings: [PhoneFinding(code: code, severity: .error, message: message)])
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }

    /// Without leading and trailing white space (Unicode), no Foundation bridging.
    var trimmedBlanks: String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let end = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        if start == scalars.startIndex && end == scalars.index(before: scalars.endIndex) { return self }
        return String(scalars[start...end])
    }

    /// Empty or white space only.
    var isBlank: Bool { unicodeScalars.allSatisfy { $0.properties.isWhitespace } }
}
