import Foundation
import Testing
@testable import PhoneShift

@Suite("Excel workbooks as sheets: the same plan as the CSV twin, every digit of a number kept, hostile workbooks refused")
struct WorkbookTests {
    let dir = TemporaryDirectory()

    func validate(_ workbook: TestWorkbook, region: String? = nil, worksheet: String? = nil,
                  limits: WorkbookLimits = .init()) throws -> (ValidationSummary, [RowOutcome]) {
        var options = ValidationOptions(defaultRegion: region)
        options.temporaryDirectory = dir.path
        options.reader.worksheet = worksheet
        options.reader.workbookLimits = limits
        let path = try workbook.write(to: dir.path + "/book-\(UUID().uuidString).xlsx")
        var rows: [RowOutcome] = []
        let summary = try SheetValidator(options: options).validate(path: path) { rows.append($0) }
        return (summary, rows)
    }

    @Test("A workbook and its CSV twin give the same plan; a mobile typed as a number (even in E notation) keeps every digit; failures.csv of a workbook is a CSV of its columns")
    func twin() async throws {
        let f = try await EngineFixture(syntheticUsers: 8)
        defer { Task { await f.stop() } }
        // bench7 and bench8 share a number: both held by the risk checks, so both go to failures.csv.
        _ = f.writeSheet(count: 6, extra: ["bench7@contoso.com,+1 2127000077", "bench8@contoso.com,+1 2127000077"])
        // As an admin would have it in Excel: typed as text, as a number (the + dropped), as a
        // number Excel shows in E notation, as inline text, as a formula.
        typealias C = TestWorkbook.Cell
        let book = TestWorkbook(rows: [
            [C.shared("UPN"), C.shared("Phone")],
            [C.shared("bench1@contoso.com"), C.shared("+1 2127000001")],
            [C.shared("bench2@contoso.com"), C.number("12127000002")],
            [C.shared("bench3@contoso.com"), C.number("1.2127000003E+10")],
            [C.inline("bench4@contoso.com"), C.inline("+1 2127000004")],
            [C.shared("bench5@contoso.com"), C.formula("\"+1 \"&\"2127000005\"", cached: "12127000005")],
            [C.shared("bench6@contoso.com"), C.shared("+1 2127000006")],
            [C.shared("bench7@contoso.com"), C.shared("+1 2127000077")],
            [C.shared("bench8@contoso.com"), C.number("12127000077")],
        ])
        let workbook = try book.write(to: f.dir.path + "/sheet.xlsx")
        _ = f.writeJob(writesPerSecond: 50, extra: "")
        let csvJob = try String(contentsOfFile: f.jobPath, encoding: .utf8).replacingOccurrences(of: "  path: sheet.csv", with: "  path: sheet.csv\n  defaultRegion: US")
        _ = f.dir.file("job.yaml", csvJob)
        #expect(try await f.phoneshift(["plan", f.jobPath]).status == 0)
        _ = f.dir.file("job.yaml", csvJob.replacingOccurrences(of: "path: sheet.csv", with: "path: sheet.xlsx"))
        let plan = try await f.phoneshift(["plan", f.jobPath])
        #expect(plan.status == 0, "\(plan.stdout) \(plan.stderr)")

        let store = try JobStore(path: f.storePath)
        func rows(_ plan: Int) async throws -> [String] {
            try await store.withRows(plan: plan) { next in
                var out: [String] = []
                while let r = try next() { out.append("\(r.line) \(r.user) \(r.target ?? "-") \(r.action.rawValue) \(r.state.rawValue)") }
                return out
            }
        }
        let fromCSV = try await rows(1), fromWorkbook = try await rows(2)
        #expect(fromCSV.count == 8 && fromWorkbook == fromCSV, "\(fromCSV)\n\(fromWorkbook)")
        #expect(fromWorkbook.contains("3 bench2@contoso.com +1 2127000002 update pending"), "\(fromWorkbook)")
        #expect(fromWorkbook.contains("4 bench3@contoso.com +1 2127000003 update pending"), "\(fromWorkbook)")
        let planInfo = try #require(try await store.latestPlan())
        #expect(planInfo.sheetHash == (try WorkbookReader.digest(workbook)) && planInfo.sheetPath.hasSuffix("sheet.xlsx"))

        // Validate says what Excel did to the numbers, and how they were restored (masked).
        let validated = try await f.phoneshift(["validate", workbook, "--region", "US", "--output", f.dir.path + "/checked.csv"])
        #expect(validated.status == 0, "\(validated.stdout) \(validated.stderr)")
        #expect(validated.stdout.contains("Excel workbook, worksheet 'Sheet1'") && validated.stdout.contains("excel-number: 3")
                && validated.stdout.contains("excel-formula: 1"), "\(validated.stdout)")
        let checked = try String(contentsOfFile: f.dir.path + "/checked.csv", encoding: .utf8)
        #expect(checked.contains("restored from the region US as +1 ******0002"), "\(checked)")

        // Applied: Graph holds every digit; the held rows go to failures.csv, a CSV of the
        // workbook's columns with the cells as the workbook holds them.
        let applied = try await f.phoneshift(["apply", f.jobPath])
        #expect(applied.status == 0, "\(applied.stdout) \(applied.stderr)")
        let live = try await f.state()
        #expect(live["bench2@contoso.com"]?["mobile"] == "+1 2127000002" && live["bench3@contoso.com"]?["mobile"] == "+1 2127000003", "\(live)")
        let failures = try String(contentsOfFile: f.dir.path + "/out/failures.csv", encoding: .utf8)
        #expect(failures == "UPN,Phone\nbench7@contoso.com,+1 2127000077\nbench8@contoso.com,12127000077\n", "\(failures)")
    }

    @Test("Cells as Excel writes them: rich and phonetic shared strings, inline strings, sparse cells and rows, dates, errors, formulas, a number without a region")
    func cells() throws {
        let rows = """
            <row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" t="inlineStr"><is><t>Phone</t></is></c><c r="D1" t="inlineStr"><is><t>Country</t></is></c></row>
            <row r="3"><c r="A3" t="s"><v>1</v></c><c r="C3" t="s"><v>2</v></c><c r="D3" t="inlineStr"><is><t>GB</t></is></c><c r="XFD3" s="2"/></row>
            <row r="4"><c r="A4" t="inlineStr"><is><t>b@contoso.com</t></is></c><c r="C4" s="1"><v>45000</v></c></row>
            <row r="5"><c r="A5" t="inlineStr"><is><t>c@contoso.com</t></is></c><c r="C5" s="3"><v>45001</v></c></row>
            <row r="6"><c r="A6" t="inlineStr"><is><t>d@contoso.com</t></is></c><c r="C6" t="e"><v>#N/A</v></c></row>
            <row r="7"><c r="A7" t="inlineStr"><is><t>e@contoso.com</t></is></c><c r="C7"><v>7400123123</v></c></row>
            <row r="8"><c r="A8" t="inlineStr"><is><t>f@contoso.com</t></is></c><c r="C8"><v>7400123124</v></c><c r="D8" t="inlineStr"><is><t>GB</t></is></c></row>
            <row r="9"><c r="A9" t="inlineStr"><is><t>g@contoso.com</t></is></c><c r="C9" t="str"><f>B9</f><v>+44 7400 123125</v></c></row>
            <row r="10"><c r="A10" t="inlineStr"><is><t>h@contoso.com</t></is></c><c r="C10" t="d"><v>2026-01-02T00:00:00</v></c></row>
            """
        let shared = [
            "<si><r><t>U</t></r><r><rPr><b/></rPr><t>PN</t></r><rPh sb=\"0\" eb=\"1\"><t>ユー</t></rPh></si>",
            "<si><t>a@contoso.com</t></si>",
            "<si><t xml:space=\"preserve\">+44 7400 123122</t></si>",
        ]
        let (summary, out) = try validate(TestWorkbook(sheets: [("People", rows)], sharedStrings: shared))
        #expect(summary.columns.user == "UPN" && summary.columns.phone == "Phone" && summary.worksheet == "People")
        #expect(out.map(\.line) == [3, 4, 5, 6, 7, 8, 9, 10], "the workbook's row numbers are the lines")
        let byLine = Dictionary(uniqueKeysWithValues: out.map { ($0.line, $0) })
        #expect(byLine[3]?.status == .ok && byLine[3]?.phone == "+44 7400123122", "\(String(describing: byLine[3]))")
        #expect(byLine[4]?.codes == ["excel-date"] && byLine[4]?.status == .invalid)
        #expect(byLine[5]?.codes == ["excel-date"], "a custom date format is a date too")
        #expect(byLine[6]?.codes == ["excel-error"] && byLine[6]?.reason.contains("#N/A") == true, "\(String(describing: byLine[6]?.reason))")
        // No region for row 7: the lost leading zero cannot be restored; row 8 has GB in its country column.
        #expect(byLine[7]?.status == .invalid && byLine[7]?.codes.first == "excel-number" && byLine[7]?.reason.contains("could not be restored") == true,
                "\(String(describing: byLine[7]?.reason))")
        #expect(byLine[8]?.status == .warning && byLine[8]?.phone == "+44 7400123124" && byLine[8]?.codes == ["excel-number"])
        #expect(byLine[9]?.status == .warning && byLine[9]?.phone == "+44 7400123125" && byLine[9]?.codes == ["excel-formula"])
        #expect(byLine[10]?.codes == ["excel-date"])
    }

    @Test("sheet.worksheet picks a worksheet by name; a name the workbook lacks is refused with the names it has")
    func worksheets() throws {
        let people = "<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>UPN</t></is></c><c r=\"B1\" t=\"inlineStr\"><is><t>Phone</t></is></c></row>"
            + "<row r=\"2\"><c r=\"A2\" t=\"inlineStr\"><is><t>a@contoso.com</t></is></c><c r=\"B2\" t=\"inlineStr\"><is><t>+44 7400 123122</t></is></c></row>"
        let book = TestWorkbook(sheets: [("Notes", "<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>read me</t></is></c></row>"), ("People", people)])
        let (summary, rows) = try validate(book, worksheet: "people")
        #expect(summary.worksheet == "People" && rows.count == 1 && rows[0].status == .ok)
        #expect(throws: PhoneShiftError.self) { try validate(book) }  // the first sheet has no phone column
        do {
            _ = try validate(book, worksheet: "Staff")
            Issue.record("a missing worksheet was read")
        } catch let error as PhoneShiftError {
            #expect(error.code == .badSetting && error.message.contains("no worksheet 'Staff'") && error.message.contains("'Notes', 'People'"), "\(error.message)")
        }
    }

    @Test("Numbers as Excel stores them become plain digits exactly; anything else is left as it was", arguments: [
        ("447400123123", "447400123123"), ("4.47400123123E+11", "447400123123"), ("4.47400123123e11", "447400123123"),
        ("7400123123.0", "7400123123"), ("1E+3", "1000"), ("12.5", "12.5"), ("1.5E-3", "1.5E-3"), ("abc", "abc"), ("-12", "-12"),
        ("1.23456789012345E+14", "123456789012345"),
    ])
    func plainNumbers(_ input: String, _ expected: String) {
        #expect(WorkbookReader.plainNumber(input) == expected)
    }

    @Test("A shared-string table over the limit is refused, not loaded")
    func sharedStringLimit() throws {
        var limits = WorkbookLimits()
        limits.maxSharedStrings = 100
        let strings = (0..<101).map { "<si><t>s\($0)</t></si>" }
        let book = TestWorkbook(sheets: [("S", "<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c></row>")], sharedStrings: strings)
        do {
            _ = try validate(book, limits: limits)
            Issue.record("the table was loaded")
        } catch let error as PhoneShiftError {
            #expect(error.message.contains("shared-string table is larger than the 100 strings"), "\(error.message)")
        }
    }
}

extension HostileCorpus {
    /// Hostile and broken workbooks (made with ZIPFoundation; see TestWorkbook).
    static let workbooks: [HostileCase] = {
        let header = "<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>UPN</t></is></c><c r=\"B1\" t=\"inlineStr\"><is><t>Phone</t></is></c></row>"
        let row = "<row r=\"2\"><c r=\"A2\" t=\"inlineStr\"><is><t>a@contoso.com</t></is></c><c r=\"B2\" t=\"inlineStr\"><is><t>+1 206 555 0100</t></is></c></row>"
        let good = TestWorkbook(sheets: [("Sheet1", header + row)])
        func bytes(_ book: TestWorkbook) -> [UInt8] { (try? book.bytes()) ?? [] }
        // 64 MB of one repeated byte, packed to 64 KB (made once with Python's zipfile: packing
        // it here would cost seconds of CPU every run): it inflates over 500 times its size.
        let bomb = (try? Data(contentsOf: URL(fileURLWithPath: packageRoot + "/Tests/FuzzCorpus/workbook/hostile-zip-bomb-64mb.xlsx"))) ?? Data()
        var laughs = good
        laughs.parts["xl/sharedStrings.xml"] = Data("""
            <?xml version="1.0"?>
            <!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;"><!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;"><!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">]>
            <sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&h;</t></si></sst>
            """.utf8)
        laughs.parts["xl/_rels/workbook.xml.rels"] = Data("""
            <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>
            """.utf8)
        var external = good
        external.parts["xl/workbook.xml"] = Data("""
            <?xml version="1.0"?><!DOCTYPE workbook SYSTEM "file:///etc/passwd"><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>
            """.utf8)
        var traversal = good
        traversal.parts["xl/_rels/workbook.xml.rels"] = Data("""
            <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="../../../../../etc/passwd"/></Relationships>
            """.utf8)
        var strayEntry = good
        strayEntry.parts["../../escaped.xml"] = Data("<x/>".utf8)
        var badIndex = TestWorkbook(sheets: [("Sheet1", header + "<row r=\"2\"><c r=\"A2\" t=\"s\"><v>7</v></c></row>")], sharedStrings: ["<si><t>x</t></si>"])
        badIndex.styles = nil
        var farRight = good
        farRight.parts["xl/worksheets/sheet1.xml"] = Data("<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>\(header)<row r=\"2\"><c r=\"XFD2\" t=\"inlineStr\"><is><t>x</t></is></c></row></sheetData></worksheet>".utf8)
        var notXML = good
        notXML.parts["xl/worksheets/sheet1.xml"] = Data("<worksheet><sheetData>\(header)<row r=\"2\"><c r=\"A2\"".utf8)
        // Found by the fuzzer (Benchmarks/fuzz.sh workbook): a cell ending in a row where none
        // began, which indexed field -1.
        let fuzzed = (try? Data(contentsOf: URL(fileURLWithPath: packageRoot + "/Tests/FuzzCorpus/workbook/regression-stray-cell-close.xlsx"))) ?? Data()
        // The fuzzer's original input: the same, with a CRC-32 that does not match its part.
        let badCRC = (try? Data(contentsOf: URL(fileURLWithPath: packageRoot + "/Tests/FuzzCorpus/workbook/regression-bad-crc.xlsx"))) ?? Data()
        var noSheets = good
        noSheets.parts["xl/workbook.xml"] = Data("<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheets/></workbook>".utf8)
        let full = bytes(good)
        return [
            HostileCase(name: "workbook: a plain workbook is read", input: .sheet(full), exit: 0, says: "Excel workbook, worksheet 'Sheet1'"),
            HostileCase(name: "workbook: a ZIP bomb (a 64 MB part)", input: .sheet([UInt8](bomb)), exit: 2, says: "a ZIP bomb?"),
            HostileCase(name: "workbook: entity expansion (billion laughs) in the shared strings", input: .sheet(bytes(laughs)), exit: 2, says: "holds a DTD"),
            HostileCase(name: "workbook: an external DTD in the workbook part", input: .sheet(bytes(external)), exit: 2, says: "holds a DTD"),
            HostileCase(name: "workbook: a worksheet that points outside the archive", input: .sheet(bytes(traversal)), exit: 2, says: "points outside the workbook"),
            HostileCase(name: "workbook: an entry named ../../escaped.xml is ignored", input: .sheet(bytes(strayEntry)), exit: 0, says: "ok: 1"),
            HostileCase(name: "workbook: a shared string index that does not exist", input: .sheet(bytes(badIndex)), exit: 2, says: "names a shared string the workbook does not have"),
            HostileCase(name: "workbook: a value beyond column 1024", input: .sheet(bytes(farRight)), exit: 2, says: "beyond column 1024"),
            HostileCase(name: "workbook: a worksheet cut short", input: .sheet(bytes(notXML)), exit: 2, says: "not well-formed XML"),
            HostileCase(name: "workbook: a cell closed that was never opened (fuzzer)", input: .sheet([UInt8](fuzzed)), exit: 2, says: "not well-formed XML"),
            HostileCase(name: "workbook: a part whose CRC-32 does not match (fuzzer)", input: .sheet([UInt8](badCRC)), exit: 2, says: "CRC-32 does not match"),
            HostileCase(name: "workbook: no worksheet", input: .sheet(bytes(noSheets)), exit: 2, says: "lists no worksheet"),
            HostileCase(name: "workbook: truncated ZIP", input: .sheet(Array(full.prefix(full.count / 2))), exit: 2, says: "ZIP container is damaged"),
            HostileCase(name: "workbook: an old .xls or a password-protected workbook", input: .sheet([0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1] + [UInt8](repeating: 0, count: 504)),
                        exit: 2, says: "protected with a password"),
        ]
    }()
}
