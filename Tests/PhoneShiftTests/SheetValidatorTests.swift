import Foundation
import Testing
@testable import PhoneShift

@Suite("Sheet validation and sheet-wide checks")
struct SheetValidatorTests {
    let dir = TemporaryDirectory()

    func run(_ text: String, _ options: ValidationOptions = .init()) throws -> (ValidationSummary, [RowOutcome]) {
        var options = options
        options.temporaryDirectory = dir.path
        let path = dir.file("sheet-\(UUID().uuidString).csv", text)
        var rows: [RowOutcome] = []
        let summary = try SheetValidator(options: options).validate(path: path) { rows.append($0) }
        return (summary, rows)
    }

    @Test("One user with two different numbers: both rows in conflict, each naming the other")
    func conflict() throws {
        let (summary, rows) = try run("""
            UPN,Phone
            ann@contoso.com,+44 7400 111111
            bob@contoso.com,+44 7400 333333
            ANN@contoso.com,+44 7400 222222
            """)
        #expect(rows.map(\.status) == [.conflict, .ok, .conflict])
        #expect(rows[0].reason.contains("line 4"))
        #expect(rows[2].reason.contains("line 2"))
        #expect(summary.exitCode == 1)
        #expect(summary.count(of: .conflict) == 2)
    }

    @Test("The same change twice: the second row is a duplicate warning")
    func duplicate() throws {
        let (summary, rows) = try run("UPN,Phone\nann@contoso.com,+44 7400 111111\nann@contoso.com,07400 111111\n",
                                      ValidationOptions(defaultRegion: "GB"))
        #expect(rows.map(\.status) == [.ok, .warning])
        #expect(rows[1].codes == ["duplicate-row"])
        #expect(rows[1].reason.contains("line 2"))
        #expect(summary.exitCode == 0)
    }

    @Test("One number for several users: a warning on each")
    func sharedNumber() throws {
        let (_, rows) = try run("UPN,Phone\nann@contoso.com,+44 7400 111111\nbob@contoso.com,+44 7400 111111\ncat@contoso.com,+44 7400 111112\n")
        #expect(rows.map(\.status) == [.warning, .warning, .ok])
        #expect(rows[0].codes == ["shared-number"] && rows[0].reason.contains("line 3"))
    }

    @Test("Invalid rows take no part in the checks; blank phones neither")
    func invalidRowsIgnoredByChecks() throws {
        let (_, rows) = try run("UPN,Phone\nann@contoso.com,+44 7400 111111\nann@contoso.com,N/A\nann@contoso.com,\nbob@contoso.com,\n")
        #expect(rows.map(\.status) == [.ok, .invalid, .warning, .warning])
    }

    @Test("Row shape: too few and too many fields, trailing empty fields are fine, empty rows are skipped")
    func shape() throws {
        let (summary, rows) = try run("UPN,Phone,Country\nann@contoso.com\nbob@contoso.com,+44 7400 111111,GB,x\ncat@contoso.com,+44 7400 111112,GB,,\n,,\n\ndan@contoso.com,+44 7400 111113\n")
        #expect(rows.map(\.line) == [2, 3, 4, 7])
        #expect(rows.map(\.status) == [.invalid, .invalid, .ok, .ok])
        #expect(rows[0].codes == ["missing-fields"])
        #expect(rows[1].codes == ["extra-fields"])
        #expect(summary.rows == 4)
    }

    @Test("Each row's country is its default region; --region is the fallback")
    func regions() throws {
        let (_, rows) = try run("UPN,Phone,Country\nann@contoso.com,07400 111111,United Kingdom\nbob@contoso.com,0151 23456789,\ncat@contoso.com,0151 23456789,Atlantis\n",
                                ValidationOptions(defaultRegion: "DE"))
        #expect(rows[0].phone == "+44 7400111111")
        #expect(rows[1].phone == "+49 15123456789")
        #expect(rows[2].phone == "+49 15123456789" && rows[2].codes.contains("unknown-region"))
    }

    @Test("Whole-sheet failures", arguments: [
        ("", PhoneShiftError.Code.emptySheet),
        ("\n\n", .emptySheet),
        ("UPN,Phone\n", .noDataRows),
        ("UPN,Phone\n,\n", .noDataRows),
        ("Name,Number2\nx,y\n", .columnNotFound),
    ])
    func wholeSheet(_ text: String, _ code: PhoneShiftError.Code) {
        do {
            _ = try run(text)
            Issue.record("expected \(code)")
        } catch let error as PhoneShiftError {
            #expect(error.code == code)
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test("A bad --region is a setting error")
    func badRegion() {
        #expect(throws: PhoneShiftError.self) { try run("UPN,Phone\na@b.co,1\n", ValidationOptions(defaultRegion: "XX")) }
    }

    @Test("Many rows over several batches and workers keep line order and agree with one worker")
    func batchesAndWorkers() throws {
        var text = "UPN,Phone,Country\n"
        for i in 0..<3000 { text += "user\(i % 2900)@contoso.com,07400 \(String(format: "%06d", i % 2950)),GB\n" }
        let (one, rowsOne) = try run(text, ValidationOptions(workers: 1, batchSize: 1000))
        let (two, rowsTwo) = try run(text, ValidationOptions(workers: 2, batchSize: 257))
        #expect(rowsOne == rowsTwo)
        #expect(one.statuses == two.statuses && one.reasons == two.reasons && one.firstProblems == two.firstProblems)
        #expect(rowsTwo.map(\.line) == Array(2...3001))
        // users 0..<100 appear twice: lines i and i+2900; numbers differ when i % 2950 differs.
        #expect(one.count(of: .conflict) == 200)
    }
}
