/* cluster.c - the agent in its pool's cluster (cluster.h). */
#define LOG_CAT "cluster"
#include "agent/pool/cluster.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/base/fault.h"
#include "agent/base/log.h"
#include "agent/base/util.h"
#include "agent/cluster/corolink.h"
#include "agent/cluster/heartbeat.h"
#include "agent/cluster/poolrepl.h"
#include "agent/guest/guest.h"
#include "agent/pool/ha.h"
#include "agent/pool/share.h"
#include "agent/server/server.h"
#include "db/guests.h"
#include "db/pool.h"

#define GROUP "ovs-pool"
#define TICK_MS 250
#define CHANGE_TIMEOUT_MS 10000
#define MASTER_GRACE_MS 10000   /* a master's agent away, its host up: the others wait */
#define NODES 256               /* node ids we track (ovs-cluster-configure: 1..255) */

struct waiting {
	struct waiting *next;
	uint64_t id;
	int64_t deadline;
	pool_change_cb done;
	void *arg;
};

struct pool_cluster {
	struct server *srv;
	struct corolink *link;
	struct poolrepl *repl;
	struct heartbeat *hb;
	struct ha *ha;
	struct pool_share *share;
	bool up, quorate, fenced, healthy_once;
	bool reconciled;                /* reconcile() ran since the last sync */
	int64_t started, writing_since;
	uint32_t self;
	char self_ip[POOL_IP_MAX];
	uint32_t members[NODES];
	size_t n;
	uint64_t next_id, elected_epoch;
	int64_t master_absent_since;    /* the master's agent out of the group, host in the ring */
	struct waiting *waiting;
	struct timer tick, save;
};

static struct pool_cluster *of(struct server *srv) { return srv->cluster; }

/* ---- saving the copy ---------------------------------------------------------------- */

static void on_save(struct timer *t)
{
	struct pool_cluster *c = t->data;
	char err[256];
	struct buf b;

	buf_init(&b, 0);
	poolstate_encode(poolrepl_state(c->repl), &b);
	if (pool_ha_state_put(c->srv->store, b.data, err, sizeof(err)) < 0)
		log_err("cannot save the pool state: %s", err);
	buf_free(&b);
}

static void load(struct server *srv, struct poolstate *s)
{
	char err[256], *text = NULL;
	int r = pool_ha_state_get(srv->store, &text, err, sizeof(err));

	poolstate_init(s);
	if (r < 0)
		log_err("cannot read the saved pool state: %s", err);
	else if (r == 1 && poolstate_decode(s, text, strlen(text), err, sizeof(err)) < 0)
		log_err("the saved pool state is unreadable (%s): starting from an empty one", err);
	free(text);
}

/* ---- local guests ------------------------------------------------------------------- */

struct local { char *path; enum guest_status st; };
struct locals { struct local *v; size_t n; };

static int collect(const char *path, size_t plen, const struct record_field *f, size_t n,
		   void *arg)
{
	struct locals *l = arg;

	for (size_t i = 0; i < n; i++) {
		char st[32];

		if (f[i].klen != 6 || memcmp(f[i].key, "status", 6) != 0 || f[i].vlen >= sizeof(st))
			continue;
		memcpy(st, f[i].val, f[i].vlen);
		st[f[i].vlen] = '\0';
		if (l->n % 32 == 0)
			l->v = xrealloc(l->v, (l->n + 32) * sizeof(*l->v));
		l->v[l->n].path = xstrndup(path, plen);
		l->v[l->n].st = guest_status_parse(st);
		l->n++;
	}
	return 0;
}

static void locals_free(struct locals *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
}

static bool runs(enum guest_status st)
{
	return st == GS_RUNNING || st == GS_PAUSED;
}

static void on_powered_off(void *arg, int fault, const char *msg, const struct record *rec)
{
	char *path = arg;

	if (fault)
		log_err("%s: cannot power it off: %s", path, msg);
	free(path);
}

static void power_off(struct server *srv, const char *path)
{
	guest_run(srv, path, GOP_DESTROY, on_powered_off, xstrdup(path));
}

/* May this server change the pool state or act for the pool? Quorum
 * comes from votequorum and views from CPG, on two channels that do not
 * wait for each other: right after a partition a server alone may still
 * believe it is quorate while its view is already only itself. So the
 * view itself must also hold a majority of the nodelist (with two nodes,
 * corosync's two_node, one is enough: the heartbeat tells a dead peer
 * from a live one). */
static bool acting(const struct pool_cluster *c)
{
	size_t nodes = corolink_node_count(c->link);

	if (!c->up || !c->quorate || !nodes)
		return false;
	return nodes <= 2 ? c->n >= 1 : c->n * 2 > nodes;
}

/* ---- fencing ------------------------------------------------------------------------ */

/* Power off every HA guest that runs here: this server may no longer be
 * the one the pool believes runs them. */
static void fence(struct pool_cluster *c, const char *why)
{
	const struct poolstate *st = poolrepl_state(c->repl);
	struct locals l = { 0 };
	char err[256];
	int n = 0;

	if (c->fenced)
		return;
	c->fenced = true;
	heartbeat_set_writing(c->hb, false);
	if (c->healthy_once)
		heartbeat_mark_fenced(c->hb);
	if (guests_each_view(c->srv->store, collect, &l, err, sizeof(err)) < 0)
		log_err("fencing: cannot list the guests: %s", err);
	for (size_t i = 0; i < l.n; i++) {
		const struct ps_guest *g = poolstate_find(st, l.v[i].path);

		if (runs(l.v[i].st) && poolstate_ha(st, g)) {
			power_off(c->srv, l.v[i].path);
			n++;
		}
	}
	locals_free(&l);
	if (st->pool_ha || n)
		log_warn("fencing this server (%s): powering off its %d HA guest%s", why, n,
			 n == 1 ? "" : "s");
	else
		log_info("out of the cluster (%s); no HA guests here", why);
}

/* Why this server must fence itself, or NULL. A copy being synced is no
 * reason: every view change starts a sync, and the copy catches up. */
static const char *fence_reason(struct pool_cluster *c)
{
	int64_t now = loop_now(c->srv->loop);
	int64_t grace = (int64_t)c->srv->cfg.hb_timeout * 1000;

	/* votequorum's word alone: with its corosync in a quorate partition
	 * nobody fails this server over (its host is in the membership),
	 * even when other agents are away from the group (acting() is for
	 * changing things) */
	if (!c->up)
		return "no link to corosync";
	if (!c->quorate)
		return "the cluster lost quorum";
	if (!c->fenced && c->healthy_once && now - c->writing_since > grace &&
	    heartbeat_own_age(c->hb) > grace)
		return "its heartbeat slot cannot be written";
	return NULL;
}

static void check_health(struct pool_cluster *c)
{
	const char *why = fence_reason(c);
	int64_t now = loop_now(c->srv->loop);

	if (!why) {
		/* (back) in: write the heartbeat once the copy is the group's */
		if ((c->fenced || !c->healthy_once) && poolrepl_synced(c->repl)) {
			if (c->fenced && c->healthy_once)
				log_info("back in the cluster: writing the heartbeat again");
			c->fenced = false;
			c->healthy_once = true;
			c->writing_since = now;
			heartbeat_set_writing(c->hb, true);
		}
		return;
	}
	/* at start-up, give the link a moment before calling it lost */
	if (c->healthy_once || now - c->started > (int64_t)c->srv->cfg.fence_timeout * 500)
		fence(c, why);
}

/* ---- the master ----------------------------------------------------------------------- */

bool pool_cluster_in_view(struct server *srv, uint32_t nodeid)
{
	struct pool_cluster *c = of(srv);

	for (size_t i = 0; c && i < c->n; i++)
		if (c->members[i] == nodeid)
			return true;
	return false;
}

uint32_t pool_cluster_node_of(struct server *srv, const char *ip)
{
	struct pool_cluster *c = of(srv);

	return c && c->link && ip[0] ? corolink_node_id(c->link, ip) : 0;
}

static bool is_pool_server(struct server *srv, const char *ip)
{
	struct pool_member m;
	char err[256];

	return pool_member_get(srv->store, ip, &m, err, sizeof(err)) == 1;
}

static void on_elected(void *arg, int fault, const char *msg)
{
	struct pool_cluster *c = arg;

	if (fault) {
		log_warn("cannot take over as the pool's master: %s", msg);
		c->elected_epoch = 0;   /* the next look tries again */
	}
}

/* The master left (or there never was one in the group): the lowest
 * node id among the pool's servers in the group takes over. Every member
 * computes the same answer from the same view; only that one speaks. */
static void elect(struct pool_cluster *c)
{
	const struct poolstate *st = poolrepl_state(c->repl);
	char ip[POOL_IP_MAX], err[256];
	uint32_t cand = 0, id;
	struct buf b;

	if (!acting(c) || !poolrepl_synced(c->repl) || !c->self)
		return;
	/* the master: the elected one, else (the first time) the one the
	 * pool was formed with */
	if (st->master[0])
		snprintf(ip, sizeof(ip), "%s", st->master);
	else if (pool_master_get(c->srv->store, ip, err, sizeof(err)) != 1)
		ip[0] = '\0';
	id = ip[0] ? corolink_node_id(c->link, ip) : 0;
	if (id && pool_cluster_in_view(c->srv, id)) {
		c->master_absent_since = 0;
		if (!st->master[0])
			cand = id;      /* here: it confirms itself */
	} else if (id && corolink_ring_gone_ms(c->link, id) < 0) {
		/* its host is still in corosync's membership: its agent may be
		 * starting or restarting; a while, then the others take over */
		int64_t now = loop_now(c->srv->loop);

		if (!c->master_absent_since)
			c->master_absent_since = now;
		if (now - c->master_absent_since < MASTER_GRACE_MS)
			return;
	}
	if (cand == 0 && id && pool_cluster_in_view(c->srv, id))
		return;         /* the master is here and elected */
	for (size_t i = 0; !cand && i < c->n; i++)
		if (corolink_node_ip(c->link, c->members[i], ip) == 1 && is_pool_server(c->srv, ip))
			cand = c->members[i];
	if (cand != c->self || c->elected_epoch > st->master_epoch)
		return;
	c->elected_epoch = st->master_epoch + 1;
	log_info("%s the pool's master: %s", st->master[0] ? "taking over as" : "confirmed as",
		 st->master[0] ? "the master left the cluster" : "first election");
	buf_init(&b, 0);
	ps_op_master(&b, c->self_ip, st->master_epoch + 1);
	pool_cluster_change(c->srv, &b, on_elected, c);
	buf_free(&b);
}

/* After a change: the store's master_ip follows the elected one. */
static void follow_master(struct pool_cluster *c)
{
	const struct poolstate *st = poolrepl_state(c->repl);
	char now[POOL_IP_MAX], err[256];

	if (!st->master[0] || pool_master_get(c->srv->store, now, err, sizeof(err)) != 1 ||
	    strcmp(now, st->master) == 0)
		return;
	if (pool_master_set(c->srv->store, st->master, err, sizeof(err)) < 0)
		log_err("cannot record the new master %s: %s", st->master, err);
	else
		log_info("the pool's master is now %s (epoch %" PRIu64 ")", st->master,
			 st->master_epoch);
}

bool pool_cluster_is_master(struct server *srv)
{
	struct pool_cluster *c = of(srv);

	return c && acting(c) && poolrepl_synced(c->repl) && c->self_ip[0] &&
	       strcmp(poolrepl_state(c->repl)->master, c->self_ip) == 0;
}

/* ---- after a sync: guests here the pool gave to another ------------------------- */

static void on_claimed(void *arg, int fault, const char *msg)
{
	if (fault)
		log_warn("cannot record a guest as running here: %s", msg);
}

/* A server back from a partition or a restart may still run guests the
 * others restarted meanwhile: the pool's owner wins, the copy here is
 * powered off. Guests running here the pool has no owner for are claimed. */
static void reconcile(struct pool_cluster *c)
{
	const struct poolstate *st = poolrepl_state(c->repl);
	struct locals l = { 0 };
	struct buf b;
	char err[256];
	size_t claims = 0;

	if (guests_each_view(c->srv->store, collect, &l, err, sizeof(err)) < 0) {
		log_err("cannot list the guests: %s", err);
		return;
	}
	buf_init(&b, 0);
	for (size_t i = 0; i < l.n; i++) {
		const struct ps_guest *g = poolstate_find(st, l.v[i].path);

		if (!runs(l.v[i].st) || guest_busy(c->srv, l.v[i].path))
			continue;
		if (g && g->owner[0] && strcmp(g->owner, c->self_ip) != 0 && g->running) {
			log_warn("%s runs on %s by the pool's state (epoch %" PRIu64 "): powering "
				 "off the copy here", l.v[i].path, g->owner, g->epoch);
			power_off(c->srv, l.v[i].path);
		} else if ((!g || !g->running || strcmp(g->owner, c->self_ip) != 0) &&
			   claims < PS_BATCH_MAX - 1) {
			ps_op_own(&b, l.v[i].path, c->self_ip, g ? g->epoch + 1 : 1, true);
			claims++;
		}
	}
	if (claims)
		pool_cluster_change(c->srv, &b, on_claimed, NULL);
	buf_free(&b);
	locals_free(&l);
}

/* Once per sync, as soon as this server may act. */
static void maybe_reconcile(struct pool_cluster *c)
{
	if (!c->reconciled && poolrepl_synced(c->repl) && acting(c)) {
		c->reconciled = true;
		reconcile(c);
	}
}

/* ---- the link's events -------------------------------------------------------------- */

static void fail_waiting(struct pool_cluster *c, const char *why)
{
	struct waiting *list = c->waiting;

	/* detached first: a done that changes the state again waits anew */
	c->waiting = NULL;
	while (list) {
		struct waiting *w = list;
		list = w->next;
		w->done(w->arg, FAULT_STATE, why);
		free(w);
	}
}

static void learn_self(struct pool_cluster *c)
{
	c->self = corolink_self(c->link);
	if (c->self && corolink_node_ip(c->link, c->self, c->self_ip) != 1) {
		log_warn("this node (id %" PRIu32 ") has no address in corosync's nodelist",
			 c->self);
		c->self_ip[0] = '\0';
	}
	poolrepl_set_self(c->repl, c->self);
	heartbeat_set_self(c->hb, c->self, c->self_ip);
}

static void on_link(void *arg, bool up)
{
	struct pool_cluster *c = arg;

	c->up = up;
	if (up) {
		learn_self(c);
		log_info("joined the cluster's group %s as node %" PRIu32 " (%s)", GROUP, c->self,
			 c->self_ip[0] ? c->self_ip : "no address");
	} else {
		c->quorate = false;
		fail_waiting(c, "this server lost its link to the cluster (corosync)");
	}
	check_health(c);
}

static void on_view(void *arg, const uint32_t *members, size_t n, const uint32_t *left,
		    size_t nleft, const uint32_t *joined, size_t njoined)
{
	struct pool_cluster *c = arg;

	if (!c->self)
		learn_self(c);
	c->n = n > NODES ? NODES : n;
	memcpy(c->members, members, c->n * sizeof(*members));
	for (size_t i = 0; i < nleft; i++)
		log_info("node %" PRIu32 "'s agent left the group", left[i]);
	poolrepl_view(c->repl, members, n);
	check_health(c);
}

static void on_message(void *arg, uint32_t from, const void *data, size_t len)
{
	struct pool_cluster *c = arg;

	poolrepl_message(c->repl, from, data, len);
}

static void on_quorum(void *arg, bool quorate)
{
	struct pool_cluster *c = arg;

	if (c->quorate != quorate)
		log_info("the cluster is %squorate", quorate ? "" : "not ");
	c->quorate = quorate;
	check_health(c);
	maybe_reconcile(c);
	elect(c);
}

static const struct corolink_ops link_ops = {
	.on_view = on_view, .on_message = on_message, .on_quorum = on_quorum, .on_link = on_link,
};

/* ---- the copy's events ---------------------------------------------------------------- */

static int repl_send(void *arg, const void *data, size_t len)
{
	struct pool_cluster *c = arg;
	char err[256];

	if (corolink_send(c->link, data, len, err, sizeof(err)) < 0) {
		log_warn("cannot multicast to the cluster: %s", err);
		return -1;
	}
	return 0;
}

static void repl_changed(void *arg)
{
	struct pool_cluster *c = arg;

	if (!timer_armed(&c->save))
		timer_start(c->srv->loop, &c->save, 0);
	follow_master(c);
}

static void repl_synced(void *arg)
{
	struct pool_cluster *c = arg;

	log_info("pool state synchronised with the %zu server%s of the group", c->n,
		 c->n == 1 ? "" : "s");
	c->reconciled = false;
	check_health(c);
	maybe_reconcile(c);
	elect(c);
}

static void repl_delivered(void *arg, uint32_t from, const void *data, size_t len)
{
	struct pool_cluster *c = arg;
	uint64_t id;

	if (from != c->self || !(id = poolstate_op_id(data, len)))
		return;
	for (struct waiting **pp = &c->waiting; *pp; pp = &(*pp)->next)
		if ((*pp)->id == id) {
			struct waiting *w = *pp;
			*pp = w->next;
			w->done(w->arg, 0, NULL);
			free(w);
			return;
		}
}

static void repl_refused(void *arg, uint32_t from, const char *why)
{
	log_warn("pool state message from node %" PRIu32 " refused: %s", from, why);
}

static const struct poolrepl_ops repl_ops = {
	.send = repl_send, .changed = repl_changed, .synced = repl_synced,
	.delivered = repl_delivered, .refused = repl_refused,
};

/* ---- changes ------------------------------------------------------------------------ */

static size_t pool_size(struct server *srv)
{
	struct pool_member *all = NULL;
	char err[256];
	size_t n = 0;

	if (pool_members(srv->store, &all, &n, err, sizeof(err)) < 0)
		return SIZE_MAX;
	free(all);
	return n;
}

void pool_cluster_change(struct server *srv, struct buf *op, pool_change_cb done, void *arg)
{
	struct pool_cluster *c = of(srv);
	char err[512];
	struct buf m;

	buf_init(&m, PS_MSG_MAX);
	ps_op_begin(&m);
	if (c && c->up && !acting(c)) {
		/* a minority must not change what the majority will keep */
		done(arg, FAULT_STATE, "the cluster is not quorate here: no change to the pool "
		     "state until it is");
	} else if (c && c->up) {
		struct waiting *w = xcalloc(1, sizeof(*w));

		w->id = ++c->next_id;
		ps_op_id(&m, w->id);
		buf_append(&m, op->data, op->len);
		if (op->failed || poolrepl_propose(c->repl, &m, err, sizeof(err)) < 0) {
			free(w);
			done(arg, FAULT_STATE, op->failed ? "the change is too large" : err);
		} else {
			w->deadline = loop_now(srv->loop) + CHANGE_TIMEOUT_MS;
			w->done = done;
			w->arg = arg;
			w->next = c->waiting;
			c->waiting = w;
		}
	} else if (!c || pool_size(srv) <= 1) {
		/* alone: nobody else holds a copy */
		buf_append(&m, op->data, op->len);
		if (!c)
			done(arg, FAULT_STATE, "the cluster is disabled on this server (cluster=disable)");
		else if (op->failed)
			done(arg, FAULT_STATE, "the change is too large");
		else if (poolrepl_apply_local(c->repl, &m, err, sizeof(err)) < 0)
			done(arg, FAULT_INVALID_ARGUMENT, err);
		else
			done(arg, 0, NULL);
	} else {
		done(arg, FAULT_STATE, "this server is not in its pool's cluster: corosync is not "
		     "running here (ovs-cluster-configure starts it; ovs-cluster-check says what "
		     "is wrong)");
	}
	buf_free(&m);
}

static void on_ran(void *arg, int fault, const char *msg)
{
	char *path = arg;

	if (fault)
		log_debug("%s: the pool state does not say where it runs: %s", path, msg);
	free(path);
}

void pool_guest_ran(struct server *srv, const char *path, bool running)
{
	struct pool_cluster *c = of(srv);
	const struct poolstate *st;
	const struct ps_guest *g;
	char self[POOL_IP_MAX], err[256];
	const char *me;
	struct buf b;

	if (!c || pool_self_get(srv->store, self, err, sizeof(err)) != 1)
		return;                 /* not in a pool: nobody to tell */
	me = c->self_ip[0] ? c->self_ip : self;
	st = poolrepl_state(c->repl);
	g = poolstate_find(st, path);
	if (running ? (g && g->running && strcmp(g->owner, me) == 0) :
		      !(g && g->running && strcmp(g->owner, me) == 0))
		return;
	buf_init(&b, 0);
	ps_op_own(&b, path, me, g ? g->epoch + 1 : 1, running);
	pool_cluster_change(srv, &b, on_ran, xstrdup(path));
	buf_free(&b);
}

/* ---- the tick --------------------------------------------------------------------------- */

static void on_tick(struct timer *t)
{
	struct pool_cluster *c = t->data;
	int64_t now = loop_now(c->srv->loop);

	for (struct waiting **pp = &c->waiting; *pp;) {
		struct waiting *w = *pp;
		if (w->deadline > now) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		w->done(w->arg, FAULT_TIMEOUT, "the cluster did not deliver the change in time");
		free(w);
	}
	check_health(c);
	maybe_reconcile(c);
	elect(c);
	if (pool_cluster_is_master(c->srv))
		ha_tick(c->ha);
	pool_share_tick(c->share);
	timer_start(c->srv->loop, &c->tick, TICK_MS);
}

struct ha *pool_cluster_ha(struct server *srv)
{
	return of(srv) ? of(srv)->ha : NULL;
}

struct pool_share *pool_cluster_share(struct server *srv)
{
	return of(srv) ? of(srv)->share : NULL;
}

/* ---- what others read ------------------------------------------------------------------- */

const struct poolstate *pool_cluster_state(struct server *srv)
{
	static const struct poolstate none;

	return of(srv) ? poolrepl_state(of(srv)->repl) : &none;
}

void pool_cluster_info(struct server *srv, struct pool_cluster_info *out)
{
	struct pool_cluster *c = of(srv);

	memset(out, 0, sizeof(*out));
	out->hb_own_age_ms = INT64_MAX;
	if (!c)
		return;
	out->enabled = true;
	out->up = c->up;
	out->quorate = acting(c);  /* quorate and a majority view: may act */
	out->synced = poolrepl_synced(c->repl);
	out->fenced = c->fenced;
	out->self = c->self;
	memcpy(out->self_ip, c->self_ip, sizeof(out->self_ip));
	out->n = c->n;
	memcpy(out->members, c->members, c->n * sizeof(*c->members));
	out->hb_own_age_ms = heartbeat_own_age(c->hb);
}

int64_t pool_cluster_gone_ms(struct server *srv, uint32_t nodeid)
{
	struct pool_cluster *c = of(srv);
	int64_t gone;

	if (!c || pool_cluster_in_view(srv, nodeid))
		return -1;
	/* an agent that left the group while its corosync stays a member
	 * may have guests running on: only the host leaving counts */
	gone = corolink_ring_gone_ms(c->link, nodeid);
	if (gone == INT64_MAX)  /* never seen since the link came up: count from then */
		gone = loop_now(srv->loop) - c->started;
	return gone;
}

void pool_cluster_slot(struct server *srv, uint32_t nodeid, struct hb_view *v)
{
	struct pool_cluster *c = of(srv);

	memset(v, 0, sizeof(*v));
	if (c)
		heartbeat_slot(c->hb, nodeid, v);
}

int pool_cluster_node_ip(struct server *srv, uint32_t nodeid, char ip[POOL_IP_MAX])
{
	struct pool_cluster *c = of(srv);

	return c && c->link ? corolink_node_ip(c->link, nodeid, ip) : 0;
}

/* ---- life ----------------------------------------------------------------------------- */

struct pool_cluster *pool_cluster_new(struct server *srv)
{
	struct pool_cluster *c;
	struct poolstate s;
	char *hb_path;

	if (!srv->cfg.cluster)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->srv = srv;
	c->started = loop_now(srv->loop);
	load(srv, &s);
	c->repl = poolrepl_new(&s, 0, &repl_ops, c);
	hb_path = xasprintf("%s/.server_pool_hb", srv->cfg.cluster_root);
	c->hb = heartbeat_new(srv->loop, hb_path, srv->cfg.hb_interval * 1000,
			      srv->cfg.hb_timeout * 1000);
	free(hb_path);
	c->ha = ha_new(srv);
	c->share = pool_share_new(srv);
	timer_init(&c->save, on_save, c);
	timer_init(&c->tick, on_tick, c);
	srv->cluster = c;
	c->link = corolink_new(srv->loop, GROUP, &link_ops, c);
	timer_start(srv->loop, &c->tick, TICK_MS);
	return c;
}

void pool_cluster_free(struct pool_cluster *c)
{
	if (!c)
		return;
	pool_share_free(c->share);
	fail_waiting(c, "the agent is stopping");
	corolink_free(c->link);
	if (timer_armed(&c->save)) {
		timer_stop(c->srv->loop, &c->save);
		on_save(&c->save);
	}
	timer_stop(c->srv->loop, &c->tick);
	ha_free(c->ha);
	heartbeat_free(c->hb);
	poolrepl_free(c->repl);
	c->srv->cluster = NULL;
	free(c);
}
