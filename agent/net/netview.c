/* netview.c - the netlink route socket in the loop, feeding nettab.
 *
 * libnl-route-3 opens the socket, sends the dump requests and parses each
 * link or address message into an object; the datagrams themselves are read
 * here, into one bounded buffer, so that lost events (ENOBUFS), truncated
 * datagrams and the end of a dump are seen exactly and answered with a
 * re-read of the whole view. */
#define LOG_CAT "net"
#include "agent/net/netview.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/socket.h>
#include <netlink/route/rtnl.h>
#include <netlink/route/link.h>
#include <netlink/route/addr.h>

#include "agent/base/log.h"
#include "agent/base/loop.h"
#include "agent/base/util.h"

/* One datagram; the kernel fills dumps up to the reader's buffer (at
 * least 32 KiB), single events are far smaller. */
#define RECV_BUF (64 * 1024)
/* Datagrams read per loop turn before others get their turn (the socket
 * is level-triggered: the rest wait for the next turn). */
#define RECV_PER_TURN 64
/* Room for bursts (a bridge with hundreds of ports going down) before
 * the kernel drops events; root may go past rmem_max. */
#define SOCK_RCVBUF (4 * 1024 * 1024)
/* The first dump, read before the agent serves anyone. */
#define FIRST_DUMP_MS 5000
/* After the kernel refuses a dump request, try again this much later. */
#define DUMP_RETRY_MS 1000
/* Device names with a change in flight (create_bridge, delete_bridge). */
#define MAX_CLAIMS 64

enum dump { DUMP_NONE, DUMP_LINKS, DUMP_ADDRS };

struct netview {
	struct loop *loop;
	struct nl_sock *sk;
	struct io io;
	struct timer retry;
	struct net_tab *tab;
	unsigned char *rbuf;
	uint32_t gen;           /* generation of the dump in progress or last done */
	enum dump dumping;
	bool again;             /* events were lost during this dump: another one after */
	bool intr;              /* NLM_F_DUMP_INTR: this dump is not consistent */
	bool ready;             /* one whole view read */
	bool full_logged[2];    /* links, addresses */
	struct netview_stats st;
	char claims[MAX_CLAIMS][IFNAMSIZ];
};

static void start_dump(struct netview *nv, enum dump what);

/* ---- links ---------------------------------------------------------- */

/* sysfs speaks for the device of this namespace (ip netns exec mounts its
 * own /sys): "speed" in Mb/s, absent or -1 without a carrier. */
static int read_speed(const char *name)
{
	char path[64 + IFNAMSIZ], s[32];
	ssize_t n;
	int fd, v;

	snprintf(path, sizeof(path), "/sys/class/net/%s/speed", name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, s, sizeof(s) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	s[n] = '\0';
	v = atoi(s);
	return v > 0 ? v : -1;
}

static bool has_device(const char *name)
{
	char path[64 + IFNAMSIZ];

	snprintf(path, sizeof(path), "/sys/class/net/%s/device", name);
	return access(path, F_OK) == 0;
}

static void link_from_nl(struct rtnl_link *rl, struct net_link *l)
{
	const char *name = rtnl_link_get_name(rl), *kind = rtnl_link_get_type(rl);
	const char *skind = rtnl_link_get_slave_type(rl);
	struct nl_addr *mac = rtnl_link_get_addr(rl);

	memset(l, 0, sizeof(*l));
	l->index = rtnl_link_get_ifindex(rl);
	l->master = rtnl_link_get_master(rl);
	snprintf(l->name, sizeof(l->name), "%s", name ? name : "");
	snprintf(l->slave_kind, sizeof(l->slave_kind), "%s", skind ? skind : "");
	net_link_kind(kind, rtnl_link_get_arptype(rl),
		      !(kind && *kind) && l->name[0] && has_device(l->name), l->kind);
	if (mac)
		net_format_mac(nl_addr_get_binary_addr(mac), nl_addr_get_len(mac), l->mac);
	l->mtu = rtnl_link_get_mtu(rl);
	l->flags = rtnl_link_get_flags(rl);
	l->operstate = rtnl_link_get_operstate(rl);
	l->carrier = net_link_carrier(l->flags, rtnl_link_get_carrier(rl));
	l->speed_mbps = -1;
}

static void log_uplink(const struct netview *nv, const struct net_link *l)
{
	const struct net_link *br = nettab_link(nv->tab, l->master);

	if (!net_is_uplink(l, br))
		return;
	if (l->carrier)
		log_warn("uplink %s of bridge %s has a carrier again (%d Mb/s)", l->name,
			 br ? br->name : "?", l->speed_mbps);
	else
		log_warn("uplink %s of bridge %s lost its carrier", l->name, br ? br->name : "?");
}

static void table_full(struct netview *nv, int which)
{
	nv->st.dropped++;
	if (nv->full_logged[which])
		return;
	nv->full_logged[which] = true;
	log_err("more than %d %s on this host: the network view holds the first %d only",
		which ? NET_MAX_ADDRS : NET_MAX_LINKS, which ? "addresses" : "links",
		which ? NET_MAX_ADDRS : NET_MAX_LINKS);
}

static void on_link(struct netview *nv, struct rtnl_link *rl, int type)
{
	const struct net_link *prev;
	struct net_link l;
	bool changed;

	link_from_nl(rl, &l);
	if (l.index <= 0)
		return;
	if (type == RTM_DELLINK) {
		nettab_link_del(nv->tab, l.index, NULL);
		return;
	}
	l.gen = nv->gen;
	prev = nettab_link(nv->tab, l.index);
	changed = prev && prev->carrier != l.carrier;
	/* The speed only changes with the carrier (or a new device). */
	if (prev && !changed && strcmp(prev->name, l.name) == 0)
		l.speed_mbps = prev->speed_mbps;
	else if (l.carrier)
		l.speed_mbps = read_speed(l.name);
	if (nettab_link_put(nv->tab, &l, NULL, NULL) < 0) {
		table_full(nv, 0);
		return;
	}
	if (changed)
		log_uplink(nv, &l);
}

static void on_addr(struct netview *nv, struct rtnl_addr *ra, int type)
{
	struct nl_addr *local = rtnl_addr_get_local(ra);
	struct net_addr a = { 0 };
	unsigned len;

	if (!local)
		return;
	a.ifindex = rtnl_addr_get_ifindex(ra);
	a.family = rtnl_addr_get_family(ra);
	a.prefixlen = (uint8_t)rtnl_addr_get_prefixlen(ra);
	len = nl_addr_get_len(local);
	if ((a.family != AF_INET || len != 4) && (a.family != AF_INET6 || len != 16))
		return;
	memcpy(a.bytes, nl_addr_get_binary_addr(local), len);
	if (type == RTM_DELADDR) {
		nettab_addr_del(nv->tab, &a);
		return;
	}
	a.gen = nv->gen;
	if (nettab_addr_put(nv->tab, &a) < 0)
		table_full(nv, 1);
}

static void on_object(struct nl_object *obj, void *arg)
{
	struct netview *nv = arg;
	const char *type = nl_object_get_type(obj);
	int msgtype = nl_object_get_msgtype(obj);

	if (strcmp(type, "route/link") == 0)
		on_link(nv, (struct rtnl_link *)obj, msgtype);
	else if (strcmp(type, "route/addr") == 0)
		on_addr(nv, (struct rtnl_addr *)obj, msgtype);
}

/* ---- messages ------------------------------------------------------- */

static void dump_done(struct netview *nv)
{
	size_t gone;

	if (nv->intr) {
		/* The kernel says the dump raced with changes: read it again. */
		log_info("network view: the %s dump was interrupted; reading again",
			 nv->dumping == DUMP_LINKS ? "link" : "address");
		nv->intr = false;
		start_dump(nv, nv->dumping);
		return;
	}
	if (nv->dumping == DUMP_LINKS) {
		gone = nettab_link_sweep(nv->tab, nv->gen);
		if (gone && nv->ready)
			log_info("network view: %zu link(s) gone while events were lost", gone);
		start_dump(nv, DUMP_ADDRS);
		return;
	}
	nettab_addr_sweep(nv->tab, nv->gen);
	nv->dumping = DUMP_NONE;
	nv->ready = true;
	if (nettab_nlinks(nv->tab) < NET_MAX_LINKS)
		nv->full_logged[0] = false;
	if (nettab_naddrs(nv->tab) < NET_MAX_ADDRS)
		nv->full_logged[1] = false;
	if (nv->again) {
		nv->again = false;
		start_dump(nv, DUMP_LINKS);
	}
}

static void on_message(struct netview *nv, struct nlmsghdr *h)
{
	struct nl_msg *m;

	if (h->nlmsg_flags & NLM_F_DUMP_INTR)
		nv->intr = true;
	switch (h->nlmsg_type) {
	case NLMSG_DONE:
		if (nv->dumping != DUMP_NONE)
			dump_done(nv);
		return;
	case NLMSG_ERROR: {
		const struct nlmsgerr *e = NLMSG_DATA(h);

		if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)) || e->error == 0)
			return;
		/* Only our dump requests are answered; one was refused. */
		log_warn("network view: the kernel refused a dump: %s; trying again in %d ms",
			 strerror(-e->error), DUMP_RETRY_MS);
		nv->dumping = DUMP_NONE;
		timer_start(nv->loop, &nv->retry, DUMP_RETRY_MS);
		return;
	}
	case RTM_NEWLINK:
	case RTM_DELLINK:
		/* The bridge also reports its ports with family AF_BRIDGE
		 * (and RTM_DELLINK when a port leaves, the device staying):
		 * only the generic messages speak for the device. */
		if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)) ||
		    ((struct ifinfomsg *)NLMSG_DATA(h))->ifi_family != AF_UNSPEC)
			return;
		break;
	case RTM_NEWADDR:
	case RTM_DELADDR:
		break;
	default:
		return;
	}
	if (!(m = nlmsg_convert(h)))
		return;
	nlmsg_set_proto(m, NETLINK_ROUTE);
	if (nl_msg_parse(m, on_object, nv) == 0)
		nv->st.messages++;
	nlmsg_free(m);
}

static void lost_events(struct netview *nv, const char *why)
{
	nv->st.resyncs++;
	log_warn("network view: %s; reading the whole view again", why);
	if (nv->dumping != DUMP_NONE)
		nv->again = true;
	else
		start_dump(nv, DUMP_LINKS);
}

/* Read what is there, at most max datagrams; true when all of it was. */
static bool drain(struct netview *nv, int max)
{
	int fd = nl_socket_get_fd(nv->sk);

	for (int i = 0; i < max; i++) {
		struct sockaddr_nl from;
		socklen_t fromlen = sizeof(from);
		ssize_t n = recvfrom(fd, nv->rbuf, RECV_BUF, MSG_DONTWAIT | MSG_TRUNC,
				     (struct sockaddr *)&from, &fromlen);
		size_t left;

		if (n < 0) {
			int e = errno;

			if (e == EINTR)
				continue;
			if (e == ENOBUFS)
				lost_events(nv, "the kernel dropped events (socket buffer full)");
			else if (e != EAGAIN)
				log_err("network view: recv: %s", strerror(e));
			return e == EAGAIN;
		}
		if (from.nl_pid != 0)
			continue; /* only the kernel speaks here */
		if ((size_t)n > RECV_BUF) {
			lost_events(nv, "a netlink datagram was larger than the buffer");
			continue;
		}
		left = (size_t)n;
		for (struct nlmsghdr *h = (struct nlmsghdr *)nv->rbuf; NLMSG_OK(h, left);
		     h = NLMSG_NEXT(h, left))
			on_message(nv, h);
	}
	return false;
}

static void on_readable(struct io *io, uint32_t events)
{
	drain(io->data, RECV_PER_TURN);
}

bool netview_sync(struct netview *nv)
{
	/* bounded like everything else: the socket buffer holds at most a
	 * few thousand datagrams; what is left waits for the loop */
	return drain(nv, 16 * RECV_PER_TURN) && nv->dumping == DUMP_NONE;
}

bool netview_claim(struct netview *nv, const char *name)
{
	char (*free_slot)[IFNAMSIZ] = NULL;

	for (size_t i = 0; i < MAX_CLAIMS; i++) {
		if (strcmp(nv->claims[i], name) == 0)
			return false;
		if (!nv->claims[i][0] && !free_slot)
			free_slot = &nv->claims[i];
	}
	if (!free_slot)
		return false;
	snprintf(*free_slot, IFNAMSIZ, "%s", name);
	return true;
}

void netview_release(struct netview *nv, const char *name)
{
	for (size_t i = 0; i < MAX_CLAIMS; i++)
		if (strcmp(nv->claims[i], name) == 0)
			nv->claims[i][0] = '\0';
}

static void start_dump(struct netview *nv, enum dump what)
{
	int err;

	if (what == DUMP_LINKS)
		nv->gen++;
	nv->dumping = what;
	nv->intr = false;
	err = nl_rtgen_request(nv->sk, what == DUMP_LINKS ? RTM_GETLINK : RTM_GETADDR,
			       AF_UNSPEC, NLM_F_DUMP);
	if (err < 0) {
		log_warn("network view: cannot ask for a dump: %s; trying again in %d ms",
			 nl_geterror(err), DUMP_RETRY_MS);
		nv->dumping = DUMP_NONE;
		timer_start(nv->loop, &nv->retry, DUMP_RETRY_MS);
	}
}

static void on_retry(struct timer *t)
{
	struct netview *nv = t->data;

	if (nv->dumping == DUMP_NONE)
		start_dump(nv, DUMP_LINKS);
}

/* ---- life ----------------------------------------------------------- */

struct netview *netview_new(struct loop *loop, char *err, size_t errlen)
{
	struct netview *nv = xcalloc(1, sizeof(*nv));
	int e, fd, sz = SOCK_RCVBUF;
	int64_t deadline;

	nv->loop = loop;
	nv->io.fd = -1;
	timer_init(&nv->retry, on_retry, nv);
	nv->tab = nettab_new(NET_MAX_LINKS, NET_MAX_ADDRS);
	nv->rbuf = xmalloc(RECV_BUF);
	if (!(nv->sk = nl_socket_alloc())) {
		snprintf(err, errlen, "netlink: cannot allocate a socket");
		goto fail;
	}
	nl_socket_disable_seq_check(nv->sk);
	nl_socket_disable_auto_ack(nv->sk);
	if ((e = nl_connect(nv->sk, NETLINK_ROUTE)) < 0 ||
	    (e = nl_socket_add_memberships(nv->sk, RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR,
					   RTNLGRP_IPV6_IFADDR, 0)) < 0 ||
	    (e = nl_socket_set_nonblocking(nv->sk)) < 0) {
		snprintf(err, errlen, "netlink route socket: %s", nl_geterror(e));
		goto fail;
	}
	fd = nl_socket_get_fd(nv->sk);
	fd_set_cloexec(fd);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	/* The first view, read before anyone can ask for it. */
	start_dump(nv, DUMP_LINKS);
	deadline = now_ms() + FIRST_DUMP_MS;
	while (!nv->ready && nv->dumping != DUMP_NONE) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - now_ms();

		if (left <= 0 || (poll(&p, 1, (int)left) < 0 && errno != EINTR)) {
			snprintf(err, errlen, "netlink: no complete dump of links and addresses "
				 "within %d ms", FIRST_DUMP_MS);
			goto fail;
		}
		drain(nv, RECV_PER_TURN);
	}
	if (!nv->ready) {
		snprintf(err, errlen, "netlink: the kernel refused to list links and addresses");
		goto fail;
	}
	if (io_add(loop, &nv->io, fd, EPOLLIN, on_readable, nv) < 0) {
		snprintf(err, errlen, "netlink: epoll: %s", strerror(errno));
		goto fail;
	}
	log_info("network view: %zu links, %zu addresses", nettab_nlinks(nv->tab),
		 nettab_naddrs(nv->tab));
	return nv;
fail:
	netview_free(nv);
	return NULL;
}

void netview_free(struct netview *nv)
{
	if (!nv)
		return;
	io_del(nv->loop, &nv->io);
	timer_stop(nv->loop, &nv->retry);
	if (nv->sk)
		nl_socket_free(nv->sk); /* closes the fd */
	nettab_free(nv->tab);
	free(nv->rbuf);
	free(nv);
}

const struct net_tab *netview_tab(const struct netview *nv)
{
	return nv->tab;
}

void netview_stats(const struct netview *nv, struct netview_stats *st)
{
	*st = nv->st;
}
