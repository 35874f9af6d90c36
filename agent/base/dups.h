/* dups.h - duplicates in a list from outside, found by sorting: a caller's
 * list must never cost time quadratic in its length. */
#ifndef OVS_DUPS_H
#define OVS_DUPS_H

#include <stdbool.h>
#include <stddef.h>

/* Among keys[0..n) (NULL and "" keys take no part), find the pair a
 * pairwise scan in index order would meet first: the smallest *second
 * whose key also appears earlier, and *first, the lowest index holding
 * that key. O(n log n); true when there is a duplicate. */
bool dups_first(const char *const *keys, size_t n, size_t *first, size_t *second);

#endif
