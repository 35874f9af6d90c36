/* tap.c - see tap.h. */
#include "hypervisor/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/if_tun.h>

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	/* Linux's dev_valid_name(), so the error is ours and says why. */
	if (n == 0 || n >= TAP_NAME_SIZE || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || *s == ' ' || *s == '\t' || (unsigned char)*s < 0x21 ||
		    (unsigned char)*s == 0x7f)
			return false;
	return true;
}

int tap_name(const char *uuid, const char *vifname, unsigned index, char out[TAP_NAME_SIZE],
	     char *err, size_t errlen)
{
	char id[9];
	size_t k = 0;

	out[0] = '\0';
	if (index >= TAP_MAX_NICS) {
		snprintf(err, errlen, "at most %d interfaces", TAP_MAX_NICS);
		return -1;
	}
	if (vifname && vifname[0]) {
		if (!name_ok(vifname)) {
			snprintf(err, errlen, "vifname must be at most %d characters without ':', "
				 "'/' or blanks", TAP_NAME_SIZE - 1);
			return -1;
		}
		snprintf(out, TAP_NAME_SIZE, "%s", vifname);
		return 0;
	}
	for (const char *p = uuid; *p && k < 8; p++)
		if (*p != '-')
			id[k++] = *p;
	id[k] = '\0';
	snprintf(out, TAP_NAME_SIZE, "vif%s.%u", id, index);
	return 0;
}

void tap_peer_name(const char *tap, const char *prefix, char out[TAP_NAME_SIZE])
{
	uint32_t h = 2166136261u; /* FNV-1a */

	if (strncmp(tap, "vif", 3) == 0 && strlen(prefix) <= 3 && strlen(tap) < TAP_NAME_SIZE) {
		snprintf(out, TAP_NAME_SIZE, "%.3s%s", prefix, tap + 3);
		return;
	}
	for (const char *p = tap; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	snprintf(out, TAP_NAME_SIZE, "%.3s%08x", prefix, h);
}

/* Bring name up, through any socket (the ioctl goes to the device). */
static int set_up(const char *name, char *err, size_t errlen)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = -1;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		rc = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	if (rc != 0)
		snprintf(err, errlen, "tap %s: cannot set it up: %s", name, strerror(errno));
	if (s >= 0)
		close(s);
	return rc;
}

int tap_open(const char *name, int *fd, char *err, size_t errlen)
{
	static const unsigned char host_mac[6] = { 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct ifreq ifr;
	int t, e;

	*fd = -1;
	if (!name_ok(name)) {
		snprintf(err, errlen, "'%.40s' is not a network device name", name);
		return -1;
	}
	if ((t = open("/dev/net/tun", O_RDWR | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "tap %s: /dev/net/tun: %s", name, strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	/* IFF_TUN_EXCL: never adopt an existing device, whoever made it
	 * (a persistent tap of that name would outlive the guest). */
	ifr.ifr_flags = (short)(IFF_TAP | IFF_NO_PI | IFF_TUN_EXCL);
	if (ioctl(t, TUNSETIFF, &ifr) != 0) {
		e = errno;
		snprintf(err, errlen, e == EBUSY ? "tap %s: a network device of that name already "
			 "exists (another guest's, or left by someone)" : "tap %s: TUNSETIFF: %s",
			 name, strerror(e));
		close(t);
		return -1;
	}
	memset(&ifr.ifr_hwaddr, 0, sizeof(ifr.ifr_hwaddr));
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, host_mac, sizeof(host_mac));
	if (ioctl(t, SIOCSIFHWADDR, &ifr) != 0) {
		snprintf(err, errlen, "tap %s: cannot set its MAC: %s", name, strerror(errno));
		close(t);
		return -1;
	}
	if (set_up(name, err, errlen) != 0) {
		close(t);
		return -1;
	}
	*fd = t;
	return 0;
}
