/* poolrepl.c - the snapshot exchange at view changes and ops between. */
#include "agent/cluster/poolrepl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/base/util.h"

#define SYNC_MAGIC "OVSR1 SYNC "
#define RESYNC_MSG "OVSR1 RESYNC\n"

struct queued {
	struct queued *next;
	uint32_t from;
	size_t len;
	char data[];
};

struct poolrepl {
	const struct poolrepl_ops *ops;
	void *arg;
	uint32_t self;
	struct poolstate state;
	bool synced;

	/* the sync in progress */
	bool syncing;
	uint32_t members[REPL_MEMBERS_MAX];
	size_t n;
	bool got[REPL_MEMBERS_MAX];
	struct poolstate best;          /* the best snapshot so far */
	uint32_t best_from;             /* 0: none yet */
	struct queued *q, **qtail;
	size_t qbytes;
	bool overflow;
};

struct poolrepl *poolrepl_new(struct poolstate *initial, uint32_t self,
			      const struct poolrepl_ops *ops, void *arg)
{
	struct poolrepl *r = xcalloc(1, sizeof(*r));

	r->ops = ops;
	r->arg = arg;
	r->self = self;
	poolstate_move(&r->state, initial);
	r->qtail = &r->q;
	return r;
}

static void queue_clear(struct poolrepl *r)
{
	while (r->q) {
		struct queued *x = r->q;
		r->q = x->next;
		free(x);
	}
	r->qtail = &r->q;
	r->qbytes = 0;
	r->overflow = false;
}

void poolrepl_free(struct poolrepl *r)
{
	if (!r)
		return;
	queue_clear(r);
	poolstate_free(&r->best);
	poolstate_free(&r->state);
	free(r);
}

const struct poolstate *poolrepl_state(const struct poolrepl *r) { return &r->state; }
bool poolrepl_synced(const struct poolrepl *r) { return r->synced; }
void poolrepl_set_self(struct poolrepl *r, uint32_t self) { r->self = self; }

static void put_members(struct buf *b, const uint32_t *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_printf(b, "%s%" PRIu32, i ? "," : "", m[i]);
}

static void send_snapshot(struct poolrepl *r)
{
	struct buf b;

	buf_init(&b, PS_MSG_MAX);
	buf_puts(&b, SYNC_MAGIC);
	put_members(&b, r->members, r->n);
	buf_puts(&b, "\n");
	poolstate_encode(&r->state, &b);
	if (b.failed || r->ops->send(r->arg, b.data, b.len) < 0)
		r->ops->refused(r->arg, r->self, "cannot send our pool state snapshot");
	buf_free(&b);
}

void poolrepl_view(struct poolrepl *r, const uint32_t *members, size_t n)
{
	queue_clear(r);
	poolstate_free(&r->best);
	r->best_from = 0;
	r->synced = false;
	r->syncing = n > 0;
	r->n = n > REPL_MEMBERS_MAX ? REPL_MEMBERS_MAX : n;
	memcpy(r->members, members, r->n * sizeof(*members));
	memset(r->got, 0, sizeof(r->got));
	if (r->syncing)
		send_snapshot(r);
}

static int member_index(const struct poolrepl *r, uint32_t id)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->members[i] == id)
			return (int)i;
	return -1;
}

static void apply(struct poolrepl *r, uint32_t from, const void *data, size_t len)
{
	char err[256];
	int n = poolstate_apply(&r->state, data, len, err, sizeof(err));

	if (n < 0)
		r->ops->refused(r->arg, from, err);
	else if (n > 0)
		r->ops->changed(r->arg);
	if (n >= 0 && r->ops->delivered)
		r->ops->delivered(r->arg, from, data, len);
}

/* Every member's snapshot is in: adopt the best, replay what waited. */
static void finish(struct poolrepl *r)
{
	bool overflow = r->overflow;

	r->syncing = false;
	if (poolstate_newer(&r->best, &r->state) || r->best_from != r->self) {
		poolstate_move(&r->state, &r->best);
		r->ops->changed(r->arg);
	}
	poolstate_free(&r->best);
	while (r->q) {
		struct queued *x = r->q;
		r->q = x->next;
		if (poolstate_kind(x->data, x->len) == 1)
			apply(r, x->from, x->data, x->len);
		free(x);
	}
	queue_clear(r);
	if (overflow) {
		/* ops were dropped: our copy may lack them; everyone syncs again */
		r->ops->refused(r->arg, r->self, "too many ops during a sync: asking for another");
		r->syncing = true;
		r->ops->send(r->arg, RESYNC_MSG, strlen(RESYNC_MSG));
		return;
	}
	r->synced = true;
	r->ops->synced(r->arg);
}

static void on_snapshot(struct poolrepl *r, uint32_t from, const char *data, size_t len)
{
	const char *nl = memchr(data, '\n', len);
	struct buf tag;
	struct poolstate s;
	char err[256];
	int i = member_index(r, from);
	bool ours;

	if (!r->syncing || i < 0 || r->got[i] || !nl)
		return;                 /* another view's, or a second one */
	buf_init(&tag, 0);
	buf_puts(&tag, SYNC_MAGIC);
	put_members(&tag, r->members, r->n);
	ours = (size_t)(nl - data) == tag.len && memcmp(data, tag.data, tag.len) == 0;
	buf_free(&tag);
	if (!ours)
		return;
	if (poolstate_decode(&s, nl + 1, len - (size_t)(nl + 1 - data), err, sizeof(err)) < 0) {
		r->ops->refused(r->arg, from, err);
		/* still counted: a member whose snapshot we cannot read must
		 * not hold the sync forever; its state simply loses */
		poolstate_init(&s);
	} else if (!r->best_from || poolstate_newer(&s, &r->best) ||
		   (!poolstate_newer(&r->best, &s) && from < r->best_from)) {
		poolstate_move(&r->best, &s);
		r->best_from = from;
	}
	poolstate_free(&s);
	r->got[i] = true;
	for (size_t k = 0; k < r->n; k++)
		if (!r->got[k])
			return;
	finish(r);
}

void poolrepl_message(struct poolrepl *r, uint32_t from, const void *data, size_t len)
{
	int kind = poolstate_kind(data, len);

	if (len == strlen(RESYNC_MSG) && memcmp(data, RESYNC_MSG, len) == 0) {
		uint32_t m[REPL_MEMBERS_MAX];
		size_t n = r->n;

		memcpy(m, r->members, n * sizeof(*m));
		poolrepl_view(r, m, n);
		return;
	}
	if (len > strlen(SYNC_MAGIC) && memcmp(data, SYNC_MAGIC, strlen(SYNC_MAGIC)) == 0) {
		on_snapshot(r, from, data, len);
		return;
	}
	if (kind != 1) {
		r->ops->refused(r->arg, from, "a message that is not a pool state op");
		return;
	}
	if (!r->syncing) {
		if (r->synced)
			apply(r, from, data, len);
		return;                 /* out of the group: nothing to keep */
	}
	if (r->qbytes + len > REPL_QUEUE_MAX) {
		r->overflow = true;
		return;
	}
	struct queued *x = xmalloc(sizeof(*x) + len);
	x->next = NULL;
	x->from = from;
	x->len = len;
	memcpy(x->data, data, len);
	*r->qtail = x;
	r->qtail = &x->next;
	r->qbytes += len;
}

int poolrepl_propose(struct poolrepl *r, const struct buf *op, char *err, size_t errlen)
{
	if (!r->synced) {
		snprintf(err, errlen, "this server's copy of the pool state is being synchronised "
			 "with the cluster: try again in a moment");
		return -1;
	}
	if (op->failed || op->len > PS_MSG_MAX) {
		snprintf(err, errlen, "the change is too large for one message");
		return -1;
	}
	if (r->ops->send(r->arg, op->data, op->len) < 0) {
		snprintf(err, errlen, "cannot multicast the change to the cluster");
		return -1;
	}
	return 0;
}

int poolrepl_apply_local(struct poolrepl *r, const struct buf *op, char *err, size_t errlen)
{
	int n;

	if (op->failed) {
		snprintf(err, errlen, "the change is too large for one message");
		return -1;
	}
	n = poolstate_apply(&r->state, op->data, op->len, err, errlen);
	if (n > 0)
		r->ops->changed(r->arg);
	return n < 0 ? -1 : 0;
}
