/* poolstate.h - the pool state every agent of a cluster holds a copy of.
 *
 * What HA needs to survive any one server, the master included: the
 * pool's HA switch, the master and its epoch, and for each guest its HA
 * flag, preferred servers, owner and epoch. Copies are kept equal by
 * applying the same ops in the same order (corosync CPG's agreed order,
 * agent/cluster/poolrepl.h), so apply is a pure function of the state and
 * the message: no clock, no host, no randomness.
 *
 * Epochs are fencing tokens. A guest's epoch grows with every change of
 * its owner, and an OWN op only applies when it carries a newer epoch than
 * the copy has: of two servers racing for one guest, the first delivered
 * wins everywhere, and an agent back from a partition, whose ops carry
 * old epochs, changes nothing. The master's epoch does the same for the
 * master.
 *
 * Messages are text: a first line "OVSP1 <kind>", then lines of
 * space-separated fields; guest paths are %-escaped (only [A-Za-z0-9._/-]
 * stay). Everything that arrives is checked and bounded. */
#ifndef OVS_POOLSTATE_H
#define OVS_POOLSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/base/buf.h"
#include "db/pool.h"

#define PS_PREF_MAX 16          /* preferred servers per guest */
#define PS_GUESTS_MAX 4096      /* guests the pool state holds */
#define PS_PATH_MAX 1024        /* a guest's path, unescaped */
#define PS_MSG_MAX (1u << 20)   /* one message (corolink's CORO_MSG_MAX) */
/* A snapshot's bound: with poolrepl's tag line (REPL_MEMBERS_MAX node ids)
 * it still fits in one message. Long paths and many preferred servers
 * could pass it before PS_GUESTS_MAX, so apply skips, in every copy alike,
 * a line that would make the state's snapshot larger. */
#define PS_SNAP_MAX (PS_MSG_MAX - 4096)
#define PS_BATCH_MAX 1024       /* lines in one op message */

struct ps_guest {
	char *path;                     /* the key: the guest's directory */
	bool ha;                        /* set_vm_ha */
	bool manual;                    /* preferred-server mode Manual (else Auto) */
	bool running;                   /* it should run (owner "": waiting for a server) */
	char owner[POOL_IP_MAX];        /* the server running it; "" none */
	uint64_t epoch;                 /* grows with every change of owner */
	size_t npref;
	char pref[PS_PREF_MAX][POOL_IP_MAX];
};

struct poolstate {
	uint64_t gen;                   /* ops applied: the copy with more is newer */
	uint64_t master_epoch;
	char master[POOL_IP_MAX];       /* "" before the first election */
	bool pool_ha;                   /* set_pool_ha */
	struct ps_guest **g;            /* sorted by path, each its own allocation:
					 * an insert moves pointers, not guests */
	size_t n, cap;
	size_t bytes;                   /* the guest lines' share of the snapshot */
};

void poolstate_init(struct poolstate *s);
void poolstate_free(struct poolstate *s);
/* The guest at path, or NULL. */
const struct ps_guest *poolstate_find(const struct poolstate *s, const char *path);
/* HA applies to g: the pool's switch and its own are both on. */
bool poolstate_ha(const struct poolstate *s, const struct ps_guest *g);

/* ---- ops: built by the sender, applied by every copy ------------------------- */
/* Each builder appends one line to an op message begun with ps_op_begin;
 * one message may carry up to PS_BATCH_MAX lines (a failover moves many
 * guests in one). The caller checks b->failed once at the end. */
void ps_op_begin(struct buf *b);
void ps_op_pool_ha(struct buf *b, bool on);
void ps_op_vm_ha(struct buf *b, const char *path, bool on);
/* servers: canonical addresses (pool_ip_canon), at most PS_PREF_MAX. */
void ps_op_pref(struct buf *b, const char *path, bool manual, const char (*servers)[POOL_IP_MAX],
		size_t n);
/* owner "" for none; applies only when epoch is newer than the guest's. */
void ps_op_own(struct buf *b, const char *path, const char *owner, uint64_t epoch, bool running);
/* applies only when epoch is newer than the master's. */
void ps_op_master(struct buf *b, const char *ip, uint64_t epoch);
void ps_op_forget(struct buf *b, const char *path);
/* A sender's tag for its own message ("ID <n>"), changing nothing: the
 * sender knows its change is applied when the message comes back. */
void ps_op_id(struct buf *b, uint64_t id);
/* The tag of an op message, 0 when it has none. */
uint64_t poolstate_op_id(const void *msg, size_t len);

/* Is msg an op message (1), a snapshot (2), or neither (0)? */
int poolstate_kind(const void *msg, size_t len);
/* Apply an op message: every line is checked first, and then all are
 * applied or none (a malformed message changes nothing). Returns the
 * number of lines that changed the state (gen grows by one per message
 * that changed anything), or -1 with err. */
int poolstate_apply(struct poolstate *s, const void *msg, size_t len, char *err, size_t errlen);

/* ---- snapshots -------------------------------------------------------------------- */
/* The whole state as one message (also what the store keeps). */
void poolstate_encode(const struct poolstate *s, struct buf *b);
/* A snapshot into *out (initialised here; freed by the caller either
 * way). 0, or -1 with err. */
int poolstate_decode(struct poolstate *out, const void *msg, size_t len, char *err,
		     size_t errlen);
/* Is a newer than b (master epoch, then gen)? */
bool poolstate_newer(const struct poolstate *a, const struct poolstate *b);
/* Move src into dst (dst freed first; src left empty). */
void poolstate_move(struct poolstate *dst, struct poolstate *src);

#endif
