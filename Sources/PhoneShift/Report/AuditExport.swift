import Foundation

/// `phoneshift audit --export`: the job store's chained events for a SIEM, one per line, as
/// JSON or as ArcSight CEF (the format Microsoft Sentinel, Splunk and QRadar take from syslog
/// collectors). Numbers in event text are masked; the store holds no secret to leak. Written
/// atomically and owner-only.
public enum AuditExport {
    public enum Format: String, Sendable, CaseIterable {
        case jsonl, cef
    }

    /// Writes every event to `path`; returns how many.
    public static func write(store: JobStore, job: String, to path: String, format: Format) async throws -> Int {
        let version = VersionInfo.phoneShift
        return try await store.withEvents { next in
            let writer = try AtomicFileWriter(path: path)
            var count = 0
            while let event = try next() {
                try writer.write((format == .jsonl ? json(event, job: job) : cef(event, job: job, version: version)) + "\n")
                count += 1
            }
            try writer.commit()
            return count
        }
    }

    static func json(_ e: AuditEvent, job: String) -> String {
        let q = JSONLinesLogHandler.quote
        var fields = ["\"id\":\(e.id)", "\"time\":\(q(e.time))", "\"job\":\(q(job))", "\"kind\":\(q(e.kind))",
                      "\"detail\":\(q(JSONLinesLogHandler.maskNumbers(e.detail)))"]
        fields.append("\"run\":" + (e.run.map(String.init) ?? "null"))
        fields.append("\"line\":" + (e.line.map(String.init) ?? "null"))
        fields.append("\"prevHash\":\(q(e.previousHash))")
        fields.append("\"hash\":" + (e.storedHash.map(q) ?? "null"))
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// `CEF:0|PhoneShift|phoneshift|VERSION|KIND|NAME|SEVERITY|key=value …`: header fields
    /// escape `\` and `|`; extension values escape `\`, `=` and line breaks (CEF, "Character
    /// encoding").
    static func cef(_ e: AuditEvent, job: String, version: String) -> String {
        func header(_ s: String) -> String { s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "|", with: "\\|") }
        func value(_ s: String) -> String {
            s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "=", with: "\\=")
                .replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\n", with: "\\n")
        }
        let severity: Int
        switch e.kind {
        case "failed", "lock-taken-over", "verify-lost", "verify-moved": severity = 6
        case "approval", "approval-checked", "plan": severity = 4
        default: severity = 3
        }
        var ext = ["rt=\(value(e.time))", "externalId=\(e.id)", "cs1Label=job", "cs1=\(value(job))",
                   "cs2Label=hash", "cs2=\(value(e.storedHash ?? ""))", "cs3Label=prevHash", "cs3=\(value(e.previousHash))",
                   "msg=\(value(JSONLinesLogHandler.maskNumbers(e.detail)))"]
        if let run = e.run { ext += ["cn1Label=run", "cn1=\(run)"] }
        if let line = e.line { ext += ["cn2Label=line", "cn2=\(line)"] }
        return "CEF:0|PhoneShift|phoneshift|\(header(version))|\(header(e.kind))|\(header(name(e.kind)))|\(severity)|" + ext.joined(separator: " ")
    }

    static func name(_ kind: String) -> String {
        switch kind {
        case "plan": "Plan stored"
        case "approval": "Plan approved"
        case "approval-checked": "Approved plan applied"
        case "done": "Row done"
        case "failed": "Row failed"
        case "run-start": "Run started"
        case "run-end": "Run ended"
        case "lock-taken-over": "Lock taken over"
        case "verify-lost", "verify-moved": "Verify found a difference"
        default: kind
        }
    }
}
