/* test_utf8.c - UTF-8 validation (RFC 3629 edges) and cutting on a
 * character boundary. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "agent/base/utf8.h"

/* Valid s (with its explicit length), or the offset of the first bad byte. */
static long check(const char *s, size_t n)
{
	size_t bad = 12345;

	if (utf8_valid(s, n, &bad))
		return -1;
	return (long)bad;
}
#define BAD_AT(lit) check(lit, sizeof(lit) - 1)

TEST(accepts_valid_text)
{
	CHECK_INT(BAD_AT(""), -1);
	CHECK_INT(BAD_AT("plain ascii"), -1);
	CHECK_INT(BAD_AT("caf\xc3\xa9"), -1);                 /* é */
	CHECK_INT(BAD_AT("\xe2\x82\xac"), -1);                 /* € */
	CHECK_INT(BAD_AT("\xf0\x9f\x98\x80"), -1);             /* U+1F600 */
	CHECK_INT(BAD_AT("\xc2\x80"), -1);                     /* U+0080, lowest 2-byte */
	CHECK_INT(BAD_AT("\xe0\xa0\x80"), -1);                 /* U+0800, lowest 3-byte */
	CHECK_INT(BAD_AT("\xf0\x90\x80\x80"), -1);             /* U+10000, lowest 4-byte */
	CHECK_INT(BAD_AT("\xed\x9f\xbf"), -1);                 /* U+D7FF, below surrogates */
	CHECK_INT(BAD_AT("\xee\x80\x80"), -1);                 /* U+E000, above them */
	CHECK_INT(BAD_AT("\xef\xbf\xbf"), -1);                 /* U+FFFF is UTF-8 all right */
	CHECK_INT(BAD_AT("\xf4\x8f\xbf\xbf"), -1);             /* U+10FFFF, the last */
	CHECK_INT(BAD_AT("a\0b"), -1);                         /* NUL is a character */
	CHECK_INT(BAD_AT("\x01\x1f\x7f"), -1);                 /* so are controls */
}

TEST(refuses_latin1_and_stray_bytes)
{
	CHECK_INT(BAD_AT("caf\xe9"), 3);                       /* Latin-1 é, truncated */
	CHECK_INT(BAD_AT("caf\xe9!"), 3);
	CHECK_INT(BAD_AT("\x80"), 0);                          /* lone continuation */
	CHECK_INT(BAD_AT("ab\xbf"), 2);
	CHECK_INT(BAD_AT("\xfe"), 0);
	CHECK_INT(BAD_AT("\xff"), 0);
	CHECK_INT(BAD_AT("\xf5\x80\x80\x80"), 0);             /* lead past U+10FFFF */
	CHECK_INT(BAD_AT("\xc3\xa9\xc3"), 2);                  /* cut short at the end */
	CHECK_INT(BAD_AT("\xe2\x82"), 0);
	CHECK_INT(BAD_AT("\xe2\x82x"), 0);                     /* broken by ASCII */
	CHECK_INT(BAD_AT("\xf0\x9f\x98"), 0);
}

TEST(refuses_overlongs)
{
	CHECK_INT(BAD_AT("\xc0\xaf"), 0);                      /* '/' in two bytes */
	CHECK_INT(BAD_AT("\xc1\xbf"), 0);
	CHECK_INT(BAD_AT("\xc0\x80"), 0);                      /* "modified UTF-8" NUL */
	CHECK_INT(BAD_AT("\xe0\x80\xaf"), 0);                  /* '/' in three */
	CHECK_INT(BAD_AT("\xe0\x9f\xbf"), 0);                  /* U+07FF in three */
	CHECK_INT(BAD_AT("\xf0\x80\x80\xaf"), 0);              /* '/' in four */
	CHECK_INT(BAD_AT("\xf0\x8f\xbf\xbf"), 0);              /* U+FFFF in four */
	CHECK_INT(BAD_AT("ok\xe0\x80\x80"), 2);
}

TEST(refuses_surrogates_and_beyond)
{
	CHECK_INT(BAD_AT("\xed\xa0\x80"), 0);                  /* U+D800 */
	CHECK_INT(BAD_AT("\xed\xbf\xbf"), 0);                  /* U+DFFF */
	CHECK_INT(BAD_AT("\xed\xa0\xbd\xed\xb8\x80"), 0);      /* CESU-8 pair */
	CHECK_INT(BAD_AT("\xf4\x90\x80\x80"), 0);              /* U+110000 */
	CHECK_INT(BAD_AT("\xf7\xbf\xbf\xbf"), 0);
}

TEST(bad_at_may_be_null)
{
	CHECK(!utf8_valid("\xff", 1, NULL));
	CHECK(utf8_valid("x", 1, NULL));
}

TEST(decode_gives_code_points)
{
	uint32_t cp = 0;

	CHECK_INT(utf8_decode((const unsigned char *)"A", 1, &cp), 1);
	CHECK_INT(cp, 'A');
	CHECK_INT(utf8_decode((const unsigned char *)"\xc3\xa9", 2, &cp), 2);
	CHECK_INT(cp, 0xe9);
	CHECK_INT(utf8_decode((const unsigned char *)"\xe2\x82\xac", 3, &cp), 3);
	CHECK_INT(cp, 0x20ac);
	CHECK_INT(utf8_decode((const unsigned char *)"\xf4\x8f\xbf\xbf", 4, &cp), 4);
	CHECK_INT(cp, 0x10ffff);
	/* n bounds the read: a complete sequence past n does not count. */
	CHECK_INT(utf8_decode((const unsigned char *)"\xe2\x82\xac", 2, &cp), 0);
	CHECK_INT(utf8_decode((const unsigned char *)"", 0, &cp), 0);
}

TEST(encode_each_length)
{
	static const struct { uint32_t cp; const char *utf8; size_t n; } cases[] = {
		{ 0, "\0", 1 }, { 'A', "A", 1 }, { 0x7f, "\x7f", 1 },
		{ 0x80, "\xc2\x80", 2 }, { 0xe9, "\xc3\xa9", 2 }, { 0x7ff, "\xdf\xbf", 2 },
		{ 0x800, "\xe0\xa0\x80", 3 }, { 0x20ac, "\xe2\x82\xac", 3 },
		{ 0xd7ff, "\xed\x9f\xbf", 3 }, { 0xe000, "\xee\x80\x80", 3 },
		{ 0xfffd, "\xef\xbf\xbd", 3 },
		{ 0x10000, "\xf0\x90\x80\x80", 4 }, { 0x1f600, "\xf0\x9f\x98\x80", 4 },
		{ 0x10ffff, "\xf4\x8f\xbf\xbf", 4 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[4];

		CHECK_INT(utf8_encode(cases[i].cp, out), cases[i].n);
		CHECK(memcmp(out, cases[i].utf8, cases[i].n) == 0);
	}
}

TEST(encode_refuses_what_utf8_cannot_carry)
{
	char out[4] = { 'x', 'x', 'x', 'x' };

	CHECK_INT(utf8_encode(0xd800, out), 0);
	CHECK_INT(utf8_encode(0xdbff, out), 0);
	CHECK_INT(utf8_encode(0xdc00, out), 0);
	CHECK_INT(utf8_encode(0xdfff, out), 0);
	CHECK_INT(utf8_encode(0x110000, out), 0);
	CHECK_INT(utf8_encode(UINT32_MAX, out), 0);
	CHECK(memcmp(out, "xxxx", 4) == 0);  /* untouched */
}

/* Every code point survives encode then decode, and what encode refuses
 * is exactly what decode never yields. */
TEST(encode_decode_round_trip)
{
	char out[4];
	uint32_t back;
	long bad = 0;

	for (uint32_t cp = 0; cp <= 0x110000; cp++) {
		size_t n = utf8_encode(cp, out);
		bool ok = cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);

		if (!ok) {
			bad += n != 0;
			continue;
		}
		back = UINT32_MAX;
		if (n == 0 || utf8_decode((const unsigned char *)out, n, &back) != n ||
		    back != cp || !utf8_valid(out, n, NULL))
			bad++;
	}
	CHECK_INT(bad, 0);
}

TEST(valid_prefix)
{
	CHECK_INT(utf8_valid_prefix("abc", 3), 3);
	CHECK_INT(utf8_valid_prefix("ab\xc3\xa9\xff", 5), 4);
	CHECK_INT(utf8_valid_prefix("\xe2\x82", 2), 0);
	CHECK_INT(utf8_valid_prefix("", 0), 0);
}

TEST(cut_keeps_short_strings)
{
	CHECK_INT(utf8_cut("", 0), 0);
	CHECK_INT(utf8_cut("", 10), 0);
	CHECK_INT(utf8_cut("abc", 3), 3);
	CHECK_INT(utf8_cut("abc", 10), 3);
	CHECK_INT(utf8_cut("abc", SIZE_MAX), 3);
	CHECK_INT(utf8_cut("caf\xc3\xa9", 5), 5);
}

TEST(cut_on_a_boundary)
{
	/* "é" is c3 a9: a cut at 4 would leave c3 alone. */
	CHECK_INT(utf8_cut("caf\xc3\xa9", 4), 3);
	CHECK_INT(utf8_cut("caf\xc3\xa9!", 5), 5);
	CHECK_INT(utf8_cut("abc", 2), 2);
	CHECK_INT(utf8_cut("abc", 0), 0);
	/* € (3 bytes) after "x": every cut inside it goes back to 1. */
	CHECK_INT(utf8_cut("x\xe2\x82\xac", 1), 1);
	CHECK_INT(utf8_cut("x\xe2\x82\xac", 2), 1);
	CHECK_INT(utf8_cut("x\xe2\x82\xac", 3), 1);
	CHECK_INT(utf8_cut("x\xe2\x82\xac", 4), 4);
	/* U+1F600 (4 bytes) */
	CHECK_INT(utf8_cut("\xf0\x9f\x98\x80y", 1), 0);
	CHECK_INT(utf8_cut("\xf0\x9f\x98\x80y", 3), 0);
	CHECK_INT(utf8_cut("\xf0\x9f\x98\x80y", 4), 4);
}

TEST(cut_leaves_invalid_bytes_alone)
{
	/* No character to split: the cut stays where it was asked. */
	CHECK_INT(utf8_cut("caf\xe9xyz", 4), 4);
	CHECK_INT(utf8_cut("\x80\x80\x80\x80\x80", 3), 3);
	CHECK_INT(utf8_cut("ab\xc3xyz", 3), 3);
}

/* The case: "é" * 600 cut at 1024 must be 512 whole characters,
 * and every prefix of every cut must be valid. */
TEST(cut_many_characters)
{
	size_t n = 600 * 2;
	char *s = malloc(n + 1);

	for (size_t i = 0; i < n; i += 2) {
		s[i] = (char)0xc3;
		s[i + 1] = (char)0xa9;
	}
	s[n] = '\0';
	CHECK_INT(utf8_cut(s, 1024), 1024);
	CHECK_INT(utf8_cut(s, 1023), 1022);
	for (size_t max = 0; max <= n; max++)
		if (!utf8_valid(s, utf8_cut(s, max), NULL))
			CHECK(!"a cut split a character");
	free(s);
}

int main(void)
{
	RUN(accepts_valid_text);
	RUN(refuses_latin1_and_stray_bytes);
	RUN(refuses_overlongs);
	RUN(refuses_surrogates_and_beyond);
	RUN(bad_at_may_be_null);
	RUN(decode_gives_code_points);
	RUN(encode_each_length);
	RUN(encode_refuses_what_utf8_cannot_carry);
	RUN(encode_decode_round_trip);
	RUN(valid_prefix);
	RUN(cut_keeps_short_strings);
	RUN(cut_on_a_boundary);
	RUN(cut_leaves_invalid_bytes_alone);
	RUN(cut_many_characters);
	return harness_done();
}
