/* tap.h - a guest's network interface on the host: a tap device.
 *
 * The agent creates each tap itself (/dev/net/tun, TUNSETIFF) and hands
 * QEMU the open fd, so QEMU needs no privilege, no qemu-bridge-helper and
 * no script. The tap is not persistent: the kernel deletes it, with its
 * bridge port and its qdiscs, when the last fd closes, that is when QEMU
 * exits (the agent closes its own copy once QEMU has started).
 *
 * Names are Xen's: vif<id>.<n>, n the item's place in the vif list. Xen's
 * id is the domain id; a QEMU guest has none before it runs, so id is the
 * first 8 hex digits of the guest's uuid: the same name at every start
 * (firewall rules and monitoring can count on it), 14 bytes at most
 * within IFNAMSIZ. A vif item's vifname= replaces the whole name, as in
 * Xen. */
#ifndef OVS_TAP_H
#define OVS_TAP_H

#include <stddef.h>

#define TAP_NAME_SIZE 16   /* IFNAMSIZ */
#define TAP_MAX_NICS 32    /* vif<8 hex>.31: 14 bytes */

/* The tap's name for item index of the guest with uuid (canonical text),
 * or vifname when not NULL or "". 0, or -1 with err when vifname is no
 * name Linux takes (empty, 16 bytes or more, ".", "..", '/', ':' or
 * blanks) or index is TAP_MAX_NICS or more. out holds TAP_NAME_SIZE. */
int tap_name(const char *uuid, const char *vifname, unsigned index, char out[TAP_NAME_SIZE],
	     char *err, size_t errlen);

/* A second name in the same family for the tap's helper device prefix
 * (like "ifb" for the device that shapes what the guest sends): prefix
 * plus what follows "vif" in a derived name, or plus 8 hex digits hashed
 * from a vifname. out holds TAP_NAME_SIZE; prefix is at most 3 bytes. */
void tap_peer_name(const char *tap, const char *prefix, char out[TAP_NAME_SIZE]);

/* Create the tap (IFF_TAP | IFF_NO_PI: plain Ethernet frames, what QEMU's
 * fd= expects), refuse a name already taken by any device, give it the
 * host-side MAC fe:ff:ff:ff:ff:ff (as Xen's netback does, so it never
 * becomes its bridge's address) and set it up. 0 and *fd (close-on-exec;
 * the caller owns it), or -1 with err naming the device. */
int tap_open(const char *name, int *fd, char *err, size_t errlen);

#endif
