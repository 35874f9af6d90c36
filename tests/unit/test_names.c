/* test_names.c - the rule for names from outside: valid UTF-8, no control
 * characters; the message says which byte and where. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "agent/guest/names.h"

static char err[512];

static int check(const char *s)
{
	strcpy(err, "untouched");
	return name_check("disk file name", s, err, sizeof(err));
}

TEST(accepts_names)
{
	CHECK_INT(check("system.img"), 0);
	CHECK_STR(err, "untouched");
	CHECK_INT(check("/OVS/running_pool/g/disk 2.img"), 0);  /* spaces are fine */
	CHECK_INT(check("caf\xc3\xa9.img"), 0);
	CHECK_INT(check("\xe6\x97\xa5\xe6\x9c\xac.img"), 0);    /* 日本 */
	CHECK_INT(check("\xef\xbf\xbd"), 0);                   /* U+FFFD */
	CHECK_INT(check(""), 0);                                 /* emptiness is the caller's */
	CHECK_INT(check("~!@#$%^&*()[]{}'\"\\|;:,<>?"), 0);
}

/* The issue's four names, each refused at the right byte. */
TEST(refuses_the_issues_names)
{
	CHECK_INT(check("x.img\n"), -1);
	CHECK(strstr(err, "has a control character at byte 5 (0x0a)"));
	CHECK(strstr(err, "disk file name 'x.img?'"));
	CHECK_INT(check("a\nb.img"), -1);
	CHECK(strstr(err, "at byte 1 (0x0a)"));
	CHECK_INT(check("tab\t.img"), -1);
	CHECK(strstr(err, "has a control character at byte 3 (0x09)"));
	CHECK_INT(check("del\x7f.img"), -1);
	CHECK(strstr(err, "has a control character at byte 3 (0x7f)"));
}

/* Valid UTF-8, but xmlrpc-c 1.33 cannot carry it in a reply. */
TEST(refuses_beyond_the_bmp)
{
	CHECK_INT(check("smile \xf0\x9f\x98\x80"), -1);
	CHECK(strstr(err, "has U+1F600 at byte 6; characters beyond U+FFFF"));
}

TEST(refuses_every_control_character)
{
	char s[4] = "a?b";

	for (int c = 1; c < 0x20; c++) {
		s[1] = (char)c;
		CHECK_INT(check(s), -1);
	}
	s[1] = 0x7f;
	CHECK_INT(check(s), -1);
	s[1] = ' ';
	CHECK_INT(check(s), 0);
}

TEST(refuses_invalid_utf8)
{
	CHECK_INT(check("caf\xe9"), -1);                         /* Latin-1 */
	CHECK(strstr(err, "'caf?' is not valid UTF-8 at byte 3 (0xe9)"));
	CHECK_INT(check("\xc0\xaf"), -1);                        /* overlong '/' */
	CHECK(strstr(err, "at byte 0"));
	CHECK_INT(check("ok\xed\xa0\x80"), -1);                  /* a surrogate */
	CHECK(strstr(err, "at byte 2 (0xed)"));
	CHECK_INT(check("x\xf4\x90\x80\x80"), -1);               /* past U+10FFFF */
	CHECK(strstr(err, "at byte 1"));
	CHECK_INT(check("\xc3\xa9\xc3"), -1);                    /* cut short */
	CHECK(strstr(err, "at byte 2"));
}

/* The first offending byte wins, whichever kind it is. */
TEST(first_bad_byte)
{
	bool control = false;

	CHECK_INT(name_bad_byte("ab\n\xff", 4, &control), 2);
	CHECK(control);
	CHECK_INT(name_bad_byte("ab\xff\n", 4, &control), 2);
	CHECK(!control);
	CHECK_INT(name_bad_byte("abc", 3, NULL), 3);
	CHECK_INT(name_bad_byte("a\0b", 3, &control), 1);        /* NUL is a control */
	CHECK(control);
}

TEST(show_cuts_on_characters)
{
	char out[64 + 4], big[200];

	name_show(out, "plain", 64);
	CHECK_STR(out, "plain");
	name_show(out, "a\x1b[31mred", 64);
	CHECK_STR(out, "a?[31mred");
	name_show(out, "caf\xe9 \xc3\xa9", 64);
	CHECK_STR(out, "caf? \xc3\xa9");
	/* 40 'é' are 80 bytes: 32 whole characters fit in 64. */
	for (int i = 0; i < 40; i++)
		memcpy(big + 2 * i, "\xc3\xa9", 2);
	big[80] = '\0';
	name_show(out, big, 64);
	CHECK_INT(strlen(out), 64 + 3);
	CHECK(strcmp(out + 64, "...") == 0);
	name_show(out, big, 63);
	CHECK_INT(strlen(out), 62 + 3);
	memset(big, 'x', 64);
	big[64] = '\0';
	name_show(out, big, 64);
	CHECK_INT(strlen(out), 64);
}

/* A long name's message stays bounded and names the offset past the cut. */
TEST(long_names)
{
	size_t n = 100000;
	char *s = malloc(n + 2);

	memset(s, 'a', n);
	s[n] = '\n';
	s[n + 1] = '\0';
	CHECK_INT(check(s), -1);
	CHECK(strstr(err, "at byte 100000 (0x0a)"));
	CHECK(strlen(err) < 300);
	free(s);
}

int main(void)
{
	RUN(accepts_names);
	RUN(refuses_the_issues_names);
	RUN(refuses_beyond_the_bmp);
	RUN(refuses_every_control_character);
	RUN(refuses_invalid_utf8);
	RUN(first_bad_byte);
	RUN(show_cuts_on_characters);
	RUN(long_names);
	return harness_done();
}
