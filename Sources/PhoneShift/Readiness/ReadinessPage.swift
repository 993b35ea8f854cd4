import Foundation
import Mustache

/// `readiness.html`: one self-contained page with no script at all — the counts by class, a
/// chart, and the users who need action first (phone-only, then those with no method or an
/// unreadable one). Its Content Security Policy allows inline styles only; everything from the
/// directory is escaped by Mustache's `{{ }}`.
struct ReadinessPage {
    let jobName: String
    let source: ReadinessSource
    let sourceNote: String
    let counts: [ReadinessClass: Int]
    let unreadable: Int
    let phoneOnlyAdmins: Int
    let total: Int
    let rows: [ReadinessRow]
    let notFound: [String]

    static let template = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
        <meta name="referrer" content="no-referrer">
        <title>PhoneShift readiness — {{jobName}}</title>
        <style>
        body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1b1f24; }
        h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 8px; }
        .meta { color: #57606a; }
        .figures { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 16px; }
        .figure { border: 1px solid #d0d7de; border-radius: 6px; padding: 10px 14px; min-width: 130px; }
        .figure b { display: block; font-size: 22px; }
        .figure.bad b { color: #cf222e; } .figure.good b { color: #1a7f37; }
        table { border-collapse: collapse; width: 100%; } th, td { border-bottom: 1px solid #d0d7de; padding: 4px 6px; text-align: left; vertical-align: top; }
        th { background: #f6f8fa; }
        svg text { font: 12px system-ui, sans-serif; fill: #1b1f24; }
        </style>
        </head>
        <body>
        <h1>Moving off SMS and voice — {{jobName}}</h1>
        <div class="meta">Microsoft stops delivering SMS and voice codes on 2027-02-01 (public cloud); users whose only MFA methods are phones must then register a passkey at sign-in.</div>
        <div class="meta">Source: <span data-source="{{source}}">{{sourceNote}}</span></div>
        <div class="figures">
        {{#figures}}<div class="figure {{tone}}"><b data-figure="{{key}}">{{value}}</b>{{label}}</div>
        {{/figures}}
        </div>
        <h2>Users by class</h2>
        {{{chart}}}
        <h2>Users who need action (<span data-figure="listed">{{listed}}</span> listed; every user is in readiness.csv)</h2>
        <table id="action">
        <thead><tr><th>User</th><th>Name</th><th>Class</th><th>Phones</th><th>Other methods</th><th>Admin</th><th>Note</th></tr></thead>
        <tbody>
        {{#rows}}<tr data-class="{{cls}}"><td>{{user}}</td><td dir="auto">{{name}}</td><td>{{cls}}</td><td>{{phones}}</td><td>{{methods}}</td><td>{{admin}}</td><td dir="auto">{{note}}</td></tr>
        {{/rows}}
        </tbody>
        </table>
        {{#hasNotFound}}<h2>Named in the users sheet, not found (disabled accounts are not in the registration report)</h2>
        <ul>{{#notFound}}<li>{{.}}</li>{{/notFound}}</ul>{{/hasNotFound}}
        </body>
        </html>
        """

    static let colors: [ReadinessClass: String] = [.phishingResistant: "#1a7f37", .app: "#0969da", .phoneOnly: "#cf222e", .none: "#8c959f"]

    func render() throws -> String {
        func figure(_ key: String, _ label: String, _ value: Int, _ tone: String = "") -> [String: Any] {
            ["key": key, "label": label, "value": String(value), "tone": tone]
        }
        let phoneOnly = counts[.phoneOnly] ?? 0
        var figures: [[String: Any]] = [figure("total", "users", total)]
        figures.append(figure(ReadinessClass.phishingResistant.rawValue, "phishing-resistant", counts[.phishingResistant] ?? 0, "good"))
        figures.append(figure(ReadinessClass.app.rawValue, "app (Authenticator, OATH)", counts[.app] ?? 0))
        figures.append(figure(ReadinessClass.phoneOnly.rawValue, "phone-only", phoneOnly, phoneOnly > 0 ? "bad" : ""))
        figures.append(figure(ReadinessClass.none.rawValue, "no MFA method", counts[.none] ?? 0))
        figures.append(figure("phone-only-admins", "phone-only admins", phoneOnlyAdmins, phoneOnlyAdmins > 0 ? "bad" : ""))
        if unreadable > 0 { figures.append(figure("unreadable", "could not be read", unreadable, "bad")) }
        func short(_ text: String) -> String { text.count > 160 ? String(text.prefix(160)) + "…" : text }
        let ordered = rows.enumerated().sorted { a, b in
            func rank(_ r: ReadinessRow) -> Int { r.readinessClass == .phoneOnly ? 0 : r.readinessClass == ReadinessClass.none ? 1 : 2 }
            return rank(a.element) != rank(b.element) ? rank(a.element) < rank(b.element) : a.offset < b.offset
        }.map(\.element)
        let listed: [[String: Any]] = ordered.map { r in
            let phones = r.phoneTypes.map { type in r.phones[type].map { "\(type.rawValue) \(PhoneMask.mask($0))" } ?? type.rawValue }
            return [
                "user": short(r.userPrincipalName), "name": short(r.displayName), "cls": r.readinessClass?.rawValue ?? "unknown",
                "phones": phones.joined(separator: "; "),
                "methods": r.methods.filter { !$0.isPhone }.sorted().map(\.label).joined(separator: "; "),
                "admin": r.admin.map { $0.isEmpty ? "no" : "yes" } ?? "unknown", "note": short(r.problem ?? r.readinessClass?.meaning ?? ""),
            ]
        }
        let context: [String: Any] = [
            "jobName": jobName, "source": source.rawValue, "sourceNote": sourceNote, "figures": figures, "chart": chart(),
            "listed": listed.count, "rows": listed, "hasNotFound": !notFound.isEmpty, "notFound": notFound,
        ]
        return try MustacheTemplate(string: Self.template).render(context)
    }

    /// Horizontal bars, one per class.
    func chart() -> String {
        let largest = max(1, counts.values.max() ?? 1)
        let barHeight = 24, width = 560, labelWidth = 150
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width + labelWidth + 90)\" height=\"\(ReadinessClass.allCases.count * barHeight + 8)\" role=\"img\" aria-label=\"Users by class\">"
        for (i, cls) in ReadinessClass.allCases.enumerated() {
            let value = counts[cls] ?? 0
            let y = i * barHeight + 4
            let w = value == 0 ? 0 : max(1, Int(Double(width) * Double(value) / Double(largest)))
            svg += "<text x=\"0\" y=\"\(y + 15)\">\(cls.rawValue)</text>"
            svg += "<rect x=\"\(labelWidth)\" y=\"\(y)\" width=\"\(w)\" height=\"\(barHeight - 6)\" fill=\"\(Self.colors[cls] ?? "#57606a")\"><title>\(cls.rawValue): \(value)</title></rect>"
            svg += "<text x=\"\(labelWidth + w + 6)\" y=\"\(y + 15)\" data-class-count=\"\(cls.rawValue)\">\(value)</text>"
        }
        return svg + "</svg>"
    }
}
