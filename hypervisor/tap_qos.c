/* tap_qos.c - see tap_qos.h. */
#include "hypervisor/tap_qos.h"
#include "hypervisor/tap.h"

#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <linux/if_ether.h>
#include <linux/pkt_sched.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/act/mirred.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/tbf.h>
#include <netlink/route/tc.h>

#define TBF_HANDLE 0x10000u            /* 1: */
#define INGRESS_HANDLE 0xffff0000u     /* ffff: */
#define MIN_WINDOW_US 20000            /* the shaper's queue at least */
#define FRAME_OVERHEAD 18              /* Ethernet header and a VLAN tag */

static struct nl_sock *nl_open(char *err, size_t errlen)
{
	struct nl_sock *s = nl_socket_alloc();
	int r;

	if (!s) {
		snprintf(err, errlen, "netlink: out of memory");
		return NULL;
	}
	if ((r = nl_connect(s, NETLINK_ROUTE)) < 0) {
		snprintf(err, errlen, "netlink: %s", nl_geterror(r));
		nl_socket_free(s);
		return NULL;
	}
	/* Every fd close-on-exec (libnl's own may not be). */
	fcntl(nl_socket_get_fd(s), F_SETFD, FD_CLOEXEC);
	return s;
}

/* The device's index and MTU; 1, 0 when absent, or -1 with err. When kind
 * is not NULL it gets the link type ("bridge", "" for none). */
static int link_get(struct nl_sock *s, const char *name, int *index, unsigned *mtu,
		    char *kind, size_t kindlen, char *err, size_t errlen)
{
	struct rtnl_link *l = NULL;
	int r = rtnl_link_get_kernel(s, 0, name, &l);

	if (r == -NLE_NODEV || r == -NLE_OBJ_NOTFOUND)
		return 0;
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", name, nl_geterror(r));
		return -1;
	}
	*index = rtnl_link_get_ifindex(l);
	if (mtu)
		*mtu = rtnl_link_get_mtu(l);
	if (kind)
		snprintf(kind, kindlen, "%s", rtnl_link_get_type(l) ? rtnl_link_get_type(l) : "");
	rtnl_link_put(l);
	return 1;
}

/* A tbf qdisc at the root of the device: rate (bytes/s), a bucket of
 * burst bytes, a queue of latency_us at that rate. */
static int add_tbf(struct nl_sock *s, const char *dev, int index, uint64_t rate, uint64_t burst,
		   uint64_t latency_us, char *err, size_t errlen)
{
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	int r = -NLE_NOMEM;

	if (q) {
		rtnl_tc_set_ifindex(TC_CAST(q), index);
		rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
		rtnl_tc_set_handle(TC_CAST(q), TBF_HANDLE);
		if ((r = rtnl_tc_set_kind(TC_CAST(q), "tbf")) == 0) {
			/* tc's fields are 32-bit: a huge rate x time is cut, not wrapped. */
			uint64_t limit = rate * latency_us / 1000000 + burst;
			burst = burst > INT_MAX / 2 ? INT_MAX / 2 : burst;
			rtnl_qdisc_tbf_set_rate(q, (int)rate, (int)burst, 0);
			rtnl_qdisc_tbf_set_limit(q, limit > INT_MAX ? INT_MAX : (int)limit);
		}
		if (r == 0)
			r = rtnl_qdisc_add(s, q, NLM_F_CREATE | NLM_F_REPLACE);
		rtnl_qdisc_put(q);
	}
	if (r < 0)
		snprintf(err, errlen, "%s: tbf qdisc: %s", dev, nl_geterror(r));
	return r < 0 ? -1 : 0;
}

static int add_ingress(struct nl_sock *s, const char *dev, int index, char *err, size_t errlen)
{
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	int r = -NLE_NOMEM;

	if (q) {
		rtnl_tc_set_ifindex(TC_CAST(q), index);
		rtnl_tc_set_parent(TC_CAST(q), TC_H_INGRESS);
		rtnl_tc_set_handle(TC_CAST(q), INGRESS_HANDLE);
		if ((r = rtnl_tc_set_kind(TC_CAST(q), "ingress")) == 0)
			r = rtnl_qdisc_add(s, q, NLM_F_CREATE | NLM_F_EXCL);
		rtnl_qdisc_put(q);
	}
	if (r < 0)
		snprintf(err, errlen, "%s: ingress qdisc: %s", dev, nl_geterror(r));
	return r < 0 ? -1 : 0;
}

/* tc filter add dev DEV parent ffff: protocol all prio 1 u32 match u32 0 0
 *   action mirred egress redirect dev IFB */
static int add_redirect(struct nl_sock *s, const char *dev, int index, int to, char *err,
			size_t errlen)
{
	struct rtnl_cls *c = rtnl_cls_alloc();
	struct rtnl_act *a = rtnl_act_alloc();
	int r = -NLE_NOMEM;

	if (c && a) {
		rtnl_tc_set_ifindex(TC_CAST(c), index);
		rtnl_tc_set_parent(TC_CAST(c), INGRESS_HANDLE);
		rtnl_cls_set_prio(c, 1);
		rtnl_cls_set_protocol(c, ETH_P_ALL);
		if ((r = rtnl_tc_set_kind(TC_CAST(c), "u32")) == 0 &&
		    (r = rtnl_tc_set_kind(TC_CAST(a), "mirred")) == 0) {
			rtnl_mirred_set_action(a, TCA_EGRESS_REDIR);
			rtnl_mirred_set_policy(a, TC_ACT_STOLEN);
			rtnl_mirred_set_ifindex(a, (uint32_t)to);
			if ((r = rtnl_u32_set_cls_terminal(c)) == 0 &&
			    (r = rtnl_u32_add_key_uint32(c, 0, 0, 0, 0)) == 0 &&
			    (r = rtnl_u32_add_action(c, a)) == 0)
				r = rtnl_cls_add(s, c, NLM_F_CREATE | NLM_F_EXCL);
		}
	}
	if (a)
		rtnl_act_put(a);
	if (c)
		rtnl_cls_put(c);
	if (r < 0)
		snprintf(err, errlen, "%s: redirect to its ifb: %s", dev, nl_geterror(r));
	return r < 0 ? -1 : 0;
}

static int link_delete(struct nl_sock *s, const char *name, char *err, size_t errlen)
{
	struct rtnl_link *l = rtnl_link_alloc();
	int r = -NLE_NOMEM;

	if (l) {
		rtnl_link_set_name(l, name);
		r = rtnl_link_delete(s, l);
		rtnl_link_put(l);
	}
	if (r == -NLE_NODEV || r == -NLE_OBJ_NOTFOUND)
		return 0;
	if (r < 0) {
		snprintf(err, errlen, "%s: cannot delete it: %s", name, nl_geterror(r));
		return -1;
	}
	return 0;
}

static int add_ifb(struct nl_sock *s, const char *name, char *err, size_t errlen)
{
	struct rtnl_link *l = rtnl_link_alloc();
	int r = -NLE_NOMEM;

	if (l) {
		rtnl_link_set_name(l, name);
		rtnl_link_set_flags(l, IFF_UP);
		if ((r = rtnl_link_set_type(l, "ifb")) == 0)
			r = rtnl_link_add(s, l, NLM_F_CREATE | NLM_F_EXCL);
		rtnl_link_put(l);
	}
	if (r < 0)
		snprintf(err, errlen, "%s: cannot create an ifb device: %s%s", name, nl_geterror(r),
			 r == -NLE_OPNOTSUPP ? " (is the ifb module there?)"
								 : "");
	return r < 0 ? -1 : 0;
}

static uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }

/* Shape what the guest sends: see the header. */
static int shape_transmit(struct nl_sock *s, const char *tap, int tap_index, unsigned mtu,
			  const struct tap_qos *q, char *err, size_t errlen)
{
	char ifb[TAP_NAME_SIZE];
	/* Xen's credit: rate x window, at least a whole frame. */
	uint64_t burst = max_u64(q->out_rate * q->out_window_us / 1000000, mtu + FRAME_OVERHEAD);
	int ifb_index = 0;

	tap_peer_name(tap, "ifb", ifb);
	/* One left by a guest that ended while the agent was down. */
	if (link_delete(s, ifb, err, errlen) < 0 || add_ifb(s, ifb, err, errlen) < 0)
		return -1;
	if (link_get(s, ifb, &ifb_index, NULL, NULL, 0, err, errlen) != 1 ||
	    add_tbf(s, ifb, ifb_index, q->out_rate, burst, max_u64(q->out_window_us, MIN_WINDOW_US),
		    err, errlen) < 0 ||
	    add_ingress(s, tap, tap_index, err, errlen) < 0 ||
	    add_redirect(s, tap, tap_index, ifb_index, err, errlen) < 0) {
		char ignored[256];
		if (!err[0])
			snprintf(err, errlen, "%s vanished", ifb);
		link_delete(s, ifb, ignored, sizeof(ignored));
		return -1;
	}
	return 0;
}

int tap_qos_apply(const char *tap, const struct tap_qos *q, char *err, size_t errlen)
{
	struct nl_sock *s;
	int index = 0, rc = -1;
	unsigned mtu = 1500;

	if (!q->out_rate && !q->in_rate)
		return 0;
	err[0] = '\0';
	if (!(s = nl_open(err, errlen)))
		return -1;
	if (link_get(s, tap, &index, &mtu, NULL, 0, err, errlen) != 1) {
		if (!err[0])
			snprintf(err, errlen, "%s: no such device", tap);
		goto out;
	}
	if (q->in_rate) {
		/* A bucket of 10 ms at the rate, at least a frame: a small
		 * burst, so what the guest gets stays the rate. */
		uint64_t burst = max_u64(q->in_rate / 100, mtu + FRAME_OVERHEAD);
		if (add_tbf(s, tap, index, q->in_rate, burst,
			    q->in_latency_us ? q->in_latency_us : TAP_QOS_LATENCY_US, err, errlen) < 0)
			goto out;
	}
	if (q->out_rate && shape_transmit(s, tap, index, mtu, q, err, errlen) < 0)
		goto out;
	rc = 0;
out:
	nl_socket_free(s);
	return rc;
}

int tap_qos_clear(const char *tap, char *err, size_t errlen)
{
	char ifb[TAP_NAME_SIZE];
	struct nl_sock *s = nl_open(err, errlen);
	int rc;

	if (!s)
		return -1;
	tap_peer_name(tap, "ifb", ifb);
	rc = link_delete(s, ifb, err, errlen);
	nl_socket_free(s);
	return rc;
}

int tap_bridge_exists(const char *name, char *err, size_t errlen)
{
	struct nl_sock *s = nl_open(err, errlen);
	char kind[32];
	int index, r;

	if (!s)
		return -1;
	r = link_get(s, name, &index, NULL, kind, sizeof(kind), err, errlen);
	nl_socket_free(s);
	if (r == 1 && strcmp(kind, "bridge") != 0) {
		snprintf(err, errlen, "%s is a network device but not a bridge", name);
		return -1;
	}
	return r;
}

int tap_default_bridge(char out[16], char *err, size_t errlen)
{
	struct nl_sock *s;
	struct nl_cache *cache = NULL;
	int r;

	out[0] = '\0';
	if ((r = tap_bridge_exists("xenbr0", err, errlen)) == 1) {
		snprintf(out, 16, "xenbr0");
		return 0;
	}
	if (!(s = nl_open(err, errlen)))
		return -1;
	if ((r = rtnl_link_alloc_cache(s, AF_UNSPEC, &cache)) < 0) {
		snprintf(err, errlen, "netlink: cannot list the links: %s", nl_geterror(r));
		nl_socket_free(s);
		return -1;
	}
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_link *l = (struct rtnl_link *)o;
		const char *type = rtnl_link_get_type(l), *name = rtnl_link_get_name(l);
		if (type && name && strcmp(type, "bridge") == 0 && strlen(name) < 16 &&
		    (!out[0] || strcmp(name, out) < 0))
			snprintf(out, 16, "%s", name);
	}
	nl_cache_free(cache);
	nl_socket_free(s);
	if (!out[0]) {
		snprintf(err, errlen, "no bridge on this host (xenbr0 or any other)");
		return -1;
	}
	return 0;
}
