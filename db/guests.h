/* guests.h - guest records in the store's "vm" table.
 *
 * Key: the guest's directory, /OVS/running_pool/<name>. Value: a record
 * (record.h) with these fields:
 *   name, uuid          from vm.cfg
 *   status              one of enum guest_status below, by name
 *   hv_id               the backend's id for the running guest (domid, pid)
 *   host                the server running it
 *   ha                  1 when HA is enabled for the guest
 *   memory, vcpus       MB and count, as last started
 *   op, op_started      the operation in flight and when it began: written
 *                       before the agent acts, cleared after (crash safety)
 *   error               the one error field: why the guest is ERROR, or why
 *                       its last operation failed (whatever its status is
 *                       now); an operation that succeeds removes it.
 *                       Records written before had a second field,
 *                       last_error, for the last failure: the typed view
 *                       reads the two as one (guest_state_read), so a
 *                       record written back through it has only error, and
 *                       the agent's start-up reconciliation rewrites them.
 *   save_file           state file of a suspended guest
 *   created, updated    seconds since the epoch
 * Any other field is kept as is. */
#ifndef OVS_GUESTS_H
#define OVS_GUESTS_H

#include <limits.h>
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

/* A guest's status. GS_NONE: the record has none, or a word this agent
 * does not know. Messages list statuses in this order. */
enum guest_status {
	GS_NONE, GS_RUNNING, GS_DOWN, GS_PAUSED, GS_SUSPEND, GS_ERROR, GS_STARTING,
	GS_STOPPING, GS_MIGRATING, GS_COUNT
};
/* A set of statuses is a mask of these bits. */
#define GS_BIT(s) (1u << (s))
#define GS_ALL    (GS_BIT(GS_COUNT) - 1 - GS_BIT(GS_NONE))

/* How records, methods and tools spell a status ("RUNNING"); NULL for
 * GS_NONE. The one table of names is behind this. */
const char *guest_status_name(enum guest_status s);
/* The status spelled exactly so (case matters), or GS_NONE. */
enum guest_status guest_status_parse(const char *s);
/* True for the states a person may set with set_vm_status / db_kfv. */
bool guest_status_valid(const char *status);
/* The names of the statuses in mask, in enum order, joined with sep and
 * with last before the last one ("DOWN or ERROR"). Returns buf. */
char *guest_status_join(unsigned mask, const char *sep, const char *last, char *buf, size_t len);

/* Each status as text, for code that handles records as text. */
#define GUEST_RUNNING   guest_status_name(GS_RUNNING)
#define GUEST_DOWN      guest_status_name(GS_DOWN)
#define GUEST_PAUSED    guest_status_name(GS_PAUSED)
#define GUEST_SUSPEND   guest_status_name(GS_SUSPEND)
#define GUEST_ERROR     guest_status_name(GS_ERROR)
#define GUEST_STARTING  guest_status_name(GS_STARTING)
#define GUEST_STOPPING  guest_status_name(GS_STOPPING)
#define GUEST_MIGRATING guest_status_name(GS_MIGRATING)

/* ---- the typed view -------------------------------------------------------
 *
 * A guest's record with the fields the agent acts on decoded, so code reads
 * `g->status == GS_DOWN`, not strings. The field table in guests.c is the
 * one place that knows how each is spelled in a record. Read the fields
 * directly; change them only with guest_set*(), which change rec in the
 * same step: rec is always the record to write, its fields in their order,
 * and a field this view does not know is kept as it is. */
#define GUEST_NO_INT LLONG_MIN  /* an integer field that is absent or not a number */

enum guest_field {
	GF_STATUS, GF_NAME, GF_UUID, GF_MEMORY, GF_VCPUS, GF_HA, GF_HOST, GF_OP, GF_OP_STARTED,
	GF_SAVE_FILE, GF_ERROR, GF_HV_ID, GF_VNC_PORT, GF_COUNT
};

struct guest_state {
	enum guest_status status;
	char *name, *uuid, *host;       /* NULL when absent */
	char *op;                       /* the operation in flight; NULL when none */
	char *save_file;
	char *error;
	long long memory, vcpus, ha, op_started, hv_id, vnc_port;     /* or GUEST_NO_INT */
	bool upgraded;                  /* rec was read from the older format and brought up
					 * to date: writing it back changes it */
	struct record rec;
};

/* g (uninitialised or freed) becomes the view of an empty record. */
void guest_state_init(struct guest_state *g);
void guest_state_free(struct guest_state *g);
/* g (uninitialised or freed) becomes the view of a copy of rec. A record
 * of the older format is brought up to date in the copy: its last_error
 * becomes error, unless the guest is ERROR and error explains that. */
void guest_state_read(struct guest_state *g, const struct record *rec);
/* The same, taking rec's fields over (rec is left empty). */
void guest_state_adopt(struct guest_state *g, struct record *rec);

/* Set a text field; NULL removes it. 0, or -1 for a value holding a
 * newline (the field is left as it was), except in error, where line
 * breaks become spaces. */
int guest_set(struct guest_state *g, enum guest_field f, const char *val);
void guest_set_int(struct guest_state *g, enum guest_field f, long long val);
/* GS_NONE removes the field. */
void guest_set_status(struct guest_state *g, enum guest_status s);
void guest_unset(struct guest_state *g, enum guest_field f);

/* guests_get, guests_put and guests_update through the typed view. */
int guest_state_get(struct store *s, const char *path, struct guest_state *g, char *err,
		    size_t errlen);
int guest_state_put(struct store *s, const char *path, struct guest_state *g, char *err,
		    size_t errlen);
int guest_state_update(struct store *s, const char *path,
		       int (*fn)(struct guest_state *g, bool exists, void *arg, char *err,
				 size_t errlen),
		       void *arg, char *err, size_t errlen);

/* ---- records ---------------------------------------------------------------- */

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
