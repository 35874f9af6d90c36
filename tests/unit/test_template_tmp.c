/* test_template_tmp.c - the exact name of a template's temporary directory,
 * the only kind the agent removes at start-up. */
#include <string.h>

#include "harness.h"
#include "agent/guest/template_tmp.h"

TEST(accepts_what_the_template_code_makes)
{
	char longest[80];

	CHECK(template_tmp_name_ok(".el4a.tmp-AbC123"));
	CHECK(template_tmp_name_ok(".a.tmp-000000"));
	CHECK(template_tmp_name_ok(".my.guest_2-x.tmp-zzzzzz"));
	CHECK(template_tmp_name_ok("..x.tmp-abcdef"));            /* guest ".x" */
	memset(longest, 'g', sizeof(longest));
	longest[0] = '.';
	memcpy(longest + 65, ".tmp-Zz09aB", 12);                  /* a 64-byte guest name */
	CHECK(template_tmp_name_ok(longest));
}

TEST(refuses_anything_else)
{
	char toolong[80];

	CHECK(!template_tmp_name_ok(""));
	CHECK(!template_tmp_name_ok(".tmp-abcdef"));              /* no guest name */
	CHECK(!template_tmp_name_ok("..tmp-abcdef"));
	CHECK(!template_tmp_name_ok("...tmp-abcdef"));            /* guest "." */
	CHECK(!template_tmp_name_ok("....tmp-abcdef"));           /* guest ".." */
	CHECK(!template_tmp_name_ok("el4a.tmp-abcdef"));          /* not hidden */
	CHECK(!template_tmp_name_ok(".el4a.tmp-abcde"));          /* 5 random characters */
	CHECK(!template_tmp_name_ok(".el4a.tmp-abcdefg"));        /* 7 */
	CHECK(!template_tmp_name_ok(".el4a.tmp-abc-ef"));
	CHECK(!template_tmp_name_ok(".el4a.tmp-abc/ef"));
	CHECK(!template_tmp_name_ok(".el4a.del-0123456789abcdef")); /* delete_vm's, not ours */
	CHECK(!template_tmp_name_ok(".el4a.tmp-XXXXXX/.."));
	CHECK(!template_tmp_name_ok(".a b.tmp-abcdef"));
	CHECK(!template_tmp_name_ok(".a/b.tmp-abcdef"));
	CHECK(!template_tmp_name_ok("./...tmp-abcdef"));
	memset(toolong, 'g', sizeof(toolong));
	toolong[0] = '.';
	memcpy(toolong + 66, ".tmp-Zz09aB", 12);                  /* a 65-byte guest name */
	CHECK(!template_tmp_name_ok(toolong));
}

int main(void)
{
	RUN(accepts_what_the_template_code_makes);
	RUN(refuses_anything_else);
	return harness_done();
}
