/* rpc_parse.h - read an XML-RPC methodCall or methodResponse that arrived
 * from the network into xmlrpc-c values.
 *
 * libxml2 does the XML (a streaming SAX parse: encodings, well-formedness,
 * no tree); this file checks the XML-RPC structure and every scalar itself.
 * A DTD or entity declaration stops the parse at once, in any encoding,
 * so no entity is ever expanded; nesting, struct sizes and the number of
 * values are bounded while parsing, before anything is built from them.
 * xmlrpc-c's own parser is not used on input: it crashes on a bad <i8>
 * and recurses without bound over deep documents. */
#ifndef OVS_RPC_PARSE_H
#define OVS_RPC_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <xmlrpc-c/base.h>

#define RPC_PARSE_MAX_DEPTH    256     /* XML elements open at once */
#define RPC_PARSE_MAX_MEMBERS  1024    /* members of one struct */
#define RPC_PARSE_MAX_VALUES   100000  /* values in one document */
#define RPC_PARSE_MAX_METHOD   256     /* bytes of a methodName */

struct rpc_message {
	/* methodCall */
	char *method;            /* malloc'd */
	xmlrpc_value *params;    /* an array, owned */
	/* methodResponse: result, or fault_code and fault_string */
	xmlrpc_value *result;    /* owned; NULL for a fault */
	bool fault;
	int fault_code;
	char *fault_string;      /* malloc'd */
};

/* Parse body[0..len). 0 on success (free *out with rpc_message_free);
 * -1 with a message in err, "line N: what is wrong", and *out empty. */
int rpc_parse_call(const char *body, size_t len, struct rpc_message *out,
		   char *err, size_t errlen);
int rpc_parse_response(const char *body, size_t len, struct rpc_message *out,
		       char *err, size_t errlen);
void rpc_message_free(struct rpc_message *m);

#endif
