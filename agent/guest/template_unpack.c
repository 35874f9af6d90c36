/* template_unpack.c - see template_unpack.h.
 *
 * A .tgz is unpacked by a forked helper (function mode of child.c) that
 * starts gzip -dc and tar -x itself and pumps the stream between them:
 *
 *     template.tgz -> gzip -dc -> [helper counts] -> tar -xf - -C dest
 *
 * The helper and its two children share the process group child.c made,
 * so the timeout still ends all three. What they print to stderr is the
 * caller's stderr tail; the helper's stdout carries one line,
 * "<fault> <message>", when it refuses the template itself. */
#include "agent/guest/template_unpack.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/base/fault.h"
#include "agent/repo/repospace.h"

enum { EXIT_REFUSED = 1, EXIT_FAILED = 2 };

static pid_t agent_pid;   /* the helper's parent; set before each spawn */

/* Die with the parent, and never outlive it unnoticed: if it is already
 * gone (we were re-parented before prctl took hold), go now. */
static void die_with(pid_t parent)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(127);
}

/* The per-file bound (SIGXFSZ past it) and no core file from a killed tar. */
static void set_limits(unsigned long long max)
{
	struct rlimit fsize = { (rlim_t)max, (rlim_t)max }, core = { 0, 0 };

	if (setrlimit(RLIMIT_FSIZE, &fsize) != 0 || setrlimit(RLIMIT_CORE, &core) != 0)
		_exit(127);
}

/* Fork and exec argv with stdin in and stdout out; limited when max. */
static pid_t start(const char *const *argv, const char *const *envp, int in, int out,
		   unsigned long long max)
{
	pid_t parent = getpid(), pid = fork();

	if (pid != 0)
		return pid;
	die_with(parent);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0)
		_exit(127);
	if (max)
		set_limits(max);
	execve(argv[0], (char *const *)argv, (char *const *)envp);
	dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static int wait_for(pid_t pid)
{
	int st = 0;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return st;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The destination's free bytes (statvfs here, in the child: a network
 * file system may hang); ULLONG_MAX when it cannot say. */
static unsigned long long room_of(const char *dest)
{
	struct statvfs sv;

	if (statvfs(dest, &sv) != 0)
		return ULLONG_MAX;
	return (unsigned long long)sv.f_bavail * sv.f_frsize;
}

/* "1005 <what> needs ... free" on stdout, the verdict. */
static int no_room(const char *what, unsigned long long need, const char *dest,
		   unsigned long long room)
{
	char msg[1024];

	repo_room_msg(msg, sizeof(msg), what, need, dest, room);
	printf("%d %s\n", FAULT_NO_RESOURCES, msg);
	return EXIT_REFUSED;
}

static void say_status(const char *who, int st)
{
	if (WIFEXITED(st))
		dprintf(2, "%s exited with status %d\n", who, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		dprintf(2, "%s killed by signal %d (%s)\n", who, WTERMSIG(st), strsignal(WTERMSIG(st)));
}

/* The helper for a .tgz (runs in the forked child). */
static int unpack_tgz(void *arg)
{
	const struct template_unpack_req *r = arg;
	const char *const gzip_argv[] = { "/bin/gzip", "-dc", NULL };
	const char *const tar_argv[] = { "/bin/tar", "-xf", "-", "-C", r->dest, "--no-same-owner",
					 "--no-same-permissions", "--no-overwrite-dir", NULL };
	static char buf[1 << 16];
	unsigned long long total = 0, room = room_of(r->dest);
	bool over = false, tar_left = false, full = false;
	int in, gz[2], tp[2], gz_st, tar_st;
	pid_t gzp, tarp;

	die_with(agent_pid);
	in = open(r->src, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (in < 0) {
		printf("%d cannot open the template %s: %s\n", FAULT_IO, r->src, strerror(errno));
		return EXIT_REFUSED;
	}
	if (pipe2(gz, O_CLOEXEC) != 0 || pipe2(tp, O_CLOEXEC) != 0) {
		dprintf(2, "pipe: %s\n", strerror(errno));
		return EXIT_FAILED;
	}
	/* tar's stdout goes to stderr: stdout is this helper's verdict. */
	gzp = start(gzip_argv, r->envp, in, gz[1], 0);
	tarp = gzp < 0 ? -1 : start(tar_argv, r->envp, tp[0], 2, r->max_bytes);
	if (gzp < 0 || tarp < 0) {
		dprintf(2, "fork: %s\n", strerror(errno));
		return EXIT_FAILED; /* a started gzip dies with us */
	}
	close(in);
	close(gz[1]);
	close(tp[0]);
	/* Only here, after the forks: an ignored SIGPIPE would be inherited. */
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		ssize_t n = read(gz[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		total += (unsigned long long)n;
		if (total > r->max_bytes) {
			over = true;
			break;
		}
		if (total > room) {
			full = true;
			break;
		}
		if (write_all(tp[1], buf, (size_t)n) != 0) {
			tar_left = true; /* tar stopped reading: its status says why */
			break;
		}
	}
	close(tp[1]);
	close(gz[0]);
	if (over || full) {
		kill(tarp, SIGKILL);
		kill(gzp, SIGKILL);
	}
	tar_st = wait_for(tarp);
	gz_st = wait_for(gzp);
	if (full) {
		char what[PATH_MAX + 64];
		snprintf(what, sizeof(what), "the template %s (unpacking was stopped there)", r->src);
		return no_room(what, total, r->dest, room);
	}
	if (over) {
		printf("%d the template %s unpacks to more than template_max_bytes (%llu bytes); "
		       "unpacking was stopped there (agent.ini's template_max_bytes allows larger "
		       "templates)\n", FAULT_NO_RESOURCES, r->src, r->max_bytes);
		return EXIT_REFUSED;
	}
	if (WIFSIGNALED(tar_st) && WTERMSIG(tar_st) == SIGXFSZ) {
		printf("%d the template %s holds a file larger than template_max_bytes (%llu bytes) "
		       "(agent.ini's template_max_bytes allows larger templates)\n", FAULT_NO_RESOURCES,
		       r->src, r->max_bytes);
		return EXIT_REFUSED;
	}
	if (!WIFEXITED(tar_st) || WEXITSTATUS(tar_st) != 0) {
		say_status("tar", tar_st);
		return EXIT_FAILED;
	}
	/* As tar -z does: once tar has read its end-of-archive, gzip may be
	 * cut off (SIGPIPE) by the rest being ignored. */
	if (!(WIFEXITED(gz_st) && WEXITSTATUS(gz_st) == 0) &&
	    !(tar_left && WIFSIGNALED(gz_st) && WTERMSIG(gz_st) == SIGPIPE)) {
		say_status("gzip -d", gz_st);
		return EXIT_FAILED;
	}
	return 0;
}

/* Sum of a directory template's file sizes (child only). */
static unsigned long long dir_total;

static int add_size(const char *fpath, const struct stat *st, int type, struct FTW *ftw)
{
	if (type == FTW_F && S_ISREG(st->st_mode))
		dir_total += (unsigned long long)st->st_size;
	return 0;
}

/* The helper for a directory: check its size, then become cp. */
static int copy_dir(void *arg)
{
	const struct template_unpack_req *r = arg;
	char *src = NULL;
	const char *argv[] = { "/bin/cp", "-a", "--reflink=auto", "--", NULL, r->dest, NULL };

	die_with(agent_pid);
	dir_total = 0;
	/* Unreadable parts are left to cp, which says what it cannot read. */
	nftw(r->src, add_size, 32, FTW_PHYS | FTW_MOUNT);
	if (dir_total > r->max_bytes) {
		printf("%d the template directory %s holds %llu bytes, more than template_max_bytes "
		       "(%llu bytes) (agent.ini's template_max_bytes allows larger templates)\n",
		       FAULT_NO_RESOURCES, r->src, dir_total, r->max_bytes);
		return EXIT_REFUSED;
	}
	if (dir_total > room_of(r->dest)) {
		char what[PATH_MAX + 64];
		snprintf(what, sizeof(what), "the template directory %s", r->src);
		return no_room(what, dir_total, r->dest, room_of(r->dest));
	}
	if (asprintf(&src, "%s/.", r->src) < 0)
		return EXIT_FAILED;
	argv[4] = src;
	set_limits(r->max_bytes);
	execve(argv[0], (char *const *)argv, (char *const *)r->envp);
	dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
	return EXIT_FAILED;
}

struct child *template_unpack(struct loop *loop, const struct template_unpack_req *req,
			      child_done_cb done, void *arg, char *err, size_t errlen)
{
	struct child_opts o = { .fn = req->is_dir ? copy_dir : unpack_tgz, .fn_arg = (void *)req,
				.timeout_ms = req->timeout_ms };

	agent_pid = getpid();
	return child_spawn(loop, &o, done, arg, err, errlen);
}

int template_unpack_verdict(const struct child_result *res, unsigned long long max_bytes,
			    char *msg, size_t msglen)
{
	const char *out = res->out && res->out->data ? res->out->data : "";
	char *end;
	long code;

	if (res->timed_out)
		return -1;
	if (WIFEXITED(res->status) && WEXITSTATUS(res->status) == 0)
		return 0;
	/* cp itself, past the per-file bound */
	if (WIFSIGNALED(res->status) && WTERMSIG(res->status) == SIGXFSZ) {
		snprintf(msg, msglen, "the template holds a file larger than template_max_bytes "
			 "(%llu bytes) (agent.ini's template_max_bytes allows larger templates)",
			 max_bytes);
		return FAULT_NO_RESOURCES;
	}
	if (!WIFEXITED(res->status) || WEXITSTATUS(res->status) != EXIT_REFUSED)
		return -1;
	code = strtol(out, &end, 10);
	if (end == out || *end != ' ' || code < 1000 || code > 9999)
		return -1;
	snprintf(msg, msglen, "%.*s", (int)strcspn(end + 1, "\n"), end + 1);
	return (int)code;
}
