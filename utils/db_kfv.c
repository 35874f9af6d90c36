/* db_kfv - show or set a field of a guest's (or the pool's) db record.
 *
 *   db_kfv [--config PATH] vm GUEST [FIELD [VALUE]]
 *   db_kfv [--config PATH] pool [KEY [VALUE]]
 *   db_kfv [--config PATH] --create vm GUEST [FIELD [VALUE]]
 *
 * Reading prints "<path> <field>(now)=><value>" (the guide's format, e.g.
 * "/OVS/running_pool/guest status(now)=>DOWN"); setting prints
 * "<path> <field>(old)=><old> (new)=><new>". The agent may be running: LMDB
 * serialises this tool's writes with the agent's. Exit 0 done, 1 error or
 * not found, 2 usage. */
#include "db/guests.h"
#include "db/record.h"
#include "db/store.h"
#include "agent/base/util.h"
#include "utils/tool.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG "db_kfv"
#define POOL_TABLE "pool"

struct args {
	const char *table;      /* "vm" or "pool" */
	const char *name;       /* the guest (vm only) */
	const char *field;      /* NULL: every field */
	const char *value;      /* NULL: show, else set */
	bool create;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " [--config PATH] vm GUEST [FIELD [VALUE]]\n"
		"       " PROG " [--config PATH] pool [KEY [VALUE]]\n"
		"       " PROG " [--config PATH] --create vm GUEST [FIELD [VALUE]]\n"
		"Show a field of a guest's db record (every field when FIELD is left out),\n"
		"or set it to VALUE. GUEST is a name in <ovs_root>/running_pool/ or the\n"
		"guest's absolute path. status accepts RUNNING, DOWN, PAUSED, SUSPEND, ERROR,\n"
		"STARTING, STOPPING, MIGRATING (any case). `pool` does the same for the\n"
		"pool's keys (master_ip, ...). Put `--` before a VALUE starting with '-'.\n"
		"  --create       add a record (status DOWN) for a guest the db lacks;\n"
		"                 for repairs and tests, the agent normally does this\n"
		"  --config PATH  agent.ini to read (default $OVS_AGENT_CONFIG, else\n"
		"                 " TOOL_DEFAULT_CONFIG ")\n"
		"Exit 0 done, 1 error or not found, 2 usage.\n");
}

/* 0 with a filled, 1 for --help, -1 on a usage error (already reported). */
static int parse_args(struct tool *t, int argc, char **argv, struct args *a)
{
	const struct tool_flag flags[] = {
		{ "create", 0, &a->create },
		{ NULL, 0, NULL },
	};
	int first, n, i, r;

	memset(a, 0, sizeof(*a));
	if ((r = tool_options(t, argc, argv, flags, &first)) != 0)
		return r;
	n = argc - first;
	if (n < 1)
		return -1;
	a->table = argv[first];
	i = first + 1;
	if (strcmp(a->table, "vm") == 0) {
		if (n < 2 || n > 4)
			return -1;
		a->name = argv[i++];
	} else if (strcmp(a->table, POOL_TABLE) == 0) {
		if (n > 3 || a->create)
			return -1;
	} else {
		fprintf(stderr, PROG ": unknown table \"%s\" (vm or pool)\n", a->table);
		return -1;
	}
	a->field = i < argc ? argv[i++] : NULL;
	a->value = i < argc ? argv[i++] : NULL;
	return 0;
}

/* The guest's db key, or NULL with the reason said. */
static char *resolve_guest(const char *ovs_root, const char *arg)
{
	char err[1024], *key = guest_key(ovs_root, arg, err, sizeof(err));

	if (!key)
		fprintf(stderr, PROG ": %s\n", err);
	return key;
}

static void upcase(char *s)
{
	for (; *s; s++)
		*s = (char)toupper((unsigned char)*s);
}

static int show_record(const char *path, const struct record *rec, const char *field)
{
	const char *v;

	if (!field) {
		for (size_t i = 0; i < rec->n; i++)
			printf("%s %s(now)=>%s\n", path, rec->keys[i], rec->vals[i]);
		return 0;
	}
	if (!(v = record_get(rec, field))) {
		fprintf(stderr, PROG ": %s has no field \"%s\"\n", path, field);
		return 1;
	}
	printf("%s %s(now)=>%s\n", path, field, v);
	return 0;
}

struct set_ctx {
	const char *field, *val;
	char *old;              /* the value replaced, for the message */
};

/* Runs inside the db write transaction (guests_update), so the agent's
 * concurrent changes to other fields are kept, not overwritten. */
static int set_in_txn(struct record *rec, bool exists, void *arg, char *err, size_t errlen)
{
	struct set_ctx *c = arg;

	if (!exists) {
		snprintf(err, errlen, "the guest was removed meanwhile");
		return -2;
	}
	c->old = xstrdup(record_get(rec, c->field) ? record_get(rec, c->field) : "");
	if (record_set(rec, c->field, c->val) != 0) {
		snprintf(err, errlen, "bad field \"%s\" or value (fields are [a-z0-9_]+, values "
			 "one line)", c->field);
		return -2;
	}
	return 0;
}

/* Set one field of path's record in one transaction. */
static int set_field(struct store *s, const char *path, struct record *rec, const char *field,
		     const char *value)
{
	char *val = xstrdup(value), *old = NULL;
	char err[1024];
	int ret = 1;
	struct set_ctx c = { field, val, NULL };

	if (strcmp(field, "status") == 0) {
		upcase(val);
		if (!guest_status_valid(val)) {
			char names[128];
			fprintf(stderr, PROG ": bad status \"%s\": use %s\n", value,
				guest_status_join(GS_ALL, ", ", " or ", names, sizeof(names)));
			goto out;
		}
	}
	(void)rec;
	if (guests_update(s, path, set_in_txn, &c, err, sizeof(err)) != 0) {
		fprintf(stderr, PROG ": %s\n", err);
		old = c.old;
		goto out;
	}
	old = c.old;
	printf("%s %s(old)=>%s (new)=>%s\n", path, field, old, val);
	ret = 0;
out:
	free(old);
	free(val);
	return ret;
}

/* Add a DOWN record named after the directory; rec is empty on entry. */
static int create_guest(struct store *s, const char *path, struct record *rec)
{
	const char *base = strrchr(path, '/') + 1;
	char err[1024];

	if (!*base) {
		fprintf(stderr, PROG ": %s is not a guest's path\n", path);
		return 1;
	}
	record_set(rec, "name", base);
	record_set(rec, "status", GUEST_DOWN);
	if (guests_put(s, path, rec, err, sizeof(err)) != 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	printf("%s created, status(now)=>%s\n", path, GUEST_DOWN);
	return 0;
}

/* Load path's record into rec (creating it with --create); 0, or 1 with
 * the reason reported. rec is initialised either way. */
static int load_guest(struct store *s, const char *path, struct record *rec, bool create)
{
	char err[1024];
	int r = guests_get(s, path, rec, err, sizeof(err));

	if (r < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	if (r == 1 && create) {
		fprintf(stderr, PROG ": %s is already in the db\n", path);
		return 1;
	}
	if (r == 0 && !create) {
		fprintf(stderr, PROG ": no such guest: %s\n", path);
		return 1;
	}
	return create ? create_guest(s, path, rec) : 0;
}

static int do_vm(struct store *s, const struct agent_config *cfg, const struct args *a)
{
	struct record rec;
	char *path = resolve_guest(cfg->ovs_root, a->name);
	int ret;

	if (!path)
		return 1;
	ret = load_guest(s, path, &rec, a->create);
	if (ret == 0 && a->value)
		ret = set_field(s, path, &rec, a->field, a->value);
	else if (ret == 0 && (a->field || !a->create))   /* --create alone printed enough */
		ret = show_record(path, &rec, a->field);
	record_free(&rec);
	free(path);
	return ret;
}

static int print_pool_key(const char *key, const char *val, size_t vlen, void *arg)
{
	printf(POOL_TABLE " %s(now)=>%s\n", key, val);
	return 0;
}

static int pool_get(struct store *s, const char *key)
{
	char err[1024], *v = NULL;
	int r = store_get(s, POOL_TABLE, key, &v, err, sizeof(err));

	if (r < 0)
		fprintf(stderr, PROG ": %s\n", err);
	else if (r == 0)
		fprintf(stderr, PROG ": no such pool key: %s\n", key);
	else
		printf(POOL_TABLE " %s(now)=>%s\n", key, v);
	free(v);
	return r == 1 ? 0 : 1;
}

/* Pool keys follow the record rule too, so every key can be typed and
 * shown on one line. */
static bool key_ok(const char *k)
{
	return *k && strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(k);
}

static int pool_set(struct store *s, const char *key, const char *value)
{
	char err[1024], *old = NULL;
	int r;

	if (!key_ok(key) || strchr(value, '\n')) {
		fprintf(stderr, PROG ": bad key \"%s\" or value (keys are [a-z0-9_]+, "
			"values one line)\n", key);
		return 1;
	}
	if ((r = store_get(s, POOL_TABLE, key, &old, err, sizeof(err))) >= 0)
		r = store_put(s, POOL_TABLE, key, value, err, sizeof(err));
	if (r < 0)
		fprintf(stderr, PROG ": %s\n", err);
	else
		printf(POOL_TABLE " %s(old)=>%s (new)=>%s\n", key, old ? old : "", value);
	free(old);
	return r < 0 ? 1 : 0;
}

static int do_pool(struct store *s, const struct args *a)
{
	char err[1024];

	if (a->value)
		return pool_set(s, a->field, a->value);
	if (a->field)
		return pool_get(s, a->field);
	if (store_each(s, POOL_TABLE, print_pool_key, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct tool t = { .prog = PROG };
	struct args a;
	int r = parse_args(&t, argc, argv, &a);

	if (r != 0)
		return tool_usage_exit(r, usage);
	if ((r = tool_open(&t)) == 0)
		r = strcmp(a.table, "vm") == 0 ? do_vm(t.store, &t.cfg, &a) : do_pool(t.store, &a);
	tool_close(&t);
	return r;
}
