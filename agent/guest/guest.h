/* guest.h - the guest lifecycle over the db and the hypervisor backend.
 *
 * Three rules live here and nowhere else:
 *   - a path argument resolves inside the repository root (ovs_root) to
 *     <root>[/<repo>]/running_pool/<name>; "..", symlinks out and paths
 *     elsewhere are refused (what "inside" means is agent/base/beneath.h's
 *     rule, which every method and db_del use);
 *   - one operation per guest at a time: a second gets fault 1003 (busy);
 *   - the intent is written to the db before the backend acts, the result
 *     after; guest_reconcile() finishes or rolls back at start-up what a
 *     crash left in flight, so nothing acknowledged is lost and no guest
 *     runs twice. */
#ifndef OVS_GUEST_H
#define OVS_GUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/guest/lifecycle.h"
#include "db/guests.h"
#include "db/record.h"

struct server;

/* fault 0 = done; rec is the guest's record after the operation (valid
 * only during the call, NULL on some faults). */
typedef void (*guest_done_cb)(void *arg, int fault, const char *msg, const struct record *rec);

/* Resolve a guest argument (a bare name or an absolute path) to the db
 * key. must_exist: the directory must exist. Returns 0 and a malloc'd
 * *path, or a fault code with a message in err. */
int guest_resolve(struct server *srv, const char *arg, bool must_exist, char **path,
		  char *err, size_t errlen);

/* 0 when the repository holding the guest path (agent/repo) is mounted
 * or path is in none listed; else FAULT_STATE (1004) with err naming the
 * repository's uuid and source. guest_resolve says the same for a guest
 * that must exist and is missing. */
int guest_repo_online(struct server *srv, const char *path, char *err, size_t errlen);

/* Run op (start .. resume) on the guest at path; done is called exactly
 * once, maybe before guest_run returns. */
void guest_run(struct server *srv, const char *path, enum guest_op op, guest_done_cb done, void *arg);

/* Register the guest directory's vm.cfg as a DOWN guest (or RUNNING when
 * the backend already runs its uuid). 0 or a fault code with err. */
int guest_register(struct server *srv, const char *path, struct record *rec, char *err, size_t errlen);

/* A guest as guest_claim left it. */
struct guest_claimed {
	struct guest_state state;       /* its record as claimed (op, op's status in flight) */
	enum guest_status before;       /* its status before the claim, for a rollback */
};
/* For operations of several steps (live migration): claim the guest for
 * op, which must be allowed from its status (a guest not yet registered
 * is registered first when may_register). It is then busy, and the intent
 * (op, op_started, op's status while in flight) is in the db. Returns 0,
 * or a fault code with err; c->state is to be freed either way. */
int guest_claim(struct server *srv, const char *path, enum guest_op op, bool may_register,
		struct guest_claimed *c, char *err, size_t errlen);

struct hv_dom;
/* How a claim ends. */
struct guest_end {
	enum guest_status status;
	const char *host;               /* NULL: unchanged */
	bool forget_hv;                 /* remove hv_id and vnc_port */
	const struct hv_dom *dom;       /* else record its hv_id and vnc_port (NULL: unchanged) */
	const char *error;              /* why it failed; NULL: it succeeded (no error) */
};
/* End a claim: record what end says, clear the op, and free the guest for
 * other operations. 0, or -1 when the db failed (logged). */
int guest_release(struct server *srv, const char *path, const struct guest_end *end);

struct vmcfg;
struct hv_guest;
/* Read <path>/vm.cfg into *cfg and fill g (name and uuid point into the
 * caller's name/uuid buffers: uuid has 37 bytes). A missing uuid, and a
 * vif item's missing MAC (vif_mac.h), are generated and written back. 0
 * or a fault code with err. */
int guest_load_cfg(const char *path, struct vmcfg **cfg, struct hv_guest *g, char *name,
		   size_t namelen, char *uuid, char *err, size_t errlen);

/* True while an operation on path is in flight. */
bool guest_busy(struct server *srv, const char *path);

/* At start-up: make the db agree with what the backend runs. */
void guest_reconcile(struct server *srv);

struct hv;
enum hv_event;
/* The backend's report of a change nobody asked for (the guest powered
 * itself off, crashed, was paused): recorded unless an operation on the
 * guest is in flight, whose end records the state anyway. Installed as
 * hv->on_event. */
void guest_on_event(struct hv *hv, const char *uuid, enum hv_event ev);

#endif
