/* test_rpc_xml.c - an answer written as text (agent/rpc/rpc_xml.c) is
 * byte for byte what xmlrpc-c serialises for the same values built the
 * usual way (rpc_string_new_lp), whatever the strings hold. */
#include <stdlib.h>
#include <string.h>
#include <xmlrpc-c/base.h>

#include "harness.h"
#include "agent/base/buf.h"
#include "agent/base/util.h"
#include "agent/rpc/rpc_string.h"
#include "agent/rpc/rpc_xml.h"

struct member {
	const char *key, *val;
	size_t vlen;
};

/* An array of structs of strings, both ways; 1 when the bytes agree. */
static int same_bytes(const struct member *m, const size_t *per, size_t nstructs)
{
	xmlrpc_env env;
	xmlrpc_value *list;
	xmlrpc_mem_block *out;
	struct buf b;
	int same;

	xmlrpc_env_init(&env);
	list = xmlrpc_array_new(&env);
	buf_init(&b, 0);
	rpc_xml_response_begin(&b);
	rpc_xml_array_begin(&b);
	for (size_t i = 0; i < nstructs; i++) {
		xmlrpc_value *s = xmlrpc_struct_new(&env);
		rpc_xml_struct_begin(&b);
		for (size_t j = 0; j < per[i]; j++, m++) {
			xmlrpc_value *v = rpc_string_new_lp(m->val, m->vlen);
			xmlrpc_struct_set_value(&env, s, m->key, v);
			xmlrpc_DECREF(v);
			rpc_xml_member(&b, m->key, strlen(m->key), m->val, m->vlen);
		}
		rpc_xml_struct_end(&b);
		xmlrpc_array_append_item(&env, list, s);
		xmlrpc_DECREF(s);
	}
	rpc_xml_array_end(&b);
	rpc_xml_response_end(&b);
	out = xmlrpc_mem_block_new(&env, 0);
	xmlrpc_serialize_response(&env, out, list);
	CHECK(!env.fault_occurred);
	same = XMLRPC_MEMBLOCK_SIZE(char, out) == b.len &&
	       memcmp(XMLRPC_MEMBLOCK_CONTENTS(char, out), b.data, b.len) == 0;
	if (!same)
		fprintf(stderr, "  xmlrpc-c: %.*s\n  ours:     %s\n",
			(int)XMLRPC_MEMBLOCK_SIZE(char, out), XMLRPC_MEMBLOCK_CONTENTS(char, out),
			b.data);
	xmlrpc_mem_block_free(out);
	xmlrpc_DECREF(list);
	xmlrpc_env_clean(&env);
	buf_free(&b);
	return same;
}

TEST(empty_array_and_empty_struct)
{
	size_t none = 0;

	CHECK(same_bytes(NULL, NULL, 0));
	CHECK(same_bytes(NULL, &none, 1));
}

TEST(strings_that_need_care)
{
	static const struct member m[] = {
		{ "path", "/OVS/running_pool/g", 19 },
		{ "plain", "DOWN", 4 },
		{ "empty", "", 0 },
		{ "xml", "a<b>&c]]>\"'", 11 },
		{ "cr", "one\rtwo\r\nthree\ttab", 18 },
		{ "utf8", "caf\xc3\xa9 \xe2\x82\xac \xef\xbf\xbd", 13 },
		{ "latin1", "caf\xe9", 4 },
		{ "ctl", "a\x01" "b\x1b\x7f", 5 },
		{ "nul", "a\0b", 3 },
		{ "astral", "smile \xf0\x9f\x98\x80", 10 },
		{ "nonchar", "\xef\xbf\xbe\xef\xbf\xbf", 6 },
		{ "slash", "back\\slash \\x41 \xff", 18 },
	};
	size_t per[] = { sizeof(m) / sizeof(m[0]) };

	CHECK(same_bytes(m, per, 1));
}

/* Random strings over the bytes that matter, many structs. */
TEST(random_strings)
{
	static const char alphabet[] = "aZ09 &<>\r\n\t\\\x01\x7f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
				       "\xef\xbf\xbe\xed\xa0\x80\xff";
	static char pool[64][40];
	static const char *const keys[] = { "path", "name", "uuid", "status", "x_1" };
	struct member m[64];
	size_t per[16], k = 0;
	unsigned seed = 12345;
	int bad = 0;

	for (int round = 0; round < 200 && !bad; round++) {
		k = 0;
		for (size_t s = 0; s < ARRAY_SIZE(per); s++) {
			per[s] = (seed = seed * 1103515245 + 12345) >> 16 & 3;
			for (size_t j = 0; j < per[s]; j++, k++) {
				size_t n = (seed = seed * 1103515245 + 12345) >> 16 & 31;
				for (size_t i = 0; i < n; i++)
					pool[k][i] = alphabet[((seed = seed * 1103515245 + 12345) >> 16) %
							      (sizeof(alphabet) - 1)];
				m[k] = (struct member){ keys[j], pool[k], n };
			}
		}
		bad = !same_bytes(m, per, ARRAY_SIZE(per));
	}
	CHECK(!bad);
}

int main(void)
{
	RUN(empty_array_and_empty_struct);
	RUN(strings_that_need_care);
	RUN(random_strings);
	return harness_done();
}
