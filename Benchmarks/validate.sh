#!/usr/bin/env bash
# Benchmark: `phoneshift validate` on a 1,000,000-row HR-style sheet against a straightforward
# Python script using `phonenumbers`, both run here, in this invocation. Prints rows/s, peak
# memory (max RSS from /usr/bin/time -v) and the ratios. Never part of CI.
#
#   bash Benchmarks/validate.sh [ROWS]        (default 1000000)
#
# Needs: /usr/bin/time (Debian package `time`), python3 with `phonenumbers` (pip install phonenumbers).
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
work=Benchmarks/work
mkdir -p "$work"
sheet="$work/hr-$rows.csv"

[ -x /usr/bin/time ] || { echo "needs /usr/bin/time: apt-get install -y time" >&2; exit 2; }
python3 -c "import phonenumbers" 2>/dev/null || { echo "needs phonenumbers: pip install phonenumbers" >&2; exit 2; }
[ -f "$sheet" ] || python3 Benchmarks/make_sheet.py "$sheet" "$rows"
swift build -c release --product phoneshift >/dev/null
bin=$(swift build -c release --show-bin-path)/phoneshift

measure() { # label, command...: prints "seconds maxrss_kb"
    local label=$1; shift
    /usr/bin/time -v "$@" > "$work/$label.stdout" 2> "$work/$label.time" || true
    local secs kb
    secs=$(awk -F': ' '/Elapsed \(wall clock\)/ { n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]; print s }' "$work/$label.time")
    kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/$label.time")
    echo "$secs $kb"
}

read -r ps_s ps_kb < <(measure phoneshift "$bin" validate "$sheet" --output "$work/phoneshift-out.csv")
read -r py_s py_kb < <(measure python python3 Benchmarks/validate_baseline.py "$sheet" "$work/python-out.csv")

awk -v rows="$rows" -v a="$ps_s" -v am="$ps_kb" -v b="$py_s" -v bm="$py_kb" 'BEGIN {
    printf "validate benchmark: %d rows, %d cores\n", rows, '"$(nproc)"'
    printf "  phoneshift validate : %7.2f s  %9.0f rows/s  peak %6.1f MB\n", a, rows / a, am / 1024
    printf "  python phonenumbers : %7.2f s  %9.0f rows/s  peak %6.1f MB\n", b, rows / b, bm / 1024
    printf "  speed ratio (phoneshift / python): %.2fx   (target >= 2x)\n", b / a
    printf "  phoneshift peak memory: %.1f MB         (target < 64 MB)\n", am / 1024
}'
grep -E "^Rows:" "$work/phoneshift.stdout" || true
