/* test_guest_state.c - guest statuses and their one table of names
 * (db/guests.c). */
#include "harness.h"
#include "db/guests.h"
#include "agent/base/util.h"

#include <stdlib.h>

TEST(status_names_round_trip)
{
	static const char *const names[] = { "RUNNING", "DOWN", "PAUSED", "SUSPEND", "ERROR",
					     "STARTING", "STOPPING", "MIGRATING" };

	CHECK_INT(GS_COUNT, ARRAY_SIZE(names) + 1);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		enum guest_status s = guest_status_parse(names[i]);
		CHECK(s != GS_NONE);
		CHECK_STR(guest_status_name(s), names[i]);
	}
	CHECK(guest_status_name(GS_NONE) == NULL);
	CHECK(guest_status_name(GS_COUNT) == NULL);
	CHECK_STR(GUEST_DOWN, "DOWN");
	CHECK_STR(GUEST_MIGRATING, "MIGRATING");
}

TEST(status_parse_is_exact)
{
	static const char *const bad[] = { "", "down", "Running", "RUNNINGX", "SUSPENDED",
					   " DOWN", "DOWN ", "NONE" };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK_INT(guest_status_parse(bad[i]), GS_NONE);
	CHECK_INT(guest_status_parse(NULL), GS_NONE);
}

TEST(status_join_lists_in_enum_order)
{
	char buf[128];

	CHECK_STR(guest_status_join(GS_ALL, ", ", " or ", buf, sizeof(buf)),
		  "RUNNING, DOWN, PAUSED, SUSPEND, ERROR, STARTING, STOPPING or MIGRATING");
	CHECK_STR(guest_status_join(GS_BIT(GS_ERROR) | GS_BIT(GS_DOWN), ",", ",", buf, sizeof(buf)),
		  "DOWN,ERROR");
	CHECK_STR(guest_status_join(GS_BIT(GS_SUSPEND), ",", ",", buf, sizeof(buf)), "SUSPEND");
	CHECK_STR(guest_status_join(0, ",", ",", buf, sizeof(buf)), "");
	/* GS_NONE has no name, so it never shows. */
	CHECK_STR(guest_status_join(GS_BIT(GS_NONE) | GS_BIT(GS_PAUSED), ",", ",", buf,
				    sizeof(buf)), "PAUSED");
	/* A short buffer is cut, still terminated. */
	CHECK_STR(guest_status_join(GS_ALL, ", ", ", ", buf, 8), "RUNNING");
}

int main(void)
{
	RUN(status_names_round_trip);
	RUN(status_parse_is_exact);
	RUN(status_join_lists_in_enum_order);
	return harness_done();
}
