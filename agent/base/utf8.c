/* utf8.c - UTF-8 decoding, encoding, validation and cutting (see utf8.h). */
#include "agent/base/utf8.h"

#include <stdint.h>
#include <string.h>

size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
	uint32_t c, min;
	size_t len;

	if (n == 0)
		return 0;
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2; c = p[0] & 0x1f; min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		len = 3; c = p[0] & 0x0f; min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4; c = p[0] & 0x07; min = 0x10000;
	} else {
		return 0;       /* continuation byte, 0xc0/0xc1, 0xf5-0xff */
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

size_t utf8_encode(uint32_t cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp >= 0xd800 && cp <= 0xdfff)
		return 0;
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	if (cp > 0x10ffff)
		return 0;
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

bool utf8_valid(const char *s, size_t n, size_t *bad_at)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, len;
	uint32_t cp;

	while (i < n) {
		if (p[i] < 0x80) {      /* the common case, without a call */
			i++;
			continue;
		}
		if (!(len = utf8_decode(p + i, n - i, &cp))) {
			if (bad_at)
				*bad_at = i;
			return false;
		}
		i += len;
	}
	return true;
}

size_t utf8_valid_prefix(const char *s, size_t n)
{
	size_t bad;

	return utf8_valid(s, n, &bad) ? n : bad;
}

/* How many bytes a sequence starting with lead byte b claims (1 for
 * ASCII and for bytes that start nothing). */
static size_t lead_len(unsigned char b)
{
	if (b >= 0xf0 && b <= 0xf4)
		return 4;
	if ((b & 0xf0) == 0xe0)
		return 3;
	if (b >= 0xc2 && b <= 0xdf)
		return 2;
	return 1;
}

size_t utf8_cut(const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strnlen(s, max < PTRDIFF_MAX ? max + 1 : PTRDIFF_MAX);

	if (len <= max)
		return len;
	/* s[max] exists. A continuation byte there may belong to a character
	 * that started up to three bytes earlier: cut before its lead. */
	if ((p[max] & 0xc0) != 0x80)
		return max;
	for (size_t j = max; j > 0 && max - j < 3; ) {
		j--;
		if ((p[j] & 0xc0) != 0x80)
			return lead_len(p[j]) > max - j ? j : max;
	}
	return max;     /* stray continuation bytes: no character to split */
}
