/* lifecycle.c - the guest's operations as one table. */
#include "agent/guest/lifecycle.h"

#include <string.h>

#define S(x) GS_BIT(GS_##x)

const struct guest_transition guest_transitions[GOP_COUNT] = {
	[GOP_START]      = { "start",      S(DOWN) | S(ERROR),    GS_STARTING,  GS_RUNNING },
	[GOP_STOP]       = { "stop",       S(RUNNING) | S(PAUSED), GS_STOPPING, GS_DOWN },
	[GOP_DESTROY]    = { "destroy",    S(RUNNING) | S(PAUSED) | S(ERROR), GS_STOPPING,
			     GS_DOWN },
	[GOP_PAUSE]      = { "pause",      S(RUNNING),            GS_NONE,      GS_PAUSED },
	[GOP_UNPAUSE]    = { "unpause",    S(PAUSED),             GS_NONE,      GS_RUNNING },
	[GOP_REBOOT]     = { "reboot",     S(RUNNING),            GS_NONE,      GS_RUNNING },
	[GOP_RESET]      = { "reset",      S(RUNNING) | S(PAUSED) | S(ERROR), GS_NONE,
			     GS_RUNNING },
	[GOP_SUSPEND]    = { "suspend",    S(RUNNING) | S(PAUSED), GS_STOPPING, GS_SUSPEND },
	[GOP_RESUME]     = { "resume",     S(SUSPEND),            GS_STARTING,  GS_RUNNING },
	[GOP_MIGRATE]    = { "migrate",    S(RUNNING) | S(PAUSED), GS_MIGRATING, GS_DOWN },
	[GOP_MIGRATE_IN] = { "migrate_in", S(DOWN) | S(ERROR),    GS_MIGRATING, GS_RUNNING },
};

enum guest_op guest_op_parse(const char *name)
{
	for (int op = 0; name && op < GOP_COUNT; op++)
		if (strcmp(name, guest_transitions[op].name) == 0)
			return (enum guest_op)op;
	return GOP_COUNT;
}

bool guest_may(enum guest_op op, enum guest_status s)
{
	return (unsigned)op < GOP_COUNT && s > GS_NONE && s < GS_COUNT &&
	       (guest_transitions[op].from & GS_BIT(s)) != 0;
}
