/* pool.c - the server pool's keys in the store (pool.h). */
#include "db/pool.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/base/util.h"
#include "db/store.h"

static const char *const role_names[] = { "site", "utility", "xen" };
#define NROLES (sizeof(role_names) / sizeof(role_names[0]))

int pool_roles_parse(const char *s, unsigned *roles, char *err, size_t errlen)
{
	*roles = 0;
	if (!s) {
		snprintf(err, errlen, "no role given (site, utility or xen)");
		return -1;
	}
	while (*s) {
		const char *end = strchr(s, ',');
		size_t n = end ? (size_t)(end - s) : strlen(s);
		size_t a = 0, b = n;
		unsigned bit = 0;

		while (a < b && isspace((unsigned char)s[a]))
			a++;
		while (b > a && isspace((unsigned char)s[b - 1]))
			b--;
		for (size_t i = 0; i < NROLES; i++)
			if (b - a == strlen(role_names[i]) && strncmp(s + a, role_names[i], b - a) == 0)
				bit = 1u << i;
		if (!bit || (*roles & bit)) {
			snprintf(err, errlen, "'%.*s' %s (roles are site, utility and xen, each once)",
				 (int)(b - a > 40 ? 40 : b - a), s + a,
				 bit ? "is given twice" : "is not a role");
			return -1;
		}
		*roles |= bit;
		s += end ? n + 1 : n;
		if (end && !*s) {
			snprintf(err, errlen, "the role list ends with a comma");
			return -1;
		}
	}
	if (!*roles) {
		snprintf(err, errlen, "no role given (site, utility or xen)");
		return -1;
	}
	return 0;
}

void pool_roles_format(unsigned roles, char out[POOL_ROLES_TEXT_MAX])
{
	out[0] = '\0';
	for (size_t i = 0; i < NROLES; i++)
		if (roles & (1u << i)) {
			if (out[0])
				strcat(out, ",");
			strcat(out, role_names[i]);
		}
}

int pool_ip_canon(const char *s, char out[POOL_IP_MAX])
{
	struct in6_addr a6;
	struct in_addr a4;

	if (!s)
		return -1;
	if (inet_pton(AF_INET, s, &a4) == 1)
		return inet_ntop(AF_INET, &a4, out, POOL_IP_MAX) ? 0 : -1;
	if (inet_pton(AF_INET6, s, &a6) == 1)
		return inet_ntop(AF_INET6, &a6, out, POOL_IP_MAX) ? 0 : -1;
	return -1;
}

/* ---- members ------------------------------------------------------------------ */

static const char *const pool_tables[] = { POOL_TABLE, POOL_HA_TABLE, NULL };

static char *key_of(const char *prefix, const char *ip)
{
	return xasprintf("%s.%s", prefix, ip);
}

/* A member from its two values (views, not NUL-terminated). The record is
 * one line, "port=N tls=0|1 registered=N sha256=HEX", so db_dump pool
 * stays one line per key; a field it does not know is skipped. */
static void member_from(struct pool_member *m, const char *ip, size_t iplen, const char *roles,
			size_t rlen, const char *rec, size_t reclen)
{
	char text[POOL_ROLES_TEXT_MAX + 8], e[80];
	const char *p = rec, *end = rec ? rec + reclen : NULL;

	memset(m, 0, sizeof(*m));
	snprintf(m->ip, sizeof(m->ip), "%.*s", (int)iplen, ip);
	snprintf(text, sizeof(text), "%.*s", (int)(rlen < sizeof(text) ? rlen : 0), roles);
	if (pool_roles_parse(text, &m->roles, e, sizeof(e)) < 0)
		m->roles = 0;   /* a hand-edited value: shown as no role */
	while (p && p < end) {
		const char *sp = memchr(p, ' ', (size_t)(end - p)), *eq;
		size_t n = sp ? (size_t)(sp - p) : (size_t)(end - p);
		char val[POOL_FP_HEX + 1];

		eq = memchr(p, '=', n);
		if (eq && (size_t)(p + n - eq - 1) < sizeof(val)) {
			size_t klen = (size_t)(eq - p);

			snprintf(val, sizeof(val), "%.*s", (int)(p + n - eq - 1), eq + 1);
			if (klen == 4 && memcmp(p, "port", 4) == 0)
				m->port = atoi(val);
			else if (klen == 3 && memcmp(p, "tls", 3) == 0)
				m->tls = atoi(val) != 0;
			else if (klen == 10 && memcmp(p, "registered", 10) == 0)
				m->registered = atoll(val);
			else if (klen == 6 && memcmp(p, "sha256", 6) == 0 && strlen(val) == POOL_FP_HEX)
				memcpy(m->sha256, val, sizeof(val));
		}
		p += n + 1;
	}
}

int pool_member_get(struct store *s, const char *ip, struct pool_member *m, char *err,
		    size_t errlen)
{
	struct store_txn *t = store_txn_begin(s, false, pool_tables, err, errlen);
	char *sk = key_of("server", ip), *mk = key_of("member", ip);
	const char *rv = NULL, *mv = NULL;
	size_t rl = 0, ml = 0;
	int r = -1;

	if (!t)
		goto out;
	r = store_txn_get(t, POOL_TABLE, sk, &rv, &rl, err, errlen);
	if (r == 1 && store_txn_get(t, POOL_TABLE, mk, &mv, &ml, err, errlen) < 0)
		r = -1;
	if (r == 1)
		member_from(m, ip, strlen(ip), rv, rl, mv, ml);
	store_txn_abort(t);
out:
	free(sk);
	free(mk);
	return r;
}

/* Both keys of m, in t. 0 or -1 with err. */
static int txn_put_member(struct store_txn *t, const struct pool_member *m, char *err,
			  size_t errlen)
{
	char *sk = key_of("server", m->ip), *mk = key_of("member", m->ip);
	char *rec = xasprintf("port=%d tls=%d registered=%lld sha256=%s", m->port, m->tls ? 1 : 0,
			      m->registered, m->sha256);
	char roles[POOL_ROLES_TEXT_MAX];
	int rc;

	pool_roles_format(m->roles, roles);
	rc = store_txn_put(t, POOL_TABLE, sk, roles, strlen(roles), err, errlen) < 0 ||
	     store_txn_put(t, POOL_TABLE, mk, rec, strlen(rec), err, errlen) < 0 ? -1 : 0;
	free(rec);
	free(sk);
	free(mk);
	return rc;
}

/* Both keys of ip, in t. 1 removed, 0 absent, -1 with err. */
static int txn_del_member(struct store_txn *t, const char *ip, char *err, size_t errlen)
{
	char *sk = key_of("server", ip), *mk = key_of("member", ip);
	int r = store_txn_del(t, POOL_TABLE, sk, err, errlen);

	if (r >= 0 && store_txn_del(t, POOL_TABLE, mk, err, errlen) < 0)
		r = -1;
	free(sk);
	free(mk);
	return r;
}

int pool_member_put(struct store *s, const struct pool_member *m, char *err, size_t errlen)
{
	struct store_txn *t = store_txn_begin(s, true, pool_tables, err, errlen);

	if (!t)
		return -1;
	if (txn_put_member(t, m, err, errlen) < 0) {
		store_txn_abort(t);
		return -1;
	}
	return store_txn_commit(t, err, errlen);
}

int pool_member_del(struct store *s, const char *ip, char *err, size_t errlen)
{
	struct store_txn *t = store_txn_begin(s, true, pool_tables, err, errlen);
	int r;

	if (!t)
		return -1;
	r = txn_del_member(t, ip, err, errlen);
	if (r < 0)
		store_txn_abort(t);
	else if (store_txn_commit(t, err, errlen) < 0)
		r = -1;
	return r;
}

/* A stored sequence number (0 when absent or damaged: the next push then
 * starts it again). */
static long long seq_of(const char *v, size_t len)
{
	char text[24], *end;
	long long x;

	if (!v || !len || len >= sizeof(text))
		return 0;
	memcpy(text, v, len);
	text[len] = '\0';
	x = strtoll(text, &end, 10);
	return *end || x < 0 ? 0 : x;
}

static long long txn_seq(struct store_txn *t, const char *key, char *err, size_t errlen)
{
	const char *v = NULL;
	size_t len = 0;
	int r = store_txn_get(t, POOL_TABLE, key, &v, &len, err, errlen);

	return r < 0 ? -1 : r == 1 ? seq_of(v, len) : 0;
}

static int txn_put_seq(struct store_txn *t, const char *key, long long seq, char *err,
		       size_t errlen)
{
	char text[24];
	int n = snprintf(text, sizeof(text), "%lld", seq);

	return store_txn_put(t, POOL_TABLE, key, text, (size_t)n, err, errlen);
}

long long pool_sync_seq_next(struct store *s, char *err, size_t errlen)
{
	struct store_txn *t = store_txn_begin(s, true, pool_tables, err, errlen);
	long long seq, synced;

	if (!t)
		return -1;
	/* A member elected master goes on from the last number it applied:
	 * the other members hold that one too, and would take a smaller
	 * number for an old push. */
	if ((seq = txn_seq(t, POOL_SYNC_SEQ, err, errlen)) < 0 ||
	    (synced = txn_seq(t, POOL_SYNCED_SEQ, err, errlen)) < 0 ||
	    txn_put_seq(t, POOL_SYNC_SEQ, seq = (synced > seq ? synced : seq) + 1, err,
			errlen) < 0) {
		store_txn_abort(t);
		return -1;
	}
	return store_txn_commit(t, err, errlen) < 0 ? -1 : seq;
}

int pool_members_sync(struct store *s, const struct pool_member *v, size_t n, long long seq,
		      long long *have, char *err, size_t errlen)
{
	struct pool_member *old = NULL;
	struct store_txn *t;
	size_t nold = 0;
	int rc = -1;

	*have = 0;
	/* The master is the only writer of the table: reading it first is
	 * no race. */
	if (pool_members(s, &old, &nold, err, errlen) < 0)
		return -1;
	t = store_txn_begin(s, true, pool_tables, err, errlen);
	if (!t)
		goto out;
	if (seq && (*have = txn_seq(t, POOL_SYNCED_SEQ, err, errlen)) < 0)
		goto abort;
	if (seq && seq <= *have) {
		store_txn_abort(t);
		rc = 0;
		goto out;
	}
	for (size_t i = 0; i < nold; i++)
		if (txn_del_member(t, old[i].ip, err, errlen) < 0)
			goto abort;
	for (size_t i = 0; i < n; i++)
		if (txn_put_member(t, &v[i], err, errlen) < 0)
			goto abort;
	if (seq && txn_put_seq(t, POOL_SYNCED_SEQ, seq, err, errlen) < 0)
		goto abort;
	rc = store_txn_commit(t, err, errlen) < 0 ? -1 : 1;
	goto out;
abort:
	store_txn_abort(t);
out:
	free(old);
	return rc;
}

int pool_members_replace(struct store *s, const struct pool_member *v, size_t n, char *err,
			 size_t errlen)
{
	long long have;

	return pool_members_sync(s, v, n, 0, &have, err, errlen) < 0 ? -1 : 0;
}

struct collect {
	struct store_txn *t;
	struct pool_member *v;
	size_t n, cap;
	char *err;
	size_t errlen;
	int failed;
};

static int collect_one(const char *key, size_t klen, const char *val, size_t vlen, void *arg)
{
	struct collect *c = arg;
	const char *ip = key + 7, *mv = NULL;
	size_t iplen = klen - 7, ml = 0;
	char *mk;

	if (klen <= 7 || memcmp(key, "server.", 7) != 0 || iplen >= POOL_IP_MAX)
		return 0;
	mk = xasprintf("member.%.*s", (int)iplen, ip);
	if (store_txn_get(c->t, POOL_TABLE, mk, &mv, &ml, c->err, c->errlen) < 0) {
		free(mk);
		c->failed = 1;
		return 1;
	}
	free(mk);
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 8;
		c->v = xrealloc(c->v, c->cap * sizeof(*c->v));
	}
	member_from(&c->v[c->n++], ip, iplen, val, vlen, mv, ml);
	return 0;
}

int pool_members(struct store *s, struct pool_member **out, size_t *n, char *err,
		 size_t errlen)
{
	struct collect c = { .err = err, .errlen = errlen };

	*out = NULL;
	*n = 0;
	c.t = store_txn_begin(s, false, pool_tables, err, errlen);
	if (!c.t)
		return -1;
	if (store_txn_each(c.t, POOL_TABLE, collect_one, &c, err, errlen) < 0)
		c.failed = 1;
	store_txn_abort(c.t);
	if (c.failed) {
		free(c.v);
		return -1;
	}
	*out = c.v;
	*n = c.n;
	return 0;
}

/* ---- master and credential ---------------------------------------------------- */

static int get_text(struct store *s, const char *key, char *out, size_t outlen, char *err,
		    size_t errlen)
{
	char *v = NULL;
	int r = store_get(s, POOL_TABLE, key, &v, err, errlen);

	if (r == 1) {
		r = v[0] && strlen(v) < outlen ? 1 : 0;
		snprintf(out, outlen, "%s", r ? v : "");
		free(v);
	}
	return r;
}

int pool_master_get(struct store *s, char ip[POOL_IP_MAX], char *err, size_t errlen)
{
	return get_text(s, "master_ip", ip, POOL_IP_MAX, err, errlen);
}

int pool_secret_get(struct store *s, char secret[POOL_SECRET_HEX + 1], char *err,
		    size_t errlen)
{
	return get_text(s, "credential", secret, POOL_SECRET_HEX + 1, err, errlen);
}

int pool_self_get(struct store *s, char ip[POOL_IP_MAX], char *err, size_t errlen)
{
	return get_text(s, "self_ip", ip, POOL_IP_MAX, err, errlen);
}

int pool_join(struct store *s, const char *master_ip, const char *self_ip, const char *secret,
	      char *err, size_t errlen)
{
	struct store_txn *t = store_txn_begin(s, true, pool_tables, err, errlen);

	if (!t)
		return -1;
	if (store_txn_put(t, POOL_TABLE, "master_ip", master_ip, strlen(master_ip), err,
			  errlen) < 0 ||
	    store_txn_put(t, POOL_TABLE, "self_ip", self_ip, strlen(self_ip), err, errlen) < 0 ||
	    store_txn_put(t, POOL_TABLE, "credential", secret, strlen(secret), err, errlen) < 0) {
		store_txn_abort(t);
		return -1;
	}
	return store_txn_commit(t, err, errlen);
}

int pool_leave(struct store *s, char *err, size_t errlen)
{
	struct store_txn *t = store_txn_begin(s, true, pool_tables, err, errlen);

	if (!t)
		return -1;
	if (store_txn_clear(t, POOL_TABLE, err, errlen) < 0 ||
	    store_txn_clear(t, POOL_HA_TABLE, err, errlen) < 0) {
		store_txn_abort(t);
		return -1;
	}
	return store_txn_commit(t, err, errlen);
}

int pool_master_set(struct store *s, const char *ip, char *err, size_t errlen)
{
	return store_put(s, POOL_TABLE, "master_ip", ip, err, errlen);
}

int pool_ha_state_get(struct store *s, char **text, char *err, size_t errlen)
{
	return store_get(s, POOL_HA_TABLE, "state", text, err, errlen);
}

int pool_ha_state_put(struct store *s, const char *text, char *err, size_t errlen)
{
	return store_put(s, POOL_HA_TABLE, "state", text, err, errlen);
}
