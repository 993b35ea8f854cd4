import Crypto
import Foundation
import Mustache

/// `report.html`: one self-contained page — no network, no external asset. A Content
/// Security Policy allows nothing but inline styles, data images and the page's own script
/// (by its hash), so even markup that slipped through escaping could not run or fetch
/// anything. Everything from the sheet or the directory is escaped by Mustache's `{{ }}`.
struct ReportPage {
    /// Rows listed in the attention table (the rest are in report.csv).
    static let attentionLimit = 2000

    let summary: ReportSummary
    let job: JobDefinition
    let attention: [PlanRow]
    let fullNumbers: Reports.NumberDisplay

    /// The page's script: the table filter. Marks the page as ready, which tests read.
    static let script = """
        (function () {
          var input = document.getElementById('filter'), kind = document.getElementById('kind');
          var rows = Array.prototype.slice.call(document.querySelectorAll('#attention tbody tr'));
          function apply() {
            var q = input.value.toLowerCase(), k = kind.value, shown = 0;
            rows.forEach(function (r) {
              var ok = (k === '' || r.getAttribute('data-result') === k) && (q === '' || r.textContent.toLowerCase().indexOf(q) >= 0);
              r.hidden = !ok;
              if (ok) { shown += 1; }
            });
            document.getElementById('shown').textContent = String(shown);
          }
          input.addEventListener('input', apply);
          kind.addEventListener('change', apply);
          apply();
          document.body.setAttribute('data-ready', 'yes');
        })();
        """

    static var scriptHash: String {
        Data(Crypto.SHA256.hash(data: Data(script.utf8))).base64EncodedString()
    }

    static let template = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{{scriptHash}}'">
        <meta name="referrer" content="no-referrer">
        <title>PhoneShift report — {{jobName}}</title>
        <style>
        body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1b1f24; }
        h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 8px; }
        .meta { color: #57606a; }
        .figures { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 16px; }
        .figure { border: 1px solid #d0d7de; border-radius: 6px; padding: 10px 14px; min-width: 110px; }
        .figure b { display: block; font-size: 22px; }
        .figure.bad b { color: #cf222e; } .figure.good b { color: #1a7f37; }
        table { border-collapse: collapse; width: 100%; } th, td { border-bottom: 1px solid #d0d7de; padding: 4px 6px; text-align: left; vertical-align: top; }
        th { background: #f6f8fa; } td.num { font-family: ui-monospace, monospace; white-space: nowrap; }
        .controls { margin: 8px 0; display: flex; gap: 8px; align-items: center; }
        svg text { font: 12px system-ui, sans-serif; fill: #1b1f24; }
        </style>
        </head>
        <body>
        <h1>PhoneShift report — {{jobName}}</h1>
        <div class="meta">Sheet {{sheetPath}} (SHA-256 <span class="num">{{sheetHash}}</span>) · plan {{planId}} of {{planCreated}} · {{phoneType}} numbers · numbers {{numbers}}</div>
        <div class="meta">{{runLine}}</div>
        {{#hasApproval}}<div class="meta" data-approval="{{approvalStatus}}">{{approvalLine}}</div>
        {{/hasApproval}}
        {{#notes}}<p class="note" data-note>{{.}}</p>
        {{/notes}}
        <div class="figures">
        {{#figures}}<div class="figure {{tone}}"><b data-figure="{{key}}">{{value}}</b>{{label}}</div>
        {{/figures}}
        </div>
        <h2>Outcomes</h2>
        {{{outcomeChart}}}
        <h2>Writes per second and 429s over the run</h2>
        {{{timelineChart}}}
        <h2>Rows that need attention (<span data-figure="attention-listed">{{attentionListed}}</span> of <span data-figure="attention">{{attentionCount}}</span>; all rows are in report.csv)</h2>
        <div class="controls">
        <label>Filter <input id="filter" type="search" placeholder="user, error, reason…"></label>
        <label>Result <select id="kind"><option value="">all</option>{{#kinds}}<option value="{{.}}">{{.}}</option>{{/kinds}}</select></label>
        <span>showing <span id="shown">{{attentionListed}}</span></span>
        </div>
        <table id="attention">
        <thead><tr><th>Line</th><th>User</th><th>Name</th><th>Type</th><th>Before</th><th>After</th><th>Result</th><th>Error</th><th>Reason</th></tr></thead>
        <tbody>
        {{#rows}}<tr data-result="{{result}}"><td>{{line}}</td><td>{{user}}</td><td dir="auto">{{name}}</td><td>{{type}}</td><td class="num">{{before}}</td><td class="num">{{after}}</td><td>{{result}}</td><td>{{error}}</td><td dir="auto">{{reason}}</td></tr>
        {{/rows}}
        </tbody>
        </table>
        <script>{{{script}}}</script>
        </body>
        </html>
        """

    func render() throws -> String {
        let s = summary
        let byResult = s.byResult
        let written = Reports.writtenOutcomes.reduce(0) { $0 + (byResult[$1] ?? 0) }
        let failed = (byResult["failed"] ?? 0) + (byResult["throttled"] ?? 0)
        let toWrite = (s.byAction["update"] ?? 0) + (s.byAction["add"] ?? 0) + (s.byAction["remove"] ?? 0)
        func figure(_ key: String, _ label: String, _ value: Int, _ tone: String = "") -> [String: Any] {
            ["key": key, "label": label, "value": String(value), "tone": tone]
        }
        let figures: [[String: Any]] = [
            figure("rows", "rows in the sheet", s.rowCount),
            figure("to-write", "changes planned", toWrite),
            figure("written", "written", written, "good"),
            figure("pending", "still to do", (byResult["pending"] ?? 0) + (byResult["unknown"] ?? 0)),
            figure("failed", "failed", failed, failed > 0 ? "bad" : ""),
            figure("attention", "need attention", s.attentionCount, s.attentionCount > 0 ? "bad" : ""),
            figure("throttled", "answers 429", s.throttles.count),
        ]
        var runLine = "No apply run yet: this is the plan."
        if let run = s.run {
            runLine = "Run \(run.id): \(run.status), started \(run.started)" + (run.finished.map { ", finished \($0)" } ?? " (still running or stopped without finishing)")
        }
        func short(_ text: String) -> String { text.count > 160 ? String(text.prefix(160)) + "…" : text }
        let rows: [[String: Any]] = attention.map { r in
            let (before, after) = Reports.numbers(r, full: fullNumbers)
            return [
                "line": r.line, "user": short(r.userPrincipalName ?? r.user), "name": short(r.displayName ?? ""), "type": r.phoneType.rawValue,
                "before": before ?? "", "after": after ?? "",
                "result": Reports.result(r), "error": short([r.errorCode, r.errorMessage].compactMap { $0 }.joined(separator: ": ")),
                "reason": short(r.reason),
            ]
        }
        let context: [String: Any] = [
            "scriptHash": Self.scriptHash, "script": Self.script, "jobName": job.name, "sheetPath": s.plan.sheetPath,
            "sheetHash": s.plan.sheetHash, "planId": s.plan.id, "planCreated": s.plan.created, "phoneType": s.plan.phoneType.rawValue,
            "numbers": fullNumbers.isFull ? "shown in full (reports.fullNumbers)" : "masked", "runLine": runLine, "figures": figures,
            "notes": s.notes,
            "approvalLine": s.approval.map { a in
                "Approval: " + a.verdict.line + (a.madeBy.map { " · plan made by \($0)" } ?? "")
                    + a.approvals.map { " · \($0.osAccount) on \($0.host) at \($0.time)\($0.signature == nil ? "" : ", signed")\($0.comment.map { c in " — " + c } ?? "")" }.joined()
            } ?? "",
            "hasApproval": s.approval != nil,
            "approvalStatus": s.approval.map { if case .approved = $0.verdict { "approved" } else { "not-approved" } } ?? "",
            "outcomeChart": outcomeChart(), "timelineChart": timelineChart(),
            "attentionListed": attention.count, "attentionCount": s.attentionCount,
            "kinds": Array(Set(rows.compactMap { $0["result"] as? String })).sorted(), "rows": rows,
        ]
        return try MustacheTemplate(string: Self.template).render(context)
    }

    func write(to path: String) throws {
        let writer = try AtomicFileWriter(path: path)
        try writer.write(try render())
        try writer.commit()
    }

    /// Escapes text for HTML (for the charts, built here as SVG strings).
    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    static let colors: [String: String] = [
        "changed": "#1a7f37", "added": "#2da44e", "issued": "#0969da", "already-applied": "#4ac26b", "unchanged": "#8c959f", "changed-not-unique": "#bf8700",
        "failed": "#cf222e", "throttled": "#a40e26", "moved": "#d1242f", "drifted": "#d1242f", "removed": "#2da44e", "unknown": "#fb8f44", "pending": "#6e7781",
        "blocked": "#8250df", "conflict": "#bc4c00", "user-not-found": "#953800", "invalid": "#d4a72c", "skipped": "#afb8c1",
    ]

    /// Horizontal bars, one per result, largest first.
    func outcomeChart() -> String {
        let items = summary.byResult.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        guard let largest = items.first?.value, largest > 0 else { return "<p>No rows.</p>" }
        let barHeight = 22, width = 640, labelWidth = 150
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width + labelWidth + 80)\" height=\"\(items.count * barHeight + 8)\" role=\"img\" aria-label=\"Outcomes\">"
        for (i, item) in items.enumerated() {
            let y = i * barHeight + 4
            let w = max(1, Int(Double(width) * Double(item.value) / Double(largest)))
            let label = Self.escape(item.key)
            svg += "<text x=\"0\" y=\"\(y + 15)\">\(label)</text>"
            svg += "<rect x=\"\(labelWidth)\" y=\"\(y)\" width=\"\(w)\" height=\"\(barHeight - 6)\" fill=\"\(Self.colors[item.key] ?? "#57606a")\"><title>\(label): \(item.value)</title></rect>"
            svg += "<text x=\"\(labelWidth + w + 6)\" y=\"\(y + 15)\" data-outcome=\"\(label)\">\(item.value)</text>"
        }
        return svg + "</svg>"
    }

    /// Writes per second as bars over the run's time (averaged into at most 300 buckets), and
    /// each 429 as a red tick above the axis.
    func timelineChart() -> String {
        let writes = summary.writesPerSecond.compactMap { entry in JobStore.parseTimestamp(entry.time).map { ($0, entry.count) } }
        let throttles = summary.throttles.compactMap { JobStore.parseTimestamp($0.time) }
        let times = writes.map(\.0) + throttles
        guard let first = times.min(), let last = times.max() else { return "<p>No writes recorded for this run yet.</p>" }
        let seconds = max(1, Int(last - first) + 1)
        let buckets = min(300, seconds)
        let perBucket = Double(seconds) / Double(buckets)
        var totals = [Double](repeating: 0, count: buckets)
        for (time, count) in writes { totals[min(buckets - 1, Int((time - first) / perBucket))] += Double(count) }
        let rates = totals.map { $0 / perBucket }
        let peak = max(1, rates.max() ?? 1)
        let width = 900.0, height = 180.0, left = 40.0, top = 16.0
        let barWidth = width / Double(buckets)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width + left + 10))\" height=\"\(Int(height + top + 40))\" role=\"img\" aria-label=\"Writes per second and 429s\">"
        svg += "<text x=\"0\" y=\"\(Int(top + 4))\">\(String(format: "%.1f", peak))/s</text><text x=\"0\" y=\"\(Int(top + height))\">0</text>"
        svg += "<line x1=\"\(left)\" y1=\"\(top + height)\" x2=\"\(left + width)\" y2=\"\(top + height)\" stroke=\"#8c959f\"/>"
        for (i, rate) in rates.enumerated() where rate > 0 {
            let h = height * rate / peak
            svg += "<rect x=\"\(String(format: "%.2f", left + Double(i) * barWidth))\" y=\"\(String(format: "%.2f", top + height - h))\" width=\"\(String(format: "%.2f", max(0.5, barWidth - 0.3)))\" height=\"\(String(format: "%.2f", h))\" fill=\"#2da44e\"/>"
        }
        for time in throttles {
            let x = left + (time - first) / Double(seconds) * width
            svg += "<line x1=\"\(String(format: "%.2f", x))\" y1=\"\(top - 10)\" x2=\"\(String(format: "%.2f", x))\" y2=\"\(top)\" stroke=\"#cf222e\" stroke-width=\"2\"/>"
        }
        svg += "<text x=\"\(left)\" y=\"\(Int(top + height + 18))\">\(Self.escape(summary.writesPerSecond.first?.time ?? ""))</text>"
        svg += "<text x=\"\(Int(left + width - 160))\" y=\"\(Int(top + height + 18))\">\(seconds) s</text>"
        svg += "<text x=\"\(left)\" y=\"\(Int(top + height + 34))\" fill=\"#57606a\">green: successful writes per second · red ticks: answers 429 (\(throttles.count))</text>"
        return svg + "</svg>"
    }
}
