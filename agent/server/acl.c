/* acl.c - compile and check the allow/deny rule lists (SPEC section 4).
 *
 * A rule list is parsed once, at configuration time, into plain binary
 * items so that the check done on every accepted connection is a handful of
 * integer compares: no parsing, no allocation, no system calls.
 *
 * Every address item is an (address, mask) pair. That one form covers a
 * single address (full mask), CIDR (prefix mask) and the IPv4 wildcard
 * octets (a '*' octet is a zero byte in the mask, so 10.*.1.1 works too).
 * A client that is IPv4 (natively or as an IPv4-mapped IPv6 address) is
 * compared with the IPv4 items on its 32-bit address and with the IPv6
 * items on its ::ffff:a.b.c.d form, so "::/0" and "::ffff:10.0.0.0/104"
 * mean what they say; a native IPv6 client only meets the IPv6 items. */
#include "agent/server/acl.h"
#include "agent/base/util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest host name pattern we accept: a DNS name is at most 253 bytes. */
#define ACL_NAME_MAX 255

enum acl_kind {
	ACL_ITEM_ANY,   /* "*" */
	ACL_ITEM_V4,    /* addr/mask, host order */
	ACL_ITEM_V6,    /* addr/mask, network order bytes */
	ACL_ITEM_NAME,  /* glob against the verified host name */
};

struct acl_item {
	enum acl_kind kind;
	union {
		struct {
			uint32_t addr, mask;
		} v4;
		struct {
			uint8_t addr[16], mask[16];
		} v6;
		char *name;
	} u;
};

struct acl {
	struct acl_item *items;
	size_t n;
	bool has_any;   /* a "*" item: matches every client, no name needed */
	bool has_names; /* at least one ACL_ITEM_NAME */
};

/* The three answers "does this client match this list": by address alone
 * we may know yes or no, or only that a name pattern has the last word. */
enum acl_match {
	ACL_MATCH_NO,
	ACL_MATCH_YES,
	ACL_MATCH_UNKNOWN,
};

/* The client's address in the forms the items compare against. */
struct acl_client {
	bool is_v4;
	bool is_v6;      /* true for IPv4 clients too (mapped form) */
	uint32_t v4;     /* host order */
	uint8_t v6[16];
};

/* ---- parsing -------------------------------------------------------- */

static void item_error(char *err, size_t errlen, const char *what,
		       const char *s, size_t len, const char *why)
{
	char q[80];

	if (err == NULL || errlen == 0)
		return;
	quote_printable(q, sizeof(q), s, len);
	snprintf(err, errlen, "bad %s '%s' (%s)", what, q, why);
}

/* Parse 1-3 decimal digits with no leading zero (an "010" octet is
 * ambiguous: inet_aton reads it as octal) into *v. */
static int parse_small_dec(const char *s, size_t len, unsigned max, unsigned *v)
{
	unsigned x = 0;
	size_t i;

	if (len == 0 || len > 3 || (len > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (unsigned)(s[i] - '0');
	}
	if (x > max)
		return -1;
	*v = x;
	return 0;
}

static uint32_t v4_prefix_mask(unsigned bits)
{
	/* Shifting a 32-bit value by 32 is undefined, hence the special case. */
	return bits == 0 ? 0 : 0xffffffffu << (32 - bits);
}

static void v6_prefix_mask(unsigned bits, uint8_t mask[16])
{
	size_t i;

	for (i = 0; i < 16; i++) {
		if (bits >= 8) {
			mask[i] = 0xff;
			bits -= 8;
		} else {
			mask[i] = (uint8_t)(0xff00u >> bits);
			bits = 0;
		}
	}
}

/* "10.1.1.*", "10.*", "10.*.1.1", "*.*.*.*": digits, dots and stars only,
 * at least one star. A trailing star stands for every remaining octet. */
static int parse_v4_wildcard(const char *s, size_t len, struct acl_item *it,
			     const char **why)
{
	uint32_t addr = 0, mask = 0;
	size_t pos = 0, octet = 0;

	for (;;) {
		const char *p = s + pos;
		const char *dot = memchr(p, '.', len - pos);
		size_t plen = dot ? (size_t)(dot - p) : len - pos;
		unsigned v;

		if (octet == 4) {
			*why = "more than 4 octets";
			return -1;
		}
		if (plen == 1 && p[0] == '*') {
			if (dot == NULL) {
				/* Trailing star: the rest of the octets are wild. */
				octet = 4;
				break;
			}
		} else if (parse_small_dec(p, plen, 255, &v) == 0) {
			addr |= (uint32_t)v << (24 - 8 * octet);
			mask |= 0xffu << (24 - 8 * octet);
		} else {
			*why = "each octet must be 0-255 or '*'";
			return -1;
		}
		octet++;
		if (dot == NULL)
			break;
		pos += plen + 1;
	}
	if (octet != 4) {
		*why = "too few octets; end with '*' to match the rest";
		return -1;
	}
	it->kind = ACL_ITEM_V4;
	it->u.v4.addr = addr;
	it->u.v4.mask = mask;
	return 0;
}

/* "addr" or "addr/prefix" for either family. */
static int parse_address(const char *s, size_t len, struct acl_item *it,
			 const char **why)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = memchr(s, '/', len);
	size_t hlen = slash ? (size_t)(slash - s) : len;
	unsigned bits;
	uint8_t a6[16];
	struct in_addr a4;
	size_t i;

	if (hlen == 0 || hlen >= sizeof(host)) {
		*why = "not an IPv4 or IPv6 address";
		return -1;
	}
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, &a4) == 1) {
		bits = 32;
		if (slash && parse_small_dec(slash + 1, len - hlen - 1, 32, &bits) != 0) {
			*why = "IPv4 prefix length must be 0-32";
			return -1;
		}
		it->kind = ACL_ITEM_V4;
		it->u.v4.mask = v4_prefix_mask(bits);
		/* Host bits need not be zero in what people write: mask them. */
		it->u.v4.addr = ntohl(a4.s_addr) & it->u.v4.mask;
		return 0;
	}
	if (inet_pton(AF_INET6, host, a6) == 1) {
		bits = 128;
		if (slash && parse_small_dec(slash + 1, len - hlen - 1, 128, &bits) != 0) {
			*why = "IPv6 prefix length must be 0-128";
			return -1;
		}
		it->kind = ACL_ITEM_V6;
		v6_prefix_mask(bits, it->u.v6.mask);
		for (i = 0; i < 16; i++)
			it->u.v6.addr[i] = a6[i] & it->u.v6.mask[i];
		return 0;
	}
	*why = "not an IPv4 or IPv6 address";
	return -1;
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' ||
	    c == '*' || c == '?';
}

/* Parse one trimmed, non-empty item. */
static int parse_item(const char *s, size_t len, struct acl_item *it,
		      char *err, size_t errlen)
{
	const char *why = NULL;
	bool addr_chars = true; /* only digits, dots and '*' */
	bool name_chars = true;
	size_t i;

	memset(it, 0, sizeof(*it));
	if (len == 1 && s[0] == '*') {
		it->kind = ACL_ITEM_ANY;
		return 0;
	}
	for (i = 0; i < len; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '*'))
			addr_chars = false;
		if (!is_name_char(s[i]))
			name_chars = false;
	}
	/* Something with ':' or '/' can only be meant as an address. */
	if (memchr(s, ':', len) || memchr(s, '/', len)) {
		if (parse_address(s, len, it, &why) == 0)
			return 0;
		item_error(err, errlen, "address pattern", s, len, why);
		return -1;
	}
	/* Digits, dots and stars only: an IPv4 address or wildcard. A typo
	 * like 10.1.1.300 must be an error, not a host name that never
	 * matches. */
	if (addr_chars) {
		if (memchr(s, '*', len) == NULL) {
			if (parse_address(s, len, it, &why) == 0)
				return 0;
			why = "not an IPv4 address";
		} else if (parse_v4_wildcard(s, len, it, &why) == 0) {
			return 0;
		}
		item_error(err, errlen, "address pattern", s, len, why);
		return -1;
	}
	if (!name_chars) {
		item_error(err, errlen, "pattern", s, len,
		    "host names may hold only letters, digits, '.', '-', '_', '*' and '?'");
		return -1;
	}
	if (len > ACL_NAME_MAX) {
		item_error(err, errlen, "host name pattern", s, len, "too long");
		return -1;
	}
	it->kind = ACL_ITEM_NAME;
	it->u.name = xstrndup(s, len);
	return 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

struct acl *acl_parse(const char *spec, char *err, size_t errlen)
{
	struct acl *acl = xcalloc(1, sizeof(*acl));
	const char *p = spec ? spec : "";
	size_t cap = 0;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	for (;;) {
		const char *comma = strchr(p, ',');
		const char *end = comma ? comma : p + strlen(p);
		const char *q = p;
		struct acl_item it;

		while (q < end && is_blank(*q))
			q++;
		while (end > q && is_blank(end[-1]))
			end--;
		/* Empty items (",," or a trailing comma) are harmless: skip. */
		if (end > q) {
			if (parse_item(q, (size_t)(end - q), &it, err, errlen) != 0) {
				acl_free(acl);
				return NULL;
			}
			if (acl->n == cap) {
				cap = cap ? cap * 2 : 4;
				acl->items = xrealloc(acl->items,
				    cap * sizeof(*acl->items));
			}
			acl->items[acl->n++] = it;
			if (it.kind == ACL_ITEM_ANY)
				acl->has_any = true;
			if (it.kind == ACL_ITEM_NAME)
				acl->has_names = true;
		}
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return acl;
}

void acl_free(struct acl *acl)
{
	size_t i;

	if (acl == NULL)
		return;
	for (i = 0; i < acl->n; i++) {
		if (acl->items[i].kind == ACL_ITEM_NAME)
			free(acl->items[i].u.name);
	}
	free(acl->items);
	free(acl);
}

bool acl_has_names(const struct acl *acl)
{
	return acl != NULL && acl->has_names;
}

/* ---- checking ------------------------------------------------------- */

static char ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* fnmatch(pattern, name, FNM_CASEFOLD) for our pattern alphabet, where
 * only '*' and '?' are special. Written out because glibc's fnmatch can
 * allocate and its backtracking is exponential on patterns like "*a*a*a*b";
 * this greedy matcher with one backtrack point is O(len(p) * len(n)). */
static bool glob_match(const char *p, const char *n)
{
	const char *star = NULL, *resume = NULL;

	while (*n != '\0') {
		if (*p == '*') {
			star = p++;
			resume = n;
		} else if (*p != '\0' && (*p == '?' ||
		    ascii_lower(*p) == ascii_lower(*n))) {
			p++;
			n++;
		} else if (star != NULL) {
			/* Let the last '*' swallow one more byte and retry. */
			p = star + 1;
			n = ++resume;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

static bool item_match_addr(const struct acl_item *it, const struct acl_client *c)
{
	size_t i;

	switch (it->kind) {
	case ACL_ITEM_ANY:
		return true;
	case ACL_ITEM_V4:
		return c->is_v4 && (c->v4 & it->u.v4.mask) == it->u.v4.addr;
	case ACL_ITEM_V6:
		if (!c->is_v6)
			return false;
		for (i = 0; i < 16; i++) {
			if ((c->v6[i] & it->u.v6.mask[i]) != it->u.v6.addr[i])
				return false;
		}
		return true;
	case ACL_ITEM_NAME:
		break;
	}
	return false;
}

static enum acl_match acl_list_match(const struct acl *acl,
				     const struct acl_client *c, const char *name)
{
	bool unknown = false;
	size_t i;

	if (acl == NULL)
		return ACL_MATCH_NO;
	if (acl->has_any)
		return ACL_MATCH_YES;
	for (i = 0; i < acl->n; i++) {
		const struct acl_item *it = &acl->items[i];

		if (it->kind != ACL_ITEM_NAME) {
			if (item_match_addr(it, c))
				return ACL_MATCH_YES;
		} else if (name == NULL) {
			/* Keep looking: an address item may still decide. */
			unknown = true;
		} else if (name[0] != '\0' && glob_match(it->u.name, name)) {
			return ACL_MATCH_YES;
		}
	}
	return unknown ? ACL_MATCH_UNKNOWN : ACL_MATCH_NO;
}

static void client_from_sockaddr(const struct sockaddr *sa, struct acl_client *c)
{
	static const uint8_t mapped_prefix[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};

	memset(c, 0, sizeof(*c));
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		c->is_v4 = true;
		c->v4 = ntohl(sin->sin_addr.s_addr);
		c->is_v6 = true;
		memcpy(c->v6, mapped_prefix, 12);
		memcpy(c->v6 + 12, &sin->sin_addr.s_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		uint32_t a;

		c->is_v6 = true;
		memcpy(c->v6, &sin6->sin6_addr, 16);
		/* A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d;
		 * the operator wrote IPv4 rules for them. */
		if (memcmp(c->v6, mapped_prefix, 12) == 0) {
			memcpy(&a, c->v6 + 12, 4);
			c->is_v4 = true;
			c->v4 = ntohl(a);
		}
	}
	/* Any other family (a unix socket in tests) matches only '*' and
	 * host names. */
}

enum acl_verdict acl_check(const struct acl *allow, const struct acl *deny,
			   const struct sockaddr *sa, const char *name)
{
	struct acl_client c;
	enum acl_match a, d;

	client_from_sockaddr(sa, &c);
	a = acl_list_match(allow, &c, name);
	/* Not allowed by any rule, and no name could change that. */
	if (a == ACL_MATCH_NO)
		return ACL_DENY;
	d = acl_list_match(deny, &c, name);
	/* Deny wins whatever the allow list would say with a name. */
	if (d == ACL_MATCH_YES)
		return ACL_DENY;
	if (a == ACL_MATCH_YES && d == ACL_MATCH_NO)
		return ACL_ALLOW;
	return ACL_NEED_NAME;
}
