/* dispatch.h - the master hands guest work to the server that should do it
 * (guide 9: the master is the manager's one contact point and balances
 * the load).
 *
 * start_vm on the master, with no server named, starts the guest where
 * place.h's rule says (this server included); with a server named, there.
 * The chosen agent does the work and the master answers with its reply
 * (success:ip=<server>). A guest in a repository that is not shared (its
 * marker says 0) is started here: no other server sees its files. Off the
 * master, or in a pool of one, nothing is dispatched. */
#ifndef OVS_POOL_DISPATCH_H
#define OVS_POOL_DISPATCH_H

#include <stdbool.h>

struct rpc_call;

/* Take over the start of the guest at path (server: the address the
 * caller named, or NULL) and answer call: true. false: this server is
 * to start it itself, and the call is not answered. */
bool pool_dispatch_start(struct rpc_call *call, const char *path, const char *server);

#endif
