/* pool_call.c - calls to the other agents of the pool (pool_call.h). */
#include "agent/rpc/pool_call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "agent/base/util.h"
#include "agent/server/server.h"
#include "db/pool.h"

char *basic_authorization(const char *user, const char *password)
{
	char *plain = xasprintf("%s:%s", user, password);
	size_t n = strlen(plain);
	char *out = xmalloc(6 + 4 * ((n + 2) / 3) + 1);

	memcpy(out, "Basic ", 6);
	EVP_EncodeBlock((unsigned char *)out + 6, (const unsigned char *)plain, (int)n);
	OPENSSL_cleanse(plain, n);
	free(plain);
	return out;
}

char *pool_authorization(struct store *s, char *err, size_t errlen)
{
	char secret[POOL_SECRET_HEX + 1];
	int r = pool_secret_get(s, secret, err, errlen);
	char *authz;

	if (r == 0)
		snprintf(err, errlen, "this server is not in a server pool (no pool credential)");
	if (r != 1)
		return NULL;
	authz = basic_authorization(POOL_USER, secret);
	OPENSSL_cleanse(secret, sizeof(secret));
	return authz;
}

void authorization_free(char *authz)
{
	if (authz) {
		OPENSSL_cleanse(authz, strlen(authz));
		free(authz);
	}
}

struct peer_call *pool_peer_call(struct server *srv, const struct pool_member *m,
				 const char *authorization, const char *method,
				 xmlrpc_value *params, int timeout_ms, peer_done_cb done,
				 void *arg, char *err, size_t errlen)
{
	if (m->tls && !m->sha256[0]) {
		snprintf(err, errlen, "no certificate is pinned for %s: unregister it and "
			 "register it again", m->ip);
		return NULL;
	}
	return peer_call_start_pinned(srv->loop, m->ip, m->port,
				      m->tls ? &(struct peer_tls){ .pin = m->sha256 } : NULL,
				      authorization, method, params, timeout_ms, done, arg, err,
				      errlen);
}
