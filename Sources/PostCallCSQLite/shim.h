#include <sqlite3.h>

/* SQLITE_TRANSIENT is a macro over a cast that Swift cannot import. */
static inline sqlite3_destructor_type postcall_sqlite_transient(void) { return SQLITE_TRANSIENT; }

/* sqlite3_config is variadic. Without memory statistics (which nothing here reads), SQLite's
 * allocations skip a process-wide mutex and their bookkeeping. Only takes effect before the
 * library initialises, that is before the first connection opens. */
static inline int postcall_sqlite_skip_memory_statistics(void) { return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }

#include <stdint.h>
#include <time.h>

/* SQLite's own busy handler sleeps 1, 2, 5, 10 ms and more between tries, far longer than our
 * write transactions last (about half a millisecond), so two workers sharing a file spend most
 * of a contended wait asleep. This one retries every 100 us for the first 2 ms, then every ms. */
static int postcall_sqlite_busy_wait(void *timeout, int count) {
    const int fast = 20;
    long waited_us = count < fast ? count * 100L : fast * 100L + (count - fast) * 1000L;
    if (waited_us >= (long)(intptr_t)timeout * 1000L) return 0;
    struct timespec pause = { 0, count < fast ? 100000L : 1000000L };
    nanosleep(&pause, NULL);
    return 1;
}

/* Like sqlite3_busy_timeout, with the shorter waits above. */
static inline int postcall_sqlite_busy_timeout(sqlite3 *db, int milliseconds) {
    return sqlite3_busy_handler(db, postcall_sqlite_busy_wait, (void *)(intptr_t)milliseconds);
}
