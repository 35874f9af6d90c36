/* bridges.c - network-bridge's argv; network_bridges at start. */
#define LOG_CAT "net"
#include "agent/net/bridges.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/base/hook.h"
#include "agent/base/log.h"
#include "agent/base/util.h"
#include "agent/net/netname.h"

void net_bridge_cmd(struct net_bridge_cmd *c, bool start, const char *bridge,
		    const char *netdev)
{
	size_t n = 0;

	c->argv[n++] = "network-bridge";
	c->argv[n++] = start ? "start" : "stop";
	if (start && netdev && *netdev) {
		snprintf(c->netdev, sizeof(c->netdev), "netdev=%s", netdev);
		c->argv[n++] = c->netdev;
	}
	snprintf(c->bridge, sizeof(c->bridge), "bridge=%s", bridge);
	c->argv[n++] = c->bridge;
	c->argv[n] = NULL;
}

struct bridge_up {
	char bridge[IFNAMSIZ], netdev[IFNAMSIZ];
	struct net_bridge_cmd cmd;  /* lives as long as the run, queued or not */
};

static void up_done(void *arg, const struct hook_result *r)
{
	struct bridge_up *u = arg;

	if (r->fault)
		log_err("network_bridges: bridge %s%s%s was not brought up: %s", u->bridge,
			u->netdev[0] ? " on " : "", u->netdev, r->msg);
	else
		log_info("network_bridges: bridge %s%s%s is up", u->bridge,
			 u->netdev[0] ? " on " : "", u->netdev);
	free(u);
}

static void up_one(void *arg, const char *bridge, const char *netdev)
{
	struct hooks *h = arg;
	struct bridge_up *u = xcalloc(1, sizeof(*u));
	struct hook_req req = { .kind = HOOK_NETWORK, .event = "start" };
	char err[256];

	snprintf(u->bridge, sizeof(u->bridge), "%s", bridge);
	snprintf(u->netdev, sizeof(u->netdev), "%s", netdev);
	net_bridge_cmd(&u->cmd, true, bridge, netdev);
	req.argv = u->cmd.argv;
	if (!hook_run(h, &req, up_done, u, err, sizeof(err))) {
		log_err("network_bridges: bridge %s was not brought up: cannot run "
			"network-bridge: %s", bridge, err);
		free(u);
	}
}

void net_bridges_up(struct hooks *h, const char *spec)
{
	char err[256];

	/* config.c checked it; a failure here is a bug, said once */
	if (spec && net_bridges_parse(spec, strlen(spec), up_one, h, err, sizeof(err)) < 0)
		log_err("%s", err);
}
