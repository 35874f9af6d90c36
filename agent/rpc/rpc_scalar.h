/* rpc_scalar.h - the text of one XML-RPC scalar element into an
 * xmlrpc-c value, checked by our own code (rpc_parse.c's helper).
 *
 * Every type has one strict grammar; XML whitespace around a number,
 * boolean, date or base64 is allowed, nothing else is. */
#ifndef OVS_RPC_SCALAR_H
#define OVS_RPC_SCALAR_H

#include <stddef.h>
#include <xmlrpc-c/base.h>

enum rpc_scalar {
	RPC_INT,        /* <int>, <i4>: 32-bit */
	RPC_I8,         /* <i8>, <ex:i8>: 64-bit */
	RPC_BOOL,       /* 0 or 1 */
	RPC_DOUBLE,     /* finite decimal, optional exponent */
	RPC_STRING,
	RPC_DATETIME,   /* ISO 8601 */
	RPC_BASE64,
	RPC_NIL,        /* <nil/>, <ex:nil/> */
};

/* The type an element name stands for (a namespace prefix is ignored),
 * or -1 when it is not a scalar type. */
int rpc_scalar_type(const char *localname);

/* Build the value of type t from text[0..n) (valid UTF-8, from the XML
 * parser). NULL with err set ("<i8> 'abc' is not a 64-bit integer") when
 * the text does not fit the type. tag is the element name for messages. */
xmlrpc_value *rpc_scalar_value(enum rpc_scalar t, const char *tag, const char *text, size_t n,
			       char *err, size_t errlen);

#endif
