/* pool_state.c - the pool facts in the store. */
#include "agent/rpc/pool_state.h"

#include <stdio.h>
#include <stdlib.h>

#include "db/store.h"
#include "agent/server/server.h"

int pool_state_master_ip(struct server *srv, char *ip, size_t iplen, char *err, size_t errlen)
{
	char *v = NULL;
	int r = store_get(srv->store, "pool", "master_ip", &v, err, errlen);

	if (r == 1) {
		snprintf(ip, iplen, "%s", v);
		free(v);
		r = ip[0] ? 1 : 0;
	}
	return r;
}
