#!/usr/bin/env python3
"""Writes the sample directory and sample sheets, deterministically (seeded).

    python3 Samples/generate.py        # rewrites Samples/*.json and Samples/*.csv

directory.json seeds graph-emulator (the demo tenant); the sheets name its users, so the
demo's plan finds them. Numbers follow each country's real mobile formats (libphonenumber's
2022 metadata accepts them); names, domains and ids are fictional.
"""
import json
import os
import random
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(20261129)

FIRST = ["Ann", "Bob", "Chloé", "David", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kai", "Lena",
         "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wei", "Yara", "Zoë"]
LAST = ["Smith", "Müller", "Dubois", "Rossi", "García", "Jansen", "Nilsson", "Kowalski", "Tanaka", "Patel",
        "O'Brien", "Schmidt", "Martin", "Bianchi", "López", "de Vries", "Berg", "Nowak", "Sato", "Singh"]

# country: (calling code, mobile NSN maker, national-format maker, usage location)
def us(r): return "%d%d%02d%04d" % (r.choice([201, 206, 212, 312, 415, 617]), r.randint(2, 9), r.randint(0, 99), r.randint(0, 9999))
def ca(r): return "604%d%02d%04d" % (r.randint(2, 9), r.randint(0, 99), r.randint(0, 9999))
def gb(r): return "7400%06d" % r.randint(0, 999999)
def de(r): return "151%08d" % r.randint(0, 99999999)
def fr(r): return "6%s%06d" % (r.choice(["12", "20", "33", "45", "62", "70", "83"]), r.randint(0, 999999))
def nl(r): return "6%d%07d" % (r.randint(1, 5), r.randint(0, 9999999))
def es(r): return "6%s%06d" % (r.choice(["10", "20", "30", "50", "60", "70"]), r.randint(0, 999999))
def it(r): return "3%s%07d" % (r.choice(["20", "33", "39", "40", "47", "49"]), r.randint(0, 9999999))
def au(r): return "4%s%06d" % (r.choice(["00", "12", "13", "18", "21", "38"]), r.randint(0, 999999))
def jp(r): return "90%08d" % r.randint(10000000, 99999999)
def se(r): return "70%07d" % r.randint(1000000, 9999999)
def ind(r): return "98%08d" % r.randint(10000000, 99999999)

COUNTRIES = {
    "US": (1, us, lambda n: "(%s) %s-%s" % (n[:3], n[3:6], n[6:])),
    "CA": (1, ca, lambda n: "%s-%s-%s" % (n[:3], n[3:6], n[6:])),
    "GB": (44, gb, lambda n: "0%s %s" % (n[:4], n[4:])),
    "DE": (49, de, lambda n: "0%s %s" % (n[:4], n[4:])),
    "FR": (33, fr, lambda n: "0%s %s %s %s %s" % (n[0], n[1:3], n[3:5], n[5:7], n[7:])),
    "NL": (31, nl, lambda n: "0%s-%s" % (n[0], n[1:])),
    "ES": (34, es, lambda n: "%s %s %s" % (n[:3], n[3:6], n[6:])),
    "IT": (39, it, lambda n: "%s %s" % (n[:3], n[3:])),
    "AU": (61, au, lambda n: "0%s %s %s" % (n[:3], n[3:6], n[6:])),
    "JP": (81, jp, lambda n: "0%s-%s-%s" % (n[:2], n[2:6], n[6:])),
    "SE": (46, se, lambda n: "0%s-%s %s %s" % (n[:2], n[2:5], n[5:7], n[7:])),
    "IN": (91, ind, lambda n: "0%s %s" % (n[:5], n[5:])),
}
COUNTRY_NAMES = {"US": "United States", "CA": "Canada", "GB": "United Kingdom", "DE": "Deutschland", "FR": "France",
                 "NL": "Netherlands", "ES": "España", "IT": "Italia", "AU": "Australia", "JP": "Japan",
                 "SE": "Sverige", "IN": "India"}

def graph(cc, nsn): return "+%d %s" % (cc, nsn)

def ascii_name(s):
    table = str.maketrans({"é": "e", "ü": "u", "ë": "e", "í": "i", "ó": "o", "'": "", " ": ""})
    return s.translate(table).lower()

def make_directory(count=300):
    users = []
    used = set()
    roles = ["Global Administrator", "Privileged Authentication Administrator", "Authentication Administrator",
             "User Administrator", "Helpdesk Administrator"]
    for i in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        base = "%s.%s" % (ascii_name(first), ascii_name(last))
        name = base
        n = 2
        while name in used:
            name = "%s%d" % (base, n)
            n += 1
        used.add(name)
        country = list(COUNTRIES)[i % len(COUNTRIES)]
        cc, maker, _ = COUNTRIES[country]
        guest = i % 60 == 59
        upn = ("%s_fabrikam.com#EXT#@contoso.onmicrosoft.com" % name) if guest else ("%s@contoso.com" % name)
        user = {
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "userPrincipalName": upn,
            "displayName": "%s %s" % (first, last),
            "mail": ("%s@fabrikam.com" % name) if guest else ("%s@contoso.com" % name),
            "employeeId": None if guest else "E%05d" % (10001 + i),
            "accountEnabled": i % 50 != 49,
            "userType": "Guest" if guest else "Member",
            "usageLocation": country,
            "phoneMethods": [],
            "otherMethods": [{"type": "password"}],
            "roles": [],
        }
        r = rng.random()
        if r < 0.60:
            user["phoneMethods"] = [{"phoneType": "mobile", "phoneNumber": graph(cc, maker(rng))}]
        elif r < 0.78:
            user["phoneMethods"] = [{"phoneType": "mobile", "phoneNumber": graph(cc, maker(rng))},
                                    {"phoneType": "alternateMobile", "phoneNumber": graph(cc, maker(rng))}]
        elif r < 0.90:
            user["phoneMethods"] = [{"phoneType": "mobile", "phoneNumber": graph(cc, maker(rng))},
                                    {"phoneType": "office", "phoneNumber": graph(cc, maker(rng))}]
        if user["phoneMethods"] and rng.random() < 0.3:
            user["phoneMethods"][0]["smsSignInState"] = "ready"
        if rng.random() < 0.55:
            user["otherMethods"].append({"type": "microsoftAuthenticator", "displayName": rng.choice(["iPhone 15", "Pixel 8", "Galaxy S24"])})
        if rng.random() < 0.10:
            user["otherMethods"].append({"type": "fido2", "displayName": "YubiKey 5 NFC"})
        if rng.random() < 0.06:
            user["otherMethods"].append({"type": "softwareOath"})
        if rng.random() < 0.10:
            user["otherMethods"].append({"type": "windowsHelloForBusiness", "displayName": "LAPTOP-%04d" % i})
        if rng.random() < 0.30:
            user["otherMethods"].append({"type": "email", "emailAddress": "%s@personal.example" % name})
        if user["phoneMethods"]:
            user["defaultMethod"] = "mobile"
        if i % 60 == 7:
            user["roles"] = [roles[(i // 60) % len(roles)]]
        users.append(user)
    return {
        "tenant": {"id": "9188040d-6c67-4c5b-b112-36a304b66dad", "displayName": "Contoso (PhoneShift demo)",
                   "domain": "contoso.com"},
        "users": users,
    }

def add_protection(directory):
    """Who a real tenant protects beyond role holders (no random draws: the rest stays as is).

    - a restricted management administrative unit with one user of the migration sheet (an
      executive): Graph lets no application change them; and an ordinary unit beside it;
    - a role-assignable group holding Privileged Role Administrator, with one user PIM-eligible
      to become its member (an admin in waiting) and one owner.
    """
    members = [u for u in directory["users"] if u["userType"] == "Member" and not u["roles"]]
    executive, eligible, owner = members[20], members[33], members[34]
    directory["administrativeUnits"] = [
        {"id": "5f0d7d3e-8a51-4f7e-9b55-2c1b8e0a7c41", "displayName": "Executives (restricted)",
         "isMemberManagementRestricted": True, "members": [executive["id"]]},
        {"id": "0b8e6a52-3c9d-4e1f-a7b2-6d4c5e8f9a10", "displayName": "Sales EMEA",
         "isMemberManagementRestricted": False, "members": [u["id"] for u in members[21:24]]},
    ]
    directory["groups"] = [
        {"id": "c2a4f1e8-7b3d-4d6a-9e5c-1f8b2a7d3e90", "displayName": "Tier 0 role admins", "isAssignableToRole": True,
         "members": [], "roles": ["Privileged Role Administrator"], "owners": [owner["id"]],
         "eligibleMembers": [eligible["id"]]},
    ]

def write_csv(name, rows, delimiter=",", bom=False, newline="\n"):
    def cell(v):
        v = str(v)
        if any(c in v for c in (delimiter, '"', "\n", "\r")):
            v = '"' + v.replace('"', '""') + '"'
        return v
    text = newline.join(delimiter.join(cell(c) for c in row) for row in rows) + newline
    with open(os.path.join(HERE, name), "wb") as f:
        if bom:
            f.write(b"\xef\xbb\xbf")
        f.write(text.encode("utf-8"))

def main():
    directory = make_directory()
    add_protection(directory)
    with open(os.path.join(HERE, "directory.json"), "w", encoding="utf-8") as f:
        json.dump(directory, f, ensure_ascii=False, indent=1)
        f.write("\n")
    members = [u for u in directory["users"] if u["userType"] == "Member"]

    # Quarterly migration: a carrier change; new numbers, national or international form.
    rows = [["UserPrincipalName", "Country", "New Mobile Number"]]
    for k, u in enumerate(members[:250]):
        country = u["usageLocation"]
        cc, maker, national = COUNTRIES[country]
        if k % 25 == 3 and u["phoneMethods"]:
            number = u["phoneMethods"][0]["phoneNumber"]          # already right: plan says unchanged
        else:
            nsn = maker(rng)
            number = national(nsn) if k % 3 else "+%d %s" % (cc, nsn)
        rows.append([u["userPrincipalName"], country, number])
    # An SMS sign-in collision: the first SMS sign-in user in the sheet is given the number
    # another user (not in the sheet) signs in with; Graph saves it, SMS sign-in stays behind.
    ready = lambda u: u["phoneMethods"] and u["phoneMethods"][0].get("smsSignInState") == "ready" and not u["roles"]
    taker, holder = next((k, h) for k, u in enumerate(members[:250]) if ready(u) and k % 25 != 3 and k > 40
                         for h in members[250:] if ready(h) and h["usageLocation"] == u["usageLocation"])
    rows[1 + taker][2] = holder["phoneMethods"][0]["phoneNumber"]
    write_csv("migration-q3.csv", rows)

    # Nightly HR export: semicolons, BOM, CRLF, country names, employee ids, messy cells.
    rows = [["Employee ID", "First Name", "Last Name", "Work Email", "Mobile Phone", "Country", "Department"]]
    for k, u in enumerate(members[:120]):
        country = u["usageLocation"]
        cc, maker, national = COUNTRIES[country]
        nsn = maker(rng)
        style = k % 8
        if style == 0:
            cell = "+%d (0)%s" % (cc, nsn) if cc in (44, 49) else "+%d %s" % (cc, nsn)
        elif style == 1:
            cell = "00%d %s" % (cc, nsn)
        elif style == 2:
            cell = "tel:+%d-%s" % (cc, nsn)
        elif style == 3:
            cell = "'+%d %s" % (cc, nsn)
        elif style == 4:
            cell = national(nsn).replace(" ", "\u00a0")
        elif style == 5:
            cell = "  " + national(nsn) + " "
        elif style == 6:
            cell = "+%d.%s" % (cc, ".".join(nsn[i:i + 3] for i in range(0, len(nsn), 3)))
        else:
            cell = "" if k % 16 == 7 else national(nsn)
        first, last = u["displayName"].split(" ", 1)
        rows.append([u["employeeId"], first, last, u["mail"], cell, COUNTRY_NAMES[country],
                     rng.choice(["Sales", "R&D", "Finance; Legal", "Support"])])
    write_csv("hr-export.csv", rows, delimiter=";", bom=True, newline="\r\n")

    # Deliberately broken: every row shows a different mistake.
    m = members
    rows = [
        ["UPN", "Phone", "Country"],
        [m[0]["userPrincipalName"], "4.47400E+09", "GB"],           # Excel scientific notation
        [m[1]["userPrincipalName"], "N/A", "US"],                   # placeholder
        [m[2]["userPrincipalName"], "=HYPERLINK(\"tel:1\")", "US"], # formula
        [m[3]["userPrincipalName"], "555-0142", "US"],              # local only
        [m[4]["userPrincipalName"], "+44 909 879 0000", "GB"],      # premium rate
        [m[5]["userPrincipalName"], "+1 800 555 0199", "US"],       # toll-free in the mobile slot
        ["not-an-address", "+44 7400 123456", "GB"],                # malformed user
        ["", "+44 7400 123457", "GB"],                              # no user
        [m[6]["userPrincipalName"], "+44 7400 111111", "GB"],       # conflict with the next row
        [m[6]["userPrincipalName"], "+44 7400 222222", "GB"],
        [m[7]["userPrincipalName"], "+49 151 23456789", "DE"],      # duplicate of the next row
        [m[7]["userPrincipalName"], "+49 1512 3456789", "DE"],
        [m[8]["userPrincipalName"], "+33 6 12 34 56 78", "FR"],     # one number for two users
        [m[9]["userPrincipalName"], "06 12 34 56 78", "FR"],
        [m[10]["userPrincipalName"], "+1 099 555 0123", "US"],      # outside the 2022 ranges: warning
        [m[11]["userPrincipalName"], "07400 123458", "Narnia"],     # unknown country, national number
        [m[12]["userPrincipalName"], "+44 7400 123459", "GB", "extra", "fields"],  # shifted columns
        [m[13]["userPrincipalName"]],                               # missing fields
        [m[14]["userPrincipalName"], "+44 20 7946 0958", "GB"],     # landline in the mobile slot: warning
        [m[15]["userPrincipalName"], "+44 7400 123460", "GB"],      # fine
    ]
    write_csv("broken.csv", rows)

if __name__ == "__main__":
    main()
