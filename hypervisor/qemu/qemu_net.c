/* qemu_net.c - see qemu_net.h. */
#define LOG_CAT "qemu"
#include "hypervisor/qemu/qemu_net.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/base/buf.h"
#include "agent/base/fault.h"
#include "agent/base/hook.h"
#include "agent/base/log.h"
#include "agent/base/loop.h"
#include "agent/base/util.h"
#include "hypervisor/hv.h"
#include "hypervisor/qemu/qemu_argv.h"
#include "hypervisor/tap.h"
#include "hypervisor/tap_qos.h"
#include "hypervisor/vmcfg.h"

#define VIF_BRIDGE "vif-bridge"
#define BRIDGE_SIZE 64

struct qnic {
	char ifname[TAP_NAME_SIZE];
	char bridge[BRIDGE_SIZE];
	char mac[18];
	bool ifb;       /* its QoS made an ifb (tap_qos.h) */
	bool online;    /* vif-bridge online succeeded: offline is owed */
	int fd;         /* the tap, until QEMU has it; -1 after */
};

struct qnet {
	const struct hv_env *env;
	char guest[256];         /* the guest's name, for the hook records */
	struct qnic *nics;
	size_t n;
	int *fds;                /* qnet_fds' view of nics[].fd */
	size_t next;             /* the NIC whose online hook runs */
	struct hook_run *run;    /* that hook */
	qnet_done_cb done;
	void *arg;
	int fault;               /* qnet_online's answer, kept for the deferred call */
	char msg[1024];
	bool deferred;           /* finish_later is queued: it frees a dead qnet */
	bool dead;               /* freed by the owner meanwhile */
};

static struct qnet *qnet_new(const struct hv_env *env, size_t n)
{
	struct qnet *q = xcalloc(1, sizeof(*q));

	q->env = env;
	q->n = n;
	q->nics = xcalloc(n ? n : 1, sizeof(*q->nics));
	q->fds = xcalloc(n ? n : 1, sizeof(*q->fds));
	for (size_t i = 0; i < n; i++)
		q->nics[i].fd = q->fds[i] = -1;
	return q;
}

/* The bridge a NIC goes to, checked: 0, or -1 with the fault in err. */
static int find_bridge(const struct hv_guest *g, size_t i, const char *want, char *deflt,
		       char *out, char *err, size_t errlen)
{
	char why[256];
	unsigned line = vmcfg_line(g->cfg, "vif");
	int r;

	if (!want[0]) {
		if (!deflt[0] && tap_default_bridge(deflt, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s/vm.cfg:%u: vif item %zu names no bridge and %s",
				 g->path, line, i + 1, why);
			return -1;
		}
		want = deflt;
	}
	r = tap_bridge_exists(want, why, sizeof(why));
	if (r == 1) {
		snprintf(out, BRIDGE_SIZE, "%s", want);
		return 0;
	}
	if (r == 0)
		snprintf(err, errlen, "%s/vm.cfg:%u: vif item %zu: bridge %s does not exist on this "
			 "host (create it, e.g. with create_bridge, or name another)", g->path, line,
			 i + 1, want);
	else
		snprintf(err, errlen, "%s/vm.cfg:%u: vif item %zu: %s", g->path, line, i + 1, why);
	return -1;
}

struct qnet *qnet_open(const struct hv_env *env, const struct hv_guest *g, int *fault,
		       char *err, size_t errlen)
{
	struct qemu_nic *plan = NULL;
	struct qnet *q;
	char deflt[16] = "", why[512];
	size_t n;

	if (qemu_nics(g->cfg, g, &plan, &n, err, errlen) < 0) {
		*fault = FAULT_INVALID_ARGUMENT;
		return NULL;
	}
	q = qnet_new(env, n);
	snprintf(q->guest, sizeof(q->guest), "%s", g->name ? g->name : "");
	if (n && !env->hooks) {
		*fault = FAULT_INTERNAL;
		snprintf(err, errlen, "no hook runner to attach the guest's NICs with");
		goto fail;
	}
	/* Every bridge first: a missing one fails the start before anything
	 * exists on the host. */
	*fault = FAULT_STATE;
	for (size_t i = 0; i < n; i++)
		if (find_bridge(g, i, plan[i].bridge, deflt, q->nics[i].bridge, err, errlen) < 0)
			goto fail;
	*fault = FAULT_HYPERVISOR;
	for (size_t i = 0; i < n; i++) {
		struct qnic *c = &q->nics[i];
		snprintf(c->ifname, sizeof(c->ifname), "%s", plan[i].ifname);
		snprintf(c->mac, sizeof(c->mac), "%s", plan[i].mac);
		if (tap_open(c->ifname, &c->fd, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "vif item %zu: %s", i + 1, why);
			goto fail;
		}
		q->fds[i] = c->fd;
		c->ifb = plan[i].qos.out_rate != 0;
		if (tap_qos_apply(c->ifname, &plan[i].qos, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "vif item %zu: QoS: %s", i + 1, why);
			goto fail;
		}
	}
	free(plan);
	return q;
fail:
	free(plan);
	qnet_release(env, q);
	return NULL;
}

static void online_next(struct qnet *q);

static void finish_later(void *arg)
{
	struct qnet *q = arg;

	q->deferred = false;
	if (q->dead)
		qnet_free(q);
	else
		q->done(q->arg, q->fault, q->fault ? q->msg : NULL);
}

static void defer_finish(struct qnet *q)
{
	q->deferred = true;
	loop_defer(q->env->loop, finish_later, q);
}

static void on_online(void *arg, const struct hook_result *r)
{
	struct qnet *q = arg;
	struct qnic *c = &q->nics[q->next];

	q->run = NULL;
	if (r->fault) {
		snprintf(q->msg, sizeof(q->msg), "vif %s on %s: %s", c->ifname, c->bridge,
			 r->msg ? r->msg : "vif-bridge online failed");
		q->done(q->arg, r->fault, q->msg);
		return;
	}
	c->online = true;
	log_info("guest %s: NIC %s (MAC %s) on bridge %s", q->guest, c->ifname, c->mac, c->bridge);
	q->next++;
	online_next(q);
}

static void online_next(struct qnet *q)
{
	struct qnic *c;
	char vif[64], bridge[96], mac[32];
	const char *argv[] = { VIF_BRIDGE, "online", NULL };
	const char *env[] = { vif, bridge, mac, NULL };

	if (q->next >= q->n) {
		q->done(q->arg, 0, NULL);
		return;
	}
	c = &q->nics[q->next];
	snprintf(vif, sizeof(vif), "vif=%s", c->ifname);
	snprintf(bridge, sizeof(bridge), "bridge=%s", c->bridge);
	snprintf(mac, sizeof(mac), "mac=%s", c->mac);
	q->run = hook_run(q->env->hooks, &(struct hook_req){ .kind = HOOK_NETWORK, .argv = argv,
		.env = env, .event = "online", .guest = q->guest }, on_online, q, q->msg,
		sizeof(q->msg));
	if (!q->run) {
		char why[512];
		snprintf(why, sizeof(why), "%.500s", q->msg);
		snprintf(q->msg, sizeof(q->msg), "vif %s: cannot run vif-bridge: %s", c->ifname,
			 why);
		q->fault = FAULT_HOOK;
		defer_finish(q);
	}
}

void qnet_online(struct qnet *q, qnet_done_cb done, void *arg)
{
	q->done = done;
	q->arg = arg;
	q->next = 0;
	q->fault = 0;
	if (q->n == 0) {
		defer_finish(q);
		return;
	}
	online_next(q);
}

const int *qnet_fds(const struct qnet *q, size_t *count)
{
	*count = q ? q->n : 0;
	return q ? q->fds : NULL;
}

void qnet_close_fds(struct qnet *q)
{
	for (size_t i = 0; q && i < q->n; i++)
		if (q->nics[i].fd >= 0) {
			close(q->nics[i].fd);
			q->nics[i].fd = q->fds[i] = -1;
		}
}

char *qnet_format(const struct qnet *q)
{
	struct buf b;

	buf_init(&b, 0);
	buf_puts(&b, "");
	for (size_t i = 0; q && i < q->n; i++)
		buf_printf(&b, "%s%s,%s,%s,%d", i ? " " : "", q->nics[i].ifname, q->nics[i].bridge,
			   q->nics[i].mac, q->nics[i].ifb);
	return buf_steal(&b, NULL);
}

/* One "TAP,BRIDGE,MAC,IFB" field into c; 0 or -1. */
static int parse_nic(const char *s, size_t len, struct qnic *c)
{
	char f[4][BRIDGE_SIZE];
	size_t k = 0, start = 0;

	for (size_t i = 0; i <= len && k < 4; i++)
		if (i == len || s[i] == ',') {
			if (i - start >= BRIDGE_SIZE)
				return -1;
			memcpy(f[k], s + start, i - start);
			f[k++][i - start] = '\0';
			start = i + 1;
		}
	if (k != 4 || start != len + 1 || !f[0][0] || strlen(f[0]) >= sizeof(c->ifname) ||
	    !f[1][0] || !vmcfg_mac_ok(f[2]) || (strcmp(f[3], "0") != 0 && strcmp(f[3], "1") != 0))
		return -1;
	snprintf(c->ifname, sizeof(c->ifname), "%.15s", f[0]);
	snprintf(c->bridge, sizeof(c->bridge), "%s", f[1]);
	snprintf(c->mac, sizeof(c->mac), "%.17s", f[2]);
	c->ifb = f[3][0] == '1';
	c->online = true; /* it ran: offline is owed */
	return 0;
}

struct qnet *qnet_parse(const char *text, const char *guest)
{
	struct qnet *q;
	size_t n = 0, i = 0;

	if (!text || !text[0])
		return NULL;
	for (const char *p = text; *p; p++)
		n += *p == ' ';
	if (++n > TAP_MAX_NICS)
		return NULL;
	q = qnet_new(NULL, n);
	snprintf(q->guest, sizeof(q->guest), "%s", guest ? guest : "");
	for (const char *p = text; i < n; i++) {
		size_t len = strcspn(p, " ");
		if (parse_nic(p, len, &q->nics[i]) < 0) {
			qnet_free(q);
			return NULL;
		}
		p += len + (p[len] ? 1 : 0);
	}
	return q;
}

/* An offline hook's run, which outlives its guest. */
struct offline {
	char vif[TAP_NAME_SIZE];
};

static void on_offline(void *arg, const struct hook_result *r)
{
	struct offline *o = arg;

	if (r->fault)
		log_warn("vif %s: %s", o->vif, r->msg ? r->msg : "vif-bridge offline failed");
	free(o);
}

static void offline(const struct hv_env *env, const struct qnet *q, const struct qnic *c)
{
	char vif[64], bridge[96], mac[32], err[512];
	const char *argv[] = { VIF_BRIDGE, "offline", NULL };
	const char *hook_env[] = { vif, bridge, mac, NULL };
	struct offline *o = xcalloc(1, sizeof(*o));

	snprintf(o->vif, sizeof(o->vif), "%s", c->ifname);
	snprintf(vif, sizeof(vif), "vif=%s", c->ifname);
	snprintf(bridge, sizeof(bridge), "bridge=%s", c->bridge);
	snprintf(mac, sizeof(mac), "mac=%s", c->mac);
	if (!hook_run(env->hooks, &(struct hook_req){ .kind = HOOK_NETWORK, .argv = argv,
		      .env = hook_env, .event = "offline", .guest = q->guest }, on_offline, o,
		      err, sizeof(err))) {
		log_warn("vif %s: cannot run vif-bridge offline: %s", c->ifname, err);
		free(o);
	}
}

void qnet_release(const struct hv_env *env, struct qnet *q)
{
	char err[512];

	if (!q)
		return;
	if (q->run) {
		hook_cancel(q->run);
		q->run = NULL;
	}
	qnet_close_fds(q); /* a tap nobody else holds goes now */
	for (size_t i = 0; i < q->n; i++) {
		struct qnic *c = &q->nics[i];
		if (c->ifb && tap_qos_clear(c->ifname, err, sizeof(err)) < 0)
			log_warn("vif %s: %s", c->ifname, err);
		if (c->online && env && env->hooks && env->stopping)
			log_warn("vif %s: vif-bridge offline not run: the agent is stopping", c->ifname);
		else if (c->online && env && env->hooks)
			offline(env, q, c);
	}
	qnet_free(q);
}

void qnet_free(struct qnet *q)
{
	if (!q)
		return;
	if (q->run)
		hook_cancel(q->run);
	q->run = NULL;
	qnet_close_fds(q);
	if (q->deferred) {
		q->dead = true; /* finish_later frees it, without a word */
		return;
	}
	free(q->nics);
	free(q->fds);
	free(q);
}
