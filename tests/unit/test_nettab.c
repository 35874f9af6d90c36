/* test_nettab.c - the network view's tables and rules, without a kernel:
 * puts, deletes and sweeps against a plain array as the oracle, the caps,
 * what counts as a guest tap or an uplink, device names and
 * network_bridges. */
#include <arpa/inet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "agent/net/netname.h"
#include "agent/net/nettab.h"

static struct net_link mklink(int index, const char *name, const char *kind, int master)
{
	struct net_link l = { .index = index, .master = master, .mtu = 1500, .speed_mbps = -1 };

	snprintf(l.name, sizeof(l.name), "%s", name);
	snprintf(l.kind, sizeof(l.kind), "%s", kind);
	return l;
}

static struct net_addr mkaddr(int ifindex, const char *ip, int prefix)
{
	struct net_addr a = { .ifindex = ifindex, .prefixlen = (uint8_t)prefix };

	a.family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	inet_pton(a.family, ip, a.bytes);
	return a;
}

TEST(link_put_get_del)
{
	struct net_tab *t = nettab_new(8, 8);
	struct net_link l = mklink(3, "eth0", "physical", 0), old;
	bool existed = true;

	CHECK_INT(nettab_link_put(t, &l, &old, &existed), 0);
	CHECK(!existed);
	CHECK_STR(nettab_link(t, 3)->name, "eth0");
	CHECK(nettab_link(t, 4) == NULL);
	l.carrier = true;
	snprintf(l.name, sizeof(l.name), "renamed");
	CHECK_INT(nettab_link_put(t, &l, &old, &existed), 0);
	CHECK(existed);
	CHECK_STR(old.name, "eth0");
	CHECK(!old.carrier);
	CHECK_INT(nettab_nlinks(t), 1);
	CHECK(nettab_link_named(t, "renamed") == nettab_link(t, 3));
	CHECK(nettab_link_named(t, "eth0") == NULL);
	CHECK(nettab_link_del(t, 3, &old));
	CHECK_STR(old.name, "renamed");
	CHECK(!nettab_link_del(t, 3, NULL));
	CHECK_INT(nettab_nlinks(t), 0);
	nettab_free(t);
}

TEST(caps_refuse_and_free_slots_are_reused)
{
	struct net_tab *t = nettab_new(4, 2);
	struct net_addr a;

	for (int i = 1; i <= 4; i++) {
		struct net_link l = mklink(i * 1000, "x", "veth", 0);

		CHECK_INT(nettab_link_put(t, &l, NULL, NULL), 0);
	}
	struct net_link l5 = mklink(5, "y", "veth", 0);
	CHECK_INT(nettab_link_put(t, &l5, NULL, NULL), -1);
	CHECK(nettab_link(t, 5) == NULL);
	/* replacing an existing one is still fine when full */
	struct net_link l1 = mklink(1000, "z", "veth", 0);
	CHECK_INT(nettab_link_put(t, &l1, NULL, NULL), 0);
	CHECK(nettab_link_del(t, 2000, NULL));
	CHECK_INT(nettab_link_put(t, &l5, NULL, NULL), 0);
	CHECK_INT(nettab_link_cap(t), 4);
	a = mkaddr(1, "192.0.2.1", 24);
	CHECK_INT(nettab_addr_put(t, &a), 0);
	CHECK_INT(nettab_addr_put(t, &a), 0); /* the same one again */
	a = mkaddr(1, "192.0.2.1", 25);       /* another prefix: another address */
	CHECK_INT(nettab_addr_put(t, &a), 0);
	a = mkaddr(1, "2001:db8::1", 64);
	CHECK_INT(nettab_addr_put(t, &a), -1);
	CHECK_INT(nettab_naddrs(t), 2);
	nettab_free(t);
}

/* Random puts and deletes, many colliding in the index, checked against a
 * plain array after every step. */
TEST(random_ops_match_an_array)
{
	enum { N = 512, KEYS = 700, STEPS = 20000 };
	static int present[KEYS];
	struct net_tab *t = nettab_new(N, N);
	size_t live = 0;
	unsigned seed = 12345;

	memset(present, 0, sizeof(present));
	for (int s = 0; s < STEPS; s++) {
		int k;
		bool del;

		seed = seed * 1103515245u + 12345u;
		k = (int)((seed >> 8) % KEYS);
		del = (seed >> 20) & 1;
		/* keys spread far apart and close together */
		int index = (k % 2) ? k + 1 : (k + 1) * 65536;
		if (del) {
			CHECK(nettab_link_del(t, index, NULL) == (present[k] != 0));
			if (present[k])
				live--;
			present[k] = 0;
		} else {
			struct net_link l = mklink(index, "n", "veth", 0);
			int r = nettab_link_put(t, &l, NULL, NULL);

			if (present[k]) {
				CHECK_INT(r, 0);
			} else if (live < N) {
				CHECK_INT(r, 0);
				present[k] = 1;
				live++;
			} else {
				CHECK_INT(r, -1);
			}
		}
		if (s % 997 == 0) {
			for (int j = 0; j < KEYS; j++) {
				int ix = (j % 2) ? j + 1 : (j + 1) * 65536;
				CHECK((nettab_link(t, ix) != NULL) == (present[j] != 0));
			}
		}
	}
	CHECK_INT(nettab_nlinks(t), live);
	size_t seen = 0;
	for (size_t p = 0; p < nettab_link_cap(t); p++)
		if (nettab_link_at(t, p))
			seen++;
	CHECK_INT(seen, live);
	nettab_free(t);
}

TEST(sweep_drops_what_the_dump_did_not_show)
{
	struct net_tab *t = nettab_new(16, 16);
	struct net_link l;
	struct net_addr a;

	for (int i = 1; i <= 6; i++) {
		l = mklink(i, "l", "veth", 0);
		l.gen = (i % 2) ? 7 : 6;
		nettab_link_put(t, &l, NULL, NULL);
		a = mkaddr(i, "198.51.100.7", 24);
		a.gen = (i % 3) ? 7 : 6;
		nettab_addr_put(t, &a);
	}
	CHECK_INT(nettab_link_sweep(t, 7), 3);
	CHECK_INT(nettab_nlinks(t), 3);
	CHECK(nettab_link(t, 1) && !nettab_link(t, 2) && nettab_link(t, 5));
	CHECK_INT(nettab_addr_sweep(t, 7), 2);
	CHECK_INT(nettab_naddrs(t), 4);
	CHECK_INT(nettab_link_sweep(t, 7), 0);
	nettab_free(t);
}

TEST(ten_thousand_events_are_cheap)
{
	struct net_tab *t = nettab_new(NET_MAX_LINKS, NET_MAX_ADDRS);
	clock_t c0 = clock();

	for (int round = 0; round < 3; round++)
		for (int i = 1; i <= NET_MAX_LINKS; i++) {
			struct net_link l = mklink(i, "x", "veth", 0);
			struct net_addr a = mkaddr(i, "10.0.0.1", 8);

			nettab_link_put(t, &l, NULL, NULL);
			nettab_addr_put(t, &a);
		}
	for (int i = 1; i <= NET_MAX_LINKS; i += 2)
		nettab_link_del(t, i, NULL);
	CHECK_INT(nettab_nlinks(t), NET_MAX_LINKS / 2);
	CHECK_INT(nettab_naddrs(t), NET_MAX_ADDRS);
	/* linear work: well under a second even on the sanitizer build */
	CHECK((double)(clock() - c0) / CLOCKS_PER_SEC < 1.0);
	nettab_free(t);
}

TEST(kinds_carrier_taps_uplinks)
{
	char k[NET_KIND_MAX];
	struct net_link br = mklink(2, "xenbr0", "bridge", 0);
	struct net_link eth = mklink(3, "eth0", "physical", 2);
	struct net_link vif = mklink(4, "vif3.0", "other", 2);
	struct net_link tap = mklink(5, "tap9", "tun", 2);
	struct net_link bond = mklink(6, "eth1", "physical", 7);
	struct net_link bondm = mklink(7, "bond0", "bond", 0);

	net_link_kind("veth", ARPHRD_ETHER, false, k);
	CHECK_STR(k, "veth");
	net_link_kind("", ARPHRD_ETHER, true, k);
	CHECK_STR(k, "physical");
	net_link_kind(NULL, ARPHRD_LOOPBACK, false, k);
	CHECK_STR(k, "loopback");
	net_link_kind(NULL, ARPHRD_ETHER, false, k);
	CHECK_STR(k, "other");
	net_link_kind("averyveryverylongkindname", ARPHRD_ETHER, false, k);
	CHECK_INT(strlen(k), NET_KIND_MAX - 1);

	CHECK(!net_link_carrier(0, 1));                  /* down: no carrier */
	CHECK(net_link_carrier(IFF_UP, 1));
	CHECK(!net_link_carrier(IFF_UP, 0));
	CHECK(net_link_carrier(IFF_UP | 0x10000, -1));   /* IFF_LOWER_UP */
	CHECK(!net_link_carrier(IFF_UP, -1));

	CHECK(net_is_guest_tap(&vif));
	CHECK(net_is_guest_tap(&tap));
	CHECK(!net_is_guest_tap(&eth));
	CHECK(net_is_uplink(&eth, &br));
	CHECK(!net_is_uplink(&vif, &br));
	CHECK(!net_is_uplink(&tap, &br));
	CHECK(!net_is_uplink(&br, NULL));
	CHECK(!net_is_uplink(&bond, &bondm));            /* a bond's slave is not */
	snprintf(eth.slave_kind, sizeof(eth.slave_kind), "bridge");
	CHECK(net_is_uplink(&eth, NULL));                /* the bridge not seen yet */
}

TEST(formats)
{
	uint8_t mac[6] = { 0x00, 0x16, 0x3e, 0x0a, 0xbc, 0xff };
	uint8_t big[40];
	char s[NET_MAC_STR], c[64];
	struct net_addr a = mkaddr(1, "192.0.2.10", 24), b = mkaddr(1, "2001:db8::5", 64);

	net_format_mac(mac, 6, s);
	CHECK_STR(s, "00:16:3e:0a:bc:ff");
	net_format_mac(mac, 0, s);
	CHECK_STR(s, "");
	memset(big, 0xab, sizeof(big));
	net_format_mac(big, sizeof(big), s);
	CHECK_INT(strlen(s), 3 * NET_MAC_MAX - 1);
	net_format_cidr(&a, c, sizeof(c));
	CHECK_STR(c, "192.0.2.10/24");
	CHECK_STR(net_operstate_name(6), "up");
	CHECK_STR(net_operstate_name(2), "down");
	CHECK_STR(net_operstate_name(200), "unknown");
	net_format_cidr(&b, c, sizeof(c));
	CHECK_STR(c, "2001:db8::5/64");
}

TEST(device_names)
{
	char err[160];

	CHECK(net_name_ok("xenbr0", 6, err, sizeof(err)));
	CHECK(net_name_ok("vif12.0", 7, err, sizeof(err)));
	CHECK(net_name_ok("a_b-c.d", 7, err, sizeof(err)));
	CHECK(net_name_ok("abcdefghijklmno", 15, err, sizeof(err)));
	CHECK(!net_name_ok("abcdefghijklmnop", 16, err, sizeof(err)));
	CHECK(strstr(err, "IFNAMSIZ") != NULL);
	CHECK(!net_name_ok("", 0, err, sizeof(err)));
	CHECK(!net_name_ok("-x", 2, err, sizeof(err)));
	CHECK(!net_name_ok(".", 1, err, sizeof(err)));
	CHECK(!net_name_ok("..", 2, err, sizeof(err)));
	CHECK(!net_name_ok("a b", 3, err, sizeof(err)));
	CHECK(!net_name_ok("a/b", 3, err, sizeof(err)));
	CHECK(!net_name_ok("a:b", 3, err, sizeof(err)));
	CHECK(!net_name_ok("br=x", 4, err, sizeof(err)));
	CHECK(!net_name_ok("a\nb", 3, err, sizeof(err)));
	CHECK(!net_name_ok("a\0b", 3, err, sizeof(err)));
	CHECK(!net_name_ok("\xc3\xa9t", 3, err, sizeof(err)));
	CHECK(strstr(err, "'??t'") != NULL);
}

static char got[512];

static void collect(void *arg, const char *bridge, const char *netdev)
{
	size_t n = strlen(got);

	snprintf(got + n, sizeof(got) - n, "%s[%s]", bridge, netdev);
}

static int parse(const char *spec, char *err, size_t errlen)
{
	got[0] = '\0';
	return net_bridges_parse(spec, strlen(spec), collect, NULL, err, errlen);
}

TEST(network_bridges)
{
	char err[256], big[4096];
	size_t o = 0;

	CHECK_INT(parse("xenbr0:eth0,xenbr1:eth1", err, sizeof(err)), 0);
	CHECK_STR(got, "xenbr0[eth0]xenbr1[eth1]");
	CHECK_INT(parse(" xenbr0 : eth0 ", err, sizeof(err)), -1); /* blanks inside an item */
	CHECK_INT(parse("  xenbr0:eth0 ,\txenbr1  ", err, sizeof(err)), 0);
	CHECK_STR(got, "xenbr0[eth0]xenbr1[]");
	CHECK_INT(parse("", err, sizeof(err)), 0);
	CHECK_STR(got, "");
	CHECK_INT(parse("   ", err, sizeof(err)), 0);
	CHECK_INT(parse("xenbr0:eth0,", err, sizeof(err)), -1);
	CHECK(strstr(err, "empty item") != NULL);
	CHECK_INT(parse("xenbr0:", err, sizeof(err)), -1);
	CHECK_INT(parse(":eth0", err, sizeof(err)), -1);
	CHECK_INT(parse("xenbr0:eth0:x", err, sizeof(err)), -1);
	CHECK_INT(parse("xenbr0:eth0,xenbr0:eth1", err, sizeof(err)), -1);
	CHECK(strstr(err, "twice") != NULL);
	CHECK_STR(got, ""); /* nothing called before the whole list passed */
	CHECK_INT(parse("averyveryverylongbridge:eth0", err, sizeof(err)), -1);
	for (int i = 0; i <= NET_BRIDGES_MAX; i++)
		o += (size_t)snprintf(big + o, sizeof(big) - o, "%sbr%d", i ? "," : "", i);
	CHECK_INT(parse(big, err, sizeof(err)), -1);
	CHECK(strstr(err, "more than") != NULL);
}

int main(void)
{
	RUN(link_put_get_del);
	RUN(caps_refuse_and_free_slots_are_reused);
	RUN(random_ops_match_an_array);
	RUN(sweep_drops_what_the_dump_did_not_show);
	RUN(ten_thousand_events_are_cheap);
	RUN(kinds_carrier_taps_uplinks);
	RUN(formats);
	RUN(device_names);
	RUN(network_bridges);
	return harness_done();
}
