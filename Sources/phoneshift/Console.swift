import ArgumentParser
import Foundation
import Logging
import PhoneShift

enum LogFormat: String, ExpressibleByArgument, Sendable {
    case text, json
}

/// How a command talks: text for people (on a terminal, a progress line), JSON lines for log
/// shippers, or quiet (only problems) for cron mail.
struct OutputOptions: ParsableArguments {
    @Flag(name: .shortAndLong, help: "Log what is decided.")
    var verbose = false

    @Flag(name: .shortAndLong, help: "Print only problems (warnings and errors); nothing on success.")
    var quiet = false

    @Option(help: "text, or json: one JSON object per line on standard error (logs and events), for log shippers.")
    var logFormat: LogFormat = .text

    func console() -> Console {
        Console(format: logFormat, quiet: quiet, verbose: verbose)
    }

    /// The command's console, made the one its lines, notices and final error go through.
    func activate() -> Console {
        let console = console()
        Console.current = console
        return console
    }
}

/// A line of a command's account of itself, through the command's console: standard output
/// in text mode (nothing when quiet), one JSON object on standard error with --log-format json.
/// A block of lines may end with its newline; it is not doubled.
func say(_ text: String, event: String = "output") {
    Console.current.event(event, text.hasSuffix("\n") ? String(text.dropLast()) : text)
}

/// A notice from the library (a setting that changes the run, a lock taken over): always shown.
func notice(_ text: String) {
    Console.current.problem("notice", text)
}

/// Where a command's lines go. In text mode: events to standard output (none when quiet),
/// problems to standard error. In JSON mode: every line — logs, events, problems, the final
/// result — as one JSON object on standard error; standard output stays empty.
struct Console: Sendable {
    let format: LogFormat
    let quiet: Bool
    let verbose: Bool

    /// The console of the running command: `say`, `notice` and the error `Entry.main` prints
    /// when a command ends with one go through it. Set once, by `OutputOptions.activate()`,
    /// before anything else runs.
    nonisolated(unsafe) static var current = Console(format: .text, quiet: false, verbose: false)

    var interactive: Bool { format == .text && !quiet && isatty(STDERR_FILENO) == 1 }

    func makeLogger(_ label: String) -> Logger {
        let format = self.format
        var logger = Logger(label: label) { label in
            format == .json ? JSONLinesLogHandler(label: label) as LogHandler
                : MaskingLogHandler(inner: StreamLogHandler.standardError(label: label))
        }
        logger.logLevel = verbose ? Logger.Level.info : format == .json ? Logger.Level.notice : Logger.Level.warning
        return logger
    }

    /// A line of the command's account of itself.
    func event(_ name: String, _ text: String, _ fields: [String: JSONLinesLogHandler.Value] = [:]) {
        switch format {
        case .text: if !quiet { print(text) }
        case .json: JSONLinesLogHandler.emit(level: "info", label: "phoneshift", message: text, fields: fields.merging(["event": .string(name)]) { a, _ in a })
        }
    }

    /// A problem: always shown.
    func problem(_ level: String, _ text: String, _ fields: [String: JSONLinesLogHandler.Value] = [:]) {
        switch format {
        case .text: printError("phoneshift: \(level): \(text)")
        case .json: JSONLinesLogHandler.emit(level: level, label: "phoneshift", message: text, fields: fields)
        }
    }
}
