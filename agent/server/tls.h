/* tls.h - OpenSSL for the agent: the server context and non-blocking I/O.
 *
 * Both TLS traps live here (STYLE.md): an SSL_read can want a write and an
 * SSL_write a read, so every call reports which epoll event it waits for;
 * and bytes already decrypted inside OpenSSL never wake epoll, so callers
 * ask tls_pending() and wake themselves. */
#ifndef OVS_TLS_H
#define OVS_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <openssl/ssl.h>

/* Build a server context: TLS 1.2+, forward-secret AEAD ciphers, the
 * certificate chain and key from PEM files (checked to match).
 * Returns NULL with a message in err. */
SSL_CTX *tls_server_ctx(const char *cert, const char *key, char *err, size_t errlen);

enum tls_status {
	TLS_DONE = 0,       /* handshake finished / bytes moved */
	TLS_WANT = 1,       /* retry when *want (EPOLLIN or EPOLLOUT) is ready */
	TLS_EOF = 2,        /* the peer closed */
	TLS_FAIL = 3,       /* protocol or socket error; see tls_last_error */
	TLS_PLAIN_HTTP = 4, /* the peer spoke plain HTTP to the TLS port */
};

int tls_handshake(SSL *ssl, uint32_t *want);
/* Read or write up to n bytes; *done is the byte count on TLS_DONE. */
int tls_read(SSL *ssl, void *p, size_t n, size_t *done, uint32_t *want);
int tls_write(SSL *ssl, const void *p, size_t n, size_t *done, uint32_t *want);
/* Text of the last OpenSSL error of this thread (static storage). */
const char *tls_last_error(void);

/* The context's certificate: its subject (RFC 2253, cut to fit) and its
 * notAfter as Unix time. 0, or -1 when the context has none. */
int tls_cert_facts(SSL_CTX *ctx, char *subject, size_t len, int64_t *not_after_unix);

#endif
