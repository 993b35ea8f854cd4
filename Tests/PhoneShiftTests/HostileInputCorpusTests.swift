import CSQLite
import Foundation
import Testing
@testable import PhoneShift

/// One malformed or hostile input and what PhoneShift must answer: the exit code and a
/// phrase of the message. Every case also checks that nothing crashed (no signal, no
/// backtrace) and that no control character of the input reached the terminal.
struct HostileCase: Sendable, CustomTestStringConvertible {
    enum Input: Sendable {
        /// `phoneshift validate` of a sheet with these bytes (nil: the path is given as is).
        case sheet([UInt8])
        /// `phoneshift validate PATH` of a path the case makes (a device, a folder, a name).
        case sheetPath(String)
        /// `phoneshift plan` of a job file with this text (before any network call).
        case job(String)
        /// `phoneshift plan` of a job file made of these bytes.
        case jobBytes([UInt8])
    }
    let name: String
    let input: Input
    let exit: Int32
    let says: String
    /// A second phrase the message must hold (the key, for settings).
    var alsoSays = ""
    var testDescription: String { name }
}

/// The corpus. Job cases point at a port where nothing listens: each must stop while the
/// job is read, before any network call.
enum HostileCorpus {
    static let header = "UPN,Phone\n"
    static func sheet(_ text: String) -> HostileCase.Input { .sheet(Array(text.utf8)) }
    static func rows(_ lines: String...) -> HostileCase.Input { sheet(header + lines.joined(separator: "\n") + "\n") }

    /// A job file around `body` (top-level keys), with `sheet:` and `tenant:` that are fine.
    static func job(_ body: String, sheet: String = "sheet.csv", sheetExtra: String = "", outputs: String = "out",
                    secret: String = "clientSecret:\n    env: PHONESHIFT_CORPUS_SECRET",
                    authority: String = "http://127.0.0.1:9", graph: String = "http://127.0.0.1:9/v1.0") -> HostileCase.Input {
        .job("""
            sheet:
              path: \(sheet)
              \(sheetExtra)
            tenant:
              tenantId: 9188040d-6c67-4c5b-b112-36a304b66dad
              clientId: 8a3b6c0e-2f1d-4e5a-9b7c-1d2e3f4a5b6c
              \(secret)
              authority: \(authority)
              graph: \(graph)
            outputs: \(outputs)
            \(body)
            """)
    }

    static let sheets: [HostileCase] = [
        HostileCase(name: "empty file", input: sheet(""), exit: 2, says: "is empty: no header and no rows"),
        HostileCase(name: "header only", input: sheet(header), exit: 2, says: "the sheet has a header but no rows"),
        HostileCase(name: "a UTF-8 BOM and nothing else", input: .sheet([0xEF, 0xBB, 0xBF]), exit: 2, says: "is empty"),
        HostileCase(name: "only blank lines after the header", input: sheet(header + String(repeating: "\n", count: 100_000)), exit: 2, says: "header but no rows"),
        HostileCase(name: "UTF-16LE with its BOM is read", input: .sheet([0xFF, 0xFE] + Array("UPN,Phone\na@contoso.com,+1 206 555 0100\n".utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }), exit: 0, says: "ok: 1"),
        HostileCase(name: "UTF-16 without a BOM is recognised by its NUL bytes", input: .sheet(Array("UPN,Phone\na@contoso.com,+1 206 555 0100\n".utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }), exit: 0, says: "utf-16le"),
        HostileCase(name: "a Windows-1252 byte in the user column", input: .sheet(Array("UPN,Phone\nren".utf8) + [0xE9] + Array("@contoso.com,+1 206 555 0100\n".utf8)), exit: 1, says: "try --encoding windows-1252"),
        HostileCase(name: "an invalid UTF-8 byte in a column PhoneShift does not use", input: .sheet(Array("UPN,Phone,Notes\na@contoso.com,+1 206 555 0100,caf".utf8) + [0xE9] + [0x0A]), exit: 0, says: "not a column PhoneShift uses, so the row is kept"),
        HostileCase(name: "an invalid byte in the header", input: .sheet(Array("UPN,Pho".utf8) + [0xFF] + Array("ne\na@contoso.com,1\n".utf8)), exit: 2, says: "the header cannot be read"),
        HostileCase(name: "a NUL byte in the phone column", input: .sheet(Array("UPN,Phone\na@contoso.com,+1 206".utf8) + [0] + Array(" 555 0100\n".utf8)), exit: 1, says: "NUL byte"),
        HostileCase(name: "a quote opened and never closed", input: rows("a@contoso.com,\"+1 206 555 0100", "b@contoso.com,+1 206 555 0101"), exit: 2, says: "never closed (the file ends inside quotes)"),
        HostileCase(name: "a stray quote inside an unquoted field", input: rows("a@cont\"oso.com,+1 206 555 0100"), exit: 1, says: "line 2"),
        HostileCase(name: "a 3 MB quoted field in the phone column sinks its row only", input: rows("a@contoso.com,\"" + String(repeating: "9", count: 3 << 20) + "\"", "b@contoso.com,+1 206 555 0101"), exit: 1, says: "field 2 is 3.0 MB long, more than the 1.0 MB a cell may hold"),
        HostileCase(name: "a 2 MB unquoted field", input: rows("a@contoso.com," + String(repeating: "1", count: 2 << 20)), exit: 1, says: "2.0 MB long"),
        HostileCase(name: "CRLF line ends", input: sheet("UPN,Phone\r\na@contoso.com,+1 206 555 0100\r\n"), exit: 0, says: "ok: 1"),
        HostileCase(name: "CR-only line ends (old Mac)", input: sheet("UPN,Phone\ra@contoso.com,+1 206 555 0100\rb@contoso.com,+1 206 555 0101\r"), exit: 0, says: "ok: 2"),
        HostileCase(name: "semicolons and quoted commas", input: sheet("UPN;Phone;Name\na@contoso.com;+1 206 555 0100;\"Doe, Jane\"\n"), exit: 0, says: "delimiter ';'"),
        HostileCase(name: "a header of 10,000 columns", input: sheet((0..<10_000).map { "c\($0)" }.joined(separator: ",") + "\n" + (0..<10_000).map { _ in "x" }.joined(separator: ",") + "\n"), exit: 2, says: "user"),
        HostileCase(name: "two Phone columns", input: sheet("UPN,Phone,Phone\na@contoso.com,+1 206 555 0100,+1 206 555 0101\n"), exit: 2, says: "Phone"),
        HostileCase(name: "no phone column", input: sheet("UPN,Name\na@contoso.com,Jane\n"), exit: 2, says: "phone"),
        HostileCase(name: "a formula in the phone column", input: rows("a@contoso.com,=HYPERLINK(\"http://evil\")"), exit: 1, says: "a spreadsheet formula, not a number"),
        HostileCase(name: "a DDE formula as the user", input: rows("=cmd|' /C calc'!A0,+1 206 555 0100"), exit: 1, says: "not a user principal name"),
        HostileCase(name: "@SUM as the user", input: rows("@SUM(1+1)*cmd|' /C calc'!A0,+1 206 555 0100"), exit: 1, says: "line 2"),
        HostileCase(name: "Excel scientific notation", input: rows("a@contoso.com,2.06555E+10"), exit: 1, says: "scientific notation"),
        HostileCase(name: "<script> as the user", input: rows("<script>alert(1)</script>,+1 206 555 0100"), exit: 1, says: "line 2"),
        HostileCase(name: "<img onerror> in a UPN", input: rows("\"<img src=x onerror=alert(1)>@contoso.com\",+1 206 555 0100"), exit: 1, says: "line 2"),
        HostileCase(name: "CR/LF inside a quoted user", input: rows("\"a\r\nb@contoso.com\",+1 206 555 0100"), exit: 1, says: "control characters"),
        HostileCase(name: "a terminal escape sequence in the user", input: rows("\u{1B}[2J\u{1B}[31ma@contoso.com,+1 206 555 0100"), exit: 1, says: "line 2"),
        HostileCase(name: "an OSC 52 clipboard escape in the phone", input: rows("a@contoso.com,\u{1B}]52;c;cm0gLXJmIH4=\u{07}"), exit: 1, says: "line 2"),
        HostileCase(name: "right-to-left override in the user", input: rows("a\u{202E}moc.osotnoc@b,+1 206 555 0100"), exit: 1, says: "line 2"),
        HostileCase(name: "a row with an unquoted extra delimiter", input: rows("a@contoso.com,+1 206 555 0100,extra"), exit: 1, says: "the columns may have shifted"),
        HostileCase(name: "a row with too few fields", input: rows("a@contoso.com"), exit: 1, says: "the user or phone column is not there"),
        HostileCase(name: "placeholders", input: rows("a@contoso.com,N/A", "b@contoso.com,TBD", "c@contoso.com,0000000000"), exit: 1, says: "invalid: 3"),
        HostileCase(name: "letters in a number", input: rows("a@contoso.com,1-800-FLOWERS"), exit: 1, says: "line 2"),
        HostileCase(name: "a premium-rate number for SMS", input: rows("a@contoso.com,+1 900 555 0100"), exit: 1, says: "line 2"),
        HostileCase(name: "one user, two numbers", input: rows("a@contoso.com,+1 206 555 0100", "A@contoso.com,+1 206 555 0101"), exit: 1, says: "conflict: 2"),
        HostileCase(name: "a PNG file", input: .sheet([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, 0x49, 0x48, 0x44, 0x52]), exit: 2, says: "header"),
        HostileCase(name: "a gzip file", input: .sheet([0x1F, 0x8B, 0x08, 0, 0, 0, 0, 0, 0, 3, 0xFF, 0xFE, 0x00, 0x01]), exit: 2, says: "header"),
        HostileCase(name: "a quoted header name with a line break is matched without it, and never printed raw", input: sheet("UPN,\"Pho\r\nne\"\na@contoso.com,+1 206 555 0100\n"), exit: 0, says: "phone: 'Pho??ne'"),
        HostileCase(name: "a mobile number with an extension is a warning", input: rows("a@contoso.com,+1 206 555 0100 ext. 5"), exit: 0, says: "an automated MFA call or SMS to a mobile number cannot dial it"),
        HostileCase(name: "a row of 200,000 empty fields is a blank row", input: sheet(header + String(repeating: ",", count: 200_000) + "\n"), exit: 2, says: "header but no rows"),
        HostileCase(name: "a directory", input: .sheetPath("<dir>"), exit: 2, says: "is a directory, not a sheet"),
        HostileCase(name: "/dev/zero", input: .sheetPath("/dev/zero"), exit: 2, says: "is a device or special file"),
        HostileCase(name: "/dev/null", input: .sheetPath("/dev/null"), exit: 2, says: "is a device or special file"),
        HostileCase(name: "a file that does not exist", input: .sheetPath("<dir>/missing.csv"), exit: 2, says: "No such file or directory"),
        HostileCase(name: "a file name with bytes that are not UTF-8", input: .sheetPath("<dir>/\u{FFFD}.csv"), exit: 2, says: "bytes that are not UTF-8"),
        HostileCase(name: "a file name with a terminal escape", input: .sheetPath("<dir>/\u{1B}[2J\u{1B}]0;pwned\u{07}.csv"), exit: 2, says: "cannot open the sheet"),
    ]

    /// Every numeric setting at 0, negative, huge and NaN (and a tiny one where 0 is allowed).
    static let numbers: [HostileCase] = {
        let settings: [(section: String, key: String, zeroOK: Bool, says: String)] = [
            ("rate", "writesPerSecond", false, "expected a number from 0.1 to 10000"),
            ("rate", "readsPerSecond", false, "expected a number from 0.1 to 10000"),
            ("rate", "burst", false, "expected a number from 1 to 10000"),
            ("rate", "concurrency", false, "expected a whole number from 1 to 256"),
            ("rate", "maxAttempts", false, "expected a whole number from 1 to 100"),
            ("rate", "connectTimeoutSeconds", false, "expected a number from 0.5 to 600"),
            ("rate", "requestTimeoutSeconds", false, "expected a number from 1 to 3600"),
            ("policy", "maxChanges", true, "expected a whole number from 0 up (or off)"),
            ("valves", "maxChanges", true, "expected a whole number from 0 up (or off)"),
            ("valves", "maxChangePercent", true, "expected a percentage from 0 to 100 (or off)"),
            ("valves", "maxShrinkPercent", true, "expected a percentage from 0 to 100 (or off)"),
            ("valves", "maxBlankOrInvalidPercent", true, "expected a percentage from 0 to 100 (or off)"),
            ("delta", "fullEveryDays", true, "expected a whole number from 0 to 3650"),
        ]
        var cases: [HostileCase] = []
        for s in settings {
            var values = ["-1", "1e300", ".nan", "NaN", "1e-300"]
            if !s.zeroOK { values.append("0") }
            for v in values {
                let tiny = v == "1e-300"
                // Settings that take whole numbers or percentages accept a tiny positive value
                // only where it means something; the others refuse it.
                if tiny && s.zeroOK && s.says.contains("percentage") { continue }
                cases.append(HostileCase(name: "\(s.section).\(s.key): \(v)", input: job("\(s.section):\n  \(s.key): \(v)"),
                                         exit: 2, says: "\(s.says), got '\(v)'", alsoSays: "\(s.section).\(s.key) (line"))
            }
        }
        for v in ["0", "-3", "1e9", ".nan"] {
            cases.append(HostileCase(name: "keepRuns: \(v)", input: job("keepRuns: \(v)"), exit: 2, says: "keepRuns (line"))
        }
        return cases
    }()

    static let jobs: [HostileCase] = [
        HostileCase(name: "an empty job file", input: .job(""), exit: 2, says: "is empty"),
        HostileCase(name: "a job file that is not UTF-8", input: .jobBytes([0x73, 0x68, 0x65, 0x65, 0x74, 0x3A, 0x20, 0xFF, 0xFE, 0x0A]), exit: 2, says: "is not UTF-8 text"),
        HostileCase(name: "not YAML", input: .job("sheet: [unclosed\n  path: {\n"), exit: 2, says: "is not valid YAML: line"),
        HostileCase(name: "a list instead of a mapping", input: .job("- a\n- b\n"), exit: 2, says: "must be a mapping"),
        HostileCase(name: "a YAML bomb (billion laughs)", input: .job((["a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]"] + (1...9).map { i in "\(Character(UnicodeScalar(UInt8(97 + i)))): &\(Character(UnicodeScalar(UInt8(97 + i)))) [" + Array(repeating: "*\(Character(UnicodeScalar(UInt8(96 + i))))", count: 9).joined(separator: ",") + "]" }).joined(separator: "\n") + "\n"), exit: 2, says: "unknown key"),
        HostileCase(name: "10,000 nested lists", input: .job("sheet: " + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000) + "\n"), exit: 2, says: "Maximum nesting level reached"),
        HostileCase(name: "a 2 MB job file", input: .job("# " + String(repeating: "x", count: 2 << 20) + "\nname: big\n"), exit: 2, says: "over 1 MB"),
        HostileCase(name: "a key given twice", input: job("store: a.sqlite\nstore: b.sqlite"), exit: 2, says: "the key 'store' appears more than once"),
        HostileCase(name: "a typo in a key", input: job("shet:\n  path: x.csv"), exit: 2, says: "did you mean 'sheet'"),
        HostileCase(name: "name: ../../../tmp/x", input: job("name: ../../../tmp/x"), exit: 2, says: "no '/', '..' or control characters"),
        HostileCase(name: "name: with an escape sequence", input: job("name: \"job\\e[2J\\e]0;pwned\\a\""), exit: 2, says: "may hold only letters"),
        HostileCase(name: "name: with a line break", input: job("name: \"a\\nb\""), exit: 2, says: "may hold only letters"),
        HostileCase(name: "name: empty", input: job("name: \"\""), exit: 2, says: "may hold only letters"),
        HostileCase(name: "name: .hidden", input: job("name: .sqlite"), exit: 2, says: "not starting with '.'"),
        HostileCase(name: "store: /dev/null", input: job("store: /dev/null"), exit: 2, says: "is not a regular file"),
        HostileCase(name: "store: a folder", input: job("store: <dir>"), exit: 2, says: "is not a regular file"),
        HostileCase(name: "store: another program's SQLite database", input: job("store: <dir>/foreign.sqlite"), exit: 2, says: "an SQLite database of another program (tables: customers)"),
        HostileCase(name: "store: a CSV file", input: job("store: sheet.csv"), exit: 2, says: "cannot open the job store"),
        HostileCase(name: "outputs: /dev/null", input: job("", outputs: "/dev/null"), exit: 2, says: "/dev/null"),
        HostileCase(name: "sheet.path: /dev/zero (plan used to spin)", input: job("", sheet: "/dev/zero"), exit: 2, says: "is a device or special file"),
        HostileCase(name: "sheet.path: a folder", input: job("", sheet: "/tmp"), exit: 2, says: "is a directory, not a sheet"),
        HostileCase(name: "sheet.path: missing", input: job("", sheet: "nope.csv"), exit: 2, says: "nope.csv"),
        HostileCase(name: "secret file: /etc/shadow (no chmod advice for a system file)", input: job("", secret: "clientSecret:\n    file: /etc/shadow"), exit: 2, says: "a system file"),
        HostileCase(name: "secret file: /dev/zero", input: job("", secret: "clientSecret:\n    file: /dev/zero"), exit: 2, says: "is not a regular file"),
        HostileCase(name: "secret file: missing (its name is not echoed)", input: job("", secret: "clientSecret:\n    file: s3cr3t-pasted-here"), exit: 2, says: "the name is not shown"),
        HostileCase(name: "a secret pasted in the job file", input: job("", secret: "clientSecret: Xy8Q~s3cr3t-pasted-here"), exit: 2, says: "clientSecret"),
        HostileCase(name: "clientSecret.env: a shell command", input: job("", secret: "clientSecret:\n    env: \"$(rm -rf ~)\""), exit: 2, says: "clientSecret"),
        HostileCase(name: "authority over plain http to another host", input: job("", authority: "http://login.example.com"), exit: 2, says: "http"),
        HostileCase(name: "graph at an ftp URL", input: job("", graph: "ftp://127.0.0.1:9/v1.0"), exit: 2, says: "graph"),
        HostileCase(name: "phoneType: fax", input: job("phoneType: fax"), exit: 2, says: "is not mobile, alternateMobile or office"),
        HostileCase(name: "sheet.delimiter: ::", input: job("", sheetExtra: "delimiter: \"::\""), exit: 2, says: "sheet.delimiter must be"),
        HostileCase(name: "policy.changedElsewhere: sometimes", input: job("policy:\n  changedElsewhere: sometimes"), exit: 2, says: "is not keep or restore"),
        HostileCase(name: "blankRemovesNumber with onlySetWhenEmpty", input: job("policy:\n  blankRemovesNumber: true\n  onlySetWhenEmpty: true"), exit: 2, says: "contradict each other"),
        HostileCase(name: "valves.maxChangePercent: 150%", input: job("valves:\n  maxChangePercent: 150%"), exit: 2, says: "expected a percentage from 0 to 100 (or off)"),
    ]

    static let all: [HostileCase] = sheets + numbers + jobs + workbooks
}

@Suite("Hostile-input corpus: malformed and hostile sheets, job files and settings")
struct HostileInputCorpusTests {
    @Test("The corpus holds at least 80 inputs")
    func size() {
        #expect(HostileCorpus.all.count >= 80, "\(HostileCorpus.all.count)")
    }

    @Test("Each hostile input gets its exit code and a clear message; nothing crashes; no control character reaches the terminal",
          arguments: HostileCorpus.all)
    func hostile(_ c: HostileCase) async throws {
        let dir = TemporaryDirectory()
        _ = dir.file("sheet.csv", "UPN,Phone\na@contoso.com,+1 206 555 0100\n")
        let foreign = dir.path + "/foreign.sqlite"
        let db = try SQLiteDatabase(path: foreign)
        try db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers (name) VALUES ('Ann');")
        chmod(foreign, 0o644)
        func resolve(_ text: String) -> String { text.replacingOccurrences(of: "<dir>", with: dir.path) }
        var arguments: [String]
        switch c.input {
        case .sheet(let bytes):
            arguments = ["validate", dir.file("input.csv", bytes: bytes)]
        case .sheetPath(let path):
            arguments = ["validate", resolve(path)]
        case .job(let text):
            arguments = ["plan", dir.file("job.yaml", resolve(text))]
        case .jobBytes(let bytes):
            arguments = ["plan", dir.file("job.yaml", bytes: bytes)]
        }
        var environment = ProcessInfo.processInfo.environment
        environment["PHONESHIFT_CORPUS_SECRET"] = "corpus-secret-value"
        let r = try await runProduct("phoneshift", arguments, environment: environment)
        let output = r.stdout + r.stderr
        #expect(r.status == c.exit, "\(c.name): exit \(r.status)\n\(output.prefix(2000))")
        #expect(output.contains(c.says) && (c.alsoSays.isEmpty || output.contains(c.alsoSays)), "\(c.name): expected '\(c.says)' and '\(c.alsoSays)' in\n\(output.prefix(2000))")
        #expect(!output.contains("Fatal error") && !output.contains("Backtracing") && r.status < 128, "\(c.name) crashed: \(output.prefix(2000))")
        #expect(!output.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{07}" || $0 == "\u{202E}" }, "\(c.name): a control character reached the terminal")
        #expect(!output.contains("corpus-secret-value") && !output.contains("s3cr3t-pasted-here"), "\(c.name): a secret was echoed")
        // Tables of another program's database are left as they were.
        let check = try SQLiteDatabase(path: foreign)
        let tables = try check.prepare("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'")
        try tables.bind([])
        _ = try tables.step()
        #expect(tables.int(0) == 1, "\(c.name): tables were added to another program's database")
        // …and so are its mode and journal mode (WAL is persistent in the file).
        var info = stat()
        #expect(stat(foreign, &info) == 0 && info.st_mode & 0o777 == 0o644, "\(c.name): another program's database was chmod-ed")
        let mode = try check.prepare("PRAGMA journal_mode")
        try mode.bind([])
        _ = try mode.step()
        #expect(mode.text(0) == "delete", "\(c.name): another program's database was switched to \(mode.text(0) ?? "?")")
    }

    @Test("A 300 MB quoted field, generated here, costs its row only and is read in bounded memory")
    func hugeFieldAtTestTime() async throws {
        let dir = TemporaryDirectory()
        let path = dir.path + "/huge.csv"
        FileManager.default.createFile(atPath: path, contents: Data("UPN,Phone,Notes\na@contoso.com,+1 206 555 0100,\"".utf8))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        handle.seekToEndOfFile()
        let chunk = Data(repeating: UInt8(ascii: "x"), count: 1 << 20)
        for _ in 0..<300 { handle.write(chunk) }
        handle.write(Data("\"\nb@contoso.com,+1 206 555 0101,ok\n".utf8))
        try handle.close()
        let r = try await runProduct("phoneshift", ["validate", path])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("field 3 is 300.0 MB long") && r.stdout.contains("ok: 1"), "\(r.stdout)")
    }
}
