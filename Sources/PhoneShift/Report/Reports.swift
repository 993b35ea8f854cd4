import Foundation

/// Where a report set was written.
public struct ReportSet: Sendable {
    /// The figures the reports were made from (the drafts reuse them).
    public var summary: ReportSummary
    public var csv: String
    public var json: String
    public var html: String
    /// nil when no row failed, was blocked or moved (or when the sheet changed since the plan).
    public var failures: String?
    public var failureRows: Int
    /// Why failures.csv was not written although rows are to run again (the sheet changed
    /// since the plan, so its lines would name other rows); nil when it was, or not needed.
    public var failuresNotWritten: String?
}

/// The report set of a job, built from its store after every apply and on demand
/// (`phoneshift report`), also for a partial or running run:
///
/// - `report.csv`: one row per sheet row (spreadsheet-safe; numbers masked unless the job
///   asks for full numbers);
/// - `report.json`: the run and the rows, in the shape of `report-v1.schema.json`;
/// - `report.html`: one self-contained page (figures, charts, rows needing attention);
/// - `failures.csv`: the failed, blocked and moved rows in the input sheet's own columns and
///   delimiter, to plan again.
///
/// Every file is written atomically and owner-only.
public enum Reports {
    public static let csvColumns = ["line", "user", "display_name", "user_id", "phone_type", "before", "after", "action", "state",
                                    "outcome", "sms_sign_in", "error_code", "error_message", "request_id", "client_request_id",
                                    "attempts", "time", "reason", "risks"]
    public static let schemaVersion = 1
    /// The outcomes of a row whose number a run wrote (or found already written).
    public static let writtenOutcomes: Set<String> = Set(PlanRow.Outcome.allCases.filter(\.written).map(\.rawValue))

    /// What a report (or the drafts) describe: `plan` (default: the latest), and run `runId`
    /// of it (default: its last run; none before its first apply).
    public static func summary(store: JobStore, run runId: Int? = nil, plan chosen: PlanInfo? = nil) async throws -> ReportSummary {
        var latest = chosen
        if latest == nil { latest = try await store.latestPlan() }
        guard let plan = latest else {
            throw PhoneShiftError(.badSetting, "no plan yet for this job; nothing to report")
        }
        let runs = try await store.runs(plan: plan.id)
        var run = runs.first
        if let runId {
            guard let chosen = runs.first(where: { $0.id == runId }) else {
                throw PhoneShiftError(.badSetting, "run \(runId) is not an apply run of plan \(plan.id); its runs: \(runs.map { String($0.id) }.joined(separator: ", "))")
            }
            run = chosen
        }
        var summary = try await store.reportSummary(plan: plan, run: run)
        summary.notes = (try await store.meta(Planner.notesKey(plan.id)) ?? "").split(separator: "\n").map(String.init)
        return summary
    }

    public static func write(store: JobStore, job: JobDefinition, run runId: Int? = nil, folder: String? = nil,
                             plan chosen: PlanInfo? = nil) async throws -> ReportSet {
        let folder = folder ?? job.outputs
        try ResultsWriter.prepareOutputs(folder)
        var summary = try await summary(store: store, run: runId, plan: chosen)
        let plan = summary.plan
        if !plan.sheetHash.isEmpty {  // (a rollback plan needs no approval)
            summary.approval = try await ApprovalState.load(store: store, plan: plan.id, job: job)
        }
        let full: NumberDisplay = job.fullNumbersInReports ? .full : .masked(try await store.maskKey())
        let csv = folder + "/report.csv", json = folder + "/report.json", html = folder + "/report.html"
        try await writeCSV(store: store, plan: plan.id, path: csv, fullNumbers: full)
        try await writeJSON(store: store, summary: summary, job: job, path: json, fullNumbers: full)
        let attention = try await store.attentionRows(plan: plan.id, limit: ReportPage.attentionLimit)
        try ReportPage(summary: summary, job: job, attention: attention, fullNumbers: full).write(to: html)
        let lines = try await store.rerunLines(plan: plan.id)
        var failures: String?
        var failuresNotWritten: String?
        // "Point sheet.path at failures.csv" is what the README tells admins: then failures.csv
        // is the plan's own sheet, and is never written over or deleted (resume needs it).
        let failuresPath = folder + "/failures.csv"
        let failuresIsSheet = !plan.sheetHash.isEmpty && AtomicFileWriter.sameFile(failuresPath, plan.sheetPath)
        if !lines.isEmpty, !plan.sheetHash.isEmpty {  // (a rollback plan has no sheet)
            let path = failuresIsSheet ? folder + "/failures-of-plan-\(plan.id).csv" : failuresPath
            let options = try job.validationOptions()
            do {
                try await runOnThread { try writeFailures(sheet: plan.sheetPath, sheetHash: plan.sheetHash, options: options.reader,
                                                          lines: lines, to: path) }
                failures = path
            } catch let error as PhoneShiftError where error.code == .planOutdated || error.code == .unreadableFile {
                // The other reports stand; a failures.csv of the wrong rows would not.
                failuresNotWritten = error.message
                if !failuresIsSheet { unlink(failuresPath) }
            }
        } else {
            // A failures.csv of an earlier run would now be wrong (unless it is this plan's sheet).
            if !failuresIsSheet { unlink(failuresPath) }
        }
        return ReportSet(summary: summary, csv: csv, json: json, html: html, failures: failures, failureRows: lines.count,
                         failuresNotWritten: failuresNotWritten)
    }

    /// How reports show numbers: in full (`reports.fullNumbers: true`) or masked, with the
    /// store's key for the fingerprints that tell look-alike numbers apart.
    public enum NumberDisplay: Sendable {
        case full
        case masked(PhoneMask.Key)
        var isFull: Bool { if case .full = self { true } else { false } }
    }

    /// Before and after as reports show them: in full, or masked (at most four digits each,
    /// a fingerprint where the two would look alike).
    static func numbers(_ row: PlanRow, full: NumberDisplay) -> (before: String?, after: String?) {
        switch full {
        case .full: (row.before, row.target)
        case .masked(let key): PhoneMask.maskPair(row.before, row.target, key: key)
        }
    }

    static func writeCSV(store: JobStore, plan: Int, path: String, fullNumbers: NumberDisplay) async throws {
        try await store.withRows(plan: plan) { next in
            let writer = try AtomicFileWriter(path: path)
            try writer.write(CSVFormatting.line(csvColumns))
            var line: [UInt8] = []
            while let r = try next() {
                line.removeAll(keepingCapacity: true)
                let (before, after) = numbers(r, full: fullNumbers)
                CSVFormatting.append([String(r.line), r.user, r.displayName ?? "", r.userId ?? "", r.phoneType.rawValue,
                                      before ?? "", after ?? "", r.action.rawValue,
                                      r.state.rawValue, r.outcome?.rawValue ?? "", r.smsSignIn ?? "", r.errorCode ?? "", r.errorMessage ?? "",
                                      r.requestId ?? "", r.clientRequestId ?? "", String(r.attempts), r.updated ?? "", r.reason,
                                      RiskCheck.allCases.filter(r.risks.contains).map(\.rawValue).joined(separator: " ")], to: &line)
                try writer.write(bytes: line)
            }
            try writer.commit()
        }
    }

    /// `key=value` lines (plan settings) or `key=value key=value` (run settings) as an object.
    static func settingsObject(_ text: String?, separator: Character) -> [String: String] {
        var out: [String: String] = [:]
        for pair in (text ?? "").split(separator: separator) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            out[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        return out
    }

    static func result(_ r: PlanRow) -> String {
        if r.state == .pending && r.action.writes { return "pending" }
        if r.state == .inFlight { return "unknown" }
        return r.outcome?.rawValue ?? r.action.rawValue
    }

    static func writeJSON(store: JobStore, summary: ReportSummary, job: JobDefinition, path: String, fullNumbers: NumberDisplay) async throws {
        var head: [String: Any] = [
            "schemaVersion": schemaVersion,
            "generated": JobStore.now(),
            "job": ["name": job.name, "jobFile": job.jobFile],
            "sheet": ["path": summary.plan.sheetPath, "sha256": summary.plan.sheetHash],
            "plan": ["id": summary.plan.id, "created": summary.plan.created, "phoneType": summary.plan.phoneType.rawValue,
                     "rows": summary.rowCount, "settings": settingsObject(summary.plan.settings, separator: "\n")],
            "numbers": fullNumbers.isFull ? "full" : "masked",
            "notes": summary.notes,
            "counts": ["byResult": summary.byResult, "byAction": summary.byAction, "byErrorCode": summary.byErrorCode,
                       "needAttention": summary.attentionCount],
            "throttling": ["answers429": summary.throttles.count,
                           "events": summary.throttles.map { ["time": $0.time, "lane": $0.lane] }],
        ]
        if let approval = summary.approval {
            var verdict: [String: Any] = ["status": "not-approved", "approvedBy": NSNull(), "signatureVerified": false, "reason": NSNull()]
            switch approval.verdict {
            case .approved(let by, let signed): verdict = ["status": "approved", "approvedBy": by, "signatureVerified": signed, "reason": NSNull()]
            case .refused(let reason): verdict["reason"] = reason
            }
            verdict["required"] = approval.required
            verdict["madeBy"] = approval.madeBy ?? NSNull()
            verdict["madeOn"] = approval.madeOn ?? NSNull()
            verdict["approvals"] = approval.approvals.map { a -> [String: Any] in
                ["time": a.time, "account": a.osAccount, "host": a.host, "signed": a.signature != nil, "comment": a.comment ?? NSNull()]
            }
            head["approval"] = verdict
        }
        if let run = summary.run {
            var runObject: [String: Any] = ["id": run.id, "command": run.command, "status": run.status, "started": run.started,
                                            "settings": settingsObject(run.settings, separator: " "), "throttled": run.throttled]
            runObject["finished"] = run.finished ?? NSNull()
            head["run"] = runObject
        } else {
            head["run"] = NSNull()
        }
        // The head, then the rows streamed one by one into the "rows" array.
        var headText = String(decoding: try JSONSerialization.data(withJSONObject: head, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
        headText.removeLast()  // the closing brace
        let prefix = headText + ",\"rows\":["
        // Rows through JSONEncoder: JSONSerialization's sorted keys compare with a locale,
        // which made writing the rows most of a 20,000-row apply's CPU time.
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try await store.withRows(plan: summary.plan.id) { next in
            let writer = try AtomicFileWriter(path: path)
            try writer.write(prefix)
            var first = true
            while let r = try next() {
                let (before, after) = numbers(r, full: fullNumbers)
                let row = FlatJSONObject(fields: [
                    ("line", .int(r.line)), ("user", .string(r.user)), ("phoneType", .string(r.phoneType.rawValue)),
                    ("action", .string(r.action.rawValue)), ("state", .string(r.state.rawValue)), ("result", .string(result(r))),
                    ("attempts", .int(r.attempts)), ("reason", .string(r.reason)),
                    ("displayName", .optional(r.displayName)), ("userId", .optional(r.userId)),
                    ("userPrincipalName", .optional(r.userPrincipalName)), ("before", .optional(before)), ("after", .optional(after)),
                    ("outcome", .optional(r.outcome?.rawValue)), ("smsSignIn", .optional(r.smsSignIn)), ("errorCode", .optional(r.errorCode)),
                    ("errorMessage", .optional(r.errorMessage)), ("requestId", .optional(r.requestId)),
                    ("clientRequestId", .optional(r.clientRequestId)), ("time", .optional(r.updated)),
                    ("risks", .string(RiskCheck.allCases.filter(r.risks.contains).map(\.rawValue).joined(separator: " "))),
                ])
                try writer.write(first ? "" : ",")
                try writer.write(bytes: try encoder.encode(row))
                first = false
            }
            try writer.write("]}\n")
            try writer.commit()
        }
    }

    /// The header and the records on `lines` of the sheet, as they were (same columns and
    /// delimiter; written UTF-8), so that a job pointing at the file plans only them again.
    /// failures.csv: the header and the rows of `lines`, copied from the plan's sheet, in the
    /// sheet's encoding and with its delimiter. The sheet is read once and its digest checked
    /// against the plan's: when it changed since, its lines name other rows, and nothing is
    /// written (`planOutdated`).
    static func writeFailures(sheet: String, sheetHash: String, options: SheetReaderOptions, lines: Set<Int>, to path: String) throws {
        guard FileManager.default.fileExists(atPath: sheet) else {
            throw PhoneShiftError(.unreadableFile, "failures.csv was not written: the sheet '\(Sanitize.forMessage(sheet, limit: 200))' it is made from is gone; report.csv lists the rows to run again")
        }
        let reader = try SheetReader(path: sheet, options: options)
        let writer = try AtomicFileWriter(path: path)
        var header = true
        var line: [UInt8] = [], out: [UInt8] = reader.encoding.byteOrderMark
        while let record = try reader.next() {
            guard header || lines.contains(record.line) else { continue }
            header = false
            line.removeAll(keepingCapacity: true)
            CSVFormatting.appendVerbatim(record.fields, delimiter: reader.delimiter, to: &line)
            reader.encoding.encode(line, into: &out)
            try writer.write(bytes: out)
            out.removeAll(keepingCapacity: true)
        }
        guard reader.sha256Hex == sheetHash else {
            // Dropped without commit: the temporary file goes, an earlier failures.csv is unlinked by the caller.
            throw PhoneShiftError(.planOutdated, "failures.csv was not written: the sheet '\(Sanitize.forMessage(sheet, limit: 200))' changed since the plan was made, so its line numbers would name other rows; report.csv lists the rows to run again")
        }
        try writer.commit()
    }
}

/// A flat JSON object of strings, integers and nulls (a row of report.json), for JSONEncoder.
struct FlatJSONObject: Encodable {
    enum Value {
        case string(String), int(Int), null
        static func optional(_ value: String?) -> Value { value.map { .string($0) } ?? .null }
    }
    var fields: [(String, Value)]

    struct Key: CodingKey {
        var stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        for (name, value) in fields {
            let key = Key(stringValue: name)
            switch value {
            case .string(let s): try container.encode(s, forKey: key)
            case .int(let i): try container.encode(i, forKey: key)
            case .null: try container.encodeNil(forKey: key)
            }
        }
    }
}
