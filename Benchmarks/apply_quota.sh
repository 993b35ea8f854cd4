#!/usr/bin/env bash
# Benchmark: PhoneShift's apply against Graph's write quota, scaled down in the emulator
# (300 writes per 15 s = 20 writes/s, as Graph's 3,000 per 150 s), 2,000 rows to change,
# with 60-100 ms of latency per request: PhoneShift with the rate configured under the quota and
# with its default settings (the quota found, the bucket spent), then the same run for a
# sequential loop and a 5-thread pool with per-thread backoff (Benchmarks/baseline_scripts.py),
# all in this invocation.
# Target: PhoneShift sustains >= 95% of the quota's write rate with <= 1% of writes answered 429.
#
#   bash Benchmarks/apply_quota.sh [ROWS]     (default 2000; about 2 minutes per run)
#
# Needs: python3 with requests. Never part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-2000}
source Benchmarks/lib.sh
build_release
work=Benchmarks/work/quota; rm -rf "$work"; mkdir -p "$work"
start_emulator "$work" --synthetic-users "$rows" --write-quota 300/15 --resource-unit-quota 100000/10 \
    --latency-ms 60 --latency-spread-ms 40
write_bench_job "$work" quota "{writesPerSecond: 19.6, readsPerSecond: 500, burst: 10, concurrency: 8}" "$rows"

writes_in_log() { # prints: writes_2xx throttled_writes first_time last_time
    curl -s "$base/_emulator/requests" | python3 -c '
import json, sys, datetime
r = [e for e in json.load(sys.stdin)["requests"] if e["method"] in ("PATCH", "POST") and e["path"].startswith("/v1.0/")]
ok = [e for e in r if e["status"] < 300]
t = [datetime.datetime.fromisoformat(e["time"].replace("Z", "+00:00")).timestamp() for e in ok]
print(len(ok), sum(1 for e in r if e["status"] == 429), min(t) if t else 0, max(t) if t else 0)'
}
report() { # label seconds
    read -r ok throttled first last < <(writes_in_log)
    python3 - "$1" "$ok" "$throttled" "$first" "$last" "$2" <<'PY'
import sys
label, ok, thr, first, last, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
rate = ok / secs
print("  %-38s %5d writes in %6.1f s = %5.2f writes/s = %5.1f%% of quota; 429 on %4.1f%% of writes" % (
    label, ok, secs, rate, 100 * rate / 20.0, 100.0 * thr / max(1, ok + thr)))
PY
}

echo "apply benchmark against a 300 writes / 15 s quota (20 writes/s), $rows rows, latency 60-100 ms"
# PhoneShift twice: with the rate configured just under the quota (19.6/s, burst 10), and with
# the default settings (no rate: found from Graph, spending what the bucket holds first).
for settings in configured default; do
    if [ "$settings" = default ]; then write_bench_job "$work" quota-default "{}" "$rows"; fi
    curl -s -X POST "$base/_emulator/reset" > /dev/null   # every number as it was, before the plan
    "$bin/phoneshift" plan "$work/job.yaml" > /dev/null
    curl -s -X POST "$base/_emulator/reset" > /dev/null
    start=$(date +%s.%N)
    "$bin/phoneshift" apply "$work/job.yaml" > "$work/apply-$settings.out" 2>&1 || true
    end=$(date +%s.%N)
    label="phoneshift apply (19.6/s configured)"; [ "$settings" = default ] && label="phoneshift apply (default settings)"
    report "$label" "$(python3 -c "print($end - $start)")"
done

for mode in sequential pool; do
    curl -s -X POST "$base/_emulator/reset" > /dev/null
    out=$(python3 Benchmarks/baseline_scripts.py "$mode" "$base" "$tenant" "$client" "$work/sheet.csv")
    secs=$(python3 -c "import json; print(json.loads('$out')['seconds'])")
    label="sequential loop"; [ "$mode" = pool ] && label="5 threads, per-thread backoff"
    report "$label" "$secs"
done
