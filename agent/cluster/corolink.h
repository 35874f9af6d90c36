/* corolink.h - this agent's link to the corosync on its host.
 *
 * One CPG group (membership and messages in agreed order), votequorum's
 * verdict and the nodelist from cmap, all in the agent's one loop: the
 * cpg and votequorum fds are watched and dispatched with CS_DISPATCH_ALL
 * (never blocking) when readable. Without corosync the link retries every
 * 2 s, quietly (one info line); when corosync goes away the caller is told
 * (on_link false, an empty view, not quorate) and the link retries.
 * Messages are only framed here: their content is the caller's to check.
 * Node ids are corosync's (nodeid in corosync.conf's nodelist). */
#ifndef OVS_COROLINK_H
#define OVS_COROLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;

#define CORO_MSG_MAX   (1u << 20)   /* one message, bytes */
#define CORO_QUEUE_MAX (8u << 20)   /* messages waiting on CS_ERR_TRY_AGAIN, bytes */
#define CORO_RETRY_MS  2000         /* reconnect period while corosync is away */

struct corolink_ops {
	/* Our CPG group's view changed (in delivery order with messages).
	 * members: the node ids now in the group, ascending; left/joined as
	 * CPG reports them. Also called with n=0 when the link goes down. */
	void (*on_view)(void *arg, const uint32_t *members, size_t n,
			const uint32_t *left, size_t nleft,
			const uint32_t *joined, size_t njoined);
	/* A message multicast to the group, agreed order, our own included. */
	void (*on_message)(void *arg, uint32_t from, const void *data, size_t len);
	/* votequorum's verdict changed (false also when the link is down). */
	void (*on_quorum)(void *arg, bool quorate);
	/* up: connected to corosync and joined to the group; false when
	 * corosync went away (the link retries every 2 s). */
	void (*on_link)(void *arg, bool up);
};

/* A link joining group (at most 127 bytes) on loop; tries to connect at
 * once. Callbacks come from the loop only, never from inside
 * corolink_new/corolink_send; an op may be NULL. corolink_free must not be
 * called from inside one of this link's callbacks. */
struct corolink *corolink_new(struct loop *loop, const char *group,
			      const struct corolink_ops *ops, void *arg);
void corolink_free(struct corolink *l);       /* leaves the group */
/* Multicast (CPG_TYPE_AGREED). 0, or -1 with err when not joined or the
 * message is too big (CORO_MSG_MAX 1 MiB). CS_ERR_TRY_AGAIN: queued
 * (bounded, CORO_QUEUE_MAX bytes), retried from the loop, order kept. */
int corolink_send(struct corolink *l, const void *data, size_t len, char *err, size_t errlen);
uint32_t corolink_self(const struct corolink *l);  /* 0 until joined */
bool corolink_up(const struct corolink *l);
bool corolink_quorate(const struct corolink *l);
/* The ring0_addr of nodeid in corosync's nodelist (cmap
 * nodelist.node.N.ring0_addr / .nodeid), canonical text (db/pool.h
 * pool_ip_canon); 1 found, 0 not in the list. Re-read at every view. */
int corolink_node_ip(struct corolink *l, uint32_t nodeid, char ip[46]);
/* The reverse: 0 when ip is no node's address. */
uint32_t corolink_node_id(struct corolink *l, const char *ip);
/* ms since nodeid left corosync's own membership (votequorum's node
 * list), INT64_MAX when never seen in it since the link came up, -1
 * while it is a member (or its id is 256 or above: not tracked). */
int64_t corolink_ring_gone_ms(const struct corolink *l, uint32_t nodeid);
/* How many nodes corosync's nodelist names (0 before the first read). */
size_t corolink_node_count(const struct corolink *l);

#endif
