/* netview.h - the host's links, bridges and addresses as the kernel tells
 * them, kept current from netlink events in the agent's loop.
 *
 * One NETLINK_ROUTE socket (libnl-route-3) joined to the link and IPv4/IPv6
 * address groups, non-blocking, watched by the loop. At creation the whole
 * view is read (a link dump, then an address dump) before the agent serves
 * anyone; after that only events change it (RTM_NEWLINK/DELLINK,
 * RTM_NEWADDR/DELADDR): no polling, no `ip`. When the kernel drops events
 * (ENOBUFS: the socket's buffer overflowed) or a dump was interrupted, the
 * view is read whole again and what the new dump does not show is dropped.
 *
 * An uplink (a bridge port that is not a guest tap) losing or regaining its
 * carrier is logged as a warning. The tables are bounded (nettab.h). */
#ifndef OVS_NETVIEW_H
#define OVS_NETVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/net/nettab.h"

struct loop;
struct netview;

/* NULL with why in err when the socket cannot be opened or the first
 * dump fails. */
struct netview *netview_new(struct loop *loop, char *err, size_t errlen);
void netview_free(struct netview *nv);

/* The current view, valid until the loop next runs. */
const struct net_tab *netview_tab(const struct netview *nv);

/* Apply what the kernel has already queued for us, now: after a hook
 * that changed devices has exited, its events are all in the socket, and
 * this makes the view show them before the caller answers. False when the
 * view is being read again (lost events) and may still miss devices. */
bool netview_sync(struct netview *nv);

/* One change at a time per device name (create_bridge, delete_bridge):
 * claim returns false when name is already claimed (or too many are). */
bool netview_claim(struct netview *nv, const char *name);
void netview_release(struct netview *nv, const char *name);

struct netview_stats {
	uint64_t messages;      /* link and address messages applied */
	uint64_t resyncs;       /* full re-reads after lost events */
	uint64_t dropped;       /* entries refused because a table was full */
};
void netview_stats(const struct netview *nv, struct netview_stats *st);

#endif
