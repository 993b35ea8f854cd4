import CPhoneNumber
import Testing
@testable import PhoneShift

@Suite("Phone normalizer (libphonenumber)")
struct PhoneNormalizerTests {
    let mobile = PhoneNormalizer(phoneType: .mobile)
    let office = PhoneNormalizer(phoneType: .office)

    /// National and international forms of real-format mobile numbers in many countries.
    @Test("Mobile numbers across countries, national and international forms", arguments: [
        ("US", "(201) 555-0123", "+1 2015550123"),
        ("CA", "604-555-0123", "+1 6045550123"),
        ("GB", "07400 123456", "+44 7400123456"),
        ("DE", "01512 3456789", "+49 15123456789"),
        ("FR", "06 12 34 56 78", "+33 612345678"),
        ("ES", "612 34 56 78", "+34 612345678"),
        ("IT", "312 345 6789", "+39 3123456789"),
        ("NL", "06-12345678", "+31 612345678"),
        ("CH", "078 123 45 67", "+41 781234567"),
        ("SE", "070-123 45 67", "+46 701234567"),
        ("PL", "512 345 678", "+48 512345678"),
        ("IE", "085 012 3456", "+353 850123456"),
        ("AU", "0412 345 678", "+61 412345678"),
        ("IN", "081234 56789", "+91 8123456789"),
        ("JP", "090-1234-5678", "+81 9012345678"),
        ("SG", "8123 4567", "+65 81234567"),
        ("BR", "(11) 96123-4567", "+55 11961234567"),
        ("ZA", "071 123 4567", "+27 711234567"),
    ])
    func countries(_ region: String, _ national: String, _ expected: String) throws {
        let fromNational = mobile.normalize(national, region: region)
        #expect(fromNational.phone?.graphForm == expected)
        #expect(fromNational.isUsable)
        #expect(!fromNational.hasWarnings, "\(fromNational.findings)")
        // The international form needs no region, and gives the same answer.
        let fromInternational = mobile.normalize(expected, region: nil)
        #expect(fromInternational.phone?.graphForm == expected)
        #expect(fromInternational.phone?.region == region)
    }

    @Test("Artefacts of real sheets are cleaned up", arguments: [
        ("+44 (0)7400 123456", nil, "+44 7400123456"),
        ("+44(0)7400-123-456", nil, "+44 7400123456"),
        ("0044 7400 123456", "US", "+44 7400123456"),
        ("0044 7400 123456", nil, "+44 7400123456"),
        ("011 44 7400 123456", "US", "+44 7400123456"),
        ("011 44 7400 123456", "DE", "+44 7400123456"),
        ("tel:+44-7400-123456", nil, "+44 7400123456"),
        ("TEL:+1-201-555-0123;ext=45", nil, "+1 2015550123x45"),
        ("'+44 7400 123456", nil, "+44 7400123456"),
        ("'07400123456", "GB", "+44 7400123456"),
        ("+44\u{00A0}7400\u{00A0}123456", nil, "+44 7400123456"),
        ("\u{200B}+44 7400 123456\u{FEFF}", nil, "+44 7400123456"),
        ("\u{FF0B}\u{FF14}\u{FF14} \u{FF17}\u{FF14}\u{FF10}\u{FF10} \u{FF11}\u{FF12}\u{FF13}\u{FF14}\u{FF15}\u{FF16}", nil, "+44 7400123456"),
        ("+1 201.555.0123", nil, "+1 2015550123"),
        ("  +1 (201) 555–0123  ", nil, "+1 2015550123"),
        ("+12015550123", nil, "+1 2015550123"),
    ] as [(String, String?, String)])
    func artefacts(_ input: String, _ region: String?, _ expected: String) {
        let verdict = mobile.normalize(input, region: region)
        #expect(verdict.phone?.graphForm == expected, "\(input) → \(verdict)")
        #expect(verdict.isUsable)
    }

    @Test("Extensions: x, ext., #", arguments: ["+1 201 555 0123 x45", "+1 201 555 0123 ext. 45", "+1 201 555 0123#45", "+1 201 555 0123 extension 45"])
    func extensions(_ input: String) {
        let verdict = office.normalize(input, region: nil)
        #expect(verdict.phone?.graphForm == "+1 2015550123x45")
        #expect(verdict.isUsable && !verdict.hasWarnings)
        // In the mobile slot the extension cannot be dialled by an SMS or automated call: warning.
        #expect(mobile.normalize(input, region: nil).findings.map(\.code) == [.extensionInSMSSlot])
    }

    @Test("Refused with a specific reason", arguments: [
        ("4.25555E+09", "US", PhoneFinding.Code.scientificNotation),
        ("4,25555E+9", "DE", .scientificNotation),
        ("2.01555E+10", nil, .scientificNotation),
        ("555-0123", "US", .localOnly),
        ("N/A", "US", .placeholder),
        ("TBD", "US", .placeholder),
        ("-", "US", .placeholder),
        ("xxx-xxx-xxxx", "US", .placeholder),
        ("0000000000", "US", .placeholder),
        ("none", nil, .placeholder),
        ("=1+2015550123", "US", .formula),
        ("=HYPERLINK(\"http://x\")", nil, .formula),
        ("@SUM(A1:A2)", nil, .formula),
        ("+cmd|' /C calc'!A0", nil, .formula),
        ("07400 123456", nil, .noCountry),
        ("+999 1234567", nil, .invalidCountryCode),
        ("+44 12", nil, .tooShort),
        ("+44 7400 1234567890123", nil, .tooLong),
        ("call me", nil, .notANumber),
        ("+44 909 879 0000", nil, .premiumRate),
        ("+1 800 555 0199", nil, .wrongTypeForSlot),
    ] as [(String, String?, PhoneFinding.Code)])
    func refusals(_ input: String, _ region: String?, _ code: PhoneFinding.Code) {
        let verdict = mobile.normalize(input, region: region)
        #expect(!verdict.isUsable)
        #expect(verdict.findings.first?.code == code, "\(input) → \(verdict.findings)")
        #expect(verdict.findings.allSatisfy { !$0.message.isEmpty })
    }

    @Test("A blank cell is a warning and no number: it never removes one", arguments: ["", "   ", "\u{00A0}"])
    func blank(_ input: String) {
        let verdict = mobile.normalize(input, region: "US")
        #expect(verdict.phone == nil)
        #expect(verdict.findings.map(\.code) == [.emptyPhone])
        #expect(verdict.findings[0].severity == .warning)
    }

    @Test("Number type against the slot")
    func slots() {
        // A fixed line can take a voice call but no SMS: a warning in the mobile slot, fine in office.
        let landline = "+44 20 7946 0958"
        #expect(mobile.normalize(landline, region: nil).findings.map(\.code) == [.voiceOnlyForSlot])
        #expect(mobile.normalize(landline, region: nil).isUsable)
        #expect(office.normalize(landline, region: nil).findings.isEmpty)
        // Toll-free: refused in the mobile slot, a warning in the office slot.
        #expect(!mobile.normalize("+1 800 555 0199", region: nil).isUsable)
        let tollFreeOffice = office.normalize("+1 800 555 0199", region: nil)
        #expect(tollFreeOffice.isUsable && tollFreeOffice.findings.map(\.code) == [.unusualType])
        // Premium rate: refused everywhere.
        #expect(!office.normalize("+44 909 879 0000", region: nil).isUsable)
    }

    @Test("Possible but outside the 2022 range data: a warning, an error under --strict")
    func outsideRangeData() {
        // NANP area codes never start with 0 or 1: right length, in no allocated range.
        let lenient = mobile.normalize("+1 099 555 0123", region: nil)
        #expect(lenient.isUsable)
        #expect(lenient.findings.map(\.code) == [.notInNumberingPlan])
        #expect(lenient.findings[0].severity == .warning)
        #expect(lenient.phone?.graphForm == "+1 0995550123")
        let strict = PhoneNormalizer(phoneType: .mobile, strict: true).normalize("+1 099 555 0123", region: nil)
        #expect(!strict.isUsable)
        #expect(strict.findings[0].severity == .error)
    }

    @Test("Masking keeps the country code and the last four digits")
    func masking() {
        #expect(PhoneMask.mask("+1 2065550123") == "+1 ******0123")
        #expect(PhoneMask.mask("+44 7400123456x12") == "+44 ******3456")
        #expect(PhoneMask.mask("garbage-123") == "*********23")
    }

    @Test("Country column values", arguments: [
        ("GB", "GB"), ("gb", "GB"), ("UK", "GB"), ("GBR", "GB"), ("United Kingdom", "GB"),
        ("Deutschland", "DE"), ("Österreich", "AT"), ("+44", "GB"), ("49", "DE"), ("1", "US"), (" fr ", "FR"),
    ])
    func regions(_ text: String, _ expected: String) {
        #expect(RegionResolver.region(for: text) == expected)
    }

    @Test("Unknown country values", arguments: ["Narnia", "QQ", "999", ""])
    func unknownRegions(_ text: String) {
        #expect(RegionResolver.region(for: text) == nil)
    }
}

@Suite("Phone normalizer fast paths agree with libphonenumber")
struct PhoneNormalizerEquivalenceTests {
    @Test("The lock-free type matcher agrees with GetNumberType on every region's examples and 20,000 variations")
    func typeMatcher() async throws {
        // Seconds of CPU: on a thread of its own, not one of the two cooperative threads
        // that the in-process emulator and the async tests share.
        #expect(try await runOnThread { ps_phone_type_self_check(20_000, 7) } == 0)
    }

    @Test("The fast path gives the same verdict as the full parser", arguments: ["mobile", "office"])
    func fastPath(_ slot: String) async throws {
        let type = try #require(PhoneType(rawValue: slot))
        // 30,000 normalisations: on a thread of its own (see typeMatcher).
        let disagreements = try await runOnThread { Self.compareFastPath(type) }
        #expect(disagreements.mismatches.isEmpty, "\(disagreements.mismatches.prefix(5))")
        // The comparison means something only if the fast path really answered for many inputs.
        #expect(disagreements.fastAnswers > disagreements.inputs / 10,
                "the fast path answered only \(disagreements.fastAnswers) of \(disagreements.inputs) inputs")
    }

    @Test("Inputs fuzzing found where the fast path and libphonenumber disagreed (Tests/FuzzCorpus/normalizer/regression-*)",
          arguments: [("+ 049714023", "IN"), ("+049714023", nil), ("+0 44 7700 900123", "GB"), ("+01 206 555 0100", "US")] as [(String, String?)])
    func fuzzRegressions(_ input: String, _ region: String?) {
        for type in PhoneType.allCases {
            let fast = PhoneNormalizer(phoneType: type, fastPath: true).normalize(input, region: region)
            let full = PhoneNormalizer(phoneType: type, fastPath: false).normalize(input, region: region)
            #expect(fast == full, "\(input) (\(region ?? "no region"), \(type)): \(fast) vs \(full)")
        }
    }

    static func compareFastPath(_ type: PhoneType) -> (inputs: Int, fastAnswers: Int, mismatches: [String]) {
        let fast = PhoneNormalizer(phoneType: type, fastPath: true)
        let full = PhoneNormalizer(phoneType: type, fastPath: false)
        // Seeded: a failure names inputs that the next run produces again.
        var generator = SplitMix64(seed: 0x5EED_0007)
        var inputs: [(String, String?)] = []
        let countries: [(String, Int, String)] = [
            ("US", 1, "1"), ("CA", 1, "1"), ("GB", 44, "0"), ("DE", 49, "0"), ("FR", 33, "0"), ("NL", 31, "0"),
            ("SE", 46, "0"), ("IN", 91, "0"), ("CH", 41, "0"), ("IE", 353, "0"), ("AU", 61, "0"), ("JP", 81, "0"),
        ]
        for _ in 0..<3000 {
            let (region, code, prefix) = countries.randomElement(using: &generator)!
            let length = Int.random(in: 6...12, using: &generator)
            let digits = String((0..<length).map { _ in Character(String(Int.random(in: 0...9, using: &generator))) })
            inputs.append(("+\(code) \(digits)", nil))
            inputs.append(("+\(code)\(prefix)\(digits)", nil))
            inputs.append((prefix + digits, region))
            inputs.append((digits, region))
            inputs.append(("(\(digits.prefix(3))) \(digits.dropFirst(3))", region))
        }
        var fastAnswers = 0
        var mismatches: [String] = []
        for (input, region) in inputs {
            if FastPath.check(input, region: region) != nil { fastAnswers += 1 }
            if fast.normalize(input, region: region) != full.normalize(input, region: region) { mismatches.append("\(input) \(region ?? "-")") }
        }
        return (inputs.count, fastAnswers, mismatches)
    }
}

/// A small seeded generator (SplitMix64), so that random test inputs are reproducible.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
