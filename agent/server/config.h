/* config.h - agent.ini: every key the agent knows, its default and its limits.
 *
 * Format: `key=value` lines, `;` or `#` start a comment line, blank lines
 * ignored, optional `[section]` headers are accepted and ignored, whitespace
 * around key and value trimmed. Unknown keys, repeated keys and bad values
 * are errors reported as "FILE:LINE: message". */
#ifndef OVS_CONFIG_H
#define OVS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/base/hook.h"
#include "hypervisor/hv.h"

struct acl;

enum auth_mode { AUTH_PASSWORD, AUTH_PAM };

struct agent_config {
	char *path;             /* the file this was read from */

	/* listening */
	char *listen;           /* comma separated addresses; "*" = all (dual stack) */
	int port;               /* 8899 */

	/* TLS */
	bool ssl;               /* ssl=enable|disable */
	char *ssl_cert;         /* /etc/ovs-agent/cert/certificate.pem */
	char *ssl_key;          /* /etc/ovs-agent/cert/key.pem */

	/* access */
	char *allow_spec;       /* allow=*  (raw text, as written) */
	char *deny_spec;        /* deny=    */
	struct acl *allow;      /* compiled from allow_spec */
	struct acl *deny;       /* compiled from deny_spec */

	/* authentication */
	enum auth_mode auth;    /* auth=password|pam */
	char *password_file;    /* /etc/ovs-agent/password */
	char *pam_service;      /* ovs-agent */
	int auth_cache_ttl;     /* seconds a verified credential is remembered: 300 */
	int auth_fail_limit;    /* failures from one address before slowing down: 5 */
	int auth_fail_delay_max;/* upper bound of the slow-down, seconds: 30 */

	/* places */
	char *state_dir;        /* /etc/ovs-agent/db */
	char *log_file;         /* /opt/ovs-agent-2.2/logs/ovs-agent.log */
	int log_level;          /* LOG_ERR..LOG_DEBUG from <syslog.h>; log_level=error|warning|info|debug */
	bool log_syslog;        /* syslog=yes|no */
	char *pid_file;         /* /run/ovs-agent.pid */
	enum hv_kind hypervisor;/* hypervisor=sim|qemu|xen, default qemu */
	char *ovs_root;         /* /OVS */
	char *hooks_dir;        /* /usr/lib/ovs */
	char *repositories_file;/* /etc/ovs/repositories */

	/* HTTP limits */
	size_t max_header_bytes;   /* 16384 */
	size_t max_body_bytes;     /* 4194304 */
	int idle_timeout;          /* seconds a keep-alive connection may sit idle: 60 */
	int request_timeout;       /* seconds to receive one whole request: 30 */
	int max_connections;       /* 1024 */
	int max_unauth_connections;/* connections not yet authenticated: 256 */
	int shutdown_timeout;      /* seconds SIGTERM waits for in-flight replies: 30 */

	/* guests */
	int guest_stop_timeout;    /* seconds a clean stop (ACPI) may take before power-off: 120 */
	enum hv_accel qemu_accel; /* qemu_accel=auto|kvm|tcg, default auto */
	size_t template_max_bytes; /* most a template may unpack to: 64 GiB */

	/* hooks (agent/base/hook.h) */
	int hook_timeout_guest;    /* seconds a guest hook may run: 60 */
	int hook_timeout_network;  /* network-bridge, vif-bridge: 30 */
	int hook_timeout_repository; /* 120 */
	int hook_timeout_cluster;  /* 60 */
	int hooks_max_running;     /* hooks at once; others queue: 8 */
	char *guest_hooks_dir;     /* the site's guest event hooks: <hooks_dir>/guest.d */

	/* networks */
	char *network_bridges;     /* BRIDGE[:NETDEV],... brought up at start; "" none */

	/* the cluster (agent/cluster, agent/pool) */
	bool cluster;              /* cluster=enable|disable: join corosync's group */
	char *cluster_root;        /* the shared repository holding the heartbeat: ovs_root */
	int hb_interval;           /* seconds between heartbeat writes: 1 */
	int hb_timeout;            /* a slot unchanged this long is stale: 3 */
	int fence_timeout;         /* a server out of quorum powers off its HA guests
				    * within this; the others wait this long: 4 */
	char *corosync_dir;        /* corosync.conf and authkey: /etc/corosync */
	char *ocfs2_conf;          /* o2cb's cluster.conf: /etc/ocfs2/cluster.conf */
};

/* Fill cfg with the documented defaults (allocations owned by cfg). */
void config_defaults(struct agent_config *cfg);

/* Read path over the defaults. Returns 0, or -1 with "path:line: message"
 * (or "path: strerror") in err. On error cfg is left freed and zeroed. */
int config_load(const char *path, struct agent_config *cfg, char *err, size_t errlen);

/* Parse ini text held in memory (used by config_load and the fuzzer);
 * `name` is used in messages. Same contract as config_load. */
int config_parse(const char *name, const char *text, size_t len,
		 struct agent_config *cfg, char *err, size_t errlen);

void config_free(struct agent_config *cfg);

/* Names for enum values, for messages and the status page. */
const char *config_hv_name(enum hv_kind k);
/* The hook runner's settings from agent.ini (seconds there, ms here). */
struct hook_settings config_hook_settings(const struct agent_config *cfg);
const char *config_log_level_name(int level);

#endif
