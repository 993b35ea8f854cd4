#ifndef PHONESHIFT_CSQLITE_SHIM_H
#define PHONESHIFT_CSQLITE_SHIM_H
// SQLite 3, from Debian's libsqlite3-dev.
#include <sqlite3.h>

/// SQLITE_TRANSIENT is a macro casting -1 to a function pointer, which Swift cannot import.
static inline sqlite3_destructor_type phoneshift_sqlite_transient(void) {
    return SQLITE_TRANSIENT;
}
#endif
