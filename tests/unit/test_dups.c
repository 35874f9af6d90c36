/* test_dups.c - duplicates found by sorting give the pair a pairwise scan
 * in index order would give, and large lists stay cheap. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "agent/base/dups.h"

/* The old way, as the oracle: every item against every earlier one. */
static bool pairwise(const char *const *k, size_t n, size_t *first, size_t *second)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (k[i] && k[i][0] && k[j] && strcmp(k[i], k[j]) == 0) {
				*first = j;
				*second = i;
				return true;
			}
	return false;
}

TEST(none)
{
	const char *k[] = { "a", "b", "c" };
	size_t f = 99, s = 99;

	CHECK(!dups_first(k, 3, &f, &s));
	CHECK(!dups_first(k, 0, &f, &s));
	CHECK(!dups_first(NULL, 0, &f, &s));
	CHECK_INT(f, 99);
}

TEST(simple_pair)
{
	const char *k[] = { "x", "y", "x" };
	size_t f, s;

	CHECK(dups_first(k, 3, &f, &s));
	CHECK_INT(f, 0);
	CHECK_INT(s, 2);
}

/* The pair whose second index comes first wins, not the smallest key. */
TEST(earliest_second)
{
	const char *k[] = { "b", "a", "z", "b", "a", "a" };
	size_t f, s;

	CHECK(dups_first(k, 6, &f, &s));
	CHECK_INT(f, 0);
	CHECK_INT(s, 3);
	/* and the first is the lowest index with that key */
	const char *k2[] = { "m", "q", "m", "m" };
	CHECK(dups_first(k2, 4, &f, &s));
	CHECK_INT(f, 0);
	CHECK_INT(s, 2);
}

TEST(empty_and_null_take_no_part)
{
	const char *k[] = { "", NULL, "", NULL, "a", "" };
	size_t f, s;

	CHECK(!dups_first(k, 6, &f, &s));
	const char *k2[] = { "", "a", NULL, "a" };
	CHECK(dups_first(k2, 4, &f, &s));
	CHECK_INT(f, 1);
	CHECK_INT(s, 3);
}

/* Random small alphabets make many collisions: compare with the oracle. */
TEST(agrees_with_pairwise)
{
	static const char *const alpha[] = { "", "a", "b", "c", "d", "e", "f", "g", NULL };
	const char *k[40];
	unsigned seed = 12345;

	for (int round = 0; round < 2000; round++) {
		size_t n = (size_t)(rand_r(&seed) % 40), f1 = 0, s1 = 0, f2 = 0, s2 = 0;
		for (size_t i = 0; i < n; i++)
			k[i] = alpha[rand_r(&seed) % 9];
		bool a = pairwise(k, n, &f1, &s1), b = dups_first(k, n, &f2, &s2);
		CHECK(a == b);
		if (a && b && (f1 != f2 || s1 != s2)) {
			fprintf(stderr, "  round %d: pairwise %zu,%zu sorted %zu,%zu\n", round, f1, s1,
				f2, s2);
			CHECK(!"disagree");
			break;
		}
	}
}

/* 100,000 distinct MACs and a duplicate at the very end: one sort. */
TEST(large_list)
{
	size_t n = 100000, f, s;
	char (*macs)[18] = malloc(n * sizeof(*macs));
	const char **k = malloc(n * sizeof(*k));
	struct timespec t0, t1;

	for (size_t i = 0; i < n; i++) {
		snprintf(macs[i], sizeof(macs[i]), "00:16:3e:%02zx:%02zx:%02zx", (i >> 16) & 0xff,
			 (i >> 8) & 0xff, i & 0xff);
		k[i] = macs[i];
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(!dups_first(k, n, &f, &s));
	k[n - 1] = macs[7];
	CHECK(dups_first(k, n, &f, &s));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK_INT(f, 7);
	CHECK_INT(s, n - 1);
	fprintf(stderr, "  # two sorts of %zu keys: %.1f ms\n", n,
		(double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	free(k);
	free(macs);
}

int main(void)
{
	RUN(none);
	RUN(simple_pair);
	RUN(earliest_second);
	RUN(empty_and_null_take_no_part);
	RUN(agrees_with_pairwise);
	RUN(large_list);
	return harness_done();
}
