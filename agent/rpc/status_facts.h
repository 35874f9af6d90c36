/* status_facts.h - one snapshot of what the agent knows of itself, for
 * every reader: get_agent_status (methods_status.c), GET /metrics and
 * GET /status render the same facts, never their own copies.
 *
 * Gathered from what the loop holds (the store, the hook records, the
 * repository, network and pool views, the telemetry, auth's slow-down,
 * the TLS context). Nothing blocks: the repositories' sizes come from a
 * statvfs child (repo_probe, at most STATUS_PROBE_MS), and the
 * hypervisor's version is the last one known when the backend would
 * need a child to tell it. */
#ifndef OVS_STATUS_FACTS_H
#define OVS_STATUS_FACTS_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/base/hook.h"
#include "agent/repo/repoview.h"
#include "agent/server/auth.h"
#include "agent/server/telemetry.h"
#include "db/guests.h"
#include "db/pool.h"

struct server;

#define STATUS_PROBE_MS 5000    /* the sizes' child; after it, sizes unknown */
#define STATUS_HOOKS 20         /* the last runs shown */
#define STATUS_LOGINS 256       /* telemetry keeps no more pairs */
#define STATUS_SLOWED 64

struct sf_host {
	char name[256];
	char agent_version[64];
	int64_t uptime_s;
	char hypervisor[32];            /* sim, kvm, tcg, xen */
	char hypervisor_version[128];   /* "4.4.4", "7.2-sim"; "" not known yet */
	int cpus;
	uint64_t mem_total_mb, mem_free_mb;
	uint64_t rss_bytes;
	int connections;
};

struct sf_guest {
	char *path, *name;              /* name: NULL when the record has none */
	const char *status;             /* guest_status_name, or "unknown" */
	long long memory, vcpus;        /* GUEST_NO_INT when absent */
	bool ha;
	char *host;                     /* the server running it; NULL when none */
	char *last_error;               /* NULL when none */
};

struct sf_repo {
	struct repo r;
	bool sized;                     /* total and free known */
	unsigned long long total, free; /* bytes */
};

struct sf_bridge {
	char name[IFNAMSIZ];
	bool carrier;
	size_t nports;
	char (*ports)[IFNAMSIZ];
};

struct sf_member {
	char ip[POOL_IP_MAX];
	char roles[POOL_ROLES_TEXT_MAX];
	bool in_cluster;                /* its agent is in corosync's group */
	int64_t hb_age_ms;              /* its heartbeat slot's age; -1 never read */
};

struct sf_pool {
	bool in_pool;
	char roles[POOL_ROLES_TEXT_MAX];/* this server's */
	char master[POOL_IP_MAX];
	size_t nmembers;
	struct sf_member *members;
	bool quorate, synced, pool_ha;
	bool cluster_enabled;           /* cluster=enable */
	size_t cluster_members;         /* servers in corosync's group as seen here */
};

struct sf_hook {
	struct hook_record rec;
	bool failed;                    /* ended, and not with exit status 0 */
};

/* Every record the runner keeps counted by (hook, result), for /metrics;
 * result: "ok", "failed", "timeout", "killed", "running", "queued". */
struct sf_hook_count {
	char hook[sizeof(((struct hook_record *)0)->hook)];
	const char *result;
	uint64_t count;
};

struct sf_security {
	bool have_cert;                 /* ssl=enable */
	char cert_subject[512];
	int64_t cert_expiry;            /* notAfter, Unix time */
	int64_t cert_days_left;         /* whole days, rounded down; negative: expired */
	bool cert_warning;              /* under 30 days left */
	size_t nlogins;
	struct tm_login *logins;        /* failed logins, the last hour, newest first */
	size_t nslowed;
	struct auth_slowed slowed[STATUS_SLOWED];
};

struct sf_requests {
	size_t nmethods;                /* the telemetry's rows, "(unknown)" last */
	const struct tm_method *methods;
	size_t nfaults;
	const struct tm_fault *faults;
	size_t nauthfail;
	const struct tm_authfail *authfail;
	double p50_ms, p99_ms;
};

struct status_facts {
	int64_t now_unix;
	struct sf_host host;
	bool guests_read;               /* the store answered: the guests and counts are whole */
	size_t status_count[GS_COUNT];  /* [GS_NONE]: guests whose status is not known */
	size_t nguests;
	struct sf_guest *guests;        /* in path order */
	size_t nrepos;
	struct sf_repo *repos;
	size_t nbridges;
	struct sf_bridge *bridges;
	struct sf_pool pool;
	size_t nhooks;
	struct sf_hook *hooks;          /* failures first, then newest first */
	size_t nhook_counts;
	struct sf_hook_count *hook_counts; /* by hook, then result */
	struct sf_security security;
	struct sf_requests requests;    /* views into the telemetry: read them in the callback */
	char error[256];                /* what could not be read ("" none); the rest is still there */
};

/* f is valid during the call only. */
typedef void (*status_facts_cb)(void *arg, const struct status_facts *f);
/* Gather, then call cb from the loop: at once when no repository is
 * mounted, else when the sizes' child answers (or STATUS_PROBE_MS). */
void status_facts_gather(struct server *srv, status_facts_cb cb, void *arg);

#endif
