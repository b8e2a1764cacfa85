#define _GNU_SOURCE
#include <malloc.h>
#include <sched.h>

#include "PostCallCSystem.h"

int postcall_current_cpu(void) {
    return sched_getcpu();
}

int postcall_allowed_cpu_count(void) {
    cpu_set_t allowed;
    return sched_getaffinity(0, sizeof allowed, &allowed) == 0 ? CPU_COUNT(&allowed) : -1;
}

int postcall_thread_may_run_on(int cpu) {
    cpu_set_t allowed;
    if (cpu < 0 || cpu >= CPU_SETSIZE || sched_getaffinity(0, sizeof allowed, &allowed) != 0) return -1;
    return CPU_ISSET(cpu, &allowed) ? 1 : 0;
}

int postcall_keep_thread_off_cpu(int cpu) {
    /* The thread's own first set: later calls narrow its affinity, never the process's. */
    static __thread cpu_set_t allowed;
    static __thread int known = 0;
    if (!known) {
        if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return -1;
        known = 1;
    }
    cpu_set_t wanted = allowed;
    if (cpu >= 0 && cpu < CPU_SETSIZE && CPU_ISSET(cpu, &allowed) && CPU_COUNT(&allowed) >= 2) CPU_CLR(cpu, &wanted);
    return sched_setaffinity(0, sizeof wanted, &wanted);
}

int postcall_set_malloc_trim_threshold(int bytes) {
    return mallopt(M_TRIM_THRESHOLD, bytes);
}
