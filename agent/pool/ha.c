/* ha.c - the master's failover (ha.h). */
#define LOG_CAT "ha"
#include "agent/pool/ha.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "agent/base/log.h"
#include "agent/base/util.h"
#include "agent/cluster/heartbeat.h"
#include "agent/pool/cluster.h"
#include "agent/pool/place.h"
#include "agent/rpc/pool_call.h"
#include "agent/server/server.h"
#include "db/pool.h"

#define ROUND_EVERY_MS 1000     /* at most one placement round a second */
#define START_TIMEOUT_MS 60000
#define RETRY_AFTER_MS 5000     /* a guest whose start failed waits this long */

/* A guest the master is moving: its start in flight, or resting after a
 * failure. Sorted by path (a mass failover holds a thousand). */
struct flight {
	char *path;
	int64_t until;          /* resting until; 0 while its start is in flight */
	struct pool_member to;  /* the owner it was given */
	uint64_t epoch;         /* with this epoch */
};

struct ha {
	struct server *srv;
	struct flight *fl;
	size_t nfl, capfl;
	bool placing;           /* a placement is in progress */
	int64_t last_round;
	/* failed() per owner, for one tick: a thousand guests, a few owners */
	struct { char ip[POOL_IP_MAX]; bool failed; } seen[32];
	size_t nseen;
	bool warned_nodelist;
};

struct ha *ha_new(struct server *srv)
{
	struct ha *h = xcalloc(1, sizeof(*h));

	h->srv = srv;
	return h;
}

void ha_free(struct ha *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->nfl; i++)
		free(h->fl[i].path);
	free(h->fl);
	free(h);
}

static int flight_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct flight *)elem)->path);
}

/* Index of path's flight, or where it would go (*found false). */
static size_t flight_at(const struct ha *h, const char *path, bool *found)
{
	return sorted_index(h->fl, h->nfl, sizeof(*h->fl), path, flight_cmp, found);
}

static struct flight *flight_of(struct ha *h, const char *path)
{
	bool found;
	size_t i = flight_at(h, path, &found);

	return found ? &h->fl[i] : NULL;
}

static void flight_add(struct ha *h, const char *path, const struct pool_member *to,
		       uint64_t epoch)
{
	bool found;
	size_t i = flight_at(h, path, &found);

	if (!found) {
		if (h->nfl == h->capfl) {
			h->capfl = h->capfl ? h->capfl * 2 : 16;
			h->fl = xrealloc(h->fl, h->capfl * sizeof(*h->fl));
		}
		memmove(&h->fl[i + 1], &h->fl[i], (h->nfl - i) * sizeof(*h->fl));
		h->fl[i].path = xstrdup(path);
		h->nfl++;
	}
	h->fl[i].until = 0;
	h->fl[i].to = *to;
	h->fl[i].epoch = epoch;
}

static void flight_del(struct ha *h, size_t i)
{
	free(h->fl[i].path);
	memmove(&h->fl[i], &h->fl[i + 1], (h->nfl - i - 1) * sizeof(*h->fl));
	h->nfl--;
}

/* Done (rest_until 0), or resting until then. */
static void flight_end(struct ha *h, const char *path, int64_t rest_until)
{
	bool found;
	size_t i = flight_at(h, path, &found);

	if (!found)
		return;
	if (rest_until)
		h->fl[i].until = rest_until;
	else
		flight_del(h, i);
}

/* ---- has a server failed? -------------------------------------------------------------- */

static bool judge(struct ha *h, const char *ip);

static bool failed(struct ha *h, const char *ip)
{
	bool r;

	for (size_t i = 0; i < h->nseen; i++)
		if (strcmp(h->seen[i].ip, ip) == 0)
			return h->seen[i].failed;
	r = judge(h, ip);
	if (h->nseen < sizeof(h->seen) / sizeof(h->seen[0])) {
		snprintf(h->seen[h->nseen].ip, sizeof(h->seen[0].ip), "%s", ip);
		h->seen[h->nseen++].failed = r;
	}
	return r;
}

static bool judge(struct ha *h, const char *ip)
{
	struct server *srv = h->srv;
	uint32_t id = pool_cluster_node_of(srv, ip);
	struct hb_view v;
	int64_t gone;

	if (!id) {
		if (!h->warned_nodelist)
			log_warn("%s owns guests but is not in corosync's nodelist: its failure "
				 "cannot be told (ovs-cluster-configure makes the list)", ip);
		h->warned_nodelist = true;
		return false;
	}
	gone = pool_cluster_gone_ms(srv, id);
	if (gone < 0 || gone < (int64_t)srv->cfg.fence_timeout * 1000)
		return false;
	pool_cluster_slot(srv, id, &v);
	return !v.seen || v.fenced || v.age_ms >= (int64_t)srv->cfg.hb_timeout * 1000;
}

/* ---- starting a guest on its new owner ------------------------------------------------- */

struct start {
	struct server *srv;
	char *path, *target;
	uint64_t epoch;
};

static void on_waiting(void *arg, int fault, const char *msg)
{
	if (fault)
		log_warn("cannot record a guest as waiting for a server: %s", msg);
}

static void on_started(void *arg, xmlrpc_value *result, int fault, const char *msg)
{
	struct start *s = arg;
	struct ha *h = pool_cluster_ha(s->srv);

	if (!fault) {
		log_info("%s runs on %s (epoch %" PRIu64 ")", s->path, s->target, s->epoch);
		if (h)
			flight_end(h, s->path, 0);
	} else {
		struct buf b;
		log_warn("%s did not start on %s: %s; it waits for another try", s->path,
			 s->target, msg);
		if (h)
			flight_end(h, s->path, loop_now(s->srv->loop) + RETRY_AFTER_MS);
		buf_init(&b, 0);
		ps_op_own(&b, s->path, "", s->epoch + 1, true);
		pool_cluster_change(s->srv, &b, on_waiting, NULL);
		buf_free(&b);
	}
	free(s->path);
	free(s->target);
	free(s);
}

static void start_on(struct ha *h, const struct pool_member *m, const char *path, uint64_t epoch,
		     uint64_t master_epoch)
{
	struct server *srv = h->srv;
	struct start *s = xcalloc(1, sizeof(*s));
	char err[512], e1[24], e2[24];
	char *authz = pool_authorization(srv->store, err, sizeof(err));
	xmlrpc_env env;
	xmlrpc_value *args = NULL;

	s->srv = srv;
	s->path = xstrdup(path);
	s->target = xstrdup(m->ip);
	s->epoch = epoch;
	snprintf(e1, sizeof(e1), "%" PRIu64, epoch);
	snprintf(e2, sizeof(e2), "%" PRIu64, master_epoch);
	xmlrpc_env_init(&env);
	if (authz)
		args = xmlrpc_build_value(&env, "(sss)", path, e1, e2);
	if (!authz || env.fault_occurred ||
	    !pool_peer_call(srv, m, authz, "pool_start_vm", args, START_TIMEOUT_MS, on_started,
			    s, err, sizeof(err)))
		on_started(s, NULL, -1, env.fault_occurred ? env.fault_string : err);
	if (args)
		xmlrpc_DECREF(args);
	xmlrpc_env_clean(&env);
	authorization_free(authz);
}

/* ---- placement (place.h) --------------------------------------------------------------- */

struct assigned {
	struct server *srv;
	struct pool_member *to;
	char **paths;
	uint64_t *epochs;
	uint64_t master_epoch;
	size_t n;
};

static void assigned_free(struct assigned *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->paths[i]);
	free(a->paths);
	free(a->to);
	free(a->epochs);
	free(a);
}

/* Every copy agrees on the new owners: now they may start the guests. */
static void on_owned(void *arg, int fault, const char *msg)
{
	struct assigned *a = arg;
	struct ha *h = pool_cluster_ha(a->srv);

	for (size_t i = 0; h && i < a->n; i++) {
		if (!fault)
			start_on(h, &a->to[i], a->paths[i], a->epochs[i], a->master_epoch);
		else    /* the op may still land: the tick looks again after a rest */
			flight_end(h, a->paths[i], loop_now(a->srv->loop) + RETRY_AFTER_MS);
	}
	if (fault)
		log_warn("cannot give %zu guest%s new owners: %s", a->n, a->n == 1 ? "" : "s", msg);
	assigned_free(a);
}

static void on_placed(struct server *srv, void *arg, const struct placed *v, size_t n)
{
	struct ha *h = pool_cluster_ha(srv);
	const struct poolstate *st = pool_cluster_state(srv);
	struct assigned *a;
	struct buf own, wait;
	size_t nwait = 0;

	if (!h)
		return;
	h->placing = false;
	if (!pool_cluster_is_master(srv))
		return;
	a = xcalloc(1, sizeof(*a));
	a->srv = srv;
	a->master_epoch = st->master_epoch;
	a->paths = xcalloc(n ? n : 1, sizeof(*a->paths));
	a->to = xcalloc(n ? n : 1, sizeof(*a->to));
	a->epochs = xcalloc(n ? n : 1, sizeof(*a->epochs));
	buf_init(&own, 0);
	buf_init(&wait, 0);
	for (size_t i = 0; i < n; i++) {
		const struct ps_guest *g = poolstate_find(st, v[i].path);

		if (!g || !g->running || flight_of(h, g->path))
			continue;       /* changed meanwhile */
		if (!v[i].to.ip[0]) {
			if (g->owner[0]) {
				log_warn("no server can take HA guest %s (%lld MB, %s): it waits "
					 "powered off until one can", g->path, v[i].need,
					 g->manual ? "Manual: only its preferred servers" : "Auto");
				ps_op_own(&wait, g->path, "", g->epoch + 1, true);
				nwait++;
			}
			continue;
		}
		a->paths[a->n] = xstrdup(g->path);
		a->to[a->n] = v[i].to;
		a->epochs[a->n] = g->epoch + 1;
		ps_op_own(&own, g->path, v[i].to.ip, g->epoch + 1, true);
		log_info("HA: %s goes to %s (epoch %" PRIu64 ")", g->path, v[i].to.ip,
			 g->epoch + 1);
		flight_add(h, g->path, &v[i].to, g->epoch + 1);
		a->n++;
	}
	if (nwait)
		pool_cluster_change(srv, &wait, on_waiting, NULL);
	if (a->n)
		pool_cluster_change(srv, &own, on_owned, a);
	else
		assigned_free(a);
	buf_free(&own);
	buf_free(&wait);
}

/* ---- the tick ------------------------------------------------------------------------------ */

static void on_down(void *arg, int fault, const char *msg)
{
	if (fault)
		log_warn("cannot record a failed server's guests as DOWN: %s", msg);
}

void ha_tick(struct ha *h)
{
	const struct poolstate *st = pool_cluster_state(h->srv);
	int64_t now = loop_now(h->srv->loop);
	const char **paths = NULL;
	struct buf down;
	size_t ndown = 0, npaths = 0;

	if (h->placing)
		return;
	h->nseen = 0;
	/* Resting guests whose time is up: where the pool still shows the
	 * owner and epoch they were given, that start never happened (or
	 * failed and the wait was not recorded): try it again; else the
	 * state moved on and the look below decides. */
	for (size_t i = 0; i < h->nfl;) {
		struct flight *f = &h->fl[i];
		const struct ps_guest *g;

		if (!f->until || f->until > now) {
			i++;
			continue;
		}
		g = poolstate_find(st, f->path);
		if (g && g->running && g->epoch == f->epoch && strcmp(g->owner, f->to.ip) == 0 &&
		    !failed(h, g->owner)) {
			f->until = 0;
			start_on(h, &f->to, f->path, f->epoch, st->master_epoch);
			i++;
		} else {
			flight_del(h, i);
		}
	}
	buf_init(&down, 0);
	for (size_t i = 0; i < st->n; i++) {
		const struct ps_guest *g = st->g[i];
		bool lost;

		if (!g->running || flight_of(h, g->path))
			continue;
		lost = g->owner[0] && failed(h, g->owner);
		if (!lost && g->owner[0])
			continue;
		if (!poolstate_ha(st, g)) {
			if (ndown < PS_BATCH_MAX - 1) {
				log_info("%s was on %s, which failed: recorded DOWN (not HA)",
					 g->path, g->owner[0] ? g->owner : "no server");
				ps_op_own(&down, g->path, "", g->epoch + 1, false);
				ndown++;
			}
			continue;
		}
		if (now - h->last_round < ROUND_EVERY_MS)
			continue;
		if (lost)
			log_warn("%s failed: HA guest %s is to run elsewhere", g->owner, g->path);
		if (npaths < PS_BATCH_MAX - 1) {
			paths = xrealloc(paths, (npaths + 1) * sizeof(*paths));
			paths[npaths++] = g->path;      /* the state's own, valid for this call */
		}
	}
	if (ndown)
		pool_cluster_change(h->srv, &down, on_down, NULL);
	buf_free(&down);
	if (npaths) {
		h->last_round = now;
		h->placing = true;
		pool_place(h->srv, (char *const *)paths, npaths, NULL, on_placed, NULL);
	}
	free(paths);
}
