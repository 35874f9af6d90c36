/* store.h - the agent's transactional key-value store (LMDB).
 *
 * One LMDB environment in state_dir holds named tables ("meta", "pool",
 * and the guests' tables later). The agent writes; the db tools may read
 * and write at the same time (LMDB serialises writers across processes).
 * Every put is its own committed, fsync'd transaction unless grouped with
 * store_txn_*(). The schema version lives in meta/schema; a db written by
 * a newer agent is refused with a clear message instead of misread. */
#ifndef OVS_STORE_H
#define OVS_STORE_H

#include <stdbool.h>
#include <stddef.h>

/* 1: the first; 2: the guests' uuid index (db/guests.h), built when a db
 * of schema 1 is opened. */
#define STORE_SCHEMA 2

struct store;

/* Open (creating when allowed) the store in dir. NULL with err on error. */
struct store *store_open(const char *dir, bool create, char *err, size_t errlen);
void store_close(struct store *s);
/* For the db tools: open an existing store, never create one; a missing
 * db gets "no db in DIR (the agent creates it when it starts)". */
struct store *store_open_existing(const char *dir, char *err, size_t errlen);

/* 1 and a malloc'd NUL-terminated *val when found, 0 when absent,
 * -1 with err on error. */
int store_get(struct store *s, const char *table, const char *key, char **val,
	      char *err, size_t errlen);
/* 0 or -1 with err. */
int store_put(struct store *s, const char *table, const char *key, const char *val,
	      char *err, size_t errlen);
/* 1 deleted, 0 absent, -1 error. */
int store_del(struct store *s, const char *table, const char *key, char *err, size_t errlen);

/* Call fn for every key of table, in key order, inside one read
 * transaction (a consistent snapshot). fn returns non-zero to stop early.
 * Returns 0 (also for a missing table), or -1 with err. */
int store_each(struct store *s, const char *table,
	       int (*fn)(const char *key, const char *val, size_t vlen, void *arg), void *arg,
	       char *err, size_t errlen);

/* ---- transactions over several tables ------------------------------------
 * Reads and writes that must land together (a guest's record and its
 * entry in the uuid index) go in one transaction: all of them or none.
 * The tables a transaction uses are named when it begins (LMDB opens a
 * table's handle outside any write transaction), NULL-terminated. One
 * transaction at a time; store_txn_each's fn must not begin another
 * write transaction. */
struct store_txn;

/* NULL with err on error. */
struct store_txn *store_txn_begin(struct store *s, bool write, const char *const *tables,
				  char *err, size_t errlen);
/* Both end and free t. commit: 0 or -1 with err (nothing was written). */
int store_txn_commit(struct store_txn *t, char *err, size_t errlen);
void store_txn_abort(struct store_txn *t);
/* 1 with *val and *len pointing into the db (not NUL-terminated; valid until
 * the next write in t or its end), 0 absent, -1 with err. */
int store_txn_get(struct store_txn *t, const char *table, const char *key, const char **val,
		  size_t *len, char *err, size_t errlen);
/* 0 or -1 with err. */
int store_txn_put(struct store_txn *t, const char *table, const char *key, const char *val,
		  size_t len, char *err, size_t errlen);
/* 1 deleted, 0 absent, -1 error. */
int store_txn_del(struct store_txn *t, const char *table, const char *key, char *err,
		  size_t errlen);
/* Remove every key of table. 0 or -1 with err. */
int store_txn_clear(struct store_txn *t, const char *table, char *err, size_t errlen);
/* fn for every key of table in key order, with views into the db (valid
 * during the call only, not NUL-terminated); non-zero stops. 0 or -1. */
int store_txn_each(struct store_txn *t, const char *table,
		   int (*fn)(const char *key, size_t klen, const char *val, size_t vlen, void *arg),
		   void *arg, char *err, size_t errlen);

#endif
