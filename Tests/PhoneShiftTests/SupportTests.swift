import CCurl
import Foundation
import Logging
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

    @Test("The sheet reader's digest is of the bytes it read, across chunk boundaries, equal to sha256sum's; nil until the end")
    func readerDigest() throws {
        var text = "user,phone\n"
        for i in 0..<3_000 { text += "u\(i)@contoso.com,+1 2065550\(i % 1000)\n" }
        let path = dir.file("digest.csv", text)
        let expected = try runTool("/usr/bin/sha256sum", [path]).split(separator: " ").first.map(String.init)
        for chunk in [7, 4096, 1 << 20] {
            let reader = try SheetReader(path: path, options: SheetReaderOptions(chunkSize: chunk))
            _ = try reader.next()
            if chunk < text.utf8.count { #expect(reader.sha256Hex == nil, "a digest before the end (chunk \(chunk))") }
            while try reader.next() != nil {}
            #expect(reader.sha256Hex == expected, "chunk \(chunk)")
        }
    }

    @Test("One reading of a delimiter setting: the job's sheet.delimiter and validate's --delimiter take the same words",
          arguments: [(",", ","), ("comma", ","), (";", ";"), ("Semicolon", ";"), ("tab", "\t"), ("\\t", "\t"), ("|", "|"), ("pipe", "|")])
    func delimiterWords(_ pair: (word: String, delimiter: String)) throws {
        let byte = UInt8(ascii: Unicode.Scalar(pair.delimiter)!)
        #expect(SheetReaderOptions.delimiter(named: pair.word) == byte)
        let yamlWord = pair.word.replacingOccurrences(of: "\\", with: "\\\\")
        let definition = try JobDefinition.load(path: job("sheet:\n  path: a.csv\n  delimiter: \"\(yamlWord)\"\n\(Self.validTenant)\n"))
        #expect(try definition.validationOptions().reader.delimiter == byte, "sheet.delimiter: \(pair.word)")
    }

    @Test("A secret and a certificate's private key stay hidden from print, debugPrint, string interpolation and dump()")
    func secretUnderDump() throws {
        let secret = Secret("s3cr3t-zebra-42")
        var dumped = ""
        dump(secret, to: &dumped)
        var settingsDump = ""
        let settings = try GraphSettings(tenantId: "t", clientId: "c", credential: .secret(secret),
                                         authority: URL(string: "https://login.microsoftonline.com")!,
                                         graphBase: URL(string: "https://graph.microsoft.com/v1.0")!)
        dump(settings, to: &settingsDump)
        for text in [dumped, settingsDump, "\(secret)", String(reflecting: secret), String(describing: settings)] {
            #expect(!text.contains("zebra"), "\(text)")
        }
        #expect(dumped.contains("<secret>"), "\(dumped)")
    }

    @Test("Exit codes of the network itself: unreachable or timed out is 8 (run again later), a certificate TLS refuses is 4")
    func transportExitCodes() {
        #expect(ExitStatus.of(TransportError(code: Int32(CURLE_COULDNT_CONNECT.rawValue), message: "refused")) == ExitStatus.transient)
        #expect(ExitStatus.of(TransportError(code: Int32(CURLE_OPERATION_TIMEDOUT.rawValue), message: "timeout")) == ExitStatus.transient)
        #expect(ExitStatus.of(TransportError(code: Int32(CURLE_PEER_FAILED_VERIFICATION.rawValue), message: "tls")) == ExitStatus.authentication)
    }

    @Test("Log lines in text mode mask numbers in the message and the metadata, as JSON lines do")
    func textLogsMasked() {
        let recorder = RecordingLogHandler()
        var logger = Logger(label: "test") { _ in MaskingLogHandler(inner: recorder) }
        logger.logLevel = .info
        logger[metadataKey: "number"] = "+1 206 555 0123"
        logger.info("changing bench1 to +12065550177", metadata: ["before": "+44 20 7946 0958"])
        let lines = recorder.lines.withLock { $0 }
        #expect(lines.count == 1)
        let line = lines.first ?? ""
        for digits in ["5550177", "5550123", "79460958", "7946 0958", "555 0123"] { #expect(!line.contains(digits), "\(line)") }
        // Masked, not dropped: the last digits stay for telling numbers apart.
        #expect(line.contains("*77") && line.contains("+44 ") && line.contains("*0958") && line.contains("+1 ") , "\(line)")
    }

    @Test("failures.csv from a UTF-16 sheet is UTF-16 with its byte-order mark; from a sheet whose digest is not the plan's, none is written")
    func failuresUTF16() throws {
        func utf16le(_ text: String) -> [UInt8] { text.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] } }
        let path = dir.file("u16.csv", bytes: [0xFF, 0xFE] + utf16le("UPN,Phone,Name\r\nalice@contoso.com,+1 2065550100,Ålice\r\nbob@contoso.com,+1 2065550101,Bøb\r\n"))
        let hash = try FileDigest.sha256Hex(ofFile: path)
        let out = dir.path + "/failures.csv"
        try Reports.writeFailures(sheet: path, sheetHash: hash, options: .init(), lines: [3], to: out)
        let written = Array(try Data(contentsOf: URL(fileURLWithPath: out)))
        #expect(written == [0xFF, 0xFE] + utf16le("UPN,Phone,Name\nbob@contoso.com,+1 2065550101,Bøb\n"), "\(written.prefix(40))")
        let other = dir.path + "/failures-2.csv"
        #expect { try Reports.writeFailures(sheet: path, sheetHash: String(repeating: "0", count: 64), options: .init(), lines: [3], to: other) }
            throws: { ($0 as? PhoneShiftError)?.code == .planOutdated }
        #expect(!FileManager.default.fileExists(atPath: other))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).allSatisfy { !$0.hasSuffix(".tmp") })
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

    /// A job file in `dir` with a sheet and a tenant, plus `extra` (top-level YAML lines).
    static func job(_ extra: String, in dir: TemporaryDirectory) throws -> JobDefinition {
        _ = dir.file("sheet.csv", "user,phone\n")
        return try JobDefinition.load(path: dir.file("job.yaml", """
            sheet:
              path: sheet.csv
            tenant:
              tenantId: contoso.onmicrosoft.com
              clientId: 8a3b6c0e-2f1d-4e5a-9b7c-1d2e3f4a5b6c
              clientSecret: {env: S}
            \(extra)
            """))
    }

    @Test("A plan records exactly the registry's plan-shaping keys, and a change of any of them is found")
    func planSettingsFollowTheRegistry() throws {
        let dir = TemporaryDirectory()
        func job(_ extra: String) throws -> JobDefinition { try Self.job(extra, in: dir) }
        let base = try job("")
        let recorded = base.planSettings.split(separator: "\n").map { String($0.split(separator: "=", maxSplits: 1)[0]) }
        #expect(recorded == JobKeys.all.filter(\.shapesPlan).map(\.path))
        // One plan-shaping change of each kind is named; a setting that does not shape a plan is not.
        let changed = try job("policy:\n  onlySetWhenEmpty: true\n  verifyAfterApply: true\nrate:\n  concurrency: 8\nphoneType: office")
        #expect(changed.changedPlanSettings(recorded: base.planSettings).map(\.key) == ["phoneType", "policy.onlySetWhenEmpty"])
    }

    @Test("Keys read by the registry: each one's default column is the model's default; set in a job, it reaches its field (rate.maxThrottledAttempts, added in one line, reaches the retry policy); out of range is an error naming key, line and range")
    func registryReadsKeys() throws {
        let dir = TemporaryDirectory()
        func job(_ extra: String) throws -> JobDefinition { try Self.job(extra, in: dir) }
        let base = try job("")
        let readers = JobKeys.all.filter { $0.reader != nil }
        #expect(readers.count >= 17)
        for key in readers {
            // A default said in words ("all", "found from Graph's answers") is no value in the model.
            let current = key.reader!.current(base)
            #expect(current == key.defaultValue || (current == nil && Double(key.defaultValue) == nil), "\(key.path): registry says \(key.defaultValue), the model \(current ?? "nil")")
        }
        let set = try job("rate:\n  maxThrottledAttempts: 3\n  burst: 2.5\n  writesPerSecond: 12\npolicy:\n  verifyBeforeWrite: false\nstrict: true\nkeepRuns: 4\nreports:\n  fullNumbers: yes")
        #expect(set.rate.maxThrottledAttempts == 3 && set.rate.burst == 2.5 && set.rate.writesPerSecond == 12)
        #expect(!set.policy.verifyBeforeWrite && set.strict && set.keepRuns == 4 && set.fullNumbersInReports)
        let session = try JobSession(job: set, logger: Logger(label: "test"), environment: ["S": "x"])
        defer { session.close() }
        #expect(session.client.retry.maxThrottledAttempts == 3)
        #expect { _ = try job("rate:\n  maxThrottledAttempts: 0") } throws: { error in
            let message = "\(error)"
            return message.contains("rate.maxThrottledAttempts (line 8)") && message.contains("from 1 to 1000")
        }
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

/// Keeps the lines a handler is given (the sink behind the masking handler under test).
final class RecordingLogHandler: LogHandler, @unchecked Sendable {
    // @unchecked: `lines` is a lock box; the rest is set before use.
    let lines = Locked<[String]>([])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { _, b in b }
        let text = "\(event.message) " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        lines.withLock { $0.append(text) }
    }
}
