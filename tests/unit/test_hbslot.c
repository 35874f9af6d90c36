/* test_hbslot.c - the heartbeat slot: its exact bytes, and every way a
 * slot another host wrote can be wrong. */
#include <stdio.h>
#include <string.h>

#include "agent/cluster/hbslot.h"
#include "tests/unit/harness.h"

/* A slot's 128 bytes from its line: padded with spaces, '\n' last. */
static void slot_of(char out[HB_SLOT_SIZE], const char *line)
{
	size_t n = strlen(line);

	memset(out, ' ', HB_SLOT_SIZE - 1);
	memcpy(out, line, n < HB_SLOT_SIZE - 1 ? n : HB_SLOT_SIZE - 1);
	out[HB_SLOT_SIZE - 1] = '\n';
}

/* Does line, as a slot of index, parse? */
static bool parses(const char *line, uint32_t index)
{
	char b[HB_SLOT_SIZE];
	struct hb_slot s;

	slot_of(b, line);
	return hbslot_parse(b, sizeof(b), index, &s) == 0;
}

TEST(encode_exact_bytes)
{
	struct hb_slot s = { .nodeid = 3, .ip = "192.168.1.3", .seq = 42,
			     .unix_ms = 1700000000123ULL };
	char b[HB_SLOT_SIZE], want[HB_SLOT_SIZE];

	CHECK_INT(hbslot_encode(&s, b), 0);
	slot_of(want, "OVSHB1 3 192.168.1.3 42 1700000000123 alive");
	CHECK(memcmp(b, want, HB_SLOT_SIZE) == 0);
	s.fenced = true;
	CHECK_INT(hbslot_encode(&s, b), 0);
	slot_of(want, "OVSHB1 3 192.168.1.3 42 1700000000123 fenced");
	CHECK(memcmp(b, want, HB_SLOT_SIZE) == 0);
}

TEST(round_trip_and_limits)
{
	struct hb_slot s = { .nodeid = 255, .ip = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
			     .seq = UINT64_MAX, .unix_ms = HB_UNIX_MS_MAX, .fenced = true }, r;
	char b[HB_SLOT_SIZE];

	/* The longest canonical ip, the biggest numbers: the line still fits. */
	CHECK_INT(hbslot_encode(&s, b), 0);
	CHECK_INT(hbslot_parse(b, sizeof(b), 255, &r), 0);
	CHECK_INT(r.nodeid, 255);
	CHECK_STR(r.ip, s.ip);
	CHECK(r.seq == UINT64_MAX);
	CHECK(r.unix_ms == HB_UNIX_MS_MAX);
	CHECK(r.fenced);
	CHECK_INT(hbslot_parse(b, sizeof(b), 0, &r), 0);    /* any node id */
	CHECK_INT(hbslot_parse(b, sizeof(b), 254, &r), -1); /* not its slot */

	s = (struct hb_slot){ .nodeid = 1, .ip = "::1", .seq = 0, .unix_ms = 0 };
	CHECK_INT(hbslot_encode(&s, b), 0);
	CHECK_INT(hbslot_parse(b, sizeof(b), 1, &r), 0);
	CHECK_STR(r.ip, "::1");
	CHECK(r.seq == 0 && r.unix_ms == 0 && !r.fenced);
}

TEST(encode_refuses)
{
	struct hb_slot s = { .nodeid = 1, .ip = "10.0.0.1", .seq = 1, .unix_ms = 1 };
	char b[HB_SLOT_SIZE];

	s.nodeid = 0;
	CHECK_INT(hbslot_encode(&s, b), -1);
	s.nodeid = 256;
	CHECK_INT(hbslot_encode(&s, b), -1);
	s.nodeid = 1;
	snprintf(s.ip, sizeof(s.ip), "%s", "010.0.0.1");
	CHECK_INT(hbslot_encode(&s, b), -1);
	snprintf(s.ip, sizeof(s.ip), "%s", "::0:1");
	CHECK_INT(hbslot_encode(&s, b), -1);
	snprintf(s.ip, sizeof(s.ip), "%s", "host");
	CHECK_INT(hbslot_encode(&s, b), -1);
	memset(s.ip, 'a', sizeof(s.ip));                    /* no NUL */
	CHECK_INT(hbslot_encode(&s, b), -1);
	snprintf(s.ip, sizeof(s.ip), "%s", "10.0.0.1");
	s.unix_ms = HB_UNIX_MS_MAX + 1;
	CHECK_INT(hbslot_encode(&s, b), -1);
}

TEST(parse_fields)
{
	struct hb_slot s;
	char b[HB_SLOT_SIZE];

	CHECK(parses("OVSHB1 7 10.1.2.3 5 6 alive", 7));
	CHECK(parses("OVSHB1 7 2001:db8::7 5 6 fenced", 7));
	CHECK(parses("OVSHB1 7 ::ffff:10.1.2.3 5 6 alive", 7));
	CHECK(!parses("OVSHB1 7 10.1.2.3 5 6 alive", 8));        /* slot of another node */
	CHECK(!parses("OVSHB2 7 10.1.2.3 5 6 alive", 7));
	CHECK(!parses("ovshb1 7 10.1.2.3 5 6 alive", 7));
	CHECK(!parses("OVSHB1 0 10.1.2.3 5 6 alive", 0));
	CHECK(!parses("OVSHB1 256 10.1.2.3 5 6 alive", 0));
	CHECK(!parses("OVSHB1 07 10.1.2.3 5 6 alive", 7));       /* leading zero */
	CHECK(!parses("OVSHB1 +7 10.1.2.3 5 6 alive", 7));
	CHECK(!parses("OVSHB1 7 10.1.2.03 5 6 alive", 7));       /* not canonical */
	CHECK(!parses("OVSHB1 7 2001:DB8::7 5 6 alive", 7));
	CHECK(!parses("OVSHB1 7 2001:db8:0::7 5 6 alive", 7));
	CHECK(!parses("OVSHB1 7 10.1.2 5 6 alive", 7));
	CHECK(!parses("OVSHB1 7 host.example 5 6 alive", 7));
	CHECK(!parses("OVSHB1 7 fe80::1%eth0 5 6 alive", 7));
	CHECK(!parses("OVSHB1 7 1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa 5 6 alive", 7));
	CHECK(!parses("OVSHB1 7 10.1.2.3 05 6 alive", 7));
	CHECK(!parses("OVSHB1 7 10.1.2.3 -5 6 alive", 7));
	CHECK(parses("OVSHB1 7 10.1.2.3 18446744073709551615 6 alive", 7));
	CHECK(!parses("OVSHB1 7 10.1.2.3 18446744073709551616 6 alive", 7));
	CHECK(!parses("OVSHB1 7 10.1.2.3 99999999999999999999 6 alive", 7));
	CHECK(!parses("OVSHB1 7 10.1.2.3 5 253402300800000 alive", 7));
	CHECK(!parses("OVSHB1 7 10.1.2.3 5 6 dead", 7));
	CHECK(!parses("OVSHB1 7 10.1.2.3 5 6 Alive", 7));
	CHECK(!parses("OVSHB1 7 10.1.2.3 5 6 alivex", 7));
	CHECK(!parses("OVSHB1 7 10.1.2.3 5 6", 7));              /* a field missing */
	CHECK(!parses("OVSHB1 7 10.1.2.3 5 6 alive x", 7));      /* one too many */
	CHECK(!parses("OVSHB1 7 10.1.2.3 5  6 alive", 7));       /* two spaces */
	CHECK(!parses(" OVSHB1 7 10.1.2.3 5 6 alive", 7));
	CHECK(!parses("OVSHB1\t7 10.1.2.3 5 6 alive", 7));
	CHECK(!parses("", 7));                                    /* all spaces */

	/* The bytes around the line. */
	slot_of(b, "OVSHB1 7 10.1.2.3 5 6 alive");
	CHECK_INT(hbslot_parse(b, sizeof(b), 7, &s), 0);
	CHECK_INT(hbslot_parse(b, sizeof(b) - 1, 7, &s), -1);
	b[HB_SLOT_SIZE - 1] = ' ';
	CHECK_INT(hbslot_parse(b, sizeof(b), 7, &s), -1);        /* no '\n' */
	slot_of(b, "OVSHB1 7 10.1.2.3 5 6 alive");
	b[100] = '\0';                                            /* in the padding */
	CHECK_INT(hbslot_parse(b, sizeof(b), 7, &s), -1);
	slot_of(b, "OVSHB1 7 10.1.2.3 5 6 alive");
	b[100] = '\n';
	CHECK_INT(hbslot_parse(b, sizeof(b), 7, &s), -1);
	slot_of(b, "OVSHB1 7 10.1.2.3 5 6 alive");
	b[126] = 'x';                                             /* a seventh field */
	CHECK_INT(hbslot_parse(b, sizeof(b), 7, &s), -1);
	slot_of(b, "OVSHB1 7 10.1.2.3 5 6 alive\r");
	CHECK_INT(hbslot_parse(b, sizeof(b), 7, &s), -1);
	memset(b, 0, sizeof(b));                                  /* a hole in the file */
	CHECK_INT(hbslot_parse(b, sizeof(b), 7, &s), -1);
	slot_of(b, "OVSHB1 7 10.1.2.3 5 6 alive");
	b[20] = (char)0xc3;
	CHECK_INT(hbslot_parse(b, sizeof(b), 7, &s), -1);
	slot_of(b, "OVSHB1 7 10.1.2.3 5 6 alive");
	CHECK_INT(hbslot_parse(b, sizeof(b), 256, &s), -1);      /* no such slot */
}

int main(void)
{
	RUN(encode_exact_bytes);
	RUN(round_trip_and_limits);
	RUN(encode_refuses);
	RUN(parse_fields);
	return harness_done();
}
