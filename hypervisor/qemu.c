/* qemu.c - QEMU/KVM backend: host information for now; guests run as
 * detached QEMU processes driven over QMP (guests issue). */
#define LOG_CAT "qemu"
#include "hv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "log.h"
#include "server.h"
#include "util.h"

struct qemu {
	char binary[256];
	bool kvm;
	int major, minor;
	char extra[64];
	bool have_version;
};

struct info_req {
	struct hv *hv;
	hv_info_cb done;
	void *arg;
};

static int qemu_open(struct hv *hv, char *err, size_t errlen)
{
	struct qemu *q = xcalloc(1, sizeof(*q));
	const char *env = getenv("OVS_AGENT_QEMU");
	struct utsname u;
	int fd;

	uname(&u);
	if (env && *env)
		snprintf(q->binary, sizeof(q->binary), "%s", env);
	else
		snprintf(q->binary, sizeof(q->binary), "/usr/bin/qemu-system-%s",
			 strcmp(u.machine, "aarch64") == 0 ? "aarch64" : u.machine);
	if (access(q->binary, X_OK) != 0) {
		snprintf(err, errlen, "hypervisor=qemu: %s: %s (install Debian's qemu-system-x86, "
			 "or set hypervisor=sim for a simulated host)", q->binary, strerror(errno));
		free(q);
		return -1;
	}
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	q->kvm = fd >= 0;
	if (fd >= 0)
		close(fd);
	hv->priv = q;
	log_info("QEMU backend: %s with %s", q->binary, q->kvm ? "KVM" : "TCG (no usable /dev/kvm)");
	return 0;
}

static void qemu_close(struct hv *hv)
{
	free(hv->priv);
}

static void fill(struct hv *hv, struct hv_info *info)
{
	struct qemu *q = hv->priv;

	hv_host_facts(info);
	snprintf(info->hypervisor, sizeof(info->hypervisor), "%s", q->kvm ? "kvm" : "tcg");
	info->xen_major = q->major;
	info->xen_minor = q->minor;
	snprintf(info->xen_extra, sizeof(info->xen_extra), "%s", q->extra);
	snprintf(info->xen_caps, sizeof(info->xen_caps), "hvm-%s%s", info->machine,
		 q->kvm ? "" : "-tcg");
}

/* "QEMU emulator version 7.2.19 (Debian 1:7.2+dfsg-7+deb12u18)" */
static void on_version(const struct child_result *res, void *arg)
{
	struct info_req *r = arg;
	struct qemu *q = r->hv->priv;
	struct hv_info info;
	const char *p = res->out->data ? strstr(res->out->data, "version ") : NULL;

	if (p && sscanf(p + 8, "%d.%d%63[^ \n]", &q->major, &q->minor, q->extra) >= 2)
		q->have_version = true;
	if (!q->have_version) {
		char how[128];
		child_describe(res, 10000, how, sizeof(how));
		r->done(r->arg, NULL, "cannot read the QEMU version");
		log_err("%s --version %s", q->binary, how);
		free(r);
		return;
	}
	fill(r->hv, &info);
	r->done(r->arg, &info, NULL);
	free(r);
}

static void qemu_info(struct hv *hv, hv_info_cb done, void *arg)
{
	struct qemu *q = hv->priv;
	const char *argv[] = { q->binary, "--version", NULL };
	const char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL };
	struct child_opts o = { .argv = argv, .envp = envp, .timeout_ms = 10000 };
	struct info_req *r;
	struct hv_info info;
	char err[256];

	if (q->have_version) {
		fill(hv, &info);
		done(arg, &info, NULL);
		return;
	}
	r = xcalloc(1, sizeof(*r));
	r->hv = hv;
	r->done = done;
	r->arg = arg;
	if (!child_spawn(hv->srv->loop, &o, on_version, r, err, sizeof(err))) {
		free(r);
		done(arg, NULL, err);
	}
}

const struct hv_ops hv_qemu_ops = {
	.name = "qemu",
	.open = qemu_open,
	.close = qemu_close,
	.info = qemu_info,
};
