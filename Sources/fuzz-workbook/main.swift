import Foundation
import Logging
import FuzzSupport
import PhoneShift

// libFuzzer target: Excel workbooks (ZIPFoundation, SWXMLHash, Foundation's XML parser) through
// the sheet reader, column mapping, normalizer and sheet-wide checks, on arbitrary bytes.
// Any crash, trap or sanitizer report is a finding; thrown PhoneShiftErrors are the expected
// answer to bad input. Built by Benchmarks/fuzz.sh.

let scratch = FuzzScratch(suffix: ".xlsx")
let logger = Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() }

func fuzzWorkbook(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = bytes else { return 0 }
    scratch.write(data, size)
    do {
        // Small caps so that one input cannot take the whole budget.
        var options = ValidationOptions()
        options.reader = SheetReaderOptions(maxFieldBytes: 4096, chunkSize: 512)
        options.reader.workbookLimits.maxPartBytes = 8 << 20
        options.reader.workbookLimits.maxSharedStrings = 10_000
        _ = try SheetValidator(options: options, logger: logger).validate(path: scratch.path)
    } catch {
        // An error is an answer to bad input (reported, not crashed on), whatever its type.
    }
    return 0
}

exit(runFuzzer(CommandLine.argc, CommandLine.unsafeArgv) { data, size in fuzzWorkbook(data, size) })
