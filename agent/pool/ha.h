/* ha.h - the master's failover: HA guests of a failed server run again
 * on others (guide 9.1), its other guests are recorded DOWN.
 *
 * A server has failed when it has left the cluster's group, fence_timeout
 * has passed since (time it had to power off its own HA guests), and its
 * heartbeat slot is stale or says fenced. Its guests are then placed:
 * preferred-server mode Auto takes any VM server of the group, Manual only
 * the guest's preferred ones; of those, the one with the most free memory
 * that fits the guest (vm.cfg memory) wins. Ownership changes first, with
 * the next epoch (every copy agrees who owns the guest before anything
 * runs), then the new owner is asked to start it with that epoch
 * (pool_start_vm), which it refuses if it knows a newer one. A guest no
 * server can take waits powered off (owner none) and is placed as soon as
 * one can. */
#ifndef OVS_POOL_HA_H
#define OVS_POOL_HA_H

struct server;
struct ha;

struct ha *ha_new(struct server *srv);
void ha_free(struct ha *h);
/* The master's periodic look (cluster.c calls it only on the master). */
void ha_tick(struct ha *h);

#endif
