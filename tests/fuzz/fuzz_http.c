/* fuzz_http.c - libFuzzer target for the HTTP request head parser and the
 * basic-auth base64 decoder. Checks that views stay inside the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/server/http.h"

static void inside(const uint8_t *data, size_t size, struct http_view v)
{
	if (v.p && ((const uint8_t *)v.p < data || (const uint8_t *)v.p + v.n > data + size))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request r;
	int n = http_parse_head((const char *)data, size, 4096, &r);

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
