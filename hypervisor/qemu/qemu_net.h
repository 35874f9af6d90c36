/* qemu_net.h - a QEMU guest's NICs on the host, before QEMU and after it.
 *
 * Before QEMU starts (a start, a resume, the destination of a migration),
 * qnet_open() and qnet_online() do, for each vif item (qemu_nics()):
 *   1. find its bridge: bridge=, else the host's default (xenbr0, else the
 *      first bridge, as Xen); a bridge that does not exist fails the start
 *      with fault 1004 naming the bridge and vm.cfg's vif line, before
 *      anything is made;
 *   2. create its tap (tap_open) and set its QoS (tap_qos_apply);
 *   3. run `vif-bridge online` through the hook runner (kind network,
 *      event "online"; environment vif=TAP bridge=BRIDGE mac=GUEST_MAC),
 *      which attaches the tap to its bridge.
 * QEMU then gets the taps' fds (qnet_fds, kept open across its exec); the
 * agent closes its own copies once QEMU runs (qnet_close_fds), so the taps
 * live exactly as long as QEMU.
 *
 * After QEMU has gone, qnet_release() runs `vif-bridge offline` for each
 * tap (which finds it gone: the kernel deleted it, port and qdiscs with
 * it) so a site's own vif-bridge can undo what it did, and deletes the ifb
 * devices QoS made (the only thing that outlives a tap). The record
 * (qnet_format/qnet_parse) lets an agent restarted meanwhile do the same
 * for a guest that ended while it was down. */
#ifndef OVS_QEMU_NET_H
#define OVS_QEMU_NET_H

#include <stddef.h>

struct hv_env;
struct hv_guest;
struct qnet;

/* fault is 0, or a fault.h code with msg. */
typedef void (*qnet_done_cb)(void *arg, int fault, const char *msg);

/* Steps 1 and 2, at once: the qnet (empty for a guest without vif
 * items), or NULL with *fault and err (nothing left behind). */
struct qnet *qnet_open(const struct hv_env *env, const struct hv_guest *g, int *fault,
		       char *err, size_t errlen);

/* Step 3, one NIC after the other, the first failure ending it; done is
 * called exactly once, from the loop, never from inside this call (and
 * not at all when qnet_release or qnet_free comes first). */
void qnet_online(struct qnet *n, qnet_done_cb done, void *arg);

/* The taps' fds, one per NIC in vif order (valid until qnet_close_fds). */
const int *qnet_fds(const struct qnet *n, size_t *count);
void qnet_close_fds(struct qnet *n);

/* "TAP,BRIDGE,MAC,IFB TAP,..." for the guests table (malloc'd; "" when
 * none), and back (guest: its name, for the hook records): NULL when
 * text is NULL or "" (no NICs) or malformed. */
char *qnet_format(const struct qnet *n);
struct qnet *qnet_parse(const char *text, const char *guest);

/* The guest's QEMU has gone (or never ran): offline hooks for the NICs
 * that went online, ifbs deleted, fds closed, n freed. NULL is nothing.
 * env is the one given to qnet_open (a parsed qnet takes it here). */
void qnet_release(const struct hv_env *env, struct qnet *n);

/* Forget n without undoing anything (the agent stops; the guest runs on). */
void qnet_free(struct qnet *n);

#endif
