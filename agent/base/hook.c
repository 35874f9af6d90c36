/* hook.c - the hook runner: a request is checked and copied, queued or
 * started through child_spawn(), and its end logged and recorded. */
#define LOG_CAT "hook"
#include "agent/base/hook.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/base/child.h"
#include "agent/base/fault.h"
#include "agent/base/log.h"
#include "agent/base/loop.h"
#include "agent/base/utf8.h"
#include "agent/base/util.h"

/* The only PATH a hook gets: hooks are run by root. */
#define HOOK_ENV_PATH "PATH=/usr/sbin:/usr/bin:/sbin:/bin"
/* Environment names the runner sets itself; a caller's are dropped. */
static const char *const runner_keys[] = { "PATH=", "OVS_HOOK_KIND=", "OVS_HOOK_EVENT=" };

static const char *const kind_names[HOOK_KINDS] = { "guest", "network", "repository", "cluster" };

const char *hook_kind_name(enum hook_kind k)
{
	return (unsigned)k < HOOK_KINDS ? kind_names[k] : "unknown";
}

/* A request as the runner keeps it: checked, copied, argv[0] resolved. */
struct req {
	enum hook_kind kind;
	char **argv;            /* NULL-terminated */
	char **env;             /* the whole environment the hook gets */
	char *event, *guest;    /* NULL when not given */
	int timeout_ms;         /* 0: the kind's */
};

struct ring_entry {
	unsigned long long seq;
	struct hook_record rec;
};

struct hooks {
	struct loop *loop;
	char *dir;
	int timeout_ms[HOOK_KINDS];
	int max_running;
	size_t max_output;
	struct ring_entry *ring;
	size_t ring_cap, ring_len, ring_next;   /* ring_next: where the next record goes */
	struct hook_run *first, *last;          /* single hooks in flight, oldest first */
	struct hook_run *q_first, *q_last;      /* of those, the ones waiting for a slot */
	size_t nqueued;
	int nrunning;
	struct hook_run *dirs;                  /* hook_run_dir runs in flight */
	unsigned long long seq;
	bool pumping;                           /* pump() is on the stack */
	bool freeing;
};

struct hook_run {
	struct hooks *h;
	bool is_dir;
	hook_done_cb done;
	void *arg;
	struct req req;
	/* one hook */
	struct hook_run *prev, *next;           /* on h's list of hooks in flight */
	struct hook_run *q_prev, *q_next;       /* on h's queue */
	bool queued;
	struct child *child;
	int timeout_ms;                         /* fixed when it starts */
	unsigned long long seq;
	int64_t queued_mono, started_mono;
	long long queued_wall, started_wall;
	/* a directory of hooks, run one after the other as single runs */
	struct hook_run *d_prev, *d_next;       /* on h's list of dir runs */
	char *dir;
	char **files;
	size_t nfiles, at;
	bool stop_on_failure;
	struct hook_run *step;                  /* the hook of the dir running now */
	struct timer later;                     /* the first step, from the loop */
	int fault, status;                      /* the first failure, kept for the end */
	char *msg;
	struct buf out, err;
};

static long long wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- text ---------------------------------------------------------------- */

/* Append s[0..n) to dst (o bytes used, dstlen its size with the NUL),
 * whole characters only: invalid UTF-8 and control characters dropped
 * (LF and TAB kept when lines), stopping at the first that does not
 * fit. Returns the new length; dst stays NUL-terminated. */
static size_t clean_append(char *dst, size_t o, size_t dstlen, const char *s, size_t n, bool lines)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0, len; i < n; i += len) {
		uint32_t cp = p[i];

		len = 1;
		if (p[i] >= 0x80 && !(len = utf8_decode(p + i, n - i, &cp))) {
			len = 1;
			continue;
		}
		if ((cp < 0x20 && !(lines && (cp == '\n' || cp == '\t'))) ||
		    (cp >= 0x7f && cp < 0xa0))
			continue;
		if (o + len >= dstlen)
			break;
		memcpy(dst + o, s + i, len);
		o += len;
	}
	if (dstlen)
		dst[o < dstlen ? o : dstlen - 1] = '\0';
	return o;
}

static void clean_copy(char *dst, size_t dstlen, const char *s)
{
	dst[0] = '\0';
	if (s)
		clean_append(dst, 0, dstlen, s, strlen(s), false);
}

/* Append the end of b, at most limit bytes, "..." first when cut. */
static size_t append_tail(char *out, size_t o, size_t outlen, const struct buf *b, size_t dropped,
			  size_t limit)
{
	size_t len = b ? b->len : 0, end = o + limit + 1 < outlen ? o + limit + 1 : outlen, start;
	bool cut;

	while (len && (b->data[len - 1] == '\n' || b->data[len - 1] == ' '))
		len--;
	if (!len || limit < 8)
		return o;
	cut = dropped > 0 || len > limit;
	if (cut)
		o = clean_append(out, o, end, "...", 3, true);
	start = len > limit - (cut ? 3 : 0) ? len - (limit - (cut ? 3 : 0)) : 0;
	while (start < len && ((unsigned char)b->data[start] & 0xc0) == 0x80)
		start++;        /* not inside a character */
	return clean_append(out, o, end, b->data + start, len - start, true);
}

/* A record's tail: the end of stdout, then of stderr; each gets half
 * when both have something. */
static void make_tail(char *out, size_t outlen, const struct buf *ob, size_t odrop,
		      const struct buf *eb, size_t edrop)
{
	size_t room = outlen - 1, o;
	bool both = ob && ob->len && eb && eb->len;

	out[0] = '\0';
	o = append_tail(out, 0, outlen, ob, odrop, both ? room / 2 : room);
	if (eb && eb->len) {
		if (o)
			o = clean_append(out, o, outlen, "\n[stderr] ", 10, true);
		append_tail(out, o, outlen, eb, edrop, room - o);
	}
}

/* "vif-bridge online" or "vif-bridge": how messages name a run. */
static void run_name(const struct hook_run *r, char *out, size_t outlen)
{
	const char *base = strrchr(r->req.argv[0], '/');

	snprintf(out, outlen, "%s%s%s", base ? base + 1 : r->req.argv[0],
		 r->req.event ? " " : "", r->req.event ? r->req.event : "");
}

/* ---- requests -------------------------------------------------------------- */

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static void req_free(struct req *q)
{
	strv_free(q->argv);
	strv_free(q->env);
	free(q->event);
	free(q->guest);
	memset(q, 0, sizeof(*q));
}

/* "NAME=value" with NAME a shell variable name. */
static bool env_entry_ok(const char *s)
{
	const char *eq = strchr(s, '=');

	if (!eq || eq == s || isdigit((unsigned char)s[0]))
		return false;
	for (const char *p = s; p < eq; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			return false;
	return true;
}

static bool runner_key(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(runner_keys); i++)
		if (strncmp(s, runner_keys[i], strlen(runner_keys[i])) == 0)
			return true;
	return false;
}

/* argv[0] as given: absolute, or a bare name in dir. */
static char *resolve(const char *dir, const char *name, char *err, size_t errlen)
{
	char q[80];

	if (name[0] == '/')
		return xstrdup(name);
	if (!name[0] || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		quote_printable(q, sizeof(q), name, strlen(name));
		snprintf(err, errlen, "a hook is an absolute path or a name in %s, not '%s'", dir, q);
		return NULL;
	}
	return xasprintf("%s/%s", dir, name);
}

/* Check and copy in into q. resolve_argv0: look a bare argv[0] up in the
 * hooks' dir (a dir run replaces argv[0] anyway). */
static int req_copy(const struct hooks *h, const struct hook_req *in, bool resolve_argv0,
		    struct req *q, char *err, size_t errlen)
{
	size_t na = 0, ne = 0, o = 0;

	memset(q, 0, sizeof(*q));
	if ((unsigned)in->kind >= HOOK_KINDS || !in->argv || !in->argv[0] || in->timeout_ms < 0) {
		snprintf(err, errlen, "internal: a hook request needs a kind and an argv");
		return -1;
	}
	if (in->event && (!in->event[0] || strlen(in->event) >= sizeof(((struct hook_record *)0)->event))) {
		snprintf(err, errlen, "internal: hook event names are 1 to 31 bytes");
		return -1;
	}
	while (in->argv[na] && na <= HOOK_ARGS_MAX)
		na++;
	while (in->env && in->env[ne] && ne <= HOOK_ENV_MAX)
		ne++;
	if (na > HOOK_ARGS_MAX || ne > HOOK_ENV_MAX) {
		snprintf(err, errlen, "a hook takes at most %d arguments and %d environment entries",
			 HOOK_ARGS_MAX, HOOK_ENV_MAX);
		return -1;
	}
	for (size_t i = 0; i < na + ne; i++) {
		const char *s = i < na ? in->argv[i] : in->env[i - na];
		if (strlen(s) >= HOOK_STRING_MAX) {
			snprintf(err, errlen, "a hook's argument or environment entry is longer than "
				 "%d bytes", HOOK_STRING_MAX - 1);
			return -1;
		}
		if (i >= na && !env_entry_ok(s)) {
			char qs[80];
			quote_printable(qs, sizeof(qs), s, strlen(s));
			snprintf(err, errlen, "internal: '%s' is not NAME=value", qs);
			return -1;
		}
	}
	q->kind = in->kind;
	q->timeout_ms = in->timeout_ms;
	q->argv = xcalloc(na + 1, sizeof(*q->argv));
	q->argv[0] = resolve_argv0 ? resolve(h->dir, in->argv[0], err, errlen) : xstrdup(in->argv[0]);
	if (!q->argv[0]) {
		req_free(q);
		return -1;
	}
	for (size_t i = 1; i < na; i++)
		q->argv[i] = xstrdup(in->argv[i]);
	q->env = xcalloc(ne + ARRAY_SIZE(runner_keys) + 1, sizeof(*q->env));
	q->env[o++] = xstrdup(HOOK_ENV_PATH);
	q->env[o++] = xasprintf("OVS_HOOK_KIND=%s", kind_names[in->kind]);
	if (in->event)
		q->env[o++] = xasprintf("OVS_HOOK_EVENT=%s", in->event);
	for (size_t i = 0; i < ne; i++)
		if (!runner_key(in->env[i]))
			q->env[o++] = xstrdup(in->env[i]);
	q->event = in->event ? xstrdup(in->event) : NULL;
	q->guest = in->guest ? xstrdup(in->guest) : NULL;
	return 0;
}

/* ---- records ----------------------------------------------------------------- */

/* What a single run is, as far as it got. */
static void fill_record(const struct hook_run *r, struct hook_record *rec)
{
	size_t o = 0;
	int64_t now = now_ms();

	memset(rec, 0, sizeof(*rec));
	clean_copy(rec->hook, sizeof(rec->hook), r->req.argv[0]);
	for (size_t i = 0; r->req.argv[i]; i++) {
		const char *a = r->req.argv[i];
		bool quote = !a[0] || strpbrk(a, " '\"\t") != NULL;
		if (i)
			o = clean_append(rec->argv, o, sizeof(rec->argv), " ", 1, false);
		if (quote)
			o = clean_append(rec->argv, o, sizeof(rec->argv), "'", 1, false);
		o = clean_append(rec->argv, o, sizeof(rec->argv), a, strlen(a), false);
		if (quote)
			o = clean_append(rec->argv, o, sizeof(rec->argv), "'", 1, false);
	}
	clean_copy(rec->event, sizeof(rec->event), r->req.event);
	clean_copy(rec->guest, sizeof(rec->guest), r->req.guest);
	clean_copy(rec->kind, sizeof(rec->kind), kind_names[r->req.kind]);
	rec->exit_status = -1;
	rec->queued = r->queued;
	rec->running = r->child != NULL;
	if (r->queued) {
		rec->started_ms = r->queued_wall;
		rec->queued_ms = now - r->queued_mono;
	} else {
		rec->started_ms = r->started_wall;
		rec->queued_ms = r->started_mono - r->queued_mono;
		rec->duration_ms = now - r->started_mono;
	}
}

static void ring_put(struct hooks *h, unsigned long long seq, const struct hook_record *rec)
{
	struct ring_entry *e = &h->ring[h->ring_next];

	e->seq = seq;
	e->rec = *rec;
	h->ring_next = (h->ring_next + 1) % h->ring_cap;
	if (h->ring_len < h->ring_cap)
		h->ring_len++;
}

/* The n newest of the ring, oldest first, in a new array of cap. */
static void ring_resize(struct hooks *h, size_t cap)
{
	struct ring_entry *neu = xcalloc(cap, sizeof(*neu));
	size_t n = h->ring_len < cap ? h->ring_len : cap;

	for (size_t i = 0; i < n; i++)
		neu[i] = h->ring[(h->ring_next + h->ring_cap - n + i) % h->ring_cap];
	free(h->ring);
	h->ring = neu;
	h->ring_cap = cap;
	h->ring_len = n;
	h->ring_next = n % cap;
}

struct rec_ref {
	unsigned long long seq;
	const struct hook_record *rec;  /* a ring entry, or NULL for run */
	const struct hook_run *run;
};

static int newest_first(const void *a, const void *b)
{
	unsigned long long x = ((const struct rec_ref *)a)->seq, y = ((const struct rec_ref *)b)->seq;

	return (x < y) - (x > y);
}

size_t hooks_count(const struct hooks *h)
{
	size_t n = h->ring_len;

	for (const struct hook_run *r = h->first; r; r = r->next)
		n++;
	return n;
}

size_t hooks_records(const struct hooks *h, struct hook_record *out, size_t max)
{
	size_t n = 0, total = hooks_count(h);
	struct rec_ref *refs;

	if (!total || !max)
		return 0;
	refs = xcalloc(total, sizeof(*refs));
	for (const struct hook_run *r = h->first; r; r = r->next)
		refs[n++] = (struct rec_ref){ .seq = r->seq, .run = r };
	for (size_t i = 0; i < h->ring_len; i++)
		refs[n++] = (struct rec_ref){ .seq = h->ring[i].seq, .rec = &h->ring[i].rec };
	qsort(refs, n, sizeof(*refs), newest_first);
	if (n > max)
		n = max;
	for (size_t i = 0; i < n; i++) {
		if (refs[i].rec)
			out[i] = *refs[i].rec;
		else
			fill_record(refs[i].run, &out[i]);
	}
	free(refs);
	return n;
}

/* ---- single runs --------------------------------------------------------------- */

static void inflight_add(struct hook_run *r)
{
	struct hooks *h = r->h;

	r->seq = ++h->seq;
	r->queued_mono = now_ms();
	r->queued_wall = wall_ms();
	r->prev = h->last;
	r->next = NULL;
	if (h->last)
		h->last->next = r;
	else
		h->first = r;
	h->last = r;
}

static void inflight_del(struct hook_run *r)
{
	struct hooks *h = r->h;

	if (r->prev)
		r->prev->next = r->next;
	else if (h->first == r)
		h->first = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else if (h->last == r)
		h->last = r->prev;
	r->prev = r->next = NULL;
}

static void queue_add(struct hook_run *r)
{
	struct hooks *h = r->h;

	r->queued = true;
	r->q_prev = h->q_last;
	r->q_next = NULL;
	if (h->q_last)
		h->q_last->q_next = r;
	else
		h->q_first = r;
	h->q_last = r;
	h->nqueued++;
}

static void queue_del(struct hook_run *r)
{
	struct hooks *h = r->h;

	if (r->q_prev)
		r->q_prev->q_next = r->q_next;
	else
		h->q_first = r->q_next;
	if (r->q_next)
		r->q_next->q_prev = r->q_prev;
	else
		h->q_last = r->q_prev;
	r->q_prev = r->q_next = NULL;
	r->queued = false;
	h->nqueued--;
}

static void run_free(struct hook_run *r)
{
	req_free(&r->req);
	if (r->is_dir) {
		strv_free(r->files);
		free(r->dir);
		free(r->msg);
		buf_free(&r->out);
		buf_free(&r->err);
	}
	free(r);
}

static void pump(struct hooks *h);

static void on_child_done(const struct child_result *res, void *arg)
{
	struct hook_run *r = arg;
	struct hooks *h = r->h;
	struct hook_record rec;
	struct hook_result hr;
	char name[300], why[768], msg[1100];
	bool ok = child_ok(res, r->timeout_ms, why, sizeof(why));

	fill_record(r, &rec);
	r->child = NULL;
	h->nrunning--;
	inflight_del(r);
	rec.running = false;
	rec.exit_status = WIFEXITED(res->status) ? WEXITSTATUS(res->status) : -1;
	rec.signal = WIFSIGNALED(res->status) ? WTERMSIG(res->status) : 0;
	rec.timed_out = res->timed_out;
	make_tail(rec.tail, sizeof(rec.tail), res->out, res->out_dropped, res->err, res->err_dropped);
	ring_put(h, r->seq, &rec);
	run_name(r, name, sizeof(name));
	snprintf(msg, sizeof(msg), "%s: %s", name, why);
	hr.fault = ok ? 0 : res->killed_at_exit ? FAULT_SHUTTING_DOWN
		 : res->timed_out ? FAULT_TIMEOUT : FAULT_HOOK;
	hr.msg = msg;
	hr.status = res->status;
	hr.out = res->out;
	hr.err = res->err;
	if (ok)
		log_info("hook %s%s%s: %s in %lld ms", name, r->req.guest ? ", guest " : "",
			 r->req.guest ? r->req.guest : "", why, rec.duration_ms);
	else
		log_warn("hook %s%s%s failed after %lld ms: %s", name,
			 r->req.guest ? ", guest " : "", r->req.guest ? r->req.guest : "",
			 rec.duration_ms, why);
	if (res->out_dropped || res->err_dropped)
		log_info("hook %s: output past %zu bytes a stream dropped (%zu of stdout, %zu of "
			 "stderr); the tail is kept", name, h->max_output, res->out_dropped,
			 res->err_dropped);
	r->done(r->arg, &hr);
	run_free(r);
	pump(h);
}

static int start_one(struct hook_run *r, char *err, size_t errlen)
{
	struct hooks *h = r->h;
	struct child_opts o = { .argv = (const char *const *)r->req.argv,
				.envp = (const char *const *)r->req.env,
				.max_output = h->max_output, .keep_tail = true };

	r->timeout_ms = r->req.timeout_ms > 0 ? r->req.timeout_ms : h->timeout_ms[r->req.kind];
	o.timeout_ms = r->timeout_ms;
	r->started_mono = now_ms();
	r->started_wall = wall_ms();
	if (!(r->child = child_spawn(h->loop, &o, on_child_done, r, err, errlen)))
		return -1;
	h->nrunning++;
	log_debug("hook %s started (pid %d, %d running, %zu waiting)", r->req.argv[0],
		  (int)child_pid(r->child), h->nrunning, h->nqueued);
	return 0;
}

/* A run that could not start: recorded, logged, taken off the list. */
static void record_unstarted(struct hook_run *r, const char *why, char *msg, size_t msglen)
{
	struct hook_record rec;
	char name[300];

	fill_record(r, &rec);
	rec.queued = rec.running = false;
	rec.duration_ms = 0;
	clean_copy(rec.tail, sizeof(rec.tail), why);
	ring_put(r->h, r->seq, &rec);
	inflight_del(r);
	run_name(r, name, sizeof(name));
	snprintf(msg, msglen, "%s: %s", name, why);
	log_warn("hook %s%s%s could not start: %s", name, r->req.guest ? ", guest " : "",
		 r->req.guest ? r->req.guest : "", why);
}

/* Start what waits while there are slots. A queued run that cannot
 * start ends here (done, from the loop). */
static void pump(struct hooks *h)
{
	if (h->pumping)
		return;         /* the caller up the stack goes on */
	h->pumping = true;
	while (h->q_first && h->nrunning < h->max_running) {
		struct hook_run *r = h->q_first;
		struct buf none = { 0 };
		char err[512], msg[900];

		queue_del(r);
		if (start_one(r, err, sizeof(err)) == 0)
			continue;
		record_unstarted(r, err, msg, sizeof(msg));
		r->done(r->arg, &(struct hook_result){
			.fault = child_stopping() ? FAULT_SHUTTING_DOWN : FAULT_HOOK, .msg = msg,
			.status = W_EXITCODE(127, 0), .out = &none, .err = &none });
		run_free(r);
	}
	h->pumping = false;
}

/* Start r now, or queue it behind those already waiting. */
static struct hook_run *submit(struct hook_run *r, char *err, size_t errlen)
{
	struct hooks *h = r->h;
	char why[512], msg[900];

	if (h->q_first || h->nrunning >= h->max_running) {
		if (h->nqueued >= HOOK_QUEUE_MAX) {
			snprintf(err, errlen, "%zu hooks already wait to run", h->nqueued);
			run_free(r);
			return NULL;
		}
		inflight_add(r);
		queue_add(r);
		log_debug("hook %s queued (%d running, %zu waiting)", r->req.argv[0], h->nrunning,
			  h->nqueued);
		return r;
	}
	inflight_add(r);
	if (start_one(r, why, sizeof(why)) != 0) {
		record_unstarted(r, why, msg, sizeof(msg));
		snprintf(err, errlen, "%s", msg);
		run_free(r);
		return NULL;
	}
	return r;
}

struct hook_run *hook_run(struct hooks *h, const struct hook_req *req,
			  hook_done_cb done, void *arg, char *err, size_t errlen)
{
	struct hook_run *r;

	if (h->freeing || child_stopping()) {
		snprintf(err, errlen, "the agent is stopping");
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->h = h;
	r->done = done;
	r->arg = arg;
	if (req_copy(h, req, true, &r->req, err, errlen) != 0) {
		free(r);
		return NULL;
	}
	return submit(r, err, errlen);
}

/* ---- directories ------------------------------------------------------------ */

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The executable regular files of dir (symlinks followed), sorted; a
 * missing dir has none. 0, or -1 with err. */
static int scan_dir(const char *dir, char ***files, size_t *n, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL;
	size_t cnt = 0;

	*files = NULL;
	*n = 0;
	if (!d) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "hook directory %s: %s", dir, strerror(errno));
		return -1;
	}
	v = xcalloc(HOOK_DIR_MAX + 1, sizeof(*v));
	while ((e = readdir(d))) {
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode) ||
		    !(st.st_mode & 0111))
			continue;
		if (cnt == HOOK_DIR_MAX) {
			snprintf(err, errlen, "hook directory %s holds more than %d hooks", dir,
				 HOOK_DIR_MAX);
			closedir(d);
			strv_free(v);
			return -1;
		}
		v[cnt++] = xstrdup(e->d_name);
	}
	closedir(d);
	qsort(v, cnt, sizeof(*v), by_name);
	*files = v;
	*n = cnt;
	return 0;
}

static void dir_list_del(struct hook_run *d)
{
	struct hooks *h = d->h;

	if (d->d_prev)
		d->d_prev->d_next = d->d_next;
	else if (h->dirs == d)
		h->dirs = d->d_next;
	if (d->d_next)
		d->d_next->d_prev = d->d_prev;
	d->d_prev = d->d_next = NULL;
}

static void dir_end(struct hook_run *d, const struct hook_result *res)
{
	timer_stop(d->h->loop, &d->later);
	dir_list_del(d);
	d->done(d->arg, res);
	run_free(d);
}

/* The end of one of the dir's hooks; true when the dir run has ended. */
static bool dir_outcome(struct hook_run *d, const struct hook_result *hr)
{
	if (hr->fault && !d->fault) {
		d->fault = hr->fault;
		d->status = hr->status;
		d->msg = xstrdup(hr->msg);
		buf_reset(&d->out);
		buf_reset(&d->err);
		if (hr->out && hr->out->len)
			buf_append(&d->out, hr->out->data, hr->out->len);
		if (hr->err && hr->err->len)
			buf_append(&d->err, hr->err->data, hr->err->len);
	}
	if (hr->fault && (d->stop_on_failure || hr->fault == FAULT_SHUTTING_DOWN)) {
		dir_end(d, hr);
		return true;
	}
	if (d->at < d->nfiles)
		return false;
	if (d->fault)
		dir_end(d, &(struct hook_result){ .fault = d->fault, .msg = d->msg,
						  .status = d->status, .out = &d->out, .err = &d->err });
	else
		dir_end(d, hr);
	return true;
}

static void dir_step_done(void *arg, const struct hook_result *hr);

/* Start the dir's next hook, or end the dir run. */
static void dir_next(struct hook_run *d)
{
	struct buf none = { 0 };

	if (d->nfiles == 0) {
		char msg[600];
		snprintf(msg, sizeof(msg), "no hooks in %s", d->dir);
		dir_end(d, &(struct hook_result){ .msg = msg, .out = &none, .err = &none });
		return;
	}
	while (d->at < d->nfiles) {
		struct hook_run *s = xcalloc(1, sizeof(*s));
		char err[600];
		size_t na = 0;

		s->h = d->h;
		s->done = dir_step_done;
		s->arg = d;
		s->req = d->req;
		while (d->req.argv[na])
			na++;
		/* A copy of the dir's request with this file as argv[0]. */
		s->req.argv = xcalloc(na + 1, sizeof(*s->req.argv));
		s->req.argv[0] = xasprintf("%s/%s", d->dir, d->files[d->at++]);
		for (size_t i = 1; i < na; i++)
			s->req.argv[i] = xstrdup(d->req.argv[i]);
		for (na = 0; d->req.env[na]; na++)
			;
		s->req.env = xcalloc(na + 1, sizeof(*s->req.env));
		for (size_t i = 0; i < na; i++)
			s->req.env[i] = xstrdup(d->req.env[i]);
		s->req.event = d->req.event ? xstrdup(d->req.event) : NULL;
		s->req.guest = d->req.guest ? xstrdup(d->req.guest) : NULL;
		if ((d->step = submit(s, err, sizeof(err))))
			return;
		if (dir_outcome(d, &(struct hook_result){
			    .fault = child_stopping() ? FAULT_SHUTTING_DOWN : FAULT_HOOK, .msg = err,
			    .status = W_EXITCODE(127, 0), .out = &none, .err = &none }))
			return;
	}
}

static void dir_step_done(void *arg, const struct hook_result *hr)
{
	struct hook_run *d = arg;

	d->step = NULL;
	if (!dir_outcome(d, hr))
		dir_next(d);
}

static void dir_later(struct timer *t)
{
	dir_next(t->data);
}

struct hook_run *hook_run_dir(struct hooks *h, const char *dir, const struct hook_req *req,
			      bool stop_on_failure, hook_done_cb done, void *arg,
			      char *err, size_t errlen)
{
	struct hook_run *d;

	if (h->freeing || child_stopping()) {
		snprintf(err, errlen, "the agent is stopping");
		return NULL;
	}
	if (!dir || dir[0] != '/') {
		snprintf(err, errlen, "internal: a hook directory is an absolute path");
		return NULL;
	}
	d = xcalloc(1, sizeof(*d));
	d->h = h;
	d->is_dir = true;
	d->done = done;
	d->arg = arg;
	d->stop_on_failure = stop_on_failure;
	d->dir = xstrdup(dir);
	buf_init(&d->out, h->max_output);
	buf_init(&d->err, h->max_output);
	if (req_copy(h, req, false, &d->req, err, errlen) != 0 ||
	    scan_dir(dir, &d->files, &d->nfiles, err, errlen) != 0) {
		run_free(d);
		return NULL;
	}
	d->d_next = h->dirs;
	if (h->dirs)
		h->dirs->d_prev = d;
	h->dirs = d;
	/* The first hook starts from the loop: done is never called from here. */
	timer_init(&d->later, dir_later, d);
	timer_start(h->loop, &d->later, 0);
	return d;
}

/* ---- cancelling, settings ----------------------------------------------------- */

void hook_cancel(struct hook_run *r)
{
	struct hooks *h;

	if (!r)
		return;
	h = r->h;
	if (r->is_dir) {
		timer_stop(h->loop, &r->later);
		hook_cancel(r->step);
		dir_list_del(r);
		run_free(r);
		return;
	}
	if (r->queued) {
		queue_del(r);
	} else if (r->child) {
		struct hook_record rec;

		fill_record(r, &rec);
		child_cancel(r->child);
		r->child = NULL;
		h->nrunning--;
		rec.running = false;
		rec.signal = SIGKILL;
		clean_copy(rec.tail, sizeof(rec.tail), "cancelled by the agent");
		ring_put(h, r->seq, &rec);
		log_info("hook %s cancelled after %lld ms", r->req.argv[0], rec.duration_ms);
	}
	inflight_del(r);
	run_free(r);
	pump(h);
}

static void apply(struct hooks *h, const struct hook_settings *s)
{
	size_t ring = s->ring ? s->ring : HOOK_RING_DEFAULT;

	free(h->dir);
	h->dir = xstrdup(s->dir && s->dir[0] ? s->dir : "/usr/lib/ovs");
	for (int k = 0; k < HOOK_KINDS; k++)
		h->timeout_ms[k] = s->timeout_ms[k] > 0 ? s->timeout_ms[k] : HOOK_TIMEOUT_DEFAULT_MS;
	h->max_running = s->max_running > 0 ? s->max_running : 1;
	h->max_output = s->max_output ? s->max_output : HOOK_MAX_OUTPUT_DEFAULT;
	if (ring != h->ring_cap)
		ring_resize(h, ring);
}

struct hooks *hooks_new(struct loop *loop, const struct hook_settings *s)
{
	struct hooks *h = xcalloc(1, sizeof(*h));

	h->loop = loop;
	h->ring_cap = 1;
	h->ring = xcalloc(1, sizeof(*h->ring));
	apply(h, s);
	return h;
}

void hooks_configure(struct hooks *h, const struct hook_settings *s)
{
	apply(h, s);
	pump(h);
}

const char *hooks_dir(const struct hooks *h) { return h->dir; }

void hooks_free(struct hooks *h)
{
	struct buf none = { 0 };
	const struct hook_result stopping = { .fault = FAULT_SHUTTING_DOWN,
					      .msg = "the agent is stopping", .out = &none,
					      .err = &none };

	if (!h)
		return;
	h->freeing = true;
	h->pumping = true;      /* nothing more starts */
	while (h->dirs) {
		struct hook_run *d = h->dirs;
		hook_cancel(d->step);
		d->step = NULL;
		dir_end(d, &stopping);
	}
	while (h->first) {
		struct hook_run *r = h->first;
		if (r->queued)
			queue_del(r);
		if (r->child) {
			child_cancel(r->child);
			r->child = NULL;
			h->nrunning--;
		}
		inflight_del(r);
		r->done(r->arg, &stopping);
		run_free(r);
	}
	free(h->ring);
	free(h->dir);
	free(h);
}
