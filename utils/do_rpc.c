/* do_rpc - call one XML-RPC method of an ovs-agent and print the result.
 *
 *   do_rpc [--cacert FILE] [--timeout SECONDS] [--strings] URL METHOD [ARG...]
 *
 * A URL with user@ and no password takes it from $DO_RPC_PASSWORD (scripts
 * keep secrets out of argv that way).
 * A re-creation of the agent's utils/do_rpc.py: the output is the same
 * (the call as a Python list, then "=> result"), so scripts and habits built
 * on the original keep working. Exit 0 success, 1 XML-RPC fault, 2 usage,
 * 3 anything else (network, TLS, HTTP). */
#include "agent/base/buf.h"
#include "agent/base/utf8.h"
#include "agent/server/http.h"
#include "agent/rpc/rpc_parse.h"
#include "agent/base/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <float.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <xmlrpc-c/base.h>

#define PROG "do_rpc"
#ifndef AGENT_VERSION
#define AGENT_VERSION "2.2"
#endif
#define DEFAULT_PORT 8899
#define DEFAULT_PATH "/RPC2"
#define DEFAULT_TIMEOUT 60
#define RESPONSE_MAX ((size_t)64 * 1024 * 1024)
#define RESPONSE_HEAD_MAX ((size_t)64 * 1024)
#define NEST_MAX 64 /* xmlrpc-c's own nesting limit for responses */

enum { EXIT_OK = 0, EXIT_FAULT = 1, EXIT_USAGE = 2, EXIT_ERROR = 3 };

#define HINT_PLAIN " (the agent may have ssl=disable; try http://)"

struct url {
	bool tls;
	char *user, *pass; /* NULL when the URL names no user */
	char *host;        /* an IPv6 literal without its brackets */
	bool host_is_ip;
	int port;
	char *path;
	char *hostport;    /* "host:port" or "[v6]:port": Host header, messages */
};

struct opts {
	const char *cacert;
	int timeout_s;
	bool strings;
	const char *url, *method;
	char **args;
	int nargs;
};

struct conn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;          /* NULL for http:// */
	int timeout_ms;
	const struct opts *o;
	const struct url *u;
	int sys_errno;     /* why the last plain read/write failed */
};

struct response {
	int status;
	char reason[128];
	size_t head_len;         /* bytes up to and including the blank line */
	int64_t content_length;  /* -1 when absent */
	bool chunked;
	const char *body;
	size_t body_len;
};

/* ---- URL ---------------------------------------------------------------- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode n bytes; NULL on a malformed escape or an encoded NUL. */
static char *pct_decode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1);
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int hi, lo;

		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		if (i + 2 >= n)
			goto bad;
		hi = hexval((unsigned char)s[i + 1]);
		lo = hexval((unsigned char)s[i + 2]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			goto bad;
		out[o++] = (char)(hi * 16 + lo);
		i += 2;
	}
	out[o] = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

static bool has_ctl_or_space(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return true;
	return false;
}

static int parse_port(const char *s, size_t n, int *port)
{
	long v = 0;

	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

/* user[:password]@ before the host; split at the first ':' because a user
 * name cannot hold one (basic auth) while a password may. A user without
 * one takes $DO_RPC_PASSWORD when set: a secret in argv is anyone's to
 * read in ps, the environment only its owner's. */
static int url_userinfo(struct url *u, const char *p, const char *at)
{
	const char *colon = memchr(p, ':', (size_t)(at - p));
	const char *uend = colon ? colon : at;
	const char *env_pass = getenv("DO_RPC_PASSWORD");

	u->user = pct_decode(p, (size_t)(uend - p));
	u->pass = colon ? pct_decode(colon + 1, (size_t)(at - colon - 1))
			: xstrdup(env_pass ? env_pass : "");
	if (!u->user || !u->pass)
		return -1;
	return 0;
}

/* host, [v6] or host:port / [v6]:port between p and end. */
static int url_hostport(struct url *u, const char *p, const char *end)
{
	struct in6_addr a6;
	struct in_addr a4;
	const char *rest;

	if (*p == '[') {
		const char *close = memchr(p, ']', (size_t)(end - p));

		if (!close)
			return -1;
		u->host = xstrndup(p + 1, (size_t)(close - p - 1));
		if (inet_pton(AF_INET6, u->host, &a6) != 1)
			return -1;
		rest = close + 1;
	} else {
		const char *colon = memchr(p, ':', (size_t)(end - p));

		rest = colon ? colon : end;
		u->host = xstrndup(p, (size_t)(rest - p));
	}
	if (!*u->host || has_ctl_or_space(u->host, strlen(u->host)))
		return -1;
	u->port = DEFAULT_PORT;
	if (rest < end && (*rest != ':' || parse_port(rest + 1, (size_t)(end - rest - 1), &u->port) < 0))
		return -1;
	u->host_is_ip = inet_pton(AF_INET, u->host, &a4) == 1 ||
			inet_pton(AF_INET6, u->host, &a6) == 1;
	u->hostport = strchr(u->host, ':') ? xasprintf("[%s]:%d", u->host, u->port)
					    : xasprintf("%s:%d", u->host, u->port);
	return 0;
}

/* Parse the URL; print why not and return -1 when it is not usable. The
 * authority ends at the first '/', so a '/' in a password must be written
 * %2F (as with the original tool); the last '@' ends the user part. */
static int url_parse(const char *text, struct url *u)
{
	const char *p, *end, *at;

	memset(u, 0, sizeof(*u));
	if (strncasecmp(text, "https://", 8) == 0) {
		u->tls = true;
		p = text + 8;
	} else if (strncasecmp(text, "http://", 7) == 0) {
		p = text + 7;
	} else {
		fprintf(stderr, PROG ": the URL must start with http:// or https://: %s\n", text);
		return -1;
	}
	end = p + strcspn(p, "/");
	at = memrchr(p, '@', (size_t)(end - p));
	if (at && url_userinfo(u, p, at) < 0) {
		fprintf(stderr, PROG ": bad %%-escape in the URL's user or password\n");
		return -1;
	}
	if (u->user && strchr(u->user, ':')) {
		fprintf(stderr, PROG ": the user name cannot contain ':'\n");
		return -1;
	}
	if (url_hostport(u, at ? at + 1 : p, end) < 0) {
		fprintf(stderr, PROG ": bad host or port in the URL: %s\n", text);
		return -1;
	}
	u->path = xstrdup(*end ? end : DEFAULT_PATH);
	if (has_ctl_or_space(u->path, strlen(u->path))) {
		fprintf(stderr, PROG ": the URL path contains spaces or control characters\n");
		return -1;
	}
	return 0;
}

static void url_free(struct url *u)
{
	if (u->pass)
		explicit_bzero(u->pass, strlen(u->pass));
	free(u->user);
	free(u->pass);
	free(u->host);
	free(u->path);
	free(u->hostport);
	memset(u, 0, sizeof(*u));
}

/* ---- arguments ---------------------------------------------------------- */

/* A literal argument being parsed: [..] and {..} written the Python/JSON
 * way. Bare words are classified like whole arguments (int, bool, string). */
struct lit {
	xmlrpc_env *env;
	const char *s;
	size_t pos;
	int depth;
	const char *err; /* static text; NULL with env->fault_occurred for xmlrpc-c's */
};

/* xmlrpc-c leaves a constructor's result undefined when it sets a fault;
 * this makes it NULL so callers test one thing. */
static xmlrpc_value *made(xmlrpc_env *env, xmlrpc_value *v)
{
	return env->fault_occurred ? NULL : v;
}

static bool looks_like_int(const char *s, size_t n)
{
	size_t i = (n > 0 && s[0] == '-') ? 1 : 0;

	if (i == n)
		return false;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* int (i4 when it fits in 32 bits, i8 when in 64), boolean, or string. */
static xmlrpc_value *scalar_value(xmlrpc_env *env, const char *s, size_t n)
{
	if (looks_like_int(s, n)) {
		char *t = xstrndup(s, n);
		long long v;

		errno = 0;
		v = strtoll(t, NULL, 10);
		free(t);
		if (errno == 0 && v >= INT32_MIN && v <= INT32_MAX)
			return made(env, xmlrpc_int_new(env, (int)v));
		if (errno == 0)
			return made(env, xmlrpc_i8_new(env, v));
		/* too big even for i8: leave it to the server as text */
	}
	if ((n == 4 && (!memcmp(s, "True", 4) || !memcmp(s, "true", 4))))
		return made(env, xmlrpc_bool_new(env, 1));
	if ((n == 5 && (!memcmp(s, "False", 5) || !memcmp(s, "false", 5))))
		return made(env, xmlrpc_bool_new(env, 0));
	return made(env, xmlrpc_string_new_lp(env, n, s));
}

static void skip_ws(struct lit *p)
{
	while (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' ||
	       p->s[p->pos] == '\r')
		p->pos++;
}

/* Value of `digits` hex digits at s, -1 when they are not all hex. */
static long hex_n(const char *s, int digits)
{
	long v = 0;

	for (int i = 0; i < digits; i++) {
		int h = hexval((unsigned char)s[i]);

		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* One backslash escape at p->s[p->pos] (just after the '\'). */
static int lit_escape(struct lit *p, struct buf *b)
{
	/* No \0: XML cannot carry a NUL, so "\0" stays as written. */
	static const char from[] = "nrtbf\\'\"/", to[] = "\n\r\t\b\f\\'\"/";
	char c = p->s[p->pos];
	const char *k = c ? strchr(from, c) : NULL;
	long v;

	if (k) {
		buf_append(b, &to[k - from], 1);
		p->pos++;
		return 0;
	}
	if (c == 'x' || c == 'u') {
		int digits = c == 'x' ? 2 : 4;
		char t[4];
		size_t n;

		v = hex_n(p->s + p->pos + 1, digits);
		/* surrogates: utf8_encode refuses them */
		if (v <= 0 || !(n = utf8_encode((uint32_t)v, t))) {
			p->err = "bad \\x or \\u escape";
			return -1;
		}
		buf_append(b, t, n);
		p->pos += 1 + (size_t)digits;
		return 0;
	}
	/* Unknown escapes stay as written, as in Python. */
	buf_puts(b, "\\");
	return 0;
}

static xmlrpc_value *lit_quoted(struct lit *p)
{
	char quote = p->s[p->pos++];
	xmlrpc_value *v = NULL;
	struct buf b;

	buf_init(&b, 0);
	for (;;) {
		char c = p->s[p->pos];

		if (c == '\0') {
			p->err = "unterminated string";
			goto out;
		}
		p->pos++;
		if (c == quote)
			break;
		if (c != '\\')
			buf_append(&b, &c, 1);
		else if (lit_escape(p, &b) < 0)
			goto out;
	}
	/* \0 is refused above, so the text is a C string as xmlrpc-c wants. */
	v = made(p->env, xmlrpc_string_new_lp(p->env, b.len, b.data ? b.data : ""));
out:
	buf_free(&b);
	return v;
}

static xmlrpc_value *lit_value(struct lit *p, const char *stops);

/* A bare word runs to the next stop character; surrounding blanks are
 * not part of it. */
static xmlrpc_value *lit_bare(struct lit *p, const char *stops)
{
	size_t start = p->pos, end;

	while (p->s[p->pos] && !strchr(stops, p->s[p->pos]))
		p->pos++;
	end = p->pos;
	while (end > start && strchr(" \t\r\n", p->s[end - 1]))
		end--;
	if (end == start) {
		p->err = "missing value";
		return NULL;
	}
	return scalar_value(p->env, p->s + start, end - start);
}

/* After an element: ',' (and maybe the close) or the close. Returns 1 when
 * the container is complete, 0 to go on, -1 on a syntax error. */
static int lit_next(struct lit *p, char close, const char *msg)
{
	skip_ws(p);
	if (p->s[p->pos] == ',') {
		p->pos++;
		skip_ws(p);
		if (p->s[p->pos] != close) /* a trailing comma is fine */
			return 0;
	}
	if (p->s[p->pos] == close) {
		p->pos++;
		return 1;
	}
	p->err = msg;
	return -1;
}

static xmlrpc_value *lit_array(struct lit *p)
{
	xmlrpc_value *arr = made(p->env, xmlrpc_array_new(p->env));
	int r = 0;

	if (!arr)
		return NULL;
	p->pos++;
	skip_ws(p);
	if (p->s[p->pos] == ']') {
		p->pos++;
		return arr;
	}
	while (r == 0) {
		xmlrpc_value *v = lit_value(p, ",]");

		if (!v)
			goto fail;
		xmlrpc_array_append_item(p->env, arr, v);
		xmlrpc_DECREF(v);
		if (p->env->fault_occurred)
			goto fail;
		r = lit_next(p, ']', "expected ',' or ']'");
	}
	if (r > 0)
		return arr;
fail:
	xmlrpc_DECREF(arr);
	return NULL;
}

/* A struct key: a quoted string or a bare word up to the ':'. */
static char *lit_key(struct lit *p, size_t *len)
{
	xmlrpc_value *k;
	const char *s = NULL;

	skip_ws(p);
	if (p->s[p->pos] == '\'' || p->s[p->pos] == '"') {
		k = lit_quoted(p);
	} else if (p->s[p->pos] == '[' || p->s[p->pos] == '{') {
		p->err = "a struct key must be a string";
		return NULL;
	} else {
		size_t start = p->pos, end;

		while (p->s[p->pos] && !strchr(":,}", p->s[p->pos]))
			p->pos++;
		end = p->pos;
		while (end > start && strchr(" \t\r\n", p->s[end - 1]))
			end--;
		if (end == start) {
			p->err = "missing struct key";
			return NULL;
		}
		k = made(p->env, xmlrpc_string_new_lp(p->env, end - start, p->s + start));
	}
	if (!k)
		return NULL;
	xmlrpc_read_string_lp(p->env, k, len, &s);
	xmlrpc_DECREF(k);
	return p->env->fault_occurred ? NULL : (char *)s;
}

/* One "key: value" member into st. */
static int lit_member(struct lit *p, xmlrpc_value *st)
{
	xmlrpc_value *v;
	size_t klen = 0;
	char *key = lit_key(p, &klen);
	int ret = -1;

	if (!key)
		return -1;
	skip_ws(p);
	if (p->s[p->pos] != ':') {
		p->err = "expected ':' after a struct key";
		goto out;
	}
	p->pos++;
	v = lit_value(p, ",}");
	if (!v)
		goto out;
	xmlrpc_struct_set_value_n(p->env, st, key, klen, v);
	xmlrpc_DECREF(v);
	ret = p->env->fault_occurred ? -1 : 0;
out:
	free(key);
	return ret;
}

static xmlrpc_value *lit_struct(struct lit *p)
{
	xmlrpc_value *st = made(p->env, xmlrpc_struct_new(p->env));
	int r = 0;

	if (!st)
		return NULL;
	p->pos++;
	skip_ws(p);
	if (p->s[p->pos] == '}') {
		p->pos++;
		return st;
	}
	while (r == 0) {
		if (lit_member(p, st) < 0)
			goto fail;
		r = lit_next(p, '}', "expected ',' or '}'");
	}
	if (r > 0)
		return st;
fail:
	xmlrpc_DECREF(st);
	return NULL;
}

static xmlrpc_value *lit_value(struct lit *p, const char *stops)
{
	xmlrpc_value *v;
	char c;

	skip_ws(p);
	c = p->s[p->pos];
	if (c != '[' && c != '{')
		return (c == '\'' || c == '"') ? lit_quoted(p) : lit_bare(p, stops);
	if (++p->depth > NEST_MAX) {
		p->err = "nested too deeply";
		return NULL;
	}
	v = c == '[' ? lit_array(p) : lit_struct(p);
	p->depth--;
	return v;
}

/* The XML-RPC value for command line argument number argno (1-based);
 * prints why not and returns NULL. */
static xmlrpc_value *arg_value(xmlrpc_env *env, const char *arg, bool strings, int argno)
{
	struct lit p = { .env = env, .s = arg };
	xmlrpc_value *v;

	if (strings)
		v = made(env, xmlrpc_string_new(env, arg));
	else if (arg[0] == '[' || arg[0] == '{') {
		v = lit_value(&p, "");
		skip_ws(&p);
		if (v && arg[p.pos] != '\0') {
			p.err = "unexpected text after the closing bracket";
			xmlrpc_DECREF(v);
			v = NULL;
		}
	} else
		v = scalar_value(env, arg, strlen(arg));
	if (v)
		return v;
	if (env->fault_occurred)
		fprintf(stderr, PROG ": argument %d: %s\n", argno, env->fault_string);
	else
		fprintf(stderr, PROG ": argument %d: %s at offset %zu: %s\n", argno,
			p.err ? p.err : "invalid", p.pos, arg);
	return NULL;
}

static xmlrpc_value *build_params(xmlrpc_env *env, const struct opts *o)
{
	xmlrpc_value *params = made(env, xmlrpc_array_new(env));

	if (!params)
		return NULL;
	for (int i = 0; i < o->nargs; i++) {
		xmlrpc_value *v = arg_value(env, o->args[i], o->strings, i + 1);

		if (!v) {
			xmlrpc_DECREF(params);
			return NULL;
		}
		xmlrpc_array_append_item(env, params, v);
		xmlrpc_DECREF(v);
		if (env->fault_occurred) {
			fprintf(stderr, PROG ": %s\n", env->fault_string);
			xmlrpc_DECREF(params);
			return NULL;
		}
	}
	return params;
}

/* ---- Python repr -------------------------------------------------------- */

static char pick_quote(const char *s, size_t n)
{
	return (memchr(s, '\'', n) && !memchr(s, '"', n)) ? '"' : '\'';
}

/* Escapes shared by str and bytes reprs; 1 when c was handled. */
static int repr_simple_escape(struct buf *out, unsigned char c, char quote)
{
	if (c == '\\' || c == (unsigned char)quote) {
		buf_printf(out, "\\%c", c);
	} else if (c == '\n') {
		buf_puts(out, "\\n");
	} else if (c == '\r') {
		buf_puts(out, "\\r");
	} else if (c == '\t') {
		buf_puts(out, "\\t");
	} else if (c < 0x20 || c == 0x7f) {
		buf_printf(out, "\\x%02x", c);
	} else if (c < 0x80) {
		buf_append(out, &c, 1);
	} else {
		return 0;
	}
	return 1;
}

/* Python 3 str repr: printable text as is, controls escaped. */
static void repr_str(struct buf *out, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	char quote = pick_quote(s, n);

	buf_append(out, &quote, 1);
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len;

		if (repr_simple_escape(out, u[i], quote)) {
			i++;
			continue;
		}
		len = utf8_decode(u + i, n - i, &cp);
		if (len == 0) {
			buf_printf(out, "\\x%02x", u[i]);
			i++;
		} else if (cp <= 0xa0 || cp == 0xad) { /* not printable for Python */
			buf_printf(out, "\\x%02x", cp);
			i += len;
		} else {
			buf_append(out, s + i, len);
			i += len;
		}
	}
	buf_append(out, &quote, 1);
}

static void repr_bytes(struct buf *out, const unsigned char *s, size_t n)
{
	char quote = pick_quote((const char *)s, n);

	buf_printf(out, "b%c", quote);
	for (size_t i = 0; i < n; i++)
		if (!repr_simple_escape(out, s[i], quote))
			buf_printf(out, "\\x%02x", s[i]);
	buf_append(out, &quote, 1);
}

/* xmlrpc-c reads <double> text with its own locale-proof digit loop,
 * which can land a few units in the last place (up to ~6 measured) away
 * from the nearest double: 0.95 becomes 0.9500000000000001. So up to 15
 * significant digits (DBL_DIG: such a decimal names one double), digits
 * that read back within DOUBLE_ULPS are taken as what the server wrote;
 * longer ones must match exactly. A value that truly needs 16-17 digits
 * may then show with 15, which is as exact as the transport allowed. */
#define DOUBLE_ULPS 8

/* The gap between |d| and the next smaller double (never infinite, unlike
 * the gap above DBL_MAX); done on the bits to need no libm. */
static double ulp_below(double d)
{
	double x = fabs(d), y;
	uint64_t bits;

	if (x == 0)
		return 0;
	memcpy(&bits, &x, sizeof(bits));
	bits--;
	memcpy(&y, &bits, sizeof(y));
	return x - y;
}

static bool close_enough(double a, double d, int prec)
{
	double ulp = ulp_below(d);

	if (prec > DBL_DIG || isinf(a))
		return a == d;
	return fabs(a - d) <= DOUBLE_ULPS * ulp;
}

/* Python's float repr: the shortest digits that read back to the value,
 * positional for exponents -4..15, else d.ddde+XX. */
static void repr_double(struct buf *out, double d)
{
	char t[40], digits[24];
	int prec, exp, nd = 0;
	const char *p;

	if (isnan(d) || isinf(d)) {
		buf_puts(out, isnan(d) ? "nan" : d > 0 ? "inf" : "-inf");
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(t, sizeof(t), "%.*e", prec - 1, d);
		if (prec == 17 || close_enough(strtod(t, NULL), d, prec))
			break;
	}
	p = t;
	if (*p == '-')
		buf_append(out, p++, 1);
	for (; *p != 'e'; p++)
		if (*p != '.')
			digits[nd++] = *p;
	exp = atoi(p + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	if (exp >= 16 || exp < -4) {
		buf_printf(out, "%c%s%.*se%c%02d", digits[0], nd > 1 ? "." : "", nd - 1,
			   digits + 1, exp < 0 ? '-' : '+', abs(exp));
	} else if (exp < 0) {
		buf_printf(out, "0.%.*s%.*s", -exp - 1, "0000", nd, digits);
	} else if (nd > exp + 1) {
		buf_printf(out, "%.*s.%.*s", exp + 1, digits, nd - exp - 1, digits + exp + 1);
	} else {
		buf_printf(out, "%.*s%.*s.0", nd, digits, exp + 1 - nd, "0000000000000000");
	}
}

static void repr_value(struct buf *out, xmlrpc_env *env, xmlrpc_value *v);

static void repr_array(struct buf *out, xmlrpc_env *env, xmlrpc_value *v)
{
	int n = xmlrpc_array_size(env, v);

	buf_puts(out, "[");
	for (int i = 0; i < n && !env->fault_occurred; i++) {
		xmlrpc_value *item = NULL;

		xmlrpc_array_read_item(env, v, (unsigned)i, &item);
		if (env->fault_occurred)
			break;
		if (i)
			buf_puts(out, ", ");
		repr_value(out, env, item);
		xmlrpc_DECREF(item);
	}
	buf_puts(out, "]");
}

static void repr_struct(struct buf *out, xmlrpc_env *env, xmlrpc_value *v)
{
	int n = xmlrpc_struct_size(env, v);

	buf_puts(out, "{");
	for (int i = 0; i < n && !env->fault_occurred; i++) {
		xmlrpc_value *key = NULL, *val = NULL;

		xmlrpc_struct_read_member(env, v, (unsigned)i, &key, &val);
		if (env->fault_occurred)
			break;
		if (i)
			buf_puts(out, ", ");
		repr_value(out, env, key);
		buf_puts(out, ": ");
		repr_value(out, env, val);
		xmlrpc_DECREF(key);
		xmlrpc_DECREF(val);
	}
	buf_puts(out, "}");
}

/* Text values: the string itself, or a datetime's ISO 8601 text. */
static void print_text(struct buf *out, xmlrpc_env *env, xmlrpc_value *v, bool quoted)
{
	const char *s = NULL;
	size_t n = 0;

	if (xmlrpc_value_type(v) == XMLRPC_TYPE_DATETIME) {
		xmlrpc_read_datetime_str(env, v, &s);
		quoted = false;
		if (s)
			n = strlen(s);
	} else {
		xmlrpc_read_string_lp(env, v, &n, &s);
	}
	if (env->fault_occurred)
		return;
	if (quoted)
		repr_str(out, s, n);
	else
		buf_append(out, s, n);
	free((char *)s);
}

static void repr_scalar(struct buf *out, xmlrpc_env *env, xmlrpc_value *v)
{
	xmlrpc_int64 i8 = 0;
	xmlrpc_bool b = 0;
	double d = 0;
	int i = 0;

	switch (xmlrpc_value_type(v)) {
	case XMLRPC_TYPE_INT:
		xmlrpc_read_int(env, v, &i);
		buf_printf(out, "%d", i);
		break;
	case XMLRPC_TYPE_I8:
		xmlrpc_read_i8(env, v, &i8);
		buf_printf(out, "%lld", (long long)i8);
		break;
	case XMLRPC_TYPE_BOOL:
		xmlrpc_read_bool(env, v, &b);
		buf_puts(out, b ? "True" : "False");
		break;
	case XMLRPC_TYPE_DOUBLE:
		xmlrpc_read_double(env, v, &d);
		repr_double(out, d);
		break;
	case XMLRPC_TYPE_NIL:
		buf_puts(out, "None");
		break;
	default:
		buf_puts(out, "<unknown>");
		break;
	}
}

static void repr_value(struct buf *out, xmlrpc_env *env, xmlrpc_value *v)
{
	const unsigned char *bytes = NULL;
	size_t n = 0;

	switch (xmlrpc_value_type(v)) {
	case XMLRPC_TYPE_STRING:
	case XMLRPC_TYPE_DATETIME:
		print_text(out, env, v, true);
		break;
	case XMLRPC_TYPE_BASE64:
		xmlrpc_read_base64(env, v, &n, &bytes);
		if (!env->fault_occurred)
			repr_bytes(out, bytes, n);
		free((unsigned char *)bytes);
		break;
	case XMLRPC_TYPE_ARRAY:
		repr_array(out, env, v);
		break;
	case XMLRPC_TYPE_STRUCT:
		repr_struct(out, env, v);
		break;
	default:
		repr_scalar(out, env, v);
		break;
	}
}

static void print_buf(FILE *f, const struct buf *b)
{
	fwrite(b->data ? b->data : "", 1, b->len, f);
	fflush(f);
}

/* First line: the method and its arguments as the Python list. */
static void print_call(xmlrpc_env *env, const char *method, xmlrpc_value *params)
{
	struct buf out;

	buf_init(&out, 0);
	buf_printf(&out, "%s ", method);
	repr_value(&out, env, params);
	buf_puts(&out, "\n");
	print_buf(stdout, &out);
	buf_free(&out);
}

/* "=> result": a string as is, anything else as Python would show it. */
static void print_result(xmlrpc_env *env, xmlrpc_value *result)
{
	struct buf out;

	buf_init(&out, 0);
	buf_puts(&out, "=> ");
	if (xmlrpc_value_type(result) == XMLRPC_TYPE_STRING ||
	    xmlrpc_value_type(result) == XMLRPC_TYPE_DATETIME)
		print_text(&out, env, result, false);
	else
		repr_value(&out, env, result);
	buf_puts(&out, "\n");
	print_buf(stdout, &out);
	buf_free(&out);
}

/* ---- network ------------------------------------------------------------ */

/* Wait until fd is ready for events or the deadline passes: 1 ready,
 * 0 timed out, -1 error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = events };
		int64_t left = deadline - now_ms();
		int r;

		if (left <= 0)
			return 0;
		r = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		return r < 0 ? -1 : r > 0;
	}
}

static int connect_one(const struct addrinfo *ai, int timeout_ms)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			ai->ai_protocol);
	int soerr = 0, r;
	socklen_t len = sizeof(soerr);

	if (fd < 0)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto fail;
	r = wait_fd(fd, POLLOUT, now_ms() + timeout_ms);
	if (r == 0)
		errno = ETIMEDOUT;
	if (r <= 0)
		goto fail;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		goto fail;
	if (soerr == 0)
		return fd;
	errno = soerr;
fail:
	r = errno;
	close(fd);
	errno = r;
	return -1;
}

/* Try each address of the host in turn; print the last failure. */
static int tcp_connect(const struct url *u, int timeout_ms)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	char port[8];
	int fd = -1, r, err = 0;

	snprintf(port, sizeof(port), "%d", u->port);
	r = getaddrinfo(u->host, port, &hints, &res);
	if (r != 0) {
		fprintf(stderr, PROG ": cannot connect to %s: %s\n", u->hostport,
			r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		return -1;
	}
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = connect_one(ai, timeout_ms);
		if (fd < 0)
			err = errno;
	}
	freeaddrinfo(res);
	if (fd < 0)
		fprintf(stderr, PROG ": cannot connect to %s: %s\n", u->hostport, strerror(err));
	return fd;
}

/* ---- TLS ---------------------------------------------------------------- */

static void openssl_error(char *msg, size_t len)
{
	unsigned long e = ERR_peek_error();

	if (e)
		ERR_error_string_n(e, msg, len);
	else
		snprintf(msg, len, "unknown error");
}

static SSL_CTX *tls_ctx_new(const char *cacert)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	char msg[256];

	if (!ctx)
		goto fail;
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION))
		goto fail;
	if (cacert) {
		if (!SSL_CTX_load_verify_locations(ctx, cacert, NULL))
			goto fail;
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	} else {
		/* Like the original tool: encrypted, but anyone may answer. */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	return ctx;
fail:
	openssl_error(msg, sizeof(msg));
	if (cacert)
		fprintf(stderr, PROG ": cannot load CA certificates from %s: %s\n", cacert, msg);
	else
		fprintf(stderr, PROG ": cannot set up TLS: %s\n", msg);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return NULL;
}

/* Errors that mean "this is not a TLS server", in OpenSSL 3's words. */
static bool is_plain_peer_error(unsigned long e, int code, int sys_errno)
{
	if (code == SSL_ERROR_SYSCALL && !e)
		return sys_errno == 0 || sys_errno == ECONNRESET || sys_errno == EPIPE;
	if (ERR_GET_LIB(e) != ERR_LIB_SSL)
		return false;
	switch (ERR_GET_REASON(e)) {
	case SSL_R_WRONG_VERSION_NUMBER:
	case SSL_R_PACKET_LENGTH_TOO_LONG:
	case SSL_R_UNEXPECTED_EOF_WHILE_READING:
	case SSL_R_UNKNOWN_PROTOCOL:
		return true;
	default:
		return false;
	}
}

/* The original tool's line, "socket error! code=N, msg=...", plus a hint
 * when the cause is likely. code is SSL_get_error()'s value. */
static void tls_report(struct conn *c, int code, int sys_errno, bool handshake)
{
	unsigned long e = ERR_peek_error();
	long vr = SSL_get_verify_result(c->ssl);
	char msg[256];
	const char *hint = "";
	char vmsg[200] = "";

	if (e)
		ERR_error_string_n(e, msg, sizeof(msg));
	else if (code == SSL_ERROR_SYSCALL)
		snprintf(msg, sizeof(msg), "%s",
			 sys_errno ? strerror(sys_errno) : "unexpected EOF");
	else
		snprintf(msg, sizeof(msg), "SSL error %d", code);
	if (c->o->cacert && vr != X509_V_OK) {
		snprintf(vmsg, sizeof(vmsg), " (certificate of %s not accepted: %s)",
			 c->u->hostport, X509_verify_cert_error_string(vr));
		hint = vmsg;
	} else if (handshake && is_plain_peer_error(e, code, sys_errno)) {
		hint = HINT_PLAIN;
	}
	fprintf(stderr, "socket error! code=%d, msg=%s%s\n", code, msg, hint);
	ERR_clear_error();
}

/* Drive a non-blocking SSL call: 1 retry after waiting, 0 timed out, -1
 * failed (code and errno saved for tls_report). */
static int tls_wait(struct conn *c, int r, int64_t deadline, int *code, int *sys_errno)
{
	int w;

	*sys_errno = errno;
	*code = SSL_get_error(c->ssl, r);
	if (*code != SSL_ERROR_WANT_READ && *code != SSL_ERROR_WANT_WRITE)
		return -1;
	w = wait_fd(c->fd, *code == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
	if (w < 0) {
		*code = SSL_ERROR_SYSCALL;
		*sys_errno = errno;
	}
	return w;
}

static int tls_start(struct conn *c)
{
	int64_t deadline = now_ms() + c->timeout_ms;
	int code = 0, sys_errno = 0, r, w;

	c->ctx = tls_ctx_new(c->o->cacert);
	if (!c->ctx)
		return -1;
	c->ssl = SSL_new(c->ctx);
	if (!c->ssl || !SSL_set_fd(c->ssl, c->fd)) {
		fprintf(stderr, PROG ": cannot set up TLS\n");
		return -1;
	}
	if (!c->u->host_is_ip)
		SSL_set_tlsext_host_name(c->ssl, c->u->host);
	if (c->o->cacert && c->u->host_is_ip)
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), c->u->host);
	else if (c->o->cacert)
		SSL_set1_host(c->ssl, c->u->host);
	for (;;) {
		errno = 0;
		r = SSL_connect(c->ssl);
		if (r == 1)
			break;
		w = tls_wait(c, r, deadline, &code, &sys_errno);
		if (w < 0) {
			tls_report(c, code, sys_errno, true);
			return -1;
		}
		if (w == 0) {
			fprintf(stderr, PROG ": TLS handshake with %s timed out after %d s"
				HINT_PLAIN "\n", c->u->hostport, c->timeout_ms / 1000);
			return -1;
		}
	}
	/* Servers often close without close_notify after a Connection:
	 * close reply; the Content-Length check catches real truncation. */
	SSL_set_options(c->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
	return 0;
}

/* ---- I/O ---------------------------------------------------------------- */

/* Bytes read (>0), 0 at end of stream, -1 on error: printed, except that
 * a plain socket's error is left in c->sys_errno for the caller, who knows
 * what it means at that point. */
static ssize_t conn_read(struct conn *c, char *p, size_t n)
{
	int64_t deadline = now_ms() + c->timeout_ms;
	int code, sys_errno, w;

	for (;;) {
		ssize_t r;

		if (c->ssl) {
			errno = 0;
			r = SSL_read(c->ssl, p, (int)(n > INT32_MAX ? INT32_MAX : n));
			if (r > 0)
				return r;
			w = tls_wait(c, (int)r, deadline, &code, &sys_errno);
			if (w < 0 && code == SSL_ERROR_ZERO_RETURN)
				return 0;
			if (w < 0) {
				tls_report(c, code, sys_errno, false);
				return -1;
			}
		} else {
			r = read(c->fd, p, n);
			if (r >= 0)
				return r;
			if (errno != EAGAIN && errno != EINTR) {
				c->sys_errno = errno;
				return -1;
			}
			w = wait_fd(c->fd, POLLIN, deadline);
		}
		if (w == 0) {
			fprintf(stderr, PROG ": no reply from %s within %d s\n",
				c->u->hostport, c->timeout_ms / 1000);
			return -1;
		}
	}
}

/* Send everything: 0, or -1 (printed unless c->sys_errno is EPIPE or
 * ECONNRESET: then the server may have answered before closing). */
static int conn_write(struct conn *c, const char *p, size_t n)
{
	int64_t deadline = now_ms() + c->timeout_ms;
	int code, sys_errno, w;

	while (n > 0) {
		ssize_t r;

		if (c->ssl) {
			errno = 0;
			r = SSL_write(c->ssl, p, (int)(n > INT32_MAX ? INT32_MAX : n));
			if (r <= 0) {
				w = tls_wait(c, (int)r, deadline, &code, &sys_errno);
				if (w < 0) {
					tls_report(c, code, sys_errno, false);
					return -1;
				}
			} else {
				w = 1;
			}
		} else {
			r = send(c->fd, p, n, MSG_NOSIGNAL);
			if (r < 0 && errno != EAGAIN && errno != EINTR) {
				c->sys_errno = errno;
				if (errno != EPIPE && errno != ECONNRESET)
					fprintf(stderr, PROG ": cannot send to %s: %s\n",
						c->u->hostport, strerror(errno));
				return -1;
			}
			w = r < 0 ? wait_fd(c->fd, POLLOUT, deadline) : 1;
		}
		if (w == 0) {
			fprintf(stderr, PROG ": sending to %s timed out after %d s\n",
				c->u->hostport, c->timeout_ms / 1000);
			return -1;
		}
		if (r > 0) {
			p += r;
			n -= (size_t)r;
		}
	}
	return 0;
}

/* ---- HTTP --------------------------------------------------------------- */

static char *basic_auth(const struct url *u)
{
	char *creds = xasprintf("%s:%s", u->user, u->pass);
	size_t n = strlen(creds);
	unsigned char *b64 = xmalloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock(b64, (const unsigned char *)creds, (int)n);
	explicit_bzero(creds, n);
	free(creds);
	return (char *)b64;
}

static void build_request(struct buf *req, const struct url *u, const char *body, size_t len)
{
	buf_printf(req, "POST %s HTTP/1.1\r\n"
		   "Host: %s\r\n"
		   "User-Agent: do_rpc/" AGENT_VERSION "\r\n"
		   "Content-Type: text/xml\r\n"
		   "Content-Length: %zu\r\n", u->path, u->hostport, len);
	if (u->user) {
		char *auth = basic_auth(u);

		buf_printf(req, "Authorization: Basic %s\r\n", auth);
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	buf_puts(req, "Connection: close\r\n\r\n");
	buf_append(req, body, len);
}

/* Undo chunked transfer coding in place; -1 when malformed. */
static int dechunk(char *p, size_t len, size_t *out_len)
{
	size_t in = 0, out = 0;

	for (;;) {
		size_t size = 0;
		int digits = 0, h;
		const char *eol;

		while (in < len && (h = hexval((unsigned char)p[in])) >= 0) {
			if (size > len)
				return -1;
			size = size * 16 + (size_t)h;
			in++;
			digits++;
		}
		eol = memmem(p + in, len - in, "\r\n", 2);
		if (!digits || !eol)
			return -1;
		in = (size_t)(eol - p) + 2; /* chunk extensions are ignored */
		if (size == 0)
			break;
		if (len - in < size + 2 || memcmp(p + in + size, "\r\n", 2) != 0)
			return -1;
		memmove(p + out, p + in, size);
		out += size;
		in += size + 2;
	}
	*out_len = out;
	return 0;
}

static void say_speaks_https(void)
{
	fprintf(stderr, PROG ": the agent speaks HTTPS; use https://\n");
}

/* The first bytes of a TLS record (alert or handshake, version 3.x) in
 * answer to plain HTTP mean the server wanted TLS. */
static bool looks_like_tls(const struct buf *raw)
{
	return raw->len >= 2 && (raw->data[0] == 0x15 || raw->data[0] == 0x16) &&
	       raw->data[1] == 0x03;
}

/* Nothing came back (failed: the read failed with c->sys_errno, else the
 * server just closed). A TLS server drops a plain HTTP request that way. */
static void report_no_reply(const struct conn *c, bool failed)
{
	if (!c->ssl && (!failed || c->sys_errno == ECONNRESET || c->sys_errno == EPIPE))
		say_speaks_https();
	else if (!failed)
		fprintf(stderr, PROG ": %s closed the connection without a reply\n",
			c->u->hostport);
	else
		fprintf(stderr, PROG ": cannot read from %s: %s\n", c->u->hostport,
			strerror(c->sys_errno));
}

/* Once the head is in: 1 when the whole body is too, 0 to read on, -1 bad,
 * -2 a head longer than RESPONSE_HEAD_MAX. */
static int response_state(struct buf *raw, struct response *r)
{
	if (!r->head_len) {
		struct http_response h;
		int n = http_parse_response_head(raw->data, raw->len, RESPONSE_HEAD_MAX, &h);

		if (n <= 0)
			return n == HTTP_RESPONSE_TOO_LONG ? -2 : n;
		r->head_len = (size_t)n;
		r->status = h.status;
		quote_printable(r->reason, sizeof(r->reason), h.reason.p, h.reason.n);
		r->content_length = h.content_length;
		r->chunked = h.chunked;
	}
	return !r->chunked && r->content_length >= 0 &&
	       raw->len - r->head_len >= (size_t)r->content_length;
}

/* Read until the body is complete or the server closes. 0, or -1 printed. */
static int read_response(struct conn *c, struct buf *raw, struct response *r)
{
	int st = 0;

	memset(r, 0, sizeof(*r));
	while ((st = response_state(raw, r)) == 0) {
		size_t room = raw->max - raw->len;
		char *p = buf_space(raw, room < 65536 ? room : 65536);
		ssize_t n;

		if (!p || room == 0) {
			fprintf(stderr, PROG ": the reply from %s is larger than 64 MiB\n",
				c->u->hostport);
			return -1;
		}
		c->sys_errno = 0;
		n = conn_read(c, p, room < 65536 ? room : 65536);
		if (n < 0 && c->sys_errno && raw->len == 0)
			report_no_reply(c, true);
		else if (n < 0 && c->sys_errno)
			fprintf(stderr, PROG ": cannot read from %s: %s\n", c->u->hostport,
				strerror(c->sys_errno));
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		buf_commit(raw, (size_t)n);
		if (!c->ssl && looks_like_tls(raw)) {
			say_speaks_https();
			return -1;
		}
	}
	if (st == -2) {
		fprintf(stderr, PROG ": %s sent an HTTP head longer than %zu KiB\n",
			c->u->hostport, RESPONSE_HEAD_MAX / 1024);
		return -1;
	}
	if (st < 0 || (!r->head_len && raw->len > 0)) {
		fprintf(stderr, PROG ": %s sent a malformed HTTP reply\n", c->u->hostport);
		return -1;
	}
	if (!r->head_len) {
		report_no_reply(c, false);
		return -1;
	}
	r->body = raw->data + r->head_len;
	r->body_len = raw->len - r->head_len;
	if (r->chunked && dechunk(raw->data + r->head_len, r->body_len, &r->body_len) < 0) {
		fprintf(stderr, PROG ": %s sent a malformed chunked reply\n", c->u->hostport);
		return -1;
	}
	if (!r->chunked && r->content_length >= 0) {
		if (r->body_len < (size_t)r->content_length) {
			fprintf(stderr, PROG ": the reply from %s was cut short\n", c->u->hostport);
			return -1;
		}
		r->body_len = (size_t)r->content_length;
	}
	return 0;
}

/* ---- the call ----------------------------------------------------------- */

/* An HTTP error: one line naming it, with the likely cause where known. */
static int report_http_status(const struct response *r, const struct url *u)
{
	if (r->status == 403) {
		fprintf(stderr, PROG ": HTTP 403 Forbidden: the agent refused the "
			"credentials (check user and password)\n");
	} else if (r->status == 400 && !u->tls && r->body_len &&
		   memmem(r->body, r->body_len, "HTTPS", 5)) {
		say_speaks_https();
	} else {
		fprintf(stderr, PROG ": HTTP %d%s%s\n", r->status, r->reason[0] ? " " : "",
			r->reason);
	}
	return EXIT_ERROR;
}

/* Turn the XML-RPC reply into output and an exit code. */
static int handle_reply(xmlrpc_env *env, const struct response *r)
{
	struct rpc_message m;
	char err[600];

	if (rpc_parse_response(r->body, r->body_len, &m, err, sizeof(err)) != 0) {
		fprintf(stderr, PROG ": the agent's reply is not valid XML-RPC: %s\n", err);
		return EXIT_ERROR;
	}
	if (m.fault) {
		printf("=> fault %d: %s\n", m.fault_code, m.fault_string);
		rpc_message_free(&m);
		return EXIT_FAULT;
	}
	print_result(env, m.result);
	rpc_message_free(&m);
	return EXIT_OK;
}

/* Connect, send the request, read the reply into raw. 0 or -1 printed. */
static int exchange(struct conn *c, const struct buf *req, struct buf *raw, struct response *r)
{
	c->fd = tcp_connect(c->u, c->timeout_ms);
	if (c->fd < 0)
		return -1;
	if (c->u->tls && tls_start(c) < 0)
		return -1;
	if (conn_write(c, req->data, req->len) < 0 &&
	    (c->ssl || (c->sys_errno != EPIPE && c->sys_errno != ECONNRESET)))
		return -1;
	/* Even after a failed send, a server that refused the request early
	 * (413, 403) may have said why before closing. */
	return read_response(c, raw, r);
}

static int call(xmlrpc_env *env, const struct opts *o, const struct url *u, xmlrpc_value *params)
{
	struct conn c = { .fd = -1, .timeout_ms = o->timeout_s * 1000, .o = o, .u = u };
	xmlrpc_mem_block *xml = xmlrpc_mem_block_new(env, 0);
	struct buf req, raw;
	struct response r;
	int ret = EXIT_ERROR;

	buf_init(&req, 0);
	buf_init(&raw, RESPONSE_MAX);
	if (env->fault_occurred) {
		fprintf(stderr, PROG ": %s\n", env->fault_string);
		goto out;
	}
	xmlrpc_serialize_call(env, xml, o->method, params);
	if (env->fault_occurred) {
		fprintf(stderr, PROG ": cannot encode the call: %s\n", env->fault_string);
		goto out;
	}
	build_request(&req, u, xmlrpc_mem_block_contents(xml), xmlrpc_mem_block_size(xml));
	if (exchange(&c, &req, &raw, &r) < 0)
		goto out;
	ret = r.status == 200 ? handle_reply(env, &r) : report_http_status(&r, u);
out:
	if (c.ssl)
		SSL_free(c.ssl);
	SSL_CTX_free(c.ctx);
	if (c.fd >= 0)
		close(c.fd);
	if (xml)
		xmlrpc_mem_block_free(xml);
	if (req.data)
		explicit_bzero(req.data, req.len); /* holds the credentials */
	buf_free(&req);
	buf_free(&raw);
	return ret;
}

/* ---- main --------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " [--cacert FILE] [--timeout SECONDS] [--strings] URL METHOD [ARG...]\n"
		"Call METHOD on the agent at URL and print the result.\n"
		"  URL        http[s]://[user:password@]host[:port][/path]  (port 8899, path /RPC2);\n"
		"             user@ alone takes the password from $DO_RPC_PASSWORD\n"
		"  ARG        123 is an int, True/False a boolean, [..] an array, {..} a struct\n"
		"             (Python literal style), anything else a string\n"
		"  --strings  send every ARG as a string\n"
		"  --cacert   verify the agent's certificate and name against FILE\n"
		"             (without it the connection is encrypted but not verified)\n"
		"  --timeout  seconds to wait to connect and for each read (default %d)\n"
		"Exit status: 0 success, 1 XML-RPC fault, 2 usage, 3 other errors.\n",
		DEFAULT_TIMEOUT);
}

/* 0 ok, 1 --help, -1 usage error. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{ "cacert", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "strings", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	long t;
	int ch;

	o->timeout_s = DEFAULT_TIMEOUT;
	/* '+': options end at the URL, so an ARG such as -5 is an argument. */
	while ((ch = getopt_long(argc, argv, "+h", lopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->cacert = optarg;
			break;
		case 't':
			errno = 0;
			t = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || t < 1 || t > 86400) {
				fprintf(stderr, PROG ": --timeout wants 1-86400 seconds\n");
				return -1;
			}
			o->timeout_s = (int)t;
			break;
		case 's':
			o->strings = true;
			break;
		case 'h':
			return 1;
		default:
			return -1;
		}
	}
	if (argc - optind < 2)
		return -1;
	o->url = argv[optind];
	o->method = argv[optind + 1];
	o->args = argv + optind + 2;
	o->nargs = argc - optind - 2;
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct url u = { 0 };
	xmlrpc_value *params = NULL;
	xmlrpc_env env;
	int ret = EXIT_USAGE, r;

	xmlrpc_env_init(&env);
	r = parse_opts(argc, argv, &o);
	if (r != 0) {
		usage(r > 0 ? stdout : stderr);
		ret = r > 0 ? EXIT_OK : EXIT_USAGE;
		goto out;
	}
	if (url_parse(o.url, &u) < 0 || !(params = build_params(&env, &o)))
		goto out;
	/* A peer that closes early must not kill us with SIGPIPE (TLS writes
	 * go through write(2), where MSG_NOSIGNAL cannot be passed). */
	signal(SIGPIPE, SIG_IGN);
	print_call(&env, o.method, params);
	ret = call(&env, &o, &u, params);
out:
	if (params)
		xmlrpc_DECREF(params);
	url_free(&u);
	xmlrpc_env_clean(&env);
	return ret;
}
