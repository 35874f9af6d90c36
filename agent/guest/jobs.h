/* jobs.h - slow work on guest directories: a guest made from a template,
 * a guest being deleted. One list, so a directory has one job at a time,
 * and the helpers both kinds use. */
#ifndef OVS_JOBS_H
#define OVS_JOBS_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/base/child.h"

struct server;
struct rpc_call;

#define SLOW_TIMEOUT_MS  (60 * 60 * 1000)  /* tar, cp, rm of a guest: 1 h */

/* PATH and LC_ALL=C: the environment of tar, cp and rm. */
extern const char *const job_env[];

enum job_kind { JOB_CREATE, JOB_DELETE };

struct job {
	struct job *next;
	enum job_kind kind;
	struct server *srv;
	struct rpc_call *call;
	char *target;           /* the guest directory: key for "busy" */
	/* create */
	char *name;
	char *tmpl;             /* template name without .tgz */
	char *tmpl_file;        /* seed_pool path (file or directory) */
	bool tmpl_is_dir;
	unsigned long long max_bytes; /* template_max_bytes when it started */
	char *tmpdir;           /* running_pool/.<name>.tmp-XXXXXX */
	char *guestdir;         /* tmpdir or tmpdir/<top> */
	char *top;              /* single top-level directory of the archive, or NULL */
	/* delete */
	char *deldir;           /* the guest directory renamed out of the way */
	int pool_fd;            /* the directory holding deldir, or -1 */
	/* a failure waiting for the clean-up to finish */
	int fault;
	char *msg;
};

int rename_noreplace_at(int dirfd, const char *from, const char *to);
int rename_noreplace(const char *from, const char *to);
struct job *job_new(enum job_kind kind, struct server *srv, struct rpc_call *call);
/* Put j on the list (its target is busy from now on); job_free() takes
 * it off again and frees it. */
void job_add(struct job *j);
bool job_busy(struct server *srv, const char *target);
void job_free(struct job *j);
struct child *spawn_rm(struct server *srv, const char *dir, child_done_cb done, void *arg,
		       char *err, size_t errlen);

#endif
