/* pool.h - the server pool in the store's "pool" table.
 *
 * Keys (db_dump pool shows them; hooks/ovs-cluster-* read the first two):
 *   master_ip=<ip>             the pool master this server obeys
 *   self_ip=<ip>               this server's own address in the pool (it is
 *                              the master when the two are the same)
 *   server.<ip>=<roles>        every member, roles comma-separated in the
 *                              fixed order site,utility,xen
 *   member.<ip>=port=N tls=0|1 registered=<Unix time> sha256=<hex>
 *                              one line; sha256 is that of the member's DER
 *                              certificate, pinned when it was registered
 *   credential=<secret>        the pool credential agents call each other
 *                              with; the store is root's alone (0600 in a
 *                              0700 directory)
 * A member's two keys are written and removed together. Addresses are
 * kept in inet_ntop's canonical form, so one server has one key. */
#ifndef OVS_DB_POOL_H
#define OVS_DB_POOL_H

#include <stdbool.h>
#include <stddef.h>

struct store;

#define POOL_TABLE "pool"

enum pool_role { POOL_SITE = 1, POOL_UTILITY = 2, POOL_XEN = 4 };
#define POOL_ROLES_ALL (POOL_SITE | POOL_UTILITY | POOL_XEN)
#define POOL_ROLES_TEXT_MAX sizeof("site,utility,xen")
#define POOL_IP_MAX 46          /* INET6_ADDRSTRLEN */
#define POOL_FP_HEX 64          /* SHA-256 in hex, without the NUL */
#define POOL_SECRET_HEX 64      /* 32 random bytes in hex */
/* The user name agents of a pool call each other as, with the credential
 * as its password (agent/server/auth.c checks it). */
#define POOL_USER "ovs-pool"

/* "xen", "site,utility", " xen , site": roles from the fixed set, each at
 * most once; *roles gets their bits. -1 for anything else, with the word
 * that was not a role in err. */
int pool_roles_parse(const char *s, unsigned *roles, char *err, size_t errlen);
/* The canonical text of roles ("site,utility,xen" order); "" for none. */
void pool_roles_format(unsigned roles, char out[POOL_ROLES_TEXT_MAX]);
/* An IPv4 or IPv6 literal into its canonical text; -1 when s is not one. */
int pool_ip_canon(const char *s, char out[POOL_IP_MAX]);

struct pool_member {
	char ip[POOL_IP_MAX];
	unsigned roles;
	int port;
	bool tls;
	long long registered;
	char sha256[POOL_FP_HEX + 1];   /* "" when none is pinned */
};

/* 1 found, 0 absent, -1 with err. */
int pool_member_get(struct store *s, const char *ip, struct pool_member *m, char *err,
		    size_t errlen);
/* Add or replace. 0 or -1 with err. */
int pool_member_put(struct store *s, const struct pool_member *m, char *err, size_t errlen);
/* 1 removed, 0 absent, -1 with err. */
int pool_member_del(struct store *s, const char *ip, char *err, size_t errlen);
/* The member table becomes v[0..n) (a member's copy of the master's),
 * in one transaction. 0 or -1 with err. */
int pool_members_replace(struct store *s, const struct pool_member *v, size_t n, char *err,
			 size_t errlen);
/* The master's pushes of its table run side by side and may overtake
 * each other: each carries a number that only grows. pool_sync_seq_next
 * gives the master's next one (-1 with err). pool_members_sync replaces
 * the table as above, but only when seq is newer than the one applied
 * last (seq 0: always), and keeps seq with it in the same transaction:
 * 1 applied, 0 stale (*have the newer one), -1 with err. */
#define POOL_SYNC_SEQ "sync_seq"        /* the master's last number sent */
#define POOL_SYNCED_SEQ "synced_seq"    /* a member's last number applied */
long long pool_sync_seq_next(struct store *s, char *err, size_t errlen);
int pool_members_sync(struct store *s, const struct pool_member *v, size_t n, long long seq,
		      long long *have, char *err, size_t errlen);
/* Every member, in key order: *out malloc'd (NULL when none). 0 or -1. */
int pool_members(struct store *s, struct pool_member **out, size_t *n, char *err,
		 size_t errlen);

/* 1 and the master's address, 0 when not in a pool, -1 with err. */
int pool_master_get(struct store *s, char ip[POOL_IP_MAX], char *err, size_t errlen);
/* 1 and the credential, 0 when none, -1 with err. */
int pool_secret_get(struct store *s, char secret[POOL_SECRET_HEX + 1], char *err,
		    size_t errlen);
/* 1 and this server's own address in its pool, 0 when not in one, -1. */
int pool_self_get(struct store *s, char ip[POOL_IP_MAX], char *err, size_t errlen);
/* Join: master_ip, self_ip and credential together. 0 or -1 with err. */
int pool_join(struct store *s, const char *master_ip, const char *self_ip, const char *secret,
	      char *err, size_t errlen);
/* The master the cluster elected (agent/pool): master_ip alone. 0 or -1. */
int pool_master_set(struct store *s, const char *ip, char *err, size_t errlen);

/* The replicated HA state (agent/cluster/poolstate.h) as its snapshot
 * text, in a table of its own (its lines are not db_dump pool's
 * key=value lines, which the cluster scripts read). get: 1 and a
 * malloc'd *text, 0 none, -1 with err. put: 0 or -1. */
#define POOL_HA_TABLE "pool_ha"
int pool_ha_state_get(struct store *s, char **text, char *err, size_t errlen);
int pool_ha_state_put(struct store *s, const char *text, char *err, size_t errlen);

/* Leave: the whole pool table cleared (members, master, credential), and
 * the HA state with it. */
int pool_leave(struct store *s, char *err, size_t errlen);

#endif
