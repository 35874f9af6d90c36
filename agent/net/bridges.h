/* bridges.h - running network-bridge: its argv, and agent.ini's
 * network_bridges brought up when the agent starts.
 *
 *   network-bridge start [netdev=NETDEV] bridge=BRIDGE
 *   network-bridge stop bridge=BRIDGE
 *
 * The hook (hooks/network-bridge, in hooks_dir) runs through the hook
 * runner as kind "network"; names are checked (netname.h) before they get
 * here. */
#ifndef OVS_NET_BRIDGES_H
#define OVS_NET_BRIDGES_H

#include <net/if.h>
#include <stdbool.h>

struct hooks;

struct net_bridge_cmd {
	char netdev[8 + IFNAMSIZ], bridge[8 + IFNAMSIZ];
	const char *argv[5];    /* NULL-terminated; points into this struct */
};

/* Fill c for start (netdev may be "" or NULL: the script's default, the
 * device of the default route) or stop. */
void net_bridge_cmd(struct net_bridge_cmd *c, bool start, const char *bridge,
		    const char *netdev);

/* Run network-bridge start for each item of spec (network_bridges, as
 * net_bridges_parse() reads it), one hook each. Failures are logged as
 * errors, with the hook's words; the agent goes on either way. */
void net_bridges_up(struct hooks *h, const char *spec);

#endif
