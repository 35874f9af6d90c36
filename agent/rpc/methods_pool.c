/* methods_pool.c - server pool membership: register_server and the rest.
 *
 * The master keeps the member table (db/pool.h). A server joins when the
 * master calls its join_pool with the agent user and password the manager
 * gave register_server, once: from then on the agents call each other as
 * POOL_USER with the pool credential, and check each other's certificate
 * against the fingerprint the master saw at that first call. The manager's
 * own Authorization is never passed on. */
#define LOG_CAT "pool"
#include "agent/rpc/methods.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "agent/base/buf.h"
#include "agent/base/fault.h"
#include "agent/base/log.h"
#include "agent/base/util.h"
#include "agent/pool/cluster.h"
#include "agent/rpc/peer.h"
#include "agent/rpc/perf.h"
#include "agent/rpc/pool_call.h"
#include "agent/rpc/rpc_params.h"
#include "agent/server/auth.h"
#include "agent/server/http.h"
#include "agent/server/server.h"
#include "db/guests.h"
#include "db/pool.h"
#include "db/store.h"

#define JOIN_TIMEOUT_MS 30000
#define STATUS_TIMEOUT_MS 5000
#define LEAVE_TIMEOUT_MS 10000

/* ---- small parts ---------------------------------------------------------------- */

/* Param i as a canonical address, or a 1000 fault and -1. */
static int ip_arg(struct rpc_call *call, xmlrpc_value *params, int i, char ip[POOL_IP_MAX])
{
	char *s = param_str(params, i);
	int r = pool_ip_canon(s, ip);

	if (r < 0)
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "'%.64s' is not an IPv4 or IPv6 address "
			  "(host names are not resolved here)", s);
	free(s);
	return r;
}

/* Is ip one of this host's addresses? Binding to it says, without a lookup. */
static bool is_local_address(const char *ip)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd, r;

	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		len = sizeof(*s6);
	} else {
		return false;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	r = bind(fd, (struct sockaddr *)&ss, len);
	close(fd);
	return r == 0;
}

/* The hex SHA-256 of this agent's own certificate; "" without TLS. */
static void own_fingerprint(struct server *srv, char out[POOL_FP_HEX + 1])
{
	peer_fingerprint(srv->ssl_ctx ? SSL_CTX_get0_certificate(srv->ssl_ctx) : NULL, out);
}

/* Where this server stands: 0 with master and self filled (the master
 * when they are equal), or the call answered (1008 or 1300) and -1. */
static int pool_where(struct rpc_call *call, char master[POOL_IP_MAX], char self[POOL_IP_MAX])
{
	struct server *srv = rpc_server(call);
	char err[256];
	int r = pool_master_get(srv->store, master, err, sizeof(err));

	if (r == 1)
		r = pool_self_get(srv->store, self, err, sizeof(err));
	if (r < 0)
		rpc_fault(call, FAULT_IO, "cannot read the pool state: %s", err);
	else if (r == 0)
		rpc_fault(call, FAULT_NOT_IN_POOL, "this server is not in a server pool: "
			  "register_server(<its address>, 'site') on it makes it a pool's master");
	return r == 1 ? 0 : -1;
}

/* pool_where, for the methods only the master serves. */
int pool_master_only(struct rpc_call *call, char master[POOL_IP_MAX], char self[POOL_IP_MAX])
{
	if (pool_where(call, master, self) < 0)
		return -1;
	if (strcmp(master, self) != 0) {
		rpc_fault(call, FAULT_STATE, "this server is a member of the pool of %s, not its "
			  "master: call %s on the master", master, rpc_method_name(call));
		return -1;
	}
	return 0;
}

static int member_arg(struct rpc_call *call, const char *ip, struct pool_member *m)
{
	char err[256];
	int r = pool_member_get(rpc_server(call)->store, ip, m, err, sizeof(err));

	if (r < 0)
		rpc_fault(call, FAULT_IO, "cannot read the pool state: %s", err);
	else if (r == 0)
		rpc_fault(call, FAULT_NOT_FOUND, "%s is not a server of this pool "
			  "(list_servers names them)", ip);
	return r == 1 ? 0 : -1;
}

/* Values go into "k=v;k=v": keep ';' and newlines out of them. */
static void kv(struct buf *b, const char *key, const char *val)
{
	buf_printf(b, "%s%s=", b->len > 8 ? ";" : "", key);
	for (const char *p = val; *p; p++)
		buf_append(b, *p == ';' || *p == '\n' || *p == '\r' ? "," : p, 1);
}

static void sync_members(struct server *srv);

/* ---- register_server ------------------------------------------------------------ */

/* The master's first record: itself. */
static void make_master(struct rpc_call *call, const char *ip, unsigned roles)
{
	struct server *srv = rpc_server(call);
	struct pool_member m = { .roles = roles, .port = srv->cfg.port, .tls = srv->cfg.ssl,
				 .registered = (long long)time(NULL) };
	unsigned char raw[POOL_SECRET_HEX / 2];
	char secret[POOL_SECRET_HEX + 1], err[256], text[POOL_ROLES_TEXT_MAX];

	if (!(roles & POOL_SITE)) {
		rpc_fault(call, FAULT_NOT_IN_POOL, "this server is not in a server pool yet: "
			  "register the master first, register_server('%s', 'site[,utility,xen]') "
			  "on it", ip);
		return;
	}
	if (!is_local_address(ip)) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "%s is not an address of this server: the "
			  "master registers itself first, at one of its own addresses", ip);
		return;
	}
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		rpc_fault(call, FAULT_INTERNAL, "cannot make the pool credential: no randomness");
		return;
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(secret + 2 * i, 3, "%02x", raw[i]);
	OPENSSL_cleanse(raw, sizeof(raw));
	snprintf(m.ip, sizeof(m.ip), "%s", ip);
	own_fingerprint(srv, m.sha256);
	if (pool_member_put(srv->store, &m, err, sizeof(err)) < 0 ||
	    pool_join(srv->store, ip, ip, secret, err, sizeof(err)) < 0) {
		rpc_fault(call, FAULT_IO, "cannot write the pool state: %s", err);
	} else {
		pool_roles_format(roles, text);
		log_info("this server (%s) is now the master of a server pool, roles %s", ip, text);
		rpc_return_string(call, "success");
	}
	OPENSSL_cleanse(secret, sizeof(secret));
}

/* More roles for a server already in the pool: no call to it is needed. */
static void add_roles(struct rpc_call *call, struct pool_member *m, unsigned roles,
		      const char *master)
{
	struct server *srv = rpc_server(call);
	char err[256], text[POOL_ROLES_TEXT_MAX];

	if ((roles & POOL_SITE) && strcmp(m->ip, master) != 0) {
		rpc_fault(call, FAULT_STATE, "the pool has its master already (%s): %s cannot "
			  "take the site role", master, m->ip);
		return;
	}
	m->roles |= roles;
	if (pool_member_put(srv->store, m, err, sizeof(err)) < 0) {
		rpc_fault(call, FAULT_IO, "cannot write the pool state: %s", err);
		return;
	}
	pool_roles_format(m->roles, text);
	log_info("%s has roles %s", m->ip, text);
	rpc_return_string(call, "success");
	sync_members(srv);
}

struct enroll {
	struct rpc_call *call;
	struct server *srv;
	struct pool_member m;
	char seen[PEER_FP_SIZE];
};

static void on_joined(void *arg, xmlrpc_value *result, int fault, const char *msg)
{
	struct enroll *e = arg;
	char err[256], text[POOL_ROLES_TEXT_MAX];

	if (fault) {
		rpc_fault(e->call, FAULT_PEER, "%s did not join the pool: %s", e->m.ip, msg);
	} else if (e->m.tls && !e->seen[0]) {
		rpc_fault(e->call, FAULT_PEER, "%s joined but showed no certificate to pin",
			  e->m.ip);
	} else {
		memcpy(e->m.sha256, e->seen, sizeof(e->m.sha256));
		if (pool_member_put(e->srv->store, &e->m, err, sizeof(err)) < 0) {
			rpc_fault(e->call, FAULT_IO, "cannot write the pool state: %s", err);
		} else {
			pool_roles_format(e->m.roles, text);
			log_info("%s joined the pool, roles %s, certificate sha256 %s", e->m.ip,
				 text, e->m.sha256[0] ? e->m.sha256 : "(no TLS)");
			rpc_return_string(e->call, "success");
			sync_members(e->srv);
		}
	}
	free(e);
}

/* A server new to the pool: call its join_pool with the agent user and
 * password the manager gave for it. */
static void enroll(struct rpc_call *call, xmlrpc_value *params, const char *ip, unsigned roles,
		   const char *master)
{
	struct server *srv = rpc_server(call);
	char *user = param_str(params, 3), *pass = param_str(params, 4), *authz = NULL;
	char secret[POOL_SECRET_HEX + 1], text[POOL_ROLES_TEXT_MAX], err[512];
	struct enroll *e = NULL;
	xmlrpc_value *args = NULL;
	xmlrpc_env env;
	long long port = srv->cfg.port;
	bool tls = srv->cfg.ssl;

	xmlrpc_env_init(&env);
	if (roles & POOL_SITE) {
		rpc_fault(call, FAULT_STATE, "the pool has its master already (%s): %s cannot "
			  "take the site role", master, ip);
		goto out;
	}
	if (!user[0] || !pass[0]) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "to enroll %s give its agent's user and "
			  "password: register_server(ip, role, flag, user, password[, port, "
			  "is_ssl])", ip);
		goto out;
	}
	if (param_count(params) > 5 &&
	    param_int_arg(call, params, 5, "port", 1, 65535, "", &port) < 0)
		goto out;
	if (param_count(params) > 6 && param_bool(params, 6, &tls) < 0) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "is_ssl must be true or false (or 1 or 0)");
		goto out;
	}
	if (pool_secret_get(srv->store, secret, err, sizeof(err)) != 1) {
		rpc_fault(call, FAULT_IO, "cannot read the pool credential: %s", err);
		goto out;
	}
	authz = basic_authorization(user, pass);
	pool_roles_format(roles, text);
	args = xmlrpc_build_value(&env, "(sss)", master, secret, text);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (env.fault_occurred) {
		rpc_fault(call, FAULT_INTERNAL, "%s", env.fault_string);
		goto out;
	}
	e = xcalloc(1, sizeof(*e));
	e->call = call;
	e->srv = srv;
	snprintf(e->m.ip, sizeof(e->m.ip), "%s", ip);
	e->m.roles = roles;
	e->m.port = (int)port;
	e->m.tls = tls;
	e->m.registered = (long long)time(NULL);
	if (!peer_call_start_pinned(srv->loop, ip, (int)port,
				    tls ? &(struct peer_tls){ .seen = e->seen } : NULL, authz,
				    "join_pool", args, JOIN_TIMEOUT_MS, on_joined, e, err,
				    sizeof(err))) {
		rpc_fault(call, FAULT_PEER, "cannot call %s: %s", ip, err);
		free(e);
	}
out:
	if (args) {
		/* the credential was in it */
		xmlrpc_DECREF(args);
	}
	authorization_free(authz);
	OPENSSL_cleanse(pass, strlen(pass));
	free(user);
	free(pass);
	xmlrpc_env_clean(&env);
}

void m_register_server(struct rpc_call *call, xmlrpc_value *params)
{
	struct server *srv = rpc_server(call);
	char ip[POOL_IP_MAX], master[POOL_IP_MAX], self[POOL_IP_MAX], err[256], *role;
	struct pool_member m;
	unsigned roles;
	int r;

	if (ip_arg(call, params, 0, ip) < 0)
		return;
	role = param_str(params, 1);
	r = pool_roles_parse(role, &roles, err, sizeof(err));
	free(role);
	if (r < 0) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "%s", err);
		return;
	}
	r = pool_master_get(srv->store, master, err, sizeof(err));
	if (r == 0) {
		make_master(call, ip, roles);
		return;
	}
	if (r < 0 || pool_master_only(call, master, self) < 0) {
		if (r < 0)
			rpc_fault(call, FAULT_IO, "cannot read the pool state: %s", err);
		return;
	}
	r = pool_member_get(srv->store, ip, &m, err, sizeof(err));
	if (r < 0)
		rpc_fault(call, FAULT_IO, "cannot read the pool state: %s", err);
	else if (r == 1)
		add_roles(call, &m, roles, master);
	else
		enroll(call, params, ip, roles, master);
}

/* ---- join_pool and leave_pool: the master calls them --------------------------- */

void m_join_pool(struct rpc_call *call, xmlrpc_value *params)
{
	struct server *srv = rpc_server(call);
	const struct rpc_origin *org = rpc_origin(call);
	char master[POOL_IP_MAX], self[POOL_IP_MAX], now[POOL_IP_MAX], err[256];
	char *secret = param_str(params, 1);
	int r;

	if (ip_arg(call, params, 0, master) < 0)
		goto out;
	if (strlen(secret) != POOL_SECRET_HEX ||
	    strspn(secret, "0123456789abcdef") != POOL_SECRET_HEX) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "the pool credential must be %d hex digits",
			  POOL_SECRET_HEX);
		goto out;
	}
	if (pool_ip_canon(org->local, self) < 0) {
		rpc_fault(call, FAULT_INTERNAL, "cannot tell which address of this server was called");
		goto out;
	}
	r = pool_master_get(srv->store, now, err, sizeof(err));
	if (r < 0) {
		rpc_fault(call, FAULT_IO, "cannot read the pool state: %s", err);
		goto out;
	}
	if (r == 1 && strcmp(now, master) != 0) {
		rpc_fault(call, FAULT_STATE, "this server is in the pool of %s already: "
			  "unregister_server('%s') there first", now, self);
		goto out;
	}
	if (pool_join(srv->store, master, self, secret, err, sizeof(err)) < 0) {
		rpc_fault(call, FAULT_IO, "cannot write the pool state: %s", err);
		goto out;
	}
	auth_flush(srv->auth);   /* an older credential may be cached */
	log_info("joined the server pool of %s as %s", master, self);
	rpc_return_string(call, "success");
out:
	OPENSSL_cleanse(secret, strlen(secret));
	free(secret);
}

void m_leave_pool(struct rpc_call *call, xmlrpc_value *params)
{
	struct server *srv = rpc_server(call);
	char master[POOL_IP_MAX], self[POOL_IP_MAX], err[256];

	if (pool_where(call, master, self) < 0)
		return;
	if (strcmp(master, self) == 0) {
		rpc_fault(call, FAULT_STATE, "this server is the pool's master: "
			  "unregister_server('%s') on it dissolves the pool", self);
		return;
	}
	if (pool_leave(srv->store, err, sizeof(err)) < 0) {
		rpc_fault(call, FAULT_IO, "cannot write the pool state: %s", err);
		return;
	}
	auth_flush(srv->auth);
	log_info("left the server pool of %s", master);
	rpc_return_string(call, "success");
}

/* ---- calls to members ------------------------------------------------------------ */

struct member_call {
	struct rpc_call *call;
	struct server *srv;
	struct pool_member m;
	void (*then)(struct member_call *mc, xmlrpc_value *result, int fault, const char *msg);
};

static void on_member_reply(void *arg, xmlrpc_value *result, int fault, const char *msg)
{
	struct member_call *mc = arg;

	mc->then(mc, result, fault, msg);
	free(mc);
}

/* Call method() on member mc->m as POOL_USER, its certificate pinned.
 * then() is called once, from the loop, with what came back. */
static void call_member(struct member_call *mc, const char *method, int timeout_ms)
{
	char err[512];
	char *authz = pool_authorization(mc->srv->store, err, sizeof(err));
	xmlrpc_env env;
	xmlrpc_value *args;

	if (!authz) {
		mc->then(mc, NULL, -1, err);
		free(mc);
		return;
	}
	xmlrpc_env_init(&env);
	args = xmlrpc_array_new(&env);
	if (!pool_peer_call(mc->srv, &mc->m, authz, method, args, timeout_ms, on_member_reply,
			    mc, err, sizeof(err))) {
		mc->then(mc, NULL, -1, err);
		free(mc);
	}
	authorization_free(authz);
	if (args)
		xmlrpc_DECREF(args);
	xmlrpc_env_clean(&env);
}

static struct member_call *member_call_new(struct rpc_call *call, const struct pool_member *m)
{
	struct member_call *mc = xcalloc(1, sizeof(*mc));

	mc->call = call;
	mc->srv = rpc_server(call);
	mc->m = *m;
	return mc;
}

/* ---- unregister_server ------------------------------------------------------------ */

static void remove_member(struct rpc_call *call, const char *ip, const char *unheard)
{
	struct server *srv = rpc_server(call);
	char err[256];

	if (pool_member_del(srv->store, ip, err, sizeof(err)) < 0) {
		rpc_fault(call, FAULT_IO, "cannot write the pool state: %s", err);
		return;
	}
	if (unheard) {
		struct buf b;
		log_warn("%s removed from the pool without being told: %s", ip, unheard);
		buf_init(&b, 0);
		buf_puts(&b, "success:");
		kv(&b, "notified", "false");
		kv(&b, "reason", unheard);
		rpc_return_string(call, b.data);
		buf_free(&b);
	} else {
		log_info("%s left the pool", ip);
		rpc_return_string(call, "success");
	}
	sync_members(srv);
}

static void after_leave(struct member_call *mc, xmlrpc_value *result, int fault,
			const char *msg)
{
	remove_member(mc->call, mc->m.ip, fault ? msg : NULL);
}

void m_unregister_server(struct rpc_call *call, xmlrpc_value *params)
{
	struct server *srv = rpc_server(call);
	char ip[POOL_IP_MAX], master[POOL_IP_MAX], self[POOL_IP_MAX], err[256];
	struct pool_member m, *all = NULL;
	struct member_call *mc;
	size_t n = 0;

	if (ip_arg(call, params, 0, ip) < 0 || pool_master_only(call, master, self) < 0 ||
	    member_arg(call, ip, &m) < 0)
		return;
	if (strcmp(ip, self) != 0) {
		mc = member_call_new(call, &m);
		mc->then = after_leave;
		call_member(mc, "leave_pool", LEAVE_TIMEOUT_MS);
		return;
	}
	/* The master itself: only the last one out dissolves the pool. */
	if (pool_members(srv->store, &all, &n, err, sizeof(err)) < 0) {
		rpc_fault(call, FAULT_IO, "cannot read the pool state: %s", err);
		return;
	}
	free(all);
	if (n > 1) {
		rpc_fault(call, FAULT_STATE, "%s is the pool's master and %zu other server%s still "
			  "in the pool: unregister them first", ip, n - 1, n == 2 ? " is" : "s are");
		return;
	}
	if (pool_leave(srv->store, err, sizeof(err)) < 0) {
		rpc_fault(call, FAULT_IO, "cannot write the pool state: %s", err);
		return;
	}
	auth_flush(srv->auth);
	log_info("the server pool of %s is dissolved", ip);
	rpc_return_string(call, "success");
}

/* ---- list_servers and the members' copies --------------------------------------- */

/* The member table as list_servers shows it (wire: registered as ISO
 * 8601) or as pool_sync sends it (registered as Unix time). */
static xmlrpc_value *members_value(xmlrpc_env *env, const struct pool_member *all, size_t n,
				   const char *master, bool wire)
{
	xmlrpc_value *list = xmlrpc_array_new(env);
	char text[POOL_ROLES_TEXT_MAX], when[32];

	for (size_t i = 0; i < n && !env->fault_occurred; i++) {
		struct tm tm;
		time_t t = (time_t)all[i].registered;
		xmlrpc_value *row;

		pool_roles_format(all[i].roles, text);
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		row = wire ?
		      xmlrpc_build_value(env, "{s:s,s:s,s:b,s:i,s:b,s:s,s:s}", "ip", all[i].ip,
					 "roles", text, "master",
					 (xmlrpc_bool)(strcmp(all[i].ip, master) == 0), "port",
					 all[i].port, "tls", (xmlrpc_bool)all[i].tls, "registered",
					 when, "sha256", all[i].sha256) :
		      xmlrpc_build_value(env, "{s:s,s:s,s:i,s:b,s:I,s:s}", "ip", all[i].ip,
					 "roles", text, "port", all[i].port, "tls",
					 (xmlrpc_bool)all[i].tls, "registered",
					 (xmlrpc_int64)all[i].registered, "sha256", all[i].sha256);
		if (!env->fault_occurred) {
			xmlrpc_array_append_item(env, list, row);
			xmlrpc_DECREF(row);
		}
	}
	return list;
}

static void after_sync(void *arg, xmlrpc_value *result, int fault, const char *msg)
{
	char *ip = arg;

	if (fault)
		log_warn("cannot give %s the pool's member list: %s", ip, msg);
	free(ip);
}

/* Give every member a copy of the table (they pin each other with it:
 * live migration goes from member to member). Best effort: a member that
 * misses one gets the next. */
static void sync_members(struct server *srv)
{
	char err[512], self[POOL_IP_MAX];
	struct pool_member *all = NULL;
	xmlrpc_value *list = NULL, *args = NULL;
	xmlrpc_env env;
	char *authz = NULL;
	long long seq;
	size_t n = 0;

	xmlrpc_env_init(&env);
	if (pool_self_get(srv->store, self, err, sizeof(err)) != 1 ||
	    pool_members(srv->store, &all, &n, err, sizeof(err)) < 0 ||
	    !(authz = pool_authorization(srv->store, err, sizeof(err)))) {
		log_warn("cannot share the pool's member list: %s", err);
		goto out;
	}
	if ((seq = pool_sync_seq_next(srv->store, err, sizeof(err))) < 0) {
		log_warn("cannot share the pool's member list: %s", err);
		goto out;
	}
	list = members_value(&env, all, n, "", false);
	if (!env.fault_occurred)
		args = xmlrpc_build_value(&env, "(VI)", list, (xmlrpc_int64)seq);
	for (size_t i = 0; i < n && !env.fault_occurred; i++) {
		char *ip;

		if (strcmp(all[i].ip, self) == 0)
			continue;
		ip = xstrdup(all[i].ip);
		if (!pool_peer_call(srv, &all[i], authz, "pool_sync", args, LEAVE_TIMEOUT_MS,
				    after_sync, ip, err, sizeof(err))) {
			log_warn("cannot give %s the pool's member list: %s", ip, err);
			free(ip);
		}
	}
	if (env.fault_occurred)
		log_warn("cannot share the pool's member list: %s", env.fault_string);
out:
	authorization_free(authz);
	if (args)
		xmlrpc_DECREF(args);
	if (list)
		xmlrpc_DECREF(list);
	xmlrpc_env_clean(&env);
	free(all);
}

#define SYNC_MEMBERS_MAX 1024

/* One member of a pool_sync list, checked. 0 or -1 with err. */
static int member_of(xmlrpc_env *env, xmlrpc_value *row, struct pool_member *m, char *err,
		     size_t errlen)
{
	const char *ip = NULL, *roles = NULL, *fp = NULL;
	xmlrpc_int port = 0;
	xmlrpc_bool tls = 0;
	xmlrpc_int64 registered = 0;
	int rc = -1;

	memset(m, 0, sizeof(*m));
	xmlrpc_decompose_value(env, row, "{s:s,s:s,s:i,s:b,s:I,s:s,*}", "ip", &ip, "roles",
			       &roles, "port", &port, "tls", &tls, "registered", &registered,
			       "sha256", &fp);
	if (env->fault_occurred)
		snprintf(err, errlen, "a member is not {ip, roles, port, tls, registered, sha256}");
	else if (pool_ip_canon(ip, m->ip) < 0)
		snprintf(err, errlen, "'%.64s' is not an address", ip);
	else if (pool_roles_parse(roles, &m->roles, err, errlen) < 0)
		;
	else if (port < 1 || port > 65535)
		snprintf(err, errlen, "port %d of %s is out of range", port, m->ip);
	else if (strlen(fp) != 0 && (strlen(fp) != POOL_FP_HEX ||
				     strspn(fp, "0123456789abcdef") != POOL_FP_HEX))
		snprintf(err, errlen, "the sha256 of %s is not a hex SHA-256", m->ip);
	else {
		m->port = port;
		m->tls = tls;
		m->registered = registered;
		snprintf(m->sha256, sizeof(m->sha256), "%s", fp);
		rc = 0;
	}
	free((char *)ip);
	free((char *)roles);
	free((char *)fp);
	return rc;
}

void m_pool_sync(struct rpc_call *call, xmlrpc_value *params)
{
	struct server *srv = rpc_server(call);
	char master[POOL_IP_MAX], self[POOL_IP_MAX], err[256];
	long long seq = 0, have;
	int r;
	struct pool_member *v = NULL;
	xmlrpc_value *list = NULL;
	xmlrpc_env env;
	int n;

	const char *user = rpc_origin(call)->user;

	if (!user || strcmp(user, POOL_USER) != 0) {
		rpc_fault(call, FAULT_PERMISSION, "pool_sync is for the pool's master only");
		return;
	}
	if (pool_where(call, master, self) < 0)
		return;
	if (strcmp(master, self) == 0) {
		rpc_fault(call, FAULT_STATE, "this server is the pool's master: its table is its own");
		return;
	}
	xmlrpc_env_init(&env);
	xmlrpc_array_read_item(&env, params, 0, &list);
	n = env.fault_occurred ? -1 : xmlrpc_array_size(&env, list);
	if (n < 0 || n > SYNC_MEMBERS_MAX) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "pool_sync takes a list of at most %d members",
			  SYNC_MEMBERS_MAX);
		goto out;
	}
	v = xcalloc((size_t)n + 1, sizeof(*v));
	for (int i = 0; i < n; i++) {
		xmlrpc_value *row = NULL;

		xmlrpc_array_read_item(&env, list, (unsigned)i, &row);
		if (env.fault_occurred || member_of(&env, row, &v[i], err, sizeof(err)) < 0) {
			if (row)
				xmlrpc_DECREF(row);
			rpc_fault(call, FAULT_INVALID_ARGUMENT, "%s",
				  env.fault_occurred ? "a member is not a struct" : err);
			goto out;
		}
		xmlrpc_DECREF(row);
	}
	if (param_count(params) > 1 &&
	    param_int_arg(call, params, 1, "seq", 1, INT64_MAX, "", &seq) != 0)
		goto out;
	r = pool_members_sync(srv->store, v, (size_t)n, seq, &have, err, sizeof(err));
	if (r < 0)
		rpc_fault(call, FAULT_IO, "cannot write the pool state: %s", err);
	else if (r == 0) /* an older push overtaken by a newer one: keep the newer */
		rpc_return_printf(call, "success:stale=%lld;have=%lld", seq, have);
	else
		rpc_return_string(call, "success");
out:
	if (list)
		xmlrpc_DECREF(list);
	free(v);
	xmlrpc_env_clean(&env);
}

void m_list_servers(struct rpc_call *call, xmlrpc_value *params)
{
	struct server *srv = rpc_server(call);
	char master[POOL_IP_MAX], self[POOL_IP_MAX], err[256];
	struct pool_member *all = NULL;
	xmlrpc_value *list = NULL;
	xmlrpc_env env;
	size_t n = 0;

	if (pool_master_only(call, master, self) < 0)
		return;
	if (pool_members(srv->store, &all, &n, err, sizeof(err)) < 0) {
		rpc_fault(call, FAULT_IO, "cannot read the pool state: %s", err);
		return;
	}
	xmlrpc_env_init(&env);
	list = members_value(&env, all, n, master, true);
	if (env.fault_occurred) {
		rpc_fault(call, FAULT_INTERNAL, "%s", env.fault_string);
		if (list)
			xmlrpc_DECREF(list);
	} else {
		rpc_return(call, list);   /* takes it */
	}
	xmlrpc_env_clean(&env);
	free(all);
}

/* ---- status ----------------------------------------------------------------------- */

static int count_running(const char *path, size_t plen, const struct record_field *f, size_t n,
			 void *arg)
{
	for (size_t i = 0; i < n; i++)
		if (f[i].klen == 6 && memcmp(f[i].key, "status", 6) == 0 &&
		    f[i].vlen == strlen(GUEST_RUNNING) &&
		    memcmp(f[i].val, GUEST_RUNNING, f[i].vlen) == 0)
			(*(unsigned *)arg)++;
	return 0;
}

/* "mem_free=<MB>;running_guests=<n>" of this server into b; -1 with err. */
static int local_status(struct server *srv, struct buf *b, char *err, size_t errlen)
{
	unsigned running = 0;
	uint64_t mem;
	double idle;
	char n[32];

	if (perf_sample(srv->perf, &idle, &mem) < 0) {
		snprintf(err, errlen, "cannot read /proc/meminfo");
		return -1;
	}
	if (guests_each_view(srv->store, count_running, &running, err, errlen) < 0)
		return -1;
	snprintf(n, sizeof(n), "%llu", (unsigned long long)mem);
	kv(b, "mem_free", n);
	snprintf(n, sizeof(n), "%u", running);
	kv(b, "running_guests", n);
	return 0;
}

void m_pool_server_status(struct rpc_call *call, xmlrpc_value *params)
{
	char err[256];
	struct buf b;

	buf_init(&b, 0);
	buf_puts(&b, "success:");
	if (local_status(rpc_server(call), &b, err, sizeof(err)) < 0)
		rpc_fault(call, FAULT_IO, "%s", err);
	else
		rpc_return_string(call, b.data);
	buf_free(&b);
}

/* "success:status=...;ip=...;roles=...;reachable=...;in_cluster=false" and
 * then the member's own figures, or why it could not be reached. */
static void status_answer(struct rpc_call *call, const struct pool_member *m,
			  const char *figures, const char *unreachable)
{
	char text[POOL_ROLES_TEXT_MAX];
	struct buf b;

	pool_roles_format(m->roles, text);
	buf_init(&b, 0);
	buf_puts(&b, "success:");
	kv(&b, "status", unreachable ? "unreachable" : "reachable");
	kv(&b, "ip", m->ip);
	kv(&b, "roles", text);
	kv(&b, "reachable", unreachable ? "false" : "true");
	/* in corosync's group, as this server's link sees it */
	kv(&b, "in_cluster", pool_cluster_in_view(rpc_server(call),
						  pool_cluster_node_of(rpc_server(call), m->ip)) ?
			     "true" : "false");
	if (figures && figures[0])
		buf_printf(&b, ";%s", figures);
	if (unreachable)
		kv(&b, "reason", unreachable);
	rpc_return_string(call, b.data);
	buf_free(&b);
}

static void after_status(struct member_call *mc, xmlrpc_value *result, int fault,
			 const char *msg)
{
	xmlrpc_env env;
	const char *s = NULL;

	if (fault) {
		status_answer(mc->call, &mc->m, NULL, msg);
		return;
	}
	xmlrpc_env_init(&env);
	xmlrpc_read_string(&env, result, &s);
	if (env.fault_occurred || strncmp(s, "success:", 8) != 0 || strpbrk(s, "\r\n"))
		status_answer(mc->call, &mc->m, NULL, "it answered something other than "
			      "success:mem_free=...");
	else
		status_answer(mc->call, &mc->m, s + 8, NULL);
	free((char *)s);
	xmlrpc_env_clean(&env);
}

void m_get_srv_agent_status(struct rpc_call *call, xmlrpc_value *params)
{
	char ip[POOL_IP_MAX], master[POOL_IP_MAX], self[POOL_IP_MAX], err[256];
	struct pool_member m;
	struct member_call *mc;

	if (ip_arg(call, params, 0, ip) < 0 || pool_master_only(call, master, self) < 0 ||
	    member_arg(call, ip, &m) < 0)
		return;
	if (strcmp(ip, self) == 0) {
		struct buf b;

		buf_init(&b, 0);
		if (local_status(rpc_server(call), &b, err, sizeof(err)) < 0)
			rpc_fault(call, FAULT_IO, "%s", err);
		else
			status_answer(call, &m, b.data, NULL);
		buf_free(&b);
		return;
	}
	mc = member_call_new(call, &m);
	mc->then = after_status;
	call_member(mc, "pool_server_status", STATUS_TIMEOUT_MS);
}
