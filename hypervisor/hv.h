/* hv.h - the hypervisor interface: one function table, one backend per
 * file (sim.c, qemu.c, xen.c), chosen by `hypervisor=` in agent.ini and
 * never by silent fallback (libvirt's driver-hypervisor.h, in small).
 *
 * Operations that may be slow take a completion callback and may answer
 * later; none blocks the loop. This surface is host information;
 * the guest lifecycle joins it with the guests work. */
#ifndef OVS_HV_H
#define OVS_HV_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct server;
struct hv;

/* What `xm info` / `xl info` report, in the same units (MB, MHz). */
struct hv_info {
	char host[256];
	char release[128];
	char version[256];
	char machine[65];
	int nr_cpus;
	int nr_nodes;
	int cores_per_socket;
	int threads_per_core;
	int cpu_mhz;
	char hw_caps[1024];
	char virt_caps[64];
	uint64_t total_memory;  /* MB */
	uint64_t free_memory;   /* MB available for guests */
	char hypervisor[32];    /* "sim", "kvm", "tcg", "xen" */
	int xen_major;          /* the hypervisor's version, whatever it is */
	int xen_minor;
	char xen_extra[64];
	char xen_caps[256];
	char cc_compiler[128];  /* what built the hypervisor (or the agent) */
};

/* err is NULL on success; info is valid only during the call. */
typedef void (*hv_info_cb)(void *arg, const struct hv_info *info, const char *err);

struct hv_ops {
	const char *name;
	int (*open)(struct hv *hv, char *err, size_t errlen);
	void (*close)(struct hv *hv);
	void (*info)(struct hv *hv, hv_info_cb done, void *arg);
};

struct hv {
	const struct hv_ops *ops;
	struct server *srv;
	void *priv;             /* the backend's own state */
};

/* Open the backend named by kind. Returns NULL with err on failure. */
struct hv *hv_open(struct server *srv, enum hv_kind kind, char *err, size_t errlen);
void hv_close(struct hv *hv);

/* Host facts every backend starts from: uname, /proc/cpuinfo,
 * /proc/meminfo. Never fails; unknown fields stay zero/empty. */
void hv_host_facts(struct hv_info *info);

extern const struct hv_ops hv_sim_ops, hv_qemu_ops, hv_xen_ops;

#endif
