/* test_qmp.c - the QMP client against a scripted fake QEMU in the same
 * process and loop: handshake, replies, errors, events, framing across
 * reads, timeouts, closes from either side, bounds, fd passing; and the
 * framer on its own (the JSON reader/writer: test_json.c). Every loop run has a guard
 * timer, so a broken client fails a test instead of hanging it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"
#include "json_text.h"
#include "agent/base/json.h"
#include "agent/base/log.h"
#include "agent/base/loop.h"
#include "hypervisor/qemu/qmp.h"
#include "hypervisor/qemu/qmp_frame.h"
#include "agent/base/util.h"

#define GREETING "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, " \
	"\"major\": 8}, \"package\": \"Debian 1:8.2\"}, \"capabilities\": [\"oob\"]}}\r\n"

/* ---- the fake QEMU ---- */

typedef void (*handler_fn)(const char *cmd, long long id, xmlrpc_value *args);

static struct {
	struct loop *L;
	char dir[64], path[100];
	int lfd, cfd;
	struct io lio, cio;
	struct buf in, out;
	const char *greeting;    /* sent on accept; NULL: nothing */
	bool close_after_flush;
	int recv_fd;             /* last fd received with SCM_RIGHTS */
	char log[8192];          /* commands seen */
	handler_fn handler;
	bool caps_error;
	struct qmp *q;
	char trace[16384];       /* client callbacks seen */
	char why[256];
	xmlrpc_value *last_ret;
	struct timer poll, guard;
	const char *want;
	const char *watch;       /* the buffer run_until searches */
	bool timed_out;
} T;

static void appendf(char *dst, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void appendf(char *dst, size_t size, const char *fmt, ...)
{
	size_t n = strlen(dst);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst + n, size - n, fmt, ap);
	va_end(ap);
}

static void fake_close(void)
{
	if (T.cfd >= 0) {
		io_del(T.L, &T.cio);
		close(T.cfd);
		T.cfd = -1;
	}
}

static void fake_flush(void)
{
	while (T.cfd >= 0 && T.out.len) {
		ssize_t n = write(T.cfd, T.out.data, T.out.len);
		if (n <= 0)
			break;
		buf_consume(&T.out, (size_t)n);
	}
	if (T.cfd < 0)
		return;
	if (!T.out.len && T.close_after_flush)
		fake_close();
	else
		io_mod(T.L, &T.cio, EPOLLIN | (T.out.len ? EPOLLOUT : 0));
}

static void fake_send(const char *s, size_t n)
{
	buf_append(&T.out, s, n);
	fake_flush();
}

static void fake_sendf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fake_sendf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&T.out, fmt, ap);
	va_end(ap);
	fake_flush();
}

/* Bytes sent later, each from its own timer: a piece is written only
 * after the client had a turn to read the one before. */
struct later {
	struct timer t;
	char *text;
	size_t len;
	struct later *next;
};
static struct later *laters;  /* not fired yet; teardown frees the rest */

static void later_free(struct later *l)
{
	struct later **pp = &laters;

	while (*pp && *pp != l)
		pp = &(*pp)->next;
	if (*pp)
		*pp = l->next;
	timer_stop(T.L, &l->t);
	free(l->text);
	free(l);
}

static void later_fire(struct timer *t)
{
	struct later *l = t->data;

	fake_send(l->text, l->len);
	later_free(l);
}

static void fake_later(int ms, const char *text, size_t len)
{
	struct later *l = xcalloc(1, sizeof(*l));

	l->text = xmalloc(len + 1);
	memcpy(l->text, text, len);
	l->len = len;
	timer_init(&l->t, later_fire, l);
	timer_start(T.L, &l->t, ms);
	l->next = laters;
	laters = l;
}

static void fake_command(const char *line, size_t n)
{
	char err[200];
	xmlrpc_value *v = json_parse(line, n, err, sizeof(err)), *name = NULL, *id = NULL;
	xmlrpc_value *args = NULL;
	xmlrpc_env env;
	const char *cmd = NULL;
	int64_t idn = -1;

	if (!v) {
		appendf(T.log, sizeof(T.log), "BAD(%s);", err);
		return;
	}
	xmlrpc_env_init(&env);
	xmlrpc_struct_find_value(&env, v, "execute", &name);
	xmlrpc_struct_find_value(&env, v, "id", &id);
	xmlrpc_struct_find_value(&env, v, "arguments", &args);
	if (name)
		xmlrpc_read_string(&env, name, &cmd);
	json_int64(id, &idn);
	appendf(T.log, sizeof(T.log), "%s;", cmd ? cmd : "?");
	if (cmd && strcmp(cmd, "qmp_capabilities") == 0) {
		if (T.caps_error)
			fake_sendf("{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"nope\"}, \"id\": %lld}\r\n", (long long)idn);
		else
			fake_sendf("{\"return\": {}, \"id\": %lld}\r\n", (long long)idn);
	} else if (T.handler && cmd) {
		T.handler(cmd, (long long)idn, args);
	}
	free((void *)cmd);
	if (name) xmlrpc_DECREF(name);
	if (id) xmlrpc_DECREF(id);
	if (args) xmlrpc_DECREF(args);
	xmlrpc_DECREF(v);
	xmlrpc_env_clean(&env);
}

/* recvmsg, so fds passed along with a command are caught. */
static void fake_read(void)
{
	union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int) * 4)]; } cm;
	char tmp[65536];
	struct iovec iov = { tmp, sizeof(tmp) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b,
			     .msg_controllen = sizeof(cm.b) };
	ssize_t n = recvmsg(T.cfd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	char *nl;

	if (n == 0) {
		fake_close();
		return;
	}
	if (n < 0)
		return;
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h))
		if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS)
			memcpy(&T.recv_fd, CMSG_DATA(h), sizeof(int));
	buf_append(&T.in, tmp, (size_t)n);
	while (T.cfd >= 0 && (nl = memchr(T.in.data, '\n', T.in.len))) {
		size_t len = (size_t)(nl - T.in.data) + 1;
		char *line = xstrndup(T.in.data, len);
		buf_consume(&T.in, len);
		fake_command(line, len);
		free(line);
	}
}

static void fake_io(struct io *io, uint32_t ev)
{
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
		fake_read();
	if (T.cfd >= 0 && (ev & EPOLLOUT))
		fake_flush();
}

static void fake_accept(struct io *io, uint32_t ev)
{
	int fd = accept4(T.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0 || T.cfd >= 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	T.cfd = fd;
	io_add(T.L, &T.cio, fd, EPOLLIN, fake_io, NULL);
	if (T.greeting)
		fake_send(T.greeting, strlen(T.greeting));
}

/* ---- the client's callbacks ---- */

static void on_state(void *arg, enum qmp_state state, const char *why)
{
	if (state == QMP_READY) {
		appendf(T.trace, sizeof(T.trace), "ready;");
	} else {
		appendf(T.trace, sizeof(T.trace), "closed;");
		snprintf(T.why, sizeof(T.why), "%s", why);
	}
}

static void on_event(void *arg, const char *event, xmlrpc_value *data)
{
	char err[100];
	struct buf b;

	buf_init(&b, 4096);
	if (data)
		json_write(&b, data, err, sizeof(err));
	appendf(T.trace, sizeof(T.trace), "ev:%s%s;", event, b.data ? b.data : "");
	buf_free(&b);
}

static void on_reply(void *arg, xmlrpc_value *ret, const char *cls, const char *desc)
{
	if (ret) {
		appendf(T.trace, sizeof(T.trace), "%s:ok;", (const char *)arg);
		if (T.last_ret)
			xmlrpc_DECREF(T.last_ret);
		xmlrpc_INCREF(ret);
		T.last_ret = ret;
	} else {
		appendf(T.trace, sizeof(T.trace), "%s:%s:%s;", (const char *)arg, cls, desc);
	}
}

/* ---- running the loop ---- */

static void poll_tick(struct timer *t)
{
	if (T.want && strstr(T.watch, T.want)) {
		loop_stop(T.L);
		return;
	}
	timer_start(T.L, &T.poll, 2);
}

static void guard_fire(struct timer *t)
{
	T.timed_out = true;
	loop_stop(T.L);
}

/* Run until the buffer holds want (NULL: for ms exactly). */
static bool run_until_in(const char *buffer, const char *want, int ms)
{
	T.watch = buffer;
	T.want = want;
	T.timed_out = false;
	timer_start(T.L, &T.guard, ms);
	timer_start(T.L, &T.poll, 0);
	loop_run(T.L);
	timer_stop(T.L, &T.guard);
	timer_stop(T.L, &T.poll);
	if (want && T.timed_out)
		fprintf(stderr, "  waiting for \"%s\"; trace: %s\n  server log: %s\n", want, T.trace, T.log);
	return want ? !T.timed_out : true;
}

static bool run_until(const char *want, int ms)
{
	return run_until_in(T.trace, want, ms);
}

static void setup_with(qmp_state_cb state_cb, qmp_event_cb event_cb)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char err[200];

	memset(&T, 0, sizeof(T));
	T.L = loop_new();
	T.cfd = T.recv_fd = -1;
	T.greeting = GREETING;
	buf_init(&T.in, 0);
	buf_init(&T.out, 0);
	timer_init(&T.poll, poll_tick, NULL);
	timer_init(&T.guard, guard_fire, NULL);
	strcpy(T.dir, "/tmp/test_qmp.XXXXXX");
	CHECK(mkdtemp(T.dir) != NULL);
	snprintf(T.path, sizeof(T.path), "%s/qmp.sock", T.dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", T.path);
	T.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	CHECK(bind(T.lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK(listen(T.lfd, 4) == 0);
	io_add(T.L, &T.lio, T.lfd, EPOLLIN, fake_accept, NULL);
	T.q = qmp_connect(T.L, T.path, state_cb, event_cb, NULL, err, sizeof(err));
	CHECK(T.q != NULL);
}

static void setup(void)
{
	setup_with(on_state, on_event);
}

static void teardown(void)
{
	while (laters)
		later_free(laters);
	qmp_close(T.q);
	fake_close();
	io_del(T.L, &T.lio);
	close(T.lfd);
	if (T.recv_fd >= 0)
		close(T.recv_fd);
	loop_free(T.L);  /* runs the deferred frees */
	buf_free(&T.in);
	buf_free(&T.out);
	if (T.last_ret)
		xmlrpc_DECREF(T.last_ret);
	unlink(T.path);
	rmdir(T.dir);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

/* ---- handlers of the fake QEMU ---- */

static void h_status(const char *cmd, long long id, xmlrpc_value *args)
{
	if (strcmp(cmd, "query-status") == 0)
		fake_sendf("{\"return\": {\"status\": \"running\", \"singlestep\": false, "
			   "\"running\": true}, \"id\": %lld}\r\n", id);
	else if (strcmp(cmd, "foo") == 0)
		fake_sendf("{\"id\": %lld, \"error\": {\"class\": \"CommandNotFound\", "
			   "\"desc\": \"The command foo has not been found\"}}\r\n", id);
}

TEST(handshake_then_queued_command)
{
	xmlrpc_value *v = NULL;
	xmlrpc_env env;
	int64_t major = 0;
	char *s;

	setup();
	T.handler = h_status;
	CHECK(!qmp_is_ready(T.q));
	CHECK(qmp_execute(T.q, "query-status", NULL, 1000, on_reply, "a") > 0);
	CHECK(run_until("a:ok", 3000));
	CHECK_STR(T.trace, "ready;a:ok;");
	CHECK_STR(T.log, "qmp_capabilities;query-status;");
	CHECK(qmp_is_ready(T.q));
	s = to_json(T.last_ret);
	CHECK_STR(s, "{\"status\":\"running\",\"singlestep\":false,\"running\":true}");
	free(s);
	xmlrpc_env_init(&env);
	xmlrpc_decompose_value(&env, qmp_greeting(T.q), "{s:{s:{s:V,*},*},*}", "version", "qemu", "major", &v);
	CHECK(!env.fault_occurred && json_int64(v, &major) == 0);
	CHECK_INT(major, 8);
	if (v)
		xmlrpc_DECREF(v);
	xmlrpc_env_clean(&env);
	teardown();
}

static void h_echo(const char *cmd, long long id, xmlrpc_value *args)
{
	char *s = to_json(args);

	fake_sendf("{\"return\": %s, \"id\": %lld}\r\n", s, id);
	free(s);
}

/* Arguments survive our writer, the fake's reader, its writer and our
 * reader: paths with '/', quotes, escapes, non-ASCII, big numbers. */
TEST(arguments_and_results_round_trip)
{
	xmlrpc_env env;
	xmlrpc_value *args, *nil, *s;
	char *want, *got;

	setup();
	T.handler = h_echo;
	xmlrpc_env_init(&env);
	nil = xmlrpc_nil_new(&env);
	s = xmlrpc_string_new_lp_cr(&env, 10, "a\r\nb\tc\x01\x7f/d");
	args = xmlrpc_build_value(&env, "{s:s,s:s,s:I,s:i,s:d,s:b,s:V,s:V,s:(iis)}",
				  "filename", "/var/ovs/mnt/\"x\"\\y.img",
				  "name", "caf\xc3\xa9 \xe2\x82\xac",
				  "size", (xmlrpc_int64)10737418240LL,
				  "neg", -5, "ratio", 0.25, "ro", 1, "nothing", nil, "ctl", s,
				  "list", 1, 2, "three");
	if (env.fault_occurred)
		fprintf(stderr, "  build: %s\n", env.fault_string);
	CHECK(!env.fault_occurred);
	CHECK(qmp_execute(T.q, "blockdev-add", args, 1000, on_reply, "a") > 0);
	CHECK(run_until("a:ok", 3000));
	want = to_json(args);
	got = T.last_ret ? to_json(T.last_ret) : xstrdup("");
	CHECK_STR(got, want);
	CHECK(strstr(want, "\"/var/ovs/mnt/\\\"x\\\"\\\\y.img\"") != NULL);
	CHECK(strstr(want, "\"a\\r\\nb\\tc\\u0001\x7f/d\"") != NULL);
	free(want);
	free(got);
	xmlrpc_DECREF(args);
	xmlrpc_DECREF(nil);
	xmlrpc_DECREF(s);
	xmlrpc_env_clean(&env);
	teardown();
}

TEST(error_reply)
{
	setup();
	T.handler = h_status;
	CHECK(qmp_execute(T.q, "foo", NULL, 1000, on_reply, "a") > 0);
	CHECK(run_until("a:", 3000));
	CHECK_STR(T.trace, "ready;a:CommandNotFound:The command foo has not been found;");
	teardown();
}

static void h_events(const char *cmd, long long id, xmlrpc_value *args)
{
	fake_sendf("{\"timestamp\": {\"seconds\": 1700000000, \"microseconds\": 5}, \"event\": \"STOP\"}\r\n");
	fake_sendf("{\"timestamp\": {\"seconds\": 1700000001, \"microseconds\": 6}, \"event\": \"RESUME\"}\r\n"
		   "{\"timestamp\": {\"seconds\": 1700000002, \"microseconds\": 7}, \"event\": \"SHUTDOWN\", "
		   "\"data\": {\"guest\": true, \"reason\": \"guest-shutdown\"}}\r\n"
		   "{\"return\": {}, \"id\": %lld}\r\n", id);
}

TEST(events_in_order_with_data)
{
	setup();
	T.handler = h_events;
	CHECK(qmp_execute(T.q, "cont", NULL, 1000, on_reply, "a") > 0);
	CHECK(run_until("a:ok", 3000));
	CHECK_STR(T.trace, "ready;ev:STOP;ev:RESUME;ev:SHUTDOWN{\"guest\":true,\"reason\":\"guest-shutdown\"};a:ok;");
	teardown();
}

/* A reply dribbled out one byte per turn - across an escape, a UTF-8
 * sequence and the CRLF - then three messages in one write. */
static void h_split(const char *cmd, long long id, xmlrpc_value *args)
{
	char text[256];
	int n;

	if (strcmp(cmd, "first") == 0) {
		n = snprintf(text, sizeof(text), "{\"return\": {\"s\": \"q\\\"\\u00e9\xc3\xa9\\ud83d\\ude00}{\"}, "
			     "\"id\": %lld}\r\n", id);
		for (int i = 0; i < n; i++)
			fake_later(1 + 2 * i, text + i, 1);
	} else if (strcmp(cmd, "c") == 0) {
		fake_sendf("{\"return\": 1, \"id\": %lld}\r\n{\"event\": \"X\"}\r\n"
			   "{\"return\": 2, \"id\": %lld}\r\n", id - 1, id);
	}
}

TEST(reply_split_across_reads_and_coalesced)
{
	char *s;

	setup();
	T.handler = h_split;
	CHECK(qmp_execute(T.q, "first", NULL, 5000, on_reply, "a") > 0);
	CHECK(run_until("a:ok", 5000));
	s = T.last_ret ? to_json(T.last_ret) : xstrdup("");
	CHECK_STR(s, "{\"s\":\"q\\\"\xc3\xa9\xc3\xa9\xef\xbf\xbd}{\"}");
	free(s);
	CHECK(qmp_execute(T.q, "b", NULL, 1000, on_reply, "b") > 0);
	CHECK(qmp_execute(T.q, "c", NULL, 1000, on_reply, "c") > 0);
	CHECK(run_until("c:ok", 3000));
	CHECK_STR(T.trace, "ready;a:ok;b:ok;ev:X;c:ok;");
	teardown();
}

static void h_slow(const char *cmd, long long id, xmlrpc_value *args)
{
	char text[64];
	int n;

	if (strcmp(cmd, "slow") == 0) {
		n = snprintf(text, sizeof(text), "{\"return\": {}, \"id\": %lld}\r\n", id);
		fake_later(150, text, (size_t)n);
	} else {
		h_status(cmd, id, args);
	}
}

TEST(timeout_then_late_reply_ignored)
{
	setup();
	T.handler = h_slow;
	CHECK(qmp_execute(T.q, "slow", NULL, 50, on_reply, "a") > 0);
	CHECK(run_until("a:Timeout", 3000));
	CHECK(strstr(T.trace, "a:Timeout:no reply to slow within 50 ms;") != NULL);
	CHECK(qmp_execute(T.q, "query-status", NULL, 1000, on_reply, "b") > 0);
	CHECK(run_until("b:ok", 3000));
	run_until(NULL, 200);  /* the late reply arrives and is dropped */
	CHECK_STR(T.trace, "ready;a:Timeout:no reply to slow within 50 ms;b:ok;");
	CHECK(qmp_is_ready(T.q));
	teardown();
}

static int nslow;
static void h_close_after_two(const char *cmd, long long id, xmlrpc_value *args)
{
	if (++nslow == 2)
		fake_close();
}

TEST(server_close_fails_pending_commands)
{
	setup();
	nslow = 0;
	T.handler = h_close_after_two;
	CHECK(qmp_execute(T.q, "slow", NULL, 0, on_reply, "a") > 0);
	CHECK(qmp_execute(T.q, "slow", NULL, 0, on_reply, "b") > 0);
	CHECK(run_until("closed;", 3000));
	CHECK_STR(T.trace, "ready;a:Closed:QEMU closed the QMP connection;"
		  "b:Closed:QEMU closed the QMP connection;closed;");
	CHECK_STR(T.why, "QEMU closed the QMP connection");
	CHECK(!qmp_is_ready(T.q));
	errno = 0;
	CHECK(qmp_execute(T.q, "x", NULL, 0, on_reply, "c") == -1 && errno == ENOTCONN);
	teardown();
}

static void h_half(const char *cmd, long long id, xmlrpc_value *args)
{
	T.close_after_flush = true;
	fake_sendf("{\"return\": {\"a\": ");
}

TEST(server_close_mid_message)
{
	setup();
	T.handler = h_half;
	CHECK(qmp_execute(T.q, "x", NULL, 0, on_reply, "a") > 0);
	CHECK(run_until("closed;", 3000));
	CHECK_STR(T.why, "QEMU closed the QMP connection in the middle of a message");
	CHECK(strstr(T.trace, "a:Closed:") != NULL);
	teardown();
}

static size_t last_pad;

/* {"return": "xxx...", "id": N} of exactly len bytes (plus CRLF). */
static void send_padded(long long id, size_t len)
{
	char head[] = "{\"return\": \"", tail[64];
	size_t tl = (size_t)snprintf(tail, sizeof(tail), "\", \"id\": %lld}", id);
	size_t pad = len - strlen(head) - tl;
	char *s = xmalloc(len + 2);

	last_pad = pad;

	memcpy(s, head, strlen(head));
	memset(s + strlen(head), 'x', pad);
	memcpy(s + strlen(head) + pad, tail, tl);
	memcpy(s + len, "\r\n", 2);
	fake_send(s, len + 2);
	free(s);
}

static void h_big(const char *cmd, long long id, xmlrpc_value *args)
{
	send_padded(id, strcmp(cmd, "max") == 0 ? QMP_MAX_MESSAGE : QMP_MAX_MESSAGE + 1);
}

TEST(message_size_bound)
{
	xmlrpc_env env;
	size_t n = 0;
	const char *s = NULL;

	setup();
	T.handler = h_big;
	CHECK(qmp_execute(T.q, "max", NULL, 5000, on_reply, "a") > 0);
	CHECK(run_until("a:ok", 5000));
	xmlrpc_env_init(&env);
	if (T.last_ret)
		xmlrpc_read_string_lp(&env, T.last_ret, &n, &s);
	CHECK(n > 0 && n == last_pad);
	free((void *)s);
	xmlrpc_env_clean(&env);
	CHECK(qmp_execute(T.q, "over", NULL, 5000, on_reply, "b") > 0);
	CHECK(run_until("closed;", 5000));
	CHECK_STR(T.why, "bad QMP stream from QEMU: message longer than 1048576 bytes");
	CHECK(strstr(T.trace, "b:Closed:bad QMP stream") != NULL);
	teardown();
}

static const char *junk;
static void h_junk(const char *cmd, long long id, xmlrpc_value *args)
{
	fake_send(junk, strlen(junk));
}

static void expect_closed(const char *text, const char *why_prefix)
{
	setup();
	junk = text;
	T.handler = h_junk;
	CHECK(qmp_execute(T.q, "x", NULL, 1000, on_reply, "a") > 0);
	CHECK(run_until("closed;", 3000));
	if (strncmp(T.why, why_prefix, strlen(why_prefix)) != 0) {
		fprintf(stderr, "  why: %s\n  expected: %s...\n", T.why, why_prefix);
		harness_failed_now = 1;
	}
	CHECK(strstr(T.trace, "a:Closed:") != NULL);
	teardown();
}

TEST(bad_input_closes_with_reason)
{
	expect_closed("{\"return\": nope, \"id\": 1}\r\n", "bad JSON from QEMU: unexpected character 0x6e at byte 11");
	expect_closed("hello\r\n", "bad QMP stream from QEMU: byte 0x68 outside a JSON object");
	expect_closed("{\"return\": \"\xff\", \"id\": 1}\r\n", "bad JSON from QEMU: invalid UTF-8");
	expect_closed("{\"return\": {}}\r\n", "QEMU sent a reply without an id");
	expect_closed("{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error\"}}\r\n",
		      "QEMU sent a reply without an id: JSON parse error");
	expect_closed("{\"hello\": 1}\r\n", "QEMU sent a message that is neither reply nor event");
	expect_closed(GREETING, "QEMU sent a second QMP greeting");
	{
		static char deep[JSON_MAX_DEPTH + 16] = "{\"a\":";
		memset(deep + 5, '[', JSON_MAX_DEPTH);
		expect_closed(deep, "bad QMP stream from QEMU: message nested deeper than 128");
	}
}

TEST(handshake_failures)
{
	/* no greeting at all */
	setup();
	T.greeting = NULL;
	qmp_set_handshake_timeout(T.q, 50);
	CHECK(qmp_execute(T.q, "x", NULL, 0, on_reply, "a") > 0);
	CHECK(run_until("closed;", 3000));
	CHECK_STR(T.why, "no QMP greeting from QEMU within 50 ms");
	CHECK_STR(T.trace, "a:Closed:no QMP greeting from QEMU within 50 ms;closed;");
	teardown();
	/* something else first */
	setup();
	T.greeting = "{\"event\": \"STOP\"}\r\n";
	CHECK(run_until("closed;", 3000));
	CHECK_STR(T.why, "QEMU did not start with a QMP greeting");
	teardown();
	/* capabilities refused */
	setup();
	T.caps_error = true;
	CHECK(run_until("closed;", 3000));
	CHECK_STR(T.why, "QEMU refused qmp_capabilities: nope");
	teardown();
}

/* ---- closing from inside callbacks ---- */

static void close_in_reply(void *arg, xmlrpc_value *ret, const char *cls, const char *desc)
{
	on_reply(arg, ret, cls, desc);
	qmp_close(T.q);
	T.q = NULL;
}

static void h_both(const char *cmd, long long id, xmlrpc_value *args)
{
	if (strcmp(cmd, "second") == 0)
		fake_sendf("{\"return\": {}, \"id\": %lld}\r\n{\"event\": \"STOP\"}\r\n"
			   "{\"return\": {}, \"id\": %lld}\r\n", id - 1, id);
}

TEST(close_inside_reply_callback)
{
	setup();
	T.handler = h_both;
	CHECK(qmp_execute(T.q, "first", NULL, 1000, close_in_reply, "a") > 0);
	CHECK(qmp_execute(T.q, "second", NULL, 1000, on_reply, "b") > 0);
	CHECK(run_until("a:ok", 3000));
	run_until(NULL, 50);
	CHECK_STR(T.trace, "ready;a:ok;");
	teardown();
}

static void close_in_event(void *arg, const char *event, xmlrpc_value *data)
{
	on_event(arg, event, data);
	qmp_close(T.q);
	T.q = NULL;
}

static void close_in_state(void *arg, enum qmp_state state, const char *why)
{
	on_state(arg, state, why);
	qmp_close(T.q);
	T.q = NULL;
}

TEST(close_inside_event_and_state_callbacks)
{
	setup_with(on_state, close_in_event);
	T.handler = h_both;
	CHECK(qmp_execute(T.q, "first", NULL, 1000, on_reply, "a") > 0);
	CHECK(qmp_execute(T.q, "second", NULL, 1000, on_reply, "b") > 0);
	CHECK(run_until("ev:STOP", 3000));
	run_until(NULL, 50);
	CHECK_STR(T.trace, "ready;a:ok;ev:STOP;");
	teardown();

	setup_with(close_in_state, on_event);
	CHECK(qmp_execute(T.q, "first", NULL, 1000, on_reply, "a") > 0);
	CHECK(run_until("ready;", 3000));
	run_until(NULL, 50);
	CHECK_STR(T.trace, "ready;");
	teardown();
}

TEST(close_inside_closed_callback)
{
	setup();
	nslow = 0;
	T.handler = h_close_after_two;
	CHECK(qmp_execute(T.q, "slow", NULL, 0, close_in_reply, "a") > 0);
	CHECK(qmp_execute(T.q, "slow", NULL, 0, on_reply, "b") > 0);
	CHECK(run_until("a:Closed", 3000));
	run_until(NULL, 50);
	CHECK_STR(T.trace, "ready;a:Closed:QEMU closed the QMP connection;");
	teardown();
}

/* ---- limits, cancel, errors at the call ---- */

static void h_ping(const char *cmd, long long id, xmlrpc_value *args)
{
	char text[64];
	int n = snprintf(text, sizeof(text), "{\"return\": {}, \"id\": %lld}\r\n", id);

	if (strcmp(cmd, "late") == 0)
		fake_later(50, text, (size_t)n);
	else
		fake_send(text, (size_t)n);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

TEST(inflight_limit_and_cancel)
{
	static char labels[QMP_MAX_INFLIGHT][16];
	int ids[QMP_MAX_INFLIGHT];
	xmlrpc_env env;
	xmlrpc_value *arr, *bad;
	int late;

	setup();
	T.handler = h_ping;
	for (int i = 0; i < QMP_MAX_INFLIGHT; i++) {
		snprintf(labels[i], sizeof(labels[i]), "p%d", i);
		ids[i] = qmp_execute(T.q, i == 3 ? "cancelled" : "ping", NULL, 2000, on_reply, labels[i]);
		CHECK(ids[i] > 0);
	}
	errno = 0;
	CHECK(qmp_execute(T.q, "ping", NULL, 2000, on_reply, "over") == -1 && errno == EBUSY);
	qmp_cancel(T.q, ids[3]);
	qmp_cancel(T.q, 99999);
	CHECK(run_until("p63:ok", 3000));
	CHECK_INT(count(T.trace, ":ok;"), QMP_MAX_INFLIGHT - 1);
	CHECK(strstr(T.trace, "p3:") == NULL);
	CHECK(strstr(T.log, "cancelled") == NULL);
	/* cancelled after it went out: the reply comes and is dropped */
	late = qmp_execute(T.q, "late", NULL, 2000, on_reply, "late");
	CHECK(run_until_in(T.log, "late;", 3000));
	qmp_cancel(T.q, late);
	run_until(NULL, 100);
	CHECK(strstr(T.trace, "late") == NULL);
	/* refused at the call */
	xmlrpc_env_init(&env);
	arr = xmlrpc_array_new(&env);
	bad = xmlrpc_build_value(&env, "{s:s#}", "s", "a\0b", (size_t)3);
	errno = 0;
	CHECK(qmp_execute(T.q, "x", arr, 0, NULL, NULL) == -1 && errno == EINVAL);
	errno = 0;
	CHECK(qmp_execute(T.q, "x", bad, 0, NULL, NULL) == -1 && errno == EINVAL);
	errno = 0;
	CHECK(qmp_execute(T.q, "", NULL, 0, NULL, NULL) == -1 && errno == EINVAL);
	errno = 0;
	CHECK(qmp_send_fd(T.q, -1, "x", 0, NULL, NULL) == -1 && errno == EBADF);
	xmlrpc_DECREF(arr);
	xmlrpc_DECREF(bad);
	xmlrpc_env_clean(&env);
	CHECK(qmp_is_ready(T.q));
	teardown();
}

TEST(connect_errors)
{
	struct loop *L = loop_new();
	char err[300], path[100], longpath[200];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/test_qmp.XXXXXX";
	int fd;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/none.sock", dir);
	errno = 0;
	CHECK(qmp_connect(L, path, on_state, NULL, NULL, err, sizeof(err)) == NULL && errno == ENOENT);
	CHECK(strstr(err, "none.sock") != NULL);
	/* a socket file nobody listens on any more */
	snprintf(path, sizeof(path), "%s/dead.sock", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	close(fd);
	errno = 0;
	CHECK(qmp_connect(L, path, on_state, NULL, NULL, err, sizeof(err)) == NULL && errno == ECONNREFUSED);
	unlink(path);
	memset(longpath, 'a', 150);
	longpath[150] = '\0';
	errno = 0;
	CHECK(qmp_connect(L, longpath, on_state, NULL, NULL, err, sizeof(err)) == NULL && errno == ENAMETOOLONG);
	rmdir(dir);
	loop_free(L);
}

/* ---- fd passing ---- */

static void h_getfd(const char *cmd, long long id, xmlrpc_value *args)
{
	char *a = to_json(args);

	appendf(T.log, sizeof(T.log), "args=%s,fd=%s;", a, T.recv_fd >= 0 ? "yes" : "no");
	free(a);
	if (T.recv_fd >= 0) {
		if (write(T.recv_fd, "hello", 5) != 5)
			appendf(T.log, sizeof(T.log), "write failed;");
		close(T.recv_fd);
		T.recv_fd = -1;
	}
	fake_sendf("{\"return\": {}, \"id\": %lld}\r\n", id);
}

TEST(pass_fd_with_getfd)
{
	char file[128], got[16] = "";
	int fd, n0;

	setup();
	T.handler = h_getfd;
	CHECK(run_until("ready;", 3000));
	snprintf(file, sizeof(file), "%s/mem.save", T.dir);
	n0 = count_fds();
	fd = open(file, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK(qmp_send_fd(T.q, fd, "mig0", 1000, on_reply, "a") > 0);
	close(fd);  /* the client holds its own copy */
	CHECK(run_until("a:ok", 3000));
	CHECK(strstr(T.log, "getfd;args={\"fdname\":\"mig0\"},fd=yes;") != NULL);
	CHECK_INT(count_fds(), n0);  /* every copy closed again */
	fd = open(file, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0 && read(fd, got, sizeof(got) - 1) == 5);
	CHECK_STR(got, "hello");
	close(fd);
	unlink(file);
	teardown();
}

/* ---- the framer ---- */

TEST(framer)
{
	static const char stream[] = " \r\n{\"a\":\"}\\\"{[\"}\r\n{\"b\":[1,{}]}{\"c\":0}\n  {\"d\"";
	struct qmp_framer f;
	const char *msg;
	size_t len;
	char err[100], got[256] = "";
	int r;

	qmp_framer_init(&f, 64);
	/* byte by byte: the same messages as all at once */
	for (size_t i = 0; i < sizeof(stream) - 1; i++) {
		buf_append(&f.in, stream + i, 1);
		while ((r = qmp_framer_next(&f, &msg, &len, err, sizeof(err))) > 0)
			appendf(got, sizeof(got), "%.*s|", (int)len, msg);
		CHECK(r == 0);
	}
	CHECK_STR(got, "{\"a\":\"}\\\"{[\"}|{\"b\":[1,{}]}|{\"c\":0}|");
	CHECK(f.depth == 1 && f.in.len == 4);
	qmp_framer_free(&f);

	qmp_framer_init(&f, 8);
	buf_puts(&f.in, "{\"a\":12}{\"a\":123}");
	CHECK(qmp_framer_next(&f, &msg, &len, err, sizeof(err)) == 1 && len == 8);
	CHECK(qmp_framer_next(&f, &msg, &len, err, sizeof(err)) == -1);
	CHECK_STR(err, "message longer than 8 bytes");
	qmp_framer_free(&f);

	qmp_framer_init(&f, 64);
	buf_puts(&f.in, "{}]");
	CHECK(qmp_framer_next(&f, &msg, &len, err, sizeof(err)) == 1 && len == 2);
	CHECK(qmp_framer_next(&f, &msg, &len, err, sizeof(err)) == -1);
	CHECK_STR(err, "byte 0x5d outside a JSON object");
	qmp_framer_free(&f);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);  /* as the agent does */
	log_set_level(LOG_ERR);    /* every test closes a connection or two */
	RUN(handshake_then_queued_command);
	RUN(arguments_and_results_round_trip);
	RUN(error_reply);
	RUN(events_in_order_with_data);
	RUN(reply_split_across_reads_and_coalesced);
	RUN(timeout_then_late_reply_ignored);
	RUN(server_close_fails_pending_commands);
	RUN(server_close_mid_message);
	RUN(message_size_bound);
	RUN(bad_input_closes_with_reason);
	RUN(handshake_failures);
	RUN(close_inside_reply_callback);
	RUN(close_inside_event_and_state_callbacks);
	RUN(close_inside_closed_callback);
	RUN(inflight_limit_and_cancel);
	RUN(connect_errors);
	RUN(pass_fd_with_getfd);
	RUN(framer);
	return harness_done();
}
