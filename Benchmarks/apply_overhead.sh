#!/usr/bin/env bash
# Benchmark: PhoneShift's own overhead. No quota, no latency: rows per second end to end
# (re-read + write + checkpoint) for apply, and for plan, against the emulator on the same
# 2 cores (the emulator's work is part of the figure). Target: >= 2,000 rows/s for apply.
#
#   bash Benchmarks/apply_overhead.sh [ROWS]    (default 20000)
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-20000}
swift build -c release >/dev/null 2>&1
bin=$(swift build -c release --show-bin-path)
work=Benchmarks/work/overhead; rm -rf "$work"; mkdir -p "$work"
export BENCH_SECRET="bench-$RANDOM$RANDOM"
GRAPH_EMULATOR_CLIENT_SECRET=$BENCH_SECRET "$bin/graph-emulator" --directory Samples/directory.json \
    --synthetic-users "$rows" --no-throttle > "$work/url" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$work/url" ] && break; sleep 0.1; done
base=$(head -1 "$work/url")
python3 - "$rows" > "$work/sheet.csv" <<'PY'
import sys
print("UPN,Phone")
for i in range(1, int(sys.argv[1]) + 1):
    print("bench%d@contoso.com,+1 2127%06d" % (i, i))
PY
cat > "$work/job.yaml" <<YAML
name: overhead
sheet: {path: sheet.csv}
tenant:
  tenantId: 9188040d-6c67-4c5b-b112-36a304b66dad
  clientId: 8a3b6c0e-2f1d-4e5a-9b7c-1d2e3f4a5b6c
  clientSecret: {env: BENCH_SECRET}
  authority: $base
  graph: $base/v1.0
rate: {writesPerSecond: 1000000, readsPerSecond: 1000000, burst: 1000, concurrency: 32}
store: out/overhead.sqlite
outputs: out
YAML
t0=$(date +%s.%N)
"$bin/phoneshift" plan "$work/job.yaml" > "$work/plan.out"
t1=$(date +%s.%N)
"$bin/phoneshift" apply "$work/job.yaml" > "$work/apply.out"
t2=$(date +%s.%N)
python3 - "$rows" "$t0" "$t1" "$t2" <<'PY'
import sys
rows, t0, t1, t2 = int(sys.argv[1]), *map(float, sys.argv[2:])
print("overhead benchmark: %d rows, no quota, no latency, emulator on the same machine" % rows)
print("  plan : %6.2f s  %7.0f rows/s  (user read + methods read per row)" % (t1 - t0, rows / (t1 - t0)))
print("  apply: %6.2f s  %7.0f rows/s  (re-read + write + checkpoint per row; target >= 2000, ratio %.2fx)" % (t2 - t1, rows / (t2 - t1), rows / (t2 - t1) / 2000))
PY
grep -E "^Outcomes" "$work/apply.out"
