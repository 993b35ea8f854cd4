#!/usr/bin/env bash
# Benchmark: requests per second the graph-emulator serves with no latency and no throttling
# (target: at least 5,000 simple requests per second on 2 cores), measured with wrk from the
# same machine (so wrk takes part of the two cores too). Never part of CI.
#
#   bash Benchmarks/emulator.sh [SECONDS]      (default 10)
#
# Needs: wrk (apt-get install -y wrk), curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
command -v wrk >/dev/null || { echo "needs wrk: apt-get install -y wrk" >&2; exit 2; }
swift build -c release --product graph-emulator >/dev/null
bin=$(swift build -c release --show-bin-path)/graph-emulator
work=Benchmarks/work; mkdir -p "$work"
"$bin" --directory Samples/directory.json --no-throttle > "$work/emulator.url" 2> "$work/emulator.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$work/emulator.url" ] && break; sleep 0.1; done
base=$(head -1 "$work/emulator.url")
tenant=$(python3 -c "import json; print(json.load(open('Samples/directory.json'))['tenant']['id'])")
user=$(python3 -c "import json; print(json.load(open('Samples/directory.json'))['users'][1]['id'])")
token=$(curl -s -X POST "$base/$tenant/oauth2/v2.0/token" -d grant_type=client_credentials \
    -d client_id=8a3b6c0e-2f1d-4e5a-9b7c-1d2e3f4a5b6c -d client_secret=phoneshift-emulator-secret \
    --data-urlencode scope=https://graph.microsoft.com/.default | python3 -c "import sys, json; print(json.load(sys.stdin)['access_token'])")
echo "graph-emulator benchmark: GET /v1.0/users/{id}/authentication/phoneMethods, ${seconds}s, $(nproc) cores, wrk -t2 -c32"
wrk -t2 -c32 -d"${seconds}s" -H "Authorization: Bearer $token" "$base/v1.0/users/$user/authentication/phoneMethods" | tee "$work/emulator-wrk.txt"
rps=$(awk '/Requests\/sec/ { print $2 }' "$work/emulator-wrk.txt")
awk -v r="$rps" 'BEGIN { printf "  requests/s: %.0f   (target >= 5000, ratio %.2fx)\n", r, r / 5000 }'
