/* guests.h - guest records in the store's "vm" table.
 *
 * Key: the guest's directory, /OVS/running_pool/<name>. Value: a record
 * (record.h) with these fields:
 *   name, uuid          from vm.cfg
 *   status              one of GUEST_* below
 *   hv_id               the backend's id for the running guest (domid, pid)
 *   host                the server running it
 *   ha                  1 when HA is enabled for the guest
 *   memory, vcpus       MB and count, as last started
 *   op, op_started      the operation in flight and when it began: written
 *                       before the agent acts, cleared after (crash safety)
 *   error               why the status is ERROR
 *   save_file           state file of a suspended guest
 *   created, updated    seconds since the epoch
 * Any other field is kept as is. */
#ifndef OVS_GUESTS_H
#define OVS_GUESTS_H

#include <stdbool.h>
#include <stddef.h>

#include "db/record.h"

struct store;

#define GUESTS_TABLE "vm"
/* The uuid index: uuid -> the keys of the guests whose record holds that
 * uuid, '\n' separated, in path order (one, unless a db tool or a copied
 * vm.cfg gave two guests one uuid). guests_put, guests_update and
 * guests_del keep it in the transaction that writes the record, so it
 * never disagrees with the records; a uuid longer than GUESTS_UUID_MAX
 * bytes (never a valid one) is not indexed. */
#define GUESTS_UUID_TABLE "vm_uuid"
#define GUESTS_UUID_MAX 128

#define GUEST_RUNNING   "RUNNING"
#define GUEST_DOWN      "DOWN"
#define GUEST_PAUSED    "PAUSED"
#define GUEST_SUSPEND   "SUSPEND"
#define GUEST_ERROR     "ERROR"
#define GUEST_STARTING  "STARTING"
#define GUEST_STOPPING  "STOPPING"
#define GUEST_MIGRATING "MIGRATING"

/* True for the states a person may set with set_vm_status / db_kfv. */
bool guest_status_valid(const char *status);

/* 1 found (rec filled), 0 absent, -1 error (err). rec must be
 * uninitialised or freed: it is initialised here, and the caller frees it. */
int guests_get(struct store *s, const char *path, struct record *rec, char *err, size_t errlen);
/* Write rec (stamping `updated`, and `created` when absent). 0 or -1. */
int guests_put(struct store *s, const char *path, struct record *rec, char *err, size_t errlen);
/* Read-modify-write a guest's record in one transaction: fn gets
 * the record (empty when absent, exists false) and returns 0 to write it
 * (stamped like guests_put), 1 to leave it, 2 to delete it, or a negative
 * value with err. Returns fn's result, or -1 with err when the db fails. */
int guests_update(struct store *s, const char *path,
		  int (*fn)(struct record *rec, bool exists, void *arg, char *err, size_t errlen),
		  void *arg, char *err, size_t errlen);

/* 1 deleted, 0 absent, -1 error. */
int guests_del(struct store *s, const char *path, char *err, size_t errlen);
/* fn(path, rec, arg) for every guest, in path order; non-zero stops. */
int guests_each(struct store *s, int (*fn)(const char *path, const struct record *rec, void *arg),
		void *arg, char *err, size_t errlen);

/* The first guest, in path order, whose record holds uuid, skipping the one
 * at `except` (NULL: none): 1 and its malloc'd key in *path, 0 none, -1
 * error (err). One index read, whatever the number of guests. */
int guests_find_uuid(struct store *s, const char *uuid, const char *except, char **path,
		     char *err, size_t errlen);

/* fn(path, plen, fields, n, arg) for every guest, in path order, with views
 * into the db (valid during the call only, not NUL-terminated): what
 * guests_each gives, without a copy. A damaged record comes as status
 * ERROR, error "damaged db record", as from guests_each. Non-zero stops. */
int guests_each_view(struct store *s,
		     int (*fn)(const char *path, size_t plen, const struct record_field *f,
			       size_t n, void *arg),
		     void *arg, char *err, size_t errlen);

struct store_txn;
/* Make the uuid index from the records, in t (begun on GUESTS_TABLE and
 * GUESTS_UUID_TABLE): the store's upgrade to schema 2. 0 or -1 with err. */
int guests_index_build(struct store_txn *t, char *err, size_t errlen);

/* "<ovs_root>/running_pool/<name>" for a bare name, else a copy of arg
 * (absolute paths are checked elsewhere). malloc'd. */
char *guest_path_for(const char *ovs_root, const char *arg);

/* The db key of a guest argument, by its spelling alone (no file system
 * access): a bare name, or an absolute path of the form
 * <ovs_root>/running_pool/<name> or <ovs_root>/<repository>/running_pool/<name>
 * without ".", ".." or "//", so that one guest has one key. Returns the
 * malloc'd key, or NULL with the reason in err. The agent adds the file
 * system checks (symlinks) in guest_resolve(). */
char *guest_key(const char *ovs_root, const char *arg, char *err, size_t errlen);

#endif
