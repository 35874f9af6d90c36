/* dispatch.c - the master's start_vm on the server that should run the
 * guest (dispatch.h). */
#define LOG_CAT "pool"
#include "agent/pool/dispatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "agent/base/fault.h"
#include "agent/base/log.h"
#include "agent/base/util.h"
#include "agent/pool/place.h"
#include "agent/repo/repoview.h"
#include "agent/rpc/methods.h"
#include "agent/rpc/pool_call.h"
#include "agent/server/server.h"
#include "db/pool.h"

#define START_TIMEOUT_MS 300000 /* a start waits for its hooks and the guest */

static void on_started(void *arg, xmlrpc_value *result, int fault, const char *msg)
{
	struct rpc_call *call = arg;
	xmlrpc_env env;
	const char *s = NULL;

	if (fault) {
		rpc_fault(call, fault > 0 ? fault : FAULT_PEER, "%s", msg);
		return;
	}
	xmlrpc_env_init(&env);
	xmlrpc_read_string(&env, result, &s);
	if (env.fault_occurred)
		rpc_fault(call, FAULT_PEER, "the server answered start_vm with something other "
			  "than a string");
	else
		rpc_return_string(call, s);
	free((char *)s);
	xmlrpc_env_clean(&env);
}

/* start_vm(path) on member m, as the pool; its answer becomes ours. */
static void forward(struct rpc_call *call, const struct pool_member *m, const char *path)
{
	struct server *srv = rpc_server(call);
	char err[512], *authz = pool_authorization(srv->store, err, sizeof(err));
	xmlrpc_env env;
	xmlrpc_value *args = NULL;

	log_info("start_vm %s: on %s", path, m->ip);
	xmlrpc_env_init(&env);
	if (authz)
		args = xmlrpc_build_value(&env, "(s)", path);
	if (!authz || env.fault_occurred ||
	    !pool_peer_call(srv, m, authz, "start_vm", args, START_TIMEOUT_MS, on_started, call,
			    err, sizeof(err)))
		rpc_fault(call, FAULT_PEER, "cannot ask %s to start it: %s", m->ip,
			  env.fault_occurred ? env.fault_string : err);
	if (args)
		xmlrpc_DECREF(args);
	xmlrpc_env_clean(&env);
	if (authz) {
		OPENSSL_cleanse(authz, strlen(authz));
		free(authz);
	}
}

static void on_placed(struct server *srv, void *arg, const struct placed *v, size_t n)
{
	struct rpc_call *call = arg;
	char self[POOL_IP_MAX], err[256];

	if (!v[0].to.ip[0]) {
		rpc_fault(call, FAULT_NO_RESOURCES, "no VM server of the pool can take %s now "
			  "(%lld MB; the servers' free memory, its preferred servers in Manual "
			  "mode): start it on a server by name, or make room", v[0].path,
			  v[0].need);
	} else if (pool_self_get(srv->store, self, err, sizeof(err)) == 1 &&
		   strcmp(self, v[0].to.ip) == 0) {
		start_vm_here(call, v[0].path);
	} else {
		forward(call, &v[0].to, v[0].path);
	}
}

/* Only a guest whose files other servers see may go elsewhere. */
static bool shared_files(struct server *srv, const char *path)
{
	const struct repo *r = repoview_for_path(srv->repos, path);

	return !r || r->shared != '0';
}

bool pool_dispatch_start(struct rpc_call *call, const char *path, const char *server)
{
	struct server *srv = rpc_server(call);
	char master[POOL_IP_MAX], self[POOL_IP_MAX], ip[POOL_IP_MAX], err[256];
	struct pool_member *all = NULL, m;
	size_t n = 0;
	char *const paths[] = { (char *)path };

	if (pool_master_get(srv->store, master, err, sizeof(err)) != 1 ||
	    pool_self_get(srv->store, self, err, sizeof(err)) != 1)
		return false;                   /* in no pool */
	if (server) {
		if (pool_ip_canon(server, ip) < 0 || strcmp(ip, self) == 0)
			return false;           /* ours, or the caller's words to judge */
		if (pool_member_get(srv->store, ip, &m, err, sizeof(err)) != 1 ||
		    !(m.roles & POOL_XEN)) {
			rpc_fault(call, FAULT_NOT_FOUND, "%s is not a VM server (role xen) of this "
				  "pool (list_servers names them)", ip);
			return true;
		}
		forward(call, &m, path);
		return true;
	}
	if (strcmp(master, self) != 0 || !shared_files(srv, path) ||
	    pool_members(srv->store, &all, &n, err, sizeof(err)) < 0 || n < 2) {
		free(all);
		return false;
	}
	free(all);
	pool_place(srv, paths, 1, NULL, on_placed, call);
	return true;
}
