/* perf.c - CPU idle ratio from /proc/stat deltas, free memory from meminfo. */
#include "agent/rpc/perf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/base/util.h"

struct perf {
	uint64_t idle, total;   /* last reading */
	int64_t at;             /* when, ms; 0 = never */
	double ratio;           /* last computed idle ratio */
};

static int read_stat(uint64_t *idle, uint64_t *total)
{
	unsigned long long v[10] = { 0 };
	FILE *f = fopen("/proc/stat", "re");
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
		   &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
	fclose(f);
	if (n < 4)
		return -1;
	/* idle + iowait count as idle; guest time is already inside user. */
	*idle = v[3] + v[4];
	*total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
	return 0;
}

static int read_mem_available(uint64_t *mb)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[128];
	int rc = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "MemAvailable:", 13) == 0) {
			*mb = strtoull(line + 13, NULL, 10) / 1024;
			rc = 0;
			break;
		}
	fclose(f);
	return rc;
}

struct perf *perf_new(void)
{
	struct perf *p = xcalloc(1, sizeof(*p));

	if (read_stat(&p->idle, &p->total) == 0)
		p->at = now_ms();
	p->ratio = 1.0;
	return p;
}

void perf_free(struct perf *p) { free(p); }

int perf_sample(struct perf *p, double *cpu_idle, uint64_t *mem_free_mb)
{
	uint64_t idle, total;
	int64_t now = now_ms();

	if (read_stat(&idle, &total) < 0 || read_mem_available(mem_free_mb) < 0)
		return -1;
	if (!p->at || now - p->at >= 250) {
		if (p->at && total > p->total)
			p->ratio = (double)(idle - p->idle) / (double)(total - p->total);
		p->idle = idle;
		p->total = total;
		p->at = now;
	}
	if (p->ratio < 0)
		p->ratio = 0;
	if (p->ratio > 1)
		p->ratio = 1;
	*cpu_idle = p->ratio;
	return 0;
}
