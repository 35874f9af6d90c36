/* test_child.c - spawn hygiene: what a child really gets (argv, env, fds,
 * umask, signal mask, process group), plus timeouts, caps and stdin, and
 * child_ok()'s account of a failure.
 * The test binary doubles as the probe: run with "--probe" it prints
 * what it sees (after libvirt's tests/commandhelper.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/base/child.h"
#include "harness.h"
#include "agent/base/loop.h"
#include "agent/base/util.h"

extern char **environ;
static char self[4096];

static int probe(int argc, char **argv)
{
	sigset_t mask;
	DIR *d;
	struct dirent *e;
	mode_t um = umask(0);

	for (int i = 0; i < argc; i++)
		printf("argv[%d]=%s\n", i, argv[i]);
	for (char **p = environ; *p; p++)
		printf("env=%s\n", *p);
	d = opendir("/proc/self/fd");
	while (d && (e = readdir(d))) {
		if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d))
			printf("fd=%s\n", e->d_name);
	}
	if (d)
		closedir(d);
	printf("umask=%03o\n", (unsigned)um);
	sigprocmask(SIG_SETMASK, NULL, &mask);
	printf("sigterm_blocked=%d\n", sigismember(&mask, SIGTERM));
	printf("own_group=%d\n", getpgrp() == getpid());
	if (getenv("PROBE_WRITE_FD")) {
		/* a kept fd is the parent's file, not just a number */
		int fd = atoi(getenv("PROBE_WRITE_FD"));
		printf("wrote=%d\n", (int)write(fd, "kept\n", 5));
	}
	{
		char line[256];
		if (fgets(line, sizeof(line), stdin))
			printf("stdin=%s", line);
		else
			printf("stdin=EOF\n");
	}
	return 3;
}

struct result {
	struct loop *loop;
	int status, timed_out, called;
	char out[8192], err[1024];
	size_t outlen, out_dropped;
	int exec_errno;
};

static void on_done(const struct child_result *res, void *arg)
{
	struct result *r = arg;

	r->called++;
	r->status = res->status;
	r->timed_out = res->timed_out;
	r->outlen = res->out->len;
	r->out_dropped = res->out_dropped;
	r->exec_errno = res->exec_errno;
	snprintf(r->out, sizeof(r->out), "%s", res->out->data ? res->out->data : "");
	snprintf(r->err, sizeof(r->err), "%s", res->err->data ? res->err->data : "");
	loop_stop(r->loop);
}

static void run_child(struct child_opts *o, struct result *r)
{
	char err[256];

	memset(r, 0, sizeof(*r));
	r->loop = loop_new();
	if (!child_spawn(r->loop, o, on_done, r, err, sizeof(err))) {
		snprintf(r->err, sizeof(r->err), "spawn: %s", err);
		r->status = -1;
	} else {
		loop_run(r->loop);
	}
	loop_free(r->loop);
}

TEST(hygiene)
{
	const char *argv[] = { self, "--probe", "two words", "$(rm -rf /); `x`", NULL };
	const char *envp[] = { "ONLY=this", NULL };
	struct child_opts o = { .argv = argv, .envp = envp, .timeout_ms = 10000,
				.input = "fed line\n", .input_len = 9 };
	struct result r;
	sigset_t block;

	/* The agent blocks signals for its signalfd; children must not inherit that. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, NULL);
	run_child(&o, &r);
	sigprocmask(SIG_UNBLOCK, &block, NULL);
	CHECK_INT(r.called, 1);
	CHECK(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 3);
	CHECK(strstr(r.out, "argv[2]=two words\n") != NULL);
	CHECK(strstr(r.out, "argv[3]=$(rm -rf /); `x`\n") != NULL);
	CHECK(strstr(r.out, "env=ONLY=this\n") != NULL);
	CHECK(strstr(r.out, "env=PATH") == NULL);
	CHECK(strstr(r.out, "fd=0\nfd=1\nfd=2\numask") != NULL);
	CHECK(strstr(r.out, "fd=3") == NULL);
	CHECK(strstr(r.out, "umask=022\n") != NULL);
	CHECK(strstr(r.out, "sigterm_blocked=0\n") != NULL);
	CHECK(strstr(r.out, "own_group=1\n") != NULL);
	CHECK(strstr(r.out, "stdin=fed line\n") != NULL);
}

TEST(stdin_is_empty_by_default)
{
	const char *argv[] = { self, "--probe", NULL };
	struct child_opts o = { .argv = argv, .timeout_ms = 10000 };
	struct result r;

	run_child(&o, &r);
	CHECK(strstr(r.out, "stdin=EOF\n") != NULL);
}

TEST(keep_fds)
{
	const char *argv[] = { self, "--probe", NULL };
	char env_fd[32], want[64], got[16] = "";
	const char *envp[] = { env_fd, NULL };
	int p[2], hi, low = -1, keep[2];
	struct child_opts o = { .argv = argv, .envp = envp, .timeout_ms = 10000, .keep_fds = keep };
	struct result r;

	CHECK(pipe2(p, O_CLOEXEC) == 0);
	hi = fcntl(p[1], F_DUPFD_CLOEXEC, 40);
	/* 3 is where the child's exec-status pipe goes; kept, it moves up. */
	if (fcntl(3, F_GETFD) < 0)
		low = dup3(p[1], 3, O_CLOEXEC);
	keep[0] = hi;
	keep[1] = low;
	o.n_keep_fds = low == 3 ? 2 : 1;
	snprintf(env_fd, sizeof(env_fd), "PROBE_WRITE_FD=%d", hi);
	run_child(&o, &r);
	CHECK(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 3);
	if (low == 3)
		snprintf(want, sizeof(want), "fd=0\nfd=1\nfd=2\nfd=3\nfd=%d\numask", hi);
	else
		snprintf(want, sizeof(want), "fd=0\nfd=1\nfd=2\nfd=%d\numask", hi);
	CHECK(strstr(r.out, want) != NULL);
	CHECK(strstr(r.out, "wrote=5\n") != NULL);
	CHECK(read(p[0], got, sizeof(got) - 1) == 5);
	CHECK_STR(got, "kept\n");
	/* the parent's copies keep close-on-exec */
	CHECK(fcntl(hi, F_GETFD) == FD_CLOEXEC);
	if (low == 3)
		close(low);
	close(hi);
	close(p[1]);

	/* refused: stdio numbers, closed fds, one listed twice */
	{
		int bad_stdio[] = { 1 }, closed[] = { 39 }, twice[] = { p[0], p[0] };
		struct child_opts b = { .argv = argv, .n_keep_fds = 1, .keep_fds = bad_stdio };
		run_child(&b, &r);
		CHECK(strstr(r.err, "fd 1 cannot be kept") != NULL);
		b.keep_fds = closed;
		close(39);
		run_child(&b, &r);
		CHECK(strstr(r.err, "fd 39 to keep is not open") != NULL);
		b.keep_fds = twice;
		b.n_keep_fds = 2;
		run_child(&b, &r);
		CHECK(strstr(r.err, "listed twice") != NULL);
		CHECK_INT(r.called, 0);
	}
	close(p[0]);
}

static int fn_exit7(void *arg)
{
	fprintf(stderr, "to stderr %s", (const char *)arg);
	return 7;
}

TEST(function_mode)
{
	struct child_opts o = { .fn = fn_exit7, .fn_arg = "ok", .timeout_ms = 10000 };
	struct result r;

	run_child(&o, &r);
	CHECK(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 7);
	CHECK_STR(r.err, "to stderr ok");
}

static int fn_sleep(void *arg)
{
	sleep(30);
	return 0;
}

TEST(timeout_kills_group)
{
	struct child_opts o = { .fn = fn_sleep, .timeout_ms = 200 };
	struct result r;
	struct child_result cr = { 0 };
	char how[64];
	int64_t t0 = now_ms();

	run_child(&o, &r);
	CHECK(r.timed_out);
	CHECK(WIFSIGNALED(r.status) || (WIFEXITED(r.status) && WEXITSTATUS(r.status) != 0));
	CHECK(now_ms() - t0 < 5000);
	cr.timed_out = 1;
	child_describe(&cr, 30000, how, sizeof(how));
	CHECK_STR(how, "timed out after 30 s");
}

/* The leader dies of SIGTERM; its child ignores SIGTERM and holds the
 * pipes. */
static int fn_stubborn_grandchild(void *arg)
{
	pid_t gc = fork();

	if (gc == 0) {
		signal(SIGTERM, SIG_IGN);
		sleep(30);
		_exit(0);
	}
	dprintf(1, "%d\n", (int)gc);  /* not stdio: it holds the test's own unflushed lines */
	sleep(30);
	return 0;
}

TEST(timeout_kills_stragglers_once_the_leader_is_gone)
{
	struct child_opts o = { .fn = fn_stubborn_grandchild, .timeout_ms = 300 };
	struct result r;
	int64_t t0 = now_ms();
	pid_t gc;

	run_child(&o, &r);
	gc = (pid_t)atoi(r.out);
	CHECK(r.timed_out);
	CHECK(gc > 0);
	/* not the 2 s grace for SIGKILL, nor the 2 s wait for the pipes */
	CHECK(now_ms() - t0 < 1500);
	for (int i = 0; i < 100 && gc > 0 && !pid_gone(gc); i++)
		usleep(10 * 1000);
	CHECK(gc > 0 && pid_gone(gc));
}

static int fn_chatty(void *arg)
{
	for (int i = 0; i < 100000; i++)
		fputs("0123456789", stdout);
	return 0;
}

TEST(output_is_capped_and_drained)
{
	struct child_opts o = { .fn = fn_chatty, .timeout_ms = 10000, .max_output = 1000 };
	struct result r;

	run_child(&o, &r);
	CHECK(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
	CHECK_INT(r.outlen, 1000);
}

/* 4 MB and an end, written past stdio (which holds the test's own lines) */
static int fn_long_story(void *arg)
{
	static char chunk[65536];

	memset(chunk, 'x', sizeof(chunk));
	for (int i = 0; i < 64; i++)
		if (write(1, chunk, sizeof(chunk)) != (ssize_t)sizeof(chunk))
			return 1;
	return write(1, "THE END", 7) == 7 ? 0 : 1;
}

TEST(output_tail_is_kept)
{
	struct child_opts o = { .fn = fn_long_story, .timeout_ms = 20000, .max_output = 1000,
				.keep_tail = true };
	struct result r;

	fflush(stdout);  /* or the child's exit flushes our lines after its own */
	run_child(&o, &r);
	CHECK(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
	CHECK_INT(r.outlen, 1000);
	CHECK(strcmp(r.out + 993, "THE END") == 0 && r.out[0] == 'x');
	CHECK_INT(r.out_dropped, 64 * 65536 + 7 - 1000);
	/* the head, as before, counts what it dropped too */
	o.keep_tail = false;
	run_child(&o, &r);
	CHECK_INT(r.outlen, 1000);
	CHECK_INT(r.out_dropped, 64 * 65536 + 7 - 1000);
	CHECK(strstr(r.out, "THE END") == NULL);
	/* a cap larger than one read */
	o.keep_tail = true;
	o.max_output = 100000;
	run_child(&o, &r);
	CHECK_INT(r.outlen, 100000);
	CHECK_INT(r.out_dropped, 64 * 65536 + 7 - 100000);
}

TEST(exec_failure_is_reported)
{
	const char *argv[] = { "/nonexistent/program", NULL };
	struct child_opts o = { .argv = argv };
	struct result r;

	run_child(&o, &r);
	CHECK_INT(r.called, 0);
	CHECK(strstr(r.err, "cannot run /nonexistent/program") != NULL);
	{
		const char *rel[] = { "relative", NULL };
		struct child_opts o2 = { .argv = rel };
		run_child(&o2, &r);
		CHECK(strstr(r.err, "absolute") != NULL);
	}
}

/* An exec that fails past the access() check: heard from the loop. */
TEST(exec_failure_later_reaches_done)
{
	char path[] = "/tmp/test_child.XXXXXX", why[128];
	const char *argv[] = { path, NULL };
	struct child_opts o = { .argv = argv, .timeout_ms = 10000 };
	struct child_result cr = { 0 };
	struct result r;
	int fd = mkstemp(path);

	CHECK(fd >= 0 && write(fd, "\x7f" "ELF garbage", 12) == 12);
	close(fd);
	chmod(path, 0755);
	run_child(&o, &r);
	unlink(path);
	CHECK_INT(r.called, 1);
	CHECK(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 127);
	CHECK_INT(r.exec_errno, ENOEXEC);
	cr.status = r.status;
	cr.exec_errno = r.exec_errno;
	CHECK(!child_ok(&cr, 0, why, sizeof(why)));
	CHECK_STR(why, "could not be run: Exec format error");
}

TEST(describe)
{
	struct child_result cr = { 0 };
	char how[128];

	cr.status = 3 << 8;
	child_describe(&cr, 0, how, sizeof(how));
	CHECK_STR(how, "exited with status 3");
	cr.status = SIGKILL;
	child_describe(&cr, 0, how, sizeof(how));
	CHECK(strncmp(how, "killed by signal 9", 18) == 0);
}

/* child_ok() over a made-up result: status and stderr as given. */
static bool ok_with(int status, int timed_out, const char *err, size_t errlen, char *why,
		    size_t whylen)
{
	struct buf b;
	struct child_result cr = { .status = status, .timed_out = timed_out, .err = &b };
	bool ok;

	buf_init(&b, 0);
	buf_append(&b, err, errlen);
	ok = child_ok(&cr, 30000, why, whylen);
	buf_free(&b);
	return ok;
}
#define OK_WITH(st, to, s, why) ok_with(st, to, s, sizeof(s) - 1, why, sizeof(why))

TEST(ok_and_why)
{
	char why[512], small[12], big[2000];
	size_t n;

	CHECK(OK_WITH(0, 0, "warning: something\n", why));
	CHECK_STR(why, "exited with status 0");
	CHECK(!OK_WITH(3 << 8, 0, "", why));
	CHECK_STR(why, "exited with status 3");
	CHECK(!OK_WITH(3 << 8, 0, "\n \r\n\x01", why));
	CHECK_STR(why, "exited with status 3");
	CHECK(!OK_WITH(3 << 8, 0, "\t a  b \x01\n  c", why));
	CHECK_STR(why, "exited with status 3: a b; c");
	CHECK(!OK_WITH(2 << 8, 0, "tar: a: Cannot open\n\ntar: Error is not recoverable\r\n", why));
	CHECK_STR(why, "exited with status 2: tar: a: Cannot open; tar: Error is not recoverable");
	CHECK(!OK_WITH(SIGKILL, 0, "bye\n", why));
	CHECK(strncmp(why, "killed by signal 9", 18) == 0 && strstr(why, "): bye"));
	CHECK(!OK_WITH(0, 1, "slow\n", why));
	CHECK_STR(why, "timed out after 30 s: slow");
	/* control characters, C1 and stray bytes go; tabs become spaces; UTF-8 stays */
	CHECK(!OK_WITH(1 << 8, 0, "a\x1b[31mb\x7f\xc2\x85""c\td\xff\xc3\xa9\x00""e", why));
	CHECK_STR(why, "exited with status 1: a[31mbc d\xc3\xa9""e");
	/* a long stderr: its last CHILD_TAIL_MAX bytes, from a line start */
	memset(big, 'x', sizeof(big));
	for (size_t i = 99; i < sizeof(big); i += 100)
		big[i] = '\n';
	memcpy(big + sizeof(big) - 5, "last", 4);
	CHECK(!ok_with(1 << 8, 0, big, sizeof(big), why, sizeof(why)));
	n = strlen("exited with status 1: ");
	CHECK(strncmp(why + n, "xxx", 3) == 0 && strstr(why, "xxx; xxx"));
	CHECK(strcmp(why + strlen(why) - 7, "xxxlast") == 0);
	CHECK_INT(strlen(why) - n, 4 * 99 + 3 * 2);  /* 4 lines of 99 bytes and "; " */
	/* a small buffer: cut, terminated, never inside a character */
	CHECK(!OK_WITH(1 << 8, 0, "\xc3\xa9\xc3\xa9", small));
	CHECK_STR(small, "exited with");
	{
		char mid[26];
		CHECK(!OK_WITH(1 << 8, 0, "\xc3\xa9\xc3\xa9", mid));
		CHECK_STR(mid, "exited with status 1: \xc3\xa9");
	}
	CHECK(OK_WITH(0, 0, "", small) && strlen(small) == sizeof(small) - 1);
}

static int fn_fail_loudly(void *arg)
{
	fputs("first line\nsecond line\n", stderr);
	return 4;
}

TEST(ok_on_a_real_child)
{
	struct child_opts o = { .fn = fn_fail_loudly, .timeout_ms = 10000 };
	struct result r;
	struct buf b;
	struct child_result cr = { 0 };
	char why[256];

	run_child(&o, &r);
	buf_init(&b, 0);
	buf_puts(&b, r.err);
	cr.status = r.status;
	cr.err = &b;
	CHECK(!child_ok(&cr, 10000, why, sizeof(why)));
	CHECK_STR(why, "exited with status 4: first line; second line");
	buf_free(&b);
}

/* A child that leaves a grandchild in its process group, holding the
 * pipes, and both sleep: only a kill of the whole group ends them soon. */
static int fn_sleep_with_grandchild(void *arg)
{
	if (fork() == 0) {
		sleep(30);
		_exit(0);
	}
	sleep(30);
	return 0;
}

struct ended {
	int called, status, killed_at_exit;
	char why[128];
};

static void on_ended(const struct child_result *res, void *arg)
{
	struct ended *e = arg;

	e->called++;
	e->status = res->status;
	e->killed_at_exit = res->killed_at_exit;
	child_ok(res, 0, e->why, sizeof(e->why));
}

/* Last: after child_end_all() nothing can be started any more. */
TEST(end_all_kills_groups_and_tells_owners)
{
	struct child_opts o = { .fn = fn_sleep_with_grandchild, .timeout_ms = 60000 };
	const char *argv[] = { "/bin/sleep", "30", NULL };
	struct child_opts o2 = { .argv = argv, .timeout_ms = 60000 };
	struct loop *loop = loop_new();
	struct ended e1 = { 0 }, e2 = { 0 };
	char err[128];
	int64_t t0;

	CHECK(child_spawn(loop, &o, on_ended, &e1, err, sizeof(err)) != NULL);
	CHECK(child_spawn(loop, &o2, on_ended, &e2, err, sizeof(err)) != NULL);
	usleep(100 * 1000);  /* the grandchild is born */
	t0 = now_ms();
	CHECK_INT(child_end_all(loop), 0);
	CHECK(now_ms() - t0 < 1500);  /* not the 2 s wait for pipes a grandchild keeps */
	CHECK_INT(e1.called, 1);
	CHECK_INT(e2.called, 1);
	CHECK(WIFSIGNALED(e1.status) && WTERMSIG(e1.status) == SIGKILL && e1.killed_at_exit);
	CHECK(WIFSIGNALED(e2.status) && WTERMSIG(e2.status) == SIGKILL && e2.killed_at_exit);
	CHECK_STR(e2.why, "was killed (signal 9): the agent is stopping");
	CHECK(child_spawn(loop, &o2, on_ended, &e2, err, sizeof(err)) == NULL);
	CHECK_STR(err, "the agent is stopping");
	CHECK_INT(child_end_all(loop), 0);  /* nothing left: returns at once */
	loop_free(loop);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--probe") == 0)
		return probe(argc, argv);
	if (!realpath("/proc/self/exe", self))
		return 2;
	RUN(hygiene);
	RUN(stdin_is_empty_by_default);
	RUN(keep_fds);
	RUN(function_mode);
	RUN(timeout_kills_group);
	RUN(timeout_kills_stragglers_once_the_leader_is_gone);
	RUN(output_is_capped_and_drained);
	RUN(output_tail_is_kept);
	RUN(exec_failure_is_reported);
	RUN(exec_failure_later_reaches_done);
	RUN(describe);
	RUN(ok_and_why);
	RUN(ok_on_a_real_child);
	RUN(end_all_kills_groups_and_tells_owners);
	return harness_done();
}
