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

/// Masking of phone numbers, which are personal data, for logs and screens.
public enum PhoneMask {
    /// `+1 2065550123` → `+1 ******0123`; an extension is dropped. Anything that is not in
    /// Graph's form is masked whole except its last two characters.
    public static func mask(_ graphForm: String) -> String { mask(graphForm, keep: nil) }

    /// Masks two numbers shown side by side (a change), each showing as many final digits
    /// as it takes for the two to differ on screen (`+1 ******0020 → +1 *****10020`).
    public static func maskPair(_ a: String?, _ b: String?) -> (String?, String?) {
        guard let a, let b else { return (a.map { mask($0) }, b.map { mask($0) }) }
        func split(_ n: String) -> (String, String?) {
            let parts = n.split(separator: "x", maxSplits: 1).map(String.init)
            return (parts.first ?? n, parts.count > 1 ? parts[1] : nil)
        }
        let (baseA, extA) = split(a), (baseB, extB) = split(b)
        if baseA == baseB {
            // The same number; only the extension differs: show the extensions, not more digits.
            return (mask(a) + (extA.map { "x" + $0 } ?? ""), mask(b) + (extB.map { "x" + $0 } ?? ""))
        }
        var keep = 4
        while mask(a, keep: keep) == mask(b, keep: keep) && keep < max(a.count, b.count) { keep += 1 }
        return (mask(a, keep: keep), mask(b, keep: keep))
    }

    static func mask(_ graphForm: String, keep wanted: Int?) -> String {
        let withoutExtension = graphForm.split(separator: "x", maxSplits: 1).first.map(String.init) ?? graphForm
        let parts = withoutExtension.split(separator: " ", maxSplits: 1)
        if parts.count == 2, parts[0].hasPrefix("+") {
            let nsn = parts[1]
            let keep = min(nsn.count, wanted ?? (nsn.count > 6 ? 4 : max(0, nsn.count - 3)))
            return "\(parts[0]) " + String(repeating: "*", count: nsn.count - keep) + nsn.suffix(keep)
        }
        let keep = min(2, max(0, graphForm.count - 4))
        return String(repeating: "*", count: max(0, graphForm.count - keep)) + graphForm.suffix(keep)
    }
}
