/* beneath.h - the repository path rule, written once.
 *
 * Whether a path lies inside a directory (the repository root ovs_root, a
 * guest's directory, /dev) is decided here and nowhere else, by opening it
 * beneath the directory's file descriptor. Callers then work on the fd
 * they got (fstat, openat relative to it, a /proc path for a child), so
 * nothing can be swapped between a check and its use.
 *
 * The rule, the same whichever way it is carried out:
 *   - ".." may not climb above the root; "a/../b" that stays inside is fine;
 *   - an absolute path (an argument, or a symlink's target) is inside when
 *     it starts with the root as configured or as the kernel names it; it
 *     is then resolved from the root's fd by the rest of it, never by name
 *     from "/";
 *   - a symlink is followed when it stays inside (relative, or absolute as
 *     above: a link to somewhere else in the repository is fine); one that
 *     leads out fails with EXDEV, and so does a ".." above the root;
 *   - /proc magic links are never jumped through;
 *   - with BENEATH_NO_SYMLINKS every symlink on the way fails with ELOOP
 *     (RESOLVE_NO_SYMLINKS). No caller needs it today: db_del and
 *     delete_vm keep the rule above, as guests may be moved by symlinks
 *     within the root, and remove relative to the pool's fd, never
 *     following a link inside the guest;
 *   - a trailing '/' means the last component must be a directory;
 *   - "" is the root itself.
 *
 * Where the kernel has openat2(2) it resolves with RESOLVE_BENEATH and
 * RESOLVE_NO_MAGICLINKS (and RESOLVE_NO_SYMLINKS); only when it answers
 * EXDEV, which may be an absolute symlink back inside, does the walk
 * below decide. Without openat2 (ENOSYS) the walk does it all: one
 * component at a time, each opened O_PATH|O_NOFOLLOW relative to the one
 * before; ".." is checked by device and inode to be the directory the
 * walk came from, so a directory moved out meanwhile cannot lead it out.
 * The walk refuses paths nested deeper than BENEATH_MAX_DEPTH directories
 * (ENAMETOOLONG) and more than 40 symlinks (ELOOP), as the kernel does. */
#ifndef OVS_BENEATH_H
#define OVS_BENEATH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define BENEATH_MAX_DEPTH 256

enum {
	BENEATH_NO_SYMLINKS = 1,  /* follow no symlink at all (ELOOP) */
};

/* An open root. path: as configured, trailing '/' removed ("/" stays);
 * real: as the kernel names it (NULL when /proc cannot tell). */
struct beneath_root {
	int fd;                   /* O_PATH directory */
	char *path;
	char *real;
	dev_t dev;
	ino_t ino;
};

/* Open the directory path (symlinks in it followed: the root itself is
 * configuration, not input). 0, or -1 with errno; r->fd is -1 then. */
int beneath_root_open(struct beneath_root *r, const char *path);
void beneath_root_close(struct beneath_root *r);

/* The part of the absolute path p below root: "" for root itself, NULL
 * when p does not start with it (at a '/' boundary) or is not absolute.
 * Lexical only: the one place a path is compared with a root as text. */
const char *beneath_strip(const char *root, const char *p);

/* beneath_strip against either spelling of the root. */
const char *beneath_rel(const struct beneath_root *r, const char *p);

/* Open p beneath the root, as openat(2) would with flags and mode
 * (O_CLOEXEC always). p is relative to the root, or absolute and inside
 * it. how: 0 or BENEATH_NO_SYMLINKS. The fd, or -1 with errno: EXDEV when
 * p leads out of the root. */
int beneath_open(const struct beneath_root *r, const char *p, int flags, mode_t mode,
		 unsigned how);

/* The path the kernel has for the open fd (readlink of /proc/self/fd/N).
 * 0, or -1 with errno (ENAMETOOLONG when it does not fit out). */
int beneath_fd_path(int fd, char *out, size_t outlen);

/* A path by which a child process reaches what this process holds open
 * as fd, while it holds it: /proc/<pid>/fd/<fd>. */
void beneath_child_path(int fd, char *out, size_t outlen);

/* Tests: true makes beneath_open use the walk even where openat2 works. */
void beneath_force_walk(bool on);

#endif
