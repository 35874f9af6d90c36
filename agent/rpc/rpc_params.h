/* rpc_params.h - reading a call's parameters in handlers.
 *
 * The signature check (rpc.c) has already passed when a handler runs, so
 * these read without reporting type errors; guest_param() answers the
 * call itself when the guest argument is refused. */
#ifndef OVS_RPC_PARAMS_H
#define OVS_RPC_PARAMS_H

#include <stdbool.h>
#include <xmlrpc-c/base.h>

struct rpc_call;

/* Number of parameters. */
int param_count(xmlrpc_value *params);

/* Param i as a malloc'd string ("" when it is missing or not a string). */
char *param_str(xmlrpc_value *params, int i);

/* Param i as an integer: an XML-RPC int, or a string holding a decimal
 * integer (clients often send "512"). 0, or -1 when it is neither. */
int param_int(xmlrpc_value *params, int i, long long *out);

/* Resolve param 0 to a guest path with guest_resolve() (malloc'd), or
 * answer the call with the fault and return NULL. */
char *guest_param(struct rpc_call *call, xmlrpc_value *params, bool must_exist);

#endif
