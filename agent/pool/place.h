/* place.h - which VM server a guest should run on.
 *
 * The rule of issue 10 (guide 9.1's preferred servers): mode Auto takes
 * any VM server (role xen) of the pool, Manual only the guest's preferred
 * ones; of those, the one with the most free memory that fits the
 * guest's vm.cfg memory. Free memory is asked of each candidate
 * (pool_server_status, over the pool credential) once per placement, and
 * what one placement gives a guest is taken off before the next guest of
 * the same batch is placed. Candidates are the servers in the cluster's
 * group when this agent's copy is synced, else every VM server in the
 * member table (dispatch works without a cluster); one that does not
 * answer within 3 s is left out. Figures within 64 MB count as equal
 * (free memory moves between two readings); on equal memory this server
 * wins (no call across the network for nothing), then the lower address. */
#ifndef OVS_POOL_PLACE_H
#define OVS_POOL_PLACE_H

#include <stddef.h>

#include "db/pool.h"

struct server;

struct placed {
	char *path;             /* the guest, as asked */
	long long need;         /* MB its vm.cfg asks (0 unknown) */
	struct pool_member to;  /* to.ip "" when no server can take it */
};

/* done is called exactly once, from the loop (never from inside
 * pool_place), with one result per path in the order asked; v is valid
 * during the call only. exclude: an address never chosen, or NULL. */
typedef void (*place_done_cb)(struct server *srv, void *arg, const struct placed *v, size_t n);
void pool_place(struct server *srv, char *const *paths, size_t n, const char *exclude,
		place_done_cb done, void *arg);
/* One guest that does not exist yet (install_vm_hvm), by the memory it
 * will ask: v[0].path is "". */
void pool_place_mb(struct server *srv, long long need_mb, const char *exclude,
		   place_done_cb done, void *arg);

#endif
