/* guest_hooks.c - guest events to the hook runner: argv, environment,
 * the site's directory, and what a failure means. */
#define LOG_CAT "guest"
#include "agent/guest/guest_hooks.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/base/child.h"
#include "agent/base/fault.h"
#include "agent/base/hook.h"
#include "agent/base/log.h"
#include "agent/base/util.h"
#include "agent/server/server.h"

static const char *const names[GE_COUNT] = {
	[GE_BEFORE_START] = "before_start", [GE_AFTER_START] = "after_start",
	[GE_BEFORE_STOP] = "before_stop", [GE_AFTER_STOP] = "after_stop",
	[GE_BEFORE_MIGRATE] = "before_migrate", [GE_AFTER_MIGRATE] = "after_migrate",
	[GE_CRASHED] = "crashed",
};

const char *guest_event_name(enum guest_event e)
{
	return (unsigned)e < GE_COUNT ? names[e] : "unknown";
}

static bool vetoes(enum guest_event e)
{
	return e == GE_BEFORE_START || e == GE_BEFORE_MIGRATE;
}

struct waiter {
	guest_hooks_cb done;
	void *arg;
	enum guest_event ev;
	char *path;             /* tell only: for the log */
};

static void on_waited(void *arg, const struct hook_result *r)
{
	struct waiter *w = arg;

	w->done(w->arg, r->fault, r->msg);
	free(w);
}

static void on_told(void *arg, const struct hook_result *r)
{
	struct waiter *w = arg;

	if (r->fault)
		log_warn("%s hooks of %s: %s (told after the fact: nothing changes)",
			 names[w->ev], w->path, r->msg);
	free(w->path);
	free(w);
}

/* Start ev's hooks; NULL with err when the runner refuses. */
static struct hook_run *run(struct server *srv, enum guest_event ev,
			    const struct guest_hook_who *who, hook_done_cb done, struct waiter *w,
			    char *err, size_t errlen)
{
	char host[256] = "", *vmcfg = xasprintf("%s/vm.cfg", who->path);
	char *env[6] = { NULL };
	const char *argv[] = { "(each)", vmcfg, names[ev], NULL };
	struct hook_req req = { .kind = HOOK_GUEST, .argv = argv, .event = names[ev],
				.guest = who->name && who->name[0] ? who->name : NULL };
	struct hook_run *r;
	size_t n = 0;

	if (gethostname(host, sizeof(host) - 1) != 0)
		snprintf(host, sizeof(host), "localhost");
	env[n++] = xasprintf("OVS_GUEST_PATH=%s", who->path);
	env[n++] = xasprintf("OVS_GUEST_NAME=%s", who->name ? who->name : "");
	env[n++] = xasprintf("OVS_GUEST_UUID=%s", who->uuid ? who->uuid : "");
	env[n++] = xasprintf("OVS_HOST=%s", host);
	if (who->peer)
		env[n++] = xasprintf("OVS_MIGRATE_PEER=%s", who->peer);
	req.env = (const char *const *)env;
	r = hook_run_dir(srv->hooks, srv->cfg.guest_hooks_dir, &req, vetoes(ev), done, w, err,
			 errlen);
	for (size_t i = 0; i < n; i++)
		free(env[i]);
	free(vmcfg);
	return r;
}

void guest_hooks_wait(struct server *srv, enum guest_event ev, const struct guest_hook_who *who,
		      guest_hooks_cb done, void *arg)
{
	struct waiter *w = xcalloc(1, sizeof(*w));
	char err[600];

	w->done = done;
	w->arg = arg;
	w->ev = ev;
	if (!run(srv, ev, who, on_waited, w, err, sizeof(err))) {
		free(w);
		done(arg, child_stopping() ? FAULT_SHUTTING_DOWN : FAULT_HOOK, err);
	}
}

void guest_hooks_tell(struct server *srv, enum guest_event ev, const struct guest_hook_who *who)
{
	struct waiter *w = xcalloc(1, sizeof(*w));
	char err[600];

	w->ev = ev;
	w->path = xstrdup(who->path);
	if (!run(srv, ev, who, on_told, w, err, sizeof(err))) {
		log_warn("%s hooks of %s not run: %s", names[ev], who->path, err);
		free(w->path);
		free(w);
	}
}
