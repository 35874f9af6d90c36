/* test_lifecycle.c - the guest's operations as one table
 * (agent/guest/lifecycle.c): every allowed transition, and every other
 * (operation, status) pair refused. */
#include "harness.h"
#include "agent/guest/lifecycle.h"
#include "agent/base/util.h"

/* What each operation may start from, written out as the agent's
 * messages say it ("start needs it DOWN,ERROR"), independent of the
 * table's bit masks. */
static const struct {
	enum guest_op op;
	const char *name, *from, *during, *after;
} want[] = {
	{ GOP_START,      "start",      "DOWN,ERROR",           "STARTING",  "RUNNING" },
	{ GOP_STOP,       "stop",       "RUNNING,PAUSED",       "STOPPING",  "DOWN" },
	{ GOP_DESTROY,    "destroy",    "RUNNING,PAUSED,ERROR", "STOPPING",  "DOWN" },
	{ GOP_PAUSE,      "pause",      "RUNNING",              NULL,        "PAUSED" },
	{ GOP_UNPAUSE,    "unpause",    "PAUSED",               NULL,        "RUNNING" },
	{ GOP_REBOOT,     "reboot",     "RUNNING",              NULL,        "RUNNING" },
	{ GOP_RESET,      "reset",      "RUNNING,PAUSED,ERROR", NULL,        "RUNNING" },
	{ GOP_SUSPEND,    "suspend",    "RUNNING,PAUSED",       "STOPPING",  "SUSPEND" },
	{ GOP_RESUME,     "resume",     "SUSPEND",              "STARTING",  "RUNNING" },
	{ GOP_MIGRATE,    "migrate",    "RUNNING,PAUSED",       "MIGRATING", "DOWN" },
	{ GOP_MIGRATE_IN, "migrate_in", "DOWN,ERROR",           "MIGRATING", "RUNNING" },
};

/* True when name is one of the ',' separated words of list. */
static bool listed(const char *name, const char *list)
{
	size_t n = strlen(name);

	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ",");
		if (len == n && strncmp(p, name, n) == 0)
			return true;
		p += len + (p[len] == ',');
	}
	return false;
}

TEST(every_operation_is_in_the_table)
{
	CHECK_INT(ARRAY_SIZE(want), GOP_COUNT);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		const struct guest_transition *t = &guest_transitions[want[i].op];
		CHECK_STR(t->name, want[i].name);
		CHECK_STR(guest_status_name(t->after), want[i].after);
		if (want[i].during)
			CHECK_STR(guest_status_name(t->during), want[i].during);
		else
			CHECK_INT(t->during, GS_NONE);
	}
}

TEST(every_allowed_transition)
{
	int allowed = 0;

	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		for (int s = GS_NONE + 1; s < GS_COUNT; s++)
			if (listed(guest_status_name(s), want[i].from)) {
				CHECK(guest_may(want[i].op, s));
				allowed++;
			}
	CHECK_INT(allowed, 20);         /* the "from" lists above, counted by hand */
}

TEST(every_other_transition_refused)
{
	int refused = 0;

	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		for (int s = GS_NONE + 1; s < GS_COUNT; s++)
			if (!listed(guest_status_name(s), want[i].from)) {
				if (guest_may(want[i].op, s))
					fprintf(stderr, "  %s allowed from %s\n", want[i].name,
						guest_status_name(s));
				CHECK(!guest_may(want[i].op, s));
				refused++;
			}
		/* No status, or one this agent does not know, allows nothing. */
		CHECK(!guest_may(want[i].op, GS_NONE));
		CHECK(!guest_may(want[i].op, GS_COUNT));
	}
	CHECK_INT(refused, GOP_COUNT * (GS_COUNT - 1) - 20);
	/* A few spelled out, the ones that matter most. */
	CHECK(!guest_may(GOP_START, GS_RUNNING));      /* never run a guest twice */
	CHECK(!guest_may(GOP_START, GS_SUSPEND));      /* resume it, or its state is lost */
	CHECK(!guest_may(GOP_MIGRATE_IN, GS_RUNNING));
	CHECK(!guest_may(GOP_MIGRATE, GS_MIGRATING));
	CHECK(!guest_may(GOP_STOP, GS_STOPPING));
	CHECK(!guest_may(GOP_RESUME, GS_DOWN));
	CHECK(!guest_may(GOP_COUNT, GS_DOWN));         /* no such operation */
}

TEST(from_lists_read_as_before)
{
	char buf[128];

	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		CHECK_STR(guest_status_join(guest_transitions[want[i].op].from, ",", ",", buf,
					    sizeof(buf)), want[i].from);
}

int main(void)
{
	RUN(every_operation_is_in_the_table);
	RUN(every_allowed_transition);
	RUN(every_other_transition_refused);
	RUN(from_lists_read_as_before);
	return harness_done();
}
