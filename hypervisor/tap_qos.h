/* tap_qos.h - a guest NIC's bandwidth limits, set on its tap through
 * rtnetlink (libnl-route-3), and the bridge checks the start needs.
 *
 * Guest receive (vif_other_config tbef, traffic to the guest) is what the
 * host sends on the tap: a tbf qdisc at the tap's root, with the rate and
 * latency as written.
 *
 * Guest transmit (the vif item's rate=, Xen's credit scheduler: rate x
 * window bytes per window) arrives on the tap as the host's ingress, where
 * Linux can only police (drop), not shape. The kernels here have no
 * police action (CONFIG_NET_ACT_POLICE), and a policer holds TCP well
 * below the rate anyway; so, as tc-mirred(8) describes, a u32 filter on
 * the tap's ingress qdisc redirects every frame to an ifb device of its
 * own (tap_peer_name(tap, "ifb")), whose root tbf shapes it with a bucket
 * of rate x window, then the frame continues as if received on the tap.
 * The ifb is the one thing that outlives the tap: tap_qos_clear() removes
 * it when the guest has gone.
 *
 * Why netlink and not /sbin/tc: it needs no program at a path, gives errno
 * rather than text to parse, and a request to the local kernel is answered
 * at once (the ack is queued before sendmsg returns), so doing it on the
 * loop costs what a TUNSETIFF ioctl does. */
#ifndef OVS_TAP_QOS_H
#define OVS_TAP_QOS_H

#include <stddef.h>
#include <stdint.h>

struct tap_qos {
	uint64_t out_rate;          /* guest transmit, bytes/s; 0: unlimited */
	uint64_t out_window_us;     /* its credit window (vmcfg_vif_rate) */
	uint64_t in_rate;           /* guest receive, bytes/s; 0: unlimited */
	uint64_t in_latency_us;     /* 0: TAP_QOS_LATENCY_US */
};

#define TAP_QOS_LATENCY_US 50000

/* Set q on tap (which exists). 0, or -1 with err (whatever was made is
 * undone, the ifb included). */
int tap_qos_apply(const char *tap, const struct tap_qos *q, char *err, size_t errlen);

/* Remove tap's ifb, if there is one. 0 (also when there was none), or -1
 * with err. */
int tap_qos_clear(const char *tap, char *err, size_t errlen);

/* Whether name is a bridge: 1 yes, 0 no such device, -1 with err (a
 * device that is no bridge, or netlink failed). */
int tap_bridge_exists(const char *name, char *err, size_t errlen);

/* The bridge a vif without bridge= goes to, as Xen: xenbr0 when it is a
 * bridge, else the first bridge by name. 0 and out, or -1 with err (none).
 * out holds 16 bytes. */
int tap_default_bridge(char out[16], char *err, size_t errlen);

#endif
