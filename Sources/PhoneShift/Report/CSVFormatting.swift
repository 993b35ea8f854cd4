/// Writing CSV that is safe to open in a spreadsheet.
public enum CSVFormatting {
    private static let formulaStarts = Set("=+-@\t\r".utf8)
    private static let phoneCharacters = Set("+0123456789 ()-.x#".utf8)

    /// One CSV line (RFC 4180 quoting, LF ending) with every cell neutralised.
    public static func line(_ cells: [String]) -> String {
        var out = ""
        for (index, cell) in cells.enumerated() {
            if index > 0 { out += "," }
            out += quote(neutralize(cell))
        }
        out += "\n"
        return out
    }

    /// Quotes a cell when it holds a delimiter, quote or line break.
    public static func quote(_ cell: String) -> String {
        var needsQuotes = false, hasQuote = false
        for byte in cell.utf8 {
            switch byte {
            case UInt8(ascii: ","), UInt8(ascii: ";"), 0x0A, 0x0D: needsQuotes = true
            case UInt8(ascii: "\""): needsQuotes = true; hasQuote = true
            default: continue
            }
        }
        guard needsQuotes else { return cell }
        guard hasQuote else { return "\"" + cell + "\"" }
        var out = "\""
        for character in cell {
            out.append(character)
            if character == "\"" { out.append("\"") }
        }
        return out + "\""
    }

    /// A cell that a spreadsheet would run as a formula (starts with `=`, `+`, `-`, `@`,
    /// tab or CR) gets a leading `'`, unless it holds nothing but phone punctuation and
    /// digits (`+44 (0)20 7946 0958`): such a cell cannot call a function, and phone
    /// numbers in Graph's `+CC NSN` form must stay machine-readable.
    public static func neutralize(_ cell: String) -> String {
        guard let first = cell.utf8.first, Self.formulaStarts.contains(first) else { return cell }
        let phoneSafe = cell.utf8.allSatisfy { Self.phoneCharacters.contains($0) }
        return phoneSafe && first != UInt8(ascii: "=") && first != UInt8(ascii: "@") ? cell : "'" + cell
    }
}
