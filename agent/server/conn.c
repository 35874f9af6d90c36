/* conn.c - the connection state machine.
 *
 *   RESOLVE ──> HANDSHAKE ──> READ ──> AUTH ──> CALL ──> WRITE ──> READ ...
 *   (names)     (TLS only)     │      (XML-RPC, /status, /metrics)
 *                              └── errors, GET / ──────────┘──> LINGER ──> closed
 *
 * The epoll interest is computed from the state (and from what OpenSSL last
 * asked for) by set_interest() after every transition. */
#define LOG_CAT "http"
#include "agent/server/conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "agent/server/acl.h"
#include "agent/server/auth.h"
#include "agent/base/buf.h"
#include "agent/server/http.h"
#include "agent/rpc/index_page.h"
#include "agent/rpc/metrics_page.h"
#include "agent/base/log.h"
#include "agent/server/resolve.h"
#include "agent/rpc/rpc.h"
#include "agent/rpc/status_page.h"
#include "agent/server/server.h"
#include "agent/server/tls.h"
#include "agent/base/util.h"

#define READ_CHUNK 65536       /* one read's worth, in a buffer all connections share */
#define LINGER_MS 2000
#define PIPELINE_SLACK 16384    /* room for the start of a pipelined request */

enum conn_state {
	CS_RESOLVE,     /* waiting for the client's host name (ACL) */
	CS_HANDSHAKE,   /* TLS handshake */
	CS_READ,        /* reading a request head and body */
	CS_AUTH,        /* credentials being verified */
	CS_CALL,        /* the method runs, or a page's facts are gathered; the reply is deferred */
	CS_WRITE,       /* sending the response */
	CS_LINGER,      /* response sent, half-closed, draining the client */
	CS_DEAD,        /* closed; memory kept until the last reference goes */
};

struct conn {
	struct server *srv;
	struct conn *prev, *next;
	int refs;
	int fd;
	struct io io;
	struct timer timer;
	SSL *ssl;
	enum conn_state state;
	uint32_t tls_want;        /* event OpenSSL waits for, 0 when none */
	struct buf in, out;
	struct buf body;          /* an answer taken whole (respond_taking), sent after out */
	size_t body_sent;
	struct http_request req;  /* the request being served */
	size_t req_total;         /* its head + body bytes in `in` */
	int64_t req_started;      /* first byte of the current request, 0 = none yet */
	bool keep_alive;          /* of the current request */
	bool close_after_write;
	bool counted_unauth;      /* counted in srv->nunauth */
	bool rejecting;           /* turned away with 503 */
	bool sent_continue;
	bool req_authed;          /* the current request's credentials passed */
	bool peer_done;           /* the client half-closed: answer what it sent, then close */
	struct auth_req *auth_req;
	struct resolve_req *resolve_req;
	union {
		struct sockaddr sa;
		struct sockaddr_in sin;
		struct sockaddr_in6 sin6;
	} peer;
	char peer_str[INET6_ADDRSTRLEN + 8];
	char local_str[INET6_ADDRSTRLEN + 8];   /* our address the client reached */
	char user[AUTH_USER_MAX + 1];
};

/* Reads land in one buffer shared by every connection (the loop has one
 * thread) and only the bytes that arrived are copied into the
 * connection's own buffer, which an idle connection does not have. */
static char read_scratch[READ_CHUNK];

static void on_io(struct io *io, uint32_t events);
static void on_timer(struct timer *t);
static void process(struct conn *c);
static void do_write(struct conn *c);

/* ---- lifetime ---------------------------------------------------------- */

static void conn_free(void *p)
{
	struct conn *c = p;

	buf_free(&c->in);
	buf_free(&c->out);
	buf_free(&c->body);
	free(c);
}

static void conn_unref(struct conn *c)
{
	if (--c->refs == 0)
		loop_defer(c->srv->loop, conn_free, c);
}

static void conn_close(struct conn *c)
{
	struct server *srv = c->srv;

	if (c->state == CS_DEAD)
		return;
	c->state = CS_DEAD;
	io_del(srv->loop, &c->io);
	timer_stop(srv->loop, &c->timer);
	auth_cancel(c->auth_req);
	c->auth_req = NULL;
	resolver_cancel(c->resolve_req);
	c->resolve_req = NULL;
	if (c->ssl)
		SSL_free(c->ssl);
	c->ssl = NULL;
	close(c->fd);
	c->fd = -1;
	if (c->rejecting)
		srv->nreject--;
	else
		srv->nconns--;
	if (c->counted_unauth)
		srv->nunauth--;
	if (c->prev)
		c->prev->next = c->next;
	else if (srv->conns == c)
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	/* Deferred replies still hold references; the memory waits for them. */
	buf_free(&c->out);
	buf_free(&c->body);
	conn_unref(c);
	server_conn_gone(srv);
}

/* ---- epoll interest and timers, derived from the state ------------------ */

static void set_interest(struct conn *c)
{
	uint32_t ev = 0;

	switch (c->state) {
	case CS_HANDSHAKE:
	case CS_READ:
	case CS_LINGER:
		ev = EPOLLIN;
		break;
	case CS_WRITE:
		ev = EPOLLOUT;
		break;
	default:
		ev = 0; /* waiting for auth, a call or a name: hang-ups still arrive */
	}
	if (c->tls_want && (c->state == CS_HANDSHAKE || c->state == CS_READ || c->state == CS_WRITE))
		ev = c->tls_want;
	/* A full input buffer stops reading until the request is served. */
	if (c->state == CS_READ && !c->tls_want && c->in.len >= c->in.max)
		ev = 0;
	io_mod(c->srv->loop, &c->io, ev);
}

static void arm_timer(struct conn *c)
{
	const struct agent_config *cfg = &c->srv->cfg;
	struct loop *loop = c->srv->loop;
	int64_t ms;

	switch (c->state) {
	case CS_HANDSHAKE:
		ms = (int64_t)cfg->request_timeout * 1000;
		break;
	case CS_READ:
		if (!c->req_started)
			ms = (int64_t)cfg->idle_timeout * 1000;
		else
			ms = c->req_started + (int64_t)cfg->request_timeout * 1000 - loop_now(loop);
		break;
	case CS_WRITE:
		ms = (int64_t)cfg->request_timeout * 1000;
		break;
	case CS_LINGER:
		ms = LINGER_MS;
		break;
	default:
		timer_stop(loop, &c->timer);
		return;
	}
	timer_start(loop, &c->timer, ms);
}

static void enter(struct conn *c, enum conn_state s)
{
	c->state = s;
	set_interest(c);
	arm_timer(c);
}

/* ---- raw transport: plain socket or TLS -------------------------------- */

/* Returns bytes read (> 0), 0 on EOF, -1 on error, -2 when it would block. */
static ssize_t transport_read(struct conn *c, char *p, size_t n)
{
	if (c->ssl) {
		size_t done;
		int r = tls_read(c->ssl, p, n, &done, &c->tls_want);
		if (r == TLS_DONE) {
			c->tls_want = 0;
			return (ssize_t)done;
		}
		if (r == TLS_WANT)
			return -2;
		if (r == TLS_FAIL)
			log_debug("%s: %s", c->peer_str, tls_last_error());
		return r == TLS_EOF ? 0 : -1;
	}
	for (;;) {
		ssize_t r = read(c->fd, p, n);
		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN ? -2 : -1;
	}
}

static ssize_t transport_write(struct conn *c, const char *p, size_t n)
{
	if (c->ssl) {
		size_t done;
		int r = tls_write(c->ssl, p, n, &done, &c->tls_want);
		if (r == TLS_DONE) {
			c->tls_want = 0;
			return (ssize_t)done;
		}
		return r == TLS_WANT ? -2 : -1;
	}
	for (;;) {
		ssize_t r = send(c->fd, p, n, MSG_NOSIGNAL);
		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN ? -2 : -1;
	}
}

/* ---- responses --------------------------------------------------------- */

/* Queue a response to the current request and start writing it. The
 * request's bytes leave the input buffer unless the connection closes. */
static void respond(struct conn *c, int status, const char *type, const char *body,
		    size_t len, const char *extra)
{
	/* Keep the connection only after a success, a 401 or a 403 (a client
	 * may retry with other credentials): these come after the whole
	 * request was read, so the next one starts right behind it. Other
	 * errors may leave unread bytes whose meaning we cannot know: close. */
	bool keep = c->keep_alive && c->req_total && c->in.len >= c->req_total &&
		    !c->close_after_write && !c->srv->stopping &&
		    (status < 400 || status == 401 || status == 403);

	if (!keep)
		c->close_after_write = true;
	buf_reset(&c->out);
	http_write_head(&c->out, status, type, len, keep, extra);
	if (c->req.method != HTTP_HEAD && len && body)
		buf_append(&c->out, body, len);
	if (keep && c->req_total) {
		buf_consume(&c->in, c->req_total);
	}
	c->req_total = 0;
	c->req_started = 0;
	c->sent_continue = false;
	c->req_authed = false;
	enter(c, CS_WRITE);
	do_write(c);
}

/* respond() with the body taken from b, not copied: an answer of megabytes
 * (list_vms) goes out from the buffer it was written in, after the head. */
static void respond_taking_with(struct conn *c, int status, const char *type, struct buf *b,
			       const char *extra)
{
	size_t len = b->len;

	buf_free(&c->body);
	if (c->req.method != HTTP_HEAD) {
		c->body = *b;
		c->body_sent = 0;
		buf_init(b, 0);
	}
	respond(c, status, type, NULL, len, extra);
}

static void respond_taking(struct conn *c, int status, const char *type, struct buf *b)
{
	respond_taking_with(c, status, type, b, NULL);
}

static void respond_error(struct conn *c, int status, const char *text)
{
	char body[256];
	const char *extra = NULL;

	snprintf(body, sizeof(body), "%d %s: %s\n", status, http_reason(status), text);
	if (status == 405)
		extra = "Allow: GET, HEAD, POST\r\n";
	else if (status == 401)
		extra = "WWW-Authenticate: Basic realm=\"ovs-agent\"\r\n";
	else if (status == 503)
		extra = "Retry-After: 1\r\n";
	log_info("%s %s HTTP %d %s", c->peer_str, c->user[0] ? c->user : "-", status, text);
	respond(c, status, "text/plain; charset=utf-8", body, strlen(body), extra);
}

/* After the last byte: half-close and drain what the client still sends,
 * so the kernel does not reset the connection before it reads our error. */
static void start_linger(struct conn *c)
{
	if (c->ssl) {
		SSL_shutdown(c->ssl); /* one close_notify; the answer is not awaited */
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	c->tls_want = 0;
	shutdown(c->fd, SHUT_WR);
	enter(c, CS_LINGER);
}

static void do_write(struct conn *c)
{
	for (;;) {
		bool head = c->out.len > 0;
		size_t left = head ? c->out.len : c->body.len - c->body_sent;
		ssize_t n;
		if (!left)
			break;
		n = transport_write(c, head ? c->out.data : c->body.data + c->body_sent, left);
		if (n == -2) {
			set_interest(c);
			return;
		}
		if (n <= 0) {
			conn_close(c);
			return;
		}
		if (head)
			buf_consume(&c->out, (size_t)n);
		else
			c->body_sent += (size_t)n;
	}
	buf_free(&c->out);
	buf_free(&c->body);
	c->body_sent = 0;
	if (c->close_after_write) {
		start_linger(c);
		return;
	}
	/* Idle connections hold no buffer memory. */
	if (!c->in.len)
		buf_free(&c->in);
	if (c->peer_done && !c->in.len) {
		conn_close(c); /* every request the client sent is answered */
		return;
	}
	enter(c, CS_READ);
	/* A pipelined request or bytes inside OpenSSL would not wake epoll. */
	if (c->in.len || (c->ssl && SSL_has_pending(c->ssl)))
		io_wake(c->srv->loop, &c->io, EPOLLIN);
}

/* ---- requests ---------------------------------------------------------- */

static void on_rpc_reply(void *arg, struct buf *xml)
{
	struct conn *c = arg;

	if (c->state == CS_CALL)
		respond_taking(c, 200, "text/xml", xml);
	conn_unref(c);
}

static void on_status_page(void *arg, struct buf *html)
{
	struct conn *c = arg;

	if (c->state == CS_CALL)
		respond_taking_with(c, 200, STATUS_PAGE_TYPE, html, status_page_headers());
	conn_unref(c);
}

static void on_metrics_page(void *arg, struct buf *text)
{
	struct conn *c = arg;

	if (c->state == CS_CALL)
		respond_taking(c, 200, METRICS_CONTENT_TYPE, text);
	conn_unref(c);
}

static bool target_is(const struct http_request *r, const char *path)
{
	size_t n = strlen(path);
	const char *q;

	/* Ignore a query string: "/RPC2?x" is "/RPC2". */
	q = memchr(r->target.p, '?', r->target.n);
	return (size_t)((q ? q : r->target.p + r->target.n) - r->target.p) == n &&
	       memcmp(r->target.p, path, n) == 0;
}

/* The pages served from the status facts (status_facts_gather). */
static const struct page {
	const char *path;
	void (*serve)(struct server *srv, void (*cb)(void *arg, struct buf *b), void *arg);
	void (*reply)(void *arg, struct buf *b);
} deferred_pages[] = {
	{ "/status", status_page_serve, on_status_page },
	{ "/metrics", metrics_page_serve, on_metrics_page },
};

static const struct page *deferred_page(const struct http_request *r)
{
	for (size_t i = 0; i < ARRAY_SIZE(deferred_pages); i++)
		if (target_is(r, deferred_pages[i].path))
			return &deferred_pages[i];
	return NULL;
}

static void serve(struct conn *c)
{
	const struct page *p;

	/* Reading the body may have moved the buffer the head's views point
	 * into: take fresh ones (the head is known complete and valid). */
	{
		size_t head = c->req.head_len;
		http_parse_head(c->in.data, head, head, &c->req);
	}
	if ((c->req.method == HTTP_GET || c->req.method == HTTP_HEAD) &&
	    (p = deferred_page(&c->req))) {
		/* The facts may wait for a statvfs child: a deferred reply. */
		log_info("%s %s GET %s", c->peer_str, c->user, p->path);
		c->refs++;
		enter(c, CS_CALL);
		p->serve(c->srv, p->reply, c);
		return;
	}
	if (c->req.method == HTTP_GET || c->req.method == HTTP_HEAD) {
		struct buf page;
		buf_init(&page, 0);
		index_page_write(c->srv, &page);
		log_info("%s %s GET / 200", c->peer_str, c->user);
		respond(c, 200, "text/html; charset=utf-8", page.data, page.len, NULL);
		buf_free(&page);
		return;
	}
	c->refs++;
	enter(c, CS_CALL);
	{
		struct rpc_origin o = { c->user, c->peer_str, c->local_str };
		rpc_dispatch(c->srv, c->in.data + c->req.head_len, (size_t)c->req.content_length,
			     &o, on_rpc_reply, c);
	}
}

/* Take in the rest of the current request if it has already arrived,
 * without waiting for more. */
static void pull_arrived(struct conn *c)
{
	while (c->in.len < c->req_total) {
		size_t want = c->req_total - c->in.len;
		ssize_t n = transport_read(c, read_scratch,
					   want < sizeof(read_scratch) ? want : sizeof(read_scratch));
		if (n <= 0)
			break; /* nothing more yet, or EOF/error: the 403 then closes */
		buf_append(&c->in, read_scratch, (size_t)n);
	}
	c->tls_want = 0;
}

static void on_auth_done(void *arg, int result, const char *user)
{
	struct conn *c = arg;

	c->auth_req = NULL;
	if (result != AUTH_OK) {
		/* A body already sent is taken in (only what has arrived, and
		 * answered at once), so the connection can stay open for a retry
		 * with other credentials; otherwise it closes after the answer.
		 * A page (GET, HEAD) asks a browser to prompt: 401 with the realm;
		 * XML-RPC keeps the original agent's 403. Both came through the
		 * same check, slow-down and log. */
		pull_arrived(c);
		if (c->state == CS_DEAD)
			return;
		if (c->req.method == HTTP_GET || c->req.method == HTTP_HEAD)
			respond_error(c, 401, "authentication required");
		else
			respond_error(c, 403, "authentication failed");
		return;
	}
	snprintf(c->user, sizeof(c->user), "%s", user);
	if (c->counted_unauth) {
		c->counted_unauth = false;
		c->srv->nunauth--;
	}
	c->req_authed = true;
	if (c->state != CS_READ)
		enter(c, CS_READ);
	process(c);
}

static void authenticate(struct conn *c)
{
	char user[AUTH_USER_MAX + 1];
	int r;

	c->user[0] = '\0';
	r = auth_check(c->srv->auth, &c->peer.sa, c->peer_str, c->req.authorization,
		       on_auth_done, c, &c->auth_req, user);
	if (r == AUTH_PENDING) {
		enter(c, CS_AUTH);
		return;
	}
	on_auth_done(c, r, user);
}

/* Validate a complete head: which resource, and is a body coming? */
static int check_head(struct conn *c)
{
	const struct http_request *r = &c->req;
	const struct agent_config *cfg = &c->srv->cfg;

	if (r->method == HTTP_POST) {
		if (!target_is(r, "/RPC2") && !target_is(r, "/"))
			return 404;
		if (r->content_length < 0)
			return 411;
		/* The buffer's bound was fixed when the connection came;
		 * a reload may have raised max_body_bytes since. */
		if ((uint64_t)r->content_length > cfg->max_body_bytes ||
		    r->head_len + (uint64_t)r->content_length > c->in.max)
			return 413;
		return 0;
	}
	if (r->method == HTTP_GET || r->method == HTTP_HEAD) {
		if (!target_is(r, "/") && !deferred_page(r))
			return 404;
		if (r->content_length > 0)
			return 400;
		return 0;
	}
	return 405;
}

static const char *status_text(int status)
{
	switch (status) {
	case 400: return "malformed request";
	case 404: return "XML-RPC is served at POST /RPC2 (or /); GET / lists the methods, "
			  "GET /status shows the host, GET /metrics has the Prometheus metrics";
	case 405: return "use POST for XML-RPC calls or GET for the method list";
	case 411: return "a Content-Length header is required";
	case 413: return "request body larger than max_body_bytes";
	case 431: return "request header larger than max_header_bytes";
	case 501: return "Transfer-Encoding is not supported; send a Content-Length";
	case 505: return "only HTTP/1.0 and HTTP/1.1 are spoken here";
	default: return http_reason(status);
	}
}

/* Try to complete one request from the input buffer. */
/* More bytes are needed; after the client's half-close none will come. */
static void wait_input(struct conn *c)
{
	if (c->peer_done)
		conn_close(c);
	else
		set_interest(c);
}

static void process(struct conn *c)
{
	const struct agent_config *cfg = &c->srv->cfg;
	int r, status;

	if (c->state != CS_READ)
		return;
	if (!c->in.len) {
		wait_input(c);
		return;
	}
	if (!c->req_started) {
		c->req_started = loop_now(c->srv->loop);
		arm_timer(c);
	}
	/* The head is parsed once; later reads only bring body bytes. */
	if (!c->req_total) {
		r = http_parse_head(c->in.data, c->in.len, cfg->max_header_bytes, &c->req);
		if (r < 0) {
			c->keep_alive = false;
			respond_error(c, -r, status_text(-r));
			return;
		}
		if (r == 0) {
			wait_input(c);
			return;
		}
		c->keep_alive = c->req.keep_alive;
		if ((status = check_head(c)) != 0) {
			c->keep_alive = false;
			respond_error(c, status, status_text(status));
			return;
		}
		c->req_total = c->req.head_len +
			       (size_t)(c->req.content_length > 0 ? c->req.content_length : 0);
		if (c->rejecting) {
			respond_error(c, 503, "too many connections; try again shortly");
			return;
		}
		/* Credentials come in the head: check them before taking a
		 * body, so no stranger makes us hold megabytes. */
		authenticate(c);
		return;
	}
	if (!c->req_authed) {
		set_interest(c);
		return;
	}
	if (c->in.len < c->req_total) {
		if (c->req.expect_continue && !c->sent_continue) {
			static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
			/* 25 bytes into an empty socket buffer go out whole; if they
			 * cannot, the connection is in no state to go on. */
			c->sent_continue = true;
			if (transport_write(c, cont, sizeof(cont) - 1) != sizeof(cont) - 1) {
				conn_close(c);
				return;
			}
		}
		wait_input(c);
		return;
	}
	serve(c);
}


static void do_read(struct conn *c)
{
	for (;;) {
		size_t room = c->in.max - c->in.len;
		size_t want = room < sizeof(read_scratch) ? room : sizeof(read_scratch);
		ssize_t n;

		if (!want)
			break;
		n = transport_read(c, read_scratch, want);
		if (n > 0) {
			buf_append(&c->in, read_scratch, (size_t)n);
			/* A short read drained the socket: epoll is level-triggered
			 * and says when more comes, so skip the read that would
			 * only return EAGAIN. OpenSSL may hold more than it gave. */
			if (c->ssl ? !SSL_has_pending(c->ssl) : (size_t)n < want)
				break;
			continue;
		}
		if (n == -2)
			break;
		/* EOF after requests: a client may pipeline and then half-close;
		 * it still gets every answer. An error, or EOF with nothing
		 * buffered, ends the connection. */
		if (n == 0 && c->in.len) {
			c->peer_done = true;
			break;
		}
		conn_close(c);
		return;
	}
	process(c);
}

static void do_linger(struct conn *c)
{
	char scratch[4096];

	for (;;) {
		ssize_t n = read(c->fd, scratch, sizeof(scratch));
		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		conn_close(c);
		return;
	}
}

/* A plain HTTP request on the TLS port: say so in plain HTTP. */
static void answer_plain_on_tls(struct conn *c)
{
	static const char msg[] =
		"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n"
		"Content-Length: 52\r\n\r\nThis agent speaks HTTPS only; use an https:// URL.\r\n";
	ssize_t n = send(c->fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL);

	UNUSED(n);
	log_info("%s plain HTTP on the TLS port; answered 400", c->peer_str);
	SSL_free(c->ssl);
	c->ssl = NULL;
	shutdown(c->fd, SHUT_WR);
	enter(c, CS_LINGER);
}

static void do_handshake(struct conn *c)
{
	int r;

	/* The TLS state is made when the client's first byte arrives, so a
	 * connection that never speaks costs a few hundred bytes, not ~10 KB. */
	if (!c->ssl) {
		c->ssl = SSL_new(c->srv->ssl_ctx);
		if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
			log_err("cannot start TLS for %s: %s", c->peer_str, tls_last_error());
			conn_close(c);
			return;
		}
	}
	r = tls_handshake(c->ssl, &c->tls_want);

	switch (r) {
	case TLS_DONE:
		c->tls_want = 0;
		enter(c, CS_READ);
		/* The client's first request may already sit inside OpenSSL. */
		if (SSL_has_pending(c->ssl))
			io_wake(c->srv->loop, &c->io, EPOLLIN);
		return;
	case TLS_WANT:
		set_interest(c);
		return;
	case TLS_PLAIN_HTTP:
		answer_plain_on_tls(c);
		return;
	default:
		log_info("%s TLS handshake failed: %s", c->peer_str,
			 r == TLS_EOF ? "client closed the connection" : tls_last_error());
		conn_close(c);
	}
}

static void on_io(struct io *io, uint32_t events)
{
	struct conn *c = io->data;

	switch (c->state) {
	case CS_HANDSHAKE:
		do_handshake(c);
		break;
	case CS_READ:
		do_read(c);
		break;
	case CS_WRITE:
		do_write(c);
		break;
	case CS_LINGER:
		do_linger(c);
		break;
	default:
		/* Nothing is awaited from the socket in these states; only a
		 * hang-up or error gets here. The pending work is abandoned;
		 * a deferred reply finds the connection dead and is dropped. */
		if (events & (EPOLLHUP | EPOLLERR))
			conn_close(c);
		break;
	}
}

static void on_timer(struct timer *t)
{
	struct conn *c = t->data;

	if (c->state == CS_READ && c->req_started) {
		c->keep_alive = false;
		c->req_total = 0;
		respond_error(c, 408, "request not received within request_timeout");
		return;
	}
	if (c->state == CS_HANDSHAKE)
		log_info("%s TLS handshake timed out", c->peer_str);
	conn_close(c);
}

/* ---- accept ------------------------------------------------------------ */

static void start_session(struct conn *c)
{
	if (c->srv->ssl_ctx) {
		enter(c, CS_HANDSHAKE);
		return;
	}
	enter(c, CS_READ);
}

/* Show and match IPv4-mapped IPv6 addresses as plain IPv4. */
static void unmap_v4(struct sockaddr *sa)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
	struct sockaddr_in s4;

	if (sa->sa_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		return;
	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	s4.sin_port = s6->sin6_port;
	memcpy(&s4.sin_addr, &s6->sin6_addr.s6_addr[12], 4);
	memcpy(sa, &s4, sizeof(s4));
}

static void addr_text(const struct sockaddr *sa, char *out, size_t len)
{
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)len);
	else
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)len);
}

static void on_name(void *arg, const char *name)
{
	struct conn *c = arg;
	const struct agent_config *cfg = &c->srv->cfg;

	c->resolve_req = NULL;
	if (acl_check(cfg->allow, cfg->deny, &c->peer.sa, name) != ACL_ALLOW) {
		log_info("%s (%s) refused by allow/deny rules", c->peer_str, name[0] ? name : "no name");
		conn_close(c);
		return;
	}
	start_session(c);
}

void conn_accept(struct server *srv, int fd, const struct sockaddr *sa, socklen_t salen,
		 bool reject)
{
	const struct agent_config *cfg = &srv->cfg;
	struct conn *c = xcalloc(1, sizeof(*c));
	enum acl_verdict v;
	const char *name;

	c->srv = srv;
	c->refs = 1;
	c->fd = fd;
	memcpy(&c->peer, sa, salen < sizeof(c->peer) ? salen : sizeof(c->peer));
	unmap_v4(&c->peer.sa);
	addr_text(&c->peer.sa, c->peer_str, sizeof(c->peer_str));
	{
		struct sockaddr_storage ls;
		socklen_t ll = sizeof(ls);
		if (getsockname(fd, (struct sockaddr *)&ls, &ll) == 0) {
			unmap_v4((struct sockaddr *)&ls);
			addr_text((struct sockaddr *)&ls, c->local_str, sizeof(c->local_str));
		}
	}
	c->rejecting = reject;
	c->state = CS_RESOLVE;
	c->io.fd = -1;
	timer_init(&c->timer, on_timer, c);
	buf_init(&c->in, cfg->max_header_bytes + cfg->max_body_bytes + PIPELINE_SLACK);
	buf_init(&c->out, 0);
	if (reject) {
		srv->nreject++;
	} else {
		srv->nconns++;
		srv->nunauth++;
		c->counted_unauth = true;
	}
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	if (io_add(srv->loop, &c->io, fd, 0, on_io, c) < 0) {
		log_err("epoll: %s", strerror(errno));
		conn_close(c);
		return;
	}
	/* Access rules come first: a refused client never sees a TLS byte. */
	v = acl_check(cfg->allow, cfg->deny, &c->peer.sa, NULL);
	if (v == ACL_NEED_NAME) {
		name = resolver_lookup(srv->resolver, &c->peer.sa, on_name, c, &c->resolve_req);
		if (name)
			on_name(c, name);
		return;
	}
	if (v != ACL_ALLOW) {
		log_info("%s refused by allow/deny rules", c->peer_str);
		conn_close(c);
		return;
	}
	start_session(c);
}

void conn_drain_all(struct server *srv)
{
	struct conn *c = srv->conns, *next;

	for (; c; c = next) {
		next = c->next;
		if ((c->state == CS_READ && !c->in.len) || c->state == CS_HANDSHAKE ||
		    c->state == CS_RESOLVE || c->state == CS_LINGER)
			conn_close(c);
		else
			c->close_after_write = true;
	}
}
