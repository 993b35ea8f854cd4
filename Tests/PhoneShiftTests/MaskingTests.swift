import Foundation
import GraphEmulator
import Testing
@testable import PhoneShift

extension EngineTests {
    /// The drafts of the job's first run, by file name, as a mail client shows them: Python's
    /// email package decodes each text part.
    static func draftTexts(_ f: EngineFixture) async throws -> [String: String] {
        let draftsRoot = f.dir.path + "/out/drafts"
        let runFolder = try #require(FileManager.default.contentsOfDirectory(atPath: draftsRoot).first)
        let decoded = try await runTool("/usr/bin/env", ["python3", "-c", """
            import email, email.policy, json, os, sys
            out = {}
            for name in sorted(os.listdir(sys.argv[1])):
                if not name.endswith('.eml'): continue
                with open(os.path.join(sys.argv[1], name), 'rb') as fh:
                    msg = email.message_from_binary_file(fh, policy=email.policy.default)
                out[name] = '\\n'.join(p.get_content() for p in msg.walk() if p.get_content_maintype() == 'text')
            print(json.dumps(out))
            """, draftsRoot + "/" + runFolder], in: f.dir)
        #expect(decoded.status == 0, "\(decoded.stderr)")
        return try JSONDecoder().decode([String: String].self, from: Data(decoded.stdout.utf8))
    }

    /// Every `+CC national` number in `text` (masked or not), as its national part.
    static func shownNumbers(_ text: String) -> [String] {
        let pattern = try! NSRegularExpression(pattern: #"\+[0-9]{1,3} [0-9*]{4,}"#)
        return pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).map {
            String(String(text[Range($0.range, in: text)!]).split(separator: " ")[1])
        }
    }

    @Test("An area-code change (+1 206… → +1 425…, same last seven digits): plan, report.csv and the drafts show at most four digits of either number and tell them apart by fingerprints that agree everywhere")
    func areaCodeChangeIsMasked() async throws {
        let f = try await EngineFixture(syntheticUsers: 40)
        defer { Task { await f.stop() } }
        // Synthetic user i has +1 2065 00000i; the sheet moves users 31…35 to +1 4255 00000i.
        var sheet = "UPN,Phone\n"
        for i in 31...35 { sheet += "bench\(i)@contoso.com,+1 4255\(String(format: "%06d", i))\n" }
        _ = f.dir.file("sheet.csv", sheet)
        _ = f.writeJob(writesPerSecond: 400, extra: EngineFixture.notifyAfterApply)
        let plan = try await f.phoneshift(["plan", f.jobPath])
        #expect(plan.status == 0, "\(plan.stdout) \(plan.stderr)")
        let apply = try await f.phoneshift(["apply", f.jobPath])
        #expect(apply.status == 0, "\(apply.stdout) \(apply.stderr)")
        let csv = try String(contentsOfFile: f.dir.path + "/out/report.csv", encoding: .utf8)
        let html = try String(contentsOfFile: f.dir.path + "/out/report.html", encoding: .utf8)
        let drafts = try await Self.draftTexts(f).values.joined(separator: "\n")
        for (name, text) in [("plan", plan.stdout), ("apply", apply.stdout), ("report.csv", csv), ("report.html", html), ("drafts", drafts)] {
            let shown = Self.shownNumbers(text)
            // apply prints counts, report.html lists only the rows that need attention (none here).
            #expect(shown.isEmpty == ["apply", "report.html"].contains(name), "\(name) shows: \(shown)")
            for number in shown {
                #expect(number.filter(\.isNumber).count <= 4, "\(name) shows \(number)")
            }
            for i in 31...35 {
                // The seven digits both numbers share never appear, nor either number whole.
                let shared = "5" + String(format: "%06d", i)
                #expect(!text.contains(shared), "\(name) shows the digits \(shared)")
            }
        }
        // report.csv: before and after of every change differ on their face, by fingerprint.
        let store = try JobStore(path: f.storePath)
        let key = try await store.maskKey()
        for i in 31...35 {
            let (before, after) = PhoneMask.maskPair("+1 2065\(String(format: "%06d", i))", "+1 4255\(String(format: "%06d", i))", key: key)
            let b = try #require(before), a = try #require(after)
            #expect(b != a && b.contains(" #") && a.contains(" #"))
            for (name, text) in [("plan", plan.stdout), ("report.csv", csv)] {
                #expect(text.contains(b) && text.contains(a), "\(name) does not show \(b) → \(a)")
            }
            #expect(drafts.contains(a), "the draft does not show the new number as \(a)")
        }
        // The key stays in the store and is never written into an output.
        #expect(!csv.contains(key.hex) && !html.contains(key.hex))
    }
}
