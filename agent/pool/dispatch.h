/* dispatch.h - the master hands guest work to the server that should do it
 * (guide 9: the master is the manager's one contact point and balances
 * the load).
 *
 * start_vm on the master, with no server named, starts the guest where
 * place.h's rule says (this server included); with a server named, there.
 * The chosen agent does the work and the master answers with its reply
 * (success:ip=<server>). A guest in a repository that is not shared (its
 * marker says 0) is started here: no other server sees its files. Off the
 * master, or in a pool of one, nothing is dispatched; nor is a call that
 * arrives from another agent (ovs-pool): the master's forwards are done
 * where they land. */
#ifndef OVS_POOL_DISPATCH_H
#define OVS_POOL_DISPATCH_H

#include <stdbool.h>

#include <xmlrpc-c/base.h>

struct rpc_call;
/* A method's own body, run here when the choice is this server. */
typedef void (*dispatch_here_fn)(struct rpc_call *call, xmlrpc_value *params);

/* Take over the start of the guest at path (server: the address the
 * caller named, or NULL) and answer call: true. false: this server is
 * to start it itself, and the call is not answered. */
bool pool_dispatch_start(struct rpc_call *call, const char *path, const char *server);

/* install_vm_hvm on the master: the VM server with memory_mb free (the
 * most, this server on a tie) runs the same call; here() when it is this
 * server. false: not dispatching (run it here now). */
bool pool_dispatch_install(struct rpc_call *call, xmlrpc_value *params, long long memory_mb,
			   dispatch_here_fn here);
/* Utility work (create_vm_from_template, delete_vm) on a master without
 * the utility role: the utility server with the lowest address runs the
 * same call. false: the master does it (it has the role, or no server
 * has it, or it is not dispatching). */
bool pool_dispatch_utility(struct rpc_call *call, xmlrpc_value *params);
/* xen_migrate_vm(vm) without a destination: on the master, the server
 * the pool state says runs it migrates it live to the one the placement
 * rule picks (never itself); here(call, (vm, dest)) when that
 * server is this one. Always answers the call (1004 where it runs is not
 * known; -32602 off a master). */
bool pool_dispatch_migrate(struct rpc_call *call, const char *path, dispatch_here_fn here);

#endif
