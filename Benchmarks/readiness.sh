#!/usr/bin/env bash
# Benchmark: `phoneshift readiness` of a large tenant. Rows stream to the sheet and the JSON,
# so memory should be flat: the peak RSS for N users is printed beside the one for N/10 (same
# invocation). Then the time at a real tenant's latency (300-500 ms per request) from the
# registration report (pages of 500 users), and, as the baseline in the same invocation, the
# per-user reads a tenant without the report needs (a tenth of the users, 64 in flight).
#
#   bash Benchmarks/readiness.sh [USERS]     (default 100000; ~5 min after the release build)
#
# Never part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
users=${1:-100000}
source Benchmarks/lib.sh
build_release
measure() { # LABEL USERS PERMISSIONS LATENCY SPREAD
    local label=$1 n=$2 permissions=$3 latency=$4 spread=$5
    local work=Benchmarks/work/readiness-$RANDOM; rm -rf "$work"; mkdir -p "$work"
    start_emulator "$work" --synthetic-users "$n" --no-throttle --permissions "$permissions" \
        --latency-ms "$latency" --latency-spread-ms "$spread"
    write_bench_job "$work" readiness "{readsPerSecond: 10000, concurrency: 64}" 1
    /usr/bin/time -v "$bin/phoneshift" readiness "$work/job.yaml" --output "$work/readiness.csv" > "$work/stdout" 2> "$work/time"
    local secs peak rows
    secs=$(grep "Elapsed (wall clock)" "$work/time" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
    peak=$(grep "Maximum resident set size" "$work/time" | awk '{print $NF}')
    rows=$(($(wc -l < "$work/readiness.csv") - 1))
    python3 -c "print('  %-44s %7d users in %6.1f s = %7.0f users/s; peak RSS %5.1f MB' % ('$label', $rows, $secs, $rows / $secs, $peak / 1024))"
    kill "$emulator_pid" 2>/dev/null || true; wait "$emulator_pid" 2>/dev/null || true
}
report="AuditLog.Read.All,User.Read.All,UserAuthenticationMethod.Read.All,RoleManagement.Read.Directory,GroupMember.Read.All"
per_user="User.Read.All,UserAuthenticationMethod.Read.All,RoleManagement.Read.Directory,GroupMember.Read.All"
echo "phoneshift readiness against the emulator"
measure "report, no latency (a tenth)" "$((users / 10))" "$report" 0 0
measure "report, no latency" "$users" "$report" 0 0
measure "report, 300-500 ms" "$users" "$report" 300 200
measure "per-user reads, 300-500 ms (a tenth)" "$((users / 10))" "$per_user" 300 200
