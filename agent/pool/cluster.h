/* cluster.h - this agent in its pool's cluster: corosync's group, the
 * replicated pool state, the heartbeat, the master's election and
 * fencing (README, "Pools, the cluster and HA").
 *
 *   - The agent joins the CPG group "ovs-pool" of its host's corosync
 *     (agent/cluster/corolink.h) and keeps its copy of the pool state
 *     equal to the group's (agent/cluster/poolrepl.h), saved in the store
 *     after every change.
 *   - While quorate and synced it writes its heartbeat slot on the cluster
 *     root; the master restarts a failed server's HA guests elsewhere
 *     (agent/pool/ha.h) once that server has left the group AND its slot
 *     has gone stale AND fence_timeout has passed.
 *   - A server that loses quorum or its link, or cannot write its slot,
 *     fences itself: its HA guests are powered off at once, its slot says
 *     "fenced" and it stops writing.
 *   - When the master leaves the group, the member with the lowest node id
 *     among the pool's servers takes over (a MASTER op with the next epoch),
 *     so get_master_ip names the new master everywhere. */
#ifndef OVS_POOL_CLUSTER_H
#define OVS_POOL_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/base/buf.h"
#include "agent/cluster/poolstate.h"

struct server;
struct pool_cluster;

/* At start-up (srv->cluster). Never fails for want of corosync: the
 * link keeps trying. NULL only when cluster=disable. */
struct pool_cluster *pool_cluster_new(struct server *srv);
void pool_cluster_free(struct pool_cluster *c);

/* The copy of the pool state (never NULL: an empty one without a cluster). */
const struct poolstate *pool_cluster_state(struct server *srv);

struct pool_cluster_info {
	bool enabled, up, synced, fenced;
	bool quorate;                   /* votequorum says so and the group holds a
					 * majority of the nodelist: this server may act */
	uint32_t self;                  /* our node id; 0 unknown */
	char self_ip[POOL_IP_MAX];      /* its address in corosync's nodelist; "" unknown */
	size_t n;                       /* servers in the group */
	uint32_t members[256];
	int64_t hb_own_age_ms;          /* INT64_MAX: never written */
};
void pool_cluster_info(struct server *srv, struct pool_cluster_info *out);

/* The node id of a pool address and back (corosync's nodelist): 0 when
 * none; 1 and ip, or 0. */
uint32_t pool_cluster_node_of(struct server *srv, const char *ip);
int pool_cluster_node_ip(struct server *srv, uint32_t nodeid, char ip[POOL_IP_MAX]);
bool pool_cluster_in_view(struct server *srv, uint32_t nodeid);
/* ms since nodeid's host left corosync's membership (since this agent
 * started when it was never seen in it); -1 while its agent is in the
 * group or its corosync is a member. */
int64_t pool_cluster_gone_ms(struct server *srv, uint32_t nodeid);
/* What the heartbeat file says of nodeid (agent/cluster/heartbeat.h). */
struct hb_view;
void pool_cluster_slot(struct server *srv, uint32_t nodeid, struct hb_view *v);
/* This agent is the pool's master, in a quorate cluster, its copy synced:
 * the one that may act for the pool (HA). */
bool pool_cluster_is_master(struct server *srv);
/* The master's failover (ha.h); NULL once the cluster is gone, so a late
 * callback finds nothing to act on. */
struct ha *pool_cluster_ha(struct server *srv);
/* The master's sharing of the cluster's files (agent/pool/share.h); NULL
 * when cluster=disable. */
struct pool_share *pool_cluster_share(struct server *srv);

/* Change the pool state with an op message (ps_op_begin, ...). In a
 * cluster it goes through the group and done runs once our own copy has
 * applied it; out of one (no corosync) it applies here at once, but only
 * for a pool of one server (else 1004: the others would never hear of
 * it). done: fault 0 or a code and the words. */
typedef void (*pool_change_cb)(void *arg, int fault, const char *msg);
void pool_cluster_change(struct server *srv, struct buf *op, pool_change_cb done, void *arg);

/* The guest at path now runs here (true) or stopped here (false): the
 * pool state's owner follows (agent/guest calls it after starts, stops,
 * crashes and incoming migrations). */
void pool_guest_ran(struct server *srv, const char *path, bool running);

#endif
