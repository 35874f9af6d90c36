/* dups.c - duplicates by sorting (see dups.h). */
#include "agent/base/dups.h"

#include <stdlib.h>
#include <string.h>

#include "agent/base/util.h"

/* Indexes ordered by key, equal keys by index. */
static int by_key(const void *a, const void *b, void *arg)
{
	const char *const *keys = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(keys[i], keys[j]);

	return c ? c : (i > j) - (i < j);
}

bool dups_first(const char *const *keys, size_t n, size_t *first, size_t *second)
{
	size_t *idx = xcalloc(n ? n : 1, sizeof(*idx)), m = 0;
	bool found = false;

	for (size_t i = 0; i < n; i++)
		if (keys[i] && keys[i][0])
			idx[m++] = i;
	qsort_r(idx, m, sizeof(*idx), by_key, (void *)keys);
	/* In each run of equal keys the first two indexes are the run's
	 * earliest pair; the answer is the run whose second comes first. */
	for (size_t k = 1; k < m; k++) {
		if (strcmp(keys[idx[k - 1]], keys[idx[k]]) != 0)
			continue;
		if (!found || idx[k] < *second) {
			*first = idx[k - 1];
			*second = idx[k];
			found = true;
		}
		/* skip the rest of this run */
		while (k + 1 < m && strcmp(keys[idx[k]], keys[idx[k + 1]]) == 0)
			k++;
	}
	free(idx);
	return found;
}
