/// Totals of a validation, for people (`render()`) and machines (Codable → `--json`).
/// Holds no phone number.
public struct ValidationSummary: Sendable, Codable, Equatable {
    public struct Columns: Sendable, Codable, Equatable {
        public var user: String
        public var userKind: String
        /// nil: a sheet of users only (`mode: removePhones`).
        public var phone: String?
        public var region: String?
    }
    public struct Problem: Sendable, Codable, Equatable {
        public var line: Int
        public var user: String
        public var status: RowStatus
        public var reason: String
    }

    public var sheet: String
    public var encoding: String
    public var delimiter: String
    /// The worksheet read, when the sheet is an Excel workbook.
    public var worksheet: String?
    /// SHA-256 of the bytes validated (read once: the digest is of the sheet that was checked).
    public var sha256: String?
    public var phoneType: PhoneType
    public var columns: Columns
    public var columnNotes: [String]
    public var rows = 0
    public var statuses: [String: Int] = Dictionary(uniqueKeysWithValues: RowStatus.allCases.map { ($0.rawValue, 0) })
    public var reasons: [String: Int] = [:]
    /// The first rows that are not `ok`, in line order.
    public var firstProblems: [Problem] = []
    public static let problemsKept = 20

    init(sheet: String, encoding: String, delimiter: String, mapping: ColumnMapping, phoneType: PhoneType) {
        self.sheet = sheet
        self.encoding = encoding
        self.delimiter = delimiter == "\t" ? "tab" : delimiter
        self.phoneType = phoneType
        columns = Columns(user: mapping.headers[mapping.userColumn], userKind: mapping.userKind.rawValue,
                          phone: mapping.phoneColumn.map { mapping.headers[$0] },
                          region: mapping.regionColumn.map { mapping.headers[$0] })
        columnNotes = mapping.notes
    }

    public func count(of status: RowStatus) -> Int { statuses[status.rawValue] ?? 0 }

    /// Rows that cannot be applied as they are.
    public var unusableRows: Int { count(of: .invalid) + count(of: .conflict) }

    /// 0 when every row is usable (warnings allowed), 1 when some are invalid or in conflict.
    public var exitCode: Int32 { unusableRows > 0 ? 1 : 0 }

    mutating func count(_ outcome: RowOutcome) {
        rows += 1
        statuses[outcome.status.rawValue, default: 0] += 1
        for (index, code) in outcome.codes.enumerated() where !outcome.codes[..<index].contains(code) {
            reasons[code, default: 0] += 1
        }
        if outcome.status != .ok, firstProblems.count < Self.problemsKept {
            firstProblems.append(Problem(line: outcome.line, user: Sanitize.forMessage(outcome.user),
                                         status: outcome.status, reason: outcome.reason))
        }
    }

    /// The summary for a terminal.
    public func render(problemsShown: Int = 10) -> String {
        // A file name may hold control characters (ESC, CR): never sent to the terminal as they are.
        var out = "Sheet: \(Sanitize.forMessage(sheet, limit: 300)) "
            + (worksheet.map { "(Excel workbook, worksheet '\(Sanitize.forMessage($0, limit: 80))')\n" } ?? "(\(encoding), delimiter '\(delimiter)')\n")
        for note in columnNotes { out += "  \(Sanitize.forMessage(note, limit: 300))\n" }
        out += "Rows: \(rows)  ok: \(count(of: .ok))  warning: \(count(of: .warning))  "
            + "invalid: \(count(of: .invalid))  conflict: \(count(of: .conflict))\n"
        if !reasons.isEmpty {
            out += "By reason:\n"
            for (code, n) in reasons.sorted(by: { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }) {
                out += "  \(code): \(n)\n"
            }
        }
        let shown = firstProblems.prefix(problemsShown)
        if !shown.isEmpty {
            out += "First rows to look at:\n"
            for p in shown {
                out += "  line \(p.line) [\(p.status.rawValue)] \(p.user.isEmpty ? "(no user)" : p.user): \(Sanitize.forMessage(p.reason, limit: 400))\n"
            }
        }
        return out
    }
}

extension ValidationSummary {
    /// The columns of `validate --output`, the first seven fixed by contract.
    public static let outputColumns = ["line", "user", "phone_type", "input", "phone", "status", "reason",
                                       "user_kind", "number_kind", "reason_codes"]

    /// Appends one row of `validate --output`, neutralised for spreadsheets, to `out`.
    public static func appendOutputLine(_ o: RowOutcome, phoneType: PhoneType, to out: inout [UInt8]) {
        CSVFormatting.append([
            String(o.line), o.user, phoneType.rawValue, o.input, o.phone ?? "", o.status.rawValue, o.reason,
            o.userKind?.rawValue ?? "", o.numberKind?.rawValue ?? "", o.codes.joined(separator: " "),
        ], to: &out)
    }
}
