#!/usr/bin/env bash
# Benchmark: how soon a resumed apply of a 1,000,000-row job starts writing again.
# Plans 1M rows against the emulator (1M generated users; takes several minutes), starts
# apply, kills it with SIGKILL after a few seconds, then measures the time from launching
# the resumed apply to its first write in the emulator's request log. Target: < 2 s.
#
#   bash Benchmarks/resume_1m.sh [ROWS]      (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
source Benchmarks/lib.sh
build_release
work=Benchmarks/work/resume; rm -rf "$work"; mkdir -p "$work"
start_emulator "$work" --synthetic-users "$rows" --no-throttle
write_bench_job "$work" resume "{writesPerSecond: 200, readsPerSecond: 10000, burst: 1000, concurrency: 32}" "$rows"
echo "planning $rows rows (this takes a while)…"
t0=$(date +%s.%N)
"$bin/phoneshift" plan "$work/job.yaml" > "$work/plan.out"
t1=$(date +%s.%N)
"$bin/phoneshift" apply "$work/job.yaml" > /dev/null 2>&1 &
apply=$!
sleep 4
kill -9 $apply || true
wait $apply 2>/dev/null || true
mark=$(curl -s "$base/_emulator/requests?since=0" | python3 -c 'import json,sys; print(json.load(sys.stdin)["next"])')
launch=$(date +%s.%N)
"$bin/phoneshift" apply "$work/job.yaml" > /dev/null 2>&1 &
apply=$!
sleep 6
kill -9 $apply || true
wait $apply 2>/dev/null || true
curl -s "$base/_emulator/requests?since=$mark" | python3 -c '
import json, sys, datetime
launch, rows, plan_s = float(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
writes = [e for e in json.load(sys.stdin)["requests"] if e["method"] in ("PATCH", "POST") and e["path"].startswith("/v1.0/")]
first = min(datetime.datetime.fromisoformat(e["time"].replace("Z", "+00:00")).timestamp() for e in writes)
print("resume benchmark: %d-row job (planned in %.0f s, %.0f rows/s)" % (rows, plan_s, rows / plan_s))
print("  resumed apply wrote its first row %.2f s after launch (target < 2 s)" % (first - launch))
' "$launch" "$rows" "$(python3 -c "print($t1 - $t0)")"
