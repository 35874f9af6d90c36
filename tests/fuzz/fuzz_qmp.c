/* fuzz_qmp.c - libFuzzer target for what QEMU's side of a QMP socket can
 * make the client do. The input is the byte stream QEMU sends:
 *
 *   1. parsed whole as one JSON value: whatever parses must write out,
 *      parse back, and write out again to the same text (a fixed point);
 *   2. cut into chunks and fed through the framer: every message it
 *      returns lies inside its buffer, is a bracketed object within the
 *      size bound, and gets the same round trip as 1;
 *   3. written into a socketpair to a real client (qmp_attach) with
 *      commands queued, some closing the client from inside their
 *      callbacks, and the loop run until the client is done. The first
 *      byte picks which callbacks close it.
 *
 * The sanitizers catch leaks, use-after-free and overflows; abort() marks
 * a broken round trip, a framing lie or a client that never finishes. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "agent/base/json.h"
#include "agent/base/log.h"
#include "agent/base/loop.h"
#include "hypervisor/qemu/qmp.h"
#include "hypervisor/qemu/qmp_frame.h"
#include "agent/base/util.h"

#define FRAMER_MAX 4096
#define CLIENT_MAX 65536  /* fits a socketpair's buffer: written in one go */

static char *write_json(xmlrpc_value *v)
{
	struct buf b;
	char err[200];

	buf_init(&b, 0);
	if (json_write(&b, v, err, sizeof(err)) < 0)
		abort();  /* the reader accepted something the writer cannot say */
	return buf_steal(&b, NULL);
}

static void round_trip(const char *p, size_t n)
{
	char err[200];
	xmlrpc_value *v = json_parse(p, n, err, sizeof(err)), *v2;
	char *s1, *s2;

	if (!v)
		return;
	s1 = write_json(v);
	v2 = json_parse(s1, strlen(s1), err, sizeof(err));
	if (!v2)
		abort();
	s2 = write_json(v2);
	if (strcmp(s1, s2) != 0)
		abort();
	free(s1);
	free(s2);
	xmlrpc_DECREF(v);
	xmlrpc_DECREF(v2);
}

static void frame(const uint8_t *data, size_t size)
{
	struct qmp_framer f;
	const char *msg;
	size_t len, off = 0, step = 1;
	char err[200];
	int r = 0;

	qmp_framer_init(&f, FRAMER_MAX);
	while (off < size && r >= 0) {
		size_t n = size - off < step ? size - off : step;
		buf_append(&f.in, data + off, n);
		off += n;
		step = step % 97 + 13;  /* varied cuts, never above the slack */
		while ((r = qmp_framer_next(&f, &msg, &len, err, sizeof(err))) > 0) {
			if (msg < f.in.data || msg + len > f.in.data + f.in.len || len > FRAMER_MAX ||
			    len < 2 || msg[0] != '{' || (msg[len - 1] != '}' && msg[len - 1] != ']'))
				abort();
			round_trip(msg, len);
		}
	}
	qmp_framer_free(&f);
}

/* ---- a real client ---- */

static struct {
	struct loop *loop;
	struct qmp *q;
	uint8_t flags;
	bool done;
} C;

static void finish(void)
{
	C.done = true;
	loop_stop(C.loop);
}

static void close_client(void)
{
	qmp_close(C.q);
	C.q = NULL;
	finish();
}

static void on_state(void *arg, enum qmp_state state, const char *why)
{
	if (state == QMP_CLOSED)
		finish();
	else if (C.flags & 1)
		close_client();
}

static void on_event(void *arg, const char *event, xmlrpc_value *data)
{
	if (!event)
		abort();
	if (C.flags & 2)
		close_client();
}

static void on_reply(void *arg, xmlrpc_value *ret, const char *cls, const char *desc)
{
	if (!ret == !cls || (cls && !desc))
		abort();  /* exactly one of result and error */
	if ((C.flags & 4) && arg)
		close_client();
}

static void guard(struct timer *t)
{
	abort();  /* EOF came and the client still did not finish */
}

static void run_client(const uint8_t *data, size_t size)
{
	struct timer t;
	int sv[2], devnull;
	xmlrpc_env env;
	xmlrpc_value *args;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
		abort();
	memset(&C, 0, sizeof(C));
	C.loop = loop_new();
	C.flags = size ? data[0] : 0;
	C.q = qmp_attach(C.loop, sv[0], on_state, on_event, NULL);
	/* ids 1-3 before the greeting, so the stream can answer them */
	xmlrpc_env_init(&env);
	args = xmlrpc_build_value(&env, "{s:s,s:i}", "device", "ide0/cd", "n", 1);
	qmp_execute(C.q, "query-status", NULL, 0, on_reply, NULL);
	qmp_execute(C.q, "eject", args, 0, on_reply, "x");
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	qmp_send_fd(C.q, devnull, "f", 0, on_reply, (C.flags & 8) ? "x" : NULL);
	close(devnull);
	xmlrpc_DECREF(args);
	xmlrpc_env_clean(&env);
	if (size > 1 && write(sv[1], data + 1, size - 1 > CLIENT_MAX ? CLIENT_MAX : size - 1) < 0)
		abort();
	shutdown(sv[1], SHUT_WR);  /* EOF after the data; our writes still land */
	timer_init(&t, guard, NULL);
	timer_start(C.loop, &t, 10000);
	loop_run(C.loop);
	if (!C.done)
		abort();
	timer_stop(C.loop, &t);
	qmp_close(C.q);
	loop_free(C.loop);  /* runs the deferred free */
	close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	log_set_level(LOG_EMERG);  /* every input closes a connection */
	round_trip((const char *)data, size);
	frame(data, size);
	run_client(data, size);
	return 0;
}
