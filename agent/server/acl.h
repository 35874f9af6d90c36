/* acl.h - the allow/deny address rules of agent.ini (SPEC section 4).
 *
 * A rule list is a comma separated list of items:
 *   10.1.1.1        a single address (IPv4 or IPv6, e.g. ::1, fe80::1)
 *   10.1.1.*        IPv4 wildcard: a '*' octet matches any value; a trailing
 *                   '*' may stand for all remaining octets (10.*)
 *   10.1.1.1/24     CIDR (IPv4 /0-32, IPv6 /0-128)
 *   *.example.com   host name pattern (fnmatch, case-insensitive) matched
 *                   against the client's forward-confirmed reverse DNS name
 *   host.example.com exact host name (also a name pattern)
 *   *               every client
 * An empty list matches nothing. IPv4-mapped IPv6 clients (::ffff:a.b.c.d)
 * are matched as IPv4.
 * A client passes when it matches allow and does not match deny.
 */
#ifndef OVS_ACL_H
#define OVS_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct acl;

/* Compile a rule list. Returns NULL and writes a message naming the bad
 * item into err (errlen bytes) on error. An empty or all-blank spec gives
 * an empty list (never NULL). Caller owns the result. */
struct acl *acl_parse(const char *spec, char *err, size_t errlen);
void acl_free(struct acl *acl);

/* True when the list holds at least one host name pattern. */
bool acl_has_names(const struct acl *acl);

enum acl_verdict {
	ACL_DENY = 0,
	ACL_ALLOW = 1,
	ACL_NEED_NAME = 2, /* the verdict depends on the client's host name */
};

/* Decide for a client address. `name` is the client's verified host name,
 * or NULL when it is not (yet) known. With name == NULL the answer is
 * ACL_NEED_NAME only when a host name pattern could change the verdict;
 * pass name = "" to mean "looked up, no name": name patterns then never
 * match. */
enum acl_verdict acl_check(const struct acl *allow, const struct acl *deny,
			   const struct sockaddr *sa, const char *name);

#endif
