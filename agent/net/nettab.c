/* nettab.c - bounded link and address tables with an index each. */
#include "agent/net/nettab.h"

#include <arpa/inet.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "agent/base/util.h"

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000 /* linux/if.h; glibc's net/if.h lacks it */
#endif

/* One table: entries at stable positions, a free list, and a linear
 * probing index from a key's hash to a position. An entry is live when
 * live(entry) says so; a freed one is zeroed. */
struct slots {
	char *v;                /* entries, cap of them allocated */
	size_t size;            /* bytes per entry */
	size_t hi;              /* positions ever used: 0..hi) */
	size_t cap, max;
	uint32_t *freel;        /* free positions below hi */
	size_t nfree, live;
	uint32_t *ipos;         /* index: position + 1, 0 = empty */
	uint32_t *ihash;        /* the hash stored with it */
	size_t mask;
};

struct net_tab {
	struct slots links, addrs;
};

typedef bool (*key_eq)(const void *entry, const void *key);

static void slots_init(struct slots *s, size_t size, size_t max)
{
	size_t n = 16;

	while (n < 2 * max)
		n <<= 1;
	memset(s, 0, sizeof(*s));
	s->size = size;
	s->max = max;
	s->freel = xcalloc(max ? max : 1, sizeof(*s->freel));
	s->ipos = xcalloc(n, sizeof(*s->ipos));
	s->ihash = xcalloc(n, sizeof(*s->ihash));
	s->mask = n - 1;
}

static void slots_free(struct slots *s)
{
	free(s->v);
	free(s->freel);
	free(s->ipos);
	free(s->ihash);
}

static void *slot_at(const struct slots *s, size_t pos)
{
	return s->v + pos * s->size;
}

/* The index slot holding pos (hash h), or SIZE_MAX. */
static size_t index_slot(const struct slots *s, uint32_t h, size_t pos)
{
	for (size_t i = h & s->mask;; i = (i + 1) & s->mask) {
		if (s->ipos[i] == 0)
			return SIZE_MAX;
		if (s->ipos[i] == pos + 1)
			return i;
	}
}

static size_t slots_find(const struct slots *s, uint32_t h, key_eq eq, const void *key)
{
	for (size_t i = h & s->mask;; i = (i + 1) & s->mask) {
		if (s->ipos[i] == 0)
			return SIZE_MAX;
		if (s->ihash[i] == h && eq(slot_at(s, s->ipos[i] - 1), key))
			return s->ipos[i] - 1;
	}
}

/* A fresh zeroed position indexed under h, or SIZE_MAX when full. */
static size_t slots_insert(struct slots *s, uint32_t h)
{
	size_t pos, i;

	if (s->live >= s->max)
		return SIZE_MAX;
	if (s->nfree > 0) {
		pos = s->freel[--s->nfree];
	} else {
		if (s->hi == s->cap) {
			size_t ncap = s->cap ? s->cap * 2 : 64;

			if (ncap > s->max)
				ncap = s->max;
			s->v = xrealloc(s->v, ncap * s->size);
			s->cap = ncap;
		}
		pos = s->hi++;
	}
	memset(slot_at(s, pos), 0, s->size);
	for (i = h & s->mask; s->ipos[i] != 0; i = (i + 1) & s->mask)
		;
	s->ipos[i] = (uint32_t)pos + 1;
	s->ihash[i] = h;
	s->live++;
	return pos;
}

/* Free pos (indexed under h): backward-shift deletion keeps every other
 * key reachable from its home slot without tombstones. */
static void slots_remove(struct slots *s, size_t pos, uint32_t h)
{
	size_t i = index_slot(s, h, pos), j = i;

	if (i == SIZE_MAX)
		abort(); /* the index and the entries disagree: a bug */
	for (;;) {
		s->ipos[i] = 0;
		for (;;) {
			size_t k;

			j = (j + 1) & s->mask;
			if (s->ipos[j] == 0)
				goto done;
			k = s->ihash[j] & s->mask;
			/* j's entry may stay when its home k lies in (i, j] */
			if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
				continue;
			break;
		}
		s->ipos[i] = s->ipos[j];
		s->ihash[i] = s->ihash[j];
		i = j;
	}
done:
	memset(slot_at(s, pos), 0, s->size);
	s->freel[s->nfree++] = (uint32_t)pos;
	s->live--;
}

/* ---- keys ---- */

static uint32_t mix(uint32_t h, uint32_t x)
{
	h ^= x;
	h *= 0x9e3779b1u;
	return h ^ (h >> 15);
}

static uint32_t link_hash(int index)
{
	return mix(0x811c9dc5u, (uint32_t)index);
}

static bool link_eq(const void *entry, const void *key)
{
	return ((const struct net_link *)entry)->index == *(const int *)key;
}

static uint32_t addr_hash(const struct net_addr *a)
{
	uint32_t h = mix(mix(mix(0x811c9dc5u, (uint32_t)a->ifindex), (uint32_t)a->family),
			 a->prefixlen);

	for (size_t i = 0; i < sizeof(a->bytes); i += 4) {
		uint32_t w;

		memcpy(&w, a->bytes + i, 4);
		h = mix(h, w);
	}
	return h;
}

static bool addr_eq(const void *entry, const void *key)
{
	const struct net_addr *x = entry, *y = key;

	return x->ifindex == y->ifindex && x->family == y->family &&
	       x->prefixlen == y->prefixlen && memcmp(x->bytes, y->bytes, sizeof(x->bytes)) == 0;
}

/* ---- tables ---- */

struct net_tab *nettab_new(size_t max_links, size_t max_addrs)
{
	struct net_tab *t = xcalloc(1, sizeof(*t));

	slots_init(&t->links, sizeof(struct net_link), max_links);
	slots_init(&t->addrs, sizeof(struct net_addr), max_addrs);
	return t;
}

void nettab_free(struct net_tab *t)
{
	if (!t)
		return;
	slots_free(&t->links);
	slots_free(&t->addrs);
	free(t);
}

int nettab_link_put(struct net_tab *t, const struct net_link *l,
		    struct net_link *old, bool *existed)
{
	uint32_t h = link_hash(l->index);
	size_t pos = slots_find(&t->links, h, link_eq, &l->index);
	bool was = pos != SIZE_MAX;

	if (old)
		*old = was ? *(struct net_link *)slot_at(&t->links, pos) : (struct net_link){ 0 };
	if (existed)
		*existed = was;
	if (!was && (pos = slots_insert(&t->links, h)) == SIZE_MAX)
		return -1;
	*(struct net_link *)slot_at(&t->links, pos) = *l;
	return 0;
}

bool nettab_link_del(struct net_tab *t, int index, struct net_link *old)
{
	uint32_t h = link_hash(index);
	size_t pos = slots_find(&t->links, h, link_eq, &index);

	if (pos == SIZE_MAX)
		return false;
	if (old)
		*old = *(struct net_link *)slot_at(&t->links, pos);
	slots_remove(&t->links, pos, h);
	return true;
}

size_t nettab_link_pos(const struct net_tab *t, int index)
{
	return slots_find(&t->links, link_hash(index), link_eq, &index);
}

const struct net_link *nettab_link(const struct net_tab *t, int index)
{
	size_t pos = nettab_link_pos(t, index);

	return pos == SIZE_MAX ? NULL : slot_at(&t->links, pos);
}

const struct net_link *nettab_link_named(const struct net_tab *t, const char *name)
{
	for (size_t i = 0; i < t->links.hi; i++) {
		const struct net_link *l = slot_at(&t->links, i);

		if (l->index > 0 && strcmp(l->name, name) == 0)
			return l;
	}
	return NULL;
}

int nettab_addr_put(struct net_tab *t, const struct net_addr *a)
{
	uint32_t h = addr_hash(a);
	size_t pos = slots_find(&t->addrs, h, addr_eq, a);

	if (pos == SIZE_MAX && (pos = slots_insert(&t->addrs, h)) == SIZE_MAX)
		return -1;
	*(struct net_addr *)slot_at(&t->addrs, pos) = *a;
	return 0;
}

bool nettab_addr_del(struct net_tab *t, const struct net_addr *a)
{
	uint32_t h = addr_hash(a);
	size_t pos = slots_find(&t->addrs, h, addr_eq, a);

	if (pos == SIZE_MAX)
		return false;
	slots_remove(&t->addrs, pos, h);
	return true;
}

size_t nettab_link_cap(const struct net_tab *t) { return t->links.hi; }
size_t nettab_addr_cap(const struct net_tab *t) { return t->addrs.hi; }
size_t nettab_nlinks(const struct net_tab *t) { return t->links.live; }
size_t nettab_naddrs(const struct net_tab *t) { return t->addrs.live; }

const struct net_link *nettab_link_at(const struct net_tab *t, size_t pos)
{
	const struct net_link *l;

	if (pos >= t->links.hi)
		return NULL;
	l = slot_at(&t->links, pos);
	return l->index > 0 ? l : NULL;
}

const struct net_addr *nettab_addr_at(const struct net_tab *t, size_t pos)
{
	const struct net_addr *a;

	if (pos >= t->addrs.hi)
		return NULL;
	a = slot_at(&t->addrs, pos);
	return a->family != 0 ? a : NULL;
}

size_t nettab_link_sweep(struct net_tab *t, uint32_t gen)
{
	size_t n = 0;

	for (size_t i = 0; i < t->links.hi; i++) {
		const struct net_link *l = nettab_link_at(t, i);

		if (l && l->gen != gen) {
			slots_remove(&t->links, i, link_hash(l->index));
			n++;
		}
	}
	return n;
}

size_t nettab_addr_sweep(struct net_tab *t, uint32_t gen)
{
	size_t n = 0;

	for (size_t i = 0; i < t->addrs.hi; i++) {
		const struct net_addr *a = nettab_addr_at(t, i);

		if (a && a->gen != gen) {
			slots_remove(&t->addrs, i, addr_hash(a));
			n++;
		}
	}
	return n;
}

/* ---- pure rules ---- */

void net_link_kind(const char *info_kind, unsigned arptype, bool has_device,
		   char out[NET_KIND_MAX])
{
	const char *k;

	if (info_kind && *info_kind)
		k = info_kind;
	else if (arptype == ARPHRD_LOOPBACK)
		k = "loopback";
	else if (has_device)
		k = "physical";
	else
		k = "other";
	snprintf(out, NET_KIND_MAX, "%s", k);
}

bool net_link_carrier(unsigned flags, int carrier_attr)
{
	if (!(flags & IFF_UP))
		return false;
	return carrier_attr >= 0 ? carrier_attr != 0 : (flags & IFF_LOWER_UP) != 0;
}

bool net_is_guest_tap(const struct net_link *l)
{
	return strncmp(l->name, "vif", 3) == 0 || strcmp(l->kind, "tun") == 0 ||
	       strcmp(l->kind, "tap") == 0;
}

bool net_is_uplink(const struct net_link *port, const struct net_link *master)
{
	bool on_bridge = strcmp(port->slave_kind, "bridge") == 0 ||
			 (master && strcmp(master->kind, "bridge") == 0);

	return port->master > 0 && on_bridge && !net_is_guest_tap(port);
}

const char *net_operstate_name(uint8_t operstate)
{
	static const char *const names[] = {
		"unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up",
	};

	return operstate < ARRAY_SIZE(names) ? names[operstate] : "unknown";
}

void net_format_mac(const uint8_t *b, size_t n, char out[NET_MAC_STR])
{
	size_t o = 0;

	out[0] = '\0';
	if (n > NET_MAC_MAX)
		n = NET_MAC_MAX;
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(out + o, NET_MAC_STR - o, "%s%02x", i ? ":" : "", b[i]);
}

void net_format_cidr(const struct net_addr *a, char *out, size_t outlen)
{
	char ip[INET6_ADDRSTRLEN];

	if (!inet_ntop(a->family, a->bytes, ip, sizeof(ip)))
		snprintf(ip, sizeof(ip), "?");
	snprintf(out, outlen, "%s/%u", ip, a->prefixlen);
}
