/* netname.c - device names and the network_bridges list. */
#include "agent/net/netname.h"

#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "agent/base/dups.h"
#include "agent/base/util.h"

bool net_name_ok(const char *name, size_t len, char *err, size_t errlen)
{
	char q[80];

	quote_printable(q, sizeof(q), name, len);
	if (len == 0) {
		snprintf(err, errlen, "a device name must not be empty");
		return false;
	}
	if (len >= IFNAMSIZ) {
		snprintf(err, errlen, "'%s' is longer than %d bytes (IFNAMSIZ)", q, IFNAMSIZ - 1);
		return false;
	}
	if (name[0] == '-' || name[0] == '.') {
		snprintf(err, errlen, "'%s' must not start with '%c'", q, name[0]);
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == '_')) {
			snprintf(err, errlen, "'%s' has a character other than letters, digits, "
				 "'.', '-' and '_'", q);
			return false;
		}
	}
	return true;
}

struct item {
	char bridge[IFNAMSIZ], netdev[IFNAMSIZ];
};

static size_t trim(const char **p, size_t len)
{
	while (len > 0 && ((*p)[0] == ' ' || (*p)[0] == '\t')) {
		(*p)++;
		len--;
	}
	while (len > 0 && ((*p)[len - 1] == ' ' || (*p)[len - 1] == '\t'))
		len--;
	return len;
}

int net_bridges_parse(const char *spec, size_t len, net_bridge_each each, void *arg,
		      char *err, size_t errlen)
{
	struct item items[NET_BRIDGES_MAX];
	const char *keys[NET_BRIDGES_MAX];
	size_t n = 0, pos = 0, first, second;
	char why[160];

	if ((len = trim(&spec, len)) == 0)
		return 0; /* no bridges: the default */
	while (pos <= len) {
		const char *p = spec + pos, *comma = memchr(p, ',', len - pos), *colon;
		size_t ilen = comma ? (size_t)(comma - p) : len - pos, blen, dlen = 0;
		const char *d = NULL;

		pos += ilen + 1;
		ilen = trim(&p, ilen);
		if (ilen == 0) {
			snprintf(err, errlen, "network_bridges has an empty item "
				 "(expected BRIDGE:NETDEV, comma separated)");
			return -1;
		}
		if (n == NET_BRIDGES_MAX) {
			snprintf(err, errlen, "network_bridges names more than %d bridges",
				 NET_BRIDGES_MAX);
			return -1;
		}
		colon = memchr(p, ':', ilen);
		blen = colon ? (size_t)(colon - p) : ilen;
		if (colon) {
			d = colon + 1;
			dlen = ilen - blen - 1;
		}
		if (!net_name_ok(p, blen, why, sizeof(why)) ||
		    (colon && !net_name_ok(d, dlen, why, sizeof(why)))) {
			snprintf(err, errlen, "network_bridges: %s", why);
			return -1;
		}
		memcpy(items[n].bridge, p, blen);
		items[n].bridge[blen] = '\0';
		if (dlen)
			memcpy(items[n].netdev, d, dlen);
		items[n].netdev[dlen] = '\0';
		keys[n] = items[n].bridge;
		n++;
		if (!comma)
			break;
	}
	if (dups_first(keys, n, &first, &second)) {
		snprintf(err, errlen, "network_bridges names bridge %s twice", keys[second]);
		return -1;
	}
	for (size_t i = 0; i < n && each; i++)
		each(arg, items[i].bridge, items[i].netdev);
	return 0;
}
