/* methods_storage.c - the storage methods: sp_create, sr_create, sr_do,
 * get_storage_repos, get_storage_free_space, add_repository,
 * remove_repository.
 *
 * As the real 2.x agent's storage calls did, each answers a JSON string,
 * {"status":"SUCC","value":{...}}; failures are faults like every other
 * method's. Mounts, unmounts and the repository files are the scripts'
 * (ovs-makerepo, ovs-offlinerepo, ovsrepositories), run through the hook
 * runner; the view (agent/repo) is read again when one ends. Sizes come
 * from statvfs in a child (repo_probe), so a dead NFS server never stalls
 * the loop: after REPO_PROBE_MS its repository's size and free are null. */
#define LOG_CAT "repo"
#include "agent/rpc/methods.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/base/buf.h"
#include "agent/base/child.h"
#include "agent/base/fault.h"
#include "agent/base/hook.h"
#include "agent/base/json.h"
#include "agent/base/log.h"
#include "agent/base/util.h"
#include "agent/guest/names.h"
#include "agent/repo/repo_hooks.h"
#include "agent/repo/repoview.h"
#include "agent/rpc/rpc_params.h"
#include "agent/server/server.h"
#include "db/guests.h"
#include "db/record.h"
#include "db/storage.h"

#define REPO_PROBE_MS 10000
#define JSON_ANSWER_MAX (4u << 20)

/* ---- the JSON answer ---------------------------------------------------------- */

/* s as a JSON string; bytes that are not valid UTF-8 or are control
 * characters shown as '?' (a file may hold anything). */
static void jstr(struct buf *b, const char *s)
{
	size_t n = strlen(s);
	char *shown = xmalloc(n + 4), err[64];

	name_show(shown, s, n);
	if (json_write_string(b, shown, strlen(shown), err, sizeof(err)) != 0)
		buf_puts(b, "\"\"");
	free(shown);
}

static void jkey(struct buf *b, bool *first, const char *key)
{
	buf_printf(b, "%s\"%s\":", *first ? "" : ",", key);
	*first = false;
}

static void jkv_str(struct buf *b, bool *first, const char *key, const char *val)
{
	jkey(b, first, key);
	jstr(b, val);
}

/* Answer {"status":"SUCC","value":<value>}; value is a JSON object. */
static void succ(struct rpc_call *call, struct buf *value)
{
	struct buf out;

	buf_init(&out, JSON_ANSWER_MAX);
	buf_puts(&out, "{\"status\":\"SUCC\",\"value\":");
	buf_append(&out, value->data ? value->data : "{}", value->data ? value->len : 2);
	buf_puts(&out, "}");
	if (value->failed || out.failed)
		rpc_fault(call, FAULT_NO_RESOURCES, "the answer is longer than %u bytes",
			  JSON_ANSWER_MAX);
	else
		rpc_return_string(call, out.data);
	buf_free(&out);
}

static const char *shared_name(char c)
{
	return c == 'C' ? "C" : c == '1' ? "1" : c == '0' ? "0" : "";
}

/* One repository's members, without size and free. */
static void repo_json(struct buf *b, bool *first, const struct repo *r)
{
	jkv_str(b, first, "uuid", r->uuid);
	jkv_str(b, first, "source", r->source);
	jkv_str(b, first, "mount_point", r->mnt);
	jkv_str(b, first, "shared", shared_name(r->shared));
	jkv_str(b, first, "description", r->desc);
	jkv_str(b, first, "options", r->options);
	jkv_str(b, first, "fstype", r->fstype);
	jkey(b, first, "mounted");
	buf_puts(b, r->mounted ? "true" : "false");
}

/* ---- arguments ------------------------------------------------------------------ */

/* The repository view, or the call answered (a harness built without one). */
static struct repoview *view_or_fault(struct rpc_call *call)
{
	struct repoview *rv = rpc_server(call)->repos;

	if (!rv)
		rpc_fault(call, FAULT_IO, "the agent has no repository view");
	return rv;
}

/* Param i as text for a script's argv: valid UTF-8, no control character,
 * 1 to max bytes; else the call is answered (1000) and NULL returned. */
static char *text_param(struct rpc_call *call, xmlrpc_value *params, int i, const char *what,
			size_t max)
{
	char *v = param_str(params, i), err[256];

	if (!*v || strlen(v) > max) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "%s must be 1 to %zu bytes", what, max);
	} else if (name_check(what, v, err, sizeof(err)) != 0) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "%s", err);
	} else {
		return v;
	}
	free(v);
	return NULL;
}

/* A source: a block device or directory by absolute path, or host:/path. */
static bool source_ok(const char *s)
{
	const char *colon = strchr(s, ':');

	if (strchr(s, ' ') || strchr(s, '\t'))
		return false;
	if (s[0] == '/')
		return true;
	if (!colon || colon == s || colon[1] != '/')
		return false;
	for (const char *p = s; p < colon; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '[' &&
		    *p != ']' && *p != ':')
			return false;
	return true;
}

static const struct repo *repo_param(struct rpc_call *call, xmlrpc_value *params, int i)
{
	struct repoview *rv = view_or_fault(call);
	const struct repo *r = NULL;
	char *u;

	if (!rv)
		return NULL;
	u = param_str(params, i);
	if (!repo_uuid_ok(u, strlen(u)))
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "'%.60s' is not a repository uuid "
			  "(lower-case 8-4-4-4-12)", u);
	else if (!(r = repoview_find(rv, u)))
		rpc_fault(call, FAULT_NOT_FOUND, "there is no repository %s in %s", u,
			  rpc_server(call)->cfg.repositories_file);
	free(u);
	return r;
}

/* ---- running the scripts ---------------------------------------------------------- */

enum st_kind { ST_ADD, ST_REMOVE, ST_MOUNT, ST_SR_CREATE };

struct st_op {
	struct rpc_call *call;
	enum st_kind kind;
	char uuid[37], sp_uuid[37];
	char source[REPO_SOURCE_MAX + 1];
	bool del;
};

static void script_done(void *arg, const struct hook_result *r)
{
	struct st_op *op = arg;
	struct server *srv = rpc_server(op->call);
	const struct repo *rp;
	struct buf v;
	bool first = true;

	/* Whatever the script did, the view reads the files and mounts again. */
	repoview_reload(srv->repos);
	if (r->fault) {
		rpc_fault(op->call, r->fault, "%s", r->msg);
		free(op);
		return;
	}
	buf_init(&v, JSON_ANSWER_MAX);
	buf_puts(&v, "{");
	switch (op->kind) {
	case ST_ADD:
	case ST_SR_CREATE: {
		/* ovs-makerepo prints the uuid, alone, on stdout */
		const char *out = r->out && r->out->data ? r->out->data : "";
		size_t n = strlen(out);
		while (n && isspace((unsigned char)out[n - 1]))
			n--;
		if (n < 36 || !repo_uuid_ok(out + n - 36, 36)) {
			rpc_fault(op->call, FAULT_HOOK, "ovs-makerepo succeeded but printed no "
				  "repository uuid");
			goto out;
		}
		memcpy(op->uuid, out + n - 36, 36);
		op->uuid[36] = '\0';
		if (op->kind == ST_SR_CREATE)
			jkv_str(&v, &first, "sp_uuid", op->sp_uuid);
		if ((rp = repoview_find(srv->repos, op->uuid))) {
			repo_json(&v, &first, rp);
		} else {
			jkv_str(&v, &first, "uuid", op->uuid);
			jkv_str(&v, &first, "source", op->source);
		}
		log_info("repository %s (%s) added", op->uuid, op->source);
		break;
	}
	case ST_REMOVE:
		jkv_str(&v, &first, "uuid", op->uuid);
		jkv_str(&v, &first, "source", op->source);
		jkey(&v, &first, "deleted");
		buf_puts(&v, op->del ? "true" : "false");
		jkey(&v, &first, "mounted");
		rp = repoview_find(srv->repos, op->uuid);
		buf_puts(&v, rp && rp->mounted ? "true" : "false");
		log_info("repository %s (%s) taken offline%s", op->uuid, op->source,
			 op->del ? " and removed from the list" : "");
		break;
	case ST_MOUNT:
		rp = repoview_find(srv->repos, op->uuid);
		if (!rp || !rp->mounted) {
			rpc_fault(op->call, FAULT_HOOK, "ovsrepositories start succeeded but "
				  "repository %s (%s) is still not mounted", op->uuid, op->source);
			goto out;
		}
		repo_json(&v, &first, rp);
		break;
	}
	buf_puts(&v, "}");
	succ(op->call, &v);
out:
	buf_free(&v);
	free(op);
}

static void run_script(struct st_op *op, const char *const *argv)
{
	struct server *srv = rpc_server(op->call);
	static const char *const events[] = { "add_repository", "remove_repository", "sr_mount",
					      "sr_create" };
	struct hook_req req = { .kind = HOOK_REPOSITORY, .argv = argv, .event = events[op->kind] };
	struct repo_env env;
	char err[256];

	repo_env_make(&env, srv->repos, srv->cfg.path);
	req.env = (const char *const *)env.e;
	if (!hook_run(srv->hooks, &req, script_done, op, err, sizeof(err))) {
		rpc_fault(op->call, srv->stopping ? FAULT_SHUTTING_DOWN : FAULT_HOOK,
			  "cannot run %s: %s", argv[0], err);
		free(op);
	}
	repo_env_free(&env);
}

static void makerepo(struct rpc_call *call, enum st_kind kind, const char *sp_uuid,
		     const char *source, const char *shared, const char *desc)
{
	struct st_op *op = xcalloc(1, sizeof(*op));
	const char *argv[] = { "ovs-makerepo", source, shared, desc, NULL };

	op->call = call;
	op->kind = kind;
	snprintf(op->sp_uuid, sizeof(op->sp_uuid), "%s", sp_uuid ? sp_uuid : "");
	snprintf(op->source, sizeof(op->source), "%s", source);
	run_script(op, argv);
}

/* The guests of r that run here (RUNNING, PAUSED, STARTING, STOPPING,
 * MIGRATING: as ovs-offlinerepo counts them), as
 * "a, b" (cut to fit); how many. */
struct busy { struct server *srv; const struct repo *r; struct buf *names; size_t n; };

static int busy_guest(const char *path, const struct record *rec, void *arg)
{
	struct busy *b = arg;
	const char *st = record_get(rec, "status");

	if (st && strcmp(st, GUEST_DOWN) != 0 && strcmp(st, GUEST_ERROR) != 0 &&
	    strcmp(st, GUEST_SUSPEND) != 0 &&
	    repoview_for_path(b->srv->repos, path) == b->r) {
		if (b->names->len < 512)
			buf_printf(b->names, "%s%s (%s)", b->n ? ", " : "", path, st);
		b->n++;
	}
	return 0;
}

/* ovs-offlinerepo [-d] uuid source, refused first (1004) while a guest of
 * it runs here. */
static void offline(struct rpc_call *call, const struct repo *r, bool del)
{
	struct server *srv = rpc_server(call);
	struct buf names;
	struct busy b = { srv, r, &names, 0 };
	char err[256];
	struct st_op *op;

	buf_init(&names, 1024);
	if (guests_each(srv->store, busy_guest, &b, err, sizeof(err)) != 0) {
		rpc_fault(call, FAULT_IO, "%s", err);
	} else if (b.n) {
		rpc_fault(call, FAULT_STATE, "repository %s (%s) has %zu guest(s) running here: %s; "
			  "stop them first", r->uuid, r->source, b.n, names.data);
	} else {
		const char *argv[] = { "ovs-offlinerepo", "-d", r->uuid, r->source, NULL };
		op = xcalloc(1, sizeof(*op));
		op->call = call;
		op->kind = ST_REMOVE;
		op->del = del;
		memcpy(op->uuid, r->uuid, sizeof(op->uuid));
		snprintf(op->source, sizeof(op->source), "%s", r->source);
		if (!del) {
			argv[1] = r->uuid;
			argv[2] = r->source;
			argv[3] = NULL;
		}
		run_script(op, argv);
	}
	buf_free(&names);
}

/* ---- add_repository, remove_repository ------------------------------------------------ */

void m_add_repository(struct rpc_call *call, xmlrpc_value *params)
{
	char *source = NULL, *shared = NULL, *desc = NULL;

	if (!view_or_fault(call) || !(source = text_param(call, params, 0, "source", REPO_SOURCE_MAX)))
		goto out;
	shared = param_str(params, 1);
	if (!source_ok(source)) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "source %s is neither a device or directory "
			  "(an absolute path) nor host:/path", source);
	} else if (strcmp(shared, "C") != 0 && strcmp(shared, "1") != 0 &&
		   strcmp(shared, "0") != 0) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "shared must be C (the cluster root), 1 "
			  "(shared) or 0 (local); got '%.20s'", shared);
	} else if ((desc = text_param(call, params, 2, "description", REPO_DESC_MAX))) {
		makerepo(call, ST_ADD, NULL, source, shared, desc);
	}
out:
	free(source);
	free(shared);
	free(desc);
}

void m_remove_repository(struct rpc_call *call, xmlrpc_value *params)
{
	const struct repo *r = repo_param(call, params, 0);
	xmlrpc_value *v = NULL;
	xmlrpc_env env;
	xmlrpc_bool del = 0;
	long long n = 0;

	if (!r)
		return;
	xmlrpc_env_init(&env);
	if (param_count(params) > 1) {
		xmlrpc_array_read_item(&env, params, 1, &v);
		if (!env.fault_occurred && xmlrpc_value_type(v) == XMLRPC_TYPE_BOOL)
			xmlrpc_read_bool(&env, v, &del);
		else if (param_int(params, 1, &n) == 0 && (n == 0 || n == 1))
			del = n == 1;
		else {
			rpc_fault(call, FAULT_INVALID_ARGUMENT, "delete must be a boolean (or 0/1)");
			goto out;
		}
	}
	offline(call, r, del);
out:
	if (v)
		xmlrpc_DECREF(v);
	xmlrpc_env_clean(&env);
}

/* ---- sp_create, sr_create, sr_do ---------------------------------------------------- */

static const char *const sp_types[] = { "OVSSPNFS", "OVSSPOCFS2", "OVSSPPartition" };

void m_sp_create(struct rpc_call *call, xmlrpc_value *params)
{
	struct server *srv = rpc_server(call);
	char *type = param_str(params, 0), *spec = NULL, err[512];
	struct storage st;
	struct buf v;
	bool first = true, known = false;
	struct stat sb;
	int r;

	buf_init(&v, JSON_ANSWER_MAX);
	for (size_t i = 0; i < sizeof(sp_types) / sizeof(sp_types[0]); i++)
		known = known || strcmp(type, sp_types[i]) == 0;
	if (!known) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "storage type '%.40s' is not OVSSPNFS, "
			  "OVSSPOCFS2 or OVSSPPartition", type);
		goto out;
	}
	if (!(spec = text_param(call, params, 1, "fs_spec", STORAGE_SPEC_MAX)))
		goto out;
	if (strcmp(type, "OVSSPNFS") == 0 ? !(source_ok(spec) && spec[0] != '/')
					  : !(spec[0] == '/' && source_ok(spec))) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "%s storage is %s; got '%s'", type,
			  strcmp(type, "OVSSPNFS") == 0 ? "host:/path" : "a block device", spec);
		goto out;
	}
	if (spec[0] == '/' && (stat(spec, &sb) != 0 || !S_ISBLK(sb.st_mode))) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "%s is not a block device%s%s", spec,
			  errno == ENOENT ? ": " : "", errno == ENOENT ? strerror(errno) : "");
		goto out;
	}
	if ((r = storage_find_spec(srv->store, spec, &st, err, sizeof(err))) < 0) {
		rpc_fault(call, FAULT_IO, "%s", err);
		goto out;
	}
	if (r == 0) {
		/* new; the same fs_spec again answers the uuid it has */
		uuid_generate_v4(st.uuid);
		snprintf(st.type, sizeof(st.type), "%s", type);
		snprintf(st.spec, sizeof(st.spec), "%s", spec);
		if (storage_put(srv->store, &st, err, sizeof(err)) != 0) {
			rpc_fault(call, FAULT_IO, "%s", err);
			goto out;
		}
		log_info("storage %s recorded: %s %s", st.uuid, st.type, st.spec);
	}
	buf_puts(&v, "{");
	jkv_str(&v, &first, "uuid", st.uuid);
	jkv_str(&v, &first, "type", st.type);
	jkv_str(&v, &first, "fs_spec", st.spec);
	buf_puts(&v, "}");
	succ(call, &v);
out:
	buf_free(&v);
	free(type);
	free(spec);
}

void m_sr_create(struct rpc_call *call, xmlrpc_value *params)
{
	struct server *srv = rpc_server(call);
	char *sp, *label = NULL, err[512];
	struct storage st;
	int r;

	if (!view_or_fault(call))
		return;
	sp = param_str(params, 0);
	if (!repo_uuid_ok(sp, strlen(sp)) ||
	    (r = storage_get(srv->store, sp, &st, err, sizeof(err))) == 0) {
		rpc_fault(call, FAULT_NOT_FOUND, "there is no storage '%.60s' (sp_create records "
			  "one)", sp);
	} else if (r < 0) {
		rpc_fault(call, FAULT_IO, "%s", err);
	} else if ((label = text_param(call, params, 1, "name_label", REPO_DESC_MAX))) {
		/* NFS and OCFS2 storage is shared by the pool; a partition is this host's */
		makerepo(call, ST_SR_CREATE, st.uuid, st.spec,
			 strcmp(st.type, "OVSSPPartition") == 0 ? "0" : "1", label);
	}
	free(sp);
	free(label);
}

/* initialize: the five pools, made in a child (a network file system
 * may hang). */
struct init_op { struct rpc_call *call; struct repo r; };

static int make_pools(void *arg)
{
	static const char *const pools[] = { "running_pool", "seed_pool", "iso_pool",
					     "publish_pool", "sharedDisk" };
	struct init_op *op = arg;
	int rc = 0;

	for (size_t i = 0; i < sizeof(pools) / sizeof(pools[0]); i++) {
		char p[PATH_MAX + 32];
		snprintf(p, sizeof(p), "%s/%s", op->r.mnt, pools[i]);
		if (mkdir(p, 0755) != 0 && errno != EEXIST) {
			fprintf(stderr, "mkdir %s: %s\n", p, strerror(errno));
			rc = 1;
		}
	}
	return rc;
}

static void pools_made(const struct child_result *res, void *arg)
{
	struct init_op *op = arg;
	char why[512];
	struct buf v;
	bool first = true;

	if (!child_ok(res, REPO_PROBE_MS, why, sizeof(why))) {
		rpc_fault(op->call, FAULT_IO, "initializing repository %s: %s", op->r.uuid, why);
	} else {
		buf_init(&v, JSON_ANSWER_MAX);
		buf_puts(&v, "{");
		repo_json(&v, &first, &op->r);
		buf_puts(&v, "}");
		succ(op->call, &v);
		buf_free(&v);
	}
	free(op);
}

void m_sr_do(struct rpc_call *call, xmlrpc_value *params)
{
	struct server *srv = rpc_server(call);
	const struct repo *r = repo_param(call, params, 0);
	char *action = param_str(params, 1), err[256];

	if (!r)
		goto out;
	if (strcmp(action, "unmount") == 0) {
		offline(call, r, false);
	} else if (strcmp(action, "mount") == 0) {
		static const char *const argv[] = { "ovsrepositories", "start", NULL };
		struct st_op *op;
		if (r->mounted) {
			struct buf v;
			bool first = true;
			buf_init(&v, JSON_ANSWER_MAX);
			buf_puts(&v, "{");
			repo_json(&v, &first, r);
			buf_puts(&v, "}");
			succ(call, &v);
			buf_free(&v);
			goto out;
		}
		op = xcalloc(1, sizeof(*op));
		op->call = call;
		op->kind = ST_MOUNT;
		memcpy(op->uuid, r->uuid, sizeof(op->uuid));
		snprintf(op->source, sizeof(op->source), "%s", r->source);
		run_script(op, argv);
	} else if (strcmp(action, "initialize") == 0) {
		struct init_op *op;
		struct child_opts o = { .fn = make_pools, .timeout_ms = REPO_PROBE_MS };
		if (!r->mounted) {
			rpc_fault(call, FAULT_STATE, "repository %s (%s) is offline: it is not mounted "
				  "at %s", r->uuid, r->source, r->mnt);
			goto out;
		}
		op = xcalloc(1, sizeof(*op));
		op->call = call;
		op->r = *r;
		o.fn_arg = op;
		if (!child_spawn(srv->loop, &o, pools_made, op, err, sizeof(err))) {
			rpc_fault(call, FAULT_IO, "cannot initialize %s: %s", r->uuid, err);
			free(op);
		}
	} else {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "action '%.40s' is not initialize, mount or "
			  "unmount", action);
	}
out:
	free(action);
}

/* ---- get_storage_repos, get_storage_free_space ------------------------------------------ */

/* A snapshot of the repositories asked about, alive until the probe ends. */
struct probe_op {
	struct rpc_call *call;
	bool one;                       /* get_storage_free_space */
	struct repo *r;
	size_t n;
	const char **mnts;              /* the mounted ones' mount points */
	size_t *idx;                    /* mnts[k] is r[idx[k]] */
	size_t nm;
};

static void probe_op_free(struct probe_op *op)
{
	free(op->r);
	free(op->mnts);
	free(op->idx);
	free(op);
}

static void probed(void *arg, const struct repo_space *sp, size_t n, const char *why)
{
	struct probe_op *op = arg;
	struct server *srv = rpc_server(op->call);
	const struct repo_space **of = xcalloc(op->n ? op->n : 1, sizeof(*of));
	struct buf v;
	bool first = true;

	if (why)
		log_warn("repository sizes: the statvfs child %s; those not answered show null",
			 why);
	for (size_t k = 0; k < n && k < op->nm; k++) {
		of[op->idx[k]] = &sp[k];
		if (sp[k].marker_ok)
			repoview_learn(srv->repos, op->r[op->idx[k]].uuid, &sp[k].marker);
	}
	buf_init(&v, JSON_ANSWER_MAX);
	if (op->one) {
		const struct repo_space *s = of[0];
		if (!s || !s->ok) {
			rpc_fault(op->call, s && s->err ? FAULT_IO : FAULT_TIMEOUT,
				  "statvfs %s: %s", op->r[0].mnt,
				  s && s->err ? strerror(s->err) : "no answer in time (a hung "
				  "network file system?)");
			goto out;
		}
		buf_printf(&v, "{\"uuid\":\"%s\",\"mount_point\":", op->r[0].uuid);
		jstr(&v, op->r[0].mnt);
		buf_printf(&v, ",\"free\":%llu,\"total\":%llu}", s->free, s->total);
	} else {
		buf_puts(&v, "{\"repositories\":[");
		for (size_t i = 0; i < op->n; i++) {
			const struct repo *cur = repoview_find(srv->repos, op->r[i].uuid);
			const struct repo_space *s = of[i];
			bool f = true;
			buf_puts(&v, i ? ",{" : "{");
			repo_json(&v, &f, cur ? cur : &op->r[i]);
			if (s && s->ok)
				buf_printf(&v, ",\"size\":%llu,\"free\":%llu}", s->total, s->free);
			else
				buf_puts(&v, ",\"size\":null,\"free\":null}");
		}
		buf_puts(&v, "]}");
	}
	(void)first;
	succ(op->call, &v);
out:
	buf_free(&v);
	free(of);
	probe_op_free(op);
}

static void probe(struct rpc_call *call, struct probe_op *op)
{
	char err[256];

	op->mnts = xcalloc(op->n ? op->n : 1, sizeof(*op->mnts));
	op->idx = xcalloc(op->n ? op->n : 1, sizeof(*op->idx));
	for (size_t i = 0; i < op->n; i++)
		if (op->r[i].mounted) {
			op->idx[op->nm] = i;
			op->mnts[op->nm++] = op->r[i].mnt;
		}
	if (op->nm == 0) {
		probed(op, NULL, 0, NULL);
		return;
	}
	if (repo_probe(rpc_server(call)->loop, op->mnts, op->nm, REPO_PROBE_MS, probed, op, err,
		       sizeof(err)) != 0) {
		rpc_fault(call, FAULT_IO, "cannot read the repositories' sizes: %s", err);
		probe_op_free(op);
	}
}

void m_get_storage_repos(struct rpc_call *call, xmlrpc_value *params)
{
	struct repoview *rv = view_or_fault(call);
	struct probe_op *op;

	if (!rv)
		return;
	op = xcalloc(1, sizeof(*op));
	op->call = call;
	op->n = repoview_count(rv);
	op->r = xcalloc(op->n ? op->n : 1, sizeof(*op->r));
	for (size_t i = 0; i < op->n; i++)
		op->r[i] = *repoview_at(rv, i);
	probe(call, op);
}

void m_get_storage_free_space(struct rpc_call *call, xmlrpc_value *params)
{
	const struct repo *r = repo_param(call, params, 0);
	struct probe_op *op;

	if (!r)
		return;
	if (!r->mounted) {
		rpc_fault(call, FAULT_STATE, "repository %s (%s) is offline: it is not mounted at %s",
			  r->uuid, r->source, r->mnt);
		return;
	}
	op = xcalloc(1, sizeof(*op));
	op->call = call;
	op->one = true;
	op->n = 1;
	op->r = xmalloc(sizeof(*op->r));
	op->r[0] = *r;
	probe(call, op);
}
