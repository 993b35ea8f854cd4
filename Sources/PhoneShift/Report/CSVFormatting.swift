/// Writing CSV that is safe to open in a spreadsheet.
public enum CSVFormatting {
    private static let formulaStarts = Set("=+-@\t\r".utf8)
    private static let phoneCharacters = Set("+0123456789 ()-.x#*".utf8)

    /// One CSV line (RFC 4180 quoting, LF ending) with every cell neutralised.
    public static func line(_ cells: [String]) -> String {
        var out: [UInt8] = []
        append(cells, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends one CSV line to `out` (no intermediate strings: reports write millions).
    public static func append(_ cells: [String], to out: inout [UInt8]) {
        for (index, cell) in cells.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            appendCell(cell, to: &out)
        }
        out.append(0x0A)
    }

    /// Appends one line with `delimiter`, cells as they are (quoted where RFC 4180 needs it,
    /// never altered): for sheets PhoneShift reads back.
    public static func appendVerbatim(_ cells: [String], delimiter: UInt8, to out: inout [UInt8]) {
        for (index, cell) in cells.enumerated() {
            if index > 0 { out.append(delimiter) }
            let quote = cell.utf8.contains { $0 == delimiter || $0 == 0x0A || $0 == 0x0D || $0 == UInt8(ascii: "\"") }
            if quote { out.append(UInt8(ascii: "\"")) }
            for byte in cell.utf8 {
                if byte == UInt8(ascii: "\"") { out.append(byte) }
                out.append(byte)
            }
            if quote { out.append(UInt8(ascii: "\"")) }
        }
        out.append(0x0A)
    }

    static func appendCell(_ cell: String, to out: inout [UInt8]) {
        let neutralise = needsNeutralising(cell)
        var needsQuotes = false
        for byte in cell.utf8 where byte == UInt8(ascii: ",") || byte == UInt8(ascii: ";") || byte == 0x0A
            || byte == 0x0D || byte == UInt8(ascii: "\"") {
            needsQuotes = true
            break
        }
        if needsQuotes { out.append(UInt8(ascii: "\"")) }
        if neutralise { out.append(UInt8(ascii: "'")) }
        if needsQuotes {
            for byte in cell.utf8 {
                if byte == UInt8(ascii: "\"") { out.append(byte) }
                out.append(byte)
            }
            out.append(UInt8(ascii: "\""))
        } else {
            out.append(contentsOf: cell.utf8)
        }
    }

    /// A cell that a spreadsheet would run as a formula (starts with `=`, `+`, `-`, `@`,
    /// tab or CR) gets a leading `'`, unless it holds nothing but phone punctuation and
    /// digits (`+44 (0)20 7946 0958`): such a cell cannot call a function, and phone
    /// numbers in Graph's `+CC NSN` form must stay machine-readable.
    public static func neutralize(_ cell: String) -> String {
        needsNeutralising(cell) ? "'" + cell : cell
    }

    static func needsNeutralising(_ cell: String) -> Bool {
        guard let first = cell.utf8.first, formulaStarts.contains(first) else { return false }
        if first == UInt8(ascii: "=") || first == UInt8(ascii: "@") { return true }
        return !cell.utf8.allSatisfy { phoneCharacters.contains($0) }
    }
}
