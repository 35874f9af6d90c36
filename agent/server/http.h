/* http.h - HTTP/1.1 request head parser and response writer.
 *
 * The parser is a pure function over bytes: it never allocates and returns
 * (pointer, length) views into the caller's buffer (HAProxy's ist). It
 * accepts exactly what an XML-RPC server needs (HTTP/1.0 and 1.1,
 * Content-Length bodies) and refuses the rest with the status a client
 * should see. */
#ifndef OVS_HTTP_H
#define OVS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/base/buf.h"

struct http_view {
	const char *p;   /* NULL when absent */
	size_t n;
};

enum http_method { HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_OTHER };

struct http_request {
	enum http_method method;
	struct http_view method_name;
	struct http_view target;        /* request-target as sent */
	int minor;                      /* 0 or 1: HTTP/1.minor */
	size_t head_len;                /* request line + headers + blank line */
	int64_t content_length;         /* -1 when absent */
	bool keep_alive;                /* from version and Connection */
	bool expect_continue;           /* Expect: 100-continue */
	struct http_view authorization; /* Authorization value */
	struct http_view content_type;
};

/* Parse the request head at the start of p[0..n).
 * Returns the head length (> 0) when complete and valid, 0 when more bytes
 * are needed, or a negated HTTP status when the head can never be valid:
 * -400 malformed, -431 head longer than max_head, -501 Transfer-Encoding
 * (bodies must carry a Content-Length), -505 not HTTP/1.x. */
int http_parse_head(const char *p, size_t n, size_t max_head, struct http_request *req);

/* True when the view equals s, ignoring ASCII case. */
bool http_view_ieq(struct http_view v, const char *s);

/* For clients reading a response: when line[0..len) is the header "name:"
 * (any case), return its value with surrounding blanks trimmed and its
 * length in *vlen; else NULL. */
const char *http_header_value(const char *line, size_t len, const char *name, size_t *vlen);

/* Reason phrase for a status code ("OK", "Forbidden", ...). */
const char *http_reason(int status);

/* Append a complete response head to out: status line, Date, Server,
 * Content-Type (when type != NULL), Content-Length, Connection, any
 * `extra` header lines (each ending "\r\n"), then the blank line.
 * Returns 0, or -1 when out's bound was hit. */
int http_write_head(struct buf *out, int status, const char *type, size_t content_length,
		    bool keep_alive, const char *extra);

/* Decode standard base64 from src[0..n) into dst (room for n*3/4+1 bytes);
 * returns the decoded length or -1 on malformed input. dst is NUL-terminated. */
long http_base64_decode(const char *src, size_t n, char *dst);

#endif
