/* hv.c - backend selection and the host facts all backends share. */
#include "hypervisor/hv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "agent/base/util.h"

struct hv *hv_open(const struct hv_env *env, enum hv_kind kind, char *err, size_t errlen)
{
	const struct hv_ops *ops = kind == HV_SIM ? &hv_sim_ops :
				   kind == HV_QEMU ? &hv_qemu_ops : &hv_xen_ops;
	struct hv *hv = xcalloc(1, sizeof(*hv));

	hv->ops = ops;
	hv->env = env;
	if (ops->open(hv, err, errlen) != 0) {
		free(hv);
		return NULL;
	}
	return hv;
}

void hv_close(struct hv *hv)
{
	if (!hv)
		return;
	hv->ops->close(hv);
	free(hv);
}

static uint64_t meminfo_mb(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[256];
	size_t klen = strlen(key);
	uint64_t kb = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			kb = strtoull(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb / 1024;
}

static void cpuinfo(struct hv_info *info)
{
	FILE *f = fopen("/proc/cpuinfo", "re");
	char line[8192];
	int siblings = 0, cores = 0;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':'), *v;
		if (!colon)
			continue;
		v = colon + 1;
		while (*v == ' ')
			v++;
		v[strcspn(v, "\n")] = '\0';
		if (!info->cpu_mhz && strncmp(line, "cpu MHz", 7) == 0)
			info->cpu_mhz = (int)(strtod(v, NULL) + 0.5);
		else if (!siblings && strncmp(line, "siblings", 8) == 0)
			siblings = atoi(v);
		else if (!cores && strncmp(line, "cpu cores", 9) == 0)
			cores = atoi(v);
		else if (!info->hw_caps[0] && strncmp(line, "flags", 5) == 0) {
			/* The virtualisation flags are what a manager looks for. */
			info->virt_caps[0] = '\0';
			if (strstr(v, " vmx") || strncmp(v, "vmx", 3) == 0)
				snprintf(info->virt_caps, sizeof(info->virt_caps), "hvm");
			if (strstr(v, " svm") || strncmp(v, "svm", 3) == 0)
				snprintf(info->virt_caps, sizeof(info->virt_caps), "hvm");
			snprintf(info->hw_caps, sizeof(info->hw_caps), "%s", v);
			for (size_t k = strlen(info->hw_caps); k && info->hw_caps[k - 1] == ' ';)
				info->hw_caps[--k] = '\0';
		}
	}
	fclose(f);
	info->cores_per_socket = cores ? cores : 1;
	info->threads_per_core = (cores && siblings >= cores) ? siblings / cores : 1;
}

void hv_host_facts(struct hv_info *info)
{
	struct utsname u;
	long n;

	memset(info, 0, sizeof(*info));
	if (uname(&u) == 0) {
		snprintf(info->host, sizeof(info->host), "%s", u.nodename);
		snprintf(info->release, sizeof(info->release), "%s", u.release);
		snprintf(info->version, sizeof(info->version), "%s", u.version);
		snprintf(info->machine, sizeof(info->machine), "%s", u.machine);
	}
	n = sysconf(_SC_NPROCESSORS_ONLN);
	info->nr_cpus = n > 0 ? (int)n : 1;
	info->nr_nodes = 1;
	cpuinfo(info);
	info->total_memory = meminfo_mb("MemTotal");
	info->free_memory = meminfo_mb("MemAvailable");
	snprintf(info->cc_compiler, sizeof(info->cc_compiler), "gcc version %s", __VERSION__);
}

int hv_lookup(struct hv *hv, const char *uuid, struct hv_dom *out, char *err, size_t errlen)
{
	struct hv_dom *doms = NULL;
	size_t n = 0;
	int found = 0;

	if (!hv->ops->list) {
		snprintf(err, errlen, "the %s backend cannot list guests", hv->ops->name);
		return -1;
	}
	if (hv->ops->list(hv, &doms, &n, err, errlen) != 0)
		return -1;
	for (size_t i = 0; i < n && !found; i++)
		if (strcmp(doms[i].uuid, uuid) == 0) {
			*out = doms[i];
			found = 1;
		}
	free(doms);
	return found;
}

const char *hv_action_name(enum hv_action a)
{
	static const char *const names[] = { "shutdown", "destroy", "pause", "unpause",
					     "reboot", "reset" };

	return (unsigned)a < ARRAY_SIZE(names) ? names[a] : "?";
}
