/* status_page.c - GET /status rendered from the status facts
 * (status_page.h). Every value goes through put()/putf() and so through
 * html_escape; the markup around them is this file's constants. */
#include "agent/rpc/status_page.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/base/util.h"
#include "agent/rpc/html.h"
#include "agent/rpc/status_facts.h"

/* The one stylesheet; the CSP allows it by its hash, so a change here
 * changes the header with it. Tables sit in .scroll boxes that scroll
 * sideways on a narrow screen instead of squeezing the columns. */
static const char STYLE[] =
	"body{font:15px/1.45 system-ui,sans-serif;color:#1d1d22;background:#fff;"
	"margin:0 auto;max-width:80em;padding:0 1em 3em}"
	"header{border-bottom:3px solid #c74634;padding:.6em 0}"
	"h1{font-size:1.5em;margin:0}h2{font-size:1.15em;margin:1.8em 0 .5em;"
	"border-bottom:1px solid #ccd;padding-bottom:.2em}"
	"nav a{display:inline-block;margin:.2em .9em 0 0}"
	".scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}"
	"table{border-collapse:collapse;min-width:100%}"
	"th,td{text-align:left;padding:.3em .6em;border-bottom:1px solid #e4e4ea;"
	"vertical-align:top;white-space:nowrap}"
	"th{background:#f2f2f6;font-weight:600}"
	"td.n{text-align:right;font-variant-numeric:tabular-nums}"
	"td.w{white-space:normal;min-width:10em;overflow-wrap:anywhere}"
	"tr.alert td{background:#fdeeee}.bad{color:#a00;font-weight:600}.ok{color:#176117}"
	".muted{color:#6b6b75}"
	".warn{background:#fff3cd;border:1px solid #d9a400;padding:.3em .6em;"
	"display:inline-block;margin:.3em 0}"
	".counts span{display:inline-block;margin:0 .4em .4em 0;padding:.1em .6em;"
	"border-radius:1em;background:#eef0f7}"
	"dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:.25em 1.2em;margin:0}"
	"dl.kv dt{font-weight:600}dl.kv dd{margin:0;overflow-wrap:anywhere}"
	"meter{width:8em;vertical-align:middle}code{font-size:.9em}"
	"@media(max-width:40em){body{font-size:14px;padding:0 .5em 2em}}";

#define CSP_STATIC "Content-Security-Policy: default-src 'none'; style-src '%s'; " \
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n" \
	"X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n" \
	"Referrer-Policy: no-referrer\r\n"

const char *status_page_headers(void)
{
	static char headers[512];
	unsigned char md[SHA256_DIGEST_LENGTH];
	unsigned char b64[4 * ((SHA256_DIGEST_LENGTH + 2) / 3) + 1];
	char src[sizeof(b64) + 8];

	if (headers[0])
		return headers;
	SHA256((const unsigned char *)STYLE, sizeof(STYLE) - 1, md);
	EVP_EncodeBlock(b64, md, SHA256_DIGEST_LENGTH);
	snprintf(src, sizeof(src), "sha256-%s", (const char *)b64);
	snprintf(headers, sizeof(headers), CSP_STATIC, src);
	return headers;
}

/* ---- values: always escaped -------------------------------------------------- */

static void put(struct buf *o, const char *s) { html_escape(o, s); }

static void putf(struct buf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct buf *o, const char *fmt, ...)
{
	char tmp[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	html_escape(o, tmp);
}

/* A cell: cls NULL, "n" (a number) or "w" (text that may wrap). */
static void td(struct buf *o, const char *cls, const char *s)
{
	buf_puts(o, cls ? (cls[0] == 'n' ? "<td class=\"n\">" : "<td class=\"w\">") : "<td>");
	put(o, s);
	buf_puts(o, "</td>");
}

static void tdf(struct buf *o, const char *cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void tdf(struct buf *o, const char *cls, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	td(o, cls, tmp);
}

static void th_row(struct buf *o, const char *const *names)
{
	buf_puts(o, "<div class=\"scroll\"><table><thead><tr>");
	for (; *names; names++) {
		buf_puts(o, "<th>");
		put(o, *names);
		buf_puts(o, "</th>");
	}
	buf_puts(o, "</tr></thead><tbody>\n");
}

static void table_end(struct buf *o) { buf_puts(o, "</tbody></table></div>\n"); }

static void kv(struct buf *o, const char *key, const char *val)
{
	buf_puts(o, "<dt>");
	put(o, key);
	buf_puts(o, "</dt><dd>");
	put(o, val);
	buf_puts(o, "</dd>");
}

static void none_para(struct buf *o, const char *text)
{
	buf_puts(o, "<p class=\"muted\">");
	put(o, text);
	buf_puts(o, "</p>\n");
}

static void section(struct buf *o, const char *id, const char *title)
{
	buf_puts(o, "<section id=\"");
	put(o, id);
	buf_puts(o, "\"><h2>");
	put(o, title);
	buf_puts(o, "</h2>\n");
}

static void section_end(struct buf *o) { buf_puts(o, "</section>\n"); }

/* ---- formats ------------------------------------------------------------------- */

static void fmt_bytes(char *out, size_t len, unsigned long long b)
{
	static const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)b;
	int u = 0;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(out, len, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

static void fmt_span(char *out, size_t len, long long s)
{
	if (s < 0)
		snprintf(out, len, "-");
	else if (s < 120)
		snprintf(out, len, "%lld s", s);
	else if (s < 7200)
		snprintf(out, len, "%lld min %lld s", s / 60, s % 60);
	else if (s < 172800)
		snprintf(out, len, "%lld h %lld min", s / 3600, s % 3600 / 60);
	else
		snprintf(out, len, "%lld d %lld h", s / 86400, s % 86400 / 3600);
}

static void fmt_time(char *out, size_t len, long long unix_s)
{
	time_t t = (time_t)unix_s;
	struct tm tm;

	if (unix_s <= 0 || !gmtime_r(&t, &tm) || !strftime(out, len, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(out, len, "-");
}

static void fmt_ms(char *out, size_t len, long long ms)
{
	if (ms < 0)
		snprintf(out, len, "never");
	else if (ms < 10000)
		snprintf(out, len, "%lld ms", ms);
	else
		fmt_span(out, len, ms / 1000);
}

static const char *yes_no(bool b) { return b ? "yes" : "no"; }

/* ---- sections --------------------------------------------------------------------- */

static void host_section(struct buf *o, const struct status_facts *f)
{
	const struct sf_host *h = &f->host;
	char a[64], b[64], line[256];

	section(o, "host", "Host");
	buf_puts(o, "<dl class=\"kv\">");
	kv(o, "Name", h->name);
	kv(o, "Agent version", h->agent_version);
	fmt_span(a, sizeof(a), h->uptime_s);
	kv(o, "Agent uptime", a);
	snprintf(line, sizeof(line), "%s%s%s", h->hypervisor, h->hypervisor_version[0] ? " " : "",
		 h->hypervisor_version);
	kv(o, "Hypervisor", line);
	snprintf(a, sizeof(a), "%d", h->cpus);
	kv(o, "CPUs", a);
	fmt_bytes(a, sizeof(a), (unsigned long long)h->mem_total_mb << 20);
	fmt_bytes(b, sizeof(b), (unsigned long long)h->mem_free_mb << 20);
	snprintf(line, sizeof(line), "%s total, %s free", a, b);
	kv(o, "Memory", line);
	fmt_bytes(a, sizeof(a), h->rss_bytes);
	kv(o, "Agent memory (RSS)", a);
	snprintf(a, sizeof(a), "%d", h->connections);
	kv(o, "Connections open", a);
	buf_puts(o, "</dl>\n");
	section_end(o);
}

/* Guests: ERROR first (what needs a person), then the statuses in their
 * own order, unknown last; by name within a status, then by path. */
static int status_rank(const char *status)
{
	enum guest_status s = guest_status_parse(status);

	if (s == GS_ERROR)
		return 0;
	return s == GS_NONE ? GS_COUNT : (int)s;
}

static const char *guest_label(const struct sf_guest *g)
{
	const char *slash;

	if (g->name)
		return g->name;
	slash = strrchr(g->path, '/');
	return slash ? slash + 1 : g->path;
}

static const struct sf_guest *sort_base;

static int guest_cmp(const void *pa, const void *pb)
{
	const struct sf_guest *a = &sort_base[*(const size_t *)pa];
	const struct sf_guest *b = &sort_base[*(const size_t *)pb];
	int ra = status_rank(a->status), rb = status_rank(b->status), c;

	if (ra != rb)
		return ra < rb ? -1 : 1;
	if ((c = strcmp(guest_label(a), guest_label(b))))
		return c;
	return strcmp(a->path, b->path);
}

static void int_cell(struct buf *o, long long v, const char *unit)
{
	char t[64];

	if (v == GUEST_NO_INT)
		snprintf(t, sizeof(t), "-");
	else
		snprintf(t, sizeof(t), "%lld%s", v, unit);
	td(o, "n", t);
}

static void guests_section(struct buf *o, const struct status_facts *f)
{
	static const char *const cols[] = { "Name", "Status", "Memory", "vCPUs", "Host", "HA",
					    "Last error", NULL };
	size_t *order;
	char t[64];

	section(o, "guests", "Guests");
	buf_puts(o, "<p class=\"counts\"><span>");
	putf(o, "%zu in all", f->nguests);
	buf_puts(o, "</span>");
	for (int s = GS_NONE; s < GS_COUNT; s++) {
		if (!f->status_count[s])
			continue;
		buf_puts(o, s == GS_ERROR ? "<span class=\"bad\">" : "<span>");
		snprintf(t, sizeof(t), "%s %zu", s == GS_NONE ? "unknown" : guest_status_name(s),
			 f->status_count[s]);
		put(o, t);
		buf_puts(o, "</span>");
	}
	buf_puts(o, "</p>\n");
	if (!f->nguests) {
		none_para(o, "No guests.");
		section_end(o);
		return;
	}
	order = xcalloc(f->nguests, sizeof(*order));
	for (size_t i = 0; i < f->nguests; i++)
		order[i] = i;
	sort_base = f->guests;
	qsort(order, f->nguests, sizeof(*order), guest_cmp);
	th_row(o, cols);
	for (size_t k = 0; k < f->nguests; k++) {
		const struct sf_guest *g = &f->guests[order[k]];
		bool bad = status_rank(g->status) == 0;
		buf_puts(o, bad ? "<tr class=\"alert\"><td class=\"bad\" title=\"" :
				  "<tr><td title=\"");
		put(o, g->path);
		buf_puts(o, "\">");
		put(o, guest_label(g));
		buf_puts(o, "</td>");
		td(o, NULL, g->status);
		int_cell(o, g->memory, " MB");
		int_cell(o, g->vcpus, "");
		td(o, NULL, g->host ? g->host : "-");
		td(o, NULL, yes_no(g->ha));
		td(o, "w", g->last_error ? g->last_error : "");
		buf_puts(o, "</tr>\n");
	}
	table_end(o);
	free(order);
	section_end(o);
}

static const char *shared_text(char shared)
{
	switch (shared) {
	case 'C': return "cluster root";
	case '1': return "yes";
	case '0': return "no";
	default: return "-";
	}
}

static void repos_section(struct buf *o, const struct status_facts *f)
{
	static const char *const cols[] = { "Repository", "Source", "Mount point", "Shared",
					    "Mounted", "Size", "Free", NULL };
	char a[64], b[64];

	section(o, "repositories", "Repositories");
	if (!f->nrepos) {
		none_para(o, "No repositories.");
		section_end(o);
		return;
	}
	th_row(o, cols);
	for (size_t i = 0; i < f->nrepos; i++) {
		const struct sf_repo *r = &f->repos[i];
		buf_puts(o, r->r.mounted ? "<tr><td>" : "<tr class=\"alert\"><td>");
		put(o, r->r.desc[0] ? r->r.desc : r->r.uuid);
		if (r->r.desc[0]) {
			buf_puts(o, "<br><small class=\"muted\">");
			put(o, r->r.uuid);
			buf_puts(o, "</small>");
		}
		buf_puts(o, "</td>");
		td(o, "w", r->r.source);
		td(o, "w", r->r.mnt);
		td(o, NULL, shared_text(r->r.shared));
		td(o, NULL, r->r.mounted ? "mounted" : "not mounted");
		if (!r->sized) {
			td(o, "n", "-");
			td(o, NULL, "-");
		} else {
			unsigned long long used = r->total > r->free ? r->total - r->free : 0;
			double frac = r->total ? (double)used / (double)r->total : 0;
			fmt_bytes(a, sizeof(a), r->total);
			td(o, "n", a);
			/* The bar is a <meter> (used of total), no inline style:
			 * the CSP allows the stylesheet's hash only. */
			buf_puts(o, "<td><meter min=\"0\" max=\"1\" low=\"0.75\" high=\"0.9\" "
				    "optimum=\"0\" value=\"");
			putf(o, "%.3f", frac);
			buf_puts(o, "\" title=\"");
			putf(o, "%.0f%% used", frac * 100);
			buf_puts(o, "\"></meter> ");
			fmt_bytes(b, sizeof(b), r->free);
			putf(o, "%s free (%.0f%% used)", b, frac * 100);
			buf_puts(o, "</td>");
		}
		buf_puts(o, "</tr>\n");
	}
	table_end(o);
	section_end(o);
}

static void network_section(struct buf *o, const struct status_facts *f)
{
	static const char *const cols[] = { "Bridge", "Carrier", "Ports", NULL };

	section(o, "network", "Network");
	if (!f->nbridges) {
		none_para(o, "No bridges.");
		section_end(o);
		return;
	}
	th_row(o, cols);
	for (size_t i = 0; i < f->nbridges; i++) {
		const struct sf_bridge *b = &f->bridges[i];
		buf_puts(o, "<tr>");
		td(o, NULL, b->name);
		buf_puts(o, b->carrier ? "<td class=\"ok\">" : "<td class=\"bad\">");
		put(o, b->carrier ? "up" : "no carrier");
		buf_puts(o, "</td><td class=\"w\">");
		if (!b->nports)
			put(o, "none");
		for (size_t k = 0; k < b->nports; k++) {
			if (k)
				put(o, ", ");
			put(o, b->ports[k]);
		}
		buf_puts(o, "</td></tr>\n");
	}
	table_end(o);
	section_end(o);
}

static void pool_section(struct buf *o, const struct status_facts *f)
{
	static const char *const cols[] = { "Server", "Roles", "In the cluster", "Heartbeat age",
					    NULL };
	const struct sf_pool *p = &f->pool;
	char a[64];

	section(o, "pool", "Pool");
	buf_puts(o, "<dl class=\"kv\">");
	kv(o, "In a pool", yes_no(p->in_pool));
	kv(o, "This server's roles", p->roles[0] ? p->roles : "-");
	kv(o, "Master", p->master[0] ? p->master : "-");
	kv(o, "Quorum", p->quorate ? "quorate" : "no quorum");
	kv(o, "State synced", yes_no(p->synced));
	kv(o, "Pool HA", p->pool_ha ? "on" : "off");
	buf_puts(o, "</dl>\n");
	if (!p->nmembers) {
		none_para(o, "No members.");
		section_end(o);
		return;
	}
	th_row(o, cols);
	for (size_t i = 0; i < p->nmembers; i++) {
		const struct sf_member *m = &p->members[i];
		buf_puts(o, m->in_cluster ? "<tr>" : "<tr class=\"alert\">");
		td(o, NULL, m->ip);
		td(o, NULL, m->roles[0] ? m->roles : "-");
		td(o, NULL, yes_no(m->in_cluster));
		fmt_ms(a, sizeof(a), m->hb_age_ms);
		td(o, "n", a);
		buf_puts(o, "</tr>\n");
	}
	table_end(o);
	section_end(o);
}

/* The end of a hook's output, cut at a character boundary. */
#define TAIL_SHOWN 240

static void hooks_section(struct buf *o, const struct status_facts *f)
{
	static const char *const cols[] = { "Result", "Hook", "Kind", "Event", "Guest", "Started",
					    "Duration", "Last output", NULL };
	char a[96];

	section(o, "hooks", "Hooks");
	if (!f->nhooks) {
		none_para(o, "No hook has run.");
		section_end(o);
		return;
	}
	th_row(o, cols);
	for (size_t i = 0; i < f->nhooks; i++) {
		const struct hook_record *r = &f->hooks[i].rec;
		const char *tail = r->tail;
		size_t tl = strlen(tail);
		if (r->queued)
			snprintf(a, sizeof(a), "queued");
		else if (r->running)
			snprintf(a, sizeof(a), "running");
		else if (r->timed_out)
			snprintf(a, sizeof(a), "timed out");
		else if (r->signal)
			snprintf(a, sizeof(a), "killed by signal %d", r->signal);
		else
			snprintf(a, sizeof(a), "exit %d", r->exit_status);
		buf_puts(o, f->hooks[i].failed ? "<tr class=\"alert\"><td class=\"bad\">" :
						 "<tr><td>");
		put(o, a);
		/* The hook's file name; its path on hover. */
		buf_puts(o, "</td><td title=\"");
		put(o, r->hook);
		buf_puts(o, "\">");
		put(o, strrchr(r->hook, '/') ? strrchr(r->hook, '/') + 1 : r->hook);
		buf_puts(o, "</td>");
		td(o, NULL, r->kind);
		td(o, NULL, r->event[0] ? r->event : "-");
		td(o, NULL, r->guest[0] ? r->guest : "-");
		fmt_time(a, sizeof(a), r->started_ms / 1000);
		td(o, NULL, a);
		fmt_ms(a, sizeof(a), r->duration_ms);
		td(o, "n", a);
		if (tl > TAIL_SHOWN) {
			tail += tl - TAIL_SHOWN;
			while ((*tail & 0xc0) == 0x80)
				tail++;
		}
		buf_puts(o, "<td class=\"w\"><code>");
		put(o, tail);
		buf_puts(o, "</code></td></tr>\n");
	}
	table_end(o);
	section_end(o);
}

static void security_section(struct buf *o, const struct status_facts *f)
{
	static const char *const login_cols[] = { "Address", "User", "Failures", "Last", NULL };
	static const char *const slow_cols[] = { "Address", "Failures in a row",
						 "Forgotten in", NULL };
	static const char *const fam_cols[] = { "Family", "User", "Failures", NULL };
	const struct sf_security *s = &f->security;
	char a[96];

	section(o, "security", "Security");
	buf_puts(o, "<dl class=\"kv\">");
	if (s->have_cert) {
		kv(o, "Certificate", s->cert_subject);
		fmt_time(a, sizeof(a), s->cert_expiry);
		kv(o, "Expires", a);
		buf_puts(o, "<dt>Days left</dt><dd>");
		if (s->cert_warning)
			buf_puts(o, "<span class=\"warn\">");
		if (s->cert_days_left < 0)
			putf(o, "expired %lld days ago", (long long)-s->cert_days_left);
		else if (s->cert_warning)
			putf(o, "%lld: renew the certificate (under 30 days left)",
			     (long long)s->cert_days_left);
		else
			putf(o, "%lld", (long long)s->cert_days_left);
		if (s->cert_warning)
			buf_puts(o, "</span>");
		buf_puts(o, "</dd>");
	} else {
		kv(o, "Certificate", "none (ssl is off)");
	}
	buf_puts(o, "</dl>\n<h3>Failed logins in the last hour</h3>\n");
	if (!s->nlogins) {
		none_para(o, "None.");
	} else {
		th_row(o, login_cols);
		for (size_t i = 0; i < s->nlogins; i++) {
			const struct tm_login *l = &s->logins[i];
			buf_puts(o, "<tr>");
			td(o, NULL, l->addr);
			td(o, NULL, l->user[0] ? l->user : "(none given)");
			tdf(o, "n", "%u", (unsigned)l->count);
			fmt_time(a, sizeof(a), l->last_unix);
			td(o, NULL, a);
			buf_puts(o, "</tr>\n");
		}
		table_end(o);
	}
	buf_puts(o, "<h3>Addresses slowed down now</h3>\n");
	if (!s->nslowed) {
		none_para(o, "None.");
	} else {
		th_row(o, slow_cols);
		for (size_t i = 0; i < s->nslowed; i++) {
			buf_puts(o, "<tr>");
			td(o, NULL, s->slowed[i].addr);
			tdf(o, "n", "%d", s->slowed[i].failures);
			fmt_span(a, sizeof(a), s->slowed[i].seconds_left);
			td(o, "n", a);
			buf_puts(o, "</tr>\n");
		}
		table_end(o);
	}
	if (f->requests.nauthfail) {
		buf_puts(o, "<h3>Failed logins since the agent started</h3>\n");
		th_row(o, fam_cols);
		for (size_t i = 0; i < f->requests.nauthfail; i++) {
			const struct tm_authfail *x = &f->requests.authfail[i];
			buf_puts(o, "<tr>");
			td(o, NULL, x->family);
			td(o, NULL, x->user[0] ? x->user : "(none given)");
			tdf(o, "n", "%llu", (unsigned long long)x->count);
			buf_puts(o, "</tr>\n");
		}
		table_end(o);
	}
	section_end(o);
}

static void requests_section(struct buf *o, const struct status_facts *f)
{
	static const char *const method_cols[] = { "Method", "Calls", "Faults", "Mean", NULL };
	static const char *const fault_cols[] = { "Fault code", "Count", NULL };
	const struct sf_requests *q = &f->requests;
	unsigned long long calls = 0;
	char a[64];

	for (size_t i = 0; i < q->nmethods; i++)
		calls += q->methods[i].calls;
	section(o, "requests", "Requests");
	buf_puts(o, "<dl class=\"kv\">");
	snprintf(a, sizeof(a), "%llu", calls);
	kv(o, "XML-RPC calls", a);
	snprintf(a, sizeof(a), "%.1f ms", q->p50_ms);
	kv(o, "Latency p50", a);
	snprintf(a, sizeof(a), "%.1f ms", q->p99_ms);
	kv(o, "Latency p99", a);
	buf_puts(o, "</dl>\n<h3>Calls per method</h3>\n");
	if (!calls) {
		none_para(o, "No call yet.");
	} else {
		th_row(o, method_cols);
		for (size_t i = 0; i < q->nmethods; i++) {
			const struct tm_method *m = &q->methods[i];
			if (!m->calls)
				continue; /* most of the table is never called */
			buf_puts(o, "<tr>");
			td(o, NULL, m->name);
			tdf(o, "n", "%llu", (unsigned long long)m->calls);
			tdf(o, "n", "%llu", (unsigned long long)m->faults);
			tdf(o, "n", "%.2f ms", m->sum_seconds * 1000 / (double)m->calls);
			buf_puts(o, "</tr>\n");
		}
		table_end(o);
	}
	buf_puts(o, "<h3>Faults per code</h3>\n");
	if (!q->nfaults) {
		none_para(o, "None.");
	} else {
		th_row(o, fault_cols);
		for (size_t i = 0; i < q->nfaults; i++) {
			buf_puts(o, "<tr>");
			if (q->faults[i].code)
				tdf(o, "n", "%d", q->faults[i].code);
			else
				td(o, "n", "other");
			tdf(o, "n", "%llu", (unsigned long long)q->faults[i].count);
			buf_puts(o, "</tr>\n");
		}
		table_end(o);
	}
	section_end(o);
}

void status_page_render(const struct status_facts *f, struct buf *o)
{
	static const char *const nav[][2] = {
		{ "#host", "Host" }, { "#guests", "Guests" }, { "#repositories", "Repositories" },
		{ "#network", "Network" }, { "#pool", "Pool" }, { "#hooks", "Hooks" },
		{ "#security", "Security" }, { "#requests", "Requests" },
		{ "/metrics", "Metrics" }, { "/", "Methods" },
	};
	char t[64];

	buf_puts(o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		    "<title>");
	putf(o, "%s - Oracle VM Agent status", f->host.name);
	buf_puts(o, "</title><style>");
	buf_puts(o, STYLE);
	buf_puts(o, "</style></head><body>\n<header><h1>");
	put(o, f->host.name);
	buf_puts(o, "</h1><p class=\"muted\">");
	fmt_time(t, sizeof(t), f->now_unix);
	putf(o, "Oracle VM Agent %s, status as of %s", f->host.agent_version, t);
	buf_puts(o, "</p><nav>");
	for (size_t i = 0; i < sizeof(nav) / sizeof(nav[0]); i++) {
		buf_puts(o, "<a href=\"");
		put(o, nav[i][0]);
		buf_puts(o, "\">");
		put(o, nav[i][1]);
		buf_puts(o, "</a>");
	}
	buf_puts(o, "</nav></header>\n");
	if (f->error[0]) {
		buf_puts(o, "<p class=\"warn\">");
		putf(o, "Not everything could be read: %s", f->error);
		buf_puts(o, "</p>\n");
	}
	host_section(o, f);
	guests_section(o, f);
	repos_section(o, f);
	network_section(o, f);
	pool_section(o, f);
	hooks_section(o, f);
	security_section(o, f);
	requests_section(o, f);
	buf_puts(o, "</body></html>\n");
}

/* ---- serving ----------------------------------------------------------------------- */

struct page_req {
	status_page_cb cb;
	void *arg;
};

static void rendered(void *arg, const struct status_facts *f)
{
	struct page_req *r = arg;
	struct buf page;

	buf_init(&page, STATUS_PAGE_MAX);
	status_page_render(f, &page);
	if (page.failed) {
		buf_reset(&page);
		page.failed = 0;
		buf_puts(&page, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Status"
				"</title></head><body><p>The status page would be larger than "
				"its bound; get_agent_status has the same facts.</p></body></html>\n");
	}
	r->cb(r->arg, &page);
	buf_free(&page);
	free(r);
}

void status_page_serve(struct server *srv, status_page_cb cb, void *arg)
{
	struct page_req *r = xcalloc(1, sizeof(*r));

	r->cb = cb;
	r->arg = arg;
	status_facts_gather(srv, rendered, r);
}
