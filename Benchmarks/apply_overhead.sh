#!/usr/bin/env bash
# Benchmark: PhoneShift's own overhead. No quota, no latency: rows per second end to end
# (re-read + write + checkpoint) for apply, and for plan, against the emulator on the same
# 2 cores (the emulator's work is part of the figure). Target: >= 2,000 rows/s for apply.
#
#   bash Benchmarks/apply_overhead.sh [ROWS]    (default 20000)
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-20000}
source Benchmarks/lib.sh
build_release
work=Benchmarks/work/overhead; rm -rf "$work"; mkdir -p "$work"
start_emulator "$work" --synthetic-users "$rows" --no-throttle
write_bench_job "$work" overhead "{writesPerSecond: 1000000, readsPerSecond: 1000000, burst: 1000, concurrency: 32}" "$rows"
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
