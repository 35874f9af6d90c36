/* repoview.c - the repository table, kept current from mountinfo events. */
#define LOG_CAT "repo"
#include "agent/repo/repoview.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "agent/base/beneath.h"
#include "agent/base/child.h"
#include "agent/base/log.h"
#include "agent/base/loop.h"
#include "agent/base/util.h"

#define MOUNTINFO "/proc/self/mountinfo"
#define MOUNTINFO_READ_MAX (16u << 20)   /* bytes of mountinfo read */
#define MOUNTS_MAX (2 * REPO_MAX)        /* mounts at <root> and <root>/<x> kept */
#define LOCK_RETRY_MS 200

/* A mount at <root> or one level below it. */
struct mount {
	char mnt[PATH_MAX];
	char fstype[64];
	char source[REPO_SOURCE_MAX + 1];
};

struct repoview {
	struct loop *loop;
	struct io io;               /* mountinfo, EPOLLPRI */
	struct timer retry;         /* the lock was busy: read the files again soon */
	char *root, *file;
	struct repo *v;             /* listed repositories, in file order */
	size_t n;
	struct mount *m;            /* mounts at or below the root, last one wins */
	size_t nm;
	unsigned long changes;
	bool warned_mountinfo, warned_lock;
	bool loaded;                /* the files were read once */
};

/* ---- the files ------------------------------------------------------------ */

/* Read at most max bytes of path; NULL with *len 0 when missing. */
static char *slurp(const char *path, size_t max, size_t *len, int *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	char *buf;
	ssize_t r;

	*len = 0;
	*e = 0;
	if (fd < 0) {
		*e = errno;
		return NULL;
	}
	buf = xmalloc(max + 1);
	while (*len < max && (r = read(fd, buf + *len, max - *len)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			*e = errno;
			break;
		}
		*len += (size_t)r;
	}
	buf[*len] = '\0';
	close(fd);
	return buf;
}

/* The shared lock the scripts take exclusively: 0 held (*fd to close),
 * 1 busy (a script is writing), -1 no lock to take (no directory). */
static int lock_files(const char *file, int *fd)
{
	char *dir = xstrdup(file), *slash = strrchr(dir, '/'), *lock;

	if (slash)
		*slash = '\0';
	lock = xasprintf("%s/.repositories.lock", slash ? (*dir ? dir : "/") : ".");
	*fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (*fd < 0)
		*fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	free(lock);
	free(dir);
	if (*fd < 0)
		return -1;
	if (flock(*fd, LOCK_SH | LOCK_NB) == 0)
		return 0;
	close(*fd);
	*fd = -1;
	return errno == EWOULDBLOCK ? 1 : -1;
}

static struct repo *find(struct repo *v, size_t n, const char *uuid)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].uuid, uuid) == 0)
			return &v[i];
	return NULL;
}

static void on_retry(struct timer *t);

/* Read both files into a new table; marker facts carried over by uuid.
 * false when the lock was busy (the old table stays; a retry is set). */
static bool read_files(struct repoview *rv)
{
	static struct repo_line lines[REPO_MAX];
	char *opt_path = xasprintf("%s.options", rv->file), *buf;
	size_t len, n, skipped;
	struct repo *v;
	int lfd, e, lk = lock_files(rv->file, &lfd);

	if (lk == 1) {
		if (!rv->warned_lock)
			log_info("%s is being changed (its lock is held); reading it again shortly",
				 rv->file);
		rv->warned_lock = true;
		timer_start(rv->loop, &rv->retry, LOCK_RETRY_MS);
		free(opt_path);
		return false;
	}
	rv->warned_lock = false;
	buf = slurp(rv->file, REPO_FILE_MAX, &len, &e);
	if (!buf && e != ENOENT)
		log_warn("cannot read %s: %s; no repositories", rv->file, strerror(e));
	n = buf ? repo_parse_lines(buf, len, lines, REPO_MAX, REPO_SOURCE_MAX, &skipped) : 0;
	if (buf && skipped)
		log_warn("%s: %zu line(s) skipped (not \"uuid source\", a uuid twice, too long, "
			 "or more than %d repositories)", rv->file, skipped, REPO_MAX);
	free(buf);
	v = xcalloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		struct repo *old = find(rv->v, rv->n, lines[i].uuid);
		memcpy(v[i].uuid, lines[i].uuid, sizeof(v[i].uuid));
		snprintf(v[i].source, sizeof(v[i].source), "%s", lines[i].text);
		if (old) {
			v[i].shared = old->shared;
			memcpy(v[i].desc, old->desc, sizeof(v[i].desc));
			v[i].mounted = old->mounted;  /* for the transition log */
			memcpy(v[i].mnt, old->mnt, sizeof(v[i].mnt));
		}
	}
	buf = slurp(opt_path, REPO_FILE_MAX, &len, &e);
	if (buf) {
		size_t k = repo_parse_lines(buf, len, lines, REPO_MAX, REPO_OPTIONS_MAX, &skipped);
		for (size_t i = 0; i < k; i++) {
			struct repo *r = find(v, n, lines[i].uuid);
			if (r)
				snprintf(r->options, sizeof(r->options), "%s", lines[i].text);
		}
		if (skipped)
			log_warn("%s: %zu line(s) skipped", opt_path, skipped);
	}
	free(buf);
	if (lfd >= 0)
		close(lfd);
	free(opt_path);
	free(rv->v);
	rv->v = v;
	rv->n = n;
	rv->loaded = true;
	return true;
}

/* ---- the mounts ----------------------------------------------------------- */

struct collect {
	struct repoview *rv;
	struct mount *m;
	size_t n;
	bool full;
};

static int collect_mount(const struct mountinfo_entry *e, void *arg)
{
	struct collect *c = arg;
	const char *below = beneath_strip(c->rv->root, e->mnt);
	struct mount *m = NULL;

	if (!below || strchr(below, '/'))
		return 0;
	/* Mounted over again at the same point: the later line is what shows. */
	for (size_t i = 0; i < c->n && !m; i++)
		if (strcmp(c->m[i].mnt, e->mnt) == 0)
			m = &c->m[i];
	if (!m) {
		if (c->n >= MOUNTS_MAX) {
			c->full = true;
			return 0;
		}
		m = &c->m[c->n++];
	}
	snprintf(m->mnt, sizeof(m->mnt), "%s", e->mnt);
	snprintf(m->fstype, sizeof(m->fstype), "%.63s", e->fstype);
	snprintf(m->source, sizeof(m->source), "%s", e->source);
	return 0;
}

static bool read_mounts(struct repoview *rv)
{
	struct collect c = { .rv = rv, .m = xcalloc(MOUNTS_MAX, sizeof(struct mount)) };
	struct mountinfo_entry *e = xmalloc(sizeof(*e));
	size_t len;
	int err;
	char *buf = slurp(MOUNTINFO, MOUNTINFO_READ_MAX, &len, &err);

	if (!buf) {
		if (!rv->warned_mountinfo)
			log_err("cannot read " MOUNTINFO ": %s; every repository shows as not mounted",
				strerror(err));
		rv->warned_mountinfo = true;
	} else {
		if (len >= MOUNTINFO_READ_MAX)
			log_warn(MOUNTINFO " is longer than %u bytes; the rest is not read",
				 MOUNTINFO_READ_MAX);
		mountinfo_parse(buf, len, e, collect_mount, &c);
		if (c.full)
			log_warn("more than %d mounts at or below %s; the rest are not seen", MOUNTS_MAX,
				 rv->root);
	}
	free(buf);
	free(e);
	free(rv->m);
	rv->m = c.m;
	rv->nm = c.n;
	return buf != NULL;
}

static const struct mount *mount_at(const struct repoview *rv, const char *mnt)
{
	for (size_t i = 0; i < rv->nm; i++)
		if (strcmp(rv->m[i].mnt, mnt) == 0)
			return &rv->m[i];
	return NULL;
}

/* The marker at a local mount point; 0 or -1. */
static int read_marker(const char *mnt, struct repo_marker *mk)
{
	char *path = xasprintf("%s/.ovsrepo", mnt), *buf;
	size_t len;
	int e, rc = -1;

	buf = slurp(path, REPO_MARKER_MAX, &len, &e);
	if (buf)
		rc = repo_parse_marker(buf, len, mk);
	free(buf);
	free(path);
	return rc;
}

/* Work out where each listed repository is mounted, and log changes. */
static void settle(struct repoview *rv)
{
	const struct mount *top = mount_at(rv, rv->root);
	struct repo_marker top_mk;
	bool top_local = top && !repo_fstype_network(top->fstype);
	bool top_marker = top_local && read_marker(rv->root, &top_mk) == 0;

	for (size_t i = 0; i < rv->n; i++) {
		struct repo *r = &rv->v[i];
		bool was = r->mounted;
		char own[PATH_MAX];
		const struct mount *m;
		struct repo_marker mk;

		snprintf(own, sizeof(own), "%s/%s", rv->root, r->uuid);
		m = mount_at(rv, own);
		if (!m && top && ((top_marker && strcmp(top_mk.uuid, r->uuid) == 0) ||
				  (!top_local && strcmp(top->source, r->source) == 0)))
			m = top;
		r->mounted = m != NULL;
		r->fstype[0] = '\0';
		if (m) {
			snprintf(r->mnt, sizeof(r->mnt), "%s", m->mnt);
			snprintf(r->fstype, sizeof(r->fstype), "%s", m->fstype);
			if (!repo_fstype_network(m->fstype) && read_marker(m->mnt, &mk) == 0) {
				if (strcmp(mk.uuid, r->uuid) != 0) {
					log_warn("%s holds repository %s, not %s as %s says; %s is not "
						 "mounted", m->mnt, mk.uuid, r->uuid, rv->file, r->uuid);
					r->mounted = false;
				} else {
					r->shared = mk.shared;
					snprintf(r->desc, sizeof(r->desc), "%s", mk.desc);
				}
			}
		} else {
			snprintf(r->mnt, sizeof(r->mnt), "%s", r->shared == 'C' ? rv->root : own);
		}
		if (was && !r->mounted)
			log_warn("repository %s (%s) is offline: %s is no longer mounted", r->uuid,
				 r->source, r->mnt);
		else if (!was && r->mounted)
			log_info("repository %s (%s) is online at %s (%s)", r->uuid, r->source, r->mnt,
				 r->fstype);
	}
}

void repoview_reload(struct repoview *rv)
{
	read_files(rv);
	read_mounts(rv);
	settle(rv);
}

static void on_retry(struct timer *t)
{
	struct repoview *rv = t->data;

	if (read_files(rv))
		settle(rv);
}

static void on_mountinfo(struct io *io, uint32_t events)
{
	struct repoview *rv = io->data;

	if (!(events & (EPOLLPRI | EPOLLERR)))
		return;
	rv->changes++;
	read_mounts(rv);
	settle(rv);
}

struct repoview *repoview_new(struct loop *loop, const char *root, const char *file)
{
	struct repoview *rv = xcalloc(1, sizeof(*rv));
	int fd;

	rv->loop = loop;
	rv->io.fd = -1;
	timer_init(&rv->retry, on_retry, rv);
	rv->root = xstrdup(root);
	rv->file = xstrdup(file);
	for (size_t n = strlen(rv->root); n > 1 && rv->root[n - 1] == '/';)
		rv->root[--n] = '\0';
	/* The fd that reports changes; the table itself is read from a fresh
	 * open each time. EPOLLIN is always set on it, so only PRI is asked. */
	fd = open(MOUNTINFO, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || io_add(loop, &rv->io, fd, EPOLLPRI, on_mountinfo, rv) != 0) {
		log_err("cannot watch " MOUNTINFO ": %s; mounts and unmounts are seen only at a "
			"reload", strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	repoview_reload(rv);
	for (size_t i = 0; i < rv->n; i++)
		if (!rv->v[i].mounted)
			log_warn("repository %s (%s) is not mounted", rv->v[i].uuid, rv->v[i].source);
	return rv;
}

void repoview_free(struct repoview *rv)
{
	if (!rv)
		return;
	if (rv->io.fd >= 0) {
		int fd = rv->io.fd;
		io_del(rv->loop, &rv->io);
		close(fd);
	}
	timer_stop(rv->loop, &rv->retry);
	free(rv->v);
	free(rv->m);
	free(rv->root);
	free(rv->file);
	free(rv);
}

void repoview_configure(struct repoview *rv, const char *root, const char *file)
{
	free(rv->root);
	free(rv->file);
	rv->root = xstrdup(root);
	rv->file = xstrdup(file);
	for (size_t n = strlen(rv->root); n > 1 && rv->root[n - 1] == '/';)
		rv->root[--n] = '\0';
	repoview_reload(rv);
}

const char *repoview_root(const struct repoview *rv) { return rv->root; }
const char *repoview_file(const struct repoview *rv) { return rv->file; }

size_t repoview_count(const struct repoview *rv) { return rv ? rv->n : 0; }

const struct repo *repoview_at(const struct repoview *rv, size_t i)
{
	return rv && i < rv->n ? &rv->v[i] : NULL;
}

const struct repo *repoview_find(const struct repoview *rv, const char *uuid)
{
	return rv ? find(rv->v, rv->n, uuid) : NULL;
}

void repoview_learn(struct repoview *rv, const char *uuid, const struct repo_marker *m)
{
	struct repo *r = rv ? find(rv->v, rv->n, uuid) : NULL;

	if (r && strcmp(m->uuid, uuid) == 0) {
		r->shared = m->shared;
		snprintf(r->desc, sizeof(r->desc), "%s", m->desc);
	}
}

const struct repo *repoview_for_path(const struct repoview *rv, const char *p)
{
	const char *below = rv ? beneath_strip(rv->root, p) : NULL;
	size_t len;

	if (!below || !*below)
		return NULL;
	if (strncmp(below, "running_pool/", 13) == 0 || strcmp(below, "running_pool") == 0 ||
	    strncmp(below, "sharedDisk/", 11) == 0 || strncmp(below, "seed_pool/", 10) == 0) {
		/* the cluster root's pools */
		for (size_t i = 0; i < rv->n; i++)
			if (rv->v[i].shared == 'C' || (rv->v[i].mounted &&
						       strcmp(rv->v[i].mnt, rv->root) == 0))
				return &rv->v[i];
		return NULL;
	}
	len = strcspn(below, "/");
	if (len != 36)
		return NULL;
	for (size_t i = 0; i < rv->n; i++)
		if (memcmp(rv->v[i].uuid, below, 36) == 0)
			return &rv->v[i];
	return NULL;
}

bool repoview_path_network(const struct repoview *rv, const char *p)
{
	const char *below = rv ? beneath_strip(rv->root, p) : NULL;
	const struct mount *top;

	if (!below)
		return false;
	if (*below) {
		size_t len = strcspn(below, "/");
		for (size_t i = 0; i < rv->nm; i++) {
			const char *b = beneath_strip(rv->root, rv->m[i].mnt);
			if (b && strlen(b) == len && len && memcmp(b, below, len) == 0)
				return repo_fstype_network(rv->m[i].fstype);
		}
	}
	top = mount_at(rv, rv->root);
	return top && repo_fstype_network(top->fstype);
}

unsigned long repoview_changes(const struct repoview *rv) { return rv ? rv->changes : 0; }

/* ---- probes ----------------------------------------------------------------- */

struct probe {
	const char *const *mnts;        /* the child reads these (its copy of our memory) */
	size_t n;
	int timeout_ms;
	repo_probe_cb cb;
	void *arg;
};

static void put(const char *s)
{
	size_t len = strlen(s);

	while (len) {
		ssize_t w = write(1, s, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		len -= (size_t)w;
	}
}

/* In the child: one line per answer, written as soon as it is known, so
 * a mount that hangs leaves the earlier answers readable. */
static int probe_child(void *arg)
{
	struct probe *p = arg;
	char line[REPO_DESC_MAX + 128];

	for (size_t i = 0; i < p->n; i++) {
		struct statvfs sv;
		struct repo_marker mk;

		if (statvfs(p->mnts[i], &sv) == 0)
			snprintf(line, sizeof(line), "%zu S %llu %llu\n", i,
				 (unsigned long long)sv.f_blocks * sv.f_frsize,
				 (unsigned long long)sv.f_bavail * sv.f_frsize);
		else
			snprintf(line, sizeof(line), "%zu E %d\n", i, errno);
		put(line);
		if (read_marker(p->mnts[i], &mk) == 0) {
			snprintf(line, sizeof(line), "%zu M %c %s %s\n", i, mk.shared ? mk.shared : '-',
				 mk.uuid, mk.desc);
			put(line);
		}
	}
	return 0;
}

static void probe_done(const struct child_result *res, void *arg)
{
	struct probe *p = arg;
	struct repo_space *out = xcalloc(p->n ? p->n : 1, sizeof(*out));
	const char *s = res->out ? res->out->data : NULL, *end = s ? s + res->out->len : NULL;
	char why[256];
	bool ok = child_ok(res, p->timeout_ms, why, sizeof(why));

	while (s && s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		char line[REPO_DESC_MAX + 128], kind, sh;
		size_t i, len;
		int off = 0;

		if (!nl)
			break;
		len = (size_t)(nl - s);
		if (len < sizeof(line)) {
			memcpy(line, s, len);
			line[len] = '\0';
			if (sscanf(line, "%zu %c %n", &i, &kind, &off) == 2 && i < p->n) {
				struct repo_space *o = &out[i];
				if (kind == 'S' && sscanf(line + off, "%llu %llu", &o->total, &o->free) == 2)
					o->ok = true;
				else if (kind == 'E')
					o->err = atoi(line + off);
				else if (kind == 'M' && len > (size_t)off + 39) {
					sh = line[off];
					o->marker.shared = sh == '-' ? 0 : sh;
					if (repo_uuid_ok(line + off + 2, 36) && line[off + 38] == ' ') {
						memcpy(o->marker.uuid, line + off + 2, 36);
						snprintf(o->marker.desc, sizeof(o->marker.desc), "%s",
							 line + off + 39);
						o->marker_ok = true;
					}
				}
			}
		}
		s = nl + 1;
	}
	p->cb(p->arg, out, p->n, ok ? NULL : why);
	free(out);
	free(p);
}

int repo_probe(struct loop *loop, const char *const *mnts, size_t n, int timeout_ms,
	       repo_probe_cb cb, void *arg, char *err, size_t errlen)
{
	struct probe *p = xcalloc(1, sizeof(*p));
	struct child_opts o = { .fn = probe_child, .fn_arg = p, .timeout_ms = timeout_ms,
				.max_output = (REPO_DESC_MAX + 128) * (REPO_MAX * 2 + 1) };

	*p = (struct probe){ .mnts = mnts, .n = n, .timeout_ms = timeout_ms, .cb = cb, .arg = arg };
	if (!child_spawn(loop, &o, probe_done, p, err, errlen)) {
		free(p);
		return -1;
	}
	return 0;
}
