/* conn.h - one client connection: ACL, TLS, HTTP requests, auth, calls.
 *
 * Each connection is a small state machine (conn.c); the epoll interest is
 * derived from its state after every transition. A connection is never
 * freed inside its own callback: conn_close() unregisters and closes the
 * fd at once, and the memory goes when the last reference (a pending
 * deferred reply holds one) is dropped, at the end of the loop turn. */
#ifndef OVS_CONN_H
#define OVS_CONN_H

#include <stdbool.h>
#include <sys/socket.h>

struct server;

/* Take over an accepted socket. `reject` turns the connection away with
 * 503 (a connection limit was hit) after reading its request head. */
void conn_accept(struct server *srv, int fd, const struct sockaddr *sa, socklen_t salen,
		 bool reject);

/* SIGTERM: close connections with no request in progress and make the
 * others close after their reply. */
void conn_drain_all(struct server *srv);

#endif
