/* rpc_params.c - reading a call's parameters in handlers (rpc_params.h). */
#include "agent/rpc/rpc_params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/base/fault.h"
#include "agent/guest/guest.h"
#include "agent/rpc/rpc.h"
#include "agent/base/util.h"

int param_count(xmlrpc_value *params)
{
	xmlrpc_env env;
	int n;

	xmlrpc_env_init(&env);
	n = xmlrpc_array_size(&env, params);
	if (env.fault_occurred)
		n = 0;
	xmlrpc_env_clean(&env);
	return n;
}

char *param_str(xmlrpc_value *params, int i)
{
	xmlrpc_env env;
	xmlrpc_value *v = NULL;
	const char *s = NULL;
	char *out;

	xmlrpc_env_init(&env);
	xmlrpc_array_read_item(&env, params, i, &v);
	if (!env.fault_occurred)
		xmlrpc_read_string(&env, v, &s);
	out = xstrdup(env.fault_occurred || !s ? "" : s);
	free((char *)s);
	if (v)
		xmlrpc_DECREF(v);
	xmlrpc_env_clean(&env);
	return out;
}

int whole_number(const char *s, size_t n, long long *out)
{
	long long x = 0;

	if (n == 0 || n > WHOLE_DIGITS_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (s[i] - '0'); /* 18 digits cannot overflow */
	}
	*out = x;
	return 0;
}

/* Param i by the rule; when shown is not NULL, also how to show the value
 * in a message (a number as is, a string quoted and made printable). */
static int read_whole(xmlrpc_value *params, int i, long long *out, char *shown, size_t shownlen)
{
	xmlrpc_env env;
	xmlrpc_value *v = NULL;
	int ret = -1;

	if (shown)
		snprintf(shown, shownlen, "nothing");
	xmlrpc_env_init(&env);
	xmlrpc_array_read_item(&env, params, i, &v);
	if (env.fault_occurred)
		goto out;
	if (xmlrpc_value_type(v) == XMLRPC_TYPE_INT) {
		int n;
		xmlrpc_read_int(&env, v, &n);
		if (!env.fault_occurred) {
			*out = n;
			ret = 0;
		}
	} else if (xmlrpc_value_type(v) == XMLRPC_TYPE_I8) {
		xmlrpc_int64 n;
		xmlrpc_read_i8(&env, v, &n);
		if (!env.fault_occurred) {
			*out = n;
			ret = 0;
		}
	} else if (xmlrpc_value_type(v) == XMLRPC_TYPE_STRING) {
		const char *s = NULL;
		size_t len = 0;
		xmlrpc_read_string_lp(&env, v, &len, &s);
		if (!env.fault_occurred && s) {
			ret = whole_number(s, len, out);
			if (shown) {
				char q[80];
				quote_printable(q, sizeof(q), s, len);
				snprintf(shown, shownlen, "'%s'", q);
			}
		}
		free((char *)s);
	} else if (shown) {
		snprintf(shown, shownlen, "a value of another type");
	}
	if (ret == 0 && shown && xmlrpc_value_type(v) != XMLRPC_TYPE_STRING)
		snprintf(shown, shownlen, "%lld", *out);
out:
	if (v)
		xmlrpc_DECREF(v);
	xmlrpc_env_clean(&env);
	return ret;
}

int param_int(xmlrpc_value *params, int i, long long *out)
{
	return read_whole(params, i, out, NULL, 0);
}

int param_int_in(xmlrpc_value *params, int i, const char *what, long long lo, long long hi,
		 const char *unit, long long *out, char *err, size_t errlen)
{
	char shown[96];
	long long v = 0;

	if (read_whole(params, i, &v, shown, sizeof(shown)) == 0 && v >= lo && v <= hi) {
		*out = v;
		return 0;
	}
	snprintf(err, errlen, "%s must be a whole number from %lld to %lld%s; got %s", what, lo,
		 hi, unit, shown);
	return -1;
}

int param_int_arg(struct rpc_call *call, xmlrpc_value *params, int i, const char *what,
		  long long lo, long long hi, const char *unit, long long *out)
{
	char err[256];

	if (param_int_in(params, i, what, lo, hi, unit, out, err, sizeof(err)) == 0)
		return 0;
	rpc_fault(call, FAULT_INVALID_ARGUMENT, "%s", err);
	return -1;
}

char *guest_param(struct rpc_call *call, xmlrpc_value *params, bool must_exist)
{
	char *arg = param_str(params, 0), *path = NULL, err[512];
	int fault = guest_resolve(rpc_server(call), arg, must_exist, &path, err, sizeof(err));

	free(arg);
	if (fault) {
		rpc_fault(call, fault, "%s", err);
		return NULL;
	}
	return path;
}

/* A true/false argument as managers send it: boolean, 0/1, "0"/"1",
 * "true"/"false". -1 for anything else. */
int param_bool(xmlrpc_value *params, int i, bool *out)
{
	xmlrpc_env env;
	xmlrpc_value *v = NULL;
	long long n;
	int r = -1;

	xmlrpc_env_init(&env);
	xmlrpc_array_read_item(&env, params, (unsigned)i, &v);
	if (!env.fault_occurred && xmlrpc_value_type(v) == XMLRPC_TYPE_BOOL) {
		xmlrpc_bool b;
		xmlrpc_read_bool(&env, v, &b);
		*out = b;
		r = env.fault_occurred ? -1 : 0;
	} else if (!env.fault_occurred && param_int(params, i, &n) == 0 && n >= 0 && n <= 1) {
		*out = n == 1;
		r = 0;
	} else if (!env.fault_occurred) {
		char *s = param_str(params, i);
		if (strcasecmp(s, "true") == 0 || strcasecmp(s, "false") == 0) {
			*out = strcasecmp(s, "true") == 0;
			r = 0;
		}
		free(s);
	}
	if (v)
		xmlrpc_DECREF(v);
	xmlrpc_env_clean(&env);
	return r;
}
