#ifndef POSTCALL_CSYSTEM_H
#define POSTCALL_CSYSTEM_H

/* GNU calls that Swift's Glibc module leaves out: CPU affinity (it needs _GNU_SOURCE) and
 * malloc's tuning. */

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

/* glibc's M_TRIM_THRESHOLD: how many free bytes a heap keeps at its top before handing them back
 * to the kernel. 1 on success, 0 if refused. */
int postcall_set_malloc_trim_threshold(int bytes);

#endif
