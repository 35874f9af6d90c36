/* jobs.c - slow work on guest directories, and the helpers it uses. */
#include "agent/guest/jobs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/base/util.h"
#include "agent/server/server.h"

const char *const job_env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL };

/* rename within the directory dirfd (or AT_FDCWD) without replacing
 * anything at `to` (a directory rename would otherwise replace an empty
 * directory). */
int rename_noreplace_at(int dirfd, const char *from, const char *to)
{
	struct stat st;

	if (renameat2(dirfd, from, dirfd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* The filesystem cannot do it atomically: check, then rename. */
	if (fstatat(dirfd, to, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		errno = EEXIST;
		return -1;
	}
	return renameat(dirfd, from, dirfd, to);
}

int rename_noreplace(const char *from, const char *to)
{
	return rename_noreplace_at(AT_FDCWD, from, to);
}

/* ---- work in flight -------------------------------------------------------- */

static struct job *jobs;

void job_add(struct job *j)
{
	j->next = jobs;
	jobs = j;
}

struct job *job_new(enum job_kind kind, struct server *srv, struct rpc_call *call)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->kind = kind;
	j->srv = srv;
	j->call = call;
	j->pool_fd = -1;
	return j;
}

bool job_busy(struct server *srv, const char *target)
{
	for (struct job *j = jobs; j; j = j->next)
		if (j->srv == srv && strcmp(j->target, target) == 0)
			return true;
	return false;
}

void job_free(struct job *j)
{
	struct job **pp = &jobs;

	while (*pp && *pp != j)
		pp = &(*pp)->next;
	if (*pp)
		*pp = j->next;
	if (j->pool_fd >= 0)
		close(j->pool_fd);
	free(j->target);
	free(j->name);
	free(j->tmpl);
	free(j->tmpl_file);
	free(j->tmpdir);
	free(j->guestdir);
	free(j->top);
	free(j->deldir);
	free(j->msg);
	free(j);
}

struct child *spawn_rm(struct server *srv, const char *dir, child_done_cb done, void *arg,
		       char *err, size_t errlen)
{
	const char *argv[] = { "/bin/rm", "-rf", "--one-file-system", "--", dir, NULL };
	struct child_opts o = { .argv = argv, .envp = job_env, .timeout_ms = SLOW_TIMEOUT_MS };

	return child_spawn(srv->loop, &o, done, arg, err, errlen);
}
