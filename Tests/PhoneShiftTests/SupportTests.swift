import Foundation
import Testing
@testable import PhoneShift

@Suite("Support: SHA-256, job files, job store")
struct SupportTests {
    let dir = TemporaryDirectory()

    @Test("SHA-256 (swift-crypto) known vectors, and a file digest equal to sha256sum's")
    func sha256() throws {
        func hex(_ text: String) -> String { FileDigest.hex(of: Array(text.utf8)) }
        #expect(hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        var text = ""
        for i in 0..<20_000 { text += "line \(i),+1 2065550\(i % 1000)\n" }
        let path = dir.file("big.csv", text)
        let expected = try runTool("/usr/bin/sha256sum", [path]).split(separator: " ").first.map(String.init)
        #expect(try FileDigest.sha256Hex(ofFile: path) == expected)
    }

    func runTool(_ tool: String, _ arguments: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()  // output read to the end: the tool has finished
        return String(decoding: data, as: UTF8.self)
    }

    func job(_ body: String) -> String { dir.file("job-\(UUID().uuidString).yaml", body) }

    static let validTenant = """
        tenant:
          tenantId: t
          clientId: c
          clientSecret:
            env: SECRET_VAR
        """

    @Test("Job files: unknown keys, wrong types and missing settings are named with their key and line", arguments: [
        ("name: x\nsheet:\n  path: a.csv\n  phoneColum: Phone\n\(validTenant)\n", "sheet.phoneColum (line 4): unknown key (did you mean 'phoneColumn'?)"),
        ("sheet:\n  path: a.csv\n\(validTenant)\nrate:\n  concurrency: eight\n", "rate.concurrency (line 9): expected a whole number"),
        ("sheet:\n  path: a.csv\n\(validTenant)\nrate:\n  writesPerSecond: -3\n", "rate.writesPerSecond (line 9): expected a number from 0.1 to 10000, got '-3'"),
        ("sheet:\n  path: a.csv\n", "tenant is required"),
        ("\(validTenant)\n", "sheet is required"),
        ("sheet:\n  path: a.csv\nphoneType: pager\n\(validTenant)\n", "phoneType (line 3): 'pager' is not mobile"),
        ("sheet:\n  path: a.csv\npolicy:\n  allowPrivileged: maybe\n\(validTenant)\n", "policy.allowPrivileged (line 4): expected true or false"),
        ("sheet: [1, 2]\n\(validTenant)\n", "sheet (line 1) must be a mapping"),
        ("sheet:\n  path: a.csv\ntenant:\n  tenantId: t\n  clientId: c\n  clientSecret: hunter2\n", "tenant.clientSecret (line 6) must be a mapping"),
        ("sheet:\n  path: a.csv\ntenant:\n  tenantId: t\n  clientId: c\n  clientSecret:\n    env: A\n    file: b\n", "give exactly one of 'env'"),
        ("key: [unclosed\n", "not valid YAML"),
    ])
    func jobErrors(_ text: String, _ message: String) {
        do {
            _ = try JobDefinition.load(path: job(text))
            Issue.record("expected: \(message)")
        } catch let error as PhoneShiftError {
            #expect(error.message.contains(message), "\(error.message)")
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test("Job files: defaults, relative paths, and the secret from the environment or an owner-only file")
    func jobSecrets() throws {
        let path = job("sheet:\n  path: sheets/a.csv\n\(Self.validTenant)\n")
        let definition = try JobDefinition.load(path: path)
        #expect(definition.sheet.path == dir.path + "/sheets/a.csv")
        // No write rate: apply finds the quota; concurrency is only the cap of requests in flight.
        #expect(definition.rate.writesPerSecond == nil && definition.rate.concurrency == 64)
        #expect(definition.policy.allowPrivileged == false)
        #expect(try definition.clientSecret(environment: ["SECRET_VAR": "s3cr3t"]).value == "s3cr3t")
        do {
            _ = try definition.clientSecret(environment: [:])
            Issue.record("expected an error")
        } catch let error as PhoneShiftError { #expect(error.message.contains("SECRET_VAR")) }
        let secretFile = dir.file("secret.txt", "from-file\n")
        let withFile = try JobDefinition.load(path: job("sheet:\n  path: a.csv\ntenant:\n  tenantId: t\n  clientId: c\n  clientSecret:\n    file: secret.txt\n"))
        chmod(secretFile, 0o644)
        do {
            _ = try withFile.clientSecret()
            Issue.record("a world-readable secret file must be refused")
        } catch let error as PhoneShiftError {
            #expect(error.message.contains("chmod 600"))
            #expect(!error.message.contains("from-file"))
        }
        chmod(secretFile, 0o600)
        #expect(try withFile.clientSecret().value == "from-file")
        #expect("\(try withFile.clientSecret())" == "<secret>")
    }

    @Test("Plain http:// is refused except to loopback")
    func endpoints() throws {
        let remote = try JobDefinition.load(path: job("sheet:\n  path: a.csv\n\(Self.validTenant)\n  graph: http://graph.example.com/v1.0\n"))
        #expect(throws: PhoneShiftError.self) { try remote.graphSettings(environment: ["SECRET_VAR": "x"]) }
        let local = try JobDefinition.load(path: job("sheet:\n  path: a.csv\n\(Self.validTenant)\n  graph: http://127.0.0.1:8080/v1.0\n  authority: http://localhost:8080\n"))
        #expect(throws: Never.self) { try local.graphSettings(environment: ["SECRET_VAR": "x"]) }
    }
}

@Suite("The registry of job keys")
struct JobKeysTests {
    /// The README's table of job keys: key → (default, plan).
    static func readmeTable() throws -> [String: (defaultValue: String, plan: Bool)] {
        let readme = try String(contentsOfFile: packageRoot + "/README.md", encoding: .utf8)
        let section = try #require(readme.range(of: "### Job file keys"))
        var out: [String: (String, Bool)] = [:]
        for line in readme[section.upperBound...].split(separator: "\n").prefix { !$0.hasPrefix("### ") } where line.hasPrefix("| `") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            out[cells[1].trimmingCharacters(in: CharacterSet(charactersIn: "`"))] = (cells[3], cells[4] == "yes")
        }
        return out
    }

    @Test("The README's table lists every key of the registry, with its default and whether it shapes a plan, and no other")
    func readmeListsEveryKey() throws {
        let table = try Self.readmeTable()
        for key in JobKeys.all {
            let row = table[key.path]
            #expect(row != nil, "README's job-key table lacks \(key.path): add | `\(key.path)` | \(key.type) | \(key.defaultValue) | \(key.shapesPlan ? "yes" : "") | \(key.doc) |")
            #expect(row?.defaultValue == key.defaultValue && row?.plan == key.shapesPlan, "\(key.path): README says \(String(describing: row))")
        }
        #expect(Set(table.keys) == Set(JobKeys.all.map(\.path)), "in the README only: \(Set(table.keys).subtracting(JobKeys.all.map(\.path)))")
    }

    @Test("A plan records exactly the registry's plan-shaping keys, and a change of any of them is found")
    func planSettingsFollowTheRegistry() throws {
        let dir = TemporaryDirectory()
        _ = dir.file("sheet.csv", "user,phone\n")
        func job(_ extra: String) throws -> JobDefinition {
            try JobDefinition.load(path: dir.file("job.yaml", """
                sheet:
                  path: sheet.csv
                tenant:
                  tenantId: contoso.onmicrosoft.com
                  clientId: 8a3b6c0e-2f1d-4e5a-9b7c-1d2e3f4a5b6c
                  clientSecret: {env: S}
                \(extra)
                """))
        }
        let base = try job("")
        let recorded = base.planSettings.split(separator: "\n").map { String($0.split(separator: "=", maxSplits: 1)[0]) }
        #expect(recorded == JobKeys.all.filter(\.shapesPlan).map(\.path))
        // One plan-shaping change of each kind is named; a setting that does not shape a plan is not.
        let changed = try job("policy:\n  onlySetWhenEmpty: true\n  verifyAfterApply: true\nrate:\n  concurrency: 8\nphoneType: office")
        #expect(changed.changedPlanSettings(recorded: base.planSettings).map(\.key) == ["phoneType", "policy.onlySetWhenEmpty"])
    }

    @Test("The loader accepts exactly the registry's keys: each map's unknown-key error lists them")
    func unknownKeysListTheRegistry() throws {
        let dir = TemporaryDirectory()
        _ = dir.file("sheet.csv", "user,phone\n")
        for map in ["sheet", "tenant", "rate", "policy", "valves", "notify", "reports", "delta"] {
            let path = dir.file("job.yaml", """
                sheet:
                  path: sheet.csv
                tenant:
                  tenantId: t
                  clientId: c
                  clientSecret: {env: S}
                \(map == "sheet" || map == "tenant" ? "" : "\(map):\n  bogusKey: 1")
                """)
            if map == "sheet" || map == "tenant" {
                let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "\(map):\n", with: "\(map):\n  bogusKey: 1\n")
                try text.write(toFile: path, atomically: true, encoding: .utf8)
            }
            #expect {
                _ = try JobDefinition.load(path: path)
            } throws: { error in
                let message = "\(error)"
                return message.contains("\(map).bogusKey") && message.contains("known keys here: " + JobKeys.children(of: map).joined(separator: ", "))
            }
        }
    }
}
