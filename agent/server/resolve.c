/* resolve.c - forward-confirmed reverse DNS in a child, with a cache. */
#define LOG_CAT "resolve"
#include "agent/server/resolve.h"

#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/base/child.h"
#include "agent/base/log.h"
#include "agent/base/loop.h"
#include "agent/base/util.h"

#define CACHE_SLOTS 256
#define CACHE_TTL_MS 60000
#define LOOKUP_TIMEOUT_MS 5000
#define MAX_INFLIGHT 32         /* more than this at once: answer "no name" */

struct slot {
	unsigned char addr[16];
	char name[NI_MAXHOST];
	int64_t expires;
};

struct lookup;

struct resolver {
	struct loop *loop;
	struct slot cache[CACHE_SLOTS];
	struct lookup *lookups;  /* in flight, one per address */
	int inflight;
};

/* One lookup per address, however many connections wait for it: many
 * connections from one slow-resolving address cost one child, and cannot
 * use up the lookups other clients need. */
struct lookup {
	struct lookup *next;
	struct resolver *r;
	struct child *child;
	struct sockaddr_storage ss;
	unsigned char addr[16];
	struct resolve_req *waiters;
};

struct resolve_req {
	struct resolve_req *next;
	struct lookup *l;
	resolve_cb cb;
	void *arg;
};

struct resolver *resolver_new(struct loop *loop)
{
	struct resolver *r = xcalloc(1, sizeof(*r));

	r->loop = loop;
	return r;
}

void resolver_free(struct resolver *r) { free(r); }

static void key_of(const struct sockaddr *sa, unsigned char out[16])
{
	memset(out, 0, 16);
	if (sa->sa_family == AF_INET) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else {
		memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	}
}

static struct slot *slot_of(struct resolver *r, const unsigned char addr[16])
{
	unsigned h = 2166136261u;

	for (int i = 0; i < 16; i++)
		h = (h ^ addr[i]) * 16777619u;
	return &r->cache[h % CACHE_SLOTS];
}

static bool same_addr(const struct sockaddr *a, const struct sockaddr *b)
{
	unsigned char ka[16], kb[16];

	if ((a->sa_family != AF_INET && a->sa_family != AF_INET6) ||
	    (b->sa_family != AF_INET && b->sa_family != AF_INET6))
		return false;
	key_of(a, ka);
	key_of(b, kb);
	return memcmp(ka, kb, 16) == 0;
}

/* Runs in the child: print the confirmed name, or nothing. */
static int lookup_in_child(void *arg)
{
	struct lookup *q = arg;
	const struct sockaddr *sa = (const struct sockaddr *)&q->ss;
	socklen_t len = sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	char host[NI_MAXHOST];
	bool ok = false;

	if (getnameinfo(sa, len, host, sizeof(host), NULL, 0, NI_NAMEREQD) != 0)
		return 0;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return 0;
	for (struct addrinfo *ai = res; ai && !ok; ai = ai->ai_next)
		ok = same_addr(ai->ai_addr, sa);
	freeaddrinfo(res);
	if (ok)
		printf("%s", host);
	return 0;
}

static void lookup_free(struct lookup *l)
{
	struct lookup **pp = &l->r->lookups;

	while (*pp && *pp != l)
		pp = &(*pp)->next;
	if (*pp)
		*pp = l->next;
	l->r->inflight--;
	free(l);
}

static void on_lookup(const struct child_result *res, void *arg)
{
	struct lookup *l = arg;
	struct slot *s = slot_of(l->r, l->addr);
	const char *name = res->out->len && !res->timed_out ? res->out->data : "";

	memcpy(s->addr, l->addr, 16);
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->expires = loop_now(l->r->loop) + CACHE_TTL_MS;
	while (l->waiters) {
		struct resolve_req *q = l->waiters;
		l->waiters = q->next;
		q->cb(q->arg, s->name);
		free(q);
	}
	lookup_free(l);
}

const char *resolver_lookup(struct resolver *r, const struct sockaddr *sa,
			    resolve_cb cb, void *arg, struct resolve_req **reqp)
{
	struct child_opts o = { .fn = lookup_in_child, .timeout_ms = LOOKUP_TIMEOUT_MS,
				.max_output = NI_MAXHOST };
	unsigned char addr[16];
	struct resolve_req *q;
	struct lookup *l;
	struct slot *s;
	char err[256];

	*reqp = NULL;
	key_of(sa, addr);
	s = slot_of(r, addr);
	if (s->expires > loop_now(r->loop) && memcmp(s->addr, addr, 16) == 0)
		return s->name;
	for (l = r->lookups; l && memcmp(l->addr, addr, 16) != 0; l = l->next)
		;
	if (!l) {
		if (r->inflight >= MAX_INFLIGHT) {
			log_warn("too many host name lookups in flight; treating client as nameless");
			return "";
		}
		l = xcalloc(1, sizeof(*l));
		l->r = r;
		memcpy(l->addr, addr, 16);
		memcpy(&l->ss, sa, sa->sa_family == AF_INET ? sizeof(struct sockaddr_in)
							   : sizeof(struct sockaddr_in6));
		o.fn_arg = l;
		l->child = child_spawn(r->loop, &o, on_lookup, l, err, sizeof(err));
		if (!l->child) {
			log_err("host name lookup: %s", err);
			free(l);
			return "";
		}
		l->next = r->lookups;
		r->lookups = l;
		r->inflight++;
	}
	q = xcalloc(1, sizeof(*q));
	q->l = l;
	q->cb = cb;
	q->arg = arg;
	q->next = l->waiters;
	l->waiters = q;
	*reqp = q;
	return NULL;
}

void resolver_cancel(struct resolve_req *q)
{
	struct lookup *l;
	struct resolve_req **pp;

	if (!q)
		return;
	l = q->l;
	for (pp = &l->waiters; *pp && *pp != q; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = q->next;
	free(q);
	/* Nobody waits for the answer any more: stop asking. */
	if (!l->waiters) {
		child_cancel(l->child);
		lookup_free(l);
	}
}
