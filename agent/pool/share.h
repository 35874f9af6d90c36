/* share.h - the master shares its cluster with the pool (guide 9.3), so a
 * manager needs only the API.
 *
 *   - set_pool_ha(true) on a master whose cluster is not up and quorate
 *     (pool_share_setup): ovs-cluster-configure runs here (the nodes from
 *     the pool state), every member gets the files (clusterfiles.h) by
 *     pool_cluster_files and starts corosync with them, and the master
 *     waits (SETUP_WAIT_MS) for its own link, quorum and copy before the
 *     switch is applied. A member that did not take the files fails the
 *     call, each one named with its reason.
 *   - Again to a server whose agent starts later: while this agent is the
 *     pool's master in a quorate cluster, a member of the pool's table
 *     whose host has been out of corosync's membership for a while
 *     (RESEND_AFTER_MS, pool_cluster_gone_ms: its corosync not running,
 *     its files missing) is given the files again, at
 *     most one call in flight and one try every RESEND_MS per member.
 *   - On a member (pool_share_apply): the files written, then
 *     ovs-cluster-configure --from-files (--reload when corosync.conf
 *     changed) starts corosync; a changed repository list is read again
 *     and mounted (ovsrepositories start). */
#ifndef OVS_POOL_SHARE_H
#define OVS_POOL_SHARE_H

#include <stddef.h>

#include "agent/pool/cluster.h"
#include "agent/pool/clusterfiles.h"

struct pool_share;

struct pool_share *pool_share_new(struct server *srv);
/* At exit: a setup in flight is answered 1600; calls and hooks ended. */
void pool_share_free(struct pool_share *s);
/* From the cluster's tick: the resends. */
void pool_share_tick(struct pool_share *s);

/* set_pool_ha(true) with the cluster not up: done(arg, 0, NULL) once
 * the pool_ha op has been applied here, or a fault naming the server and
 * its reason. One at a time: a second is answered 1003 at once. */
void pool_share_setup(struct server *srv, pool_change_cb done, void *arg);

/* A member given the files: write them, start corosync with them; done
 * once (from the loop or at once on a failure to write). */
void pool_share_apply(struct server *srv, const struct cf_set *files, pool_change_cb done,
		      void *arg);

#endif
