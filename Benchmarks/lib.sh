# Shared by the benchmarks (source it): builds the release binaries, starts the emulator
# with a throwaway secret, writes the benchmark sheet and job, and measures a command.

# measure LABEL COMMAND...: runs COMMAND under /usr/bin/time -v (its output in
# $work/LABEL.stdout and .time) and prints "seconds maxrss_kb".
measure() {
    local label=$1; shift
    /usr/bin/time -v "$@" > "$work/$label.stdout" 2> "$work/$label.time" || true
    local secs kb
    secs=$(awk -F': ' '/Elapsed \(wall clock\)/ { n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]; print s }' "$work/$label.time")
    kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/$label.time")
    echo "$secs $kb"
}

# build_release: sets $bin to the folder of the release binaries.
build_release() {
    swift build -c release >/dev/null 2>&1
    bin=$(swift build -c release --show-bin-path)
}

# build_baseline COMMIT: builds COMMIT's release binaries in a worktree under
# Benchmarks/work (made once); sets $base_bin to their folder.
build_baseline() {
    local tree=Benchmarks/work/baseline-$(git rev-parse --short "$1")
    [ -d "$tree" ] || git worktree add -q --detach "$tree" "$1"
    (cd "$tree" && swift build -c release --scratch-path .build-baseline >/dev/null 2>&1)
    base_bin=$tree/.build-baseline/release
}

# start_emulator WORKDIR ARGS...: starts graph-emulator (stopped when the script exits)
# with the sample directory plus ARGS; sets $base, and exports BENCH_SECRET.
start_emulator() {
    local work=$1; shift
    export BENCH_SECRET="bench-$RANDOM$RANDOM"
    GRAPH_EMULATOR_CLIENT_SECRET=$BENCH_SECRET "$bin/graph-emulator" --directory Samples/directory.json "$@" \
        > "$work/url" 2>/dev/null &
    emulator_pid=$!
    trap 'kill $emulator_pid 2>/dev/null || true' EXIT
    for _ in $(seq 600); do [ -s "$work/url" ] && break; sleep 0.1; done
    base=$(head -1 "$work/url")
}

tenant=9188040d-6c67-4c5b-b112-36a304b66dad
client=8a3b6c0e-2f1d-4e5a-9b7c-1d2e3f4a5b6c

# write_bench_job WORKDIR NAME RATE ROWS: a sheet giving bench1..ROWS new numbers, and a job
# for it against the emulator with the given `rate:` mapping.
write_bench_job() {
    local work=$1 name=$2 rate=$3 rows=$4
    python3 - "$rows" > "$work/sheet.csv" <<'PY'
import sys
print("UPN,Phone")
for i in range(1, int(sys.argv[1]) + 1):
    print("bench%d@contoso.com,+1 2127%06d" % (i, i % 1000000))
PY
    cat > "$work/job.yaml" <<YAML
name: $name
sheet: {path: sheet.csv}
tenant:
  tenantId: $tenant
  clientId: $client
  clientSecret: {env: BENCH_SECRET}
  authority: $base
  graph: $base/v1.0
rate: $rate
store: out/$name.sqlite
outputs: out
YAML
}
