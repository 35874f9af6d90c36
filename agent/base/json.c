/* json.c - a bounded JSON reader and writer over xmlrpc-c values. */
#include "agent/base/json.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/base/utf8.h"

#define NUMBER_MAX 400          /* longest number token we convert */

/* ==== UTF-8 ============================================================== */

/* xmlrpc-c refuses strings with code points above U+FFFD (it keeps
 * UTF-16 without surrogates); the reader puts U+FFFD in their place. */
#define XMLRPC_MAX_CP 0xfffd

/* Append cp (never a surrogate: the reader joins or refuses those). */
static void put_cp(struct buf *b, uint32_t cp)
{
	char s[4];

	buf_append(b, s, utf8_encode(cp, s));
}

/* ==== JSON reader ========================================================= */

struct jreader {
	const char *p, *end, *start;
	int values;
	xmlrpc_env env;         /* one for the whole parse: a fault sticks */
	struct buf str;         /* scratch for decoding strings */
	char *err;
	size_t errlen;
	bool failed;
};

static void jfail(struct jreader *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jfail(struct jreader *j, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	if (j->failed)
		return;  /* the first error is the one worth reporting */
	j->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(j->err, j->errlen, "%s at byte %zu", msg, (size_t)(j->p - j->start));
}

/* Check an xmlrpc-c call: its faults are ours too. */
static bool jok(struct jreader *j)
{
	if (!j->env.fault_occurred)
		return true;
	jfail(j, "%s", j->env.fault_string);
	return false;
}

/* Check a constructor: returns v, or NULL (v released) on a fault. */
static xmlrpc_value *jnew(struct jreader *j, xmlrpc_value *v)
{
	if (jok(j))
		return v;
	if (v)
		xmlrpc_DECREF(v);
	return NULL;
}

static bool jpeek(struct jreader *j, char c)
{
	return j->p < j->end && *j->p == c;
}

static void jskip_ws(struct jreader *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int hex4(const char *p, const char *end)
{
	int v = 0;

	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
			c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/* \uXXXX at j->p (after the backslash and 'u'), with a UTF-16 surrogate
 * pair joined into one code point: QEMU writes characters past U+FFFF so. */
static int junicode(struct jreader *j)
{
	int hi = hex4(j->p, j->end), lo;
	uint32_t cp;

	if (hi < 0) {
		jfail(j, "bad \\u escape");
		return -1;
	}
	j->p += 4;
	cp = (uint32_t)hi;
	if (hi >= 0xd800 && hi <= 0xdbff) {
		if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' ||
		    (lo = hex4(j->p + 2, j->end)) < 0xdc00 || lo > 0xdfff) {
			jfail(j, "unpaired UTF-16 surrogate in a \\u escape");
			return -1;
		}
		j->p += 6;
		cp = 0x10000 + (((uint32_t)hi - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
	} else if (hi >= 0xdc00 && hi <= 0xdfff) {
		jfail(j, "unpaired UTF-16 surrogate in a \\u escape");
		return -1;
	} else if (hi == 0) {
		/* QEMU refuses it too; C strings cannot hold it. */
		jfail(j, "\\u0000 in a string");
		return -1;
	}
	put_cp(&j->str, cp > XMLRPC_MAX_CP ? XMLRPC_MAX_CP : cp);
	return 0;
}

static int jescape(struct jreader *j)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *hit;

	j->p++;
	if (j->p >= j->end) {
		jfail(j, "unterminated string");
		return -1;
	}
	if (*j->p == 'u') {
		j->p++;
		return junicode(j);
	}
	hit = *j->p ? strchr(from, *j->p) : NULL;
	if (!hit) {
		jfail(j, "bad escape \\%c", *j->p);
		return -1;
	}
	buf_append(&j->str, &to[hit - from], 1);
	j->p++;
	return 0;
}

/* Decode the string at j->p (on its opening quote) into j->str. */
static int jstring(struct jreader *j)
{
	buf_reset(&j->str);
	j->p++;
	for (;;) {
		const char *run = j->p;
		unsigned char c;
		uint32_t cp;
		size_t len;

		while (j->p < j->end && (unsigned char)*j->p >= 0x20 && (unsigned char)*j->p < 0x80 &&
		       *j->p != '"' && *j->p != '\\')
			j->p++;
		buf_append(&j->str, run, (size_t)(j->p - run));
		if (j->p >= j->end) {
			jfail(j, "unterminated string");
			return -1;
		}
		c = (unsigned char)*j->p;
		if (c == '"') {
			j->p++;
			return 0;
		}
		if (c == '\\') {
			if (jescape(j) < 0)
				return -1;
			continue;
		}
		if (c < 0x20) {
			jfail(j, "control character 0x%02x in a string", c);
			return -1;
		}
		len = utf8_decode((const unsigned char *)j->p, (size_t)(j->end - j->p), &cp);
		if (!len) {
			jfail(j, "invalid UTF-8 in a string");
			return -1;
		}
		if (cp > XMLRPC_MAX_CP)
			put_cp(&j->str, XMLRPC_MAX_CP);
		else
			buf_append(&j->str, j->p, len);
		j->p += len;
	}
}

/* The _cr variant: plain xmlrpc_string_new_lp() turns CR and CRLF into LF. */
static xmlrpc_value *jstring_value(struct jreader *j)
{
	if (jstring(j) < 0)
		return NULL;
	return jnew(j, xmlrpc_string_new_lp_cr(&j->env, j->str.len, j->str.data ? j->str.data : ""));
}

static bool jdigits(struct jreader *j)
{
	const char *s = j->p;

	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > s;
}

/* RFC 8259 number grammar; returns false on a malformed number. */
static bool jnumber_scan(struct jreader *j, bool *integral)
{
	*integral = true;
	if (jpeek(j, '-'))
		j->p++;
	if (jpeek(j, '0'))
		j->p++;
	else if (j->p >= j->end || *j->p < '1' || *j->p > '9' || !jdigits(j))
		return false;
	if (jpeek(j, '.')) {
		j->p++;
		*integral = false;
		if (!jdigits(j))
			return false;
	}
	if (jpeek(j, 'e') || jpeek(j, 'E')) {
		j->p++;
		*integral = false;
		if (jpeek(j, '+') || jpeek(j, '-'))
			j->p++;
		if (!jdigits(j))
			return false;
	}
	return true;
}

/* Integers become INT or I8 by size; fractions, exponents and integers
 * past int64 (QEMU's large uint64 values) become DOUBLE. strtod and
 * strtoll follow LC_NUMERIC, which the agent leaves at "C". */
static xmlrpc_value *jnumber(struct jreader *j)
{
	const char *s = j->p;
	char tok[NUMBER_MAX + 1];
	bool integral;
	size_t n;
	double d;

	if (!jnumber_scan(j, &integral)) {
		jfail(j, "malformed number");
		return NULL;
	}
	n = (size_t)(j->p - s);
	if (n > NUMBER_MAX) {
		jfail(j, "number longer than %d characters", NUMBER_MAX);
		return NULL;
	}
	memcpy(tok, s, n);
	tok[n] = '\0';
	if (integral) {
		long long v;
		errno = 0;
		v = strtoll(tok, NULL, 10);
		if (errno != ERANGE && v >= INT_MIN && v <= INT_MAX)
			return jnew(j, xmlrpc_int_new(&j->env, (int)v));
		if (errno != ERANGE)
			return jnew(j, xmlrpc_i8_new(&j->env, v));
	}
	d = strtod(tok, NULL);
	if (!isfinite(d)) {
		jfail(j, "number out of range");
		return NULL;
	}
	return jnew(j, xmlrpc_double_new(&j->env, d));
}

static xmlrpc_value *jliteral(struct jreader *j)
{
	size_t left = (size_t)(j->end - j->p);

	if (left >= 4 && memcmp(j->p, "true", 4) == 0) {
		j->p += 4;
		return jnew(j, xmlrpc_bool_new(&j->env, 1));
	}
	if (left >= 5 && memcmp(j->p, "false", 5) == 0) {
		j->p += 5;
		return jnew(j, xmlrpc_bool_new(&j->env, 0));
	}
	if (left >= 4 && memcmp(j->p, "null", 4) == 0) {
		j->p += 4;
		return jnew(j, xmlrpc_nil_new(&j->env));
	}
	jfail(j, "unexpected character 0x%02x", (unsigned char)*j->p);
	return NULL;
}

static xmlrpc_value *jvalue(struct jreader *j, int depth);

/* One "name": value pair into obj. */
static int jmember(struct jreader *j, xmlrpc_value *obj, int depth)
{
	xmlrpc_value *key = NULL, *val = NULL;
	int rc = -1;

	jskip_ws(j);
	if (!jpeek(j, '"')) {
		jfail(j, "expected a member name");
		goto out;
	}
	if (!(key = jstring_value(j)))
		goto out;
	jskip_ws(j);
	if (!jpeek(j, ':')) {
		jfail(j, "expected ':'");
		goto out;
	}
	j->p++;
	if (!(val = jvalue(j, depth)))
		goto out;
	xmlrpc_struct_set_value_v(&j->env, obj, key, val);
	if (jok(j))
		rc = 0;
out:
	if (key)
		xmlrpc_DECREF(key);
	if (val)
		xmlrpc_DECREF(val);
	return rc;
}

static xmlrpc_value *jobject(struct jreader *j, int depth)
{
	xmlrpc_value *obj;
	int members = 0;

	if (depth > JSON_MAX_DEPTH) {
		jfail(j, "nested deeper than %d", JSON_MAX_DEPTH);
		return NULL;
	}
	if (!(obj = jnew(j, xmlrpc_struct_new(&j->env))))
		return NULL;
	j->p++;
	jskip_ws(j);
	if (jpeek(j, '}')) {
		j->p++;
		return obj;
	}
	for (;;) {
		if (++members > JSON_MAX_MEMBERS) {
			jfail(j, "object with more than %d members", JSON_MAX_MEMBERS);
			break;
		}
		if (jmember(j, obj, depth) < 0)
			break;
		jskip_ws(j);
		if (jpeek(j, ',')) {
			j->p++;
			continue;
		}
		if (jpeek(j, '}')) {
			j->p++;
			return obj;
		}
		jfail(j, "expected ',' or '}'");
		break;
	}
	xmlrpc_DECREF(obj);
	return NULL;
}

static xmlrpc_value *jarray(struct jreader *j, int depth)
{
	xmlrpc_value *arr, *item;

	if (depth > JSON_MAX_DEPTH) {
		jfail(j, "nested deeper than %d", JSON_MAX_DEPTH);
		return NULL;
	}
	if (!(arr = jnew(j, xmlrpc_array_new(&j->env))))
		return NULL;
	j->p++;
	jskip_ws(j);
	if (jpeek(j, ']')) {
		j->p++;
		return arr;
	}
	for (;;) {
		if (!(item = jvalue(j, depth)))
			break;
		xmlrpc_array_append_item(&j->env, arr, item);
		xmlrpc_DECREF(item);
		if (!jok(j))
			break;
		jskip_ws(j);
		if (jpeek(j, ',')) {
			j->p++;
			continue;
		}
		if (jpeek(j, ']')) {
			j->p++;
			return arr;
		}
		jfail(j, "expected ',' or ']'");
		break;
	}
	xmlrpc_DECREF(arr);
	return NULL;
}

static xmlrpc_value *jvalue(struct jreader *j, int depth)
{
	jskip_ws(j);
	if (j->p >= j->end) {
		jfail(j, "expected a value");
		return NULL;
	}
	if (++j->values > JSON_MAX_VALUES) {
		jfail(j, "more than %d values", JSON_MAX_VALUES);
		return NULL;
	}
	switch (*j->p) {
	case '{':
		return jobject(j, depth + 1);
	case '[':
		return jarray(j, depth + 1);
	case '"':
		return jstring_value(j);
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		return jnumber(j);
	default:
		return jliteral(j);
	}
}

xmlrpc_value *json_parse(const char *p, size_t n, char *err, size_t errlen)
{
	struct jreader j;
	xmlrpc_value *v;

	memset(&j, 0, sizeof(j));
	j.p = j.start = p ? p : "";
	j.end = j.p + (p ? n : 0);
	j.err = err;
	j.errlen = errlen;
	xmlrpc_env_init(&j.env);
	buf_init(&j.str, 0);
	v = jvalue(&j, 0);
	jskip_ws(&j);
	if (v && j.p != j.end) {
		jfail(&j, "junk after the JSON value");
		xmlrpc_DECREF(v);
		v = NULL;
	}
	buf_free(&j.str);
	xmlrpc_env_clean(&j.env);
	return v;
}

/* ==== JSON writer ========================================================= */

struct jwriter {
	struct buf *out;
	xmlrpc_env env;
	char *err;
	size_t errlen;
	bool failed;
};

static int jwfail(struct jwriter *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int jwfail(struct jwriter *w, const char *fmt, ...)
{
	va_list ap;

	if (!w->failed) {
		w->failed = true;
		va_start(ap, fmt);
		vsnprintf(w->err, w->errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int jwcheck(struct jwriter *w)
{
	return w->env.fault_occurred ? jwfail(w, "%s", w->env.fault_string) : 0;
}

/* Only '"', '\\' and control characters need escaping; UTF-8 goes out as
 * is but must be valid, or QEMU rejects the whole command without an id. */
static int jw_string(struct jwriter *w, const char *s, size_t n)
{
	static const char ctl_from[] = "\b\f\n\r\t", ctl_to[] = "bfnrt";
	size_t i = 0;

	buf_append(w->out, "\"", 1);
	while (i < n) {
		size_t run = i, len;
		unsigned char c;
		const char *hit;
		uint32_t cp;

		while (i < n && (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x80 &&
		       s[i] != '"' && s[i] != '\\')
			i++;
		buf_append(w->out, s + run, i - run);
		if (i >= n)
			break;
		c = (unsigned char)s[i];
		if (c == 0)
			return jwfail(w, "a string holds a NUL byte");
		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			buf_append(w->out, e, 2);
			i++;
		} else if (c < 0x20) {
			hit = strchr(ctl_from, c);
			if (hit)
				buf_printf(w->out, "\\%c", ctl_to[hit - ctl_from]);
			else
				buf_printf(w->out, "\\u%04x", c);
			i++;
		} else {
			if (!(len = utf8_decode((const unsigned char *)s + i, n - i, &cp)))
				return jwfail(w, "a string is not valid UTF-8");
			buf_append(w->out, s + i, len);
			i += len;
		}
	}
	buf_append(w->out, "\"", 1);
	return 0;
}

static int jw_value(struct jwriter *w, xmlrpc_value *v, int depth);

static int jw_string_value(struct jwriter *w, xmlrpc_value *v)
{
	const char *s = NULL;
	size_t n;
	int rc;

	xmlrpc_read_string_lp(&w->env, v, &n, &s);
	if (jwcheck(w) < 0)
		return -1;
	rc = jw_string(w, s, n);
	free((void *)s);
	return rc;
}

/* %.17g round-trips every double; ".0" keeps an integral double a double
 * on the way back instead of turning it into an int. */
static int jw_double(struct jwriter *w, xmlrpc_value *v)
{
	char tmp[64];
	double d;

	xmlrpc_read_double(&w->env, v, &d);
	if (jwcheck(w) < 0)
		return -1;
	if (!isfinite(d))
		return jwfail(w, "JSON has no infinity or NaN");
	snprintf(tmp, sizeof(tmp), "%.17g", d);
	buf_puts(w->out, tmp);
	if (!strpbrk(tmp, ".eE"))
		buf_puts(w->out, ".0");
	return 0;
}

static int jw_array(struct jwriter *w, xmlrpc_value *v, int depth)
{
	int n = xmlrpc_array_size(&w->env, v);

	if (jwcheck(w) < 0)
		return -1;
	buf_append(w->out, "[", 1);
	for (int i = 0; i < n; i++) {
		xmlrpc_value *item = NULL;
		int rc;

		xmlrpc_array_read_item(&w->env, v, (unsigned)i, &item);
		if (jwcheck(w) < 0)
			return -1;
		if (i)
			buf_append(w->out, ",", 1);
		rc = jw_value(w, item, depth);
		xmlrpc_DECREF(item);
		if (rc < 0)
			return -1;
	}
	buf_append(w->out, "]", 1);
	return 0;
}

static int jw_member(struct jwriter *w, xmlrpc_value *v, int i, int depth)
{
	xmlrpc_value *key = NULL, *val = NULL;
	int rc = -1;

	xmlrpc_struct_read_member(&w->env, v, (unsigned)i, &key, &val);
	if (jwcheck(w) < 0)
		goto out;
	if (i)
		buf_append(w->out, ",", 1);
	if (jw_string_value(w, key) < 0)
		goto out;
	buf_append(w->out, ":", 1);
	rc = jw_value(w, val, depth);
out:
	if (key)
		xmlrpc_DECREF(key);
	if (val)
		xmlrpc_DECREF(val);
	return rc;
}

static int jw_struct(struct jwriter *w, xmlrpc_value *v, int depth)
{
	int n = xmlrpc_struct_size(&w->env, v);

	if (jwcheck(w) < 0)
		return -1;
	buf_append(w->out, "{", 1);
	for (int i = 0; i < n; i++)
		if (jw_member(w, v, i, depth) < 0)
			return -1;
	buf_append(w->out, "}", 1);
	return 0;
}

static int jw_value(struct jwriter *w, xmlrpc_value *v, int depth)
{
	xmlrpc_int64 i8;
	xmlrpc_bool b;
	int i;

	if (depth > JSON_MAX_DEPTH)
		return jwfail(w, "value nested deeper than %d", JSON_MAX_DEPTH);
	switch (xmlrpc_value_type(v)) {
	case XMLRPC_TYPE_INT:
		xmlrpc_read_int(&w->env, v, &i);
		buf_printf(w->out, "%d", i);
		return jwcheck(w);
	case XMLRPC_TYPE_I8:
		xmlrpc_read_i8(&w->env, v, &i8);
		buf_printf(w->out, "%lld", (long long)i8);
		return jwcheck(w);
	case XMLRPC_TYPE_BOOL:
		xmlrpc_read_bool(&w->env, v, &b);
		buf_puts(w->out, b ? "true" : "false");
		return jwcheck(w);
	case XMLRPC_TYPE_DOUBLE:
		return jw_double(w, v);
	case XMLRPC_TYPE_STRING:
		return jw_string_value(w, v);
	case XMLRPC_TYPE_NIL:
		buf_puts(w->out, "null");
		return 0;
	case XMLRPC_TYPE_ARRAY:
		return jw_array(w, v, depth + 1);
	case XMLRPC_TYPE_STRUCT:
		return jw_struct(w, v, depth + 1);
	default:
		return jwfail(w, "JSON cannot carry an xmlrpc value of type %d",
			      (int)xmlrpc_value_type(v));
	}
}

static void jw_init(struct jwriter *w, struct buf *out, char *err, size_t errlen)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
	w->err = err;
	w->errlen = errlen;
	xmlrpc_env_init(&w->env);
}

/* Close a writer: a full buffer is reported as such. */
static int jw_done(struct jwriter *w, int rc)
{
	if (rc == 0 && w->out->failed)
		rc = jwfail(w, "JSON text longer than %zu bytes", w->out->max);
	xmlrpc_env_clean(&w->env);
	return rc;
}

int json_write(struct buf *out, xmlrpc_value *v, char *err, size_t errlen)
{
	struct jwriter w;

	jw_init(&w, out, err, errlen);
	return jw_done(&w, jw_value(&w, v, 0));
}

int json_write_string(struct buf *out, const char *s, size_t n, char *err, size_t errlen)
{
	struct jwriter w;

	jw_init(&w, out, err, errlen);
	return jw_done(&w, jw_string(&w, s, n));
}

/* ==== integers ============================================================ */

int json_int64(xmlrpc_value *v, int64_t *out)
{
	xmlrpc_env env;
	xmlrpc_int64 i8 = 0;
	double d = 0;
	int i = 0, rc = -1;

	if (!v)
		return -1;
	xmlrpc_env_init(&env);
	switch (xmlrpc_value_type(v)) {
	case XMLRPC_TYPE_INT:
		xmlrpc_read_int(&env, v, &i);
		*out = i;
		rc = 0;
		break;
	case XMLRPC_TYPE_I8:
		xmlrpc_read_i8(&env, v, &i8);
		*out = i8;
		rc = 0;
		break;
	case XMLRPC_TYPE_DOUBLE:
		xmlrpc_read_double(&env, v, &d);
		/* 2^63 is exact in a double; anything in [-2^63, 2^63) converts. */
		if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 &&
		    (double)(int64_t)d == d) {
			*out = (int64_t)d;
			rc = 0;
		}
		break;
	default:
		break;
	}
	if (env.fault_occurred)
		rc = -1;
	xmlrpc_env_clean(&env);
	return rc;
}
