/* tls.c - OpenSSL server context and non-blocking handshake/read/write. */
#include "agent/server/tls.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/x509.h>

/* TLS 1.2 suites: ECDHE/DHE key exchange with AEAD only; TLS 1.3 keeps
 * OpenSSL's defaults, which are all AEAD. */
#define TLS12_CIPHERS "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL:!SHA1"

static char last_error[256];

const char *tls_last_error(void) { return last_error[0] ? last_error : "unknown TLS error"; }

static void save_error(const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char detail[200];

	if (e) {
		ERR_error_string_n(e, detail, sizeof(detail));
		snprintf(last_error, sizeof(last_error), "%s: %s", what, detail);
	} else {
		snprintf(last_error, sizeof(last_error), "%s: %s", what,
			 errno ? strerror(errno) : "connection closed");
	}
	ERR_clear_error();
}

SSL_CTX *tls_server_ctx(const char *cert, const char *key, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	const char *step = "create context";

	if (!ctx)
		goto fail;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
				 SSL_OP_NO_COMPRESSION);
	/* Idle connections give their read/write buffers back: 10,000 idle
	 * TLS connections must fit in tens of MB. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
			      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* Read whole socket buffers, not record by record: fewer syscalls.
	 * Callers test SSL_has_pending, which sees read-ahead bytes too. */
	SSL_CTX_set_read_ahead(ctx, 1);
	step = "set ciphers";
	if (SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1)
		goto fail;
	step = cert;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
		goto fail;
	step = key;
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
		goto fail;
	step = "key does not match certificate";
	if (SSL_CTX_check_private_key(ctx) != 1)
		goto fail;
	return ctx;
fail:
	{
		unsigned long e = ERR_peek_last_error();
		char detail[200] = "";
		if (e)
			ERR_error_string_n(e, detail, sizeof(detail));
		snprintf(err, errlen, "TLS: %s: %s", step, detail[0] ? detail : "failed");
		ERR_clear_error();
	}
	SSL_CTX_free(ctx);
	return NULL;
}

/* Turn an SSL_get_error result into our status and the event to wait for. */
static int classify(SSL *ssl, int ret, uint32_t *want, const char *what)
{
	int e = SSL_get_error(ssl, ret);

	switch (e) {
	case SSL_ERROR_WANT_READ:
		*want = EPOLLIN;
		return TLS_WANT;
	case SSL_ERROR_WANT_WRITE:
		*want = EPOLLOUT;
		return TLS_WANT;
	case SSL_ERROR_ZERO_RETURN:
		return TLS_EOF;
	case SSL_ERROR_SSL:
		if (ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_HTTP_REQUEST) {
			ERR_clear_error();
			return TLS_PLAIN_HTTP;
		}
		save_error(what);
		return TLS_FAIL;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_last_error() == 0 && (errno == 0 || errno == ECONNRESET)) {
			ERR_clear_error();
			return TLS_EOF;
		}
		save_error(what);
		return TLS_FAIL;
	default:
		save_error(what);
		return TLS_FAIL;
	}
}

int tls_handshake(SSL *ssl, uint32_t *want)
{
	int r;

	ERR_clear_error();
	errno = 0;
	r = SSL_accept(ssl);
	if (r == 1)
		return TLS_DONE;
	return classify(ssl, r, want, "handshake");
}

int tls_read(SSL *ssl, void *p, size_t n, size_t *done, uint32_t *want)
{
	ERR_clear_error();
	errno = 0;
	if (SSL_read_ex(ssl, p, n, done) == 1)
		return TLS_DONE;
	*done = 0;
	return classify(ssl, 0, want, "read");
}

int tls_write(SSL *ssl, const void *p, size_t n, size_t *done, uint32_t *want)
{
	ERR_clear_error();
	errno = 0;
	if (SSL_write_ex(ssl, p, n, done) == 1)
		return TLS_DONE;
	*done = 0;
	return classify(ssl, 0, want, "write");
}

int tls_cert_facts(SSL_CTX *ctx, char *subject, size_t len, int64_t *not_after_unix)
{
	X509 *cert = ctx ? SSL_CTX_get0_certificate(ctx) : NULL;
	const ASN1_TIME *na;
	struct tm tm;
	BIO *bio;
	long n;
	char *p;

	if (len)
		subject[0] = '\0';
	*not_after_unix = 0;
	if (!cert)
		return -1;
	if (len && (bio = BIO_new(BIO_s_mem()))) {
		if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0 &&
		    (n = BIO_get_mem_data(bio, &p)) > 0)
			snprintf(subject, len, "%.*s", (int)n, p);
		BIO_free(bio);
	}
	if ((na = X509_get0_notAfter(cert)) && ASN1_TIME_to_tm(na, &tm) == 1)
		*not_after_unix = (int64_t)timegm(&tm);
	return 0;
}
