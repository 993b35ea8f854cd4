#!/usr/bin/env python3
"""What admin scripts do today, for the apply benchmark: change each row's mobile number
through Graph, either one row after another, or with a pool of threads each backing off on
its own when throttled (no shared budget). Both re-read the number first, like PhoneShift.

    python3 Benchmarks/baseline_scripts.py sequential|pool BASE TENANT CLIENT_ID SHEET
The client secret comes from the environment variable BENCH_SECRET.
Prints one JSON line: {"writes": n, "throttled": n, "seconds": s}.
"""
import concurrent.futures
import csv
import json
import os
import sys
import threading
import time

import requests

mode, base, tenant, client_id, sheet = sys.argv[1:6]
secret = os.environ["BENCH_SECRET"]
token = requests.post(f"{base}/{tenant}/oauth2/v2.0/token", data={
    "client_id": client_id, "client_secret": secret, "grant_type": "client_credentials",
    "scope": "https://graph.microsoft.com/.default"}).json()["access_token"]
rows = list(csv.DictReader(open(sheet)))
lock = threading.Lock()
stats = {"writes": 0, "throttled": 0}
local = threading.local()

def session():
    if not hasattr(local, "s"):
        local.s = requests.Session()
        local.s.headers["Authorization"] = "Bearer " + token
    return local.s

def call(method, url, **kw):
    while True:
        r = session().request(method, url, **kw)
        if r.status_code == 429:
            with lock:
                stats["throttled"] += 1
            time.sleep(float(r.headers.get("Retry-After", "1")))  # this thread only
            continue
        return r

def change(row):
    user = row["UPN"]
    r = call("GET", f"{base}/v1.0/users/{user}/authentication/phoneMethods")
    r = call("PATCH", f"{base}/v1.0/users/{user}/authentication/phoneMethods/3179e48a-750b-4051-897c-87b9720928f7",
             json={"phoneNumber": row["Phone"], "phoneType": "mobile"})
    if r.status_code < 300:
        with lock:
            stats["writes"] += 1

start = time.time()
if mode == "sequential":
    for row in rows:
        change(row)
else:
    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        list(pool.map(change, rows))
stats["seconds"] = time.time() - start
print(json.dumps(stats))
