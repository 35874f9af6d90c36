/* rpc.h - XML-RPC calls: parse, check against the method table, run the
 * handler, and serialise the result or fault (xmlrpc-c does the XML).
 *
 * A handler may answer at once or later (a deferred reply): it calls
 * exactly one of rpc_return*() or rpc_fault() when it has the answer,
 * from inside the handler or from any later loop callback. Until then the
 * connection waits and the loop keeps serving everyone else. */
#ifndef OVS_RPC_H
#define OVS_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <xmlrpc-c/base.h>

struct buf;
struct server;
struct rpc_call;

typedef void (*method_fn)(struct rpc_call *call, xmlrpc_value *params);

/* One row of the method table (methods.c). */
struct method {
	const char *name;
	/* xmlrpc-c signature string: alternatives separated by ',', each
	 * "RESULT:PARAMS" with one letter per type: i int, b boolean,
	 * d double, s string, 8 dateTime, 6 base64, A array, S struct,
	 * n nil. "s:s,s:ss" = string f(string) or string f(string, string). */
	const char *signature;
	const char *help;
	method_fn fn;
};

/* The table, ended by a row with name == NULL. */
extern const struct method method_table[];
const struct method *method_find(const char *name);

/* Answer a call. rpc_return takes ownership of result. */
void rpc_return(struct rpc_call *call, xmlrpc_value *result);
void rpc_return_string(struct rpc_call *call, const char *s);
void rpc_return_printf(struct rpc_call *call, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void rpc_fault(struct rpc_call *call, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* An answer written as XML text (rpc_xml.h) instead of values, for answers
 * too large to build as values first: only a top-level call can give one
 * (rpc_return_xml_ok); inside system.multicall the handler answers with
 * values. rpc_return_xml sends the whole methodResponse in xml and empties
 * it. */
bool rpc_return_xml_ok(const struct rpc_call *call);
void rpc_return_xml(struct rpc_call *call, struct buf *xml);

/* Who made a call and where it arrived. */
struct rpc_origin {
	const char *user;       /* authenticated user */
	const char *peer;       /* client address */
	const char *local;      /* the agent's address the client reached */
	/* The caller's credentials are not here: agents call each other with
	 * the pool credential (agent/rpc/pool_call.h), never the caller's. */
};

struct server *rpc_server(const struct rpc_call *call);
const char *rpc_method_name(const struct rpc_call *call);
const struct rpc_origin *rpc_origin(const struct rpc_call *call);

/* Top level: run the XML-RPC request in body[0..len). reply(arg, xml) is
 * called exactly once with the serialised response (possibly before
 * rpc_dispatch returns); it may take xml's bytes (leaving xml empty),
 * else they are freed after the call. */
typedef void (*rpc_reply_cb)(void *arg, struct buf *xml);
void rpc_dispatch(struct server *srv, const char *body, size_t len,
		  const struct rpc_origin *origin, rpc_reply_cb reply, void *arg);

/* For system.multicall: run one sub-call; done(arg, result, code, text)
 * gets the result (owned by the callee: incref to keep) or a fault. */
typedef void (*rpc_sub_cb)(void *arg, xmlrpc_value *result, int fault_code, const char *fault);
void rpc_run(struct server *srv, const char *method, xmlrpc_value *params,
	     const struct rpc_origin *origin, int depth, rpc_sub_cb done, void *arg);
int rpc_depth(const struct rpc_call *call);

/* Turn a signature string into XML-RPC type names: "s:si" -> string,
 * string, int. Used by system.methodSignature and the index page. */
const char *rpc_type_name(char letter);

#endif
