#!/usr/bin/env python3
"""Writes an HR-style sheet of N rows (default 1,000,000) for the validate benchmark.

    python3 Benchmarks/make_sheet.py OUT.csv [ROWS]

Mixed countries and formats (national, international, 00-prefixed, punctuation), a few
percent of bad cells, a country column, like a real HR export. Seeded: the same file every time.
"""
import random
import sys

FORMATS = {
    "US": (1, lambda r: "%d%d%02d%04d" % (r.choice([201, 206, 212, 415]), r.randint(2, 9), r.randint(0, 99), r.randint(0, 9999)),
           lambda n: "(%s) %s-%s" % (n[:3], n[3:6], n[6:])),
    "GB": (44, lambda r: "7400%06d" % r.randint(0, 999999), lambda n: "0%s %s" % (n[:4], n[4:])),
    "DE": (49, lambda r: "151%08d" % r.randint(0, 99999999), lambda n: "0%s %s" % (n[:4], n[4:])),
    "FR": (33, lambda r: "612%06d" % r.randint(0, 999999), lambda n: "0%s %s %s %s %s" % (n[0], n[1:3], n[3:5], n[5:7], n[7:])),
    "NL": (31, lambda r: "6%d%07d" % (r.randint(1, 5), r.randint(0, 9999999)), lambda n: "0%s-%s" % (n[0], n[1:])),
    "IN": (91, lambda r: "98%08d" % r.randint(0, 99999999), lambda n: "0%s %s" % (n[:5], n[5:])),
    "JP": (81, lambda r: "90%08d" % r.randint(0, 99999999), lambda n: "0%s-%s-%s" % (n[:2], n[2:6], n[6:])),
    "AU": (61, lambda r: "412%06d" % r.randint(0, 999999), lambda n: "0%s %s %s" % (n[:3], n[3:6], n[6:])),
}

def main():
    out = sys.argv[1]
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    r = random.Random(42)
    countries = list(FORMATS)
    with open(out, "w", encoding="utf-8", newline="") as f:
        f.write("Employee ID,First Name,Last Name,Work Email,Mobile Phone,Country,Department\r\n")
        for i in range(rows):
            c = countries[i % len(countries)]
            cc, make, national = FORMATS[c]
            nsn = make(r)
            k = r.random()
            if k < 0.45:
                cell = national(nsn)
            elif k < 0.80:
                cell = "+%d %s" % (cc, nsn)
            elif k < 0.95:
                cell = "00%d%s" % (cc, nsn)
            elif k < 0.97:
                cell = "N/A"
            else:
                cell = "%s" % nsn[:5]
            f.write("E%07d,First%d,Last%d,user%d@contoso.com,\"%s\",%s,Sales\r\n" % (i, i % 997, i % 991, i, cell, c))

if __name__ == "__main__":
    main()
