/* pool_state.h - what this agent knows about its server pool, kept in the
 * store's "pool" table (master_ip, roles; the pool work adds more). */
#ifndef OVS_POOL_STATE_H
#define OVS_POOL_STATE_H

#include <stddef.h>

struct server;

/* 1 and the master's address in ip, 0 when not in a pool, -1 with err. */
int pool_state_master_ip(struct server *srv, char *ip, size_t iplen, char *err, size_t errlen);

#endif
