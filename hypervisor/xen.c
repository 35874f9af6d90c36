/* xen.c - Xen through the xl toolstack (xm's successor): every call is a
 * child process of the loop. Not run against a live Xen here (README). */
#define LOG_CAT "xen"
#include "hv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "log.h"
#include "server.h"
#include "util.h"
#include "xen_parse.h"

struct xen {
	char xl[256];
};

struct info_req {
	hv_info_cb done;
	void *arg;
};

static int xen_open(struct hv *hv, char *err, size_t errlen)
{
	static const char *const places[] = { "/usr/sbin/xl", "/usr/bin/xl", "/usr/local/sbin/xl", NULL };
	const char *env = getenv("OVS_AGENT_XL");
	struct xen *x = xcalloc(1, sizeof(*x));

	if (env && *env)
		snprintf(x->xl, sizeof(x->xl), "%s", env);
	for (int i = 0; !x->xl[0] && places[i]; i++)
		if (access(places[i], X_OK) == 0)
			snprintf(x->xl, sizeof(x->xl), "%s", places[i]);
	if (!x->xl[0] || access(x->xl, X_OK) != 0) {
		snprintf(err, errlen, "hypervisor=xen: the xl toolstack was not found "
			 "(install Debian's xen-utils and boot the Xen hypervisor)");
		free(x);
		return -1;
	}
	hv->priv = x;
	return 0;
}

static void xen_close(struct hv *hv) { free(hv->priv); }

static void on_xl_info(const struct child_result *res, void *arg)
{
	struct info_req *r = arg;
	struct hv_info info;

	if (res->timed_out || !WIFEXITED(res->status) || WEXITSTATUS(res->status) != 0) {
		char how[128], msg[512];
		child_describe(res, 30000, how, sizeof(how));
		snprintf(msg, sizeof(msg), "xl info %s: %s", how,
			 res->err->len ? res->err->data : "no error output");
		r->done(r->arg, NULL, msg);
	} else {
		hv_host_facts(&info);
		xen_parse_info(res->out->data ? res->out->data : "", &info);
		snprintf(info.hypervisor, sizeof(info.hypervisor), "xen");
		r->done(r->arg, &info, NULL);
	}
	free(r);
}

static void xen_info(struct hv *hv, hv_info_cb done, void *arg)
{
	struct xen *x = hv->priv;
	const char *argv[] = { x->xl, "info", NULL };
	const char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL };
	struct child_opts o = { .argv = argv, .envp = envp, .timeout_ms = 30000 };
	struct info_req *r = xcalloc(1, sizeof(*r));
	char err[256];

	r->done = done;
	r->arg = arg;
	if (!child_spawn(hv->srv->loop, &o, on_xl_info, r, err, sizeof(err))) {
		free(r);
		done(arg, NULL, err);
	}
}

const struct hv_ops hv_xen_ops = {
	.name = "xen",
	.open = xen_open,
	.close = xen_close,
	.info = xen_info,
};
