#!/usr/bin/env bash
# Benchmark: `phoneshift validate` of an Excel workbook against its CSV twin (the same rows),
# both run here, in this invocation: time, rows/s and peak memory (max RSS from
# /usr/bin/time -v) of each, and the ratios; and the workbook at 10x the rows, to show that
# memory stays flat as the sheet grows. Half of the mobiles are typed as numbers (Excel's
# way), a quarter are shared strings and a quarter inline strings. Never part of CI.
#
#   bash Benchmarks/workbook.sh [ROWS]        (default 100000)
#
# Needs: /usr/bin/time (Debian package `time`), python3 (its zipfile writes the workbook).
set -euo pipefail
cd "$(dirname "$0")/.."
source Benchmarks/lib.sh
rows=${1:-100000}
work=Benchmarks/work
mkdir -p "$work"
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time: apt-get install -y time" >&2; exit 2; }
python3 Benchmarks/make_workbook.py "$work/book-$rows" "$rows"
python3 Benchmarks/make_workbook.py "$work/book-$((rows / 10))" "$((rows / 10))"
swift build -c release --product phoneshift >/dev/null
bin=$(swift build -c release --show-bin-path)/phoneshift

read -r x_s x_kb < <(measure workbook "$bin" validate "$work/book-$rows.xlsx" --region GB --output "$work/book-xlsx-out.csv")
read -r c_s c_kb < <(measure csv "$bin" validate "$work/book-$rows.csv" --region GB --output "$work/book-csv-out.csv")
read -r s_s s_kb < <(measure small "$bin" validate "$work/book-$((rows / 10)).xlsx" --region GB)
grep -q "Rows: $rows " "$work/workbook.stdout" || { echo "the workbook did not validate $rows rows:" >&2; cat "$work/workbook.stdout" >&2; exit 1; }
# Every row's line, user and number as PhoneShift will write it: the same from both.
cmp <(cut -d, -f1,2,5 "$work/book-xlsx-out.csv") <(cut -d, -f1,2,5 "$work/book-csv-out.csv") >/dev/null \
    && same="yes" || same="NO (see $work/book-xlsx-out.csv and book-csv-out.csv)"
awk -v rows="$rows" -v a="$x_s" -v am="$x_kb" -v b="$c_s" -v bm="$c_kb" -v s="$s_s" -v sm="$s_kb" -v same="$same" 'BEGIN {
    printf "workbook benchmark: %d rows, %d cores\n", rows, '"$(nproc)"'
    printf "  validate .xlsx       : %7.2f s  %9.0f rows/s  peak %6.1f MB\n", a, rows / a, am / 1024
    printf "  validate CSV twin    : %7.2f s  %9.0f rows/s  peak %6.1f MB\n", b, rows / b, bm / 1024
    printf "  validate .xlsx / 10  : %7.2f s  %9.0f rows/s  peak %6.1f MB\n", s, rows / 10 / s, sm / 1024
    printf "  time ratio (xlsx / csv): %.2fx   memory ratio (xlsx / csv): %.2fx   memory, 10x the rows: %.2fx\n", a / b, am / bm, am / sm
    printf "  every row the same user and number as from the CSV twin: %s (the workbook adds %d excel-number warnings)\n", same, rows / 2
}'
