/* poolrepl.h - keeping every agent's pool state equal through CPG.
 *
 * Between view changes every copy applies the same ops in the same
 * (agreed) order. At a view change the copies may differ: a server back
 * from a partition or a restart holds an old one. So at every view each
 * member multicasts its snapshot tagged with the view's member list, and
 * once a snapshot has come from every member, all of them adopt the same
 * one (the newest by poolstate_newer; of equals, the lowest node id's),
 * then apply the ops that were delivered after the view change, in order.
 * Until then the copy is "not synced": nobody acts on it (pmxcfs does the
 * same with its dfsm states). A snapshot of another view is ignored; ops
 * that overflow the queue make the member ask everyone for a new exchange.
 *
 * No corosync here: the caller passes views and messages in, and
 * poolrepl sends through ops->send, so the protocol is tested with
 * several copies in one process (tests/unit/test_poolrepl.c). */
#ifndef OVS_POOLREPL_H
#define OVS_POOLREPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/cluster/poolstate.h"

#define REPL_MEMBERS_MAX 256
#define REPL_QUEUE_MAX (8u << 20)       /* bytes of ops held during a sync */

struct poolrepl_ops {
	/* Multicast to the group; 0 or -1 (then a sync may not finish: the
	 * next view starts another). */
	int (*send)(void *arg, const void *data, size_t len);
	/* The state changed (an op applied or a snapshot adopted). */
	void (*changed)(void *arg);
	/* A sync ended: the copy is the group's. */
	void (*synced)(void *arg);
	/* An op message was applied to the copy (changed or not), in order:
	 * the sender of a tagged op learns it is in (poolstate_op_id). */
	void (*delivered)(void *arg, uint32_t from, const void *data, size_t len);
	/* What was wrong with a message from a member (logged by the caller). */
	void (*refused)(void *arg, uint32_t from, const char *why);
};

struct poolrepl;

/* The copy starts as *initial (moved in; the store's). */
struct poolrepl *poolrepl_new(struct poolstate *initial, uint32_t self,
			      const struct poolrepl_ops *ops, void *arg);
void poolrepl_free(struct poolrepl *r);

const struct poolstate *poolrepl_state(const struct poolrepl *r);
bool poolrepl_synced(const struct poolrepl *r);
/* Our node id may be known only once the link is up. */
void poolrepl_set_self(struct poolrepl *r, uint32_t self);

/* A new view: members ascending (n = 0: out of the group; the copy stays
 * as it is, not synced). Sends our snapshot. */
void poolrepl_view(struct poolrepl *r, const uint32_t *members, size_t n);
/* A message delivered by the group (our own too). */
void poolrepl_message(struct poolrepl *r, uint32_t from, const void *data, size_t len);

/* Multicast an op message (ps_op_begin ...). Refused (-1, err) while not
 * synced: an op decided on an old copy could undo newer ones. */
int poolrepl_propose(struct poolrepl *r, const struct buf *op, char *err, size_t errlen);
/* Out of any cluster (no corosync, one server): apply an op to the copy
 * directly. 0, or -1 with err. */
int poolrepl_apply_local(struct poolrepl *r, const struct buf *op, char *err, size_t errlen);

#endif
