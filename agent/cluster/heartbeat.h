/* heartbeat.h - the pool's disk heartbeat on the cluster root.
 *
 * Every server of the pool writes its slot of <cluster_root>/.server_pool_hb
 * (agent/cluster/hbslot.h) every interval and reads everyone's. The file
 * lives on a shared file system that can hang (a lost OCFS2 or NFS
 * server), so the loop never touches it: each round is a short-lived
 * function-mode child (agent/base/child.h) that opens the file (creating
 * it 0644), pwrites our slot and fdatasyncs it, opens it again to read
 * all of it, and prints the valid slots; the parent parses them again.
 * One round at a time: a round still running when the next is due (a hung
 * mount) is waited for, and killed after twice the interval.
 *
 * Ages are on OUR monotonic clock (loop_now): a slot's age is the time
 * since we last saw its seq change, never the writer's wall clock (hosts'
 * clocks differ). A slot counts as changed when we first read it, so a
 * node is called stale only after we have watched it for timeout_ms.
 *
 * A new heartbeat reads only: it writes once it has a node id
 * (heartbeat_set_self) and is told to (heartbeat_set_writing). */
#ifndef OVS_HEARTBEAT_H
#define OVS_HEARTBEAT_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct heartbeat;

/* path: the heartbeat file; interval_ms between rounds (the first starts
 * at once); timeout_ms: our own age past which we call ourselves stalled.
 * Both at least 1. */
struct heartbeat *heartbeat_new(struct loop *loop, const char *path,
				int interval_ms, int timeout_ms);
/* Stops the timers and kills a round in flight. Safe with NULL. */
void heartbeat_free(struct heartbeat *hb);

/* Our corosync node id (1..255; 0: none, nothing written) and pool
 * address (an IPv4/IPv6 literal, kept canonical). An id out of range or
 * an ip that is no literal is logged and taken as none. */
void heartbeat_set_self(struct heartbeat *hb, uint32_t nodeid, const char *ip);
/* writing: true writes "alive" slots every interval; false stops writing
 * (a server out of quorum stops, so the others see it go stale). Off in a
 * new heartbeat. */
void heartbeat_set_writing(struct heartbeat *hb, bool on);
/* Write "fenced" in our slot now (best effort, once: right away, or when
 * the round in flight ends). Writing stops until heartbeat_set_writing. */
void heartbeat_mark_fenced(struct heartbeat *hb);

struct hb_view { bool seen; uint64_t seq; int64_t age_ms; bool fenced; char ip[46]; };
/* What we know of node id's slot; seen false: never read. What was read
 * last is kept when the slot goes bad or away (its age grows). */
void heartbeat_slot(const struct heartbeat *hb, uint32_t nodeid, struct hb_view *v);
/* ms since our own slot was last written and read back (INT64_MAX never):
 * counted from the start of the round that did it. */
int64_t heartbeat_own_age(const struct heartbeat *hb);
/* Called when our own age passes timeout_ms while writing (once per
 * stall; again only after a round has written and read back our slot).
 * The age counts from when writing began if it never succeeded since. */
void heartbeat_on_stall(struct heartbeat *hb, void (*cb)(void *), void *arg);

#endif
