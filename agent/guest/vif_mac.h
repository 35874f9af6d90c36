/* vif_mac.h - a MAC for every vif item that has none.
 *
 * A guest NIC without a MAC would get a new one from the hypervisor at
 * every start (xm picked one at random), and with it a new DHCP lease and
 * a new identity on the network. So before a start the guest layer gives
 * each vif item without mac= one in Xen's range, 00:16:3e:XX:XX:XX with
 * the fourth byte below 0x80 (xm's randomMAC()), distinct from the guest's
 * other vifs, and writes it into vm.cfg: from then on the guest keeps it,
 * whatever backend or host starts it. Items that do not parse are left
 * alone (the start refuses them with their line). */
#ifndef OVS_VIF_MAC_H
#define OVS_VIF_MAC_H

#include <stdbool.h>
#include <stddef.h>

struct vmcfg;

/* Give cfg's vif items their MACs (in cfg only; the caller saves).
 * *changed tells whether any item was given one. 0, or -1 with err. */
int vif_give_macs(struct vmcfg *cfg, bool *changed, char *err, size_t errlen);

#endif
