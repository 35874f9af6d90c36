/* telemetry.c - counters of calls, faults and failed logins (telemetry.h).
 *
 * Every table is sized when made and never grows: methods by the method
 * table (plus "(unknown)"), fault codes to 64, login pairs to 256 (an LRU
 * list, so the oldest goes when full and readers get newest first),
 * (family, user) pairs to 256. Lookups are hashed. */
#include "agent/server/telemetry.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "agent/base/util.h"
#include "agent/rpc/rpc.h"

#define FAULT_CODES 64
#define LOGIN_PAIRS 256
#define LOGIN_HASH 512          /* power of two */
#define LOGIN_STEP_S 300        /* the hour is 12 steps of 5 minutes */
#define LOGIN_STEPS 12
#define AUTHFAIL_PAIRS 256
#define AUTHFAIL_HASH 1024      /* power of two, open addressing, no deletes */

const double telemetry_bucket_le[TM_BUCKETS] = {
	.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5,
};
/* The same bounds in microseconds, to place a call without floating point. */
static const int64_t bucket_le_us[TM_BUCKETS] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000,
};

struct login {
	char addr[46];
	char user[65];
	int16_t newer, older;           /* LRU list by last failure */
	int16_t hnext;                  /* hash chain */
	int64_t last_unix;
	int32_t step[LOGIN_STEPS];      /* which 5-minute step each counter is of */
	uint32_t count[LOGIN_STEPS];
};

struct authfail_row {
	char user[65];
	int family;                     /* AF_INET or AF_INET6 */
};

struct telemetry {
	/* methods */
	size_t nmethods;                /* the table's rows; [nmethods] is "(unknown)" */
	struct tm_method *methods;
	uint32_t *mhash;                /* row + 1, 0 empty */
	size_t mhash_mask;
	uint64_t total[TM_BUCKETS + 1];
	uint64_t ncalls;
	int64_t max_us;
	/* faults, ascending by code */
	struct tm_fault faults[FAULT_CODES + 1];
	size_t nfaults;
	/* failed logins in the last hour */
	struct login logins[LOGIN_PAIRS];
	int16_t lhash[LOGIN_HASH];
	int16_t newest, oldest, nfree_next;
	/* auth failures since start: rows, then "(other)" for each family */
	struct tm_authfail af[AUTHFAIL_PAIRS + 2];
	struct authfail_row afrow[AUTHFAIL_PAIRS];
	uint16_t afhash[AUTHFAIL_HASH]; /* row + 1, 0 empty */
	size_t naf;
	bool af_other[2];               /* the "(other)" rows are in af[] */
};

static uint32_t fnv(uint32_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

struct telemetry *telemetry_new(void)
{
	struct telemetry *t = xcalloc(1, sizeof(*t));
	size_t n = 0, size = 16;

	while (method_table[n].name)
		n++;
	t->nmethods = n;
	t->methods = xcalloc(n + 1, sizeof(*t->methods));
	for (size_t i = 0; i < n; i++)
		t->methods[i].name = method_table[i].name;
	t->methods[n].name = "(unknown)";
	while (size < 2 * n)
		size *= 2;
	t->mhash = xcalloc(size, sizeof(*t->mhash));
	t->mhash_mask = size - 1;
	for (size_t i = 0; i < n; i++) {
		size_t h = fnv(2166136261u, method_table[i].name) & t->mhash_mask;
		while (t->mhash[h])
			h = (h + 1) & t->mhash_mask;
		t->mhash[h] = (uint32_t)i + 1;
	}
	for (size_t i = 0; i < LOGIN_HASH; i++)
		t->lhash[i] = -1;
	t->newest = t->oldest = -1;
	return t;
}

void telemetry_free(struct telemetry *t)
{
	if (!t)
		return;
	free(t->methods);
	free(t->mhash);
	free(t);
}

/* ---- calls -------------------------------------------------------------- */

/* Where code is, or would go, in the ascending fault rows. */
static size_t fault_pos(const struct telemetry *t, int code)
{
	size_t lo = 0, hi = t->nfaults;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (t->faults[mid].code < code)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void count_fault(struct telemetry *t, int code)
{
	size_t at = fault_pos(t, code);

	if (at >= t->nfaults || t->faults[at].code != code) {
		/* 64 codes kept, then one more row: "other" (code 0, which no
		 * fault has: 0 is success). */
		if (t->nfaults >= FAULT_CODES) {
			code = 0;
			at = fault_pos(t, 0);
		}
		if (at >= t->nfaults || t->faults[at].code != code) {
			memmove(&t->faults[at + 1], &t->faults[at],
				(t->nfaults - at) * sizeof(t->faults[0]));
			t->faults[at] = (struct tm_fault){ code, 0 };
			t->nfaults++;
		}
	}
	t->faults[at].count++;
}

void telemetry_call_at(struct telemetry *t, size_t index, int fault, int64_t usec)
{
	struct tm_method *m;
	size_t b = 0;

	if (!t)
		return;
	m = &t->methods[index < t->nmethods ? index : t->nmethods];
	if (usec < 0)
		usec = 0;
	while (b < TM_BUCKETS && usec > bucket_le_us[b])
		b++;
	m->calls++;
	m->bucket[b]++;
	m->sum_seconds += (double)usec / 1e6;
	t->total[b]++;
	t->ncalls++;
	if (usec > t->max_us)
		t->max_us = usec;
	if (fault) {
		m->faults++;
		count_fault(t, fault);
	}
}

void telemetry_call(struct telemetry *t, const char *method, int fault, int64_t usec)
{
	size_t index = SIZE_MAX;

	if (!t)
		return;
	if (method) {
		size_t h = fnv(2166136261u, method) & t->mhash_mask;
		for (; t->mhash[h]; h = (h + 1) & t->mhash_mask)
			if (strcmp(t->methods[t->mhash[h] - 1].name, method) == 0) {
				index = t->mhash[h] - 1;
				break;
			}
	}
	telemetry_call_at(t, index, fault, usec);
}

size_t telemetry_methods(const struct telemetry *t, const struct tm_method **out)
{
	*out = t->methods;
	return t->nmethods + 1;
}

size_t telemetry_faults(const struct telemetry *t, const struct tm_fault **out)
{
	*out = t->faults;
	return t->nfaults;
}

static double quantile_ms(const struct telemetry *t, double q)
{
	uint64_t rank = (uint64_t)((double)t->ncalls * q + 0.999999), seen = 0;

	if (rank == 0)
		rank = 1;
	for (size_t b = 0; b < TM_BUCKETS; b++) {
		seen += t->total[b];
		if (seen >= rank)
			return telemetry_bucket_le[b] * 1000.0;
	}
	return (double)t->max_us / 1000.0;
}

void telemetry_quantiles(const struct telemetry *t, double *p50_ms, double *p99_ms)
{
	*p50_ms = t->ncalls ? quantile_ms(t, 0.50) : 0;
	*p99_ms = t->ncalls ? quantile_ms(t, 0.99) : 0;
}

/* ---- failed logins, the last hour --------------------------------------- */

static uint32_t login_hash(const char *addr, const char *user)
{
	return fnv(fnv(2166136261u, addr) * 16777619u, user) & (LOGIN_HASH - 1);
}

static void lru_unlink(struct telemetry *t, int16_t i)
{
	struct login *l = &t->logins[i];

	if (l->newer >= 0)
		t->logins[l->newer].older = l->older;
	else
		t->newest = l->older;
	if (l->older >= 0)
		t->logins[l->older].newer = l->newer;
	else
		t->oldest = l->newer;
}

static void lru_push_newest(struct telemetry *t, int16_t i)
{
	struct login *l = &t->logins[i];

	l->newer = -1;
	l->older = t->newest;
	if (t->newest >= 0)
		t->logins[t->newest].newer = i;
	t->newest = i;
	if (t->oldest < 0)
		t->oldest = i;
}

static void hash_remove(struct telemetry *t, int16_t i)
{
	int16_t *p = &t->lhash[login_hash(t->logins[i].addr, t->logins[i].user)];

	while (*p >= 0 && *p != i)
		p = &t->logins[*p].hnext;
	if (*p == i)
		*p = t->logins[i].hnext;
}

static uint32_t login_count(const struct login *l, int64_t now_unix)
{
	int32_t step = (int32_t)(now_unix / LOGIN_STEP_S);
	uint32_t n = 0;

	for (int s = 0; s < LOGIN_STEPS; s++)
		if (l->count[s] && step - l->step[s] >= 0 && step - l->step[s] < LOGIN_STEPS)
			n += l->count[s];
	return n;
}

static void count_login(struct telemetry *t, const char *addr, const char *user, int64_t now)
{
	uint32_t h = login_hash(addr, user);
	int32_t step = (int32_t)(now / LOGIN_STEP_S);
	int16_t i;
	struct login *l;

	for (i = t->lhash[h]; i >= 0; i = t->logins[i].hnext)
		if (strcmp(t->logins[i].addr, addr) == 0 && strcmp(t->logins[i].user, user) == 0)
			break;
	if (i >= 0) {
		lru_unlink(t, i);
	} else {
		if (t->nfree_next < LOGIN_PAIRS) {
			i = t->nfree_next++;
		} else {
			i = t->oldest;
			lru_unlink(t, i);
			hash_remove(t, i);
		}
		l = &t->logins[i];
		memset(l, 0, sizeof(*l));
		snprintf(l->addr, sizeof(l->addr), "%s", addr);
		snprintf(l->user, sizeof(l->user), "%s", user);
		l->hnext = t->lhash[h];
		t->lhash[h] = i;
	}
	l = &t->logins[i];
	lru_push_newest(t, i);
	l->last_unix = now;
	if (l->step[step % LOGIN_STEPS] != step || !l->count[step % LOGIN_STEPS]) {
		l->step[step % LOGIN_STEPS] = step;
		l->count[step % LOGIN_STEPS] = 0;
	}
	l->count[step % LOGIN_STEPS]++;
}

size_t telemetry_failed_logins(const struct telemetry *t, int64_t now_unix,
			       struct tm_login *out, size_t max)
{
	size_t n = 0;

	for (int16_t i = t->newest; i >= 0 && n < max; i = t->logins[i].older) {
		const struct login *l = &t->logins[i];
		uint32_t c;
		if (now_unix - l->last_unix >= LOGIN_STEPS * LOGIN_STEP_S)
			break; /* every older pair is older still */
		if (!(c = login_count(l, now_unix)))
			continue;
		memcpy(out[n].addr, l->addr, sizeof(out[n].addr));
		memcpy(out[n].user, l->user, sizeof(out[n].user));
		out[n].count = c;
		out[n].last_unix = l->last_unix;
		n++;
	}
	return n;
}

/* ---- auth failures since start, per (family, user) ---------------------- */

static void count_authfail(struct telemetry *t, int family, const char *user)
{
	size_t h = fnv(family == AF_INET6 ? 6u : 4u, user) & (AUTHFAIL_HASH - 1);
	int fi = family == AF_INET6;

	for (; t->afhash[h]; h = (h + 1) & (AUTHFAIL_HASH - 1)) {
		size_t r = t->afhash[h] - 1;
		if (t->afrow[r].family == family && strcmp(t->afrow[r].user, user) == 0) {
			t->af[r].count++;
			return;
		}
	}
	if (t->naf < AUTHFAIL_PAIRS) {
		size_t r = t->naf++;
		snprintf(t->afrow[r].user, sizeof(t->afrow[r].user), "%s", user);
		t->afrow[r].family = family;
		t->af[r] = (struct tm_authfail){ fi ? "ipv6" : "ipv4", t->afrow[r].user, 1 };
		t->afhash[h] = (uint16_t)(r + 1);
		return;
	}
	/* Full (naf stays AUTHFAIL_PAIRS from now on): "(other)", one row
	 * per family after the named rows, ipv4 first. */
	{
		size_t slot = t->naf + (fi ? t->af_other[0] : 0);
		if (!t->af_other[fi]) {
			if (!fi && t->af_other[1])
				t->af[t->naf + 1] = t->af[t->naf];
			t->af[slot] = (struct tm_authfail){ fi ? "ipv6" : "ipv4", "(other)", 0 };
			t->af_other[fi] = true;
		}
		t->af[slot].count++;
	}
}

size_t telemetry_auth_failures(const struct telemetry *t, const struct tm_authfail **out)
{
	*out = t->af;
	return t->naf + t->af_other[0] + t->af_other[1];
}

void telemetry_auth_failure(struct telemetry *t, const char *addr, int family,
			    const char *user, int64_t now_unix)
{
	if (!t)
		return;
	if (!user)
		user = "";
	count_login(t, addr ? addr : "", user, now_unix);
	count_authfail(t, family, user);
}
