/* qmp.h - a non-blocking client for the QEMU Machine Protocol.
 *
 * The QEMU backend drives each guest's QEMU over its QMP unix socket with
 * one struct qmp. Everything runs from the agent's loop: connecting,
 * reading, writing and timeouts never block it.
 *
 * The conversation: QEMU greets with {"QMP": {...}}, we send
 * qmp_capabilities, and once QEMU accepts it the connection is READY and
 * the commands queued so far go out in order. Each command carries a
 * unique integer "id"; its reply ({"return": ...} or {"error": {"class",
 * "desc"}}) is matched by that id. Asynchronous events ({"event": NAME,
 * "data": {...}}) go to the event callback. Out-of-band execution is not
 * enabled.
 *
 * Values: command arguments and results are xmlrpc-c values, so a QMP
 * result can be handed to an XML-RPC response with no conversion;
 * agent/base/json.h says how JSON maps to them (use json_int64() to read
 * an integer result).
 *
 * Callbacks (all get the `arg` given with them):
 *   - every qmp_execute()/qmp_send_fd() that returned an id gets exactly one
 *     reply callback, unless qmp_cancel() or qmp_close() comes first;
 *   - a callback is never called from inside a qmp_* call, only from the
 *     loop, so a caller never sees its own callback before the call returns;
 *   - a callback may call any qmp_* function, including qmp_close() on the
 *     same connection;
 *   - when the connection fails (QEMU closed it, a read or write error, a
 *     protocol violation, the handshake timed out), every pending command
 *     gets its reply callback with err_class "Closed" first, then the state
 *     callback gets QMP_CLOSED with the reason. Nothing is called after
 *     that. The struct must still be released with qmp_close();
 *   - after qmp_close() nothing is called at all: not the reply callbacks
 *     of pending commands, not the state callback.
 *
 * Bounds: a message from QEMU longer than QMP_MAX_MESSAGE, nested deeper
 * than JSON_MAX_DEPTH, with an object of more than JSON_MAX_MEMBERS members
 * or more than JSON_MAX_VALUES values, or not valid JSON, closes the
 * connection with a reason saying so. At most QMP_MAX_INFLIGHT commands are
 * queued or awaiting a reply at a time. Parsing is allocation-bound: a
 * typical reply takes microseconds, a hostile 1 MiB one of 200k tiny
 * values ~50-200 ms of the loop. */
#ifndef OVS_QMP_H
#define OVS_QMP_H

#include <stdbool.h>
#include <stddef.h>
#include <xmlrpc-c/base.h>

struct loop;
struct qmp;

#define QMP_MAX_MESSAGE   (1024 * 1024) /* bytes, either direction */
#define QMP_MAX_INFLIGHT  64            /* queued + awaiting a reply */
#define QMP_HANDSHAKE_MS  30000         /* default: greeting + capabilities */

enum qmp_state {
	QMP_READY = 1,  /* capabilities negotiated; commands flow */
	QMP_CLOSED = 2, /* the connection is gone; why says how */
};

/* State change. why is NULL for QMP_READY, a sentence for QMP_CLOSED; it is
 * valid only during the call. */
typedef void (*qmp_state_cb)(void *arg, enum qmp_state state, const char *why);

/* An event. data is borrowed (valid during the call; xmlrpc_INCREF to keep
 * it) and NULL when the event has none. */
typedef void (*qmp_event_cb)(void *arg, const char *event, xmlrpc_value *data);

/* A command's outcome. On success ret is the "return" value (borrowed, as
 * above) and err_class/err_desc are NULL. On failure ret is NULL and
 * err_class is QEMU's error class ("GenericError", "CommandNotFound",
 * "DeviceNotFound", ...) or one of ours: "Timeout" (no reply within the
 * command's timeout; QEMU may still carry it out) or "Closed" (the
 * connection failed first); err_desc says what happened. */
typedef void (*qmp_reply_cb)(void *arg, xmlrpc_value *ret, const char *err_class,
			     const char *err_desc);

/* Connect to QEMU's QMP socket at path. A unix socket connect finishes or
 * fails at once, so a missing socket (ENOENT: QEMU not started yet) or a
 * refused one (ECONNREFUSED: QEMU gone) is returned here: NULL, errno set,
 * a message in err. The caller decides whether to retry. Otherwise the
 * handshake runs in the loop and state_cb reports QMP_READY or QMP_CLOSED.
 * event_cb may be NULL. The socket is non-blocking and close-on-exec. */
struct qmp *qmp_connect(struct loop *loop, const char *path, qmp_state_cb state_cb,
			qmp_event_cb event_cb, void *arg, char *err, size_t errlen);

/* The same over an already connected stream socket (e.g. one end of a
 * socketpair whose other end QEMU got with -qmp fd:N). Takes ownership of
 * fd, also on failure. Returns NULL with errno set when fd cannot be
 * watched. */
struct qmp *qmp_attach(struct loop *loop, int fd, qmp_state_cb state_cb,
		       qmp_event_cb event_cb, void *arg);

/* Time allowed from connect to READY (default QMP_HANDSHAKE_MS); restarts
 * the handshake timer. No effect once READY. */
void qmp_set_handshake_timeout(struct qmp *q, int ms);

/* Queue a command. args is a struct or NULL, borrowed (serialized before
 * the call returns). Commands given before READY wait for it. timeout_ms
 * counts from this call; 0 means no timeout. Returns the command's id
 * (> 0), or -1 with errno: ENOTCONN (closed), EBUSY (QMP_MAX_INFLIGHT
 * reached), EINVAL (args not a struct, or holding a value JSON cannot carry:
 * base64, datetime, a string with NUL or invalid UTF-8, a non-finite
 * double), EMSGSIZE (longer than QMP_MAX_MESSAGE). cb may be NULL. */
int qmp_execute(struct qmp *q, const char *command, xmlrpc_value *args, int timeout_ms,
		qmp_reply_cb cb, void *arg);

/* Hand fd to QEMU under fdname: a "getfd" command sent with the fd attached
 * (SCM_RIGHTS) to its first byte, so QEMU's getfd finds it. QEMU then
 * refers to it as "fd:<fdname>" (migrate to a file, dump-guest-memory, ...).
 * fd is duplicated (close-on-exec) here; the caller may close its own at
 * once. The duplicate is closed once sent, or when the command is
 * cancelled, times out unsent, or the connection closes. Returns and
 * errors as qmp_execute, plus EBADF for a bad fd. */
int qmp_send_fd(struct qmp *q, int fd, const char *fdname, int timeout_ms,
		qmp_reply_cb cb, void *arg);

/* Forget a command's callback: it will not be called. A command not yet
 * written is dropped; one already (partly) written still completes on the
 * wire and its reply is discarded. Unknown ids are ignored. */
void qmp_cancel(struct qmp *q, int id);

/* Close the socket and release q, without calling any callback again. Safe
 * from inside any callback of q (the memory is freed at the end of the
 * loop turn). Safe with NULL. */
void qmp_close(struct qmp *q);

/* True once capabilities are negotiated and until the connection closes. */
bool qmp_is_ready(const struct qmp *q);

/* QEMU's greeting: the object under "QMP" ({"version": {"qemu": {"major",
 * "minor", "micro"}, "package"}, "capabilities": [...]}), borrowed; NULL
 * before the greeting arrived. */
xmlrpc_value *qmp_greeting(const struct qmp *q);

#endif
