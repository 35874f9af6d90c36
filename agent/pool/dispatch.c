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
#include "agent/cluster/poolstate.h"
#include "agent/pool/cluster.h"
#include "agent/pool/place.h"
#include "agent/repo/repoview.h"
#include "agent/rpc/methods.h"
#include "agent/rpc/pool_call.h"
#include "agent/server/server.h"
#include "db/pool.h"

#define START_TIMEOUT_MS 300000 /* a start waits for its hooks and the guest */

/* The member's reply becomes ours: its string, or its fault. */
static void on_reply(void *arg, xmlrpc_value *result, int fault, const char *msg)
{
	struct rpc_call *call = arg;

	if (fault)
		rpc_fault(call, fault > 0 ? fault : FAULT_PEER, "%s", msg);
	else
		rpc_return(call, (xmlrpc_INCREF(result), result));
}

/* method(params) on member m, as the pool; its answer becomes ours. */
static void forward_call(struct rpc_call *call, const struct pool_member *m, const char *method,
			 xmlrpc_value *params)
{
	struct server *srv = rpc_server(call);
	char err[512], *authz = pool_authorization(srv->store, err, sizeof(err));

	log_info("%s: on %s", method, m->ip);
	if (!authz || !pool_peer_call(srv, m, authz, method, params, START_TIMEOUT_MS, on_reply,
				      call, err, sizeof(err)))
		rpc_fault(call, FAULT_PEER, "cannot ask %s to do %s: %s", m->ip, method, err);
	authorization_free(authz);
}

/* start_vm(path) on member m. */
static void forward(struct rpc_call *call, const struct pool_member *m, const char *path)
{
	xmlrpc_env env;
	xmlrpc_value *args;

	xmlrpc_env_init(&env);
	args = xmlrpc_build_value(&env, "(s)", path);
	if (env.fault_occurred)
		rpc_fault(call, FAULT_INTERNAL, "%s", env.fault_string);
	else
		forward_call(call, m, "start_vm", args);
	if (args)
		xmlrpc_DECREF(args);
	xmlrpc_env_clean(&env);
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

/* This server is its pool's master, the pool has other servers, and the
 * call is a manager's (a forward from an agent is done where it lands). */
static bool dispatching(struct rpc_call *call)
{
	struct server *srv = rpc_server(call);
	const char *user = rpc_origin(call)->user;
	char master[POOL_IP_MAX], self[POOL_IP_MAX], err[256];
	struct pool_member *all = NULL;
	size_t n = 0;
	bool r;

	if (user && strcmp(user, POOL_USER) == 0)
		return false;
	r = pool_master_get(srv->store, master, err, sizeof(err)) == 1 &&
	    pool_self_get(srv->store, self, err, sizeof(err)) == 1 && strcmp(master, self) == 0 &&
	    pool_members(srv->store, &all, &n, err, sizeof(err)) == 0 && n >= 2;
	free(all);
	return r;
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
	char self[POOL_IP_MAX], ip[POOL_IP_MAX], err[256];
	struct pool_member m;
	char *const paths[] = { (char *)path };

	/* self_ip is written and cleared with master_ip (pool_join, pool_leave) */
	if (pool_self_get(srv->store, self, err, sizeof(err)) != 1)
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
	if (!dispatching(call) || !shared_files(srv, path))
		return false;
	pool_place(srv, paths, 1, NULL, on_placed, call);
	return true;
}

/* ---- install_vm_hvm: a VM server with room ------------------------------------------- */

struct held {                   /* a call and its params, kept across a placement */
	struct rpc_call *call;
	xmlrpc_value *params;
	dispatch_here_fn here;
};

static void on_install_placed(struct server *srv, void *arg, const struct placed *v, size_t n)
{
	struct held *h = arg;
	char self[POOL_IP_MAX], err[256];

	if (!v[0].to.ip[0])
		rpc_fault(h->call, FAULT_NO_RESOURCES, "no VM server of the pool has %lld MB free "
			  "for the guest", v[0].need);
	else if (pool_self_get(srv->store, self, err, sizeof(err)) == 1 &&
		 strcmp(self, v[0].to.ip) == 0)
		h->here(h->call, h->params);
	else
		forward_call(h->call, &v[0].to, rpc_method_name(h->call), h->params);
	xmlrpc_DECREF(h->params);
	free(h);
}

bool pool_dispatch_install(struct rpc_call *call, xmlrpc_value *params, long long memory_mb,
			   dispatch_here_fn here)
{
	struct server *srv = rpc_server(call);
	struct held *h;

	if (!dispatching(call))
		return false;
	h = xcalloc(1, sizeof(*h));
	h->call = call;
	h->params = params;
	h->here = here;
	xmlrpc_INCREF(params);
	pool_place_mb(srv, memory_mb, NULL, on_install_placed, h);
	return true;
}

/* ---- templates and deletes: a utility server ---------------------------------------- */

bool pool_dispatch_utility(struct rpc_call *call, xmlrpc_value *params)
{
	struct server *srv = rpc_server(call);
	char self[POOL_IP_MAX], err[256];
	struct pool_member *all = NULL, me, *to = NULL;
	size_t n = 0;

	if (!dispatching(call) || pool_self_get(srv->store, self, err, sizeof(err)) != 1 ||
	    pool_member_get(srv->store, self, &me, err, sizeof(err)) != 1 ||
	    (me.roles & POOL_UTILITY) || pool_members(srv->store, &all, &n, err, sizeof(err)) < 0) {
		free(all);
		return false;           /* the master does utility work itself */
	}
	for (size_t i = 0; i < n && !to; i++)   /* key order: the lowest address */
		if (all[i].roles & POOL_UTILITY)
			to = &all[i];
	if (to)
		forward_call(call, to, rpc_method_name(call), params);
	free(all);
	return to != NULL;
}

/* ---- xen_migrate_vm without a destination ------------------------------------------- */

struct move {
	struct rpc_call *call;
	char *path;
	char owner[POOL_IP_MAX];
	dispatch_here_fn here;
};

static void on_migrate_placed(struct server *srv, void *arg, const struct placed *v, size_t n)
{
	struct move *mv = arg;
	char err[256], self[POOL_IP_MAX];
	struct pool_member src;
	xmlrpc_env env;
	xmlrpc_value *args;

	xmlrpc_env_init(&env);
	args = xmlrpc_build_value(&env, "(ss)", mv->path, v[0].to.ip);
	if (!v[0].to.ip[0])
		rpc_fault(mv->call, FAULT_NO_RESOURCES, "no other VM server of the pool can take "
			  "%s now (%lld MB)", mv->path, v[0].need);
	else if (env.fault_occurred)
		rpc_fault(mv->call, FAULT_INTERNAL, "%s", env.fault_string);
	else if (pool_self_get(srv->store, self, err, sizeof(err)) == 1 &&
		 strcmp(self, mv->owner) == 0)
		mv->here(mv->call, args);
	else if (pool_member_get(srv->store, mv->owner, &src, err, sizeof(err)) != 1)
		rpc_fault(mv->call, FAULT_STATE, "%s runs on %s, which is not a server of this "
			  "pool", mv->path, mv->owner);
	else
		forward_call(mv->call, &src, "xen_migrate_vm", args);
	if (args)
		xmlrpc_DECREF(args);
	xmlrpc_env_clean(&env);
	free(mv->path);
	free(mv);
}

bool pool_dispatch_migrate(struct rpc_call *call, const char *path, dispatch_here_fn here)
{
	struct server *srv = rpc_server(call);
	const struct ps_guest *g = poolstate_find(pool_cluster_state(srv), path);
	struct move *mv;
	char *const paths[] = { (char *)path };

	if (!dispatching(call)) {
		rpc_fault(call, FAULT_INVALID_PARAMS, "xen_migrate_vm(vm, destination[, live]): "
			  "only a pool's master chooses the destination itself");
		return true;
	}
	if (!g || !g->running || !g->owner[0]) {
		rpc_fault(call, FAULT_STATE, "where %s runs is not known to the pool: name the "
			  "destination, on the server that runs it", path);
		return true;
	}
	mv = xcalloc(1, sizeof(*mv));
	mv->call = call;
	mv->path = xstrdup(path);
	mv->here = here;
	snprintf(mv->owner, sizeof(mv->owner), "%s", g->owner);
	pool_place(srv, paths, 1, g->owner, on_migrate_placed, mv);
	return true;
}
