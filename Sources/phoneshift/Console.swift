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
}

/// Where a command's lines go. In text mode: events to standard output (none when quiet),
/// problems to standard error. In JSON mode: every line — logs, events, problems, the final
/// result — as one JSON object on standard error; standard output stays empty.
struct Console: Sendable {
    let format: LogFormat
    let quiet: Bool
    let verbose: Bool

    /// The format of the error `Entry.main` prints when a command ends with one.
    nonisolated(unsafe) static var current = Console(format: .text, quiet: false, verbose: false)

    var interactive: Bool { format == .text && !quiet && isatty(STDERR_FILENO) == 1 }

    func makeLogger(_ label: String) -> Logger {
        let format = self.format
        var logger = Logger(label: label) { label in
            format == .json ? JSONLinesLogHandler(label: label) as LogHandler : StreamLogHandler.standardError(label: label)
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

/// swift-log handler writing one JSON object per line to standard error: time, level,
/// logger, message and metadata. Phone numbers in `+CC …` form are masked on the way out,
/// whatever wrote them (the library masks already; this is the second net).
struct JSONLinesLogHandler: LogHandler {
    enum Value: Sendable {
        case string(String), int(Int), double(Double), bool(Bool)
    }

    let label: String
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    init(label: String) { self.label = label }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields: [String: Value] = [:]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { _, b in b }) { fields[key] = .string("\(value)") }
        Self.emit(level: event.level.rawValue, label: label, message: event.message.description, fields: fields)
    }

    private static let lock = NSLock()

    static func emit(level: String, label: String, message: String, fields: [String: Value]) {
        var object: [(String, Value)] = [("time", .string(timestamp())), ("level", .string(level)), ("logger", .string(label)),
                                         ("message", .string(maskNumbers(message)))]
        for key in fields.keys.sorted() where !["time", "level", "logger", "message"].contains(key) {
            if case .string(let s) = fields[key]! { object.append((key, .string(maskNumbers(s)))) } else { object.append((key, fields[key]!)) }
        }
        let line = "{" + object.map { "\(quote($0.0)):\(encode($0.1))" }.joined(separator: ",") + "}\n"
        lock.withLock { FileHandle.standardError.write(Data(line.utf8)) }
    }

    static func encode(_ value: Value) -> String {
        switch value {
        case .string(let s): return quote(s)
        case .int(let i): return String(i)
        case .double(let d): return d.isFinite ? String(d) : "null"
        case .bool(let b): return b ? "true" : "false"
        }
    }

    /// A JSON string: quotes, backslashes and every control character escaped.
    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// `+` followed by 7 or more digits (spaces allowed between them): masked like the reports
    /// mask (`+1 ******0123`).
    static func maskNumbers(_ text: String) -> String {
        guard text.contains("+") else { return text }
        var result = ""
        var rest = Substring(text)
        while let plus = rest.firstIndex(of: "+") {
            result += rest[..<plus]
            var end = rest.index(after: plus)
            var digits = 0
            while end < rest.endIndex, rest[end].isASCII, rest[end].isNumber || rest[end] == " " {
                if rest[end].isNumber { digits += 1 }
                end = rest.index(after: end)
            }
            var candidate = rest[plus..<end]
            while candidate.last == " " { candidate = candidate.dropLast() }
            let stop = candidate.endIndex
            if digits >= 7 {
                result += PhoneMask.mask(String(candidate))
            } else {
                result += candidate
            }
            rest = rest[stop...]
        }
        return result + rest
    }

    static func timestamp() -> String {
        let now = Date()
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: now)
    }
}
