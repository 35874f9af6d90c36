/* guest.c - guest operations: path rules, one operation at a time, intent
 * before action, reconciliation at start-up. */
#define LOG_CAT "guest"
#include "agent/guest/guest.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/rand.h>

#include "db/guests.h"
#include "agent/base/beneath.h"
#include "agent/base/fault.h"
#include "hypervisor/hv.h"
#include "hypervisor/vmcfg.h"
#include "hypervisor/vmcfg_qos.h"
#include "agent/base/log.h"
#include "agent/guest/guest_hooks.h"
#include "agent/pool/cluster.h"
#include "agent/guest/names.h"
#include "agent/guest/vif_mac.h"
#include "agent/repo/repoview.h"
#include "agent/server/server.h"
#include "agent/base/utf8.h"
#include "agent/base/util.h"

#define STATE_FILE "vm.state"   /* a suspended guest's memory, in its directory */

/* How guest_run carries out the operations of the table in lifecycle.c
 * (which statuses each starts from, shows and ends in). */
static const struct op_def {
	enum { K_START, K_ACT, K_SAVE, K_RESTORE } kind;
	enum hv_action action;
} ops[] = {
	[GOP_START]   = { K_START, 0 },
	[GOP_STOP]    = { K_ACT, HV_SHUTDOWN },
	[GOP_DESTROY] = { K_ACT, HV_DESTROY },
	[GOP_PAUSE]   = { K_ACT, HV_PAUSE },
	[GOP_UNPAUSE] = { K_ACT, HV_UNPAUSE },
	[GOP_REBOOT]  = { K_ACT, HV_REBOOT },
	[GOP_RESET]   = { K_ACT, HV_RESET },
	[GOP_SUSPEND] = { K_SAVE, 0 },
	[GOP_RESUME]  = { K_RESTORE, 0 },
};

/* One operation in flight. */
struct guest_ops {
	struct inflight *head;
};

struct inflight {
	struct inflight *next;
	struct server *srv;
	char *path;
	const struct op_def *def;
	const struct guest_transition *t;
	enum guest_status before;       /* status before the operation, for a rollback */
	char uuid[40];
	char *state_file;
	struct vmcfg *cfg;
	struct hv_guest g;              /* for starts: from cfg, pointing into this */
	char name[256];
	guest_done_cb done;
	void *arg;
};

static struct guest_ops *ops_of(struct server *srv)
{
	if (!srv->guest_ops)
		srv->guest_ops = xcalloc(1, sizeof(*srv->guest_ops));
	return srv->guest_ops;
}

bool guest_busy(struct server *srv, const char *path)
{
	for (struct inflight *f = ops_of(srv)->head; f; f = f->next)
		if (strcmp(f->path, path) == 0)
			return true;
	return false;
}

/* "x is RUNNING; start needs it DOWN,ERROR" */
static void refuse_state(const char *path, const char *status, enum guest_op op, char *err,
			 size_t errlen)
{
	char from[128];

	snprintf(err, errlen, "%s is %s; %s needs it %s", path, status ? status : "in no state",
		 guest_transitions[op].name,
		 guest_status_join(guest_transitions[op].from, ",", ",", from, sizeof(from)));
}

/* ---- paths ---------------------------------------------------------------- */

int guest_repo_online(struct server *srv, const char *path, char *err, size_t errlen)
{
	const struct repo *r = repoview_for_path(srv->repos, path);

	if (!r || r->mounted)
		return 0;
	snprintf(err, errlen, "%s is in repository %s (%s), which is offline: it is not mounted "
		 "at %s", path, r->uuid, r->source, r->mnt);
	return FAULT_STATE;
}

int guest_resolve(struct server *srv, const char *arg, bool must_exist, char **path,
		  char *err, size_t errlen)
{
	const char *root = srv->cfg.ovs_root;
	struct beneath_root r;
	char *lexical;
	int fd, e;

	*path = NULL;
	if (name_check("guest name", arg, err, errlen) != 0)
		return FAULT_INVALID_ARGUMENT;
	/* A malformed name is a bad argument; a path elsewhere is refused. */
	if (!(lexical = guest_key(root, arg, err, errlen)))
		return strchr(arg, '/') ? FAULT_PERMISSION : FAULT_INVALID_ARGUMENT;
	if (beneath_root_open(&r, root) != 0) {
		snprintf(err, errlen, "repository root %s: %s", root, strerror(errno));
		free(lexical);
		return FAULT_IO;
	}
	/* Symlinks may move a guest within the root, never out of it. */
	fd = beneath_open(&r, lexical, O_PATH, 0, 0);
	e = errno;
	beneath_root_close(&r);
	if (fd >= 0) {
		close(fd);
	} else if (e == EXDEV) {
		snprintf(err, errlen, "%s leads outside the repository root", arg);
		free(lexical);
		return FAULT_PERMISSION;
	} else if (must_exist) {
		/* Gone because its repository is: say that, not ENOENT. */
		int fault = e == ENOENT ? guest_repo_online(srv, lexical, err, errlen) : 0;
		if (!fault) {
			snprintf(err, errlen, "%s: %s", lexical, strerror(e));
			fault = FAULT_NOT_FOUND;
		}
		free(lexical);
		return fault;
	}
	*path = lexical;
	return 0;
}

/* Load <path>/vm.cfg; fill name/uuid/memory/vcpus. A missing uuid is
 * generated and written back so the guest keeps one identity. */
/* 8-4-4-4-12 hex digits: also what keeps a uuid safe in file names. */
static bool uuid_text_ok(const char *s)
{
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return s[36] == '\0';
}

int guest_load_cfg(const char *path, struct vmcfg **cfg, struct hv_guest *g, char *name,
		   size_t namelen, char *uuid, char *err, size_t errlen)
{
	char *file = xasprintf("%s/vm.cfg", path), msg[600];
	long long mem = 0, vcpus = 1;
	const char *s, *key;
	bool gave;
	int rc = FAULT_INVALID_ARGUMENT;

	if (vmcfg_load(file, cfg, err, errlen) != 0) {
		rc = errno == ENOENT ? FAULT_NOT_FOUND : FAULT_INVALID_ARGUMENT;
		goto out;
	}
	s = vmcfg_get_str(*cfg, "name");
	if (s) {
		/* The name goes into the db, the logs and every list_vms reply. */
		char what[PATH_MAX + 32];
		snprintf(what, sizeof(what), "%s name", file);
		if (name_check(what, s, err, errlen) != 0)
			goto out;
	} else {
		s = strrchr(path, '/') + 1;
	}
	/* A longer name is cut, never inside a character. */
	snprintf(name, namelen, "%.*s", (int)utf8_cut(s, namelen - 1), s);
	if ((s = vmcfg_get_str(*cfg, "uuid")) && uuid_text_ok(s)) {
		/* One spelling: xl and the tables compare uuids as text. */
		for (int i = 0; i < 36; i++)
			uuid[i] = (char)tolower((unsigned char)s[i]);
		uuid[36] = '\0';
	} else if (s) {
		snprintf(err, errlen, "%s: uuid '%.40s' is not a UUID", file, s);
		goto out;
	} else {
		uuid_generate_v4(uuid);
		if (vmcfg_set_str(*cfg, "uuid", uuid) != 0 || vmcfg_save(*cfg, file, err, errlen) != 0) {
			rc = FAULT_IO;
			goto out;
		}
		log_info("%s had no uuid; gave it %s", file, uuid);
	}
	/* A vif without a MAC gets one now, kept in vm.cfg (vif_mac.h). */
	if (vif_give_macs(*cfg, &gave, err, errlen) != 0) {
		rc = FAULT_IO;
		goto out;
	}
	if (gave) {
		if (vmcfg_save(*cfg, file, err, errlen) != 0) {
			rc = FAULT_IO;
			goto out;
		}
		log_info("%s: gave its vif items without a MAC one", file);
	}
	if (vmcfg_get_int(*cfg, "memory", &mem) != 0 || mem <= 0 || mem > 16 * 1024 * 1024) {
		snprintf(err, errlen, "%s: memory must be a number of MB", file);
		goto out;
	}
	if (vmcfg_has(*cfg, "vcpus") && (vmcfg_get_int(*cfg, "vcpus", &vcpus) != 0 ||
					 vcpus < 1 || vcpus > 512)) {
		snprintf(err, errlen, "%s: vcpus must be a number from 1 to 512", file);
		goto out;
	}
	/* QoS a backend could not apply as written is refused, not ignored. */
	if (vmcfg_check_qos(*cfg, &key, msg, sizeof(msg)) != 0) {
		snprintf(err, errlen, "%s:%u: %s", file, vmcfg_line(*cfg, key), msg);
		goto out;
	}
	g->path = path;
	g->name = name;
	g->uuid = uuid;
	g->memory = (int)mem;
	g->vcpus = (int)vcpus;
	g->cfg = *cfg;
	rc = 0;
out:
	if (rc) {
		vmcfg_free(*cfg);
		*cfg = NULL;
	}
	free(file);
	return rc;
}

/* The backend knows guests by uuid: two directories with one uuid (a
 * copied guest) would act on each other's guest. NULL when free. One
 * index read, whatever the number of guests. */
static char *uuid_taken(struct server *srv, const char *uuid, const char *path)
{
	char err[256], *other = NULL;

	if (guests_find_uuid(srv->store, uuid, path, &other, err, sizeof(err)) < 0)
		log_err("looking up uuid %s: %s", uuid, err);
	return other;
}

int guest_register(struct server *srv, const char *path, struct record *rec, char *err, size_t errlen)
{
	struct vmcfg *cfg = NULL;
	struct hv_guest g;
	struct hv_dom dom;
	struct guest_state gs;
	char name[256], uuid[37], e2[256], *other;
	int rc = guest_load_cfg(path, &cfg, &g, name, sizeof(name), uuid, err, errlen);

	if (rc)
		return rc;
	if ((other = uuid_taken(srv, uuid, path))) {
		snprintf(err, errlen, "%s/vm.cfg: uuid %s already belongs to %s; a copied guest "
			 "needs a fresh uuid", path, uuid, other);
		free(other);
		vmcfg_free(cfg);
		return FAULT_EXISTS;
	}
	guest_state_init(&gs);
	guest_set(&gs, GF_NAME, name);
	guest_set(&gs, GF_UUID, uuid);
	guest_set_int(&gs, GF_MEMORY, g.memory);
	guest_set_int(&gs, GF_VCPUS, g.vcpus);
	guest_set_int(&gs, GF_HA, 0);
	/* A guest the backend already runs is registered as running. */
	if (hv_lookup(srv->hv, uuid, &dom, e2, sizeof(e2)) == 1) {
		guest_set_status(&gs, dom.state == HV_PAUSED ? GS_PAUSED : GS_RUNNING);
		guest_set_int(&gs, GF_HV_ID, dom.id);
	} else {
		guest_set_status(&gs, GS_DOWN);
	}
	vmcfg_free(cfg);
	if (guest_state_put(srv->store, path, &gs, err, errlen) != 0) {
		guest_state_free(&gs);
		record_init(rec);
		return FAULT_IO;
	}
	log_info("registered %s (%s) as %s", path, uuid, guest_status_name(gs.status));
	*rec = gs.rec;          /* the record as written goes to the caller */
	record_init(&gs.rec);
	guest_state_free(&gs);
	return 0;
}

/* ---- running an operation -------------------------------------------------- */

static void inflight_end(struct inflight *f, int fault, const char *msg, const struct record *rec)
{
	struct guest_ops *go = ops_of(f->srv);
	struct inflight **pp = &go->head;

	while (*pp && *pp != f)
		pp = &(*pp)->next;
	if (*pp)
		*pp = f->next;
	f->done(f->arg, fault, msg, rec);
	vmcfg_free(f->cfg);
	free(f->state_file);
	free(f->path);
	free(f);
}

/* The outcome of a backend call, applied to the record in one db
 * transaction so a db tool's concurrent change to other fields survives. */
struct outcome {
	struct inflight *f;
	int fault;
	const char *msg;
	int have;               /* the backend runs the guest (1), not (0), unknown (-1) */
	struct hv_dom dom;
	struct record after;    /* the record as written, for the reply */
};

/* What a guest the backend runs is, by the backend's word. */
static enum guest_status status_of(enum hv_state st)
{
	return st == HV_PAUSED ? GS_PAUSED : st == HV_CRASHED ? GS_ERROR : GS_RUNNING;
}

static int apply_outcome(struct guest_state *g, bool exists, void *arg, char *err, size_t errlen)
{
	struct outcome *o = arg;
	const struct inflight *f = o->f;

	if (!exists)
		guest_set(g, GF_UUID, f->uuid);
	guest_unset(g, GF_OP);
	guest_unset(g, GF_OP_STARTED);
	if (!o->fault && o->have == 0 && (f->t->after == GS_RUNNING || f->t->after == GS_PAUSED)) {
		/* The backend said yes, but the guest is gone by now. */
		guest_set_status(g, GS_DOWN);
		guest_set(g, GF_ERROR, "the guest stopped while the operation ended");
	} else if (!o->fault) {
		guest_set_status(g, f->t->after);
		guest_unset(g, GF_ERROR);
		if (f->def->kind == K_SAVE)
			guest_set(g, GF_SAVE_FILE, f->state_file);
		else if (f->def->kind == K_RESTORE)
			guest_unset(g, GF_SAVE_FILE);
	} else {
		/* Failed: the backend's view decides what the guest is now. */
		enum guest_status now = f->before;
		if (o->have == 1)
			now = status_of(o->dom.state);
		else if (o->have == 0 && f->def->kind != K_SAVE && f->before != GS_SUSPEND)
			now = GS_DOWN;
		guest_set_status(g, now);
		guest_set(g, GF_ERROR, o->msg ? o->msg : "failed");
	}
	if (o->have == 1) {
		guest_set_int(g, GF_HV_ID, o->dom.id);
		guest_set_int(g, GF_VNC_PORT, o->dom.vnc_port);
		guest_set_int(g, GF_MEMORY, o->dom.memory);
		guest_set_int(g, GF_VCPUS, o->dom.vcpus);
	} else if (o->have == 0) {
		guest_unset(g, GF_HV_ID);
		guest_unset(g, GF_VNC_PORT);
	}
	record_copy(&o->after, &g->rec);
	return 0;
}

/* The backend answered: record the result, then answer the caller. */
static void on_backend(void *arg, int fault, const char *msg)
{
	struct inflight *f = arg;
	struct server *srv = f->srv;
	struct outcome o = { .f = f, .fault = fault, .msg = msg };
	char err[512];

	o.have = hv_lookup(srv->hv, f->uuid, &o.dom, err, sizeof(err));
	record_init(&o.after);
	if (guest_state_update(srv->store, f->path, apply_outcome, &o, err, sizeof(err)) < 0) {
		/* The guest changed but the db could not say so: the caller must
		 * not believe the old record. */
		log_err("%s %s: cannot record the result: %s", f->t->name, f->path, err);
		if (!fault) {
			fault = FAULT_IO;
			msg = err;
		}
	} else if (!fault && f->def->kind == K_RESTORE) {
		/* Only once the db says RUNNING is the state file garbage. */
		unlink(f->state_file);
	}
	log_info("%s %s: %s%s%s", f->t->name, f->path, fault ? "failed" : "done",
		 fault ? ": " : "", fault ? msg : "");
	if (!fault && (f->def->kind == K_START || f->t == &guest_transitions[GOP_STOP] ||
		       f->t == &guest_transitions[GOP_DESTROY])) {
		/* the pool's owner follows, then the site's hooks hear of it */
		pool_guest_ran(srv, f->path, f->def->kind == K_START);
		guest_hooks_tell(srv, f->def->kind == K_START ? GE_AFTER_START : GE_AFTER_STOP,
				 &(struct guest_hook_who){ .path = f->path, .name = f->name,
							   .uuid = f->uuid });
	}
	inflight_end(f, fault, msg, &o.after);
	record_free(&o.after);
}

/* What guest_run and guest_claim write before the backend acts. */
struct intent {
	enum guest_status seen;         /* the status the operation was allowed from */
	const struct guest_transition *t;
	const char *uuid, *name;        /* vm.cfg's identity, for starts; else NULL */
};

/* Write the intent, in one transaction with a last look at the status a
 * db tool may have changed since it was read. */
static int apply_intent(struct guest_state *g, bool exists, void *arg, char *err, size_t errlen)
{
	const struct intent *in = arg;

	if (!exists) {
		snprintf(err, errlen, "the guest was unregistered meanwhile");
		return -2;
	}
	if (g->status != in->seen) {
		snprintf(err, errlen, "the guest's status changed to %s meanwhile",
			 g->status != GS_NONE ? guest_status_name(g->status) : "nothing");
		return -2;
	}
	if (in->uuid) {
		guest_set(g, GF_UUID, in->uuid);
		guest_set(g, GF_NAME, in->name);
		guest_set(g, GF_HOST, "localhost");
	}
	guest_set(g, GF_OP, in->t->name);
	guest_set_int(g, GF_OP_STARTED, (long long)time(NULL));
	if (in->t->during != GS_NONE)
		guest_set_status(g, in->t->during);
	return 0;
}

/* Write the intent, then let the backend act. */
static void act(struct inflight *f)
{
	struct server *srv = f->srv;
	const struct hv_ops *hvo = srv->hv->ops;
	struct intent in = { .seen = f->before, .t = f->t };
	char err[512];
	int r;

	if (f->def->kind == K_START || f->def->kind == K_RESTORE) {
		in.uuid = f->uuid;
		in.name = f->name;
	}
	/* The intent goes to the db before the backend acts. */
	r = guest_state_update(srv->store, f->path, apply_intent, &in, err, sizeof(err));
	if (r != 0) {
		inflight_end(f, r == -2 ? FAULT_STATE : FAULT_IO, err, NULL);
		return;
	}
	log_info("%s %s (%s)", f->t->name, f->path, f->uuid);
	switch (f->def->kind) {
	case K_START:
		hvo->start(srv->hv, &f->g, on_backend, f);
		break;
	case K_RESTORE:
		hvo->restore(srv->hv, &f->g, f->state_file, on_backend, f);
		break;
	case K_SAVE:
		hvo->save(srv->hv, f->uuid, f->state_file, on_backend, f);
		break;
	case K_ACT:
		hvo->act(srv->hv, f->uuid, f->def->action, on_backend, f);
		break;
	}
}

/* The before_* hooks have run: a failed before_start vetoes the start;
 * a failed before_stop is only logged. */
static void on_before_hooks(void *arg, int fault, const char *msg)
{
	struct inflight *f = arg;
	char err[1400];

	if (fault && f->def->kind == K_START) {
		snprintf(err, sizeof(err), "a before_start hook refused to start %s: %s", f->path, msg);
		log_warn("%s", err);
		inflight_end(f, fault, err, NULL);
		return;
	}
	if (fault)
		log_warn("%s %s: the before_stop hooks failed; the stop goes on: %s", f->t->name,
			 f->path, msg);
	act(f);
}

void guest_run(struct server *srv, const char *path, enum guest_op op, guest_done_cb done, void *arg)
{
	const struct guest_transition *t = &guest_transitions[op];
	const struct hv_ops *hvo = srv->hv->ops;
	const struct op_def *def;
	struct inflight *f;
	struct guest_state gs;
	char err[512];
	int r, fault = 0;

	if ((unsigned)op >= ARRAY_SIZE(ops)) {
		/* Migrations are claimed (guest_claim), not run. */
		snprintf(err, sizeof(err), "%s cannot be run as one step", t->name);
		done(arg, FAULT_NOT_SUPPORTED, err, NULL);
		return;
	}
	def = &ops[op];
	if (guest_busy(srv, path)) {
		snprintf(err, sizeof(err), "%s is busy with another operation; try again when it ends",
			 path);
		done(arg, FAULT_BUSY, err, NULL);
		return;
	}
	r = guest_state_get(srv->store, path, &gs, err, sizeof(err));
	if (r < 0) {
		guest_state_free(&gs);
		done(arg, FAULT_IO, err, NULL);
		return;
	}
	if (r == 0) {
		struct record rec;
		guest_state_free(&gs);
		if (op != GOP_START) {
			snprintf(err, sizeof(err), "%s is not a registered guest", path);
			done(arg, FAULT_NOT_FOUND, err, NULL);
			return;
		}
		if ((fault = guest_register(srv, path, &rec, err, sizeof(err))) != 0) {
			done(arg, fault, err, NULL);
			return;
		}
		guest_state_adopt(&gs, &rec);
	}
	if (!guest_may(op, gs.status)) {
		refuse_state(path, guest_status_name(gs.status), op, err, sizeof(err));
		done(arg, FAULT_STATE, err, &gs.rec);
		guest_state_free(&gs);
		return;
	}
	f = xcalloc(1, sizeof(*f));
	f->srv = srv;
	f->path = xstrdup(path);
	f->def = def;
	f->t = t;
	f->done = done;
	f->arg = arg;
	f->before = gs.status;
	snprintf(f->uuid, sizeof(f->uuid), "%s", gs.uuid ? gs.uuid : "");
	snprintf(f->name, sizeof(f->name), "%s", gs.name ? gs.name : "");
	f->state_file = xasprintf("%s/" STATE_FILE, path);
	f->next = ops_of(srv)->head;
	ops_of(srv)->head = f;
	guest_state_free(&gs);

	/* Backends that cannot do this say so before anything is recorded. */
	if ((def->kind == K_START && !hvo->start) || (def->kind == K_ACT && !hvo->act) ||
	    (def->kind == K_SAVE && !hvo->save) || (def->kind == K_RESTORE && !hvo->restore)) {
		snprintf(err, sizeof(err), "the %s backend cannot %s guests", hvo->name, t->name);
		inflight_end(f, FAULT_NOT_SUPPORTED, err, NULL);
		return;
	}
	if (def->kind == K_START || def->kind == K_RESTORE) {
		char uuid[37];
		if ((fault = guest_load_cfg(path, &f->cfg, &f->g, f->name, sizeof(f->name), uuid, err,
					    sizeof(err))) != 0) {
			inflight_end(f, fault, err, NULL);
			return;
		}
		if (strcmp(uuid, f->uuid) != 0) {
			char *other = uuid_taken(srv, uuid, path);
			if (other) {
				snprintf(err, sizeof(err), "%s/vm.cfg: uuid %s already belongs to %s",
					 path, uuid, other);
				free(other);
				inflight_end(f, FAULT_EXISTS, err, NULL);
				return;
			}
		}
		/* vm.cfg may have been edited since registration. */
		snprintf(f->uuid, sizeof(f->uuid), "%s", uuid);
		f->g.path = f->path;
		f->g.uuid = f->uuid;
	}
	/* The site's hooks come first: a before_start may refuse, leaving the
	 * guest as it was (no intent written yet). */
	if (op == GOP_START || op == GOP_STOP) {
		guest_hooks_wait(srv, op == GOP_START ? GE_BEFORE_START : GE_BEFORE_STOP,
				 &(struct guest_hook_who){ .path = f->path, .name = f->name,
							   .uuid = f->uuid },
				 on_before_hooks, f);
		return;
	}
	act(f);
}

/* ---- start-up reconciliation ------------------------------------------------ */

struct recon {
	struct server *srv;
	struct hv_dom *doms;
	size_t n;
	int changed;
};

static const struct hv_dom *find_dom(const struct recon *rc, const char *uuid)
{
	for (size_t i = 0; uuid && i < rc->n; i++)
		if (strcmp(rc->doms[i].uuid, uuid) == 0)
			return &rc->doms[i];
	return NULL;
}

static int reconcile_one(const char *path, const struct record *old, void *arg)
{
	struct recon *rc = arg;
	struct guest_state g;
	const struct hv_dom *d;
	enum guest_status was, now;
	enum guest_op op;
	const char *why = NULL;
	char err[256], *text_old, *text_new, *text_read = NULL, *op_text;

	guest_state_read(&g, old);
	if (g.upgraded)         /* an older format: written back below even if nothing else changes */
		text_read = record_format(&g.rec);
	d = find_dom(rc, g.uuid);
	was = g.status;
	op_text = g.op ? xstrdup(g.op) : NULL;  /* for the log: g.op is cleared below */
	now = was != GS_NONE ? was : GS_ERROR;
	op = guest_op_parse(g.op);
	if (op == GOP_MIGRATE_IN) {
		/* Half received: its state may never arrive. destroy_vm clears it. */
		now = GS_ERROR;
		why = "the agent stopped during an incoming migration";
	} else if (op == GOP_MIGRATE && d) {
		/* Its state may have reached the destination: running it here
		 * too could run the guest twice. A person decides. */
		now = GS_ERROR;
		why = "the agent stopped during an outgoing migration; check the destination "
		      "before destroying or starting it here";
	} else if (d) {
		/* The backend is the truth about a guest that exists. */
		now = status_of(d->state);
		if (d->state == HV_CRASHED)
			why = "the guest crashed";
	} else if (op == GOP_SUSPEND) {
		char *file = xasprintf("%s/" STATE_FILE, path);
		now = access(file, R_OK) == 0 ? GS_SUSPEND : GS_ERROR;
		if (now == GS_ERROR)
			why = "the agent stopped while suspending it and no state file was written";
		free(file);
	} else if (op == GOP_RESUME) {
		now = GS_SUSPEND; /* not restored: its state file is still there */
	} else if (g.op) {
		now = GS_DOWN;   /* start never happened, or stop/destroy did */
	} else if (was == GS_RUNNING || was == GS_PAUSED) {
		now = GS_ERROR;
		why = "recorded as running, but the hypervisor does not run it";
	}
	guest_unset(&g, GF_OP);
	guest_unset(&g, GF_OP_STARTED);
	guest_set_status(&g, now);
	if (why)
		guest_set(&g, GF_ERROR, why);
	if (!d)
		guest_unset(&g, GF_HV_ID);
	else
		guest_set_int(&g, GF_HV_ID, d->id);
	text_old = record_format(old);
	text_new = record_format(&g.rec);
	if (strcmp(text_old, text_new) != 0) {
		if (guest_state_put(rc->srv->store, path, &g, err, sizeof(err)) != 0)
			log_err("reconcile %s: %s", path, err);
		else if (text_read && strcmp(text_read, text_new) == 0)
			log_info("%s: record brought up to date (last_error folded into error)", path);
		else
			log_warn("reconciled %s: %s%s%s -> %s%s%s", path,
				 was != GS_NONE ? guest_status_name(was) : "?",
				 op_text ? " during " : "", op_text ? op_text : "",
				 guest_status_name(now), why ? ": " : "", why ? why : "");
		rc->changed++;
	}
	free(text_old);
	free(text_new);
	free(text_read);
	free(op_text);
	guest_state_free(&g);
	return 0;
}

void guest_reconcile(struct server *srv)
{
	struct recon rc = { .srv = srv };
	char err[256];

	if (!srv->hv->ops->list) {
		log_warn("the %s backend cannot list guests; guest states not reconciled",
			 srv->hv->ops->name);
		return;
	}
	if (srv->hv->ops->list(srv->hv, &rc.doms, &rc.n, err, sizeof(err)) != 0) {
		log_err("cannot list the hypervisor's guests: %s; guest states not reconciled", err);
		return;
	}
	if (guests_each(srv->store, reconcile_one, &rc, err, sizeof(err)) != 0)
		log_err("reconcile: %s", err);
	log_info("guest states reconciled with the %s backend (%zu running, %d record%s changed)",
		 srv->hv->ops->name, rc.n, rc.changed, rc.changed == 1 ? "" : "s");
	free(rc.doms);
}

/* ---- events from the backend ------------------------------------------------ */

/* An event, and what the record said before it (for the hooks). */
struct event_seen {
	enum hv_event ev;
	enum guest_status was;
	char name[256];
};

static int apply_event(struct guest_state *g, bool exists, void *arg, char *err, size_t errlen)
{
	struct event_seen *es = arg;
	enum hv_event ev = es->ev;

	if (!exists || g->op)
		return 1; /* gone meanwhile, or an operation owns the guest now */
	es->was = g->status;
	snprintf(es->name, sizeof(es->name), "%s", g->name ? g->name : "");
	switch (ev) {
	case HV_EV_GONE:
		/* A suspended guest's QEMU is meant to be gone: its state file is
		 * the guest now. */
		if (g->status == GS_SUSPEND)
			return 1;
		guest_set_status(g, GS_DOWN);
		guest_unset(g, GF_HV_ID);
		guest_unset(g, GF_VNC_PORT);
		break;
	case HV_EV_PAUSED:
		guest_set_status(g, GS_PAUSED);
		break;
	case HV_EV_RUNNING:
		guest_set_status(g, GS_RUNNING);
		break;
	case HV_EV_CRASHED:
		guest_set_status(g, GS_ERROR);
		guest_set(g, GF_ERROR, "the guest crashed");
		break;
	}
	return 0;
}

void guest_on_event(struct hv *hv, const char *uuid, enum hv_event ev)
{
	static const char *const names[] = { "running", "paused", "crashed", "gone" };
	struct server *srv = hv->owner;
	char err[512], *path = NULL;
	int r = guests_find_uuid(srv->store, uuid, NULL, &path, err, sizeof(err));

	if (r <= 0) {
		if (r < 0)
			log_err("guest %s is %s, but the db cannot say whose: %s", uuid, names[ev], err);
		else
			log_info("guest %s is %s (not registered)", uuid, names[ev]);
		return;
	}
	if (!guest_busy(srv, path)) {
		struct event_seen es = { .ev = ev, .was = GS_NONE };
		r = guest_state_update(srv->store, path, apply_event, &es, err, sizeof(err));
		if (r < 0) {
			log_err("%s: cannot record that it is %s: %s", path, names[ev], err);
		} else {
			log_info("%s is %s (reported by the hypervisor)", path, names[ev]);
			/* A guest that crashed, or stopped on its own: the site's hooks
			 * hear of it (a stop the agent made told them already). */
			if (r == 0 && (ev == HV_EV_CRASHED ||
				       (ev == HV_EV_GONE && (es.was == GS_RUNNING ||
							     es.was == GS_PAUSED)))) {
				pool_guest_ran(srv, path, false);
				guest_hooks_tell(srv, ev == HV_EV_CRASHED ? GE_CRASHED : GE_AFTER_STOP,
						 &(struct guest_hook_who){ .path = path,
									   .name = es.name,
									   .uuid = uuid });
			}
		}
	}
	free(path);
}

/* ---- claims: operations of several steps ----------------------------------- */

static struct inflight *find_inflight(struct server *srv, const char *path)
{
	for (struct inflight *f = ops_of(srv)->head; f; f = f->next)
		if (strcmp(f->path, path) == 0)
			return f;
	return NULL;
}

int guest_claim(struct server *srv, const char *path, enum guest_op op, bool may_register,
		struct guest_claimed *c, char *err, size_t errlen)
{
	struct intent in = { .t = &guest_transitions[op] };
	struct record rec;
	struct inflight *f;
	int r, fault;

	guest_state_init(&c->state);
	c->before = GS_NONE;
	if (guest_busy(srv, path)) {
		snprintf(err, errlen, "%s is busy with another operation", path);
		return FAULT_BUSY;
	}
	guest_state_free(&c->state);
	r = guest_state_get(srv->store, path, &c->state, err, errlen);
	if (r < 0)
		return FAULT_IO;
	if (r == 0) {
		if (!may_register) {
			snprintf(err, errlen, "%s is not a registered guest", path);
			return FAULT_NOT_FOUND;
		}
		if ((fault = guest_register(srv, path, &rec, err, errlen)) != 0)
			return fault;
		guest_state_free(&c->state);
		guest_state_adopt(&c->state, &rec);
	}
	if (!guest_may(op, c->state.status)) {
		refuse_state(path, guest_status_name(c->state.status), op, err, errlen);
		return FAULT_STATE;
	}
	in.seen = c->state.status;
	r = guest_state_update(srv->store, path, apply_intent, &in, err, errlen);
	if (r != 0)
		return r == -2 ? FAULT_STATE : FAULT_IO;
	/* The caller's copy shows the claim, and keeps the status it had for
	 * a rollback. */
	c->before = c->state.status;
	guest_set(&c->state, GF_OP, in.t->name);
	guest_set_status(&c->state, in.t->during);
	f = xcalloc(1, sizeof(*f));
	f->srv = srv;
	f->path = xstrdup(path);
	f->next = ops_of(srv)->head;
	ops_of(srv)->head = f;
	return 0;
}

static int apply_release(struct guest_state *g, bool exists, void *arg, char *err, size_t errlen)
{
	const struct guest_end *end = arg;

	guest_unset(g, GF_OP);
	guest_unset(g, GF_OP_STARTED);
	guest_set_status(g, end->status);
	if (end->host)
		guest_set(g, GF_HOST, end->host);
	if (end->forget_hv) {
		guest_unset(g, GF_HV_ID);
		guest_unset(g, GF_VNC_PORT);
	} else if (end->dom) {
		guest_set_int(g, GF_HV_ID, end->dom->id);
		guest_set_int(g, GF_VNC_PORT, end->dom->vnc_port);
	}
	guest_set(g, GF_ERROR, end->error);
	return 0;
}

int guest_release(struct server *srv, const char *path, const struct guest_end *end)
{
	struct inflight *f = find_inflight(srv, path), **pp = &ops_of(srv)->head;
	char err[512];
	int rc = 0;

	if (guest_state_update(srv->store, path, apply_release, (void *)end, err, sizeof(err)) < 0) {
		log_err("%s: cannot record status %s: %s", path, guest_status_name(end->status), err);
		rc = -1;
	}
	while (*pp && *pp != f)
		pp = &(*pp)->next;
	if (f && *pp) {
		*pp = f->next;
		free(f->path);
		free(f);
	}
	return rc;
}
