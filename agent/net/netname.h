/* netname.h - names of network devices, and agent.ini's network_bridges.
 *
 * A name reaches a hook's argv (`bridge=NAME`) and the kernel, so it is
 * held to less than the kernel allows: 1 to IFNAMSIZ-1 bytes of letters,
 * digits, '.', '-' and '_', not starting with '-' or '.'. */
#ifndef OVS_NETNAME_H
#define OVS_NETNAME_H

#include <stdbool.h>
#include <stddef.h>

/* true when name[0..len) is acceptable; else why (e.g. "'a b' has a
 * character other than letters, digits, '.', '-', '_'") in err. */
bool net_name_ok(const char *name, size_t len, char *err, size_t errlen);

/* network_bridges = BRIDGE[:NETDEV],...: calls each(arg, bridge, netdev)
 * for every item (netdev "" when not given) once the whole list has been
 * checked; blanks around items are allowed, empty items and a bridge
 * named twice are not. Returns 0, or -1 with why in err (and each is not
 * called). At most NET_BRIDGES_MAX items. */
#define NET_BRIDGES_MAX 64
typedef void (*net_bridge_each)(void *arg, const char *bridge, const char *netdev);
int net_bridges_parse(const char *spec, size_t len, net_bridge_each each, void *arg,
		      char *err, size_t errlen);

#endif
