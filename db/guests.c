/* guests.c - guest records in the "vm" table. */
#include "db/guests.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/base/beneath.h"
#include "db/store.h"
#include "agent/base/buf.h"
#include "agent/base/util.h"

static const char *const status_names[GS_COUNT] = {
	[GS_RUNNING] = "RUNNING", [GS_DOWN] = "DOWN", [GS_PAUSED] = "PAUSED",
	[GS_SUSPEND] = "SUSPEND", [GS_ERROR] = "ERROR", [GS_STARTING] = "STARTING",
	[GS_STOPPING] = "STOPPING", [GS_MIGRATING] = "MIGRATING",
};

const char *guest_status_name(enum guest_status s)
{
	return s > GS_NONE && s < GS_COUNT ? status_names[s] : NULL;
}

enum guest_status guest_status_parse(const char *s)
{
	for (int i = GS_NONE + 1; s && i < GS_COUNT; i++)
		if (strcmp(s, status_names[i]) == 0)
			return (enum guest_status)i;
	return GS_NONE;
}

bool guest_status_valid(const char *s) { return guest_status_parse(s) != GS_NONE; }

char *guest_status_join(unsigned mask, const char *sep, const char *last, char *buf, size_t len)
{
	size_t n = 0, left = 0;

	for (int i = GS_NONE + 1; i < GS_COUNT; i++)
		left += (mask & GS_BIT(i)) != 0;
	buf[0] = '\0';
	for (int i = GS_NONE + 1; i < GS_COUNT && n < len; i++) {
		if (!(mask & GS_BIT(i)))
			continue;
		left--;
		n += (size_t)snprintf(buf + n, len - n, "%s%s", status_names[i],
				      left > 1 ? sep : left == 1 ? last : "");
	}
	return buf;
}

/* ---- the typed view: the one place that knows how fields are spelled ------- */

static const struct field {
	const char *key;
	enum { T_STATUS, T_STR, T_INT } type;
	size_t off;
} fields[GF_COUNT] = {
#define F(id, key, type, member) [id] = { key, type, offsetof(struct guest_state, member) }
	F(GF_STATUS, "status", T_STATUS, status),
	F(GF_NAME, "name", T_STR, name),
	F(GF_UUID, "uuid", T_STR, uuid),
	F(GF_MEMORY, "memory", T_INT, memory),
	F(GF_VCPUS, "vcpus", T_INT, vcpus),
	F(GF_HA, "ha", T_INT, ha),
	F(GF_HOST, "host", T_STR, host),
	F(GF_OP, "op", T_STR, op),
	F(GF_OP_STARTED, "op_started", T_INT, op_started),
	F(GF_SAVE_FILE, "save_file", T_STR, save_file),
	F(GF_ERROR, "error", T_STR, error),
	F(GF_HV_ID, "hv_id", T_INT, hv_id),
	F(GF_VNC_PORT, "vnc_port", T_INT, vnc_port),
#undef F
};

/* Field f of g again from g->rec. */
static void decode(struct guest_state *g, enum guest_field f)
{
	const struct field *d = &fields[f];
	const char *v = record_get(&g->rec, d->key);
	void *p = (char *)g + d->off;

	switch (d->type) {
	case T_STATUS:
		*(enum guest_status *)p = guest_status_parse(v);
		break;
	case T_STR:
		free(*(char **)p);
		*(char **)p = v ? xstrdup(v) : NULL;
		break;
	case T_INT:
		*(long long *)p = record_get_int(&g->rec, d->key, GUEST_NO_INT);
		break;
	}
}

static void decode_all(struct guest_state *g)
{
	for (int f = 0; f < GF_COUNT; f++)
		decode(g, (enum guest_field)f);
}

void guest_state_init(struct guest_state *g)
{
	memset(g, 0, sizeof(*g));
	record_init(&g->rec);
	decode_all(g);
}

void guest_state_free(struct guest_state *g)
{
	for (int f = 0; f < GF_COUNT; f++)
		if (fields[f].type == T_STR)
			free(*(char **)((char *)g + fields[f].off));
	record_free(&g->rec);
	memset(g, 0, sizeof(*g));
}

/* Records of the older format had two error fields: error (why the guest
 * is ERROR) and last_error (why its last operation failed). Folded into
 * one: error when the guest is ERROR, which it explains, else the last
 * failure. True when rec changed. */
static bool fold_last_error(struct record *rec)
{
	const char *last = record_get(rec, "last_error");

	if (!last)
		return false;
	if (!record_get(rec, "error"))
		record_rename(rec, "last_error", "error");      /* in its place */
	else if (guest_status_parse(record_get(rec, "status")) != GS_ERROR)
		record_set(rec, "error", last);
	record_del(rec, "last_error");
	return true;
}

void guest_state_read(struct guest_state *g, const struct record *rec)
{
	memset(g, 0, sizeof(*g));
	record_copy(&g->rec, rec);
	g->upgraded = fold_last_error(&g->rec);
	decode_all(g);
}

void guest_state_adopt(struct guest_state *g, struct record *rec)
{
	memset(g, 0, sizeof(*g));
	g->rec = *rec;
	record_init(rec);
	g->upgraded = fold_last_error(&g->rec);
	decode_all(g);
}

int guest_set(struct guest_state *g, enum guest_field f, const char *val)
{
	char *flat = NULL;
	int r = 0;

	if (f == GF_ERROR && val && strpbrk(val, "\r\n")) {
		/* A backend's message may span lines; the record holds one. */
		flat = xstrdup(val);
		for (char *p = flat; (p = strpbrk(p, "\r\n")); p++)
			*p = ' ';
		val = flat;
	}
	if (!val)
		record_del(&g->rec, fields[f].key);
	else
		r = record_set(&g->rec, fields[f].key, val);
	decode(g, f);
	free(flat);
	return r;
}

void guest_set_int(struct guest_state *g, enum guest_field f, long long val)
{
	record_set_int(&g->rec, fields[f].key, val);
	decode(g, f);
}

void guest_set_status(struct guest_state *g, enum guest_status s)
{
	guest_set(g, GF_STATUS, guest_status_name(s));
}

void guest_unset(struct guest_state *g, enum guest_field f) { guest_set(g, f, NULL); }

int guest_state_get(struct store *s, const char *path, struct guest_state *g, char *err,
		    size_t errlen)
{
	struct record rec;
	int r = guests_get(s, path, &rec, err, errlen);

	guest_state_adopt(g, &rec);
	return r;
}

int guest_state_put(struct store *s, const char *path, struct guest_state *g, char *err,
		    size_t errlen)
{
	return guests_put(s, path, &g->rec, err, errlen);
}

struct typed_update {
	int (*fn)(struct guest_state *g, bool exists, void *arg, char *err, size_t errlen);
	void *arg;
};

static int typed_one(struct record *rec, bool exists, void *arg, char *err, size_t errlen)
{
	struct typed_update *t = arg;
	struct guest_state g;
	int r;

	guest_state_adopt(&g, rec);
	r = t->fn(&g, exists, t->arg, err, errlen);
	*rec = g.rec;           /* the record goes back to be written */
	record_init(&g.rec);
	guest_state_free(&g);
	return r;
}

int guest_state_update(struct store *s, const char *path,
		       int (*fn)(struct guest_state *g, bool exists, void *arg, char *err,
				 size_t errlen),
		       void *arg, char *err, size_t errlen)
{
	struct typed_update t = { fn, arg };

	return guests_update(s, path, typed_one, &t, err, errlen);
}

/* ---- records ------------------------------------------------------------------ */

int guests_get(struct store *s, const char *path, struct record *rec, char *err, size_t errlen)
{
	char *text = NULL;
	int r = store_get(s, GUESTS_TABLE, path, &text, err, errlen);

	record_init(rec);
	if (r != 1)
		return r;
	if (record_parse(rec, text, strlen(text)) != 0) {
		snprintf(err, errlen, "the db record of %s is damaged", path);
		free(text);
		record_free(rec);
		return -1;
	}
	free(text);
	return 1;
}

static void stamp(struct record *rec)
{
	long long now = (long long)time(NULL);

	if (!record_get(rec, "created"))
		record_set_int(rec, "created", now);
	record_set_int(rec, "updated", now);
}

/* ---- the uuid index ---------------------------------------------------- */

static const char *const guest_tables[] = { GUESTS_TABLE, GUESTS_UUID_TABLE, NULL };

#define SCAN_FIELDS 64  /* fields viewed without a copy; more take record_parse */

/* The uuid a record's text holds, as record_parse reads it, copied into
 * u: true when there is one to index. */
static bool text_uuid(const char *text, size_t len, char u[GUESTS_UUID_MAX + 1])
{
	struct record_field f[SCAN_FIELDS];
	int n = record_scan(text, len, f, SCAN_FIELDS);
	bool found = false;

	if (n == -2) {
		struct record rec;
		const char *v;
		record_init(&rec);
		if (record_parse(&rec, text, len) == 0 && (v = record_get(&rec, "uuid")) &&
		    *v && strlen(v) <= GUESTS_UUID_MAX) {
			snprintf(u, GUESTS_UUID_MAX + 1, "%s", v);
			found = true;
		}
		record_free(&rec);
		return found;
	}
	for (int i = 0; i < n && !found; i++)
		if (f[i].klen == 4 && memcmp(f[i].key, "uuid", 4) == 0 && f[i].vlen &&
		    f[i].vlen <= GUESTS_UUID_MAX) {
			memcpy(u, f[i].val, f[i].vlen);
			u[f[i].vlen] = '\0';
			found = true;
		}
	return found;
}

/* Where path is, or belongs, in a '\n' separated list in path order: sets
 * *at (offset) and returns true when it is there. */
static bool list_find(const char *list, size_t len, const char *path, size_t *at)
{
	size_t plen = strlen(path), i = 0;

	while (i < len) {
		const char *nl = memchr(list + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (list + i)) : len - i;
		int c = memcmp(list + i, path, n < plen ? n : plen);
		if (c == 0 && n == plen) {
			*at = i;
			return true;
		}
		if (c > 0 || (c == 0 && n > plen))
			break;
		i += n + 1;
	}
	*at = i < len ? i : len;
	return false;
}

/* Add path to (add) or take it from (!add) the list of uuid, in t. */
static int index_change(struct store_txn *t, const char *uuid, const char *path, bool add,
			char *err, size_t errlen)
{
	const char *cur = NULL;
	size_t len = 0, at, plen = strlen(path);
	int r = store_txn_get(t, GUESTS_UUID_TABLE, uuid, &cur, &len, err, errlen);
	bool there;
	struct buf b;

	if (r < 0)
		return -1;
	there = r == 1 && list_find(cur, len, path, &at);
	if (there == add)
		return 0;
	buf_init(&b, 0);
	if (add) {
		/* at: where the first path after ours starts, or len. */
		if (r != 1)
			at = 0;
		buf_append(&b, cur, at);
		if (at == len && len)
			buf_append(&b, "\n", 1);
		buf_append(&b, path, plen);
		if (at < len) {
			buf_append(&b, "\n", 1);
			buf_append(&b, cur + at, len - at);  /* cur is NULL when r != 1 */
		}
	} else {
		size_t end = at + plen < len ? at + plen + 1 : len;
		/* Drop the line and one of its separators. */
		if (end == len && at > 0)
			at--;
		buf_append(&b, cur, at);
		buf_append(&b, cur + end, len - end);
	}
	if (b.len)
		r = store_txn_put(t, GUESTS_UUID_TABLE, uuid, b.data, b.len, err, errlen);
	else
		r = store_txn_del(t, GUESTS_UUID_TABLE, uuid, err, errlen) < 0 ? -1 : 0;
	buf_free(&b);
	return r;
}

/* Replace path's record, whose text was old (had: it existed), with text
 * (NULL: delete it), and move path in the uuid index to match, in t. */
static int write_guest(struct store_txn *t, const char *path, const char *old, size_t oldlen,
		       bool had, const char *text, char *err, size_t errlen)
{
	char ou[GUESTS_UUID_MAX + 1], nu[GUESTS_UUID_MAX + 1];
	/* Both read before any write: a write may move what old points to. */
	bool ho = had && text_uuid(old, oldlen, ou);
	bool hn = text && text_uuid(text, strlen(text), nu);
	bool same = ho && hn && strcmp(ou, nu) == 0;

	if (ho && !same && index_change(t, ou, path, false, err, errlen) != 0)
		return -1;
	if (hn && !same && index_change(t, nu, path, true, err, errlen) != 0)
		return -1;
	if (text)
		return store_txn_put(t, GUESTS_TABLE, path, text, strlen(text), err, errlen);
	return store_txn_del(t, GUESTS_TABLE, path, err, errlen) < 0 ? -1 : 0;
}

/* Write text (NULL: delete) as path's record. 1 written or deleted, 0
 * nothing to delete, -1 error. */
static int store_guest(struct store *s, const char *path, const char *text, char *err,
		       size_t errlen)
{
	struct store_txn *t = store_txn_begin(s, true, guest_tables, err, errlen);
	const char *old = NULL;
	size_t oldlen = 0;
	int had;

	if (!t)
		return -1;
	had = store_txn_get(t, GUESTS_TABLE, path, &old, &oldlen, err, errlen);
	if (had < 0 || (!had && !text)) {
		store_txn_abort(t);
		return had < 0 ? -1 : 0;
	}
	if (write_guest(t, path, old, oldlen, had, text, err, errlen) != 0) {
		store_txn_abort(t);
		return -1;
	}
	return store_txn_commit(t, err, errlen) == 0 ? 1 : -1;
}

int guests_put(struct store *s, const char *path, struct record *rec, char *err, size_t errlen)
{
	char *text;
	int r;

	stamp(rec);
	text = record_format(rec);
	r = store_guest(s, path, text, err, errlen);
	free(text);
	return r < 0 ? -1 : 0;
}

int guests_del(struct store *s, const char *path, char *err, size_t errlen)
{
	return store_guest(s, path, NULL, err, errlen);
}

struct build_ctx {
	struct store_txn *t;
	char *err;
	size_t errlen;
	int rc;
};

static int build_one(const char *key, size_t klen, const char *val, size_t vlen, void *arg)
{
	struct build_ctx *c = arg;
	char u[GUESTS_UUID_MAX + 1], *path;

	if (!text_uuid(val, vlen, u))
		return 0;
	/* Copied before the write, which may move what key points to. */
	path = xstrndup(key, klen);
	c->rc = index_change(c->t, u, path, true, c->err, c->errlen);
	free(path);
	return c->rc != 0;
}

int guests_index_build(struct store_txn *t, char *err, size_t errlen)
{
	struct build_ctx c = { t, err, errlen, 0 };

	if (store_txn_clear(t, GUESTS_UUID_TABLE, err, errlen) != 0 ||
	    store_txn_each(t, GUESTS_TABLE, build_one, &c, err, errlen) != 0)
		return -1;
	return c.rc;
}

int guests_find_uuid(struct store *s, const char *uuid, const char *except, char **path,
		     char *err, size_t errlen)
{
	static const char *const index_only[] = { GUESTS_UUID_TABLE, NULL };
	struct store_txn *t;
	const char *list;
	size_t len, i = 0;
	int r;

	*path = NULL;
	if (!*uuid || strlen(uuid) > GUESTS_UUID_MAX)
		return 0;
	if (!(t = store_txn_begin(s, false, index_only, err, errlen)))
		return -1;
	r = store_txn_get(t, GUESTS_UUID_TABLE, uuid, &list, &len, err, errlen);
	while (r == 1 && i < len && !*path) {
		const char *nl = memchr(list + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (list + i)) : len - i;
		if (!except || strlen(except) != n || memcmp(list + i, except, n) != 0)
			*path = xstrndup(list + i, n);
		i += n + 1;
	}
	store_txn_abort(t);
	return r < 0 ? -1 : *path != NULL;
}

struct each_ctx {
	int (*fn)(const char *path, const struct record *rec, void *arg);
	void *arg;
};

static int each_one(const char *key, const char *val, size_t vlen, void *arg)
{
	struct each_ctx *c = arg;
	struct record rec;
	int stop;

	record_init(&rec);
	if (record_parse(&rec, val, vlen) != 0) {
		record_free(&rec);
		record_set(&rec, "status", GUEST_ERROR);
		record_set(&rec, "error", "damaged db record");
	}
	stop = c->fn(key, &rec, c->arg);
	record_free(&rec);
	return stop;
}

int guests_each(struct store *s, int (*fn)(const char *path, const struct record *rec, void *arg),
		void *arg, char *err, size_t errlen)
{
	struct each_ctx c = { fn, arg };

	return store_each(s, GUESTS_TABLE, each_one, &c, err, errlen);
}

struct view_ctx {
	int (*fn)(const char *path, size_t plen, const struct record_field *f, size_t n, void *arg);
	void *arg;
};

static int view_one(const char *key, size_t klen, const char *val, size_t vlen, void *arg)
{
	struct view_ctx *c = arg;
	const char *error = guest_status_name(GS_ERROR);
	const struct record_field damaged[] = {
		{ "status", error, 6, strlen(error) },
		{ "error", "damaged db record", 5, 17 },
	};
	struct record_field f[SCAN_FIELDS], *many;
	struct record rec;
	int n = record_scan(val, vlen, f, SCAN_FIELDS), stop;

	if (n >= 0)
		return c->fn(key, klen, f, (size_t)n, c->arg);
	if (n == -1)
		return c->fn(key, klen, damaged, ARRAY_SIZE(damaged), c->arg);
	/* More fields than the scan holds: the slow way, same result. */
	record_init(&rec);
	if (record_parse(&rec, val, vlen) != 0) {
		record_free(&rec);
		return c->fn(key, klen, damaged, ARRAY_SIZE(damaged), c->arg);
	}
	many = xcalloc(rec.n, sizeof(*many));
	for (size_t i = 0; i < rec.n; i++)
		many[i] = (struct record_field){ rec.keys[i], rec.vals[i], strlen(rec.keys[i]),
						 strlen(rec.vals[i]) };
	stop = c->fn(key, klen, many, rec.n, c->arg);
	free(many);
	record_free(&rec);
	return stop;
}

int guests_each_view(struct store *s,
		     int (*fn)(const char *path, size_t plen, const struct record_field *f,
			       size_t n, void *arg),
		     void *arg, char *err, size_t errlen)
{
	static const char *const records[] = { GUESTS_TABLE, NULL };
	struct view_ctx c = { fn, arg };
	struct store_txn *t = store_txn_begin(s, false, records, err, errlen);
	int r;

	if (!t)
		return -1;
	r = store_txn_each(t, GUESTS_TABLE, view_one, &c, err, errlen);
	store_txn_abort(t);
	return r;
}

char *guest_path_for(const char *ovs_root, const char *arg)
{
	size_t n = strlen(ovs_root);

	if (arg[0] == '/')
		return xstrdup(arg);
	/* "/OVS/" and "/OVS" name the same root and must give the same key
	 * ("/" gives "/running_pool/<name>"). */
	while (n > 0 && ovs_root[n - 1] == '/')
		n--;
	return xasprintf("%.*s/running_pool/%s", (int)n, ovs_root, arg);
}

int guests_update(struct store *s, const char *path,
		  int (*fn)(struct record *rec, bool exists, void *arg, char *err, size_t errlen),
		  void *arg, char *err, size_t errlen)
{
	struct store_txn *t = store_txn_begin(s, true, guest_tables, err, errlen);
	const char *cur = NULL;
	size_t len = 0;
	struct record rec;
	char *text = NULL;
	int had, r;

	if (!t)
		return -1;
	record_init(&rec);
	had = store_txn_get(t, GUESTS_TABLE, path, &cur, &len, err, errlen);
	if (had < 0) {
		r = -1;
		goto abort;
	}
	if (had && record_parse(&rec, cur, len) != 0) {
		snprintf(err, errlen, "the db record of %s is damaged", path);
		r = -1;
		goto abort;
	}
	/* fn's 1 (leave it) and its refusals (negative) write nothing. */
	r = fn(&rec, had == 1, arg, err, errlen);
	if (r != 0 && r != 2)
		goto abort;
	if (r == 0) {
		stamp(&rec);
		text = record_format(&rec);
	}
	if ((r == 0 || had) && write_guest(t, path, cur, len, had, text, err, errlen) != 0) {
		r = -1;
		goto abort;
	}
	free(text);
	record_free(&rec);
	return store_txn_commit(t, err, errlen) == 0 ? r : -1;
abort:
	store_txn_abort(t);
	free(text);
	record_free(&rec);
	return r;
}

char *guest_key(const char *ovs_root, const char *arg, char *err, size_t errlen)
{
	char *path, *root, *rest, *part[4], *save = NULL;
	const char *below;
	size_t n, nroot, k = 0;
	bool ok;

	if (!*arg || strchr(arg, '\n') ||
	    (arg[0] != '/' && (strchr(arg, '/') || !strcmp(arg, ".") || !strcmp(arg, "..")))) {
		snprintf(err, errlen, "bad guest name \"%.200s\"", arg);
		return NULL;
	}
	path = guest_path_for(ovs_root, arg);
	root = xstrdup(ovs_root);
	n = strlen(path);
	nroot = strlen(root);
	while (n > 1 && path[n - 1] == '/')
		path[--n] = '\0';
	while (nroot > 1 && root[nroot - 1] == '/')
		root[--nroot] = '\0';
	below = beneath_strip(root, path);
	ok = below && *below && !strstr(path, "//");
	rest = xstrdup(ok ? below : "");
	for (char *p = strtok_r(rest, "/", &save); p && ok; p = strtok_r(NULL, "/", &save)) {
		ok = k < ARRAY_SIZE(part) && strcmp(p, ".") != 0 && strcmp(p, "..") != 0;
		if (ok)
			part[k++] = p;
	}
	ok = ok && ((k == 2 && !strcmp(part[0], "running_pool")) ||
		    (k == 3 && !strcmp(part[1], "running_pool")));
	if (!ok) {
		snprintf(err, errlen, "%.300s is not a guest: guests are %s/running_pool/<name> or "
			 "%s/<repository>/running_pool/<name>, without '.', '..' or '//'",
			 arg, root, root);
		free(path);
		path = NULL;
	}
	free(rest);
	free(root);
	return path;
}
