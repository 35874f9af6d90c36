/* child.h - the one way the agent starts a process.
 *
 * Hooks, xl, qemu, mount, and the agent's own slow helpers (password hash
 * checks, PAM, reverse DNS) all go through child_spawn(): nothing else
 * forks. The child gets an explicit argv and environment (never a shell
 * string), stdin from a fed pipe or /dev/null, every other fd closed, the
 * signal mask and dispositions reset, and its own process group. Its
 * stdout/stderr go into capped non-blocking pipes watched by the loop; a
 * pidfd tells the loop when it exits. A timeout sends SIGTERM to the group,
 * then SIGKILL after a grace period.
 *
 * Either `argv` (exec, argv[0] an absolute path) or `fn` (run fn(fn_arg) in
 * the forked child and _exit with its return value) is given. */
#ifndef OVS_CHILD_H
#define OVS_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "agent/base/buf.h"

struct loop;
struct child;

struct child_result {
	int status;             /* wait status as from waitpid */
	int timed_out;          /* 1 when the timeout fired */
	int killed_at_exit;     /* 1 when child_end_all() killed it */
	int exec_errno;         /* exec mode: why the exec failed (status is then 127); 0 */
	struct buf *out;        /* captured stdout (bounded) */
	struct buf *err;        /* captured stderr (bounded) */
	size_t out_dropped;     /* bytes read past the cap and not kept */
	size_t err_dropped;
};

typedef void (*child_done_cb)(const struct child_result *res, void *arg);

struct child_opts {
	const char *const *argv;  /* exec mode */
	const char *const *envp;  /* exec mode; NULL = empty environment */
	int (*fn)(void *arg);     /* function mode */
	void *fn_arg;
	const void *input;        /* bytes written to the child's stdin, or NULL */
	size_t input_len;
	int timeout_ms;           /* 0 = none */
	size_t max_output;        /* per stream; 0 = 64 KiB */
	bool keep_tail;           /* keep the last max_output bytes, not the first */
	/* The owner says when it timed out (the heartbeat, once per hung
	 * mount, not every round): logged here at debug only. */
	bool quiet_timeout;
	/* fds the exec'd child keeps, with their numbers unchanged and
	 * FD_CLOEXEC cleared (a tap handed to QEMU); every other fd is still
	 * closed. Each must be open, 3 or above, and listed once; at most
	 * CHILD_KEEP_FDS_MAX. */
	const int *keep_fds;
	size_t n_keep_fds;
};
#define CHILD_KEEP_FDS_MAX 256

/* Start a child. done is called exactly once from the loop when the child
 * has exited and its pipes are drained (the result is valid only during the
 * call), unless child_cancel() is called first. Returns NULL with a message
 * in err when the child could not be started (done is then not called):
 * argv[0] not executable is said here; an exec that fails anyway (a bad
 * format, a missing interpreter) reaches done as exec_errno, so that the
 * loop never waits for the child to be scheduled. */
struct child *child_spawn(struct loop *loop, const struct child_opts *opts,
			  child_done_cb done, void *arg, char *err, size_t errlen);

/* Kill the child's process group, reap it without blocking the loop, and
 * never call done. Safe with NULL. */
void child_cancel(struct child *ch);

pid_t child_pid(const struct child *ch);

/* True once child_end_all() has run: child_spawn() refuses from then on. */
bool child_stopping(void);

/* At exit, once the loop has stopped and before the owners of children
 * (the hypervisor backend, the store, the server) are freed: kill the
 * process group of every child of loop still running, and run the loop
 * until each one's done callback has run with its real wait status
 * ("killed by signal 9"), at most a few seconds. From then on
 * child_spawn() refuses with "the agent is stopping". Returns how many
 * children did not end (logged; 0 unless one is stuck in the kernel).
 *
 * Why callbacks and not child_cancel() by each owner: an owner is a
 * chain (a template job or a backend operation holds an RPC call, which
 * holds its connection), and only the done callback knows how to unwind
 * it. Through it every owner runs the failure path it already has and is
 * tested for: the guest is recorded as the backend sees it, the caller
 * gets a fault, and everything is freed, so an agent stopped with
 * children in flight leaves no process and leaks nothing. A clean-up
 * that would start another child (rm of a half-made guest) is refused
 * and logged. */
size_t child_end_all(struct loop *loop);

/* At exit, after child_end_all() and the loop stopped: wait for the
 * cancelled children still dying and free them (the loop that would have
 * reaped them is gone). */
void child_reap_all(void);

/* Words for a wait status: "exited with status 3", "killed by signal 9
 * (Killed)", "timed out after 30 s", "was killed (signal 9): the agent is
 * stopping". Writes into out. */
void child_describe(const struct child_result *res, int timeout_ms, char *out, size_t outlen);

/* Did the child succeed (exit status 0, no timeout)? Either way why gets
 * what happened, for a log line or a fault: child_describe()'s words, then
 * on failure ": " and the end of its stderr, when it wrote any: its last
 * line(s), at most CHILD_TAIL_MAX bytes, lines joined with "; ", control
 * characters and invalid UTF-8 dropped ("exited with status 2: tar: x:
 * Cannot open; tar: Error is not recoverable"). why is always
 * NUL-terminated and valid UTF-8, cut to whylen; with whylen 0 (why may
 * then be NULL) only the answer is wanted. */
#define CHILD_TAIL_MAX 400
bool child_ok(const struct child_result *res, int timeout_ms, char *why, size_t whylen);

#endif
