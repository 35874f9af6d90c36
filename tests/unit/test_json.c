/* test_json.c - the bounded JSON reader and writer (agent/base/json.c):
 * what parses to which xmlrpc-c type, what is refused and with which
 * message, the depth, member and value bounds, and what the writer
 * refuses to write. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "json_text.h"
#include "agent/base/buf.h"
#include "agent/base/json.h"

static void parse_ok(const char *in, const char *want)
{
	char err[200];
	xmlrpc_value *v = json_parse(in, strlen(in), err, sizeof(err));
	char *s;

	if (!v) {
		fprintf(stderr, "  parse failed: %s: %s\n", in, err);
		harness_failed_now = 1;
		return;
	}
	s = to_json(v);
	CHECK_STR(s, want);
	free(s);
	xmlrpc_DECREF(v);
}

static void parse_bad(const char *in, size_t n, const char *want_err)
{
	char err[200] = "";
	xmlrpc_value *v = json_parse(in, n, err, sizeof(err));

	if (v) {
		fprintf(stderr, "  accepted: %.60s\n", in);
		harness_failed_now = 1;
		xmlrpc_DECREF(v);
		return;
	}
	if (!strstr(err, want_err)) {
		fprintf(stderr, "  %.60s: error \"%s\", expected \"%s\"\n", in, err, want_err);
		harness_failed_now = 1;
	}
}

static int type_of(const char *in)
{
	char err[200];
	xmlrpc_value *v = json_parse(in, strlen(in), err, sizeof(err));
	int t = v ? (int)xmlrpc_value_type(v) : -1;

	if (v)
		xmlrpc_DECREF(v);
	return t;
}

TEST(json_reader)
{
	char deep[600];
	int64_t i64 = 0;
	char err[100];
	xmlrpc_value *v;

	parse_ok(" {\"a\" : 1 ,\"b\":[ ],\"c\":{ } }\r\n", "{\"a\":1,\"b\":[],\"c\":{}}");
	parse_ok("[true,false,null,\"\\/\\b\\f\\n\\r\\t\\\\\\\"\"]",
		 "[true,false,null,\"/\\b\\f\\n\\r\\t\\\\\\\"\"]");
	parse_ok("\"\\u00e9\\u20ac\\ud83d\\ude00\\u001f\"", "\"\xc3\xa9\xe2\x82\xac\xef\xbf\xbd\\u001f\"");
	/* past U+FFFD: xmlrpc-c cannot hold it, so U+FFFD it is */
	parse_ok("\"\xf0\x9f\x98\x80|\\uffff|\xef\xbf\xbe|\xef\xbf\xbd\"",
		 "\"\xef\xbf\xbd|\xef\xbf\xbd|\xef\xbf\xbd|\xef\xbf\xbd\"");
	parse_ok("[0,-0,2147483647,-2147483648,2147483648,-9223372036854775808]",
		 "[0,0,2147483647,-2147483648,2147483648,-9223372036854775808]");
	parse_ok("[1.5,-0.0,1e3,1E-2,2.5e+1,1.5e-05]", "[1.5,-0.0,1000.0,0.01,25.0,1.5e-05]");
	parse_ok("18446744073709551615", "1.8446744073709552e+19");
	parse_ok("{\"a\":1,\"a\":2}", "{\"a\":2}");
	CHECK_INT(type_of("2147483647"), XMLRPC_TYPE_INT);
	CHECK_INT(type_of("2147483648"), XMLRPC_TYPE_I8);
	CHECK_INT(type_of("9223372036854775808"), XMLRPC_TYPE_DOUBLE);
	CHECK_INT(type_of("null"), XMLRPC_TYPE_NIL);
	v = json_parse("9007199254740992", 16, err, sizeof(err));
	CHECK(json_int64(v, &i64) == 0 && i64 == 9007199254740992LL);
	xmlrpc_DECREF(v);
	v = json_parse("1e19", 4, err, sizeof(err));
	CHECK(json_int64(v, &i64) == -1);
	xmlrpc_DECREF(v);
	v = json_parse("2.5", 3, err, sizeof(err));
	CHECK(json_int64(v, &i64) == -1);
	xmlrpc_DECREF(v);

	parse_bad("", 0, "expected a value");
	parse_bad("[1,2,", 5, "expected a value");
	parse_bad("[1,2", 4, "expected ',' or ']'");
	parse_bad("{\"a\":1,}", 8, "expected a member name");
	parse_bad("{\"a\" 1}", 7, "expected ':'");
	parse_bad("{'a':1}", 7, "expected a member name");
	parse_bad("[01]", 4, "expected ',' or ']'");
	parse_bad("[-]", 3, "malformed number");
	parse_bad("[1.]", 4, "malformed number");
	parse_bad("[1e]", 4, "malformed number");
	parse_bad("1e999", 5, "number out of range");
	parse_bad("nul", 3, "unexpected character");
	parse_bad("{} x", 4, "junk after the JSON value");
	parse_bad("\"abc", 4, "unterminated string");
	parse_bad("\"a\\", 3, "unterminated string");
	parse_bad("\"\\x\"", 4, "bad escape \\x");
	parse_bad("\"\\u12\"", 6, "bad \\u escape");
	parse_bad("\"\\ud800\"", 8, "unpaired UTF-16 surrogate");
	parse_bad("\"\\udc00\"", 8, "unpaired UTF-16 surrogate");
	parse_bad("\"\\u0000\"", 8, "\\u0000 in a string");
	parse_bad("\"a\tb\"", 5, "control character 0x09");
	parse_bad("\"a\0b\"", 5, "control character 0x00");
	parse_bad("\"\xc0\xaf\"", 4, "invalid UTF-8");          /* overlong '/' */
	parse_bad("\"\xed\xa0\x80\"", 5, "invalid UTF-8");      /* encoded surrogate */
	parse_bad("\"\xf4\x90\x80\x80\"", 6, "invalid UTF-8");  /* past U+10FFFF */
	parse_bad("\"\xe2\x82\"", 4, "invalid UTF-8");          /* cut short */

	memset(deep, '[', JSON_MAX_DEPTH);
	memset(deep + JSON_MAX_DEPTH, ']', JSON_MAX_DEPTH);
	v = json_parse(deep, 2 * JSON_MAX_DEPTH, err, sizeof(err));
	CHECK(v != NULL);
	if (v)
		xmlrpc_DECREF(v);
	memset(deep, '[', JSON_MAX_DEPTH + 1);
	memset(deep + JSON_MAX_DEPTH + 1, ']', JSON_MAX_DEPTH + 1);
	parse_bad(deep, 2 * JSON_MAX_DEPTH + 2, "nested deeper than 128");
}

TEST(json_reader_bounds)
{
	struct buf b;
	char err[100];
	xmlrpc_value *v;

	buf_init(&b, 0);
	buf_puts(&b, "{");
	for (int i = 0; i <= JSON_MAX_MEMBERS; i++)
		buf_printf(&b, "%s\"k%d\":0", i ? "," : "", i);
	buf_puts(&b, "}");
	parse_bad(b.data, b.len, "object with more than 1024 members");
	buf_reset(&b);
	buf_puts(&b, "[");
	for (int i = 0; i < JSON_MAX_VALUES; i++)
		buf_puts(&b, i ? ",0" : "0");
	buf_puts(&b, "]");
	parse_bad(b.data, b.len, "more than 262144 values");
	b.data[b.len - 3] = ']';  /* one value fewer */
	v = json_parse(b.data, b.len - 2, err, sizeof(err));
	CHECK(v != NULL);
	if (v)
		xmlrpc_DECREF(v);
	buf_free(&b);
}

TEST(json_writer_refuses)
{
	xmlrpc_env env;
	xmlrpc_value *v;
	struct buf b;
	char err[100];

	xmlrpc_env_init(&env);
	buf_init(&b, 0);
	v = xmlrpc_base64_new(&env, 3, (const unsigned char *)"abc");
	CHECK(json_write(&b, v, err, sizeof(err)) == -1);
	xmlrpc_DECREF(v);
	v = xmlrpc_double_new(&env, INFINITY);
	CHECK(json_write(&b, v, err, sizeof(err)) == -1);
	CHECK_STR(err, "JSON has no infinity or NaN");
	xmlrpc_DECREF(v);
	v = xmlrpc_string_new_lp(&env, 3, "a\0b");
	CHECK(json_write(&b, v, err, sizeof(err)) == -1);
	CHECK_STR(err, "a string holds a NUL byte");
	xmlrpc_DECREF(v);
	buf_free(&b);
	buf_init(&b, 8);
	v = xmlrpc_string_new(&env, "0123456789");
	CHECK(json_write(&b, v, err, sizeof(err)) == -1);
	CHECK_STR(err, "JSON text longer than 8 bytes");
	xmlrpc_DECREF(v);
	buf_free(&b);
	CHECK(!env.fault_occurred);
	xmlrpc_env_clean(&env);
}

int main(void)
{
	RUN(json_reader);
	RUN(json_reader_bounds);
	RUN(json_writer_refuses);
	return harness_done();
}
