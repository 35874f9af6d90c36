/* peer.h - asynchronous XML-RPC client for calls from one agent to another.
 *
 * Live migration and the server pool call other agents' methods without
 * stopping the loop: every step (connect, TLS handshake, send, receive) is
 * non-blocking and driven by the loop, with one overall deadline. Each call
 * uses its own connection ("Connection: close"): calls between agents are
 * rare and long, so pooling connections would buy nothing.
 *
 * The host is an IPv4 or IPv6 literal: resolving a name could block the
 * loop, so callers resolve names (if ever) elsewhere.
 *
 * TLS: calls between the agents of a pool pin the peer's certificate
 * (peer_call_start_pinned: the SHA-256 of its DER encoding, recorded when
 * the server was registered); a call without a pin does not verify the
 * peer, and is for registration itself (which records what it sees) and
 * the tests. The process must ignore SIGPIPE (the agent does):
 * OpenSSL writes to the socket without MSG_NOSIGNAL. */
#ifndef OVS_PEER_H
#define OVS_PEER_H

#include <stdbool.h>
#include <stddef.h>

#include <xmlrpc-c/base.h>

struct loop;
struct peer_call;

/* The outcome of a call, reported exactly once, from the loop.
 *   success: result is the peer's value (borrowed: INCREF to keep it),
 *            fault_code 0, message NULL;
 *   fault:   result NULL, fault_code the peer's fault code (never 0: a
 *            peer's 0 is reported as -1), message its fault string;
 *   other:   result NULL, fault_code -1, message says what went wrong
 *            (connect, TLS, HTTP status, timeout, malformed reply).
 * message is valid only during the callback. The call object is gone
 * once the callback returns; calling peer_call_cancel on it from inside
 * the callback is a harmless no-op. */
typedef void (*peer_done_cb)(void *arg, xmlrpc_value *result, int fault_code,
			     const char *message);

/* Start calling method(params) on host:port (POST /RPC2). params must be
 * an XML-RPC array; it is serialized at once and not kept. authorization
 * is the complete Authorization header value ("Basic ...") or NULL.
 * timeout_ms bounds the whole call, connect to last byte.
 * Returns NULL with a message in err when the call cannot start (bad
 * address, port, method or params); then done is never called. Otherwise
 * done is called later from the loop, never from inside this function. */
struct peer_call *peer_call_start(struct loop *loop, const char *host, int port, bool tls,
				  const char *authorization, const char *method,
				  xmlrpc_value *params, int timeout_ms, peer_done_cb done,
				  void *arg, char *err, size_t errlen);

/* The hex SHA-256 of a DER certificate, and its NUL. */
#define PEER_FP_SIZE 65

/* The hex SHA-256 of x's DER encoding into out; "" when x is NULL. */
typedef struct x509_st X509;
void peer_fingerprint(const X509 *x, char out[PEER_FP_SIZE]);

/* TLS for peer_call_start_pinned. pin: the hex SHA-256 the peer's
 * certificate must have (any case), or NULL to take any certificate.
 * seen: NULL, or PEER_FP_SIZE bytes the caller keeps until done is called,
 * filled with the fingerprint the peer showed once the handshake is over
 * ("" until then). A certificate that is not the pinned one ends the call
 * before anything is sent: fault_code -1, the message naming both. */
struct peer_tls {
	const char *pin;
	char *seen;
};

/* peer_call_start with tls NULL for plain HTTP, or TLS as *tls says. */
struct peer_call *peer_call_start_pinned(struct loop *loop, const char *host, int port,
					 const struct peer_tls *tls, const char *authorization,
					 const char *method, xmlrpc_value *params, int timeout_ms,
					 peer_done_cb done, void *arg, char *err, size_t errlen);

/* Abandon a call: its connection is closed and done is not called. Safe
 * from any callback, including one of another call's done. */
void peer_call_cancel(struct peer_call *c);

#endif
