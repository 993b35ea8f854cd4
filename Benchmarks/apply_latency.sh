#!/usr/bin/env bash
# Benchmark: plan and apply at a real tenant's latency, with default job settings (no rate:
# block at all), against Graph's write quota scaled down in the emulator (300 writes per
# 15 s = 20 writes/s, as Graph's 3,000 per 150 s). Run at 300-500 ms per request and at
# 60-100 ms, for this tree and for a baseline commit (default 2a59118: fixed concurrency 8,
# a configured 18 writes/s, the user and their methods read one after the other), in this
# invocation.
#
# Printed per run: plan rows/s; apply writes/s as a share of the quota, the share of writes
# answered 429, and the quota-bound minimum time ((rows - the quota's bucket) / 20 per s)
# next to the measured time.
# Targets (issue 19): at 300-500 ms, apply >= 95 % of the quota with <= 1 % of writes
# answered 429, plan >= 40 rows/s; nothing slower at 60-100 ms.
#
#   bash Benchmarks/apply_latency.sh [ROWS] [BASELINE]    (default 1200, 2a59118; ~12 min)
#   BASELINE "none" measures this tree only; LATENCIES="300 200" one latency only
#   (base and spread in ms, pairs separated by commas).
#
# Never part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1200}
baseline=${2:-2a59118}
source Benchmarks/lib.sh
build_release
[ "$baseline" = none ] || build_baseline "$baseline"

measure() { # BIN LABEL LATENCY SPREAD
    local run_bin=$1 label=$2 latency=$3 spread=$4
    local work=Benchmarks/work/latency-$RANDOM; rm -rf "$work"; mkdir -p "$work"
    start_emulator "$work" --synthetic-users "$rows" --write-quota 300/15 --resource-unit-quota 1000000/10 \
        --latency-ms "$latency" --latency-spread-ms "$spread"
    write_bench_job "$work" latency "{}" "$rows"
    local t0 tp t1 t2
    t0=$(date +%s.%N)
    "$run_bin/phoneshift" plan "$work/job.yaml" > "$work/plan.out" 2>&1 || true
    tp=$(date +%s.%N)
    curl -s -X POST "$base/_emulator/reset" > /dev/null
    t1=$(date +%s.%N)
    "$run_bin/phoneshift" apply "$work/job.yaml" > "$work/apply.out" 2>&1 || true
    t2=$(date +%s.%N)
    curl -s "$base/_emulator/requests" | python3 -c '
import json, sys
label, rows, plan_s, apply_s = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
r = [e for e in json.load(sys.stdin)["requests"] if e["method"] in ("PATCH", "POST") and e["path"].startswith("/v1.0/")]
ok = sum(1 for e in r if e["status"] < 300); thr = sum(1 for e in r if e["status"] == 429)
minimum = max(0, ok - 300) / 20.0
print("  %-34s plan %6.1f rows/s | apply %5d writes in %6.1f s (minimum %5.1f s) = %5.2f/s = %5.1f%% of the quota; 429 on %4.1f%% of writes" % (
    label, rows / plan_s, ok, apply_s, minimum, ok / apply_s, 100 * ok / apply_s / 20.0, 100.0 * thr / max(1, ok + thr)))
' "$label" "$rows" "$(python3 -c "print($tp - $t0)")" "$(python3 -c "print($t2 - $t1)")"
    kill "$emulator_pid" 2>/dev/null || true; wait "$emulator_pid" 2>/dev/null || true
}

echo "$rows rows, default job settings, write quota 300/15 s (20/s)"
IFS=, read -ra latencies <<< "${LATENCIES:-300 200,60 40}"
for latency in "${latencies[@]}"; do
    set -- $latency
    echo "latency $1-$(($1 + $2)) ms:"
    measure "$bin" "phoneshift (this tree)" "$1" "$2"
    [ "$baseline" = none ] || measure "$base_bin" "baseline $baseline" "$1" "$2"
done
