import Foundation
import GraphEmulator
import Testing
@testable import PhoneShift

/// `phoneshift readiness` against a tenant of mixed users: the class of each, from either
/// source, written to a sheet (libcsv), JSON (its schema) and a page (a real browser).
extension EndToEndTenantTests {
    /// Changes synthetic user `bench<n>` of the emulator's seed.
    static func editUser(_ options: inout EmulatorOptions, _ n: Int, _ change: (inout DirectorySeed.UserSeed) -> Void) {
        change(&options.seed.users[options.seed.users.firstIndex { $0.userPrincipalName == "bench\(n)@contoso.com" }!])
    }

    /// bench1…10 as the retirement sorts them (the sample tenant's own users are there too).
    static func mixedTenant(_ options: inout EmulatorOptions) {
        let password = DirectorySeed.OtherMethodSeed(type: "password")
        Self.editUser(&options, 1) { $0.otherMethods = [password, .init(type: "fido2", displayName: "YubiKey")] }
        Self.editUser(&options, 2) { $0.otherMethods = [password, .init(type: "windowsHelloForBusiness", displayName: "Laptop")]; $0.phoneMethods = [] }
        // bench3 keeps the synthetic default: mobile and Microsoft Authenticator.
        Self.editUser(&options, 4) { $0.otherMethods = [password]; $0.defaultMethod = "mobile" }
        Self.editUser(&options, 5) {
            $0.otherMethods = [password, .init(type: "temporaryAccessPass", isUsable: true)]
            $0.phoneMethods?.append(.init(phoneType: "office", phoneNumber: "+1 4255550105"))
            $0.defaultMethod = "mobile"
        }
        Self.editUser(&options, 6) { $0.otherMethods = [password]; $0.phoneMethods = []; $0.defaultMethod = nil }
        Self.editUser(&options, 7) { $0.otherMethods = [password]; $0.roles = ["Global Administrator"]; $0.defaultMethod = "mobile" }
        Self.editUser(&options, 8) { $0.otherMethods = [password, .init(type: "softwareOath")]; $0.phoneMethods = []; $0.defaultMethod = "softwareOath" }
        Self.editUser(&options, 9) {
            $0.otherMethods = [password, .init(type: "email", emailAddress: "b9@fabrikam.example"), .init(type: "temporaryAccessPass", isUsable: false)]
            $0.defaultMethod = "mobile"
        }
        Self.editUser(&options, 10) { $0.otherMethods = [password]; $0.accountEnabled = false; $0.defaultMethod = "mobile" }
    }

    /// The mixed tenant with the report's permission (AuditLog.Read.All), its sheet and a job.
    static func mixedFixture(jobExtra: String = "", _ configure: (inout EmulatorOptions) -> Void = { _ in }) async throws -> EngineFixture {
        let f = try await EngineFixture(syntheticUsers: 10) { options in
            mixedTenant(&options)
            options.permissions.insert("AuditLog.Read.All")
            configure(&options)
        }
        _ = f.writeSheet(count: 10)
        _ = f.writeJob(writesPerSecond: 200, extra: jobExtra)
        return f
    }

    static let expectedClasses: [Int: String] = [1: "phishing-resistant", 2: "phishing-resistant", 3: "app", 4: "phone-only",
                                                 5: "phone-only", 6: "none", 7: "phone-only", 8: "app", 9: "phone-only", 10: "phone-only"]

    /// The sheet's rows by UPN (columns by the README's names).
    static func readinessSheet(_ path: String) throws -> (header: [String], rows: [String: [String: String]]) {
        let records = try readAll(path)
        let header = try #require(records.first).fields
        var rows: [String: [String: String]] = [:]
        for record in records.dropFirst() {
            rows[record.fields[0].lowercased()] = Dictionary(uniqueKeysWithValues: zip(header, record.fields).map { ($0, $1) })
        }
        return (header, rows)
    }

    @Test("readiness from the registration report (AuditLog.Read.All): each user's class, TAP and admin; the sheet has the README's columns and masks nothing it does not have; JSON valid against its schema; the page checked in a headless browser")
    func readinessFromReport() async throws {
        let f = try await Self.mixedFixture()
        defer { Task { await f.stop() } }
        let run = try await f.phoneshift(["readiness", f.jobPath])
        #expect(run.status == 0, "\(run.stdout) \(run.stderr)")
        #expect(run.stdout.contains("registration report"), "\(run.stdout)")
        let log = try await f.requests()
        #expect(log.contains { ($0["path"] as? String ?? "").hasPrefix("/v1.0/reports/authenticationMethods/userRegistrationDetails") })
        #expect(!log.contains { ($0["path"] as? String ?? "").hasSuffix("/authentication/methods") }, "per-user reads although the report answered")
        let out = f.dir.path + "/out"
        let (header, rows) = try Self.readinessSheet(out + "/readiness.csv")
        let documented = try readmeColumns(after: "`readiness.csv` columns:")
        #expect(header == documented, "readiness.csv's columns are not the README's")
        for (n, cls) in Self.expectedClasses where n != 10 {
            #expect(rows["bench\(n)@contoso.com"]?["Class"] == cls, "bench\(n): \(rows["bench\(n)@contoso.com"] ?? [:])")
        }
        // A disabled account is not in Microsoft's report.
        #expect(rows["bench10@contoso.com"] == nil)
        #expect(rows["bench5@contoso.com"]?["Temporary Access Pass"] == "registered")
        #expect(rows["bench5@contoso.com"]?["Phone methods"] == "mobile; office")
        #expect(rows["bench7@contoso.com"]?["Admin"]?.hasPrefix("yes") == true && rows["bench4@contoso.com"]?["Admin"] == "no")
        #expect(rows["bench8@contoso.com"]?["Default method"] == "oath" && rows["bench4@contoso.com"]?["Default method"] == "sms")

        // JSON: valid against the schema in the repository; its counts are the sheet's.
        let check = try await checkSchema("Sources/PhoneShift/Readiness/readiness-v1.schema.json", out + "/readiness.json",
                                          printing: #"{"counts": doc["counts"], "total": doc["total"], "source": doc["source"], "admins": doc["phoneOnlyAdmins"]}"#,
                                          in: f.dir)
        #expect(check.status == 0, "readiness.json does not match its schema: \(check.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(check.stdout.utf8)) as? [String: Any] ?? [:]
        var sheetCounts: [String: Int] = [:]
        for row in rows.values { sheetCounts[row["Class"] ?? "", default: 0] += 1 }
        #expect(summary["counts"] as? [String: Int] == ReadinessClass.allCases.reduce(into: [:]) { $0[$1.rawValue] = sheetCounts[$1.rawValue] ?? 0 })
        #expect(summary["total"] as? Int == rows.count && summary["source"] as? String == "registration-report")
        #expect((summary["admins"] as? Int ?? 0) >= 1)

        // The page: loads with no console message and no request; its figures are the sheet's; phone-only users first.
        let chromium = try #require(browser, "chromium-headless-shell is not installed (.ci/setup installs it)")
        let netLog = f.dir.path + "/net.json"
        let page = try await runTool(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
                                                "--log-net-log=\(netLog)", "--virtual-time-budget=2000", "--dump-dom", "file://\(out)/readiness.html"],
                                     in: f.dir)
        #expect(page.status == 0, "\(page.stderr)")
        let dom = page.stdout
        func figure(_ key: String) -> Int? {
            guard let match = dom.firstMatch(of: try! Regex("data-figure=\"\(key)\">([0-9]+)<")) else { return nil }
            return Int(match.output[1].substring ?? "")
        }
        #expect(figure("phone-only") == sheetCounts["phone-only"] && figure("total") == rows.count, "\(figure("phone-only") ?? -1)")
        #expect(!page.stderr.contains("CONSOLE"))
        let urls = Set(try String(contentsOfFile: netLog, encoding: .utf8).matches(of: /"url":"([^"]+)"/).map { String($0.1) })
        #expect(urls.allSatisfy { $0.hasPrefix("file://") }, "network requests: \(urls)")
        let firstRow = try #require(dom.firstMatch(of: /<tr data-class="([a-z-]+)">/))
        #expect(firstRow.output.1 == "phone-only")
        for file in ["readiness.csv", "readiness.json", "readiness.html"] {
            let mode = try FileManager.default.attributesOfItem(atPath: out + "/" + file)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(file)")
        }
    }

    @Test("readiness falls back to per-user reads when the report is refused — for a missing AuditLog.Read.All, or a tenant without P1 — and says why; numbers masked; usable and spent TAPs told apart; disabled accounts included")
    func readinessPerUser() async throws {
        for noLicence in [false, true] {
            let f = try await EngineFixture(syntheticUsers: 10) { options in
                Self.mixedTenant(&options)
                if noLicence {
                    options.permissions.insert("AuditLog.Read.All")
                    options.seed.tenant.entraIdP1 = false
                }
            }
            defer { Task { await f.stop() } }
            _ = f.writeSheet(count: 10)
            _ = f.writeJob(writesPerSecond: 200)
            let run = try await f.phoneshift(["readiness", f.jobPath])
            #expect(run.status == 0, "\(run.stdout) \(run.stderr)")
            let why = noLicence ? "no Microsoft Entra ID P1 or P2 licence" : "lacks AuditLog.Read.All"
            #expect(run.stderr.contains("per-user reads") && run.stderr.contains(why), "\(run.stderr)")
            let (_, rows) = try Self.readinessSheet(f.dir.path + "/out/readiness.csv")
            for (n, cls) in Self.expectedClasses {
                #expect(rows["bench\(n)@contoso.com"]?["Class"] == cls, "bench\(n): \(rows["bench\(n)@contoso.com"] ?? [:])")
            }
            #expect(rows["bench10@contoso.com"]?["Account enabled"] == "no")
            #expect(rows["bench5@contoso.com"]?["Temporary Access Pass"] == "usable" && rows["bench9@contoso.com"]?["Temporary Access Pass"] == "not usable")
            let phones = rows["bench5@contoso.com"]?["Phone methods"] ?? ""
            #expect(phones.contains("mobile +1 ") && phones.contains("office +1 ") && phones.contains("*") && !phones.contains("4255550105"), "\(phones)")
            #expect(rows["bench7@contoso.com"]?["Admin"]?.contains("Global Administrator") == true)
            let text = try String(contentsOfFile: f.dir.path + "/out/readiness.csv", encoding: .utf8)
                + String(contentsOfFile: f.dir.path + "/out/readiness.json", encoding: .utf8)
                + String(contentsOfFile: f.dir.path + "/out/readiness.html", encoding: .utf8)
            #expect(!text.contains("2065000004") && !text.contains("2065000005"), "a full number in the outputs")
        }
    }

    @Test("readiness --users SHEET: only the users it names, the ones not found listed; without any permission to read methods it exits 4 naming AuditLog.Read.All and UserAuthenticationMethod.Read.All")
    func readinessUsersAndPermissions() async throws {
        let f = try await Self.mixedFixture()
        defer { Task { await f.stop() } }
        let users = f.dir.file("users.csv", "UPN\nBench4@contoso.com\nbench6@contoso.com\nghost@contoso.com\n")
        let run = try await f.phoneshift(["readiness", f.jobPath, "--users", users, "--output", f.dir.path + "/few.csv"])
        #expect(run.status == 0, "\(run.stderr)")
        let (_, rows) = try Self.readinessSheet(f.dir.path + "/few.csv")
        #expect(Set(rows.keys) == ["bench4@contoso.com", "bench6@contoso.com"], "\(rows.keys)")
        #expect(run.stderr.contains("1 users of") && run.stderr.contains("ghost@contoso.com"), "\(run.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: f.dir.path + "/few.json"))) as? [String: Any]
        #expect(json?["notFound"] as? [String] == ["ghost@contoso.com"])
        // Its outputs never replace an input: the users sheet (by another name) stays as it was.
        let before = try Data(contentsOf: URL(fileURLWithPath: users))
        let onInput = try await f.phoneshift(["readiness", f.jobPath, "--users", users, "--output", f.dir.path + "/./users.csv"])
        #expect(onInput.status == ExitStatus.usage && onInput.stderr.contains("an input sheet"), "\(onInput.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: users)) == before)

        let bare = try await EngineFixture(syntheticUsers: 3) { options in
            options.permissions = ["User.Read.All", "UserAuthMethod-Phone.Read.All"]
        }
        defer { Task { await bare.stop() } }
        _ = bare.writeSheet(count: 3)
        _ = bare.writeJob(writesPerSecond: 200)
        let refused = try await bare.phoneshift(["readiness", bare.jobPath])
        #expect(refused.status == ExitStatus.authentication, "\(refused.stderr)")
        #expect(refused.stderr.contains("AuditLog.Read.All") && refused.stderr.contains("UserAuthenticationMethod.Read.All"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: bare.dir.path + "/out/readiness.csv"))
    }

    @Test("readiness --drafts: one letter per enabled phone-only user with a usable address (mail read by id when the report has none), parsed by Python's email package, naming the date and the security-info page and no number; the helpdesk summary lists phone-only admins and who has no address; without notify: exit 2")
    func readinessDrafts() async throws {
        let f = try await Self.mixedFixture(jobExtra: EngineFixture.notifyAfterApply) { options in
            Self.editUser(&options, 9) { $0.mail = "not an address" }
        }
        defer { Task { await f.stop() } }
        let users = f.dir.file("users.csv", "UPN\n" + (1...10).map { "bench\($0)@contoso.com" }.joined(separator: "\n") + "\n")
        let run = try await f.phoneshift(["readiness", f.jobPath, "--users", users, "--drafts"])
        #expect(run.status == 0, "\(run.stdout) \(run.stderr)")
        #expect(run.stdout.contains("Drafts: 3 letters"), "\(run.stdout)")
        #expect(run.stderr.contains("1 phone-only users have no usable e-mail address"), "\(run.stderr)")
        let folders = try FileManager.default.contentsOfDirectory(atPath: f.dir.path + "/out/drafts").filter { $0.hasPrefix("readiness-") }
        let folder = f.dir.path + "/out/drafts/" + (try #require(folders.first))
        let parse = try await runTool("/usr/bin/env", ["python3", "-c", """
            import email, email.policy, json, os, sys
            out = {}
            for name in sorted(os.listdir(sys.argv[1])):
                with open(os.path.join(sys.argv[1], name), "rb") as fh:
                    m = email.message_from_bytes(fh.read(), policy=email.policy.default)
                parts = {p.get_content_type(): p.get_content() for p in m.walk() if not p.is_multipart()}
                out[name] = {"to": m["To"].addresses[0].addr_spec, "subject": str(m["Subject"]), "parts": parts,
                             "defects": [str(d) for d in m.defects] + [str(d) for p in m.walk() for d in p.defects]}
            print(json.dumps(out))
            """, folder], in: f.dir)
        #expect(parse.status == 0, "\(parse.stderr)")
        let drafts = try JSONSerialization.jsonObject(with: Data(parse.stdout.utf8)) as! [String: [String: Any]]
        let letters = drafts.filter { $0.key != "helpdesk-summary.eml" }
        #expect(Set(letters.values.compactMap { $0["to"] as? String }) == ["bench4@contoso.com", "bench5@contoso.com", "bench7@contoso.com"])
        for (name, d) in letters {
            let text = (d["parts"] as? [String: String])?["text/plain"] ?? ""
            #expect((d["subject"] as? String)?.contains("register a passkey before 1 February 2027") == true, "\(name)")
            #expect(text.contains("https://mysignins.microsoft.com/security-info") && text.contains("1 February 2027"), "\(name): \(text)")
            #expect(!text.contains("2065000"), "\(name): a number in the letter")
            #expect((d["defects"] as? [Any])?.isEmpty == true, "\(name)")
        }
        #expect(((letters.values.first { $0["to"] as? String == "bench5@contoso.com" }?["parts"] as? [String: String])?["text/plain"] ?? "").contains("mobile phone or office phone"))
        let summary = (drafts["helpdesk-summary.eml"]?["parts"] as? [String: String])?["text/plain"] ?? ""
        #expect(summary.contains("Phone-only admins (1)") && summary.contains("bench7@contoso.com"), "\(summary)")
        #expect(summary.contains("no usable e-mail address (1)") && summary.contains("bench9@contoso.com"), "\(summary)")
        for name in try FileManager.default.contentsOfDirectory(atPath: folder) {
            #expect((try FileManager.default.attributesOfItem(atPath: folder + "/" + name)[.posixPermissions] as? Int) == 0o600, "\(name)")
        }

        _ = f.writeJob(writesPerSecond: 200)
        let refused = try await f.phoneshift(["readiness", f.jobPath, "--drafts"])
        #expect(refused.status == ExitStatus.usage && refused.stderr.contains("needs a notify: section"), "\(refused.stderr)")
    }

    @Test("mode: removePhones, with readiness.csv as its sheet: a phone goes only from a non-admin with a phishing-resistant method; the default method Graph refuses ends blocked with its answer; a mobile beside an alternate is held back; rollback puts the numbers back")
    func removePhonesWhereSafe() async throws {
        let f = try await EngineFixture(syntheticUsers: 8) { options in
            let password = DirectorySeed.OtherMethodSeed(type: "password")
            let key = DirectorySeed.OtherMethodSeed(type: "fido2", displayName: "YubiKey")
            Self.editUser(&options, 1) { $0.otherMethods = [password, key] }                                   // removed
            Self.editUser(&options, 2) { $0.otherMethods = [password, .init(type: "windowsHelloForBusiness")]; $0.phoneMethods = [] }  // nothing to remove
            // bench3: Authenticator and a mobile (held back: not phishing-resistant)
            Self.editUser(&options, 4) { $0.otherMethods = [password] }                                          // phone-only: held back
            Self.editUser(&options, 5) { $0.otherMethods = [password, key]; $0.defaultMethod = "mobile" }         // Graph refuses: default method
            Self.editUser(&options, 6) { $0.otherMethods = [password, key]; $0.phoneMethods?.append(.init(phoneType: "alternateMobile", phoneNumber: "+1 4255550106")) }
            Self.editUser(&options, 7) { $0.otherMethods = [password, key]; $0.roles = ["User Administrator"] }   // admin: held back
            Self.editUser(&options, 8) { $0.otherMethods = [password, .init(type: "windowsHelloForBusiness")] }   // removed
        }
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 8)
        _ = f.writeJob(writesPerSecond: 200, extra: EngineFixture.notifyAfterApply)
        let users = f.dir.file("users.csv", "UPN\n" + (1...8).map { "bench\($0)@contoso.com" }.joined(separator: "\n") + "\n")
        #expect(try await f.phoneshift(["readiness", f.jobPath, "--users", users, "--output", f.dir.path + "/removal.csv"]).status == 0)
        var job = try String(contentsOfFile: f.jobPath, encoding: .utf8)
        job = job.replacingOccurrences(of: "  path: sheet.csv", with: "  path: removal.csv") + "\nmode: removePhones\n"
        try job.write(toFile: f.jobPath, atomically: true, encoding: .utf8)
        let before = try await f.state()

        let plan = try await f.phoneshift(["plan", f.jobPath, "--show-all"])
        #expect(plan.status == 0, "\(plan.stdout) \(plan.stderr)")
        #expect(plan.stdout.contains("remove: 3"), "\(plan.stdout)")
        let apply = try await f.phoneshift(["apply", f.jobPath])
        let after = try await f.state()
        #expect(after["bench1@contoso.com"]?["mobile"] == nil && after["bench8@contoso.com"]?["mobile"] == nil, "\(after)")
        for n in [3, 4, 5, 6, 7] {
            #expect(after["bench\(n)@contoso.com"]?["mobile"] == before["bench\(n)@contoso.com"]?["mobile"], "bench\(n) lost its number")
        }
        #expect(after["bench6@contoso.com"]?["alternateMobile"] == "+1 4255550106")
        let rows = try await f.storeRows().values
        func row(_ n: Int) -> PlanRow? { rows.first { $0.user == "bench\(n)@contoso.com" } }
        #expect(row(1)?.outcome == .removed && row(8)?.outcome == .removed)
        #expect(row(2)?.action == .unchanged)
        #expect(row(3)?.action == .blocked && row(3)?.reason.contains("no phishing-resistant method") == true)
        #expect(row(4)?.action == .blocked)
        #expect(row(5)?.outcome == .blocked && row(5)?.reason.contains("default sign-in method") == true, "\(String(describing: row(5)))")
        #expect(row(6)?.action == .blocked && row(6)?.reason.contains("alternate mobile") == true)
        #expect(row(7)?.action == .blocked && row(7)?.reason.contains("privileged") == true)
        #expect(apply.status == ExitStatus.rowsNeedAttention, "a refusal by Graph needs attention: \(apply.stdout) \(apply.stderr)")
        // The drafts after apply: the users whose number went get the letter for a removal.
        let runFolder = try #require(try FileManager.default.contentsOfDirectory(atPath: f.dir.path + "/out/drafts").first { $0.hasPrefix("run-") })
        let parse = try await runTool("/usr/bin/env", ["python3", "-c", """
            import email, email.policy, json, os, sys
            out = {}
            for name in sorted(os.listdir(sys.argv[1])):
                if name == "helpdesk-summary.eml": continue
                with open(os.path.join(sys.argv[1], name), "rb") as fh:
                    m = email.message_from_bytes(fh.read(), policy=email.policy.default)
                out[m["To"].addresses[0].addr_spec] = {"subject": str(m["Subject"]), "text": m.get_body(("plain",)).get_content()}
            print(json.dumps(out))
            """, f.dir.path + "/out/drafts/" + runFolder], in: f.dir)
        let letters = try JSONSerialization.jsonObject(with: Data(parse.stdout.utf8)) as? [String: [String: String]] ?? [:]
        #expect(Set(letters.keys) == ["bench1@contoso.com", "bench8@contoso.com"], "\(parse.stdout) \(parse.stderr)")
        for (to, letter) in letters {
            #expect(letter["subject"] == "Your mobile phone number is no longer used for sign-in", "\(to): \(letter)")
            #expect(letter["text"]?.contains("1 February 2027") == true && letter["text"]?.contains("removed the mobile phone number +1 ") == true, "\(letter)")
            #expect(letter["text"]?.contains("206500000") == false, "a full number in the letter")
        }

        // Rollback: the removed numbers come back.
        let store = try JobStore(path: f.storePath)
        let applyRun = try #require(try await store.runs(plan: 1).first { $0.command == "apply" }).id
        let rollback = try await f.phoneshift(["rollback", f.jobPath, "--run", String(applyRun)])
        #expect(rollback.status == 0, "\(rollback.stdout) \(rollback.stderr)")
        let restored = try await f.state()
        for n in 1...8 { #expect(restored["bench\(n)@contoso.com"]?["mobile"] == before["bench\(n)@contoso.com"]?["mobile"], "bench\(n)") }

        // Without the permission to see other MFA methods, a removePhones plan stops before any row.
        let phonesOnly = try await EngineFixture(syntheticUsers: 2) { $0.permissions = ["User.Read.All", "UserAuthMethod-Phone.ReadWrite.All"] }
        defer { Task { await phonesOnly.stop() } }
        _ = phonesOnly.writeSheet(count: 2)
        _ = phonesOnly.writeJob(writesPerSecond: 200, extra: "mode: removePhones\npolicy:\n  allowPrivileged: true")
        let refused = try await phonesOnly.phoneshift(["plan", phonesOnly.jobPath])
        #expect(refused.status == ExitStatus.authentication && refused.stderr.contains("UserAuthenticationMethod.Read.All")
                && refused.stderr.contains("mode: removePhones"), "\(refused.stderr)")
    }

    @Test("mode: issuePasses: a pass only for a phone-only non-admin without a usable one; each issued exactly once across a kill -9 (a pass whose answer was lost is reported, never re-issued silently; --retry-failed replaces it); the passes are in the owner-only passes file and in no other artefact; the letter sends users to the helpdesk without the pass")
    func issuePassesExactlyOnce() async throws {
        let f = try await EngineFixture(syntheticUsers: 9) { options in
            let password = DirectorySeed.OtherMethodSeed(type: "password")
            for n in [1, 7, 8] { Self.editUser(&options, n) { $0.otherMethods = [password] } }                         // phone-only: a pass each
            Self.editUser(&options, 2) { $0.otherMethods = [password]; $0.roles = ["Helpdesk Administrator"] }          // admin: held back
            // bench3: Authenticator (not phone-only)
            Self.editUser(&options, 4) { $0.otherMethods = [password, .init(type: "fido2")] }                           // passkey: not phone-only
            Self.editUser(&options, 5) { $0.otherMethods = [password, .init(type: "temporaryAccessPass", isUsable: true)] }  // has a usable pass
            Self.editUser(&options, 6) { $0.otherMethods = [password]; $0.phoneMethods = [] }                           // no method at all
            Self.editUser(&options, 9) { $0.otherMethods = [password, .init(type: "temporaryAccessPass", isUsable: false)] } // a spent pass: a new one
        }
        defer { Task { await f.stop() } }
        _ = f.dir.file("sheet.csv", "UPN\n" + (1...9).map { "bench\($0)@contoso.com" }.joined(separator: "\n") + "\n")
        _ = f.writeJob(writesPerSecond: 200, concurrency: 1, extra: EngineFixture.notifyAfterApply + "\nmode: issuePasses\npasses:\n  lifetimeMinutes: 120")
        let plan = try await f.phoneshift(["plan", f.jobPath, "--show-all"])
        #expect(plan.status == 0 && plan.stdout.contains("issue-pass: 4"), "\(plan.stdout) \(plan.stderr)")
        let planned = try await f.storeRows().values
        func row(_ n: Int, in rows: Dictionary<Int, PlanRow>.Values) -> PlanRow? { rows.first { $0.user == "bench\(n)@contoso.com" } }
        #expect(row(2, in: planned)?.action == .blocked && row(3, in: planned)?.action == .skipped && row(4, in: planned)?.action == .skipped)
        #expect(row(5, in: planned)?.action == .unchanged && row(6, in: planned)?.action == .skipped)

        // The second pass's POST waits at the gate; apply is killed; the POST then lands with nobody to hear its answer.
        try await f.holdWrites(after: 1)
        let first = try f.launch(["apply", f.jobPath])
        #expect(try await f.waitUntil { try await f.heldWrites() >= 1 }, "the apply never reached the gate")
        kill(first.processIdentifier, SIGKILL)
        await waitForExit(first)
        try await f.holdWrites(after: nil)
        #expect(try await f.waitUntil { try await f.successfulWrites().values.reduce(0, +) == 2 }, "the held POST did not land")
        let resumed = try await f.phoneshift(["apply", f.jobPath])
        #expect(resumed.status == ExitStatus.rowsNeedAttention, "\(resumed.stdout) \(resumed.stderr)")
        var rows = try await f.storeRows().values
        let lost = rows.filter { $0.errorCode == "pass-not-saved" }
        #expect(lost.count == 1 && lost.first?.state == .failed, "\(rows.map { ($0.user, $0.state, $0.errorCode) })")
        #expect(rows.filter { $0.outcome == .issued }.count == 3)
        // Each planned user was sent exactly one POST that landed: none issued twice.
        var writes = try await f.successfulWrites()
        #expect(writes.count == 4 && writes.values.allSatisfy { $0 == 1 }, "\(writes)")

        // The passes: only in the owner-only passes files, one line per issued pass.
        let passesFolder = f.dir.path + "/out/passes"
        #expect((try FileManager.default.attributesOfItem(atPath: passesFolder)[.posixPermissions] as? Int) == 0o700)
        var passes: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: passesFolder) {
            #expect((try FileManager.default.attributesOfItem(atPath: passesFolder + "/" + name)[.posixPermissions] as? Int) == 0o600)
            for record in try readAll(passesFolder + "/" + name).dropFirst() { passes[record.fields[0]] = record.fields[1] }
        }
        #expect(passes.count == 3 && !passes.keys.contains(lost.first?.user ?? "-"), "\(passes.keys.sorted())")

        // --retry-failed gives the lost one a new pass (which replaces the one nobody saw).
        let retried = try await f.phoneshift(["apply", f.jobPath, "--retry-failed"])
        #expect(retried.status == 0, "\(retried.stdout) \(retried.stderr)")
        writes = try await f.successfulWrites()
        let lostId = try #require(lost.first?.userId).lowercased()
        #expect(writes[lostId] == 2 && writes.filter { $0.key != lostId }.values.allSatisfy { $0 == 1 }, "\(writes)")
        rows = try await f.storeRows().values
        #expect(rows.filter { $0.outcome == .issued }.count == 4)
        for name in try FileManager.default.contentsOfDirectory(atPath: passesFolder) {
            for record in try readAll(passesFolder + "/" + name).dropFirst() { passes[record.fields[0]] = record.fields[1] }
        }
        #expect(passes.count == 4)

        // No pass in any other file PhoneShift wrote (store, journal, reports, drafts), nor on screen.
        var artefacts: [String] = []
        let enumerator = FileManager.default.enumerator(atPath: f.dir.path + "/out")!
        while let name = enumerator.nextObject() as? String {
            guard !name.hasPrefix("passes") else { continue }
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: f.dir.path + "/out/" + name, isDirectory: &isDirectory), !isDirectory.boolValue {
                artefacts.append(f.dir.path + "/out/" + name)
            }
        }
        #expect(artefacts.contains { $0.hasSuffix(".sqlite") } && artefacts.contains { $0.hasSuffix(".eml") } && artefacts.contains { $0.hasSuffix("report.json") })
        let screens = [plan, resumed, retried].map { $0.stdout + $0.stderr }.joined() + f.launchedOutput().stdout + f.launchedOutput().stderr
        for (user, pass) in passes {
            #expect(!screens.contains(pass), "\(user)'s pass on screen")
            for file in artefacts {
                // (A -wal file may be gone by now: its content is in the store then.)
                guard let bytes = try? Data(contentsOf: URL(fileURLWithPath: file)) else { continue }
                #expect(bytes.range(of: Data(pass.utf8)) == nil, "\(user)'s pass in \(file)")
            }
        }
        // The letters, decoded (their parts are base64): to the helpdesk for the pass, never the pass.
        let drafts = artefacts.filter { $0.hasSuffix(".eml") && !$0.hasSuffix("helpdesk-summary.eml") }
        // (The killed run wrote no drafts: its one issued user gets theirs with `phoneshift notify --run`.)
        #expect(drafts.count == 3)
        let decoded = try await runTool("/usr/bin/env", ["python3", "-c", """
            import email, email.policy, json, sys
            out = []
            for path in sys.argv[1:]:
                with open(path, "rb") as fh:
                    m = email.message_from_bytes(fh.read(), policy=email.policy.default)
                out.append({"subject": str(m["Subject"]), "text": m.get_body(("plain",)).get_content(), "html": m.get_body(("html",)).get_content()})
            print(json.dumps(out))
            """] + drafts, in: f.dir)
        let letters = try JSONSerialization.jsonObject(with: Data(decoded.stdout.utf8)) as? [[String: String]] ?? []
        #expect(letters.count == drafts.count, "\(decoded.stderr)")
        for letter in letters where letter["subject"]?.contains("Temporary Access Pass") == true {
            #expect(letter["text"]?.contains("Contact the helpdesk to receive it") == true, "\(letter)")
        }
        #expect(letters.filter { $0["subject"]?.contains("Temporary Access Pass") == true }.count == 3)
        for letter in letters { for pass in passes.values { #expect(!(letter["text"]! + letter["html"]!).contains(pass), "a pass in a letter") } }
    }
}
