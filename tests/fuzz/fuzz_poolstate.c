/* fuzz_poolstate.c - libFuzzer target for agent/cluster/poolstate.c and
 * poolrepl.c: the pool state messages other cluster members send.
 *
 *   1. applied as an op message to a state decoded from a small fixed
 *      snapshot: -1 leaves the state byte for byte as it was; otherwise
 *      a second copy given the same message ends with the same bytes
 *      (apply is deterministic), and the state keeps its invariants
 *      (guests sorted and unique, at most PS_GUESTS_MAX, owners and
 *      preferred servers canonical, its snapshot within PS_SNAP_MAX and
 *      bytes its guest lines' size) and its snapshot decodes back to it;
 *   2. decoded as a snapshot: what decodes keeps the invariants and
 *      re-encodes to bytes that decode to the same state;
 *   3. delivered to two poolrepl copies (nodes 1 and 2 of one view, each
 *      from its own fixed state) in the middle of their snapshot
 *      exchange, and again after it, everything in one agreed order:
 *      copies that end synced hold the same bytes.
 *
 * abort() marks a broken invariant; the sanitizers catch the rest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/base/buf.h"
#include "agent/cluster/poolrepl.h"
#include "agent/cluster/poolstate.h"

static const char SNAP1[] =
	"OVSP1 SNAP\nSTATE 5 2 10.0.0.1 1\n"
	"G /OVS/running_pool/a 1 0 1 10.0.0.2 3 -\n"
	"G /OVS/running_pool/b%20c 0 1 0 - 1 10.0.0.2,fe80::1\n"
	"G /OVS/running_pool/z 1 1 1 10.0.0.3 9 10.0.0.3\n";
static const char SNAP2[] =
	"OVSP1 SNAP\nSTATE 7 2 10.0.0.1 1\n"
	"G /OVS/running_pool/a 1 0 1 10.0.0.3 4 -\n";

static void need(int ok)
{
	if (!ok)
		abort();
}

static int canon_ip(const char *ip)
{
	char c[POOL_IP_MAX];

	if (!memchr(ip, '\0', POOL_IP_MAX))
		return 0;
	return pool_ip_canon(ip, c) == 0 && strcmp(c, ip) == 0;
}

static char *encode(const struct poolstate *s, size_t *len);

static void check(const struct poolstate *s)
{
	size_t len;
	char *all = encode(s, &len), *nl;

	/* bytes counts the guest lines: all of the snapshot after STATE's */
	nl = memchr(all, '\n', len);
	nl = nl ? memchr(nl + 1, '\n', len - (size_t)(nl + 1 - all)) : NULL;
	need(nl && s->bytes == len - (size_t)(nl + 1 - all) && len <= PS_SNAP_MAX);
	free(all);
	need(s->n <= PS_GUESTS_MAX && s->n <= s->cap);
	need(!s->master[0] || canon_ip(s->master));
	for (size_t i = 0; i < s->n; i++) {
		const struct ps_guest *g = s->g[i];

		need(g->path && g->path[0] == '/' && strlen(g->path) < PS_PATH_MAX);
		need(!strstr(g->path, "/../"));
		need(i == 0 || strcmp(s->g[i - 1]->path, g->path) < 0);
		need(!g->owner[0] || canon_ip(g->owner));
		need(g->npref <= PS_PREF_MAX);
		for (size_t k = 0; k < g->npref; k++) {
			need(canon_ip(g->pref[k]));
			for (size_t j = 0; j < k; j++)
				need(strcmp(g->pref[j], g->pref[k]) != 0);
		}
		need(poolstate_find(s, g->path) == g);
	}
}

static char *encode(const struct poolstate *s, size_t *len)
{
	struct buf b;

	buf_init(&b, 0);
	poolstate_encode(s, &b);
	return buf_steal(&b, len);
}

/* s's snapshot decodes, and to a state that encodes the same. */
static void round_trip(const struct poolstate *s)
{
	struct poolstate t;
	char err[256], *a, *b;
	size_t alen, blen;

	a = encode(s, &alen);
	need(alen <= PS_SNAP_MAX);
	need(poolstate_decode(&t, a, alen, err, sizeof(err)) == 0);
	check(&t);
	b = encode(&t, &blen);
	need(alen == blen && memcmp(a, b, alen) == 0);
	free(a);
	free(b);
	poolstate_free(&t);
}

static void fixed(struct poolstate *s, const char *snap)
{
	char err[256];

	need(poolstate_decode(s, snap, strlen(snap), err, sizeof(err)) == 0);
}

static void fuzz_apply(const uint8_t *data, size_t size)
{
	struct poolstate s, t;
	char err[256], *before, *after, *other;
	size_t blen, alen, olen;
	int r;

	fixed(&s, SNAP1);
	fixed(&t, SNAP1);
	before = encode(&s, &blen);
	r = poolstate_apply(&s, data, size, err, sizeof(err));
	need(r >= -1);
	after = encode(&s, &alen);
	if (r < 0) {
		need(blen == alen && memcmp(before, after, alen) == 0);
	} else {
		need(poolstate_apply(&t, data, size, err, sizeof(err)) == r);
		other = encode(&t, &olen);
		need(olen == alen && memcmp(other, after, alen) == 0);
		free(other);
		need(r == 0 ? s.gen == 5 : s.gen == 6);
		check(&s);
		round_trip(&s);
	}
	free(before);
	free(after);
	poolstate_free(&s);
	poolstate_free(&t);
}

static void fuzz_decode(const uint8_t *data, size_t size)
{
	struct poolstate s;
	char err[256];

	if (poolstate_decode(&s, data, size, err, sizeof(err)) == 0) {
		check(&s);
		round_trip(&s);
	}
	poolstate_free(&s);
}

/* ---- two copies in one group --------------------------------------------------------- */

#define BUS_MAX 32
struct msg { uint32_t from; size_t len; char *data; };
static struct msg bus[BUS_MAX];
static size_t nbus;

static int bus_send(void *arg, const void *data, size_t len)
{
	if (nbus == BUS_MAX)
		return -1;
	bus[nbus].from = (uint32_t)(uintptr_t)arg;
	bus[nbus].len = len;
	bus[nbus].data = malloc(len ? len : 1);
	memcpy(bus[nbus].data, data, len);
	nbus++;
	return 0;
}
static void on_changed(void *arg) { (void)arg; }
static void on_synced(void *arg) { (void)arg; }
static void on_delivered(void *arg, uint32_t from, const void *data, size_t len)
{
	(void)arg;
	(void)from;
	(void)poolstate_op_id(data, len);
}
static void on_refused(void *arg, uint32_t from, const char *why)
{
	(void)arg;
	(void)from;
	need(why && strlen(why) < 256);
}
static const struct poolrepl_ops ops = { .send = bus_send, .changed = on_changed,
					 .synced = on_synced, .delivered = on_delivered,
					 .refused = on_refused };

static void fuzz_repl(const uint8_t *data, size_t size)
{
	static const uint32_t members[] = { 1, 2 };
	struct poolrepl *r[2];
	struct poolstate s;
	size_t next = 0;

	nbus = 0;
	for (int k = 0; k < 2; k++) {
		fixed(&s, k ? SNAP2 : SNAP1);
		r[k] = poolrepl_new(&s, (uint32_t)k + 1, &ops, (void *)(uintptr_t)(k + 1));
		poolstate_free(&s);
	}
	/* both send their snapshots; the input lands between them (queued
	 * during the sync), then again after it */
	for (int k = 0; k < 2; k++)
		poolrepl_view(r[k], members, 2);
	need(nbus == 2);
	{
		struct msg snap2 = bus[1];
		bus[1] = (struct msg){ 2, size, malloc(size ? size : 1) };
		memcpy(bus[1].data, data, size);
		bus[2] = snap2;
		bus[3] = (struct msg){ 1, size, malloc(size ? size : 1) };
		memcpy(bus[3].data, data, size);
		nbus = 4;
	}
	/* deliver in order, with what the copies send meanwhile (RESYNC,
	 * snapshots), up to the bus's bound */
	for (; next < nbus; next++) {
		for (int k = 0; k < 2; k++)
			poolrepl_message(r[k], bus[next].from, bus[next].data, bus[next].len);
		free(bus[next].data);
	}
	nbus = 0;
	need(poolrepl_synced(r[0]) == poolrepl_synced(r[1]));
	for (int k = 0; k < 2; k++)
		check(poolrepl_state(r[k]));
	if (poolrepl_synced(r[0])) {
		char *a, *b;
		size_t alen, blen;

		a = encode(poolrepl_state(r[0]), &alen);
		b = encode(poolrepl_state(r[1]), &blen);
		need(alen == blen && memcmp(a, b, alen) == 0);
		free(a);
		free(b);
	}
	for (int k = 0; k < 2; k++)
		poolrepl_free(r[k]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_apply(data, size);
	fuzz_decode(data, size);
	fuzz_repl(data, size);
	return 0;
}
