/* harness.h - a tiny unit test harness (after OpenSSH's test_helper).
 *
 *   TEST(name) { CHECK(x == 1); CHECK_STR(a, "b"); }
 *   int main(void) { RUN(name); ...; return harness_done(); }
 *
 * Each test prints one TAP-style line, "ok - file:name" or
 * "not ok - file:name", which tests/run.sh counts. */
#ifndef OVS_HARNESS_H
#define OVS_HARNESS_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

static int harness_failed_now, harness_pass, harness_fail;

#define TEST(name) static void test_##name(void)
#define CHECK(cond) do { if (!(cond)) { \
	fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
	harness_failed_now = 1; } } while (0)
#define CHECK_STR(a, b) do { const char *a_ = (a), *b_ = (b); \
	if (!a_ || !b_ || strcmp(a_, b_) != 0) { \
	fprintf(stderr, "  %s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__, \
		a_ ? a_ : "(null)", b_ ? b_ : "(null)"); harness_failed_now = 1; } } while (0)
#define CHECK_INT(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
	if (a_ != b_) { fprintf(stderr, "  %s:%d: %s == %lld, expected %lld\n", \
		__FILE__, __LINE__, #a, a_, b_); harness_failed_now = 1; } } while (0)
#define RUN(name) do { harness_failed_now = 0; test_##name(); \
	printf("%s - %s:%s\n", harness_failed_now ? "not ok" : "ok", __FILE__, #name); \
	if (harness_failed_now) harness_fail++; else harness_pass++; } while (0)

/* Gone, or a zombie waiting for a reaper that is not us: for tests that
 * check a process they did not start is no longer running. */
static inline bool pid_gone(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return true;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 'Z';
}

static inline int harness_done(void)
{
	fflush(stdout);
	return harness_fail ? 1 : 0;
}

#endif
