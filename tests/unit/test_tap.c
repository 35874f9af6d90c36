/* test_tap.c - tap names as Xen gives them, and real taps (as root, in a
 * network namespace of this process's own, gone when it exits). */
#include "harness.h"
#include "hypervisor/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#define UUID "6f1a6d2e-4c1b-4f3e-9a2b-0c1d2e3f4a5b"

static char err[256];

TEST(names)
{
	char n[TAP_NAME_SIZE];

	CHECK(tap_name(UUID, NULL, 0, n, err, sizeof(err)) == 0);
	CHECK_STR(n, "vif6f1a6d2e.0");
	CHECK(tap_name(UUID, "", 31, n, err, sizeof(err)) == 0);
	CHECK_STR(n, "vif6f1a6d2e.31");
	CHECK(strlen(n) < IFNAMSIZ);
	CHECK(tap_name(UUID, NULL, 32, n, err, sizeof(err)) == -1);
	CHECK_STR(err, "at most 32 interfaces");
	CHECK(tap_name(UUID, "tap-n0", 3, n, err, sizeof(err)) == 0);
	CHECK_STR(n, "tap-n0");
	CHECK(tap_name(UUID, "abcdefghijklmno", 0, n, err, sizeof(err)) == 0);
	CHECK(tap_name(UUID, "abcdefghijklmnop", 0, n, err, sizeof(err)) == -1);
	CHECK_STR(err, "vifname must be at most 15 characters without ':', '/' or blanks");
	CHECK(tap_name(UUID, "eth0:1", 0, n, err, sizeof(err)) == -1);
	CHECK(tap_name(UUID, "a/b", 0, n, err, sizeof(err)) == -1);
	CHECK(tap_name(UUID, "..", 0, n, err, sizeof(err)) == -1);
	CHECK(tap_name(UUID, "a b", 0, n, err, sizeof(err)) == -1);
}

TEST(peer_names)
{
	char n[TAP_NAME_SIZE], m[TAP_NAME_SIZE];

	tap_peer_name("vif6f1a6d2e.31", "ifb", n);
	CHECK_STR(n, "ifb6f1a6d2e.31");
	tap_peer_name("tap-n0", "ifb", n);
	CHECK(strncmp(n, "ifb", 3) == 0 && strlen(n) == 11);
	tap_peer_name("tap-n1", "ifb", m);
	CHECK(strcmp(n, m) != 0);
	tap_peer_name("abcdefghijklmno", "ifb", n);
	CHECK(strlen(n) == 11);
}

static int flags_of(const char *name)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), f = -1;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0)
		f = ifr.ifr_flags;
	close(s);
	return f;
}

TEST(real_taps)
{
	int fd = -1, fd2 = -1, s;
	struct ifreq ifr;

	CHECK(tap_open(UUID, &fd, err, sizeof(err)) == -1);     /* 36 bytes */
	CHECK_STR(err, "'6f1a6d2e-4c1b-4f3e-9a2b-0c1d2e3f4a5b' is not a network device name");
	CHECK(tap_open("vif6f1a6d2e.0", &fd, err, sizeof(err)) == 0);
	CHECK(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC));
	CHECK(if_nametoindex("vif6f1a6d2e.0") > 0);
	CHECK(flags_of("vif6f1a6d2e.0") & IFF_UP);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "vif6f1a6d2e.0");
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(ioctl(s, SIOCGIFHWADDR, &ifr) == 0);
	CHECK(memcmp(ifr.ifr_hwaddr.sa_data, "\xfe\xff\xff\xff\xff\xff", 6) == 0);
	close(s);
	/* the name is taken: refused, never shared */
	CHECK(tap_open("vif6f1a6d2e.0", &fd2, err, sizeof(err)) == -1 && fd2 == -1);
	CHECK_STR(err, "tap vif6f1a6d2e.0: a network device of that name already exists "
		       "(another guest's, or left by someone)");
	CHECK(tap_open("lo", &fd2, err, sizeof(err)) == -1);
	/* not persistent: it goes with the last fd */
	close(fd);
	CHECK(if_nametoindex("vif6f1a6d2e.0") == 0);
}

int main(void)
{
	RUN(names);
	RUN(peer_names);
	/* Real devices only in a namespace of our own (root only). */
	if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0 || access("/dev/net/tun", R_OK | W_OK))
		printf("ok - %s:real_taps # SKIP needs root, unshare and /dev/net/tun\n", __FILE__);
	else
		RUN(real_taps);
	return harness_done();
}
