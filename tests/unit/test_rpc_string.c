/* test_rpc_string.c - the reply text rule (agent/rpc_string.c): what
 * goes out is always well-formed, and escaped only when it must be. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "agent/rpc/rpc_parse.h"
#include "agent/rpc/rpc_string.h"

static void wire_is(const char *in, size_t n, const char *want)
{
	char *w = rpc_text_wire(in, n);
	CHECK_STR(w, want);
	free(w);
}

TEST(good_text_unchanged)
{
	const char *s = "plain \\ back\tslash\r\n caf\xc3\xa9 \xef\xbf\xbd \x7f";
	CHECK(rpc_text_ok(s, strlen(s)));
	wire_is(s, strlen(s), s);
	wire_is("", 0, "");
}

TEST(bad_text_escaped)
{
	CHECK(!rpc_text_ok("caf\xe9", 4));
	wire_is("caf\xe9", 4, "caf\\xe9");
	wire_is("a\x01" "b\x1b" "c", 5, "a\\x01b\\x1bc");
	/* In escaped text only, a backslash doubles, so it can be undone. */
	wire_is("\\\x01", 2, "\\\\\\x01");
	/* U+FFFE, a surrogate, an overlong '/', NUL, a cut sequence. */
	wire_is("\xef\xbf\xbe", 3, "\\xef\\xbf\\xbe");
	wire_is("\xed\xa0\x80", 3, "\\xed\\xa0\\x80");
	wire_is("\xc0\xaf", 2, "\\xc0\\xaf");
	wire_is("a\0b", 3, "a\\x00b");
	wire_is("\xc3", 1, "\\xc3");
	/* xmlrpc-c 1.33 builds no string beyond U+FFFF: escaped, not a crash */
	wire_is("\xf0\x9f\x98\x80!", 5, "\\xf0\\x9f\\x98\\x80!");
}

/* Serialised by xmlrpc-c, read back by our own parser: well-formed. */
TEST(serialised_reply_parses)
{
	static const char *nasty[] = { "caf\xe9", "a\x01" "b\x1b" "c", "\xef\xbf\xbf", "\x0c\\",
				       "smile \xf0\x9f\x98\x80" };
	for (size_t i = 0; i < sizeof(nasty) / sizeof(nasty[0]); i++) {
		xmlrpc_env env;
		xmlrpc_mem_block *out;
		xmlrpc_value *v = rpc_string_new(nasty[i]);
		struct rpc_message m;
		char err[600], *want = rpc_text_wire(nasty[i], strlen(nasty[i]));
		const char *got = NULL;

		xmlrpc_env_init(&env);
		out = xmlrpc_mem_block_new(&env, 0);
		xmlrpc_serialize_response(&env, out, v);
		CHECK(!env.fault_occurred);
		CHECK_INT(rpc_parse_response(XMLRPC_MEMBLOCK_CONTENTS(char, out),
					     XMLRPC_MEMBLOCK_SIZE(char, out), &m, err, sizeof(err)), 0);
		if (m.result) {
			xmlrpc_read_string(&env, m.result, &got);
			CHECK_STR(got, want);
			free((char *)got);
		}
		rpc_message_free(&m);
		xmlrpc_mem_block_free(out);
		xmlrpc_DECREF(v);
		xmlrpc_env_clean(&env);
		free(want);
	}
}

int main(void)
{
	RUN(good_text_unchanged);
	RUN(bad_text_escaped);
	RUN(serialised_reply_parses);
	return harness_done();
}
