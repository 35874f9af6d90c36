/* hv.h - the hypervisor interface: one function table, one backend per
 * file (sim.c, qemu.c, xen.c), chosen by `hypervisor=` in agent.ini and
 * never by silent fallback (libvirt's driver-hypervisor.h, in small).
 *
 * Operations that may be slow take a completion callback and may answer
 * later; none blocks the loop. Guests are named by uuid. */
#ifndef OVS_HV_H
#define OVS_HV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hooks;
struct hv;
struct loop;
struct store;
struct vmcfg;

enum hv_kind { HV_SIM, HV_QEMU, HV_XEN };

/* How the qemu backend runs guests: KVM when /dev/kvm opens (auto), or
 * one of the two by name. tcg serves hosts where /dev/kvm opens but
 * guests hang under it (nested virtualisation). */
enum hv_accel { ACCEL_AUTO, ACCEL_KVM, ACCEL_TCG };

/* What a backend gets from the agent: never the agent itself. The agent
 * owns it and keeps it current (guest_stop_timeout changes on SIGHUP). */
struct hv_env {
	struct loop *loop;
	struct store *store;        /* the agent's state store */
	char *state_dir;            /* where the backend keeps its files (owned) */
	int guest_stop_timeout;     /* seconds a clean stop may take */
	enum hv_accel accel;        /* qemu only */
	bool stopping;              /* the agent is stopping: start nothing long */
	struct hooks *hooks;        /* the hook runner (vif-bridge for guest NICs) */
};

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

/* A guest as the backend sees it. */
enum hv_state { HV_RUNNING = 1, HV_PAUSED, HV_CRASHED };

struct hv_dom {
	char uuid[40];
	char name[256];
	long long id;           /* domain id, process id */
	enum hv_state state;
	int memory;             /* MB */
	int vcpus;
	int vnc_port;           /* -1 when none */
	long long started;      /* seconds since the epoch; 0 when unknown */
};

/* What a backend needs to start a guest (from its vm.cfg). */
struct hv_guest {
	const char *path;       /* the guest's directory */
	const char *name;
	const char *uuid;
	int memory;             /* MB */
	int vcpus;
	const struct vmcfg *cfg;
};

/* Actions on a running guest that need nothing but its uuid. */
enum hv_action {
	HV_SHUTDOWN,    /* clean stop: ask the guest (ACPI), power off after a timeout */
	HV_DESTROY,     /* power off now */
	HV_PAUSE,
	HV_UNPAUSE,
	HV_REBOOT,      /* clean reboot */
	HV_RESET,       /* hard reset */
};

/* fault is 0 on success, else a fault.h code with a message. */
typedef void (*hv_done_cb)(void *arg, int fault, const char *msg);

/* What a running guest has used, for xen_get_vm_perf_metrics. */
struct hv_stats {
	double cpu_seconds;     /* CPU time the guest's vcpus (and their
				 * emulation) have used since it started */
	double uptime;          /* seconds since it started */
	uint64_t memory_kb;     /* host memory it holds now */
	uint64_t rd_bytes, wr_bytes, rd_ops, wr_ops;   /* its disks, summed */
};

/* stats is valid only during the call; NULL with fault/msg on failure. */
typedef void (*hv_stats_cb)(void *arg, const struct hv_stats *stats, int fault, const char *msg);

struct hv_ops {
	const char *name;
	int (*open)(struct hv *hv, char *err, size_t errlen);
	void (*close)(struct hv *hv);
	void (*info)(struct hv *hv, hv_info_cb done, void *arg);
	/* The guest lifecycle. A backend that cannot do one leaves it NULL
	 * and the caller answers "not supported" (fault 1007). */
	void (*start)(struct hv *hv, const struct hv_guest *g, hv_done_cb done, void *arg);
	void (*act)(struct hv *hv, const char *uuid, enum hv_action a, hv_done_cb done, void *arg);
	/* Suspend to a state file / resume from it. */
	void (*save)(struct hv *hv, const char *uuid, const char *file, hv_done_cb done, void *arg);
	void (*restore)(struct hv *hv, const struct hv_guest *g, const char *file, hv_done_cb done,
			void *arg);
	/* The guests it runs now: *doms is malloc'd (free it). 0 or -1. */
	int (*list)(struct hv *hv, struct hv_dom **doms, size_t *n, char *err, size_t errlen);
	/* Live migration. Destination: start g waiting for its state on
	 * listen_ip; done's msg is then the URI the source sends to.
	 * Source: send the running guest there; on success it no longer runs
	 * here. Destination again: wait until the state has arrived and let
	 * the guest run. (Aborting is HV_DESTROY on the destination.) */
	void (*migrate_listen)(struct hv *hv, const struct hv_guest *g, const char *listen_ip,
			       hv_done_cb done, void *arg);
	void (*migrate_send)(struct hv *hv, const char *uuid, const char *uri, hv_done_cb done,
			     void *arg);
	void (*migrate_finish)(struct hv *hv, const char *uuid, hv_done_cb done, void *arg);
	void (*stats)(struct hv *hv, const char *uuid, hv_stats_cb done, void *arg);
};

/* What a backend reports about a guest on its own: changes nobody asked
 * for (the guest powered itself off, crashed, was paused by QEMU). */
enum hv_event { HV_EV_RUNNING, HV_EV_PAUSED, HV_EV_CRASHED, HV_EV_GONE };

struct hv {
	const struct hv_ops *ops;
	const struct hv_env *env;
	void *priv;             /* the backend's own state */
	/* Set by the agent; a backend calls it (when set) from the loop. */
	void (*on_event)(struct hv *hv, const char *uuid, enum hv_event ev);
	void *owner;            /* the agent's, for on_event */
};

/* Open the backend named by kind; env must outlive it. Returns NULL with
 * err on failure. */
struct hv *hv_open(const struct hv_env *env, enum hv_kind kind, char *err, size_t errlen);
void hv_close(struct hv *hv);

/* Host facts every backend starts from: uname, /proc/cpuinfo,
 * /proc/meminfo. Never fails; unknown fields stay zero/empty. */
void hv_host_facts(struct hv_info *info);

/* Find uuid among the backend's guests: 1 and *out, 0 absent, -1 error. */
int hv_lookup(struct hv *hv, const char *uuid, struct hv_dom *out, char *err, size_t errlen);
const char *hv_action_name(enum hv_action a);

/* sim only: inject a failure for op ("once", "always", "clear"), or make
 * a guest crash. 0, or -1 with err (also when the backend is not sim). */
int sim_inject_fault(struct hv *hv, const char *op, const char *action, char *err, size_t errlen);
int sim_crash(struct hv *hv, const char *uuid, char *err, size_t errlen);

extern const struct hv_ops hv_sim_ops, hv_qemu_ops, hv_xen_ops;

#endif
