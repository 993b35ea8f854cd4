import CPhoneNumber
import Foundation

/// Turns what a sheet's Country column holds into an ISO 3166 alpha-2 region that
/// libphonenumber knows: `GB`, `gb`, `UK`, `GBR`, `United Kingdom`, `Deutschland`, `+44`, `44`.
public enum RegionResolver {
    /// The region for `text`, or nil when it is not recognised.
    public static func region(for text: String) -> String? {
        let trimmed = text.trimmedBlanks
        if trimmed.isEmpty { return nil }
        let upper = trimmed.uppercased()
        if upper.count == 2, upper.allSatisfy({ $0.isASCII && $0.isLetter }) {
            if upper == "UK" { return "GB" }
            return isSupported(upper) ? upper : nil
        }
        let digits = upper.hasPrefix("+") ? String(upper.dropFirst()) : upper
        if !digits.isEmpty, digits.count <= 3, digits.allSatisfy(\.isASCIIDigit), let code = Int(digits) {
            var found: Int32 = 0
            let region = regionCode { found = ps_phone_region_for_country_code(Int32(code), $0, $1) }
            return found == 1 ? region : nil
        }
        let key = upper.folding(options: [.diacriticInsensitive, .caseInsensitive], locale: nil)
            .lowercased().filter { $0.isLetter }
        return names[key]
    }

    /// Calls `fill` with a buffer for a region code and returns what it wrote.
    static func regionCode(_ fill: (UnsafeMutablePointer<CChar>, Int32) -> Void) -> String {
        var buffer = [CChar](repeating: 0, count: 8)
        buffer.withUnsafeMutableBufferPointer { fill($0.baseAddress!, Int32($0.count)) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether libphonenumber knows the alpha-2 region.
    public static func isSupported(_ region: String) -> Bool {
        region.withCString { ps_phone_is_supported_region($0) } == 1
    }

    /// Common names and alpha-3 codes, English and local, folded to lowercase letters.
    private static let names: [String: String] = {
        let table: [(String, [String])] = [
            ("US", ["usa", "unitedstates", "unitedstatesofamerica", "america"]),
            ("CA", ["can", "canada"]), ("MX", ["mex", "mexico"]),
            ("GB", ["gbr", "unitedkingdom", "greatbritain", "britain", "england", "scotland", "wales", "northernireland"]),
            ("IE", ["irl", "ireland", "eire"]), ("FR", ["fra", "france"]),
            ("DE", ["deu", "ger", "germany", "deutschland"]), ("AT", ["aut", "austria", "osterreich"]),
            ("CH", ["che", "switzerland", "schweiz", "suisse", "svizzera"]),
            ("IT", ["ita", "italy", "italia"]), ("ES", ["esp", "spain", "espana"]),
            ("PT", ["prt", "portugal"]), ("NL", ["nld", "netherlands", "nederland", "holland", "thenetherlands"]),
            ("BE", ["bel", "belgium", "belgie", "belgique"]), ("LU", ["lux", "luxembourg"]),
            ("DK", ["dnk", "denmark", "danmark"]), ("SE", ["swe", "sweden", "sverige"]),
            ("NO", ["nor", "norway", "norge"]), ("FI", ["fin", "finland", "suomi"]),
            ("IS", ["isl", "iceland"]), ("PL", ["pol", "poland", "polska"]),
            ("CZ", ["cze", "czechia", "czechrepublic"]), ("SK", ["svk", "slovakia"]),
            ("HU", ["hun", "hungary"]), ("RO", ["rou", "romania"]), ("BG", ["bgr", "bulgaria"]),
            ("GR", ["grc", "greece"]), ("TR", ["tur", "turkey", "turkiye"]),
            ("HR", ["hrv", "croatia"]), ("SI", ["svn", "slovenia"]), ("RS", ["srb", "serbia"]),
            ("UA", ["ukr", "ukraine"]), ("EE", ["est", "estonia"]), ("LV", ["lva", "latvia"]),
            ("LT", ["ltu", "lithuania"]), ("IL", ["isr", "israel"]), ("AE", ["are", "uae", "unitedarabemirates"]),
            ("SA", ["sau", "saudiarabia"]), ("QA", ["qat", "qatar"]), ("EG", ["egy", "egypt"]),
            ("ZA", ["zaf", "southafrica"]), ("NG", ["nga", "nigeria"]), ("KE", ["ken", "kenya"]),
            ("MA", ["mar", "morocco"]), ("IN", ["ind", "india"]), ("PK", ["pak", "pakistan"]),
            ("BD", ["bgd", "bangladesh"]), ("LK", ["lka", "srilanka"]), ("CN", ["chn", "china"]),
            ("HK", ["hkg", "hongkong"]), ("TW", ["twn", "taiwan"]), ("JP", ["jpn", "japan"]),
            ("KR", ["kor", "southkorea", "korea", "republicofkorea"]), ("SG", ["sgp", "singapore"]),
            ("MY", ["mys", "malaysia"]), ("TH", ["tha", "thailand"]), ("VN", ["vnm", "vietnam"]),
            ("PH", ["phl", "philippines"]), ("ID", ["idn", "indonesia"]),
            ("AU", ["aus", "australia"]), ("NZ", ["nzl", "newzealand"]),
            ("BR", ["bra", "brazil", "brasil"]), ("AR", ["arg", "argentina"]), ("CL", ["chl", "chile"]),
            ("CO", ["col", "colombia"]), ("PE", ["per", "peru"]),
        ]
        var map: [String: String] = [:]
        for (code, aliases) in table { for alias in aliases { map[alias] = code } }
        return map
    }()
}
