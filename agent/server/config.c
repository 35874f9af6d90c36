/* config.c - read agent.ini into struct agent_config.
 *
 * The parser is table driven: one row per key with its type and limits, so
 * the list of keys in config.h, the checks and the "known keys" hint in
 * error messages cannot drift apart. The text is arbitrary bytes held as
 * (pointer, length) - it may come straight from a fuzzer - so every scan
 * is bounded by the length, never by a NUL.
 *
 * Errors are meant for the person editing the file: "FILE:LINE: what is
 * wrong and what would be right". Anything we do not understand is an
 * error rather than a silent default, because a mistyped "deny" that is
 * ignored is a security hole. */
#include "agent/server/config.h"
#include "agent/server/acl.h"
#include "agent/base/buf.h"
#include "agent/base/util.h"
#include "agent/net/netname.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

/* A config file is a few hundred bytes; anything near this is a mistake
 * (or /dev/zero) and must not be slurped into memory. */
#define CONFIG_MAX_FILE (1024 * 1024)

enum key_type {
	KT_INT,      /* int, decimal, [min, max] */
	KT_SIZE,     /* size_t, decimal, [min, max] */
	KT_PATH,     /* char *, absolute path */
	KT_LOGPATH,  /* char *, absolute path or "-" (stderr) */
	KT_SERVICE,  /* char *, a PAM service name */
	KT_ENUM,     /* one word of a fixed set */
	KT_ACL,      /* allow/deny rule list */
	KT_LISTEN,   /* comma separated address literals or "*" */
	KT_BRIDGES,  /* network_bridges: BRIDGE[:NETDEV],... (agent/net/netname.h) */
};

struct enum_word {
	const char *word;
	int value;
};

struct config_key {
	const char *name;
	enum key_type type;
	size_t off;                    /* offsetof the field */
	long long min, max;            /* KT_INT, KT_SIZE */
	const struct enum_word *words; /* KT_ENUM, NULL-terminated */
};

static const struct enum_word ssl_words[] = {
	{ "enable", 1 }, { "disable", 0 }, { NULL, 0 } };
static const struct enum_word yesno_words[] = {
	{ "yes", 1 }, { "no", 0 }, { NULL, 0 } };
static const struct enum_word auth_words[] = {
	{ "password", AUTH_PASSWORD }, { "pam", AUTH_PAM }, { NULL, 0 } };
static const struct enum_word hv_words[] = {
	{ "sim", HV_SIM }, { "qemu", HV_QEMU }, { "xen", HV_XEN }, { NULL, 0 } };
static const struct enum_word accel_words[] = {
	{ "auto", ACCEL_AUTO }, { "kvm", ACCEL_KVM }, { "tcg", ACCEL_TCG }, { NULL, 0 } };
static const struct enum_word level_words[] = {
	{ "error", LOG_ERR }, { "warning", LOG_WARNING }, { "info", LOG_INFO },
	{ "debug", LOG_DEBUG }, { NULL, 0 } };

#define OFF(f) offsetof(struct agent_config, f)

static const struct config_key keys[] = {
	{ "listen", KT_LISTEN, OFF(listen), 0, 0, NULL },
	{ "port", KT_INT, OFF(port), 1, 65535, NULL },
	{ "ssl", KT_ENUM, OFF(ssl), 0, 0, ssl_words },
	{ "ssl_cert", KT_PATH, OFF(ssl_cert), 0, 0, NULL },
	{ "ssl_key", KT_PATH, OFF(ssl_key), 0, 0, NULL },
	{ "allow", KT_ACL, OFF(allow_spec), 0, 0, NULL },
	{ "deny", KT_ACL, OFF(deny_spec), 0, 0, NULL },
	{ "auth", KT_ENUM, OFF(auth), 0, 0, auth_words },
	{ "password_file", KT_PATH, OFF(password_file), 0, 0, NULL },
	{ "pam_service", KT_SERVICE, OFF(pam_service), 0, 0, NULL },
	{ "auth_cache_ttl", KT_INT, OFF(auth_cache_ttl), 0, 86400, NULL },
	{ "auth_fail_limit", KT_INT, OFF(auth_fail_limit), 1, 1000, NULL },
	{ "auth_fail_delay_max", KT_INT, OFF(auth_fail_delay_max), 0, 3600, NULL },
	{ "state_dir", KT_PATH, OFF(state_dir), 0, 0, NULL },
	{ "log_file", KT_LOGPATH, OFF(log_file), 0, 0, NULL },
	{ "log_level", KT_ENUM, OFF(log_level), 0, 0, level_words },
	{ "syslog", KT_ENUM, OFF(log_syslog), 0, 0, yesno_words },
	{ "pid_file", KT_PATH, OFF(pid_file), 0, 0, NULL },
	{ "hypervisor", KT_ENUM, OFF(hypervisor), 0, 0, hv_words },
	{ "ovs_root", KT_PATH, OFF(ovs_root), 0, 0, NULL },
	{ "hooks_dir", KT_PATH, OFF(hooks_dir), 0, 0, NULL },
	{ "repositories_file", KT_PATH, OFF(repositories_file), 0, 0, NULL },
	{ "network_bridges", KT_BRIDGES, OFF(network_bridges), 0, 0, NULL },
	{ "max_header_bytes", KT_SIZE, OFF(max_header_bytes), 1024, 1048576, NULL },
	{ "max_body_bytes", KT_SIZE, OFF(max_body_bytes), 1024, 1073741824, NULL },
	{ "idle_timeout", KT_INT, OFF(idle_timeout), 1, 86400, NULL },
	{ "request_timeout", KT_INT, OFF(request_timeout), 1, 86400, NULL },
	{ "max_connections", KT_INT, OFF(max_connections), 1, 1000000, NULL },
	/* The upper bound is max_connections, checked once the whole file
	 * is read so the two keys may come in any order. */
	{ "max_unauth_connections", KT_INT, OFF(max_unauth_connections), 1, 1000000, NULL },
	{ "shutdown_timeout", KT_INT, OFF(shutdown_timeout), 0, 3600, NULL },
	{ "guest_stop_timeout", KT_INT, OFF(guest_stop_timeout), 1, 86400, NULL },
	{ "qemu_accel", KT_ENUM, OFF(qemu_accel), 0, 0, accel_words },
	/* 1 MiB .. 1 PiB: bounds every create_vm_from_template (template_unpack.c) */
	{ "template_max_bytes", KT_SIZE, OFF(template_max_bytes), 1048576, 1125899906842624LL, NULL },
	{ "hook_timeout_guest", KT_INT, OFF(hook_timeout_guest), 1, 86400, NULL },
	{ "hook_timeout_network", KT_INT, OFF(hook_timeout_network), 1, 86400, NULL },
	{ "hook_timeout_repository", KT_INT, OFF(hook_timeout_repository), 1, 86400, NULL },
	{ "hook_timeout_cluster", KT_INT, OFF(hook_timeout_cluster), 1, 86400, NULL },
	{ "hooks_max_running", KT_INT, OFF(hooks_max_running), 1, 1024, NULL },
	/* Default <hooks_dir>/guest.d, whatever line sets hooks_dir (config_parse). */
	{ "guest_hooks_dir", KT_PATH, OFF(guest_hooks_dir), 0, 0, NULL },
	{ "cluster", KT_ENUM, OFF(cluster), 0, 0, ssl_words },
	/* Default ovs_root, whatever line sets ovs_root (check_whole). */
	{ "cluster_root", KT_PATH, OFF(cluster_root), 0, 0, NULL },
	{ "hb_interval", KT_INT, OFF(hb_interval), 1, 60, NULL },
	/* more than hb_interval (check_whole) */
	{ "hb_timeout", KT_INT, OFF(hb_timeout), 2, 600, NULL },
	{ "fence_timeout", KT_INT, OFF(fence_timeout), 1, 600, NULL },
	{ "corosync_dir", KT_PATH, OFF(corosync_dir), 0, 0, NULL },
	{ "ocfs2_conf", KT_PATH, OFF(ocfs2_conf), 0, 0, NULL },
};

#define NKEYS ARRAY_SIZE(keys)

/* Everything one parse needs to report errors and detect repeats. */
struct parse_ctx {
	const char *name;
	size_t line;
	size_t seen[NKEYS]; /* line a key was set on, 0 = not yet */
	char *err;
	size_t errlen;
};

static void ctx_error(struct parse_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void ctx_error(struct parse_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ctx->err == NULL || ctx->errlen == 0)
		return;
	n = snprintf(ctx->err, ctx->errlen, "%s:%zu: ", ctx->name, ctx->line);
	if (n < 0 || (size_t)n >= ctx->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(ctx->err + n, ctx->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* ---- defaults ------------------------------------------------------- */

void config_defaults(struct agent_config *cfg)
{
	char err[128];

	memset(cfg, 0, sizeof(*cfg));
	cfg->listen = xstrdup("*");
	cfg->port = 8899;
	cfg->ssl = true;
	cfg->ssl_cert = xstrdup("/etc/ovs-agent/cert/certificate.pem");
	cfg->ssl_key = xstrdup("/etc/ovs-agent/cert/key.pem");
	cfg->allow_spec = xstrdup("*");
	cfg->deny_spec = xstrdup("");
	/* These two fixed specs always compile; NULL would be a bug here. */
	cfg->allow = acl_parse(cfg->allow_spec, err, sizeof(err));
	cfg->deny = acl_parse(cfg->deny_spec, err, sizeof(err));
	if (cfg->allow == NULL || cfg->deny == NULL)
		abort();
	cfg->auth = AUTH_PASSWORD;
	cfg->password_file = xstrdup("/etc/ovs-agent/password");
	cfg->pam_service = xstrdup("ovs-agent");
	cfg->auth_cache_ttl = 300;
	cfg->auth_fail_limit = 5;
	cfg->auth_fail_delay_max = 30;
	cfg->state_dir = xstrdup("/etc/ovs-agent/db");
	cfg->log_file = xstrdup("/opt/ovs-agent-2.2/logs/ovs-agent.log");
	cfg->log_level = LOG_INFO;
	cfg->log_syslog = false;
	cfg->pid_file = xstrdup("/run/ovs-agent.pid");
	cfg->hypervisor = HV_QEMU;
	cfg->ovs_root = xstrdup("/OVS");
	cfg->hooks_dir = xstrdup("/usr/lib/ovs");
	cfg->repositories_file = xstrdup("/etc/ovs/repositories");
	cfg->max_header_bytes = 16384;
	cfg->max_body_bytes = 4194304;
	cfg->idle_timeout = 60;
	cfg->request_timeout = 30;
	cfg->max_connections = 1024;
	cfg->max_unauth_connections = 256;
	cfg->shutdown_timeout = 30;
	cfg->guest_stop_timeout = 120;
	cfg->qemu_accel = ACCEL_AUTO;
	cfg->template_max_bytes = (size_t)64 << 30;
	cfg->hook_timeout_guest = 60;
	cfg->hook_timeout_network = 30;
	cfg->hook_timeout_repository = 120;
	cfg->hook_timeout_cluster = 60;
	cfg->hooks_max_running = 8;
	cfg->guest_hooks_dir = xasprintf("%s/guest.d", cfg->hooks_dir);
	cfg->cluster = true;
	cfg->cluster_root = xstrdup(cfg->ovs_root);
	cfg->hb_interval = 1;
	cfg->hb_timeout = 3;
	cfg->fence_timeout = 4;
	cfg->corosync_dir = xstrdup("/etc/corosync");
	cfg->ocfs2_conf = xstrdup("/etc/ocfs2/cluster.conf");
	cfg->network_bridges = xstrdup("");
}

void config_free(struct agent_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->listen);
	free(cfg->ssl_cert);
	free(cfg->ssl_key);
	free(cfg->allow_spec);
	free(cfg->deny_spec);
	acl_free(cfg->allow);
	acl_free(cfg->deny);
	free(cfg->password_file);
	free(cfg->pam_service);
	free(cfg->state_dir);
	free(cfg->log_file);
	free(cfg->pid_file);
	free(cfg->ovs_root);
	free(cfg->hooks_dir);
	free(cfg->repositories_file);
	free(cfg->guest_hooks_dir);
	free(cfg->cluster_root);
	free(cfg->corosync_dir);
	free(cfg->ocfs2_conf);
	free(cfg->network_bridges);
	memset(cfg, 0, sizeof(*cfg));
}

/* ---- value setters -------------------------------------------------- */

static char **str_field(struct agent_config *cfg, const struct config_key *k)
{
	return (char **)((char *)cfg + k->off);
}

static void set_str(struct agent_config *cfg, const struct config_key *k,
		    const char *v, size_t len)
{
	char **f = str_field(cfg, k);

	free(*f);
	*f = xstrndup(v, len);
}

/* Decimal only: "0x10" or "1e3" in a config file is more likely a mistake
 * than a wish. Overflow is caught by stopping once past max. */
static int set_number(struct parse_ctx *ctx, struct agent_config *cfg,
		      const struct config_key *k, const char *v, size_t len)
{
	unsigned long long x = 0;
	char q[80];
	size_t i;

	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			break;
		x = x * 10 + (unsigned)(v[i] - '0');
		if (x > (unsigned long long)k->max)
			break;
	}
	if (len == 0 || i < len || x < (unsigned long long)k->min) {
		quote_printable(q, sizeof(q), v, len);
		ctx_error(ctx, "%s must be a number from %lld to %lld, not '%s'",
		    k->name, k->min, k->max, q);
		return -1;
	}
	if (k->type == KT_SIZE)
		*(size_t *)((char *)cfg + k->off) = (size_t)x;
	else
		*(int *)((char *)cfg + k->off) = (int)x;
	return 0;
}

static int set_enum(struct parse_ctx *ctx, struct agent_config *cfg,
		    const struct config_key *k, const char *v, size_t len)
{
	const struct enum_word *w;
	char q[80], choices[128];
	size_t o = 0;
	int value;

	for (w = k->words; w->word != NULL; w++) {
		if (strlen(w->word) == len && memcmp(w->word, v, len) == 0)
			break;
	}
	if (w->word == NULL) {
		choices[0] = '\0';
		for (w = k->words; w->word != NULL && o < sizeof(choices); w++)
			o += (size_t)snprintf(choices + o, sizeof(choices) - o,
			    "%s%s", o ? "|" : "", w->word);
		quote_printable(q, sizeof(q), v, len);
		ctx_error(ctx, "%s must be %s, not '%s'", k->name, choices, q);
		return -1;
	}
	value = w->value;
	/* Each enum field has its own C type; assign through it. */
	if (k->off == OFF(ssl))
		cfg->ssl = value != 0;
	else if (k->off == OFF(log_syslog))
		cfg->log_syslog = value != 0;
	else if (k->off == OFF(auth))
		cfg->auth = (enum auth_mode)value;
	else if (k->off == OFF(hypervisor))
		cfg->hypervisor = (enum hv_kind)value;
	else if (k->off == OFF(log_level))
		cfg->log_level = value;
	else if (k->off == OFF(qemu_accel))
		cfg->qemu_accel = (enum hv_accel)value;
	else if (k->off == OFF(cluster))
		cfg->cluster = value != 0;
	else
		abort(); /* a row in keys[] without a case here */
	return 0;
}

static int set_path(struct parse_ctx *ctx, struct agent_config *cfg,
		    const struct config_key *k, const char *v, size_t len)
{
	char q[80];

	if (k->type == KT_LOGPATH && len == 1 && v[0] == '-') {
		set_str(cfg, k, v, len);
		return 0;
	}
	if (len == 0) {
		ctx_error(ctx, "%s must not be empty", k->name);
		return -1;
	}
	if (v[0] != '/') {
		quote_printable(q, sizeof(q), v, len);
		/* The daemon chdirs to /; a relative path would silently
		 * mean something else than where it was tested. */
		ctx_error(ctx, "%s must be an absolute path%s, not '%s'", k->name,
		    k->type == KT_LOGPATH ? " or '-' for stderr" : "", q);
		return -1;
	}
	if (len >= PATH_MAX) {
		ctx_error(ctx, "%s is longer than %d bytes", k->name, PATH_MAX - 1);
		return -1;
	}
	set_str(cfg, k, v, len);
	return 0;
}

/* A PAM service name is a file name under /etc/pam.d. */
static int set_service(struct parse_ctx *ctx, struct agent_config *cfg,
		       const struct config_key *k, const char *v, size_t len)
{
	char q[80];
	size_t i;

	for (i = 0; i < len; i++) {
		if (!isalnum((unsigned char)v[i]) && v[i] != '-' &&
		    v[i] != '_' && v[i] != '.')
			break;
	}
	if (len == 0 || i < len || len > 255 || v[0] == '.') {
		quote_printable(q, sizeof(q), v, len);
		ctx_error(ctx, "%s must be a PAM service name (letters, digits, "
		    "'-', '_', '.'), not '%s'", k->name, q);
		return -1;
	}
	set_str(cfg, k, v, len);
	return 0;
}

static int set_acl(struct parse_ctx *ctx, struct agent_config *cfg,
		   const struct config_key *k, const char *v, size_t len)
{
	char aerr[200];
	char *spec = xstrndup(v, len);
	struct acl *acl = acl_parse(spec, aerr, sizeof(aerr));
	struct acl **slot;

	if (acl == NULL) {
		ctx_error(ctx, "%s: %s", k->name, aerr);
		free(spec);
		return -1;
	}
	slot = (k->off == OFF(allow_spec)) ? &cfg->allow : &cfg->deny;
	acl_free(*slot);
	*slot = acl;
	free(*str_field(cfg, k));
	*str_field(cfg, k) = spec;
	return 0;
}

/* Validate and normalise "a, b ,c" to "a,b,c" so the listener can split
 * on ',' without trimming. */
static int set_listen(struct parse_ctx *ctx, struct agent_config *cfg,
		      const struct config_key *k, const char *v, size_t len)
{
	struct buf out;
	char addr[INET6_ADDRSTRLEN + 1], q[80];
	unsigned char tmp[sizeof(struct in6_addr)];
	size_t pos = 0, n = 0;
	bool star = false;
	int r = -1;

	buf_init(&out, len + 1);
	if (len == 0) {
		ctx_error(ctx, "%s needs at least one address ('*' for all)", k->name);
		goto out;
	}
	while (pos <= len) {
		const char *p = v + pos;
		const char *comma = memchr(p, ',', len - pos);
		size_t ilen = comma ? (size_t)(comma - p) : len - pos;
		size_t next = pos + ilen + 1;

		while (ilen > 0 && is_blank(p[0])) {
			p++;
			ilen--;
		}
		while (ilen > 0 && is_blank(p[ilen - 1]))
			ilen--;
		quote_printable(q, sizeof(q), p, ilen);
		if (ilen == 0) {
			ctx_error(ctx, "%s has an empty address", k->name);
			goto out;
		}
		if (ilen == 1 && p[0] == '*') {
			star = true;
		} else {
			if (ilen >= sizeof(addr)) {
				ctx_error(ctx, "%s: '%s' is not an IPv4 or IPv6 address",
				    k->name, q);
				goto out;
			}
			memcpy(addr, p, ilen);
			addr[ilen] = '\0';
			if (inet_pton(AF_INET, addr, tmp) != 1 &&
			    inet_pton(AF_INET6, addr, tmp) != 1) {
				ctx_error(ctx, "%s: '%s' is not an IPv4 or IPv6 address",
				    k->name, q);
				goto out;
			}
		}
		if (n++ > 0)
			buf_append(&out, ",", 1);
		buf_append(&out, p, ilen);
		if (comma == NULL)
			break;
		pos = next;
	}
	/* "*" already binds every address; another bind would fail with
	 * EADDRINUSE at start-up, far from the line that caused it. */
	if (star && n > 1) {
		ctx_error(ctx, "%s: '*' already means every address; list either "
		    "'*' or addresses", k->name);
		goto out;
	}
	free(cfg->listen);
	cfg->listen = buf_steal(&out, NULL);
	r = 0;
 out:
	buf_free(&out);
	return r;
}

/* Checked here, so a mistyped name stops the agent with FILE:LINE;
 * brought up at start (agent/net/bridges.c). */
static int set_bridges(struct parse_ctx *ctx, struct agent_config *cfg,
		       const struct config_key *k, const char *v, size_t len)
{
	char why[256];

	if (net_bridges_parse(v, len, NULL, NULL, why, sizeof(why)) < 0) {
		ctx_error(ctx, "%s", why);
		return -1;
	}
	set_str(cfg, k, v, len);
	return 0;
}

/* ---- lines ---------------------------------------------------------- */

/* Levenshtein distance, for "did you mean"; keys are short. */
static size_t edit_distance(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b), row[64], i, j;

	if (alen >= ARRAY_SIZE(row) || blen >= ARRAY_SIZE(row))
		return SIZE_MAX;
	for (j = 0; j <= blen; j++)
		row[j] = j;
	for (i = 1; i <= alen; i++) {
		size_t diag = row[0], tmp;

		row[0] = i;
		for (j = 1; j <= blen; j++) {
			size_t cost = tolower((unsigned char)a[i - 1]) ==
			    tolower((unsigned char)b[j - 1]) ? 0 : 1;
			size_t best = diag + cost;

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			tmp = row[j];
			row[j] = best;
			diag = tmp;
		}
	}
	return row[blen];
}

static void unknown_key(struct parse_ctx *ctx, const char *key, size_t klen)
{
	char q[80], known[1024];
	size_t i, d, best = SIZE_MAX, bi = 0, o = 0;

	quote_printable(q, sizeof(q), key, klen);
	for (i = 0; i < NKEYS; i++) {
		d = edit_distance(key, klen, keys[i].name);
		if (d < best) {
			best = d;
			bi = i;
		}
	}
	if (best <= 2) {
		ctx_error(ctx, "unknown key '%s' (did you mean '%s'?)", q,
		    keys[bi].name);
		return;
	}
	known[0] = '\0';
	for (i = 0; i < NKEYS && o < sizeof(known); i++)
		o += (size_t)snprintf(known + o, sizeof(known) - o, "%s%s",
		    i ? ", " : "", keys[i].name);
	ctx_error(ctx, "unknown key '%s' (known keys: %s)", q, known);
}

static int set_value(struct parse_ctx *ctx, struct agent_config *cfg,
		     const struct config_key *k, const char *v, size_t len)
{
	switch (k->type) {
	case KT_INT:
	case KT_SIZE:
		return set_number(ctx, cfg, k, v, len);
	case KT_PATH:
	case KT_LOGPATH:
		return set_path(ctx, cfg, k, v, len);
	case KT_SERVICE:
		return set_service(ctx, cfg, k, v, len);
	case KT_ENUM:
		return set_enum(ctx, cfg, k, v, len);
	case KT_ACL:
		return set_acl(ctx, cfg, k, v, len);
	case KT_LISTEN:
		return set_listen(ctx, cfg, k, v, len);
	case KT_BRIDGES:
		return set_bridges(ctx, cfg, k, v, len);
	}
	abort();
}

/* One line, without its "\n" or "\r\n", already checked for control
 * bytes. */
static int parse_line(struct parse_ctx *ctx, struct agent_config *cfg,
		      const char *s, size_t len)
{
	const char *eq, *key, *val;
	size_t klen, vlen, i;
	char q[80];

	while (len > 0 && is_blank(s[0])) {
		s++;
		len--;
	}
	while (len > 0 && is_blank(s[len - 1]))
		len--;
	if (len == 0 || s[0] == ';' || s[0] == '#')
		return 0;
	if (s[0] == '[') {
		/* Sections carry no meaning here; accept them so a file
		 * written for the old agent with "[server]" still loads. */
		if (s[len - 1] != ']' || len < 3) {
			quote_printable(q, sizeof(q), s, len);
			ctx_error(ctx, "bad section header '%s' (expected '[name]')", q);
			return -1;
		}
		return 0;
	}
	if ((eq = memchr(s, '=', len)) == NULL) {
		quote_printable(q, sizeof(q), s, len);
		ctx_error(ctx, "expected key=value, not '%s'", q);
		return -1;
	}
	key = s;
	klen = (size_t)(eq - s);
	while (klen > 0 && is_blank(key[klen - 1]))
		klen--;
	val = eq + 1;
	vlen = (size_t)(s + len - val);
	while (vlen > 0 && is_blank(val[0])) {
		val++;
		vlen--;
	}
	if (klen == 0) {
		ctx_error(ctx, "missing key before '='");
		return -1;
	}
	for (i = 0; i < NKEYS; i++) {
		if (strlen(keys[i].name) == klen &&
		    memcmp(keys[i].name, key, klen) == 0)
			break;
	}
	if (i == NKEYS) {
		unknown_key(ctx, key, klen);
		return -1;
	}
	if (ctx->seen[i] != 0) {
		ctx_error(ctx, "duplicate key '%s' (already set on line %zu)",
		    keys[i].name, ctx->seen[i]);
		return -1;
	}
	ctx->seen[i] = ctx->line;
	return set_value(ctx, cfg, &keys[i], val, vlen);
}

/* Control bytes have no business in a config file; most likely it is not
 * a text file at all, or it has old Mac line ends. Tabs are blanks. */
static int check_bytes(struct parse_ctx *ctx, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\0') {
			ctx_error(ctx, "NUL byte in the file (is it a text file?)");
			return -1;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			ctx_error(ctx, "control character 0x%02x in line", c);
			return -1;
		}
	}
	return 0;
}

/* The line a key was set on; 0 when not set. */
static size_t seen_at(const struct parse_ctx *ctx, size_t off)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].off == off)
			return ctx->seen[i];
	return 0;
}

/* Checks that involve more than one key, once everything is read; and
 * defaults that follow another key. */
static int check_whole(struct parse_ctx *ctx, struct agent_config *cfg)
{
	size_t iu, ic;

	if (!seen_at(ctx, OFF(guest_hooks_dir))) {
		free(cfg->guest_hooks_dir);
		cfg->guest_hooks_dir = xasprintf("%s/guest.d", cfg->hooks_dir);
	}
	if (!seen_at(ctx, OFF(cluster_root))) {
		free(cfg->cluster_root);
		cfg->cluster_root = xstrdup(cfg->ovs_root);
	}
	if (cfg->hb_timeout <= cfg->hb_interval) {
		ctx->line = seen_at(ctx, OFF(hb_timeout)) > seen_at(ctx, OFF(hb_interval)) ?
			    seen_at(ctx, OFF(hb_timeout)) : seen_at(ctx, OFF(hb_interval));
		ctx_error(ctx, "hb_timeout (%d) must be more than hb_interval (%d): a slot is "
			  "stale only after missing a write", cfg->hb_timeout, cfg->hb_interval);
		return -1;
	}

	if (cfg->max_unauth_connections <= cfg->max_connections)
		return 0;
	for (iu = 0; iu < NKEYS; iu++)
		if (keys[iu].off == OFF(max_unauth_connections))
			break;
	for (ic = 0; ic < NKEYS; ic++)
		if (keys[ic].off == OFF(max_connections))
			break;
	/* Point at whichever of the two lines the operator wrote last. */
	ctx->line = ctx->seen[iu] > ctx->seen[ic] ? ctx->seen[iu] : ctx->seen[ic];
	ctx_error(ctx, "max_unauth_connections (%d) must not exceed "
	    "max_connections (%d)", cfg->max_unauth_connections,
	    cfg->max_connections);
	return -1;
}

int config_parse(const char *name, const char *text, size_t len,
		 struct agent_config *cfg, char *err, size_t errlen)
{
	struct parse_ctx ctx;
	size_t pos = 0;
	int r = -1;

	memset(&ctx, 0, sizeof(ctx));
	ctx.name = name ? name : "(config)";
	ctx.err = err;
	ctx.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	config_defaults(cfg);
	cfg->path = xstrdup(ctx.name);

	/* Editors on some systems start a UTF-8 file with a byte order mark. */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (pos < len) {
		const char *s = text + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - s) : len - pos;

		ctx.line++;
		pos += llen + (nl ? 1 : 0);
		if (llen > 0 && s[llen - 1] == '\r')
			llen--;
		if ((r = check_bytes(&ctx, s, llen)) != 0 ||
		    (r = parse_line(&ctx, cfg, s, llen)) != 0)
			goto out;
	}
	r = check_whole(&ctx, cfg);
 out:
	if (r != 0)
		config_free(cfg);
	return r;
}

int config_load(const char *path, struct agent_config *cfg, char *err, size_t errlen)
{
	struct buf b;
	size_t want;
	ssize_t n;
	char *p;
	int fd = -1, r = -1;

	memset(cfg, 0, sizeof(*cfg));
	/* One byte of room past the limit tells "exactly 1 MiB" from "more". */
	buf_init(&b, CONFIG_MAX_FILE + 1);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	for (;;) {
		if (b.len > CONFIG_MAX_FILE) {
			snprintf(err, errlen, "%s: file is larger than %d bytes",
			    path, CONFIG_MAX_FILE);
			goto out;
		}
		want = b.max - b.len < 4096 ? b.max - b.len : 4096;
		p = buf_space(&b, want); /* within max by construction */
		if ((n = read(fd, p, want)) == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		buf_commit(&b, (size_t)n);
	}
	r = config_parse(path, b.data ? b.data : "", b.len, cfg, err, errlen);
 out:
	if (fd != -1)
		close(fd);
	buf_free(&b);
	return r;
}

/* ---- names ---------------------------------------------------------- */

struct hook_settings config_hook_settings(const struct agent_config *cfg)
{
	struct hook_settings s = { .dir = cfg->hooks_dir, .max_running = cfg->hooks_max_running };

	s.timeout_ms[HOOK_GUEST] = cfg->hook_timeout_guest * 1000;
	s.timeout_ms[HOOK_NETWORK] = cfg->hook_timeout_network * 1000;
	s.timeout_ms[HOOK_REPOSITORY] = cfg->hook_timeout_repository * 1000;
	s.timeout_ms[HOOK_CLUSTER] = cfg->hook_timeout_cluster * 1000;
	return s;
}

const char *config_hv_name(enum hv_kind k)
{
	size_t i;

	for (i = 0; hv_words[i].word != NULL; i++)
		if (hv_words[i].value == (int)k)
			return hv_words[i].word;
	return "unknown";
}

const char *config_log_level_name(int level)
{
	size_t i;

	for (i = 0; level_words[i].word != NULL; i++)
		if (level_words[i].value == level)
			return level_words[i].word;
	return "unknown";
}
