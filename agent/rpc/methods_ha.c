/* methods_ha.c - HA settings on the master, the pool state as this server
 * holds it, and the master's start of a guest on its new owner.
 *
 * The settings are changes of the replicated pool state
 * (agent/pool/cluster.h): the reply comes once this server's own copy has
 * applied the change, so a read right after sees it. */
#define LOG_CAT "ha"
#include "agent/rpc/methods.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/base/buf.h"
#include "agent/base/fault.h"
#include "agent/base/log.h"
#include "agent/base/util.h"
#include "agent/cluster/poolstate.h"
#include "agent/guest/guest.h"
#include "agent/pool/cluster.h"
#include "agent/pool/clusterfiles.h"
#include "agent/pool/place.h"
#include "agent/pool/share.h"
#include "agent/rpc/rpc_params.h"
#include "agent/server/server.h"
#include "db/pool.h"

static void on_changed(void *arg, int fault, const char *msg)
{
	struct rpc_call *call = arg;

	if (fault)
		rpc_fault(call, fault, "%s", msg);
	else
		rpc_return_string(call, "success");
}

/* The guest argument as a resolved path (it must exist), or NULL answered. */
static char *guest_arg(struct rpc_call *call, xmlrpc_value *params)
{
	return guest_param(call, params, true);
}

void m_set_pool_ha(struct rpc_call *call, xmlrpc_value *params)
{
	struct server *srv = rpc_server(call);
	char master[POOL_IP_MAX], self[POOL_IP_MAX];
	struct pool_cluster_info in;
	bool on;
	struct buf b;

	if (param_bool(params, 0, &on) < 0) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "set_pool_ha(enable): enable is true or false");
		return;
	}
	if (pool_master_only(call, master, self) < 0)
		return;
	pool_cluster_info(srv, &in);
	if (on && !in.enabled) {
		rpc_fault(call, FAULT_STATE, "HA needs the pool's cluster, and it is disabled here "
			  "(cluster=disable)");
		return;
	}
	if (on && !(in.up && in.quorate)) {
		/* guide 9.3: the master configures the cluster and shares it */
		pool_share_setup(srv, on_changed, call);
		return;
	}
	buf_init(&b, 0);
	ps_op_pool_ha(&b, on);
	log_info("HA for the pool %s", on ? "enabled" : "disabled");
	pool_cluster_change(srv, &b, on_changed, call);
	buf_free(&b);
}

void m_set_vm_ha(struct rpc_call *call, xmlrpc_value *params)
{
	char master[POOL_IP_MAX], self[POOL_IP_MAX], *path;
	bool on;
	struct buf b;

	if (param_count(params) != 2 || param_bool(params, 1, &on) < 0) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "set_vm_ha(vm, enable): enable is true or "
			  "false");
		return;
	}
	if (pool_master_only(call, master, self) < 0 || !(path = guest_arg(call, params)))
		return;
	buf_init(&b, 0);
	ps_op_vm_ha(&b, path, on);
	pool_cluster_change(rpc_server(call), &b, on_changed, call);
	buf_free(&b);
	free(path);
}

/* servers: an array of addresses, or one string of them comma-separated. */
static int servers_arg(struct rpc_call *call, xmlrpc_value *params, int i,
		       char (*out)[POOL_IP_MAX], size_t *n)
{
	struct server *srv = rpc_server(call);
	xmlrpc_env env;
	xmlrpc_value *v = NULL;
	char *text = NULL, err[256];
	int rc = -1;

	*n = 0;
	xmlrpc_env_init(&env);
	xmlrpc_array_read_item(&env, params, (unsigned)i, &v);
	if (!env.fault_occurred && xmlrpc_value_type(v) == XMLRPC_TYPE_ARRAY) {
		int k = xmlrpc_array_size(&env, v);
		struct buf b;

		buf_init(&b, 4096);
		for (int j = 0; j < k && !env.fault_occurred; j++) {
			xmlrpc_value *item = NULL;
			const char *s = NULL;

			xmlrpc_array_read_item(&env, v, (unsigned)j, &item);
			if (!env.fault_occurred)
				xmlrpc_read_string(&env, item, &s);
			if (!env.fault_occurred)
				buf_printf(&b, "%s%s", j ? "," : "", s);
			free((char *)s);
			if (item)
				xmlrpc_DECREF(item);
		}
		text = env.fault_occurred || b.failed ? NULL : buf_steal(&b, NULL);
		buf_free(&b);
	} else if (!env.fault_occurred) {
		text = param_str(params, i);
	}
	if (!text) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "servers is a list of addresses (strings)");
		goto out;
	}
	for (char *p = text, *e; *p; p = *e ? e + 1 : e) {
		struct pool_member m;

		e = p + strcspn(p, ",");
		if (e == p)
			continue;
		if (*n == PS_PREF_MAX) {
			rpc_fault(call, FAULT_INVALID_ARGUMENT, "at most %d preferred servers",
				  PS_PREF_MAX);
			goto out;
		}
		{
			char one[64];
			size_t len = (size_t)(e - p);
			snprintf(one, sizeof(one), "%.*s", (int)(len < 63 ? len : 63), p);
			if (pool_ip_canon(one, out[*n]) < 0) {
				rpc_fault(call, FAULT_INVALID_ARGUMENT, "'%s' is not an IPv4 or IPv6 "
					  "address", one);
				goto out;
			}
		}
		for (size_t k = 0; k < *n; k++)
			if (strcmp(out[k], out[*n]) == 0) {
				rpc_fault(call, FAULT_INVALID_ARGUMENT, "%s is named twice", out[k]);
				goto out;
			}
		if (pool_member_get(srv->store, out[*n], &m, err, sizeof(err)) != 1 ||
		    !(m.roles & POOL_XEN)) {
			rpc_fault(call, FAULT_NOT_FOUND, "%s is not a VM server (role xen) of this "
				  "pool (list_servers names them)", out[*n]);
			goto out;
		}
		(*n)++;
	}
	rc = 0;
out:
	free(text);
	if (v)
		xmlrpc_DECREF(v);
	xmlrpc_env_clean(&env);
	return rc;
}

void m_set_vm_preferred_servers(struct rpc_call *call, xmlrpc_value *params)
{
	char master[POOL_IP_MAX], self[POOL_IP_MAX], *path = NULL, *mode;
	char servers[PS_PREF_MAX][POOL_IP_MAX];
	size_t n = 0;
	bool manual;
	struct buf b;

	if (param_count(params) != 3) {
		rpc_fault(call, FAULT_INVALID_PARAMS, "set_vm_preferred_servers(vm, mode, servers)");
		return;
	}
	mode = param_str(params, 1);
	manual = strcasecmp(mode, "manual") == 0;
	if (!manual && strcasecmp(mode, "auto") != 0) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "mode is Auto (any VM server) or Manual "
			  "(only the preferred ones), not '%.32s'", mode);
		free(mode);
		return;
	}
	free(mode);
	if (pool_master_only(call, master, self) < 0 || !(path = guest_arg(call, params)) ||
	    servers_arg(call, params, 2, servers, &n) < 0) {
		free(path);
		return;
	}
	if (manual && n == 0) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "Manual needs at least one preferred server");
		free(path);
		return;
	}
	buf_init(&b, 0);
	ps_op_pref(&b, path, manual, servers, n);
	pool_cluster_change(rpc_server(call), &b, on_changed, call);
	buf_free(&b);
	free(path);
}

/* ---- where a guest would go ------------------------------------------------------------- */

static void on_placement(struct server *srv, void *arg, const struct placed *v, size_t n)
{
	struct rpc_call *call = arg;

	if (v[0].to.ip[0])
		rpc_return_printf(call, "success:ip=%s", v[0].to.ip);
	else
		rpc_fault(call, FAULT_NO_RESOURCES, "no VM server of the pool can take %s now "
			  "(%lld MB; the servers' free memory, its preferred servers in Manual "
			  "mode)", v[0].path, v[0].need);
}

void m_get_vm_placement(struct rpc_call *call, xmlrpc_value *params)
{
	struct server *srv = rpc_server(call);
	char master[POOL_IP_MAX], self[POOL_IP_MAX], err[256], ex[POOL_IP_MAX], *path, *s;
	const char *exclude = NULL;

	if (param_count(params) == 2) {
		s = param_str(params, 1);
		if (s[0] && pool_ip_canon(s, ex) < 0) {
			rpc_fault(call, FAULT_INVALID_ARGUMENT, "'%.64s' is not an IPv4 or IPv6 "
				  "address", s);
			free(s);
			return;
		}
		exclude = s[0] ? ex : NULL;
		free(s);
	}
	if (pool_master_get(srv->store, master, err, sizeof(err)) != 1 ||
	    pool_self_get(srv->store, self, err, sizeof(err)) != 1) {
		rpc_fault(call, FAULT_NOT_IN_POOL, "this server is not in a server pool");
		return;
	}
	if (!(path = guest_param(call, params, true)))
		return;
	pool_place(srv, &path, 1, exclude, on_placement, call);
	free(path);
}

/* ---- the state as this server holds it --------------------------------------------- */

void m_get_pool_ha_state(struct rpc_call *call, xmlrpc_value *params)
{
	struct server *srv = rpc_server(call);
	const struct poolstate *st = pool_cluster_state(srv);
	struct pool_cluster_info in;
	xmlrpc_env env;
	xmlrpc_value *guests, *members, *out = NULL;
	char e[24], me[24], ip[POOL_IP_MAX];

	pool_cluster_info(srv, &in);
	xmlrpc_env_init(&env);
	guests = xmlrpc_array_new(&env);
	members = xmlrpc_array_new(&env);
	for (size_t i = 0; i < in.n && !env.fault_occurred; i++) {
		xmlrpc_value *m;

		if (pool_cluster_node_ip(srv, in.members[i], ip) != 1)
			snprintf(ip, sizeof(ip), "node %u", (unsigned)in.members[i]);
		m = xmlrpc_string_new(&env, ip);
		if (!env.fault_occurred) {
			xmlrpc_array_append_item(&env, members, m);
			xmlrpc_DECREF(m);
		}
	}
	for (size_t i = 0; i < st->n && !env.fault_occurred; i++) {
		const struct ps_guest *g = st->g[i];
		xmlrpc_value *pref = xmlrpc_array_new(&env), *row;

		for (size_t k = 0; k < g->npref && !env.fault_occurred; k++) {
			xmlrpc_value *s = xmlrpc_string_new(&env, g->pref[k]);
			if (!env.fault_occurred) {
				xmlrpc_array_append_item(&env, pref, s);
				xmlrpc_DECREF(s);
			}
		}
		snprintf(e, sizeof(e), "%" PRIu64, g->epoch);
		row = xmlrpc_build_value(&env, "{s:s,s:b,s:s,s:V,s:s,s:s,s:b}", "path", g->path,
					 "ha", (xmlrpc_bool)g->ha, "mode",
					 g->manual ? "Manual" : "Auto", "preferred", pref, "owner",
					 g->owner, "epoch", e, "running", (xmlrpc_bool)g->running);
		if (!env.fault_occurred) {
			xmlrpc_array_append_item(&env, guests, row);
			xmlrpc_DECREF(row);
		}
		if (pref)
			xmlrpc_DECREF(pref);
	}
	snprintf(me, sizeof(me), "%" PRIu64, st->master_epoch);
	snprintf(e, sizeof(e), "%" PRIu64, st->gen);
	if (!env.fault_occurred)
		out = xmlrpc_build_value(&env, "{s:b,s:b,s:b,s:b,s:b,s:i,s:s,s:s,s:s,s:s,s:b,s:V,s:V}",
					 "cluster", (xmlrpc_bool)in.enabled, "link",
					 (xmlrpc_bool)in.up, "quorate", (xmlrpc_bool)in.quorate,
					 "synced", (xmlrpc_bool)in.synced, "fenced",
					 (xmlrpc_bool)in.fenced, "node_id", (xmlrpc_int32)in.self,
					 "self", in.self_ip, "master", st->master, "master_epoch", me, "gen", e,
					 "pool_ha", (xmlrpc_bool)st->pool_ha, "members", members,
					 "guests", guests);
	if (env.fault_occurred)
		rpc_fault(call, FAULT_INTERNAL, "%s", env.fault_string);
	else
		rpc_return(call, out);
	if (guests)
		xmlrpc_DECREF(guests);
	if (members)
		xmlrpc_DECREF(members);
	xmlrpc_env_clean(&env);
}

/* ---- the master's start on a new owner --------------------------------------------- */

static int epoch_arg(struct rpc_call *call, xmlrpc_value *params, int i, const char *what,
		     uint64_t *v)
{
	char *s = param_str(params, i), *end;
	int rc = 0;

	*v = strtoull(s, &end, 10);
	if (!*s || *end || *s == '-' || strlen(s) > 19) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "%s must be a decimal number", what);
		rc = -1;
	}
	free(s);
	return rc;
}

static bool runs_here(struct server *srv, const char *path)
{
	struct guest_state gs;
	char err[256];
	bool r = guest_state_get(srv->store, path, &gs, err, sizeof(err)) == 1 &&
		 (gs.status == GS_RUNNING || gs.status == GS_PAUSED) && !guest_busy(srv, path);

	guest_state_free(&gs);
	return r;
}

void m_pool_start_vm(struct rpc_call *call, xmlrpc_value *params)
{
	struct server *srv = rpc_server(call);
	const char *user = rpc_origin(call)->user;
	const struct poolstate *st = pool_cluster_state(srv);
	const struct ps_guest *g;
	uint64_t epoch, master_epoch;
	char *path;

	if (!user || strcmp(user, POOL_USER) != 0) {
		rpc_fault(call, FAULT_PERMISSION, "pool_start_vm is for the pool's master only");
		return;
	}
	if (epoch_arg(call, params, 1, "the guest's epoch", &epoch) < 0 ||
	    epoch_arg(call, params, 2, "the master's epoch", &master_epoch) < 0 ||
	    !(path = guest_param(call, params, true)))
		return;
	g = poolstate_find(st, path);
	if (master_epoch < st->master_epoch) {
		rpc_fault(call, FAULT_STATE, "stale master: its epoch %" PRIu64 " is older than "
			  "this server's %" PRIu64 " (%s is the master now)", master_epoch,
			  st->master_epoch, st->master[0] ? st->master : "?");
	} else if (g && epoch < g->epoch) {
		rpc_fault(call, FAULT_STATE, "stale epoch: %s is at epoch %" PRIu64 " (owner %s), "
			  "not %" PRIu64, path, g->epoch, g->owner[0] ? g->owner : "none", epoch);
	} else if (runs_here(srv, path)) {
		/* the master asks again after a reply it never got: done already */
		rpc_return_printf(call, "success:ip=%s", rpc_origin(call)->local);
	} else {
		log_info("starting %s for the pool (epoch %" PRIu64 ")", path, epoch);
		start_vm_here(call, path);
	}
	free(path);
}

/* ---- the cluster's files from the master ------------------------------------------- */

void m_pool_cluster_files(struct rpc_call *call, xmlrpc_value *params)
{
	struct server *srv = rpc_server(call);
	const char *user = rpc_origin(call)->user;
	char master[POOL_IP_MAX], self[POOL_IP_MAX], err[512];
	struct cf_set files;
	xmlrpc_value *v = NULL;
	xmlrpc_env env;

	if (!user || strcmp(user, POOL_USER) != 0) {
		rpc_fault(call, FAULT_PERMISSION, "pool_cluster_files is for the pool's master only");
		return;
	}
	if (pool_master_get(srv->store, master, err, sizeof(err)) != 1 ||
	    pool_self_get(srv->store, self, err, sizeof(err)) != 1) {
		rpc_fault(call, FAULT_NOT_IN_POOL, "this server is not in a server pool");
		return;
	}
	if (strcmp(master, self) == 0) {
		rpc_fault(call, FAULT_STATE, "this server is the pool's master: its cluster files "
			  "are its own");
		return;
	}
	xmlrpc_env_init(&env);
	cf_init(&files);
	if (param_count(params) != 1) {
		rpc_fault(call, FAULT_INVALID_PARAMS, "pool_cluster_files(files)");
		goto out;
	}
	xmlrpc_array_read_item(&env, params, 0, &v);
	if (env.fault_occurred || cf_from_value(v, &files, err, sizeof(err)) < 0) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "%s",
			  env.fault_occurred ? "files is a struct of base64 values" : err);
		goto out;
	}
	log_info("the pool's master gives this server the cluster's files");
	pool_share_apply(srv, &files, on_changed, call);
out:
	cf_free(&files);
	if (v)
		xmlrpc_DECREF(v);
	xmlrpc_env_clean(&env);
}
