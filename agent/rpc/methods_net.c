/* methods_net.c - the host's networks: get_network_info from the network
 * view (agent/net/netview.c), create_bridge and delete_bridge through the
 * network-bridge hook. */
#define LOG_CAT "net"
#include "agent/rpc/methods.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/base/buf.h"
#include "agent/base/fault.h"
#include "agent/base/hook.h"
#include "agent/base/log.h"
#include "agent/base/util.h"
#include "agent/net/bridges.h"
#include "agent/net/netname.h"
#include "agent/net/netview.h"
#include "agent/rpc/rpc_params.h"
#include "agent/rpc/rpc_string.h"
#include "agent/server/server.h"

/* ---- get_network_info -------------------------------------------------- */

static const struct net_tab *view_or_fault(struct rpc_call *call)
{
	struct netview *nv = rpc_server(call)->net;

	if (!nv) {
		rpc_fault(call, FAULT_IO, "the agent has no network view: its netlink socket "
			  "could not be opened (the log says why)");
		return NULL;
	}
	return netview_tab(nv);
}

static void put(xmlrpc_env *env, xmlrpc_value *s, const char *key, xmlrpc_value *v)
{
	xmlrpc_struct_set_value(env, s, key, v);
	xmlrpc_DECREF(v);
}

static const struct net_tab *sort_tab; /* for the comparators only */

static int by_name(const void *a, const void *b)
{
	return strcmp(nettab_link_at(sort_tab, *(const size_t *)a)->name,
		      nettab_link_at(sort_tab, *(const size_t *)b)->name);
}

static int by_addr(const void *a, const void *b)
{
	const struct net_addr *x = nettab_addr_at(sort_tab, *(const size_t *)a);
	const struct net_addr *y = nettab_addr_at(sort_tab, *(const size_t *)b);
	int c;

	if (x->family != y->family)
		return x->family == AF_INET ? -1 : 1;
	if ((c = memcmp(x->bytes, y->bytes, sizeof(x->bytes))) != 0)
		return c;
	return (int)x->prefixlen - (int)y->prefixlen;
}

/* Positions of live entries, sorted; n gets how many. */
static size_t *sorted(const struct net_tab *t, size_t cap, bool links, size_t *n)
{
	size_t *v = xcalloc(cap ? cap : 1, sizeof(*v));

	*n = 0;
	for (size_t p = 0; p < cap; p++)
		if (links ? nettab_link_at(t, p) != NULL : nettab_addr_at(t, p) != NULL)
			v[(*n)++] = p;
	sort_tab = t;
	qsort(v, *n, sizeof(*v), links ? by_name : by_addr);
	sort_tab = NULL;
	return v;
}

static bool is_bridge(const struct net_link *l)
{
	return strcmp(l->kind, "bridge") == 0;
}

/* Everything a bridge and a link have in common. */
static xmlrpc_value *link_struct(xmlrpc_env *env, const struct net_link *l, xmlrpc_value *addrs)
{
	xmlrpc_value *s = xmlrpc_struct_new(env);

	put(env, s, "name", rpc_string_new(l->name));
	put(env, s, "carrier", xmlrpc_bool_new(env, l->carrier));
	put(env, s, "mtu", xmlrpc_int_new(env, (int)l->mtu));
	put(env, s, "mac", rpc_string_new(l->mac));
	put(env, s, "state", rpc_string_new(net_operstate_name(l->operstate)));
	put(env, s, "addresses", addrs ? (xmlrpc_INCREF(addrs), addrs) : xmlrpc_array_new(env));
	return s;
}

/* The view as the method answers it. O(n log n) in links and addresses. */
static xmlrpc_value *network_info(xmlrpc_env *env, const struct net_tab *t)
{
	size_t lcap = nettab_link_cap(t), acap = nettab_addr_cap(t), nl, na;
	size_t *ls = sorted(t, lcap, true, &nl), *as = sorted(t, acap, false, &na);
	/* per link position: its addresses, and a bridge's ports */
	xmlrpc_value **addrs = xcalloc(lcap ? lcap : 1, sizeof(*addrs));
	xmlrpc_value **ports = xcalloc(lcap ? lcap : 1, sizeof(*ports));
	xmlrpc_value *bridges = xmlrpc_array_new(env), *links = xmlrpc_array_new(env), *out;
	char cidr[64];

	for (size_t i = 0; i < na; i++) {
		const struct net_addr *a = nettab_addr_at(t, as[i]);
		size_t p = nettab_link_pos(t, a->ifindex);
		xmlrpc_value *v;

		if (p == SIZE_MAX)
			continue; /* its link was not seen (or not held) */
		if (!addrs[p])
			addrs[p] = xmlrpc_array_new(env);
		net_format_cidr(a, cidr, sizeof(cidr));
		xmlrpc_array_append_item(env, addrs[p], v = rpc_string_new(cidr));
		xmlrpc_DECREF(v);
	}
	for (size_t i = 0; i < nl; i++) {
		const struct net_link *l = nettab_link_at(t, ls[i]);
		size_t mp = l->master > 0 ? nettab_link_pos(t, l->master) : SIZE_MAX;
		xmlrpc_value *v;

		if (mp == SIZE_MAX || !is_bridge(nettab_link_at(t, mp)))
			continue;
		if (!ports[mp])
			ports[mp] = xmlrpc_array_new(env);
		xmlrpc_array_append_item(env, ports[mp], v = rpc_string_new(l->name));
		xmlrpc_DECREF(v);
	}
	for (size_t i = 0; i < nl; i++) {
		const struct net_link *l = nettab_link_at(t, ls[i]);
		const struct net_link *m = l->master > 0 ? nettab_link(t, l->master) : NULL;
		xmlrpc_value *s = link_struct(env, l, addrs[ls[i]]);

		if (is_bridge(l)) {
			put(env, s, "ports", ports[ls[i]] ? (xmlrpc_INCREF(ports[ls[i]]), ports[ls[i]])
							  : xmlrpc_array_new(env));
			xmlrpc_array_append_item(env, bridges, s);
		} else {
			put(env, s, "kind", rpc_string_new(l->kind));
			put(env, s, "speed_mbps", xmlrpc_int_new(env, l->speed_mbps));
			put(env, s, "master", rpc_string_new(m ? m->name : ""));
			xmlrpc_array_append_item(env, links, s);
		}
		xmlrpc_DECREF(s);
	}
	out = xmlrpc_struct_new(env);
	put(env, out, "bridges", bridges);
	put(env, out, "links", links);
	for (size_t p = 0; p < lcap; p++) {
		if (addrs[p])
			xmlrpc_DECREF(addrs[p]);
		if (ports[p])
			xmlrpc_DECREF(ports[p]);
	}
	free(addrs);
	free(ports);
	free(ls);
	free(as);
	return out;
}

void m_get_network_info(struct rpc_call *call, xmlrpc_value *params)
{
	const struct net_tab *t = view_or_fault(call);
	xmlrpc_value *v;
	xmlrpc_env env;

	if (!t)
		return;
	xmlrpc_env_init(&env);
	v = network_info(&env, t);
	if (env.fault_occurred) {
		rpc_fault(call, FAULT_INTERNAL, "cannot build the answer: %s", env.fault_string);
		xmlrpc_DECREF(v);
	} else {
		rpc_return(call, v);
	}
	xmlrpc_env_clean(&env);
}

/* ---- create_bridge, delete_bridge -------------------------------------- */

/* One bridge change: the call waits for network-bridge to finish. */
struct bridge_op {
	struct rpc_call *call;
	struct netview *nv;
	bool create;
	char bridge[IFNAMSIZ], netdev[IFNAMSIZ];
	struct net_bridge_cmd cmd;  /* lives as long as the run, queued or not */
};

/* Param i as a device name, or answer the call with 1000 and NULL. */
static char *name_param(struct rpc_call *call, xmlrpc_value *params, int i, const char *what)
{
	char *v = param_str(params, i), why[160];

	if (net_name_ok(v, strlen(v), why, sizeof(why)))
		return v;
	rpc_fault(call, FAULT_INVALID_ARGUMENT, "%s: %s", what, why);
	free(v);
	return NULL;
}

static void bridge_done(void *arg, const struct hook_result *r)
{
	struct bridge_op *op = arg;
	const struct net_link *l;
	bool current;

	netview_release(op->nv, op->bridge);
	if (r->fault) {
		log_warn("%s_bridge %s: %s", op->create ? "create" : "delete", op->bridge, r->msg);
		rpc_fault(op->call, r->fault, "%s", r->msg);
		free(op);
		return;
	}
	/* The script's changes are all queued on the netlink socket by now:
	 * check them, unless the view is being read again. */
	current = netview_sync(op->nv);
	l = nettab_link_named(netview_tab(op->nv), op->bridge);
	if (current && op->create && !(l && strcmp(l->kind, "bridge") == 0))
		rpc_fault(op->call, FAULT_HOOK, "network-bridge start succeeded but there is no "
			  "bridge %s", op->bridge);
	else if (current && !op->create && l)
		rpc_fault(op->call, FAULT_HOOK, "network-bridge stop succeeded but %s is still "
			  "there", op->bridge);
	else if (op->create)
		rpc_return_printf(op->call, "success:bridge=%s;netdev=%s", op->bridge, op->netdev);
	else
		rpc_return_printf(op->call, "success:bridge=%s", op->bridge);
	free(op);
}

static void run_bridge_hook(struct bridge_op *op)
{
	struct server *srv = rpc_server(op->call);
	struct hook_req req = { .kind = HOOK_NETWORK,
				.event = op->create ? "create_bridge" : "delete_bridge" };
	char err[256];

	net_bridge_cmd(&op->cmd, op->create, op->bridge, op->netdev);
	req.argv = op->cmd.argv;
	if (!netview_claim(op->nv, op->bridge)) {
		rpc_fault(op->call, FAULT_BUSY, "bridge %s is being changed by another call",
			  op->bridge);
		free(op);
		return;
	}
	if (!hook_run(srv->hooks, &req, bridge_done, op, err, sizeof(err))) {
		netview_release(op->nv, op->bridge);
		rpc_fault(op->call, srv->stopping ? FAULT_SHUTTING_DOWN : FAULT_HOOK,
			  "cannot run network-bridge: %s", err);
		free(op);
	}
}

void m_create_bridge(struct rpc_call *call, xmlrpc_value *params)
{
	struct netview *nv = rpc_server(call)->net;
	char *bridge = NULL, *netdev = NULL;
	const struct net_link *b, *d;
	struct bridge_op *op;

	if (!view_or_fault(call) || !(bridge = name_param(call, params, 0, "bridge")) ||
	    !(netdev = name_param(call, params, 1, "netdev")))
		goto out;
	b = nettab_link_named(netview_tab(nv), bridge);
	d = nettab_link_named(netview_tab(nv), netdev);
	if (b && strcmp(b->kind, "bridge") != 0) {
		rpc_fault(call, FAULT_EXISTS, "%s exists and is not a bridge (it is a %s)", bridge,
			  b->kind);
	} else if (!d) {
		rpc_fault(call, FAULT_NOT_FOUND, "there is no network device %s", netdev);
	} else if (strcmp(bridge, netdev) == 0) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "the bridge and its netdev are both %s",
			  bridge);
	} else {
		/* an existing bridge is fine: network-bridge start is idempotent */
		op = xcalloc(1, sizeof(*op));
		*op = (struct bridge_op){ .call = call, .nv = nv, .create = true };
		snprintf(op->bridge, sizeof(op->bridge), "%s", bridge);
		snprintf(op->netdev, sizeof(op->netdev), "%s", netdev);
		run_bridge_hook(op);
	}
out:
	free(bridge);
	free(netdev);
}

/* The guest taps on bridge b, as "vif1.0, vif2.0" (cut to fit). */
static size_t guest_taps(const struct net_tab *t, const struct net_link *b, struct buf *names)
{
	size_t n = 0;

	for (size_t p = 0; p < nettab_link_cap(t); p++) {
		const struct net_link *l = nettab_link_at(t, p);

		if (!l || l->master != b->index || !net_is_guest_tap(l))
			continue;
		if (names->len < 512)
			buf_printf(names, "%s%s", n ? ", " : "", l->name);
		n++;
	}
	return n;
}

void m_delete_bridge(struct rpc_call *call, xmlrpc_value *params)
{
	struct netview *nv = rpc_server(call)->net;
	const struct net_link *b;
	struct bridge_op *op;
	struct buf taps;
	char *bridge;
	size_t n;

	if (!view_or_fault(call) || !(bridge = name_param(call, params, 0, "bridge")))
		return;
	b = nettab_link_named(netview_tab(nv), bridge);
	buf_init(&taps, 1024);
	if (!b || strcmp(b->kind, "bridge") != 0) {
		rpc_fault(call, FAULT_NOT_FOUND, "there is no bridge %s%s%s", bridge,
			  b ? ": it is a " : "", b ? b->kind : "");
	} else if ((n = guest_taps(netview_tab(nv), b, &taps)) > 0) {
		rpc_fault(call, FAULT_STATE, "bridge %s still carries %zu guest interface(s): %s; "
			  "stop or move those guests first", bridge, n, taps.data);
	} else {
		op = xcalloc(1, sizeof(*op));
		*op = (struct bridge_op){ .call = call, .nv = nv, .create = false };
		snprintf(op->bridge, sizeof(op->bridge), "%s", bridge);
		run_bridge_hook(op);
	}
	buf_free(&taps);
	free(bridge);
}
