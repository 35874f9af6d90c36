/* peer.c - asynchronous XML-RPC client: a non-blocking connect, optional
 * TLS, one HTTP/1.1 POST and one reply per call, all driven by the loop.
 *
 * A call is a small state machine (connecting -> handshake -> sending ->
 * reading) behind one watcher and one timer. Every step tolerates being
 * called when there is nothing to do: the loop applies interest changes
 * lazily, so a watcher may get an event it no longer asked for. */
#define LOG_CAT "peer"
#include "agent/rpc/peer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "agent/base/buf.h"
#include "agent/base/log.h"
#include "agent/base/loop.h"
#include "agent/server/http.h"
#include "agent/rpc/rpc_parse.h"
#include "agent/base/util.h"

#ifndef AGENT_VERSION
#define AGENT_VERSION "2.2"
#endif

#define REPLY_BODY_MAX ((size_t)16 * 1024 * 1024)
#define REPLY_HEAD_MAX ((size_t)64 * 1024)
#define READ_CHUNK ((size_t)65536)
#define READS_PER_TURN 16       /* then yield, so one big reply cannot starve the loop */
#define HOSTPORT_MAX (INET6_ADDRSTRLEN + 8)

enum peer_state { ST_CONNECTING, ST_HANDSHAKE, ST_SENDING, ST_READING, ST_OVER };

/* Result of one socket or TLS operation. */
enum step { STEP_DONE, STEP_WAIT, STEP_EOF, STEP_FAIL };

struct peer_call {
	struct loop *loop;
	enum peer_state state;
	int fd;
	struct io io;
	struct timer timer;        /* the overall deadline, or an early failure */
	SSL *ssl;                  /* NULL for plain HTTP */
	bool tls;
	char pin[PEER_FP_SIZE];    /* "" when the certificate is not checked */
	char *seen;                /* the caller's, or NULL */
	char hostport[HOSTPORT_MAX];
	int timeout_ms;
	peer_done_cb done;
	void *arg;

	struct buf out;            /* the request; holds credentials, wiped on free */
	size_t sent;
	int send_errno;            /* a plain send failed: said unless a reply came */

	struct buf in;             /* the reply as received */
	size_t head_len;           /* 0 until the final head is parsed */
	int64_t content_length;    /* -1 when absent: the body ends at EOF */
	int status;
	char reason[80];

	char *pending;             /* failure found while starting, said from the timer */
	char why[256];             /* detail of the last failed TLS/socket step */
	bool over;                 /* done called or call cancelled */
};

/* ---- TLS context ---------------------------------------------------------- */

/* One client context per process, made on first use: most agents never
 * call a peer over TLS, and the context is costly to build. No CA chain
 * is checked: a pool's agents have self-signed certificates, checked
 * against the pin after the handshake (check_pin). */
static SSL_CTX *client_ctx(char *err, size_t errlen)
{
	static SSL_CTX *ctx;

	if (ctx)
		return ctx;
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		unsigned long e = ERR_get_error();
		snprintf(err, errlen, "cannot create a TLS context: %s",
			 e ? ERR_reason_error_string(e) : "unknown error");
		ERR_clear_error();
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
			    /* a reply without Content-Length ends at EOF; the
			     * agent's peers send close_notify or a length */
			    | SSL_OP_IGNORE_UNEXPECTED_EOF
#endif
		);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS);
	return ctx;
}

/* ---- ending a call -------------------------------------------------------- */

static void teardown(struct peer_call *c)
{
	c->state = ST_OVER;
	timer_stop(c->loop, &c->timer);
	io_del(c->loop, &c->io);
	if (c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
}

/* Deferred: an event for this call's watcher may still be queued in the
 * batch the loop is processing. */
static void call_free(void *p)
{
	struct peer_call *c = p;

	if (c->out.data)
		explicit_bzero(c->out.data, c->out.len);
	buf_free(&c->out);
	buf_free(&c->in);
	free(c->pending);
	free(c);
}

static void finish(struct peer_call *c, xmlrpc_value *result, int code, const char *msg)
{
	if (c->over)
		return;
	c->over = true;
	teardown(c);
	if (msg)
		log_debug("call to %s failed: %s", c->hostport, msg);
	c->done(c->arg, result, code, msg);
	loop_defer(c->loop, call_free, c);
}

static void fail(struct peer_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct peer_call *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	finish(c, NULL, -1, msg);
}

void peer_call_cancel(struct peer_call *c)
{
	if (!c || c->over)
		return;
	c->over = true;
	teardown(c);
	loop_defer(c->loop, call_free, c);
}

static void on_timer(struct timer *t)
{
	struct peer_call *c = t->data;

	if (c->pending)
		fail(c, "%s", c->pending);
	else
		fail(c, "no answer from %s within %g s", c->hostport, c->timeout_ms / 1000.0);
}

/* ---- socket and TLS steps -------------------------------------------------- */

/* Classify a failed SSL call; on STEP_WAIT the watcher waits for what
 * OpenSSL needs, on STEP_FAIL c->why says why. */
static enum step ssl_step(struct peer_call *c, int ret)
{
	int e = SSL_get_error(c->ssl, ret);
	unsigned long err = ERR_peek_last_error();

	switch (e) {
	case SSL_ERROR_WANT_READ:
		io_mod(c->loop, &c->io, EPOLLIN);
		return STEP_WAIT;
	case SSL_ERROR_WANT_WRITE:
		io_mod(c->loop, &c->io, EPOLLOUT);
		return STEP_WAIT;
	case SSL_ERROR_ZERO_RETURN:
		return STEP_EOF;
	case SSL_ERROR_SYSCALL:
		if (!err && errno == 0) {
			ERR_clear_error();
			return STEP_EOF;
		}
		break;
	default:
		break;
	}
	if (err)
		ERR_error_string_n(err, c->why, sizeof(c->why));
	else
		snprintf(c->why, sizeof(c->why), "%s", errno ? strerror(errno) : "connection closed");
	ERR_clear_error();
	return STEP_FAIL;
}

static enum step sock_write(struct peer_call *c, const char *p, size_t n, size_t *done)
{
	ssize_t r;

	*done = 0;
	if (c->ssl) {
		ERR_clear_error();
		errno = 0;
		return SSL_write_ex(c->ssl, p, n, done) == 1 ? STEP_DONE : ssl_step(c, 0);
	}
	do
		r = send(c->fd, p, n, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r >= 0) {
		*done = (size_t)r;
		return STEP_DONE;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		io_mod(c->loop, &c->io, EPOLLOUT);
		return STEP_WAIT;
	}
	c->send_errno = errno;
	snprintf(c->why, sizeof(c->why), "%s", strerror(errno));
	return STEP_FAIL;
}

static enum step sock_read(struct peer_call *c, char *p, size_t n, size_t *done)
{
	ssize_t r;

	*done = 0;
	if (c->ssl) {
		ERR_clear_error();
		errno = 0;
		return SSL_read_ex(c->ssl, p, n, done) == 1 ? STEP_DONE : ssl_step(c, 0);
	}
	do
		r = read(c->fd, p, n);
	while (r < 0 && errno == EINTR);
	if (r > 0) {
		*done = (size_t)r;
		return STEP_DONE;
	}
	if (r == 0)
		return STEP_EOF;
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		io_mod(c->loop, &c->io, EPOLLIN);
		return STEP_WAIT;
	}
	snprintf(c->why, sizeof(c->why), "%s", strerror(errno));
	return STEP_FAIL;
}

/* ---- the reply -------------------------------------------------------------- */

/* Find and check the final head (http.c skips interim 1xx heads).
 * Returns 0 to read on, -1 when the call failed. */
static int reply_head(struct peer_call *c)
{
	if (!c->head_len) {
		struct http_response res;
		int r = http_parse_response_head(c->in.data, c->in.len, REPLY_HEAD_MAX, &res);

		if (r == 0)
			return 0;
		if (r == HTTP_RESPONSE_TOO_LONG) {
			fail(c, "%s sent an HTTP head longer than %zu KiB", c->hostport,
			     REPLY_HEAD_MAX / 1024);
			return -1;
		}
		if (r < 0) {
			fail(c, "%s sent a malformed HTTP reply", c->hostport);
			return -1;
		}
		if (res.transfer_encoding.p) {
			/* agents always send a length */
			fail(c, "%s sent a Transfer-Encoding reply, which is not supported",
			     c->hostport);
			return -1;
		}
		c->head_len = (size_t)r;
		c->status = res.status;
		c->content_length = res.content_length;
		quote_printable(c->reason, sizeof(c->reason), res.reason.p, res.reason.n);
	}
	if (c->status != 200) {
		/* The head says it all; no need to wait for the body. */
		fail(c, "HTTP %d%s%s from %s", c->status, c->reason[0] ? " " : "", c->reason,
		     c->hostport);
		return -1;
	}
	return 0;
}

/* The reply is hostile input like any request: the same parser. */
static void reply_parse(struct peer_call *c, const char *body, size_t len)
{
	struct rpc_message m;
	char err[600];

	if (rpc_parse_response(body, len, &m, err, sizeof(err)) != 0) {
		fail(c, "%s sent an invalid XML-RPC reply: %s", c->hostport, err);
		return;
	}
	if (m.fault)
		finish(c, NULL, m.fault_code ? m.fault_code : -1, m.fault_string);
	else
		finish(c, m.result, 0, NULL);
	rpc_message_free(&m);
}

static void reply_complete(struct peer_call *c)
{
	size_t len = c->in.len - c->head_len;

	if (c->content_length >= 0)
		len = (size_t)c->content_length;
	reply_parse(c, c->in.data + c->head_len, len);
}

/* After new bytes: 1 when the reply is whole, 0 to read on, -1 failed. */
static int reply_check(struct peer_call *c)
{
	if (reply_head(c) < 0)
		return -1;
	if (!c->head_len)
		return 0;
	if ((c->content_length >= 0 && (size_t)c->content_length > REPLY_BODY_MAX) ||
	    c->in.len - c->head_len > REPLY_BODY_MAX) {
		fail(c, "the reply from %s is larger than %zu MiB", c->hostport,
		     REPLY_BODY_MAX >> 20);
		return -1;
	}
	return c->content_length >= 0 && c->in.len - c->head_len >= (size_t)c->content_length;
}

/* The server closed: a reply without Content-Length ends here. */
static void reply_eof(struct peer_call *c)
{
	if (!c->head_len && !c->in.len && c->send_errno)
		fail(c, "cannot send to %s: %s", c->hostport, strerror(c->send_errno));
	else if (!c->head_len && !c->in.len)
		fail(c, "%s closed the connection without a reply", c->hostport);
	else if (!c->head_len)
		fail(c, "%s sent a malformed HTTP reply", c->hostport);
	else if (c->content_length >= 0)
		fail(c, "the reply from %s was cut short", c->hostport);
	else
		reply_complete(c);
}

/* ---- the state machine ------------------------------------------------------ */

static void read_more(struct peer_call *c)
{
	for (int i = 0; i < READS_PER_TURN; i++) {
		size_t room = c->in.max - c->in.len, n;
		char *p;
		int r;

		if (room > READ_CHUNK)
			room = READ_CHUNK;
		p = room ? buf_space(&c->in, room) : NULL;
		if (!p) {
			fail(c, "the reply from %s is larger than %zu MiB", c->hostport,
			     REPLY_BODY_MAX >> 20);
			return;
		}
		switch (sock_read(c, p, room, &n)) {
		case STEP_DONE:
			buf_commit(&c->in, n);
			r = reply_check(c);
			if (r > 0)
				reply_complete(c);
			if (r != 0)
				return;
			break;
		case STEP_WAIT:
			return;
		case STEP_EOF:
			reply_eof(c);
			return;
		case STEP_FAIL:
			fail(c, "cannot read from %s: %s", c->hostport, c->why);
			return;
		}
	}
	/* Budget spent: let other watchers run, carry on next turn (bytes
	 * inside OpenSSL would not make the fd readable again). */
	io_wake(c->loop, &c->io, EPOLLIN);
}

static void start_reading(struct peer_call *c)
{
	c->state = ST_READING;
	io_mod(c->loop, &c->io, EPOLLIN);
	read_more(c);
}

static void send_more(struct peer_call *c)
{
	while (c->sent < c->out.len) {
		size_t n;

		switch (sock_write(c, c->out.data + c->sent, c->out.len - c->sent, &n)) {
		case STEP_DONE:
			c->sent += n;
			break;
		case STEP_WAIT:
			return;
		case STEP_EOF:
		case STEP_FAIL:
			/* A peer that refused early (403) may have said why
			 * before closing: read before reporting the send error. */
			if (!c->ssl) {
				start_reading(c);
				return;
			}
			fail(c, "cannot send to %s: %s", c->hostport, c->why);
			return;
		}
	}
	start_reading(c);
}

void peer_fingerprint(const X509 *x, char out[PEER_FP_SIZE])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	out[0] = '\0';
	if (x && X509_digest(x, EVP_sha256(), md, &n) == 1 && n == 32)
		for (unsigned int i = 0; i < n; i++)
			snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The fingerprint the peer showed into c->seen; 0 when it is the pinned
 * one (or none is pinned), -1 after failing the call. */
static int check_pin(struct peer_call *c)
{
	X509 *x = SSL_get_peer_certificate(c->ssl);
	char hex[PEER_FP_SIZE];

	peer_fingerprint(x, hex);
	X509_free(x);
	if (c->seen)
		memcpy(c->seen, hex, sizeof(hex));
	if (!c->pin[0] || strcasecmp(hex, c->pin) == 0)
		return 0;
	fail(c, "the certificate of %s is not the one pinned when it was registered "
	     "(sha256 %s, pinned %s): if it was replaced, unregister the server and register "
	     "it again", c->hostport, hex[0] ? hex : "(none)", c->pin);
	return -1;
}

static void handshake(struct peer_call *c)
{
	enum step s;

	ERR_clear_error();
	errno = 0;
	if (SSL_connect(c->ssl) == 1) {
		if (check_pin(c) < 0)
			return;
		c->state = ST_SENDING;
		send_more(c);
		return;
	}
	s = ssl_step(c, 0);
	if (s == STEP_WAIT)
		return;
	fail(c, "TLS handshake with %s failed: %s", c->hostport,
	     s == STEP_EOF ? "the peer closed the connection" : c->why);
}

static void connected(struct peer_call *c)
{
	int err = 0;
	socklen_t len = sizeof(err);
	char why[200];

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		fail(c, "cannot connect to %s: %s", c->hostport, strerror(err));
		return;
	}
	if (!c->tls) {
		c->state = ST_SENDING;
		send_more(c);
		return;
	}
	/* The context exists: peer_call_start made it. */
	c->ssl = SSL_new(client_ctx(why, sizeof(why)));
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
		ERR_clear_error();
		fail(c, "TLS with %s: cannot set up the connection", c->hostport);
		return;
	}
	SSL_set_connect_state(c->ssl);
	c->state = ST_HANDSHAKE;
	handshake(c);
}

static void on_io(struct io *io, uint32_t events)
{
	struct peer_call *c = io->data;

	switch (c->state) {
	case ST_CONNECTING:
		if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			connected(c);
		break;
	case ST_HANDSHAKE:
		handshake(c);
		break;
	case ST_SENDING:
		send_more(c);
		break;
	case ST_READING:
		read_more(c);
		break;
	case ST_OVER:
		break;
	}
}

/* ---- starting a call -------------------------------------------------------- */

/* An IPv4 or IPv6 literal (brackets allowed) into sa; the printable
 * "host:port" or "[v6]:port" into c->hostport. */
static int parse_address(struct peer_call *c, const char *host, int port,
			 struct sockaddr_storage *sa, socklen_t *salen)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
	char lit[INET6_ADDRSTRLEN + 2], text[INET6_ADDRSTRLEN];
	size_t n = strlen(host);

	if (port < 1 || port > 65535 || n == 0 || n >= sizeof(lit))
		return -1;
	if (host[0] == '[' && host[n - 1] == ']') {
		memcpy(lit, host + 1, n - 2);
		lit[n - 2] = '\0';
	} else {
		memcpy(lit, host, n + 1);
	}
	memset(sa, 0, sizeof(*sa));
	if (inet_pton(AF_INET, lit, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*salen = sizeof(*s4);
		inet_ntop(AF_INET, &s4->sin_addr, text, sizeof(text));
		snprintf(c->hostport, sizeof(c->hostport), "%s:%d", text, port);
		return 0;
	}
	if (inet_pton(AF_INET6, lit, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*salen = sizeof(*s6);
		inet_ntop(AF_INET6, &s6->sin6_addr, text, sizeof(text));
		snprintf(c->hostport, sizeof(c->hostport), "[%s]:%d", text, port);
		return 0;
	}
	return -1;
}

/* A header value must not smuggle in another header. */
static bool header_safe(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return false;
	return true;
}

static int build_request(struct peer_call *c, const char *authorization, const char *method,
			 xmlrpc_value *params, char *err, size_t errlen)
{
	xmlrpc_env env;
	xmlrpc_mem_block *xml;
	int rc = -1;

	xmlrpc_env_init(&env);
	xml = xmlrpc_mem_block_new(&env, 0);
	if (env.fault_occurred)
		goto out;
	xmlrpc_serialize_call(&env, xml, method, params);
	if (env.fault_occurred)
		goto out;
	/* Bounded by the caller's own params, already in memory. */
	buf_printf(&c->out, "POST /RPC2 HTTP/1.1\r\n"
		   "Host: %s\r\n"
		   "User-Agent: ovs-agent/" AGENT_VERSION "\r\n"
		   "Content-Type: text/xml\r\n"
		   "Content-Length: %zu\r\n", c->hostport, xmlrpc_mem_block_size(xml));
	if (authorization)
		buf_printf(&c->out, "Authorization: %s\r\n", authorization);
	buf_puts(&c->out, "Connection: close\r\n\r\n");
	buf_append(&c->out, xmlrpc_mem_block_contents(xml), xmlrpc_mem_block_size(xml));
	rc = c->out.failed ? -1 : 0;
out:
	if (env.fault_occurred)
		snprintf(err, errlen, "cannot encode the call to %s: %s", method, env.fault_string);
	else if (rc < 0)
		snprintf(err, errlen, "the call to %s is too large", method);
	if (xml)
		xmlrpc_mem_block_free(xml);
	xmlrpc_env_clean(&env);
	return rc;
}

/* Open the socket and start connecting. A refusal the kernel reports at
 * once is still said from the loop, as the contract promises. */
static int start_connect(struct peer_call *c, const struct sockaddr_storage *sa,
			 socklen_t salen, char *err, size_t errlen)
{
	c->fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		snprintf(err, errlen, "cannot create a socket for %s: %s", c->hostport,
			 strerror(errno));
		return -1;
	}
	if (io_add(c->loop, &c->io, c->fd, EPOLLOUT, on_io, c) < 0) {
		snprintf(err, errlen, "cannot watch the socket for %s: %s", c->hostport,
			 strerror(errno));
		return -1;
	}
	if (connect(c->fd, (const struct sockaddr *)sa, salen) == 0 || errno == EINPROGRESS) {
		timer_start(c->loop, &c->timer, c->timeout_ms);
		return 0;
	}
	c->pending = xasprintf("cannot connect to %s: %s", c->hostport, strerror(errno));
	/* Close now: epoll reports errors on the fd whatever the interest. */
	teardown(c);
	timer_start(c->loop, &c->timer, 0);
	return 0;
}

struct peer_call *peer_call_start(struct loop *loop, const char *host, int port, bool tls,
				  const char *authorization, const char *method,
				  xmlrpc_value *params, int timeout_ms, peer_done_cb done,
				  void *arg, char *err, size_t errlen)
{
	return peer_call_start_pinned(loop, host, port, tls ? &(struct peer_tls){ 0 } : NULL,
				      authorization, method, params, timeout_ms, done, arg, err,
				      errlen);
}

struct peer_call *peer_call_start_pinned(struct loop *loop, const char *host, int port,
					 const struct peer_tls *tls, const char *authorization,
					 const char *method, xmlrpc_value *params, int timeout_ms,
					 peer_done_cb done, void *arg, char *err, size_t errlen)
{
	struct peer_call *c = xcalloc(1, sizeof(*c));
	struct sockaddr_storage sa;
	socklen_t salen = 0;

	c->loop = loop;
	c->fd = -1;
	c->io.fd = -1;
	c->tls = tls != NULL;
	if (tls && tls->seen)
		(c->seen = tls->seen)[0] = '\0';
	c->timeout_ms = timeout_ms;
	c->done = done;
	c->arg = arg;
	c->state = ST_CONNECTING;
	buf_init(&c->out, 0);
	buf_init(&c->in, REPLY_HEAD_MAX + REPLY_BODY_MAX);
	timer_init(&c->timer, on_timer, c);

	if (!host || parse_address(c, host, port, &sa, &salen) < 0) {
		snprintf(err, errlen, "not an IP address and port: %s port %d",
			 host ? host : "(null)", port);
		goto fail;
	}
	if (!method || !*method || !done || timeout_ms <= 0) {
		snprintf(err, errlen, "bad call to %s: method, callback and timeout are required",
			 c->hostport);
		goto fail;
	}
	if (authorization && !header_safe(authorization)) {
		snprintf(err, errlen, "the Authorization value holds control characters");
		goto fail;
	}
	if (tls && tls->pin) {
		size_t n = strlen(tls->pin);

		if (n != PEER_FP_SIZE - 1 || strspn(tls->pin, "0123456789abcdefABCDEF") != n) {
			snprintf(err, errlen, "the pinned fingerprint for %s is not a hex SHA-256",
				 c->hostport);
			goto fail;
		}
		memcpy(c->pin, tls->pin, PEER_FP_SIZE);
	}
	if (tls && !client_ctx(err, errlen))
		goto fail;
	if (build_request(c, authorization, method, params, err, errlen) < 0 ||
	    start_connect(c, &sa, salen, err, errlen) < 0)
		goto fail;
	return c;
fail:
	teardown(c);
	call_free(c);
	return NULL;
}
