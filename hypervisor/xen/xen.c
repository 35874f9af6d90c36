/* xen.c - Xen through the xl toolstack (xm's successor): every call is a
 * child process of the loop (agent/child.h), none blocks it. Not run
 * against a live Xen here (README): tests/e2e/fake-xl stands in for xl.
 *
 * The domain list. list() must answer at once, so the backend keeps a
 * snapshot of `xl list -v` (uuid, name, domid, state, memory, vcpus, CPU
 * time), refreshed by a child after every operation and every
 * XEN_POLL_MS on a timer. open() runs it once synchronously (before the
 * loop runs) so the start-up reconciliation sees the truth. `xl list -v`
 * rather than `xl list -l`: the JSON of -l is each domain's configuration
 * and carries no run state (r/b/p/s/c/d), which only the table has; -v is
 * the table plus the UUID, so one child gives everything. Changes nobody
 * asked for (a domain gone, crashed, paused or started behind the agent's
 * back) go to hv->on_event.
 *
 * Addressing. xl takes a domain by name or domid, not by uuid
 * (libxl_domain_qualifier_to_domid: "this could also check for uuids").
 * So every action first refreshes the list, finds the guest's uuid in it,
 * and names the domain by that domid: the freshest truth, and a domid is
 * unique while the domain lives.
 *
 * The xl command lines (D is the domid):
 *   start     xl create <path>/vm.cfg [VIFS]  (xl reads the xm-format file;
 *             VIFS, when it has vif items: vif=['ITEM, script=HOOKS/vif-bridge', ...]
 *             so xl attaches them with the agent's vif-bridge)
 *   shutdown  xl shutdown -w -F D  within guest_stop_timeout, else
 *             xl destroy D                    (power-off; logged as such)
 *   destroy   xl destroy D
 *   pause     xl pause D          unpause   xl unpause D
 *   reboot    xl reboot -w -F D   within guest_stop_timeout, else fault
 *             1500 (the guest did not reboot; it still runs; reset_vm
 *             forces it). -w waits until the old domain is gone; xl's
 *             monitor then builds the new one (a new domid, same uuid).
 *   reset     xl trigger D reset
 *   save      xl save D <file>                (xl destroys the domain)
 *   restore   xl restore <file>
 * -F falls back to the ACPI power button for an HVM guest without PV
 * drivers. A failing xl gives fault 1100 with its exit status and the tail
 * of its stderr.
 *
 * Environment of xl: PATH and LC_ALL=C only. When OVS_AGENT_XL names the
 * program (tests, development), variables FAKE_XL_* of the agent's own
 * environment are passed on too: that is how tests/e2e/fake-xl finds its
 * state. */
#define LOG_CAT "xen"
#include "hypervisor/hv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/base/buf.h"
#include "agent/base/child.h"
#include "agent/base/fault.h"
#include "agent/base/hook.h"
#include "agent/base/log.h"
#include "agent/base/loop.h"
#include "agent/base/util.h"
#include "hypervisor/vmcfg.h"
#include "hypervisor/xen/xen_parse.h"

extern char **environ;

#define XEN_POLL_MS 5000          /* list refresh; OVS_AGENT_XL_POLL_MS overrides */
#define LIST_TIMEOUT_MS 30000
#define CREATE_TIMEOUT_MS 120000
#define QUICK_TIMEOUT_MS 60000    /* destroy, pause, unpause, trigger */
#define SAVE_TIMEOUT_MS (30 * 60 * 1000)
#define XL_OUTPUT_MAX (1024 * 1024)

struct xop;

struct xen {
	char xl[256];
	char **envp;                  /* malloc'd, NULL-terminated */
	struct hv *hv;
	struct xen_dom *doms;         /* the snapshot */
	size_t n;
	struct timer poll;
	int poll_ms;
	struct child *list_child;     /* the refresh running now, or NULL */
	struct xop *cur, *next;       /* waiting for it / for the one after it */
	struct xop *ops;              /* every operation in flight */
	bool closing;                 /* close() waits for the refresh in flight */
	struct timer close_wait;
};

enum xop_stage { ST_PRE_LIST, ST_MAIN, ST_FALLBACK, ST_POST_LIST };

/* One operation: [refresh ->] xl command [-> xl destroy] -> refresh -> done. */
struct xop {
	struct xop *next;             /* in xen.ops */
	struct xop *wnext;            /* in xen.cur / xen.next */
	struct hv *hv;
	enum xop_stage stage;
	const char *what;             /* "start", "shutdown", ... */
	enum hv_action action;
	bool is_act;
	char uuid[40];
	long long domid;
	char *path;                   /* start: <path>/vm.cfg */
	char *vifs;                   /* start: xl's vif= with the hotplug script, or NULL */
	char *file;                   /* save/restore */
	struct child *ch;
	int timeout_ms;
	char cmd[512];                /* the command line, for messages */
	int fault;
	char msg[1024];
	hv_done_cb done;
	void *arg;
};

static struct xen *X(struct hv *hv) { return hv->priv; }

/* ---- environment and command lines ------------------------------------- */

static void build_env(struct xen *x, bool pass_fake)
{
	size_t n = 0, cap = 8;

	x->envp = xcalloc(cap, sizeof(char *));
	x->envp[n++] = xstrdup("PATH=/usr/sbin:/usr/bin:/sbin:/bin");
	x->envp[n++] = xstrdup("LC_ALL=C");
	for (char **e = environ; pass_fake && e && *e; e++) {
		if (strncmp(*e, "FAKE_XL_", 8) != 0)
			continue;
		if (n + 2 > cap) {
			cap *= 2;
			x->envp = xrealloc(x->envp, cap * sizeof(char *));
		}
		x->envp[n++] = xstrdup(*e);
	}
	x->envp[n] = NULL;
}

static void format_cmd(const char *const *argv, char *out, size_t outlen)
{
	size_t len = 0;

	out[0] = '\0';
	for (int i = 0; argv[i] && len < outlen; i++)
		len += (size_t)snprintf(out + len, outlen - len, "%s%s", i ? " " : "",
					i ? argv[i] : "xl");
}

static void describe_failure(const char *cmd, const struct child_result *res, int timeout_ms,
			     char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s ", cmd);

	if (n >= 0 && (size_t)n < outlen)
		child_ok(res, timeout_ms, out + n, outlen - (size_t)n);
}

/* ---- the snapshot -------------------------------------------------------- */

static const struct xen_dom *find_dom(const struct xen_dom *doms, size_t n, const char *uuid)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(doms[i].dom.uuid, uuid) == 0)
			return &doms[i];
	return NULL;
}

static enum hv_event event_of(enum hv_state st)
{
	return st == HV_PAUSED ? HV_EV_PAUSED : st == HV_CRASHED ? HV_EV_CRASHED : HV_EV_RUNNING;
}

/* Install a new snapshot; report what changed, once it is in place. */
static void install(struct xen *x, struct xen_dom *doms, size_t n, bool report)
{
	struct xen_dom *old = x->doms;
	size_t oldn = x->n, nev = 0;
	struct { char uuid[40]; enum hv_event ev; } *evs;
	time_t now = time(NULL);

	evs = xcalloc(oldn + n + 1, sizeof(*evs));
	for (size_t i = 0; i < n; i++) {
		const struct xen_dom *o = find_dom(old, oldn, doms[i].dom.uuid);
		/* The same domain (same domid) keeps its first-seen time. */
		doms[i].dom.started = o && o->dom.id == doms[i].dom.id ? o->dom.started :
				      report ? (long long)now : 0;
		if (!o || o->dom.state != doms[i].dom.state) {
			snprintf(evs[nev].uuid, sizeof(evs[nev].uuid), "%s", doms[i].dom.uuid);
			evs[nev++].ev = event_of(doms[i].dom.state);
		}
	}
	for (size_t i = 0; i < oldn; i++)
		if (!find_dom(doms, n, old[i].dom.uuid)) {
			snprintf(evs[nev].uuid, sizeof(evs[nev].uuid), "%s", old[i].dom.uuid);
			evs[nev++].ev = HV_EV_GONE;
		}
	x->doms = doms;
	x->n = n;
	free(old);
	for (size_t i = 0; report && i < nev; i++) {
		static const char *const names[] = { "running", "paused", "crashed", "gone" };
		log_debug("domain %s is %s", evs[i].uuid, names[evs[i].ev]);
		if (x->hv->on_event)
			x->hv->on_event(x->hv, evs[i].uuid, evs[i].ev);
	}
	free(evs);
}

/* ---- refreshing the list ------------------------------------------------- */

static void op_step(struct xop *o, const struct child_result *res);
static void start_refresh(struct xen *x);


/* A refresh ended: start the one asked for meanwhile (who asked then needs
 * a list that starts after their request), then let this round's waiters
 * go on. */
static void next_round(struct xen *x, struct xop *waiters)
{
	if (x->next) {
		x->cur = x->next;
		x->next = NULL;
		start_refresh(x);
	}
	while (waiters) {
		struct xop *o = waiters;
		waiters = o->wnext;
		o->wnext = NULL;
		op_step(o, NULL);
	}
}

static void on_list(const struct child_result *res, void *arg)
{
	struct xen *x = arg;
	struct xop *waiters = x->cur;
	struct xen_dom *doms = NULL;
	size_t n = 0;
	char err[512];

	x->list_child = NULL;
	if (x->closing) {
		/* close() ran the loop only to see this child end. */
		loop_stop(x->hv->env->loop);
		return;
	}
	x->cur = NULL;
	if (!child_ok(res, 0, NULL, 0)) {
		describe_failure("xl list -v", res, LIST_TIMEOUT_MS, err, sizeof(err));
		log_err("cannot refresh the domain list: %s", err);
	} else if (xen_parse_list(res->out->data ? res->out->data : "", &doms, &n, err,
				  sizeof(err)) != 0) {
		log_err("cannot refresh the domain list: %s", err);
	} else {
		install(x, doms, n, true);
	}
	next_round(x, waiters);
}

static void fail_waiters_later(void *arg);

static void start_refresh(struct xen *x)
{
	const char *argv[] = { x->xl, "list", "-v", NULL };
	struct child_opts co = { .argv = argv, .envp = (const char *const *)x->envp,
				 .timeout_ms = LIST_TIMEOUT_MS, .max_output = XL_OUTPUT_MAX };
	char err[256];

	x->list_child = child_spawn(x->hv->env->loop, &co, on_list, x, err, sizeof(err));
	if (!x->list_child) {
		log_err("cannot run xl list: %s", err);
		/* The waiters go on with the old snapshot, from the loop. */
		loop_defer(x->hv->env->loop, fail_waiters_later, x);
	}
}

static void fail_waiters_later(void *arg)
{
	struct xen *x = arg;
	struct xop *waiters = x->cur;

	if (x->list_child)
		return;
	x->cur = NULL;
	next_round(x, waiters);
}

/* o (or nobody, for the timer) wants a list that starts from now on. */
static void request_refresh(struct xen *x, struct xop *o)
{
	if (x->list_child || x->cur) {
		if (o) {
			struct xop **pp = &x->next;
			while (*pp)
				pp = &(*pp)->wnext;
			*pp = o;
		} else if (!x->next) {
			/* the timer: one in flight is fresh enough */
		}
		return;
	}
	if (o) {
		o->wnext = NULL;
		x->cur = o;
	}
	start_refresh(x);
}

static void on_poll(struct timer *t)
{
	struct xen *x = t->data;

	if (!x->hv->env->stopping)
		request_refresh(x, NULL);
	timer_start(x->hv->env->loop, &x->poll, x->poll_ms);
}

/* ---- operations ----------------------------------------------------------- */

static void op_free(struct xop *o)
{
	struct xen *x = X(o->hv);
	struct xop **pp = &x->ops;

	while (*pp && *pp != o)
		pp = &(*pp)->next;
	if (*pp)
		*pp = o->next;
	free(o->path);
	free(o->vifs);
	free(o->file);
	free(o);
}

static void op_finish(struct xop *o)
{
	hv_done_cb done = o->done;
	void *arg = o->arg;
	int fault = o->fault;
	char msg[1024];

	snprintf(msg, sizeof(msg), "%s", o->msg);
	if (fault)
		log_info("%s %s: %s", o->what, o->uuid, msg);
	op_free(o);
	done(arg, fault, fault ? msg : NULL);
}

static void on_op_child(const struct child_result *res, void *arg)
{
	struct xop *o = arg;

	o->ch = NULL;
	op_step(o, res);
}

static void finish_later(void *arg) { op_finish(arg); }

/* Run one xl command for o; its result comes back to op_step. */
static void run_xl(struct xop *o, const char *const *args, int timeout_ms)
{
	struct xen *x = X(o->hv);
	const char *argv[8];
	size_t i = 0;
	struct child_opts co = { .argv = argv, .envp = (const char *const *)x->envp,
				 .timeout_ms = timeout_ms, .max_output = 64 * 1024 };
	char err[256];

	argv[i++] = x->xl;
	for (; *args && i < 7; args++)
		argv[i++] = *args;
	argv[i] = NULL;
	format_cmd(argv, o->cmd, sizeof(o->cmd));
	o->timeout_ms = timeout_ms;
	log_debug("%s %s: %s", o->what, o->uuid, o->cmd);
	o->ch = child_spawn(o->hv->env->loop, &co, on_op_child, o, err, sizeof(err));
	if (!o->ch) {
		o->fault = FAULT_HYPERVISOR;
		snprintf(o->msg, sizeof(o->msg), "cannot run %s: %s", o->cmd, err);
		loop_defer(o->hv->env->loop, finish_later, o);
	}
}

static void run_main(struct xop *o)
{
	int stop_ms = (o->hv->env->guest_stop_timeout > 0 ? o->hv->env->guest_stop_timeout : 120) *
		      1000;
	char dom[32], *vmcfg;

	snprintf(dom, sizeof(dom), "%lld", o->domid);
	o->stage = ST_MAIN;
	if (strcmp(o->what, "start") == 0) {
		vmcfg = xasprintf("%s/vm.cfg", o->path);
		run_xl(o, (const char *[]){ "create", vmcfg, o->vifs, NULL }, CREATE_TIMEOUT_MS);
		free(vmcfg);
	} else if (strcmp(o->what, "restore") == 0) {
		run_xl(o, (const char *[]){ "restore", o->file, NULL }, SAVE_TIMEOUT_MS);
	} else if (strcmp(o->what, "save") == 0) {
		run_xl(o, (const char *[]){ "save", dom, o->file, NULL }, SAVE_TIMEOUT_MS);
	} else {
		switch (o->action) {
		case HV_SHUTDOWN:
			run_xl(o, (const char *[]){ "shutdown", "-w", "-F", dom, NULL }, stop_ms);
			break;
		case HV_DESTROY:
			run_xl(o, (const char *[]){ "destroy", dom, NULL }, QUICK_TIMEOUT_MS);
			break;
		case HV_PAUSE:
			run_xl(o, (const char *[]){ "pause", dom, NULL }, QUICK_TIMEOUT_MS);
			break;
		case HV_UNPAUSE:
			run_xl(o, (const char *[]){ "unpause", dom, NULL }, QUICK_TIMEOUT_MS);
			break;
		case HV_REBOOT:
			run_xl(o, (const char *[]){ "reboot", "-w", "-F", dom, NULL }, stop_ms);
			break;
		case HV_RESET:
			run_xl(o, (const char *[]){ "trigger", dom, "reset", NULL }, QUICK_TIMEOUT_MS);
			break;
		}
	}
}

/* The state machine: called when o's child or the list it waited for is done
 * (res NULL for a list). */
static void op_step(struct xop *o, const struct child_result *res)
{
	struct xen *x = X(o->hv);
	const struct xen_dom *d;

	switch (o->stage) {
	case ST_PRE_LIST:
		d = find_dom(x->doms, x->n, o->uuid);
		if (!d) {
			o->fault = FAULT_STATE;
			snprintf(o->msg, sizeof(o->msg), "guest %s is not running (xl list does not "
				 "show it)", o->uuid);
			op_finish(o);
			return;
		}
		if (o->is_act && o->action == HV_REBOOT && d->dom.state == HV_CRASHED) {
			o->fault = FAULT_STATE;
			snprintf(o->msg, sizeof(o->msg), "guest %s has crashed; reset or destroy it",
				 o->uuid);
			op_finish(o);
			return;
		}
		o->domid = d->dom.id;
		run_main(o);
		return;
	case ST_MAIN:
		if (!child_ok(res, 0, NULL, 0)) {
			if (o->is_act && o->action == HV_SHUTDOWN && res->timed_out) {
				char dom[32];
				log_warn("%s %s: %s timed out after %d s (guest_stop_timeout); powering "
					 "the domain off with xl destroy", o->what, o->uuid, o->cmd,
					 o->timeout_ms / 1000);
				snprintf(dom, sizeof(dom), "%lld", o->domid);
				o->stage = ST_FALLBACK;
				run_xl(o, (const char *[]){ "destroy", dom, NULL }, QUICK_TIMEOUT_MS);
				return;
			}
			describe_failure(o->cmd, res, o->timeout_ms, o->msg, sizeof(o->msg));
			o->fault = FAULT_HYPERVISOR;
			if (o->is_act && o->action == HV_REBOOT && res->timed_out) {
				o->fault = FAULT_TIMEOUT;
				snprintf(o->msg + strlen(o->msg), sizeof(o->msg) - strlen(o->msg),
					 " (guest_stop_timeout): the guest did not reboot; reset_vm "
					 "forces it");
			}
		}
		break;
	case ST_FALLBACK:
		if (!child_ok(res, 0, NULL, 0)) {
			describe_failure(o->cmd, res, o->timeout_ms, o->msg, sizeof(o->msg));
			o->fault = FAULT_HYPERVISOR;
		} else {
			log_warn("%s %s: powered off (the clean shutdown did not finish within "
				 "guest_stop_timeout)", o->what, o->uuid);
		}
		break;
	case ST_POST_LIST:
		if (!o->fault && (strcmp(o->what, "start") == 0 || strcmp(o->what, "restore") == 0) &&
		    !find_dom(x->doms, x->n, o->uuid)) {
			o->fault = FAULT_HYPERVISOR;
			snprintf(o->msg, sizeof(o->msg), "%s succeeded but xl list does not show a "
				 "domain with uuid %s (it stopped at once, or vm.cfg's uuid differs)",
				 o->cmd, o->uuid);
		}
		op_finish(o);
		return;
	}
	/* Whatever happened, the list says what the domain is now. */
	o->stage = ST_POST_LIST;
	request_refresh(x, o);
}

static struct xop *op_new(struct hv *hv, const char *what, const char *uuid, hv_done_cb done,
			  void *arg)
{
	struct xen *x = X(hv);
	struct xop *o = xcalloc(1, sizeof(*o));

	o->hv = hv;
	o->what = what;
	snprintf(o->uuid, sizeof(o->uuid), "%s", uuid ? uuid : "");
	o->domid = -1;
	o->done = done;
	o->arg = arg;
	o->next = x->ops;
	x->ops = o;
	return o;
}

/* xl's vif list with script=<hooks_dir>/vif-bridge on each item, for
 * `xl create vm.cfg VIF`: xl then runs the agent's vif-bridge, with the
 * environment and arguments it gives every hotplug script. *out is NULL
 * when the guest has no vif (or there is no hook runner). 0, or -1 with
 * err. */
static int vif_override(const struct hv *hv, const struct vmcfg *cfg, char **out, char *err,
			size_t errlen)
{
	const struct vmcfg_value *l = vmcfg_get(cfg, "vif");
	const char *dir = hv->env->hooks ? hooks_dir(hv->env->hooks) : NULL;
	struct buf b;

	*out = NULL;
	if (!dir || !l || l->type != VMCFG_LIST || l->n == 0)
		return 0;
	/* The path goes inside xl's quoted, comma-separated item. */
	if (dir[0] != '/' || strspn(dir, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			       "0123456789/._+-") != strlen(dir) || strlen(dir) > 1024) {
		snprintf(err, errlen, "hooks_dir %.64s cannot be given to xl as a vif script "
			 "(letters, digits and / . _ + - only)", dir);
		return -1;
	}
	if (l->n > VMCFG_MAX_VIFS) {
		snprintf(err, errlen, "vif: at most %d items", VMCFG_MAX_VIFS);
		return -1;
	}
	buf_init(&b, 0);
	buf_puts(&b, "vif=[");
	for (size_t i = 0; i < l->n; i++) {
		struct vmcfg_vif v;
		char item[512], msg[256];
		if (l->items[i].type != VMCFG_STR ||
		    vmcfg_parse_vif(l->items[i].str, &v, msg, sizeof(msg)) < 0 ||
		    vmcfg_format_vif(&v, item, sizeof(item)) < 0) {
			snprintf(err, errlen, "vif item %zu cannot be given to xl", i + 1);
			buf_free(&b);
			return -1;
		}
		buf_printf(&b, "%s'%s%sscript=%s/vif-bridge'", i ? ", " : "", item, item[0] ? ", " : "",
			   dir);
	}
	buf_puts(&b, "]");
	*out = buf_steal(&b, NULL);
	return 0;
}

static void xen_start(struct hv *hv, const struct hv_guest *g, hv_done_cb done, void *arg)
{
	char err[512], *vifs;
	struct xop *o;

	if (vif_override(hv, g->cfg, &vifs, err, sizeof(err)) < 0) {
		done(arg, FAULT_INVALID_ARGUMENT, err);
		return;
	}
	o = op_new(hv, "start", g->uuid, done, arg);
	o->path = xstrdup(g->path);
	o->vifs = vifs;
	run_main(o);
}

static void xen_restore(struct hv *hv, const struct hv_guest *g, const char *file,
			hv_done_cb done, void *arg)
{
	struct xop *o = op_new(hv, "restore", g->uuid, done, arg);

	o->file = xstrdup(file);
	run_main(o);
}

static void xen_act(struct hv *hv, const char *uuid, enum hv_action a, hv_done_cb done, void *arg)
{
	struct xop *o = op_new(hv, hv_action_name(a), uuid, done, arg);

	o->is_act = true;
	o->action = a;
	o->stage = ST_PRE_LIST;
	request_refresh(X(hv), o);
}

static void xen_save(struct hv *hv, const char *uuid, const char *file, hv_done_cb done, void *arg)
{
	struct xop *o = op_new(hv, "save", uuid, done, arg);

	o->file = xstrdup(file);
	o->stage = ST_PRE_LIST;
	request_refresh(X(hv), o);
}

static int xen_list(struct hv *hv, struct hv_dom **doms, size_t *n, char *err, size_t errlen)
{
	struct xen *x = X(hv);

	*doms = xcalloc(x->n + 1, sizeof(**doms));
	for (size_t i = 0; i < x->n; i++)
		(*doms)[i] = x->doms[i].dom;
	*n = x->n;
	return 0;
}

/* From the snapshot: CPU time and memory as xl list shows them (at most
 * one poll interval old); disks are not counted (xl has no such view). */
static void xen_stats(struct hv *hv, const char *uuid, hv_stats_cb done, void *arg)
{
	struct xen *x = X(hv);
	const struct xen_dom *d = find_dom(x->doms, x->n, uuid);
	struct hv_stats st = { 0 };
	char err[128];

	if (!d) {
		snprintf(err, sizeof(err), "guest %s is not running", uuid);
		done(arg, NULL, FAULT_STATE, err);
		return;
	}
	st.cpu_seconds = d->cpu_seconds;
	st.memory_kb = (uint64_t)d->dom.memory * 1024;
	st.uptime = d->dom.started ? difftime(time(NULL), (time_t)d->dom.started) : 0;
	done(arg, &st, 0, NULL);
}

/* ---- open and close ------------------------------------------------------- */

struct sync_list {
	struct loop *loop;
	bool done;
	int rc;
	char *out;
	char err[512];
};

static void on_sync_list(const struct child_result *res, void *arg)
{
	struct sync_list *s = arg;

	s->done = true;
	if (!child_ok(res, 0, NULL, 0)) {
		describe_failure("xl list -v", res, LIST_TIMEOUT_MS, s->err, sizeof(s->err));
		s->rc = -1;
	} else {
		s->out = xstrdup(res->out->data ? res->out->data : "");
	}
	loop_stop(s->loop);
}

/* Before the agent's loop runs: list once, in a loop of our own, blocking. */
static int list_now(struct xen *x, char *err, size_t errlen)
{
	const char *argv[] = { x->xl, "list", "-v", NULL };
	struct child_opts co = { .argv = argv, .envp = (const char *const *)x->envp,
				 .timeout_ms = LIST_TIMEOUT_MS, .max_output = XL_OUTPUT_MAX };
	struct sync_list s = { 0 };
	struct xen_dom *doms = NULL;
	size_t n = 0;
	char e[256];

	if (!(s.loop = loop_new())) {
		snprintf(err, errlen, "epoll_create: %s", strerror(errno));
		return -1;
	}
	if (!child_spawn(s.loop, &co, on_sync_list, &s, e, sizeof(e))) {
		snprintf(err, errlen, "cannot run %s list -v: %s", x->xl, e);
		loop_free(s.loop);
		return -1;
	}
	while (!s.done)
		loop_run(s.loop);
	loop_free(s.loop);
	if (s.rc != 0) {
		snprintf(err, errlen, "hypervisor=xen: %s", s.err);
		return -1;
	}
	if (xen_parse_list(s.out, &doms, &n, e, sizeof(e)) != 0) {
		snprintf(err, errlen, "hypervisor=xen: %s", e);
		free(s.out);
		return -1;
	}
	free(s.out);
	install(x, doms, n, false);
	return 0;
}

static void free_env(struct xen *x)
{
	for (size_t i = 0; x->envp && x->envp[i]; i++)
		free(x->envp[i]);
	free(x->envp);
}

static int xen_open(struct hv *hv, char *err, size_t errlen)
{
	static const char *const places[] = { "/usr/sbin/xl", "/usr/bin/xl", "/usr/local/sbin/xl", NULL };
	const char *env = getenv("OVS_AGENT_XL"), *poll = getenv("OVS_AGENT_XL_POLL_MS");
	struct xen *x = xcalloc(1, sizeof(*x));

	if (env && *env)
		snprintf(x->xl, sizeof(x->xl), "%s", env);
	for (int i = 0; !x->xl[0] && places[i]; i++)
		if (access(places[i], X_OK) == 0)
			snprintf(x->xl, sizeof(x->xl), "%s", places[i]);
	if (!x->xl[0] || x->xl[0] != '/' || access(x->xl, X_OK) != 0) {
		snprintf(err, errlen, "hypervisor=xen: the xl toolstack was not found "
			 "(install Debian's xen-utils and boot the Xen hypervisor)%s",
			 env && *env ? "; OVS_AGENT_XL must be an absolute path to an executable" : "");
		free(x);
		return -1;
	}
	x->poll_ms = XEN_POLL_MS;
	if (poll && *poll) {
		x->poll_ms = atoi(poll);
		if (x->poll_ms < 100 || x->poll_ms > 3600000) {
			snprintf(err, errlen, "OVS_AGENT_XL_POLL_MS must be 100..3600000");
			free(x);
			return -1;
		}
	}
	x->hv = hv;
	build_env(x, env && *env);
	if (list_now(x, err, errlen) != 0) {
		free_env(x);
		free(x->doms);
		free(x);
		return -1;
	}
	hv->priv = x;
	timer_init(&x->poll, on_poll, x);
	timer_start(hv->env->loop, &x->poll, x->poll_ms);
	log_info("xl is %s; %zu domain%s besides Domain-0", x->xl, x->n, x->n == 1 ? "" : "s");
	return 0;
}

static void on_close_wait(struct timer *t)
{
	struct xen *x = t->data;

	loop_stop(x->hv->env->loop);
}

static void xen_close(struct hv *hv)
{
	struct xen *x = X(hv);

	if (!x)
		return;
	timer_stop(hv->env->loop, &x->poll);
	if (x->list_child) {
		/* The loop has ended; a cancelled child would be reaped by a loop
		 * that never runs again. xl list is quick: let it finish, within
		 * a bound (blocking is fine now). */
		x->closing = true;
		timer_init(&x->close_wait, on_close_wait, x);
		timer_start(hv->env->loop, &x->close_wait, 3000);
		while (x->list_child && timer_armed(&x->close_wait))
			loop_run(hv->env->loop);
		timer_stop(hv->env->loop, &x->close_wait);
	}
	child_cancel(x->list_child);
	while (x->ops) {
		struct xop *o = x->ops;
		child_cancel(o->ch);
		op_free(o);
	}
	free(x->doms);
	free_env(x);
	free(x);
	hv->priv = NULL;
}

/* ---- xl info --------------------------------------------------------------- */

struct info_req {
	hv_info_cb done;
	void *arg;
};

static void on_xl_info(const struct child_result *res, void *arg)
{
	struct info_req *r = arg;
	struct hv_info info;

	if (!child_ok(res, 0, NULL, 0)) {
		char msg[1024];
		describe_failure("xl info", res, 30000, msg, sizeof(msg));
		r->done(r->arg, NULL, msg);
	} else {
		hv_host_facts(&info);
		xen_parse_info(res->out->data ? res->out->data : "", &info);
		snprintf(info.hypervisor, sizeof(info.hypervisor), "xen");
		r->done(r->arg, &info, NULL);
	}
	free(r);
}

static void xen_info(struct hv *hv, hv_info_cb done, void *arg)
{
	struct xen *x = hv->priv;
	const char *argv[] = { x->xl, "info", NULL };
	struct child_opts o = { .argv = argv, .envp = (const char *const *)x->envp,
				.timeout_ms = 30000 };
	struct info_req *r = xcalloc(1, sizeof(*r));
	char err[256];

	r->done = done;
	r->arg = arg;
	if (!child_spawn(hv->env->loop, &o, on_xl_info, r, err, sizeof(err))) {
		free(r);
		done(arg, NULL, err);
	}
}

const struct hv_ops hv_xen_ops = {
	.name = "xen",
	.open = xen_open,
	.close = xen_close,
	.info = xen_info,
	.start = xen_start,
	.act = xen_act,
	.save = xen_save,
	.restore = xen_restore,
	.list = xen_list,
	.stats = xen_stats,
};
