/* qmp.c - QMP client: commands matched to replies by id, events,
 * timeouts, fd passing, over the loop. JSON is agent/base/json.c, the
 * stream framing qmp_frame.c. */
#define LOG_CAT "qmp"
#include "hypervisor/qemu/qmp.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/base/json.h"
#include "agent/base/log.h"
#include "agent/base/loop.h"
#include "agent/base/util.h"
#include "hypervisor/qemu/qmp_frame.h"

#define READ_CHUNK 16384        /* per read; <= QMP_FRAMER_SLACK */
#define IDLE_BUF_KEEP 65536     /* drop a bigger input buffer once it is empty */

/* ==== the client ========================================================== */

enum conn_state { S_GREETING, S_NEGOTIATING, S_READY, S_CLOSED };

struct qmp_cmd {
	struct qmp_cmd *next;
	struct qmp *q;
	int id;
	char *text;             /* serialized command; freed once written */
	size_t len, off;
	int fd;                 /* passed with the first byte, or -1 */
	bool caps;              /* our qmp_capabilities */
	bool dropped;           /* timed out or cancelled while partly written */
	char name[48];          /* for logs and the timeout message */
	int timeout_ms;
	struct timer timer;
	qmp_reply_cb cb;
	void *arg;
};

struct qmp {
	struct loop *loop;
	struct io io;
	int fd;
	enum conn_state state;
	bool dead;              /* qmp_close() called; freed at the end of the turn */
	struct qmp_framer in;
	/* Commands in send order: those before `unsent` are written and await
	 * their reply, `unsent` may be partly written, the rest are untouched. */
	struct qmp_cmd *head, *tail, *unsent;
	int nuser;              /* commands counted against QMP_MAX_INFLIGHT */
	int last_id;
	int handshake_ms;
	struct timer handshake;
	xmlrpc_value *greeting;
	qmp_state_cb state_cb;
	qmp_event_cb event_cb;
	void *arg;
	char why[256];
};

static void q_fail(struct qmp *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void q_closed_by_peer(struct qmp *q);
static void flush(struct qmp *q);

static bool gone(const struct qmp *q)
{
	return q->dead || q->state == S_CLOSED;
}

/* ---- commands ---- */

static void cmd_free(struct qmp_cmd *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->text);
	free(c);
}

static struct qmp_cmd *cmd_find(struct qmp *q, int64_t id)
{
	for (struct qmp_cmd *c = q->head; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

static void cmd_unlink(struct qmp *q, struct qmp_cmd *c)
{
	struct qmp_cmd **pp = &q->head, *prev = NULL;

	while (*pp && *pp != c) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (!*pp)
		return;
	*pp = c->next;
	if (q->tail == c)
		q->tail = prev;
	if (q->unsent == c)
		q->unsent = c->next;
	c->next = NULL;
	if (!c->caps)
		q->nuser--;
}

static void cmd_append(struct qmp *q, struct qmp_cmd *c)
{
	if (q->tail)
		q->tail->next = c;
	else
		q->head = c;
	q->tail = c;
	if (!q->unsent)
		q->unsent = c;
	if (!c->caps)
		q->nuser++;
}

static bool cmd_partly_sent(const struct qmp *q, const struct qmp_cmd *c)
{
	return c == q->unsent && c->off > 0;
}

/* Forget c's callback. Bytes already on the wire must be finished, or the
 * stream would be corrupt; otherwise c goes at once. */
static void cmd_drop(struct qmp *q, struct qmp_cmd *c)
{
	timer_stop(q->loop, &c->timer);
	c->cb = NULL;
	if (cmd_partly_sent(q, c)) {
		c->dropped = true;
		return;
	}
	cmd_unlink(q, c);
	cmd_free(c);
}

static void on_cmd_timeout(struct timer *t)
{
	struct qmp_cmd *c = t->data;
	qmp_reply_cb cb = c->cb;
	void *arg = c->arg;
	char desc[128];

	snprintf(desc, sizeof(desc), "no reply to %s within %d ms", c->name, c->timeout_ms);
	log_warn("%s", desc);
	cmd_drop(c->q, c);
	if (cb)
		cb(arg, NULL, "Timeout", desc);
}

static int next_id(struct qmp *q)
{
	do
		q->last_id = q->last_id >= INT_MAX ? 1 : q->last_id + 1;
	while (cmd_find(q, q->last_id));
	return q->last_id;
}

/* {"execute":NAME,"arguments":ARGS,"id":N} and CRLF, as QEMU writes. */
static int cmd_serialize(struct qmp_cmd *c, const char *command, xmlrpc_value *args)
{
	struct buf out;
	char err[160];
	int rc;

	buf_init(&out, QMP_MAX_MESSAGE);
	buf_puts(&out, "{\"execute\":");
	rc = json_write_string(&out, command, strlen(command), err, sizeof(err));
	if (rc == 0 && args) {
		buf_puts(&out, ",\"arguments\":");
		rc = json_write(&out, args, err, sizeof(err));
	}
	buf_printf(&out, ",\"id\":%d}\r\n", c->id);
	if (rc == 0 && out.failed) {
		snprintf(err, sizeof(err), "JSON text longer than %zu bytes", out.max);
		rc = -1;
	}
	if (rc < 0) {
		log_warn("cannot send QMP command %s: %s", c->name, err);
		errno = out.failed ? EMSGSIZE : EINVAL;
		buf_free(&out);
		return -1;
	}
	c->text = buf_steal(&out, &c->len);
	return 0;
}

static struct qmp_cmd *cmd_new(struct qmp *q, const char *command, xmlrpc_value *args)
{
	struct qmp_cmd *c;

	if (!command || !*command || (args && xmlrpc_value_type(args) != XMLRPC_TYPE_STRUCT)) {
		errno = EINVAL;
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->q = q;
	c->fd = -1;
	c->id = next_id(q);
	snprintf(c->name, sizeof(c->name), "%s", command);
	timer_init(&c->timer, on_cmd_timeout, c);
	if (cmd_serialize(c, command, args) < 0) {
		free(c);
		return NULL;
	}
	return c;
}

static int submit(struct qmp *q, const char *command, xmlrpc_value *args, int fd,
		  int timeout_ms, qmp_reply_cb cb, void *arg)
{
	struct qmp_cmd *c;

	if (!q || gone(q)) {
		errno = ENOTCONN;
		return -1;
	}
	if (q->nuser >= QMP_MAX_INFLIGHT) {
		errno = EBUSY;
		return -1;
	}
	if (!(c = cmd_new(q, command, args)))
		return -1;
	c->fd = fd;
	c->cb = cb;
	c->arg = arg;
	c->timeout_ms = timeout_ms;
	cmd_append(q, c);
	if (timeout_ms > 0)
		timer_start(q->loop, &c->timer, timeout_ms);
	/* Written from the loop, never here: a write error must not run
	 * callbacks before the caller has our return value. */
	if (q->state == S_READY)
		io_wake(q->loop, &q->io, EPOLLOUT);
	log_debug("queued %s (id %d)", c->name, c->id);
	return c->id;
}

int qmp_execute(struct qmp *q, const char *command, xmlrpc_value *args, int timeout_ms,
		qmp_reply_cb cb, void *arg)
{
	return submit(q, command, args, -1, timeout_ms, cb, arg);
}

int qmp_send_fd(struct qmp *q, int fd, const char *fdname, int timeout_ms,
		qmp_reply_cb cb, void *arg)
{
	xmlrpc_env env;
	xmlrpc_value *args = NULL;
	int dup_fd = -1, id = -1, e;

	xmlrpc_env_init(&env);
	if (fd < 0) {
		errno = EBADF;
		goto out;
	}
	if ((dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0)
		goto out;
	args = xmlrpc_build_value(&env, "{s:s}", "fdname", fdname ? fdname : "");
	if (env.fault_occurred || !fdname || !*fdname) {
		errno = EINVAL;
		goto out;
	}
	id = submit(q, "getfd", args, dup_fd, timeout_ms, cb, arg);
	if (id > 0)
		dup_fd = -1;  /* the command owns it now */
out:
	e = errno;
	if (dup_fd >= 0)
		close(dup_fd);
	if (args)
		xmlrpc_DECREF(args);
	xmlrpc_env_clean(&env);
	errno = e;
	return id;
}

void qmp_cancel(struct qmp *q, int id)
{
	struct qmp_cmd *c;

	if (!q || q->dead || !(c = cmd_find(q, id)) || c->caps)
		return;
	cmd_drop(q, c);
}

/* ---- writing ---- */

/* sendmsg so the first chunk of a getfd command carries its fd. */
static ssize_t send_cmd(struct qmp *q, struct qmp_cmd *c)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { .iov_base = c->text + c->off, .iov_len = c->len - c->off };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (c->fd >= 0) {
		struct cmsghdr *h;
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.b;
		mh.msg_controllen = sizeof(cm.b);
		h = CMSG_FIRSTHDR(&mh);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(h), &c->fd, sizeof(int));
	}
	return sendmsg(q->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void sent_one(struct qmp *q, struct qmp_cmd *c)
{
	q->unsent = c->next;
	free(c->text);
	c->text = NULL;
	log_debug("sent %s (id %d)", c->name, c->id);
	if (c->dropped) {
		cmd_unlink(q, c);
		cmd_free(c);
	}
}

/* Write queued commands in order; before READY only qmp_capabilities. */
static void flush(struct qmp *q)
{
	bool blocked = false;

	while (q->unsent) {
		struct qmp_cmd *c = q->unsent;
		ssize_t n;

		if (q->state != S_READY && !c->caps)
			break;
		n = send_cmd(q, c);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			blocked = true;
			break;
		}
		if (n < 0) {
			q_fail(q, "cannot write to the QMP socket: %s", strerror(errno));
			return;
		}
		c->off += (size_t)n;
		if (c->fd >= 0) {
			close(c->fd);  /* QEMU has its own copy now */
			c->fd = -1;
		}
		if (c->off == c->len)
			sent_one(q, c);
	}
	io_mod(q->loop, &q->io, EPOLLIN | (blocked ? EPOLLOUT : 0));
}

/* ---- reading ---- */

/* A member of a struct, borrowed: the struct keeps its own reference. */
static xmlrpc_value *member(xmlrpc_value *obj, const char *key)
{
	xmlrpc_env env;
	xmlrpc_value *v = NULL;

	if (!obj || xmlrpc_value_type(obj) != XMLRPC_TYPE_STRUCT)
		return NULL;
	xmlrpc_env_init(&env);
	xmlrpc_struct_find_value(&env, obj, key, &v);
	if (env.fault_occurred)
		v = NULL;
	xmlrpc_env_clean(&env);
	if (v)
		xmlrpc_DECREF(v);
	return v;
}

/* A string member as a malloc'd C string, or NULL. */
static char *member_str(xmlrpc_value *obj, const char *key)
{
	xmlrpc_value *v = member(obj, key);
	xmlrpc_env env;
	const char *s = NULL;

	if (!v || xmlrpc_value_type(v) != XMLRPC_TYPE_STRING)
		return NULL;
	xmlrpc_env_init(&env);
	xmlrpc_read_string(&env, v, &s);
	if (env.fault_occurred)
		s = NULL;
	xmlrpc_env_clean(&env);
	return (char *)s;
}

static void handle_greeting(struct qmp *q, xmlrpc_value *msg)
{
	xmlrpc_value *g = member(msg, "QMP");
	struct qmp_cmd *c;

	if (q->state != S_GREETING) {
		q_fail(q, "QEMU sent a second QMP greeting");
		return;
	}
	if (!g || xmlrpc_value_type(g) != XMLRPC_TYPE_STRUCT) {
		q_fail(q, "malformed QMP greeting");
		return;
	}
	xmlrpc_INCREF(g);
	q->greeting = g;
	if (!(c = cmd_new(q, "qmp_capabilities", NULL))) {
		q_fail(q, "cannot build qmp_capabilities");
		return;
	}
	/* First on the wire, ahead of whatever the caller queued. Nothing was
	 * written before the greeting, so everything is still unsent. */
	c->caps = true;
	c->next = q->head;
	q->head = q->unsent = c;
	if (!q->tail)
		q->tail = c;
	q->state = S_NEGOTIATING;
	flush(q);
}

static void handle_caps_reply(struct qmp *q, struct qmp_cmd *c, xmlrpc_value *msg)
{
	xmlrpc_value *err = member(msg, "error");

	cmd_unlink(q, c);
	cmd_free(c);
	if (err || !member(msg, "return")) {
		char *desc = member_str(err, "desc");
		q_fail(q, "QEMU refused qmp_capabilities: %s", desc ? desc : "no reason given");
		free(desc);
		return;
	}
	q->state = S_READY;
	timer_stop(q->loop, &q->handshake);
	log_debug("QMP connection ready");
	if (q->state_cb)
		q->state_cb(q->arg, QMP_READY, NULL);
	if (!gone(q))
		flush(q);
}

static void deliver(struct qmp_cmd *c, xmlrpc_value *msg)
{
	xmlrpc_value *ret = member(msg, "return"), *err;
	char *cls, *desc;

	if (!c->cb)
		return;
	if (ret) {
		c->cb(c->arg, ret, NULL, NULL);
		return;
	}
	err = member(msg, "error");
	cls = member_str(err, "class");
	desc = member_str(err, "desc");
	c->cb(c->arg, NULL, cls ? cls : "GenericError", desc ? desc : "no description");
	free(cls);
	free(desc);
}

static void handle_reply(struct qmp *q, xmlrpc_value *msg)
{
	struct qmp_cmd *c;
	int64_t id;

	if (json_int64(member(msg, "id"), &id) < 0) {
		/* QEMU leaves out the id only when it could not parse our
		 * command at all: the streams no longer agree. */
		char *desc = member_str(member(msg, "error"), "desc");
		q_fail(q, "QEMU sent a reply without an id: %s", desc ? desc : "no description");
		free(desc);
		return;
	}
	if (!(c = cmd_find(q, id))) {
		log_debug("discarding the reply to id %lld (timed out or cancelled)", (long long)id);
		return;
	}
	if (c->off < c->len) {
		q_fail(q, "QEMU replied to command %d before it was sent", c->id);
		return;
	}
	if (c->caps) {
		handle_caps_reply(q, c, msg);
		return;
	}
	cmd_unlink(q, c);
	timer_stop(q->loop, &c->timer);
	deliver(c, msg);
	cmd_free(c);
}

static void handle_event(struct qmp *q, xmlrpc_value *msg)
{
	char *name = member_str(msg, "event");

	if (!name) {
		q_fail(q, "QEMU sent an event without a name");
		return;
	}
	log_debug("event %s", name);
	if (q->event_cb)
		q->event_cb(q->arg, name, member(msg, "data"));
	free(name);
}

static void dispatch(struct qmp *q, const char *text, size_t len)
{
	char err[200];
	xmlrpc_value *msg = json_parse(text, len, err, sizeof(err));

	if (!msg) {
		q_fail(q, "bad JSON from QEMU: %s", err);
		return;
	}
	if (member(msg, "QMP"))
		handle_greeting(q, msg);
	else if (q->state == S_GREETING)
		q_fail(q, "QEMU did not start with a QMP greeting");
	else if (member(msg, "event"))
		handle_event(q, msg);
	else if (member(msg, "return") || member(msg, "error"))
		handle_reply(q, msg);
	else
		q_fail(q, "QEMU sent a message that is neither reply nor event");
	xmlrpc_DECREF(msg);
}

/* Hand every complete message to dispatch; stop as soon as a callback
 * closed the connection. */
static void process(struct qmp *q)
{
	const char *text;
	size_t len;
	char err[160];
	int r;

	while ((r = qmp_framer_next(&q->in, &text, &len, err, sizeof(err))) > 0) {
		dispatch(q, text, len);
		if (gone(q))
			return;
	}
	if (r < 0) {
		q_fail(q, "bad QMP stream from QEMU: %s", err);
		return;
	}
	if (q->in.in.len == 0 && q->in.in.cap > IDLE_BUF_KEEP)
		buf_free(&q->in.in);  /* a big reply is over; do not keep 1 MiB */
}

/* One read per event: the socket is level-triggered, so whatever is left
 * comes back on the next turn and other watchers get their share. */
static void do_read(struct qmp *q)
{
	char *p = buf_space(&q->in.in, READ_CHUNK);
	ssize_t n;

	if (!p) {
		q_fail(q, "QMP input buffer full");
		return;
	}
	n = recv(q->fd, p, READ_CHUNK, MSG_DONTWAIT);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			q_fail(q, "cannot read from the QMP socket: %s", strerror(errno));
		return;
	}
	if (n == 0) {
		q_closed_by_peer(q);
		return;
	}
	buf_commit(&q->in.in, (size_t)n);
	process(q);
}

static void on_io(struct io *io, uint32_t events)
{
	struct qmp *q = io->data;

	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		do_read(q);
		if (gone(q))
			return;
	}
	if (events & EPOLLOUT)
		flush(q);
}

/* ---- life cycle ---- */

/* The connection is over (q->why says why): pending commands learn it
 * first, then the owner. A callback may qmp_close(q); the remaining
 * commands are then freed with q, silently. */
static void q_teardown(struct qmp *q)
{
	q->state = S_CLOSED;
	timer_stop(q->loop, &q->handshake);
	io_del(q->loop, &q->io);
	close(q->fd);
	q->fd = -1;
	q->unsent = NULL;
	while (q->head && !q->dead) {
		struct qmp_cmd *c = q->head;
		cmd_unlink(q, c);
		timer_stop(q->loop, &c->timer);
		if (c->cb)
			c->cb(c->arg, NULL, "Closed", q->why);
		cmd_free(c);
	}
	if (!q->dead && q->state_cb)
		q->state_cb(q->arg, QMP_CLOSED, q->why);
}

/* Something went wrong: worth a warning even if the owner stays quiet. */
static void q_fail(struct qmp *q, const char *fmt, ...)
{
	va_list ap;

	if (gone(q))
		return;
	va_start(ap, fmt);
	vsnprintf(q->why, sizeof(q->why), fmt, ap);
	va_end(ap);
	log_warn("QMP connection closed: %s", q->why);
	q_teardown(q);
}

/* QEMU closes QMP as it exits: routine, unless it stopped mid-message. */
static void q_closed_by_peer(struct qmp *q)
{
	if (q->in.depth > 0) {
		q_fail(q, "QEMU closed the QMP connection in the middle of a message");
		return;
	}
	snprintf(q->why, sizeof(q->why), "QEMU closed the QMP connection");
	log_debug("%s", q->why);
	q_teardown(q);
}

static void on_handshake_timeout(struct timer *t)
{
	struct qmp *q = t->data;

	if (q->state == S_GREETING)
		q_fail(q, "no QMP greeting from QEMU within %d ms", q->handshake_ms);
	else
		q_fail(q, "QEMU did not accept qmp_capabilities within %d ms", q->handshake_ms);
}

struct qmp *qmp_attach(struct loop *loop, int fd, qmp_state_cb state_cb,
		       qmp_event_cb event_cb, void *arg)
{
	struct qmp *q;
	int e;

	if (fd < 0 || fd_set_nonblock(fd) < 0 || fd_set_cloexec(fd) < 0) {
		e = fd < 0 ? EBADF : errno;
		goto fail;
	}
	q = xcalloc(1, sizeof(*q));
	q->loop = loop;
	q->fd = fd;
	q->state = S_GREETING;
	q->state_cb = state_cb;
	q->event_cb = event_cb;
	q->arg = arg;
	q->handshake_ms = QMP_HANDSHAKE_MS;
	qmp_framer_init(&q->in, QMP_MAX_MESSAGE);
	timer_init(&q->handshake, on_handshake_timeout, q);
	if (io_add(loop, &q->io, fd, EPOLLIN, on_io, q) < 0) {
		e = errno;
		qmp_framer_free(&q->in);
		free(q);
		goto fail;
	}
	timer_start(loop, &q->handshake, q->handshake_ms);
	return q;
fail:
	if (fd >= 0)
		close(fd);
	errno = e;
	return NULL;
}

struct qmp *qmp_connect(struct loop *loop, const char *path, qmp_state_cb state_cb,
			qmp_event_cb event_cb, void *arg, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct qmp *q;
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "QMP socket path too long: %s", path);
		errno = ENAMETOOLONG;
		return NULL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "socket: %s", strerror(e));
		errno = e;
		return NULL;
	}
	/* A unix connect completes or fails at once; EINPROGRESS cannot
	 * happen there, and if it ever did, a failure would still surface as
	 * a read error on the socket. EAGAIN is a full backlog: retry later. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		e = errno;
		snprintf(err, errlen, "cannot connect to QMP socket %s: %s", path, strerror(e));
		close(fd);
		errno = e;
		return NULL;
	}
	if (!(q = qmp_attach(loop, fd, state_cb, event_cb, arg))) {
		e = errno;
		snprintf(err, errlen, "cannot watch QMP socket %s: %s", path, strerror(e));
		errno = e;
	}
	return q;
}

void qmp_set_handshake_timeout(struct qmp *q, int ms)
{
	if (!q || gone(q) || q->state == S_READY)
		return;
	q->handshake_ms = ms;
	if (ms > 0)
		timer_start(q->loop, &q->handshake, ms);
	else
		timer_stop(q->loop, &q->handshake);
}

static void qmp_free(void *p)
{
	struct qmp *q = p;

	while (q->head) {
		struct qmp_cmd *c = q->head;
		q->head = c->next;
		cmd_free(c);
	}
	qmp_framer_free(&q->in);
	if (q->greeting)
		xmlrpc_DECREF(q->greeting);
	free(q);
}

void qmp_close(struct qmp *q)
{
	if (!q || q->dead)
		return;
	q->dead = true;
	timer_stop(q->loop, &q->handshake);
	for (struct qmp_cmd *c = q->head; c; c = c->next)
		timer_stop(q->loop, &c->timer);
	if (q->fd >= 0) {
		io_del(q->loop, &q->io);
		close(q->fd);
		q->fd = -1;
	}
	/* We may be deep inside one of q's own callbacks: free after the turn. */
	loop_defer(q->loop, qmp_free, q);
}

bool qmp_is_ready(const struct qmp *q)
{
	return q && !q->dead && q->state == S_READY;
}

xmlrpc_value *qmp_greeting(const struct qmp *q)
{
	return q ? q->greeting : NULL;
}
