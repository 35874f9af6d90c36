/* http.h - HTTP/1.1 head parsers (requests for the server, responses for
 * the agent's clients) and the response writer.
 *
 * The parsers are pure functions over bytes: they never allocate and
 * return (pointer, length) views into the caller's buffer (HAProxy's ist).
 * The request parser accepts exactly what an XML-RPC server needs (HTTP/1.0
 * and 1.1, Content-Length bodies) and refuses the rest with the status a
 * client should see; the response parser reads what an XML-RPC client
 * needs (status, framing, Connection, Content-Type). */
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

struct http_response {
	int status;                     /* 100-599 */
	int minor;                      /* 0 or 1: HTTP/1.minor */
	struct http_view reason;        /* reason phrase, may be empty; no controls */
	size_t head_len;                /* interim heads + final head + blank line */
	int64_t content_length;         /* -1 when absent */
	struct http_view transfer_encoding; /* p NULL when absent */
	bool chunked;                   /* the last transfer coding is chunked */
	bool keep_alive;                /* from version and Connection */
	struct http_view content_type;
};

enum { HTTP_RESPONSE_BAD = -1, HTTP_RESPONSE_TOO_LONG = -2 };

/* Parse the response head at the start of p[0..n), for a client. Interim
 * 1xx heads (100 Continue, 103, ...; not 101) before the final head are
 * skipped: head_len counts them and the fields describe the final head,
 * whose body starts at p + head_len. Returns head_len (> 0) when complete
 * and valid, 0 when more bytes are needed, HTTP_RESPONSE_TOO_LONG when
 * the heads do not end within max_head bytes, HTTP_RESPONSE_BAD when they
 * can never be valid (status line, header syntax, a control byte in a
 * value, a bad or conflicting Content-Length). Which transfer codings to
 * accept is the caller's choice. */
int http_parse_response_head(const char *p, size_t n, size_t max_head, struct http_response *res);

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
