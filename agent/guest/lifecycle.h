/* lifecycle.h - the guest's operations as data: which statuses each may
 * start from, what the guest shows while it runs, where it ends when it
 * succeeds. guest.c acts on this table; nothing else decides whether an
 * operation may start. (Where a failed operation leaves the guest is the
 * backend's to say, in guest.c.) */
#ifndef OVS_LIFECYCLE_H
#define OVS_LIFECYCLE_H

#include <stdbool.h>

#include "db/guests.h"

enum guest_op {
	GOP_START, GOP_STOP, GOP_DESTROY, GOP_PAUSE, GOP_UNPAUSE, GOP_REBOOT, GOP_RESET,
	GOP_SUSPEND, GOP_RESUME,
	GOP_MIGRATE,            /* live migration, the source's side (guest_claim) */
	GOP_MIGRATE_IN,         /* live migration, the destination's side (guest_claim) */
	GOP_COUNT
};

struct guest_transition {
	const char *name;               /* as the db's "op" field and messages spell it */
	unsigned from;                  /* GS_BIT()s of the statuses it may start from */
	enum guest_status during;       /* while in flight; GS_NONE: unchanged */
	enum guest_status after;        /* once it succeeded */
};

/* Indexed by enum guest_op. */
extern const struct guest_transition guest_transitions[GOP_COUNT];

/* The operation a record's "op" field names; GOP_COUNT for NULL or a name
 * not in the table. */
enum guest_op guest_op_parse(const char *name);

/* True when op may start on a guest whose status is s. */
bool guest_may(enum guest_op op, enum guest_status s);

#endif
