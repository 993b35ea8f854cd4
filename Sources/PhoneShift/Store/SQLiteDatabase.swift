import CSQLite
import Foundation

/// An SQLite failure: the result code and SQLite's message. Bound values never appear in it.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    public let code: Int32
    public let message: String
    public let context: String
    public var description: String { "SQLite error \(code) (\(context)): \(message)" }
}

/// One SQLite connection. Owns the handle and closes it in `deinit`.
///
/// Not thread-safe: a connection belongs to one thread (or one serial owner) at a time.
public final class SQLiteDatabase {
    let handle: OpaquePointer

    /// Opens (creating if needed) the database at `path`; a new file is created owner-only.
    public init(path: String) throws {
        // Made 0600 before SQLite opens it (SQLite creates under the umask; its -wal and -shm
        // files copy the database file's mode).
        if !path.isEmpty && path != ":memory:" { _ = try? OwnerOnly.createFile(path) }
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(db)
            throw SQLiteError(code: rc, message: message, context: "opening the database")
        }
        handle = db
        sqlite3_busy_timeout(db, 5000)
    }

    deinit { sqlite3_close_v2(handle) }

    /// Runs one or more statements that return no rows.
    public func execute(_ sql: String) throws {
        var error: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &error)
        if rc != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(error)
            throw SQLiteError(code: rc, message: message, context: "executing a statement")
        }
    }

    /// Compiles a statement.
    public func prepare(_ sql: String) throws -> SQLiteStatement {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw error(rc, "preparing a statement") }
        return SQLiteStatement(handle: statement, database: self)
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    func error(_ rc: Int32, _ context: String) -> SQLiteError {
        SQLiteError(code: rc, message: String(cString: sqlite3_errmsg(handle)), context: context)
    }
}

@available(*, unavailable, message: "an SQLite connection belongs to one serial owner")
extension SQLiteDatabase: Sendable {}

/// A prepared statement; finalized in `deinit`. Values are bound with SQLITE_TRANSIENT,
/// so SQLite keeps its own copy and no borrowed pointer outlives its call.
public final class SQLiteStatement {
    let handle: OpaquePointer
    private let database: SQLiteDatabase

    init(handle: OpaquePointer, database: SQLiteDatabase) {
        self.handle = handle
        self.database = database
    }

    deinit { sqlite3_finalize(handle) }

    /// Binds values to `?1`, `?2`… (nil binds NULL).
    @discardableResult
    public func bind(_ values: [SQLiteValue?]) throws -> SQLiteStatement {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let rc: Int32
            switch value {
            case nil: rc = sqlite3_bind_null(handle, index)
            case .integer(let v): rc = sqlite3_bind_int64(handle, index, v)
            case .real(let v): rc = sqlite3_bind_double(handle, index, v)
            case .text(let v): rc = sqlite3_bind_text(handle, index, v, -1, phoneshift_sqlite_transient())
            }
            if rc != SQLITE_OK { throw database.error(rc, "binding a value") }
        }
        return self
    }

    /// Advances to the next row; false when done.
    public func step() throws -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw database.error(rc, "running a statement")
        }
    }

    /// Ends the statement's current run (releasing what a partly read query holds).
    public func reset() { sqlite3_reset(handle) }

    /// Binds and runs a statement that returns no rows.
    public func run(_ values: [SQLiteValue?] = []) throws {
        try bind(values)
        while try step() {}
    }

    public func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(handle, column)) }
    public func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }
    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }
    public func text(_ column: Int32) -> String? {
        guard let pointer = sqlite3_column_text(handle, column) else { return nil }
        return String(cString: pointer)
    }

    /// The result's columns by name (as the query names them), for decoding by name.
    public lazy var columns: [String: Int32] = {
        var out: [String: Int32] = [:]
        for i in 0..<sqlite3_column_count(handle) {
            if let name = sqlite3_column_name(handle, i) { out[String(cString: name)] = i }
        }
        return out
    }()

    /// The column called `name`; a query that lacks it is a programming error, said as one.
    public func column(_ name: String) throws -> Int32 {
        guard let index = columns[name] else { throw SQLiteError(code: SQLITE_ERROR, message: "no column '\(name)' in the query's result", context: "reading a row") }
        return index
    }
    public func text(_ name: String) throws -> String? { text(try column(name)) }
    public func int(_ name: String) throws -> Int { int(try column(name)) }
    public func isNull(_ name: String) throws -> Bool { isNull(try column(name)) }
}

@available(*, unavailable, message: "a statement belongs to its connection's owner")
extension SQLiteStatement: Sendable {}

/// A value to bind.
public enum SQLiteValue: Sendable, Equatable {
    case integer(Int64)
    case real(Double)
    case text(String)
}

extension SQLiteValue: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral {
    public init(integerLiteral value: Int) { self = .integer(Int64(value)) }
    public init(stringLiteral value: String) { self = .text(value) }
    public static func int(_ value: Int) -> SQLiteValue { .integer(Int64(value)) }
}

/// The rowid of the last insert on `db`.
public func sqlite3LastInsertRowid(_ db: SQLiteDatabase) -> Int64 { sqlite3_last_insert_rowid(db.handle) }

/// Rows changed by the last statement on `db`.
public func sqlite3Changes(_ db: SQLiteDatabase) -> Int32 { sqlite3_changes(db.handle) }
