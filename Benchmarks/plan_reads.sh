#!/usr/bin/env bash
# Benchmark: what bounds plan at a real tenant's latency (300-500 ms per request): its read
# rate or its round trips? Plans the same 1,200 rows with the read lane's rate
# (`rate.readsPerSecond`, default 150) and its cap on requests in flight (`rate.concurrency`,
# default 64) each at their default and doubled, in this invocation.
# If doubling the cap changes nothing at the default rate, round trips are not what bounds
# plan there, and JSON $batch (fewer round trips; every item still counts against the read
# budget, json-batching.md) cannot shorten it. Issue 19 asked for this measurement.
#
#   bash Benchmarks/plan_reads.sh [ROWS]      (default 1200; ~3 min)
#
# Never part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1200}
source Benchmarks/lib.sh
build_release
work=Benchmarks/work/plan-reads; rm -rf "$work"; mkdir -p "$work"
start_emulator "$work" --synthetic-users "$rows" --resource-unit-quota 1000000/10 --latency-ms 300 --latency-spread-ms 200
echo "plan of $rows rows at 300-500 ms per request (two reads a row, at once)"
for config in "150 64" "150 128" "300 64" "300 128"; do
    set -- $config
    write_bench_job "$work" "reads-$1-$2" "{readsPerSecond: $1, concurrency: $2}" "$rows"
    since=$(curl -s "$base/_emulator/requests" | python3 -c 'import json,sys; print(json.load(sys.stdin)["next"])')
    t0=$(date +%s.%N)
    "$bin/phoneshift" plan "$work/job.yaml" > "$work/plan-$1-$2.out" 2>&1 || true
    t1=$(date +%s.%N)
    curl -s "$base/_emulator/requests?since=$since" | python3 -c '
import json, sys
reads_per_second, cap, rows, secs = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
r = [e for e in json.load(sys.stdin)["requests"] if e["method"] == "GET" and e["path"].startswith("/v1.0/")]
print("  readsPerSecond %4d, concurrency %4d: %5.1f s = %6.1f rows/s, %6.1f reads/s (%d reads)" % (reads_per_second, cap, secs, rows / secs, len(r) / secs, len(r)))
' "$1" "$2" "$rows" "$(python3 -c "print($t1 - $t0)")"
done
