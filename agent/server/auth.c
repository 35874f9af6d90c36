/* auth.c - basic auth: credential cache, child-process verification
 * (password file or PAM), and the per-address failure slow-down. */
#define LOG_CAT "auth"
#include "agent/server/auth.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "agent/base/child.h"
#include "agent/base/log.h"
#include "agent/server/passwd.h"
#include "agent/server/server.h"
#include "agent/server/telemetry.h"
#include "agent/base/util.h"
#include "db/pool.h"

#define CACHE_SLOTS 1024        /* direct-mapped; a collision just evicts */
#define FAIL_SLOTS 1024         /* addresses with recent failures */
#define FAIL_PROBE 8            /* slots looked at per address: O(1) lookups */
#define FAIL_FORGET_MS (15 * 60 * 1000)
#define VERIFY_TIMEOUT_MS 15000
#define HEADER_MAX 1024         /* longest Authorization value we look at */

struct cache_slot {
	unsigned char digest[SHA256_DIGEST_LENGTH];
	char user[AUTH_USER_MAX + 1];
	int64_t expires;        /* 0 = empty */
};

struct fail_slot {
	unsigned char addr[16]; /* IPv4 as v4-mapped IPv6 */
	int count;
	int64_t last;
};

struct auth {
	struct server *srv;
	unsigned char key[32];
	struct cache_slot cache[CACHE_SLOTS];
	struct fail_slot fails[FAIL_SLOTS];
	/* password file identity, to flush the cache when it changes */
	struct stat pw_st;
	int64_t pw_checked;
	unsigned generation;    /* bumped by every flush */
};

struct auth_req {
	struct auth *auth;
	struct child *child;
	struct timer delay;
	auth_done_cb done;
	void *arg;
	int result;
	unsigned char digest[SHA256_DIGEST_LENGTH];
	unsigned char addr[16];
	char peer[64];
	char user[AUTH_USER_MAX + 1];
	char password[HEADER_MAX];
	int pam;
	char *file_or_service;
	unsigned generation;    /* the cache's at spawn: a flush since voids the result */
};

bool auth_check_in_process;

struct auth *auth_new(struct server *srv)
{
	struct auth *a = xcalloc(1, sizeof(*a));

	a->srv = srv;
	if (RAND_bytes(a->key, sizeof(a->key)) != 1) {
		log_err("cannot get random bytes for the credential cache; caching disabled");
		a->srv = srv;
	}
	return a;
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
}

void auth_flush(struct auth *a)
{
	a->generation++;
	OPENSSL_cleanse(a->cache, sizeof(a->cache));
	memset(&a->pw_st, 0, sizeof(a->pw_st));
}

static void addr_key(const struct sockaddr *sa, unsigned char out[16])
{
	memset(out, 0, 16);
	if (sa->sa_family == AF_INET) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	}
}

/* AF_INET for a v4-mapped key (addr_key), else AF_INET6. */
static int addr_family(const unsigned char addr[16])
{
	static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return memcmp(addr, v4mapped, sizeof(v4mapped)) == 0 ? AF_INET : AF_INET6;
}

/* The failure table is hashed by address and probed over FAIL_PROBE
 * slots, so the lookup done on every cached success stays O(1). When the
 * probed slots are full, the one with the oldest failure is reused. */
static struct fail_slot *fail_find(struct auth *a, const unsigned char addr[16], bool create)
{
	int64_t now = loop_now(a->srv->loop);
	struct fail_slot *victim = NULL;
	unsigned h = 2166136261u;

	for (int i = 0; i < 16; i++)
		h = (h ^ addr[i]) * 16777619u;
	for (int i = 0; i < FAIL_PROBE; i++) {
		struct fail_slot *f = &a->fails[(h + (unsigned)i) % FAIL_SLOTS];
		if (f->count && now - f->last > FAIL_FORGET_MS)
			f->count = 0;
		if (f->count && memcmp(f->addr, addr, 16) == 0)
			return f;
		/* keep an empty slot; else prefer an empty or older one */
		if (!victim || (victim->count && (!f->count || f->last < victim->last)))
			victim = f;
	}
	if (!create)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->addr, addr, 16);
	return victim;
}

/* The password file changed (new user, new password): cached answers
 * may be wrong now. Checked at most once a second. */
static void check_password_file(struct auth *a)
{
	const struct agent_config *cfg = &a->srv->cfg;
	int64_t now = loop_now(a->srv->loop);
	struct stat st;

	if (cfg->auth != AUTH_PASSWORD || now - a->pw_checked < 1000)
		return;
	a->pw_checked = now;
	if (stat(cfg->password_file, &st) < 0)
		memset(&st, 0, sizeof(st));
	if (st.st_ino != a->pw_st.st_ino || st.st_size != a->pw_st.st_size ||
	    st.st_mtim.tv_sec != a->pw_st.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != a->pw_st.st_mtim.tv_nsec) {
		OPENSSL_cleanse(a->cache, sizeof(a->cache));
		a->generation++;
		a->pw_st = st;
	}
}

static struct cache_slot *cache_slot(struct auth *a, const unsigned char *digest)
{
	unsigned idx = ((unsigned)digest[0] << 8 | digest[1]) % CACHE_SLOTS;

	return &a->cache[idx];
}

static void make_digest(struct auth *a, struct http_view hdr, unsigned char out[SHA256_DIGEST_LENGTH])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(c, a->key, sizeof(a->key)) != 1 ||
	    EVP_DigestUpdate(c, hdr.p, hdr.n) != 1 ||
	    EVP_DigestFinal_ex(c, out, NULL) != 1)
		memset(out, 0, SHA256_DIGEST_LENGTH); /* never matches a live slot */
	EVP_MD_CTX_free(c);
}

/* ---- the verification child ------------------------------------------- */

static int pam_conv_fn(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	const struct auth_req *r = data;
	struct pam_response *out = calloc((size_t)n, sizeof(*out));

	if (!out)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			out[i].resp = strdup(r->password);
			break;
		case PAM_PROMPT_ECHO_ON:
			out[i].resp = strdup(r->user);
			break;
		default:
			break; /* informational messages need no answer */
		}
	}
	*resp = out;
	return PAM_SUCCESS;
}

/* Runs in the forked child. Exit 0 = good, 1 = bad credentials, 2 = error. */
static int verify_in_child(void *arg)
{
	struct auth_req *r = arg;
	char err[256] = "";
	int rc;

	if (!r->pam) {
		rc = passwd_verify(r->file_or_service, r->user, r->password, err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "%s", err);
			return 2;
		}
		return rc == 1 ? 0 : 1;
	} else {
		struct pam_conv conv = { pam_conv_fn, r };
		pam_handle_t *h = NULL;

		rc = pam_start(r->file_or_service, r->user, &conv, &h);
		if (rc != PAM_SUCCESS) {
			fprintf(stderr, "pam_start(%s): %s", r->file_or_service, pam_strerror(h, rc));
			return 2;
		}
		rc = pam_authenticate(h, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
		if (rc == PAM_SUCCESS)
			rc = pam_acct_mgmt(h, PAM_SILENT);
		if (rc != PAM_SUCCESS && rc != PAM_AUTH_ERR && rc != PAM_USER_UNKNOWN &&
		    rc != PAM_PERM_DENIED && rc != PAM_ACCT_EXPIRED && rc != PAM_MAXTRIES)
			fprintf(stderr, "PAM: %s", pam_strerror(h, rc));
		pam_end(h, rc);
		return rc == PAM_SUCCESS ? 0 : 1;
	}
}

static void req_free(struct auth_req *r)
{
	timer_stop(r->auth->srv->loop, &r->delay);
	free(r->file_or_service);
	OPENSSL_cleanse(r, sizeof(*r));
	free(r);
}

static void deliver(struct timer *t)
{
	struct auth_req *r = t->data;

	r->done(r->arg, r->result, r->user);
	req_free(r);
}

/* Record the outcome; failures are logged and may be held back. A check
 * that could not be made (PAM misconfigured, file unreadable) is logged
 * as an error where it happens and does not count as a guess. */
static void conclude(struct auth_req *r, int result, bool counts)
{
	struct auth *a = r->auth;
	const struct agent_config *cfg = &a->srv->cfg;
	struct fail_slot *f;
	int64_t delay = 0;

	r->result = result;
	if (result == AUTH_OK) {
		struct cache_slot *s = cache_slot(a, r->digest);
		if ((f = fail_find(a, r->addr, false)))
			f->count = 0;
		/* A check begun before the password changed proves nothing now. */
		if (cfg->auth_cache_ttl > 0 && r->generation == a->generation) {
			memcpy(s->digest, r->digest, sizeof(s->digest));
			snprintf(s->user, sizeof(s->user), "%s", r->user);
			s->expires = loop_now(a->srv->loop) + (int64_t)cfg->auth_cache_ttl * 1000;
		}
	} else if (!counts) {
		log_warn("refused user '%s' from %s: credentials could not be checked",
			 r->user[0] ? r->user : "-", r->peer);
	} else {
		f = fail_find(a, r->addr, true);
		f->count++;
		f->last = loop_now(a->srv->loop);
		if (f->count > cfg->auth_fail_limit) {
			int shift = f->count - cfg->auth_fail_limit - 1;
			delay = shift >= 12 ? 4096 : (1LL << shift);
			if (delay > cfg->auth_fail_delay_max)
				delay = cfg->auth_fail_delay_max;
		}
		char why[64] = "";
		if (delay)
			snprintf(why, sizeof(why), "; answer delayed %llds", (long long)delay);
		log_warn("authentication failed for user '%s' from %s (%d consecutive failure%s%s)",
			 r->user[0] ? r->user : "-", r->peer, f->count, f->count == 1 ? "" : "s", why);
		telemetry_auth_failure(a->srv->telemetry, r->peer, addr_family(r->addr), r->user,
				       (int64_t)time(NULL));
	}
	timer_init(&r->delay, deliver, r);
	timer_start(a->srv->loop, &r->delay, delay * 1000);
}

static void on_verified(const struct child_result *res, void *arg)
{
	struct auth_req *r = arg;
	int code = WIFEXITED(res->status) ? WEXITSTATUS(res->status) : -1;

	r->child = NULL;
	OPENSSL_cleanse(r->password, sizeof(r->password));
	if (code == 2 || code < 0) {
		char why[512];
		child_ok(res, VERIFY_TIMEOUT_MS, why, sizeof(why));
		log_err("cannot check credentials of '%s': the check %s", r->user, why);
	}
	conclude(r, code == 0 ? AUTH_OK : AUTH_DENIED, code == 0 || code == 1);
}

/* Split "Basic base64(user:password)" into r->user and r->password.
 * Returns 0, or -1 when the header is absent or malformed. */
static int decode_header(struct http_view hdr, struct auth_req *r)
{
	char plain[HEADER_MAX];
	const char *colon;
	size_t i = 0;
	long n;

	if (!hdr.p || hdr.n < 6 || strncasecmp(hdr.p, "Basic", 5) != 0 ||
	    (hdr.p[5] != ' ' && hdr.p[5] != '\t'))
		return -1;
	i = 6;
	while (i < hdr.n && (hdr.p[i] == ' ' || hdr.p[i] == '\t'))
		i++;
	if (hdr.n - i > (sizeof(plain) - 1) / 3 * 4)
		return -1;
	if ((n = http_base64_decode(hdr.p + i, hdr.n - i, plain)) < 0)
		return -1;
	if (memchr(plain, '\0', (size_t)n) || !(colon = memchr(plain, ':', (size_t)n)))
		goto bad;
	if ((size_t)(colon - plain) > AUTH_USER_MAX || colon == plain)
		goto bad;
	memcpy(r->user, plain, (size_t)(colon - plain));
	r->user[colon - plain] = '\0';
	snprintf(r->password, sizeof(r->password), "%s", colon + 1);
	OPENSSL_cleanse(plain, sizeof(plain));
	/* An empty password never authenticates, whatever a PAM stack says. */
	return passwd_valid_user(r->user) && r->password[0] ? 0 : -1;
bad:
	OPENSSL_cleanse(plain, sizeof(plain));
	return -1;
}

int auth_check(struct auth *a, const struct sockaddr *peer, const char *peer_str,
	       struct http_view hdr, auth_done_cb done, void *arg,
	       struct auth_req **reqp, char *user)
{
	const struct agent_config *cfg = &a->srv->cfg;
	struct auth_req *r;
	struct fail_slot *f;
	char err[256];

	*reqp = NULL;
	if (hdr.p && hdr.n <= HEADER_MAX) {
		unsigned char digest[SHA256_DIGEST_LENGTH];
		struct cache_slot *s;

		check_password_file(a);
		make_digest(a, hdr, digest);
		s = cache_slot(a, digest);
		if (s->expires > loop_now(a->srv->loop) &&
		    ct_memcmp(s->digest, digest, sizeof(digest)) == 0) {
			unsigned char addr[16];
			struct fail_slot *fs;
			/* A success clears the address's failures, cached or not. */
			addr_key(peer, addr);
			if ((fs = fail_find(a, addr, false)))
				fs->count = 0;
			snprintf(user, AUTH_USER_MAX + 1, "%s", s->user);
			return AUTH_OK;
		}
	}
	r = xcalloc(1, sizeof(*r));
	r->auth = a;
	r->done = done;
	r->arg = arg;
	addr_key(peer, r->addr);
	snprintf(r->peer, sizeof(r->peer), "%s", peer_str);
	timer_init(&r->delay, deliver, r);
	if (!hdr.p) {
		/* No credentials at all: a browser or a misconfigured client,
		 * not a guess; answer at once unless the address is throttled. */
		f = fail_find(a, r->addr, false);
		if (!f || f->count <= cfg->auth_fail_limit) {
			req_free(r);
			return AUTH_DENIED;
		}
		conclude(r, AUTH_DENIED, true);
		*reqp = r;
		return AUTH_PENDING;
	}
	if (hdr.n > HEADER_MAX || decode_header(hdr, r) < 0) {
		conclude(r, AUTH_DENIED, true);
		*reqp = r;
		return AUTH_PENDING;
	}
	make_digest(a, hdr, r->digest);
	r->generation = a->generation;
	if (strcmp(r->user, POOL_USER) == 0) {
		/* Another agent of the pool: its credential is in the store, not
		 * in the password file or PAM (a user of that name there is
		 * never consulted). */
		char secret[POOL_SECRET_HEX + 1];
		int have = pool_secret_get(a->srv->store, secret, err, sizeof(err));
		bool ok = have == 1 && strlen(r->password) == strlen(secret) &&
			  ct_memcmp(r->password, secret, strlen(secret)) == 0;

		if (have < 0)
			log_err("cannot read the pool credential: %s", err);
		OPENSSL_cleanse(secret, sizeof(secret));
		OPENSSL_cleanse(r->password, sizeof(r->password));
		conclude(r, ok ? AUTH_OK : AUTH_DENIED, have >= 0);
		*reqp = r;
		return AUTH_PENDING;
	}
	r->pam = cfg->auth == AUTH_PAM;
	r->file_or_service = xstrdup(r->pam ? cfg->pam_service : cfg->password_file);
	if (auth_check_in_process) {
		/* The fuzzer's seam (auth.h): the same check, no process; the
		 * answer still comes from the loop (conclude's timer). */
		struct buf none;
		struct child_result res = { 0 };

		buf_init(&none, 0);
		res.status = W_EXITCODE(verify_in_child(r) & 0xff, 0);
		res.out = res.err = &none;
		on_verified(&res, r);
		*reqp = r;
		return AUTH_PENDING;
	}
	{
		struct child_opts o = { .fn = verify_in_child, .fn_arg = r,
					.timeout_ms = VERIFY_TIMEOUT_MS, .max_output = 1024 };
		r->child = child_spawn(a->srv->loop, &o, on_verified, r, err, sizeof(err));
	}
	/* The child has its own copy; ours is not needed any more. */
	OPENSSL_cleanse(r->password, sizeof(r->password));
	if (!r->child) {
		log_err("cannot check credentials of '%s': %s", r->user, err);
		conclude(r, AUTH_DENIED, false);
	}
	*reqp = r;
	return AUTH_PENDING;
}

void auth_cancel(struct auth_req *r)
{
	if (!r)
		return;
	child_cancel(r->child);
	req_free(r);
}

size_t auth_slowed(const struct auth *a, struct auth_slowed *out, size_t max)
{
	int64_t now = loop_now(a->srv->loop);
	size_t n = 0;

	for (size_t i = 0; i < FAIL_SLOTS && n < max; i++) {
		const struct fail_slot *f = &a->fails[i];
		int64_t left = f->last + FAIL_FORGET_MS - now;
		if (!f->count || f->count <= a->srv->cfg.auth_fail_limit || left <= 0)
			continue;
		if (addr_family(f->addr) == AF_INET)
			inet_ntop(AF_INET, f->addr + 12, out[n].addr, sizeof(out[n].addr));
		else
			inet_ntop(AF_INET6, f->addr, out[n].addr, sizeof(out[n].addr));
		out[n].failures = f->count;
		out[n].seconds_left = (left + 999) / 1000;
		n++;
	}
	return n;
}
