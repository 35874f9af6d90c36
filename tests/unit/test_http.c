/* test_http.c - the HTTP request and response head parsers and the
 * response writer. */
#include <stdbool.h>
#include <string.h>

#include "harness.h"
#include "agent/server/http.h"

static int parse(const char *s, struct http_request *r)
{
	return http_parse_head(s, strlen(s), 8192, r);
}

TEST(simple_post)
{
	struct http_request r;
	const char *s = "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n"
			"Authorization: Basic YWRtaW46c2VjcmV0\r\n\r\n<body>";
	int n = parse(s, &r);

	CHECK_INT(n, (int)(strstr(s, "<body>") - s));
	CHECK_INT(r.method, HTTP_POST);
	CHECK_INT(r.content_length, 12);
	CHECK(r.keep_alive);
	CHECK_INT(r.minor, 1);
	CHECK(r.target.n == 5 && memcmp(r.target.p, "/RPC2", 5) == 0);
	CHECK(http_view_ieq(r.authorization, "basic YWRtaW46c2VjcmV0"));
}

TEST(incomplete_needs_more)
{
	struct http_request r;

	CHECK_INT(parse("POST /RPC2 HTTP/1.1\r\nHost: x\r\n", &r), 0);
	CHECK_INT(parse("POST /RP", &r), 0);
	CHECK_INT(parse("", &r), 0);
}

TEST(bare_lf_and_leading_blank_lines)
{
	struct http_request r;

	CHECK(parse("\r\n\r\nGET / HTTP/1.0\nConnection: keep-alive\n\n", &r) > 0);
	CHECK_INT(r.method, HTTP_GET);
	CHECK(r.keep_alive);
	CHECK(parse("GET / HTTP/1.0\r\n\r\n", &r) > 0);
	CHECK(!r.keep_alive);
	CHECK(parse("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n", &r) > 0);
	CHECK(!r.keep_alive);
	CHECK(parse("GET / HTTP/1.1\r\nConnection: TE, close\r\n\r\n", &r) > 0);
	CHECK(!r.keep_alive);
}

TEST(methods)
{
	struct http_request r;

	CHECK(parse("HEAD / HTTP/1.1\r\n\r\n", &r) > 0);
	CHECK_INT(r.method, HTTP_HEAD);
	CHECK(parse("PUT / HTTP/1.1\r\n\r\n", &r) > 0);
	CHECK_INT(r.method, HTTP_OTHER);
	CHECK(parse("get / HTTP/1.1\r\n\r\n", &r) > 0);
	CHECK_INT(r.method, HTTP_OTHER); /* methods are case-sensitive */
}

TEST(malformed)
{
	struct http_request r;

	CHECK_INT(parse("POST /RPC2\r\n\r\n", &r), -400);
	CHECK_INT(parse("POST  /RPC2 HTTP/1.1\r\n\r\n", &r), -400);
	CHECK_INT(parse("PO(ST / HTTP/1.1\r\n\r\n", &r), -400);
	CHECK_INT(parse("POST / HTTP/1.1x\r\n\r\n", &r), -400);
	CHECK_INT(parse("POST / HTTP/2.0\r\n\r\n", &r), -505);
	CHECK_INT(parse("POST / HTTP/1.1\r\nNo colon here\r\n\r\n", &r), -400);
	CHECK_INT(parse("POST / HTTP/1.1\r\nName : v\r\n\r\n", &r), -400);
	CHECK_INT(parse("POST / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", &r), -400);
	CHECK_INT(parse("POST / HTTP/1.1\r\nA: b\x01\r\n\r\n", &r), -400);
	CHECK_INT(parse("\x16\x03\x01\x02\x00", &r), -400); /* TLS on a plain port */
	CHECK_INT(parse("POST / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n", &r), -400);
}

TEST(content_length_rules)
{
	struct http_request r;

	CHECK_INT(parse("POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", &r), -400);
	CHECK_INT(parse("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", &r), -400);
	CHECK_INT(parse("POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", &r), -400);
	CHECK_INT(parse("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", &r), -400);
	/* the same length twice is harmless; two different ones are smuggling */
	CHECK(parse("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", &r) > 0);
	CHECK_INT(parse("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", &r), -400);
	CHECK_INT(parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &r), -501);
	CHECK(parse("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n", &r) > 0);
	CHECK(r.expect_continue);
	CHECK_INT(parse("POST / HTTP/1.1\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n", &r), -400);
}

TEST(header_limit)
{
	struct http_request r;
	char big[3000];

	memset(big, 'a', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	/* incomplete and already past the bound */
	CHECK_INT(http_parse_head(big, sizeof(big), 2048, &r), -431);
	/* incomplete but within the bound: wait */
	CHECK_INT(http_parse_head(big, 1000, 2048, &r), 0);
	/* complete, but the blank line lies past the bound */
	memcpy(big + 2500, "\r\n\r\n", 4);
	CHECK_INT(http_parse_head(big, 2504, 2048, &r), -431);
	CHECK(http_parse_head(big, 2504, 4096, &r) == 2504);
}

TEST(base64)
{
	char out[64];

	CHECK_INT(http_base64_decode("YWRtaW46c2VjcmV0", 16, out), 12);
	CHECK_STR(out, "admin:secret");
	CHECK_INT(http_base64_decode("YQ==", 4, out), 1);
	CHECK_STR(out, "a");
	CHECK_INT(http_base64_decode("YQ=", 3, out), -1);
	CHECK_INT(http_base64_decode("Y!==", 4, out), -1);
	CHECK_INT(http_base64_decode("YQ==YQ==", 8, out), -1);
	CHECK_INT(http_base64_decode("", 0, out), 0);
}

TEST(write_head)
{
	struct buf b;

	buf_init(&b, 0);
	CHECK_INT(http_write_head(&b, 403, "text/plain", 5, true, "Retry-After: 1\r\n"), 0);
	CHECK(strncmp(b.data, "HTTP/1.1 403 Forbidden\r\n", 24) == 0);
	CHECK(strstr(b.data, "\r\nContent-Length: 5\r\n") != NULL);
	CHECK(strstr(b.data, "\r\nConnection: keep-alive\r\n") != NULL);
	CHECK(strstr(b.data, "\r\nRetry-After: 1\r\n\r\n") != NULL);
	CHECK(strstr(b.data, "\r\nDate: ") != NULL);
	buf_free(&b);
	buf_init(&b, 20);
	CHECK_INT(http_write_head(&b, 200, NULL, 0, false, NULL), -1);
	CHECK(b.failed);
	buf_free(&b);
}

/* ---- the response head parser ---- */

static int presp(const char *s, struct http_response *r)
{
	return http_parse_response_head(s, strlen(s), 8192, r);
}

static bool view_is(struct http_view v, const char *s)
{
	return v.p && v.n == strlen(s) && memcmp(v.p, s, v.n) == 0;
}

TEST(response_simple)
{
	struct http_response r;
	const char *s = "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 12\r\n"
			"Server: x\r\n\r\n<body>";

	CHECK_INT(presp(s, &r), (int)(strstr(s, "<body>") - s));
	CHECK_INT(r.head_len, strstr(s, "<body>") - s);
	CHECK_INT(r.status, 200);
	CHECK_INT(r.minor, 1);
	CHECK(view_is(r.reason, "OK"));
	CHECK_INT(r.content_length, 12);
	CHECK(view_is(r.content_type, "text/xml"));
	CHECK(!r.transfer_encoding.p);
	CHECK(!r.chunked);
	CHECK(r.keep_alive);
}

TEST(response_versions_and_connection)
{
	struct http_response r;

	CHECK(presp("HTTP/1.0 200 OK\r\n\r\n", &r) > 0);
	CHECK_INT(r.minor, 0);
	CHECK(!r.keep_alive);
	CHECK_INT(r.content_length, -1);
	CHECK(presp("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n\r\n", &r) > 0);
	CHECK(r.keep_alive);
	CHECK(presp("HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\n\r\n", &r) > 0);
	CHECK(!r.keep_alive);
	/* bare LF, no reason, no space before it */
	CHECK(presp("HTTP/1.1 204\n\n", &r) > 0);
	CHECK_INT(r.status, 204);
	CHECK_INT(r.reason.n, 0);
	CHECK(presp("HTTP/1.1 403 \r\n\r\n", &r) > 0);
	CHECK_INT(r.reason.n, 0);
	CHECK(presp("HTTP/1.1 500 Internal Server Error\r\n\r\n", &r) > 0);
	CHECK(view_is(r.reason, "Internal Server Error"));
}

TEST(response_incomplete_and_limit)
{
	struct http_response r;
	char big[3000];

	CHECK_INT(presp("", &r), 0);
	CHECK_INT(http_parse_response_head(NULL, 0, 100, &r), 0);
	CHECK_INT(presp("HTTP/1.1 200 O", &r), 0);
	CHECK_INT(presp("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n", &r), 0);
	CHECK_INT(presp("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r", &r), 0);
	memset(big, 'a', sizeof(big));
	memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
	CHECK_INT(http_parse_response_head(big, sizeof(big), 2048, &r), HTTP_RESPONSE_TOO_LONG);
	CHECK_INT(http_parse_response_head(big, 1000, 2048, &r), 0);
	memcpy(big + 2500, "\r\n\r\n", 4);
	CHECK_INT(http_parse_response_head(big, 2504, 2048, &r), HTTP_RESPONSE_TOO_LONG);
	CHECK_INT(http_parse_response_head(big, 2504, 4096, &r), 2504);
}

TEST(response_malformed)
{
	static const char *const bad[] = {
		"HTTP/2 200 OK\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/1.1 600 Huh\r\n\r\n",
		"HTTP/1.x 200 OK\r\n\r\n",
		"http/1.1 200 OK\r\n\r\n",
		"HTTP/1.1  200 OK\r\n\r\n",
		"HTTP/1.1 200 O\x1bK\r\n\r\n",          /* a control byte in the reason */
		"<html>\r\n\r\n",
		"HTTP/1.1 200 OK\r\nNo colon\r\n\r\n",
		"HTTP/1.1 200 OK\r\nName : v\r\n\r\n",
		"HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n",
		"HTTP/1.1 200 OK\r\nA: b\x01\r\n\r\n",
	};
	struct http_response r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(presp(bad[i], &r), HTTP_RESPONSE_BAD);
}

TEST(response_content_length)
{
	struct http_response r;

	CHECK(presp("HTTP/1.1 200 OK\r\ncontent-length:  0 \r\n\r\n", &r) > 0);
	CHECK_INT(r.content_length, 0);
	CHECK(presp("HTTP/1.1 200 OK\r\nContent-Length: 999999999999999999\r\n\r\n", &r) > 0);
	CHECK_INT(r.content_length, 999999999999999999LL);
	CHECK_INT(presp("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", &r),
		  HTTP_RESPONSE_BAD);
	CHECK_INT(presp("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", &r), HTTP_RESPONSE_BAD);
	CHECK_INT(presp("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", &r), HTTP_RESPONSE_BAD);
	CHECK_INT(presp("HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n", &r), HTTP_RESPONSE_BAD);
	CHECK_INT(presp("HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", &r), HTTP_RESPONSE_BAD);
	CHECK(presp("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", &r) > 0);
	CHECK_INT(presp("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", &r),
		  HTTP_RESPONSE_BAD);
}

TEST(response_transfer_encoding)
{
	struct http_response r;

	CHECK(presp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", &r) > 0);
	CHECK(r.chunked);
	CHECK(view_is(r.transfer_encoding, "chunked"));
	CHECK(presp("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n", &r) > 0);
	CHECK(r.chunked);
	/* chunked must be the last coding to frame the body */
	CHECK(presp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", &r) > 0);
	CHECK(!r.chunked);
	CHECK(r.transfer_encoding.p != NULL);
	CHECK(presp("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n", &r) > 0);
	CHECK(r.chunked);
}

TEST(response_interim_heads_skipped)
{
	struct http_response r;
	const char *s = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\n"
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

	CHECK_INT(presp(s, &r), (int)strlen(s) - 2);
	CHECK_INT(r.status, 200);
	CHECK_INT(r.content_length, 2);
	CHECK(view_is(r.reason, "OK"));
	/* the final head is not there yet */
	CHECK_INT(presp("HTTP/1.1 100 Continue\r\n\r\n", &r), 0);
	CHECK_INT(presp("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 2", &r), 0);
	CHECK_INT(presp("HTTP/1.1 100 Continue\r\n\r\nbogus\r\n\r\n", &r), HTTP_RESPONSE_BAD);
	/* 101 is final */
	CHECK(presp("HTTP/1.1 101 Switching Protocols\r\n\r\n", &r) > 0);
	CHECK_INT(r.status, 101);
	/* the bound covers interim heads too */
	CHECK_INT(http_parse_response_head(s, strlen(s), 30, &r), HTTP_RESPONSE_TOO_LONG);
}

int main(void)
{
	RUN(simple_post);
	RUN(incomplete_needs_more);
	RUN(bare_lf_and_leading_blank_lines);
	RUN(methods);
	RUN(malformed);
	RUN(content_length_rules);
	RUN(header_limit);
	RUN(base64);
	RUN(write_head);
	RUN(response_simple);
	RUN(response_versions_and_connection);
	RUN(response_incomplete_and_limit);
	RUN(response_malformed);
	RUN(response_content_length);
	RUN(response_transfer_encoding);
	RUN(response_interim_heads_skipped);
	return harness_done();
}
