/* resolve.h - client host names for `allow`/`deny` name patterns.
 *
 * The name is forward-confirmed reverse DNS: the PTR name of the address,
 * kept only if that name resolves back to the same address, so a client
 * cannot pass `*.example.com` by controlling its own PTR record. The lookup
 * runs in a child process (getnameinfo/getaddrinfo block); answers are
 * cached for a minute. */
#ifndef OVS_RESOLVE_H
#define OVS_RESOLVE_H

#include <sys/socket.h>

struct loop;
struct resolver;
struct resolve_req;

/* name is the verified host name, or "" when there is none. */
typedef void (*resolve_cb)(void *arg, const char *name);

struct resolver *resolver_new(struct loop *loop);
void resolver_free(struct resolver *r);

/* Returns the cached name (maybe "") at once, or NULL after starting a
 * lookup that will call cb; *reqp is then its handle for resolver_cancel. */
const char *resolver_lookup(struct resolver *r, const struct sockaddr *sa,
			    resolve_cb cb, void *arg, struct resolve_req **reqp);
void resolver_cancel(struct resolve_req *req);

#endif
