/* qmp.c - QMP client: stream framing, JSON <-> xmlrpc_value, commands
 * matched to replies by id, events, timeouts, fd passing. */
#define LOG_CAT "qmp"
#include "hypervisor/qemu/qmp.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/base/log.h"
#include "agent/base/loop.h"
#include "agent/base/utf8.h"
#include "agent/base/util.h"

#define READ_CHUNK 16384        /* per read; <= QMP_FRAMER_SLACK */
#define IDLE_BUF_KEEP 65536     /* drop a bigger input buffer once it is empty */
#define NUMBER_MAX 400          /* longest number token we convert */

/* ==== UTF-8 ============================================================== */

/* xmlrpc-c refuses strings with code points above U+FFFD (it keeps
 * UTF-16 without surrogates); the reader puts U+FFFD in their place. */
#define XMLRPC_MAX_CP 0xfffd

static void utf8_put(struct buf *b, uint32_t cp)
{
	unsigned char s[4];
	size_t n;

	if (cp < 0x80) {
		s[0] = (unsigned char)cp; n = 1;
	} else if (cp < 0x800) {
		s[0] = 0xc0 | cp >> 6; s[1] = 0x80 | (cp & 0x3f); n = 2;
	} else if (cp < 0x10000) {
		s[0] = 0xe0 | cp >> 12; s[1] = 0x80 | (cp >> 6 & 0x3f);
		s[2] = 0x80 | (cp & 0x3f); n = 3;
	} else {
		s[0] = 0xf0 | cp >> 18; s[1] = 0x80 | (cp >> 12 & 0x3f);
		s[2] = 0x80 | (cp >> 6 & 0x3f); s[3] = 0x80 | (cp & 0x3f); n = 4;
	}
	buf_append(b, s, n);
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
	utf8_put(&j->str, cp > XMLRPC_MAX_CP ? XMLRPC_MAX_CP : cp);
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
			utf8_put(&j->str, XMLRPC_MAX_CP);
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

	if (depth > QMP_MAX_DEPTH) {
		jfail(j, "nested deeper than %d", QMP_MAX_DEPTH);
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
		if (++members > QMP_MAX_MEMBERS) {
			jfail(j, "object with more than %d members", QMP_MAX_MEMBERS);
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

	if (depth > QMP_MAX_DEPTH) {
		jfail(j, "nested deeper than %d", QMP_MAX_DEPTH);
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
	if (++j->values > QMP_MAX_VALUES) {
		jfail(j, "more than %d values", QMP_MAX_VALUES);
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

xmlrpc_value *qmp_json_parse(const char *p, size_t n, char *err, size_t errlen)
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

	if (depth > QMP_MAX_DEPTH)
		return jwfail(w, "value nested deeper than %d", QMP_MAX_DEPTH);
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

int qmp_json_write(struct buf *out, xmlrpc_value *v, char *err, size_t errlen)
{
	struct jwriter w;

	jw_init(&w, out, err, errlen);
	return jw_done(&w, jw_value(&w, v, 0));
}

int qmp_json_write_string(struct buf *out, const char *s, size_t n, char *err, size_t errlen)
{
	struct jwriter w;

	jw_init(&w, out, err, errlen);
	return jw_done(&w, jw_string(&w, s, n));
}

/* ==== framing ============================================================= */

void qmp_framer_init(struct qmp_framer *f, size_t max_message)
{
	memset(f, 0, sizeof(*f));
	f->max = max_message;
	buf_init(&f->in, max_message + QMP_FRAMER_SLACK);
}

void qmp_framer_free(struct qmp_framer *f)
{
	buf_free(&f->in);
}

/* One byte inside a message; returns 1 when it closed the message, -1 when
 * nested too deep. */
static int frame_byte(struct qmp_framer *f, char c)
{
	if (f->in_str) {
		if (f->esc)
			f->esc = false;
		else if (c == '\\')
			f->esc = true;
		else if (c == '"')
			f->in_str = false;
		return 0;
	}
	if (c == '"') {
		f->in_str = true;
	} else if (c == '{' || c == '[') {
		if (++f->depth > QMP_MAX_DEPTH)
			return -1;
	} else if (c == '}' || c == ']') {
		if (--f->depth == 0)
			return 1;
	}
	return 0;
}

int qmp_framer_next(struct qmp_framer *f, const char **msg, size_t *len, char *err, size_t errlen)
{
	const char *d = f->in.data;
	size_t drop;

	while (f->pos < f->in.len) {
		char c = d[f->pos];
		int r;

		if (f->depth == 0) {
			if (c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '{') {
				snprintf(err, errlen, "byte 0x%02x outside a JSON object",
					 (unsigned char)c);
				return -1;
			}
			if (c == '{') {
				f->start = f->pos;
				f->depth = 1;
			}
			f->pos++;
			continue;
		}
		if (f->pos - f->start >= f->max) {
			snprintf(err, errlen, "message longer than %zu bytes", f->max);
			return -1;
		}
		r = frame_byte(f, c);
		f->pos++;
		if (r < 0) {
			snprintf(err, errlen, "message nested deeper than %d", QMP_MAX_DEPTH);
			return -1;
		}
		if (r > 0) {
			*msg = d + f->start;
			*len = f->pos - f->start;
			return 1;
		}
	}
	/* Compact once per batch, not per message: a read full of small
	 * events must not cost a memmove each. */
	drop = f->depth > 0 ? f->start : f->pos;
	buf_consume(&f->in, drop);
	f->pos -= drop;
	f->start = 0;
	return 0;
}

/* ==== the client ========================================================== */

enum conn_state { S_GREETING, S_NEGOTIATING, S_READY, S_CLOSED };

struct qmp_cmd {
	struct qmp_cmd *next;
	struct qmp *q;
	int id;
	char *text;             /* serialized command; freed once written */
	size_t len, off;
	int fd;                 /* passed with the first byte, or -1 */
	bool caps;              /* our qmp_capabilities */
	bool dropped;           /* timed out or cancelled while partly written */
	char name[48];          /* for logs and the timeout message */
	int timeout_ms;
	struct timer timer;
	qmp_reply_cb cb;
	void *arg;
};

struct qmp {
	struct loop *loop;
	struct io io;
	int fd;
	enum conn_state state;
	bool dead;              /* qmp_close() called; freed at the end of the turn */
	struct qmp_framer in;
	/* Commands in send order: those before `unsent` are written and await
	 * their reply, `unsent` may be partly written, the rest are untouched. */
	struct qmp_cmd *head, *tail, *unsent;
	int nuser;              /* commands counted against QMP_MAX_INFLIGHT */
	int last_id;
	int handshake_ms;
	struct timer handshake;
	xmlrpc_value *greeting;
	qmp_state_cb state_cb;
	qmp_event_cb event_cb;
	void *arg;
	char why[256];
};

static void q_fail(struct qmp *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void q_closed_by_peer(struct qmp *q);
static void flush(struct qmp *q);

static bool gone(const struct qmp *q)
{
	return q->dead || q->state == S_CLOSED;
}

/* ---- commands ---- */

static void cmd_free(struct qmp_cmd *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->text);
	free(c);
}

static struct qmp_cmd *cmd_find(struct qmp *q, int64_t id)
{
	for (struct qmp_cmd *c = q->head; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

static void cmd_unlink(struct qmp *q, struct qmp_cmd *c)
{
	struct qmp_cmd **pp = &q->head, *prev = NULL;

	while (*pp && *pp != c) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (!*pp)
		return;
	*pp = c->next;
	if (q->tail == c)
		q->tail = prev;
	if (q->unsent == c)
		q->unsent = c->next;
	c->next = NULL;
	if (!c->caps)
		q->nuser--;
}

static void cmd_append(struct qmp *q, struct qmp_cmd *c)
{
	if (q->tail)
		q->tail->next = c;
	else
		q->head = c;
	q->tail = c;
	if (!q->unsent)
		q->unsent = c;
	if (!c->caps)
		q->nuser++;
}

static bool cmd_partly_sent(const struct qmp *q, const struct qmp_cmd *c)
{
	return c == q->unsent && c->off > 0;
}

/* Forget c's callback. Bytes already on the wire must be finished, or the
 * stream would be corrupt; otherwise c goes at once. */
static void cmd_drop(struct qmp *q, struct qmp_cmd *c)
{
	timer_stop(q->loop, &c->timer);
	c->cb = NULL;
	if (cmd_partly_sent(q, c)) {
		c->dropped = true;
		return;
	}
	cmd_unlink(q, c);
	cmd_free(c);
}

static void on_cmd_timeout(struct timer *t)
{
	struct qmp_cmd *c = t->data;
	qmp_reply_cb cb = c->cb;
	void *arg = c->arg;
	char desc[128];

	snprintf(desc, sizeof(desc), "no reply to %s within %d ms", c->name, c->timeout_ms);
	log_warn("%s", desc);
	cmd_drop(c->q, c);
	if (cb)
		cb(arg, NULL, "Timeout", desc);
}

static int next_id(struct qmp *q)
{
	do
		q->last_id = q->last_id >= INT_MAX ? 1 : q->last_id + 1;
	while (cmd_find(q, q->last_id));
	return q->last_id;
}

/* {"execute":NAME,"arguments":ARGS,"id":N} and CRLF, as QEMU writes. */
static int cmd_serialize(struct qmp_cmd *c, const char *command, xmlrpc_value *args)
{
	struct buf out;
	char err[160];
	int rc;

	buf_init(&out, QMP_MAX_MESSAGE);
	buf_puts(&out, "{\"execute\":");
	rc = qmp_json_write_string(&out, command, strlen(command), err, sizeof(err));
	if (rc == 0 && args) {
		buf_puts(&out, ",\"arguments\":");
		rc = qmp_json_write(&out, args, err, sizeof(err));
	}
	buf_printf(&out, ",\"id\":%d}\r\n", c->id);
	if (rc == 0 && out.failed) {
		snprintf(err, sizeof(err), "JSON text longer than %zu bytes", out.max);
		rc = -1;
	}
	if (rc < 0) {
		log_warn("cannot send QMP command %s: %s", c->name, err);
		errno = out.failed ? EMSGSIZE : EINVAL;
		buf_free(&out);
		return -1;
	}
	c->text = buf_steal(&out, &c->len);
	return 0;
}

static struct qmp_cmd *cmd_new(struct qmp *q, const char *command, xmlrpc_value *args)
{
	struct qmp_cmd *c;

	if (!command || !*command || (args && xmlrpc_value_type(args) != XMLRPC_TYPE_STRUCT)) {
		errno = EINVAL;
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->q = q;
	c->fd = -1;
	c->id = next_id(q);
	snprintf(c->name, sizeof(c->name), "%s", command);
	timer_init(&c->timer, on_cmd_timeout, c);
	if (cmd_serialize(c, command, args) < 0) {
		free(c);
		return NULL;
	}
	return c;
}

static int submit(struct qmp *q, const char *command, xmlrpc_value *args, int fd,
		  int timeout_ms, qmp_reply_cb cb, void *arg)
{
	struct qmp_cmd *c;

	if (!q || gone(q)) {
		errno = ENOTCONN;
		return -1;
	}
	if (q->nuser >= QMP_MAX_INFLIGHT) {
		errno = EBUSY;
		return -1;
	}
	if (!(c = cmd_new(q, command, args)))
		return -1;
	c->fd = fd;
	c->cb = cb;
	c->arg = arg;
	c->timeout_ms = timeout_ms;
	cmd_append(q, c);
	if (timeout_ms > 0)
		timer_start(q->loop, &c->timer, timeout_ms);
	/* Written from the loop, never here: a write error must not run
	 * callbacks before the caller has our return value. */
	if (q->state == S_READY)
		io_wake(q->loop, &q->io, EPOLLOUT);
	log_debug("queued %s (id %d)", c->name, c->id);
	return c->id;
}

int qmp_execute(struct qmp *q, const char *command, xmlrpc_value *args, int timeout_ms,
		qmp_reply_cb cb, void *arg)
{
	return submit(q, command, args, -1, timeout_ms, cb, arg);
}

int qmp_send_fd(struct qmp *q, int fd, const char *fdname, int timeout_ms,
		qmp_reply_cb cb, void *arg)
{
	xmlrpc_env env;
	xmlrpc_value *args = NULL;
	int dup_fd = -1, id = -1, e;

	xmlrpc_env_init(&env);
	if (fd < 0) {
		errno = EBADF;
		goto out;
	}
	if ((dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0)
		goto out;
	args = xmlrpc_build_value(&env, "{s:s}", "fdname", fdname ? fdname : "");
	if (env.fault_occurred || !fdname || !*fdname) {
		errno = EINVAL;
		goto out;
	}
	id = submit(q, "getfd", args, dup_fd, timeout_ms, cb, arg);
	if (id > 0)
		dup_fd = -1;  /* the command owns it now */
out:
	e = errno;
	if (dup_fd >= 0)
		close(dup_fd);
	if (args)
		xmlrpc_DECREF(args);
	xmlrpc_env_clean(&env);
	errno = e;
	return id;
}

void qmp_cancel(struct qmp *q, int id)
{
	struct qmp_cmd *c;

	if (!q || q->dead || !(c = cmd_find(q, id)) || c->caps)
		return;
	cmd_drop(q, c);
}

/* ---- writing ---- */

/* sendmsg so the first chunk of a getfd command carries its fd. */
static ssize_t send_cmd(struct qmp *q, struct qmp_cmd *c)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { .iov_base = c->text + c->off, .iov_len = c->len - c->off };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (c->fd >= 0) {
		struct cmsghdr *h;
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.b;
		mh.msg_controllen = sizeof(cm.b);
		h = CMSG_FIRSTHDR(&mh);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(h), &c->fd, sizeof(int));
	}
	return sendmsg(q->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void sent_one(struct qmp *q, struct qmp_cmd *c)
{
	q->unsent = c->next;
	free(c->text);
	c->text = NULL;
	log_debug("sent %s (id %d)", c->name, c->id);
	if (c->dropped) {
		cmd_unlink(q, c);
		cmd_free(c);
	}
}

/* Write queued commands in order; before READY only qmp_capabilities. */
static void flush(struct qmp *q)
{
	bool blocked = false;

	while (q->unsent) {
		struct qmp_cmd *c = q->unsent;
		ssize_t n;

		if (q->state != S_READY && !c->caps)
			break;
		n = send_cmd(q, c);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			blocked = true;
			break;
		}
		if (n < 0) {
			q_fail(q, "cannot write to the QMP socket: %s", strerror(errno));
			return;
		}
		c->off += (size_t)n;
		if (c->fd >= 0) {
			close(c->fd);  /* QEMU has its own copy now */
			c->fd = -1;
		}
		if (c->off == c->len)
			sent_one(q, c);
	}
	io_mod(q->loop, &q->io, EPOLLIN | (blocked ? EPOLLOUT : 0));
}

/* ---- reading ---- */

/* A member of a struct, borrowed: the struct keeps its own reference. */
static xmlrpc_value *member(xmlrpc_value *obj, const char *key)
{
	xmlrpc_env env;
	xmlrpc_value *v = NULL;

	if (!obj || xmlrpc_value_type(obj) != XMLRPC_TYPE_STRUCT)
		return NULL;
	xmlrpc_env_init(&env);
	xmlrpc_struct_find_value(&env, obj, key, &v);
	if (env.fault_occurred)
		v = NULL;
	xmlrpc_env_clean(&env);
	if (v)
		xmlrpc_DECREF(v);
	return v;
}

/* A string member as a malloc'd C string, or NULL. */
static char *member_str(xmlrpc_value *obj, const char *key)
{
	xmlrpc_value *v = member(obj, key);
	xmlrpc_env env;
	const char *s = NULL;

	if (!v || xmlrpc_value_type(v) != XMLRPC_TYPE_STRING)
		return NULL;
	xmlrpc_env_init(&env);
	xmlrpc_read_string(&env, v, &s);
	if (env.fault_occurred)
		s = NULL;
	xmlrpc_env_clean(&env);
	return (char *)s;
}

static void handle_greeting(struct qmp *q, xmlrpc_value *msg)
{
	xmlrpc_value *g = member(msg, "QMP");
	struct qmp_cmd *c;

	if (q->state != S_GREETING) {
		q_fail(q, "QEMU sent a second QMP greeting");
		return;
	}
	if (!g || xmlrpc_value_type(g) != XMLRPC_TYPE_STRUCT) {
		q_fail(q, "malformed QMP greeting");
		return;
	}
	xmlrpc_INCREF(g);
	q->greeting = g;
	if (!(c = cmd_new(q, "qmp_capabilities", NULL))) {
		q_fail(q, "cannot build qmp_capabilities");
		return;
	}
	/* First on the wire, ahead of whatever the caller queued. Nothing was
	 * written before the greeting, so everything is still unsent. */
	c->caps = true;
	c->next = q->head;
	q->head = q->unsent = c;
	if (!q->tail)
		q->tail = c;
	q->state = S_NEGOTIATING;
	flush(q);
}

static void handle_caps_reply(struct qmp *q, struct qmp_cmd *c, xmlrpc_value *msg)
{
	xmlrpc_value *err = member(msg, "error");

	cmd_unlink(q, c);
	cmd_free(c);
	if (err || !member(msg, "return")) {
		char *desc = member_str(err, "desc");
		q_fail(q, "QEMU refused qmp_capabilities: %s", desc ? desc : "no reason given");
		free(desc);
		return;
	}
	q->state = S_READY;
	timer_stop(q->loop, &q->handshake);
	log_debug("QMP connection ready");
	if (q->state_cb)
		q->state_cb(q->arg, QMP_READY, NULL);
	if (!gone(q))
		flush(q);
}

static void deliver(struct qmp_cmd *c, xmlrpc_value *msg)
{
	xmlrpc_value *ret = member(msg, "return"), *err;
	char *cls, *desc;

	if (!c->cb)
		return;
	if (ret) {
		c->cb(c->arg, ret, NULL, NULL);
		return;
	}
	err = member(msg, "error");
	cls = member_str(err, "class");
	desc = member_str(err, "desc");
	c->cb(c->arg, NULL, cls ? cls : "GenericError", desc ? desc : "no description");
	free(cls);
	free(desc);
}

static void handle_reply(struct qmp *q, xmlrpc_value *msg)
{
	struct qmp_cmd *c;
	int64_t id;

	if (qmp_int64(member(msg, "id"), &id) < 0) {
		/* QEMU leaves out the id only when it could not parse our
		 * command at all: the streams no longer agree. */
		char *desc = member_str(member(msg, "error"), "desc");
		q_fail(q, "QEMU sent a reply without an id: %s", desc ? desc : "no description");
		free(desc);
		return;
	}
	if (!(c = cmd_find(q, id))) {
		log_debug("discarding the reply to id %lld (timed out or cancelled)", (long long)id);
		return;
	}
	if (c->off < c->len) {
		q_fail(q, "QEMU replied to command %d before it was sent", c->id);
		return;
	}
	if (c->caps) {
		handle_caps_reply(q, c, msg);
		return;
	}
	cmd_unlink(q, c);
	timer_stop(q->loop, &c->timer);
	deliver(c, msg);
	cmd_free(c);
}

static void handle_event(struct qmp *q, xmlrpc_value *msg)
{
	char *name = member_str(msg, "event");

	if (!name) {
		q_fail(q, "QEMU sent an event without a name");
		return;
	}
	log_debug("event %s", name);
	if (q->event_cb)
		q->event_cb(q->arg, name, member(msg, "data"));
	free(name);
}

static void dispatch(struct qmp *q, const char *text, size_t len)
{
	char err[200];
	xmlrpc_value *msg = qmp_json_parse(text, len, err, sizeof(err));

	if (!msg) {
		q_fail(q, "bad JSON from QEMU: %s", err);
		return;
	}
	if (member(msg, "QMP"))
		handle_greeting(q, msg);
	else if (q->state == S_GREETING)
		q_fail(q, "QEMU did not start with a QMP greeting");
	else if (member(msg, "event"))
		handle_event(q, msg);
	else if (member(msg, "return") || member(msg, "error"))
		handle_reply(q, msg);
	else
		q_fail(q, "QEMU sent a message that is neither reply nor event");
	xmlrpc_DECREF(msg);
}

/* Hand every complete message to dispatch; stop as soon as a callback
 * closed the connection. */
static void process(struct qmp *q)
{
	const char *text;
	size_t len;
	char err[160];
	int r;

	while ((r = qmp_framer_next(&q->in, &text, &len, err, sizeof(err))) > 0) {
		dispatch(q, text, len);
		if (gone(q))
			return;
	}
	if (r < 0) {
		q_fail(q, "bad QMP stream from QEMU: %s", err);
		return;
	}
	if (q->in.in.len == 0 && q->in.in.cap > IDLE_BUF_KEEP)
		buf_free(&q->in.in);  /* a big reply is over; do not keep 1 MiB */
}

/* One read per event: the socket is level-triggered, so whatever is left
 * comes back on the next turn and other watchers get their share. */
static void do_read(struct qmp *q)
{
	char *p = buf_space(&q->in.in, READ_CHUNK);
	ssize_t n;

	if (!p) {
		q_fail(q, "QMP input buffer full");
		return;
	}
	n = recv(q->fd, p, READ_CHUNK, MSG_DONTWAIT);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			q_fail(q, "cannot read from the QMP socket: %s", strerror(errno));
		return;
	}
	if (n == 0) {
		q_closed_by_peer(q);
		return;
	}
	buf_commit(&q->in.in, (size_t)n);
	process(q);
}

static void on_io(struct io *io, uint32_t events)
{
	struct qmp *q = io->data;

	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		do_read(q);
		if (gone(q))
			return;
	}
	if (events & EPOLLOUT)
		flush(q);
}

/* ---- life cycle ---- */

/* The connection is over (q->why says why): pending commands learn it
 * first, then the owner. A callback may qmp_close(q); the remaining
 * commands are then freed with q, silently. */
static void q_teardown(struct qmp *q)
{
	q->state = S_CLOSED;
	timer_stop(q->loop, &q->handshake);
	io_del(q->loop, &q->io);
	close(q->fd);
	q->fd = -1;
	q->unsent = NULL;
	while (q->head && !q->dead) {
		struct qmp_cmd *c = q->head;
		cmd_unlink(q, c);
		timer_stop(q->loop, &c->timer);
		if (c->cb)
			c->cb(c->arg, NULL, "Closed", q->why);
		cmd_free(c);
	}
	if (!q->dead && q->state_cb)
		q->state_cb(q->arg, QMP_CLOSED, q->why);
}

/* Something went wrong: worth a warning even if the owner stays quiet. */
static void q_fail(struct qmp *q, const char *fmt, ...)
{
	va_list ap;

	if (gone(q))
		return;
	va_start(ap, fmt);
	vsnprintf(q->why, sizeof(q->why), fmt, ap);
	va_end(ap);
	log_warn("QMP connection closed: %s", q->why);
	q_teardown(q);
}

/* QEMU closes QMP as it exits: routine, unless it stopped mid-message. */
static void q_closed_by_peer(struct qmp *q)
{
	if (q->in.depth > 0) {
		q_fail(q, "QEMU closed the QMP connection in the middle of a message");
		return;
	}
	snprintf(q->why, sizeof(q->why), "QEMU closed the QMP connection");
	log_debug("%s", q->why);
	q_teardown(q);
}

static void on_handshake_timeout(struct timer *t)
{
	struct qmp *q = t->data;

	if (q->state == S_GREETING)
		q_fail(q, "no QMP greeting from QEMU within %d ms", q->handshake_ms);
	else
		q_fail(q, "QEMU did not accept qmp_capabilities within %d ms", q->handshake_ms);
}

struct qmp *qmp_attach(struct loop *loop, int fd, qmp_state_cb state_cb,
		       qmp_event_cb event_cb, void *arg)
{
	struct qmp *q;
	int e;

	if (fd < 0 || fd_set_nonblock(fd) < 0 || fd_set_cloexec(fd) < 0) {
		e = fd < 0 ? EBADF : errno;
		goto fail;
	}
	q = xcalloc(1, sizeof(*q));
	q->loop = loop;
	q->fd = fd;
	q->state = S_GREETING;
	q->state_cb = state_cb;
	q->event_cb = event_cb;
	q->arg = arg;
	q->handshake_ms = QMP_HANDSHAKE_MS;
	qmp_framer_init(&q->in, QMP_MAX_MESSAGE);
	timer_init(&q->handshake, on_handshake_timeout, q);
	if (io_add(loop, &q->io, fd, EPOLLIN, on_io, q) < 0) {
		e = errno;
		qmp_framer_free(&q->in);
		free(q);
		goto fail;
	}
	timer_start(loop, &q->handshake, q->handshake_ms);
	return q;
fail:
	if (fd >= 0)
		close(fd);
	errno = e;
	return NULL;
}

struct qmp *qmp_connect(struct loop *loop, const char *path, qmp_state_cb state_cb,
			qmp_event_cb event_cb, void *arg, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct qmp *q;
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "QMP socket path too long: %s", path);
		errno = ENAMETOOLONG;
		return NULL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "socket: %s", strerror(e));
		errno = e;
		return NULL;
	}
	/* A unix connect completes or fails at once; EINPROGRESS cannot
	 * happen there, and if it ever did, a failure would still surface as
	 * a read error on the socket. EAGAIN is a full backlog: retry later. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		e = errno;
		snprintf(err, errlen, "cannot connect to QMP socket %s: %s", path, strerror(e));
		close(fd);
		errno = e;
		return NULL;
	}
	if (!(q = qmp_attach(loop, fd, state_cb, event_cb, arg))) {
		e = errno;
		snprintf(err, errlen, "cannot watch QMP socket %s: %s", path, strerror(e));
		errno = e;
	}
	return q;
}

void qmp_set_handshake_timeout(struct qmp *q, int ms)
{
	if (!q || gone(q) || q->state == S_READY)
		return;
	q->handshake_ms = ms;
	if (ms > 0)
		timer_start(q->loop, &q->handshake, ms);
	else
		timer_stop(q->loop, &q->handshake);
}

static void qmp_free(void *p)
{
	struct qmp *q = p;

	while (q->head) {
		struct qmp_cmd *c = q->head;
		q->head = c->next;
		cmd_free(c);
	}
	qmp_framer_free(&q->in);
	if (q->greeting)
		xmlrpc_DECREF(q->greeting);
	free(q);
}

void qmp_close(struct qmp *q)
{
	if (!q || q->dead)
		return;
	q->dead = true;
	timer_stop(q->loop, &q->handshake);
	for (struct qmp_cmd *c = q->head; c; c = c->next)
		timer_stop(q->loop, &c->timer);
	if (q->fd >= 0) {
		io_del(q->loop, &q->io);
		close(q->fd);
		q->fd = -1;
	}
	/* We may be deep inside one of q's own callbacks: free after the turn. */
	loop_defer(q->loop, qmp_free, q);
}

bool qmp_is_ready(const struct qmp *q)
{
	return q && !q->dead && q->state == S_READY;
}

xmlrpc_value *qmp_greeting(const struct qmp *q)
{
	return q ? q->greeting : NULL;
}

int qmp_int64(xmlrpc_value *v, int64_t *out)
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
