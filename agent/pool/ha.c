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
#include "agent/rpc/pool_call.h"
#include "agent/server/server.h"
#include "db/pool.h"
#include "hypervisor/vmcfg.h"

#define ROUND_EVERY_MS 1000     /* at most one placement round a second */
#define STATUS_TIMEOUT_MS 3000
#define START_TIMEOUT_MS 60000
#define RETRY_AFTER_MS 5000     /* a guest whose start failed waits this long */

struct flight {                 /* a guest being started, or resting after a failure */
	struct flight *next;
	char *path;
	int64_t until;          /* resting until (0: its start is in flight) */
};

struct cand {
	struct pool_member m;
	bool answered;
	long long mem_free;     /* MB; -1 unknown */
};

struct round {                  /* one placement: figures asked of the candidates */
	struct ha *h;
	struct cand *c;
	size_t n, pending;
	char **paths;           /* guests to place */
	size_t npaths;
	uint64_t master_epoch;
};

struct ha {
	struct server *srv;
	struct flight *flights;
	struct round *round;    /* NULL when none is in progress */
	int64_t last_round;
	bool warned_nodelist;
};

struct ha *ha_new(struct server *srv)
{
	struct ha *h = xcalloc(1, sizeof(*h));

	h->srv = srv;
	return h;
}

static void round_free(struct round *r)
{
	for (size_t i = 0; i < r->npaths; i++)
		free(r->paths[i]);
	free(r->paths);
	free(r->c);
	free(r);
}

void ha_free(struct ha *h)
{
	if (!h)
		return;
	while (h->flights) {
		struct flight *f = h->flights;
		h->flights = f->next;
		free(f->path);
		free(f);
	}
	if (h->round)
		h->round->h = NULL;     /* its calls still answer; they see no ha */
	free(h);
}

static struct flight *flight_of(struct ha *h, const char *path)
{
	for (struct flight *f = h->flights; f; f = f->next)
		if (strcmp(f->path, path) == 0)
			return f;
	return NULL;
}

static void flight_end(struct ha *h, const char *path, int64_t rest_until)
{
	for (struct flight **pp = &h->flights; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->path, path) == 0) {
			struct flight *f = *pp;
			if (rest_until) {
				f->until = rest_until;
			} else {
				*pp = f->next;
				free(f->path);
				free(f);
			}
			return;
		}
}

/* ---- has a server failed? -------------------------------------------------------------- */

static bool failed(struct ha *h, const char *ip)
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
	struct ha *h;           /* NULL once the ha is gone */
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
	struct ha *h = s->srv->cluster ? s->h : NULL;

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

	s->h = h;
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
	if (authz) {
		OPENSSL_cleanse(authz, strlen(authz));
		free(authz);
	}
}

/* ---- placement -------------------------------------------------------------------------- */

static long long guest_memory(const char *path)
{
	char *file = xasprintf("%s/vm.cfg", path), err[256];
	struct vmcfg *cfg = NULL;
	long long mb = 0;

	if (vmcfg_load(file, &cfg, err, sizeof(err)) == 0 && vmcfg_get_int(cfg, "memory", &mb) != 0)
		mb = 0;
	vmcfg_free(cfg);
	free(file);
	return mb < 0 ? 0 : mb;
}

struct assigned {
	struct round *r;
	char **paths;           /* guests and their targets, once ownership is agreed */
	struct pool_member *to;
	uint64_t *epochs;
	size_t n;
};

static void on_owned(void *arg, int fault, const char *msg)
{
	struct assigned *a = arg;
	struct ha *h = a->r->h;

	for (size_t i = 0; i < a->n; i++) {
		if (!fault && h)
			start_on(h, &a->to[i], a->paths[i], a->epochs[i], a->r->master_epoch);
		else if (h)
			flight_end(h, a->paths[i], 0);
		free(a->paths[i]);
	}
	if (fault)
		log_warn("cannot give %zu guest%s new owners: %s", a->n, a->n == 1 ? "" : "s", msg);
	round_free(a->r);
	free(a->paths);
	free(a->to);
	free(a->epochs);
	free(a);
}

static bool preferred(const struct ps_guest *g, const char *ip)
{
	if (!g->manual)
		return true;
	for (size_t i = 0; i < g->npref; i++)
		if (strcmp(g->pref[i], ip) == 0)
			return true;
	return false;
}

/* Every candidate answered (or did not): place the guests. */
static void place(struct round *r)
{
	struct ha *h = r->h;
	const struct poolstate *st;
	struct assigned *a;
	struct buf own, wait;
	size_t nwait = 0;

	if (!h || !pool_cluster_is_master(h->srv)) {
		round_free(r);
		if (h)
			h->round = NULL;
		return;
	}
	h->round = NULL;
	st = pool_cluster_state(h->srv);
	a = xcalloc(1, sizeof(*a));
	a->r = r;
	a->paths = xcalloc(r->npaths, sizeof(*a->paths));
	a->to = xcalloc(r->npaths, sizeof(*a->to));
	a->epochs = xcalloc(r->npaths, sizeof(*a->epochs));
	buf_init(&own, 0);
	buf_init(&wait, 0);
	for (size_t i = 0; i < r->npaths; i++) {
		const struct ps_guest *g = poolstate_find(st, r->paths[i]);
		long long need;
		struct cand *best = NULL;

		if (!g || !g->running || flight_of(h, g->path))
			continue;       /* changed meanwhile */
		need = guest_memory(g->path);
		for (size_t k = 0; k < r->n; k++) {
			struct cand *c = &r->c[k];
			if (c->answered && c->mem_free >= need && preferred(g, c->m.ip) &&
			    (!best || c->mem_free > best->mem_free))
				best = c;
		}
		if (!best) {
			if (g->owner[0]) {
				log_warn("no server can take HA guest %s (%lld MB, %s): it waits "
					 "powered off until one can", g->path, need,
					 g->manual ? "Manual: only its preferred servers" : "Auto");
				ps_op_own(&wait, g->path, "", g->epoch + 1, true);
				nwait++;
			}
			continue;
		}
		best->mem_free -= need;
		a->paths[a->n] = xstrdup(g->path);
		a->to[a->n] = best->m;
		a->epochs[a->n] = g->epoch + 1;
		ps_op_own(&own, g->path, best->m.ip, g->epoch + 1, true);
		log_info("HA: %s goes to %s (epoch %" PRIu64 ")", g->path, best->m.ip,
			 g->epoch + 1);
		{
			struct flight *f = xcalloc(1, sizeof(*f));
			f->path = xstrdup(g->path);
			f->next = h->flights;
			h->flights = f;
		}
		a->n++;
	}
	if (nwait)
		pool_cluster_change(h->srv, &wait, on_waiting, NULL);
	if (a->n) {
		pool_cluster_change(h->srv, &own, on_owned, a);
	} else {
		round_free(r);
		free(a->paths);
		free(a->to);
		free(a->epochs);
		free(a);
	}
	buf_free(&own);
	buf_free(&wait);
}

struct ask {
	struct round *r;
	size_t i;
};

static void on_figures(void *arg, xmlrpc_value *result, int fault, const char *msg)
{
	struct ask *q = arg;
	struct round *r = q->r;
	struct cand *c = &r->c[q->i];
	xmlrpc_env env;
	const char *s = NULL, *p;

	xmlrpc_env_init(&env);
	if (!fault) {
		xmlrpc_read_string(&env, result, &s);
		if (!env.fault_occurred && (p = strstr(s, "mem_free=")) &&
		    sscanf(p + 9, "%lld", &c->mem_free) == 1 && c->mem_free >= 0)
			c->answered = true;
		free((char *)s);
	} else {
		log_info("%s gave no figures (%s): not a candidate this round", c->m.ip, msg);
	}
	xmlrpc_env_clean(&env);
	free(q);
	if (--r->pending == 0)
		place(r);
}

static void ask_figures(struct round *r)
{
	struct server *srv = r->h->srv;
	char err[512];
	char *authz = pool_authorization(srv->store, err, sizeof(err));
	xmlrpc_env env;
	xmlrpc_value *args;

	xmlrpc_env_init(&env);
	args = xmlrpc_array_new(&env);
	r->pending = r->n + 1;          /* one for this function: place() waits for it */
	for (size_t i = 0; i < r->n; i++) {
		struct ask *q = xcalloc(1, sizeof(*q));
		q->r = r;
		q->i = i;
		if (!authz || !pool_peer_call(srv, &r->c[i].m, authz, "pool_server_status", args,
					      STATUS_TIMEOUT_MS, on_figures, q, err, sizeof(err)))
			on_figures(q, NULL, -1, err);
	}
	if (args)
		xmlrpc_DECREF(args);
	xmlrpc_env_clean(&env);
	if (authz) {
		OPENSSL_cleanse(authz, strlen(authz));
		free(authz);
	}
	if (--r->pending == 0)
		place(r);
}

/* The VM servers of the group: the candidates. */
static void candidates(struct ha *h, struct round *r)
{
	struct pool_cluster_info in;
	char ip[POOL_IP_MAX], err[256];

	pool_cluster_info(h->srv, &in);
	r->c = xcalloc(in.n ? in.n : 1, sizeof(*r->c));
	for (size_t i = 0; i < in.n; i++) {
		struct pool_member m;

		if (pool_cluster_node_ip(h->srv, in.members[i], ip) != 1 ||
		    pool_member_get(h->srv->store, ip, &m, err, sizeof(err)) != 1 ||
		    !(m.roles & POOL_XEN))
			continue;
		r->c[r->n].m = m;
		r->c[r->n].mem_free = -1;
		r->n++;
	}
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
	struct round *r = NULL;
	struct buf down;
	size_t ndown = 0;

	if (h->round)
		return;
	/* resting guests whose time is up may be tried again */
	for (struct flight **pp = &h->flights; *pp;) {
		struct flight *f = *pp;
		if (f->until && f->until <= now) {
			*pp = f->next;
			free(f->path);
			free(f);
		} else {
			pp = &f->next;
		}
	}
	buf_init(&down, 0);
	for (size_t i = 0; i < st->n; i++) {
		const struct ps_guest *g = &st->g[i];
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
		if (lost)
			log_warn("%s failed: HA guest %s is to run elsewhere", g->owner, g->path);
		if (!r) {
			if (now - h->last_round < ROUND_EVERY_MS)
				break;
			r = xcalloc(1, sizeof(*r));
			r->h = h;
			r->master_epoch = st->master_epoch;
		}
		if (r->npaths < PS_BATCH_MAX - 1) {
			r->paths = xrealloc(r->paths, (r->npaths + 1) * sizeof(*r->paths));
			r->paths[r->npaths++] = xstrdup(g->path);
		}
	}
	if (ndown)
		pool_cluster_change(h->srv, &down, on_down, NULL);
	buf_free(&down);
	if (!r)
		return;
	h->last_round = now;
	h->round = r;
	candidates(h, r);
	ask_figures(r);
}
