import Foundation
import Testing
@testable import PhoneShift

/// End to end: the built `phoneshift` binary on the shipped samples and on hostile input.
@Suite("phoneshift validate (the binary)")
struct ValidateCommandTests {
    let dir = TemporaryDirectory()

    @Test("The quarterly migration sample is clean: exit 0, one output row per input row")
    func migrationSample() async throws {
        let output = dir.path + "/out.csv"
        let result = try await runProduct("phoneshift", ["validate", packageRoot + "/Samples/migration-q3.csv", "--output", output])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Rows: 250"))
        let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 251)
        #expect(lines[0].hasPrefix("line,user,phone_type,input,phone,status,reason"))
        let attributes = try FileManager.default.attributesOfItem(atPath: output)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        // No temporary file is left beside the output.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out.csv"])
    }

    @Test("The messy HR export (BOM, semicolons, CRLF, country names, artefacts) is usable: exit 0")
    func hrSample() async throws {
        let result = try await runProduct("phoneshift", ["validate", packageRoot + "/Samples/hr-export.csv", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        // Read as a program reads it: plain JSON, not the code's own type.
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(summary["rows"] as? Int == 120)
        #expect(summary["delimiter"] as? String == ";")
        let columns = summary["columns"] as? [String: Any]
        #expect(columns?["user"] as? String == "Work Email" && columns?["region"] as? String == "Country")
        let statuses = summary["statuses"] as? [String: Int] ?? [:]
        #expect(statuses["invalid"] == 0)
        // Blank phones are skipped with a warning, never "remove the number".
        #expect(summary["reasons"] as? [String: Int] == ["empty-phone": statuses["warning"] ?? -1])
        #expect((summary["sha256"] as? String)?.count == 64, "the digest of the sheet validated")
    }

    @Test("The broken sample: exit 1 and every mistake named with its line")
    func brokenSample() async throws {
        let output = dir.path + "/broken-out.csv"
        let result = try await runProduct("phoneshift", ["validate", packageRoot + "/Samples/broken.csv", "-o", output, "--json"])
        #expect(result.status == 1)
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let expected: [String: Int] = [
            "scientific-notation": 1, "placeholder": 1, "formula": 1, "local-only": 1, "premium-rate": 1,
            "wrong-type-for-slot": 1, "malformed-user": 1, "empty-user": 1, "user-conflict": 2, "duplicate-row": 1,
            "shared-number": 2, "not-in-numbering-plan": 1, "unknown-region": 1, "no-country": 1, "extra-fields": 1,
            "missing-fields": 1, "voice-only-in-sms-slot": 1,
        ]
        #expect(summary["reasons"] as? [String: Int] == expected)
        let rows = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").dropFirst()
        #expect(rows.map { Int($0.prefix { $0 != "," })! } == Array(2...21))
        // The formula cell is echoed neutralised.
        #expect(rows.first { $0.hasPrefix("4,") }!.contains("\"'=HYPERLINK("))
    }

    @Test("Unusable input: exit 2 with a message a person understands", arguments: [
        ("empty.csv", "", "is empty"),
        ("header.csv", "UPN,Phone\n", "header but no rows"),
        ("quote.csv", "UPN,Phone\na@b.co,\"+1 206\nb@b.co,1\n", "line 2: a quoted field opened on this line is never closed"),
        ("nocol.csv", "Name,Dept\nAnn,Sales\n", "no user column found"),
        ("dup.csv", "UPN,Phone,PHONE\na@b.co,1,2\n", "names 'Phone' twice"),
        ("binary.csv", "\u{0}\u{1}\u{2}", "the header cannot be read"),
    ])
    func unusable(_ name: String, _ content: String, _ message: String) async throws {
        let path = dir.file(name, content)
        let output = dir.path + "/\(name).out.csv"
        let result = try await runProduct("phoneshift", ["validate", path, "--output", output])
        #expect(result.status == 2)
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(!result.stderr.contains("Fatal error"))
        // Never a half-written file.
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test("Invalid UTF-8 names the line and suggests --encoding; with it the row reads", arguments: [false, true])
    func windows1252(_ explicit: Bool) async throws {
        var bytes = Array("UPN,Phone,Country\nren".utf8)
        bytes += [0xE9] + Array("@contoso.com,+44 7400 123456,GB\n".utf8)
        let path = dir.file("cp1252.csv", bytes: bytes)
        let result = try await runProduct("phoneshift", ["validate", path] + (explicit ? ["--encoding", "windows-1252"] : []))
        if explicit {
            #expect(result.status == 0)
            #expect(result.stdout.contains("ok: 1"))
        } else {
            #expect(result.status == 1)
            #expect(result.stdout.contains("line 2 [invalid]"))
            #expect(result.stdout.contains("--encoding windows-1252"))
        }
    }

    @Test("Usage errors exit 2", arguments: [
        ["validate"], ["validate", "x.csv", "--phone-type", "pager"], ["validate", "x.csv", "--delimiter", "x"],
        ["validate", "x.csv", "--encoding", "ebcdic"], ["validate", "/nonexistent/sheet.csv"], ["frobnicate"],
    ])
    func usage(_ arguments: [String]) async throws {
        let result = try await runProduct("phoneshift", arguments)
        #expect(result.status == 2, "\(arguments): \(result.stderr)")
        #expect(!result.stderr.isEmpty)
    }

    @Test("Cell text cannot forge terminal lines: control characters in users are shown as ?")
    func controlCharacters() async throws {
        let path = dir.file("ctl.csv", "UPN,Phone\n\"evil\u{1B}[31m@x.io\",N/A\n")
        let result = try await runProduct("phoneshift", ["validate", path])
        #expect(result.status == 1)
        #expect(!result.stdout.contains("\u{1B}"))
    }
}
