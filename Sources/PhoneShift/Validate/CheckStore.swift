import Foundation

/// Where validation keeps the rows of a sheet of any size between the per-row pass and the
/// sheet-wide checks, in flat memory:
///
/// - every row's outcome goes, in line order, to a spool file (length-prefixed fields);
/// - the user and number of each usable row go to an SQLite table, whose GROUP BY and
///   indexes (external sorts) find conflicts, duplicates and shared numbers;
/// - the final pass reads the spool in order and merges in the findings, also in line order.
///
/// Both are temporary and owner-only, and neither has a name on disk while it is used:
/// the spool is unlinked right after it is opened, and the table lives in an SQLite
/// temporary database (which SQLite creates owner-only and unlinks at once). A crash
/// leaves nothing behind.
/// Not thread-safe: one thread at a time (the pipeline's store thread, then the caller).
final class CheckStore {
    private let db: SQLiteDatabase
    private let insertKey: SQLiteStatement
    private var spool: UnsafeMutablePointer<FILE>?
    private var spoolBuffer: [UInt8] = []

    init(directory: String) throws {
        let spoolPath = (directory as NSString).appendingPathComponent("phoneshift-check-\(getpid())-\(UUID().uuidString).spool")
        do {
            let fd = open(spoolPath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            unlink(spoolPath)
            guard fd >= 0, let file = fdopen(fd, "w+b") else {
                throw PhoneShiftError(.store, String(cString: strerror(errno)))
            }
            spool = file
            // "": a private temporary database, on disk when it grows, deleted on close.
            db = try SQLiteDatabase(path: "")
            try db.execute("""
                PRAGMA journal_mode = OFF;
                PRAGMA synchronous = OFF;
                PRAGMA cache_size = -4000;
                PRAGMA temp_store = FILE;
                CREATE TABLE keys (line INTEGER PRIMARY KEY, user_key TEXT NOT NULL, phone TEXT NOT NULL);
                """)
            insertKey = try db.prepare("INSERT INTO keys VALUES (?1, ?2, ?3)")
        } catch {
            if let spool { fclose(spool) }
            throw PhoneShiftError(.store, "cannot create the check store in '\(directory)': \(error)")
        }
    }

    deinit {
        if let spool { fclose(spool) }
    }

    // MARK: - Loading

    /// Appends a batch of outcomes (in line order).
    func insert(_ outcomes: [RowOutcome]) throws {
        spoolBuffer.removeAll(keepingCapacity: true)
        for o in outcomes { Self.encode(o, into: &spoolBuffer) }
        let written = spoolBuffer.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, spool) }
        guard written == spoolBuffer.count else {
            throw PhoneShiftError(.store, "cannot write the check store: \(String(cString: strerror(errno)))")
        }
        try db.transaction {
            for o in outcomes where o.status <= .warning {
                guard let key = o.userKey, let phone = o.phone else { continue }
                try insertKey.run([.int(o.line), .text(key), .text(phone)])
            }
        }
    }

    // MARK: - Sheet-wide checks

    /// Groups users and numbers that occur more than once, among rows usable so far.
    /// Sorting (GROUP BY) and scans only: no index on the large table, so the cost stays
    /// close to linear whatever the sheet's size.
    func runSheetChecks() throws {
        try db.transaction {
            try db.execute("""
                CREATE TABLE user_groups AS
                    SELECT user_key, COUNT(DISTINCT phone) AS phones, MIN(line) AS first_line,
                           group_concat(line, ',') AS lines
                    FROM (SELECT user_key, phone, line FROM keys ORDER BY user_key, line)
                    GROUP BY user_key HAVING COUNT(*) > 1;
                CREATE UNIQUE INDEX user_groups_key ON user_groups(user_key);
                CREATE TABLE phone_groups AS
                    SELECT phone, COUNT(DISTINCT user_key) AS users, group_concat(line, ',') AS lines
                    FROM (SELECT phone, user_key, line FROM keys
                          WHERE user_key NOT IN (SELECT user_key FROM user_groups WHERE phones > 1)
                          ORDER BY phone, line)
                    GROUP BY phone HAVING COUNT(DISTINCT user_key) > 1;
                CREATE UNIQUE INDEX phone_groups_phone ON phone_groups(phone);
                CREATE TABLE findings AS
                    SELECT k.line AS line, 1 AS kind, g.phones AS n, g.lines AS lines
                    FROM keys k CROSS JOIN user_groups g ON g.user_key = k.user_key WHERE g.phones > 1
                    UNION ALL
                    SELECT k.line, 2, g.first_line, NULL
                    FROM keys k CROSS JOIN user_groups g ON g.user_key = k.user_key
                    WHERE g.phones = 1 AND k.line <> g.first_line
                    UNION ALL
                    SELECT k.line, 3, p.users - 1, p.lines
                    FROM keys k CROSS JOIN phone_groups p ON p.phone = k.phone
                    WHERE k.user_key NOT IN (SELECT user_key FROM user_groups WHERE phones > 1);
                """)
        }
    }

    /// Every row's final outcome, in line order.
    func forEachOutcome(_ body: (RowOutcome) throws -> Void) throws {
        guard let spool else { return }
        fflush(spool)
        rewind(spool)
        let findings = try db.prepare("SELECT line, kind, n, lines FROM findings ORDER BY line, kind")
        try findings.bind([])
        var pending = try findings.step() ? findings.int(0) : Int.max
        var reader = SpoolReader(file: spool)
        while var outcome = try reader.next() {
            while pending == outcome.line {
                let count = findings.int(2)
                let others = Self.otherLines(findings.text(3) ?? "", except: outcome.line, limit: 5)
                switch findings.int(1) {
                case 1:
                    outcome.add(RowFinding.Code.userConflict.rawValue,
                                "the same user is given \(count) different numbers in this sheet (also on line \(others))",
                                status: .conflict)
                case 2:
                    outcome.add(RowFinding.Code.duplicateRow.rawValue,
                                "the same change as line \(count) (duplicate row; it will be applied once)",
                                status: .warning)
                default:
                    outcome.add(RowFinding.Code.sharedNumber.rawValue,
                                "the same number is given for \(count) other user(s) (also on line \(others)); only one of them can use it for SMS sign-in",
                                status: .warning)
                }
                pending = try findings.step() ? findings.int(0) : Int.max
            }
            try body(outcome)
        }
    }

    /// The first `limit` lines of a comma-separated list, without `line`.
    static func otherLines(_ list: String, except line: Int, limit: Int) -> String {
        var out: [Substring] = []
        let own = String(line)
        for item in list.split(separator: ",") where item != own {
            out.append(item)
            if out.count == limit { break }
        }
        return out.joined(separator: ", ")
    }

    // MARK: - Spool format: per row, fields as [UInt32 length][UTF-8 bytes]

    private static func encode(_ o: RowOutcome, into out: inout [UInt8]) {
        func put(_ text: String) {
            let count = UInt32(text.utf8.count)
            withUnsafeBytes(of: count.littleEndian) { out.append(contentsOf: $0) }
            out.append(contentsOf: text.utf8)
        }
        put(String(o.line))
        put(o.user)
        put(o.userKind?.rawValue ?? "")
        put(o.userKey ?? "")
        // A cell can be 1 MB; the report echoes the start of it.
        put(String(o.input.prefix(256)))
        put(o.phone ?? "")
        put(o.numberKind?.rawValue ?? "")
        put(String(o.status.rank))
        put(o.codes.joined(separator: "\u{1F}"))
        put(o.reasons.joined(separator: "\u{1F}"))
    }

    private struct SpoolReader {
        let file: UnsafeMutablePointer<FILE>
        var buffer = [UInt8](repeating: 0, count: 4096)

        mutating func field() throws -> String? {
            var length: UInt32 = 0
            let got = withUnsafeMutableBytes(of: &length) { fread($0.baseAddress, 1, 4, file) }
            if got == 0 { return nil }
            guard got == 4 else { throw PhoneShiftError(.store, "the check store is damaged") }
            let count = Int(UInt32(littleEndian: length))
            if buffer.count < count { buffer = [UInt8](repeating: 0, count: count) }
            guard count == 0 || buffer.withUnsafeMutableBytes({ fread($0.baseAddress, 1, count, file) }) == count else {
                throw PhoneShiftError(.store, "the check store is damaged")
            }
            return String(decoding: buffer[0..<count], as: UTF8.self)
        }

        mutating func next() throws -> RowOutcome? {
            guard let line = try field() else { return nil }
            func required() throws -> String {
                guard let value = try field() else { throw PhoneShiftError(.store, "the check store is damaged") }
                return value
            }
            let user = try required(), kind = try required(), key = try required(), input = try required()
            let phone = try required(), numberKind = try required(), status = try required()
            let codes = try required(), reasons = try required()
            return RowOutcome(
                line: Int(line) ?? 0, user: user, userKind: UserKeyKind(rawValue: kind), userKey: key.nilIfEmpty,
                input: input, phone: phone.nilIfEmpty, numberKind: NumberKind(rawValue: numberKind),
                status: RowStatus(rank: Int(status) ?? 0),
                codes: codes.isEmpty ? [] : codes.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init),
                reasons: reasons.isEmpty ? [] : reasons.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init))
        }
    }
}
