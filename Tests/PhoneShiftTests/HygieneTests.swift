import Foundation
import GraphEmulator
import Testing
@testable import PhoneShift

/// Secrets, tokens, keys and phone numbers: where they may and may not end up.
extension EngineTests {
    /// Every regular file under `folder` (recursively), with its bytes and mode.
    static func artefacts(_ folder: String) -> [(path: String, bytes: Data, mode: mode_t)] {
        var found: [(String, Data, mode_t)] = []
        guard let walker = FileManager.default.enumerator(atPath: folder) else { return [] }
        for case let relative as String in walker {
            let path = folder + "/" + relative
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            if info.st_mode & S_IFMT == S_IFREG, let data = FileManager.default.contents(atPath: path) {
                found.append((path, data, info.st_mode))
            } else if info.st_mode & S_IFMT == S_IFDIR {
                found.append((path + "/", Data(), info.st_mode))
            }
        }
        return found
    }

    @Test("Secret and PII hygiene: a distinctive secret, the private key and tokens appear in no log, store, report, draft or error text; numbers are masked in logs; every file PhoneShift makes is owner-only")
    func secretAndPIIHygiene() async throws {
        let secret = "PhoneShift-Distinctive-Secret-9f8e7d6c"
        let wrongSecret = "Wrong-Distinctive-Secret-1a2b3c4d"
        let certificate = try TestCertificate.make(name: "Hygiene app")
        let f = try await EngineFixture(syntheticUsers: 30) { options in
            options.clientSecret = secret
            options.clientCertificates = [certificate.certificatePEM]
        }
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 30)
        let notify = """
            notify:
              from: IT Helpdesk <helpdesk@contoso.com>
              helpdesk: "+1 206 555 0100"
              afterApply: true
            policy:
              verifyAfterApply: true
            """
        _ = f.writeJob(writesPerSecond: 200, concurrency: 4, extra: notify)
        var streams: [String] = []
        func run(_ arguments: [String], secret given: String = secret) async throws -> Int32 {
            let r = try await f.phoneshift(arguments, secret: given)
            streams.append(r.stdout + r.stderr)
            return r.status
        }
        #expect(try await run(["plan", f.jobPath, "-v"]) == 0)
        #expect(try await run(["apply", f.jobPath, "-v"]) == 0)
        #expect(try await run(["status", f.jobPath]) == 0)
        #expect(try await run(["report", f.jobPath]) == 0)
        #expect(try await run(["notify", f.jobPath]) == 0)
        #expect(try await run(["verify", f.jobPath, "-v"]) == 0)
        #expect(try await run(["export", f.jobPath, "--output", f.dir.path + "/out/export.csv", "--masked"]) == 0)
        #expect(try await run(["run", f.jobPath, "-v", "--log-format", "json"]) == 0)
        // Errors: a wrong secret, and Graph refusing it, never quote it.
        #expect(try await run(["plan", f.jobPath, "-v"], secret: wrongSecret) == ExitStatus.authentication)
        // The certificate credential: the key never leaves its file.
        let certPath = f.dir.file("hygiene-cert.pem", certificate.certificatePEM)
        let keyPath = f.dir.file("hygiene-key.pem", certificate.keyPEM)
        chmod(certPath, 0o600)
        chmod(keyPath, 0o600)
        _ = f.writeJob(writesPerSecond: 200, concurrency: 4, extra: notify,
                       credential: "clientCertificate:\n    certificate: \(certPath)\n    privateKey: \(keyPath)")
        _ = f.writeSheet(count: 30, extra: ["bench31@contoso.com,+1 2127000031"])
        #expect(try await run(["run", f.jobPath, "-v"], secret: "") == 0)

        let keyBody = certificate.keyPEM.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        let keySlices = stride(from: 0, to: keyBody.count - 40, by: 200).map { String(keyBody.dropFirst($0).prefix(40)) }
        let forbidden = [secret, wrongSecret, "eyJ"] + keySlices + ["PRIVATE KEY"]
        // Full numbers may live only in the store (it needs them) and in failures.csv (a sheet to run again).
        let fullNumbers = (1...31).map { EngineFixture.newNumber($0).replacingOccurrences(of: " ", with: "") }
        for artefact in Self.artefacts(f.dir.path + "/out") {
            let text = String(decoding: artefact.bytes, as: UTF8.self)
            for word in forbidden {
                #expect(!text.contains(word), "\(word.prefix(12))… in \(artefact.path)")
            }
            let inStore = artefact.path.contains(".sqlite")
            if !inStore && !artefact.path.hasSuffix("failures.csv") {
                let compact = text.replacingOccurrences(of: " ", with: "")
                #expect(!fullNumbers.contains { compact.contains($0) }, "a full number in \(artefact.path)")
            }
            #expect(artefact.mode & 0o077 == 0, "\(artefact.path) is mode \(String(artefact.mode & 0o777, radix: 8))")
        }
        for (index, text) in streams.enumerated() {
            for word in forbidden { #expect(!text.contains(word), "\(word.prefix(12))… in the output of command \(index)") }
            let compact = text.replacingOccurrences(of: " ", with: "")
            #expect(!fullNumbers.contains { compact.contains($0) }, "a full number in the output of command \(index): \(text.prefix(400))")
        }
        // The store itself holds no secret, token or key either (checked above with the artefacts).
        #expect(Self.artefacts(f.dir.path + "/out").contains { $0.path.hasSuffix("test.sqlite") })
    }

    @Test("Owner-only from creation: under umask 000 every folder PhoneShift makes (parents too), the store, its journal files, reports and drafts are owner-only")
    func ownerOnlyUnderOpenUmask() async throws {
        let f = try await EngineFixture(syntheticUsers: 3)
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 3)
        let job = f.writeJob(writesPerSecond: 200, extra: EngineFixture.notifyAfterApply)
        let text = try String(contentsOfFile: job, encoding: .utf8)
            .replacingOccurrences(of: "store: out/test.sqlite", with: "store: deep/a/b/test.sqlite")
            .replacingOccurrences(of: "outputs: out", with: "outputs: reports/x/y")
        try text.write(toFile: job, atomically: true, encoding: .utf8)
        for command in ["plan", "apply"] {
            // umask 000: whatever PhoneShift does not make owner-only itself is world-writable.
            let shell = try runProductBlockingShell("umask 000; exec \"$0\" \"$@\"", [productsDirectory + "/phoneshift", command, job],
                                                    environment: f.environment())
            #expect(shell.status == 0, "\(command): \(shell.stdout) \(shell.stderr)")
        }
        func mode(_ path: String) -> Int? {
            (try? FileManager.default.attributesOfItem(atPath: f.dir.path + "/" + path)[.posixPermissions]) as? Int
        }
        let runs = try FileManager.default.contentsOfDirectory(atPath: f.dir.path + "/reports/x/y/drafts")
        let draftFolder = "reports/x/y/drafts/" + (try #require(runs.first { $0.hasPrefix("run-") }))
        for folder in ["deep", "deep/a", "deep/a/b", "reports", "reports/x", "reports/x/y", "reports/x/y/drafts", draftFolder] {
            #expect(mode(folder) == 0o700, "\(folder): \(String(mode(folder) ?? -1, radix: 8))")
        }
        let files = ["deep/a/b/test.sqlite", "reports/x/y/report.csv", "reports/x/y/report.json", "reports/x/y/report.html"]
            + ["-wal", "-shm"].map { "deep/a/b/test.sqlite" + $0 }.filter { mode($0) != nil }
        for file in files { #expect(mode(file) == 0o600, "\(file): \(String(mode(file) ?? -1, radix: 8))") }
        let drafts = try FileManager.default.contentsOfDirectory(atPath: f.dir.path + "/" + draftFolder)
        #expect(!drafts.isEmpty)
        for draft in drafts { #expect(mode(draftFolder + "/" + draft) == 0o600, "\(draft)") }
    }

    @Test("TLS verification cannot be turned off: a self-signed HTTPS endpoint is refused, whatever the environment says")
    func tlsVerificationAlwaysOn() async throws {
        let dir = TemporaryDirectory()
        let key = dir.path + "/tls.key", cert = dir.path + "/tls.crt"
        let made = SmallDisk.run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                                                      "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
        try #require(made == 0, "openssl could not make a certificate")
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let script = """
            import http.server, ssl, sys
            s = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
            c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); c.load_cert_chain(sys.argv[1], sys.argv[2])
            s.socket = c.wrap_socket(s.socket, server_side=True)
            print(s.server_address[1], flush=True); s.serve_forever()
            """
        server.arguments = ["python3", "-c", script, cert, key]
        let out = Pipe()
        server.standardOutput = out
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        let port = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(Int(port) != nil, "the TLS server did not start")
        _ = dir.file("sheet.csv", "UPN,Phone\na@contoso.com,+1 206 555 0100\n")
        let job = dir.file("job.yaml", """
            sheet:
              path: sheet.csv
            tenant:
              tenantId: 9188040d-6c67-4c5b-b112-36a304b66dad
              clientId: 8a3b6c0e-2f1d-4e5a-9b7c-1d2e3f4a5b6c
              clientSecret:
                env: TLS_TEST_SECRET
              authority: https://127.0.0.1:\(port)
              graph: https://127.0.0.1:\(port)/v1.0
            outputs: out
            """)
        var environment = ProcessInfo.processInfo.environment
        environment["TLS_TEST_SECRET"] = "x"
        // Knobs other tools honour to skip verification; PhoneShift honours none of them.
        for name in ["CURL_INSECURE", "PHONESHIFT_INSECURE", "PHONESHIFT_TLS_VERIFY", "NODE_TLS_REJECT_UNAUTHORIZED", "PYTHONHTTPSVERIFY"] {
            environment[name] = name.hasSuffix("VERIFY") || name.hasSuffix("UNAUTHORIZED") ? "0" : "1"
        }
        let r = try await runProduct("phoneshift", ["plan", job], environment: environment)
        #expect(r.status == ExitStatus.authentication || r.status == ExitStatus.usage, "\(r.stdout) \(r.stderr)")
        #expect(r.stderr.lowercased().contains("certificate"), "\(r.stderr)")
    }
}
