#!/usr/bin/env bash
# Fuzzing with libFuzzer: the sheet reader, Excel workbooks, the phone normaliser and the job-file parser,
# each for SECONDS (default 60), from the seed corpora in Tests/FuzzCorpus/<target>/.
# New inputs libFuzzer finds go to Benchmarks/work/fuzz/<target>/ (not committed); a crash
# is written there as crash-* and the script exits 1 — turn it into a regression test.
#
#   bash Benchmarks/fuzz.sh [SECONDS] [TARGET…]        (targets: sheet workbook normalizer job)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}; shift || true
targets=${*:-sheet workbook normalizer job}
export PHONESHIFT_FUZZ=1
# Leaks are not findings here (a short-lived CLI; Foundation's own caches show up as leaks).
export ASAN_OPTIONS=detect_leaks=0
# Coverage instrumentation and AddressSanitizer everywhere; libFuzzer without its main
# (SwiftPM gives every executable one; the targets' main hands over to LLVMFuzzerRunDriver).
nomain=$(ls /opt/swift/usr/lib/clang/*/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a 2>/dev/null | head -1)
[ -n "$nomain" ] || nomain=$(dirname "$(dirname "$(command -v swift)")")/lib/clang/*/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a
flags=(-c debug --build-path .build-fuzz -Xswiftc -sanitize=address -Xswiftc -sanitize-coverage=edge,trace-cmp,inline-8bit-counters,pc-table
       -Xcc -fsanitize=fuzzer-no-link,address -Xcxx -fsanitize=fuzzer-no-link,address -Xlinker $nomain -Xlinker -lstdc++)
status=0
for target in $targets; do
    swift build "${flags[@]}" --product "fuzz-$target" >/dev/null
    bin=$(swift build "${flags[@]}" --show-bin-path)/fuzz-$target
    work=Benchmarks/work/fuzz/$target; mkdir -p "$work/new"
    if "$bin" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$work/" \
        -print_final_stats=1 "$work/new" "Tests/FuzzCorpus/$target" > "$work/log" 2>&1; then
        runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log" | grep -o '[0-9]*$' || echo "?")
        echo "fuzz $target: ${seconds} s, $runs inputs, no crash (corpus: $(ls "$work/new" | wc -l) new inputs)"
    else
        echo "fuzz $target: CRASH — see $work/log and $work/crash-*"
        status=1
    fi
done
exit $status
