/* pool_call.h - calls from this agent to another agent of its pool: as
 * POOL_USER with the pool credential, the callee's certificate checked
 * against the fingerprint pinned when it was registered (db/pool.h). */
#ifndef OVS_POOL_CALL_H
#define OVS_POOL_CALL_H

#include <stddef.h>

#include "agent/rpc/peer.h"

struct server;
struct store;
struct pool_member;

/* "Basic base64(user:password)", malloc'd; the caller wipes and frees it. */
char *basic_authorization(const char *user, const char *password);

/* The Authorization value agents of this pool call each other with,
 * malloc'd (wipe and free it), or NULL with err (not in a pool). */
char *pool_authorization(struct store *s, char *err, size_t errlen);
/* Wipe and free an Authorization value (either above; NULL is fine). */
void authorization_free(char *authz);

/* peer_call_start_pinned to member m at its port, TLS as it was
 * registered, pinned to m->sha256. A member registered with TLS but
 * without a pinned certificate is refused (NULL, err) rather than called
 * unchecked. */
struct peer_call *pool_peer_call(struct server *srv, const struct pool_member *m,
				 const char *authorization, const char *method,
				 xmlrpc_value *params, int timeout_ms, peer_done_cb done,
				 void *arg, char *err, size_t errlen);

#endif
