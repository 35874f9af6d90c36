/* fuzz_acl.c - libFuzzer target: arbitrary bytes as an allow/deny list.
 *
 * A list that parses is checked against fixed IPv4, IPv4-mapped and IPv6
 * clients with an unknown name (NULL), no name ("") and a real name, as
 * both allow and deny list. The verdict laws are asserted: a known name
 * never yields ACL_NEED_NAME, and a list without name patterns never
 * needs one. */
#include "agent/server/acl.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_one(const struct acl *acl, const struct acl *star,
		      const struct acl *none, const struct sockaddr *sa)
{
	static const char *names[] = { NULL, "", "host.example.com" };
	enum acl_verdict v;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		v = acl_check(acl, none, sa, names[i]);
		if (v != ACL_ALLOW && v != ACL_DENY && v != ACL_NEED_NAME)
			abort();
		if (v == ACL_NEED_NAME && (names[i] != NULL || !acl_has_names(acl)))
			abort();
		v = acl_check(star, acl, sa, names[i]);
		if (v == ACL_NEED_NAME && (names[i] != NULL || !acl_has_names(acl)))
			abort();
		v = acl_check(acl, acl, sa, names[i]);
		/* Allowed and denied by the same list is never allowed. */
		if (v == ACL_ALLOW)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6, mapped;
	struct acl *acl, *star, *none;
	char err[256];
	char *spec = malloc(size + 1);

	memcpy(spec, data, size);
	spec[size] = '\0';
	acl = acl_parse(spec, err, sizeof(err));
	if (acl == NULL) {
		if (memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0')
			abort();
		free(spec);
		return 0;
	}
	star = acl_parse("*", err, sizeof(err));
	none = acl_parse("", err, sizeof(err));

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, "10.1.2.3", &sin.sin_addr);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
	mapped = sin6;
	inet_pton(AF_INET6, "::ffff:10.1.2.3", &mapped.sin6_addr);

	check_one(acl, star, none, (struct sockaddr *)&sin);
	check_one(acl, star, none, (struct sockaddr *)&sin6);
	check_one(acl, star, none, (struct sockaddr *)&mapped);
	/* Mapped and native IPv4 are the same client. */
	if (acl_check(acl, none, (struct sockaddr *)&sin, "") !=
	    acl_check(acl, none, (struct sockaddr *)&mapped, ""))
		abort();

	acl_free(acl);
	acl_free(star);
	acl_free(none);
	free(spec);
	return 0;
}
