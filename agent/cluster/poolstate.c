/* poolstate.c - the replicated pool state: ops, snapshots, apply. */
#include "agent/cluster/poolstate.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/base/util.h"

#define MAGIC_OP "OVSP1 OP\n"
#define MAGIC_SNAP "OVSP1 SNAP\n"
#define FIELDS_MAX 8
/* The guest lines' bound: the magic and the STATE line (two 20-digit
 * numbers, an address) take less than the rest of PS_SNAP_MAX. */
#define GUEST_BYTES_MAX (PS_SNAP_MAX - 128)

void poolstate_init(struct poolstate *s)
{
	memset(s, 0, sizeof(*s));
}

void poolstate_free(struct poolstate *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->g[i]->path);
		free(s->g[i]);
	}
	free(s->g);
	poolstate_init(s);
}

void poolstate_move(struct poolstate *dst, struct poolstate *src)
{
	poolstate_free(dst);
	*dst = *src;
	poolstate_init(src);
}

static int path_cmp(const void *key, const void *elem)
{
	return strcmp(key, (*(struct ps_guest *const *)elem)->path);
}

/* Index of path, or where it would go (*found false). */
static size_t locate(const struct poolstate *s, const char *path, bool *found)
{
	return sorted_index(s->g, s->n, sizeof(*s->g), path, path_cmp, found);
}

const struct ps_guest *poolstate_find(const struct poolstate *s, const char *path)
{
	bool found;
	size_t i = locate(s, path, &found);

	return found ? s->g[i] : NULL;
}

bool poolstate_ha(const struct poolstate *s, const struct ps_guest *g)
{
	return s->pool_ha && g && g->ha;
}

/* A zeroed guest inserted at i (locate's answer; the table is not full). */
static struct ps_guest *insert_at(struct poolstate *s, size_t i, const char *path)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->g = xrealloc(s->g, s->cap * sizeof(*s->g));
	}
	memmove(&s->g[i + 1], &s->g[i], (s->n - i) * sizeof(*s->g));
	s->g[i] = xcalloc(1, sizeof(**s->g));
	s->g[i]->path = xstrdup(path);
	s->n++;
	return s->g[i];
}

/* ---- writing ------------------------------------------------------------------------ */

static void put_path(struct buf *b, const char *path)
{
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("._/-", *p))
			buf_append(b, p, 1);
		else
			buf_printf(b, "%%%02X", *p);
	}
}

static void put_ip(struct buf *b, const char *ip)
{
	buf_puts(b, ip[0] ? ip : "-");
}

void ps_op_begin(struct buf *b)
{
	buf_puts(b, MAGIC_OP);
}

void ps_op_pool_ha(struct buf *b, bool on)
{
	buf_printf(b, "HA %d\n", on);
}

void ps_op_vm_ha(struct buf *b, const char *path, bool on)
{
	buf_puts(b, "VMHA ");
	put_path(b, path);
	buf_printf(b, " %d\n", on);
}

static void put_pref(struct buf *b, const char (*servers)[POOL_IP_MAX], size_t n)
{
	if (n == 0)
		buf_puts(b, "-");
	for (size_t i = 0; i < n; i++)
		buf_printf(b, "%s%s", i ? "," : "", servers[i]);
}

void ps_op_pref(struct buf *b, const char *path, bool manual, const char (*servers)[POOL_IP_MAX],
		size_t n)
{
	buf_puts(b, "PREF ");
	put_path(b, path);
	buf_printf(b, " %s ", manual ? "manual" : "auto");
	put_pref(b, servers, n);
	buf_puts(b, "\n");
}

void ps_op_own(struct buf *b, const char *path, const char *owner, uint64_t epoch, bool running)
{
	buf_puts(b, "OWN ");
	put_path(b, path);
	buf_puts(b, " ");
	put_ip(b, owner);
	buf_printf(b, " %" PRIu64 " %d\n", epoch, running);
}

void ps_op_master(struct buf *b, const char *ip, uint64_t epoch)
{
	buf_puts(b, "MASTER ");
	put_ip(b, ip);
	buf_printf(b, " %" PRIu64 "\n", epoch);
}

void ps_op_forget(struct buf *b, const char *path)
{
	buf_puts(b, "FORGET ");
	put_path(b, path);
	buf_puts(b, "\n");
}

void ps_op_id(struct buf *b, uint64_t id)
{
	buf_printf(b, "ID %" PRIu64 "\n", id);
}

static void put_guest(struct buf *b, const struct ps_guest *g)
{
	buf_puts(b, "G ");
	put_path(b, g->path);
	buf_printf(b, " %d %d %d ", g->ha, g->manual, g->running);
	put_ip(b, g->owner);
	buf_printf(b, " %" PRIu64 " ", g->epoch);
	put_pref(b, g->pref, g->npref);
	buf_puts(b, "\n");
}

/* The bytes of g's line in a snapshot (state.bytes adds them up). */
static size_t guest_bytes(const struct ps_guest *g)
{
	struct buf b;
	size_t n;

	buf_init(&b, 0);
	put_guest(&b, g);
	n = b.len;
	buf_free(&b);
	return n;
}

void poolstate_encode(const struct poolstate *s, struct buf *b)
{
	buf_puts(b, MAGIC_SNAP);
	buf_printf(b, "STATE %" PRIu64 " %" PRIu64 " ", s->gen, s->master_epoch);
	put_ip(b, s->master);
	buf_printf(b, " %d\n", s->pool_ha);
	for (size_t i = 0; i < s->n; i++)
		put_guest(b, s->g[i]);
}

/* ---- reading ------------------------------------------------------------------------ */

int poolstate_kind(const void *msg, size_t len)
{
	if (len >= strlen(MAGIC_OP) && memcmp(msg, MAGIC_OP, strlen(MAGIC_OP)) == 0)
		return 1;
	if (len >= strlen(MAGIC_SNAP) && memcmp(msg, MAGIC_SNAP, strlen(MAGIC_SNAP)) == 0)
		return 2;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* An escaped path into out (PS_PATH_MAX): absolute, no NUL, no "..". */
static int get_path(const char *f, char out[PS_PATH_MAX])
{
	size_t n = 0;

	for (const char *p = f; *p; p++) {
		int c = (unsigned char)*p;

		if (c == '%') {
			int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
			if (lo < 0)
				return -1;
			c = hi * 16 + lo;
			p += 2;
		}
		if (c == 0 || n + 1 >= PS_PATH_MAX)
			return -1;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	if (out[0] != '/' || strstr(out, "/../") || (n >= 3 && strcmp(out + n - 3, "/..") == 0))
		return -1;
	return 0;
}

static int get_ip(const char *f, char out[POOL_IP_MAX])
{
	if (strcmp(f, "-") == 0) {
		out[0] = '\0';
		return 0;
	}
	/* canonical text only: one server, one spelling, in every copy */
	if (pool_ip_canon(f, out) < 0 || strcmp(out, f) != 0)
		return -1;
	return 0;
}

static int get_u64(const char *f, uint64_t *v)
{
	char *end;

	/* every value encode writes (up to 20 digits) reads back; more is
	 * ERANGE */
	if (*f < '0' || *f > '9' || strlen(f) > 20)
		return -1;
	errno = 0;
	*v = strtoull(f, &end, 10);
	return errno || *end ? -1 : 0;
}

static int get_flag(const char *f, bool *v)
{
	if ((f[0] != '0' && f[0] != '1') || f[1])
		return -1;
	*v = f[0] == '1';
	return 0;
}

static int get_pref(const char *f, char (*out)[POOL_IP_MAX], size_t *n)
{
	char one[POOL_IP_MAX + 1];

	*n = 0;
	if (strcmp(f, "-") == 0)
		return 0;
	for (const char *p = f;;) {
		size_t k = strcspn(p, ",");

		if (k == 0 || k > POOL_IP_MAX || *n >= PS_PREF_MAX)
			return -1;
		memcpy(one, p, k);
		one[k] = '\0';
		if (get_ip(one, out[*n]) < 0 || !out[*n][0])
			return -1;
		for (size_t i = 0; i < *n; i++)
			if (strcmp(out[i], out[*n]) == 0)
				return -1;
		(*n)++;
		if (!p[k])
			return 0;
		p += k + 1;
	}
}

/* Split one line (NUL-terminated, no '\n') on single spaces. */
static int fields(char *line, char *f[FIELDS_MAX])
{
	int n = 0;

	for (char *p = line;;) {
		if (n == FIELDS_MAX || !*p)
			return -1;
		f[n++] = p;
		p = strchr(p, ' ');
		if (!p)
			return n;
		*p++ = '\0';
	}
}

enum line_kind { L_HA, L_VMHA, L_PREF, L_OWN, L_MASTER, L_FORGET, L_ID };

struct line {
	enum line_kind kind;
	char path[PS_PATH_MAX];
	char ip[POOL_IP_MAX];
	bool flag, manual;
	uint64_t epoch;
	size_t npref;
	char pref[PS_PREF_MAX][POOL_IP_MAX];
};

static int parse_line(char *text, struct line *l, char *err, size_t errlen)
{
	char *f[FIELDS_MAX];
	int n = fields(text, f);
	int bad = 0;

	if (n < 2) {
		snprintf(err, errlen, "an op line has too few or too many fields");
		return -1;
	}
	memset(l, 0, sizeof(*l) - sizeof(l->pref));
	if (strcmp(f[0], "HA") == 0 && n == 2) {
		l->kind = L_HA;
		bad = get_flag(f[1], &l->flag);
	} else if (strcmp(f[0], "VMHA") == 0 && n == 3) {
		l->kind = L_VMHA;
		bad = get_path(f[1], l->path) || get_flag(f[2], &l->flag);
	} else if (strcmp(f[0], "PREF") == 0 && n == 4) {
		l->kind = L_PREF;
		bad = get_path(f[1], l->path) ||
		      (strcmp(f[2], "manual") != 0 && strcmp(f[2], "auto") != 0) ||
		      get_pref(f[3], l->pref, &l->npref);
		l->manual = strcmp(f[2], "manual") == 0;
	} else if (strcmp(f[0], "OWN") == 0 && n == 5) {
		l->kind = L_OWN;
		bad = get_path(f[1], l->path) || get_ip(f[2], l->ip) || get_u64(f[3], &l->epoch) ||
		      get_flag(f[4], &l->flag);
	} else if (strcmp(f[0], "MASTER") == 0 && n == 3) {
		l->kind = L_MASTER;
		bad = get_ip(f[1], l->ip) || get_u64(f[2], &l->epoch);
	} else if (strcmp(f[0], "ID") == 0 && n == 2) {
		l->kind = L_ID;
		bad = get_u64(f[1], &l->epoch);
	} else if (strcmp(f[0], "FORGET") == 0 && n == 2) {
		l->kind = L_FORGET;
		bad = get_path(f[1], l->path);
	} else {
		snprintf(err, errlen, "'%.16s' with %d fields is not an op", f[0], n);
		return -1;
	}
	if (bad)
		snprintf(err, errlen, "a malformed %s op", f[0]);
	return bad ? -1 : 0;
}

/* 1 when the line changed s. */
static int apply_line(struct poolstate *s, const struct line *l)
{
	struct ps_guest g;
	size_t i, old, now;
	bool found;

	switch (l->kind) {
	case L_HA:
		if (s->pool_ha == l->flag)
			return 0;
		s->pool_ha = l->flag;
		return 1;
	case L_MASTER:
		if (l->epoch <= s->master_epoch)
			return 0;
		s->master_epoch = l->epoch;
		snprintf(s->master, sizeof(s->master), "%s", l->ip);
		return 1;
	case L_ID:
		return 0;
	case L_FORGET:
		i = locate(s, l->path, &found);
		if (!found)
			return 0;
		s->bytes -= guest_bytes(s->g[i]);
		free(s->g[i]->path);
		free(s->g[i]);
		memmove(&s->g[i], &s->g[i + 1], (s->n - i - 1) * sizeof(*s->g));
		s->n--;
		return 1;
	default:
		break;
	}
	i = locate(s, l->path, &found);
	if (l->kind == L_OWN && found && l->epoch <= s->g[i]->epoch)
		return 0;               /* a stale token: the newer owner stays */
	if (!found && s->n >= PS_GUESTS_MAX)
		return 0;               /* full: every copy skips it alike */
	/* the guest as it would be, measured before anything changes */
	if (found) {
		g = *s->g[i];
	} else {
		memset(&g, 0, sizeof(g));
		g.path = (char *)l->path;
	}
	old = found ? guest_bytes(&g) : 0;
	switch (l->kind) {
	case L_VMHA:
		g.ha = l->flag;
		break;
	case L_PREF:
		g.manual = l->manual;
		g.npref = l->npref;
		memcpy(g.pref, l->pref, l->npref * sizeof(l->pref[0]));
		break;
	case L_OWN:
		g.epoch = l->epoch;
		g.running = l->flag;
		snprintf(g.owner, sizeof(g.owner), "%s", l->ip);
		break;
	default:
		break;
	}
	now = guest_bytes(&g);
	if (s->bytes - old + now > GUEST_BYTES_MAX)
		return 0;               /* its snapshot would not fit: skipped alike */
	s->bytes = s->bytes - old + now;
	if (found) {
		*s->g[i] = g;
	} else {
		struct ps_guest *made = insert_at(s, i, l->path);

		g.path = made->path;
		*made = g;
	}
	return 1;
}

/* The message's lines after its first, copied and NUL-split: *lines
 * malloc'd, *n of them. -1 with err for bytes no message holds. */
static char *split_lines(const void *msg, size_t len, size_t skip, char ***lines, size_t *n,
			 size_t max, char *err, size_t errlen)
{
	char *copy, *p, *end;

	*lines = NULL;
	*n = 0;
	if (len > PS_MSG_MAX || len < skip || memchr(msg, '\0', len)) {
		snprintf(err, errlen, "a pool state message of %zu bytes is malformed", len);
		return NULL;
	}
	if (len > skip && ((const char *)msg)[len - 1] != '\n') {
		snprintf(err, errlen, "a pool state message does not end with a line");
		return NULL;
	}
	copy = xmalloc(len - skip + 1);
	memcpy(copy, (const char *)msg + skip, len - skip);
	copy[len - skip] = '\0';
	for (p = copy; *p; p = end + 1) {
		end = strchr(p, '\n');
		*end = '\0';
		if (*n == max) {
			snprintf(err, errlen, "a pool state message has more than %zu lines", max);
			free(*lines);
			free(copy);
			*lines = NULL;
			return NULL;
		}
		if (*n % 64 == 0)
			*lines = xrealloc(*lines, (*n + 64) * sizeof(char *));
		(*lines)[(*n)++] = p;
	}
	return copy;
}

int poolstate_apply(struct poolstate *s, const void *msg, size_t len, char *err, size_t errlen)
{
	char **lines, *copy;
	struct line *v;
	size_t n;
	int changed = 0;

	if (poolstate_kind(msg, len) != 1) {
		snprintf(err, errlen, "not a pool state op");
		return -1;
	}
	copy = split_lines(msg, len, strlen(MAGIC_OP), &lines, &n, PS_BATCH_MAX, err, errlen);
	if (!copy)
		return -1;
	v = xcalloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		if (parse_line(lines[i], &v[i], err, errlen) < 0) {
			changed = -1;
			break;
		}
	if (changed == 0) {
		for (size_t i = 0; i < n; i++)
			changed += apply_line(s, &v[i]);
		if (changed)
			s->gen++;
	}
	free(v);
	free(lines);
	free(copy);
	return changed;
}

uint64_t poolstate_op_id(const void *msg, size_t len)
{
	const char *p = (const char *)msg + strlen(MAGIC_OP), *end = (const char *)msg + len;
	uint64_t id = 0;

	if (poolstate_kind(msg, len) != 1)
		return 0;
	/* the tag is the first line after the magic when there is one */
	if (end - p > 3 && memcmp(p, "ID ", 3) == 0) {
		for (p += 3; p < end && *p >= '0' && *p <= '9' && id < UINT64_MAX / 10; p++)
			id = id * 10 + (uint64_t)(*p - '0');
		if (p >= end || *p != '\n')
			id = 0;
	}
	return id;
}

static int parse_guest(char *text, struct poolstate *s, char *err, size_t errlen)
{
	char *f[FIELDS_MAX], path[PS_PATH_MAX];
	struct ps_guest g = { 0 };

	if (fields(text, f) != 8 || strcmp(f[0], "G") != 0 || get_path(f[1], path) ||
	    get_flag(f[2], &g.ha) || get_flag(f[3], &g.manual) || get_flag(f[4], &g.running) ||
	    get_ip(f[5], g.owner) || get_u64(f[6], &g.epoch) || get_pref(f[7], g.pref, &g.npref)) {
		snprintf(err, errlen, "a malformed guest line in a pool state snapshot");
		return -1;
	}
	if (s->n && strcmp(s->g[s->n - 1]->path, path) >= 0) {
		snprintf(err, errlen, "a pool state snapshot's guests are not in order");
		return -1;
	}
	if (s->n >= PS_GUESTS_MAX) {
		snprintf(err, errlen, "a pool state snapshot has more than %d guests", PS_GUESTS_MAX);
		return -1;
	}
	g.path = path;
	s->bytes += guest_bytes(&g);
	if (s->bytes > GUEST_BYTES_MAX) {
		snprintf(err, errlen, "a pool state snapshot larger than %u bytes", PS_SNAP_MAX);
		return -1;
	}
	g.path = xstrdup(path);
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->g = xrealloc(s->g, s->cap * sizeof(*s->g));
	}
	s->g[s->n] = xmalloc(sizeof(**s->g));
	*s->g[s->n++] = g;
	return 0;
}

int poolstate_decode(struct poolstate *out, const void *msg, size_t len, char *err,
		     size_t errlen)
{
	char **lines, *copy, *f[FIELDS_MAX];
	size_t n;
	int rc = -1;

	poolstate_init(out);
	if (poolstate_kind(msg, len) != 2) {
		snprintf(err, errlen, "not a pool state snapshot");
		return -1;
	}
	copy = split_lines(msg, len, strlen(MAGIC_SNAP), &lines, &n, PS_GUESTS_MAX + 1, err,
			   errlen);
	if (!copy)
		return -1;
	if (n < 1 || fields(lines[0], f) != 5 || strcmp(f[0], "STATE") != 0 ||
	    get_u64(f[1], &out->gen) || get_u64(f[2], &out->master_epoch) ||
	    get_ip(f[3], out->master) || get_flag(f[4], &out->pool_ha)) {
		snprintf(err, errlen, "a pool state snapshot without its STATE line");
		goto out;
	}
	for (size_t i = 1; i < n; i++)
		if (parse_guest(lines[i], out, err, errlen) < 0)
			goto out;
	rc = 0;
out:
	if (rc < 0)
		poolstate_free(out);
	free(lines);
	free(copy);
	return rc;
}

bool poolstate_newer(const struct poolstate *a, const struct poolstate *b)
{
	if (a->master_epoch != b->master_epoch)
		return a->master_epoch > b->master_epoch;
	return a->gen > b->gen;
}
