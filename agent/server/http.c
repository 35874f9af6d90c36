/* http.c - HTTP/1.1 head parsers and response writer (see http.h). */
#include "agent/server/http.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agent/base/util.h"

/* RFC 9110 tchar: the bytes allowed in a method or header name. */
static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

bool http_view_ieq(struct http_view v, const char *s)
{
	size_t n = strlen(s);

	return v.p && v.n == n && strncasecmp(v.p, s, n) == 0;
}

/* Find the end of the line starting at p[i]: returns the index of the LF,
 * or -1 when no LF is in the buffer yet. */
static long find_lf(const char *p, size_t n, size_t i)
{
	const char *lf = i < n ? memchr(p + i, '\n', n - i) : NULL;

	return lf ? lf - p : -1;
}

static struct http_view trim(const char *p, size_t n)
{
	while (n && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
		n--;
	return (struct http_view){ p, n };
}

/* A header value may hold visible ASCII, obs-text, space and tab only. */
static bool valid_value(struct http_view v)
{
	for (size_t i = 0; i < v.n; i++) {
		unsigned char c = (unsigned char)v.p[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

/* Does a comma separated header value hold token tok? */
static bool list_has(struct http_view v, const char *tok)
{
	size_t i = 0;

	while (i < v.n) {
		size_t j = i;
		while (j < v.n && v.p[j] != ',')
			j++;
		if (http_view_ieq(trim(v.p + i, j - i), tok))
			return true;
		i = j + 1;
	}
	return false;
}

static int parse_request_line(const char *p, size_t n, struct http_request *req)
{
	const char *sp1, *sp2, *ver;
	size_t vn;

	if (n && p[n - 1] == '\r')
		n--;
	sp1 = memchr(p, ' ', n);
	if (!sp1 || sp1 == p)
		return -400;
	for (const char *q = p; q < sp1; q++)
		if (!is_tchar((unsigned char)*q))
			return -400;
	sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - p));
	if (!sp2 || sp2 == sp1 + 1)
		return -400;
	for (const char *q = sp1 + 1; q < sp2; q++)
		if ((unsigned char)*q <= 0x20 || (unsigned char)*q == 0x7f)
			return -400;
	ver = sp2 + 1;
	vn = n - (size_t)(ver - p);
	if (vn != 8 || memcmp(ver, "HTTP/", 5) != 0 || ver[6] != '.' ||
	    ver[5] < '0' || ver[5] > '9' || ver[7] < '0' || ver[7] > '9')
		return -400;
	if (ver[5] != '1')
		return -505;
	req->minor = ver[7] == '0' ? 0 : 1;
	req->method_name = (struct http_view){ p, (size_t)(sp1 - p) };
	req->target = (struct http_view){ sp1 + 1, (size_t)(sp2 - sp1 - 1) };
	/* Methods are case-sensitive (RFC 9110 9.1). */
	if (req->method_name.n == 3 && memcmp(p, "GET", 3) == 0)
		req->method = HTTP_GET;
	else if (req->method_name.n == 4 && memcmp(p, "HEAD", 4) == 0)
		req->method = HTTP_HEAD;
	else if (req->method_name.n == 4 && memcmp(p, "POST", 4) == 0)
		req->method = HTTP_POST;
	else
		req->method = HTTP_OTHER;
	return 0;
}

static int parse_content_length(struct http_view v, int64_t *out)
{
	int64_t x = 0;

	if (!v.n)
		return -400;
	for (size_t i = 0; i < v.n; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return -400;
		if (x > (INT64_MAX - 9) / 10)
			return -400;
		x = x * 10 + (v.p[i] - '0');
	}
	/* Two different lengths are a request-smuggling attempt. */
	if (*out >= 0 && *out != x)
		return -400;
	*out = x;
	return 0;
}

/* "name: value" (the line without its LF) into views; -1 when malformed. */
static int split_header(const char *p, size_t n, struct http_view *name, struct http_view *value)
{
	const char *colon = memchr(p, ':', n);

	if (!colon || colon == p)
		return -1;
	/* No obs-fold and no space before the colon (RFC 9112 5.1). */
	for (const char *q = p; q < colon; q++)
		if (!is_tchar((unsigned char)*q))
			return -1;
	*name = (struct http_view){ p, (size_t)(colon - p) };
	*value = trim(colon + 1, n - (size_t)(colon + 1 - p));
	return valid_value(*value) ? 0 : -1;
}

static int parse_header(const char *p, size_t n, struct http_request *req,
			bool *conn_close, bool *conn_keep)
{
	struct http_view name, value;

	if (split_header(p, n, &name, &value) < 0)
		return -400;
	if (http_view_ieq(name, "Content-Length"))
		return parse_content_length(value, &req->content_length);
	if (http_view_ieq(name, "Transfer-Encoding"))
		return -501;
	if (http_view_ieq(name, "Connection")) {
		*conn_close |= list_has(value, "close");
		*conn_keep |= list_has(value, "keep-alive");
	} else if (http_view_ieq(name, "Expect")) {
		if (!http_view_ieq(value, "100-continue"))
			return -400; /* 417 would be exact; 400 is enough */
		req->expect_continue = true;
	} else if (http_view_ieq(name, "Authorization")) {
		if (req->authorization.p)
			return -400;
		req->authorization = value;
	} else if (http_view_ieq(name, "Content-Type")) {
		req->content_type = value;
	}
	return 0;
}

int http_parse_head(const char *p, size_t n, size_t max_head, struct http_request *req)
{
	bool conn_close = false, conn_keep = false;
	size_t i = 0, limit = n < max_head ? n : max_head;
	long lf;
	int r;

	memset(req, 0, sizeof(*req));
	req->content_length = -1;
	/* Tolerate empty lines before the request line (RFC 9112 2.2). */
	while (i < limit && (p[i] == '\r' || p[i] == '\n'))
		i++;
	if (i < limit && (unsigned char)p[i] == 0x16)
		return -400; /* a TLS handshake sent to a plain-HTTP agent */
	if ((lf = find_lf(p, limit, i)) < 0)
		return n >= max_head ? -431 : 0;
	if ((r = parse_request_line(p + i, (size_t)lf - i, req)) != 0)
		return r;
	i = (size_t)lf + 1;
	for (;;) {
		if ((lf = find_lf(p, limit, i)) < 0)
			return n >= max_head ? -431 : 0;
		if ((size_t)lf == i || ((size_t)lf == i + 1 && p[i] == '\r'))
			break; /* the blank line ends the head */
		if (p[i] == ' ' || p[i] == '\t')
			return -400;
		if ((r = parse_header(p + i, (size_t)lf - i, req, &conn_close, &conn_keep)) != 0)
			return r;
		i = (size_t)lf + 1;
	}
	req->head_len = (size_t)lf + 1;
	req->keep_alive = req->minor == 1 ? !conn_close : (conn_keep && !conn_close);
	return (int)req->head_len;
}

/* ---- responses, for the agent's clients ---- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* "HTTP/1.x SSS reason" (the reason and the space before it may be
 * missing). */
static int parse_status_line(const char *p, size_t n, struct http_response *res)
{
	if (n && p[n - 1] == '\r')
		n--;
	if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 || !is_digit(p[7]) || p[8] != ' ' ||
	    p[9] < '1' || p[9] > '5' || !is_digit(p[10]) || !is_digit(p[11]) ||
	    (n > 12 && p[12] != ' '))
		return -1;
	res->minor = p[7] == '0' ? 0 : 1;
	res->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	res->reason = n > 13 ? trim(p + 13, n - 13) : (struct http_view){ p + n, 0 };
	return valid_value(res->reason) ? 0 : -1;
}

/* The last element of a comma separated list, trimmed. */
static struct http_view list_last(struct http_view v)
{
	const char *comma = v.n ? memrchr(v.p, ',', v.n) : NULL;

	return comma ? trim(comma + 1, v.n - (size_t)(comma + 1 - v.p)) : v;
}

static int parse_response_header(const char *p, size_t n, struct http_response *res,
				 bool *conn_close, bool *conn_keep)
{
	struct http_view name, value;

	if (split_header(p, n, &name, &value) < 0)
		return -1;
	if (http_view_ieq(name, "Content-Length")) {
		if (parse_content_length(value, &res->content_length) < 0)
			return -1;
	} else if (http_view_ieq(name, "Transfer-Encoding")) {
		/* Several lines make one list: the last line ends it. */
		res->transfer_encoding = value;
		res->chunked = http_view_ieq(list_last(value), "chunked");
	} else if (http_view_ieq(name, "Connection")) {
		*conn_close |= list_has(value, "close");
		*conn_keep |= list_has(value, "keep-alive");
	} else if (http_view_ieq(name, "Content-Type")) {
		res->content_type = value;
	}
	return 0;
}

/* One head starting at p[i], within p[0..limit): the index just past its
 * blank line, 0 when it does not end within limit, -1 when malformed. */
static long parse_one_response(const char *p, size_t limit, size_t i, struct http_response *res)
{
	bool conn_close = false, conn_keep = false;
	long lf;

	memset(res, 0, sizeof(*res));
	res->content_length = -1;
	if ((lf = find_lf(p, limit, i)) < 0)
		return 0;
	if (parse_status_line(p + i, (size_t)lf - i, res) < 0)
		return -1;
	i = (size_t)lf + 1;
	for (;;) {
		if ((lf = find_lf(p, limit, i)) < 0)
			return 0;
		if ((size_t)lf == i || ((size_t)lf == i + 1 && p[i] == '\r'))
			break;
		if (p[i] == ' ' || p[i] == '\t')
			return -1; /* obs-fold */
		if (parse_response_header(p + i, (size_t)lf - i, res, &conn_close, &conn_keep) < 0)
			return -1;
		i = (size_t)lf + 1;
	}
	res->keep_alive = res->minor == 1 ? !conn_close : (conn_keep && !conn_close);
	return lf + 1;
}

int http_parse_response_head(const char *p, size_t n, size_t max_head, struct http_response *res)
{
	size_t limit, start = 0;

	if (max_head > INT_MAX)
		max_head = INT_MAX;
	limit = n < max_head ? n : max_head;
	for (;;) {
		long end = parse_one_response(p, limit, start, res);

		if (end < 0)
			return HTTP_RESPONSE_BAD;
		if (end == 0)
			return n >= max_head ? HTTP_RESPONSE_TOO_LONG : 0;
		/* An interim 1xx head: the final one follows (RFC 9110 15.2). */
		if (res->status >= 200 || res->status == 101) {
			res->head_len = (size_t)end;
			return (int)end;
		}
		start = (size_t)end;
	}
}

const char *http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

/* The Date header changes once a second; format it once a second. */
static const char *http_date(void)
{
	static char cached[64];
	static time_t cached_at = -1;
	time_t t = time(NULL);
	struct tm tm;

	if (t != cached_at) {
		gmtime_r(&t, &tm);
		strftime(cached, sizeof(cached), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		cached_at = t;
	}
	return cached;
}

int http_write_head(struct buf *out, int status, const char *type, size_t content_length,
		    bool keep_alive, const char *extra)
{
	buf_printf(out, "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: ovs-agent/" AGENT_VERSION "\r\n",
		   status, http_reason(status), http_date());
	if (type)
		buf_printf(out, "Content-Type: %s\r\n", type);
	buf_printf(out, "Content-Length: %zu\r\nConnection: %s\r\n%s\r\n", content_length,
		   keep_alive ? "keep-alive" : "close", extra ? extra : "");
	return out->failed ? -1 : 0;
}

long http_base64_decode(const char *src, size_t n, char *dst)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned int acc = 0;
	int bits = 0, pad = 0;
	long out = 0;

	for (size_t i = 0; i < n; i++) {
		const char *pos;
		if (src[i] == '=') {
			pad++;
			continue;
		}
		if (pad || !src[i] || !(pos = strchr(alphabet, src[i])))
			return -1;
		acc = (acc << 6) | (unsigned int)(pos - alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			dst[out++] = (char)((acc >> bits) & 0xff);
		}
	}
	if (pad > 2 || (n % 4) != 0)
		return -1;
	dst[out] = '\0';
	return out;
}
