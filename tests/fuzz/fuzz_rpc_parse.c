/* fuzz_rpc_parse.c - libFuzzer target for the XML-RPC parser
 * (agent/rpc_parse.c, agent/rpc_scalar.c) and the reply text rule
 * (agent/rpc_string.c).
 *
 * What parses as a call must serialise (xmlrpc-c) and parse again, and
 * the second serialisation must equal the first: our reading of a value
 * is what xmlrpc-c writes. A refusal must say "line N: ...". Any input as
 * reply text must come out as text XML can carry. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/rpc/rpc_parse.h"
#include "agent/rpc/rpc_string.h"

static xmlrpc_mem_block *serialise(const struct rpc_message *m)
{
	xmlrpc_env env;
	xmlrpc_mem_block *out;

	xmlrpc_env_init(&env);
	out = xmlrpc_mem_block_new(&env, 0);
	xmlrpc_serialize_call(&env, out, m->method, m->params);
	if (env.fault_occurred)
		abort();
	xmlrpc_env_clean(&env);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rpc_message m, again;
	char err[600];
	char *wire;

	if (rpc_parse_call((const char *)data, size, &m, err, sizeof(err)) == 0) {
		xmlrpc_mem_block *one = serialise(&m), *two;
		if (rpc_parse_call(XMLRPC_MEMBLOCK_CONTENTS(char, one), XMLRPC_MEMBLOCK_SIZE(char, one),
				   &again, err, sizeof(err)) != 0)
			abort();
		two = serialise(&again);
		if (XMLRPC_MEMBLOCK_SIZE(char, one) != XMLRPC_MEMBLOCK_SIZE(char, two) ||
		    memcmp(XMLRPC_MEMBLOCK_CONTENTS(char, one), XMLRPC_MEMBLOCK_CONTENTS(char, two),
			   XMLRPC_MEMBLOCK_SIZE(char, one)) != 0)
			abort();
		xmlrpc_mem_block_free(one);
		xmlrpc_mem_block_free(two);
		rpc_message_free(&again);
		rpc_message_free(&m);
	} else if (strncmp(err, "line ", 5) != 0 || !rpc_text_ok(err, strlen(err))) {
		abort();
	}
	if (rpc_parse_response((const char *)data, size, &m, err, sizeof(err)) == 0) {
		if (m.fault != (m.result == NULL) || (m.fault && !m.fault_string))
			abort();
		rpc_message_free(&m);
	}
	wire = rpc_text_wire((const char *)data, size);
	if (!rpc_text_ok(wire, strlen(wire)))
		abort();
	free(wire);
	return 0;
}
