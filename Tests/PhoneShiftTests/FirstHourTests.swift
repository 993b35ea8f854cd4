import Foundation
import GraphEmulator
import Testing
@testable import PhoneShift

@Suite("The first hour: init writes a job that plans unchanged; doctor names each broken thing")
struct FirstHourTests {
    /// `phoneshift init` of the sample sheet against this fixture's emulator.
    func initialise(_ f: EngineFixture, output: String, extra: [String] = []) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await f.phoneshift(["init", packageRoot + "/Samples/migration-q3.csv", "--output", output, "--yes",
                                "--tenant-id", f.tenantId, "--client-id", EmulatorOptions.defaultClientId,
                                "--secret-env", EngineFixture.secretVariable,
                                "--authority", f.emulator.baseURL, "--graph", f.emulator.baseURL + "/v1.0"] + extra)
    }

    @Test("init on the sample sheet: the columns detected, the permissions and registration commands printed, and the job it writes plans against the emulator unchanged — with a secret, and with the certificate it made")
    func initPlans() async throws {
        let f = try await EngineFixture(syntheticUsers: 0)
        defer { Task { await f.stop() } }
        let job = f.dir.path + "/jobs/q3.yaml"
        let made = try await initialise(f, output: job, extra: ["--use", "migration"])
        #expect(made.status == 0, "\(made.stdout) \(made.stderr)")
        #expect(made.stdout.contains("user: 'UserPrincipalName' (column 1") && made.stdout.contains("phone: 'New Mobile Number' (column 3)")
                && made.stdout.contains("country: 'Country' (column 2)"), "\(made.stdout)")
        // Least privilege for plan and apply, as az and Graph PowerShell commands.
        for permission in ["User.Read.All", "UserAuthMethod-Phone.ReadWrite.All", "RoleManagement.Read.Directory", "GroupMember.Read.All",
                           "PrivilegedEligibilitySchedule.Read.AzureADGroup", "AdministrativeUnit.Read.All"] {
            #expect(made.stdout.contains("  \(permission)\n"), "\(permission) missing from\n\(made.stdout)")
        }
        #expect(!made.stdout.contains("UserAuthenticationMethod.ReadWrite.All"), "more privilege than the job needs")
        #expect(made.stdout.contains("az ad app permission admin-consent") && made.stdout.contains("New-MgServicePrincipalAppRoleAssignment")
                && made.stdout.contains("az cloud set --name AzureCloud"), "\(made.stdout)")
        let text = try String(contentsOfFile: job, encoding: .utf8)
        #expect(text.contains("path: \"../../../") || text.contains("path: \"/"), "the sheet's path: \(text)")
        #expect(text.contains("userColumn: \"UserPrincipalName\"") && text.contains("phoneColumn: \"New Mobile Number\""), "\(text)")
        // Unchanged, the job plans.
        let plan = try await f.phoneshift(["plan", job])
        #expect([0, 1].contains(plan.status) && plan.stdout.contains("Changes:"), "\(plan.stdout) \(plan.stderr)")
        let store = try JobStore(path: f.dir.path + "/jobs/state/q3.sqlite")
        #expect(try await store.latestPlan()?.rows == 250)
        // A second init onto the same file is refused; nothing is replaced.
        let again = try await initialise(f, output: job)
        #expect(again.status == ExitStatus.usage && again.stderr.contains("already exists"), "\(again.stderr)")
        #expect(try String(contentsOfFile: job, encoding: .utf8) == text)

        // With --certificate: an owner-only key and certificate; uploaded to the app, the job plans with it.
        let nightly = f.dir.path + "/jobs/nightly.yaml"
        let withCertificate = try await initialise(f, output: nightly, extra: ["--use", "nightly", "--certificate"])
        #expect(withCertificate.status == 0, "\(withCertificate.stdout) \(withCertificate.stderr)")
        for file in ["nightly.key", "nightly.crt", "nightly.yaml"] {
            let mode = try FileManager.default.attributesOfItem(atPath: f.dir.path + "/jobs/" + file)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(file): \(String(mode ?? 0, radix: 8))")
        }
        let credential = try CertificateCredential.load(certificatePath: f.dir.path + "/jobs/nightly.crt", keyPath: f.dir.path + "/jobs/nightly.key")
        #expect(withCertificate.stdout.contains("thumbprint \(credential.thumbprintSHA1Hex)"), "\(withCertificate.stdout)")
        #expect(withCertificate.stdout.contains("az ad app credential reset --id \"$APP_ID\" --cert @\(f.dir.path)/jobs/nightly.crt"))
        let nightlyText = try String(contentsOfFile: nightly, encoding: .utf8)
        #expect(nightlyText.contains("clientCertificate:") && nightlyText.contains("maxChanges: 500") && !nightlyText.contains("clientSecret"), "\(nightlyText)")
        let refused = try await f.phoneshift(["plan", nightly])
        #expect(refused.status == ExitStatus.authentication, "a certificate the app does not know: \(refused.stdout) \(refused.stderr)")
        #expect(try await f.uploadCertificate(pem: try String(contentsOfFile: f.dir.path + "/jobs/nightly.crt", encoding: .utf8)) == 204)
        // Signed in with it, plan reads the tenant — and the nightly job's valves stop a first
        // import that would change 154 of 250 numbers, as they should.
        let planned = try await f.phoneshift(["plan", nightly])
        #expect(planned.status == ExitStatus.safetyValve && planned.stderr.contains("valves.maxChangePercent: 154 of 250 rows"),
                "\(planned.stdout) \(planned.stderr)")
    }

    /// A job for `f` with `credential` lines, the sheet and folders given.
    func job(_ f: EngineFixture, name: String, credential: String, sheet: String = "sheet.csv", store: String = "state/doctor.sqlite",
             outputs: String = "out", clientId: String = EmulatorOptions.defaultClientId) -> String {
        f.dir.file(name, """
            name: doctor
            sheet:
              path: \(sheet)
            tenant:
              tenantId: \(f.tenantId)
              clientId: \(clientId)
              \(credential)
              authority: \(f.emulator.baseURL)
              graph: \(f.emulator.baseURL)/v1.0
            store: \(store)
            outputs: \(outputs)
            """)
    }

    func doctor(_ f: EngineFixture, _ job: String, environment: [String: String] = [:]) async throws -> (status: Int32, checks: [String: [String: Any]], text: String) {
        var env = ProcessInfo.processInfo.environment
        env[EngineFixture.secretVariable] = EmulatorOptions.defaultClientSecret
        for (k, v) in environment { env[k] = v }
        let r = try await runProduct("phoneshift", ["doctor", job, "--json"], environment: env)
        let document = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] ?? [:]
        var checks: [String: [String: Any]] = [:]
        for check in document["checks"] as? [[String: Any]] ?? [] { checks[check["item"] as? String ?? ""] = check }
        #expect(document["exitCode"] as? Int == Int(r.status), "\(r.stdout)")
        return (r.status, checks, r.stdout + r.stderr)
    }

    @Test("doctor: a healthy job is ready; a job broken in ten ways has each broken thing named, with the exit code of the first")
    func doctorNamesEachBrokenThing() async throws {
        let f = try await EngineFixture(syntheticUsers: 3) { options in
            options.permissions = ["User.Read.All", "UserAuthMethod-Phone.Read.All", "GroupMember.Read.All"]  // no write, no roles
            options.seed.tenant.entraIdP2 = false
        }
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 3)
        _ = f.dir.file("bad.csv", "UPN,Phone\nbench1@contoso.com,+1 2127000001\nnot a user,12\n")

        // Broken offline: invalid rows, outputs a file, a store folder open to others, a proxy
        // with a password, an expired certificate whose key others can read.
        let made = try JobInit.makeCertificate(commonName: "old", days: 1, now: Date(timeIntervalSinceNow: -10 * 86_400))
        let key = f.dir.file("old.key", made.key), crt = f.dir.file("old.crt", made.certificate)
        chmod(key, 0o644)
        chmod(crt, 0o600)
        _ = f.dir.file("outputs-file", "not a folder")
        try FileManager.default.createDirectory(atPath: f.dir.path + "/shared", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let offline = job(f, name: "offline.yaml", credential: "clientCertificate:\n    certificate: old.crt\n    privateKey: old.key",
                          sheet: "bad.csv", store: "shared/doctor.sqlite", outputs: "outputs-file")
        let a = try await doctor(f, offline, environment: ["https_proxy": "http://proxyuser:pr0xy-s3cret@127.0.0.1:3128"])
        #expect(a.checks["sheet"]?["status"] as? String == "warning", "\(a.text)")                       // 1 invalid rows
        #expect(a.checks["outputs folder"]?["status"] as? String == "failed", "\(a.text)")               // 2 outputs not writable
        #expect(a.checks["store folder"]?["status"] as? String == "warning"
                && (a.checks["store folder"]?["fix"] as? String)?.contains("chmod 700") == true, "\(a.text)")  // 3 open to others
        #expect(a.checks["proxy"]?["status"] as? String == "ok" && (a.checks["proxy"]?["detail"] as? String)?.contains("127.0.0.1:3128") == true
                && !a.text.contains("pr0xy-s3cret"), "\(a.text)")
        #expect(a.checks["certificate"]?["status"] as? String == "failed"
                && (a.checks["certificate"]?["detail"] as? String)?.contains("expired 9 day(s) ago") == true, "\(a.text)")  // 4 expired
        #expect(a.checks["credential"]?["status"] as? String == "failed"
                && (a.checks["credential"]?["detail"] as? String)?.contains("chmod 600") == true, "\(a.text)")   // 5 key mode
        #expect(a.checks["token"]?["status"] as? String == "skipped")
        #expect(a.status == ExitStatus.storeUnwritable, "the first failure's code: \(a.text)")

        // Broken online: a skewed clock (libfaketime), missing permissions, a tenant without P2,
        // a secret file others can read is fine here (a secret in the environment).
        let online = job(f, name: "online.yaml", credential: "clientSecret:\n    env: \(EngineFixture.secretVariable)")
        var env = ProcessInfo.processInfo.environment
        env[EngineFixture.secretVariable] = EmulatorOptions.defaultClientSecret
        // Only the wall clock is moved (what the Date comparison reads); the monotonic clock,
        // which libcurl's and Dispatch's timers use, is left alone — faked too, doctor hung
        // now and then. coreutils' timeout turns any hang into a failure, not a stuck suite.
        env["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
        let faketime = try #require(["/usr/bin/faketime", "/usr/local/bin/faketime"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                    "faketime is missing: .ci/setup installs it")
        let skewed = try await runProduct("/usr/bin/timeout", ["120", faketime, "-f", "+10m", productsDirectory + "/phoneshift", "doctor", online, "--json"],
                                          environment: env)
        let b = try JSONSerialization.jsonObject(with: Data(skewed.stdout.utf8)) as? [String: Any] ?? [:]
        var checks: [String: [String: Any]] = [:]
        for check in b["checks"] as? [[String: Any]] ?? [] { checks[check["item"] as? String ?? ""] = check }
        #expect(checks["clock"]?["status"] as? String == "failed"
                && (checks["clock"]?["detail"] as? String)?.contains("ahead of the token endpoint's") == true, "\(skewed.stdout) \(skewed.stderr)")  // 6 clock
        #expect(checks["permission UserAuthMethod-Phone.ReadWrite.All"]?["status"] as? String == "failed", "\(skewed.stdout)")  // 7 no write
        #expect(checks["permission RoleManagement.Read.Directory"]?["status"] as? String == "failed", "\(skewed.stdout)")      // 8 no roles
        #expect(checks["admin guard: PIM-eligible roles"]?["status"] as? String == "failed", "no RoleManagement permission: \(skewed.stdout)")
        #expect(checks["permission AdministrativeUnit.Read.All"]?["status"] as? String == "warning", "optional: \(skewed.stdout)")
        #expect(skewed.status == ExitStatus.authentication && b["exitCode"] as? Int == Int(ExitStatus.authentication), "\(skewed.stdout)")
        // The same job on the right clock: the clock is fine, the permissions still are not.
        let c = try await doctor(f, online)
        #expect(c.checks["clock"]?["status"] as? String == "ok" && c.checks["token"]?["status"] as? String == "ok", "\(c.text)")

        // A client id the tenant does not know (9), a secret not set (10), a job file with a typo (11).
        let stranger = job(f, name: "stranger.yaml", credential: "clientSecret:\n    env: \(EngineFixture.secretVariable)",
                           clientId: "11111111-2222-3333-4444-555555555555")
        let d = try await doctor(f, stranger)
        #expect(d.checks["token"]?["status"] as? String == "failed" && d.status == ExitStatus.authentication, "\(d.text)")
        let unset = job(f, name: "unset.yaml", credential: "clientSecret:\n    env: PHONESHIFT_NOT_SET_ANYWHERE")
        let e = try await doctor(f, unset)
        #expect(e.checks["credential"]?["status"] as? String == "failed" && e.status == ExitStatus.usage, "\(e.text)")
        let typo = f.dir.file("typo.yaml", try String(contentsOfFile: unset, encoding: .utf8).replacingOccurrences(of: "outputs:", with: "output:"))
        let g = try await doctor(f, typo)
        #expect(g.checks["job file"]?["status"] as? String == "failed" && g.checks.count == 1 && g.status == ExitStatus.usage, "\(g.text)")
    }

    @Test("doctor: a tenant without Entra ID P2 is a warning (no PIM-eligible roles can exist), not a failure")
    func doctorWithoutP2() async throws {
        let f = try await EngineFixture(syntheticUsers: 3) { $0.seed.tenant.entraIdP2 = false }
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 3)
        let ready = job(f, name: "nop2.yaml", credential: "clientSecret:\n    env: \(EngineFixture.secretVariable)")
        let r = try await doctor(f, ready)
        #expect(r.checks["admin guard: PIM-eligible roles"]?["status"] as? String == "warning"
                && (r.checks["admin guard: PIM-eligible roles"]?["detail"] as? String)?.contains("no Entra ID P2") == true, "\(r.text)")
        #expect(r.checks["admin guard: active roles"]?["status"] as? String == "ok" && r.status == 0, "\(r.text)")
    }

    @Test("doctor: a job that is ready says so and exits 0")
    func doctorHealthy() async throws {
        let f = try await EngineFixture(syntheticUsers: 3)
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 3)
        let ready = job(f, name: "ready.yaml", credential: "clientSecret:\n    env: \(EngineFixture.secretVariable)")
        let r = try await doctor(f, ready)
        #expect(r.status == 0, "\(r.text)")
        let failed = r.checks.filter { $0.value["status"] as? String == "failed" }.map(\.key)
        #expect(failed.isEmpty, "\(failed)")
        for item in ["job file", "sheet", "store folder", "outputs folder", "credential", "clock", "token", "permission User.Read.All",
                     "permission UserAuthMethod-Phone.ReadWrite.All", "read /users", "admin guard: active roles"] {
            #expect(r.checks[item]?["status"] as? String == "ok", "\(item): \(r.text)")
        }
        #expect(!FileManager.default.fileExists(atPath: f.dir.path + "/state"), "doctor made the store's folder")
        let text = try await f.phoneshift(["doctor", ready])
        #expect(text.status == 0 && text.stdout.contains("Ready to run"), "\(text.stdout)")
    }
}
