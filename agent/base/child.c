/* child.c - spawn children with clean fds, signals and environment, and
 * watch them from the loop through pipes and a pidfd. */
#define LOG_CAT "child"
#include "agent/base/child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/base/log.h"
#include "agent/base/loop.h"
#include "agent/base/utf8.h"
#include "agent/base/util.h"

#define KILL_GRACE_MS 2000

struct child {
	struct loop *loop;
	struct child *next_cancelled;   /* on the list of killed, unreaped children */
	struct child *live_prev, *live_next;  /* on the list of running children */
	char what[32];           /* argv[0]'s last part, or "helper", for logs */
	pid_t pid;
	struct io pidfd_io, out_io, err_io, in_io;
	struct io st_io;         /* exec mode: EOF when the exec happened, errno when not */
	int exec_errno;
	struct buf out, err;
	size_t max_output, out_dropped, err_dropped;
	bool keep_tail, quiet_timeout;
	const char *input;       /* borrowed copy owned by the child struct */
	char *input_owned;
	size_t input_len, input_off;
	struct timer timeout, kill_timer;
	int timeout_ms;
	int exited, timed_out, killed_at_exit, status;
	child_done_cb done;
	void *arg;
};

static char **const empty_env = (char *[]){ NULL };

/* Children started and not yet finished or cancelled, so the agent can end
 * them at exit (child_end_all); after that, nothing more is started. */
static struct child *live;
static bool ending;

static void live_add(struct child *ch)
{
	ch->live_prev = NULL;
	ch->live_next = live;
	if (live)
		live->live_prev = ch;
	live = ch;
}

static void live_del(struct child *ch)
{
	if (ch->live_prev)
		ch->live_prev->live_next = ch->live_next;
	else if (live == ch)
		live = ch->live_next;
	if (ch->live_next)
		ch->live_next->live_prev = ch->live_prev;
	ch->live_prev = ch->live_next = NULL;
}

/* Live children of loop; child_end_all stops the loop when none is left. */
static size_t live_count(const struct loop *loop)
{
	size_t n = 0;

	for (const struct child *ch = live; ch; ch = ch->live_next)
		n += ch->loop == loop;
	return n;
}

/* Runs in the forked child only: close every fd from 3 up but the status
 * pipe's (sfd) and the ones to keep (sorted). */
static void close_others(const int *keep, size_t nkeep, int sfd)
{
	unsigned lo = 3;
	size_t i = 0;
	bool sfd_seen = false;

	for (;;) {
		int k;

		if (!sfd_seen && (i >= nkeep || sfd < keep[i])) {
			k = sfd;
			sfd_seen = true;
		} else if (i < nkeep) {
			k = keep[i++];
		} else {
			break;
		}
		if ((unsigned)k > lo)
			close_range(lo, (unsigned)k - 1, 0);
		lo = (unsigned)k + 1;
	}
	closefrom((int)lo);
}

/* Runs in the forked child only: make the process clean, then exec or
 * call fn. Only async-signal-safe calls until exec. keep (sorted, each
 * 3 or above) stays open under its own number. */
static void child_setup(const struct child_opts *o, const int *keep, size_t nkeep, int in_r,
			int out_w, int err_w, int status_w)
{
	sigset_t none;
	int e, sfd = 3;

	/* The status pipe goes to the lowest number from 3 no kept fd uses. */
	for (size_t i = 0; i < nkeep; i++)
		if (keep[i] == sfd)
			sfd++;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	setpgid(0, 0);
	if (dup2(in_r, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0) {
		sfd = status_w;
		goto fail;
	}
	/* status_w stays open (close-on-exec) to report an exec failure. */
	if (status_w != sfd && dup2(status_w, sfd) < 0) {
		sfd = status_w;
		goto fail;
	}
	fcntl(sfd, F_SETFD, FD_CLOEXEC);
	for (size_t i = 0; i < nkeep; i++)
		fcntl(keep[i], F_SETFD, 0);
	close_others(keep, nkeep, sfd);
	umask(022);
	if (o->fn) {
		int rc = o->fn(o->fn_arg);
		/* _exit skips stdio's flush; what fn printed must reach the pipe. */
		fflush(stdout);
		fflush(stderr);
		_exit(rc & 0xff);
	}
	execve(o->argv[0], (char *const *)o->argv, o->envp ? (char *const *)o->envp : empty_env);
fail:
	e = errno;
	if (write(sfd, &e, sizeof(e)) < 0) {
		/* parent will see a short read */
	}
	_exit(127);
}

/* A tail kept in a buffer of twice the cap: down to the cap. */
static void trim_tail(struct child *ch, struct buf *b, size_t *dropped)
{
	if (b->len > ch->max_output) {
		*dropped += b->len - ch->max_output;
		buf_consume(b, b->len - ch->max_output);
	}
}

/* Keep n bytes of output in b: the first max_output, or the last. For
 * the last, b holds up to twice the cap and is cut back to the cap when
 * full, so each byte is moved at most once (no memmove per read). */
static void keep_output(struct child *ch, struct buf *b, size_t *dropped, const char *p, size_t n)
{
	size_t room, cap = ch->max_output;

	if (!ch->keep_tail) {
		room = b->max - b->len;
		buf_append(b, p, n < room ? n : room);
		*dropped += n < room ? 0 : n - room;
		return;
	}
	if (n >= cap) {
		*dropped += b->len + n - cap;
		buf_reset(b);
		buf_append(b, p + n - cap, cap);
		return;
	}
	if (b->len + n > b->max) {
		*dropped += b->len + n - cap;
		buf_consume(b, b->len + n - cap);
	}
	buf_append(b, p, n);
}

static void finish_if_done(struct child *ch)
{
	struct child_result res;

	if (!ch->exited || ch->out_io.fd >= 0 || ch->err_io.fd >= 0 || ch->st_io.fd >= 0)
		return;
	timer_stop(ch->loop, &ch->timeout);
	timer_stop(ch->loop, &ch->kill_timer);
	live_del(ch);
	if (ch->keep_tail) {
		trim_tail(ch, &ch->out, &ch->out_dropped);
		trim_tail(ch, &ch->err, &ch->err_dropped);
	}
	res.status = ch->status;
	res.timed_out = ch->timed_out;
	res.killed_at_exit = ch->killed_at_exit;
	res.exec_errno = ch->exec_errno;
	res.out = &ch->out;
	res.err = &ch->err;
	res.out_dropped = ch->out_dropped;
	res.err_dropped = ch->err_dropped;
	ch->done(&res, ch->arg);
	buf_free(&ch->out);
	buf_free(&ch->err);
	free(ch->input_owned);
	/* Another watcher of ch may still have an event in this turn. */
	loop_defer(ch->loop, free, ch);
	if (ending && !live_count(ch->loop))
		loop_stop(ch->loop);  /* child_end_all() waits no more */
}

static void close_io(struct child *ch, struct io *io)
{
	int fd = io->fd;

	if (fd < 0)
		return;
	io_del(ch->loop, io);
	close(fd);
}

/* Read per wake-up at most: a child that writes as fast as we read must
 * not hold the loop (the watcher is level-triggered: the rest comes on
 * the next turn). */
#define OUTPUT_BUDGET (256 * 1024)

/* Drain a pipe; bytes beyond the cap are read and dropped so the child
 * never blocks on a full pipe. */
static void on_output(struct io *io, uint32_t events)
{
	struct child *ch = io->data;
	bool is_out = io == &ch->out_io;
	char tmp[16384];

	for (size_t got = 0;;) {
		ssize_t n;

		if (got >= OUTPUT_BUDGET)
			return;  /* the rest on the next turn */
		n = read(io->fd, tmp, sizeof(tmp));
		if (n > 0) {
			keep_output(ch, is_out ? &ch->out : &ch->err,
				    is_out ? &ch->out_dropped : &ch->err_dropped, tmp, (size_t)n);
			got += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		break; /* EOF or error */
	}
	close_io(ch, io);
	finish_if_done(ch);
}

/* The exec-status pipe: closed by a successful exec (close-on-exec), or
 * the errno of a failed one, then closed by the child's _exit. Read from
 * the loop, so a spawn never waits for the child to be scheduled. */
static void on_exec_status(struct io *io, uint32_t events)
{
	struct child *ch = io->data;
	int e = 0;
	ssize_t n = read(io->fd, &e, sizeof(e));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == sizeof(e)) {
		ch->exec_errno = e ? e : EINVAL;
		log_warn("cannot run %s (pid %d): %s", ch->what, (int)ch->pid, strerror(ch->exec_errno));
	}
	close_io(ch, io);
	finish_if_done(ch);
}

static void on_input(struct io *io, uint32_t events)
{
	struct child *ch = io->data;

	while (ch->input_off < ch->input_len) {
		ssize_t n = write(io->fd, ch->input + ch->input_off, ch->input_len - ch->input_off);
		if (n > 0) {
			ch->input_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		break; /* EPIPE: the child does not want the rest */
	}
	close_io(ch, io);
}

#define DRAIN_MS 2000   /* output still open after the exit: a grandchild holds it */

static void on_drained(struct timer *t)
{
	struct child *ch = t->data;

	close_io(ch, &ch->out_io);
	close_io(ch, &ch->err_io);
	close_io(ch, &ch->st_io);
	finish_if_done(ch);
}

static void on_exit_event(struct io *io, uint32_t events)
{
	struct child *ch = io->data;
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, (id_t)io->fd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
		return;
	ch->status = si.si_code == CLD_EXITED ? W_EXITCODE(si.si_status, 0) : si.si_status & 0x7f;
	ch->exited = 1;
	/* Timed out, the leader gone: what is left of its group (a grandchild
	 * that ignores SIGTERM) gets no more grace. The group's id stays
	 * taken while a member lives, so this reaches no one else. */
	if (ch->timed_out)
		kill(-ch->pid, SIGKILL);
	close_io(ch, io);
	close_io(ch, &ch->in_io);
	if (ch->out_io.fd >= 0 || ch->err_io.fd >= 0) {
		/* The child is reaped: never signal its pid again, and do not
		 * wait forever for a grandchild that kept our pipes. (The kill
		 * timer may be armed: stopped before it is reused.) */
		timer_stop(ch->loop, &ch->timeout);
		timer_stop(ch->loop, &ch->kill_timer);
		timer_init(&ch->kill_timer, on_drained, ch);
		timer_start(ch->loop, &ch->kill_timer, DRAIN_MS);
	}
	finish_if_done(ch);
}

static void on_kill(struct timer *t)
{
	struct child *ch = t->data;

	kill(-ch->pid, SIGKILL);
}

static void on_timeout(struct timer *t)
{
	struct child *ch = t->data;

	ch->timed_out = 1;
	if (ch->quiet_timeout)
		log_debug("child %d timed out after %d ms; terminating its process group",
			  (int)ch->pid, ch->timeout_ms);
	else
		log_warn("child %d timed out after %d ms; terminating its process group",
			 (int)ch->pid, ch->timeout_ms);
	kill(-ch->pid, SIGTERM);
	timer_start(ch->loop, &ch->kill_timer, KILL_GRACE_MS);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* The fds to keep, checked and sorted into a malloc'd copy (*sorted). */
static int keep_fds_check(const struct child_opts *o, int **sorted, char *err, size_t errlen)
{
	size_t n = o->n_keep_fds;
	int *k;

	*sorted = NULL;
	if (!n)
		return 0;
	if (n > CHILD_KEEP_FDS_MAX || !o->keep_fds) {
		snprintf(err, errlen, "internal: %zu fds to keep (at most %d)", n, CHILD_KEEP_FDS_MAX);
		return -1;
	}
	k = xmalloc(n * sizeof(*k));
	memcpy(k, o->keep_fds, n * sizeof(*k));
	qsort(k, n, sizeof(*k), cmp_int);
	for (size_t i = 0; i < n; i++) {
		if (k[i] < 3)
			snprintf(err, errlen, "internal: fd %d cannot be kept (0-2 are the child's "
				 "stdin, stdout and stderr)", k[i]);
		else if (i && k[i] == k[i - 1])
			snprintf(err, errlen, "internal: fd %d is listed twice to keep", k[i]);
		else if (fcntl(k[i], F_GETFD) < 0)
			snprintf(err, errlen, "internal: fd %d to keep is not open", k[i]);
		else
			continue;
		free(k);
		return -1;
	}
	*sorted = k;
	return 0;
}

struct child *child_spawn(struct loop *loop, const struct child_opts *o,
			  child_done_cb done, void *arg, char *err, size_t errlen)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, er[2] = { -1, -1 }, st[2] = { -1, -1 };
	struct child *ch = NULL;
	int pidfd = -1, *keep = NULL;
	pid_t pid;

	if ((!o->fn) == (!o->argv) || (o->argv && (!o->argv[0] || o->argv[0][0] != '/'))) {
		snprintf(err, errlen, "internal: child needs an absolute argv[0] or a function");
		return NULL;
	}
	if (ending) {
		snprintf(err, errlen, "the agent is stopping");
		return NULL;
	}
	/* What would make the exec fail, said now; anything rarer (a bad
	 * format, a missing interpreter) comes to done as exec_errno. */
	if (o->argv && access(o->argv[0], X_OK) != 0) {
		snprintf(err, errlen, "cannot run %s: %s", o->argv[0], strerror(errno));
		return NULL;
	}
	if (keep_fds_check(o, &keep, err, errlen) != 0)
		return NULL;
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
	    pipe2(er, O_CLOEXEC) < 0 || pipe2(st, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	log_flush(); /* or the child would carry, and might write, our pending lines */
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0)
		child_setup(o, keep, o->n_keep_fds, in[0], out[1], er[1], st[1]);
	free(keep);
	keep = NULL;
	/* Also here: a kill(-pid) before the child ran its setpgid must work. */
	setpgid(pid, pid);
	close(in[0]);
	close(out[1]);
	close(er[1]);
	close(st[1]);
	in[0] = out[1] = er[1] = st[1] = -1;
	pidfd = pidfd_open(pid, 0);
	if (pidfd < 0) {
		snprintf(err, errlen, "pidfd_open: %s", strerror(errno));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		goto fail;
	}
	fd_set_cloexec(pidfd);
	ch = xcalloc(1, sizeof(*ch));
	ch->loop = loop;
	ch->pid = pid;
	ch->done = done;
	ch->arg = arg;
	ch->timeout_ms = o->timeout_ms;
	snprintf(ch->what, sizeof(ch->what), "%s",
		 o->argv ? strrchr(o->argv[0], '/') + 1 : "helper");
	ch->max_output = o->max_output ? o->max_output : 65536;
	ch->keep_tail = o->keep_tail;
	ch->quiet_timeout = o->quiet_timeout;
	/* A tail is kept in up to twice the cap (keep_output). */
	buf_init(&ch->out, ch->max_output * (ch->keep_tail ? 2 : 1));
	buf_init(&ch->err, ch->max_output * (ch->keep_tail ? 2 : 1));
	ch->in_io.fd = ch->out_io.fd = ch->err_io.fd = ch->pidfd_io.fd = ch->st_io.fd = -1;
	timer_init(&ch->timeout, on_timeout, ch);
	timer_init(&ch->kill_timer, on_kill, ch);
	fd_set_nonblock(out[0]);
	fd_set_nonblock(er[0]);
	fd_set_nonblock(in[1]);
	io_add(loop, &ch->out_io, out[0], EPOLLIN, on_output, ch);
	io_add(loop, &ch->err_io, er[0], EPOLLIN, on_output, ch);
	io_add(loop, &ch->pidfd_io, pidfd, EPOLLIN, on_exit_event, ch);
	/* Exec mode: whether the exec happened is heard from the loop. A
	 * function child's copy of the pipe may live on in its own children:
	 * not watched. */
	if (o->argv) {
		fd_set_nonblock(st[0]);
		io_add(loop, &ch->st_io, st[0], EPOLLIN, on_exec_status, ch);
	} else {
		close(st[0]);
	}
	st[0] = -1;
	if (o->input && o->input_len) {
		ch->input_owned = xmalloc(o->input_len);
		memcpy(ch->input_owned, o->input, o->input_len);
		ch->input = ch->input_owned;
		ch->input_len = o->input_len;
		io_add(loop, &ch->in_io, in[1], EPOLLOUT, on_input, ch);
	} else {
		close(in[1]);
	}
	if (o->timeout_ms > 0)
		timer_start(loop, &ch->timeout, o->timeout_ms);
	live_add(ch);
	return ch;
fail:
	free(keep);
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0) close(in[i]);
		if (out[i] >= 0) close(out[i]);
		if (er[i] >= 0) close(er[i]);
		if (st[i] >= 0) close(st[i]);
	}
	return NULL;
}

/* Killed children not reaped yet: child_reap_all() finishes them when the
 * loop has stopped, so none outlives the agent as a zombie or a leak. */
static struct child *cancelled;

static void forget_cancelled(struct child *ch)
{
	struct child **pp = &cancelled;

	while (*pp && *pp != ch)
		pp = &(*pp)->next_cancelled;
	if (*pp)
		*pp = ch->next_cancelled;
}

/* A cancelled child is killed; its zombie is reaped by a detached reaper
 * watcher so the loop never blocks in waitpid. */
static void reap_cancelled(struct io *io, uint32_t events)
{
	struct child *ch = io->data;
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, (id_t)io->fd, &si, WEXITED | WNOHANG) < 0 || si.si_pid != 0) {
		close_io(ch, io);
		forget_cancelled(ch);
		free(ch);
	}
}

void child_reap_all(void)
{
	while (cancelled) {
		struct child *ch = cancelled;
		int fd = ch->pidfd_io.fd;
		siginfo_t si;

		cancelled = ch->next_cancelled;
		/* SIGKILLed already: this wait is short. */
		memset(&si, 0, sizeof(si));
		waitid(P_PIDFD, (id_t)fd, &si, WEXITED);
		close_io(ch, &ch->pidfd_io);
		free(ch);
	}
}

#define END_WAIT_MS (DRAIN_MS + 3000)  /* SIGKILL to done callback, pipes drained */

struct end_wait {
	struct loop *loop;
	bool expired;
};

static void on_end_wait(struct timer *t)
{
	struct end_wait *w = t->data;

	w->expired = true;
	loop_stop(w->loop);
}

size_t child_end_all(struct loop *loop)
{
	struct end_wait w = { .loop = loop };
	struct timer guard;
	size_t n;

	ending = true;
	if (!(n = live_count(loop)))
		return 0;
	log_warn("%zu child process%s still running at exit: killing %s", n, n == 1 ? "" : "es",
		 n == 1 ? "it" : "them");
	for (struct child *ch = live; ch; ch = ch->live_next) {
		if (ch->loop != loop)
			continue;
		log_info("killing %s (pid %d, process group included)", ch->what, (int)ch->pid);
		timer_stop(loop, &ch->timeout);
		if (!ch->exited) {
			timer_stop(loop, &ch->kill_timer);  /* a pending SIGKILL: sent now */
			ch->killed_at_exit = 1;
		}
		kill(-ch->pid, SIGKILL);
	}
	/* The done callbacks run from the loop, as always; finish_if_done()
	 * stops it once the last one has run. Anything else the loop does
	 * meanwhile (a reply written, a timer) may stop it early: run again. */
	timer_init(&guard, on_end_wait, &w);
	timer_start(loop, &guard, END_WAIT_MS);
	while (live_count(loop) && !w.expired)
		loop_run(loop);
	timer_stop(loop, &guard);
	for (struct child *ch = live; ch; ch = ch->live_next)
		if (ch->loop == loop)
			log_err("%s (pid %d) did not end within %d ms of SIGKILL; left behind",
				ch->what, (int)ch->pid, END_WAIT_MS);
	return live_count(loop);
}

void child_cancel(struct child *ch)
{
	int pidfd;

	if (!ch)
		return;
	live_del(ch);
	kill(-ch->pid, SIGKILL);
	timer_stop(ch->loop, &ch->timeout);
	timer_stop(ch->loop, &ch->kill_timer);
	close_io(ch, &ch->out_io);
	close_io(ch, &ch->err_io);
	close_io(ch, &ch->in_io);
	close_io(ch, &ch->st_io);
	buf_free(&ch->out);
	buf_free(&ch->err);
	free(ch->input_owned);
	ch->input_owned = NULL;
	if (ch->exited || ch->pidfd_io.fd < 0) {
		free(ch);
		return;
	}
	pidfd = ch->pidfd_io.fd;
	io_del(ch->loop, &ch->pidfd_io);
	io_add(ch->loop, &ch->pidfd_io, pidfd, EPOLLIN, reap_cancelled, ch);
	ch->next_cancelled = cancelled;
	cancelled = ch;
}

pid_t child_pid(const struct child *ch) { return ch->pid; }

bool child_stopping(void) { return ending; }

void child_describe(const struct child_result *res, int timeout_ms, char *out, size_t outlen)
{
	if (res->exec_errno)
		snprintf(out, outlen, "could not be run: %s", strerror(res->exec_errno));
	else if (res->killed_at_exit && WIFSIGNALED(res->status))
		snprintf(out, outlen, "was killed (signal %d): the agent is stopping",
			 WTERMSIG(res->status));
	else if (res->timed_out)
		snprintf(out, outlen, timeout_ms % 1000 ? "timed out after %d ms" : "timed out after %d s",
			 timeout_ms % 1000 ? timeout_ms : timeout_ms / 1000);
	else if (WIFEXITED(res->status))
		snprintf(out, outlen, "exited with status %d", WEXITSTATUS(res->status));
	else if (WIFSIGNALED(res->status))
		snprintf(out, outlen, "killed by signal %d (%s)", WTERMSIG(res->status),
			 strsignal(WTERMSIG(res->status)));
	else
		snprintf(out, outlen, "ended with wait status %#x", res->status);
}

/* Append the end of stderr to out (holding o bytes, room for outlen);
 * returns the new length. A tail cut at CHILD_TAIL_MAX starts at a line
 * when one begins inside it. Characters are copied whole, so out stays
 * valid UTF-8 when full. */
static size_t append_tail(const struct buf *b, char *out, size_t o, size_t outlen)
{
	const unsigned char *p = (const unsigned char *)(b && b->data ? b->data : "");
	size_t len = b ? b->len : 0, start, mark = o;
	bool sep = false;

	while (len && (p[len - 1] == '\n' || p[len - 1] == '\r' || p[len - 1] == ' ' ||
		       p[len - 1] == '\t'))
		len--;
	start = len > CHILD_TAIL_MAX ? len - CHILD_TAIL_MAX : 0;
	if (start) {
		const unsigned char *nl = memchr(p + start, '\n', len - start);
		if (nl)
			start = (size_t)(nl - p) + 1;
	}
	for (size_t i = start, n; i < len; i += n) {
		const char *add = (const char *)p + i;
		uint32_t cp = p[i];

		n = 1;
		if (p[i] == '\n') {
			while (o > mark && out[o - 1] == ' ')
				o--;
			sep = o > mark;  /* blank lines make one separator */
			continue;
		}
		if (p[i] >= 0x80 && !(n = utf8_decode(p + i, len - i, &cp))) {
			n = 1;           /* a stray byte: dropped */
			continue;
		}
		if (p[i] == '\t')
			add = " ";
		else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
			continue;        /* C0, DEL and C1 controls: dropped */
		if (*add == ' ' && (o == mark || sep || out[o - 1] == ' '))
			continue;        /* no space at a line's start, none doubled */
		if (o + (sep ? 2 : 0) + n >= outlen)
			break;
		if (sep) {
			memcpy(out + o, "; ", 2);
			o += 2;
			sep = false;
		}
		memcpy(out + o, add, n);
		o += n;
	}
	while (o > mark && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return o;
}

bool child_ok(const struct child_result *res, int timeout_ms, char *why, size_t whylen)
{
	bool ok = !res->timed_out && WIFEXITED(res->status) && WEXITSTATUS(res->status) == 0;
	size_t n;

	if (!whylen)
		return ok;
	child_describe(res, timeout_ms, why, whylen);
	n = strlen(why);
	if (!ok && n + 2 < whylen) {
		memcpy(why + n, ": ", 3);
		if (append_tail(res->err, why, n + 2, whylen) == n + 2)
			why[n] = '\0';  /* no stderr worth showing: no ": " */
	}
	return ok;
}
