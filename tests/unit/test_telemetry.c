/* test_telemetry.c - the loop's counters: calls per method by name and by
 * row, buckets and quantiles, faults kept ascending and bounded, failed
 * logins newest first within the hour, eviction of the oldest pair, auth
 * failures per (family, user) bounded by "(other)". */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "agent/rpc/rpc.h"
#include "agent/server/telemetry.h"
#include "harness.h"

static const struct tm_method *row_of(struct telemetry *t, const char *name)
{
	const struct tm_method *m;
	size_t n = telemetry_methods(t, &m);

	for (size_t i = 0; i < n; i++)
		if (strcmp(m[i].name, name) == 0)
			return &m[i];
	return NULL;
}

TEST(methods_in_table_order_then_unknown)
{
	struct telemetry *t = telemetry_new();
	const struct tm_method *m;
	size_t n = telemetry_methods(t, &m), rows = 0;

	while (method_table[rows].name)
		rows++;
	CHECK_INT(n, rows + 1);
	CHECK(m[0].name == method_table[0].name);
	CHECK_STR(m[n - 1].name, "(unknown)");
	telemetry_call(t, "echo", 0, 10);
	telemetry_call(t, "echo", 1000, 10);
	telemetry_call(t, "no_such", 1, 10);
	telemetry_call(t, NULL, -32700, 10);
	telemetry_call_at(t, (size_t)(method_find("echo") - method_table), 0, 10);
	telemetry_call_at(t, 100000, 0, 10);
	CHECK_INT(row_of(t, "echo")->calls, 3);
	CHECK_INT(row_of(t, "echo")->faults, 1);
	CHECK_INT(row_of(t, "(unknown)")->calls, 3);
	CHECK_INT(row_of(t, "(unknown)")->faults, 2);
	for (size_t i = 0; i < n; i++)
		CHECK(m[i].faults <= m[i].calls);
	telemetry_call(NULL, "echo", 0, 1); /* no telemetry: nothing happens */
	telemetry_free(t);
}

TEST(buckets_and_quantiles)
{
	struct telemetry *t = telemetry_new();
	const struct tm_method *e;
	double p50, p99;

	telemetry_quantiles(t, &p50, &p99);
	CHECK(p50 == 0 && p99 == 0);
	/* A bound is inclusive (Prometheus' le): 1000 us is in the 1 ms bucket. */
	telemetry_call(t, "echo", 0, 1000);
	telemetry_call(t, "echo", 0, 1001);
	telemetry_call(t, "echo", 0, 7000000);
	e = row_of(t, "echo");
	CHECK_INT(e->bucket[0], 1);
	CHECK_INT(e->bucket[1], 1);
	CHECK_INT(e->bucket[TM_BUCKETS], 1);
	CHECK(e->sum_seconds > 7.0019 && e->sum_seconds < 7.0021);
	telemetry_free(t);

	/* 98 fast calls, 2 slow: p50 in the fastest bucket, p99 in the slow one. */
	t = telemetry_new();
	for (int i = 0; i < 98; i++)
		telemetry_call(t, "echo", 0, 500);
	telemetry_call(t, "echo", 0, 200000);
	telemetry_call(t, "echo", 0, 200000);
	telemetry_quantiles(t, &p50, &p99);
	CHECK(p50 == 1.0);
	CHECK(p99 == 250.0);
	/* Past the last bound: the longest call seen. */
	for (int i = 0; i < 300; i++)
		telemetry_call(t, "echo", 0, 9000000);
	telemetry_quantiles(t, &p50, &p99);
	CHECK(p50 == 9000.0 && p99 == 9000.0);
	telemetry_free(t);
}

TEST(faults_ascending_and_bounded)
{
	struct telemetry *t = telemetry_new();
	const struct tm_fault *f;
	size_t n;

	telemetry_call(t, "echo", 1003, 1);
	telemetry_call(t, "echo", -32601, 1);
	telemetry_call(t, "echo", 1000, 1);
	telemetry_call(t, "echo", 1003, 1);
	n = telemetry_faults(t, &f);
	CHECK_INT(n, 3);
	CHECK_INT(f[0].code, -32601);
	CHECK_INT(f[1].code, 1000);
	CHECK_INT(f[2].code, 1003);
	CHECK_INT(f[2].count, 2);
	/* 64 codes kept, then "other" (0) for the rest, still in order. */
	for (int c = 2000; c < 2100; c++)
		telemetry_call(t, "echo", c, 1);
	n = telemetry_faults(t, &f);
	CHECK_INT(n, 65);
	for (size_t i = 1; i < n; i++)
		CHECK(f[i - 1].code < f[i].code);
	{
		uint64_t total = 0, other = 0;
		for (size_t i = 0; i < n; i++) {
			total += f[i].count;
			if (f[i].code == 0)
				other = f[i].count;
		}
		CHECK_INT(total, 104);
		CHECK_INT(other, 100 - 61);
	}
	telemetry_free(t);
}

TEST(failed_logins_newest_first_in_the_hour)
{
	struct telemetry *t = telemetry_new();
	struct tm_login out[8];
	int64_t now = 1800000000; /* a multiple of 300: a step begins */
	size_t n;

	for (int i = 0; i < 10; i++)
		telemetry_auth_failure(t, "127.0.0.7", AF_INET, "admin", now);
	telemetry_auth_failure(t, "::1", AF_INET6, "", now + 10);
	n = telemetry_failed_logins(t, now + 20, out, 8);
	CHECK_INT(n, 2);
	CHECK_STR(out[0].addr, "::1");
	CHECK_STR(out[0].user, "");
	CHECK_INT(out[0].count, 1);
	CHECK_STR(out[1].addr, "127.0.0.7");
	CHECK_STR(out[1].user, "admin");
	CHECK_INT(out[1].count, 10);
	CHECK_INT(out[1].last_unix, now);
	/* max bounds the answer. */
	CHECK_INT(telemetry_failed_logins(t, now + 20, out, 1), 1);
	/* Half an hour later, one more for admin: 11, and newest again. */
	telemetry_auth_failure(t, "127.0.0.7", AF_INET, "admin", now + 1800);
	n = telemetry_failed_logins(t, now + 1800, out, 8);
	CHECK_INT(n, 2);
	CHECK_STR(out[0].user, "admin");
	CHECK_INT(out[0].count, 11);
	/* An hour after the first ten: only the later one is left of admin's,
	 * and ::1's is gone. */
	n = telemetry_failed_logins(t, now + 3600, out, 8);
	CHECK_INT(n, 1);
	CHECK_STR(out[0].user, "admin");
	CHECK_INT(out[0].count, 1);
	/* Within the last step of the hour the earlier ones still count. */
	n = telemetry_failed_logins(t, now + 3599, out, 8);
	CHECK_INT(n, 2);
	/* Two hours on: nothing. */
	CHECK_INT(telemetry_failed_logins(t, now + 1800 + 3600, out, 8), 0);
	/* A slot reused after a full turn starts from zero. */
	telemetry_auth_failure(t, "127.0.0.7", AF_INET, "admin", now + 3600 * 3);
	n = telemetry_failed_logins(t, now + 3600 * 3, out, 8);
	CHECK_INT(n, 1);
	CHECK_INT(out[0].count, 1);
	telemetry_free(t);
}

TEST(logins_evict_the_oldest_pair)
{
	struct telemetry *t = telemetry_new();
	static struct tm_login out[300];
	int64_t now = 1800000000;
	char user[16];
	size_t n;

	for (int i = 0; i < 300; i++) {
		snprintf(user, sizeof(user), "u%d", i);
		telemetry_auth_failure(t, "10.0.0.1", AF_INET, user, now + i);
	}
	/* u0 again after it was evicted: a new pair, counted from 1. */
	n = telemetry_failed_logins(t, now + 300, out, 300);
	CHECK_INT(n, 256);
	CHECK_STR(out[0].user, "u299");
	CHECK_STR(out[255].user, "u44");
	telemetry_auth_failure(t, "10.0.0.1", AF_INET, "u0", now + 301);
	n = telemetry_failed_logins(t, now + 301, out, 300);
	CHECK_INT(n, 256);
	CHECK_STR(out[0].user, "u0");
	CHECK_INT(out[0].count, 1);
	CHECK_STR(out[255].user, "u45");
	/* A pair found again moves to the front and keeps its count. */
	telemetry_auth_failure(t, "10.0.0.1", AF_INET, "u100", now + 302);
	n = telemetry_failed_logins(t, now + 302, out, 300);
	CHECK_STR(out[0].user, "u100");
	CHECK_INT(out[0].count, 2);
	CHECK_STR(out[1].user, "u0");
	telemetry_free(t);
}

TEST(auth_failures_per_family_and_user_bounded)
{
	struct telemetry *t = telemetry_new();
	const struct tm_authfail *a;
	char user[16];
	size_t n;

	telemetry_auth_failure(t, "127.0.0.7", AF_INET, "admin", 1);
	telemetry_auth_failure(t, "127.0.0.8", AF_INET, "admin", 2);
	telemetry_auth_failure(t, "::1", AF_INET6, "admin", 3);
	n = telemetry_auth_failures(t, &a);
	CHECK_INT(n, 2);
	CHECK_STR(a[0].family, "ipv4");
	CHECK_STR(a[0].user, "admin");
	CHECK_INT(a[0].count, 2);
	CHECK_STR(a[1].family, "ipv6");
	CHECK_INT(a[1].count, 1);
	/* 256 pairs kept, then "(other)" per family, ipv4's first. */
	telemetry_auth_failure(t, "::1", AF_INET6, "x", 4); /* fill before the v4 ones */
	for (int i = 0; i < 300; i++) {
		snprintf(user, sizeof(user), "u%d", i);
		telemetry_auth_failure(t, "10.0.0.1", AF_INET, user, 5);
	}
	telemetry_auth_failure(t, "::1", AF_INET6, "y", 6);
	n = telemetry_auth_failures(t, &a);
	CHECK_INT(n, 258);
	CHECK_STR(a[256].family, "ipv4");
	CHECK_STR(a[256].user, "(other)");
	CHECK_INT(a[256].count, 300 - 253);
	CHECK_STR(a[257].family, "ipv6");
	CHECK_STR(a[257].user, "(other)");
	CHECK_INT(a[257].count, 1);
	telemetry_free(t);
}

int main(void)
{
	RUN(methods_in_table_order_then_unknown);
	RUN(buckets_and_quantiles);
	RUN(faults_ascending_and_bounded);
	RUN(failed_logins_newest_first_in_the_hour);
	RUN(logins_evict_the_oldest_pair);
	RUN(auth_failures_per_family_and_user_bounded);
	return harness_done();
}
