/* test_metrics_page.c - the /metrics renderer on made-up facts: the
 * exposition's shape (HELP and TYPE before samples, cumulative buckets,
 * _count equal to +Inf), and label values from outside (quotes,
 * backslashes, newlines, bytes that are no UTF-8) escaped so every line
 * still parses. promtool checks a real agent's output in
 * tests/e2e/test_metrics.py. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "agent/base/utf8.h"
#include "agent/rpc/metrics_page.h"

static char *render(const struct status_facts *f)
{
	struct buf b;

	buf_init(&b, 0);
	metrics_page_write(f, &b);
	buf_puts(&b, ""); /* NUL-terminated even when empty */
	return buf_steal(&b, NULL);
}

static char *label(const char *s)
{
	struct buf b;

	buf_init(&b, 0);
	metrics_label_value(&b, s);
	buf_puts(&b, "");
	return buf_steal(&b, NULL);
}

/* Whether one sample line parses: name, optional {k="v",...}, space,
 * value; values hold only the three escapes and valid UTF-8. */
static bool sample_parses(const char *l, size_t n)
{
	size_t i = 0;

	if (!utf8_valid(l, n, NULL))
		return false;
	while (i < n && (l[i] == '_' || l[i] == ':' || (l[i] >= 'a' && l[i] <= 'z') ||
			 (l[i] >= 'A' && l[i] <= 'Z') || (i && l[i] >= '0' && l[i] <= '9')))
		i++;
	if (!i)
		return false;
	if (i < n && l[i] == '{') {
		i++;
		while (i < n && l[i] != '}') {
			size_t k = i;
			while (i < n && (l[i] == '_' || (l[i] >= 'a' && l[i] <= 'z')))
				i++;
			if (i == k || i + 1 >= n || l[i] != '=' || l[i + 1] != '"')
				return false;
			for (i += 2; i < n && l[i] != '"'; i++)
				if (l[i] == '\\' && (i + 1 >= n || !strchr("\\\"n", l[++i])))
					return false;
			if (i >= n)
				return false;
			i++;
			if (i < n && l[i] == ',')
				i++;
		}
		if (i >= n)
			return false;
		i++;
	}
	if (i >= n || l[i] != ' ')
		return false;
	i++;
	if (i >= n)
		return false;
	char num[64];
	if (n - i >= sizeof(num))
		return false;
	memcpy(num, l + i, n - i);
	num[n - i] = '\0';
	if (strcmp(num, "+Inf") == 0)
		return true;
	char *end;
	strtod(num, &end);
	return *end == '\0';
}

/* Every line a comment (HELP or TYPE) or a sample that parses, and every
 * sample's family announced by a TYPE line before it. */
static int bad_lines(const char *text)
{
	int bad = 0;
	char typed[64][96];
	int ntyped = 0;

	for (const char *l = text; *l;) {
		const char *nl = strchr(l, '\n');
		size_t n;
		if (!nl)
			return bad + 1; /* the last line ends with a newline */
		n = (size_t)(nl - l);
		if (n > 7 && memcmp(l, "# TYPE ", 7) == 0) {
			const char *sp = memchr(l + 7, ' ', n - 7);
			if (sp && ntyped < 64 && (size_t)(sp - l - 7) < sizeof(typed[0])) {
				memcpy(typed[ntyped], l + 7, (size_t)(sp - l - 7));
				typed[ntyped++][sp - l - 7] = '\0';
			}
		} else if (n > 7 && memcmp(l, "# HELP ", 7) == 0) {
		} else if (!sample_parses(l, n)) {
			fprintf(stderr, "  bad line: %.*s\n", (int)n, l);
			bad++;
		} else {
			bool found = false;
			for (int t = 0; t < ntyped && !found; t++) {
				size_t k = strlen(typed[t]);
				found = strncmp(l, typed[t], k) == 0 &&
					(l[k] == '{' || l[k] == ' ' || l[k] == '_');
			}
			if (!found) {
				fprintf(stderr, "  untyped: %.*s\n", (int)n, l);
				bad++;
			}
		}
		l = nl + 1;
	}
	return bad;
}

static const struct tm_method some_methods[] = {
	{ "echo", 5, 1, { 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 }, 12.5 },
	{ "list_vms", 0, 0, { 0 }, 0 },
	{ "(unknown)", 2, 2, { 2 }, 0.000123 },
};
static const struct tm_fault some_faults[] = { { 0, 1 }, { 1003, 2 }, { 1200, 1 } };

TEST(label_values_escaped)
{
	char *s;

	s = label("plain");
	CHECK_STR(s, "plain");
	free(s);
	s = label("a\"b\\c\nd");
	CHECK_STR(s, "a\\\"b\\\\c\\nd");
	free(s);
	s = label("caf\xc3\xa9");
	CHECK_STR(s, "caf\xc3\xa9");
	free(s);
	/* Latin-1, a stray continuation byte, a cut sequence: each bad byte
	 * becomes U+FFFD and the rest stays. */
	s = label("\xe9t\xe9\x80x\xe2\x82");
	CHECK_STR(s, "\xef\xbf\xbdt\xef\xbf\xbd\xef\xbf\xbdx\xef\xbf\xbd\xef\xbf\xbd");
	free(s);
	s = label("");
	CHECK_STR(s, "");
	free(s);
}

TEST(requests_and_histogram)
{
	struct status_facts f = { 0 };
	char *t;

	f.requests.methods = some_methods;
	f.requests.nmethods = 3;
	f.requests.faults = some_faults;
	f.requests.nfaults = 3;
	t = render(&f);
	CHECK(strstr(t, "# TYPE ovs_agent_rpc_requests_total counter\n"));
	CHECK(strstr(t, "\novs_agent_rpc_requests_total{method=\"echo\",result=\"ok\"} 4\n"));
	CHECK(strstr(t, "\novs_agent_rpc_requests_total{method=\"echo\",result=\"fault\"} 1\n"));
	CHECK(strstr(t, "{method=\"(unknown)\",result=\"ok\"} 0\n"));
	CHECK(!strstr(t, "list_vms")); /* never called: no series */
	CHECK(strstr(t, "\novs_agent_rpc_faults_total{code=\"1003\"} 2\n"));
	CHECK(strstr(t, "\novs_agent_rpc_faults_total{code=\"0\"} 1\n"));
	CHECK(strstr(t, "# TYPE ovs_agent_rpc_request_duration_seconds histogram\n"));
	/* Cumulative: 2, 3, 3 ... 3, then +Inf 5. */
	CHECK(strstr(t, "_bucket{method=\"echo\",le=\"0.001\"} 2\n"));
	CHECK(strstr(t, "_bucket{method=\"echo\",le=\"0.0025\"} 3\n"));
	CHECK(strstr(t, "_bucket{method=\"echo\",le=\"5\"} 3\n"));
	CHECK(strstr(t, "_bucket{method=\"echo\",le=\"+Inf\"} 5\n"));
	CHECK(strstr(t, "ovs_agent_rpc_request_duration_seconds_sum{method=\"echo\"} 12.500000\n"));
	CHECK(strstr(t, "ovs_agent_rpc_request_duration_seconds_count{method=\"echo\"} 5\n"));
	CHECK(strstr(t, "_sum{method=\"(unknown)\"} 0.000123\n"));
	CHECK_INT(bad_lines(t), 0);
	free(t);
}

TEST(every_fact_once)
{
	static const struct tm_authfail af[] = {
		{ "ipv4", "admin", 10 }, { "ipv6", "", 1 }, { "ipv4", "(other)", 3 },
	};
	struct sf_hook_count hk[] = {
		{ "/usr/lib/ovs/network-bridge", "ok", 2 },
		{ "/usr/lib/ovs/network-bridge", "failed", 1 },
	};
	struct sf_repo rp[3] = {
		{ .r = { .uuid = "0004fb0000030000aaaaaaaaaaaaaaaa", .mounted = true },
		  .sized = true, .total = 1000, .free = 400 },
		{ .r = { .uuid = "0004fb0000030000bbbbbbbbbbbbbbbb", .mounted = true } },
		{ .r = { .uuid = "0004fb0000030000cccccccccccccccc" } },
	};
	static struct status_facts f; /* large (the host's and security's text) */
	char *t;

	memset(&f, 0, sizeof(f));
	f.guests_read = true;
	f.status_count[GS_RUNNING] = 3;
	f.status_count[GS_ERROR] = 1;
	f.requests.authfail = af;
	f.requests.nauthfail = 3;
	f.hook_counts = hk;
	f.nhook_counts = 2;
	f.repos = rp;
	f.nrepos = 3;
	f.pool.cluster_enabled = true;
	f.pool.quorate = true;
	f.pool.cluster_members = 3;
	f.security.have_cert = true;
	f.security.cert_expiry = 1893456000;
	f.host.connections = 7;
	f.host.rss_bytes = 12345678;
	f.now_unix = 1700000100;
	f.host.uptime_s = 100;
	snprintf(f.host.agent_version, sizeof(f.host.agent_version), "2.2");
	t = render(&f);
	CHECK(strstr(t, "\novs_agent_guests{status=\"RUNNING\"} 3\n"));
	CHECK(strstr(t, "\novs_agent_guests{status=\"ERROR\"} 1\n"));
	CHECK(strstr(t, "\novs_agent_guests{status=\"DOWN\"} 0\n"));
	CHECK(strstr(t, "\novs_agent_guests{status=\"unknown\"} 0\n"));
	CHECK(strstr(t, "\novs_agent_auth_failures_total{family=\"ipv4\",user=\"admin\"} 10\n"));
	CHECK(strstr(t, "\novs_agent_auth_failures_total{family=\"ipv6\",user=\"\"} 1\n"));
	CHECK(strstr(t, "{hook=\"/usr/lib/ovs/network-bridge\",result=\"failed\"} 1\n"));
	CHECK(strstr(t, "repository_size_bytes{uuid=\"0004fb0000030000aaaaaaaaaaaaaaaa\"} 1000\n"));
	CHECK(strstr(t, "repository_free_bytes{uuid=\"0004fb0000030000aaaaaaaaaaaaaaaa\"} 400\n"));
	CHECK(!strstr(t, "free_bytes{uuid=\"0004fb0000030000bbbbbbbbbbbbbbbb\""));
	CHECK(strstr(t, "repository_mounted{uuid=\"0004fb0000030000cccccccccccccccc\"} 0\n"));
	CHECK(strstr(t, "\novs_agent_pool_members 3\n"));
	CHECK(strstr(t, "\novs_agent_pool_quorate 1\n"));
	CHECK(strstr(t, "\novs_agent_tls_cert_expiry_seconds 1893456000\n"));
	CHECK(strstr(t, "\novs_agent_connections_open 7\n"));
	CHECK(strstr(t, "\nprocess_resident_memory_bytes 12345678\n"));
	CHECK(strstr(t, "\nprocess_start_time_seconds 1700000000\n"));
	CHECK(strstr(t, "\novs_agent_build_info{version=\"2.2\"} 1\n"));
	CHECK_INT(bad_lines(t), 0);
	free(t);
}

TEST(absent_facts_leave_no_series)
{
	static struct status_facts f;
	char *t = render(&f);

	CHECK(!strstr(t, "ovs_agent_guests"));
	CHECK(!strstr(t, "ovs_agent_pool_"));
	CHECK(!strstr(t, "tls_cert_expiry"));
	CHECK(!strstr(t, "process_resident_memory_bytes"));
	CHECK(strstr(t, "\novs_agent_connections_open 0\n"));
	CHECK_INT(bad_lines(t), 0);
	free(t);
}

TEST(hostile_labels_keep_lines_whole)
{
	static const struct tm_method m[] = {
		{ "x\"} 1\nevil_total 9\n#", 1, 0, { 1 }, 0.0005 },
	};
	static const struct tm_authfail af[] = {
		{ "ipv4", "root\\\"\n\xff\xfe", 2 },
	};
	struct sf_hook_count hk[] = { { "/h/\xc0\xafx\"\\", "failed", 1 } };
	struct sf_repo rp[] = { { .r = { .uuid = "u\nu", .mounted = true },
				  .sized = true, .total = 1, .free = 1 } };
	static struct status_facts f;
	char *t;

	memset(&f, 0, sizeof(f));
	f.requests.methods = m;
	f.requests.nmethods = 1;
	f.requests.authfail = af;
	f.requests.nauthfail = 1;
	f.hook_counts = hk;
	f.nhook_counts = 1;
	f.repos = rp;
	f.nrepos = 1;
	snprintf(f.host.agent_version, sizeof(f.host.agent_version), "2.2\n");
	t = render(&f);
	CHECK(!strstr(t, "\nevil_total"));
	CHECK(strstr(t, "{method=\"x\\\"} 1\\nevil_total 9\\n#\",result=\"ok\"} 1\n"));
	CHECK(strstr(t, "user=\"root\\\\\\\"\\n\xef\xbf\xbd\xef\xbf\xbd\"} 2\n"));
	CHECK(strstr(t, "{hook=\"/h/\xef\xbf\xbd\xef\xbf\xbdx\\\"\\\\\",result=\"failed\"} 1\n"));
	CHECK(strstr(t, "{uuid=\"u\\nu\"} 1\n"));
	CHECK(strstr(t, "build_info{version=\"2.2\\n\"} 1\n"));
	CHECK(utf8_valid(t, strlen(t), NULL));
	CHECK_INT(bad_lines(t), 0);
	free(t);
}

int main(void)
{
	RUN(label_values_escaped);
	RUN(requests_and_histogram);
	RUN(every_fact_once);
	RUN(absent_facts_leave_no_series);
	RUN(hostile_labels_keep_lines_whole);
	return harness_done();
}
