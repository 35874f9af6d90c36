/* share.c - the master shares its cluster with the pool (share.h). */
#define LOG_CAT "cluster"
#include "agent/pool/share.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "agent/base/buf.h"
#include "agent/base/fault.h"
#include "agent/base/hook.h"
#include "agent/base/log.h"
#include "agent/base/loop.h"
#include "agent/base/util.h"
#include "agent/cluster/poolstate.h"
#include "agent/repo/repo_hooks.h"
#include "agent/repo/repoview.h"
#include "agent/rpc/pool_call.h"
#include "agent/server/server.h"
#include "db/pool.h"

#define CONFIGURE "ovs-cluster-configure"
#define SETUP_WAIT_MS 60000     /* link, quorum and copy after the members took the files */
#define WAIT_POLL_MS 250
/* A member's pool_cluster_files runs ovs-cluster-configure there, which
 * may take its hook_timeout_cluster (60 s by default). */
#define PUSH_TIMEOUT_MS 90000
#define RESEND_AFTER_MS 5000    /* out of the membership this long before a resend */
#define RESEND_MS 10000         /* between two tries to one member */
#define RESEND_SCAN_MS 1000
#define RESEND_MAX 1024         /* members tracked (pool_sync's bound) */
#define FAILURES_MAX 4096       /* the words of a setup's fault */

struct setup {
	pool_change_cb done;
	void *arg;
	struct hook_run *hook;
	size_t pending;
	struct buf failed;
	int64_t deadline;
	struct timer wait;
};

struct resend {
	char ip[POOL_IP_MAX];
	int64_t last;
	bool busy, failing;
};

struct push {
	struct push *next;
	struct pool_share *s;
	struct peer_call *pc;
	bool for_setup;
	char ip[POOL_IP_MAX];
};

struct pool_share {
	struct server *srv;
	struct setup *setup;            /* at most one */
	struct push *pushes;
	struct resend *rs;
	size_t nrs;
	int64_t last_scan;
};

struct pool_share *pool_share_new(struct server *srv)
{
	struct pool_share *s = xcalloc(1, sizeof(*s));

	s->srv = srv;
	return s;
}

static void self_ip(struct server *srv, char ip[POOL_IP_MAX])
{
	char err[256];

	if (pool_self_get(srv->store, ip, err, sizeof(err)) != 1)
		snprintf(ip, POOL_IP_MAX, "this server");
}

/* ---- the setup ------------------------------------------------------------------------ */

static void setup_end(struct pool_share *s, int fault, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Answer and forget the setup (fault 0: hand it to the pool_ha change). */
static void setup_end(struct pool_share *s, int fault, const char *fmt, ...)
{
	struct setup *u = s->setup;
	char msg[FAILURES_MAX + 512];
	va_list ap;

	s->setup = NULL;
	timer_stop(s->srv->loop, &u->wait);
	if (u->hook)
		hook_cancel(u->hook);
	if (fault) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		log_warn("set_pool_ha: %s", msg);
		u->done(u->arg, fault, msg);
	} else {
		struct buf b;

		log_info("the pool's cluster is up: enabling HA");
		buf_init(&b, 0);
		ps_op_pool_ha(&b, true);
		pool_cluster_change(s->srv, &b, u->done, u->arg);
		buf_free(&b);
	}
	buf_free(&u->failed);
	free(u);
}

static void on_wait(struct timer *t)
{
	struct pool_share *s = t->data;
	struct pool_cluster_info in;
	char me[POOL_IP_MAX];

	pool_cluster_info(s->srv, &in);
	if (in.up && in.quorate && in.synced) {
		setup_end(s, 0, "%s", "");
		return;
	}
	if (loop_now(s->srv->loop) >= s->setup->deadline) {
		self_ip(s->srv, me);
		setup_end(s, FAULT_TIMEOUT, "%s: the cluster is %s %d s after every server took "
			  "its files (ovs-cluster-check there says why)", me,
			  !in.up ? "not running (no link to corosync)" :
			  !in.quorate ? "not quorate" : "up but the pool state is not synced",
			  SETUP_WAIT_MS / 1000);
		return;
	}
	timer_start(s->srv->loop, &s->setup->wait, WAIT_POLL_MS);
}

static void setup_pushed(struct pool_share *s, const char *ip, int fault, const char *msg)
{
	struct setup *u = s->setup;

	if (fault) {
		buf_printf(&u->failed, "%s%s: %s", u->failed.len ? "; " : "", ip, msg);
	}
	if (--u->pending)
		return;
	if (u->failed.len) {
		setup_end(s, FAULT_PEER, "the cluster's files did not reach every server of the "
			  "pool (the master tries again every %d s; set_pool_ha again once they "
			  "have them): %s", RESEND_MS / 1000, u->failed.data);
		return;
	}
	u->deadline = loop_now(s->srv->loop) + SETUP_WAIT_MS;
	on_wait(&u->wait);
}

/* ---- pushing the files ---------------------------------------------------------------- */

static struct resend *resend_of(struct pool_share *s, const char *ip, bool add)
{
	for (size_t i = 0; i < s->nrs; i++)
		if (strcmp(s->rs[i].ip, ip) == 0)
			return &s->rs[i];
	if (!add || s->nrs == RESEND_MAX)
		return NULL;
	if (s->nrs % 16 == 0)
		s->rs = xrealloc(s->rs, (s->nrs + 16) * sizeof(*s->rs));
	memset(&s->rs[s->nrs], 0, sizeof(*s->rs));
	snprintf(s->rs[s->nrs].ip, POOL_IP_MAX, "%s", ip);
	return &s->rs[s->nrs++];
}

static void on_pushed(void *arg, xmlrpc_value *result, int fault, const char *msg)
{
	struct push *p = arg;
	struct pool_share *s = p->s;

	for (struct push **pp = &s->pushes; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	if (p->for_setup) {
		if (!fault)
			log_info("%s took the cluster's files and started corosync", p->ip);
		if (s->setup)
			setup_pushed(s, p->ip, fault, msg);
	} else {
		struct resend *r = resend_of(s, p->ip, false);

		if (r)
			r->busy = false;
		if (!fault) {
			log_info("%s took the cluster's files again and started corosync", p->ip);
			if (r)
				r->failing = false;
		} else if (r && !r->failing) {
			log_warn("cannot give %s the cluster's files: %s (trying again every %d s)",
				 p->ip, msg, RESEND_MS / 1000);
			r->failing = true;
		} else {
			log_debug("cannot give %s the cluster's files: %s", p->ip, msg);
		}
	}
	free(p);
}

/* Start pool_cluster_files(args) on member m: 0, or -1 with err. */
static int push(struct pool_share *s, const struct pool_member *m, const char *authz,
		xmlrpc_value *args, bool for_setup, char *err, size_t errlen)
{
	struct push *p = xcalloc(1, sizeof(*p));

	p->s = s;
	p->for_setup = for_setup;
	snprintf(p->ip, sizeof(p->ip), "%s", m->ip);
	p->pc = pool_peer_call(s->srv, m, authz, "pool_cluster_files", args, PUSH_TIMEOUT_MS,
			       on_pushed, p, err, errlen);
	if (!p->pc) {
		free(p);
		return -1;
	}
	p->next = s->pushes;
	s->pushes = p;
	return 0;
}

/* What a round of pushes held: the credential wiped. */
static void pushes_done(char *authz, xmlrpc_value *args, struct pool_member *all)
{
	authorization_free(authz);
	if (args)
		xmlrpc_DECREF(args);
	free(all);
}

/* The call's arguments: (files), or NULL with err. */
static xmlrpc_value *files_args(struct server *srv, char *err, size_t errlen)
{
	struct cf_set set;
	xmlrpc_env env;
	xmlrpc_value *st, *args = NULL;

	cf_init(&set);
	if (cf_read(&srv->cfg, &set, err, errlen) < 0) {
		cf_free(&set);
		return NULL;
	}
	xmlrpc_env_init(&env);
	st = cf_to_value(&env, &set);
	if (st)
		args = xmlrpc_build_value(&env, "(V)", st);
	if (env.fault_occurred)
		snprintf(err, errlen, "%s", env.fault_string);
	if (st)
		xmlrpc_DECREF(st);
	xmlrpc_env_clean(&env);
	cf_free(&set);
	return args;
}

static void push_all(struct pool_share *s)
{
	struct setup *u = s->setup;
	struct pool_member *all = NULL;
	char err[512], me[POOL_IP_MAX], *authz = NULL;
	xmlrpc_value *args = NULL;
	size_t n = 0;

	self_ip(s->srv, me);
	if (!(args = files_args(s->srv, err, sizeof(err))) ||
	    pool_members(s->srv->store, &all, &n, err, sizeof(err)) < 0 ||
	    !(authz = pool_authorization(s->srv->store, err, sizeof(err)))) {
		setup_end(s, FAULT_IO, "%s: cannot share the cluster's files: %s", me, err);
		goto out;
	}
	u->pending = 1;         /* until every call has started */
	for (size_t i = 0; i < n; i++) {
		if (strcmp(all[i].ip, me) == 0)
			continue;
		u->pending++;
		if (push(s, &all[i], authz, args, true, err, sizeof(err)) < 0)
			setup_pushed(s, all[i].ip, -1, err);
	}
	setup_pushed(s, me, 0, NULL);
out:
	pushes_done(authz, args, all);
}

static void on_configured(void *arg, const struct hook_result *r)
{
	struct pool_share *s = arg;
	char me[POOL_IP_MAX];

	s->setup->hook = NULL;
	if (r->fault) {
		self_ip(s->srv, me);
		setup_end(s, r->fault, "%s: %s", me, r->msg);
		return;
	}
	log_info(CONFIGURE ": done; giving the pool's servers the cluster's files");
	push_all(s);
}

void pool_share_setup(struct server *srv, pool_change_cb done, void *arg)
{
	static const char *const argv[] = { CONFIGURE, NULL };
	struct pool_share *s = pool_cluster_share(srv);
	struct hook_req req = { .kind = HOOK_CLUSTER, .argv = argv, .event = "configure" };
	struct cf_env env;
	struct setup *u;
	char err[256];

	if (!s) {
		done(arg, FAULT_STATE, "the cluster is disabled on this server (cluster=disable)");
		return;
	}
	if (s->setup) {
		done(arg, FAULT_BUSY, "set_pool_ha is setting up the pool's cluster already");
		return;
	}
	u = xcalloc(1, sizeof(*u));
	u->done = done;
	u->arg = arg;
	buf_init(&u->failed, FAILURES_MAX);
	timer_init(&u->wait, on_wait, s);
	s->setup = u;
	cf_env_make(&env, &srv->cfg);
	req.env = (const char *const *)env.e;
	log_info("set_pool_ha: the cluster is not up here: running " CONFIGURE);
	u->hook = hook_run(srv->hooks, &req, on_configured, s, err, sizeof(err));
	cf_env_free(&env);
	if (!u->hook)
		setup_end(s, FAULT_HOOK, "cannot run " CONFIGURE ": %s", err);
}

/* ---- again to a server whose agent starts later ----------------------------------- */

void pool_share_tick(struct pool_share *s)
{
	struct server *srv = s->srv;
	int64_t now = loop_now(srv->loop);
	struct pool_member *all = NULL;
	xmlrpc_value *args = NULL;
	char err[512], me[POOL_IP_MAX], *authz = NULL;
	size_t n = 0;

	if (s->setup || now - s->last_scan < RESEND_SCAN_MS || !pool_cluster_is_master(srv))
		return;
	s->last_scan = now;
	if (pool_self_get(srv->store, me, err, sizeof(err)) != 1 ||
	    pool_members(srv->store, &all, &n, err, sizeof(err)) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		uint32_t id = pool_cluster_node_of(srv, all[i].ip);
		struct resend *r;

		/* not in corosync's nodelist: the files would not help it */
		if (strcmp(all[i].ip, me) == 0 || !id ||
		    pool_cluster_gone_ms(srv, id) < RESEND_AFTER_MS)
			continue;
		r = resend_of(s, all[i].ip, true);
		if (!r || r->busy || (r->last && now - r->last < RESEND_MS))
			continue;
		r->last = now;
		if (!args && !(args = files_args(srv, err, sizeof(err)))) {
			log_debug("cannot share the cluster's files: %s", err);
			break;
		}
		if (!authz && !(authz = pool_authorization(srv->store, err, sizeof(err))))
			break;
		if (!r->failing)
			log_info("%s is out of the cluster: giving it the cluster's files",
				 all[i].ip);
		if (push(s, &all[i], authz, args, false, err, sizeof(err)) < 0)
			log_debug("cannot give %s the cluster's files: %s", all[i].ip, err);
		else
			r->busy = true;
	}
	pushes_done(authz, args, all);
}

/* ---- a member given the files ----------------------------------------------------------- */

struct apply {
	pool_change_cb done;
	void *arg;
};

static void on_applied(void *arg, const struct hook_result *r)
{
	struct apply *a = arg;

	if (r->fault)
		log_warn(CONFIGURE " --from-files: %s", r->msg);
	else
		log_info(CONFIGURE " --from-files: done");
	a->done(a->arg, r->fault, r->fault ? r->msg : NULL);
	free(a);
}

void pool_share_apply(struct server *srv, const struct cf_set *files, pool_change_cb done,
		      void *arg)
{
	static const char *const plain[] = { CONFIGURE, "--from-files", NULL };
	static const char *const reload[] = { CONFIGURE, "--from-files", "--reload", NULL };
	struct hook_req req = { .kind = HOOK_CLUSTER, .event = "from_files" };
	bool changed[CF_FILES];
	struct cf_env env;
	struct apply *a;
	char err[512];
	int n = 0;

	if (cf_write(&srv->cfg, files, changed, err, sizeof(err)) < 0) {
		log_warn("cannot write the cluster's files the master gave: %s", err);
		done(arg, FAULT_IO, err);
		return;
	}
	for (int f = 0; f < CF_FILES; f++)
		if (changed[f]) {
			log_info("wrote %s as the pool's master gave it", cf_name((enum cf_file)f));
			n++;
		}
	if (!n)
		log_info("the cluster's files the master gave are those here already");
	if (changed[CF_REPOS] || changed[CF_REPOS_OPTIONS]) {
		repoview_reload(srv->repos);
		repo_boot(srv->hooks, srv->repos, srv->cfg.path);
	}
	a = xcalloc(1, sizeof(*a));
	a->done = done;
	a->arg = arg;
	req.argv = changed[CF_COROSYNC] ? reload : plain;
	cf_env_make(&env, &srv->cfg);
	req.env = (const char *const *)env.e;
	if (!hook_run(srv->hooks, &req, on_applied, a, err, sizeof(err))) {
		free(a);
		done(arg, FAULT_HOOK, err);
	}
	cf_env_free(&env);
}

/* ---- life ------------------------------------------------------------------------------ */

void pool_share_free(struct pool_share *s)
{
	if (!s)
		return;
	while (s->pushes) {
		struct push *p = s->pushes;

		s->pushes = p->next;
		peer_call_cancel(p->pc);
		free(p);
	}
	if (s->setup)
		setup_end(s, FAULT_SHUTTING_DOWN, "the agent is stopping");
	free(s->rs);
	free(s);
}
