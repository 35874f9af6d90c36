/* vmcfg_qos.h - the QoS keys of vm.cfg (guide appendix C.2):
 *
 *   disk_other_config = [['hda', 'ionice', 'sched=best-effort,prio=5'], ...]
 *   vif_other_config  = [['00:16:3e:31:d5:4b', 'tbef', 'rate=8mbit,latency=50ms'], ...]
 *
 * Each item is [device, algorithm, parameters]. A disk's algorithm is
 * ionice (classes and priorities as ionice(1): prio 0-7); a vif's is the
 * token bucket the guide calls 'tbef' ('tbf', tc's name, is accepted too).
 * Anything else is refused, never ignored: a QoS setting that silently does
 * nothing is worse than a clear error. The backends apply what these
 * parse; the guest start checks them (guest_load_cfg, qemu_argv_build). */
#ifndef OVS_VMCFG_QOS_H
#define OVS_VMCFG_QOS_H

#include <stddef.h>
#include <stdint.h>

#include "hypervisor/vmcfg.h"

enum vmcfg_ioclass { IOCLASS_NONE = 0, IOCLASS_REALTIME, IOCLASS_BEST_EFFORT, IOCLASS_IDLE };

struct vmcfg_disk_qos {
	char dev[32];           /* the front end: hda, xvda, ... */
	int ioclass;            /* enum vmcfg_ioclass; -1 when not given */
	int prio;               /* 0-7; -1 when not given */
};

struct vmcfg_vif_qos {
	char mac[18];           /* lower case */
	char rate[32];          /* as tc writes it: 8mbit, 250kbps, 1.5mbit */
	char latency[32];       /* 50ms, 2s, 500us; "" when not given */
};

/* One item; 0, or -1 with a message naming the item's device in err. */
int vmcfg_parse_disk_qos(const struct vmcfg_value *item, struct vmcfg_disk_qos *q, char *err,
			 size_t errlen);
int vmcfg_parse_vif_qos(const struct vmcfg_value *item, struct vmcfg_vif_qos *q, char *err,
			size_t errlen);

/* A tbef item's values in numbers: bytes per second, and microseconds
 * (0 when no latency was given). 0, or -1 when q was not filled by
 * vmcfg_parse_vif_qos (which refuses what this cannot convert). */
int vmcfg_vif_qos_values(const struct vmcfg_vif_qos *q, uint64_t *bytes_per_s,
			 uint64_t *latency_us);

/* Both keys of c, every item (absent or None is none), and the vif items
 * (whose rate= is QoS too). 0, or -1 with *key the key at fault (for its
 * line: vmcfg_line) and "KEY item N: message" in err. */
int vmcfg_check_qos(const struct vmcfg *c, const char **key, char *err, size_t errlen);

#endif
