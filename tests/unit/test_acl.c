/* test_acl.c - allow/deny rule parsing and the three-valued verdict. */
#include "harness.h"
#include "agent/server/acl.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

/* A sockaddr for a literal address of either family. */
static const struct sockaddr *sa_of(const char *addr)
{
	static struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(1234);
	} else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
	} else {
		abort();
	}
	return (const struct sockaddr *)&ss;
}

/* Verdict of allow=spec_a deny=spec_d for addr and name; -1 when either
 * spec fails to parse. */
static int verdict(const char *spec_a, const char *spec_d, const char *addr,
		   const char *name)
{
	char err[256];
	struct acl *a = acl_parse(spec_a, err, sizeof(err));
	struct acl *d = acl_parse(spec_d, err, sizeof(err));
	int v = -1;

	if (a != NULL && d != NULL)
		v = (int)acl_check(a, d, sa_of(addr), name);
	acl_free(a);
	acl_free(d);
	return v;
}

/* Does `spec` (as allow, empty deny) let addr in, knowing there is no name? */
static int allows(const char *spec, const char *addr)
{
	return verdict(spec, "", addr, "") == ACL_ALLOW;
}

/* The error text acl_parse gives for spec, or "" when it parses. */
static const char *parse_err(const char *spec)
{
	static char err[256];
	struct acl *a;

	strcpy(err, "untouched");
	a = acl_parse(spec, err, sizeof(err));
	if (a != NULL) {
		acl_free(a);
		return "";
	}
	return err;
}

TEST(empty_lists)
{
	char err[64];
	struct acl *a = acl_parse("", err, sizeof(err));
	struct acl *b = acl_parse("  , ,\t,", err, sizeof(err));

	CHECK(a != NULL);
	CHECK(b != NULL);
	CHECK(!acl_has_names(a));
	CHECK(!acl_has_names(b));
	acl_free(a);
	acl_free(b);
	/* Empty allow matches nothing. */
	CHECK_INT(verdict("", "", "10.0.0.1", NULL), ACL_DENY);
	CHECK_INT(verdict("", "", "::1", NULL), ACL_DENY);
	CHECK_INT(verdict(" , ", "", "10.0.0.1", NULL), ACL_DENY);
	acl_free(NULL);
}

TEST(star)
{
	CHECK_INT(verdict("*", "", "10.0.0.1", NULL), ACL_ALLOW);
	CHECK_INT(verdict("*", "", "::1", NULL), ACL_ALLOW);
	CHECK_INT(verdict("*", "", "10.0.0.1", ""), ACL_ALLOW);
	/* '*' in deny shuts everyone out, name or not. */
	CHECK_INT(verdict("*", "*", "10.0.0.1", NULL), ACL_DENY);
	CHECK_INT(verdict("*.example.com", "*", "10.0.0.1", NULL), ACL_DENY);
	/* A '*' next to name patterns still decides without the name. */
	CHECK_INT(verdict("*.example.com, *", "", "10.0.0.1", NULL), ACL_ALLOW);
}

TEST(single_v4)
{
	CHECK(allows("10.1.1.1", "10.1.1.1"));
	CHECK(!allows("10.1.1.1", "10.1.1.2"));
	CHECK(!allows("10.1.1.1", "::1"));
	CHECK(allows(" 10.1.1.1 ,10.1.1.2 ", "10.1.1.2"));
	CHECK(allows("0.0.0.0,255.255.255.255", "255.255.255.255"));
	CHECK(allows("0.0.0.0,255.255.255.255", "0.0.0.0"));
	CHECK(!allows("0.0.0.0,255.255.255.255", "0.0.0.1"));
}

TEST(wildcard_v4)
{
	CHECK(allows("10.1.1.*", "10.1.1.0"));
	CHECK(allows("10.1.1.*", "10.1.1.255"));
	CHECK(!allows("10.1.1.*", "10.1.2.1"));
	CHECK(allows("10.*", "10.200.3.4"));
	CHECK(!allows("10.*", "11.0.0.0"));
	CHECK(allows("10.1.*", "10.1.9.9"));
	CHECK(!allows("10.1.*", "10.2.9.9"));
	CHECK(allows("10.*.1.1", "10.77.1.1"));
	CHECK(!allows("10.*.1.1", "10.77.1.2"));
	CHECK(allows("*.*.*.*", "1.2.3.4"));
	CHECK(!allows("*.*.*.*", "::1"));
	CHECK(allows("*.*", "1.2.3.4"));
	CHECK(allows("10.*.*.5", "10.9.8.5"));
	CHECK(!allows("10.*.*.5", "10.9.8.6"));
}

TEST(cidr_v4)
{
	CHECK(allows("10.1.1.0/24", "10.1.1.77"));
	CHECK(!allows("10.1.1.0/24", "10.1.2.0"));
	/* Host bits are masked, not an error. */
	CHECK(allows("10.1.1.1/24", "10.1.1.200"));
	CHECK(allows("10.1.1.1/24", "10.1.1.0"));
	CHECK(allows("0.0.0.0/0", "1.2.3.4"));
	CHECK(allows("9.9.9.9/0", "255.255.255.255"));
	CHECK(!allows("0.0.0.0/0", "2001:db8::1"));
	CHECK(allows("10.1.1.1/32", "10.1.1.1"));
	CHECK(!allows("10.1.1.1/32", "10.1.1.0"));
	CHECK(allows("10.1.1.1/31", "10.1.1.0"));
	CHECK(!allows("10.1.1.1/31", "10.1.1.2"));
	CHECK(allows("128.0.0.0/1", "200.0.0.1"));
	CHECK(!allows("128.0.0.0/1", "127.255.255.255"));
	CHECK(allows("172.16.0.0/12", "172.31.255.255"));
	CHECK(!allows("172.16.0.0/12", "172.32.0.0"));
}

TEST(v6)
{
	CHECK(allows("::1", "::1"));
	CHECK(!allows("::1", "::2"));
	CHECK(!allows("::1", "127.0.0.1"));
	CHECK(allows("fe80::1", "FE80:0:0::1"));
	CHECK(allows("2001:db8::/32", "2001:db8:ffff::1"));
	CHECK(!allows("2001:db8::/32", "2001:db9::1"));
	CHECK(allows("2001:db8::1234/120", "2001:db8::12ff"));
	CHECK(!allows("2001:db8::1234/120", "2001:db8::1300"));
	CHECK(allows("2001:db8::1/128", "2001:db8::1"));
	CHECK(!allows("2001:db8::1/128", "2001:db8::2"));
	CHECK(allows("::/0", "2001:db8::2"));
	CHECK(allows("2001:db8::1/127", "2001:db8::0"));
	CHECK(!allows("2001:db8::1/127", "2001:db8::2"));
	CHECK(allows("2001:db8::/33", "2001:db8:7fff::"));
	CHECK(!allows("2001:db8::/33", "2001:db8:8000::"));
}

TEST(mapped_v4)
{
	/* A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d. */
	CHECK(allows("10.1.1.1", "::ffff:10.1.1.1"));
	CHECK(!allows("10.1.1.1", "::ffff:10.1.1.2"));
	CHECK(allows("10.1.1.*", "::ffff:10.1.1.9"));
	CHECK(allows("10.0.0.0/8", "::ffff:10.200.0.1"));
	CHECK(!allows("10.0.0.0/8", "::ffff:11.0.0.1"));
	CHECK_INT(verdict("*", "10.1.1.1", "::ffff:10.1.1.1", NULL), ACL_DENY);
	/* Not mapped: only the last 32 bits equal. */
	CHECK(!allows("10.1.1.1", "::10.1.1.1"));
	CHECK(!allows("10.1.1.1", "64:ff9b::10.1.1.1"));
	/* IPv6 rules that cover the mapped range see IPv4 clients too. */
	CHECK(allows("::ffff:10.1.1.1", "10.1.1.1"));
	CHECK(allows("::ffff:10.1.1.0/120", "10.1.1.33"));
	CHECK(allows("::/0", "10.1.1.1"));
	CHECK(!allows("::1", "0.0.0.1"));
}

TEST(names)
{
	char err[64];
	struct acl *a = acl_parse("10.0.0.1, *.Example.COM", err, sizeof(err));

	CHECK(a != NULL);
	CHECK(acl_has_names(a));
	acl_free(a);
	CHECK(!acl_has_names(NULL));

	CHECK_INT(verdict("*.example.com", "", "10.0.0.1", "host.example.com"), ACL_ALLOW);
	CHECK_INT(verdict("*.example.com", "", "10.0.0.1", "HOST.EXAMPLE.com"), ACL_ALLOW);
	CHECK_INT(verdict("*.EXAMPLE.com", "", "10.0.0.1", "a.b.example.com"), ACL_ALLOW);
	CHECK_INT(verdict("*.example.com", "", "10.0.0.1", "example.com"), ACL_DENY);
	CHECK_INT(verdict("*.example.com", "", "10.0.0.1", "hostexample.com"), ACL_DENY);
	CHECK_INT(verdict("*.example.com", "", "10.0.0.1", "host.example.com.evil"), ACL_DENY);
	CHECK_INT(verdict("host.example.com", "", "10.0.0.1", "host.example.com"), ACL_ALLOW);
	CHECK_INT(verdict("host.example.com", "", "10.0.0.1", "xhost.example.com"), ACL_DENY);
	CHECK_INT(verdict("web?.example.com", "", "10.0.0.1", "web1.example.com"), ACL_ALLOW);
	CHECK_INT(verdict("web?.example.com", "", "10.0.0.1", "web12.example.com"), ACL_DENY);
	CHECK_INT(verdict("*a*a*a*a*a*a*a*b", "", "10.0.0.1",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), ACL_DENY);
	CHECK_INT(verdict("my_host-1", "", "10.0.0.1", "MY_HOST-1"), ACL_ALLOW);
	/* "" = looked up, no name: name patterns never match. */
	CHECK_INT(verdict("*.example.com", "", "10.0.0.1", ""), ACL_DENY);
	CHECK_INT(verdict("*", "*.example.com", "10.0.0.1", ""), ACL_ALLOW);
	CHECK_INT(verdict("*", "*.example.com", "10.0.0.1", "a.example.com"), ACL_DENY);
	CHECK_INT(verdict("*", "*.example.com", "10.0.0.1", "a.example.org"), ACL_ALLOW);
	/* Deny a name inside an allowed network. */
	CHECK_INT(verdict("10.0.0.0/8", "bad.example.com", "10.0.0.1", "bad.example.com"), ACL_DENY);
	CHECK_INT(verdict("10.0.0.0/8", "bad.example.com", "10.0.0.1", "ok.example.com"), ACL_ALLOW);
}

TEST(need_name)
{
	/* Allow only by name: the name decides. */
	CHECK_INT(verdict("*.example.com", "", "10.0.0.1", NULL), ACL_NEED_NAME);
	/* Allowed by address, deny has no names: decided now. */
	CHECK_INT(verdict("10.0.0.1, *.example.com", "", "10.0.0.1", NULL), ACL_ALLOW);
	CHECK_INT(verdict("10.0.0.1", "10.0.0.2", "10.0.0.1", NULL), ACL_ALLOW);
	/* Allowed by address but deny has a name pattern: need the name. */
	CHECK_INT(verdict("10.0.0.1", "*.evil.com", "10.0.0.1", NULL), ACL_NEED_NAME);
	/* Denied by address: no name can help. */
	CHECK_INT(verdict("*.example.com", "10.0.0.1", "10.0.0.1", NULL), ACL_DENY);
	CHECK_INT(verdict("10.0.0.1", "10.0.0.1, *.x.com", "10.0.0.1", NULL), ACL_DENY);
	/* Not allowed by address and allow has no names: deny regardless
	 * of the names in deny. */
	CHECK_INT(verdict("10.0.0.2", "*.evil.com", "10.0.0.1", NULL), ACL_DENY);
	CHECK_INT(verdict("", "*.evil.com", "10.0.0.1", NULL), ACL_DENY);
	/* Both lists only by name. */
	CHECK_INT(verdict("*.example.com", "*.evil.com", "10.0.0.1", NULL), ACL_NEED_NAME);
	/* The name given afterwards settles it. */
	CHECK_INT(verdict("*.example.com", "*.evil.com", "10.0.0.1", "a.example.com"), ACL_ALLOW);
	CHECK_INT(verdict("*.example.com", "*.evil.com", "10.0.0.1", "a.evil.com"), ACL_DENY);
	CHECK_INT(verdict("*.example.com", "*.evil.com", "10.0.0.1", ""), ACL_DENY);
}

TEST(other_family)
{
	char err[64];
	struct acl *all = acl_parse("*", err, sizeof(err));
	struct acl *net = acl_parse("0.0.0.0/0, ::/0", err, sizeof(err));
	struct acl *none = acl_parse("", err, sizeof(err));
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	CHECK_INT(acl_check(all, none, (struct sockaddr *)&sun, NULL), ACL_ALLOW);
	CHECK_INT(acl_check(net, none, (struct sockaddr *)&sun, NULL), ACL_DENY);
	CHECK_INT(acl_check(net, none, NULL, ""), ACL_DENY);
	/* NULL lists behave as empty ones. */
	CHECK_INT(acl_check(all, NULL, sa_of("1.2.3.4"), NULL), ACL_ALLOW);
	CHECK_INT(acl_check(NULL, none, sa_of("1.2.3.4"), NULL), ACL_DENY);
	acl_free(all);
	acl_free(net);
	acl_free(none);
}

TEST(bad_patterns)
{
	CHECK_STR(parse_err("10.1.1.1/33"),
	    "bad address pattern '10.1.1.1/33' (IPv4 prefix length must be 0-32)");
	CHECK_STR(parse_err("::1/129"),
	    "bad address pattern '::1/129' (IPv6 prefix length must be 0-128)");
	CHECK_STR(parse_err("10.1.1.300"),
	    "bad address pattern '10.1.1.300' (not an IPv4 address)");
	CHECK_STR(parse_err("10.0.0.1, 10.1.1"),
	    "bad address pattern '10.1.1' (not an IPv4 address)");
	CHECK_STR(parse_err("10.1.1.*.5"),
	    "bad address pattern '10.1.1.*.5' (more than 4 octets)");
	CHECK_STR(parse_err("10.*.1"),
	    "bad address pattern '10.*.1' (too few octets; end with '*' to match the rest)");
	CHECK_STR(parse_err("10.**"),
	    "bad address pattern '10.**' (each octet must be 0-255 or '*')");
	CHECK_STR(parse_err("host name.com"),
	    "bad pattern 'host name.com' (host names may hold only letters, digits, "
	    "'.', '-', '_', '*' and '?')");
	CHECK_STR(parse_err("fe80::1%eth0"),
	    "bad address pattern 'fe80::1%eth0' (not an IPv4 or IPv6 address)");
	CHECK_STR(parse_err("[::1]"),
	    "bad address pattern '[::1]' (not an IPv4 or IPv6 address)");
	CHECK(parse_err("10.1.1.*/24")[0] != '\0');
	CHECK(parse_err("10.1.1.1/")[0] != '\0');
	CHECK(parse_err("10.1.1.1/-1")[0] != '\0');
	CHECK(parse_err("10.1.1.1/024")[0] != '\0');
	CHECK(parse_err("/24")[0] != '\0');
	CHECK(parse_err("010.1.1.*")[0] != '\0');
	CHECK(parse_err("10.256.*")[0] != '\0');
	CHECK(parse_err("10..1.*")[0] != '\0');
	CHECK(parse_err(".")[0] != '\0');
	CHECK(parse_err("a\x01" "b")[0] != '\0');
	/* Control bytes in the message are neutralised. */
	CHECK_STR(parse_err("a\x01" "b"),
	    "bad pattern 'a?b' (host names may hold only letters, digits, "
	    "'.', '-', '_', '*' and '?')");
	/* Good ones for contrast. */
	CHECK_STR(parse_err("10.1.1.1/0, 10.1.1.1/32, ::/0, ::1/128, 10.*, a-b_c.d"), "");
	CHECK_STR(parse_err("\t10.0.0.1 ,, ,10.0.0.2,"), "");
}

TEST(long_items)
{
	char spec[400];
	const char *e;

	/* A 255-byte name is fine, 256 is not. */
	memset(spec, 'a', 255);
	spec[255] = '\0';
	CHECK_STR(parse_err(spec), "");
	memset(spec, 'a', 256);
	spec[256] = '\0';
	e = parse_err(spec);
	CHECK(strstr(e, "bad host name pattern") == e);
	CHECK(strstr(e, "...' (too long)") != NULL);
	/* A huge address-looking item is rejected, not overflowed. */
	memset(spec, '1', 300);
	memcpy(spec + 300, "::/8", 5);
	CHECK(parse_err(spec)[0] != '\0');
}

int main(void)
{
	RUN(empty_lists);
	RUN(star);
	RUN(single_v4);
	RUN(wildcard_v4);
	RUN(cidr_v4);
	RUN(v6);
	RUN(mapped_v4);
	RUN(names);
	RUN(need_name);
	RUN(other_family);
	RUN(bad_patterns);
	RUN(long_items);
	return harness_done();
}
