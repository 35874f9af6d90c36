/* auth.h - HTTP basic authentication for every request.
 *
 * Checking a password is slow on purpose (yescrypt) and PAM may block, so
 * the check runs in a child process (child.h) and the connection waits
 * without blocking the loop. A verified credential is remembered for
 * auth_cache_ttl seconds as SHA-256(per-process random key || header value):
 * the clear password is never kept, the key never leaves the process, and
 * the cache is flushed when the password file changes or on SIGHUP.
 * Failures are counted per client address; past auth_fail_limit each
 * further refusal (403, or 401 for a page) is held back 1, 2, 4 ...
 * auth_fail_delay_max seconds, and logged. */
#ifndef OVS_AUTH_H
#define OVS_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "agent/server/http.h"

struct server;
struct auth;
struct auth_req;

enum auth_result {
	AUTH_OK = 0,       /* user is set */
	AUTH_DENIED = 1,   /* answer 403 now */
	AUTH_PENDING = 2,  /* done() will be called from the loop */
};

#define AUTH_USER_MAX 64

/* result is AUTH_OK or AUTH_DENIED; user is valid only during the call. */
typedef void (*auth_done_cb)(void *arg, int result, const char *user);

struct auth *auth_new(struct server *srv);
void auth_free(struct auth *a);
/* Forget every cached credential (SIGHUP, password change). */
void auth_flush(struct auth *a);

/* Check the Authorization header `hdr` (may be absent: hdr.p == NULL) of a
 * request from `peer` (`peer_str` is its printable form for the log).
 * On AUTH_OK the user name is copied into user (AUTH_USER_MAX + 1 bytes).
 * On AUTH_PENDING *reqp is the handle for auth_cancel(). */
int auth_check(struct auth *a, const struct sockaddr *peer, const char *peer_str,
	       struct http_view hdr, auth_done_cb done, void *arg,
	       struct auth_req **reqp, char *user);

/* Abandon a pending check (its connection closed); done is not called. */
void auth_cancel(struct auth_req *req);

/* An address whose answers are held back now (past auth_fail_limit). */
struct auth_slowed {
	char addr[46];          /* IPv4 as a.b.c.d */
	int failures;           /* consecutive, the count the delay grows with */
	int64_t seconds_left;   /* until its failures are forgotten */
};
/* Up to max of them, in the table's order. Looks at every slot: for the
 * status readers, not for each request. */
size_t auth_slowed(const struct auth *a, struct auth_slowed *out, size_t max);

/* Tests only: check credentials in this process, not in a forked child.
 * The daemon never sets it. The request fuzzer does (forking its large
 * address space per check was two thirds of its time); the check, and
 * the answer coming later from the loop, stay the same. */
extern bool auth_check_in_process;

#endif
