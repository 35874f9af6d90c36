/* place.c - choosing a VM server for guests (place.h). */
#define LOG_CAT "pool"
#include "agent/pool/place.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "agent/base/log.h"
#include "agent/base/util.h"
#include "agent/cluster/poolstate.h"
#include "agent/pool/cluster.h"
#include "agent/rpc/pool_call.h"
#include "agent/server/server.h"
#include "hypervisor/vmcfg.h"

#define FIGURES_TIMEOUT_MS 3000
/* Free memory moves between two readings (and servers on one machine
 * read the same memory): figures this close count as equal. */
#define EQUAL_MB 64

struct cand {
	struct pool_member m;
	bool answered;
	long long mem_free;     /* MB */
};

struct round {
	struct server *srv;
	struct cand *c;
	size_t n, pending;
	struct placed *v;
	size_t nv;
	char self[POOL_IP_MAX];
	place_done_cb done;
	void *arg;
	struct timer later;     /* done never runs inside pool_place */
};

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

static bool preferred(const struct ps_guest *g, const char *ip)
{
	if (!g || !g->manual)
		return true;
	for (size_t i = 0; i < g->npref; i++)
		if (strcmp(g->pref[i], ip) == 0)
			return true;
	return false;
}

/* Is a a better home than b for a guest? */
static bool better(const struct round *r, const struct cand *a, const struct cand *b)
{
	if (!b || llabs(a->mem_free - b->mem_free) >= EQUAL_MB)
		return !b || a->mem_free > b->mem_free;
	if ((strcmp(a->m.ip, r->self) == 0) != (strcmp(b->m.ip, r->self) == 0))
		return strcmp(a->m.ip, r->self) == 0;
	return strcmp(a->m.ip, b->m.ip) < 0;
}

static void finish(struct round *r)
{
	const struct poolstate *st = pool_cluster_state(r->srv);

	for (size_t i = 0; i < r->nv; i++) {
		const struct ps_guest *g = poolstate_find(st, r->v[i].path);
		struct cand *best = NULL;

		if (r->v[i].path[0])
			r->v[i].need = guest_memory(r->v[i].path);
		for (size_t k = 0; k < r->n; k++) {
			struct cand *c = &r->c[k];
			if (c->answered && c->mem_free >= r->v[i].need && preferred(g, c->m.ip) &&
			    better(r, c, best))
				best = c;
		}
		if (best) {
			best->mem_free -= r->v[i].need;
			r->v[i].to = best->m;
		}
	}
	r->done(r->srv, r->arg, r->v, r->nv);
	for (size_t i = 0; i < r->nv; i++)
		free(r->v[i].path);
	free(r->v);
	free(r->c);
	free(r);
}

static void on_later(struct timer *t)
{
	finish(t->data);
}

static void one_less(struct round *r)
{
	if (--r->pending == 0)
		timer_start(r->srv->loop, &r->later, 0);
}

struct ask {
	struct round *r;
	size_t i;
};

static void on_figures(void *arg, xmlrpc_value *result, int fault, const char *msg)
{
	struct ask *q = arg;
	struct cand *c = &q->r->c[q->i];
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
		log_info("%s gave no figures (%s): not a candidate this time", c->m.ip, msg);
	}
	xmlrpc_env_clean(&env);
	one_less(q->r);
	free(q);
}

/* The VM servers a guest may go to now. */
static void candidates(struct round *r, const char *exclude)
{
	struct server *srv = r->srv;
	struct pool_cluster_info in;
	struct pool_member *all = NULL;
	char err[256];
	size_t n = 0;

	pool_cluster_info(srv, &in);
	if (pool_members(srv->store, &all, &n, err, sizeof(err)) < 0)
		log_err("cannot read the pool's servers: %s", err);
	r->c = xcalloc(n ? n : 1, sizeof(*r->c));
	for (size_t i = 0; i < n; i++) {
		if (!(all[i].roles & POOL_XEN) || (exclude && strcmp(all[i].ip, exclude) == 0))
			continue;
		if (in.synced && !pool_cluster_in_view(srv, pool_cluster_node_of(srv, all[i].ip)))
			continue;
		r->c[r->n++].m = all[i];
	}
	free(all);
}

static struct round *round_new(struct server *srv, char *const *paths, size_t n,
			       place_done_cb done, void *arg)
{
	struct round *r = xcalloc(1, sizeof(*r));
	char err[256];

	r->srv = srv;
	r->done = done;
	r->arg = arg;
	timer_init(&r->later, on_later, r);
	if (pool_self_get(srv->store, r->self, err, sizeof(err)) != 1)
		r->self[0] = '\0';
	r->v = xcalloc(n ? n : 1, sizeof(*r->v));
	for (size_t i = 0; i < n; i++)
		r->v[i].path = xstrdup(paths[i]);
	r->nv = n;
	return r;
}

static void ask(struct round *r, const char *exclude);

void pool_place(struct server *srv, char *const *paths, size_t n, const char *exclude,
		place_done_cb done, void *arg)
{
	ask(round_new(srv, paths, n, done, arg), exclude);
}

void pool_place_mb(struct server *srv, long long need_mb, const char *exclude,
		   place_done_cb done, void *arg)
{
	char *const none[] = { "" };
	struct round *r = round_new(srv, none, 1, done, arg);

	r->v[0].need = need_mb;
	ask(r, exclude);
}

/* Ask the candidates for their figures; finish() once all answered. */
static void ask(struct round *r, const char *exclude)
{
	struct server *srv = r->srv;
	char err[512], *authz;
	xmlrpc_env env;
	xmlrpc_value *args;

	candidates(r, exclude);
	authz = pool_authorization(srv->store, err, sizeof(err));
	xmlrpc_env_init(&env);
	args = xmlrpc_array_new(&env);
	r->pending = r->n + 1;          /* one for this function */
	for (size_t i = 0; i < r->n; i++) {
		struct ask *q = xcalloc(1, sizeof(*q));

		q->r = r;
		q->i = i;
		if (!authz || !pool_peer_call(srv, &r->c[i].m, authz, "pool_server_status", args,
					      FIGURES_TIMEOUT_MS, on_figures, q, err, sizeof(err)))
			on_figures(q, NULL, -1, err);
	}
	if (args)
		xmlrpc_DECREF(args);
	xmlrpc_env_clean(&env);
	authorization_free(authz);
	one_less(r);
}
