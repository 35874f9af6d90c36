/* rpc_prescan.c - see rpc_prescan.h. */
#include "agent/rpc/rpc_prescan.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "agent/base/util.h"

enum unit { U8, U16LE, U16BE };

/* Encodings whose bytes below 0x80 are ASCII and whose other bytes never
 * are: a byte scan sees the markup exactly as the parser will. */
static bool ascii_superset(const char *name, size_t n)
{
	static const char *const ok[] = { "utf-8", "utf8", "us-ascii", "ascii", "latin1",
					  "euc-jp", "shift_jis", "sjis", "windows-31j" };
	static const char *const prefix[] = { "iso-8859-", "iso8859-", "windows-125", "cp125" };

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strlen(ok[i]) == n && strncasecmp(name, ok[i], n) == 0)
			return true;
	for (size_t i = 0; i < sizeof(prefix) / sizeof(prefix[0]); i++) {
		size_t k = strlen(prefix[i]);
		if (n > k && n <= k + 2 && strncasecmp(name, prefix[i], k) == 0)
			return true;
	}
	return false;
}

/* The encoding an XML declaration names, if any: "<?xml ... encoding='X'". */
static bool declared(const char *s, size_t n, const char **name, size_t *nlen)
{
	const char *end, *e;

	if (n < 5 || memcmp(s, "<?xml", 5) != 0)
		return false;
	end = memmem(s, n < 512 ? n : 512, "?>", 2);
	if (!end || !(e = memmem(s, (size_t)(end - s), "encoding", 8)))
		return false;
	e += 8;
	while (e < end && (*e == ' ' || *e == '\t' || *e == '\r' || *e == '\n' || *e == '='))
		e++;
	if (e >= end || (*e != '"' && *e != '\''))
		return false;
	*name = e + 1;
	for (e = *name; e < end && *e != (*name)[-1]; e++)
		;
	*nlen = (size_t)(e - *name);
	return true;
}

static uint32_t unit_at(const unsigned char *p, enum unit u, size_t i)
{
	switch (u) {
	case U16LE: return (uint32_t)p[2 * i] | (uint32_t)p[2 * i + 1] << 8;
	case U16BE: return (uint32_t)p[2 * i] << 8 | (uint32_t)p[2 * i + 1];
	default: return p[i];
	}
}

int rpc_prescan(const char *body, size_t len, char *err, size_t errlen)
{
	const unsigned char *p = (const unsigned char *)body;
	enum unit u = U8;
	size_t n, i, line = 1, tag_line = 1;
	uint32_t quote = 0;
	int eq = 0, eq_total = 0;
	enum { TEXT, START_TAG, OTHER_TAG } st = TEXT;

	if (len >= 4 && ((p[0] == 0 && p[1] == 0) || (p[2] == 0 && p[3] == 0) ||
			 memcmp(p, "\x4c\x6f\xa7\x94", 4) == 0)) {
		snprintf(err, errlen, "line 1: the message's encoding (UCS-4 or EBCDIC) is not "
			 "accepted; send UTF-8");
		return -1;
	}
	if (len >= 2 && p[0] == 0xff && p[1] == 0xfe)
		u = U16LE;
	else if (len >= 2 && p[0] == 0xfe && p[1] == 0xff)
		u = U16BE;
	else if (len >= 2 && p[0] == '<' && p[1] == 0)
		u = U16LE;
	else if (len >= 2 && p[0] == 0 && p[1] == '<')
		u = U16BE;
	if (u == U8) {
		const char *name;
		size_t nlen;
		size_t skip = len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
		if (declared(body + skip, len - skip, &name, &nlen) && !ascii_superset(name, nlen)) {
			char shown[80];
			quote_printable(shown, sizeof(shown), name, nlen);
			snprintf(err, errlen, "line 1: encoding '%s' is not accepted; send UTF-8",
				 shown);
			return -1;
		}
	}
	n = u == U8 ? len : len / 2;
	for (i = 0; i < n; i++) {
		uint32_t c = unit_at(p, u, i);
		if (c == '\n')
			line++;
		switch (st) {
		case TEXT:
			if (c == '<' && i + 1 < n) {
				uint32_t d = unit_at(p, u, i + 1);
				st = (d == '!' || d == '?' || d == '/') ? OTHER_TAG : START_TAG;
				eq = 0;
				quote = 0;
				tag_line = line;
			}
			break;
		case OTHER_TAG:
			/* comments, CDATA, PIs, end tags: to the next '>' (a '>'
			 * inside a comment only makes us count more, never less) */
			if (c == '>')
				st = TEXT;
			break;
		case START_TAG:
			if (quote) {
				if (c == quote)
					quote = 0;
			} else if (c == '"' || c == '\'') {
				quote = c;
			} else if (c == '=') {
				if (++eq > RPC_PRESCAN_MAX_ATTRS) {
					snprintf(err, errlen, "line %zu: an element has more than %d "
						 "attributes", tag_line, RPC_PRESCAN_MAX_ATTRS);
					return -1;
				}
				if (++eq_total > RPC_PRESCAN_MAX_ATTRS_TOTAL) {
					snprintf(err, errlen, "line %zu: the message has more than %d "
						 "attributes", tag_line, RPC_PRESCAN_MAX_ATTRS_TOTAL);
					return -1;
				}
			} else if (c == '>') {
				st = TEXT;
			}
			break;
		}
	}
	return 0;
}
