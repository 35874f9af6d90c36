/* sim.c - the embedded simulated hypervisor (libvirt's test driver, in
 * spirit). Its guests are records in the store's "sim" table, so they
 * outlive an agent restart like real guests do. It accounts memory and
 * vcpus honestly (a start that does not fit is refused), every operation
 * completes asynchronously after a short delay (the deferred-reply paths
 * run as they do with real backends), and failures can be injected per
 * operation through the "sim_faults" table (sim_inject_fault method).
 * Live migration between two agents' sims: the destination holds the guest
 * paused (its memory counted) until the source has dropped its copy and
 * the agent lets it run; nothing travels but the agents' calls. */
#define LOG_CAT "sim"
#include "hypervisor/hv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db/record.h"
#include "db/store.h"
#include "agent/base/fault.h"
#include "agent/base/log.h"
#include "agent/base/loop.h"
#include "agent/base/util.h"
#include "hypervisor/qemu/qemu_argv.h"

#define SIM_TABLE "sim"
#define SIM_FAULTS "sim_faults"
#define SIM_DELAY_MS 20         /* every operation takes this long, unless
				 * OVS_AGENT_SIM_DELAY_MS says otherwise (tests
				 * that need an operation to stay in flight) */
#define DOM0_RESERVED_MB 512    /* memory the host keeps for itself */
#define VNC_BASE 5900

struct sim {
	int total_memory;       /* MB available to guests */
	int nr_cpus;
	int delay_ms;
};

/* One operation in flight: applied when its timer fires. */
struct sim_op {
	struct hv *hv;
	struct timer timer;
	char uuid[40];
	char op[16];            /* start, shutdown, ..., save, restore */
	enum hv_action action;
	char *file;             /* save/restore state file */
	struct hv_dom dom;      /* start/restore: the guest to create */
	char *path;
	hv_done_cb done;
	void *arg;
};

static struct store *db(struct hv *hv) { return hv->env->store; }

static int sim_open(struct hv *hv, char *err, size_t errlen)
{
	struct sim *s = xcalloc(1, sizeof(*s));
	struct hv_info info;

	hv_host_facts(&info);
	s->total_memory = info.total_memory > DOM0_RESERVED_MB ?
			  (int)info.total_memory - DOM0_RESERVED_MB : 0;
	s->nr_cpus = info.nr_cpus;
	s->delay_ms = SIM_DELAY_MS;
	if (getenv("OVS_AGENT_SIM_DELAY_MS"))
		s->delay_ms = atoi(getenv("OVS_AGENT_SIM_DELAY_MS"));
	if (s->delay_ms < 0 || s->delay_ms > 600000) {
		snprintf(err, errlen, "OVS_AGENT_SIM_DELAY_MS must be 0..600000");
		free(s);
		return -1;
	}
	hv->priv = s;
	return 0;
}

static void sim_close(struct hv *hv) { free(hv->priv); }

/* ---- the guests table ---------------------------------------------------- */

static const char *state_name(enum hv_state st)
{
	return st == HV_RUNNING ? "running" : st == HV_PAUSED ? "paused" : "crashed";
}

static enum hv_state state_of(const char *s)
{
	return !s ? HV_CRASHED : strcmp(s, "running") == 0 ? HV_RUNNING :
	       strcmp(s, "paused") == 0 ? HV_PAUSED : HV_CRASHED;
}

struct list_ctx {
	struct hv_dom *doms;
	size_t n, cap;
};

static int list_one(const char *key, const char *val, size_t vlen, void *arg)
{
	struct list_ctx *c = arg;
	struct record r;
	struct hv_dom *d;

	record_init(&r);
	if (record_parse(&r, val, vlen) != 0) {
		record_free(&r);
		return 0; /* a damaged record is skipped, not fatal */
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->doms = xrealloc(c->doms, c->cap * sizeof(*c->doms));
	}
	d = &c->doms[c->n++];
	memset(d, 0, sizeof(*d));
	snprintf(d->uuid, sizeof(d->uuid), "%s", key);
	snprintf(d->name, sizeof(d->name), "%s", record_get(&r, "name") ? record_get(&r, "name") : "");
	d->id = record_get_int(&r, "id", 0);
	d->state = state_of(record_get(&r, "state"));
	d->memory = (int)record_get_int(&r, "memory", 0);
	d->vcpus = (int)record_get_int(&r, "vcpus", 0);
	d->vnc_port = (int)record_get_int(&r, "vnc_port", -1);
	d->started = record_get_int(&r, "started", 0);
	record_free(&r);
	return 0;
}

static int sim_list(struct hv *hv, struct hv_dom **doms, size_t *n, char *err, size_t errlen)
{
	struct list_ctx c = { 0 };

	if (store_each(db(hv), SIM_TABLE, list_one, &c, err, errlen) != 0) {
		free(c.doms);
		return -1;
	}
	*doms = c.doms;
	*n = c.n;
	return 0;
}

static int put_dom(struct hv *hv, const struct hv_dom *d, const char *path, char *err, size_t errlen)
{
	struct record r;
	char *text;
	int rc;

	record_init(&r);
	record_set(&r, "name", d->name);
	record_set(&r, "state", state_name(d->state));
	record_set_int(&r, "id", d->id);
	record_set_int(&r, "memory", d->memory);
	record_set_int(&r, "vcpus", d->vcpus);
	record_set_int(&r, "vnc_port", d->vnc_port);
	record_set_int(&r, "started", d->started ? d->started : (long long)time(NULL));
	if (path)
		record_set(&r, "path", path);
	text = record_format(&r);
	rc = store_put(db(hv), SIM_TABLE, d->uuid, text, err, errlen);
	free(text);
	record_free(&r);
	return rc;
}

/* ---- injected faults ---------------------------------------------------- */

/* "once" faults are consumed; "always" stay until cleared. */
static bool injected(struct hv *hv, const char *op, char *msg, size_t msglen)
{
	char *v = NULL, err[256];
	bool hit = false;

	if (store_get(db(hv), SIM_FAULTS, op, &v, err, sizeof(err)) == 1) {
		hit = strcmp(v, "once") == 0 || strcmp(v, "always") == 0;
		if (strcmp(v, "once") == 0)
			store_del(db(hv), SIM_FAULTS, op, err, sizeof(err));
		snprintf(msg, msglen, "simulated %s failure (injected)", op);
	}
	free(v);
	return hit;
}

/* ---- asynchronous completion -------------------------------------------- */

/* Memory in use by the other guests, and the lowest free VNC port. */
static void usage_now(struct hv *hv, const char *except, int *used, int *vnc)
{
	struct hv_dom *doms = NULL;
	size_t n = 0;
	char err[256];

	*used = 0;
	*vnc = VNC_BASE;
	if (sim_list(hv, &doms, &n, err, sizeof(err)) != 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (strcmp(doms[i].uuid, except) != 0)
			*used += doms[i].memory;
	for (bool taken = true; taken;) {
		taken = false;
		for (size_t i = 0; i < n; i++)
			if (doms[i].vnc_port == *vnc) {
				(*vnc)++;
				taken = true;
			}
	}
	free(doms);
}

static int do_create(struct sim_op *o, char *msg, size_t msglen)
{
	struct sim *s = o->hv->priv;
	struct hv_dom cur;
	int used, vnc;
	char err[256];

	if (hv_lookup(o->hv, o->uuid, &cur, err, sizeof(err)) == 1) {
		snprintf(msg, msglen, "a guest with uuid %s is already running (id %lld)", o->uuid, cur.id);
		return FAULT_STATE;
	}
	if (o->dom.vcpus > s->nr_cpus) {
		snprintf(msg, msglen, "%d vcpus asked, the host has %d CPUs", o->dom.vcpus, s->nr_cpus);
		return FAULT_NO_RESOURCES;
	}
	usage_now(o->hv, o->uuid, &used, &vnc);
	if (o->dom.memory > s->total_memory - used) {
		snprintf(msg, msglen, "%d MB asked, %d MB free of %d MB", o->dom.memory,
			 s->total_memory - used, s->total_memory);
		return FAULT_NO_RESOURCES;
	}
	{
		char *v = NULL;
		long long next = 1;
		if (store_get(db(o->hv), "meta", "sim_next_id", &v, err, sizeof(err)) == 1)
			next = atoll(v);
		free(v);
		o->dom.id = next;
		snprintf(err, sizeof(err), "%lld", next + 1);
		store_put(db(o->hv), "meta", "sim_next_id", err, err, sizeof(err));
	}
	if (o->dom.vnc_port >= 0)
		o->dom.vnc_port = vnc;
	o->dom.state = HV_RUNNING;
	if (put_dom(o->hv, &o->dom, o->path, msg, msglen) != 0)
		return FAULT_IO;
	return 0;
}

/* Write a small state file for a suspended guest, atomically. */
static int write_state(const char *file, const struct hv_dom *d, char *msg, size_t msglen)
{
	char *tmp = xasprintf("%s.tmp", file), *text;
	int fd, rc = FAULT_IO;

	text = xasprintf("sim-state-v1\nuuid=%s\nname=%s\nmemory=%d\nvcpus=%d\n", d->uuid, d->name,
			 d->memory, d->vcpus);
	/* A new file, never through a link someone left in the directory. */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || fsync(fd) != 0 ||
	    close(fd) != 0 || (fd = -1, rename(tmp, file) != 0)) {
		snprintf(msg, msglen, "cannot write state file %s: %s", file, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
	} else {
		rc = 0;
	}
	free(tmp);
	free(text);
	return rc;
}

static int check_state_file(const char *file, const char *uuid, char *msg, size_t msglen)
{
	char buf[512], want[64];
	int fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		snprintf(msg, msglen, "cannot read state file %s: %s", file, strerror(errno));
		return FAULT_IO;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	snprintf(want, sizeof(want), "\nuuid=%s\n", uuid);
	if (strncmp(buf, "sim-state-v1\n", 13) != 0 || !strstr(buf, want)) {
		snprintf(msg, msglen, "state file %s does not hold guest %s", file, uuid);
		return FAULT_INVALID_ARGUMENT;
	}
	return 0;
}

static int do_act(struct sim_op *o, char *msg, size_t msglen)
{
	struct hv_dom d;
	char err[256];
	int r = hv_lookup(o->hv, o->uuid, &d, err, sizeof(err));

	if (r < 0) {
		snprintf(msg, msglen, "%s", err);
		return FAULT_IO;
	}
	if (r == 0) {
		snprintf(msg, msglen, "guest %s is not running", o->uuid);
		return FAULT_STATE;
	}
	switch (o->action) {
	case HV_SHUTDOWN:
	case HV_DESTROY:
		return store_del(db(o->hv), SIM_TABLE, o->uuid, msg, msglen) < 0 ? FAULT_IO : 0;
	case HV_PAUSE:
	case HV_UNPAUSE:
		if ((o->action == HV_PAUSE) != (d.state == HV_RUNNING)) {
			snprintf(msg, msglen, "guest %s is %s", o->uuid, state_name(d.state));
			return FAULT_STATE;
		}
		d.state = o->action == HV_PAUSE ? HV_PAUSED : HV_RUNNING;
		break;
	case HV_REBOOT:
	case HV_RESET:
		if (d.state == HV_CRASHED && o->action == HV_REBOOT) {
			snprintf(msg, msglen, "guest %s has crashed; reset or destroy it", o->uuid);
			return FAULT_STATE;
		}
		d.state = HV_RUNNING;
		break;
	}
	return put_dom(o->hv, &d, NULL, msg, msglen) < 0 ? FAULT_IO : 0;
}

/* Source: the guest leaves this host for uri (the destination's "sim:<uuid>"). */
static int do_migrate(struct sim_op *o, char *msg, size_t msglen)
{
	struct hv_dom d;
	char err[256];
	int r = hv_lookup(o->hv, o->uuid, &d, err, sizeof(err));

	if (r != 1 || d.state != HV_RUNNING) {
		snprintf(msg, msglen, "guest %s is not running here", o->uuid);
		return FAULT_STATE;
	}
	if (strncmp(o->file, "sim:", 4) != 0 || strcmp(o->file + 4, o->uuid) != 0) {
		snprintf(msg, msglen, "%s is not a sim destination for guest %s", o->file, o->uuid);
		return FAULT_INVALID_ARGUMENT;
	}
	return store_del(db(o->hv), SIM_TABLE, o->uuid, msg, msglen) < 0 ? FAULT_IO : 0;
}

/* Destination: the incoming guest (paused since migrate_listen) runs. */
static int do_arrive(struct sim_op *o, char *msg, size_t msglen)
{
	struct hv_dom d;
	char err[256];

	if (hv_lookup(o->hv, o->uuid, &d, err, sizeof(err)) != 1 || d.state != HV_PAUSED) {
		snprintf(msg, msglen, "no incoming guest %s here", o->uuid);
		return FAULT_STATE;
	}
	d.state = HV_RUNNING;
	return put_dom(o->hv, &d, NULL, msg, msglen) < 0 ? FAULT_IO : 0;
}

static int do_save(struct sim_op *o, char *msg, size_t msglen)
{
	struct hv_dom d;
	char err[256];
	int r = hv_lookup(o->hv, o->uuid, &d, err, sizeof(err));

	if (r != 1) {
		snprintf(msg, msglen, "guest %s is not running", o->uuid);
		return FAULT_STATE;
	}
	if ((r = write_state(o->file, &d, msg, msglen)) != 0)
		return r;
	return store_del(db(o->hv), SIM_TABLE, o->uuid, msg, msglen) < 0 ? FAULT_IO : 0;
}

static void op_fire(struct timer *t)
{
	struct sim_op *o = t->data;
	char msg[512] = "";
	int fault;

	if (injected(o->hv, o->op, msg, sizeof(msg)))
		fault = FAULT_HYPERVISOR;
	else if (strcmp(o->op, "start") == 0)
		fault = do_create(o, msg, sizeof(msg));
	else if (strcmp(o->op, "restore") == 0)
		fault = check_state_file(o->file, o->uuid, msg, sizeof(msg)) ?: do_create(o, msg, sizeof(msg));
	else if (strcmp(o->op, "save") == 0)
		fault = do_save(o, msg, sizeof(msg));
	else if (strcmp(o->op, "incoming") == 0) {
		/* held paused until migrate_finish; done's msg is the URI */
		fault = do_create(o, msg, sizeof(msg));
		o->dom.state = HV_PAUSED;
		if (!fault && put_dom(o->hv, &o->dom, o->path, msg, sizeof(msg)) != 0)
			fault = FAULT_IO;
		if (!fault)
			snprintf(msg, sizeof(msg), "sim:%s", o->uuid);
	} else if (strcmp(o->op, "migrate") == 0)
		fault = do_migrate(o, msg, sizeof(msg));
	else if (strcmp(o->op, "arrive") == 0)
		fault = do_arrive(o, msg, sizeof(msg));
	else
		fault = do_act(o, msg, sizeof(msg));
	if (fault)
		log_info("%s %s: %s", o->op, o->uuid, msg);
	o->done(o->arg, fault, fault || msg[0] ? msg : NULL);
	free(o->file);
	free(o->path);
	free(o);
}

static struct sim_op *op_new(struct hv *hv, const char *op, const char *uuid, hv_done_cb done, void *arg)
{
	struct sim_op *o = xcalloc(1, sizeof(*o));

	o->hv = hv;
	snprintf(o->op, sizeof(o->op), "%s", op);
	snprintf(o->uuid, sizeof(o->uuid), "%s", uuid);
	o->done = done;
	o->arg = arg;
	timer_init(&o->timer, op_fire, o);
	timer_start(hv->env->loop, &o->timer, ((struct sim *)hv->priv)->delay_ms);
	return o;
}

static void fill_dom(struct sim_op *o, const struct hv_guest *g)
{
	snprintf(o->dom.uuid, sizeof(o->dom.uuid), "%s", g->uuid);
	snprintf(o->dom.name, sizeof(o->dom.name), "%s", g->name);
	o->dom.memory = g->memory;
	o->dom.vcpus = g->vcpus;
	/* A VNC console only when vm.cfg asks for one, by QEMU's reading of
	 * vnc/vfb (vnc=0 means none); do_create picks the port. */
	o->dom.vnc_port = !g->cfg || qemu_wants_vnc(g->cfg) ? 0 : -1;
	o->path = xstrdup(g->path);
}

static void sim_start(struct hv *hv, const struct hv_guest *g, hv_done_cb done, void *arg)
{
	fill_dom(op_new(hv, "start", g->uuid, done, arg), g);
}

static void sim_act(struct hv *hv, const char *uuid, enum hv_action a, hv_done_cb done, void *arg)
{
	op_new(hv, hv_action_name(a), uuid, done, arg)->action = a;
}

static void sim_save(struct hv *hv, const char *uuid, const char *file, hv_done_cb done, void *arg)
{
	op_new(hv, "save", uuid, done, arg)->file = xstrdup(file);
}

static void sim_restore(struct hv *hv, const struct hv_guest *g, const char *file, hv_done_cb done,
			void *arg)
{
	struct sim_op *o = op_new(hv, "restore", g->uuid, done, arg);

	fill_dom(o, g);
	o->file = xstrdup(file);
}

static void sim_migrate_listen(struct hv *hv, const struct hv_guest *g, const char *listen_ip,
			       hv_done_cb done, void *arg)
{
	(void)listen_ip;
	fill_dom(op_new(hv, "incoming", g->uuid, done, arg), g);
}

static void sim_migrate_send(struct hv *hv, const char *uuid, const char *uri, hv_done_cb done,
			     void *arg)
{
	op_new(hv, "migrate", uuid, done, arg)->file = xstrdup(uri);
}

static void sim_migrate_finish(struct hv *hv, const char *uuid, hv_done_cb done, void *arg)
{
	op_new(hv, "arrive", uuid, done, arg);
}

static void sim_info(struct hv *hv, hv_info_cb done, void *arg)
{
	struct sim *s = hv->priv;
	struct hv_info info;
	int used, vnc;

	hv_host_facts(&info);
	usage_now(hv, "", &used, &vnc);
	snprintf(info.hypervisor, sizeof(info.hypervisor), "sim");
	/* The simulator's version is the agent's own. */
	info.xen_major = 2;
	info.xen_minor = 2;
	snprintf(info.xen_extra, sizeof(info.xen_extra), "-sim");
	snprintf(info.xen_caps, sizeof(info.xen_caps), "sim-%s", info.machine);
	info.total_memory = (uint64_t)s->total_memory + DOM0_RESERVED_MB;
	info.free_memory = (uint64_t)(s->total_memory - used);
	done(arg, &info, NULL);
}

/* A simulated guest uses no CPU and no disk; it holds its memory. */
static void sim_stats(struct hv *hv, const char *uuid, hv_stats_cb done, void *arg)
{
	struct hv_stats st = { 0 };
	struct hv_dom d;
	char err[256];
	int r = hv_lookup(hv, uuid, &d, err, sizeof(err));

	if (r != 1) {
		if (r == 0)
			snprintf(err, sizeof(err), "guest %s is not running", uuid);
		done(arg, NULL, r == 0 ? FAULT_STATE : FAULT_IO, err);
		return;
	}
	st.memory_kb = (uint64_t)d.memory * 1024;
	st.uptime = d.started ? difftime(time(NULL), (time_t)d.started) : 0;
	done(arg, &st, 0, NULL);
}

const struct hv_ops hv_sim_ops = {
	.name = "sim",
	.open = sim_open,
	.close = sim_close,
	.info = sim_info,
	.start = sim_start,
	.act = sim_act,
	.save = sim_save,
	.restore = sim_restore,
	.list = sim_list,
	.migrate_listen = sim_migrate_listen,
	.migrate_send = sim_migrate_send,
	.migrate_finish = sim_migrate_finish,
	.stats = sim_stats,
};

/* The sim_inject_fault method's worker: action "once", "always" or
 * "clear" for op. Returns 0 or -1 with err. */
int sim_inject_fault(struct hv *hv, const char *op, const char *action, char *err, size_t errlen)
{
	static const char *const ops[] = { "start", "shutdown", "destroy", "pause", "unpause",
					   "reboot", "reset", "save", "restore", "migrate" };
	bool known = false;

	for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
		known |= strcmp(op, ops[i]) == 0;
	if (hv->ops != &hv_sim_ops) {
		snprintf(err, errlen, "faults can be injected only with hypervisor=sim");
		return -1;
	}
	if (!known) {
		snprintf(err, errlen, "unknown operation '%s' (start, shutdown, destroy, pause, "
			 "unpause, reboot, reset, save, restore, migrate)", op);
		return -1;
	}
	if (strcmp(action, "clear") == 0)
		return store_del(db(hv), SIM_FAULTS, op, err, errlen) < 0 ? -1 : 0;
	if (strcmp(action, "once") != 0 && strcmp(action, "always") != 0) {
		snprintf(err, errlen, "unknown action '%s' (once, always, clear)", action);
		return -1;
	}
	return store_put(db(hv), SIM_FAULTS, op, action, err, errlen);
}

/* Mark a running guest crashed, as if it had died on its own, and report
 * it the way a real backend reports a crash: through hv->on_event. */
int sim_crash(struct hv *hv, const char *uuid, char *err, size_t errlen)
{
	struct hv_dom d;
	int r = hv_lookup(hv, uuid, &d, err, errlen);

	if (r <= 0) {
		if (r == 0)
			snprintf(err, errlen, "guest %s is not running", uuid);
		return -1;
	}
	d.state = HV_CRASHED;
	if (put_dom(hv, &d, NULL, err, errlen) != 0)
		return -1;
	if (hv->on_event)
		hv->on_event(hv, uuid, HV_EV_CRASHED);
	return 0;
}
