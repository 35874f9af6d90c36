/* test_status_page.c - GET /status's page from synthetic facts: every
 * section present; hostile guest names, hook output, users and a
 * certificate subject come out escaped (no markup of theirs survives,
 * bytes that are not UTF-8 replaced); guests sorted with counts per
 * status; the certificate warning under 30 days only; hooks failures
 * first; the CSP's hash is the hash of the page's stylesheet. */
#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/base/utf8.h"
#include "agent/rpc/html.h"
#include "agent/rpc/status_facts.h"
#include "agent/rpc/status_page.h"
#include "harness.h"

#define HOSTILE "<script>alert(1)</script>"

static char *escaped(const char *s)
{
	struct buf b;

	buf_init(&b, 0);
	html_escape(&b, s);
	return buf_steal(&b, NULL);
}

TEST(escape_specials_controls_and_bad_utf8)
{
	struct buf b;
	char *s;

	buf_init(&b, 0);
	html_escape(&b, "a&b<c>d\"e'f");
	CHECK_STR(b.data, "a&amp;b&lt;c&gt;d&quot;e&#39;f");
	buf_reset(&b);
	/* Valid UTF-8 passes; tab and newline stay; other controls, C1
	 * controls, a lone continuation byte, an overlong '<' and a
	 * truncated sequence each become U+FFFD. */
	html_escape(&b, "\xc3\xa9t\xc3\xa9\t\n\x01\x7f\xc2\x85\x80\xc0\xbc\xe2\x82");
	CHECK_STR(b.data, "\xc3\xa9t\xc3\xa9\t\n\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
			  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	buf_reset(&b);
	html_escape(&b, NULL);
	html_escape(&b, "");
	CHECK_INT(b.len, 0);
	buf_free(&b);
	s = escaped(HOSTILE);
	CHECK_STR(s, "&lt;script&gt;alert(1)&lt;/script&gt;");
	free(s);
}

/* ---- synthetic facts ----------------------------------------------------------- */

static struct tm_method methods[3];
static struct tm_fault faults[2] = { { 1000, 3 }, { 1004, 1 } };
static struct tm_authfail authfail[1] = { { "ipv4", "<b>root</b>", 10 } };
static struct tm_login logins[2];
static struct sf_guest guests[7];
static struct sf_repo repos[2];
static struct sf_bridge bridges[2];
static char br0_ports[2][IFNAMSIZ] = { "vif1.0", "eth0" };
static struct sf_member members[2];
static struct sf_hook hooks[2];

static void facts(struct status_facts *f, int64_t days_left)
{
	static const struct { const char *name, *status; bool ha; const char *err; } g[] = {
		{ "web", "RUNNING", true, NULL },
		{ HOSTILE, "PAUSED", false, NULL },
		{ "db", "DOWN", false, NULL },
		{ "\"><img src=x onerror=alert(2)>", "ERROR", false, "start failed: <iframe>" },
		{ "susp\xff\xfe", "SUSPEND", false, NULL },
		{ "abc", "ERROR", true, "qemu died & left '<b>'" },
		{ NULL, "unknown", false, NULL },
	};

	memset(f, 0, sizeof(*f));
	f->now_unix = 1700000000;
	snprintf(f->host.name, sizeof(f->host.name), "host<1>&");
	snprintf(f->host.agent_version, sizeof(f->host.agent_version), "3.4.2");
	snprintf(f->host.hypervisor, sizeof(f->host.hypervisor), "sim");
	snprintf(f->host.hypervisor_version, sizeof(f->host.hypervisor_version), "4.4.4");
	f->host.uptime_s = 93784;
	f->host.cpus = 8;
	f->host.mem_total_mb = 16384;
	f->host.mem_free_mb = 4096;
	f->host.rss_bytes = 12 << 20;
	f->host.connections = 2;

	for (size_t i = 0; i < sizeof(g) / sizeof(g[0]); i++) {
		char path[256];
		snprintf(path, sizeof(path), "/OVS/running_pool/%s", g[i].name ? g[i].name : "noname<>");
		guests[i].path = strdup(path);
		guests[i].name = g[i].name ? strdup(g[i].name) : NULL;
		guests[i].status = g[i].status;
		guests[i].memory = 512;
		guests[i].vcpus = GUEST_NO_INT;
		guests[i].ha = g[i].ha;
		guests[i].host = strdup("10.0.0.1");
		guests[i].last_error = g[i].err ? strdup(g[i].err) : NULL;
		f->status_count[guest_status_parse(g[i].status)]++;
	}
	f->nguests = sizeof(g) / sizeof(g[0]);
	f->guests = guests;

	snprintf(repos[0].r.uuid, sizeof(repos[0].r.uuid), "0004fb00-0000-1000-8000-0000000000b1");
	snprintf(repos[0].r.source, sizeof(repos[0].r.source), "nfs:/export/<repo>");
	snprintf(repos[0].r.mnt, sizeof(repos[0].r.mnt), "/OVS/Repositories/b1");
	snprintf(repos[0].r.desc, sizeof(repos[0].r.desc), "disk \"one\"");
	repos[0].r.mounted = true;
	repos[0].r.shared = '1';
	repos[0].sized = true;
	repos[0].total = 100ull << 30;
	repos[0].free = 5ull << 30;
	snprintf(repos[1].r.uuid, sizeof(repos[1].r.uuid), "0004fb00-0000-1000-8000-0000000000b2");
	snprintf(repos[1].r.source, sizeof(repos[1].r.source), "/dev/sdb");
	f->nrepos = 2;
	f->repos = repos;

	snprintf(bridges[0].name, IFNAMSIZ, "xenbr0");
	bridges[0].carrier = true;
	bridges[0].nports = 2;
	bridges[0].ports = br0_ports;
	snprintf(bridges[1].name, IFNAMSIZ, "br<x>");
	f->nbridges = 2;
	f->bridges = bridges;

	f->pool.in_pool = true;
	snprintf(f->pool.roles, sizeof(f->pool.roles), "utility,xen");
	snprintf(f->pool.master, sizeof(f->pool.master), "10.0.0.1");
	snprintf(members[0].ip, sizeof(members[0].ip), "10.0.0.1");
	snprintf(members[0].roles, sizeof(members[0].roles), "utility,xen");
	members[0].in_cluster = true;
	members[0].hb_age_ms = 420;
	snprintf(members[1].ip, sizeof(members[1].ip), "10.0.0.2");
	members[1].hb_age_ms = -1;
	f->pool.members = members;
	f->pool.nmembers = 2;
	f->pool.quorate = true;

	snprintf(hooks[0].rec.hook, sizeof(hooks[0].rec.hook), "/etc/ovs/hooks/guest.d/10-fail");
	snprintf(hooks[0].rec.kind, sizeof(hooks[0].rec.kind), "guest");
	snprintf(hooks[0].rec.event, sizeof(hooks[0].rec.event), "before_start");
	snprintf(hooks[0].rec.guest, sizeof(hooks[0].rec.guest), "%s", HOSTILE);
	snprintf(hooks[0].rec.tail, sizeof(hooks[0].rec.tail), "</code><script>x()</script>");
	hooks[0].rec.exit_status = 7;
	hooks[0].rec.started_ms = 1699999990000LL;
	hooks[0].rec.duration_ms = 35;
	hooks[0].failed = true;
	snprintf(hooks[1].rec.hook, sizeof(hooks[1].rec.hook), "/etc/ovs/hooks/guest.d/20-okay");
	snprintf(hooks[1].rec.kind, sizeof(hooks[1].rec.kind), "guest");
	f->hooks = hooks;
	f->nhooks = 2;

	f->security.have_cert = true;
	snprintf(f->security.cert_subject, sizeof(f->security.cert_subject),
		 "CN=<svg onload=alert(3)>");
	f->security.cert_expiry = f->now_unix + days_left * 86400 + 100;
	f->security.cert_days_left = days_left;
	f->security.cert_warning = days_left < 30;
	snprintf(logins[0].addr, sizeof(logins[0].addr), "127.0.0.7");
	snprintf(logins[0].user, sizeof(logins[0].user), "<img src=y>");
	logins[0].count = 10;
	logins[0].last_unix = f->now_unix - 5;
	snprintf(logins[1].addr, sizeof(logins[1].addr), "::1");
	logins[1].count = 1;
	f->security.logins = logins;
	f->security.nlogins = 2;
	snprintf(f->security.slowed[0].addr, sizeof(f->security.slowed[0].addr), "127.0.0.7");
	f->security.slowed[0].failures = 10;
	f->security.slowed[0].seconds_left = 290;
	f->security.nslowed = 1;

	methods[0] = (struct tm_method){ .name = "echo", .calls = 4, .sum_seconds = 0.004 };
	methods[1] = (struct tm_method){ .name = "start_vm", .calls = 2, .faults = 1,
					 .sum_seconds = 1.5 };
	methods[2] = (struct tm_method){ .name = "(unknown)" };
	f->requests.methods = methods;
	f->requests.nmethods = 3;
	f->requests.faults = faults;
	f->requests.nfaults = 2;
	f->requests.authfail = authfail;
	f->requests.nauthfail = 1;
	f->requests.p50_ms = 1;
	f->requests.p99_ms = 2500;
	snprintf(f->error, sizeof(f->error), "pool members: <bad>");
}

static void facts_drop(struct status_facts *f)
{
	for (size_t i = 0; i < f->nguests; i++) {
		free(f->guests[i].path);
		free(f->guests[i].name);
		free(f->guests[i].host);
		free(f->guests[i].last_error);
	}
}

static char *render(int64_t days_left)
{
	struct status_facts f;
	struct buf b;

	facts(&f, days_left);
	buf_init(&b, 0);
	status_page_render(&f, &b);
	facts_drop(&f);
	CHECK(!b.failed);
	return b.data;
}

/* Case-insensitive: does the page hold this markup anywhere? */
static bool has_tag(const char *page, const char *tag)
{
	size_t n = strlen(tag);

	for (const char *p = page; *p; p++)
		if (strncasecmp(p, tag, n) == 0)
			return true;
	return false;
}

TEST(every_section_present)
{
	char *page = render(400);
	static const char *ids[] = { "host", "guests", "repositories", "network", "pool",
				     "hooks", "security", "requests" };

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		char want[64];
		snprintf(want, sizeof(want), "<section id=\"%s\">", ids[i]);
		if (!strstr(page, want))
			fprintf(stderr, "  missing %s\n", want);
		CHECK(strstr(page, want) != NULL);
	}
	CHECK(strstr(page, "<!DOCTYPE html>") == page);
	CHECK(strstr(page, "name=\"viewport\"") != NULL);
	CHECK(strstr(page, "href=\"/metrics\"") != NULL);
	CHECK(strstr(page, "href=\"/\"") != NULL);
	/* host */
	CHECK(strstr(page, "<h1>host&lt;1&gt;&amp;</h1>") != NULL);
	CHECK(strstr(page, "sim 4.4.4") != NULL);
	CHECK(strstr(page, "26 h 3 min") != NULL);    /* 93784 s */
	CHECK(strstr(page, "16.0 GiB total, 4.0 GiB free") != NULL);
	/* repositories: the bar and the free space, an unmounted one marked */
	CHECK(strstr(page, "<meter ") != NULL);
	CHECK(strstr(page, "value=\"0.950\"") != NULL);
	CHECK(strstr(page, "5.0 GiB free (95% used)") != NULL);
	CHECK(strstr(page, "nfs:/export/&lt;repo&gt;") != NULL);
	CHECK(strstr(page, "disk &quot;one&quot;") != NULL);
	CHECK(strstr(page, "not mounted") != NULL);
	/* network */
	CHECK(strstr(page, "vif1.0, eth0") != NULL);
	CHECK(strstr(page, "br&lt;x&gt;") != NULL);
	CHECK(strstr(page, "no carrier") != NULL);
	/* pool */
	CHECK(strstr(page, "quorate") != NULL);
	CHECK(strstr(page, "420 ms") != NULL);
	CHECK(strstr(page, "never") != NULL);
	/* security */
	CHECK(strstr(page, "127.0.0.7") != NULL);
	CHECK(strstr(page, "&lt;img src=y&gt;") != NULL);
	CHECK(strstr(page, "(none given)") != NULL);
	CHECK(strstr(page, "4 min 50 s") != NULL);    /* slowed, 290 s left */
	/* requests: methods called only, faults per code, quantiles */
	CHECK(strstr(page, "<td>start_vm</td>") != NULL);
	CHECK(strstr(page, "(unknown)") == NULL);
	CHECK(strstr(page, "<td class=\"n\">1004</td>") != NULL);
	CHECK(strstr(page, "2500.0 ms") != NULL);
	CHECK(strstr(page, "750.00 ms") != NULL);     /* start_vm's mean */
	CHECK(strstr(page, "Not everything could be read: pool members: &lt;bad&gt;") != NULL);
	free(page);
}

TEST(hostile_values_escaped)
{
	char *page = render(400);
	size_t bad_at;

	CHECK(strstr(page, "&lt;script&gt;alert(1)&lt;/script&gt;") != NULL);
	CHECK(strstr(page, "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;") != NULL);
	CHECK(strstr(page, "start failed: &lt;iframe&gt;") != NULL);
	CHECK(strstr(page, "qemu died &amp; left &#39;&lt;b&gt;&#39;") != NULL);
	CHECK(strstr(page, "&lt;/code&gt;&lt;script&gt;x()&lt;/script&gt;") != NULL);
	CHECK(strstr(page, "CN=&lt;svg onload=alert(3)&gt;") != NULL);
	CHECK(strstr(page, "&lt;b&gt;root&lt;/b&gt;") != NULL);
	/* A guest's path goes into an attribute: escaped there too. */
	CHECK(strstr(page, "title=\"/OVS/running_pool/&quot;&gt;&lt;img") != NULL);
	CHECK(strstr(page, "susp\xef\xbf\xbd\xef\xbf\xbd") != NULL);
	/* None of their markup is in the page; the page is all UTF-8. */
	CHECK(!has_tag(page, "<script"));
	CHECK(!has_tag(page, "<img"));
	CHECK(!has_tag(page, "<iframe"));
	CHECK(!has_tag(page, "<svg"));
	CHECK(!has_tag(page, "<b>"));
	CHECK(!has_tag(page, "onerror=alert(2)>"));
	CHECK(utf8_valid(page, strlen(page), &bad_at));
	free(page);
}

static const char *after(const char *page, const char *what)
{
	const char *p = strstr(page, what);
	return p ? p : page + strlen(page);
}

TEST(guests_sorted_with_counts)
{
	char *page = render(400);
	const char *sec = after(page, "<section id=\"guests\">");
	/* ERROR first (by name: the quote before 'a'), then the statuses in
	 * their order: RUNNING, DOWN, PAUSED, SUSPEND; unknown last. */
	const char *order[] = { "&quot;&gt;&lt;img", ">abc<", ">web<", ">db<",
				"&lt;script&gt;alert(1)", ">susp", ">noname&lt;&gt;<" };
	const char *prev = sec;

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const char *p = strstr(sec, order[i]);
		if (!p || p < prev)
			fprintf(stderr, "  %s out of order\n", order[i]);
		CHECK(p && p >= prev);
		prev = p ? p : prev;
	}
	CHECK(strstr(sec, "<span>7 in all</span>") != NULL);
	CHECK(strstr(sec, "<span>RUNNING 1</span>") != NULL);
	CHECK(strstr(sec, "<span class=\"bad\">ERROR 2</span>") != NULL);
	CHECK(strstr(sec, "<span>unknown 1</span>") != NULL);
	CHECK(strstr(sec, "<td class=\"n\">512 MB</td><td class=\"n\">-</td><td>10.0.0.1</td>")
	      != NULL);
	free(page);
}

TEST(certificate_warning_under_30_days_only)
{
	char *page = render(10);
	const char *sec = after(page, "<section id=\"security\">");

	CHECK(strstr(sec, "<span class=\"warn\">10: renew the certificate") != NULL);
	free(page);
	page = render(30);
	CHECK(strstr(page, "renew the certificate") == NULL);
	CHECK(strstr(page, "<dt>Days left</dt><dd>30</dd>") != NULL);
	free(page);
	page = render(-3);
	CHECK(strstr(page, "<span class=\"warn\">expired 3 days ago</span>") != NULL);
	free(page);
}

TEST(hooks_failures_first)
{
	char *page = render(400);
	const char *sec = after(page, "<section id=\"hooks\">");
	const char *fail = strstr(sec, "10-fail"), *ok = strstr(sec, "20-okay");

	CHECK(fail && ok && fail < ok);
	CHECK(strstr(sec, "<tr class=\"alert\"><td class=\"bad\">exit 7</td>"
			  "<td title=\"/etc/ovs/hooks/guest.d/10-fail\">10-fail</td>") != NULL);
	CHECK(strstr(sec, "2023-11-14 22:13:10 UTC") != NULL);
	free(page);
}

TEST(empty_facts)
{
	struct status_facts f;
	struct buf b;

	memset(&f, 0, sizeof(f));
	buf_init(&b, 0);
	status_page_render(&f, &b);
	CHECK(strstr(b.data, "No guests.") != NULL);
	CHECK(strstr(b.data, "No repositories.") != NULL);
	CHECK(strstr(b.data, "No bridges.") != NULL);
	CHECK(strstr(b.data, "No hook has run.") != NULL);
	CHECK(strstr(b.data, "none (ssl is off)") != NULL);
	CHECK(strstr(b.data, "No call yet.") != NULL);
	CHECK(strstr(b.data, "Not everything") == NULL);
	buf_free(&b);
}

/* The policy names the hash of the one <style> the page has. */
TEST(csp_hashes_the_stylesheet)
{
	char *page = render(400);
	const char *h = status_page_headers(), *s = strstr(page, "<style>"), *e = NULL;
	unsigned char md[SHA256_DIGEST_LENGTH], b64[64];
	char want[128];

	CHECK(strstr(h, "Content-Security-Policy: default-src 'none'; style-src 'sha256-") == h);
	CHECK(strstr(h, "X-Content-Type-Options: nosniff\r\n") != NULL);
	CHECK(h[strlen(h) - 2] == '\r' && h[strlen(h) - 1] == '\n');
	CHECK(s && (e = strstr(s, "</style>")));
	if (s && e) {
		s += strlen("<style>");
		SHA256((const unsigned char *)s, (size_t)(e - s), md);
		EVP_EncodeBlock(b64, md, SHA256_DIGEST_LENGTH);
		snprintf(want, sizeof(want), "style-src 'sha256-%s';", (const char *)b64);
		CHECK(strstr(h, want) != NULL);
		CHECK(strstr(e + 1, "<style") == NULL);
	}
	CHECK(!has_tag(page, " style=\""));
	free(page);
}

int main(void)
{
	RUN(escape_specials_controls_and_bad_utf8);
	RUN(every_section_present);
	RUN(hostile_values_escaped);
	RUN(guests_sorted_with_counts);
	RUN(certificate_warning_under_30_days_only);
	RUN(hooks_failures_first);
	RUN(empty_facts);
	RUN(csp_hashes_the_stylesheet);
	return harness_done();
}
