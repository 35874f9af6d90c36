/* methods_migrate.c - live migration of a guest between two agents.
 *
 * The manager calls xen_migrate_vm(vm, host) on the source agent. The
 * guest's directory is on storage both servers share (the repository), so
 * only its running state moves:
 *   1. source -> destination: migrate_prepare_vm(vm). The destination
 *      claims the guest (MIGRATING) and starts it waiting for its state;
 *      the answer is the URI to send to.
 *   2. the source's hypervisor sends the running guest there; once done
 *      it no longer runs at the source.
 *   3. source -> destination: migrate_finish_vm(vm): the destination lets
 *      the guest run and records it RUNNING; the source records DOWN with
 *      host = the destination.
 * A failure before 3 leaves the guest running at the source, and the
 * destination is told migrate_abort_vm(vm). The source calls the
 * destination with the manager's own credentials (pool agents share
 * them), forwarded from the xen_migrate_vm request and wiped after. */
#define LOG_CAT "migrate"
#include "agent/rpc/methods.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "db/guests.h"
#include "agent/base/fault.h"
#include "agent/guest/guest.h"
#include "agent/guest/guest_hooks.h"
#include "agent/pool/cluster.h"
#include "agent/pool/dispatch.h"
#include "hypervisor/hv.h"
#include "hypervisor/vmcfg.h"
#include "agent/base/log.h"
#include "agent/rpc/peer.h"
#include "agent/rpc/pool_call.h"
#include "agent/rpc/rpc_params.h"
#include "agent/server/server.h"
#include "agent/base/util.h"
#include "db/pool.h"

#define PEER_TIMEOUT_MS (10 * 60 * 1000)     /* a call to the other agent */
/* Prepared but never finished: longer than the source may take to send
 * (its migration timeout is 30 min), so a slow arrival is not destroyed. */
#define INCOMING_TIMEOUT_MS (45 * 60 * 1000)

/* ---- source side ----------------------------------------------------------- */

struct outgoing {
	struct rpc_call *call;
	struct server *srv;
	char *path, *uuid, *name, *host;
	char *authz;                    /* the pool credential's, never the caller's */
	struct pool_member dest;        /* its pinned certificate; port as asked */
	enum guest_status before;       /* RUNNING or PAUSED */
};

static void out_free(struct outgoing *o)
{
	if (o->authz) {
		OPENSSL_cleanse(o->authz, strlen(o->authz));
		free(o->authz);
	}
	free(o->path);
	free(o->uuid);
	free(o->name);
	free(o->host);
	free(o);
}

/* Fail before the guest left: it still runs here. */
static void out_fail(struct outgoing *o, int fault, const char *msg)
{
	guest_release(o->srv, o->path, &(struct guest_end){ .status = o->before, .error = msg });
	log_warn("migrating %s to %s failed: %s", o->path, o->host, msg);
	rpc_fault(o->call, fault, "migration of %s to %s failed: %s", o->path, o->host, msg);
	out_free(o);
}

static void ignore_reply(void *arg, xmlrpc_value *result, int fault, const char *msg) { }

static struct peer_call *call_peer(struct outgoing *o, const char *method, peer_done_cb done,
				   char *err, size_t errlen)
{
	xmlrpc_env env;
	xmlrpc_value *params;
	struct peer_call *pc;

	xmlrpc_env_init(&env);
	params = xmlrpc_build_value(&env, "(s)", o->path);
	pc = env.fault_occurred ? NULL :
	     pool_peer_call(o->srv, &o->dest, o->authz, method, params, PEER_TIMEOUT_MS, done, o,
			    err, errlen);
	if (env.fault_occurred)
		snprintf(err, errlen, "%s", env.fault_string);
	else
		xmlrpc_DECREF(params);
	xmlrpc_env_clean(&env);
	return pc;
}

static void on_finished(void *arg, xmlrpc_value *result, int fault, const char *msg)
{
	struct outgoing *o = arg;
	/* The state left this server: the guest is not running here. */
	struct guest_end end = { .status = guest_transitions[GOP_MIGRATE].after, .host = o->host,
				 .forget_hv = true };

	if (fault) {
		/* Where it runs now is the destination's to say. */
		char why[600];
		snprintf(why, sizeof(why), "migrated to %s, which did not confirm: %s", o->host, msg);
		end.status = GS_DOWN;
		end.error = why;
		guest_release(o->srv, o->path, &end);
		rpc_fault(o->call, FAULT_PEER, "%s", why);
	} else {
		guest_release(o->srv, o->path, &end);
		log_info("%s migrated to %s", o->path, o->host);
		guest_hooks_tell(o->srv, GE_AFTER_MIGRATE,
				 &(struct guest_hook_who){ .path = o->path, .name = o->name,
							   .uuid = o->uuid, .peer = o->host });
		rpc_return_string(o->call, "success");
	}
	out_free(o);
}

static void on_sent(void *arg, int fault, const char *msg)
{
	struct outgoing *o = arg;
	char err[512];

	if (fault) {
		/* Tell the destination to drop what it prepared; its answer
		 * changes nothing here (ignore_reply does not use its arg). */
		call_peer(o, "migrate_abort_vm", ignore_reply, err, sizeof(err));
		out_fail(o, fault, msg ? msg : "the hypervisor could not send the guest");
		return;
	}
	if (!call_peer(o, "migrate_finish_vm", on_finished, err, sizeof(err)))
		on_finished(o, NULL, -1, err);
}

static void on_prepared(void *arg, xmlrpc_value *result, int fault, const char *msg)
{
	struct outgoing *o = arg;
	struct hv *hv = o->srv->hv;
	xmlrpc_env env;
	const char *s = NULL;
	char text[600];

	if (fault) {
		snprintf(text, sizeof(text), "the destination refused: %s", msg);
		out_fail(o, FAULT_PEER, text);
		return;
	}
	xmlrpc_env_init(&env);
	xmlrpc_read_string(&env, result, &s);
	if (env.fault_occurred || !s || strncmp(s, "success:uri=", 12) != 0) {
		out_fail(o, FAULT_PEER, "the destination answered migrate_prepare_vm strangely");
	} else {
		log_info("migrating %s to %s via %s", o->path, o->host, s + 12);
		hv->ops->migrate_send(hv, o->uuid, s + 12, on_sent, o);
	}
	free((char *)s);
	xmlrpc_env_clean(&env);
}

/* The site's before_migrate hooks have run: a failure keeps the guest here. */
static void on_before_migrate(void *arg, int fault, const char *msg)
{
	struct outgoing *o = arg;
	char err[1200];

	if (fault) {
		snprintf(err, sizeof(err), "a before_migrate hook refused: %s", msg);
		out_fail(o, fault, err);
		return;
	}
	if (!call_peer(o, "migrate_prepare_vm", on_prepared, err, sizeof(err)))
		out_fail(o, FAULT_PEER, err);
}

/* The port after "host:" by the one whole-number rule; -1 when refused. */
static int port_number(const char *s, int *port)
{
	long long v;

	if (whole_number(s, strlen(s), &v) < 0 || v < 1 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

/* "10.1.1.2", "10.1.1.2:8899", "[fe80::1]:8899" or "fe80::1"; *port 0
 * when none is given. */
static int parse_host(const char *arg, char *host, size_t hostlen, int *port)
{
	unsigned char addr[16];
	const char *colon;

	*port = 0;
	if (arg[0] == '[') {
		const char *end = strchr(arg, ']');
		if (!end || (size_t)(end - arg - 1) >= hostlen)
			return -1;
		snprintf(host, hostlen, "%.*s", (int)(end - arg - 1), arg + 1);
		if (end[1] == ':' && port_number(end + 2, port) < 0)
			return -1;
		else if (end[1] && end[1] != ':')
			return -1;
	} else if ((colon = strchr(arg, ':')) && !strchr(colon + 1, ':')) {
		snprintf(host, hostlen, "%.*s", (int)(colon - arg), arg);
		if (port_number(colon + 1, port) < 0)
			return -1;
	} else {
		snprintf(host, hostlen, "%s", arg);
	}
	return inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1 ? 0 : -1;
}

void m_xen_migrate_vm(struct rpc_call *call, xmlrpc_value *params)
{
	struct server *srv = rpc_server(call);
	const struct rpc_origin *org = rpc_origin(call);
	char *path = guest_param(call, params, true), *arg = NULL, host[64], err[512];
	char master[POOL_IP_MAX], *authz = NULL;
	struct pool_member dest;
	struct outgoing *o;
	struct guest_claimed c;
	int port, fault;

	guest_state_init(&c.state);
	if (!path)
		return;
	if (param_count(params) == 1) {
		/* no destination: the master's placement picks one */
		pool_dispatch_migrate(call, path, m_xen_migrate_vm);
		free(path);
		return;
	}
	arg = param_str(params, 1);
	if (parse_host(arg, host, sizeof(host), &port) != 0) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "'%s' is not an IP address with an optional "
			  ":port (host names are not resolved here)", arg);
		goto out;
	}
	if (strcmp(host, org->local) == 0 && (port == 0 || port == srv->cfg.port)) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "%s is this server: nothing to migrate", host);
		goto out;
	}
	if (!srv->hv->ops->migrate_send) {
		rpc_fault(call, FAULT_NOT_SUPPORTED, "the %s backend cannot migrate guests",
			  srv->hv->ops->name);
		goto out;
	}
	/* The destination is a server of this pool: called with the pool
	 * credential, its certificate checked against the pinned one. */
	if (pool_ip_canon(host, master) < 0)
		snprintf(master, sizeof(master), "%.45s", host);   /* parse_host checked it */
	if ((fault = pool_member_get(srv->store, master, &dest, err, sizeof(err))) < 0) {
		rpc_fault(call, FAULT_IO, "cannot read the pool state: %s", err);
		goto out;
	}
	if (fault == 0) {
		fault = pool_master_get(srv->store, master, err, sizeof(err));
		rpc_fault(call, fault == 1 ? FAULT_NOT_FOUND : FAULT_NOT_IN_POOL,
			  fault == 1 ? "%s is not a server of this pool: live migration goes to the "
			  "pool's servers (list_servers on the master names them)" :
			  "%s: live migration goes between servers of one pool, and this server "
			  "is in none (register_server on the master)", host);
		goto out;
	}
	if (port)
		dest.port = port;
	if (!(authz = pool_authorization(srv->store, err, sizeof(err)))) {
		rpc_fault(call, FAULT_NOT_IN_POOL, "%s", err);
		goto out;
	}
	guest_state_free(&c.state);
	fault = guest_claim(srv, path, GOP_MIGRATE, false, &c, err, sizeof(err));
	if (fault) {
		rpc_fault(call, fault, "%s", err);
		goto out;
	}
	o = xcalloc(1, sizeof(*o));
	o->call = call;
	o->srv = srv;
	o->path = xstrdup(path);
	o->uuid = xstrdup(c.state.uuid ? c.state.uuid : "");
	o->name = xstrdup(c.state.name ? c.state.name : "");
	o->host = xstrdup(host);
	o->dest = dest;
	o->authz = authz;
	authz = NULL;
	o->before = c.before;
	guest_hooks_wait(srv, GE_BEFORE_MIGRATE,
			 &(struct guest_hook_who){ .path = o->path, .name = o->name, .uuid = o->uuid,
						   .peer = o->host },
			 on_before_migrate, o);
out:
	if (authz) {
		OPENSSL_cleanse(authz, strlen(authz));
		free(authz);
	}
	guest_state_free(&c.state);
	free(arg);
	free(path);
}

/* ---- destination side ------------------------------------------------------ */

/* A guest prepared for an incoming migration, until finished or aborted. */
struct incoming {
	struct incoming *next;
	struct server *srv;
	struct rpc_call *call;   /* the prepare or finish call waiting */
	char *path;
	char uuid[37];
	char name[256];
	char *peer, *local;      /* the source's address, and ours it reached */
	struct vmcfg *cfg;
	struct hv_guest g;       /* from cfg, pointing into this */
	struct timer expire;
};

static struct incoming *incomings;

static struct incoming *find_incoming(const char *path)
{
	for (struct incoming *in = incomings; in; in = in->next)
		if (strcmp(in->path, path) == 0)
			return in;
	return NULL;
}

static void in_free(struct incoming *in)
{
	struct incoming **pp = &incomings;

	while (*pp && *pp != in)
		pp = &(*pp)->next;
	if (*pp)
		*pp = in->next;
	timer_stop(in->srv->loop, &in->expire);
	vmcfg_free(in->cfg);
	free(in->path);
	free(in->peer);
	free(in->local);
	free(in);
}

static void discard_done(void *arg, int fault, const char *msg) { }

/* Drop a prepared guest: destroy its waiting QEMU, record DOWN. */
static void in_drop(struct incoming *in, const char *why)
{
	struct hv *hv = in->srv->hv;

	hv->ops->act(hv, in->uuid, HV_DESTROY, discard_done, NULL);
	guest_release(in->srv, in->path, &(struct guest_end){ .status = GS_DOWN, .error = why });
	log_warn("incoming migration of %s dropped: %s", in->path, why);
	in_free(in);
}

static void on_expire(struct timer *t)
{
	in_drop(t->data, "the source never finished the migration");
}

static void on_listening(void *arg, int fault, const char *msg)
{
	struct incoming *in = arg;
	struct rpc_call *call = in->call;

	in->call = NULL;
	if (fault) {
		guest_release(in->srv, in->path,
			      &(struct guest_end){ .status = GS_DOWN, .error = msg });
		rpc_fault(call, fault, "cannot receive %s: %s", in->path, msg);
		in_free(in);
		return;
	}
	timer_init(&in->expire, on_expire, in);
	timer_start(in->srv->loop, &in->expire, INCOMING_TIMEOUT_MS);
	rpc_return_printf(call, "success:uri=%s", msg);
}

/* The site's before_migrate hooks have run here: a failure refuses the guest. */
static void on_before_incoming(void *arg, int fault, const char *msg)
{
	struct incoming *in = arg;
	struct rpc_call *call = in->call;
	char err[1200];

	if (fault) {
		snprintf(err, sizeof(err), "a before_migrate hook refused to receive %s: %s", in->path,
			 msg);
		in->call = NULL;
		guest_release(in->srv, in->path, &(struct guest_end){ .status = GS_DOWN, .error = err });
		rpc_fault(call, fault, "%s", err);
		in_free(in);
		return;
	}
	in->srv->hv->ops->migrate_listen(in->srv->hv, &in->g, in->local, on_listening, in);
}

void m_migrate_prepare_vm(struct rpc_call *call, xmlrpc_value *params)
{
	struct server *srv = rpc_server(call);
	char *path = guest_param(call, params, true), err[512];
	struct incoming *in;
	struct guest_claimed c;
	int fault;

	if (!path)
		return;
	if ((fault = guest_repo_online(srv, path, err, sizeof(err))) != 0) {
		rpc_fault(call, fault, "%s", err);
		free(path);
		return;
	}
	if (!srv->hv->ops->migrate_listen) {
		rpc_fault(call, FAULT_NOT_SUPPORTED, "the %s backend cannot receive guests",
			  srv->hv->ops->name);
		free(path);
		return;
	}
	fault = guest_claim(srv, path, GOP_MIGRATE_IN, true, &c, err, sizeof(err));
	guest_state_free(&c.state);
	if (fault) {
		rpc_fault(call, fault, "%s", err);
		free(path);
		return;
	}
	in = xcalloc(1, sizeof(*in));
	in->srv = srv;
	in->call = call;
	in->path = path;
	timer_init(&in->expire, on_expire, in);
	in->next = incomings;
	incomings = in;
	if ((fault = guest_load_cfg(path, &in->cfg, &in->g, in->name, sizeof(in->name), in->uuid,
				    err, sizeof(err))) != 0) {
		in->call = NULL;
		guest_release(srv, path, &(struct guest_end){ .status = GS_DOWN, .error = err });
		rpc_fault(call, fault, "%s", err);
		in_free(in);
		return;
	}
	in->g.path = in->path;
	in->peer = xstrdup(rpc_origin(call)->peer);
	in->local = xstrdup(rpc_origin(call)->local);
	guest_hooks_wait(srv, GE_BEFORE_MIGRATE,
			 &(struct guest_hook_who){ .path = in->path, .name = in->name, .uuid = in->uuid,
						   .peer = in->peer },
			 on_before_incoming, in);
}

static void on_arrived(void *arg, int fault, const char *msg)
{
	struct incoming *in = arg;
	struct rpc_call *call = in->call;
	struct hv_dom dom;
	struct guest_end end = { .status = guest_transitions[GOP_MIGRATE_IN].after,
				 .host = "localhost" };
	char err[256];

	in->call = NULL;
	if (fault) {
		char why[600];
		snprintf(why, sizeof(why), "the guest's state did not arrive: %s", msg);
		rpc_fault(call, fault, "%s", why);
		in_drop(in, why);
		return;
	}
	if (hv_lookup(in->srv->hv, in->uuid, &dom, err, sizeof(err)) == 1)
		end.dom = &dom;
	guest_release(in->srv, in->path, &end);
	log_info("%s arrived and runs here", in->path);
	pool_guest_ran(in->srv, in->path, true);
	guest_hooks_tell(in->srv, GE_AFTER_MIGRATE,
			 &(struct guest_hook_who){ .path = in->path, .name = in->name, .uuid = in->uuid,
						   .peer = in->peer });
	rpc_return_string(call, "success");
	in_free(in);
}

static struct incoming *incoming_param(struct rpc_call *call, xmlrpc_value *params)
{
	char *path = guest_param(call, params, false);
	struct incoming *in;

	if (!path)
		return NULL;
	in = find_incoming(path);
	if (!in || in->call)
		rpc_fault(call, in ? FAULT_BUSY : FAULT_STATE,
			  "%s %s", path, in ? "is busy" : "is not waiting for a migration here");
	free(path);
	return in && !in->call ? in : NULL;
}

void m_migrate_finish_vm(struct rpc_call *call, xmlrpc_value *params)
{
	struct incoming *in = incoming_param(call, params);

	if (!in)
		return;
	in->call = call;
	timer_stop(in->srv->loop, &in->expire);
	in->srv->hv->ops->migrate_finish(in->srv->hv, in->uuid, on_arrived, in);
}

void m_migrate_abort_vm(struct rpc_call *call, xmlrpc_value *params)
{
	struct incoming *in = incoming_param(call, params);

	if (!in)
		return;
	in_drop(in, "the source aborted the migration");
	rpc_return_string(call, "success");
}
