/* rpc_scalar.c - see rpc_scalar.h. */
#include "agent/rpc/rpc_scalar.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/base/utf8.h"
#include "agent/base/util.h"

/* Longest number text worth reading: a double's shortest exact form is
 * under 30 characters; longer ones are refused before strtod sees them. */
#define NUMBER_MAX 512

static const struct {
	const char *name;
	enum rpc_scalar type;
} names[] = {
	{ "int", RPC_INT }, { "i4", RPC_INT }, { "i8", RPC_I8 }, { "boolean", RPC_BOOL },
	{ "double", RPC_DOUBLE }, { "string", RPC_STRING },
	{ "dateTime.iso8601", RPC_DATETIME }, { "base64", RPC_BASE64 }, { "nil", RPC_NIL },
};

int rpc_scalar_type(const char *localname)
{
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strcmp(localname, names[i].name) == 0)
			return (int)names[i].type;
	return -1;
}

static bool xml_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void trim(const char **s, size_t *n)
{
	while (*n && xml_space(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && xml_space((*s)[*n - 1]))
		(*n)--;
}

static bool digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A decimal integer in [min, max]: optional sign, at least one digit. */
static bool parse_int(const char *s, size_t n, int64_t min, int64_t max, int64_t *out)
{
	bool neg = false;
	uint64_t v = 0, limit;
	size_t i = 0;

	if (n && (s[0] == '-' || s[0] == '+')) {
		neg = s[0] == '-';
		i = 1;
	}
	if (i == n)
		return false;
	limit = neg ? (uint64_t)0 - (uint64_t)min : (uint64_t)max;
	for (; i < n; i++) {
		if (!digit(s[i]))
			return false;
		if (v > (limit - (uint64_t)(s[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

/* [+-] digits [. digits] [(e|E) [+-] digits], or [+-] . digits [...]. */
static bool double_grammar(const char *s, size_t n)
{
	size_t i = 0, mant = 0;

	if (i < n && (s[i] == '-' || s[i] == '+'))
		i++;
	while (i < n && digit(s[i])) {
		i++;
		mant++;
	}
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && digit(s[i])) {
			i++;
			mant++;
		}
	}
	if (mant == 0)
		return false;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t exp = 0;
		i++;
		if (i < n && (s[i] == '-' || s[i] == '+'))
			i++;
		while (i < n && digit(s[i])) {
			i++;
			exp++;
		}
		if (exp == 0)
			return false;
	}
	return i == n;
}

static bool parse_double(const char *s, size_t n, double *out)
{
	char tmp[NUMBER_MAX + 1], *end;

	if (n == 0 || n > NUMBER_MAX || !double_grammar(s, n))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	/* The agent never calls setlocale(), so '.' is the decimal point. */
	*out = strtod(tmp, &end);
	return *end == '\0' && isfinite(*out);
}

/* ---- dateTime.iso8601 ----------------------------------------------------- */

static bool take_digits(const char *s, size_t n, size_t *i, int count, unsigned *out)
{
	unsigned v = 0;

	for (int k = 0; k < count; k++) {
		if (*i >= n || !digit(s[*i]))
			return false;
		v = v * 10 + (unsigned)(s[(*i)++] - '0');
	}
	*out = v;
	return true;
}

static bool take(const char *s, size_t n, size_t *i, char c)
{
	if (*i < n && s[*i] == c) {
		(*i)++;
		return true;
	}
	return false;
}

static bool leap(unsigned y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned month_days(unsigned y, unsigned m)
{
	static const unsigned char d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, unsigned *y, unsigned *m, unsigned *d)
{
	int64_t era, doe, yoe, doy, mp, yy;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = (unsigned)(yy + (*m <= 2));
}

/* YYYYMMDDTHH:MM:SS or YYYY-MM-DDTHH:MM:SS (time colons optional), an
 * optional fraction, and an optional Z or +hh:mm / -hh:mm, taken to UTC. */
static bool parse_datetime(const char *s, size_t n, xmlrpc_datetime *dt)
{
	size_t i = 0;
	unsigned Y, M, D, h, mi, sec, u = 0, oh = 0, om = 0;
	bool dash, colon;
	int sign = 0;

	if (!take_digits(s, n, &i, 4, &Y))
		return false;
	dash = take(s, n, &i, '-');
	if (!take_digits(s, n, &i, 2, &M) || (dash && !take(s, n, &i, '-')) ||
	    !take_digits(s, n, &i, 2, &D) || !take(s, n, &i, 'T') ||
	    !take_digits(s, n, &i, 2, &h))
		return false;
	colon = take(s, n, &i, ':');
	if (!take_digits(s, n, &i, 2, &mi) || (colon && !take(s, n, &i, ':')) ||
	    !take_digits(s, n, &i, 2, &sec))
		return false;
	if (take(s, n, &i, '.') || take(s, n, &i, ',')) {
		int k = 0;
		if (i >= n || !digit(s[i]))
			return false;
		for (; i < n && digit(s[i]); k++, i++)
			if (k < 6)
				u = u * 10 + (unsigned)(s[i] - '0');
		for (; k < 6; k++)
			u *= 10;
	}
	if (take(s, n, &i, 'Z')) {
		sign = 0;
	} else if (i < n && (s[i] == '+' || s[i] == '-')) {
		sign = s[i++] == '+' ? 1 : -1;
		if (!take_digits(s, n, &i, 2, &oh))
			return false;
		take(s, n, &i, ':');
		if (!take_digits(s, n, &i, 2, &om) || oh > 23 || om > 59)
			return false;
	}
	/* Years 1000-9999 only: xmlrpc-c writes a year without its leading
	 * zeros (0226 as "226"), which no reader takes back. */
	if (i != n || Y < 1000 || M < 1 || M > 12 || D < 1 || D > month_days(Y, M) || h > 23 ||
	    mi > 59 || sec > 59)
		return false;
	if (sign) {
		int64_t t = days_from_civil(Y, M, D) * 86400 + h * 3600 + mi * 60 + sec;
		t -= sign * (int64_t)(oh * 3600 + om * 60);
		int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400, rem = t - days * 86400;
		civil_from_days(days, &Y, &M, &D);
		h = (unsigned)(rem / 3600);
		mi = (unsigned)(rem % 3600 / 60);
		sec = (unsigned)(rem % 60);
		if (Y < 1000 || Y > 9999)
			return false;
	}
	*dt = (xmlrpc_datetime){ .Y = Y, .M = M, .D = D, .h = h, .m = mi, .s = sec, .u = u };
	return true;
}

/* ---- base64 ------------------------------------------------------------------ */

static int b64_digit(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Standard alphabet, whitespace anywhere, length a multiple of 4 with at
 * most two '=' at the very end. out has room for n * 3 / 4 bytes. */
static bool decode_base64(const char *s, size_t n, unsigned char *out, size_t *outlen)
{
	uint32_t acc = 0;
	size_t o = 0, k = 0, pad = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int d;
		if (xml_space((char)c))
			continue;
		if (c == '=') {
			if (++pad > 2)
				return false;
			acc <<= 6;
			k++;
		} else {
			if (pad || (d = b64_digit(c)) < 0)
				return false;
			acc = acc << 6 | (uint32_t)d;
			k++;
		}
		if (k % 4 == 0) {
			out[o++] = (unsigned char)(acc >> 16);
			out[o++] = (unsigned char)(acc >> 8);
			out[o++] = (unsigned char)acc;
			acc = 0;
		}
	}
	if (k % 4 != 0)
		return false;
	/* Padding stands for the last one or two bytes only. */
	*outlen = o - pad;
	return true;
}

/* ---- values ------------------------------------------------------------------ */

/* The first character past U+FFFF in valid UTF-8 text, if any. */
static bool beyond_bmp(const char *s, size_t n, uint32_t *cp)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < n; i++)
		if (p[i] >= 0xf0) {
			size_t k = utf8_decode(p + i, n - i, cp);
			return k == 4;
		}
	return false;
}

static void bad(char *err, size_t errlen, const char *tag, const char *text, size_t n,
		const char *what)
{
	char shown[80];

	quote_printable(shown, sizeof(shown), text, n);
	snprintf(err, errlen, "<%s> '%s' is not %s", tag, shown, what);
}

xmlrpc_value *rpc_scalar_value(enum rpc_scalar t, const char *tag, const char *text, size_t n,
			       char *err, size_t errlen)
{
	xmlrpc_value *v = NULL;
	xmlrpc_env env;
	const char *s = text;
	size_t len = n;
	int64_t i;
	double d;
	xmlrpc_datetime dt;

	if (t != RPC_STRING)
		trim(&s, &len);
	xmlrpc_env_init(&env);
	switch (t) {
	case RPC_INT:
		if (!parse_int(s, len, INT32_MIN, INT32_MAX, &i)) {
			bad(err, errlen, tag, text, n, "a 32-bit integer");
			break;
		}
		v = xmlrpc_int_new(&env, (int)i);
		break;
	case RPC_I8:
		if (!parse_int(s, len, INT64_MIN, INT64_MAX, &i)) {
			bad(err, errlen, tag, text, n, "a 64-bit integer");
			break;
		}
		v = xmlrpc_i8_new(&env, i);
		break;
	case RPC_BOOL:
		if (len != 1 || (s[0] != '0' && s[0] != '1')) {
			snprintf(err, errlen, "<%s>: a boolean must be 0 or 1", tag);
			break;
		}
		v = xmlrpc_bool_new(&env, s[0] == '1');
		break;
	case RPC_DOUBLE:
		if (!parse_double(s, len, &d)) {
			bad(err, errlen, tag, text, n, "a double (a finite decimal number)");
			break;
		}
		v = xmlrpc_double_new(&env, d);
		break;
	case RPC_STRING: {
		uint32_t cp;
		if (beyond_bmp(text, n, &cp)) {
			snprintf(err, errlen, "<%s> holds U+%04X: characters beyond U+FFFF are not "
				 "supported (xmlrpc-c 1.33 has no such strings)", tag, (unsigned)cp);
			break;
		}
		/* _cr: keep a CR that arrived as &#13; instead of making it LF. */
		v = xmlrpc_string_new_lp_cr(&env, n, text);
		break;
	}
	case RPC_DATETIME:
		if (!parse_datetime(s, len, &dt)) {
			bad(err, errlen, tag, text, n,
			    "a dateTime.iso8601 of the years 1000 to 9999 (like 20260131T23:59:59)");
			break;
		}
		v = xmlrpc_datetime_new(&env, dt);
		break;
	case RPC_BASE64: {
		unsigned char *bytes = xmalloc(len / 4 * 3 + 3);
		size_t blen;
		if (!decode_base64(s, len, bytes, &blen))
			bad(err, errlen, tag, text, n, "valid base64");
		else
			v = xmlrpc_base64_new(&env, blen, bytes);
		free(bytes);
		break;
	}
	case RPC_NIL:
		if (len) {
			snprintf(err, errlen, "<%s> must be empty", tag);
			break;
		}
		v = xmlrpc_nil_new(&env);
		break;
	}
	if (env.fault_occurred) {
		snprintf(err, errlen, "<%s>: %s", tag, env.fault_string);
		v = NULL;
	}
	xmlrpc_env_clean(&env);
	return v;
}
