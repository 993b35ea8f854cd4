import Foundation
import GraphEmulator
import Testing
@testable import PhoneShift

/// The takeover guard, four-eyes approval and the audit trail: end to end against the
/// emulator (the real binaries, HTTP, SQLite, ssh-keygen), and their decisions as tables.
@Suite("Change control: risk checks, approvals bound to the plan, the hash-chained audit trail", .serialized)
struct ChangeControlTests {
    static let attacker = "+1 2127999999"

    @Test("A poisoned sheet (one attacker number on 30 users, a VoIP number, a country that does not match, a user changed yesterday by someone else, a risky user) is held row by row, trips valves.maxRiskyRows, and nothing is written")
    func poisonedSheet() async throws {
        let f = try await EngineFixture(syntheticUsers: 40) { options in
            options.permissions.formUnion(["AuditLog.Read.All", "Directory.Read.All", "IdentityRiskyUser.Read.All"])
            let base = options.seed.users.count - 40
            // The attacker's number is already another account's MFA number (bench40's).
            options.seed.users[base + 39].phoneMethods = [.init(phoneType: "mobile", phoneNumber: Self.attacker)]
            options.seed.users[base + 33].usageLocation = "DE"
            options.seed.users[base + 34].riskState = "atRisk"
            options.seed.users[base + 34].riskLevel = "high"
            options.seed.auditEvents = [.init(userId: options.seed.users[base + 32].id, hoursAgo: 20, initiatedByUser: "helpdesk7@contoso.com")]
        }
        defer { Task { await f.stop() } }
        var extra = (1...30).map { "bench\($0)@contoso.com,\(Self.attacker)" }
        extra += ["bench32@contoso.com,+44 5612345678",  // a UK VoIP number
                  "bench33@contoso.com,\(EngineFixture.newNumber(33))", "bench34@contoso.com,\(EngineFixture.newNumber(34))",
                  "bench35@contoso.com,\(EngineFixture.newNumber(35))", "bench36@contoso.com,\(EngineFixture.newNumber(36))"]
        _ = f.dir.file("sheet.csv", "UPN,Phone\n" + extra.joined(separator: "\n") + "\n")
        _ = f.writeJob(writesPerSecond: 50, extra: "valves:\n  maxRiskyRows: 10")
        // An earlier export read every user's numbers (bench40's among them) into the store.
        let export = try await f.phoneshift(["export", f.jobPath, "--output", f.dir.path + "/export.csv"])
        #expect(export.status == 0, "\(export.stderr)")
        let plan = try await f.phoneshift(["plan", f.jobPath])
        #expect(plan.status == ExitStatus.safetyValve, "\(plan.stdout) \(plan.stderr)")
        #expect(plan.stderr.contains("valves.maxRiskyRows") && plan.stderr.contains("34 rows"), "\(plan.stderr)")
        let rows = try await f.storeRows()
        for line in 2...31 {
            let row = try #require(rows[line])
            #expect(row.action == .blocked && row.errorCode == "risk-hold", "line \(line): \(row)")
            #expect(row.risks == [.sharedNumber, .anotherUsersNumber], "line \(line): \(row.risks)")
            #expect(row.reason.contains("given to 30 users") && row.reason.contains("bench40@contoso.com"), "\(row.reason)")
        }
        let voip = try #require(rows[32]), audited = try #require(rows[33]), abroad = try #require(rows[34])
        let risky = try #require(rows[35]), clean = try #require(rows[36])
        #expect(voip.action == .update && voip.risks.contains(.numberType) && voip.reason.contains("VoIP"), "\(voip)")
        #expect(voip.risks.contains(.country), "\(voip.risks)")  // a GB number for a US user
        #expect(audited.action == .update && audited.risks == [.recentChange] && audited.reason.contains("helpdesk7@contoso.com"), "\(audited)")
        #expect(abroad.risks == [.country] && abroad.reason.contains("usage location is DE"), "\(abroad)")
        #expect(risky.risks == [.riskyUser] && risky.reason.contains("atRisk"), "\(risky)")
        #expect(clean.risks.isEmpty && clean.action == .update, "\(clean)")
        // The plan for the change board, before anything is written: risks in plan.csv.
        let planCSV = try String(contentsOfFile: f.dir.path + "/out/plan.csv", encoding: .utf8)
        #expect(planCSV.split(separator: "\n")[0].hasSuffix(",reason,risks"))
        #expect(planCSV.contains("another-users-number shared-number"), "\(planCSV.prefix(600))")
        #expect(!planCSV.contains("2127999999"), "plan.csv shows a full number")
        let html = try String(contentsOfFile: f.dir.path + "/out/plan.html", encoding: .utf8)
        #expect(html.contains("held by the takeover guard"))
        // Apply refuses the plan over the valve; the emulator saw no write at all.
        let apply = try await f.phoneshift(["apply", f.jobPath])
        #expect(apply.status == ExitStatus.safetyValve, "\(apply.stdout) \(apply.stderr)")
        let writes = try await f.requests().filter { ($0["method"] as? String ?? "GET") != "GET" && ($0["path"] as? String ?? "").contains("/users/") }
        #expect(writes.isEmpty, "\(writes)")
        // With the valve accepted, the held rows stay held: only the other rows are written.
        let accepted = try await f.phoneshift(["apply", f.jobPath, "--accept-valves"])
        #expect(accepted.status == 0, "\(accepted.stdout) \(accepted.stderr)")
        let written = try await f.requests().filter { ($0["method"] as? String ?? "GET") != "GET" && ($0["path"] as? String ?? "").contains("/phoneMethods") }
        #expect(written.count == 5, "\(written)")
    }

    @Test("Four eyes: an unapproved or self-approved plan is refused; a signature by a key outside allowed-signers is refused; a signed approval applies; planning again voids it; a forged approval does not verify")
    func approvals() async throws {
        let f = try await EngineFixture(syntheticUsers: 3)
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 3)
        for name in ["alice", "mallory"] {
            let keygen = Process()
            keygen.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            keygen.arguments = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", f.dir.path + "/\(name)"]
            try keygen.run()
            keygen.waitUntilExit()
            #expect(keygen.terminationStatus == 0)
        }
        let alicePublic = try String(contentsOfFile: f.dir.path + "/alice.pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        _ = f.dir.file("allowed_signers", "alice@contoso.com namespaces=\"phoneshift-approval\" \(alicePublic)\n")
        _ = f.writeJob(writesPerSecond: 50, extra: "policy:\n  requireApproval: true\napproval:\n  allowedSigners: allowed_signers")
        func writes() async throws -> Int {
            try await f.requests().filter { ($0["method"] as? String ?? "GET") != "GET" && ($0["path"] as? String ?? "").contains("/phoneMethods") }.count
        }
        #expect(try await f.phoneshift(["plan", f.jobPath]).status == 0)
        let unapproved = try await f.phoneshift(["apply", f.jobPath])
        #expect(unapproved.status == ExitStatus.notApproved && unapproved.stderr.contains("not approved"), "\(unapproved.stderr)")
        // The maker approving their own plan (unsigned: the OS account that made it).
        let own = try await f.phoneshift(["approve", f.jobPath, "--yes"])
        #expect(own.status == ExitStatus.notApproved, "\(own.stdout) \(own.stderr)")
        #expect(own.stderr.contains("not signed") || own.stderr.contains("who made the plan"), "\(own.stderr)")
        let stranger = try await f.phoneshift(["approve", f.jobPath, "--yes", "--sign-with", f.dir.path + "/mallory"])
        #expect(stranger.status == ExitStatus.notApproved && stranger.stderr.contains("not in approval.allowedSigners"), "\(stranger.stderr)")
        #expect(try await JobStore(path: f.storePath).approvals(plan: 1).isEmpty, "a refused approval was recorded")
        let signed = try await f.phoneshift(["approve", f.jobPath, "--yes", "--sign-with", f.dir.path + "/alice", "--comment", "CHG-1042"])
        #expect(signed.status == 0 && signed.stdout.contains("as alice@contoso.com (signed)"), "\(signed.stdout) \(signed.stderr)")
        #expect(try await writes() == 0)
        // Planning again voids the approval: plan 2 is another digest.
        #expect(try await f.phoneshift(["plan", f.jobPath]).status == 0)
        let voided = try await f.phoneshift(["apply", f.jobPath])
        #expect(voided.status == ExitStatus.notApproved, "\(voided.stdout) \(voided.stderr)")
        // Forged: alice's statement for plan 1, edited to name plan 2's digest, her old signature kept.
        let store = try JobStore(path: f.storePath)
        let first = try #require(try await store.approvals(plan: 1).first)
        let digest2 = try #require(try await store.planRecord(plan: 2).hash)
        let forgedText = first.statement.replacingOccurrences(of: first.planHash, with: digest2).replacingOccurrences(of: "plan: 1", with: "plan: 2")
        try await store.recordApproval(Approval(plan: 2, planHash: digest2, time: first.time, osAccount: "alice", host: first.host,
                                                statement: forgedText, signature: first.signature, comment: nil))
        let forged = try await f.phoneshift(["apply", f.jobPath])
        #expect(forged.status == ExitStatus.notApproved && forged.stderr.contains("does not verify"), "\(forged.stderr)")
        #expect(try await writes() == 0)
        // A real approval of plan 2 applies it; status and the audit trail say who approved.
        #expect(try await f.phoneshift(["approve", f.jobPath, "--yes", "--sign-with", f.dir.path + "/alice"]).status == 0)
        let applied = try await f.phoneshift(["apply", f.jobPath])
        #expect(applied.status == 0, "\(applied.stdout) \(applied.stderr)")
        #expect(try await writes() == 3)
        let status = try await f.phoneshift(["status", f.jobPath])
        #expect(status.stdout.contains("Approval: approved by alice@contoso.com (signature verified)"), "\(status.stdout)")
        // The report says the same: report.json (valid against its schema) and report.html.
        let approval = try await checkSchema("Sources/PhoneShift/Report/report-v1.schema.json", f.dir.path + "/out/report.json",
                                             printing: #"doc["approval"]"#, in: f.dir)
        #expect(approval.status == 0, "report.json does not match its schema: \(approval.stderr)")
        let shown = try #require(try JSONSerialization.jsonObject(with: Data(approval.stdout.utf8)) as? [String: Any])
        #expect(shown["status"] as? String == "approved" && shown["approvedBy"] as? String == "alice@contoso.com", "\(shown)")
        #expect(shown["signatureVerified"] as? Bool == true && shown["required"] as? Bool == true)
        let listed = shown["approvals"] as? [[String: Any]] ?? []
        #expect(listed.count == 2 && listed.allSatisfy { $0["signed"] as? Bool == true }, "\(listed)")  // the forged one and alice's
        #expect(shown["madeBy"] as? String == OperatorIdentity.current.account)
        let page = try String(contentsOfFile: f.dir.path + "/out/report.html", encoding: .utf8)
        #expect(page.contains("data-approval=\"approved\">Approval: approved by alice@contoso.com (signature verified)"), "\(page.prefix(3000))")
        // Rows changed in the store after the approval: the digest no longer matches.
        let db = try SQLiteDatabase(path: f.storePath)
        try db.execute("UPDATE rows SET target = '+1 2127999999' WHERE plan_id = 2 AND line = 2")
        let review = try await f.phoneshift(["approve", f.jobPath, "--show-only"])
        #expect(review.stdout.contains("changed in the job store since it was made"), "\(review.stdout)")
    }

    @Test("The audit trail: every event chained; audit --verify holds, names an edited event and a deleted one; the anchor catches a rewrite; the SIEM export parses as JSON lines and as CEF")
    func auditTrail() async throws {
        let f = try await EngineFixture(syntheticUsers: 3)
        defer { Task { await f.stop() } }
        _ = f.writeSheet(count: 3)
        _ = f.writeJob(writesPerSecond: 50)
        #expect(try await f.phoneshift(["plan", f.jobPath]).status == 0)
        #expect(try await f.phoneshift(["apply", f.jobPath]).status == 0)
        let verified = try await f.phoneshift(["audit", f.jobPath, "--verify"])
        #expect(verified.status == 0 && verified.stdout.contains("The audit trail holds"), "\(verified.stdout) \(verified.stderr)")
        let head = try #require(try await JobStore(path: f.storePath).auditHead())
        #expect(try await f.phoneshift(["audit", f.jobPath, "--verify", "--anchor", head.hash]).status == 0)
        let wrongAnchor = try await f.phoneshift(["audit", f.jobPath, "--verify", "--anchor", String(repeating: "a", count: 64)])
        #expect(wrongAnchor.status == ExitStatus.auditBroken, "\(wrongAnchor.stderr)")

        // The SIEM export: one JSON object per event, each with the chain's hashes; CEF lines.
        let jsonl = f.dir.path + "/audit.jsonl", cef = f.dir.path + "/audit.cef"
        #expect(try await f.phoneshift(["audit", f.jobPath, "--export", jsonl]).status == 0)
        #expect(try await f.phoneshift(["audit", f.jobPath, "--export", cef, "--format", "cef"]).status == 0)
        let lines = try String(contentsOfFile: jsonl, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == head.id)
        var previous = ""
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(object["prevHash"] as? String == previous)
            previous = object["hash"] as? String ?? ""
            #expect(!(object["detail"] as? String ?? "").contains("2127"), "a number in the export")
        }
        #expect(lines.contains { $0.contains("\"kind\":\"done\"") && $0.contains("request-id") })
        var mode = stat()
        #expect(stat(jsonl, &mode) == 0 && mode.st_mode & 0o077 == 0)
        for line in try String(contentsOfFile: cef, encoding: .utf8).split(separator: "\n") {
            // Seven header fields before the extension ('|' inside a field is escaped as '\|').
            var fields: [String] = [], current = "", escaped = false
            for c in line {
                if escaped { current.append(c); escaped = false } else if c == "\\" { current.append(c); escaped = true }
                else if c == "|" && fields.count < 7 { fields.append(current); current = "" } else { current.append(c) }
            }
            #expect(fields.count == 7 && fields[0] == "CEF:0" && fields[1] == "PhoneShift", "\(line)")
            #expect(current.contains("cs2Label=hash") && current.contains("externalId="), "\(line)")
        }

        // Tampering, each on a copy of the store: an edited event, then a deleted one.
        for (sql, expected) in [("UPDATE events SET detail = 'nothing happened' WHERE id = 5", "event 5 ("),
                                ("DELETE FROM events WHERE id = 7", "event 7 is missing")] {
            let copy = f.dir.path + "/copy-\(expected.count).sqlite"
            try? FileManager.default.removeItem(atPath: copy)
            try FileManager.default.copyItem(atPath: f.storePath, toPath: copy)
            let db = try SQLiteDatabase(path: copy)
            try db.execute("PRAGMA wal_checkpoint; DROP TRIGGER events_append_only_update; DROP TRIGGER events_append_only_delete; " + sql)
            let job = try String(contentsOfFile: f.jobPath, encoding: .utf8).replacingOccurrences(of: "store: out/test.sqlite", with: "store: \(copy)")
            let jobCopy = f.dir.file("job-copy.yaml", job)
            let broken = try await f.phoneshift(["audit", jobCopy, "--verify"])
            #expect(broken.status == ExitStatus.auditBroken, "\(broken.stdout) \(broken.stderr)")
            #expect(broken.stderr.contains(expected), "\(broken.stderr)")
        }
    }
}

@Suite("The takeover guard's and the approval's decisions, as tables")
struct ChangeControlDecisionTests {
    static func row(_ target: String?, action: PlanAction = .update, type: PhoneType = .mobile, user: String = "u1") -> PlanRow {
        var row = PlanRow(line: 2, user: "a@contoso.com", userId: user, phoneType: type, before: "+1 2065550100", target: target, action: action)
        row.state = .pending
        return row
    }

    @Test("Per-row findings", arguments: [
        // (target, phone type, usage location, audited?, risky?, expected checks)
        ("+1 2127000001", PhoneType.mobile, "US", false, false, [RiskCheck]()),
        ("+44 5612345678", .mobile, "GB", false, false, [.numberType]),
        ("+44 2071234567", .mobile, "GB", false, false, [.numberType]),
        ("+44 2071234567", .office, "GB", false, false, []),
        ("+44 7912345678", .mobile, "US", false, false, [.country]),
        ("+44 7912345678", .mobile, "JE", false, false, []),
        ("+1 2127000001", .mobile, nil, true, false, [.recentChange]),
        ("+1 2127000001", .mobile, "US", false, true, [.riskyUser]),
    ] as [(String, PhoneType, String?, Bool, Bool, [RiskCheck])])
    func perRow(_ c: (String, PhoneType, String?, Bool, Bool, [RiskCheck])) {
        let context = RiskContext(auditedChanges: c.3 ? ["u1": [AuditedMethodChange(time: "2026-12-06T10:00:00Z", activity: "Admin updated security info", by: "helpdesk@contoso.com")]] : [:],
                                  riskyUsers: c.4 ? ["u1": RiskyUserState(level: "high", state: "atRisk")] : [:])
        let found = RiskChecks.findings(for: Self.row(c.0, type: c.1), usageLocation: c.2, context: context).map(\.check)
        #expect(found == c.5, "\(c.0) \(c.1): \(found)")
    }

    @Test("hold blocks a writing row with every reason; warn adds to the reason; off is never checked")
    func holdWarnOff() {
        var policy = RiskPolicy()
        let findings = [RiskFinding(check: .sharedNumber, reason: "shared"), RiskFinding(check: .country, reason: "abroad")]
        let held = RiskChecks.apply(findings, to: Self.row("+1 2127000001"), policy: policy)
        #expect(held.action == .blocked && held.state == .done && held.outcome == .blocked && held.errorCode == "risk-hold")
        #expect(held.reason.contains("shared") && held.reason.contains("abroad") && held.risks == [.sharedNumber, .country])
        policy.sharedNumber = .warn
        let warned = RiskChecks.apply(findings, to: Self.row("+1 2127000001"), policy: policy)
        #expect(warned.action == .update && warned.reason.contains("risk: shared") && warned.risks.count == 2)
        policy.country = .off
        let context = RiskContext(policy: policy)
        #expect(RiskChecks.findings(for: Self.row("+44 7912345678"), usageLocation: "US", context: context).isEmpty)
        // A row that writes nothing is never held.
        let unchanged = RiskChecks.apply([RiskFinding(check: .riskyUser, reason: "risky")], to: Self.row(nil, action: .unchanged), policy: RiskPolicy())
        #expect(unchanged.action == .unchanged)
    }

    static func approval(_ account: String, hash: String = "d1", signature: String? = nil) -> Approval {
        Approval(plan: 1, planHash: hash, time: "2026-12-07T10:00:00Z", osAccount: account, host: "h",
                 statement: "phoneshift-approval-v1\nplan-digest: \(hash)\n", signature: signature)
    }

    @Test("Approval verdicts", arguments: [
        // (recorded, current, maker, approvals with signers, signatures required, approved by)
        ("d1", "d1", "bob", [(approval("alice"), String?.none)], false, "alice"),
        ("d1", "d1", "bob", [(approval("bob"), nil)], false, nil),
        ("d1", "d1", "bob", [(approval("bob", signature: "s"), "alice@contoso.com")], true, "alice@contoso.com"),
        ("d1", "d1", "bob", [(approval("alice"), nil)], true, nil),
        ("d1", "d1", "bob", [(approval("alice", signature: "s"), nil)], true, nil),
        ("d1", "d2", "bob", [(approval("alice"), nil)], false, nil),
        ("d2", "d2", "bob", [(approval("alice", hash: "d1"), nil)], false, nil),
        ("d1", "d1", "bob", [], false, nil),
    ] as [(String, String, String, [(Approval, String?)], Bool, String?)])
    func verdicts(_ c: (String, String, String, [(Approval, String?)], Bool, String?)) {
        let verdict = ChangeControl.judge(plan: 1, recordedHash: c.0, currentHash: c.1, madeBy: c.2,
                                          candidates: c.3.map { ChangeControl.Candidate(approval: $0.0, signer: $0.1) }, signaturesRequired: c.4)
        if let by = c.5 {
            #expect(verdict == .approved(by: by, signed: c.3.first?.1 != nil))
        } else if case .approved = verdict {
            Issue.record("approved: \(verdict)")
        }
    }
}
