/* methods_guest.c - the guest methods: register, start, stop, pause, ...,
 * list and status. The rules (paths, busy guests, intent and result in
 * the db) are guest.c's; these handlers only translate. */
#define LOG_CAT "rpc"
#include "agent/rpc/methods.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/base/buf.h"
#include "db/guests.h"
#include "agent/base/fault.h"
#include "agent/guest/guest.h"
#include "agent/pool/dispatch.h"
#include "hypervisor/hv.h"
#include "agent/base/log.h"
#include "agent/rpc/rpc_params.h"
#include "agent/rpc/rpc_string.h"
#include "agent/rpc/rpc_xml.h"
#include "agent/server/server.h"
#include "agent/base/util.h"

static void reply_plain(void *arg, int fault, const char *msg, const struct record *rec)
{
	if (fault)
		rpc_fault(arg, fault, "%s", msg);
	else
		rpc_return_string(arg, "success");
}

static void reply_ip(void *arg, int fault, const char *msg, const struct record *rec)
{
	struct rpc_call *call = arg;

	if (fault)
		rpc_fault(call, fault, "%s", msg);
	else
		rpc_return_printf(call, "success:ip=%s", rpc_origin(call)->local);
}

static void run(struct rpc_call *call, xmlrpc_value *params, enum guest_op op, guest_done_cb reply)
{
	char *path = guest_param(call, params, true), err[1024];
	int fault;

	if (!path)
		return;
	/* Its files must be there to start or resume it. */
	if ((op == GOP_START || op == GOP_RESUME) &&
	    (fault = guest_repo_online(rpc_server(call), path, err, sizeof(err))) != 0)
		rpc_fault(call, fault, "%s", err);
	else
		guest_run(rpc_server(call), path, op, reply, call);
	free(path);
}

void start_vm_here(struct rpc_call *call, const char *path)
{
	char err[1024];
	int fault = guest_repo_online(rpc_server(call), path, err, sizeof(err));

	/* Its files must be there to start it. */
	if (fault)
		rpc_fault(call, fault, "%s", err);
	else
		guest_run(rpc_server(call), path, GOP_START, reply_ip, call);
}

/* start_vm(vm[, server]): on a pool's master the server that should run
 * it does (agent/pool/dispatch.h); else here. */
void m_start_vm(struct rpc_call *call, xmlrpc_value *params)
{
	char *path = guest_param(call, params, true), *ip = NULL;

	if (!path)
		return;
	if (param_count(params) == 2)
		ip = param_str(params, 1);
	if (!pool_dispatch_start(call, path, ip)) {
		if (ip && strcmp(ip, rpc_origin(call)->local) != 0)
			rpc_fault(call, FAULT_NOT_IN_POOL, "starting a guest on server %s needs a "
				  "server pool; this server (%s) is not in one", ip,
				  rpc_origin(call)->local);
		else
			start_vm_here(call, path);
	}
	free(ip);
	free(path);
}

void m_stop_vm(struct rpc_call *c, xmlrpc_value *p) { run(c, p, GOP_STOP, reply_plain); }
void m_destroy_vm(struct rpc_call *c, xmlrpc_value *p) { run(c, p, GOP_DESTROY, reply_plain); }
void m_pause_vm(struct rpc_call *c, xmlrpc_value *p) { run(c, p, GOP_PAUSE, reply_plain); }
void m_unpause_vm(struct rpc_call *c, xmlrpc_value *p) { run(c, p, GOP_UNPAUSE, reply_plain); }
void m_reboot_vm(struct rpc_call *c, xmlrpc_value *p) { run(c, p, GOP_REBOOT, reply_plain); }
void m_reset_vm(struct rpc_call *c, xmlrpc_value *p) { run(c, p, GOP_RESET, reply_plain); }
void m_suspend_vm(struct rpc_call *c, xmlrpc_value *p) { run(c, p, GOP_SUSPEND, reply_plain); }
void m_resume_vm(struct rpc_call *c, xmlrpc_value *p) { run(c, p, GOP_RESUME, reply_plain); }

void m_register_vm(struct rpc_call *call, xmlrpc_value *params)
{
	struct server *srv = rpc_server(call);
	char *path = guest_param(call, params, true), err[512];
	struct guest_state g;
	struct record rec;
	int r, fault;

	if (!path)
		return;
	r = guest_state_get(srv->store, path, &g, err, sizeof(err));
	if (r != 0) {
		if (r > 0)
			rpc_fault(call, FAULT_EXISTS, "%s is already registered (%s)", path,
				  g.status != GS_NONE ? guest_status_name(g.status) : "?");
		else
			rpc_fault(call, FAULT_IO, "%s", err);
	} else if ((fault = guest_register(srv, path, &rec, err, sizeof(err))) != 0) {
		rpc_fault(call, fault, "%s", err);
	} else {
		guest_state_free(&g);
		guest_state_adopt(&g, &rec);
		rpc_return_printf(call, "success:uuid=%s;status=%s", g.uuid,
				  guest_status_name(g.status));
	}
	guest_state_free(&g);
	free(path);
}

/* Statuses in which the agent may forget a guest. */
#define REMOVABLE (GS_BIT(GS_DOWN) | GS_BIT(GS_ERROR))

void m_unregister_vm(struct rpc_call *call, xmlrpc_value *params)
{
	struct server *srv = rpc_server(call);
	char *path = guest_param(call, params, false), err[512];
	struct guest_state g;
	int r;

	if (!path)
		return;
	r = guest_state_get(srv->store, path, &g, err, sizeof(err));
	if (r < 0)
		rpc_fault(call, FAULT_IO, "%s", err);
	else if (r == 0)
		rpc_fault(call, FAULT_NOT_FOUND, "%s is not a registered guest", path);
	else if (guest_busy(srv, path))
		rpc_fault(call, FAULT_BUSY, "%s is busy with another operation", path);
	else if (!(GS_BIT(g.status) & REMOVABLE))
		rpc_fault(call, FAULT_STATE, "%s is %s; stop it before unregistering", path,
			  g.status != GS_NONE ? guest_status_name(g.status) : "in no state");
	else if (guests_del(srv->store, path, err, sizeof(err)) < 0)
		rpc_fault(call, FAULT_IO, "%s", err);
	else
		rpc_return_string(call, "success");
	guest_state_free(&g);
	free(path);
}

void m_get_vm_status(struct rpc_call *call, xmlrpc_value *params)
{
	char *path = guest_param(call, params, false), err[512];
	struct guest_state g;
	int r;

	if (!path)
		return;
	r = guest_state_get(rpc_server(call)->store, path, &g, err, sizeof(err));
	if (r < 0)
		rpc_fault(call, FAULT_IO, "%s", err);
	else if (r == 0)
		rpc_fault(call, FAULT_NOT_FOUND, "%s is not a registered guest", path);
	else
		rpc_return_printf(call, "success:status=%s",
				  g.status != GS_NONE ? guest_status_name(g.status) : "");
	guest_state_free(&g);
	free(path);
}

void m_set_vm_status(struct rpc_call *call, xmlrpc_value *params)
{
	struct server *srv = rpc_server(call);
	char *path = guest_param(call, params, false), *st = param_str(params, 1), err[512];
	struct guest_state g;
	enum guest_status was;
	int r;

	guest_state_init(&g);
	if (!path)
		goto out;
	for (char *p = st; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	if (!guest_status_valid(st)) {
		char names[128];
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "'%s' is not a guest status (%s)", st,
			  guest_status_join(GS_ALL, ", ", ", ", names, sizeof(names)));
		goto out;
	}
	if (guest_busy(srv, path)) {
		rpc_fault(call, FAULT_BUSY, "%s is busy with another operation", path);
		goto out;
	}
	guest_state_free(&g);
	r = guest_state_get(srv->store, path, &g, err, sizeof(err));
	if (r <= 0) {
		rpc_fault(call, r < 0 ? FAULT_IO : FAULT_NOT_FOUND, "%s",
			  r < 0 ? err : "not a registered guest");
		goto out;
	}
	was = g.status;
	guest_set_status(&g, guest_status_parse(st));
	log_warn("%s: status set by %s from %s to %s", path, rpc_origin(call)->user,
		 was != GS_NONE ? guest_status_name(was) : "none", guest_status_name(g.status));
	if (guest_state_put(srv->store, path, &g, err, sizeof(err)) != 0)
		rpc_fault(call, FAULT_IO, "%s", err);
	else
		rpc_return_string(call, "success");
out:
	guest_state_free(&g);
	free(st);
	free(path);
}

/* list_vms: one struct per guest, "path" first, then the record's fields
 * in record order (a field named "path" takes the first member's place,
 * as xmlrpc-c's struct does). Top-level calls get the answer written as
 * text straight from the db (rpc_xml.h: thousands of guests cost no
 * value per field); inside system.multicall it is built as values. Paths,
 * keys and values may hold anything a vm.cfg or db tool wrote: every
 * string goes out under the reply rule (rpc_string.h). */
struct list_ctx {
	struct buf *xml;        /* the answer as text, or */
	xmlrpc_value *list;     /* as values */
};

static const struct record_field *path_field(const struct record_field *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (f[i].klen == 4 && memcmp(f[i].key, "path", 4) == 0)
			return &f[i];
	return NULL;
}

static void put(xmlrpc_env *env, xmlrpc_value *s, const char *key, size_t klen,
		const char *val, size_t vlen)
{
	xmlrpc_value *v = rpc_string_new_lp(val, vlen);
	char *k = rpc_text_wire(key, klen);

	xmlrpc_struct_set_value(env, s, k, v);
	xmlrpc_DECREF(v);
	free(k);
}

static int list_one(const char *path, size_t plen, const struct record_field *f, size_t n,
		    void *arg)
{
	const struct record_field *own = path_field(f, n);
	struct list_ctx *c = arg;
	xmlrpc_value *s;
	xmlrpc_env env;

	if (c->xml) {
		rpc_xml_struct_begin(c->xml);
		rpc_xml_member(c->xml, "path", 4, own ? own->val : path, own ? own->vlen : plen);
		for (size_t i = 0; i < n; i++)
			if (&f[i] != own)
				rpc_xml_member(c->xml, f[i].key, f[i].klen, f[i].val, f[i].vlen);
		rpc_xml_struct_end(c->xml);
		return 0;
	}
	xmlrpc_env_init(&env);
	s = xmlrpc_struct_new(&env);
	put(&env, s, "path", 4, path, plen);
	for (size_t i = 0; i < n; i++)
		put(&env, s, f[i].key, f[i].klen, f[i].val, f[i].vlen);
	xmlrpc_array_append_item(&env, c->list, s);
	xmlrpc_DECREF(s);
	xmlrpc_env_clean(&env);
	return 0;
}

void m_list_vms(struct rpc_call *call, xmlrpc_value *params)
{
	struct list_ctx c = { NULL, NULL };
	struct buf xml;
	xmlrpc_env env;
	char err[512];
	int r;

	if (rpc_return_xml_ok(call)) {
		buf_init(&xml, 0);
		c.xml = &xml;
		rpc_xml_response_begin(&xml);
		rpc_xml_array_begin(&xml);
	} else {
		xmlrpc_env_init(&env);
		c.list = xmlrpc_array_new(&env);
		xmlrpc_env_clean(&env);
	}
	r = guests_each_view(rpc_server(call)->store, list_one, &c, err, sizeof(err));
	if (c.xml && r == 0) {
		rpc_xml_array_end(&xml);
		rpc_xml_response_end(&xml);
		rpc_return_xml(call, &xml);
	} else if (c.list && r == 0) {
		rpc_return(call, c.list);
	} else {
		if (c.xml)
			buf_free(&xml);
		else
			xmlrpc_DECREF(c.list);
		rpc_fault(call, FAULT_IO, "%s", err);
	}
}

void m_sim_inject_fault(struct rpc_call *call, xmlrpc_value *params)
{
	char *op = param_str(params, 0), *action = param_str(params, 1), err[512];

	if (sim_inject_fault(rpc_server(call)->hv, op, action, err, sizeof(err)) != 0)
		rpc_fault(call, rpc_server(call)->hv->ops == &hv_sim_ops ? FAULT_INVALID_ARGUMENT
									 : FAULT_NOT_SUPPORTED, "%s", err);
	else
		rpc_return_string(call, "success");
	free(op);
	free(action);
}

/* Crash a sim guest: the backend reports it as an event, which
 * guest_on_event records; the reply says whether the record now shows it. */
void m_sim_crash_vm(struct rpc_call *call, xmlrpc_value *params)
{
	struct server *srv = rpc_server(call);
	char *path = guest_param(call, params, true), err[512];
	struct guest_state g;

	if (!path)
		return;
	if (srv->hv->ops != &hv_sim_ops) {
		rpc_fault(call, FAULT_NOT_SUPPORTED, "guests can be crashed on purpose only with "
			  "hypervisor=sim");
		free(path);
		return;
	}
	if (guest_state_get(srv->store, path, &g, err, sizeof(err)) != 1) {
		rpc_fault(call, FAULT_NOT_FOUND, "%s is not a registered guest", path);
	} else if (guest_busy(srv, path)) {
		rpc_fault(call, FAULT_BUSY, "%s is busy with another operation", path);
	} else if (sim_crash(srv->hv, g.uuid ? g.uuid : "", err, sizeof(err)) != 0) {
		rpc_fault(call, FAULT_STATE, "%s", err);
	} else {
		/* The crash came back as a backend event, which recorded it. */
		guest_state_free(&g);
		if (guest_state_get(srv->store, path, &g, err, sizeof(err)) == 1 &&
		    g.status == GS_ERROR)
			rpc_return_string(call, "success");
		else
			rpc_fault(call, FAULT_IO, "%s crashed, but the db does not say so (see the "
				  "log)", path);
	}
	guest_state_free(&g);
	free(path);
}

/* ---- xen_get_vm_perf_metrics -------------------------------------------------- */

struct perf_req {
	struct rpc_call *call;
	int vcpus;
};

static void on_stats(void *arg, const struct hv_stats *st, int fault, const char *msg)
{
	struct perf_req *p = arg;
	double util = 0;

	if (!st) {
		rpc_fault(p->call, fault, "%s", msg);
		free(p);
		return;
	}
	/* The share of its vcpus' time the guest used since it started. */
	if (st->uptime > 0 && p->vcpus > 0)
		util = st->cpu_seconds / (st->uptime * p->vcpus);
	if (util > 1)
		util = 1;
	rpc_return_printf(p->call, "success:cpu_time=%.2f;cpu_util=%.4f;vcpus=%d;uptime=%.0f;"
			  "memory=%llu;vbd_rd_bytes=%llu;vbd_wr_bytes=%llu;vbd_rd_ops=%llu;"
			  "vbd_wr_ops=%llu", st->cpu_seconds, util, p->vcpus, st->uptime,
			  (unsigned long long)(st->memory_kb / 1024),
			  (unsigned long long)st->rd_bytes, (unsigned long long)st->wr_bytes,
			  (unsigned long long)st->rd_ops, (unsigned long long)st->wr_ops);
	free(p);
}

void m_xen_get_vm_perf_metrics(struct rpc_call *call, xmlrpc_value *params)
{
	struct server *srv = rpc_server(call);
	char *path = guest_param(call, params, false), err[512];
	struct guest_state g;
	struct perf_req *p;
	int r;

	if (!path)
		return;
	r = guest_state_get(srv->store, path, &g, err, sizeof(err));
	if (r <= 0) {
		rpc_fault(call, r < 0 ? FAULT_IO : FAULT_NOT_FOUND, "%s",
			  r < 0 ? err : "not a registered guest");
	} else if (g.status != GS_RUNNING && g.status != GS_PAUSED) {
		rpc_fault(call, FAULT_STATE, "%s is %s; only a running guest has figures", path,
			  g.status != GS_NONE ? guest_status_name(g.status) : "in no state");
	} else if (!srv->hv->ops->stats) {
		rpc_fault(call, FAULT_NOT_SUPPORTED, "the %s backend has no guest figures",
			  srv->hv->ops->name);
	} else {
		p = xcalloc(1, sizeof(*p));
		p->call = call;
		p->vcpus = g.vcpus != GUEST_NO_INT ? (int)g.vcpus : 1;
		srv->hv->ops->stats(srv->hv, g.uuid ? g.uuid : "", on_stats, p);
	}
	guest_state_free(&g);
	free(path);
}
