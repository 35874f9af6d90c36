/* fuzz_http.c - libFuzzer target for the HTTP request and response head
 * parsers and the basic-auth base64 decoder. Every input goes through both
 * parsers; checks that views stay inside the head and results keep their
 * contracts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/server/http.h"

static void inside(const uint8_t *data, size_t size, struct http_view v)
{
	if (v.p && ((const uint8_t *)v.p < data || (const uint8_t *)v.p + v.n > data + size))
		abort();
}

static void response(const uint8_t *data, size_t size)
{
	struct http_response r;
	int n = http_parse_response_head((const char *)data, size, 4096, &r);

	if (n > 0) {
		if ((size_t)n > size || (size_t)n > 4096 || r.head_len != (size_t)n ||
		    r.status < 100 || r.status > 599 || (r.status < 200 && r.status != 101) ||
		    r.content_length < -1 || (r.chunked && !r.transfer_encoding.p))
			abort();
		inside(data, (size_t)n, r.reason);
		inside(data, (size_t)n, r.transfer_encoding);
		inside(data, (size_t)n, r.content_type);
		/* the head is a pure function of its own bytes */
		struct http_response again;
		if (http_parse_response_head((const char *)data, (size_t)n, (size_t)n, &again) != n ||
		    again.status != r.status || again.content_length != r.content_length)
			abort();
	} else if (n != 0 && n != HTTP_RESPONSE_BAD && n != HTTP_RESPONSE_TOO_LONG) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request r;
	int n = http_parse_head((const char *)data, size, 4096, &r);

	response(data, size);

	if (n > 0) {
		if ((size_t)n > size || (size_t)n > 4096 || r.head_len != (size_t)n)
			abort();
		inside(data, size, r.method_name);
		inside(data, size, r.target);
		inside(data, size, r.authorization);
		inside(data, size, r.content_type);
		if (r.authorization.p) {
			char *out = malloc(r.authorization.n * 3 / 4 + 2);
			http_base64_decode(r.authorization.p, r.authorization.n, out);
			free(out);
		}
	} else if (n != 0 && n != -400 && n != -431 && n != -501 && n != -505) {
		abort();
	}
	return 0;
}
