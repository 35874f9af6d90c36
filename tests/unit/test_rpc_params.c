/* test_rpc_params.c - the one whole-number rule for method parameters:
 * the same answer for an int, an i8 and a string, whatever the method. */
#include <stdarg.h>
#include <string.h>

#include "harness.h"
#include "agent/rpc/rpc_params.h"

static int whole(const char *s, long long *out)
{
	return whole_number(s, strlen(s), out);
}

TEST(digits_only)
{
	long long v = -7;

	CHECK_INT(whole("512", &v), 0);
	CHECK_INT(v, 512);
	CHECK_INT(whole("0", &v), 0);
	CHECK_INT(v, 0);
	CHECK_INT(whole("007", &v), 0);      /* decimal, not octal */
	CHECK_INT(v, 7);
	CHECK_INT(whole("999999999999999999", &v), 0);
	CHECK_INT(v, 999999999999999999LL);
}

TEST(everything_else_refused)
{
	static const char *const bad[] = {
		"", "512 ", " 512", "\t512", "512\n", "+512", "-1", "-0", "0x10", "0X10", "1e3",
		"1.5", "512abc", "abc", "5 12", "1_000", "1,000", "\xd9\xa5", /* Arabic-Indic 5 */
		"1000000000000000000", "99999999999999999999999", "١٢",
	};
	long long v = 42;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (whole(bad[i], &v) != -1)
			fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
		CHECK_INT(whole(bad[i], &v), -1);
	}
	CHECK_INT(v, 42);                    /* untouched on refusal */
	CHECK_INT(whole_number("512", 0, &v), -1);
	CHECK_INT(whole_number("5120", 3, &v), 0);   /* n bounds the read */
	CHECK_INT(v, 512);
	CHECK_INT(whole_number("1\0002", 3, &v), -1); /* an embedded NUL */
}

/* params = [s] or [i] built with xmlrpc_build_value's format. */
static xmlrpc_value *one(const char *fmt, ...)
{
	xmlrpc_env env;
	xmlrpc_value *v;
	const char *tail;
	va_list ap;

	xmlrpc_env_init(&env);
	va_start(ap, fmt);
	xmlrpc_build_value_va(&env, fmt, ap, &v, &tail);
	va_end(ap);
	if (env.fault_occurred)
		v = NULL;
	xmlrpc_env_clean(&env);
	return v;
}

TEST(int_i8_and_string_agree)
{
	xmlrpc_value *p;
	long long v = 0;

	p = one("(i)", 512);
	CHECK_INT(param_int(p, 0, &v), 0);
	CHECK_INT(v, 512);
	xmlrpc_DECREF(p);
	p = one("(I)", (xmlrpc_int64)512);
	v = 0;
	CHECK_INT(param_int(p, 0, &v), 0);
	CHECK_INT(v, 512);
	xmlrpc_DECREF(p);
	p = one("(s)", "512");
	v = 0;
	CHECK_INT(param_int(p, 0, &v), 0);
	CHECK_INT(v, 512);
	xmlrpc_DECREF(p);
	p = one("(i)", -5);
	CHECK_INT(param_int(p, 0, &v), 0);  /* an int is a number; ranges refuse it */
	CHECK_INT(v, -5);
	xmlrpc_DECREF(p);
	for (const char *const *s = (const char *const[]){ "512 ", " 512", "+512", "0x10", "",
							   "512abc", NULL }; *s; s++) {
		p = one("(s)", *s);
		CHECK_INT(param_int(p, 0, &v), -1);
		xmlrpc_DECREF(p);
	}
	p = one("(d)", 512.0);
	CHECK_INT(param_int(p, 0, &v), -1);
	xmlrpc_DECREF(p);
	p = one("(s)", "1");
	CHECK_INT(param_int(p, 1, &v), -1);  /* missing */
	xmlrpc_DECREF(p);
}

static const char *in_range(xmlrpc_value *p, long long *out)
{
	static char err[256];

	err[0] = '\0';
	if (param_int_in(p, 0, "memory", 16, 1024, " MB", out, err, sizeof(err)) == 0)
		return "";
	return err;
}

TEST(one_message)
{
	xmlrpc_value *p;
	long long v = 0;

	p = one("(s)", "512");
	CHECK_STR(in_range(p, &v), "");
	CHECK_INT(v, 512);
	xmlrpc_DECREF(p);
	p = one("(i)", 1024);
	CHECK_STR(in_range(p, &v), "");
	CHECK_INT(v, 1024);
	xmlrpc_DECREF(p);
	v = 99;
	p = one("(s)", "512 ");
	CHECK_STR(in_range(p, &v), "memory must be a whole number from 16 to 1024 MB; got '512 '");
	CHECK_INT(v, 99);                    /* untouched on refusal */
	xmlrpc_DECREF(p);
	p = one("(s)", "");
	CHECK_STR(in_range(p, &v), "memory must be a whole number from 16 to 1024 MB; got ''");
	xmlrpc_DECREF(p);
	p = one("(i)", 15);
	CHECK_STR(in_range(p, &v), "memory must be a whole number from 16 to 1024 MB; got 15");
	xmlrpc_DECREF(p);
	p = one("(I)", (xmlrpc_int64)1 << 40);
	CHECK_STR(in_range(p, &v),
		  "memory must be a whole number from 16 to 1024 MB; got 1099511627776");
	xmlrpc_DECREF(p);
	p = one("(s)", "2048");
	CHECK_STR(in_range(p, &v), "memory must be a whole number from 16 to 1024 MB; got '2048'");
	xmlrpc_DECREF(p);
	p = one("(s)", "99999999999999999999");
	CHECK_STR(in_range(p, &v), "memory must be a whole number from 16 to 1024 MB; "
		  "got '99999999999999999999'");
	xmlrpc_DECREF(p);
	/* a hostile string is shown printable and cut */
	p = one("(s)", "1\n2\x1b[31m");
	CHECK_STR(in_range(p, &v), "memory must be a whole number from 16 to 1024 MB; "
		  "got '1?2?[31m'");
	xmlrpc_DECREF(p);
	p = one("(b)", 1);
	CHECK_STR(in_range(p, &v), "memory must be a whole number from 16 to 1024 MB; "
		  "got a value of another type");
	xmlrpc_DECREF(p);
}

int main(void)
{
	RUN(digits_only);
	RUN(everything_else_refused);
	RUN(int_i8_and_string_agree);
	RUN(one_message);
	return harness_done();
}
