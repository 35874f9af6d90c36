/* rpc_parse.c - see rpc_parse.h.
 *
 * libxml2's push parser runs over the whole body with our SAX callbacks;
 * they keep a stack of open elements (bounded by RPC_PARSE_MAX_DEPTH) and
 * build the values bottom-up as elements close, so nothing is recursive
 * and a bad document is refused as soon as it goes wrong. */
#include "agent/rpc/rpc_parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>

#include "agent/base/buf.h"
#include "agent/rpc/rpc_prescan.h"
#include "agent/rpc/rpc_scalar.h"
#include "agent/rpc/rpc_string.h"
#include "agent/base/utf8.h"
#include "agent/base/util.h"

enum el {
	EL_CALL, EL_RESPONSE, EL_METHODNAME, EL_PARAMS, EL_PARAM, EL_FAULT,
	EL_VALUE, EL_ARRAY, EL_DATA, EL_STRUCT, EL_MEMBER, EL_NAME, EL_SCALAR,
};

struct frame {
	enum el el;
	enum rpc_scalar type;    /* EL_SCALAR */
	const char *tag;         /* element name, for messages (static or dict) */
	xmlrpc_value *v;         /* VALUE: its value; ARRAY, STRUCT: the container */
	char *name;              /* MEMBER: the name, once read */
	size_t name_len;
	size_t text_at;          /* where this element's text starts in p->text */
	int children;            /* child elements seen */
	int members;             /* STRUCT: members so far */
};

struct parser {
	xmlParserCtxtPtr ctxt;
	bool want_call;
	struct frame stack[RPC_PARSE_MAX_DEPTH];
	int depth;
	struct buf text;         /* text of the open text-holding elements */
	long values;
	bool failed;
	char *err;
	size_t errlen;
	bool root_seen;
	struct rpc_message *out;
};

static void fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct parser *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (p->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "line %d: %s", xmlSAX2GetLineNumber(p->ctxt), msg);
	p->failed = true;
	xmlStopParser(p->ctxt);
}

static bool only_space(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return false;
	return true;
}

static struct frame *top(struct parser *p)
{
	return p->depth ? &p->stack[p->depth - 1] : NULL;
}

/* Does this element keep the text inside it (all of it, for a value
 * that may turn out to be an untyped string)? */
static bool holds_text(const struct frame *f)
{
	return f->el == EL_SCALAR || f->el == EL_NAME || f->el == EL_METHODNAME ||
	       (f->el == EL_VALUE && f->children == 0);
}

/* The text gathered so far inside f (the buffer is NULL until text comes). */
static const char *text_of(const struct parser *p, const struct frame *f)
{
	return p->text.data ? p->text.data + f->text_at : "";
}

static const char *el_names[] = {
	[EL_CALL] = "methodCall", [EL_RESPONSE] = "methodResponse",
	[EL_METHODNAME] = "methodName", [EL_PARAMS] = "params", [EL_PARAM] = "param",
	[EL_FAULT] = "fault", [EL_VALUE] = "value", [EL_ARRAY] = "array", [EL_DATA] = "data",
	[EL_STRUCT] = "struct", [EL_MEMBER] = "member", [EL_NAME] = "name",
};

/* Which element a name opens below parent (NULL at the root); -1 when it
 * has no place there. */
static int child_el(struct parser *p, const struct frame *parent, const char *name,
		    enum rpc_scalar *type)
{
	int t;

	if (!parent) {
		if (p->want_call)
			return strcmp(name, "methodCall") == 0 ? EL_CALL : -1;
		return strcmp(name, "methodResponse") == 0 ? EL_RESPONSE : -1;
	}
	switch (parent->el) {
	case EL_CALL:
		if (strcmp(name, "methodName") == 0)
			return EL_METHODNAME;
		return strcmp(name, "params") == 0 ? EL_PARAMS : -1;
	case EL_RESPONSE:
		if (strcmp(name, "params") == 0)
			return EL_PARAMS;
		return strcmp(name, "fault") == 0 ? EL_FAULT : -1;
	case EL_PARAMS:
		return strcmp(name, "param") == 0 ? EL_PARAM : -1;
	case EL_PARAM:
	case EL_FAULT:
	case EL_DATA:
		return strcmp(name, "value") == 0 ? EL_VALUE : -1;
	case EL_VALUE:
		if (strcmp(name, "array") == 0)
			return EL_ARRAY;
		if (strcmp(name, "struct") == 0)
			return EL_STRUCT;
		if ((t = rpc_scalar_type(name)) < 0)
			return -1;
		*type = (enum rpc_scalar)t;
		return EL_SCALAR;
	case EL_ARRAY:
		return strcmp(name, "data") == 0 ? EL_DATA : -1;
	case EL_STRUCT:
		return strcmp(name, "member") == 0 ? EL_MEMBER : -1;
	case EL_MEMBER:
		if (strcmp(name, "name") == 0)
			return EL_NAME;
		return strcmp(name, "value") == 0 ? EL_VALUE : -1;
	default:
		return -1;
	}
}

/* Element order and counts the grammar allows, checked as a child opens. */
static bool child_fits(struct parser *p, struct frame *parent, int el)
{
	if (!parent)
		return !p->root_seen;
	switch (parent->el) {
	case EL_CALL:
		/* methodName first, then at most one params */
		return el == EL_METHODNAME ? parent->children == 0 : parent->children == 1;
	case EL_RESPONSE:
	case EL_PARAM:
	case EL_FAULT:
	case EL_VALUE:
	case EL_ARRAY:
		return parent->children == 0;
	case EL_MEMBER:
		/* name, then value */
		return el == EL_NAME ? parent->children == 0 : parent->children == 1;
	default:
		return true;
	}
}

static void start_element(void *ctx, const xmlChar *localname, const xmlChar *prefix,
			  const xmlChar *uri, int nns, const xmlChar **ns, int nattr,
			  int ndefaulted, const xmlChar **attrs)
{
	struct parser *p = ctx;
	struct frame *parent = top(p), *f;
	const char *name = (const char *)localname;
	enum rpc_scalar type = RPC_STRING;
	int el;

	if (p->failed)
		return;
	if (p->depth >= RPC_PARSE_MAX_DEPTH) {
		fail(p, "the request is nested deeper than %d elements", RPC_PARSE_MAX_DEPTH);
		return;
	}
	el = child_el(p, parent, name, &type);
	if (el == EL_PARAMS && parent && parent->el == EL_CALL && parent->children == 0) {
		fail(p, "a <methodCall> needs a <methodName> before <params>");
		return;
	}
	if (el < 0 || !child_fits(p, parent, el)) {
		char shown[80];
		quote_printable(shown, sizeof(shown), name, strlen(name));
		if (el >= 0)
			fail(p, "unexpected element <%s> inside <%s> (out of order or repeated)",
			     shown, parent ? parent->tag : "document");
		else if (parent)
			fail(p, "unexpected element <%s> inside <%s>", shown, parent->tag);
		else
			fail(p, "unexpected element <%s>: the document must be a <%s>", shown,
			     p->want_call ? "methodCall" : "methodResponse");
		return;
	}
	if (parent) {
		/* The text before a child (an untyped value's) must be layout. */
		if (holds_text(parent) && !only_space(text_of(p, parent), p->text.len - parent->text_at)) {
			/* a scalar's name is one of rpc_scalar.c's: plain ASCII */
			fail(p, "text before <%s> inside <%s>", el == EL_SCALAR ? name : el_names[el],
			     parent->tag);
			return;
		}
		if (holds_text(parent))
			p->text.len = parent->text_at;
		parent->children++;
	} else {
		p->root_seen = true;
	}
	f = &p->stack[p->depth++];
	*f = (struct frame){ .el = (enum el)el, .type = type, .text_at = p->text.len };
	f->tag = el == EL_SCALAR ? xstrdup(name) : el_names[el];
	if (el == EL_ARRAY || el == EL_STRUCT || el == EL_PARAMS) {
		xmlrpc_env env;
		xmlrpc_value *v;
		xmlrpc_env_init(&env);
		v = el == EL_STRUCT ? xmlrpc_struct_new(&env) : xmlrpc_array_new(&env);
		if (env.fault_occurred)
			abort(); /* only on out of memory */
		xmlrpc_env_clean(&env);
		if (el == EL_PARAMS && p->want_call) {
			p->out->params = v;  /* owned by the message from here on */
		} else if (el == EL_PARAMS) {
			xmlrpc_DECREF(v);  /* a response's params: the one value is the result */
		} else {
			f->v = v;
		}
	}
}

static void characters(void *ctx, const xmlChar *ch, int len)
{
	struct parser *p = ctx;
	struct frame *f = top(p);

	if (p->failed || !f)
		return;
	if (holds_text(f)) {
		if (buf_append(&p->text, ch, (size_t)len) != 0)
			fail(p, "the request's text is larger than %zu bytes", p->text.max);
	} else if (!only_space((const char *)ch, (size_t)len)) {
		fail(p, "unexpected text inside <%s>", f->tag);
	}
}

/* Hand a finished value to the element it belongs in (takes v). */
static void place_value(struct parser *p, struct frame *parent, xmlrpc_value *v)
{
	xmlrpc_env env;

	xmlrpc_env_init(&env);
	switch (parent->el) {
	case EL_PARAM:
		if (p->want_call) {
			xmlrpc_array_append_item(&env, p->out->params, v);
		} else if (!p->out->result) {
			p->out->result = v;
			v = NULL;
		} else {
			fail(p, "a response holds exactly one <param>");
		}
		break;
	case EL_DATA:
		/* parent of DATA is the ARRAY holding the container */
		xmlrpc_array_append_item(&env, parent[-1].v, v);
		break;
	case EL_MEMBER: {
		struct frame *strct = &parent[-1];
		if (xmlrpc_struct_has_key_n(&env, strct->v, parent->name, parent->name_len)) {
			char shown[80];
			quote_printable(shown, sizeof(shown), parent->name, parent->name_len);
			fail(p, "struct member '%s' appears twice", shown);
		} else if (++strct->members > RPC_PARSE_MAX_MEMBERS) {
			fail(p, "a struct has more than %d members", RPC_PARSE_MAX_MEMBERS);
		} else {
			xmlrpc_struct_set_value_n(&env, strct->v, parent->name, parent->name_len, v);
		}
		break;
	}
	case EL_FAULT:
		p->out->fault = true;
		p->out->result = v;  /* its shape is checked in rpc_parse_response */
		v = NULL;
		break;
	case EL_VALUE:
		parent->v = v;
		v = NULL;
		break;
	default:
		abort(); /* child_el() admits values nowhere else */
	}
	if (env.fault_occurred)
		fail(p, "%s", env.fault_string);
	xmlrpc_env_clean(&env);
	if (v)
		xmlrpc_DECREF(v);
}

static void end_element(void *ctx, const xmlChar *localname, const xmlChar *prefix,
			const xmlChar *uri)
{
	struct parser *p = ctx;
	struct frame *f = top(p), *parent;
	const char *text;
	size_t n;
	char err[256];

	if (p->failed || !f)
		return;
	parent = p->depth > 1 ? &p->stack[p->depth - 2] : NULL;
	text = text_of(p, f);
	n = p->text.len - f->text_at;
	switch (f->el) {
	case EL_SCALAR: {
		xmlrpc_value *v = rpc_scalar_value(f->type, f->tag, text, n, err, sizeof(err));
		if (!v)
			fail(p, "%s", err);
		else
			place_value(p, parent, v);
		break;
	}
	case EL_VALUE:
		if (++p->values > RPC_PARSE_MAX_VALUES) {
			fail(p, "the request holds more than %d values", RPC_PARSE_MAX_VALUES);
			break;
		}
		if (f->children == 0) {
			/* <value>text</value> is a string */
			f->v = rpc_scalar_value(RPC_STRING, "value", text, n, err, sizeof(err));
			if (!f->v) {
				fail(p, "%s", err);
				break;
			}
		}
		place_value(p, parent, f->v);
		f->v = NULL;
		break;
	case EL_ARRAY:
	case EL_STRUCT:
		if (f->el == EL_ARRAY && f->children == 0) {
			fail(p, "<array> needs a <data> element");
			break;
		}
		place_value(p, parent, f->v);
		f->v = NULL;
		break;
	case EL_NAME:
		parent->name = xstrndup(text, n);
		parent->name_len = n;
		break;
	case EL_MEMBER:
		if (f->children != 2)
			fail(p, "a <member> needs a <name> and a <value>");
		break;
	case EL_PARAM:
	case EL_FAULT:
		if (f->children != 1)
			fail(p, "<%s> needs exactly one <value>", f->tag);
		break;
	case EL_METHODNAME:
		if (n == 0 || only_space(text, n))
			fail(p, "<methodName> is empty");
		else if (n > RPC_PARSE_MAX_METHOD)
			fail(p, "<methodName> is longer than %d bytes", RPC_PARSE_MAX_METHOD);
		else
			p->out->method = xstrndup(text, n);
		break;
	case EL_CALL:
		if (!p->out->method)
			fail(p, "a <methodCall> needs a <methodName>");
		break;
	case EL_RESPONSE:
		if (f->children != 1)
			fail(p, "a <methodResponse> needs <params> or <fault>");
		break;
	case EL_PARAMS:
		if (!p->want_call && !p->out->result)
			fail(p, "a response holds exactly one <param>");
		break;
	default:
		break;
	}
	/* A failed element keeps its frame: parser_free() releases it. */
	if (p->failed)
		return;
	if (holds_text(f))
		p->text.len = f->text_at;
	if (f->el == EL_SCALAR)
		free((char *)f->tag);
	free(f->name);
	p->depth--;
}

/* A DTD can declare entities that expand a kilobyte into gigabytes:
 * stop at its first sign, before its internal subset is read. */
static void on_doctype(void *ctx, const xmlChar *name, const xmlChar *eid, const xmlChar *sid)
{
	fail(ctx, "a DTD (<!DOCTYPE>) is not allowed in an XML-RPC message");
}

static void on_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *pid,
			   const xmlChar *sid, xmlChar *content)
{
	fail(ctx, "a DTD entity declaration is not allowed in an XML-RPC message");
}

/* No entity exists but the five predefined ones, which libxml2 handles
 * before asking: every other reference is an undeclared-entity error. */
static xmlEntityPtr get_entity(void *ctx, const xmlChar *name)
{
	return NULL;
}

/* Keep the first fatal error; warnings and namespace remarks don't stop
 * a parse and are not reported. */
static void on_error(void *ctx, xmlErrorPtr e)
{
	struct parser *p = ctx;
	char msg[256], *wire;
	size_t n;

	if (p->failed || e->level < XML_ERR_FATAL)
		return;
	snprintf(msg, sizeof(msg), "%s", e->message ? e->message : "error");
	/* libxml2 quotes the document: a cut may have split a character. */
	n = utf8_valid_prefix(msg, strlen(msg));
	msg[n] = '\0';
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20)
			*c = ' ';
	/* It may quote characters a reply cannot carry (beyond U+FFFF, a
	 * PI's name in UTF-16): the one reply text rule escapes them. */
	wire = rpc_text_wire(msg, strlen(msg));
	snprintf(p->err, p->errlen, "line %d: not well-formed XML: %s", e->line, wire);
	free(wire);
	p->err[utf8_valid_prefix(p->err, strlen(p->err))] = '\0'; /* a cut may split one */
	p->failed = true;
}

static void parser_free(struct parser *p)
{
	for (int i = 0; i < p->depth; i++) {
		struct frame *f = &p->stack[i];
		if (f->v)
			xmlrpc_DECREF(f->v);
		if (f->el == EL_SCALAR)
			free((char *)f->tag);
		free(f->name);
	}
	p->depth = 0;
	buf_free(&p->text);
}

void rpc_message_free(struct rpc_message *m)
{
	free(m->method);
	if (m->params)
		xmlrpc_DECREF(m->params);
	if (m->result)
		xmlrpc_DECREF(m->result);
	free(m->fault_string);
	memset(m, 0, sizeof(*m));
}

static int parse(const char *body, size_t len, bool want_call, struct rpc_message *out,
		 char *err, size_t errlen)
{
	static bool initialised;
	xmlSAXHandler sax;
	struct parser *p;
	int rc = -1;

	if (!initialised) {
		xmlInitParser();
		initialised = true;
	}
	memset(out, 0, sizeof(*out));
	if (len > INT32_MAX) {
		snprintf(err, errlen, "line 1: the message is too large");
		return -1;
	}
	if (rpc_prescan(body, len, err, errlen) != 0)
		return -1;
	memset(&sax, 0, sizeof(sax));
	sax.initialized = XML_SAX2_MAGIC;
	sax.startElementNs = start_element;
	sax.endElementNs = end_element;
	sax.characters = characters;
	sax.cdataBlock = characters;
	sax.ignorableWhitespace = characters;
	sax.internalSubset = on_doctype;
	sax.externalSubset = on_doctype;
	sax.entityDecl = on_entity_decl;
	sax.getEntity = get_entity;
	sax.getParameterEntity = get_entity;
	sax.serror = on_error;

	p = xcalloc(1, sizeof(*p));
	p->want_call = want_call;
	p->err = err;
	p->errlen = errlen;
	p->out = out;
	/* Text is at most the body in UTF-8: a UTF-16 body shrinks or grows
	 * by half at most. */
	buf_init(&p->text, len / 2 * 3 + 64);
	p->ctxt = xmlCreatePushParserCtxt(&sax, p, NULL, 0, NULL);
	if (!p->ctxt)
		abort(); /* only on out of memory */
	xmlCtxtUseOptions(p->ctxt, XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_NOWARNING |
				   XML_PARSE_NOERROR);
	xmlParseChunk(p->ctxt, body, (int)len, 1);
	if (!p->failed && !p->ctxt->wellFormed)
		snprintf(err, errlen, "line %d: not well-formed XML", xmlSAX2GetLineNumber(p->ctxt));
	else if (!p->failed && !p->root_seen)
		snprintf(err, errlen, "line 1: the message is empty");
	else if (!p->failed)
		rc = 0;
	xmlFreeParserCtxt(p->ctxt);
	parser_free(p);
	free(p);
	if (rc != 0)
		rpc_message_free(out);
	return rc;
}

int rpc_parse_call(const char *body, size_t len, struct rpc_message *out, char *err,
		   size_t errlen)
{
	if (parse(body, len, true, out, err, errlen) != 0)
		return -1;
	if (!out->params) {
		/* <params> may be left out when there are none */
		xmlrpc_env env;
		xmlrpc_env_init(&env);
		out->params = xmlrpc_array_new(&env);
		if (env.fault_occurred)
			abort();
		xmlrpc_env_clean(&env);
	}
	return 0;
}

int rpc_parse_response(const char *body, size_t len, struct rpc_message *out, char *err,
		       size_t errlen)
{
	xmlrpc_value *code = NULL, *text = NULL;
	xmlrpc_env env;
	int rc = 0;

	if (parse(body, len, false, out, err, errlen) != 0)
		return -1;
	if (!out->fault)
		return 0;
	/* The fault's value is a struct of faultCode (int) and faultString. */
	xmlrpc_env_init(&env);
	if (xmlrpc_value_type(out->result) == XMLRPC_TYPE_STRUCT) {
		xmlrpc_struct_find_value(&env, out->result, "faultCode", &code);
		if (!env.fault_occurred)
			xmlrpc_struct_find_value(&env, out->result, "faultString", &text);
	}
	if (!env.fault_occurred && code && text && xmlrpc_value_type(code) == XMLRPC_TYPE_INT &&
	    xmlrpc_value_type(text) == XMLRPC_TYPE_STRING) {
		const char *s = NULL;
		xmlrpc_read_int(&env, code, &out->fault_code);
		xmlrpc_read_string(&env, text, &s);
		out->fault_string = (char *)s;
	}
	if (env.fault_occurred || !out->fault_string) {
		snprintf(err, errlen, "a <fault> needs a struct of faultCode (int) and "
			 "faultString (string)");
		rc = -1;
	}
	xmlrpc_env_clean(&env);
	if (code)
		xmlrpc_DECREF(code);
	if (text)
		xmlrpc_DECREF(text);
	xmlrpc_DECREF(out->result);
	out->result = NULL;
	if (rc != 0)
		rpc_message_free(out);
	return rc;
}
