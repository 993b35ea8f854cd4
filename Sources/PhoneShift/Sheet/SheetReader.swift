import CCSV
import Crypto
import Foundation

/// One record of a sheet as read from the file.
public struct SheetRecord: Sendable, Equatable {
    /// Physical line (1-based) on which the record starts; a quoted field may span lines.
    public var line: Int
    /// Field texts, decoded as UTF-8. A field that was not valid text is empty here and
    /// `problem` says so.
    public var fields: [String]
    /// The first field that could not be decoded cleanly (nil: none).
    public var problem: RecordProblem? { problems.first }
    /// Every field that could not be decoded cleanly, in field order.
    public var problems: [RecordProblem] = []
    /// A workbook's cells that were not text, by 0-based field (empty for a CSV sheet).
    public var cellKinds: [Int: CellKind] = [:]

    public init(line: Int, fields: [String], problems: [RecordProblem] = [], cellKinds: [Int: CellKind] = [:]) {
        self.line = line
        self.fields = fields
        self.problems = problems
        self.cellKinds = cellKinds
    }
}

/// Why a record's bytes could not be used as text.
public enum RecordProblem: Sendable, Equatable {
    /// Bytes not valid in the sheet's encoding, in the given 1-based field.
    case invalidEncoding(field: Int, encoding: TextEncoding)
    /// A NUL byte in the given 1-based field (binary data, or UTF-16 read as UTF-8).
    case nulByte(field: Int)
    /// A (properly closed) field longer than the reader's cap; only its row is lost.
    case fieldTooLarge(field: Int, bytes: Int, limit: Int)

    /// The 1-based field the problem is in.
    public var field: Int {
        switch self {
        case .invalidEncoding(let field, _), .nulByte(let field), .fieldTooLarge(let field, _, _): return field
        }
    }

    public var message: String {
        switch self {
        case .invalidEncoding(let field, let encoding):
            let hint = encoding == .utf8
                ? "; if the file was saved by Excel on Windows, try --encoding windows-1252" : ""
            return "field \(field) holds bytes that are not valid \(encoding.rawValue)\(hint)"
        case .nulByte(let field):
            return "field \(field) holds a NUL byte (binary data in a text sheet)"
        case .fieldTooLarge(let field, let bytes, let limit):
            return "field \(field) is \(Self.size(bytes)) long, more than the \(Self.size(limit)) a cell may hold (its quotes are closed, so the rest of the sheet is read)"
        }
    }

    static func size(_ bytes: Int) -> String {
        bytes >= 1 << 20 ? String(format: "%.1f MB", Double(bytes) / Double(1 << 20)) : "\(bytes / 1024) KB"
    }
}

/// Settings for reading a sheet.
public struct SheetReaderOptions: Sendable {
    /// The words a job's `sheet.delimiter` and validate's `--delimiter` accept, as people say them.
    public static let delimiterWords = "',', ';', 'tab' or '|' (or comma, semicolon, pipe)"

    /// The delimiter a setting names: `,` `;` `|` or a tab, by character or by name; nil when
    /// it names none of them. The one reading of a delimiter setting, wherever it is given.
    public static func delimiter(named text: String) -> UInt8? {
        switch text.lowercased() {
        case ",", "comma": UInt8(ascii: ",")
        case ";", "semicolon": UInt8(ascii: ";")
        case "tab", "\\t", "\t": UInt8(ascii: "\t")
        case "|", "pipe": UInt8(ascii: "|")
        default: nil
        }
    }

    /// Field delimiter; nil detects `,` `;` tab or `|` from the first line.
    public var delimiter: UInt8?
    /// Encoding; nil detects UTF-8 / UTF-16 from the byte-order mark (UTF-8 without one).
    public var encoding: TextEncoding?
    /// The longest field accepted. A longer one is almost always a quote left open.
    public var maxFieldBytes: Int
    /// Bytes read from the file at a time.
    public var chunkSize: Int
    /// The worksheet of an Excel workbook to read (`sheet.worksheet`); nil: the first.
    public var worksheet: String?
    /// Limits against hostile workbooks.
    public var workbookLimits = WorkbookLimits()
    /// A named pipe: how long to wait for a program to open it for writing before saying
    /// that none does (instead of waiting forever).
    public var pipeWriterWait: Double

    public init(delimiter: UInt8? = nil, encoding: TextEncoding? = nil,
                maxFieldBytes: Int = 1 << 20, chunkSize: Int = 64 << 10, pipeWriterWait: Double = 10) {
        self.delimiter = delimiter
        self.encoding = encoding
        self.maxFieldBytes = maxFieldBytes
        self.chunkSize = chunkSize
        self.pipeWriterWait = pipeWriterWait
    }
}

/// Streams the records of a CSV sheet through libcsv in constant memory — or, when the file
/// is an Excel workbook (`.xlsx`), the rows of one of its worksheets (`WorkbookReader`), with
/// the workbook's row numbers as lines.
///
/// RFC 4180 quoting (embedded delimiters, doubled quotes, line breaks), CRLF, LF or CR
/// line ends, UTF-8 with or without BOM, UTF-16 with BOM, explicit Windows-1252, and the
/// physical line on which every record starts.
///
/// Not thread-safe: one reader belongs to one thread at a time.
public final class SheetReader {
    public let path: String
    public private(set) var encoding: TextEncoding = .utf8
    public private(set) var delimiter: UInt8 = UInt8(ascii: ",")

    /// The workbook being read, when the sheet is one (then `encoding` is UTF-8 and
    /// `delimiter` a comma: what failures.csv is written in).
    public var isWorkbook: Bool { workbook != nil }
    /// The worksheet read, when the sheet is a workbook.
    public var worksheet: String? { workbook?.worksheet }
    private var workbook: WorkbookReader?

    private let options: SheetReaderOptions
    private let file: UnsafeMutablePointer<FILE>
    private var parser = csv_parser()
    private var transcoder: UTF8Transcoder
    private let sink = Sink()
    private var readBuffer: [UInt8]
    private var utf8Buffer: [UInt8] = []
    private var lookahead: [UInt8] = []   // UTF-8 bytes read ahead to detect the delimiter
    private var line = 1
    private var lastByteWasCR = false
    private var atEnd = false
    private var finished = false
    private var hasher = Crypto.SHA256()

    /// SHA-256 (lowercase hex) of every byte this reader read from the file, known once it
    /// has read to the end (nil before): the fingerprint of exactly the sheet that was
    /// checked, not of a second read that may see another version.
    public private(set) var sha256Hex: String?

    /// Opens `path`. Throws `unreadableFile` when it cannot be opened or is a directory.
    public init(path: String, options: SheetReaderOptions = .init()) throws {
        self.path = path
        self.options = options
        try InputFile.checkSheet(path, allowPipe: true)
        // Workbooks first, before anything is opened here (an init that throws later must not
        // leave a FILE to close twice).
        let workbook = try Self.openWorkbook(path, options: options)
        let file: UnsafeMutablePointer<FILE>
        if InputFile.kind(path).0 == .pipe {
            file = try Self.openPipe(path, wait: options.pipeWriterWait)
        } else {
            guard let opened = fopen(path, "rb") else {
                let reason = String(cString: strerror(errno))
                throw PhoneShiftError(.unreadableFile, "cannot open '\(Sanitize.forMessage(path, limit: 200))': \(reason)")
            }
            file = opened
        }
        self.file = file
        if let workbook {
            // (The FILE stays open and unread until deinit, as for a CSV sheet.)
            self.workbook = workbook
            self.readBuffer = []
            self.transcoder = UTF8Transcoder(encoding: .utf8)
            sha256Hex = workbook.sha256Hex
            csv_init(&parser, 0)
            return
        }
        self.readBuffer = [UInt8](repeating: 0, count: options.chunkSize)
        self.transcoder = UTF8Transcoder(encoding: .utf8)
        guard csv_init(&parser, 0) == 0 else {
            // (deinit closes the file: an init that throws once every property is set is deinitialised.)
            throw PhoneShiftError(.unreadableFile, "cannot start the CSV parser (out of memory)")
        }
        try start()
    }

    /// The workbook at `path` (nil: the sheet is a CSV file or a pipe). Old `.xls`,
    /// password-protected, binary and OpenDocument workbooks are refused with what to do.
    private static func openWorkbook(_ path: String, options: SheetReaderOptions) throws -> WorkbookReader? {
        let shown = Sanitize.forMessage(path, limit: 200), lowered = path.lowercased()
        guard InputFile.kind(path).0 == .regular else { return nil }
        if WorkbookReader.looksLikeOLE(path) {
            throw PhoneShiftError(.unreadableFile, "'\(shown)' is an old Excel workbook (.xls) or one protected with a password: open it in Excel and save a copy without a password as .xlsx (Excel Workbook) or CSV UTF-8")
        }
        if lowered.hasSuffix(".xlsb") || lowered.hasSuffix(".ods") {
            throw PhoneShiftError(.unreadableFile, "'\(shown)' is a binary or OpenDocument workbook: save it as .xlsx (Excel Workbook) or CSV UTF-8")
        }
        if WorkbookReader.looksLikeWorkbook(path) {
            return try WorkbookReader(path: path, worksheet: options.worksheet, maxCellBytes: options.maxFieldBytes, limits: options.workbookLimits)
        }
        if lowered.hasSuffix(".xlsx") || lowered.hasSuffix(".xlsm") {
            throw PhoneShiftError(.unreadableFile, "'\(shown)' is named like an Excel workbook but is not one (no ZIP container); open it in Excel and save it again")
        }
        return nil
    }

    deinit {
        csv_free(&parser)
        fclose(file)
    }

    /// Opens a named pipe without hanging when no program writes to it: opened non-blocking,
    /// it reads end-of-file while it has no writer (POSIX read(2) on a FIFO), so it is polled
    /// for up to `wait` seconds; once a writer is there (or the first byte came) reading
    /// blocks as for any file. The first byte read is pushed back.
    static func openPipe(_ path: String, wait: Double) throws -> UnsafeMutablePointer<FILE> {
        let shown = Sanitize.forMessage(path, limit: 200)
        let fd = open(path, O_RDONLY | O_NONBLOCK)
        guard fd >= 0 else { throw PhoneShiftError(.unreadableFile, "cannot open '\(shown)': \(String(cString: strerror(errno)))") }
        let deadline = Date().addingTimeInterval(wait)
        var first: UInt8 = 0
        var got = false
        var blocking = false
        while true {
            let n = read(fd, &first, 1)
            if n == 1 { got = true; break }
            if n == 0 && blocking { break }  // the writer closed with nothing sent: an empty sheet
            if n < 0 && errno == EAGAIN {
                // A writer has the pipe open and has sent nothing yet: wait for it as for a file.
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
                blocking = true
                continue
            }
            if n < 0 && errno != EINTR {
                let reason = String(cString: strerror(errno))
                close(fd)
                throw PhoneShiftError(.unreadableFile, "cannot read the pipe '\(shown)': \(reason)")
            }
            guard Date() < deadline else {
                close(fd)
                throw PhoneShiftError(.unreadableFile, "no program is writing to the pipe '\(shown)' (waited \(Int(wait)) s); start the program that feeds it, or save the sheet to a file")
            }
            usleep(20_000)
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        guard let file = fdopen(fd, "rb") else {
            close(fd)
            throw PhoneShiftError(.unreadableFile, "cannot read the pipe '\(shown)'")
        }
        if got { ungetc(Int32(first), file) }
        return file
    }

    /// The header: the first record that is not blank (or that could not be read cleanly).
    /// Throws `emptySheet` when there is none.
    public func header() throws -> SheetRecord {
        while let record = try next() {
            if record.fields.allSatisfy({ $0.isBlank }) && record.problem == nil { continue }
            return record
        }
        throw PhoneShiftError(.emptySheet, "'\(Sanitize.forMessage(path, limit: 200))' is empty: no header and no rows")
    }

    /// Returns the next record, or nil at end of file. Blank lines are skipped.
    /// Throws for problems after which the rest of the file cannot be trusted: an unclosed
    /// quote at end of file, a read error. A field over `maxFieldBytes` whose quotes close
    /// makes its record's problem (`fieldTooLarge`), and reading goes on.
    public func next() throws -> SheetRecord? {
        if let workbook { return try workbook.next() }
        while sink.nextIndex == sink.records.count {
            sink.records.removeAll(keepingCapacity: true)
            sink.nextIndex = 0
            if finished { return nil }
            try pump()
        }
        defer { sink.nextIndex += 1 }
        return sink.records[sink.nextIndex]
    }

    // MARK: - Reading

    private func start() throws {
        // Sniff the encoding from the first bytes.
        let n = fread(&readBuffer, 1, readBuffer.count, file)
        if n < readBuffer.count, ferror(file) != 0 { throw readError() }
        digest(n)
        var first = Array(readBuffer[0..<n])
        if let forced = options.encoding {
            encoding = forced
            if let (found, bom) = TextEncoding.sniff(first), found == forced { first.removeFirst(bom) }
        } else if let (found, bom) = TextEncoding.sniff(first) {
            encoding = found
            first.removeFirst(bom)
        }
        transcoder = UTF8Transcoder(encoding: encoding)
        sink.encoding = encoding
        first.withUnsafeBytes { transcoder.transcode($0, into: &lookahead) }
        if n < readBuffer.count {
            atEnd = true
            transcoder.finish(into: &lookahead)
        }
        delimiter = options.delimiter ?? Self.detectDelimiter(lookahead)
        csv_set_delim(&parser, delimiter)
        if delimiter == UInt8(ascii: "\t") {
            // libcsv trims tabs as spaces by default; with tab as delimiter only blanks are spaces.
            csv_set_space_func(&parser) { $0 == 0x20 ? 1 : 0 }
        }
    }

    /// Adds the first `count` bytes of the read buffer to the digest; at the end of the file,
    /// the digest is final.
    private func digest(_ count: Int) {
        if count > 0 { readBuffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<count])) } }
        if count < readBuffer.count { sha256Hex = hasher.finalize().lowercaseHex }
    }

    /// Reads one chunk and feeds it to the parser.
    private func pump() throws {
        if !lookahead.isEmpty {
            utf8Buffer = lookahead
            lookahead = []
        } else if !atEnd {
            let n = fread(&readBuffer, 1, readBuffer.count, file)
            if n < readBuffer.count {
                if ferror(file) != 0 { throw readError() }
                atEnd = true
            }
            digest(n)
            utf8Buffer.removeAll(keepingCapacity: true)
            readBuffer.withUnsafeBytes { transcoder.transcode(UnsafeRawBufferPointer(rebasing: $0[0..<n]), into: &utf8Buffer) }
            if atEnd { transcoder.finish(into: &utf8Buffer) }
        } else {
            try finish()
            return
        }
        try feed(utf8Buffer)
        if atEnd && lookahead.isEmpty { try finish() }
    }

    /// Feeds bytes line piece by line piece, so that the parser state tells which
    /// physical line a record starts on.
    private func feed(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            var start = 0
            let count = raw.count
            var i = 0
            while i < count {
                let byte = raw[i]
                if byte == 0x0A || byte == 0x0D {
                    try parse(UnsafeRawBufferPointer(rebasing: raw[start...i]))
                    if byte == 0x0D || !lastByteWasCR { line += 1 }
                    lastByteWasCR = byte == 0x0D
                    start = i + 1
                } else {
                    lastByteWasCR = false
                }
                i += 1
            }
            if start < count { try parse(UnsafeRawBufferPointer(rebasing: raw[start..<count])) }
        }
    }

    private func parse(_ piece: UnsafeRawBufferPointer) throws {
        if phoneshift_csv_row_not_begun(&parser) != 0 { sink.recordLine = line }
        let userData = Unmanaged.passUnretained(sink).toOpaque()
        let used = csv_parse(&parser, piece.baseAddress, piece.count, Sink.fieldCallback, Sink.recordCallback, userData)
        if used != piece.count {
            throw PhoneShiftError(.unreadableFile, line: line,
                                  "the CSV parser stopped: \(String(cString: csv_strerror(csv_error(&parser))))")
        }
        let pending = phoneshift_csv_pending_bytes(&parser)
        if pending > options.maxFieldBytes {
            // Too long for a cell. Its bytes are dropped (memory stays bounded) and counted;
            // parsing goes on: a field whose quotes close costs its row only, one whose quote
            // never closes ends as an unclosed quote at end of file.
            sink.oversized += pending
            if sink.oversizedLine == nil { sink.oversizedLine = sink.recordLine }
            sink.limit = options.maxFieldBytes
            phoneshift_csv_discard_pending(&parser)
        }
    }

    private func finish() throws {
        guard !finished else { return }
        finished = true
        let userData = Unmanaged.passUnretained(sink).toOpaque()
        if phoneshift_csv_in_open_quote(&parser) != 0
            || csv_fini(&parser, Sink.fieldCallback, Sink.recordCallback, userData) != 0 {
            let dropped = sink.oversized > 0 ? " (the field grew to \(RecordProblem.size(sink.oversized)) before the end of the file)" : ""
            throw PhoneShiftError(.unbalancedQuote, line: sink.oversizedLine ?? sink.recordLine,
                "a quoted field opened on this line is never closed (the file ends inside quotes)\(dropped)")
        }
    }

    private func readError() -> PhoneShiftError {
        PhoneShiftError(.unreadableFile, "cannot read '\(path)': \(String(cString: strerror(errno)))")
    }

    /// Picks the candidate delimiter that occurs most often, outside quotes, on the first line.
    static func detectDelimiter(_ bytes: [UInt8]) -> UInt8 {
        let candidates: [UInt8] = [UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "\t"), UInt8(ascii: "|")]
        var counts = [Int](repeating: 0, count: candidates.count)
        var quoted = false
        for byte in bytes {
            if byte == UInt8(ascii: "\"") { quoted.toggle(); continue }
            if quoted { continue }
            if byte == 0x0A || byte == 0x0D { break }
            if let i = candidates.firstIndex(of: byte) { counts[i] += 1 }
        }
        let best = counts.indices.max { counts[$0] < counts[$1] || (counts[$0] == counts[$1] && $0 > $1) }!
        return counts[best] == 0 ? candidates[0] : candidates[best]
    }

    /// Receives libcsv's callbacks. Reached through the userdata pointer; lives as long
    /// as the reader, which outlives every parse call.
    private final class Sink {
        var records: [SheetRecord] = []
        var nextIndex = 0
        var fields: [String] = []
        var problems: [RecordProblem] = []
        var recordLine = 1
        /// Bytes of the current field dropped for being over the cap, and where it started.
        var oversized = 0
        var oversizedLine: Int?
        var limit = 0
        var encoding: TextEncoding = .utf8

        static let fieldCallback: @convention(c) (UnsafeMutableRawPointer?, Int, UnsafeMutableRawPointer?) -> Void = { field, length, data in
            let sink = Unmanaged<Sink>.fromOpaque(data!).takeUnretainedValue()
            if sink.oversized > 0 {
                sink.problems.append(.fieldTooLarge(field: sink.fields.count + 1, bytes: sink.oversized + length, limit: sink.limit))
                sink.oversized = 0
                sink.oversizedLine = nil
                sink.fields.append("")
                return
            }
            guard let field, length > 0 else {
                sink.fields.append("")
                return
            }
            // Decoded straight from libcsv's buffer, which is valid for this call only.
            let bytes = UnsafeBufferPointer(start: field.assumingMemoryBound(to: UInt8.self), count: length)
            if memchr(field, 0, length) != nil {
                sink.problems.append(.nulByte(field: sink.fields.count + 1))
                sink.fields.append("")
            } else if let text = String(validating: bytes, as: UTF8.self) {
                sink.fields.append(text)
            } else {
                sink.problems.append(.invalidEncoding(field: sink.fields.count + 1, encoding: sink.encoding))
                sink.fields.append("")
            }
        }

        static let recordCallback: @convention(c) (Int32, UnsafeMutableRawPointer?) -> Void = { _, data in
            let sink = Unmanaged<Sink>.fromOpaque(data!).takeUnretainedValue()
            sink.records.append(SheetRecord(line: sink.recordLine, fields: sink.fields, problems: sink.problems))
            sink.fields = []
            sink.problems = []
        }
    }
}

@available(*, unavailable, message: "a SheetReader belongs to one thread")
extension SheetReader: Sendable {}
