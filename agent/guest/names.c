/* names.c - the rule for names from outside (see names.h). */
#include "agent/guest/names.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "agent/base/utf8.h"

#define SHOW_MAX 64

static bool is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

size_t name_bad_byte(const char *s, size_t n, bool *control)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, len;
	uint32_t cp;

	while (i < n) {
		if (is_control(p[i])) {
			if (control)
				*control = true;
			return i;
		}
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		/* Beyond U+FFFF: valid, but xmlrpc-c 1.33 cannot carry it, so
		 * such a name could never be shown or used over XML-RPC. */
		if (!(len = utf8_decode(p + i, n - i, &cp)) || cp > 0xffff) {
			if (control)
				*control = false;
			return i;
		}
		i += len;
	}
	return n;
}

void name_show(char *out, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, o = 0, len;
	uint32_t cp;

	while (i < n) {
		if (is_control(p[i]) || (p[i] >= 0x80 && !utf8_decode(p + i, n - i, &cp)))
			len = 0;        /* one bad byte, shown as '?' */
		else
			len = p[i] < 0x80 ? 1 : utf8_decode(p + i, n - i, &cp);
		if (o + (len ? len : 1) > max)
			break;
		if (len) {
			memcpy(out + o, p + i, len);
			o += len;
			i += len;
		} else {
			out[o++] = '?';
			i++;
		}
	}
	memcpy(out + o, i < n ? "..." : "", i < n ? 4 : 1);
}

int name_check(const char *what, const char *s, char *err, size_t errlen)
{
	size_t n = strlen(s), at;
	char shown[SHOW_MAX + 4];
	bool control = false;
	uint32_t cp;

	if ((at = name_bad_byte(s, n, &control)) == n)
		return 0;
	name_show(shown, s, SHOW_MAX);
	if (control)
		snprintf(err, errlen, "%s '%s' has a control character at byte %zu (0x%02x); names "
			 "may not hold control characters such as newlines or tabs", what, shown, at,
			 (unsigned char)s[at]);
	else if (utf8_decode((const unsigned char *)s + at, n - at, &cp))
		snprintf(err, errlen, "%s '%s' has U+%04X at byte %zu; characters beyond U+FFFF "
			 "cannot be carried over XML-RPC here", what, shown, (unsigned)cp, at);
	else
		snprintf(err, errlen, "%s '%s' is not valid UTF-8 at byte %zu (0x%02x); names must "
			 "be UTF-8 text", what, shown, at, (unsigned char)s[at]);
	return -1;
}
