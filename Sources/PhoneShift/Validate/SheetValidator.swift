import Dispatch
import Foundation
import Logging

/// Settings for validating a sheet.
public struct ValidationOptions: Sendable {
    public var columns: ColumnOverrides
    public var phoneType: PhoneType
    /// Region for numbers without a country code when the row names none.
    public var defaultRegion: String?
    /// A possible number outside the library's range data is an error, not a warning.
    public var strict: Bool
    public var reader: SheetReaderOptions
    /// Threads that normalise rows.
    public var workers: Int
    /// Rows read, normalised and stored per batch.
    public var batchSize: Int
    /// Where the check store's temporary database goes.
    public var temporaryDirectory: String
    /// A sheet of users only: no phone column is looked for, no number checked
    /// (`mode: removePhones`).
    public var usersOnly = false

    public init(columns: ColumnOverrides = .init(), phoneType: PhoneType = .mobile,
                defaultRegion: String? = nil, strict: Bool = false, reader: SheetReaderOptions = .init(),
                workers: Int = ProcessInfo.processInfo.activeProcessorCount, batchSize: Int = 512,
                temporaryDirectory: String = NSTemporaryDirectory()) {
        self.columns = columns
        self.phoneType = phoneType
        self.defaultRegion = defaultRegion
        self.strict = strict
        self.reader = reader
        self.workers = max(1, workers)
        self.batchSize = max(1, batchSize)
        self.temporaryDirectory = temporaryDirectory
    }
}

/// Offline validation of a change sheet: read (libcsv) → map columns → normalise
/// (libphonenumber, on all cores) → sheet-wide checks (duplicates, conflicts) → one
/// outcome per row, in line order.
///
/// Memory stays flat whatever the sheet's size: rows go in batches to an on-disk check
/// store (SQLite, owner-only, deleted afterwards), where the sheet-wide checks run.
public struct SheetValidator: Sendable {
    public var options: ValidationOptions
    public var logger: Logger

    public init(options: ValidationOptions = .init(), logger: Logger = Logger(label: "phoneshift.validate")) {
        self.options = options
        self.logger = logger
    }

    /// Validates the sheet at `path`, calling `each` with every row's outcome in line
    /// order, and returns the totals.
    ///
    /// Throws `PhoneShiftError` when the sheet as a whole cannot be used (unreadable,
    /// empty, no header, no user or phone column, an unclosed quote, a runaway field);
    /// bad rows never throw, they are outcomes.
    public func validate(path: String, each: (RowOutcome) throws -> Void = { _ in }) throws -> ValidationSummary {
        if let region = options.defaultRegion, !RegionResolver.isSupported(region) {
            throw PhoneShiftError(.badSetting, "--region '\(Sanitize.forMessage(region))' is not a region code the phone library knows (use ISO codes such as US, GB, DE)")
        }
        let reader = try SheetReader(path: path, options: options.reader)
        let header = try reader.header()
        if let problem = header.problem {
            throw PhoneShiftError(.badHeader, line: header.line, "the header cannot be read: \(problem.message)")
        }
        let mapping = try ColumnMapping.resolve(headers: header.fields, overrides: options.columns, phoneType: options.phoneType,
                                                usersOnly: options.usersOnly)
        for note in mapping.notes { logger.info("\(note)") }

        let started = ContinuousClock.now
        let store = try CheckStore(directory: options.temporaryDirectory)
        let rowChecker = RowChecker(mapping: mapping, headerCount: header.fields.count,
                                    normalizer: PhoneNormalizer(phoneType: options.phoneType, strict: options.strict),
                                    defaultRegion: options.defaultRegion)
        let rowCount = try checkAndStore(reader: reader, checker: rowChecker, store: store)
        guard rowCount > 0 else {
            throw PhoneShiftError(.noDataRows, line: header.line, "the sheet has a header but no rows")
        }
        let checked = ContinuousClock.now
        logger.info("read and checked \(rowCount) rows in \(checked - started)")
        try store.runSheetChecks()
        logger.info("sheet-wide checks in \(ContinuousClock.now - checked)")

        var summary = ValidationSummary(sheet: path, encoding: reader.encoding.rawValue,
                                        delimiter: String(UnicodeScalar(reader.delimiter)), mapping: mapping,
                                        phoneType: options.phoneType)
        summary.sha256 = reader.sha256Hex
        summary.worksheet = reader.worksheet
        try store.forEachOutcome { outcome in
            summary.count(outcome)
            try each(outcome)
        }
        return summary
    }

    /// The pipeline: this thread reads batches; `workers` threads check them (libphonenumber
    /// is the costly part); one thread stores them in order. Returns the number of rows.
    /// Memory stays bounded: at most a few batches are in flight at once.
    private func checkAndStore(reader: SheetReader, checker: RowChecker, store: CheckStore) throws -> Int {
        let workers = options.workers
        let input = BoundedQueue<(Int, [SheetRecord])>(capacity: workers * 2)
        let output = InOrderCollector<[RowOutcome]>(producers: workers, capacity: workers * 4)
        let storeBox = ThreadConfined(store)
        let failure = Locked<Error?>(nil)
        let done = DispatchGroup()

        for index in 0..<workers {
            done.enter()
            let thread = Thread {
                while let (sequence, batch) = input.pop() {
                    output.put(sequence, batch.map(checker.check))
                }
                output.producerDone()
                done.leave()
            }
            thread.name = "phoneshift-check-\(index)"
            thread.start()
        }
        done.enter()
        let logger = self.logger
        let writer = Thread {
            // The store is used by this thread only until `done` is waited for.
            var busy = Duration.zero
            defer { logger.info("storing rows took \(busy)") }
            while let rows = output.take() {
                do {
                    let start = ContinuousClock.now
                    defer { busy += ContinuousClock.now - start }
                    try storeBox.value.insert(rows)
                } catch {
                    failure.offer(error)
                    output.cancel()
                    input.close()
                    break
                }
            }
            done.leave()
        }
        writer.name = "phoneshift-store"
        writer.start()

        var rowCount = 0
        var sequence = 0
        var batch: [SheetRecord] = []
        batch.reserveCapacity(options.batchSize)
        do {
            while let record = try reader.next() {
                // A row of empty cells (",,,," at the end of Excel exports) is a blank line.
                if record.problem == nil, record.fields.allSatisfy(\.isBlank) { continue }
                batch.append(record)
                if batch.count == options.batchSize {
                    guard input.push((sequence, batch)) else { break }
                    sequence += 1
                    rowCount += batch.count
                    batch.removeAll(keepingCapacity: true)
                }
            }
            if !batch.isEmpty, input.push((sequence, batch)) { rowCount += batch.count }
        } catch {
            input.close()
            output.cancel()
            done.wait()
            throw error
        }
        input.close()
        done.wait()
        if let error = failure.current { throw error }
        return rowCount
    }
}

/// Hands a non-Sendable value to exactly one other thread, which uses it until joined.
final class ThreadConfined<Value>: @unchecked Sendable {
    // @unchecked: the creator stops touching `value` until the using thread is joined.
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// The per-row part of validation: user, region and number, with no knowledge of other rows.
struct RowChecker: Sendable {
    let mapping: ColumnMapping
    let headerCount: Int
    let normalizer: PhoneNormalizer
    let defaultRegion: String?

    func check(_ record: SheetRecord) -> RowOutcome {
        let fields = record.fields
        func cell(_ index: Int?) -> String {
            guard let index, index < fields.count else { return "" }
            return fields[index]
        }
        var outcome = RowOutcome(line: record.line, user: PhoneNormalizer.clean(cell(mapping.userColumn)),
                                 userKind: nil, userKey: nil, input: cell(mapping.phoneColumn),
                                 phone: nil, numberKind: nil, status: .ok, codes: [], reasons: [])
        // A field PhoneShift reads that is not clean text makes the row invalid; one in a
        // column it does not use is only worth a warning.
        // (Checked only for a record with problems: nothing is built for the clean ones.)
        if !record.problems.isEmpty {
            let mapping = self.mapping
            func used(_ field: Int) -> Bool {
                field == mapping.userColumn + 1 || mapping.phoneColumn.map { field == $0 + 1 } == true || mapping.regionColumn.map { field == $0 + 1 } == true
            }
            if let problem = record.problems.first(where: { used($0.field) }) {
                outcome.add(RowFinding.Code.unreadableRow.rawValue, problem.message, status: .invalid)
                return outcome
            }
            for problem in record.problems {
                outcome.add(RowFinding.Code.unreadableRow.rawValue, problem.message + "; not a column PhoneShift uses, so the row is kept", status: .warning)
            }
        }
        if fields.count <= mapping.lastRequiredColumn {
            outcome.add(RowFinding.Code.missingFields.rawValue,
                        "the row has \(fields.count) field(s) but the header has \(headerCount); the user or phone column is not there",
                        status: .invalid)
            return outcome
        }
        if fields.count > headerCount, fields[headerCount...].contains(where: { !$0.isBlank }) {
            outcome.add(RowFinding.Code.extraFields.rawValue,
                        "the row has \(fields.count) fields but the header has \(headerCount): a value holds an unquoted delimiter, so the columns may have shifted",
                        status: .invalid)
            return outcome
        }

        // Workbook cells that are not text (none in a CSV sheet).
        if !record.cellKinds.isEmpty {
            for column in [mapping.userColumn, mapping.phoneColumn].compactMap({ $0 }) where record.cellKinds[column] == .error {
                outcome.add(RowFinding.Code.excelError.rawValue,
                            "the cell in column '\(Sanitize.forMessage(mapping.headers[column], limit: 60))' holds the Excel error \(Sanitize.forMessage(cell(column), limit: 20)), not a value; correct it in the workbook",
                            status: .invalid)
                return outcome
            }
            if let phone = mapping.phoneColumn, record.cellKinds[phone] == .date {
                outcome.add(RowFinding.Code.excelDate.rawValue,
                            "the phone cell is a date in the workbook (Excel turned what was typed into a date, or the cell is formatted as one); type the number as text, e.g. with a leading '",
                            status: .invalid)
                return outcome
            }
        }

        switch UserIdentifier.parse(cell(mapping.userColumn), declared: mapping.userKind) {
        case .success(let user):
            outcome.userKind = user.kind
            outcome.userKey = user.key
            // The user as Graph takes it (an object id's braces stripped).
            if user.kind == .objectId { outcome.user = user.value }
        case .failure(let finding):
            outcome.add(finding.code.rawValue, finding.message, status: .invalid)
        }

        // A sheet of users only: no number to check.
        guard mapping.phoneColumn != nil else { return outcome }
        var region = defaultRegion
        let regionCell = cell(mapping.regionColumn).trimmedBlanks
        var unknownRegion = false
        if !regionCell.isEmpty {
            if let resolved = RegionResolver.region(for: regionCell) {
                region = resolved
            } else {
                unknownRegion = true
            }
        }
        let verdict = normalizer.normalize(outcome.input, region: region)
        if let phone = verdict.phone {
            outcome.phone = phone.graphForm
            outcome.numberKind = phone.kind
        }
        if unknownRegion && (verdict.phone == nil || !outcome.input.hasPrefix("+")) {
            let fallback = defaultRegion.map { "; used --region \($0)" } ?? ""
            outcome.add(PhoneFinding.Code.unknownRegion.rawValue,
                        "the country '\(Sanitize.forMessage(regionCell, limit: 30))' is not recognised (use ISO codes such as GB)\(fallback)",
                        status: .warning)
        }
        if let phoneColumn = mapping.phoneColumn, let kind = record.cellKinds[phoneColumn] {
            explainCell(kind, verdict: verdict, region: region, outcome: &outcome)
        }
        for finding in verdict.findings {
            outcome.add(finding.code.rawValue, finding.message, status: finding.severity == .error ? .invalid : .warning)
        }
        return outcome
    }

    /// Says what Excel did to a phone cell that was not text: a number lost its `+` or its
    /// leading zero (restored from the region when the digits make a valid number there); a
    /// formula's last calculated value was used.
    private func explainCell(_ kind: CellKind, verdict: PhoneVerdict, region: String?, outcome: inout RowOutcome) {
        switch kind {
        case .number:
            if let phone = verdict.phone {
                let from = region.map { "the region \($0)" } ?? "its digits"
                outcome.add(RowFinding.Code.excelNumber.rawValue,
                            "the phone cell is a number in the workbook, so Excel dropped its + or leading zero; restored from \(from) as \(PhoneMask.mask(phone.graphForm)): check it is right, or format the column as Text",
                            status: .warning)
            } else {
                let hint = region == nil ? "; no region was given to restore it from (--region, sheet.defaultRegion or a country column)" : " from the region \(region!)"
                outcome.add(RowFinding.Code.excelNumber.rawValue,
                            "the phone cell is a number in the workbook, so Excel dropped its + or leading zero, and it could not be restored\(hint); type it as text with its + in the workbook",
                            status: .invalid)
            }
        case .formula:
            outcome.add(RowFinding.Code.excelFormula.rawValue,
                        "the phone cell is a formula in the workbook; its last calculated value was used (paste the values to be sure)",
                        status: .warning)
        case .boolean, .date, .error:
            break
        }
    }
}
