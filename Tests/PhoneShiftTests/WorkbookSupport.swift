import Foundation
import ZIPFoundation

/// An Excel workbook (.xlsx) made for a test, laid out as Excel writes one (content types,
/// the workbook and its relationships, shared strings, styles, one part per worksheet), and
/// zipped with ZIPFoundation. Any part can be replaced or added, for hostile workbooks.
struct TestWorkbook {
    /// Worksheets in order: name and the rows inside `<sheetData>`.
    var sheets: [(name: String, rows: String)]
    /// The shared-string table's `<si>` items (nil: no sharedStrings part).
    var sharedStrings: [String]? = nil
    /// styles.xml; the default has style 0 (General), 1 (a date, built-in 14), 2 (text, `@`),
    /// 3 (a custom date code `dd/mm/yyyy`).
    var styles: String? = TestWorkbook.defaultStyles
    /// Parts replaced or added (path → bytes), stored deflated.
    var parts: [String: Data] = [:]

    init(sheets: [(name: String, rows: String)], sharedStrings: [String]? = nil) {
        self.sheets = sheets
        self.sharedStrings = sharedStrings
    }

    /// A worksheet of `rows`, each a list of cells (`nil` skips the cell: sparse, as Excel
    /// writes empty cells).
    init(name: String = "Sheet1", rows: [[Cell?]]) {
        var strings: [String] = []
        var xml = ""
        for (r, cells) in rows.enumerated() {
            xml += "<row r=\"\(r + 1)\">"
            for (c, cell) in cells.enumerated() {
                guard let cell else { continue }
                xml += cell.xml(reference: Self.column(c) + String(r + 1), strings: &strings)
            }
            xml += "</row>"
        }
        self.init(sheets: [(name, xml)], sharedStrings: strings.map { "<si><t xml:space=\"preserve\">\(Self.escape($0))</t></si>" })
    }

    enum Cell {
        case shared(String)
        case inline(String)
        case number(String)
        case formula(String, cached: String)
        case date(serial: String)
        case error(String)

        func xml(reference: String, strings: inout [String]) -> String {
            switch self {
            case .shared(let text):
                strings.append(text)
                return "<c r=\"\(reference)\" t=\"s\"><v>\(strings.count - 1)</v></c>"
            case .inline(let text): return "<c r=\"\(reference)\" t=\"inlineStr\"><is><t>\(TestWorkbook.escape(text))</t></is></c>"
            case .number(let value): return "<c r=\"\(reference)\"><v>\(value)</v></c>"
            case .formula(let formula, let cached): return "<c r=\"\(reference)\"><f>\(TestWorkbook.escape(formula))</f><v>\(cached)</v></c>"
            case .date(let serial): return "<c r=\"\(reference)\" s=\"1\"><v>\(serial)</v></c>"
            case .error(let text): return "<c r=\"\(reference)\" t=\"e\"><v>\(TestWorkbook.escape(text))</v></c>"
            }
        }
    }

    static func column(_ index: Int) -> String {
        var n = index + 1, name = ""
        while n > 0 {
            let r = (n - 1) % 26
            name = String(UnicodeScalar(UInt8(65 + r))) + name
            n = (n - 1) / 26
        }
        return name
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    static let defaultStyles = """
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
        <styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
        <numFmts count="1"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/></numFmts>
        <cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/><xf numFmtId="49" applyNumberFormat="1"/><xf numFmtId="164" applyNumberFormat="1"/></cellXfs>
        </styleSheet>
        """

    /// Every part of the workbook, before `parts` replaces or adds any.
    func standardParts() -> [String: Data] {
        let main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
        let rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
        var out: [String: Data] = [:]
        var overrides = "<Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>"
        var sheetList = "", rels = ""
        for (i, sheet) in sheets.enumerated() {
            out["xl/worksheets/sheet\(i + 1).xml"] = Data("""
                <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
                <worksheet xmlns="\(main)" xmlns:r="\(rel)"><dimension ref="A1"/><sheetData>\(sheet.rows)</sheetData></worksheet>
                """.utf8)
            overrides += "<Override PartName=\"/xl/worksheets/sheet\(i + 1).xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>"
            sheetList += "<sheet name=\"\(Self.escape(sheet.name))\" sheetId=\"\(i + 1)\" r:id=\"rId\(i + 1)\"/>"
            rels += "<Relationship Id=\"rId\(i + 1)\" Type=\"\(rel)/worksheet\" Target=\"worksheets/sheet\(i + 1).xml\"/>"
        }
        if let sharedStrings {
            out["xl/sharedStrings.xml"] = Data("""
                <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
                <sst xmlns="\(main)" count="\(sharedStrings.count)" uniqueCount="\(sharedStrings.count)">\(sharedStrings.joined())</sst>
                """.utf8)
            rels += "<Relationship Id=\"rIdS\" Type=\"\(rel)/sharedStrings\" Target=\"sharedStrings.xml\"/>"
        }
        if let styles {
            out["xl/styles.xml"] = Data(styles.utf8)
            rels += "<Relationship Id=\"rIdT\" Type=\"\(rel)/styles\" Target=\"styles.xml\"/>"
        }
        out["xl/workbook.xml"] = Data("""
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <workbook xmlns="\(main)" xmlns:r="\(rel)"><sheets>\(sheetList)</sheets></workbook>
            """.utf8)
        out["xl/_rels/workbook.xml.rels"] = Data("""
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\(rels)</Relationships>
            """.utf8)
        out["_rels/.rels"] = Data("""
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="\(rel)/officeDocument" Target="xl/workbook.xml"/></Relationships>
            """.utf8)
        out["[Content_Types].xml"] = Data("""
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>\(overrides)</Types>
            """.utf8)
        return out
    }

    /// The workbook's bytes.
    func bytes() throws -> [UInt8] {
        let archive = try Archive(data: Data(), accessMode: .create)
        let all = standardParts().merging(parts) { _, replaced in replaced }
        for path in all.keys.sorted(by: { a, b in a == "[Content_Types].xml" || (b != "[Content_Types].xml" && a < b) }) {
            let data = all[path]!
            try archive.addEntry(with: path, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate) { position, size in
                data.subdata(in: Int(position)..<Int(position) + size)
            }
        }
        return [UInt8](archive.data ?? Data())
    }

    /// Writes the workbook to `path`.
    func write(to path: String) throws -> String {
        try Data(bytes()).write(to: URL(fileURLWithPath: path))
        return path
    }
}
