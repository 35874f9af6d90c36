/* sim.c - the embedded simulated hypervisor (libvirt's test driver, in
 * spirit): honest host facts, no real guests. The guests issue gives it
 * guest state, memory and vcpu accounting, and injectable failures. */
#include "hv.h"

#include <stdio.h>

static int sim_open(struct hv *hv, char *err, size_t errlen) { return 0; }
static void sim_close(struct hv *hv) { }

static void sim_info(struct hv *hv, hv_info_cb done, void *arg)
{
	struct hv_info info;

	hv_host_facts(&info);
	snprintf(info.hypervisor, sizeof(info.hypervisor), "sim");
	/* The simulator's version is the agent's own. */
	info.xen_major = 2;
	info.xen_minor = 2;
	snprintf(info.xen_extra, sizeof(info.xen_extra), "-sim");
	snprintf(info.xen_caps, sizeof(info.xen_caps), "sim-%s", info.machine);
	done(arg, &info, NULL);
}

const struct hv_ops hv_sim_ops = {
	.name = "sim",
	.open = sim_open,
	.close = sim_close,
	.info = sim_info,
};
