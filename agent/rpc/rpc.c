/* rpc.c - XML-RPC dispatch: parse, check the signature, run, serialise. */
#define LOG_CAT "rpc"
#include "agent/rpc/rpc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "agent/base/buf.h"
#include "agent/base/fault.h"
#include "agent/base/log.h"
#include "agent/rpc/rpc_parse.h"
#include "agent/rpc/rpc_string.h"
#include "agent/server/server.h"
#include "agent/server/telemetry.h"
#include "agent/base/utf8.h"
#include "agent/base/util.h"

/* A fault's text is cut to this many bytes before it is escaped. */
#define FAULT_TEXT_MAX 1024

struct rpc_call {
	struct server *srv;
	const struct method *m;
	char *method;            /* as requested */
	xmlrpc_value *params;    /* owned */
	char *user, *peer, *local;
	struct rpc_origin origin; /* views of the three strings above */
	int depth;               /* 0 top level, 1 inside system.multicall */
	int done;
	int refs;                /* the answer's, and the running handler's */
	rpc_sub_cb complete;
	void *arg;
};

struct server *rpc_server(const struct rpc_call *c) { return c->srv; }
const char *rpc_method_name(const struct rpc_call *c) { return c->method; }
const struct rpc_origin *rpc_origin(const struct rpc_call *c) { return &c->origin; }
int rpc_depth(const struct rpc_call *c) { return c->depth; }

const struct method *method_find(const char *name)
{
	for (const struct method *m = method_table; m->name; m++)
		if (strcmp(m->name, name) == 0)
			return m;
	return NULL;
}

const char *rpc_type_name(char letter)
{
	switch (letter) {
	case 'i': return "int";
	case 'b': return "boolean";
	case 'd': return "double";
	case 's': return "string";
	case '8': return "dateTime.iso8601";
	case '6': return "base64";
	case 'A': return "array";
	case 'S': return "struct";
	case 'n': return "nil";
	default: return "value";
	}
}

static char type_letter(xmlrpc_type t)
{
	switch (t) {
	case XMLRPC_TYPE_INT: case XMLRPC_TYPE_I8: return 'i';
	case XMLRPC_TYPE_BOOL: return 'b';
	case XMLRPC_TYPE_DOUBLE: return 'd';
	case XMLRPC_TYPE_STRING: return 's';
	case XMLRPC_TYPE_DATETIME: return '8';
	case XMLRPC_TYPE_BASE64: return '6';
	case XMLRPC_TYPE_ARRAY: return 'A';
	case XMLRPC_TYPE_STRUCT: return 'S';
	case XMLRPC_TYPE_NIL: return 'n';
	default: return '?';
	}
}

static void call_free(struct rpc_call *c)
{
	if (c->params)
		xmlrpc_DECREF(c->params);
	free(c->method);
	free(c->user);
	free(c->peer);
	free(c->local);
	free(c);
}

static void finish(struct rpc_call *c, xmlrpc_value *result, int code, const char *text)
{
	if (c->done) {
		/* A handler answered twice before returning: a bug, logged. */
		log_err("method %s answered twice; second answer dropped", c->method);
		if (result)
			xmlrpc_DECREF(result);
		return;
	}
	c->done = 1;
	c->complete(c->arg, result, code, text);
	if (result)
		xmlrpc_DECREF(result);
	if (--c->refs == 0)
		call_free(c);
}

void rpc_return(struct rpc_call *c, xmlrpc_value *result)
{
	finish(c, result, 0, NULL);
}

static void top_done(void *arg, xmlrpc_value *result, int code, const char *text);
static void top_send(void *arg, int code, const char *outcome, const char *fault, struct buf *xml);

bool rpc_return_xml_ok(const struct rpc_call *c) { return c->complete == top_done; }

void rpc_return_xml(struct rpc_call *c, struct buf *xml)
{
	if (!rpc_return_xml_ok(c)) {
		buf_free(xml);
		rpc_fault(c, FAULT_INTERNAL, "method %s answered as text inside a multicall",
			  c->method);
		return;
	}
	if (c->done) {
		log_err("method %s answered twice; second answer dropped", c->method);
		buf_free(xml);
		return;
	}
	c->done = 1;
	top_send(c->arg, 0, "ok", NULL, xml);
	if (--c->refs == 0)
		call_free(c);
}

void rpc_return_string(struct rpc_call *c, const char *s)
{
	rpc_return(c, rpc_string_new(s));
}

void rpc_return_printf(struct rpc_call *c, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s)
		abort();
	rpc_return_string(c, s);
	free(s);
}

void rpc_fault(struct rpc_call *c, int code, const char *fmt, ...)
{
	char *text = NULL, *wire;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		abort();
	va_end(ap);
	/* Cut on a character boundary, then make it safe to send. */
	text[utf8_cut(text, FAULT_TEXT_MAX)] = '\0';
	wire = rpc_text_wire(text, strlen(text));
	finish(c, NULL, code, wire);
	free(wire);
	free(text);
}

/* Check params against the method's signature alternatives; on a
 * mismatch write "takes (string) or (string, string); got (int)". */
static int check_signature(const struct method *m, xmlrpc_value *params, char *why, size_t whylen)
{
	xmlrpc_env env;
	char got[64];
	int n, ng = 0;

	xmlrpc_env_init(&env);
	n = xmlrpc_array_size(&env, params);
	for (int i = 0; i < n && ng < (int)sizeof(got) - 1; i++) {
		xmlrpc_value *v;
		xmlrpc_array_read_item(&env, params, i, &v);
		got[ng++] = type_letter(xmlrpc_value_type(v));
		xmlrpc_DECREF(v);
	}
	got[ng] = '\0';
	xmlrpc_env_clean(&env);
	for (const char *alt = m->signature; alt && *alt;) {
		const char *colon = strchr(alt, ':'), *end = strchr(alt, ',');
		size_t plen;
		if (!end)
			end = alt + strlen(alt);
		plen = (size_t)(end - colon - 1);
		if (plen == strlen(got) && strncmp(colon + 1, got, plen) == 0)
			return 0;
		alt = *end ? end + 1 : end;
	}
	{
		struct buf b;
		buf_init(&b, 512);
		buf_printf(&b, "%s takes ", m->name);
		for (const char *alt = m->signature; *alt;) {
			const char *colon = strchr(alt, ':'), *end = strchr(alt, ',');
			if (!end)
				end = alt + strlen(alt);
			buf_puts(&b, alt == m->signature ? "(" : " or (");
			for (const char *p = colon + 1; p < end; p++)
				buf_printf(&b, "%s%s", p == colon + 1 ? "" : ", ", rpc_type_name(*p));
			buf_puts(&b, ")");
			alt = *end ? end + 1 : end;
		}
		buf_puts(&b, "; got (");
		for (int i = 0; got[i]; i++)
			buf_printf(&b, "%s%s", i ? ", " : "", rpc_type_name(got[i]));
		buf_puts(&b, ")");
		snprintf(why, whylen, "%s", b.data ? b.data : "wrong parameters");
		buf_free(&b);
	}
	return -1;
}

/* rpc_run with the method's row already looked up (NULL: no such method). */
static void run_found(struct server *srv, const struct method *m, const char *method,
		      xmlrpc_value *params, const struct rpc_origin *o, int depth,
		      rpc_sub_cb done, void *arg)
{
	struct rpc_call *c = xcalloc(1, sizeof(*c));
	char why[512];

	c->srv = srv;
	c->method = xstrdup(method);
	c->user = xstrdup(o->user);
	c->peer = xstrdup(o->peer);
	c->local = xstrdup(o->local);
	c->origin = (struct rpc_origin){ c->user, c->peer, c->local };
	c->depth = depth;
	c->refs = 1;
	c->complete = done;
	c->arg = arg;
	xmlrpc_INCREF(params);
	c->params = params;
	if (!(c->m = m)) {
		rpc_fault(c, FAULT_NO_METHOD, "no such method '%s' (system.listMethods lists them)", method);
		return;
	}
	if (srv->stopping && strncmp(method, "system.", 7) != 0 && strcmp(method, "echo") != 0) {
		rpc_fault(c, FAULT_SHUTTING_DOWN, "the agent is stopping; try again when it is back");
		return;
	}
	if (check_signature(c->m, params, why, sizeof(why)) != 0) {
		rpc_fault(c, FAULT_INVALID_PARAMS, "%s", why);
		return;
	}
	/* Held while the handler runs, so a handler that (wrongly) answers
	 * twice before returning hits the guard in finish(), not freed memory. */
	c->refs++;
	c->m->fn(c, c->params);
	if (--c->refs == 0)
		call_free(c);
}

void rpc_run(struct server *srv, const char *method, xmlrpc_value *params,
	     const struct rpc_origin *o, int depth, rpc_sub_cb done, void *arg)
{
	run_found(srv, method_find(method), method, params, o, depth, done, arg);
}

/* ---- the top level: one HTTP request, one XML-RPC response -------------- */

struct top {
	struct server *srv;
	rpc_reply_cb reply;
	void *arg;
	char *method, *user, *peer;
	size_t row;              /* the method's in method_table; past it: unknown */
	int64_t started;
	int64_t started_us;      /* for the telemetry's latency */
};

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void top_done(void *arg, xmlrpc_value *result, int code, const char *text)
{
	struct top *t = arg;
	xmlrpc_env env, fault;
	xmlrpc_mem_block *out;
	struct buf xml;
	char outcome[48], *wire = NULL;

	xmlrpc_env_init(&env);
	out = xmlrpc_mem_block_new(&env, 0);
	if (!env.fault_occurred) {
		if (result) {
			xmlrpc_serialize_response(&env, out, result);
		} else {
			/* A parse error can quote the request: same rule as replies. */
			text = wire = rpc_text_wire(text, strlen(text));
			xmlrpc_env_init(&fault);
			xmlrpc_env_set_fault(&fault, code, text);
			xmlrpc_serialize_fault(&env, out, &fault);
			xmlrpc_env_clean(&fault);
		}
	}
	if (env.fault_occurred) {
		/* Serialising our own answer failed (a handler built a value
		 * without rpc_string_new, say): send a fault that says so. */
		xmlrpc_env err2;
		char *why = rpc_text_wire(env.fault_string, strlen(env.fault_string));
		xmlrpc_env_init(&err2);
		xmlrpc_env_init(&fault);
		xmlrpc_env_set_fault_formatted(&fault, FAULT_INTERNAL, "cannot encode the answer: %s",
					       why);
		free(why);
		if (out)
			xmlrpc_mem_block_resize(&err2, out, 0);
		else
			out = xmlrpc_mem_block_new(&err2, 0);
		xmlrpc_serialize_fault(&err2, out, &fault);
		code = FAULT_INTERNAL;
		text = "cannot encode the answer";
		result = NULL;
		xmlrpc_env_clean(&fault);
		xmlrpc_env_clean(&err2);
	}
	if (result)
		snprintf(outcome, sizeof(outcome), "ok");
	else
		snprintf(outcome, sizeof(outcome), "fault %d", code);
	buf_init(&xml, 0);
	buf_append(&xml, XMLRPC_MEMBLOCK_CONTENTS(char, out), XMLRPC_MEMBLOCK_SIZE(char, out));
	xmlrpc_mem_block_free(out);
	top_send(t, result ? 0 : code, outcome, result ? NULL : text, &xml);
	xmlrpc_env_clean(&env);
	free(wire);
}

/* Log and count the call (a multicall once, as system.multicall), send
 * its answer (freed after, unless the reply took it), and forget it. */
static void top_send(void *arg, int code, const char *outcome, const char *fault, struct buf *xml)
{
	struct top *t = arg;

	telemetry_call_at(t->srv->telemetry, t->row, code, now_us() - t->started_us);
	log_info("%s %s %s %s %lldms%s%s", t->peer, t->user, t->method ? t->method : "-", outcome,
		 (long long)(now_ms() - t->started), fault ? ": " : "", fault ? fault : "");
	t->reply(t->arg, xml);
	buf_free(xml);
	free(t->method);
	free(t->user);
	free(t->peer);
	free(t);
}

void rpc_dispatch(struct server *srv, const char *body, size_t len,
		  const struct rpc_origin *o, rpc_reply_cb reply, void *arg)
{
	struct top *t = xcalloc(1, sizeof(*t));
	struct rpc_message msg;
	const struct method *m;
	char err[600];

	t->srv = srv;
	t->row = SIZE_MAX;
	t->started_us = now_us();
	t->reply = reply;
	t->arg = arg;
	t->user = xstrdup(o->user);
	t->peer = xstrdup(o->peer);
	t->started = now_ms();
	if (rpc_parse_call(body, len, &msg, err, sizeof(err)) != 0) {
		top_done(t, NULL, FAULT_PARSE, err);
		return;
	}
	t->method = xstrdup(msg.method);
	/* Looked up once: the row serves the run and the telemetry. */
	if ((m = method_find(msg.method)))
		t->row = (size_t)(m - method_table);
	run_found(srv, m, msg.method, msg.params, o, 0, top_done, t);
	rpc_message_free(&msg);
}
