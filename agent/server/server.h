/* server.h - the running agent's shared state: loop, config, TLS context,
 * connection accounting and the subsystems a method may need.
 *
 * There is exactly one struct server per process. Modules receive it as a
 * parameter instead of reaching for a global, so tests can build one. */
#ifndef OVS_SERVER_H
#define OVS_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <openssl/ssl.h>

#include "agent/server/config.h"
#include "hypervisor/hv.h"
#include "agent/base/loop.h"

struct conn;
struct listener;
struct auth;
struct resolver;
struct hv;
struct perf;
struct store;
struct guest_ops;
struct hooks;
struct netview;
struct repoview;
struct pool_cluster;
struct telemetry;

struct server {
	struct loop *loop;
	struct agent_config cfg;    /* current config; replaced on SIGHUP */
	SSL_CTX *ssl_ctx;           /* NULL when ssl=disable; refcounted by OpenSSL */
	struct listener *listeners;
	struct auth *auth;
	struct resolver *resolver;
	struct hv *hv;
	struct hv_env hv_env;       /* what the backend sees of the agent */
	struct perf *perf;
	struct store *store;
	struct guest_ops *guest_ops; /* guest operations in flight (guest.c) */       /* state_dir/ LMDB */
	struct hooks *hooks;        /* the hook runner (agent/base/hook.h) */
	struct netview *net;        /* links, bridges, addresses (NULL: netlink failed) */
	struct repoview *repos;     /* the repositories and their mounts (agent/repo) */
	struct pool_cluster *cluster; /* corosync, pool state, HA (agent/pool); NULL: disabled */
	struct telemetry *telemetry; /* calls, faults, failed logins (agent/server/telemetry.h) */

	struct conn *conns;         /* every live connection (list) */
	int nconns;                 /* all live connections */
	int nunauth;                /* connections that have not yet authenticated */
	int nreject;                /* connections being turned away with 503 */

	bool stopping;              /* SIGTERM seen: drain, then exit */
	struct timer stop_timer;    /* shutdown_timeout */
	int64_t started_ms;
};

/* Stop accepting and close idle connections; exit the loop once every
 * in-flight reply has been written (or shutdown_timeout passes). */
void server_begin_stop(struct server *srv);
/* Called by conn.c when a connection goes away, to finish a stop. */
void server_conn_gone(struct server *srv);

#endif
