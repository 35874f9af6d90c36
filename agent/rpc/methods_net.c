/* methods_net.c - the host's networks: get_network_info from the network
 * view (agent/net/netview.c), create_bridge and delete_bridge through the
 * network-bridge hook. */
#define LOG_CAT "net"
#include "agent/rpc/methods.h"

#include <stdlib.h>
#include <string.h>

#include "agent/base/fault.h"
#include "agent/base/util.h"
#include "agent/net/netview.h"
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
