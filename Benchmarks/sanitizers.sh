#!/usr/bin/env bash
# The whole test suite under AddressSanitizer and/or ThreadSanitizer. Everything is built
# with the sanitizer: the test bundle and the phoneshift / graph-emulator binaries the
# end-to-end tests start, so a report in either fails its test (a sanitized process that
# reported exits 66 at the end, ThreadSanitizer's and our ASAN_OPTIONS' exit code).
# Prints one line per sanitizer: tests passed and failed, reports, minutes. The full log
# is in Benchmarks/work/sanitizers/<sanitizer>.log.
#
#   bash Benchmarks/sanitizers.sh [address] [thread]        (default: both)
#
# Build paths: .build-asan and .build-tsan (a sanitizer build takes 5-13 minutes here).
set -uo pipefail
cd "$(dirname "$0")/.."
sanitizers=${*:-address thread}
mkdir -p Benchmarks/work/sanitizers
# Leaks are not findings: Foundation's caches show up as leaks when a short-lived CLI exits.
export ASAN_OPTIONS=detect_leaks=0:exitcode=66
export TSAN_OPTIONS=exitcode=66
status=0
for sanitizer in $sanitizers; do
    case $sanitizer in
        address) path=.build-asan ;;
        thread) path=.build-tsan ;;
        *) echo "unknown sanitizer '$sanitizer' (address or thread)"; exit 2 ;;
    esac
    log=Benchmarks/work/sanitizers/$sanitizer.log
    start=$(date +%s)
    if ! swift build --build-tests --sanitize="$sanitizer" --build-path "$path" > "$log" 2>&1; then
        echo "$sanitizer: the build failed — see $log"; status=1; continue
    fi
    built=$(date +%s)
    swift test --skip-build --sanitize="$sanitizer" --build-path "$path" >> "$log" 2>&1
    rc=$?
    end=$(date +%s)
    reports=$(grep -c -E '^(WARNING: ThreadSanitizer|==[0-9]+==ERROR: AddressSanitizer)' "$log")
    # Swift Testing's last line: "Test run with N tests in M suites passed|failed after …".
    summary=$(grep -o 'Test run with [0-9]* tests\? in [0-9]* suites\? [a-z]*' "$log" | tail -1)
    failed=$(grep -c '^✘ Test ".*" failed after' "$log")
    printf '%s: %s, %d tests failed, %d sanitizer reports, exit %d; build %.1f min, tests %.1f min\n' \
        "$sanitizer" "${summary:-no test run}" "$failed" "$reports" "$rc" "$(awk "BEGIN { print ($built - $start) / 60 }")" \
        "$(awk "BEGIN { print ($end - $built) / 60 }")"
    [ "$rc" -eq 0 ] && [ "$reports" -eq 0 ] || status=1
done
exit $status
