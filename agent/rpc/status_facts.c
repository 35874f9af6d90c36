/* status_facts.c - gather the agent's facts once for every status reader
 * (status_facts.h). */
#define LOG_CAT "status"
#include "agent/rpc/status_facts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/base/log.h"
#include "agent/base/util.h"
#include "agent/cluster/heartbeat.h"
#include "agent/net/netview.h"
#include "agent/net/nettab.h"
#include "agent/pool/cluster.h"
#include "agent/server/server.h"
#include "agent/server/tls.h"
#include "agent/server/version.h"
#include "db/store.h"
#include "hypervisor/hv.h"

#define CERT_WARN_DAYS 30

/* The backend's last answer to info(). A backend that needs a child for
 * it (xl info, qemu --version) answers later; the snapshot meanwhile has
 * what was known before, or "" the first time, and the child is started
 * at most once a minute. One process, one loop: plain statics. */
#define HV_ASK_MS 60000
static struct hv_info hv_last;
static bool hv_last_ok, hv_asking, hv_sync;
static int64_t hv_asked_ms;

static void on_hv_info(void *arg, const struct hv_info *info, const char *err)
{
	bool *answered = arg;

	hv_asking = false;
	if (answered)
		*answered = true;
	if (info) {
		hv_last = *info;
		hv_last_ok = true;
	}
}

static void gather_host(struct server *srv, struct sf_host *h)
{
	static bool answered_now;
	struct hv_info facts;
	long page = sysconf(_SC_PAGESIZE);
	FILE *f;

	answered_now = false;
	if (srv->hv && !hv_asking &&
	    (hv_sync || !hv_asked_ms || now_ms() - hv_asked_ms >= HV_ASK_MS)) {
		hv_asking = true;
		hv_asked_ms = now_ms();
		/* A late answer must not write into this call's frame: the flag
		 * is static, and only read here, right after the call. */
		srv->hv->ops->info(srv->hv, on_hv_info, &answered_now);
		hv_sync = answered_now;
	}
	/* The backend's view when it answered now, else the host's own
	 * (uname, /proc/cpuinfo, /proc/meminfo: never blocks). */
	if (answered_now && hv_last_ok)
		facts = hv_last;
	else
		hv_host_facts(&facts);
	snprintf(h->name, sizeof(h->name), "%s", facts.host);
	snprintf(h->agent_version, sizeof(h->agent_version), "%s", agent_version);
	h->uptime_s = srv->started_ms ? (now_ms() - srv->started_ms) / 1000 : 0;
	snprintf(h->hypervisor, sizeof(h->hypervisor), "%s",
		 hv_last_ok ? hv_last.hypervisor : config_hv_name(srv->cfg.hypervisor));
	if (hv_last_ok)
		snprintf(h->hypervisor_version, sizeof(h->hypervisor_version), "%d.%d%s",
			 hv_last.xen_major, hv_last.xen_minor, hv_last.xen_extra);
	h->cpus = facts.nr_cpus;
	h->mem_total_mb = facts.total_memory;
	h->mem_free_mb = facts.free_memory;
	h->connections = srv->nconns;
	/* statm's second field: resident pages. */
	if ((f = fopen("/proc/self/statm", "re"))) {
		unsigned long long size, res;
		if (fscanf(f, "%llu %llu", &size, &res) == 2 && page > 0)
			h->rss_bytes = res * (unsigned long long)page;
		fclose(f);
	}
}

/* ---- guests ---------------------------------------------------------------- */

struct guest_acc {
	struct status_facts *f;
	size_t cap;
};

static int one_guest(const char *path, const struct record *rec, void *arg)
{
	struct guest_acc *a = arg;
	struct status_facts *f = a->f;
	struct guest_state g;
	struct sf_guest *o;

	if (f->nguests == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		f->guests = xrealloc(f->guests, a->cap * sizeof(*f->guests));
	}
	guest_state_read(&g, rec);
	o = &f->guests[f->nguests++];
	o->path = xstrdup(path);
	o->name = g.name ? xstrdup(g.name) : NULL;
	o->status = guest_status_name(g.status) ? guest_status_name(g.status) : "unknown";
	o->memory = g.memory;
	o->vcpus = g.vcpus;
	o->ha = g.ha != GUEST_NO_INT && g.ha != 0;
	o->host = g.host ? xstrdup(g.host) : NULL;
	o->last_error = g.error ? xstrdup(g.error) : NULL;
	f->status_count[g.status < GS_COUNT ? g.status : GS_NONE]++;
	guest_state_free(&g);
	return 0;
}

/* ---- bridges ----------------------------------------------------------------- */

static void gather_bridges(struct server *srv, struct status_facts *f)
{
	const struct net_tab *t = srv->net ? netview_tab(srv->net) : NULL;
	size_t cap = t ? nettab_link_cap(t) : 0, nb = 0;

	for (size_t i = 0; i < cap; i++) {
		const struct net_link *l = nettab_link_at(t, i);
		if (l && strcmp(l->kind, "bridge") == 0)
			nb++;
	}
	if (!nb)
		return;
	f->bridges = xcalloc(nb, sizeof(*f->bridges));
	for (size_t i = 0; i < cap; i++) {
		const struct net_link *l = nettab_link_at(t, i);
		struct sf_bridge *b;
		if (!l || strcmp(l->kind, "bridge") != 0)
			continue;
		b = &f->bridges[f->nbridges++];
		snprintf(b->name, sizeof(b->name), "%s", l->name);
		b->carrier = l->carrier;
		/* Ports: links whose master is this bridge (bridges x links,
		 * both bounded by the table's max_links). */
		for (size_t k = 0; k < cap; k++) {
			const struct net_link *p = nettab_link_at(t, k);
			if (!p || p->master != l->index)
				continue;
			b->ports = xrealloc(b->ports, (b->nports + 1) * sizeof(*b->ports));
			snprintf(b->ports[b->nports++], IFNAMSIZ, "%s", p->name);
		}
	}
}

/* ---- pool ------------------------------------------------------------------- */

static void gather_pool(struct server *srv, struct status_facts *f)
{
	struct sf_pool *p = &f->pool;
	struct pool_cluster_info in;
	struct pool_member *v = NULL;
	char err[256], self[POOL_IP_MAX];
	size_t n = 0;

	pool_cluster_info(srv, &in);
	p->quorate = in.quorate;
	p->synced = in.synced;
	p->pool_ha = pool_cluster_state(srv)->pool_ha;
	p->cluster_enabled = in.enabled;
	p->cluster_members = in.n;
	if (!srv->store)
		return;
	if (pool_master_get(srv->store, p->master, err, sizeof(err)) == 1)
		p->in_pool = true;
	if (pool_members(srv->store, &v, &n, err, sizeof(err)) != 0) {
		snprintf(f->error, sizeof(f->error), "pool members: %.200s", err);
		return;
	}
	if (pool_self_get(srv->store, self, err, sizeof(err)) != 1)
		self[0] = '\0';
	p->members = xcalloc(n ? n : 1, sizeof(*p->members));
	for (size_t i = 0; i < n; i++) {
		struct sf_member *m = &p->members[p->nmembers++];
		uint32_t node = pool_cluster_node_of(srv, v[i].ip);
		struct hb_view hb;
		snprintf(m->ip, sizeof(m->ip), "%s", v[i].ip);
		pool_roles_format(v[i].roles, m->roles);
		m->in_cluster = node && pool_cluster_in_view(srv, node);
		m->hb_age_ms = -1;
		if (node) {
			pool_cluster_slot(srv, node, &hb);
			if (hb.seen)
				m->hb_age_ms = hb.age_ms;
		}
		if (self[0] && strcmp(v[i].ip, self) == 0)
			snprintf(p->roles, sizeof(p->roles), "%s", m->roles);
	}
	free(v);
}

/* ---- hooks: the last runs, failures first, each part newest first; and
 * every kept record counted by (hook, result) -------------------------------- */

static const char *hook_result(const struct hook_record *r)
{
	if (r->queued)
		return "queued";
	if (r->running)
		return "running";
	if (r->timed_out)
		return "timeout";
	if (r->signal || r->exit_status < 0)
		return "killed";
	return r->exit_status == 0 ? "ok" : "failed";
}

static int by_hook_result(const void *a, const void *b)
{
	const struct sf_hook_count *x = a, *y = b;
	int c = strcmp(x->hook, y->hook);

	return c ? c : strcmp(x->result, y->result);
}

/* Sorted, then runs of equal pairs folded: n log n in the ring's size. */
static void count_hooks(struct status_facts *f, const struct hook_record *r, size_t n)
{
	struct sf_hook_count *c;
	size_t k = 0;

	if (!n)
		return;
	c = xcalloc(n, sizeof(*c));
	for (size_t i = 0; i < n; i++) {
		snprintf(c[i].hook, sizeof(c[i].hook), "%s", r[i].hook);
		c[i].result = hook_result(&r[i]);
		c[i].count = 1;
	}
	qsort(c, n, sizeof(*c), by_hook_result);
	for (size_t i = 0; i < n; i++) {
		if (k && by_hook_result(&c[k - 1], &c[i]) == 0)
			c[k - 1].count++;
		else
			c[k++] = c[i];
	}
	f->hook_counts = c;
	f->nhook_counts = k;
}

static void gather_hooks(struct server *srv, struct status_facts *f)
{
	struct hook_record *r;
	size_t n, shown, k = 0;

	if (!srv->hooks || !(n = hooks_count(srv->hooks)))
		return;
	r = xcalloc(n, sizeof(*r));
	n = hooks_records(srv->hooks, r, n);
	shown = n < STATUS_HOOKS ? n : STATUS_HOOKS;
	f->hooks = xcalloc(STATUS_HOOKS, sizeof(*f->hooks));
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < shown; i++) {
			bool failed = !r[i].queued && !r[i].running &&
				      (r[i].exit_status != 0 || r[i].signal || r[i].timed_out);
			if (failed != (pass == 0))
				continue;
			f->hooks[k].rec = r[i];
			f->hooks[k++].failed = failed;
		}
	f->nhooks = k;
	count_hooks(f, r, n);
	free(r);
}

static void gather_security(struct server *srv, struct status_facts *f)
{
	struct sf_security *s = &f->security;

	if (srv->ssl_ctx && tls_cert_facts(srv->ssl_ctx, s->cert_subject, sizeof(s->cert_subject),
					   &s->cert_expiry) == 0) {
		int64_t left = s->cert_expiry - f->now_unix;
		s->have_cert = true;
		/* Whole days, rounded down (toward minus infinity when expired). */
		s->cert_days_left = left >= 0 ? left / 86400 : -((-left + 86399) / 86400);
		s->cert_warning = left < (int64_t)CERT_WARN_DAYS * 86400;
	}
	if (srv->telemetry) {
		s->logins = xcalloc(STATUS_LOGINS, sizeof(*s->logins));
		s->nlogins = telemetry_failed_logins(srv->telemetry, f->now_unix, s->logins,
						     STATUS_LOGINS);
	}
	if (srv->auth)
		s->nslowed = auth_slowed(srv->auth, s->slowed, STATUS_SLOWED);
}

static void read_requests(struct server *srv, struct status_facts *f)
{
	struct sf_requests *q = &f->requests;

	if (!srv->telemetry)
		return;
	q->nmethods = telemetry_methods(srv->telemetry, &q->methods);
	q->nfaults = telemetry_faults(srv->telemetry, &q->faults);
	q->nauthfail = telemetry_auth_failures(srv->telemetry, &q->authfail);
	telemetry_quantiles(srv->telemetry, &q->p50_ms, &q->p99_ms);
}

static void facts_free(struct status_facts *f)
{
	for (size_t i = 0; i < f->nguests; i++) {
		free(f->guests[i].path);
		free(f->guests[i].name);
		free(f->guests[i].host);
		free(f->guests[i].last_error);
	}
	free(f->guests);
	free(f->repos);
	for (size_t i = 0; i < f->nbridges; i++)
		free(f->bridges[i].ports);
	free(f->bridges);
	free(f->pool.members);
	free(f->hooks);
	free(f->hook_counts);
	free(f->security.logins);
	free(f);
}

/* ---- the repositories' sizes, then the answer ---------------------------------- */

struct gather {
	struct server *srv;
	struct status_facts *f;
	status_facts_cb cb;
	void *arg;
	const char **mnts;
	size_t *idx;                    /* mnts[k] is f->repos[idx[k]] */
	size_t nm;
};

static void finish(struct gather *g)
{
	read_requests(g->srv, g->f);
	g->cb(g->arg, g->f);
	facts_free(g->f);
	free(g->mnts);
	free(g->idx);
	free(g);
}

static void sized(void *arg, const struct repo_space *sp, size_t n, const char *why)
{
	struct gather *g = arg;

	if (why)
		log_warn("status: the repositories' statvfs child %s; their sizes are unknown", why);
	for (size_t k = 0; k < n && k < g->nm; k++) {
		struct sf_repo *r = &g->f->repos[g->idx[k]];
		if (sp[k].ok) {
			r->sized = true;
			r->total = sp[k].total;
			r->free = sp[k].free;
		}
	}
	finish(g);
}

void status_facts_gather(struct server *srv, status_facts_cb cb, void *arg)
{
	struct gather *g = xcalloc(1, sizeof(*g));
	struct status_facts *f = xcalloc(1, sizeof(*f));
	struct guest_acc acc = { f, 0 };
	char err[256];

	g->srv = srv;
	g->f = f;
	g->cb = cb;
	g->arg = arg;
	f->now_unix = (int64_t)time(NULL);
	gather_host(srv, &f->host);
	if (srv->store && guests_each(srv->store, one_guest, &acc, err, sizeof(err)) != 0)
		snprintf(f->error, sizeof(f->error), "guests: %.200s", err);
	else
		f->guests_read = srv->store != NULL;
	gather_bridges(srv, f);
	gather_pool(srv, f);
	gather_hooks(srv, f);
	gather_security(srv, f);
	if (srv->repos && (f->nrepos = repoview_count(srv->repos))) {
		f->repos = xcalloc(f->nrepos, sizeof(*f->repos));
		g->mnts = xcalloc(f->nrepos, sizeof(*g->mnts));
		g->idx = xcalloc(f->nrepos, sizeof(*g->idx));
		for (size_t i = 0; i < f->nrepos; i++) {
			f->repos[i].r = *repoview_at(srv->repos, i);
			if (f->repos[i].r.mounted) {
				g->idx[g->nm] = i;
				g->mnts[g->nm++] = f->repos[i].r.mnt;
			}
		}
	}
	if (g->nm && repo_probe(srv->loop, g->mnts, g->nm, STATUS_PROBE_MS, sized, g, err,
				sizeof(err)) == 0)
		return;
	if (g->nm)
		log_warn("status: cannot read the repositories' sizes: %s", err);
	finish(g);
}
