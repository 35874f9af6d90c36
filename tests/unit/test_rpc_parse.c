/* test_rpc_parse.c - the XML-RPC parser over libxml2 (agent/rpc_parse.c)
 * and its scalar checks (agent/rpc_scalar.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "agent/base/buf.h"
#include "agent/rpc/rpc_parse.h"
#include "agent/rpc/rpc_string.h"

static char err[600];

/* Parse a call with one param whose <value> body is v. */
static int call1(const char *v, xmlrpc_value **out)
{
	struct rpc_message m;
	struct buf b;
	int rc;

	buf_init(&b, 0);
	buf_printf(&b, "<?xml version=\"1.0\"?><methodCall><methodName>m</methodName>"
		       "<params><param><value>%s</value></param></params></methodCall>", v);
	rc = rpc_parse_call(b.data, b.len, &m, err, sizeof(err));
	buf_free(&b);
	if (rc == 0) {
		xmlrpc_env env;
		xmlrpc_env_init(&env);
		xmlrpc_array_read_item(&env, m.params, 0, out);
		xmlrpc_env_clean(&env);
		rpc_message_free(&m);
	}
	return rc;
}

static int refused(const char *v, const char *phrase)
{
	xmlrpc_value *x = NULL;

	if (call1(v, &x) == 0) {
		xmlrpc_DECREF(x);
		fprintf(stderr, "  accepted: %s\n", v);
		return 0;
	}
	if (!strstr(err, phrase) || strncmp(err, "line ", 5) != 0) {
		fprintf(stderr, "  '%s' lacks '%s'\n", err, phrase);
		return 0;
	}
	return 1;
}

static int raw_refused(const char *doc, size_t n, const char *phrase)
{
	struct rpc_message m;

	if (rpc_parse_call(doc, n, &m, err, sizeof(err)) == 0) {
		rpc_message_free(&m);
		fprintf(stderr, "  accepted document\n");
		return 0;
	}
	if (!strstr(err, phrase)) {
		fprintf(stderr, "  '%s' lacks '%s'\n", err, phrase);
		return 0;
	}
	return 1;
}

TEST(call_with_every_type)
{
	const char *doc =
		"<?xml version='1.0'?>\n<methodCall><methodName>echo</methodName><params>"
		"<param><value><string>a&amp;b</string></value></param>"
		"<param><value>untyped</value></param>"
		"<param><value><int> -7 </int></value></param>"
		"<param><value><i8>-9223372036854775808</i8></value></param>"
		"<param><value><boolean>1</boolean></value></param>"
		"<param><value><double>-1.5e3</double></value></param>"
		"<param><value><dateTime.iso8601>20260131T23:59:58</dateTime.iso8601></value></param>"
		"<param><value><base64>aGk=</base64></value></param>"
		"<param><value><array><data><value>x</value><value><nil/></value></data></array></value></param>"
		"<param><value><struct><member><name>k</name><value><i4>1</i4></value></member></struct></value></param>"
		"<param><value><ex:i8 xmlns:ex='http://ws.apache.org/xmlrpc/namespaces/extensions'>5</ex:i8></value></param>"
		"<param><value></value></param>"
		"</params></methodCall>";
	struct rpc_message m;
	xmlrpc_env env;
	xmlrpc_value *v;
	const char *s;
	int i;
	xmlrpc_int64 i8;
	xmlrpc_bool b;
	double d;
	const unsigned char *bytes;
	size_t n;

	CHECK_INT(rpc_parse_call(doc, strlen(doc), &m, err, sizeof(err)), 0);
	if (!m.params)
		return;
	CHECK_STR(m.method, "echo");
	xmlrpc_env_init(&env);
	CHECK_INT(xmlrpc_array_size(&env, m.params), 12);
	xmlrpc_array_read_item(&env, m.params, 0, &v);
	xmlrpc_read_string(&env, v, &s);
	CHECK_STR(s, "a&b");
	free((char *)s);
	xmlrpc_DECREF(v);
	xmlrpc_array_read_item(&env, m.params, 1, &v);
	xmlrpc_read_string(&env, v, &s);
	CHECK_STR(s, "untyped");
	free((char *)s);
	xmlrpc_DECREF(v);
	xmlrpc_array_read_item(&env, m.params, 2, &v);
	xmlrpc_read_int(&env, v, &i);
	CHECK_INT(i, -7);
	xmlrpc_DECREF(v);
	xmlrpc_array_read_item(&env, m.params, 3, &v);
	xmlrpc_read_i8(&env, v, &i8);
	CHECK(i8 == INT64_MIN);
	xmlrpc_DECREF(v);
	xmlrpc_array_read_item(&env, m.params, 4, &v);
	xmlrpc_read_bool(&env, v, &b);
	CHECK(b);
	xmlrpc_DECREF(v);
	xmlrpc_array_read_item(&env, m.params, 5, &v);
	xmlrpc_read_double(&env, v, &d);
	CHECK(d == -1500.0);
	xmlrpc_DECREF(v);
	xmlrpc_array_read_item(&env, m.params, 6, &v);
	xmlrpc_read_datetime_str(&env, v, &s);
	CHECK_STR(s, "20260131T23:59:58");
	free((char *)s);
	xmlrpc_DECREF(v);
	xmlrpc_array_read_item(&env, m.params, 7, &v);
	xmlrpc_read_base64(&env, v, &n, &bytes);
	CHECK(n == 2 && memcmp(bytes, "hi", 2) == 0);
	free((void *)bytes);
	xmlrpc_DECREF(v);
	xmlrpc_array_read_item(&env, m.params, 8, &v);
	CHECK_INT(xmlrpc_array_size(&env, v), 2);
	xmlrpc_DECREF(v);
	xmlrpc_array_read_item(&env, m.params, 9, &v);
	CHECK_INT(xmlrpc_struct_size(&env, v), 1);
	xmlrpc_DECREF(v);
	xmlrpc_array_read_item(&env, m.params, 10, &v);
	CHECK(xmlrpc_value_type(v) == XMLRPC_TYPE_I8);
	xmlrpc_DECREF(v);
	xmlrpc_array_read_item(&env, m.params, 11, &v);
	xmlrpc_read_string(&env, v, &s);
	CHECK_STR(s, "");
	free((char *)s);
	xmlrpc_DECREF(v);
	CHECK(!env.fault_occurred);
	xmlrpc_env_clean(&env);
	rpc_message_free(&m);
}

TEST(no_params)
{
	const char *a = "<methodCall><methodName>x</methodName></methodCall>";
	const char *b = "<methodCall><methodName>x</methodName><params/></methodCall>";
	struct rpc_message m;
	xmlrpc_env env;

	xmlrpc_env_init(&env);
	CHECK_INT(rpc_parse_call(a, strlen(a), &m, err, sizeof(err)), 0);
	CHECK_INT(xmlrpc_array_size(&env, m.params), 0);
	rpc_message_free(&m);
	CHECK_INT(rpc_parse_call(b, strlen(b), &m, err, sizeof(err)), 0);
	CHECK_INT(xmlrpc_array_size(&env, m.params), 0);
	rpc_message_free(&m);
	xmlrpc_env_clean(&env);
}

TEST(bad_integers)
{
	CHECK(refused("<i8>abc</i8>", "not a 64-bit integer"));
	CHECK(refused("<i8>9223372036854775808</i8>", "not a 64-bit integer"));
	CHECK(refused("<i8>-9223372036854775809</i8>", "not a 64-bit integer"));
	CHECK(refused("<i8>1.5</i8>", "not a 64-bit integer"));
	CHECK(refused("<i8></i8>", "not a 64-bit integer"));
	CHECK(refused("<i8>-</i8>", "not a 64-bit integer"));
	CHECK(refused("<int>2147483648</int>", "not a 32-bit integer"));
	CHECK(refused("<i4>-2147483649</i4>", "not a 32-bit integer"));
	CHECK(refused("<int>1 2</int>", "not a 32-bit integer"));
	CHECK(refused("<int>0x10</int>", "not a 32-bit integer"));
}

TEST(integer_edges)
{
	xmlrpc_value *v = NULL;
	xmlrpc_env env;
	int i = 0;

	xmlrpc_env_init(&env);
	CHECK_INT(call1("<int>-2147483648</int>", &v), 0);
	if (v) {
		xmlrpc_read_int(&env, v, &i);
		CHECK_INT(i, INT32_MIN);
		xmlrpc_DECREF(v);
	}
	CHECK_INT(call1("<i4>+2147483647</i4>", &v), 0);
	if (v) {
		xmlrpc_read_int(&env, v, &i);
		CHECK_INT(i, INT32_MAX);
		xmlrpc_DECREF(v);
	}
	xmlrpc_env_clean(&env);
}

TEST(bad_scalars)
{
	CHECK(refused("<boolean>2</boolean>", "boolean must be 0 or 1"));
	CHECK(refused("<boolean>true</boolean>", "boolean must be 0 or 1"));
	CHECK(refused("<double>nan</double>", "not a double"));
	CHECK(refused("<double>inf</double>", "not a double"));
	CHECK(refused("<double>1e999</double>", "not a double"));
	CHECK(refused("<double>1e</double>", "not a double"));
	CHECK(refused("<double>.</double>", "not a double"));
	CHECK(refused("<double>0x1p3</double>", "not a double"));
	CHECK(refused("<dateTime.iso8601>2026-13-01T00:00:00</dateTime.iso8601>",
		      "not a dateTime.iso8601"));
	CHECK(refused("<dateTime.iso8601>20260230T00:00:00</dateTime.iso8601>",
		      "not a dateTime.iso8601"));
	CHECK(refused("<dateTime.iso8601>garbage</dateTime.iso8601>", "not a dateTime.iso8601"));
	/* found by fuzz_rpc_parse: xmlrpc-c writes year 0226 as "226" */
	CHECK(refused("<dateTime.iso8601>0226-01-31T23:30:00.25+01:00</dateTime.iso8601>",
		      "of the years 1000 to 9999"));
	CHECK(refused("<dateTime.iso8601>10000101T00:30:00+01:00</dateTime.iso8601>",
		      "of the years 1000 to 9999"));
	CHECK(refused("<base64>a$==</base64>", "not valid base64"));
	CHECK(refused("<base64>abc</base64>", "not valid base64"));
	CHECK(refused("<base64>a===</base64>", "not valid base64"));
	CHECK(refused("<base64>ab=c</base64>", "not valid base64"));
	CHECK(refused("<nil>x</nil>", "must be empty"));
	CHECK(refused("smile \xf0\x9f\x98\x80", "U+1F600: characters beyond U+FFFF"));
	CHECK(refused("<string>&#x1F600;</string>", "beyond U+FFFF"));
}

TEST(datetime_forms)
{
	xmlrpc_value *v = NULL;
	xmlrpc_env env;
	const char *s;

	xmlrpc_env_init(&env);
	CHECK_INT(call1("<dateTime.iso8601>2026-01-31T23:30:00+01:00</dateTime.iso8601>", &v), 0);
	if (v) {
		xmlrpc_read_datetime_str(&env, v, &s);
		CHECK_STR(s, "20260131T22:30:00");
		free((char *)s);
		xmlrpc_DECREF(v);
	}
	CHECK_INT(call1("<dateTime.iso8601>20241231T23:30:00-01:00</dateTime.iso8601>", &v), 0);
	if (v) {
		xmlrpc_read_datetime_str(&env, v, &s);
		CHECK_STR(s, "20250101T00:30:00");
		free((char *)s);
		xmlrpc_DECREF(v);
	}
	CHECK_INT(call1("<dateTime.iso8601>20240229T000000.5Z</dateTime.iso8601>", &v), 0);
	if (v)
		xmlrpc_DECREF(v);
	xmlrpc_env_clean(&env);
}

TEST(structure_errors)
{
	CHECK(refused("<a>1</a>", "unexpected element <a> inside <value>"));
	CHECK(refused("<array><value>1</value></array>", "unexpected element"));
	CHECK(refused("<array></array>", "needs a <data>"));
	CHECK(refused("<struct><member><value>1</value></member></struct>", "unexpected element"));
	CHECK(refused("<struct><member><name>a</name></member></struct>", "<member> needs"));
	CHECK(refused("<struct><member><name>a</name><value>1</value></member>"
		      "<member><name>a</name><value>2</value></member></struct>", "appears twice"));
	CHECK(refused("<int>1</int><int>2</int>", "out of order or repeated"));
	CHECK(refused("x<int>1</int>", "text before <int>"));
	CHECK(refused("<int><b/></int>", "unexpected element"));
	CHECK(raw_refused("<methodResponse/>", 17, "must be a <methodCall>"));
	CHECK(raw_refused("<methodCall><params/></methodCall>", 34, "needs a <methodName> before"));
	CHECK(raw_refused("<methodCall></methodCall>", 25, "needs a <methodName>"));
	CHECK(raw_refused("<methodCall><methodName> </methodName></methodCall>", 51, "is empty"));
	CHECK(raw_refused("", 0, "line 1"));
	CHECK(raw_refused("<methodCall><methodName>x</methodName>", 38, "not well-formed"));
	CHECK(raw_refused("<methodCall><methodName>x&#1;</methodName></methodCall>", 55,
			  "not well-formed"));
	CHECK(raw_refused("<methodCall><methodName>\xff</methodName></methodCall>", 50,
			  "not well-formed"));
}

TEST(dtd_refused_in_any_encoding)
{
	const char *utf8 = "<?xml version='1.0'?><!DOCTYPE m [<!ENTITY a 'aaaa'>]>"
			   "<methodCall><methodName>&a;</methodName></methodCall>";
	char utf16[512];
	size_t n = 0;

	CHECK(raw_refused(utf8, strlen(utf8), "DTD"));
	/* The same as UTF-16LE with a byte-order mark. */
	utf16[n++] = (char)0xff;
	utf16[n++] = (char)0xfe;
	for (const char *c = "<?xml version='1.0' encoding='UTF-16'?><!DOCTYPE m [<!ENTITY a "
			     "'aaaa'>]><methodCall><methodName>&a;</methodName></methodCall>";
	     *c; c++) {
		utf16[n++] = *c;
		utf16[n++] = 0;
	}
	CHECK(raw_refused(utf16, n, "DTD"));
	CHECK(raw_refused("<methodCall><methodName>&a;</methodName></methodCall>", 53,
			  "not well-formed"));
}

TEST(latin1_body)
{
	const char *doc = "<?xml version='1.0' encoding='ISO-8859-1'?><methodCall><methodName>"
			  "echo</methodName><params><param><value>caf\xe9</value></param></params>"
			  "</methodCall>";
	struct rpc_message m;
	xmlrpc_env env;
	xmlrpc_value *v;
	const char *s;

	CHECK_INT(rpc_parse_call(doc, strlen(doc), &m, err, sizeof(err)), 0);
	if (!m.params)
		return;
	xmlrpc_env_init(&env);
	xmlrpc_array_read_item(&env, m.params, 0, &v);
	xmlrpc_read_string(&env, v, &s);
	CHECK_STR(s, "caf\xc3\xa9");
	free((char *)s);
	xmlrpc_DECREF(v);
	xmlrpc_env_clean(&env);
	rpc_message_free(&m);
}

/* Deep documents of several shapes stop at the depth limit, whole or cut. */
TEST(deep_nesting)
{
	static const char *shapes[] = { "<a>", "<value><array><data>",
					"<value><struct><member><name>a</name>" };
	for (size_t k = 0; k < 3; k++) {
		struct buf b;
		buf_init(&b, 0);
		buf_puts(&b, "<methodCall><methodName>m</methodName><params><param>");
		for (int i = 0; i < 100000; i++)
			buf_puts(&b, shapes[k]);
		CHECK(raw_refused(b.data, b.len, k == 0 ? "unexpected element" : "nested deeper than 256"));
		buf_free(&b);
	}
	{
		struct buf b;
		buf_init(&b, 0);
		buf_puts(&b, "<methodCall><methodName>m</methodName><params><param><value>");
		for (int i = 0; i < 300; i++)
			buf_puts(&b, "<array><data><value>");
		CHECK(raw_refused(b.data, b.len, "nested deeper than 256"));
		buf_free(&b);
	}
}

TEST(struct_and_value_bounds)
{
	struct buf b;

	buf_init(&b, 0);
	buf_puts(&b, "<struct>");
	for (int i = 0; i < 1025; i++)
		buf_printf(&b, "<member><name>m%d</name><value/></member>", i);
	buf_puts(&b, "</struct>");
	CHECK(refused(b.data, "more than 1024 members"));
	buf_free(&b);
	buf_init(&b, 0);
	buf_puts(&b, "<array><data>");
	for (int i = 0; i < 100001; i++)
		buf_puts(&b, "<value/>");
	buf_puts(&b, "</data></array>");
	CHECK(refused(b.data, "more than 100000 values"));
	buf_free(&b);
}

TEST(responses)
{
	const char *ok = "<methodResponse><params><param><value><i4>3</i4></value></param>"
			 "</params></methodResponse>";
	const char *fault = "<methodResponse><fault><value><struct><member><name>faultCode"
			    "</name><value><int>4</int></value></member><member><name>faultString"
			    "</name><value>no</value></member></struct></value></fault>"
			    "</methodResponse>";
	const char *bad = "<methodResponse><fault><value>x</value></fault></methodResponse>";
	const char *two = "<methodResponse><params><param><value>1</value></param><param><value>"
			  "2</value></param></params></methodResponse>";
	struct rpc_message m;

	CHECK_INT(rpc_parse_response(ok, strlen(ok), &m, err, sizeof(err)), 0);
	CHECK(m.result && !m.fault && xmlrpc_value_type(m.result) == XMLRPC_TYPE_INT);
	rpc_message_free(&m);
	CHECK_INT(rpc_parse_response(fault, strlen(fault), &m, err, sizeof(err)), 0);
	CHECK(m.fault && !m.result && m.fault_code == 4);
	CHECK_STR(m.fault_string, "no");
	rpc_message_free(&m);
	CHECK_INT(rpc_parse_response(bad, strlen(bad), &m, err, sizeof(err)), -1);
	CHECK_INT(rpc_parse_response(two, strlen(two), &m, err, sizeof(err)), -1);
	CHECK_INT(rpc_parse_call(ok, strlen(ok), &m, err, sizeof(err)), -1);
}

/* libxml2 2.9 checks attributes pairwise: many are refused before it. */
TEST(attributes_bounded_first)
{
	struct buf b;

	buf_init(&b, 0);
	buf_puts(&b, "<methodCall><methodName>m</methodName><params><param><value><string");
	for (int i = 0; i < 400000; i++)
		buf_printf(&b, " a%d=\"\"", i);
	buf_puts(&b, "/></value></param></params></methodCall>");
	CHECK(raw_refused(b.data, b.len, "line 1: an element has more than 32 attributes"));
	buf_free(&b);
	/* '=' and '>' inside attribute values are not markup */
	{
		xmlrpc_value *v = NULL;
		CHECK_INT(call1("<string a='=>=>=>=>=>=>=>=>=>=>=>=>=>=>=>=>=>=>=>=>=>=>=>=>=>=>="
				">=>=>=>=>=>=>=>'>x</string>", &v), 0);
		if (v)
			xmlrpc_DECREF(v);
	}
	buf_init(&b, 0);
	buf_puts(&b, "<array><data>");
	for (int i = 0; i < 300; i++)
		buf_puts(&b, "<value xmlns:p='u'/>");
	buf_puts(&b, "</data></array>");
	CHECK(refused(b.data, "more than 256 attributes"));
	buf_free(&b);
}

TEST(encodings_refused)
{
	const char *utf7 = "<?xml version='1.0' encoding='UTF-7'?><methodCall><methodName>x"
			   "</methodName></methodCall>";
	const char ucs4[] = { 0, 0, 0, '<', 0, 0, 0, '?' };

	CHECK(raw_refused(utf7, strlen(utf7), "encoding 'UTF-7' is not accepted"));
	CHECK(raw_refused(ucs4, sizeof(ucs4), "UCS-4 or EBCDIC"));
}

/* libxml2 quotes the document in its messages: a PI name that decodes
 * (from UTF-16 here) to a character beyond U+FFFF must not reach the
 * fault text, which a reply could not carry (found by fuzz_rpc_parse). */
TEST(error_quoting_the_document_is_reply_text)
{
	static const unsigned char doc[] = {
		0xff, 0xfe, '<', 0, '?', 0, 'x', 0xd9, 0xd9, 0xdd, 0xd9, 0xd9, 0xd9, 0xd9,
		0xd9, 0xd9, 0xd9, 0xd9, 0xd9, '>', '<', '>', '<', 'd', 'a', 't', 'a', '>',
		'a', 0, 'l', 0, 'l', 0, '>', 0, '1', 0,
	};

	CHECK(raw_refused((const char *)doc, sizeof(doc), "line 1: not well-formed XML"));
	CHECK(rpc_text_ok(err, strlen(err)));
}

int main(void)
{
	RUN(call_with_every_type);
	RUN(no_params);
	RUN(bad_integers);
	RUN(integer_edges);
	RUN(bad_scalars);
	RUN(datetime_forms);
	RUN(structure_errors);
	RUN(dtd_refused_in_any_encoding);
	RUN(latin1_body);
	RUN(deep_nesting);
	RUN(struct_and_value_bounds);
	RUN(responses);
	RUN(attributes_bounded_first);
	RUN(encodings_refused);
	RUN(error_quoting_the_document_is_reply_text);
	return harness_done();
}
