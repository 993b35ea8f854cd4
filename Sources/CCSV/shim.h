#ifndef PHONESHIFT_CCSV_SHIM_H
#define PHONESHIFT_CCSV_SHIM_H
// libcsv, from Debian's libcsv-dev.
#include <csv.h>

/// Parser state ROW_NOT_BEGUN in libcsv.c: no field of the next record has been seen yet.
/// The reader uses it to know on which physical line a record starts.
static inline int phoneshift_csv_row_not_begun(const struct csv_parser *p) {
    return p->pstate == 0;
}

/// Bytes buffered for the field being read (for the field-size cap).
static inline size_t phoneshift_csv_pending_bytes(const struct csv_parser *p) {
    return p->entry_pos;
}
/// Drops the bytes buffered for the field being read (a field over the cap): the parser's
/// state (inside quotes or not) is kept, so the field's end is still found.
static inline void phoneshift_csv_discard_pending(struct csv_parser *p) {
    p->entry_pos = 0;
    p->spaces = 0;  /* trailing spaces are trimmed by subtracting them from entry_pos */
}
/// True while the parser is inside a quoted field whose closing quote has not been seen
/// (state FIELD_BEGUN with `quoted` set in libcsv.c). At end of input that is an unclosed
/// quote; libcsv's own check for it (CSV_STRICT_FINI) needs strict mode, which would also
/// refuse the stray quotes real exports contain.
static inline int phoneshift_csv_in_open_quote(const struct csv_parser *p) {
    return p->pstate == 2 && p->quoted;
}

/// The libcsv version PhoneShift was built against ("3.0.3" when the header says so).
static inline int phoneshift_csv_version_major(void) { return CSV_MAJOR; }
static inline int phoneshift_csv_version_minor(void) { return CSV_MINOR; }
static inline int phoneshift_csv_version_release(void) {
#ifdef CSV_RELEASE
    return CSV_RELEASE;
#else
    return -1;
#endif
}
#endif
