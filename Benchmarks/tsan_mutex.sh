#!/usr/bin/env bash
# Why PhoneShift and its emulator use NSLock rather than Synchronization.Mutex: the same
# correct program (four threads, one array, one lock) under ThreadSanitizer, once with each.
# Prints the number of ThreadSanitizer reports for each lock.
#
#   bash Benchmarks/tsan_mutex.sh
set -euo pipefail
cd "$(dirname "$0")/.."
build=Benchmarks/work/tsan-mutex
swift build --package-path Benchmarks/tsan-mutex --build-path "$build" --sanitize=thread >/dev/null
bin=$(swift build --package-path Benchmarks/tsan-mutex --build-path "$build" --sanitize=thread --show-bin-path)/tsan-mutex
for lock in mutex nslock; do
    reports=$(TSAN_OPTIONS=exitcode=0 "$bin" "$lock" 2>&1 | grep -c '^WARNING: ThreadSanitizer' || true)
    echo "$lock: $reports ThreadSanitizer reports"
done
