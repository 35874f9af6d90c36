/* methods_status.c - get_agent_status(): status_facts as one XML-RPC
 * struct, for managers (what GET /status shows a person). */
#include <string.h>

#include "agent/base/fault.h"
#include "agent/rpc/methods.h"
#include "agent/rpc/rpc_string.h"
#include "agent/rpc/status_facts.h"

/* Set key to v in st, and drop our reference. xmlrpc-c keeps the first
 * fault in env; the caller checks once at the end. */
static void put(xmlrpc_env *env, xmlrpc_value *st, const char *key, xmlrpc_value *v)
{
	if (!v)
		return;
	if (!env->fault_occurred)
		xmlrpc_struct_set_value(env, st, key, v);
	xmlrpc_DECREF(v);
}

static void append(xmlrpc_env *env, xmlrpc_value *arr, xmlrpc_value *v)
{
	if (!v)
		return;
	if (!env->fault_occurred)
		xmlrpc_array_append_item(env, arr, v);
	xmlrpc_DECREF(v);
}

/* Containers, or NULL once env holds a fault (xmlrpc-c's calls want a
 * clean env). */
static xmlrpc_value *newst(xmlrpc_env *env)
{
	return env->fault_occurred ? NULL : xmlrpc_struct_new(env);
}

static xmlrpc_value *newarr(xmlrpc_env *env)
{
	return env->fault_occurred ? NULL : xmlrpc_array_new(env);
}

static xmlrpc_value *str(const char *s) { return rpc_string_new(s ? s : ""); }

static xmlrpc_value *i8(xmlrpc_env *env, long long v)
{
	return env->fault_occurred ? NULL : xmlrpc_i8_new(env, v);
}

static xmlrpc_value *i4(xmlrpc_env *env, int v)
{
	return env->fault_occurred ? NULL : xmlrpc_int_new(env, v);
}

static xmlrpc_value *bln(xmlrpc_env *env, bool v)
{
	return env->fault_occurred ? NULL : xmlrpc_bool_new(env, v);
}

static xmlrpc_value *dbl(xmlrpc_env *env, double v)
{
	return env->fault_occurred ? NULL : xmlrpc_double_new(env, v);
}

static xmlrpc_value *host_struct(xmlrpc_env *env, const struct sf_host *h)
{
	xmlrpc_value *st = newst(env);

	if (env->fault_occurred)
		return NULL;
	put(env, st, "name", str(h->name));
	put(env, st, "agent_version", str(h->agent_version));
	put(env, st, "uptime_s", i8(env, h->uptime_s));
	put(env, st, "hypervisor", str(h->hypervisor));
	put(env, st, "hypervisor_version", str(h->hypervisor_version));
	put(env, st, "cpus", i4(env, h->cpus));
	put(env, st, "mem_total_mb", i8(env, (long long)h->mem_total_mb));
	put(env, st, "mem_free_mb", i8(env, (long long)h->mem_free_mb));
	put(env, st, "rss_bytes", i8(env, (long long)h->rss_bytes));
	put(env, st, "connections", i4(env, h->connections));
	return st;
}

static xmlrpc_value *guests_struct(xmlrpc_env *env, const struct status_facts *f)
{
	xmlrpc_value *st = newst(env), *counts, *list;

	if (env->fault_occurred)
		return NULL;
	counts = newst(env);
	for (int s = GS_NONE + 1; s < GS_COUNT && !env->fault_occurred; s++)
		put(env, counts, guest_status_name(s), i8(env, (long long)f->status_count[s]));
	if (f->status_count[GS_NONE])
		put(env, counts, "unknown", i8(env, (long long)f->status_count[GS_NONE]));
	put(env, st, "counts", counts);
	list = newarr(env);
	for (size_t i = 0; i < f->nguests && !env->fault_occurred; i++) {
		const struct sf_guest *g = &f->guests[i];
		xmlrpc_value *row = newst(env);
		if (env->fault_occurred)
			break;
		put(env, row, "name", str(g->name));
		put(env, row, "path", str(g->path));
		put(env, row, "status", str(g->status));
		put(env, row, "memory", i8(env, g->memory == GUEST_NO_INT ? 0 : g->memory));
		put(env, row, "vcpus", i8(env, g->vcpus == GUEST_NO_INT ? 0 : g->vcpus));
		put(env, row, "ha", bln(env, g->ha));
		put(env, row, "last_error", str(g->last_error));
		append(env, list, row);
	}
	put(env, st, "list", list);
	return st;
}

static xmlrpc_value *repos_array(xmlrpc_env *env, const struct status_facts *f)
{
	xmlrpc_value *arr = newarr(env);

	for (size_t i = 0; i < f->nrepos && !env->fault_occurred; i++) {
		const struct sf_repo *r = &f->repos[i];
		xmlrpc_value *row = newst(env);
		if (env->fault_occurred)
			break;
		put(env, row, "uuid", str(r->r.uuid));
		put(env, row, "source", str(r->r.source));
		put(env, row, "mount", str(r->r.mnt));
		put(env, row, "shared", bln(env, r->r.shared == 'C' || r->r.shared == '1'));
		put(env, row, "mounted", bln(env, r->r.mounted));
		put(env, row, "total_bytes", i8(env, r->sized ? (long long)r->total : -1));
		put(env, row, "free_bytes", i8(env, r->sized ? (long long)r->free : -1));
		append(env, arr, row);
	}
	return arr;
}

static xmlrpc_value *bridges_array(xmlrpc_env *env, const struct status_facts *f)
{
	xmlrpc_value *arr = newarr(env);

	for (size_t i = 0; i < f->nbridges && !env->fault_occurred; i++) {
		const struct sf_bridge *b = &f->bridges[i];
		xmlrpc_value *row = newst(env), *ports;
		if (env->fault_occurred)
			break;
		put(env, row, "name", str(b->name));
		put(env, row, "carrier", bln(env, b->carrier));
		ports = newarr(env);
		for (size_t k = 0; k < b->nports && !env->fault_occurred; k++)
			append(env, ports, str(b->ports[k]));
		put(env, row, "ports", ports);
		append(env, arr, row);
	}
	return arr;
}

static xmlrpc_value *pool_struct(xmlrpc_env *env, const struct sf_pool *p)
{
	xmlrpc_value *st = newst(env), *members;

	if (env->fault_occurred)
		return NULL;
	put(env, st, "in_pool", bln(env, p->in_pool));
	put(env, st, "roles", str(p->roles));
	put(env, st, "master", str(p->master));
	members = newarr(env);
	for (size_t i = 0; i < p->nmembers && !env->fault_occurred; i++) {
		const struct sf_member *m = &p->members[i];
		xmlrpc_value *row = newst(env);
		if (env->fault_occurred)
			break;
		put(env, row, "ip", str(m->ip));
		put(env, row, "roles", str(m->roles));
		put(env, row, "in_cluster", bln(env, m->in_cluster));
		put(env, row, "hb_age_ms", i8(env, m->hb_age_ms));
		append(env, members, row);
	}
	put(env, st, "members", members);
	put(env, st, "quorate", bln(env, p->quorate));
	put(env, st, "synced", bln(env, p->synced));
	put(env, st, "pool_ha", bln(env, p->pool_ha));
	return st;
}

static xmlrpc_value *hooks_array(xmlrpc_env *env, const struct status_facts *f)
{
	xmlrpc_value *arr = newarr(env);

	for (size_t i = 0; i < f->nhooks && !env->fault_occurred; i++) {
		const struct sf_hook *h = &f->hooks[i];
		xmlrpc_value *row = newst(env);
		if (env->fault_occurred)
			break;
		put(env, row, "hook", str(h->rec.hook));
		put(env, row, "kind", str(h->rec.kind));
		put(env, row, "exit_status", i4(env, h->rec.exit_status));
		put(env, row, "duration_ms", i8(env, h->rec.duration_ms));
		put(env, row, "started", i8(env, h->rec.started_ms / 1000));
		put(env, row, "failed", bln(env, h->failed));
		append(env, arr, row);
	}
	return arr;
}

static xmlrpc_value *security_struct(xmlrpc_env *env, const struct sf_security *s)
{
	xmlrpc_value *st = newst(env), *logins, *slowed;

	if (env->fault_occurred)
		return NULL;
	put(env, st, "cert_subject", str(s->cert_subject));
	put(env, st, "cert_expiry", i8(env, s->have_cert ? s->cert_expiry : 0));
	put(env, st, "cert_days_left", i8(env, s->have_cert ? s->cert_days_left : 0));
	put(env, st, "cert_warning", bln(env, s->cert_warning));
	logins = newarr(env);
	for (size_t i = 0; i < s->nlogins && !env->fault_occurred; i++) {
		xmlrpc_value *row = newst(env);
		if (env->fault_occurred)
			break;
		put(env, row, "address", str(s->logins[i].addr));
		put(env, row, "user", str(s->logins[i].user));
		put(env, row, "count", i8(env, s->logins[i].count));
		put(env, row, "last", i8(env, s->logins[i].last_unix));
		append(env, logins, row);
	}
	put(env, st, "failed_logins", logins);
	slowed = newarr(env);
	for (size_t i = 0; i < s->nslowed && !env->fault_occurred; i++) {
		xmlrpc_value *row = newst(env);
		if (env->fault_occurred)
			break;
		put(env, row, "address", str(s->slowed[i].addr));
		put(env, row, "seconds_left", i8(env, s->slowed[i].seconds_left));
		append(env, slowed, row);
	}
	put(env, st, "slowed", slowed);
	return st;
}

static xmlrpc_value *requests_struct(xmlrpc_env *env, const struct sf_requests *q)
{
	xmlrpc_value *st = newst(env), *methods, *faults;

	if (env->fault_occurred)
		return NULL;
	methods = newarr(env);
	for (size_t i = 0; i < q->nmethods && !env->fault_occurred; i++) {
		xmlrpc_value *row;
		if (!q->methods[i].calls)
			continue; /* the table's ~90 rows, most never called */
		row = newst(env);
		if (env->fault_occurred)
			break;
		put(env, row, "name", str(q->methods[i].name));
		put(env, row, "calls", i8(env, (long long)q->methods[i].calls));
		put(env, row, "faults", i8(env, (long long)q->methods[i].faults));
		append(env, methods, row);
	}
	put(env, st, "methods", methods);
	faults = newarr(env);
	for (size_t i = 0; i < q->nfaults && !env->fault_occurred; i++) {
		xmlrpc_value *row = newst(env);
		if (env->fault_occurred)
			break;
		put(env, row, "code", i4(env, q->faults[i].code));
		put(env, row, "count", i8(env, (long long)q->faults[i].count));
		append(env, faults, row);
	}
	put(env, st, "faults", faults);
	put(env, st, "latency_p50_ms", dbl(env, q->p50_ms));
	put(env, st, "latency_p99_ms", dbl(env, q->p99_ms));
	return st;
}

static void answer(void *arg, const struct status_facts *f)
{
	struct rpc_call *call = arg;
	xmlrpc_env env;
	xmlrpc_value *out;

	xmlrpc_env_init(&env);
	out = newst(&env);
	if (!env.fault_occurred) {
		put(&env, out, "host", host_struct(&env, &f->host));
		put(&env, out, "guests", guests_struct(&env, f));
		put(&env, out, "repositories", repos_array(&env, f));
		put(&env, out, "bridges", bridges_array(&env, f));
		put(&env, out, "pool", pool_struct(&env, &f->pool));
		put(&env, out, "hooks", hooks_array(&env, f));
		put(&env, out, "security", security_struct(&env, &f->security));
		put(&env, out, "requests", requests_struct(&env, &f->requests));
		put(&env, out, "error", str(f->error));
	}
	if (env.fault_occurred) {
		rpc_fault(call, FAULT_INTERNAL, "cannot build the status: %s", env.fault_string);
		if (out)
			xmlrpc_DECREF(out);
	} else {
		rpc_return(call, out);
	}
	xmlrpc_env_clean(&env);
}

void m_get_agent_status(struct rpc_call *call, xmlrpc_value *params)
{
	status_facts_gather(rpc_server(call), answer, call);
}
