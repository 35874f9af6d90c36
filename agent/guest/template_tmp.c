/* template_tmp.c - see template_tmp.h. */
#define LOG_CAT "template"
#include "agent/guest/template_tmp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/rand.h>

#include "agent/base/child.h"
#include "agent/base/log.h"
#include "agent/base/util.h"
#include "agent/guest/repo_util.h"
#include "agent/server/server.h"
#include "db/store.h"

#define TABLE "template_tmp"
#define SUFFIX_LEN 6            /* as mkdtemp's XXXXXX */
#define RM_TIMEOUT_MS (60 * 60 * 1000)
#define MAX_AT_START 1000       /* records looked at in one start */

static const char sfx_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

bool template_tmp_name_ok(const char *name)
{
	static const char mid[] = ".tmp-";
	size_t n = strlen(name), m = sizeof(mid) - 1;
	char guest[GUEST_NAME_MAX + 1];

	if (n < 1 + 1 + m + SUFFIX_LEN || name[0] != '.' || n - (1 + m + SUFFIX_LEN) > GUEST_NAME_MAX)
		return false;
	if (memcmp(name + n - SUFFIX_LEN - m, mid, m) != 0 ||
	    strspn(name + n - SUFFIX_LEN, sfx_chars) != SUFFIX_LEN)
		return false;
	memcpy(guest, name + 1, n - 1 - m - SUFFIX_LEN);
	guest[n - 1 - m - SUFFIX_LEN] = '\0';
	return repo_name_ok(guest, GUEST_NAME_MAX, NULL);
}

static void forget_name(struct server *srv, const char *base)
{
	char err[256];

	if (store_del(srv->store, TABLE, base, err, sizeof(err)) < 0)
		log_err("cannot forget the temporary directory %s: %s", base, err);
}

void template_tmp_forget(struct server *srv, const char *path)
{
	const char *slash = strrchr(path, '/');

	forget_name(srv, slash ? slash + 1 : path);
}

int template_tmp_make(struct server *srv, const char *pool, const char *name, char **path,
		      char *err, size_t errlen)
{
	for (int tries = 0; tries < 16; tries++) {
		unsigned char rnd[SUFFIX_LEN];
		char sfx[SUFFIX_LEN + 1], *base, *p, *old = NULL;
		int r, e;

		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			abort();
		for (int i = 0; i < SUFFIX_LEN; i++)
			sfx[i] = sfx_chars[rnd[i] % (sizeof(sfx_chars) - 1)];
		sfx[SUFFIX_LEN] = '\0';
		base = xasprintf(".%s.tmp-%s", name, sfx);
		/* A name still written down is a leftover of ours: not reused. */
		r = store_get(srv->store, TABLE, base, &old, err, errlen);
		free(old);
		if (r == 0 && (r = store_put(srv->store, TABLE, base, pool, err, errlen)) == 0) {
			p = xasprintf("%s/%s", pool, base);
			if (mkdir(p, 0700) == 0) {
				if (chmod(p, 0755) == 0) {
					*path = p;
					free(base);
					return 0;
				}
				e = errno;
				rmdir(p);
			} else {
				e = errno;
			}
			free(p);
			forget_name(srv, base);
			if (e != EEXIST) {
				snprintf(err, errlen, "cannot create a temporary directory in %s: %s", pool,
					 strerror(e));
				r = -1;
			}
		}
		free(base);
		if (r < 0)
			return -1;
	}
	snprintf(err, errlen, "cannot create a temporary directory in %s: no free name", pool);
	return -1;
}

/* ---- removal ------------------------------------------------------------- */

enum { RM_GONE = 3, RM_NOT_DIR = 4, RM_NO_POOL = 5 };

struct rm_req {
	const char *pool, *name;
};

/* In the forked child: the entry name directly in pool, a directory,
 * found without following a symlink (the pool's last component included);
 * then rm -rf from inside the pool, so no path is resolved again. */
static int rm_fn(void *arg)
{
	static const char *const env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL };
	const struct rm_req *r = arg;
	const char *argv[] = { "/bin/rm", "-rf", "--one-file-system", "--", r->name, NULL };
	struct stat st;
	int fd = open(r->pool, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0) {
		printf("%s: %s\n", r->pool, errno == ELOOP ? "a symlink, not followed" : strerror(errno));
		return errno == ENOENT ? RM_GONE : RM_NO_POOL;
	}
	if (fstatat(fd, r->name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		printf("%s\n", strerror(errno));
		return errno == ENOENT ? RM_GONE : RM_NO_POOL;
	}
	if (!S_ISDIR(st.st_mode)) {
		printf("not a directory (%s)\n", S_ISLNK(st.st_mode) ? "a symlink, not followed" :
		       "something else");
		return RM_NOT_DIR;
	}
	if (fchdir(fd) != 0) {
		printf("%s: %s\n", r->pool, strerror(errno));
		return RM_NO_POOL;
	}
	execve(argv[0], (char *const *)argv, (char *const *)env);
	printf("cannot run %s: %s\n", argv[0], strerror(errno));
	return 1;
}

struct rm_job {
	struct server *srv;
	char *pool, *name;
	bool at_start;          /* a leftover of an earlier run: log its removal */
};

static void rm_job_free(struct rm_job *rj)
{
	free(rj->pool);
	free(rj->name);
	free(rj);
}

/* The first line of what the child said on stdout, else stderr. */
static void first_line(const struct child_result *res, char *out, size_t outlen)
{
	const struct buf *b = res->out && res->out->len ? res->out : res->err;
	const char *s = b && b->data ? b->data : "";
	size_t n = b ? strcspn(s, "\n") : 0;

	if (b && n > b->len)
		n = b->len;
	snprintf(out, outlen, "%.*s", (int)(n > 300 ? 300 : n), s);
}

static void on_removed(const struct child_result *res, void *arg)
{
	struct rm_job *rj = arg;
	int code = !res->timed_out && WIFEXITED(res->status) ? WEXITSTATUS(res->status) : -1;
	char how[128], line[320];

	first_line(res, line, sizeof(line));
	switch (code) {
	case 0:
		if (rj->at_start)
			log_warn("removed %s/%s, left by a create_vm_from_template that did not finish "
				 "(the agent was stopped or crashed)", rj->pool, rj->name);
		forget_name(rj->srv, rj->name);
		break;
	case RM_GONE:
		log_info("%s/%s is gone already", rj->pool, rj->name);
		forget_name(rj->srv, rj->name);
		break;
	case RM_NOT_DIR:
		log_warn("%s/%s is %s: left alone", rj->pool, rj->name, line);
		forget_name(rj->srv, rj->name);
		break;
	default:
		child_describe(res, RM_TIMEOUT_MS, how, sizeof(how));
		log_warn("could not remove %s/%s (the next start tries again): %s%s%s", rj->pool, rj->name,
			 code == RM_NO_POOL ? "" : how, code == RM_NO_POOL || !*line ? "" : ": ", line);
	}
	rm_job_free(rj);
}

static void start_rm(struct server *srv, const char *pool, const char *name, bool at_start)
{
	struct rm_job *rj = xcalloc(1, sizeof(*rj));
	struct rm_req req = { pool, name };
	struct child_opts o = { .fn = rm_fn, .fn_arg = &req, .timeout_ms = RM_TIMEOUT_MS };
	char err[256];

	rj->srv = srv;
	rj->pool = xstrdup(pool);
	rj->name = xstrdup(name);
	rj->at_start = at_start;
	if (!child_spawn(srv->loop, &o, on_removed, rj, err, sizeof(err))) {
		log_warn("could not remove %s/%s (the next start tries again): %s", pool, name, err);
		rm_job_free(rj);
	}
}

void template_tmp_remove(struct server *srv, const char *path)
{
	const char *slash = strrchr(path, '/');
	char *pool;

	if (!slash || slash == path)
		return;
	pool = xstrndup(path, (size_t)(slash - path));
	start_rm(srv, pool, slash + 1, false);
	free(pool);
}

/* ---- at start-up --------------------------------------------------------- */

struct found {
	char *names[MAX_AT_START], *pools[MAX_AT_START];
	size_t n;
	bool more;
};

static int collect(const char *key, const char *val, size_t vlen, void *arg)
{
	struct found *f = arg;

	if (f->n == MAX_AT_START) {
		f->more = true;
		return 1;
	}
	f->names[f->n] = xstrdup(key);
	f->pools[f->n++] = xstrndup(val, vlen);
	return 0;
}

void template_tmp_cleanup(struct server *srv)
{
	struct found *f = xcalloc(1, sizeof(*f));
	char *root = repo_root(srv), *pool = xasprintf("%s/running_pool", root), err[256];

	if (store_each(srv->store, TABLE, collect, f, err, sizeof(err)) != 0)
		log_err("cannot read the temporary directories left by templates: %s", err);
	for (size_t i = 0; i < f->n; i++) {
		if (!template_tmp_name_ok(f->names[i]) || strcmp(f->pools[i], pool) != 0) {
			/* not one the template code makes here (ovs_root changed?) */
			log_warn("%.300s/%.100s: not a template's temporary directory in %s; left alone",
				 f->pools[i], f->names[i], pool);
			forget_name(srv, f->names[i]);
		} else {
			start_rm(srv, pool, f->names[i], true);
		}
		free(f->names[i]);
		free(f->pools[i]);
	}
	if (f->more)
		log_warn("more than %d temporary directories left by templates; the rest at the next "
			 "start", MAX_AT_START);
	free(f);
	free(pool);
	free(root);
}
