/// Writing CSV that is safe to open in a spreadsheet.
public enum CSVFormatting {
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
        guard cell.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == ";" }) else { return cell }
        return "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// A cell that a spreadsheet would run as a formula (starts with `=`, `+`, `-`, `@`,
    /// tab or CR) gets a leading `'`, unless it holds nothing but phone punctuation and
    /// digits (`+44 (0)20 7946 0958`): such a cell cannot call a function, and phone
    /// numbers in Graph's `+CC NSN` form must stay machine-readable.
    public static func neutralize(_ cell: String) -> String {
        guard let first = cell.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) else { return cell }
        let phoneSafe = cell.unicodeScalars.allSatisfy { "+0123456789 ()-.x#".unicodeScalars.contains($0) }
        return phoneSafe && first != "=" && first != "@" ? cell : "'" + cell
    }
}
