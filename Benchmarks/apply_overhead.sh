#!/usr/bin/env bash
# Benchmark: PhoneShift's own overhead. No quota, no latency: rows per second end to end
# (re-read + durable in-flight mark + write + checkpoint) for apply, and for plan, against the
# emulator on the same 2 cores (the emulator's work is part of the figure).
# Target: >= 2,000 rows/s for apply.
#
#   bash Benchmarks/apply_overhead.sh [ROWS] [BASELINE_REV]
#
# With BASELINE_REV (a git revision, e.g. the commit before a change), that revision is
# built in Benchmarks/work/ (a git worktree of its own, built once and reused) and measured
# in the same invocation against the same emulator, and the ratio is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-20000}
baseline=${2:-}
source Benchmarks/lib.sh
build_release
work=Benchmarks/work/overhead; rm -rf "$work"; mkdir -p "$work"
base_bin=""
if [ -n "$baseline" ]; then build_baseline "$baseline"; fi
start_emulator "$work" --synthetic-users "$rows" --no-throttle

# measure BIN NAME: plans and applies the bench job with BIN's phoneshift; prints "plan apply" seconds.
measure() {
    local bin=$1 name=$2
    write_bench_job "$work" "$name" "{writesPerSecond: 10000, readsPerSecond: 10000, burst: 1000, concurrency: 32}" "$rows"
    curl -s -X POST "$base/_emulator/reset" >/dev/null
    local t0 t1 t2
    t0=$(date +%s.%N)
    "$bin/phoneshift" plan "$work/job.yaml" > "$work/$name-plan.out"
    t1=$(date +%s.%N)
    "$bin/phoneshift" apply "$work/job.yaml" > "$work/$name-apply.out" 2>/dev/null
    t2=$(date +%s.%N)
    echo "$t0 $t1 $t2"
}
# Alternating runs (this build, baseline, this build, baseline): neither gets the cold
# emulator every time; the best of each is reported.
now=$(measure "$bin" overhead)
then=""
if [ -n "$base_bin" ]; then
    then=$(measure "$base_bin" baseline)
    now="$now;$(measure "$bin" overhead)"
    then="$then;$(measure "$base_bin" baseline)"
fi
python3 - "$rows" "$now" "$then" "$baseline" <<'PY'
import sys
rows = int(sys.argv[1])
def rates(runs):
    best = None
    for times in runs.split(";"):
        t0, t1, t2 = map(float, times.split())
        plan, apply = t1 - t0, t2 - t1
        best = (plan, apply) if best is None else (min(best[0], plan), min(best[1], apply))
    return best[0], rows / best[0], best[1], rows / best[1]
print("overhead benchmark: %d rows, no quota, no latency, emulator on the same machine%s" % (rows, "; best of 2 alternating runs" if sys.argv[3] else ""))
pt, pr, at, ar = rates(sys.argv[2])
print("  plan : %6.2f s  %7.0f rows/s  (user read + methods read per row)" % (pt, pr))
print("  apply: %6.2f s  %7.0f rows/s  (re-read + durable in-flight mark + write + checkpoint; target >= 2000, ratio %.2fx)" % (at, ar, ar / 2000))
if sys.argv[3]:
    bpt, bpr, bat, bar = rates(sys.argv[3])
    print("  baseline %s, same emulator, same run:" % sys.argv[4])
    print("  plan : %6.2f s  %7.0f rows/s  -> this build %.2fx" % (bpt, bpr, pr / bpr))
    print("  apply: %6.2f s  %7.0f rows/s  -> this build %.2fx" % (bat, bar, ar / bar))
PY
grep -E "^Outcomes" "$work/overhead-apply.out"
