/* repoview.h - the host's repositories as the files list them and the
 * kernel mounts them, kept current in the agent's loop.
 *
 * The table is read from repositories_file and its ".options" (under a
 * shared flock(2) of .repositories.lock in the same directory, the lock
 * the scripts take with flock(1)), the .ovsrepo markers at the mount
 * points, and /proc/self/mountinfo. mountinfo is watched: an fd open on
 * it reports EPOLLPRI (with EPOLLERR) when the mount table of the
 * namespace changes (proc(5); the kernel's mounts_poll), and the table is
 * worked out again then, so a repository unmounted behind the agent's
 * back is offline within one loop turn, with a warning in the log; mounted
 * again, online. The files are read again on repoview_reload (SIGHUP,
 * after add_repository/remove_repository).
 *
 * A repository is mounted at <ovs_root>/<uuid>, or at <ovs_root> for the
 * cluster root (its marker says C; a network mount at <ovs_root> is
 * matched by its source). Markers are read in the loop only on local
 * file systems: a network one (nfs, cifs, ocfs2, fuse...) may block, and
 * repo_probe() reads it in a child instead. */
#ifndef OVS_REPOVIEW_H
#define OVS_REPOVIEW_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "agent/repo/repoparse.h"

struct loop;
struct repoview;

struct repo {
	char uuid[37];
	char source[REPO_SOURCE_MAX + 1];
	char options[REPO_OPTIONS_MAX + 1];    /* "" when none */
	char mnt[PATH_MAX];        /* where it is mounted, else where it would be */
	char fstype[64];           /* the mount's, "" when not mounted */
	char shared;               /* 'C', '1', '0' from the marker; 0 not known */
	char desc[REPO_DESC_MAX + 1];
	bool mounted;
};

/* root: ovs_root; file: repositories_file. Never NULL: without mountinfo
 * (no /proc) every repository shows as not mounted, and that is logged. */
struct repoview *repoview_new(struct loop *loop, const char *root, const char *file);
void repoview_free(struct repoview *rv);
/* New paths (SIGHUP), then the files and mounts read again. */
void repoview_configure(struct repoview *rv, const char *root, const char *file);
/* The paths in use: ovs_root without trailing '/', repositories_file. */
const char *repoview_root(const struct repoview *rv);
const char *repoview_file(const struct repoview *rv);
/* Read the files and the mounts again now. */
void repoview_reload(struct repoview *rv);

size_t repoview_count(const struct repoview *rv);
const struct repo *repoview_at(const struct repoview *rv, size_t i);
const struct repo *repoview_find(const struct repoview *rv, const char *uuid);
/* Marker facts a probe child read (repo_probe) for a network mount. */
void repoview_learn(struct repoview *rv, const char *uuid, const struct repo_marker *m);

/* The listed repository holding the lexical path p (<root>/<uuid>/... or,
 * for the cluster root, <root>/running_pool/...), or NULL. */
const struct repo *repoview_for_path(const struct repoview *rv, const char *p);
/* True when p is on a network file system mounted at <root> or
 * <root>/<x> (whether listed or not): statvfs there may block. */
bool repoview_path_network(const struct repoview *rv, const char *p);

/* How many times the mount table changed under the view (tests, logs). */
unsigned long repoview_changes(const struct repoview *rv);

/* ---- probes in a child ----------------------------------------------------
 * statvfs (and the marker) of mount points, in a child (child.h's fn
 * mode), so a dead NFS server stalls the child, never the loop; at
 * timeout_ms the child is killed and what it had not reported stays
 * unknown. */
struct repo_space {
	bool ok;                        /* statvfs answered */
	int err;                        /* its errno, 0 when ok or unknown */
	unsigned long long total, free; /* bytes: f_blocks and f_bavail times f_frsize */
	bool marker_ok;
	struct repo_marker marker;
};
/* out[i] for mnts[i]; valid only during the call. why: NULL, or what went
 * wrong with the child (timed out: the rest is unknown). */
typedef void (*repo_probe_cb)(void *arg, const struct repo_space *out, size_t n, const char *why);
/* 0, or -1 with err (the child could not start); cb then never runs.
 * mnts and its strings must live until cb has run. */
int repo_probe(struct loop *loop, const char *const *mnts, size_t n, int timeout_ms,
	       repo_probe_cb cb, void *arg, char *err, size_t errlen);

#endif
