/* beneath.c - see beneath.h. */
#include "agent/base/beneath.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "agent/base/util.h"

#define MAX_LINKS 40        /* as the kernel's MAXSYMLINKS */

static bool force_walk;     /* tests */
static bool no_openat2;     /* the kernel said ENOSYS once */

void beneath_force_walk(bool on)
{
	force_walk = on;
}

int beneath_fd_path(int fd, char *out, size_t outlen)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, out, outlen);
	if (n < 0)
		return -1;
	if ((size_t)n >= outlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	out[n] = '\0';
	return 0;
}

void beneath_child_path(int fd, char *out, size_t outlen)
{
	snprintf(out, outlen, "/proc/%ld/fd/%d", (long)getpid(), fd);
}

int beneath_root_open(struct beneath_root *r, const char *path)
{
	char real[PATH_MAX];
	size_t n = strlen(path);
	struct stat st;

	memset(r, 0, sizeof(*r));
	r->fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r->fd < 0)
		return -1;
	if (fstat(r->fd, &st) != 0) {
		int e = errno;
		close(r->fd);
		r->fd = -1;
		errno = e;
		return -1;
	}
	r->dev = st.st_dev;
	r->ino = st.st_ino;
	while (n > 1 && path[n - 1] == '/')
		n--;
	r->path = xstrndup(path, n);
	/* The second spelling only widens what absolute paths are recognised
	 * as inside; without /proc there is just the first. */
	if (beneath_fd_path(r->fd, real, sizeof(real)) == 0 && real[0] == '/')
		r->real = xstrdup(real);
	return 0;
}

void beneath_root_close(struct beneath_root *r)
{
	if (r->fd >= 0)
		close(r->fd);
	free(r->path);
	free(r->real);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

const char *beneath_strip(const char *root, const char *p)
{
	size_t n = strlen(root);

	if (root[0] != '/' || p[0] != '/')
		return NULL;
	while (n > 0 && root[n - 1] == '/')
		n--;                /* "/" becomes "", so every absolute path matches */
	if (strncmp(p, root, n) != 0 || (p[n] != '/' && p[n] != '\0'))
		return NULL;
	for (p += n; *p == '/'; p++)
		;
	return p;
}

const char *beneath_rel(const struct beneath_root *r, const char *p)
{
	const char *rel = beneath_strip(r->path, p);

	if (!rel && r->real)
		rel = beneath_strip(r->real, p);
	return rel;
}

/* ---- the walk ------------------------------------------------------------ */

struct walk {
	const struct beneath_root *r;
	int top;                    /* the current directory: r->fd or owned */
	size_t depth;               /* directories below the root */
	dev_t dev;                  /* top's identity */
	ino_t ino;
	struct { dev_t dev; ino_t ino; } up[BENEATH_MAX_DEPTH]; /* top's ancestors */
	char *path;                 /* what is left to resolve (owned) */
	char *at;                   /* the next component in path */
	int links;
};

static void set_top(struct walk *w, int fd)
{
	if (w->top != w->r->fd)
		close(w->top);
	w->top = fd;
}

/* Go on with the symlink's target (read from dirfd/name) in place of the
 * component that ends at rest. 0, or an errno. */
static int follow(struct walk *w, int dirfd, const char *name, const char *rest)
{
	char target[PATH_MAX];
	const char *from = target;
	ssize_t n;
	char *next;

	if (++w->links > MAX_LINKS)
		return ELOOP;
	n = readlinkat(dirfd, name, target, sizeof(target));
	if (n < 0)
		return errno == EINVAL ? EAGAIN : errno;   /* EINVAL: no longer a symlink */
	if ((size_t)n >= sizeof(target))
		return ENAMETOOLONG;
	if (n == 0)
		return ENOENT;
	target[n] = '\0';
	if (target[0] == '/') {
		/* Inside only by the root's own name, and then from its fd. */
		if (!(from = beneath_rel(w->r, target)))
			return EXDEV;
		set_top(w, w->r->fd);
		w->depth = 0;
		w->dev = w->r->dev;
		w->ino = w->r->ino;
	}
	if (strlen(from) + strlen(rest) >= 16 * PATH_MAX)
		return ENAMETOOLONG;
	next = xasprintf("%s%s", *from ? from : ".", rest);
	free(w->path);
	w->path = w->at = next;
	return 0;
}

/* ".." from top: the directory the walk came from, or EXDEV. */
static int climb(struct walk *w)
{
	struct stat st;
	int fd;

	if (w->depth == 0)
		return EXDEV;
	if ((fd = openat(w->top, "..", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return errno;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return e;
	}
	w->depth--;
	if (st.st_dev != w->up[w->depth].dev || st.st_ino != w->up[w->depth].ino) {
		close(fd);
		return EXDEV;   /* top was moved away from where the walk found it */
	}
	set_top(w, fd);
	w->dev = st.st_dev;
	w->ino = st.st_ino;
	return 0;
}

/* One directory component on the way: descend or follow. 0, or an errno. */
static int step(struct walk *w, const char *name, const char *rest, unsigned how)
{
	struct stat st;
	int fd = openat(w->top, name, O_PATH | O_NOFOLLOW | O_CLOEXEC), e = 0;

	if (fd < 0)
		return errno;
	if (fstat(fd, &st) != 0) {
		e = errno;
	} else if (S_ISLNK(st.st_mode)) {
		e = how & BENEATH_NO_SYMLINKS ? ELOOP : follow(w, fd, "", rest);
	} else if (!S_ISDIR(st.st_mode)) {
		e = ENOTDIR;
	} else if (w->depth >= BENEATH_MAX_DEPTH) {
		e = ENAMETOOLONG;
	} else {
		w->up[w->depth].dev = w->dev;
		w->up[w->depth].ino = w->ino;
		w->depth++;
		w->dev = st.st_dev;
		w->ino = st.st_ino;
		set_top(w, fd);
		w->at = (char *)rest;
		return 0;
	}
	close(fd);
	return e;
}

/* The last component. The fd, or -1 with *e set (0: go on, a symlink was
 * followed). */
static int last(struct walk *w, const char *name, const char *rest, bool trailing, int flags,
		mode_t mode, unsigned how, int *e)
{
	bool want_link = (flags & O_NOFOLLOW) && !trailing; /* "link/" is always followed */
	int ff = flags | O_NOFOLLOW | O_CLOEXEC, fd;
	struct stat st;

	if (trailing) {
		if (flags & O_CREAT) {
			*e = EISDIR;
			return -1;
		}
		ff |= O_DIRECTORY;
	}
	fd = openat(w->top, name, ff, mode);
	if (fd >= 0) {
		/* Only O_PATH|O_NOFOLLOW opens a symlink itself. */
		if (!(flags & O_PATH) || want_link)
			return fd;
		if (fstat(fd, &st) != 0) {
			*e = errno;
			close(fd);
			return -1;
		}
		if (!S_ISLNK(st.st_mode))
			return fd;
		*e = how & BENEATH_NO_SYMLINKS ? ELOOP : follow(w, fd, "", rest);
		close(fd);
		return -1;
	}
	*e = errno;
	if (*e != ELOOP && *e != ENOTDIR)
		return -1;
	/* ELOOP (or ENOTDIR for "link/") may be a symlink to follow. */
	if (fstatat(w->top, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISLNK(st.st_mode))
		return -1;
	*e = want_link || (how & BENEATH_NO_SYMLINKS) ? ELOOP : follow(w, w->top, name, rest);
	return -1;
}

static int walk(const struct beneath_root *r, const char *rel, int flags, mode_t mode,
		unsigned how)
{
	struct walk *w = xcalloc(1, sizeof(*w));
	int fd = -1, e = 0, retries = 0;

	w->r = r;
	w->top = r->fd;
	w->dev = r->dev;
	w->ino = r->ino;
	w->path = w->at = xstrdup(*rel ? rel : ".");
	while (fd < 0 && e == 0) {
		char name[NAME_MAX + 1], *p = w->at, *end;
		const char *q;
		size_t len;
		bool final, dot, dotdot;

		while (*p == '/')
			p++;
		end = p + strcspn(p, "/");
		for (q = end; *q == '/'; q++)
			;
		final = !*q;
		if ((len = (size_t)(end - p)) > NAME_MAX) {
			e = ENAMETOOLONG;
			break;
		}
		memcpy(name, p, len);
		name[len] = '\0';
		if (!len)           /* nothing but slashes left: the directory itself */
			strcpy(name, ".");
		dot = strcmp(name, ".") == 0;
		dotdot = strcmp(name, "..") == 0;
		if (dotdot && (e = climb(w)) != 0)
			break;
		if (!final && (dot || dotdot)) {
			w->at = end;
			continue;
		}
		if (!final) {
			e = step(w, name, end, how);
		} else {
			fd = last(w, dot || dotdot ? "." : name, end, *end == '/', flags, mode, how, &e);
		}
		/* EAGAIN: a symlink changed under the walk; try that part again. */
		if (e == EAGAIN && ++retries < MAX_LINKS)
			e = 0;
	}
	if (w->top != r->fd)
		close(w->top);
	free(w->path);
	free(w);
	if (fd < 0)
		errno = e ? e : EIO;
	return fd;
}

int beneath_open(const struct beneath_root *r, const char *p, int flags, mode_t mode,
		 unsigned how)
{
	const char *rel = p;

	if (strlen(p) >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (p[0] == '/' && !(rel = beneath_rel(r, p))) {
		errno = EXDEV;
		return -1;
	}
	if (!*rel)
		rel = ".";
	if (!force_walk && !no_openat2) {
		struct open_how oh = {
			.flags = (uint64_t)(unsigned)(flags | O_CLOEXEC),
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
				   (how & BENEATH_NO_SYMLINKS ? RESOLVE_NO_SYMLINKS : 0),
		};
		if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
			oh.mode = mode;
		for (int tries = 0; tries < 4; tries++) {
			long fd = syscall(SYS_openat2, r->fd, rel, &oh, sizeof(oh));
			if (fd >= 0)
				return (int)fd;
			if (errno == EAGAIN)    /* a rename raced the lookup */
				continue;
			if (errno == ENOSYS) {
				no_openat2 = true;
				break;
			}
			/* EXDEV may be an absolute symlink back inside: the walk decides. */
			if (errno != EXDEV || (how & BENEATH_NO_SYMLINKS))
				return -1;
			break;
		}
	}
	return walk(r, rel, flags, mode, how);
}
