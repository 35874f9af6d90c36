/* methods_system.c - system.listMethods, methodHelp, methodSignature and
 * system.multicall. */
#define LOG_CAT "rpc"
#include "agent/rpc/methods.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "agent/base/fault.h"
#include "agent/rpc/rpc_string.h"
#include "agent/base/util.h"

#define MULTICALL_MAX 1000

static const struct method *named_method(struct rpc_call *call, xmlrpc_value *params)
{
	const struct method *m = NULL;
	xmlrpc_env env;
	const char *name = NULL;

	xmlrpc_env_init(&env);
	xmlrpc_decompose_value(&env, params, "(s)", &name);
	if (!env.fault_occurred && !(m = method_find(name)))
		rpc_fault(call, FAULT_NO_METHOD, "no such method '%s'", name);
	free((char *)name);
	xmlrpc_env_clean(&env);
	return m;
}

void m_list_methods(struct rpc_call *call, xmlrpc_value *params)
{
	xmlrpc_env env;
	xmlrpc_value *list;

	xmlrpc_env_init(&env);
	list = xmlrpc_array_new(&env);
	for (const struct method *m = method_table; m->name && !env.fault_occurred; m++) {
		xmlrpc_value *s = xmlrpc_string_new(&env, m->name);
		xmlrpc_array_append_item(&env, list, s);
		xmlrpc_DECREF(s);
	}
	xmlrpc_env_clean(&env);
	rpc_return(call, list);
}

void m_method_help(struct rpc_call *call, xmlrpc_value *params)
{
	const struct method *m = named_method(call, params);

	if (m)
		rpc_return_string(call, m->help);
}

void m_method_signature(struct rpc_call *call, xmlrpc_value *params)
{
	const struct method *m = named_method(call, params);
	xmlrpc_env env;
	xmlrpc_value *all;

	if (!m)
		return;
	xmlrpc_env_init(&env);
	all = xmlrpc_array_new(&env);
	for (const char *alt = m->signature; *alt;) {
		const char *end = strchr(alt, ',');
		xmlrpc_value *one = xmlrpc_array_new(&env);
		if (!end)
			end = alt + strlen(alt);
		for (const char *p = alt; p < end; p++) {
			xmlrpc_value *t;
			if (*p == ':')
				continue;
			t = xmlrpc_string_new(&env, rpc_type_name(*p));
			xmlrpc_array_append_item(&env, one, t);
			xmlrpc_DECREF(t);
		}
		xmlrpc_array_append_item(&env, all, one);
		xmlrpc_DECREF(one);
		alt = *end ? end + 1 : end;
	}
	xmlrpc_env_clean(&env);
	rpc_return(call, all);
}

/* ---- system.multicall: sub-calls run one after another, in order, each
 * possibly deferred; a sub-call's fault is its entry, not the whole call's. */

struct multicall {
	struct rpc_call *call;
	xmlrpc_value *calls;     /* borrowed from the call's params (kept alive by it) */
	xmlrpc_value *results;
	int n, next;
	bool running;            /* inside the start loop: completions just count */
	bool completed_inline;
};

static void mc_step(struct multicall *mc);

/* Results line up with calls: whatever fails, the entry is still added. */
static void add_fault(xmlrpc_value *results, int code, const char *text)
{
	xmlrpc_env env;
	xmlrpc_value *f, *s;

	xmlrpc_env_init(&env);
	f = xmlrpc_struct_new(&env);
	xmlrpc_struct_set_value(&env, f, "faultCode", s = xmlrpc_int_new(&env, code));
	xmlrpc_DECREF(s);
	xmlrpc_struct_set_value(&env, f, "faultString", s = rpc_string_new(text));
	xmlrpc_DECREF(s);
	xmlrpc_array_append_item(&env, results, f);
	xmlrpc_DECREF(f);
	if (env.fault_occurred)
		abort(); /* only out of memory fails here */
	xmlrpc_env_clean(&env);
}

static void mc_sub_done(void *arg, xmlrpc_value *result, int code, const char *text)
{
	struct multicall *mc = arg;
	xmlrpc_env env;

	xmlrpc_env_init(&env);
	if (result) {
		xmlrpc_value *wrapped = xmlrpc_array_new(&env);
		xmlrpc_array_append_item(&env, wrapped, result);
		if (!env.fault_occurred)
			xmlrpc_array_append_item(&env, mc->results, wrapped);
		if (wrapped)
			xmlrpc_DECREF(wrapped);
		if (env.fault_occurred)
			add_fault(mc->results, FAULT_INTERNAL, "cannot encode this call's result");
	} else {
		add_fault(mc->results, code, text);
	}
	xmlrpc_env_clean(&env);
	mc->next++;
	if (mc->running)
		mc->completed_inline = true;
	else
		mc_step(mc);
}

/* Start sub-calls until one defers; finish when all are done. A loop, not
 * recursion, so a thousand immediate sub-calls use no stack. */
static void mc_step(struct multicall *mc)
{
	while (mc->next < mc->n) {
		xmlrpc_value *entry = NULL, *params = NULL;
		const char *name = NULL;
		bool deferred = false;
		xmlrpc_env env;

		xmlrpc_env_init(&env);
		xmlrpc_array_read_item(&env, mc->calls, mc->next, &entry);
		if (!env.fault_occurred)
			xmlrpc_decompose_value(&env, entry, "{s:s,s:A,*}", "methodName", &name,
					       "params", &params);
		if (env.fault_occurred) {
			/* xmlrpc-c already freed what it had decomposed. */
			name = NULL;
			params = NULL;
			add_fault(mc->results, FAULT_INVALID_REQUEST,
				  "each call must be a struct with methodName (string) and params (array)");
			mc->next++;
		} else if (strcmp(name, "system.multicall") == 0) {
			add_fault(mc->results, FAULT_INVALID_REQUEST, "system.multicall may not be nested");
			mc->next++;
		} else {
			mc->running = true;
			mc->completed_inline = false;
			rpc_run(rpc_server(mc->call), name, params, rpc_origin(mc->call),
				rpc_depth(mc->call) + 1, mc_sub_done, mc);
			mc->running = false;
			deferred = !mc->completed_inline;
		}
		if (entry)
			xmlrpc_DECREF(entry);
		if (params)
			xmlrpc_DECREF(params);
		free((char *)name);
		xmlrpc_env_clean(&env);
		if (deferred)
			return; /* mc_sub_done continues */
	}
	rpc_return(mc->call, mc->results);
	free(mc);
}

void m_multicall(struct rpc_call *call, xmlrpc_value *params)
{
	struct multicall *mc;
	xmlrpc_env env;
	xmlrpc_value *calls = NULL;

	if (rpc_depth(call) > 0) {
		rpc_fault(call, FAULT_INVALID_REQUEST, "system.multicall may not be nested");
		return;
	}
	xmlrpc_env_init(&env);
	xmlrpc_array_read_item(&env, params, 0, &calls);
	mc = xcalloc(1, sizeof(*mc));
	mc->call = call;
	mc->calls = calls;
	mc->n = xmlrpc_array_size(&env, calls);
	mc->results = xmlrpc_array_new(&env);
	xmlrpc_env_clean(&env);
	/* calls stays referenced by the call's params until the call ends. */
	xmlrpc_DECREF(calls);
	if (mc->n > MULTICALL_MAX) {
		xmlrpc_DECREF(mc->results);
		free(mc);
		rpc_fault(call, FAULT_INVALID_PARAMS, "system.multicall takes at most %d calls",
			  MULTICALL_MAX);
		return;
	}
	mc_step(mc);
}
