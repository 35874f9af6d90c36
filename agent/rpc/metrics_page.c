/* metrics_page.c - GET /metrics in the Prometheus text format 0.0.4. */
#include "agent/rpc/metrics_page.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "agent/base/utf8.h"
#include "agent/base/util.h"

void metrics_label_value(struct buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	while (n) {
		uint32_t cp;
		size_t k;

		switch (*p) {
		case '\\': buf_puts(out, "\\\\"); k = 1; break;
		case '"': buf_puts(out, "\\\""); k = 1; break;
		case '\n': buf_puts(out, "\\n"); k = 1; break;
		default:
			if (*p < 0x80) {
				k = 1;
			} else if ((k = utf8_decode(p, n, &cp)) == 0) {
				buf_puts(out, "\xef\xbf\xbd"); /* U+FFFD for a byte that is no character */
				k = 1;
				break;
			}
			buf_append(out, p, k);
		}
		p += k;
		n -= k;
	}
}

static void family(struct buf *o, const char *name, const char *type, const char *help)
{
	buf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{key="value"} v, for the common one-label sample. */
static void sample1(struct buf *o, const char *name, const char *key, const char *val, uint64_t v)
{
	buf_printf(o, "%s{%s=\"", name, key);
	metrics_label_value(o, val);
	buf_printf(o, "\"} %" PRIu64 "\n", v);
}

/* name{k1="v1",k2="v2"} v. */
static void sample2(struct buf *o, const char *name, const char *k1, const char *v1,
		    const char *k2, const char *v2, uint64_t v)
{
	buf_printf(o, "%s{%s=\"", name, k1);
	metrics_label_value(o, v1);
	buf_printf(o, "\",%s=\"", k2);
	metrics_label_value(o, v2);
	buf_printf(o, "\"} %" PRIu64 "\n", v);
}

static void requests(const struct status_facts *sf, struct buf *o)
{
	static const char dur[] = "ovs_agent_rpc_request_duration_seconds";
	const struct sf_requests *f = &sf->requests;

	family(o, "ovs_agent_rpc_requests_total", "counter",
	       "XML-RPC calls answered, by method and result (ok or fault).");
	for (size_t i = 0; i < f->nmethods; i++) {
		const struct tm_method *m = &f->methods[i];
		if (!m->calls)
			continue; /* a method never called has no series yet */
		sample2(o, "ovs_agent_rpc_requests_total", "method", m->name, "result", "ok",
			m->calls - m->faults);
		sample2(o, "ovs_agent_rpc_requests_total", "method", m->name, "result", "fault",
			m->faults);
	}

	family(o, "ovs_agent_rpc_faults_total", "counter",
	       "XML-RPC faults returned, by fault code (code 0: codes past the 64 kept).");
	for (size_t i = 0; i < f->nfaults; i++)
		buf_printf(o, "ovs_agent_rpc_faults_total{code=\"%d\"} %" PRIu64 "\n",
			   f->faults[i].code, f->faults[i].count);

	family(o, dur, "histogram",
	       "Time from an XML-RPC request parsed to its reply queued, by method.");
	for (size_t i = 0; i < f->nmethods; i++) {
		const struct tm_method *m = &f->methods[i];
		uint64_t cum = 0;
		struct buf lbl;

		if (!m->calls)
			continue;
		buf_init(&lbl, 0);
		metrics_label_value(&lbl, m->name);
		for (int b = 0; b <= TM_BUCKETS; b++) {
			cum += m->bucket[b];
			if (b < TM_BUCKETS)
				buf_printf(o, "%s_bucket{method=\"%.*s\",le=\"%g\"} %" PRIu64 "\n",
					   dur, (int)lbl.len, lbl.data, telemetry_bucket_le[b], cum);
			else
				buf_printf(o, "%s_bucket{method=\"%.*s\",le=\"+Inf\"} %" PRIu64 "\n",
					   dur, (int)lbl.len, lbl.data, cum);
		}
		buf_printf(o, "%s_sum{method=\"%.*s\"} %.6f\n", dur, (int)lbl.len, lbl.data,
			   m->sum_seconds);
		/* _count is the +Inf bucket, which is every call counted. */
		buf_printf(o, "%s_count{method=\"%.*s\"} %" PRIu64 "\n", dur, (int)lbl.len,
			   lbl.data, cum);
		buf_free(&lbl);
	}
}

static void guests(const struct status_facts *f, struct buf *o)
{
	if (!f->guests_read)
		return;
	family(o, "ovs_agent_guests", "gauge",
	       "Guests in this agent's table by status (unknown: a record without one).");
	for (int s = 0; s < GS_COUNT; s++) {
		const char *name = guest_status_name((enum guest_status)s);
		sample1(o, "ovs_agent_guests", "status", name ? name : "unknown",
			f->status_count[s]);
	}
}

static void hooks(const struct status_facts *f, struct buf *o)
{
	family(o, "ovs_agent_hook_runs", "gauge",
	       "Hook runs among the records the agent keeps (list_hook_runs), by hook and result.");
	for (size_t i = 0; i < f->nhook_counts; i++)
		sample2(o, "ovs_agent_hook_runs", "hook", f->hook_counts[i].hook, "result",
			f->hook_counts[i].result, f->hook_counts[i].count);
}

/* Size or free bytes of each repository whose statvfs answered. */
static void repo_bytes(const struct status_facts *f, struct buf *o, const char *name,
		       const char *help, bool free_bytes)
{
	family(o, name, "gauge", help);
	for (size_t i = 0; i < f->nrepos; i++)
		if (f->repos[i].sized)
			sample1(o, name, "uuid", f->repos[i].r.uuid,
				free_bytes ? f->repos[i].free : f->repos[i].total);
}

static void repos(const struct status_facts *f, struct buf *o)
{
	family(o, "ovs_agent_repository_mounted", "gauge",
	       "1 when the storage repository is mounted, else 0.");
	for (size_t i = 0; i < f->nrepos; i++)
		sample1(o, "ovs_agent_repository_mounted", "uuid", f->repos[i].r.uuid,
			f->repos[i].r.mounted);
	repo_bytes(f, o, "ovs_agent_repository_size_bytes",
		   "Size of the mounted repository's file system.", false);
	repo_bytes(f, o, "ovs_agent_repository_free_bytes",
		   "Bytes free to the agent on the mounted repository's file system.", true);
}

static void pool(const struct status_facts *f, struct buf *o)
{
	if (!f->pool.cluster_enabled)
		return;
	family(o, "ovs_agent_pool_members", "gauge",
	       "Servers in the pool's corosync group as this agent sees it.");
	buf_printf(o, "ovs_agent_pool_members %zu\n", f->pool.cluster_members);
	family(o, "ovs_agent_pool_quorate", "gauge", "1 when the pool's cluster has quorum, else 0.");
	buf_printf(o, "ovs_agent_pool_quorate %d\n", f->pool.quorate ? 1 : 0);
}

static void security(const struct status_facts *f, struct buf *o)
{
	if (f->security.have_cert) {
		/* A time stamp, as blackbox_exporter's probe_ssl_earliest_cert_expiry:
		 * it does not change between scrapes, and an alert is
		 * "ovs_agent_tls_cert_expiry_seconds - time() < 30 * 86400". */
		family(o, "ovs_agent_tls_cert_expiry_seconds", "gauge",
		       "The TLS certificate's notAfter in seconds since the Unix epoch.");
		buf_printf(o, "ovs_agent_tls_cert_expiry_seconds %" PRId64 "\n",
			   f->security.cert_expiry);
	}
	family(o, "ovs_agent_auth_failures_total", "counter",
	       "Failed logins since start, by the peer's address family and the user tried.");
	for (size_t i = 0; i < f->requests.nauthfail; i++)
		sample2(o, "ovs_agent_auth_failures_total", "family",
			f->requests.authfail[i].family, "user", f->requests.authfail[i].user,
			f->requests.authfail[i].count);
}

static void process_facts(const struct status_facts *f, struct buf *o)
{
	family(o, "ovs_agent_connections_open", "gauge", "Client connections open now.");
	buf_printf(o, "ovs_agent_connections_open %d\n", f->host.connections);
	if (f->host.rss_bytes) { /* 0: /proc/self/statm could not be read */
		family(o, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
		buf_printf(o, "process_resident_memory_bytes %" PRIu64 "\n", f->host.rss_bytes);
	}
	family(o, "process_start_time_seconds", "gauge",
	       "Start time of the process since the Unix epoch in seconds.");
	buf_printf(o, "process_start_time_seconds %" PRId64 "\n",
		   f->now_unix - f->host.uptime_s);
	family(o, "ovs_agent_build_info", "gauge", "Always 1; the agent's version as a label.");
	sample1(o, "ovs_agent_build_info", "version", f->host.agent_version, 1);
}

void metrics_page_write(const struct status_facts *f, struct buf *out)
{
	requests(f, out);
	guests(f, out);
	hooks(f, out);
	repos(f, out);
	pool(f, out);
	security(f, out);
	process_facts(f, out);
}

struct serving {
	metrics_page_cb done;
	void *arg;
};

static void rendered(void *arg, const struct status_facts *f)
{
	struct serving *s = arg;
	struct buf page;

	buf_init(&page, 0);
	metrics_page_write(f, &page);
	s->done(s->arg, &page);
	buf_free(&page);
	free(s);
}

void metrics_page_serve(struct server *srv, metrics_page_cb done, void *arg)
{
	struct serving *s = xcalloc(1, sizeof(*s));

	s->done = done;
	s->arg = arg;
	status_facts_gather(srv, rendered, s);
}
