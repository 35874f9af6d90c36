/* test_peer.c - the asynchronous XML-RPC client against a fake agent.
 *
 * The client runs in a real loop in the main thread. The fake agent runs
 * in a second thread with plain blocking I/O (simplest to script, and it
 * is the test's, not the loop's): it serves one connection at a time,
 * plain or TLS (a self-signed certificate made here with OpenSSL), and
 * answers as the test's mode says. Every loop run has a guard timer, so
 * a broken client fails a test instead of hanging it. */
#include <ctype.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <xmlrpc-c/base.h>

#include "agent/base/buf.h"
#include "harness.h"
#include "agent/base/loop.h"
#include "agent/rpc/peer.h"
#include "agent/base/util.h"

#define AUTH "Basic dXNlcjpwYXNz"

/* ---- the fake agent (its own thread) ---- */

enum mode { M_ECHO, M_FAULT, M_403, M_SPLIT, M_NOLEN, M_SILENT, M_BIG };

struct sconn {
	int fd;
	SSL *ssl;
};

static struct {
	int lfd, port;
	SSL_CTX *ctx;            /* NULL: plain HTTP */
	enum mode mode;
	pthread_t th;
	atomic_int stop;
	pthread_mutex_t mu;
	char last_head[2048];    /* the last request head seen */
	int served;
} S;

static ssize_t s_read(struct sconn *sc, char *p, size_t n)
{
	if (sc->ssl) {
		int r = SSL_read(sc->ssl, p, (int)n);
		return r > 0 ? r : -1;
	}
	return read(sc->fd, p, n);
}

static int s_write(struct sconn *sc, const char *p, size_t n)
{
	while (n) {
		ssize_t r = sc->ssl ? SSL_write(sc->ssl, p, (int)n) : write(sc->fd, p, n);
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Read one request into req; returns the head length, 0 on garbage (a
 * TLS hello on the plain port), -1 when the client went away. */
static ssize_t s_read_request(struct sconn *sc, char *req, size_t cap, size_t *total)
{
	size_t len = 0, head = 0;
	long body = -1;

	while (head == 0 || len < head + (size_t)body) {
		ssize_t r = s_read(sc, req + len, cap - 1 - len);
		char *end, *cl;

		if (r <= 0)
			return -1;
		len += (size_t)r;
		req[len] = '\0';
		if (len >= 4 && memcmp(req, "POST", 4) != 0)
			return 0;
		if (head || !(end = strstr(req, "\r\n\r\n")))
			continue;
		head = (size_t)(end - req) + 4;
		cl = strcasestr(req, "\r\nContent-Length:");
		body = cl ? strtol(cl + 17, NULL, 10) : 0;
	}
	*total = len;
	return (ssize_t)head;
}

/* "method:first-param", or the fault the mode asks for, as XML. */
static void s_reply_xml(const char *body, size_t len, xmlrpc_mem_block *out)
{
	xmlrpc_env env, fenv;
	xmlrpc_value *params = NULL, *item = NULL, *v;
	const char *method = NULL, *s = NULL;
	char text[512];

	xmlrpc_env_init(&env);
	xmlrpc_env_init(&fenv);
	if (S.mode == M_FAULT) {
		xmlrpc_env_set_fault(&fenv, 1004, "no such VM");
		xmlrpc_serialize_fault(&env, out, &fenv);
		goto out;
	}
	xmlrpc_parse_call(&env, body, len, &method, &params);
	if (!env.fault_occurred && xmlrpc_array_size(&env, params) > 0) {
		xmlrpc_array_read_item(&env, params, 0, &item);
		xmlrpc_read_string(&env, item, &s);
	}
	snprintf(text, sizeof(text), "%s:%s", method ? method : "?", s ? s : "");
	xmlrpc_env_clean(&env);
	xmlrpc_env_init(&env);
	v = xmlrpc_string_new(&env, text);
	xmlrpc_serialize_response(&env, out, v);
	xmlrpc_DECREF(v);
out:
	if (item)
		xmlrpc_DECREF(item);
	if (params)
		xmlrpc_DECREF(params);
	free((char *)method);
	free((char *)s);
	xmlrpc_env_clean(&fenv);
	xmlrpc_env_clean(&env);
}

/* Wait for the client to close (or the test to end) without answering. */
static void s_silent(struct sconn *sc)
{
	char tmp[256];

	while (!atomic_load(&S.stop)) {
		struct pollfd pfd = { sc->fd, POLLIN, 0 };
		if (poll(&pfd, 1, 20) > 0 && s_read(sc, tmp, sizeof(tmp)) <= 0)
			return;
	}
}

static void s_answer(struct sconn *sc, const char *body, size_t len)
{
	xmlrpc_env env;
	xmlrpc_mem_block *xml;
	char head[256];
	const char *x;
	size_t n;

	if (S.mode == M_SILENT)
		return s_silent(sc);
	if (S.mode == M_403) {
		const char *r = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
		s_write(sc, r, strlen(r));
		return;
	}
	if (S.mode == M_BIG) {
		const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 20000000\r\n\r\n<?xml";
		s_write(sc, r, strlen(r));
		return;
	}
	xmlrpc_env_init(&env);
	xml = xmlrpc_mem_block_new(&env, 0);
	s_reply_xml(body, len, xml);
	x = xmlrpc_mem_block_contents(xml);
	n = xmlrpc_mem_block_size(xml);
	if (S.mode == M_NOLEN)
		snprintf(head, sizeof(head), "HTTP/1.0 200 OK\r\nContent-Type: text/xml\r\n\r\n");
	else
		snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n", n);
	if (S.mode == M_SPLIT) {
		/* 7 bytes a write, with pauses: head and body both in pieces. */
		struct buf all;
		buf_init(&all, 0);
		buf_puts(&all, head);
		buf_append(&all, x, n);
		for (size_t off = 0; off < all.len; off += 7) {
			s_write(sc, all.data + off, all.len - off < 7 ? all.len - off : 7);
			usleep(300);
		}
		buf_free(&all);
	} else {
		s_write(sc, head, strlen(head));
		s_write(sc, x, n);
	}
	xmlrpc_mem_block_free(xml);
	xmlrpc_env_clean(&env);
}

static void s_serve(int fd)
{
	struct timeval tv = { 5, 0 };
	struct sconn sc = { fd, NULL };
	static char req[65536];
	size_t total = 0;
	ssize_t head;
	int one = 1;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (S.ctx) {
		sc.ssl = SSL_new(S.ctx);
		SSL_set_fd(sc.ssl, fd);
		if (SSL_accept(sc.ssl) != 1)
			goto out;
	}
	head = s_read_request(&sc, req, sizeof(req), &total);
	if (head == 0) {
		const char *r = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
		s_write(&sc, r, strlen(r));
	}
	if (head <= 0)
		goto out;
	pthread_mutex_lock(&S.mu);
	snprintf(S.last_head, sizeof(S.last_head), "%.*s", (int)head, req);
	pthread_mutex_unlock(&S.mu);
	s_answer(&sc, req + head, total - (size_t)head);
	if (sc.ssl)
		SSL_shutdown(sc.ssl);
out:
	ERR_clear_error();
	SSL_free(sc.ssl);
	pthread_mutex_lock(&S.mu);
	S.served++;
	pthread_mutex_unlock(&S.mu);
}

static void *s_main(void *unused)
{
	while (!atomic_load(&S.stop)) {
		struct pollfd pfd = { S.lfd, POLLIN, 0 };
		int fd;

		if (poll(&pfd, 1, 20) <= 0)
			continue;
		fd = accept4(S.lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		s_serve(fd);
		close(fd);
	}
	return NULL;
}

/* A throw-away self-signed certificate for 127.0.0.1. */
static SSL_CTX *make_server_ctx(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	SSL_CTX *ctx;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1",
				   -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509_sign(x, key, EVP_sha256());
	ctx = SSL_CTX_new(TLS_server_method());
	if (SSL_CTX_use_certificate(ctx, x) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1) {
		SSL_CTX_free(ctx);
		ctx = NULL;
	}
	X509_free(x);
	EVP_PKEY_free(key);
	return ctx;
}

static int listen_local(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

static void server_start(enum mode mode, bool tls)
{
	memset(S.last_head, 0, sizeof(S.last_head));
	S.served = 0;
	S.mode = mode;
	atomic_store(&S.stop, 0);
	S.ctx = tls ? make_server_ctx() : NULL;
	CHECK(!tls || S.ctx);
	S.lfd = listen_local(&S.port);
	CHECK(S.lfd >= 0);
	CHECK(pthread_create(&S.th, NULL, s_main, NULL) == 0);
}

static void server_stop(void)
{
	atomic_store(&S.stop, 1);
	pthread_join(S.th, NULL);
	close(S.lfd);
	SSL_CTX_free(S.ctx);
	S.ctx = NULL;
}

/* A port nobody listens on: bound, then closed. */
static int closed_port(void)
{
	int port = 0, fd = listen_local(&port);

	close(fd);
	return port;
}

/* ---- the client side ---- */

struct result {
	int calls;
	int code;
	char msg[300];
	char value[300];
	struct peer_call *cancel_me;  /* cancelled from this call's done */
};

static struct {
	struct loop *L;
	struct timer guard;
	bool timed_out;
	int want, ndone;
} C;

static void on_done(void *arg, xmlrpc_value *result, int code, const char *msg)
{
	struct result *r = arg;

	r->calls++;
	r->code = code;
	snprintf(r->msg, sizeof(r->msg), "%s", msg ? msg : "");
	r->value[0] = '\0';
	if (result) {
		xmlrpc_env env;
		const char *s = NULL;

		xmlrpc_env_init(&env);
		xmlrpc_read_string(&env, result, &s);
		snprintf(r->value, sizeof(r->value), "%s", s ? s : "(not a string)");
		free((char *)s);
		xmlrpc_env_clean(&env);
	}
	if (r->cancel_me)
		peer_call_cancel(r->cancel_me);
	if (++C.ndone >= C.want)
		loop_stop(C.L);
}

static void guard_fire(struct timer *t)
{
	C.timed_out = true;
	loop_stop(C.L);
}

static void setup(void)
{
	memset(&C, 0, sizeof(C));
	C.L = loop_new();
	timer_init(&C.guard, guard_fire, NULL);
}

/* Run until `want` calls are done in all, or ms pass; true unless the
 * guard fired first. want 0: run for exactly ms. */
static bool run(int want, int ms)
{
	C.want = want ? want : 1 << 30;
	C.timed_out = false;
	timer_start(C.L, &C.guard, ms);
	loop_run(C.L);
	timer_stop(C.L, &C.guard);
	return want ? !C.timed_out : true;
}

static void teardown(void)
{
	loop_free(C.L);
}

static xmlrpc_value *params1(const char *s)
{
	xmlrpc_env env;
	xmlrpc_value *v;

	xmlrpc_env_init(&env);
	v = xmlrpc_build_value(&env, "(s)", s);
	xmlrpc_env_clean(&env);
	return v;
}

static struct peer_call *call(bool tls, int port, const char *param, int timeout_ms,
			      struct result *r)
{
	xmlrpc_value *p = params1(param);
	char err[256] = "";
	struct peer_call *c = peer_call_start(C.L, "127.0.0.1", port, tls, AUTH, "echo", p,
					      timeout_ms, on_done, r, err, sizeof(err));

	xmlrpc_DECREF(p);
	if (!c)
		fprintf(stderr, "  peer_call_start: %s\n", err);
	return c;
}

/* One call against a server in `mode`; the result in *r. */
static void one_call(enum mode mode, bool tls, struct result *r)
{
	server_start(mode, tls);
	setup();
	memset(r, 0, sizeof(*r));
	CHECK(call(tls, S.port, "hello", 5000, r) != NULL);
	CHECK(r->calls == 0);
	CHECK(run(1, 5000));
	CHECK_INT(r->calls, 1);
	teardown();
	server_stop();
}

TEST(success)
{
	struct result r;
	char want[64];

	one_call(M_ECHO, false, &r);
	CHECK_INT(r.code, 0);
	CHECK_STR(r.msg, "");
	CHECK_STR(r.value, "echo:hello");
	CHECK(strstr(S.last_head, "POST /RPC2 HTTP/1.1\r\n") == S.last_head);
	CHECK(strstr(S.last_head, "\r\nAuthorization: " AUTH "\r\n") != NULL);
	CHECK(strstr(S.last_head, "\r\nConnection: close\r\n") != NULL);
	CHECK(strstr(S.last_head, "\r\nContent-Type: text/xml\r\n") != NULL);
	snprintf(want, sizeof(want), "\r\nHost: 127.0.0.1:%d\r\n", S.port);
	CHECK(strstr(S.last_head, want) != NULL);
}

TEST(fault)
{
	struct result r;

	one_call(M_FAULT, false, &r);
	CHECK_INT(r.code, 1004);
	CHECK_STR(r.msg, "no such VM");
	CHECK_STR(r.value, "");
}

TEST(http_403)
{
	struct result r;
	char want[100];

	one_call(M_403, false, &r);
	snprintf(want, sizeof(want), "HTTP 403 Forbidden from 127.0.0.1:%d", S.port);
	CHECK_INT(r.code, -1);
	CHECK_STR(r.msg, want);
}

TEST(split_reply)
{
	struct result r;

	one_call(M_SPLIT, false, &r);
	CHECK_INT(r.code, 0);
	CHECK_STR(r.value, "echo:hello");
}

TEST(reply_until_eof)
{
	struct result r;

	one_call(M_NOLEN, false, &r);
	CHECK_INT(r.code, 0);
	CHECK_STR(r.value, "echo:hello");
}

TEST(reply_too_large)
{
	struct result r;
	char want[100];

	one_call(M_BIG, false, &r);
	snprintf(want, sizeof(want), "the reply from 127.0.0.1:%d is larger than 16 MiB", S.port);
	CHECK_INT(r.code, -1);
	CHECK_STR(r.msg, want);
}

TEST(timeout)
{
	struct result r = { 0 };
	char want[100];

	server_start(M_SILENT, false);
	setup();
	CHECK(call(false, S.port, "hello", 200, &r) != NULL);
	CHECK(run(1, 3000));
	CHECK(run(0, 100));       /* and never again */
	snprintf(want, sizeof(want), "no answer from 127.0.0.1:%d within 0.2 s", S.port);
	CHECK_INT(r.calls, 1);
	CHECK_INT(r.code, -1);
	CHECK_STR(r.msg, want);
	teardown();
	server_stop();
}

TEST(refused)
{
	struct result r = { 0 };
	int port = closed_port();
	char want[100];

	setup();
	CHECK(call(false, port, "hello", 5000, &r) != NULL);
	CHECK_INT(r.calls, 0);    /* never from inside peer_call_start */
	CHECK(run(1, 3000));
	snprintf(want, sizeof(want), "cannot connect to 127.0.0.1:%d: Connection refused", port);
	CHECK_INT(r.calls, 1);
	CHECK_INT(r.code, -1);
	CHECK_STR(r.msg, want);
	teardown();
}

TEST(bad_arguments)
{
	xmlrpc_value *p = params1("x");
	struct result r = { 0 };
	char err[256] = "";

	setup();
	CHECK(!peer_call_start(C.L, "localhost", 8899, false, NULL, "echo", p, 1000, on_done, &r,
			       err, sizeof(err)));
	CHECK(strstr(err, "not an IP address") != NULL);
	CHECK(!peer_call_start(C.L, "127.0.0.1", 0, false, NULL, "echo", p, 1000, on_done, &r,
			       err, sizeof(err)));
	CHECK(!peer_call_start(C.L, "127.0.0.1", 8899, false, "Basic x\r\nX-Evil: 1", "echo", p,
			       1000, on_done, &r, err, sizeof(err)));
	CHECK(run(0, 50));
	CHECK_INT(r.calls, 0);
	xmlrpc_DECREF(p);
	teardown();
}

static void cancel_fire(struct timer *t)
{
	peer_call_cancel(t->data);
}

TEST(cancel)
{
	struct result a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };
	struct peer_call *pa, *pb;
	struct timer t;

	server_start(M_SILENT, false);
	setup();
	/* a: cancelled from a timer while the server sits on it */
	pa = call(false, S.port, "a", 5000, &a);
	CHECK(pa != NULL);
	timer_init(&t, cancel_fire, pa);
	timer_start(C.L, &t, 50);
	/* b: cancelled from d's done callback */
	pb = call(false, S.port, "b", 5000, &b);
	CHECK(pb != NULL);
	d.cancel_me = pb;
	CHECK(call(false, closed_port(), "d", 5000, &d) != NULL);
	/* c: cancelled before the loop ever ran */
	peer_call_cancel(call(false, S.port, "c", 5000, &c));
	CHECK(run(0, 300));
	CHECK_INT(a.calls, 0);
	CHECK_INT(b.calls, 0);
	CHECK_INT(c.calls, 0);
	CHECK_INT(d.calls, 1);
	teardown();
	server_stop();
}

/* n calls at once, each answered with its own parameter. */
static void many(bool tls, int n)
{
	struct result *r = xcalloc((size_t)n, sizeof(*r));
	int ok = 0;

	server_start(M_ECHO, tls);
	setup();
	for (int i = 0; i < n; i++) {
		char p[32];
		snprintf(p, sizeof(p), "call-%d", i);
		CHECK(call(tls, S.port, p, 10000, &r[i]) != NULL);
	}
	CHECK(run(n, 10000));
	for (int i = 0; i < n; i++) {
		char want[64];
		snprintf(want, sizeof(want), "echo:call-%d", i);
		ok += r[i].calls == 1 && r[i].code == 0 && strcmp(r[i].value, want) == 0;
	}
	CHECK_INT(ok, n);
	teardown();
	server_stop();
	free(r);
}

TEST(many_at_once)
{
	many(false, 50);
}

TEST(tls_success)
{
	struct result r;

	one_call(M_ECHO, true, &r);
	CHECK_INT(r.code, 0);
	CHECK_STR(r.value, "echo:hello");
	CHECK(strstr(S.last_head, "\r\nAuthorization: " AUTH "\r\n") != NULL);
}

TEST(tls_fault_and_split)
{
	struct result r;

	one_call(M_FAULT, true, &r);
	CHECK_INT(r.code, 1004);
	CHECK_STR(r.msg, "no such VM");
	one_call(M_SPLIT, true, &r);
	CHECK_INT(r.code, 0);
	CHECK_STR(r.value, "echo:hello");
}

TEST(tls_many_at_once)
{
	many(true, 50);
}

TEST(tls_to_plain_server)
{
	struct result r = { 0 };

	server_start(M_ECHO, false);
	setup();
	CHECK(call(true, S.port, "hello", 5000, &r) != NULL);
	CHECK(run(1, 5000));
	CHECK_INT(r.code, -1);
	CHECK(strstr(r.msg, "TLS handshake with 127.0.0.1:") == r.msg);
	teardown();
	server_stop();
}

static struct peer_call *call_pinned(const char *pin, char *seen, struct result *r)
{
	xmlrpc_value *p = params1("hello");
	char err[256] = "";
	struct peer_call *c = peer_call_start_pinned(C.L, "127.0.0.1", S.port,
						     &(struct peer_tls){ .pin = pin, .seen = seen },
						     AUTH, "echo", p, 5000, on_done, r, err,
						     sizeof(err));

	xmlrpc_DECREF(p);
	if (!c)
		fprintf(stderr, "  peer_call_start_pinned: %s\n", err);
	return c;
}

/* The fingerprint seen is the certificate's; the same pinned passes, in
 * capitals too; another is refused before the request is sent. */
TEST(tls_pinned_certificate)
{
	struct result r = { 0 };
	char seen[PEER_FP_SIZE] = "x", upper[PEER_FP_SIZE], other[PEER_FP_SIZE], err[256];

	server_start(M_ECHO, true);
	setup();
	CHECK(call_pinned(NULL, seen, &r) != NULL);
	CHECK_STR(seen, "");
	CHECK(run(1, 5000));
	CHECK_INT(r.code, 0);
	CHECK_INT(strlen(seen), 64);
	for (int i = 0; i < 65; i++)
		upper[i] = (char)toupper((unsigned char)seen[i]);
	memset(&r, 0, sizeof(r));
	CHECK(call_pinned(upper, NULL, &r) != NULL);
	CHECK(run(1, 5000));
	CHECK_INT(r.code, 0);
	CHECK_STR(r.value, "echo:hello");

	memcpy(other, seen, sizeof(other));
	other[0] = other[0] == '0' ? '1' : '0';
	memset(&r, 0, sizeof(r));
	S.last_head[0] = '\0';
	CHECK(call_pinned(other, NULL, &r) != NULL);
	CHECK(run(1, 5000));
	CHECK_INT(r.code, -1);
	CHECK(strstr(r.msg, "is not the one pinned") != NULL);
	CHECK(strstr(r.msg, seen) != NULL);
	CHECK_STR(S.last_head, "");

	/* a pin that is no SHA-256 is refused at once */
	CHECK(!peer_call_start_pinned(C.L, "127.0.0.1", S.port, &(struct peer_tls){ .pin = "abc" },
				      NULL, "echo", NULL, 1000, on_done, &r, err, sizeof(err)));
	CHECK(strstr(err, "not a hex SHA-256") != NULL);
	teardown();
	server_stop();
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	pthread_mutex_init(&S.mu, NULL);
	RUN(success);
	RUN(fault);
	RUN(http_403);
	RUN(split_reply);
	RUN(reply_until_eof);
	RUN(reply_too_large);
	RUN(timeout);
	RUN(refused);
	RUN(bad_arguments);
	RUN(cancel);
	RUN(many_at_once);
	RUN(tls_success);
	RUN(tls_fault_and_split);
	RUN(tls_many_at_once);
	RUN(tls_to_plain_server);
	RUN(tls_pinned_certificate);
	return harness_done();
}
