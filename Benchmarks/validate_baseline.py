#!/usr/bin/env python3
"""The baseline for the validate benchmark: what a careful admin script does with the
`phonenumbers` package (Python port of libphonenumber): read the CSV, normalise each number
with the row's country, check validity, write one result row per input row.

    python3 Benchmarks/validate_baseline.py SHEET.csv OUT.csv
"""
import csv
import sys

import phonenumbers

def main():
    sheet, out = sys.argv[1], sys.argv[2]
    counts = {"ok": 0, "warning": 0, "invalid": 0}
    with open(sheet, encoding="utf-8-sig", newline="") as f, open(out, "w", encoding="utf-8", newline="") as o:
        reader = csv.DictReader(f)
        writer = csv.writer(o)
        writer.writerow(["line", "user", "input", "phone", "status"])
        for line, row in enumerate(reader, start=2):
            raw = row["Mobile Phone"]
            status, phone = "invalid", ""
            try:
                text = raw.strip()
                if text.startswith("00"):
                    text = "+" + text[2:]
                n = phonenumbers.parse(text, row["Country"])
                if phonenumbers.is_possible_number(n):
                    phone = "+%d %s" % (n.country_code, phonenumbers.national_significant_number(n))
                    status = "ok" if phonenumbers.is_valid_number(n) else "warning"
            except phonenumbers.NumberParseException:
                pass
            counts[status] += 1
            writer.writerow([line, row["Work Email"], raw, phone, status])
    print(counts)

if __name__ == "__main__":
    main()
