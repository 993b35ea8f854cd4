"""Writes BASE.xlsx and its twin BASE.csv with ROWS users (UPN, Mobile, Country), laid out as
Excel writes a workbook: shared strings, inline strings and numbers. Half of the mobiles are
numbers (as when typed into Excel: the + and leading zero gone); the CSV twin has them as an
admin would type them. Usage: make_workbook.py BASE ROWS"""
import sys, zipfile

base, rows = sys.argv[1], int(sys.argv[2])
main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
shared, index = [], {}

def s(text):
    if text not in index:
        index[text] = len(shared)
        shared.append(text)
    return index[text]

with open(base + ".csv", "w") as csv, zipfile.ZipFile(base + ".xlsx", "w", zipfile.ZIP_DEFLATED) as z:
    csv.write("UPN,Mobile,Country\n")
    with z.open("xl/worksheets/sheet1.xml", "w") as sheet:
        out = [f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{main}"><sheetData>',
               f'<row r="1"><c r="A1" t="s"><v>{s("UPN")}</v></c><c r="B1" t="s"><v>{s("Mobile")}</v></c><c r="C1" t="s"><v>{s("Country")}</v></c></row>']
        for i in range(rows):
            r = i + 2
            upn = f"user{i}@contoso.com"
            national = f"7400{i % 1000000:06d}"
            csv.write(f"{upn},+44 {national},GB\n")
            if i % 2 == 0:
                phone = f'<c r="B{r}"><v>44{national}</v></c>'
            elif i % 4 == 1:
                phone = f'<c r="B{r}" t="s"><v>{s("+44 " + national)}</v></c>'
            else:
                phone = f'<c r="B{r}" t="inlineStr"><is><t>+44 {national}</t></is></c>'
            out.append(f'<row r="{r}"><c r="A{r}" t="s"><v>{s(upn)}</v></c>{phone}<c r="C{r}" t="s"><v>{s("GB")}</v></c></row>')
            if len(out) > 2000:
                sheet.write("".join(out).encode())
                out = []
        out.append("</sheetData></worksheet>")
        sheet.write("".join(out).encode())
    z.writestr("xl/sharedStrings.xml", f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="{main}" count="{len(shared)}" uniqueCount="{len(shared)}">'
               + "".join(f"<si><t>{t}</t></si>" for t in shared) + "</sst>")
    z.writestr("xl/workbook.xml", f'<?xml version="1.0"?><workbook xmlns="{main}" xmlns:r="{rel}"><sheets><sheet name="Users" sheetId="1" r:id="rId1"/></sheets></workbook>')
    z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
               f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
               f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
    z.writestr("_rels/.rels", f'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
    z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/></Types>')
