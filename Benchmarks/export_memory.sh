#!/usr/bin/env bash
# Benchmark: `phoneshift export` of a large tenant streams (one page of 999 users in memory
# at a time). Prints users/s and the peak RSS for a tenant of N users and for one of N/10,
# in this invocation: flat memory means the two peaks are close.
#
#   bash Benchmarks/export_memory.sh [USERS]     (default 100000)
#
# Never part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
users=${1:-100000}
source Benchmarks/lib.sh
build_release
measure() { # USERS
    local n=$1 work=Benchmarks/work/export-$1; rm -rf "$work"; mkdir -p "$work"
    start_emulator "$work" --synthetic-users "$n" --no-throttle
    write_bench_job "$work" export "{readsPerSecond: 100000, concurrency: 16}" 1
    /usr/bin/time -v "$bin/phoneshift" export "$work/job.yaml" --output "$work/export.csv" > "$work/export.stdout" 2> "$work/time"
    local secs peak rows
    secs=$(grep "Elapsed (wall clock)" "$work/time" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
    peak=$(grep "Maximum resident set size" "$work/time" | awk '{print $NF}')
    rows=$(($(wc -l < "$work/export.csv") - 1))
    python3 -c "print('  %7d users exported in %6.1f s = %6.0f users/s; peak RSS %5.1f MB' % ($rows, $secs, $rows / $secs, $peak / 1024))"
    kill "$emulator_pid" 2>/dev/null || true; wait "$emulator_pid" 2>/dev/null || true
}
echo "phoneshift export against the emulator (no throttling, no latency)"
measure "$((users / 10))"
measure "$users"
