/* nettab.h - the network view's tables: links and addresses, bounded.
 *
 * Pure data (no sockets, no libnl): netview.c fills it from kernel events,
 * the methods read it, the unit tests drive it directly. Each table is a
 * slot array (positions stay put while an entry lives; freed slots are
 * reused) with an open-addressing index on its key, so an event or a dump
 * of thousands of links costs O(1) per message, never a scan.
 *
 * Bounded: at most max_links links and max_addrs addresses are held;
 * past that a put fails and the caller logs (once). */
#ifndef OVS_NETTAB_H
#define OVS_NETTAB_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_MAX_LINKS 4096
#define NET_MAX_ADDRS 4096
#define NET_KIND_MAX 16
#define NET_MAC_MAX 32          /* hardware address bytes kept */
#define NET_MAC_STR (3 * NET_MAC_MAX)

struct net_link {
	int index;                  /* ifindex, > 0 */
	int master;                 /* ifindex of the master (bridge, bond), 0 none */
	char name[IFNAMSIZ];
	char kind[NET_KIND_MAX];    /* net_link_kind(): bridge, physical, veth, tun, ... */
	char slave_kind[NET_KIND_MAX]; /* "bridge" for a bridge port, else "" */
	char mac[NET_MAC_STR];      /* "aa:bb:cc:dd:ee:ff", "" when none */
	unsigned mtu;
	unsigned flags;             /* IFF_* */
	uint8_t operstate;          /* IF_OPER_* (RFC 2863) */
	bool carrier;               /* net_link_carrier(): up and the carrier is there */
	int speed_mbps;             /* -1 unknown */
	uint32_t gen;               /* the dump generation that last saw it */
};

struct net_addr {
	int ifindex;
	int family;                 /* AF_INET, AF_INET6 */
	uint8_t prefixlen;
	uint8_t bytes[16];
	uint32_t gen;
};

struct net_tab;

struct net_tab *nettab_new(size_t max_links, size_t max_addrs);
void nettab_free(struct net_tab *t);

/* Insert or replace the link l->index. When old is given it gets the
 * previous entry and *existed says whether there was one. Returns 0, or
 * -1 when the table is full (nothing changed). */
int nettab_link_put(struct net_tab *t, const struct net_link *l,
		    struct net_link *old, bool *existed);
/* Remove; true when it was there (old gets it when given). */
bool nettab_link_del(struct net_tab *t, int index, struct net_link *old);
const struct net_link *nettab_link(const struct net_tab *t, int index);
/* By name: a scan, for one lookup per method call. */
const struct net_link *nettab_link_named(const struct net_tab *t, const char *name);

int nettab_addr_put(struct net_tab *t, const struct net_addr *a);
bool nettab_addr_del(struct net_tab *t, const struct net_addr *a);

/* Iteration: positions 0..cap) of which some are free (NULL). */
size_t nettab_link_cap(const struct net_tab *t);
const struct net_link *nettab_link_at(const struct net_tab *t, size_t pos);
size_t nettab_addr_cap(const struct net_tab *t);
const struct net_addr *nettab_addr_at(const struct net_tab *t, size_t pos);
size_t nettab_nlinks(const struct net_tab *t);
size_t nettab_naddrs(const struct net_tab *t);
/* The position of link index (for per-link arrays built by readers), or
 * SIZE_MAX. */
size_t nettab_link_pos(const struct net_tab *t, int index);

/* After a full dump of generation gen: drop what the dump did not show.
 * Returns how many were dropped. */
size_t nettab_link_sweep(struct net_tab *t, uint32_t gen);
size_t nettab_addr_sweep(struct net_tab *t, uint32_t gen);

/* ---- pure rules ---- */

/* What a link is, from its IFLA_INFO_KIND (may be NULL or ""), its
 * ARPHRD_* type and whether sysfs shows a device behind it: "bridge",
 * "veth", "tun", ... as the kernel names them, "physical" for a NIC,
 * "loopback", else "other". Writes into out. */
void net_link_kind(const char *info_kind, unsigned arptype, bool has_device,
		   char out[NET_KIND_MAX]);
/* The carrier as a manager means it: administratively up and the lower
 * layer up (IFLA_CARRIER when the kernel gave it, IFF_LOWER_UP else). */
bool net_link_carrier(unsigned flags, int carrier_attr);
/* A guest's tap on a bridge: named vif... (vif<domid>.<n>, as Xen and the
 * agent name them) or a tun/tap device. */
bool net_is_guest_tap(const struct net_link *l);
/* A bridge port that is not a guest tap: the bridge's way out. master is
 * the port's master as the table holds it (NULL when unknown). */
bool net_is_uplink(const struct net_link *port, const struct net_link *master);
/* IF_OPER_* as RFC 2863 names it, lower case: "up", "down",
 * "lowerlayerdown", "dormant", "notpresent", "testing", "unknown". */
const char *net_operstate_name(uint8_t operstate);
/* "aa:bb:..." of n bytes (at most NET_MAC_MAX); "" for n == 0. */
void net_format_mac(const uint8_t *b, size_t n, char out[NET_MAC_STR]);
/* "192.0.2.1/24", "2001:db8::1/64"; out holds at least 64 bytes. */
void net_format_cidr(const struct net_addr *a, char *out, size_t outlen);

#endif
