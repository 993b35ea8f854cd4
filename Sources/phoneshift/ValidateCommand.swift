import ArgumentParser
import Foundation
import PhoneShift

extension PhoneType: ExpressibleByArgument {}

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a change sheet offline: every bad row named with its line and a reason.",
        discussion: """
            Exit codes: 0 all rows usable (warnings allowed); 1 some rows invalid or in conflict; \
            2 usage error or unreadable input.
            """)

    @Argument(help: "The sheet: CSV (UTF-8, UTF-16 with BOM, or see --encoding) or an Excel workbook (.xlsx).")
    var sheet: String

    @Option(name: .shortAndLong, help: "Write one row per input row to this CSV file.")
    var output: String?

    @Flag(help: "Print a machine-readable summary (JSON) instead of the text summary.")
    var json = false

    @Option(help: "Column with the user (name or 1-based number).")
    var userColumn: String?

    @Option(help: "Column with the new phone number (name or 1-based number).")
    var phoneColumn: String?

    @Option(help: "Column with each row's country (name or 1-based number).")
    var regionColumn: String?

    @Option(help: "Country for numbers without +CC when the row names none (ISO code, e.g. GB).")
    var region: String?

    @Option(help: "The phone method to set: mobile, alternateMobile or office.")
    var phoneType: PhoneType = .mobile

    @Flag(help: "Refuse numbers outside the phone library's numbering-plan data instead of warning.")
    var strict = false

    @Option(help: "The worksheet of an Excel workbook (default: the first).")
    var worksheet: String?

    @Option(help: "Field delimiter: ',', ';', 'tab' or '|' (detected when not given).")
    var delimiter: String?

    @Option(help: "Encoding: utf-8, utf-16le, utf-16be or windows-1252 (detected from the BOM when not given).")
    var encoding: String?

    @Option(help: "Threads that normalise numbers (default: one per core).")
    var workers: Int?

    @OptionGroup var display: OutputOptions

    func validate() throws {
        if let delimiter, SheetReaderOptions.delimiter(named: delimiter) == nil {
            throw ValidationError("--delimiter must be \(SheetReaderOptions.delimiterWords), not '\(delimiter)'")
        }
        if let workers, !(1...64).contains(workers) {
            throw ValidationError("--workers must be between 1 and 64")
        }
        if let encoding, TextEncoding(name: encoding) == nil {
            throw ValidationError("--encoding must be utf-8, utf-16le, utf-16be or windows-1252, not '\(encoding)'")
        }
    }

    func run() throws {
        _ = display.activate()
        let regionCode = try region.map { value -> String in
            guard let code = RegionResolver.region(for: value) else {
                throw PhoneShiftError(.badSetting, "--region '\(Sanitize.forMessage(value))' is not a country the phone library knows (use ISO codes such as US, GB, DE)")
            }
            return code
        }
        var options = ValidationOptions(
            columns: ColumnOverrides(user: userColumn, phone: phoneColumn, region: regionColumn),
            phoneType: phoneType, defaultRegion: regionCode, strict: strict,
            reader: SheetReaderOptions(delimiter: delimiter.flatMap(SheetReaderOptions.delimiter(named:)),
                                       encoding: encoding.flatMap(TextEncoding.init(name:))))

        options.reader.worksheet = worksheet
        if let workers { options.workers = workers }
        let validator = SheetValidator(options: options, logger: Console.current.makeLogger("phoneshift.validate"))
        if let output { try AtomicFileWriter.checkNotInput(output, inputs: [sheet]) }
        let writer = try output.map { try AtomicFileWriter(path: $0) }
        try writer?.write(CSVFormatting.line(ValidationSummary.outputColumns))
        var line: [UInt8] = []
        let summary = try validator.validate(path: sheet) { outcome in
            guard let writer else { return }
            line.removeAll(keepingCapacity: true)
            ValidationSummary.appendOutputLine(outcome, phoneType: phoneType, to: &line)
            try writer.write(bytes: line)
        }
        try writer?.commit()

        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            // The summary asked for, on standard output whatever the console: a program reads it.
            print(String(decoding: try encoder.encode(summary), as: UTF8.self))
        } else {
            say(summary.render())
            if let output { say("Row-by-row results: \(Sanitize.forMessage(output, limit: 300))") }
        }
        if summary.exitCode != 0 { throw ExitCode(summary.exitCode) }
    }
}
