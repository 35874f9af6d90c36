/* perf.h - host CPU idle ratio and free memory for sys_perf_info.
 * The idle ratio is measured between two readings of /proc/stat: the one
 * kept from the previous call (or start-up) and now; calls closer together
 * than a quarter second reuse the last ratio. Reading /proc never blocks. */
#ifndef OVS_PERF_H
#define OVS_PERF_H

#include <stdint.h>

struct perf;

struct perf *perf_new(void);
void perf_free(struct perf *p);
/* cpu_idle in 0..1; mem_free in MB. Returns 0 or -1 when /proc is unreadable. */
int perf_sample(struct perf *p, double *cpu_idle, uint64_t *mem_free_mb);

#endif
