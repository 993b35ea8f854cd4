import Testing
@testable import PhoneShift

@Suite("Column mapping and user identifiers")
struct ColumnMappingTests {
    @Test("Headers match aliases ignoring case, spaces, punctuation and a BOM")
    func aliases() throws {
        let m = try ColumnMapping.resolve(headers: ["\u{FEFF} user principal NAME ", "Mobile_Phone", "Country/Region"])
        #expect(m.userColumn == 0 && m.userKind == .userPrincipalName)
        #expect(m.phoneColumn == 1)
        #expect(m.regionColumn == 2)
    }

    @Test("With e-mail and employee id both present, the e-mail is used and the choice is said")
    func preference() throws {
        let m = try ColumnMapping.resolve(headers: ["Employee ID", "Name", "Work Email", "Mobile", "Object ID"])
        #expect(m.userColumn == 2 && m.userKind == .mail)
        #expect(m.notes[0].contains("'Employee ID'") && m.notes[0].contains("not used"))
        let byId = try ColumnMapping.resolve(headers: ["Employee ID", "Object ID", "Mobile"])
        #expect(byId.userColumn == 1 && byId.userKind == .objectId)
    }

    @Test("A new-number column wins over a plain phone column; an old-number column is never taken")
    func phonePreference() throws {
        let m = try ColumnMapping.resolve(headers: ["UPN", "Old Number", "Phone", "New Number"])
        #expect(m.phoneColumn == 3)
        #expect(try ColumnMapping.resolve(headers: ["UPN", "Office Phone", "Mobile"], phoneType: .office).phoneColumn == 1)
    }

    @Test("Overrides by name or number; a name that matches nothing lists the headers")
    func overrides() throws {
        let m = try ColumnMapping.resolve(headers: ["Login Name", "Digits", "Land"],
                                          overrides: ColumnOverrides(user: "login name", phone: "2", region: "Land"))
        #expect(m.userColumn == 0 && m.userKind == .automatic && m.phoneColumn == 1 && m.regionColumn == 2)
        do {
            _ = try ColumnMapping.resolve(headers: ["UPN", "Phone"], overrides: ColumnOverrides(phone: "Cell Number"))
            Issue.record("expected an error")
        } catch let error as PhoneShiftError {
            #expect(error.code == .columnNotFound)
            #expect(error.message.contains("'UPN', 'Phone'"))
        }
    }

    @Test("Missing user or phone column, duplicate names, empty header", arguments: [
        (["Name", "Phone"], PhoneShiftError.Code.columnNotFound),
        (["UPN", "Name"], .columnNotFound),
        (["UPN", "Phone", "phone"], .ambiguousColumn),
        (["Email", "E-mail", "Mobile"], .ambiguousColumn),
        (["", " "], .badHeader),
    ])
    func headerErrors(_ headers: [String], _ code: PhoneShiftError.Code) {
        do {
            _ = try ColumnMapping.resolve(headers: headers)
            Issue.record("expected \(code)")
        } catch let error as PhoneShiftError {
            #expect(error.code == code)
            #expect(error.line == 1)
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test("User identifiers", arguments: [
        ("ann@contoso.com", UserKeyKind.userPrincipalName, UserKeyKind?.some(.userPrincipalName)),
        ("Ann.Lee@Contoso.COM", .mail, .mail),
        ("ann_fabrikam.com#EXT#@contoso.onmicrosoft.com", .userPrincipalName, .userPrincipalName),
        ("0f8fad5b-d9cb-469f-a165-70867728950e", .userPrincipalName, .objectId),
        ("{0F8FAD5B-D9CB-469F-A165-70867728950E}", .objectId, .objectId),
        ("E10042", .employeeId, .employeeId),
        ("E10042", .automatic, .employeeId),
        ("ann@contoso.com", .automatic, .userPrincipalName),
        ("", .userPrincipalName, nil),
        ("ann", .userPrincipalName, nil),
        ("ann@contoso", .mail, nil),
        ("ann@@contoso.com", .mail, nil),
        ("ann lee@contoso.com", .userPrincipalName, nil),
        ("ann@-contoso.com", .userPrincipalName, nil),
        ("not-a-guid", .objectId, nil),
        ("E1234567890123456", .employeeId, nil),
        ("a\nb@contoso.com", .userPrincipalName, nil),
    ])
    func identifiers(_ text: String, _ declared: UserKeyKind, _ expected: UserKeyKind?) {
        switch UserIdentifier.parse(text, declared: declared) {
        case .success(let id): #expect(id.kind == expected, "\(text)")
        case .failure(let finding):
            #expect(expected == nil, "\(text): \(finding.message)")
            #expect(!finding.message.contains(text) || text.isEmpty)
        }
    }

    @Test("User keys compare case-insensitively, except employee ids")
    func keys() throws {
        let a = try UserIdentifier.parse("Ann@Contoso.com", declared: .userPrincipalName).get()
        let b = try UserIdentifier.parse("ann@contoso.com", declared: .userPrincipalName).get()
        #expect(a.key == b.key)
        let e1 = try UserIdentifier.parse("e1", declared: .employeeId).get()
        let e2 = try UserIdentifier.parse("E1", declared: .employeeId).get()
        #expect(e1.key != e2.key)
    }

    @Test("Spreadsheet formulas are neutralised in written CSV; phone numbers stay readable", arguments: [
        ("=1+2", "'=1+2"), ("@SUM(A1)", "'@SUM(A1)"), ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3+cmd|x", "'-2+3+cmd|x"), ("\tx", "'\tx"), ("+44 7400123456", "+44 7400123456"),
        ("+44 (0)20 7946-0958", "+44 (0)20 7946-0958"), ("ann@contoso.com", "ann@contoso.com"),
    ])
    func neutralise(_ cell: String, _ expected: String) {
        #expect(CSVFormatting.neutralize(cell) == expected)
    }

    @Test("CSV quoting")
    func quoting() {
        #expect(CSVFormatting.line(["a", "b,c", "say \"hi\"", "x\ny"]) == "a,\"b,c\",\"say \"\"hi\"\"\",\"x\ny\"\n")
    }
}
