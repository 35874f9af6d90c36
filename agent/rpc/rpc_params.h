/* rpc_params.h - reading a call's parameters in handlers.
 *
 * The signature check (rpc.c) has already passed when a handler runs, so
 * these read without reporting type errors; guest_param() answers the
 * call itself when the guest argument is refused. */
#ifndef OVS_RPC_PARAMS_H
#define OVS_RPC_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <xmlrpc-c/base.h>

struct rpc_call;

/* Number of parameters. */
int param_count(xmlrpc_value *params);

/* Param i as a malloc'd string ("" when it is missing or not a string). */
char *param_str(xmlrpc_value *params, int i);

/* Whole numbers: one rule for every method. A count, size or port a
 * caller sends is an XML-RPC int (i4 or i8), or a string of 1 to 18 ASCII
 * decimal digits and nothing else (clients often send "512"). So 512 and
 * "512" mean the same everywhere, and "512 ", " 512", "+512", "-1",
 * "0x10", "1e3", "", "512abc" and 19 or more digits are refused
 * everywhere, never read as something else. */
#define WHOLE_DIGITS_MAX 18

/* s[0..n) by the string rule: 0 with *out, or -1. */
int whole_number(const char *s, size_t n, long long *out);

/* Param i by the rule: 0 with *out, or -1 (missing, another type, or a
 * string the rule refuses). */
int param_int(xmlrpc_value *params, int i, long long *out);

/* Param i by the rule and from lo to hi: 0 with *out, or -1 with the one
 * message every method gives in err: "<what> must be a whole number from
 * <lo> to <hi><unit>; got <value>" (unit like " MB", or ""; a string
 * value shown quoted, so "512 " shows its space). */
int param_int_in(xmlrpc_value *params, int i, const char *what, long long lo, long long hi,
		 const char *unit, long long *out, char *err, size_t errlen);

/* param_int_in, answering the call with FAULT_INVALID_ARGUMENT and that
 * message on -1. */
int param_int_arg(struct rpc_call *call, xmlrpc_value *params, int i, const char *what,
		  long long lo, long long hi, const char *unit, long long *out);

/* Resolve param 0 to a guest path with guest_resolve() (malloc'd), or
 * answer the call with the fault and return NULL. */
/* A true/false argument as managers send it: boolean, 0/1, "0"/"1",
 * "true"/"false". 0 with *out, or -1 for anything else. */
int param_bool(xmlrpc_value *params, int i, bool *out);

char *guest_param(struct rpc_call *call, xmlrpc_value *params, bool must_exist);

#endif
