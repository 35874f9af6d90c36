/* rpc_string.c - see rpc_string.h. */
#include "agent/rpc/rpc_string.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/base/buf.h"
#include "agent/base/utf8.h"
#include "agent/base/util.h"

/* XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] |
 * [#x10000-#x10FFFF] (surrogates never decode), less the last range:
 * xmlrpc-c 1.33 has no strings beyond U+FFFF (it refuses to build one). */
static bool xml_char(uint32_t cp)
{
	if (cp < 0x20)
		return cp == 0x9 || cp == 0xa || cp == 0xd;
	return cp != 0xfffe && cp != 0xffff && cp < 0x10000;
}

bool rpc_text_ok(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		uint32_t cp;
		size_t k;
		if (p[i] >= 0x20 && p[i] < 0x80) {  /* the common case, fast */
			i++;
			continue;
		}
		k = utf8_decode(p + i, n - i, &cp);
		if (k == 0 || !xml_char(cp))
			return false;
		i += k;
	}
	return true;
}

char *rpc_text_wire(const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	struct buf b;
	size_t i = 0;

	if (rpc_text_ok(s, n))
		return xstrndup(s, n);
	buf_init(&b, 0);
	while (i < n) {
		uint32_t cp;
		size_t k = utf8_decode(p + i, n - i, &cp);
		if (k && xml_char(cp)) {
			if (p[i] == '\\')
				buf_append(&b, "\\\\", 2);
			else
				buf_append(&b, p + i, k);
			i += k;
			continue;
		}
		/* An invalid byte alone, or every byte of a forbidden character. */
		for (size_t j = 0; j < (k ? k : 1); j++) {
			char e[4] = { '\\', 'x', hex[p[i + j] >> 4], hex[p[i + j] & 15] };
			buf_append(&b, e, 4);
		}
		i += k ? k : 1;
	}
	return buf_steal(&b, NULL);
}

xmlrpc_value *rpc_string_new_lp(const char *s, size_t n)
{
	xmlrpc_env env;
	xmlrpc_value *v;
	char *safe = NULL;

	if (!rpc_text_ok(s, n)) {
		safe = rpc_text_wire(s, n);
		n = strlen(safe);
		s = safe;
	}
	xmlrpc_env_init(&env);
	/* _cr: a CR stays a CR (xmlrpc-c sends it as &#x0d;). */
	v = xmlrpc_string_new_lp_cr(&env, n, s);
	if (env.fault_occurred)
		abort(); /* valid UTF-8 by now: only out of memory gets here */
	xmlrpc_env_clean(&env);
	free(safe);
	return v;
}

xmlrpc_value *rpc_string_new(const char *s)
{
	return rpc_string_new_lp(s, strlen(s));
}
