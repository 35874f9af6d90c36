/* test_repoparse.c - the repository files, markers and mountinfo parsers. */
#include <stdlib.h>
#include <string.h>

#include "agent/repo/repoparse.h"
#include "tests/unit/harness.h"

#define U1 "0004fb00-0000-1000-8000-000000000001"
#define U2 "0004fb00-0000-1000-8000-000000000002"

static struct repo_line lines[8];

TEST(uuid_rule)
{
	CHECK(repo_uuid_ok(U1, 36));
	CHECK(!repo_uuid_ok("0004FB00-0000-1000-8000-000000000001", 36));
	CHECK(!repo_uuid_ok(U1, 35));
	CHECK(!repo_uuid_ok("0004fb00x0000-1000-8000-000000000001", 36));
	CHECK(!repo_uuid_ok("0004fb00-0000-1000-8000-00000000000g", 36));
}

TEST(lines_kept_and_skipped)
{
	const char *f = "# comment\n\n  " U1 "  /dev/loop0  \n"
			"not-a-uuid /dev/sdb\n"
			U2 "\n"                         /* no source */
			U2 "\tnfs:/export/a b\r\n"
			U1 " /dev/dup\n"                /* listed twice */
			"0004FB00-0000-1000-8000-000000000003 /dev/x\n"
			"0004fb00-0000-1000-8000-000000000004 bad\x01" "ctl\n";
	size_t skipped = 99, n = repo_parse_lines(f, strlen(f), lines, 8, REPO_SOURCE_MAX, &skipped);

	CHECK_INT(n, 2);
	CHECK_INT(skipped, 5);
	CHECK_STR(lines[0].uuid, U1);
	CHECK_STR(lines[0].text, "/dev/loop0");
	CHECK_STR(lines[1].uuid, U2);
	CHECK_STR(lines[1].text, "nfs:/export/a b");
}

TEST(lines_bounds)
{
	char *big = malloc(REPO_LINE_MAX + 100);
	size_t skipped, n;
	const char *three = U1 " a\n" U2 " b\n0004fb00-0000-1000-8000-000000000003 c";

	memcpy(big, U1 " ", 37);
	memset(big + 37, 'x', REPO_LINE_MAX + 50);
	big[REPO_LINE_MAX + 87] = '\n';
	n = repo_parse_lines(big, REPO_LINE_MAX + 88, lines, 8, REPO_SOURCE_MAX, &skipped);
	CHECK_INT(n, 0);
	CHECK_INT(skipped, 1);
	/* past max */
	n = repo_parse_lines(three, strlen(three), lines, 2, REPO_SOURCE_MAX, &skipped);
	CHECK_INT(n, 2);
	CHECK_INT(skipped, 1);
	/* text longer than text_max */
	n = repo_parse_lines(U1 " abcdef", 43, lines, 8, 5, &skipped);
	CHECK_INT(n, 0);
	free(big);
}

TEST(marker)
{
	const char *m = "OVS_REPO_UUID=" U1 "\nOVS_REPO_SHARED=C\r\n"
			"OVS_REPO_DESCRIPTION=local disk = fast\nOVS_REPO_VERSION=1\nJUNK\nX=y\n";
	struct repo_marker mk;

	CHECK_INT(repo_parse_marker(m, strlen(m), &mk), 0);
	CHECK_STR(mk.uuid, U1);
	CHECK_INT(mk.shared, 'C');
	CHECK_STR(mk.desc, "local disk = fast");
	CHECK_INT(mk.version, 1);
	m = "OVS_REPO_UUID=" U1 "x\nOVS_REPO_SHARED=2\n";
	CHECK_INT(repo_parse_marker(m, strlen(m), &mk), -1);
	CHECK_INT(mk.shared, 0);
}

struct seen { int n; struct mountinfo_entry e[4]; };

static int keep(const struct mountinfo_entry *e, void *arg)
{
	struct seen *s = arg;

	if (s->n < 4)
		s->e[s->n] = *e;
	s->n++;
	return 0;
}

TEST(mountinfo)
{
	const char *mi =
		"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
		"36 22 7:0 / /tmp/OVS/" U1 " rw master:1 shared:2 - ext4 /dev/loop0 rw\n"
		"37 22 0:50 /sub\\040dir /mnt/a\\040b rw - nfs srv:/export\\134x rw\n"
		"garbage line\n"
		"38 22 7:1 / /x rw - ext4\n"                       /* no source */
		"39 22 7:1 / /x\\000y rw - ext4 /dev/loop1 rw\n"    /* NUL */
		"40 22 7:1 / /z rw shared:3\n";                      /* no separator */
	struct seen s = { 0 };
	struct mountinfo_entry *e = malloc(sizeof(*e));
	size_t bad = mountinfo_parse(mi, strlen(mi), e, keep, &s);

	CHECK_INT(s.n, 3);
	CHECK_INT(bad, 4);
	CHECK_STR(s.e[0].mnt, "/");
	CHECK_STR(s.e[1].mnt, "/tmp/OVS/" U1);
	CHECK_STR(s.e[1].source, "/dev/loop0");
	CHECK_INT(s.e[1].major, 7);
	CHECK_INT(s.e[1].id, 36);
	CHECK_STR(s.e[2].root, "/sub dir");
	CHECK_STR(s.e[2].mnt, "/mnt/a b");
	CHECK_STR(s.e[2].fstype, "nfs");
	CHECK_STR(s.e[2].source, "srv:/export\\x");
	free(e);
}

TEST(network_and_human)
{
	char b[32];

	CHECK(repo_fstype_network("nfs4"));
	CHECK(repo_fstype_network("fuse.sshfs"));
	CHECK(!repo_fstype_network("ext4"));
	repo_human_bytes(512, b, sizeof(b));
	CHECK_STR(b, "512 bytes");
	repo_human_bytes(3ULL << 30, b, sizeof(b));
	CHECK_STR(b, "3.0 GiB");
	repo_human_bytes(1536, b, sizeof(b));
	CHECK_STR(b, "1.5 KiB");
}

int main(void)
{
	RUN(uuid_rule);
	RUN(lines_kept_and_skipped);
	RUN(lines_bounds);
	RUN(marker);
	RUN(mountinfo);
	RUN(network_and_human);
	return harness_done();
}
