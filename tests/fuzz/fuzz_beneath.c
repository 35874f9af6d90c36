/* fuzz_beneath.c - libFuzzer target for the repository path rule
 * (agent/base/beneath.c).
 *
 * Random paths are opened beneath the root of a small fixed tree, made
 * once in a temp directory, whose symlinks lead inside, out (relative and
 * absolute), in a loop and nowhere; a sibling directory "out" is what
 * must never be reached. The first input byte picks the open flags, the
 * rule's flags and whether the path is given absolute; the rest is the
 * path. Properties:
 *   - whatever opens is, by fstat's device and inode, the root or a file
 *     inside it (the set is collected once by walking the tree without
 *     following links);
 *   - the walk (the stand-in where the kernel has no openat2) and the
 *     kernel's openat2 agree: both open the same file, or both fail with
 *     the same errno, except that either may say ELOOP where the other
 *     says something else (the kernel counts links under RESOLVE_BENEATH
 *     its own way: 27 "b/up" hops, up -> "..", then a link out, are ELOOP
 *     to it and EXDEV to the walk). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/base/beneath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INSIDE 64
#define MAX_PATH_IN 512

static char base[64], rootdir[128];
static struct beneath_root root;
static struct { dev_t dev; ino_t ino; } inside[MAX_INSIDE];
static size_t ninside;

static int collect(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	(void)p, (void)type, (void)ftw;
	if (ninside == MAX_INSIDE)
		abort();
	inside[ninside].dev = st->st_dev;
	inside[ninside].ino = st->st_ino;
	ninside++;
	return 0;
}

static int rm_one(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)ftw;
	return type == FTW_DP ? rmdir(p) : unlink(p);
}

static void cleanup(void)
{
	if (root.path)
		beneath_root_close(&root);
	nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A property broke: leave no tree behind, then crash for libFuzzer. */
static void die(void)
{
	cleanup();
	abort();
}

static void make(const char *kind, const char *rel, const char *target)
{
	char p[256];
	int ok;

	snprintf(p, sizeof(p), "%s/%s", base, rel);
	if (kind[0] == 'd') {
		ok = mkdir(p, 0755) == 0;
	} else if (kind[0] == 'l') {
		ok = symlink(target, p) == 0;
	} else {
		int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		ok = fd >= 0;
		if (ok)
			close(fd);
	}
	if (!ok) {
		perror(p);
		abort();
	}
}

static void init(void)
{
	char abs_in[192], abs_out[192];

	snprintf(base, sizeof(base), "/tmp/fuzz_beneath.XXXXXX");
	if (!mkdtemp(base))
		abort();
	snprintf(rootdir, sizeof(rootdir), "%s/root", base);
	snprintf(abs_in, sizeof(abs_in), "%s/root/b/c", base);
	snprintf(abs_out, sizeof(abs_out), "%s/out/s", base);
	make("d", "out", NULL);
	make("f", "out/s", NULL);
	make("d", "out/d", NULL);
	make("d", "root", NULL);
	make("f", "root/a", NULL);
	make("d", "root/b", NULL);
	make("f", "root/b/c", NULL);
	make("d", "root/b/e", NULL);
	make("f", "root/b/e/f", NULL);
	make("l", "root/l1", "b/c");             /* inside */
	make("l", "root/l2", "b");
	make("l", "root/b/l6", "../a");
	make("l", "root/b/up", "..");
	make("l", "root/b/e/l8", "../../l2/e");
	make("l", "root/l4", abs_in);            /* absolute, inside */
	make("l", "root/l3", "../out/s");        /* out */
	make("l", "root/b/l7", "../../out");
	make("l", "root/l5", abs_out);
	make("l", "root/l9", "/");
	make("l", "root/loop", "loop");          /* nowhere */
	make("l", "root/dang", "nothere");
	if (nftw(rootdir, collect, 16, FTW_PHYS) != 0 || beneath_root_open(&root, rootdir) != 0)
		abort();
	atexit(cleanup);
}

static bool is_inside(int fd)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		die();
	for (size_t i = 0; i < ninside; i++)
		if (inside[i].dev == st.st_dev && inside[i].ino == st.st_ino)
			return true;
	return false;
}

static const int flag_sets[4] = {
	O_RDONLY, O_PATH, O_PATH | O_NOFOLLOW, O_RDONLY | O_DIRECTORY,
};

/* Open p one way; the fd's identity in *st (when it opened), or errno. */
static int try_open(const char *p, int flags, unsigned how, bool walk, struct stat *st)
{
	int fd, e;

	beneath_force_walk(walk);
	fd = beneath_open(&root, p, flags, 0, how);
	e = errno;
	beneath_force_walk(false);
	if (fd < 0)
		return e;
	if (!is_inside(fd)) {
		fprintf(stderr, "%s (%s) opened something outside the tree\n", p,
			walk ? "walk" : "openat2");
		die();
	}
	if (fstat(fd, st) != 0)
		die();
	close(fd);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[sizeof(rootdir) + MAX_PATH_IN + 2];
	struct stat a, b;
	size_t n, at = 0;
	int flags, ea, eb;
	unsigned how;

	if (!root.path)
		init();
	if (size < 1)
		return 0;
	flags = flag_sets[data[0] & 3];
	how = data[0] & 4 ? BENEATH_NO_SYMLINKS : 0;
	if (data[0] & 8)
		at = (size_t)snprintf(path, sizeof(path), "%s/", rootdir);
	n = size - 1 > MAX_PATH_IN ? MAX_PATH_IN : size - 1;
	for (size_t i = 0; i < n && data[1 + i]; i++)
		path[at++] = (char)data[1 + i];
	path[at] = '\0';
	ea = try_open(path, flags, how, false, &a);
	eb = try_open(path, flags, how, true, &b);
	if ((ea != eb && (!ea || !eb || (ea != ELOOP && eb != ELOOP))) ||
	    (ea == 0 && (a.st_dev != b.st_dev || a.st_ino != b.st_ino))) {
		fprintf(stderr, "'%s' flags %#x how %u: openat2 %s, walk %s\n", path, flags, how,
			ea ? strerror(ea) : "opened", eb ? strerror(eb) : "opened");
		die();
	}
	return 0;
}
