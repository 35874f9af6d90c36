/* hook.h - the hook runner: every hook the agent runs goes through it.
 *
 * A hook is an executable run as a child of the loop (child.h): an argv
 * and a documented environment, never a shell string; its own process
 * group; stdin from /dev/null. A timeout per kind of hook (agent.ini
 * hook_timeout_<kind>): at the deadline the whole group gets SIGTERM,
 * then SIGKILL (fault 1500). stdout and stderr are captured up to a cap,
 * keeping the tail; a non-zero exit is fault 1200 with the exit status
 * and the end of stderr. At most max_running hooks run at once; the
 * others wait in a queue, first come first served, and show as queued.
 * Every run is logged and kept in a bounded ring of records
 * (list_hook_runs).
 *
 * Base layer, so a hypervisor backend can run hooks too (vif-bridge):
 * the runner knows nothing of guests; hook_req.guest is only recorded. */
#ifndef OVS_HOOK_H
#define OVS_HOOK_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/base/buf.h"

struct loop;
struct hooks;
struct hook_run;

enum hook_kind { HOOK_GUEST, HOOK_NETWORK, HOOK_REPOSITORY, HOOK_CLUSTER, HOOK_KINDS };
const char *hook_kind_name(enum hook_kind k);    /* "guest", "network", ... */

struct hook_settings {
	const char *dir;                /* hooks_dir: where shipped hooks are */
	int timeout_ms[HOOK_KINDS];     /* agent.ini hook_timeout_<kind> (seconds there) */
	int max_running;                /* hooks_max_running; others queue */
	size_t max_output;              /* per stream, tail kept */
	size_t ring;                    /* records kept for list_hook_runs */
};
/* What a setting of 0 means. */
#define HOOK_TIMEOUT_DEFAULT_MS 60000
#define HOOK_MAX_OUTPUT_DEFAULT (64 * 1024)
#define HOOK_RING_DEFAULT 256
/* Bounds on a request: hook_run refuses beyond them. */
#define HOOK_ARGS_MAX 64                /* argv entries */
#define HOOK_ENV_MAX 64                 /* extra environment entries */
#define HOOK_STRING_MAX 4096            /* bytes in one argument or entry */
#define HOOK_QUEUE_MAX 4096             /* runs waiting for a slot */
#define HOOK_DIR_MAX 256                /* executables in one hook_run_dir */

struct hooks *hooks_new(struct loop *loop, const struct hook_settings *s);
/* New settings (SIGHUP); runs in flight keep their timeout. More slots
 * start queued runs at once. */
void hooks_configure(struct hooks *h, const struct hook_settings *s);
/* At exit, after child_end_all(): a run still in flight (one whose
 * child did not end, a hook_run_dir between two hooks) gets its done
 * with FAULT_SHUTTING_DOWN here, so call this while the owners exist.
 * Safe with NULL. */
void hooks_free(struct hooks *h);
const char *hooks_dir(const struct hooks *h);

struct hook_req {
	enum hook_kind kind;
	const char *const *argv;        /* argv[0]: absolute path, or a bare name
	                                 * looked up in hooks_dir */
	const char *const *env;         /* extra "KEY=VALUE" (NULL-terminated, may be NULL);
	                                 * the runner adds PATH, OVS_HOOK_KIND, OVS_HOOK_EVENT */
	const char *event;              /* "start", "before_start", ...; may be NULL */
	const char *guest;              /* the guest's name, or NULL */
	int timeout_ms;                 /* 0: the kind's timeout */
};

struct hook_result {
	int fault;          /* 0, FAULT_HOOK (non-zero exit), FAULT_TIMEOUT, FAULT_SHUTTING_DOWN */
	const char *msg;    /* "network-bridge start: exited with status 1: <stderr tail>" */
	int status;         /* wait status */
	const struct buf *out, *err;    /* captured tails */
};
typedef void (*hook_done_cb)(void *arg, const struct hook_result *r);

/* Queue or start; done is called exactly once from the loop (never from inside
 * hook_run), unless hook_cancel() comes first. NULL with err when refused
 * (bad argv, the agent stopping). The request is copied: nothing in it
 * need outlive the call. */
struct hook_run *hook_run(struct hooks *h, const struct hook_req *req,
                          hook_done_cb done, void *arg, char *err, size_t errlen);
/* Kill a running hook's group (recorded as cancelled) or drop a queued
 * one; done is not called. Safe with NULL. */
void hook_cancel(struct hook_run *r);

/* Every executable regular file in dir, in name (strcmp) order, one after the
 * other with the same req (argv[0] replaced by each file); stops at the
 * first failure when stop_on_failure (before_* events veto). A missing dir
 * is success with nothing run. Names starting with '.' are skipped. The
 * result is the first failure's, else the last hook's; without
 * stop_on_failure every hook runs and a failure is still reported. */
struct hook_run *hook_run_dir(struct hooks *h, const char *dir, const struct hook_req *req,
                              bool stop_on_failure, hook_done_cb done, void *arg,
                              char *err, size_t errlen);

/* The ring, newest first, for list_hook_runs and the status page. */
struct hook_record {
	char hook[256], argv[1024], event[32], guest[256], kind[16];
	long long started_ms;   /* wall clock, ms since the epoch (queued: when queued) */
	long long duration_ms;  /* so far, while running */
	long long queued_ms;    /* how long it waited for a slot */
	int exit_status;        /* -1 when killed */
	int signal;             /* 0 unless killed by a signal */
	bool timed_out;
	char tail[1024];        /* last output, valid UTF-8 */
	bool queued, running;   /* still in flight */
};
/* Up to max records into out, newest (latest started or queued) first,
 * in-flight runs included; returns how many. */
size_t hooks_records(const struct hooks *h, struct hook_record *out, size_t max);
/* How many records hooks_records() has now (kept and in flight). */
size_t hooks_count(const struct hooks *h);

#endif
