/* hbslot.c - a heartbeat slot to and from its 128 bytes. */
#include "agent/cluster/hbslot.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "db/pool.h"

#define HB_MAGIC "OVSHB1"
#define HB_FIELDS 6

_Static_assert(HB_IP_MAX == POOL_IP_MAX, "an ip fits the pool's bound");

/* A NUL-terminated ip that is its own canonical form. */
static bool ip_canonical(const char *ip)
{
	char canon[POOL_IP_MAX];

	return pool_ip_canon(ip, canon) == 0 && strcmp(canon, ip) == 0;
}

/* Decimal s[0..len) without sign or leading zeros, at most max. */
static bool parse_dec(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (d > 9 || v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

int hbslot_encode(const struct hb_slot *s, char out[HB_SLOT_SIZE])
{
	char line[HB_SLOT_SIZE];
	int n;

	if (s->nodeid < 1 || s->nodeid > HB_NODEID_MAX || !memchr(s->ip, '\0', sizeof(s->ip)) ||
	    !ip_canonical(s->ip) || s->unix_ms > HB_UNIX_MS_MAX)
		return -1;
	n = snprintf(line, sizeof(line), HB_MAGIC " %" PRIu32 " %s %" PRIu64 " %" PRIu64 " %s",
		     s->nodeid, s->ip, s->seq, s->unix_ms, s->fenced ? "fenced" : "alive");
	if (n < 0 || n > HB_SLOT_SIZE - 1)
		return -1;    /* cannot happen with the bounds above; kept honest */
	memcpy(out, line, (size_t)n);
	memset(out + n, ' ', (size_t)(HB_SLOT_SIZE - 1 - n));
	out[HB_SLOT_SIZE - 1] = '\n';
	return 0;
}

int hbslot_parse(const char *p, size_t n, uint32_t index, struct hb_slot *s)
{
	const char *f[HB_FIELDS];
	size_t fl[HB_FIELDS], end = HB_SLOT_SIZE - 1, nf = 0;
	uint64_t v;

	if (n != HB_SLOT_SIZE || p[HB_SLOT_SIZE - 1] != '\n' || index > HB_NODEID_MAX)
		return -1;
	while (end && p[end - 1] == ' ')
		end--;
	/* Fields: printable ASCII, one space apart, none empty. */
	for (size_t i = 0; i < end; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == ' ') {
			if (i == 0 || p[i - 1] == ' ')
				return -1;
			continue;
		}
		if (c < 0x21 || c > 0x7e)
			return -1;
		if (i == 0 || p[i - 1] == ' ') {
			if (nf == HB_FIELDS)
				return -1;
			f[nf] = p + i;
			fl[nf] = 0;
			nf++;
		}
		fl[nf - 1]++;
	}
	if (nf != HB_FIELDS || fl[0] != strlen(HB_MAGIC) || memcmp(f[0], HB_MAGIC, fl[0]) != 0)
		return -1;
	memset(s, 0, sizeof(*s));
	if (!parse_dec(f[1], fl[1], HB_NODEID_MAX, &v) || v < 1 || (index && v != index))
		return -1;
	s->nodeid = (uint32_t)v;
	if (fl[2] >= sizeof(s->ip))
		return -1;
	memcpy(s->ip, f[2], fl[2]);
	s->ip[fl[2]] = '\0';
	if (!ip_canonical(s->ip) || !parse_dec(f[3], fl[3], UINT64_MAX, &s->seq) ||
	    !parse_dec(f[4], fl[4], HB_UNIX_MS_MAX, &s->unix_ms))
		return -1;
	if (fl[5] == 5 && memcmp(f[5], "alive", 5) == 0)
		s->fenced = false;
	else if (fl[5] == 6 && memcmp(f[5], "fenced", 6) == 0)
		s->fenced = true;
	else
		return -1;
	return 0;
}
