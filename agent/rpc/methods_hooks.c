/* methods_hooks.c - list_hook_runs: the hook runner's records as structs. */
#define LOG_CAT "rpc"
#include "agent/rpc/methods.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "agent/base/fault.h"
#include "agent/base/hook.h"
#include "agent/base/util.h"
#include "agent/rpc/rpc_params.h"
#include "agent/rpc/rpc_string.h"
#include "agent/server/server.h"

#define LIST_MAX 10000      /* the most one call may ask for */

/* "2026-12-06T20:49:04.368Z" */
static void iso8601(long long ms, char *out, size_t outlen)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char s[32];

	if (ms < 0 || !gmtime_r(&t, &tm) || !strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm)) {
		snprintf(out, outlen, "%s", "");
		return;
	}
	snprintf(out, outlen, "%s.%03dZ", s, (int)(ms % 1000));
}

static void set(xmlrpc_env *env, xmlrpc_value *s, const char *key, xmlrpc_value *v)
{
	xmlrpc_struct_set_value(env, s, key, v);
	xmlrpc_DECREF(v);
}

static int clamp(long long v)
{
	return v > INT_MAX ? INT_MAX : v < INT_MIN ? INT_MIN : (int)v;
}

static xmlrpc_value *record_value(xmlrpc_env *env, const struct hook_record *r)
{
	xmlrpc_value *s = xmlrpc_struct_new(env);
	char started[40];

	iso8601(r->started_ms, started, sizeof(started));
	set(env, s, "hook", rpc_string_new(r->hook));
	set(env, s, "kind", rpc_string_new(r->kind));
	set(env, s, "argv", rpc_string_new(r->argv));
	set(env, s, "event", rpc_string_new(r->event));
	set(env, s, "guest", rpc_string_new(r->guest));
	set(env, s, "started", rpc_string_new(started));
	set(env, s, "duration_ms", xmlrpc_int_new(env, clamp(r->duration_ms)));
	set(env, s, "queued_ms", xmlrpc_int_new(env, clamp(r->queued_ms)));
	set(env, s, "exit_status", xmlrpc_int_new(env, r->exit_status));
	set(env, s, "signal", xmlrpc_int_new(env, r->signal));
	set(env, s, "timed_out", xmlrpc_bool_new(env, r->timed_out));
	set(env, s, "queued", xmlrpc_bool_new(env, r->queued));
	set(env, s, "running", xmlrpc_bool_new(env, r->running));
	set(env, s, "output_tail", rpc_string_new(r->tail));
	return s;
}

void m_list_hook_runs(struct rpc_call *call, xmlrpc_value *params)
{
	struct hooks *h = rpc_server(call)->hooks;
	long long limit = LIST_MAX;
	struct hook_record *recs;
	xmlrpc_value *list;
	xmlrpc_env env;
	size_t n;

	if (param_count(params) == 1 &&
	    param_int_arg(call, params, 0, "limit", 1, LIST_MAX, "", &limit) != 0)
		return;
	if (!h) {
		rpc_fault(call, FAULT_INTERNAL, "no hook runner");
		return;
	}
	n = hooks_count(h);
	if (n > (size_t)limit)
		n = (size_t)limit;
	recs = xcalloc(n ? n : 1, sizeof(*recs));
	n = hooks_records(h, recs, n);
	xmlrpc_env_init(&env);
	list = xmlrpc_array_new(&env);
	for (size_t i = 0; i < n && !env.fault_occurred; i++) {
		xmlrpc_value *v = record_value(&env, &recs[i]);
		xmlrpc_array_append_item(&env, list, v);
		xmlrpc_DECREF(v);
	}
	free(recs);
	if (env.fault_occurred) {
		rpc_fault(call, FAULT_INTERNAL, "list_hook_runs: %s", env.fault_string);
		xmlrpc_DECREF(list);
	} else {
		rpc_return(call, list);
	}
	xmlrpc_env_clean(&env);
}
