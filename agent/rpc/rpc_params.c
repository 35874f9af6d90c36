/* rpc_params.c - reading a call's parameters in handlers (rpc_params.h). */
#include "agent/rpc/rpc_params.h"

#include <errno.h>
#include <stdlib.h>

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

int param_int(xmlrpc_value *params, int i, long long *out)
{
	xmlrpc_env env;
	xmlrpc_value *v = NULL;
	int ret = -1;

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
	} else if (xmlrpc_value_type(v) == XMLRPC_TYPE_STRING) {
		const char *s = NULL;
		xmlrpc_read_string(&env, v, &s);
		if (!env.fault_occurred && s) {
			const char *p = s;
			char *end;
			long long n;
			while (*p == ' ')
				p++;
			errno = 0;
			n = strtoll(p, &end, 10);
			while (*end == ' ')
				end++;
			if (end != p && !*end && errno == 0 && (*p == '-' || *p == '+' ||
								(*p >= '0' && *p <= '9'))) {
				*out = n;
				ret = 0;
			}
		}
		free((char *)s);
	}
out:
	if (v)
		xmlrpc_DECREF(v);
	xmlrpc_env_clean(&env);
	return ret;
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
