/* corolink.c - the CPG group, votequorum and the nodelist in the loop
 * (corolink.h).
 *
 * Connecting: cpg (model v1), join, votequorum tracking current and
 * changes, a cmap handle for the nodelist. Each of those is a libqb IPC
 * connection; its fds are libqb's own (it opens them close-on-exec), we
 * only mark the two dispatch fds close-on-exec again to be sure. The link
 * is "up" once a view that holds our own (nodeid, pid) has arrived. Any
 * dispatch error, or a hang-up on either fd, takes the link down and
 * arms the 2 s retry. */
#define LOG_CAT "corolink"
#include "agent/cluster/corolink.h"

#include <corosync/cmap.h>
#include <corosync/cpg.h>
#include <corosync/votequorum.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include "agent/base/log.h"
#include "agent/base/loop.h"
#include "agent/base/util.h"
#include "db/pool.h"

#define CORO_NODES_MAX 1024         /* nodelist entries kept */
#define CORO_RING_IDS 256           /* node ids whose membership is tracked */
#define CORO_FLUSH_MS  20           /* queue retry period on CS_ERR_TRY_AGAIN */

struct coro_node {
	uint32_t id;
	char ip[POOL_IP_MAX];
};

struct coro_msg {
	struct coro_msg *next;
	size_t len;
	unsigned char data[];
};

struct corolink {
	struct loop *loop;
	struct cpg_name group;
	const struct corolink_ops *ops;
	void *arg;

	cpg_handle_t cpg;
	votequorum_handle_t vq;
	cmap_handle_t cmap;
	bool cpg_open, vq_open, cmap_open, joined;
	struct io cpg_io, vq_io;
	struct timer retry, flush;

	bool up, quorate, viewed;   /* viewed: a non-empty view was given */
	bool said_away;             /* "corosync not reachable" logged once */
	uint32_t local_nodeid, self;
	uint32_t pid;

	struct coro_node *nodes;
	size_t nnodes;

	/* corosync's own membership (votequorum's node list), for node ids
	 * below CORO_RING_IDS: a node whose agent left the group may still
	 * run its guests while its corosync is a member */
	bool ring_in[CORO_RING_IDS];
	int64_t ring_left[CORO_RING_IDS]; /* loop time it left; 0 never seen */

	struct coro_msg *qhead, *qtail;
	size_t qbytes;
};

static void link_down(struct corolink *l, const char *why);

/* ---- the nodelist (cmap) ------------------------------------------------ */

/* Reads nodelist.node.<idx>.{nodeid,ring0_addr} (idx below
 * CORO_NODES_MAX); entries without a nodeid or an address literal are left
 * out. Keeps the old table when cmap cannot be read. */
static void nodes_read(struct corolink *l)
{
	struct coro_node *tab;
	size_t kept = 0;
	cmap_iter_handle_t it;
	char key[CMAP_KEYNAME_MAXLEN + 1];
	size_t vlen;
	cmap_value_types_t type;
	cs_error_t e;

	if (!l->cmap_open)
		return;
	e = cmap_iter_init(l->cmap, "nodelist.node.", &it);
	if (e != CS_OK) {
		log_warn("cmap nodelist: %s", cs_strerror(e));
		return;
	}
	tab = xcalloc(CORO_NODES_MAX, sizeof(*tab));
	while (cmap_iter_next(l->cmap, it, key, &vlen, &type) == CS_OK) {
		const char *rest = key + strlen("nodelist.node.");
		char *end;
		unsigned long idx = strtoul(rest, &end, 10);
		struct coro_node *nd;

		if (end == rest || *end != '.' || idx >= CORO_NODES_MAX)
			continue;
		end++;
		nd = &tab[idx];
		if (!strcmp(end, "nodeid")) {
			uint32_t id = 0;

			if (type == CMAP_VALUETYPE_UINT32 && cmap_get_uint32(l->cmap, key, &id) == CS_OK)
				nd->id = id;
		} else if (!strcmp(end, "ring0_addr") && type == CMAP_VALUETYPE_STRING &&
			   vlen <= 256) {
			char *s = NULL;

			if (cmap_get_string(l->cmap, key, &s) == CS_OK && s &&
			    pool_ip_canon(s, nd->ip) != 0)
				nd->ip[0] = '\0';
			free(s);
		}
	}
	cmap_iter_finalize(l->cmap, it);
	for (size_t i = 0; i < CORO_NODES_MAX; i++)
		if (tab[i].id && tab[i].ip[0])
			tab[kept++] = tab[i];
	free(l->nodes);
	l->nodes = tab;
	l->nnodes = kept;
}

int corolink_node_ip(struct corolink *l, uint32_t nodeid, char ip[46])
{
	for (size_t i = 0; i < l->nnodes; i++)
		if (l->nodes[i].id == nodeid) {
			memcpy(ip, l->nodes[i].ip, POOL_IP_MAX);
			return 1;
		}
	return 0;
}

uint32_t corolink_node_id(struct corolink *l, const char *ip)
{
	char canon[POOL_IP_MAX];

	if (pool_ip_canon(ip, canon) != 0)
		return 0;
	for (size_t i = 0; i < l->nnodes; i++)
		if (!strcmp(l->nodes[i].ip, canon))
			return l->nodes[i].id;
	return 0;
}

/* ---- CPG callbacks (from cpg_dispatch) --------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void on_deliver(cpg_handle_t h, const struct cpg_name *group, uint32_t nodeid,
		       uint32_t pid, void *msg, size_t len)
{
	struct corolink *l = NULL;

	if (cpg_context_get(h, (void **)&l) != CS_OK || !l)
		return;
	if (len > CORO_MSG_MAX) {
		log_warn("a message of %zu bytes from node %u dropped (more than %u)",
			 len, nodeid, CORO_MSG_MAX);
		return;
	}
	if (l->up && l->ops->on_message)
		l->ops->on_message(l->arg, nodeid, msg, len);
}

static size_t node_ids(const struct cpg_address *a, size_t n, uint32_t *out)
{
	if (n > CPG_MEMBERS_MAX)
		n = CPG_MEMBERS_MAX;
	for (size_t i = 0; i < n; i++)
		out[i] = a[i].nodeid;
	return n;
}

static void on_confchg(cpg_handle_t h, const struct cpg_name *group,
		       const struct cpg_address *members, size_t nmembers,
		       const struct cpg_address *left, size_t nleft,
		       const struct cpg_address *joined, size_t njoined)
{
	struct corolink *l = NULL;
	uint32_t m[CPG_MEMBERS_MAX], lf[CPG_MEMBERS_MAX], jn[CPG_MEMBERS_MAX];
	size_t n = 0, nl, nj;
	bool me = false;

	if (cpg_context_get(h, (void **)&l) != CS_OK || !l)
		return;
	if (nmembers > CPG_MEMBERS_MAX)
		nmembers = CPG_MEMBERS_MAX;
	/* Node ids, ascending, each once (one node may run several members). */
	for (size_t i = 0; i < nmembers; i++) {
		if (members[i].nodeid == l->local_nodeid && members[i].pid == l->pid)
			me = true;
		m[n++] = members[i].nodeid;
	}
	qsort(m, n, sizeof(m[0]), cmp_u32);
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (u == 0 || m[u - 1] != m[i])
			m[u++] = m[i];
	n = u;
	nl = node_ids(left, nleft, lf);
	nj = node_ids(joined, njoined, jn);
	if (!me) {
		log_debug("a view without us (%zu nodes): ignored", n);
		return;
	}
	nodes_read(l);
	if (!l->up) {
		l->up = true;
		l->self = l->local_nodeid;
		log_info("joined group %.*s as node %u", (int)l->group.length, l->group.value,
			 l->self);
		if (l->ops->on_link)
			l->ops->on_link(l->arg, true);
	}
	l->viewed = true;
	if (l->ops->on_view)
		l->ops->on_view(l->arg, m, n, lf, nl, jn, nj);
}

static void on_quorum_notify(votequorum_handle_t h, uint64_t context, uint32_t quorate,
			     uint32_t nnodes, votequorum_node_t nodes[])
{
	struct corolink *l = NULL;
	bool q = quorate != 0;

	if (votequorum_context_get(h, (void **)&l) != CS_OK || !l)
		return;
	{
		bool now[CORO_RING_IDS] = { false };
		int64_t t = loop_now(l->loop);

		for (uint32_t i = 0; i < nnodes; i++)
			if (nodes[i].nodeid < CORO_RING_IDS &&
			    nodes[i].state == VOTEQUORUM_NODESTATE_MEMBER)
				now[nodes[i].nodeid] = true;
		for (size_t i = 0; i < CORO_RING_IDS; i++) {
			if (l->ring_in[i] && !now[i])
				l->ring_left[i] = t;
			l->ring_in[i] = now[i];
		}
	}
	if (q == l->quorate)
		return;
	l->quorate = q;
	log_info("%s", q ? "quorate" : "not quorate");
	if (l->ops->on_quorum)
		l->ops->on_quorum(l->arg, q);
}

int64_t corolink_ring_gone_ms(const struct corolink *l, uint32_t nodeid)
{
	if (!l || nodeid >= CORO_RING_IDS || l->ring_in[nodeid])
		return -1;      /* a member, or an id we do not track: never gone */
	return l->ring_left[nodeid] ? loop_now(l->loop) - l->ring_left[nodeid] : INT64_MAX;
}

size_t corolink_node_count(const struct corolink *l)
{
	return l ? l->nnodes : 0;
}

/* ---- the fds in the loop ------------------------------------------------ */

/* The cpg or the votequorum fd is readable (or hung up). */
static void fd_ready(struct io *io, uint32_t events)
{
	struct corolink *l = io->data;
	bool cpg = io == &l->cpg_io;
	cs_error_t e = cpg ? cpg_dispatch(l->cpg, CS_DISPATCH_ALL)
			   : votequorum_dispatch(l->vq, CS_DISPATCH_ALL);

	if (e != CS_OK && e != CS_ERR_TRY_AGAIN)
		link_down(l, cs_strerror(e));
	else if (events & (EPOLLHUP | EPOLLERR))
		link_down(l, cpg ? "the cpg connection hung up" : "the votequorum connection hung up");
}

/* Closes every handle; no callback. */
static void disconnect(struct corolink *l)
{
	io_del(l->loop, &l->cpg_io);
	io_del(l->loop, &l->vq_io);
	if (l->cpg_open) {
		if (l->joined)
			cpg_leave(l->cpg, &l->group);
		cpg_finalize(l->cpg);
	}
	if (l->vq_open)
		votequorum_finalize(l->vq);
	if (l->cmap_open)
		cmap_finalize(l->cmap);
	l->cpg_open = l->vq_open = l->cmap_open = l->joined = false;
	l->local_nodeid = 0;
}

static void queue_drop(struct corolink *l)
{
	while (l->qhead) {
		struct coro_msg *m = l->qhead;

		l->qhead = m->next;
		free(m);
	}
	l->qtail = NULL;
	l->qbytes = 0;
	timer_stop(l->loop, &l->flush);
}

/* fd (libqb's, close-on-exec already; made sure) into the loop. */
static int watch(struct corolink *l, struct io *io, int fd)
{
	fd_set_cloexec(fd);
	return io_add(l->loop, io, fd, EPOLLIN, fd_ready, l);
}

/* Connects, joins and starts tracking; 0, or -1 with why (all closed). */
static int try_connect(struct corolink *l, char *why, size_t whylen)
{
	cpg_model_v1_data_t model = {
		.model = CPG_MODEL_V1,
		.cpg_deliver_fn = on_deliver,
		.cpg_confchg_fn = on_confchg,
	};
	votequorum_callbacks_t vcb = { .votequorum_quorum_notify_fn = on_quorum_notify };
	const char *step;
	int fd = -1;
	cs_error_t e;

	step = "cpg";
	e = cpg_model_initialize(&l->cpg, CPG_MODEL_V1, (cpg_model_data_t *)&model, l);
	if (e != CS_OK)
		goto fail;
	l->cpg_open = true;
	step = "cpg_local_get";
	if ((e = cpg_local_get(l->cpg, &l->local_nodeid)) != CS_OK)
		goto fail;
	step = "cpg_fd_get";
	if ((e = cpg_fd_get(l->cpg, &fd)) != CS_OK)
		goto fail;
	if (watch(l, &l->cpg_io, fd) != 0)
		goto fail_watch;

	step = "votequorum";
	if ((e = votequorum_initialize(&l->vq, &vcb)) != CS_OK)
		goto fail;
	l->vq_open = true;
	step = "votequorum_context_set";
	if ((e = votequorum_context_set(l->vq, l)) != CS_OK)
		goto fail;
	step = "votequorum_fd_get";
	if ((e = votequorum_fd_get(l->vq, &fd)) != CS_OK)
		goto fail;
	if (watch(l, &l->vq_io, fd) != 0)
		goto fail_watch;
	step = "votequorum_trackstart";
	if ((e = votequorum_trackstart(l->vq, 0, CS_TRACK_CURRENT | CS_TRACK_CHANGES)) != CS_OK)
		goto fail;

	step = "cmap";
	if ((e = cmap_initialize(&l->cmap)) != CS_OK)
		goto fail;
	l->cmap_open = true;
	nodes_read(l);

	step = "cpg_join";
	if ((e = cpg_join(l->cpg, &l->group)) != CS_OK)
		goto fail;
	l->joined = true;
	return 0;
fail_watch:
	snprintf(why, whylen, "%s: cannot watch the fd", step);
	goto out;
fail:
	snprintf(why, whylen, "%s: %s", step, cs_strerror(e));
out:
	disconnect(l);
	return -1;
}

static void connect_now(struct corolink *l)
{
	char why[128];

	if (try_connect(l, why, sizeof(why)) == 0) {
		l->said_away = false;
		log_debug("connected to corosync (node %u), joining", l->local_nodeid);
		return;
	}
	if (!l->said_away) {
		log_info("corosync not reachable (%s): retrying every %d s", why,
			 CORO_RETRY_MS / 1000);
		l->said_away = true;
	}
	timer_start(l->loop, &l->retry, CORO_RETRY_MS);
}

static void retry_fired(struct timer *t)
{
	connect_now(t->data);
}

/* Everything closed, the caller told (what was up goes down), retry armed. */
static void link_down(struct corolink *l, const char *why)
{
	bool was_up = l->up, viewed = l->viewed, quorate = l->quorate;

	log_warn("lost corosync (%s): retrying every %d s", why, CORO_RETRY_MS / 1000);
	disconnect(l);
	queue_drop(l);
	l->up = l->viewed = l->quorate = false;
	l->self = 0;
	l->said_away = true;
	timer_start(l->loop, &l->retry, CORO_RETRY_MS);
	if (was_up && l->ops->on_link)
		l->ops->on_link(l->arg, false);
	if (viewed && l->ops->on_view)
		l->ops->on_view(l->arg, NULL, 0, NULL, 0, NULL, 0);
	if (quorate && l->ops->on_quorum)
		l->ops->on_quorum(l->arg, false);
}

/* ---- sending ------------------------------------------------------------- */

static cs_error_t mcast(struct corolink *l, const void *data, size_t len)
{
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };

	return cpg_mcast_joined(l->cpg, CPG_TYPE_AGREED, &iov, 1);
}

static void flush_fired(struct timer *t)
{
	struct corolink *l = t->data;

	while (l->qhead) {
		struct coro_msg *m = l->qhead;
		cs_error_t e = mcast(l, m->data, m->len);

		if (e == CS_ERR_TRY_AGAIN) {
			timer_start(l->loop, &l->flush, CORO_FLUSH_MS);
			return;
		}
		if (e != CS_OK)
			log_warn("a queued message of %zu bytes not sent: %s", m->len,
				 cs_strerror(e));
		l->qhead = m->next;
		l->qbytes -= m->len;
		free(m);
	}
	l->qtail = NULL;
}

int corolink_send(struct corolink *l, const void *data, size_t len, char *err, size_t errlen)
{
	struct coro_msg *m;

	if (!l->up) {
		snprintf(err, errlen, "not joined to the cluster group (corosync not reachable)");
		return -1;
	}
	if (len > CORO_MSG_MAX) {
		snprintf(err, errlen, "message of %zu bytes: more than %u", len, CORO_MSG_MAX);
		return -1;
	}
	if (!l->qhead) {
		cs_error_t e = mcast(l, data, len);

		if (e == CS_OK)
			return 0;
		if (e != CS_ERR_TRY_AGAIN) {
			snprintf(err, errlen, "cpg_mcast_joined: %s", cs_strerror(e));
			return -1;
		}
	}
	if (len > CORO_QUEUE_MAX - l->qbytes) {
		snprintf(err, errlen, "corosync is busy and %zu bytes wait already", l->qbytes);
		return -1;
	}
	m = xmalloc(sizeof(*m) + len);
	m->next = NULL;
	m->len = len;
	memcpy(m->data, data, len);
	if (l->qtail)
		l->qtail->next = m;
	else
		l->qhead = m;
	l->qtail = m;
	l->qbytes += len;
	if (!timer_armed(&l->flush))
		timer_start(l->loop, &l->flush, CORO_FLUSH_MS);
	return 0;
}

/* ---- the link ------------------------------------------------------------ */

struct corolink *corolink_new(struct loop *loop, const char *group,
			      const struct corolink_ops *ops, void *arg)
{
	size_t glen = strlen(group);
	struct corolink *l;

	if (glen == 0 || glen >= CPG_MAX_NAME_LENGTH)
		return NULL;
	l = xcalloc(1, sizeof(*l));
	l->loop = loop;
	l->ops = ops;
	l->arg = arg;
	l->group.length = (uint32_t)glen;
	memcpy(l->group.value, group, glen);
	l->pid = (uint32_t)getpid();
	l->cpg_io.fd = l->vq_io.fd = -1;
	timer_init(&l->retry, retry_fired, l);
	timer_init(&l->flush, flush_fired, l);
	connect_now(l);
	return l;
}

void corolink_free(struct corolink *l)
{
	if (!l)
		return;
	disconnect(l);
	queue_drop(l);
	timer_stop(l->loop, &l->retry);
	free(l->nodes);
	free(l);
}

uint32_t corolink_self(const struct corolink *l)
{
	return l->self;
}

bool corolink_up(const struct corolink *l)
{
	return l->up;
}

bool corolink_quorate(const struct corolink *l)
{
	return l->quorate;
}
