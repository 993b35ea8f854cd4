import Foundation
import Logging

/// The text-mode log handler: swift-log's standard-error handler with phone numbers masked in
/// the message and metadata on the way out, as the JSON handler masks them.
public struct MaskingLogHandler: LogHandler {
    var inner: any LogHandler

    public init(inner: any LogHandler) { self.inner = inner }

    public var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue.mapValues(Self.mask) }
    }

    public var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue.map(Self.mask) }
    }

    public func log(event: LogEvent) {
        var event = event
        event.message = "\(JSONLinesLogHandler.maskNumbers(event.message.description))"
        event.metadata = event.metadata?.mapValues(Self.mask)
        inner.log(event: event)
    }

    static func mask(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        .string(JSONLinesLogHandler.maskNumbers("\(value)"))
    }
}

/// swift-log handler writing one JSON object per line to standard error: time, level,
/// logger, message and metadata. Phone numbers in `+CC …` form are masked on the way out,
/// whatever wrote them (the library masks already; this is the second net).
public struct JSONLinesLogHandler: LogHandler {
    public enum Value: Sendable {
        case string(String), int(Int), double(Double), bool(Bool)
    }

    let label: String
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [String: Value] = [:]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { _, b in b }) { fields[key] = .string("\(value)") }
        Self.emit(level: event.level.rawValue, label: label, message: event.message.description, fields: fields)
    }

    private static let lock = NSLock()

    public static func emit(level: String, label: String, message: String, fields: [String: Value]) {
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
    public static func maskNumbers(_ text: String) -> String {
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
