/* test_beneath.c - the repository path rule (agent/base/beneath.c), each
 * case both through openat2 and through the walk that stands in for it
 * where the kernel has none.
 *
 * The tree, in a fresh temp directory T:
 *   T/outside/secret
 *   T/rootlink -> root           (a root reached through a symlink)
 *   T/root/f
 *   T/root/d/g, T/root/d/sub/h
 *   T/root/in_rel -> d/g          symlinks that stay inside: followed
 *   T/root/in_dir -> d
 *   T/root/in_up  -> d/sub/../g
 *   T/root/in_abs -> T/root/d/g   (absolute, naming the root: inside)
 *   T/root/out_rel -> ../outside/secret   symlinks that lead out: EXDEV
 *   T/root/out_abs -> T/outside/secret
 *   T/root/out_dir -> ../outside
 *   T/root/loop -> loop, T/root/dangling -> nothere */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "agent/base/beneath.h"

static char T[64];

static void at(char *out, const char *rel)
{
	if ((size_t)snprintf(out, PATH_MAX, "%s/%s", T, rel) >= PATH_MAX)
		abort();
}

static void mk_file(const char *rel)
{
	char p[PATH_MAX];
	int fd;

	at(p, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, rel, strlen(rel)) < 0) {
		perror(p);
		exit(2);
	}
	close(fd);
}

static void mk_dir(const char *rel)
{
	char p[PATH_MAX];

	at(p, rel);
	if (mkdir(p, 0755) != 0) {
		perror(p);
		exit(2);
	}
}

static void mk_link(const char *target, const char *rel)
{
	char p[PATH_MAX];

	at(p, rel);
	if (symlink(target, p) != 0) {
		perror(p);
		exit(2);
	}
}

static void setup(void)
{
	char abs[PATH_MAX];

	snprintf(T, sizeof(T), "/tmp/test_beneath.XXXXXX");
	if (!mkdtemp(T)) {
		perror("mkdtemp");
		exit(2);
	}
	mk_dir("outside");
	mk_file("outside/secret");
	mk_dir("root");
	mk_link("root", "rootlink");
	mk_file("root/f");
	mk_dir("root/d");
	mk_file("root/d/g");
	mk_dir("root/d/sub");
	mk_file("root/d/sub/h");
	mk_link("d/g", "root/in_rel");
	mk_link("d", "root/in_dir");
	mk_link("d/sub/../g", "root/in_up");
	at(abs, "root/d/g");
	mk_link(abs, "root/in_abs");
	mk_link("../outside/secret", "root/out_rel");
	at(abs, "outside/secret");
	mk_link(abs, "root/out_abs");
	mk_link("../outside", "root/out_dir");
	mk_link("loop", "root/loop");
	mk_link("nothere", "root/dangling");
}

static void teardown(void)
{
	char *argv[] = { "/bin/rm", "-rf", "--", T, NULL };
	pid_t pid = fork();

	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	while (pid > 0 && waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* 0 when p opens (flags, how) beneath r as the file T/want (lstat'd when
 * want_link), else the errno; -1 when it opened something else. */
static int opens_as(const struct beneath_root *r, const char *p, int flags, unsigned how,
		    const char *want, bool want_link)
{
	struct stat got, exp;
	char wp[PATH_MAX];
	int fd = beneath_open(r, p, flags, 0, how), rc = 0;

	if (fd < 0)
		return errno;
	at(wp, want);
	if (fstat(fd, &got) != 0 || (want_link ? lstat(wp, &exp) : stat(wp, &exp)) != 0 ||
	    got.st_dev != exp.st_dev || got.st_ino != exp.st_ino) {
		fprintf(stderr, "  %s opened something other than %s\n", p, want);
		rc = -1;
	}
	close(fd);
	return rc;
}

static int fails(const struct beneath_root *r, const char *p, int flags, unsigned how)
{
	int fd = beneath_open(r, p, flags, 0, how);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return errno;
}

static struct beneath_root root;

static void open_root(const char *rel)
{
	char p[PATH_MAX];

	at(p, rel);
	if (beneath_root_open(&root, p) != 0) {
		perror(p);
		exit(2);
	}
}

/* Each case once with openat2 and once with the walk. */
#define BOTH for (int walk_ = 0; walk_ < 2; beneath_force_walk(false), walk_++) \
	if (beneath_force_walk(walk_ == 1), 1)

TEST(strip)
{
	CHECK_STR(beneath_strip("/OVS", "/OVS/x/y"), "x/y");
	CHECK_STR(beneath_strip("/OVS/", "/OVS/x"), "x");
	CHECK_STR(beneath_strip("/OVS", "/OVS"), "");
	CHECK_STR(beneath_strip("/OVS", "/OVS/"), "");
	CHECK_STR(beneath_strip("/OVS", "/OVS//x"), "x");
	CHECK(beneath_strip("/OVS", "/OVSX/x") == NULL);
	CHECK(beneath_strip("/OVS", "/OV") == NULL);
	CHECK(beneath_strip("/OVS", "OVS/x") == NULL);
	CHECK(beneath_strip("OVS", "OVS/x") == NULL);
	CHECK_STR(beneath_strip("/", "/etc"), "etc");
	CHECK_STR(beneath_strip("/", "/"), "");
	CHECK_STR(beneath_strip("//", "/x"), "x");
}

TEST(plain)
{
	open_root("root");
	BOTH {
		CHECK_INT(opens_as(&root, "f", O_RDONLY, 0, "root/f", false), 0);
		CHECK_INT(opens_as(&root, "d/g", O_RDONLY, 0, "root/d/g", false), 0);
		CHECK_INT(opens_as(&root, "d/sub/h", O_PATH, 0, "root/d/sub/h", false), 0);
		CHECK_INT(opens_as(&root, "", O_PATH | O_DIRECTORY, 0, "root", false), 0);
		CHECK_INT(opens_as(&root, ".", O_RDONLY | O_DIRECTORY, 0, "root", false), 0);
		CHECK_INT(fails(&root, "nothere", O_RDONLY, 0), ENOENT);
		CHECK_INT(fails(&root, "f/x", O_RDONLY, 0), ENOTDIR);
		CHECK_INT(fails(&root, "d", O_WRONLY, 0), EISDIR);
	}
	beneath_root_close(&root);
}

TEST(trailing_slashes)
{
	open_root("root///");
	CHECK_STR(root.path + strlen(root.path) - 5, "/root");
	BOTH {
		CHECK_INT(opens_as(&root, "d/", O_RDONLY, 0, "root/d", false), 0);
		CHECK_INT(opens_as(&root, "d//", O_PATH, 0, "root/d", false), 0);
		CHECK_INT(opens_as(&root, "d/sub//h", O_RDONLY, 0, "root/d/sub/h", false), 0);
		CHECK_INT(fails(&root, "f/", O_RDONLY, 0), ENOTDIR);
		CHECK_INT(fails(&root, "f/", O_PATH, 0), ENOTDIR);
		/* "link/" follows the link even when O_NOFOLLOW asks not to */
		CHECK_INT(opens_as(&root, "in_dir/", O_PATH | O_NOFOLLOW, 0, "root/d", false), 0);
		CHECK_INT(fails(&root, "in_rel/", O_PATH, 0), ENOTDIR);
		CHECK_INT(fails(&root, "new/", O_CREAT | O_WRONLY, 0), EISDIR);
		CHECK_INT(fails(&root, "out_dir/", O_PATH, 0), EXDEV);
	}
	beneath_root_close(&root);
}

TEST(dotdot)
{
	open_root("root");
	BOTH {
		CHECK_INT(opens_as(&root, "d/../f", O_RDONLY, 0, "root/f", false), 0);
		CHECK_INT(opens_as(&root, "d/sub/../../f", O_RDONLY, 0, "root/f", false), 0);
		CHECK_INT(opens_as(&root, "./d/./g", O_RDONLY, 0, "root/d/g", false), 0);
		CHECK_INT(opens_as(&root, "d/sub/..", O_PATH, 0, "root/d", false), 0);
		CHECK_INT(opens_as(&root, "d/..", O_PATH, 0, "root", false), 0);
		CHECK_INT(fails(&root, "..", O_PATH, 0), EXDEV);
		CHECK_INT(fails(&root, "../root/f", O_RDONLY, 0), EXDEV); /* out and back: out */
		CHECK_INT(fails(&root, "d/../../outside/secret", O_RDONLY, 0), EXDEV);
		CHECK_INT(fails(&root, "d/sub/../../..", O_PATH, 0), EXDEV);
		/* through a symlink inside, ".." counts from where the link led */
		CHECK_INT(opens_as(&root, "in_dir/sub/../g", O_RDONLY, 0, "root/d/g", false), 0);
	}
	beneath_root_close(&root);
}

TEST(absolute)
{
	char p[PATH_MAX];

	open_root("rootlink");     /* both spellings: T/rootlink/... and T/root/... */
	BOTH {
		at(p, "rootlink/d/g");
		CHECK_INT(opens_as(&root, p, O_RDONLY, 0, "root/d/g", false), 0);
		at(p, "root/d/g");
		CHECK_INT(opens_as(&root, p, O_RDONLY, 0, "root/d/g", false), 0);
		at(p, "root");
		CHECK_INT(opens_as(&root, p, O_PATH, 0, "root", false), 0);
		at(p, "root/");
		CHECK_INT(opens_as(&root, p, O_PATH, 0, "root", false), 0);
		at(p, "outside/secret");
		CHECK_INT(fails(&root, p, O_RDONLY, 0), EXDEV);
		at(p, "rootX/f");
		CHECK_INT(fails(&root, p, O_RDONLY, 0), EXDEV);
		at(p, "root/../outside/secret");
		CHECK_INT(fails(&root, p, O_RDONLY, 0), EXDEV);
		CHECK_INT(fails(&root, "/etc/passwd", O_RDONLY, 0), EXDEV);
		CHECK_INT(fails(&root, "/", O_PATH, 0), EXDEV);
	}
	beneath_root_close(&root);
}

TEST(root_is_slash)
{
	char p[PATH_MAX];

	if (beneath_root_open(&root, "/") != 0) {
		CHECK(0);
		return;
	}
	CHECK_STR(root.path, "/");
	BOTH {
		at(p, "root/d/g");
		CHECK_INT(opens_as(&root, p, O_RDONLY, 0, "root/d/g", false), 0);
		CHECK_INT(opens_as(&root, p + 1, O_RDONLY, 0, "root/d/g", false), 0);
		/* everything is beneath "/": even the links out of T/root */
		at(p, "root/out_abs");
		CHECK_INT(opens_as(&root, p, O_RDONLY, 0, "outside/secret", false), 0);
		at(p, "root/out_rel");
		CHECK_INT(opens_as(&root, p, O_RDONLY, 0, "outside/secret", false), 0);
		/* but ".." still may not climb above it */
		CHECK_INT(fails(&root, "..", O_PATH, 0), EXDEV);
		CHECK_INT(fails(&root, "tmp/../..", O_PATH, 0), EXDEV);
	}
	beneath_root_close(&root);
}

TEST(symlinks_inside)
{
	open_root("root");
	BOTH {
		CHECK_INT(opens_as(&root, "in_rel", O_RDONLY, 0, "root/d/g", false), 0);
		CHECK_INT(opens_as(&root, "in_rel", O_PATH, 0, "root/d/g", false), 0);
		CHECK_INT(opens_as(&root, "in_dir/sub/h", O_RDONLY, 0, "root/d/sub/h", false), 0);
		CHECK_INT(opens_as(&root, "in_up", O_RDONLY, 0, "root/d/g", false), 0);
		CHECK_INT(opens_as(&root, "in_abs", O_RDONLY, 0, "root/d/g", false), 0);
		CHECK_INT(opens_as(&root, "in_dir", O_PATH | O_DIRECTORY, 0, "root/d", false), 0);
		/* O_PATH|O_NOFOLLOW: the link itself; O_NOFOLLOW alone: ELOOP */
		CHECK_INT(opens_as(&root, "in_rel", O_PATH | O_NOFOLLOW, 0, "root/in_rel", true), 0);
		CHECK_INT(opens_as(&root, "out_abs", O_PATH | O_NOFOLLOW, 0, "root/out_abs", true), 0);
		CHECK_INT(fails(&root, "in_rel", O_RDONLY | O_NOFOLLOW, 0), ELOOP);
		/* BENEATH_NO_SYMLINKS: none followed, wherever they lead */
		CHECK_INT(fails(&root, "in_rel", O_RDONLY, BENEATH_NO_SYMLINKS), ELOOP);
		CHECK_INT(fails(&root, "in_dir/g", O_RDONLY, BENEATH_NO_SYMLINKS), ELOOP);
		CHECK_INT(fails(&root, "in_abs", O_PATH, BENEATH_NO_SYMLINKS), ELOOP);
		CHECK_INT(opens_as(&root, "in_rel", O_PATH | O_NOFOLLOW, BENEATH_NO_SYMLINKS,
				   "root/in_rel", true), 0);
		CHECK_INT(opens_as(&root, "d/g", O_RDONLY, BENEATH_NO_SYMLINKS, "root/d/g", false), 0);
	}
	beneath_root_close(&root);
}

TEST(symlinks_out)
{
	char p[PATH_MAX];

	open_root("root");
	BOTH {
		CHECK_INT(fails(&root, "out_rel", O_RDONLY, 0), EXDEV);
		CHECK_INT(fails(&root, "out_abs", O_RDONLY, 0), EXDEV);
		CHECK_INT(fails(&root, "out_abs", O_PATH, 0), EXDEV);
		CHECK_INT(fails(&root, "out_dir/secret", O_RDONLY, 0), EXDEV);
		CHECK_INT(fails(&root, "out_dir", O_PATH | O_DIRECTORY, 0), EXDEV);
		CHECK_INT(fails(&root, "loop", O_RDONLY, 0), ELOOP);
		CHECK_INT(fails(&root, "dangling", O_RDONLY, 0), ENOENT);
		/* nothing is made outside through a link */
		CHECK_INT(fails(&root, "out_dir/made", O_CREAT | O_WRONLY, 0), EXDEV);
		at(p, "outside/made");
		CHECK(access(p, F_OK) != 0);
	}
	beneath_root_close(&root);
}

TEST(create)
{
	char p[PATH_MAX];
	int fd;

	open_root("root");
	BOTH {
		fd = beneath_open(&root, "d/new", O_CREAT | O_EXCL | O_WRONLY, 0600, 0);
		CHECK(fd >= 0);
		if (fd >= 0)
			close(fd);
		at(p, "root/d/new");
		CHECK(access(p, F_OK) == 0);
		CHECK_INT(fails(&root, "d/new", O_CREAT | O_EXCL | O_WRONLY, 0), EEXIST);
		CHECK_INT(fails(&root, "in_rel", O_CREAT | O_EXCL | O_WRONLY, 0), EEXIST);
		unlink(p);
	}
	beneath_root_close(&root);
}

/* A directory swapped for a symlink between two calls: the second call is
 * refused, and an fd from the first still reaches the directory it named. */
TEST(swapped_between_calls)
{
	char d[PATH_MAX], old[PATH_MAX];
	int dfd, fd;
	struct stat st, want;

	open_root("root");
	at(d, "root/d");
	at(old, "root/d_old");
	BOTH {
		dfd = beneath_open(&root, "d", O_PATH | O_DIRECTORY, 0, 0);
		CHECK(dfd >= 0);
		CHECK_INT(opens_as(&root, "d/g", O_RDONLY, 0, "root/d/g", false), 0);
		CHECK(rename(d, old) == 0);
		CHECK(symlink("../outside", d) == 0);
		CHECK_INT(fails(&root, "d/secret", O_RDONLY, 0), EXDEV);
		CHECK_INT(fails(&root, "d/g", O_RDONLY, 0), EXDEV);
		/* the caller that works on its fd is not redirected */
		fd = openat(dfd, "g", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		CHECK(fd >= 0);
		at(old, "root/d_old/g");
		CHECK(fd >= 0 && fstat(fd, &st) == 0 && stat(old, &want) == 0 && st.st_ino == want.st_ino);
		at(old, "root/d_old");
		if (fd >= 0)
			close(fd);
		close(dfd);
		CHECK(unlink(d) == 0);
		CHECK(rename(old, d) == 0);
	}
	beneath_root_close(&root);
}

/* Deep paths and link chains stay bounded. */
TEST(bounds)
{
	char p[PATH_MAX + 16];
	size_t n = 0;

	open_root("root");
	BOTH {
		n = 0;
		while (n + 2 < sizeof(p) - 1)
			n += (size_t)snprintf(p + n, sizeof(p) - n, "./");
		CHECK_INT(fails(&root, p, O_RDONLY, 0), ENAMETOOLONG);
		memset(p, 'a', NAME_MAX + 1);
		p[NAME_MAX + 1] = '\0';
		CHECK_INT(fails(&root, p, O_RDONLY, 0), ENAMETOOLONG);
		/* 200 times down and up stays inside */
		n = 0;
		for (int i = 0; i < 200; i++)
			n += (size_t)snprintf(p + n, sizeof(p) - n, "d/sub/../../");
		snprintf(p + n, sizeof(p) - n, "f");
		CHECK_INT(opens_as(&root, p, O_RDONLY, 0, "root/f", false), 0);
	}
	beneath_root_close(&root);
}

TEST(fd_path)
{
	char p[PATH_MAX], want[PATH_MAX], tiny[4];
	int fd;

	open_root("rootlink");
	fd = beneath_open(&root, "in_rel", O_RDONLY, 0, 0);
	CHECK(fd >= 0);
	at(want, "root/d/g");
	CHECK(beneath_fd_path(fd, p, sizeof(p)) == 0);
	CHECK_STR(p, want);
	CHECK(beneath_fd_path(fd, tiny, sizeof(tiny)) == -1 && errno == ENAMETOOLONG);
	beneath_child_path(fd, p, sizeof(p));
	snprintf(want, sizeof(want), "/proc/%ld/fd/%d", (long)getpid(), fd);
	CHECK_STR(p, want);
	close(fd);
	beneath_root_close(&root);
}

int main(void)
{
	setup();
	RUN(strip);
	RUN(plain);
	RUN(trailing_slashes);
	RUN(dotdot);
	RUN(absolute);
	RUN(root_is_slash);
	RUN(symlinks_inside);
	RUN(symlinks_out);
	RUN(create);
	RUN(swapped_between_calls);
	RUN(bounds);
	RUN(fd_path);
	teardown();
	return harness_done();
}
