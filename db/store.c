/* store.c - LMDB behind a small string key/value API. */
#include "db/store.h"

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/base/util.h"
#include "db/guests.h"

#define MAP_SIZE (1ULL << 30)   /* address space only; the file grows as used */
#define MAX_TABLES 32

struct store {
	MDB_env *env;
	/* Table handles, opened once per process and reused (LMDB's advice:
	 * handles opened in short read transactions leak their names). */
	struct {
		char name[32];
		MDB_dbi dbi;
	} tables[MAX_TABLES];
	int ntables;
};

static int fail(char *err, size_t errlen, const char *what, int rc)
{
	snprintf(err, errlen, "%s: %s", what, mdb_strerror(rc));
	return -1;
}

/* The handle of a table, created on first use in its own committed
 * write transaction so every later transaction may use it. */
static int table_handle(struct store *s, const char *table, MDB_dbi *dbi)
{
	MDB_txn *txn;
	int rc;

	for (int i = 0; i < s->ntables; i++)
		if (strcmp(s->tables[i].name, table) == 0) {
			*dbi = s->tables[i].dbi;
			return 0;
		}
	if (strlen(table) >= sizeof(s->tables[0].name) || s->ntables == MAX_TABLES)
		return EINVAL;
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0)
		return rc;
	if ((rc = mdb_dbi_open(txn, table, MDB_CREATE, dbi)) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return rc;
	snprintf(s->tables[s->ntables].name, sizeof(s->tables[0].name), "%s", table);
	s->tables[s->ntables++].dbi = *dbi;
	return 0;
}

/* Bring a db of schema `from` (0: new) to STORE_SCHEMA in one write
 * transaction, the version included: an upgrade happens whole or not at
 * all. 1 -> 2: the guests' uuid index. */
static int upgrade(struct store *s, int from, char *err, size_t errlen)
{
	static const char *const tables[] = { "meta", GUESTS_TABLE, GUESTS_UUID_TABLE, NULL };
	struct store_txn *t = store_txn_begin(s, true, tables, err, errlen);
	const char *v;
	size_t len;
	char n[16];
	int r;

	if (!t)
		return -1;
	/* Another process (the agent, a db tool) may have done it meanwhile. */
	r = store_txn_get(t, "meta", "schema", &v, &len, err, errlen);
	snprintf(n, sizeof(n), "%.*s", r == 1 ? (int)(len < 15 ? len : 15) : 0, r == 1 ? v : "");
	if (r < 0 || atoi(n) > from) {
		store_txn_abort(t);
		return r < 0 ? -1 : 0;
	}
	snprintf(n, sizeof(n), "%d", STORE_SCHEMA);
	if (guests_index_build(t, err, errlen) != 0 ||
	    store_txn_put(t, "meta", "schema", n, strlen(n), err, errlen) != 0) {
		store_txn_abort(t);
		return -1;
	}
	return store_txn_commit(t, err, errlen);
}

static int check_schema(struct store *s, bool create, char *err, size_t errlen)
{
	char *v = NULL;
	int r = store_get(s, "meta", "schema", &v, err, errlen), have;

	if (r < 0)
		return -1;
	if (r == 0 && !create) {
		snprintf(err, errlen, "the db has no schema version (not an agent db?)");
		return -1;
	}
	have = r == 1 ? atoi(v) : 0;
	if (have > STORE_SCHEMA) {
		snprintf(err, errlen, "the db has schema version %s, newer than this agent's %d: "
			 "run the newer agent, or restore a backup made for this one", v, STORE_SCHEMA);
		free(v);
		return -1;
	}
	free(v);
	return have == STORE_SCHEMA ? 0 : upgrade(s, have, err, errlen);
}

struct store *store_open(const char *dir, bool create, char *err, size_t errlen)
{
	struct store *s = xcalloc(1, sizeof(*s));
	int rc;

	if (create && mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto out;
	}
	if ((rc = mdb_env_create(&s->env)) != 0) {
		fail(err, errlen, "mdb_env_create", rc);
		goto out;
	}
	mdb_env_set_maxdbs(s->env, MAX_TABLES);
	mdb_env_set_mapsize(s->env, MAP_SIZE);
	/* MDB_NOTLS: read transactions are not tied to threads (we have one). */
	if ((rc = mdb_env_open(s->env, dir, MDB_NOTLS, 0600)) != 0) {
		char what[512];
		snprintf(what, sizeof(what), "cannot open the db in %s", dir);
		fail(err, errlen, what, rc);
		goto out;
	}
	if (check_schema(s, create, err, errlen) == 0)
		return s;
out:
	store_close(s);
	return NULL;
}

struct store *store_open_existing(const char *dir, char *err, size_t errlen)
{
	char *data = xasprintf("%s/data.mdb", dir);
	struct store *s = NULL;

	if (access(data, F_OK) != 0)
		snprintf(err, errlen, "no db in %s (the agent creates it when it starts)", dir);
	else
		s = store_open(dir, false, err, errlen);
	free(data);
	return s;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	if (s->env)
		mdb_env_close(s->env);
	free(s);
}

int store_get(struct store *s, const char *table, const char *key, char **val,
	      char *err, size_t errlen)
{
	MDB_val k = { strlen(key), (void *)key }, v;
	MDB_txn *txn;
	MDB_dbi dbi;
	int rc;

	*val = NULL;
	if ((rc = table_handle(s, table, &dbi)) != 0)
		return fail(err, errlen, table, rc);
	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)) != 0)
		return fail(err, errlen, "mdb_txn_begin", rc);
	rc = mdb_get(txn, dbi, &k, &v);
	if (rc == 0)
		*val = xstrndup(v.mv_data, v.mv_size);
	mdb_txn_abort(txn);
	if (rc == MDB_NOTFOUND)
		return 0;
	return rc == 0 ? 1 : fail(err, errlen, table, rc);
}

static int write_op(struct store *s, const char *table, const char *key, const char *val,
		    char *err, size_t errlen)
{
	MDB_val k = { strlen(key), (void *)key }, v = { val ? strlen(val) : 0, (void *)val };
	MDB_txn *txn;
	MDB_dbi dbi;
	int rc;

	if ((rc = table_handle(s, table, &dbi)) != 0)
		return fail(err, errlen, table, rc);
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0)
		return fail(err, errlen, "mdb_txn_begin", rc);
	rc = val ? mdb_put(txn, dbi, &k, &v, 0) : mdb_del(txn, dbi, &k, NULL);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc == MDB_NOTFOUND ? 0 : fail(err, errlen, table, rc);
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return fail(err, errlen, "commit", rc);
	return 1;
}

int store_put(struct store *s, const char *table, const char *key, const char *val,
	      char *err, size_t errlen)
{
	return write_op(s, table, key, val, err, errlen) < 0 ? -1 : 0;
}

int store_del(struct store *s, const char *table, const char *key, char *err, size_t errlen)
{
	return write_op(s, table, key, NULL, err, errlen);
}

int store_each(struct store *s, const char *table,
	       int (*fn)(const char *key, const char *val, size_t vlen, void *arg), void *arg,
	       char *err, size_t errlen)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	MDB_dbi dbi;
	int rc;

	if ((rc = table_handle(s, table, &dbi)) != 0)
		return fail(err, errlen, table, rc);
	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)) != 0)
		return fail(err, errlen, "mdb_txn_begin", rc);
	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0) {
		mdb_txn_abort(txn);
		return fail(err, errlen, table, rc);
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		char *key = xstrndup(k.mv_data, k.mv_size);
		char *val = xstrndup(v.mv_data, v.mv_size);
		int stop = fn(key, val, v.mv_size, arg);
		free(key);
		free(val);
		if (stop)
			break;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return 0;
}

/* ---- transactions over several tables ------------------------------------ */

struct store_txn {
	struct store *s;
	MDB_txn *txn;
};

struct store_txn *store_txn_begin(struct store *s, bool write, const char *const *tables,
				  char *err, size_t errlen)
{
	struct store_txn *t;
	MDB_dbi dbi;
	int rc;

	for (size_t i = 0; tables[i]; i++)
		if ((rc = table_handle(s, tables[i], &dbi)) != 0) {
			fail(err, errlen, tables[i], rc);
			return NULL;
		}
	t = xcalloc(1, sizeof(*t));
	t->s = s;
	if ((rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, &t->txn)) != 0) {
		fail(err, errlen, "mdb_txn_begin", rc);
		free(t);
		return NULL;
	}
	return t;
}

int store_txn_commit(struct store_txn *t, char *err, size_t errlen)
{
	int rc = mdb_txn_commit(t->txn);

	free(t);
	return rc == 0 ? 0 : fail(err, errlen, "commit", rc);
}

void store_txn_abort(struct store_txn *t)
{
	if (!t)
		return;
	mdb_txn_abort(t->txn);
	free(t);
}

/* A table named when t began: its handle is open already. */
static int txn_table(struct store_txn *t, const char *table, MDB_dbi *dbi, char *err,
		     size_t errlen)
{
	for (int i = 0; i < t->s->ntables; i++)
		if (strcmp(t->s->tables[i].name, table) == 0) {
			*dbi = t->s->tables[i].dbi;
			return 0;
		}
	snprintf(err, errlen, "%s: not named when the transaction began", table);
	return -1;
}

int store_txn_get(struct store_txn *t, const char *table, const char *key, const char **val,
		  size_t *len, char *err, size_t errlen)
{
	MDB_val k = { strlen(key), (void *)key }, v;
	MDB_dbi dbi;
	int rc;

	if (txn_table(t, table, &dbi, err, errlen) != 0)
		return -1;
	rc = mdb_get(t->txn, dbi, &k, &v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return fail(err, errlen, table, rc);
	*val = v.mv_data;
	*len = v.mv_size;
	return 1;
}

int store_txn_put(struct store_txn *t, const char *table, const char *key, const char *val,
		  size_t len, char *err, size_t errlen)
{
	MDB_val k = { strlen(key), (void *)key }, v = { len, (void *)val };
	MDB_dbi dbi;
	int rc;

	if (txn_table(t, table, &dbi, err, errlen) != 0)
		return -1;
	if ((rc = mdb_put(t->txn, dbi, &k, &v, 0)) != 0)
		return fail(err, errlen, table, rc);
	return 0;
}

int store_txn_del(struct store_txn *t, const char *table, const char *key, char *err,
		  size_t errlen)
{
	MDB_val k = { strlen(key), (void *)key };
	MDB_dbi dbi;
	int rc;

	if (txn_table(t, table, &dbi, err, errlen) != 0)
		return -1;
	rc = mdb_del(t->txn, dbi, &k, NULL);
	if (rc == MDB_NOTFOUND)
		return 0;
	return rc == 0 ? 1 : fail(err, errlen, table, rc);
}

int store_txn_clear(struct store_txn *t, const char *table, char *err, size_t errlen)
{
	MDB_dbi dbi;
	int rc;

	if (txn_table(t, table, &dbi, err, errlen) != 0)
		return -1;
	/* 0: empty the table, keep its handle. */
	if ((rc = mdb_drop(t->txn, dbi, 0)) != 0)
		return fail(err, errlen, table, rc);
	return 0;
}

int store_txn_each(struct store_txn *t, const char *table,
		   int (*fn)(const char *key, size_t klen, const char *val, size_t vlen, void *arg),
		   void *arg, char *err, size_t errlen)
{
	MDB_cursor *cur;
	MDB_val k, v;
	MDB_dbi dbi;
	int rc;

	if (txn_table(t, table, &dbi, err, errlen) != 0)
		return -1;
	if ((rc = mdb_cursor_open(t->txn, dbi, &cur)) != 0)
		return fail(err, errlen, table, rc);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		if (fn(k.mv_data, k.mv_size, v.mv_data, v.mv_size, arg))
			break;
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return fail(err, errlen, table, rc);
	return 0;
}
