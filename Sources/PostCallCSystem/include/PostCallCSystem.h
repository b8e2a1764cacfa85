#ifndef POSTCALL_CSYSTEM_H
#define POSTCALL_CSYSTEM_H

/* GNU scheduling calls that Swift's Glibc module leaves out (they need _GNU_SOURCE). */

/* The CPU the calling thread runs on now; -1 if the system cannot say. */
int postcall_current_cpu(void);

/* The next two let the tests see where the store thread may run. */

/* How many CPUs the calling thread may run on; -1 if the system cannot say. */
int postcall_allowed_cpu_count(void);

/* 1 if the calling thread may run on `cpu`, 0 if not, -1 if the system cannot say. */
int postcall_thread_may_run_on(int cpu);

/* Lets the calling thread run on every CPU it was first allowed, except `cpu`; on all of them
 * again when `cpu` is -1 or would leave none. 0 on success, -1 with errno set. */
int postcall_keep_thread_off_cpu(int cpu);

#endif
