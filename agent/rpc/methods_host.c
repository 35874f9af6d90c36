/* methods_host.c - host methods: echo, versions, host and perf facts. */
#define LOG_CAT "rpc"
#include "agent/rpc/methods.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/base/buf.h"
#include "agent/base/fault.h"
#include "hypervisor/hv.h"
#include "agent/rpc/perf.h"
#include "agent/server/server.h"
#include "agent/server/version.h"
#include "db/pool.h"

void m_echo(struct rpc_call *call, xmlrpc_value *params)
{
	xmlrpc_env env;
	const char *s = NULL;

	xmlrpc_env_init(&env);
	xmlrpc_decompose_value(&env, params, "(s)", &s);
	if (env.fault_occurred)
		rpc_fault(call, FAULT_INVALID_PARAMS, "echo takes one string");
	else
		rpc_return_printf(call, "success:echo=%s", s);
	free((char *)s);
	xmlrpc_env_clean(&env);
}

void m_get_agent_version(struct rpc_call *call, xmlrpc_value *params)
{
	rpc_return_printf(call, "success:agent_version=%s", agent_version);
}

void m_get_master_ip(struct rpc_call *call, xmlrpc_value *params)
{
	struct server *srv = rpc_server(call);
	char ip[POOL_IP_MAX], err[256];
	int r = pool_master_get(srv->store, ip, err, sizeof(err));

	if (r < 0)
		rpc_fault(call, FAULT_IO, "cannot read the pool state: %s", err);
	else if (r == 0)
		rpc_fault(call, FAULT_NOT_IN_POOL,
			  "this server is not in a server pool, so it has no master");
	else
		rpc_return_printf(call, "success:ip=%s", ip);
}

/* Values go into "k=v;k=v": keep ';' out of them. */
static void kv(struct buf *b, const char *key, const char *val)
{
	buf_printf(b, "%s%s=", b->len > 8 ? ";" : "", key);
	for (const char *p = val; *p; p++)
		buf_append(b, *p == ';' ? "," : p, 1);
}

static void kvu(struct buf *b, const char *key, unsigned long long v)
{
	char n[32];

	snprintf(n, sizeof(n), "%llu", v);
	kv(b, key, n);
}

static void on_info(void *arg, const struct hv_info *i, const char *err)
{
	struct rpc_call *call = arg;
	struct buf b;

	if (!i) {
		rpc_fault(call, FAULT_HYPERVISOR, "cannot get host information: %s", err);
		return;
	}
	buf_init(&b, 0);
	buf_puts(&b, "success:");
	kv(&b, "host", i->host);
	kv(&b, "release", i->release);
	kv(&b, "version", i->version);
	kv(&b, "machine", i->machine);
	kvu(&b, "nr_cpus", (unsigned)i->nr_cpus);
	kvu(&b, "nr_nodes", (unsigned)i->nr_nodes);
	kvu(&b, "cores_per_socket", (unsigned)i->cores_per_socket);
	kvu(&b, "threads_per_core", (unsigned)i->threads_per_core);
	kvu(&b, "cpu_mhz", (unsigned)i->cpu_mhz);
	kv(&b, "hw_caps", i->hw_caps);
	kv(&b, "virt_caps", i->virt_caps);
	kvu(&b, "total_memory", i->total_memory);
	kvu(&b, "free_memory", i->free_memory);
	kv(&b, "hypervisor", i->hypervisor);
	kvu(&b, "xen_major", (unsigned)i->xen_major);
	kvu(&b, "xen_minor", (unsigned)i->xen_minor);
	kv(&b, "xen_extra", i->xen_extra);
	kv(&b, "xen_caps", i->xen_caps);
	kv(&b, "cc_compiler", i->cc_compiler);
	rpc_return_string(call, b.data);
	buf_free(&b);
}

void m_xen_get_xm_info(struct rpc_call *call, xmlrpc_value *params)
{
	struct hv *hv = rpc_server(call)->hv;

	hv->ops->info(hv, on_info, call);
}

void m_sys_perf_info(struct rpc_call *call, xmlrpc_value *params)
{
	double idle;
	uint64_t mem;

	if (perf_sample(rpc_server(call)->perf, &idle, &mem) < 0)
		rpc_fault(call, FAULT_IO, "cannot read /proc/stat or /proc/meminfo");
	else
		rpc_return_printf(call, "success:cpu_idle=%.4f;mem_free=%llu", idle,
				  (unsigned long long)mem);
}
