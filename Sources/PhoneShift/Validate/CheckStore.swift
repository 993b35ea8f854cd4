import Foundation

/// The on-disk table behind the sheet-wide checks, so that a sheet of any size is checked
/// in flat memory. A temporary SQLite file (owner-only), removed when the store goes away.
///
/// Not thread-safe: used by the validating thread only.
final class CheckStore {
    private let path: String
    private let db: SQLiteDatabase
    private let insertRow: SQLiteStatement

    init(directory: String) throws {
        path = (directory as NSString).appendingPathComponent("phoneshift-check-\(getpid())-\(UUID().uuidString).sqlite")
        do {
            db = try SQLiteDatabase(path: path)
            try db.execute("""
                PRAGMA journal_mode = OFF;
                PRAGMA synchronous = OFF;
                PRAGMA cache_size = -8000;
                PRAGMA temp_store = FILE;
                CREATE TABLE rows (
                    line INTEGER PRIMARY KEY,
                    user TEXT NOT NULL, user_kind TEXT, user_key TEXT,
                    input TEXT NOT NULL, phone TEXT, number_kind TEXT,
                    status INTEGER NOT NULL, codes TEXT NOT NULL, reason TEXT NOT NULL
                );
                """)
            insertRow = try db.prepare("INSERT INTO rows VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")
        } catch {
            unlink(path)
            throw PhoneShiftError(.store, "cannot create the check store in '\(directory)': \(error)")
        }
    }

    deinit {
        unlink(path)
    }

    /// Separator of codes and reasons inside one cell of the store.
    private static let separator: Character = "\u{1F}"

    func insert(_ outcomes: [RowOutcome]) throws {
        try db.transaction {
            for o in outcomes {
                try insertRow.run([
                    .int(o.line), .text(o.user), o.userKind.map { .text($0.rawValue) },
                    o.userKey.map { .text($0) },
                    // A cell can be 1 MB; the report echoes the start of it.
                    .text(String(o.input.prefix(256))),
                    o.phone.map { .text($0) }, o.numberKind.map { .text($0.rawValue) },
                    .int(o.status.rank), .text(o.codes.joined(separator: String(Self.separator))),
                    .text(o.reasons.joined(separator: String(Self.separator))),
                ])
            }
        }
    }

    /// Conflicts (one user, several numbers), duplicate rows (one user, one number, twice),
    /// shared numbers (one number, several users), among rows usable so far (ok or warning).
    func runSheetChecks() throws {
        let sep = Self.separator
        try db.transaction {
            try db.execute("""
                CREATE INDEX rows_user ON rows(user_key, phone) WHERE status <= 1 AND phone IS NOT NULL;
                CREATE INDEX rows_phone ON rows(phone, user_key) WHERE status <= 1 AND phone IS NOT NULL;

                CREATE TEMP TABLE conflicted AS
                    SELECT line, user_key, phone FROM rows
                    WHERE status <= 1 AND phone IS NOT NULL AND user_key IN (
                        SELECT user_key FROM rows WHERE status <= 1 AND phone IS NOT NULL
                        GROUP BY user_key HAVING COUNT(DISTINCT phone) > 1);
                CREATE INDEX conflicted_user ON conflicted(user_key);

                UPDATE rows SET status = 3,
                    codes = CASE codes WHEN '' THEN 'user-conflict' ELSE codes || '\(sep)user-conflict' END,
                    reason = (CASE reason WHEN '' THEN '' ELSE reason || '\(sep)' END)
                        || 'the same user is given a different number on line '
                        || (SELECT group_concat(line, ', ') FROM (
                                SELECT c.line FROM conflicted c
                                WHERE c.user_key = rows.user_key AND c.phone <> rows.phone
                                ORDER BY c.line LIMIT 5))
                WHERE line IN (SELECT line FROM conflicted);

                UPDATE rows SET status = 1,
                    codes = CASE codes WHEN '' THEN 'duplicate-row' ELSE codes || '\(sep)duplicate-row' END,
                    reason = (CASE reason WHEN '' THEN '' ELSE reason || '\(sep)' END)
                        || 'the same change as line '
                        || (SELECT MIN(r.line) FROM rows r
                            WHERE r.user_key = rows.user_key AND r.phone = rows.phone AND r.status <= 1)
                        || ' (duplicate row; it will be applied once)'
                WHERE status <= 1 AND phone IS NOT NULL AND EXISTS (
                    SELECT 1 FROM rows r WHERE r.status <= 1
                    AND r.user_key = rows.user_key AND r.phone = rows.phone AND r.line < rows.line);

                CREATE TEMP TABLE shared AS
                    SELECT phone, COUNT(DISTINCT user_key) AS users FROM rows
                    WHERE status <= 1 AND phone IS NOT NULL GROUP BY phone HAVING COUNT(DISTINCT user_key) > 1;

                UPDATE rows SET status = 1,
                    codes = CASE codes WHEN '' THEN 'shared-number' ELSE codes || '\(sep)shared-number' END,
                    reason = (CASE reason WHEN '' THEN '' ELSE reason || '\(sep)' END)
                        || 'the same number is given for '
                        || ((SELECT users FROM shared s WHERE s.phone = rows.phone) - 1)
                        || ' other user(s), e.g. on line '
                        || (SELECT group_concat(line, ', ') FROM (
                                SELECT r.line FROM rows r
                                WHERE r.phone = rows.phone AND r.user_key <> rows.user_key AND r.status <= 1
                                ORDER BY r.line LIMIT 3))
                        || '; only one of them can use it for SMS sign-in'
                WHERE status <= 1 AND phone IN (SELECT phone FROM shared);
                """)
        }
    }

    /// Every row's final outcome, in line order.
    func forEachOutcome(_ body: (RowOutcome) throws -> Void) throws {
        let query = try db.prepare("""
            SELECT line, user, user_kind, user_key, input, phone, number_kind, status, codes, reason
            FROM rows ORDER BY line
            """)
        try query.bind([])
        while try query.step() {
            let codes = query.text(8) ?? ""
            let reasons = query.text(9) ?? ""
            try body(RowOutcome(
                line: query.int(0), user: query.text(1) ?? "",
                userKind: query.text(2).flatMap(UserKeyKind.init(rawValue:)), userKey: query.text(3),
                input: query.text(4) ?? "", phone: query.text(5),
                numberKind: query.text(6).flatMap(NumberKind.init(rawValue:)),
                status: RowStatus(rank: query.int(7)),
                codes: codes.isEmpty ? [] : codes.split(separator: Self.separator, omittingEmptySubsequences: false).map(String.init),
                reasons: reasons.isEmpty ? [] : reasons.split(separator: Self.separator, omittingEmptySubsequences: false).map(String.init)))
        }
    }
}
