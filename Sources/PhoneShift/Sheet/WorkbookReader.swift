import Crypto
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import SWXMLHash
import ZIPFoundation

/// What a workbook cell held, when it was not plain text: the validator explains what Excel
/// did to a number typed as one, refuses a date or an error in the phone column, and warns
/// about a formula (its cached value is used).
public enum CellKind: String, Sendable, Equatable {
    case number, formula, date, boolean, error
}

/// Limits that keep a hostile workbook (a ZIP bomb, a giant shared-string table) from
/// taking the machine: none is near what a real change sheet needs.
public struct WorkbookLimits: Sendable {
    /// The most bytes one part of the workbook may inflate to.
    public var maxPartBytes: Int = 1 << 30
    /// The highest inflation ratio of a part bigger than 1 MiB (real sheets: 5–30).
    public var maxRatio: Int = 500
    public var maxSharedStrings: Int = 4_000_000
    public var maxSharedStringBytes: Int = 256 << 20
    /// Columns read; a value further right refuses the workbook.
    public var maxColumns: Int = 1024
    /// The small parts read whole (workbook, relationships, styles).
    public var maxSmallPartBytes: Int = 16 << 20
    public init() {}
}

/// Streams the rows of one worksheet of an Excel workbook (`.xlsx`) as sheet records, in flat
/// memory: ZIPFoundation opens the container; the small parts (workbook, relationships,
/// styles) are read with SWXMLHash; the shared strings and the worksheet stream through
/// Foundation's SAX parser (libxml2), the worksheet from an unlinked owner-only temporary file,
/// on a thread of its own that hands rows over in batches.
///
/// Cells: shared and inline strings as text; numbers exactly as the workbook stores them
/// (`4.47700900123E+11` becomes `447700900123`); formulas by their cached value; booleans
/// `TRUE`/`FALSE`; dates (by type or by a date number format) and errors (`#N/A`) marked.
/// Each record's line is the workbook's row number. A DTD (which Excel never writes) is
/// refused before parsing, so no entity can expand.
final class WorkbookReader {
    let path: String
    /// The worksheet read (its name in the workbook).
    let worksheet: String
    /// SHA-256 of the workbook file, as read before parsing.
    let sha256Hex: String

    private let queue = BoundedQueue<[SheetRecord]>(capacity: 4)
    private let failure = Locked<PhoneShiftError?>(nil)
    private let done = DispatchSemaphore(value: 0)
    private var pending: [SheetRecord] = []
    private var index = 0
    private var finished = false
    private var started = false

    /// The file starts like a ZIP archive (as every .xlsx does).
    static func looksLikeWorkbook(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let magic = (try? handle.read(upToCount: 4)) ?? Data()
        return magic == Data([0x50, 0x4B, 0x03, 0x04])
    }

    /// An OLE compound file: an old `.xls`, or a workbook protected with a password.
    static func looksLikeOLE(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 8)) == Data([0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1])
    }

    init(path: String, worksheet chosen: String?, maxCellBytes: Int, limits: WorkbookLimits = .init()) throws {
        self.path = path
        let shown = Sanitize.forMessage(path, limit: 200)
        @Sendable func refuse(_ why: String) -> PhoneShiftError {
            PhoneShiftError(.unreadableFile, "'\(shown)' is not a workbook PhoneShift can read: \(why)")
        }
        sha256Hex = try Self.digest(path)
        let archive: Archive
        do {
            archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
        } catch {
            throw refuse("its ZIP container is damaged or truncated (\(error)); open it in Excel and save it again as .xlsx, or save it as CSV")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? UInt64 ?? 0
        let parts = PartReader(archive: archive, archiveSize: size, limits: limits, refuse: refuse)

        // The workbook: its sheets in order, and where each is.
        let workbookXML = try parts.small("xl/workbook.xml", what: "the workbook part (xl/workbook.xml)")
        let workbook = XMLHash.config { $0.shouldProcessNamespaces = true }.parse(workbookXML)
        let sheets: [(name: String, id: String)] = workbook["workbook"]["sheets"]["sheet"].all.compactMap { sheet in
            guard let element = sheet.element, let name = element.attribute(by: "name")?.text else { return nil }
            let id = element.allAttributes.first { $0.key == "id" || $0.key.hasSuffix(":id") }?.value.text ?? ""
            return (name, id)
        }
        guard !sheets.isEmpty else { throw refuse("it lists no worksheet") }
        let picked: (name: String, id: String)
        if let chosen {
            guard let found = sheets.first(where: { $0.name.caseInsensitiveCompare(chosen) == .orderedSame }) else {
                throw PhoneShiftError(.badSetting, "the workbook '\(shown)' has no worksheet '\(Sanitize.forMessage(chosen, limit: 80))' (sheet.worksheet); it has: \(sheets.map { "'\(Sanitize.forMessage($0.name, limit: 80))'" }.joined(separator: ", "))")
            }
            picked = found
        } else {
            picked = sheets[0]
        }
        worksheet = picked.name
        let relsXML = try parts.small("xl/_rels/workbook.xml.rels", what: "the workbook's relationships (xl/_rels/workbook.xml.rels)")
        let rels = XMLHash.config { $0.shouldProcessNamespaces = true }.parse(relsXML)
        var sheetPart: String?
        var sharedPart: String?
        var stylesPart: String?
        for rel in rels["Relationships"]["Relationship"].all {
            guard let element = rel.element, let target = element.attribute(by: "Target")?.text else { continue }
            let type = element.attribute(by: "Type")?.text ?? ""
            if element.attribute(by: "Id")?.text == picked.id { sheetPart = target }
            if type.hasSuffix("/sharedStrings") { sharedPart = target }
            if type.hasSuffix("/styles") { stylesPart = target }
        }
        guard let sheetTarget = sheetPart else { throw refuse("the worksheet '\(Sanitize.forMessage(picked.name, limit: 80))' has no part in the workbook") }
        let sheetEntry = try Self.resolve(sheetTarget, refuse: refuse)

        // Styles: which cell formats are dates (a date typed in a phone column is refused).
        var dateStyles = Set<Int>()
        if let stylesPart, let styles = try parts.optionalSmall(try Self.resolve(stylesPart, refuse: refuse)) {
            let xml = XMLHash.config { $0.shouldProcessNamespaces = true }.parse(styles)
            var custom: [Int: String] = [:]
            for format in xml["styleSheet"]["numFmts"]["numFmt"].all {
                if let id = format.element?.attribute(by: "numFmtId").flatMap({ Int($0.text) }),
                   let code = format.element?.attribute(by: "formatCode")?.text {
                    custom[id] = code
                }
            }
            for (position, xf) in xml["styleSheet"]["cellXfs"]["xf"].all.enumerated() {
                let id = xf.element?.attribute(by: "numFmtId").flatMap { Int($0.text) } ?? 0
                if Self.isDateFormat(id: id, code: custom[id]) { dateStyles.insert(position) }
            }
        }

        // Shared strings, streamed (they may be many), within the limits.
        var shared: [String] = []
        if let sharedPart {
            let entryPath = try Self.resolve(sharedPart, refuse: refuse)
            if let file = try parts.toTemporaryFile(entryPath, optional: true) {
                let collector = SharedStringsParser(limits: limits)
                try collector.parse(file, refuse: refuse)
                shared = collector.strings
            }
        }
        guard let sheetFile = try parts.toTemporaryFile(sheetEntry, optional: false) else {
            throw refuse("its worksheet part '\(Sanitize.forMessage(sheetEntry, limit: 120))' is missing")
        }
        let rows = WorksheetParser(shared: shared, dateStyles: dateStyles, maxColumns: limits.maxColumns, maxCellBytes: maxCellBytes,
                                   queue: queue, refuse: refuse)
        let queue = self.queue, failure = self.failure, done = self.done
        let confined = ThreadConfined(rows)
        let thread = Thread {
            do { try confined.value.parse(sheetFile) } catch let error as PhoneShiftError { failure.withLock { $0 = error } } catch {
                failure.withLock { $0 = refuse("\(error)") }
            }
            queue.close()
            done.signal()
        }
        thread.name = "phoneshift-workbook"
        thread.start()
        started = true
    }

    deinit {
        // Stop the parser thread (it may be waiting to hand over rows) and wait for it. (An
        // init that threw never started it.)
        queue.close()
        if started { done.wait() }
    }

    func next() throws -> SheetRecord? {
        while index == pending.count {
            if finished { return nil }
            if let batch = queue.pop() {
                pending = batch
                index = 0
            } else {
                finished = true
                if let error = failure.withLock({ $0 }) { throw error }
                return nil
            }
        }
        defer { index += 1 }
        return pending[index]
    }

    // MARK: - Parts

    /// A relationship target as a path inside the archive (relative to `xl/`, or absolute
    /// from the archive's root); a target that leaves the archive is refused.
    static func resolve(_ target: String, refuse: (String) -> PhoneShiftError) throws -> String {
        var parts: [Substring] = target.hasPrefix("/") ? [] : ["xl"]
        for piece in target.split(separator: "/") {
            switch piece {
            case ".", "": continue
            case "..":
                guard !parts.isEmpty else { throw refuse("a part points outside the workbook ('\(Sanitize.forMessage(target, limit: 120))')") }
                parts.removeLast()
            default: parts.append(piece)
            }
        }
        return parts.joined(separator: "/")
    }

    /// Excel's built-in date and time formats, and custom codes with date or time letters
    /// outside quotes, brackets and escapes.
    static func isDateFormat(id: Int, code: String?) -> Bool {
        if (14...22).contains(id) || (27...36).contains(id) || (45...47).contains(id) || (50...58).contains(id) { return true }
        guard let code else { return false }
        var inQuote = false, inBracket = false, escaped = false
        for ch in code {
            if escaped { escaped = false; continue }
            switch ch {
            case "\\": escaped = true
            case "\"": inQuote.toggle()
            case "[": if !inQuote { inBracket = true }
            case "]": if !inQuote { inBracket = false }
            case "y", "Y", "m", "M", "d", "D", "h", "H", "s", "S":
                if !inQuote && !inBracket { return true }
            default: break
            }
        }
        return false
    }

    static func digest(_ path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw PhoneShiftError(.unreadableFile, "cannot open '\(Sanitize.forMessage(path, limit: 200))': \(String(cString: strerror(errno)))")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hasher.finalize().lowercaseHex
    }

    /// A number as Excel stored it, in plain digits when it is a whole number
    /// (`4.47700900123E+11` → `447700900123`, `7700900123.0` → `7700900123`); anything else
    /// as it was.
    static func plainNumber(_ text: String) -> String {
        var s = Substring(text.trimmingCharacters(in: .whitespaces))
        var sign = ""
        if s.first == "-" { sign = "-"; s = s.dropFirst() }
        var exponent = 0
        if let e = s.firstIndex(where: { $0 == "E" || $0 == "e" }) {
            guard let value = Int(s[s.index(after: e)...]) else { return text }
            exponent = value
            s = s[..<e]
        }
        let pieces = s.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = pieces.first, pieces.count <= 2, whole.allSatisfy(\.isASCIIDigit),
              pieces.count < 2 || pieces[1].allSatisfy(\.isASCIIDigit), abs(exponent) <= 30 else { return text }
        var digits = String(whole) + (pieces.count == 2 ? String(pieces[1]) : "")
        var point = whole.count + exponent  // digits before the decimal point
        guard point >= 0 else { return text }
        if point > digits.count { digits += String(repeating: "0", count: point - digits.count) }
        let fraction = digits.dropFirst(point)
        guard fraction.allSatisfy({ $0 == "0" }) else { return text }
        var integer = String(digits.prefix(point))
        while integer.count > 1 && integer.first == "0" { integer.removeFirst() }
        if integer.isEmpty { integer = "0"; point = 1 }
        return sign + integer
    }
}

/// Reads parts of the archive within the limits; a DTD anywhere in a part refuses it.
private struct PartReader {
    let archive: Archive
    /// The workbook file's size: no part's packed data can be larger.
    let archiveSize: UInt64
    let limits: WorkbookLimits
    let refuse: @Sendable (String) -> PhoneShiftError

    func entry(_ path: String) -> Entry? {
        archive[path] ?? archive.first { $0.path.caseInsensitiveCompare(path) == .orderedSame }
    }

    func small(_ path: String, what: String) throws -> Data {
        guard let data = try optionalSmall(path) else { throw refuse("\(what) is missing") }
        return data
    }

    func optionalSmall(_ path: String) throws -> Data? {
        guard let entry = entry(path) else { return nil }
        var data = Data()
        try extract(entry, limit: limits.maxSmallPartBytes) { data.append($0) }
        return data
    }

    /// The part inflated into an owner-only temporary file, already unlinked: the open
    /// handle is all that is left of it.
    func toTemporaryFile(_ path: String, optional: Bool) throws -> FileHandle? {
        guard let entry = entry(path) else { return nil }
        var template = Array((NSTemporaryDirectory() + "/phoneshift-workbook-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw PhoneShiftError(.unreadableFile, "cannot make a temporary file to read the workbook: \(String(cString: strerror(errno)))") }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        try extract(entry, limit: limits.maxPartBytes) { chunk in
            do { try handle.write(contentsOf: chunk) } catch {
                throw PhoneShiftError(.unreadableFile, "cannot write the temporary copy of the worksheet: \(error)")
            }
        }
        try handle.seek(toOffset: 0)
        return handle
    }

    /// Inflates `entry` chunk by chunk, stopping at the limit (the sizes a ZIP declares may
    /// lie), at a ratio no real sheet has, and at a DTD.
    func extract(_ entry: Entry, limit: Int, _ consume: @escaping (Data) throws -> Void) throws {
        let shown = Sanitize.forMessage(entry.path, limit: 120)
        if entry.uncompressedSize > UInt64(limit) {
            throw refuse("its part '\(shown)' would inflate to \(entry.uncompressedSize) bytes, more than the \(limit) allowed (a ZIP bomb?)")
        }
        // A packed size beyond the file's own is a damaged (or forged) header: ZIPFoundation
        // would read on past the end of the file, chunk after empty chunk.
        guard entry.compressedSize <= archiveSize else {
            throw refuse("its part '\(shown)' claims \(entry.compressedSize) packed bytes, more than the whole file; the workbook is damaged")
        }
        let compressed = max(Int(clamping: entry.compressedSize), 1)
        var total = 0
        var tail = Data()
        let checksum: CRC32
        do {
            checksum = try Self.withDeadline(seconds: 5 + Double(compressed) / Double(4 << 20), what: shown, refuse: refuse) { abandoned in
              try archive.extract(entry, bufferSize: 64 << 10, skipCRC32: false) { chunk in
                if abandoned() { throw PhoneShiftError(.unreadableFile, "abandoned") }
                total += chunk.count
                if total > limit {
                    throw PhoneShiftError(.unreadableFile, "its part '\(shown)' inflates to more than the \(limit) bytes allowed (a ZIP bomb?)")
                }
                if total > 1 << 20, total / compressed > limits.maxRatio {
                    throw PhoneShiftError(.unreadableFile, "its part '\(shown)' inflates more than \(limits.maxRatio) times (a ZIP bomb?)")
                }
                // A DTD (<!DOCTYPE or <!ENTITY) is never in a workbook Excel writes: refused,
                // so that no entity can expand or reach outside (the chunk edge is covered).
                let window = tail + chunk
                if window.range(of: Data("<!DOCTYPE".utf8)) != nil || window.range(of: Data("<!ENTITY".utf8)) != nil {
                    throw PhoneShiftError(.unreadableFile, "its part '\(shown)' holds a DTD (<!DOCTYPE>), which Excel never writes; refused so that no XML entity can expand")
                }
                tail = window.suffix(16)
                try consume(chunk)
              }
            }
        } catch let error as PhoneShiftError {
            throw refuse(error.message)
        } catch {
            throw refuse("its part '\(shown)' cannot be inflated (\(error))")
        }
        // ZIPFoundation returns the checksum of what it inflated; comparing it is ours to do.
        guard checksum == entry.checksum else {
            throw refuse("its part '\(shown)' is damaged (its CRC-32 does not match); open it in Excel and save it again")
        }
    }
}

extension PartReader {
    /// Runs `body` (an inflate) on a thread of its own and gives up after `seconds`: ZIPFoundation
    /// 0.9.20's inflate loop never ends when a deflate stream runs on to the end of the file (its
    /// reader then returns no bytes, and it asks again; found by the fuzzer). The abandoned
    /// thread is told to stop at its next chunk; one stuck in that loop spins until the process
    /// ends, which for the command line is at once, with this error.
    static func withDeadline(seconds: Double, what: String, refuse: (String) -> PhoneShiftError,
                             _ body: @escaping (_ abandoned: () -> Bool) throws -> CRC32) throws -> CRC32 {
        final class Box: @unchecked Sendable {
            // @unchecked: `result` is written by the worker before `done` is signalled and read
            // after the wait; `abandoned` is behind its lock.
            var result: Result<CRC32, Error>?
            let abandoned = Locked(false)
            let done = DispatchSemaphore(value: 0)
            let body: (() -> Bool) throws -> CRC32
            init(_ body: @escaping (() -> Bool) throws -> CRC32) { self.body = body }
        }
        let box = Box(body)
        let thread = Thread {
            box.result = Result { try box.body { box.abandoned.withLock { $0 } } }
            box.done.signal()
        }
        thread.name = "phoneshift-inflate"
        thread.start()
        guard box.done.wait(timeout: .now() + seconds) == .success, let result = box.result else {
            box.abandoned.withLock { $0 = true }
            throw refuse("its part '\(what)' does not end where the file does (the packed data runs past it); the workbook is damaged")
        }
        return try result.get()
    }
}

/// The shared-string table (`xl/sharedStrings.xml`): each `<si>`'s text runs joined, its
/// phonetic runs (`<rPh>`) left out.
private final class SharedStringsParser: NSObject, XMLParserDelegate {
    var strings: [String] = []
    private let limits: WorkbookLimits
    private var bytes = 0
    private var current = ""
    private var inText = false
    private var phonetic = 0
    private var problem: String?
    private var complete = false

    init(limits: WorkbookLimits) { self.limits = limits }

    func parse(_ file: FileHandle, refuse: (String) -> PhoneShiftError) throws {
        let parser = XMLParser(stream: InputStream(fileAtPath: "/dev/fd/\(file.fileDescriptor)")!)
        parser.shouldProcessNamespaces = true
        parser.shouldResolveExternalEntities = false
        parser.delegate = self
        let ok = parser.parse()
        if let problem { throw refuse(problem) }
        if !ok || !complete { throw refuse("its shared strings are not well-formed XML (\(parser.parserError.map { "\($0)" } ?? "they are cut short"))") }
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        switch name {
        case "si": current = ""
        case "rPh": phonetic += 1
        case "t": inText = phonetic == 0
        default: break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if inText && problem == nil { current += string }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        switch name {
        case "t": inText = false
        case "rPh": phonetic -= 1
        case "sst": complete = true
        case "si":
            guard problem == nil else { return }
            strings.append(current)
            bytes += current.utf8.count
            if strings.count > limits.maxSharedStrings || bytes > limits.maxSharedStringBytes {
                problem = "its shared-string table is larger than the \(limits.maxSharedStrings) strings or \(limits.maxSharedStringBytes >> 20) MB allowed"
                strings = []
            }
        default: break
        }
    }
}

/// The worksheet's rows, handed to the reader in batches through `queue`.
private final class WorksheetParser: NSObject, XMLParserDelegate {
    private let shared: [String]
    private let dateStyles: Set<Int>
    private let maxColumns: Int
    private let maxCellBytes: Int
    private let queue: BoundedQueue<[SheetRecord]>
    private let refuse: @Sendable (String) -> PhoneShiftError
    private var batch: [SheetRecord] = []
    private var problem: String?
    private var stopped = false
    private var complete = false

    private var rowNumber = 0
    private var fields: [String] = []
    private var kinds: [Int: CellKind] = [:]
    private var problems: [RecordProblem] = []
    private var column = -1
    private var inCell = false
    private var cellRef: String?
    private var type = ""
    private var style = 0
    private var hasFormula = false
    private var value = ""
    private var inlineText = ""
    private var capture: Capture = .none
    private var phonetic = 0
    private enum Capture { case none, value, inline }

    init(shared: [String], dateStyles: Set<Int>, maxColumns: Int, maxCellBytes: Int, queue: BoundedQueue<[SheetRecord]>,
         refuse: @escaping @Sendable (String) -> PhoneShiftError) {
        self.shared = shared
        self.dateStyles = dateStyles
        self.maxColumns = maxColumns
        self.maxCellBytes = maxCellBytes
        self.queue = queue
        self.refuse = refuse
    }

    func parse(_ file: FileHandle) throws {
        let parser = XMLParser(stream: InputStream(fileAtPath: "/dev/fd/\(file.fileDescriptor)")!)
        parser.shouldProcessNamespaces = true
        parser.shouldResolveExternalEntities = false
        parser.delegate = self
        let ok = parser.parse()
        if stopped { return }
        if let problem { throw refuse(problem) }
        // (A stream parse on Linux can end without an error on a part cut short: the closing
        // </worksheet> must have been seen.)
        if !ok || !complete { throw refuse("its worksheet is not well-formed XML after row \(rowNumber) (\(parser.parserError.map { "\($0)" } ?? "it is cut short"))") }
        if !batch.isEmpty { queue.push(batch) }
    }

    /// `B12` → column 1; nil when it is not a cell reference.
    static func column(of reference: String) -> Int? {
        var column = 0, letters = 0
        for scalar in reference.unicodeScalars {
            switch scalar.value {
            case 65...90: column = column * 26 + Int(scalar.value - 64); letters += 1
            case 97...122: column = column * 26 + Int(scalar.value - 96); letters += 1
            default:
                guard letters > 0 else { return nil }
                return column - 1
            }
            if letters > 3 { return nil }
        }
        return letters > 0 ? column - 1 : nil
    }

    /// Once the reader is gone or the sheet is refused, the rest of the part is only read
    /// through, doing nothing (bounded by the part limit), rather than aborting the parser
    /// from inside one of its own callbacks.
    private var idle: Bool { stopped || problem != nil }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        guard !idle else { return }
        switch name {
        case "row":
            rowNumber = attributes["r"].flatMap { Int($0) } ?? rowNumber + 1
            fields = []
            kinds = [:]
            problems = []
            column = -1
            inCell = false
        case "c":
            inCell = true
            cellRef = attributes["r"]
            column = cellRef.flatMap(Self.column(of:)) ?? column + 1
            type = attributes["t"] ?? "n"
            style = attributes["s"].flatMap { Int($0) } ?? 0
            hasFormula = false
            value = ""
            inlineText = ""
        case "v": capture = .value
        case "f": hasFormula = true
        case "rPh": phonetic += 1
        case "t": if type == "inlineStr" && phonetic == 0 { capture = .inline }
        default: break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard !idle else { return }
        switch capture {
        case .value: value += string
        case .inline: inlineText += string
        case .none: break
        }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        guard !idle else { return }
        switch name {
        case "v", "t": capture = .none
        case "rPh": phonetic -= 1
        case "c":
            // Only a cell that began in this row (malformed XML can close one that did not).
            if inCell, column >= 0 { endCell(parser) }
            inCell = false
        case "worksheet": complete = true
        case "row":
            // Trailing blanks are dropped so that a styled but empty cell far right adds nothing.
            while let last = fields.last, last.isEmpty, kinds[fields.count - 1] == nil { fields.removeLast() }
            batch.append(SheetRecord(line: rowNumber, fields: fields, problems: problems, cellKinds: kinds))
            if batch.count >= 256 {
                if !queue.push(batch) { stopped = true }
                batch = []
            }
        default: break
        }
    }

    private func endCell(_ parser: XMLParser) {
        var text: String
        var kind: CellKind?
        switch type {
        case "s":
            guard let index = Int(value.trimmingCharacters(in: .whitespaces)), shared.indices.contains(index) else {
                problem = "cell \(Sanitize.forMessage(cellRef ?? "?", limit: 12)) on row \(rowNumber) names a shared string the workbook does not have"
                return
            }
            text = shared[index]
        case "inlineStr": text = inlineText
        case "str": text = value
        case "b": text = value == "1" ? "TRUE" : "FALSE"; kind = .boolean
        case "e": text = value; kind = .error
        case "d": text = value; kind = .date
        default:
            text = value.isEmpty ? "" : WorkbookReader.plainNumber(value)
            if !value.isEmpty { kind = dateStyles.contains(style) ? .date : .number }
        }
        if hasFormula { kind = kind == .error || kind == .date ? kind : .formula }
        guard !text.isEmpty || kind == .formula else { return }
        guard column < maxColumns else {
            problem = "cell \(Sanitize.forMessage(cellRef ?? "?", limit: 12)) on row \(rowNumber) is beyond column \(maxColumns); PhoneShift reads sheets of at most \(maxColumns) columns"
            return
        }
        if column >= fields.count { fields.append(contentsOf: repeatElement("", count: column - fields.count + 1)) }
        if text.utf8.count > maxCellBytes {
            problems.append(.fieldTooLarge(field: column + 1, bytes: text.utf8.count, limit: maxCellBytes))
            text = ""
        }
        fields[column] = text
        if let kind { kinds[column] = kind }
    }
}
