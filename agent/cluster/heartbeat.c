/* heartbeat.c - write our slot, read everyone's, from a child per round. */
#define LOG_CAT "heartbeat"
#include "agent/cluster/heartbeat.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/base/child.h"
#include "agent/base/log.h"
#include "agent/base/loop.h"
#include "agent/base/util.h"
#include "agent/cluster/hbslot.h"
#include "db/pool.h"

_Static_assert(sizeof(((struct hb_view *)0)->ip) == HB_IP_MAX, "a view holds a slot's ip");

struct hb_node {
	bool seen, fenced;
	uint64_t seq;
	int64_t changed;          /* loop_now when we saw seq change */
	char ip[HB_IP_MAX];
};

struct heartbeat {
	struct loop *loop;
	char *path;
	int interval_ms, timeout_ms;
	struct timer tick, stall_timer;
	uint32_t self;            /* 0: none */
	char self_ip[HB_IP_MAX];
	bool writing, fence_pending;
	uint64_t seq;             /* the last seq we wrote */
	int64_t last_ok;          /* start of the last round that read our slot back; -1 never */
	int64_t stall_since;      /* own age counts from here: last_ok, or when writing began */
	bool stalled, failing;
	void (*on_stall)(void *);
	void *stall_arg;

	/* The round in flight (the child reads these in its copy of memory). */
	struct child *child;
	bool round_writes, round_fenced;
	uint32_t round_self;
	int64_t round_start;
	struct timespec round_t0; /* for the debug line's µs */
	char round_slot[HB_SLOT_SIZE];

	struct hb_node nodes[HB_SLOTS];
};

/* ---- in the child ------------------------------------------------------------ */

static int fail(const char *what, const char *path)
{
	fprintf(stderr, "%s %s: %s\n", what, path, strerror(errno));
	return 1;
}

/* Open path, a regular file (a device or a FIFO is no heartbeat file),
 * or say why not on stderr; -1 then, with errno. A FIFO without a peer
 * blocks in open: the round's timeout ends that, as it ends a hung mount. */
static int open_file(const char *path, int flags, bool quiet_enoent)
{
	struct stat st;
	int fd = open(path, flags | O_CLOEXEC | O_NOCTTY, 0644);

	if (fd < 0) {
		if (errno != ENOENT || !quiet_enoent)
			fail("open", path);
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		fail("stat", path);
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "%s: not a regular file\n", path);
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

static int write_slot(const struct heartbeat *hb)
{
	off_t off = (off_t)hb->round_self * HB_SLOT_SIZE;
	size_t done = 0;
	int fd = open_file(hb->path, O_WRONLY | O_CREAT, false);

	if (fd < 0)
		return 1;
	while (done < HB_SLOT_SIZE) {
		ssize_t n = pwrite(fd, hb->round_slot + done, HB_SLOT_SIZE - done, off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			fail("write", hb->path);
			close(fd);
			return 1;
		}
		done += (size_t)n;
	}
	if (fdatasync(fd) < 0) {
		fail("fdatasync", hb->path);
		close(fd);
		return 1;
	}
	/* On NFS close reports what the write could not. */
	if (close(fd) < 0)
		return fail("close", hb->path);
	return 0;
}

/* Read the whole file through a fresh open (NFS revalidates its cache at
 * open) and print its valid slots, each its 128 bytes. */
static int read_slots(const struct heartbeat *hb)
{
	static char file[HB_FILE_SIZE], out[HB_FILE_SIZE];
	size_t got = 0, outlen = 0;
	/* No file yet and nothing to write: nobody to see. */
	int fd = open_file(hb->path, O_RDONLY, !hb->round_writes);

	if (fd < 0)
		return !hb->round_writes && errno == ENOENT ? 0 : 1;
	while (got < sizeof(file)) {
		ssize_t n = pread(fd, file + got, sizeof(file) - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail("read", hb->path);
			close(fd);
			return 1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	for (uint32_t i = 1; i < HB_SLOTS && (i + 1) * HB_SLOT_SIZE <= got; i++) {
		struct hb_slot s;

		if (hbslot_parse(file + i * HB_SLOT_SIZE, HB_SLOT_SIZE, i, &s) == 0) {
			memcpy(out + outlen, file + i * HB_SLOT_SIZE, HB_SLOT_SIZE);
			outlen += HB_SLOT_SIZE;
		}
	}
	for (size_t off = 0; off < outlen;) {
		ssize_t n = write(1, out + off, outlen - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail("write to the agent, reading", hb->path);
		off += (size_t)n;
	}
	return 0;
}

static int round_child(void *arg)
{
	const struct heartbeat *hb = arg;

	if (hb->round_writes && write_slot(hb) != 0)
		return 1;
	return read_slots(hb);
}

/* ---- in the agent ------------------------------------------------------------ */

/* The wall clock in ms (only written into slots, never compared). */
static uint64_t wall_ms(void)
{
	struct timespec ts;
	uint64_t ms;

	clock_gettime(CLOCK_REALTIME, &ts);
	ms = ts.tv_sec < 0 ? 0 : (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	return ms < HB_UNIX_MS_MAX ? ms : HB_UNIX_MS_MAX;
}

static int64_t own_age_at(const struct heartbeat *hb, int64_t now)
{
	return hb->last_ok < 0 ? INT64_MAX : now - hb->last_ok;
}

/* Arm the stall timer for the moment our age passes timeout_ms, when that
 * can happen: writing, with a node id, not already stalled. */
static void stall_arm(struct heartbeat *hb)
{
	int64_t due;

	if (!hb->writing || !hb->self || hb->stalled) {
		timer_stop(hb->loop, &hb->stall_timer);
		return;
	}
	due = hb->stall_since + hb->timeout_ms + 1 - loop_now(hb->loop);
	timer_start(hb->loop, &hb->stall_timer, due > 0 ? due : 0);
}

static void on_stall_timer(struct timer *t)
{
	struct heartbeat *hb = t->data;
	int64_t now = loop_now(hb->loop);

	if (!hb->writing || !hb->self || hb->stalled)
		return;
	if (now - hb->stall_since <= hb->timeout_ms) {
		stall_arm(hb);   /* a round succeeded meanwhile: not yet */
		return;
	}
	hb->stalled = true;
	if (hb->last_ok < 0)
		log_warn("%s: our slot (node %" PRIu32 ") not written and read back in %" PRId64
			 " ms (timeout %d ms): stalled", hb->path, hb->self, now - hb->stall_since,
			 hb->timeout_ms);
	else
		log_warn("%s: our slot (node %" PRIu32 ") last written and read back %" PRId64
			 " ms ago (timeout %d ms): stalled", hb->path, hb->self,
			 own_age_at(hb, now), hb->timeout_ms);
	if (hb->on_stall)
		hb->on_stall(hb->stall_arg);
}

/* A round that went wrong: said once, until a round goes right. */
static void round_failed(struct heartbeat *hb, const char *why)
{
	if (hb->failing) {
		log_debug("%s: %s", hb->path, why);
		return;
	}
	hb->failing = true;
	log_warn("%s: %s (said once until it works again)", hb->path, why);
}

/* A round that went right; wrote: it wrote our slot and read it back,
 * which alone ends a stall. */
static void round_worked(struct heartbeat *hb, bool wrote)
{
	bool unstall = wrote && hb->stalled;

	if (!hb->failing && !unstall)
		return;
	log_info("%s: works again%s", hb->path,
		 unstall ? ", our slot written and read back: no longer stalled" : "");
	hb->failing = false;
	if (unstall)
		hb->stalled = false;
}

/* Take the slots the child printed: each its 128 bytes, parsed again (the
 * child is ours, the bytes are not). true when our own came back as we
 * wrote it. */
static bool take_slots(struct heartbeat *hb, const struct buf *out, int64_t now)
{
	bool own = false;

	for (size_t off = 0; out->data && off + HB_SLOT_SIZE <= out->len; off += HB_SLOT_SIZE) {
		struct hb_slot s;
		struct hb_node *n;

		if (hbslot_parse(out->data + off, HB_SLOT_SIZE, 0, &s) != 0)
			continue;
		n = &hb->nodes[s.nodeid];
		if (!n->seen || n->seq != s.seq)
			n->changed = now;
		n->seen = true;
		n->seq = s.seq;
		n->fenced = s.fenced;
		memcpy(n->ip, s.ip, sizeof(n->ip));
		if (hb->round_writes && s.nodeid == hb->round_self &&
		    memcmp(out->data + off, hb->round_slot, HB_SLOT_SIZE) == 0)
			own = true;
	}
	return own;
}

static void start_round(struct heartbeat *hb);

static void round_done(const struct child_result *res, void *arg)
{
	struct heartbeat *hb = arg;
	int64_t now = loop_now(hb->loop);
	struct timespec t1;
	char why[512];
	bool ok, own;

	hb->child = NULL;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_debug("%s: round took %lld us", hb->path,
		  (long long)(t1.tv_sec - hb->round_t0.tv_sec) * 1000000 +
		  (t1.tv_nsec - hb->round_t0.tv_nsec) / 1000);
	ok = child_ok(res, 2 * hb->interval_ms, why, sizeof(why));
	own = take_slots(hb, res->out, now);
	if (res->killed_at_exit)
		return;
	if (!ok) {
		round_failed(hb, why);
	} else if (hb->round_writes && !own) {
		/* Another host writing with our node id, or a file system that
		 * lost the write. */
		round_failed(hb, "our slot did not read back as written");
	} else {
		/* Not when our node id changed meanwhile (own_restart). */
		bool wrote = hb->round_writes && hb->round_self == hb->self;

		if (wrote) {
			hb->last_ok = hb->round_start;
			if (hb->writing && hb->round_start > hb->stall_since)
				hb->stall_since = hb->round_start;
		}
		round_worked(hb, wrote);
	}
	stall_arm(hb);
	if (hb->fence_pending)
		start_round(hb);
}

static void start_round(struct heartbeat *hb)
{
	struct child_opts o = { .fn = round_child, .fn_arg = hb, .timeout_ms = 2 * hb->interval_ms,
				.max_output = HB_FILE_SIZE, .quiet_timeout = true };
	char err[256];

	if (hb->child || child_stopping())
		return;
	hb->round_fenced = hb->fence_pending && hb->self;
	hb->round_writes = hb->self && (hb->writing || hb->round_fenced);
	hb->fence_pending = false;    /* best effort: this round, or none */
	hb->round_self = hb->self;
	if (hb->round_writes) {
		struct hb_slot s = { .nodeid = hb->self, .seq = ++hb->seq, .unix_ms = wall_ms(),
				     .fenced = hb->round_fenced };

		memcpy(s.ip, hb->self_ip, sizeof(s.ip));
		if (hbslot_encode(&s, hb->round_slot) != 0) {
			hb->round_writes = false;   /* cannot happen: set_self checked */
			log_err("%s: cannot encode our slot", hb->path);
		}
	}
	hb->round_start = loop_now(hb->loop);
	clock_gettime(CLOCK_MONOTONIC, &hb->round_t0);
	hb->child = child_spawn(hb->loop, &o, round_done, hb, err, sizeof(err));
	if (!hb->child)
		round_failed(hb, err);
}

static void on_tick(struct timer *t)
{
	struct heartbeat *hb = t->data;

	timer_start(hb->loop, &hb->tick, hb->interval_ms);
	start_round(hb);   /* not while one is in flight */
}

struct heartbeat *heartbeat_new(struct loop *loop, const char *path, int interval_ms,
				int timeout_ms)
{
	struct heartbeat *hb = xcalloc(1, sizeof(*hb));

	hb->loop = loop;
	hb->path = xstrdup(path);
	hb->interval_ms = interval_ms > 0 ? interval_ms : 1;
	hb->timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
	hb->last_ok = -1;
	/* seq starts at the wall clock's ms, so an agent started again never
	 * writes the seq it wrote before and looks unchanged. */
	hb->seq = wall_ms();
	timer_init(&hb->tick, on_tick, hb);
	timer_init(&hb->stall_timer, on_stall_timer, hb);
	timer_start(loop, &hb->tick, 0);
	return hb;
}

void heartbeat_free(struct heartbeat *hb)
{
	if (!hb)
		return;
	timer_stop(hb->loop, &hb->tick);
	timer_stop(hb->loop, &hb->stall_timer);
	child_cancel(hb->child);
	free(hb->path);
	free(hb);
}

/* Own age starts again: a new node id, or writing begun. */
static void own_restart(struct heartbeat *hb)
{
	hb->stall_since = loop_now(hb->loop);
	hb->stalled = false;
	stall_arm(hb);
}

void heartbeat_set_self(struct heartbeat *hb, uint32_t nodeid, const char *ip)
{
	char canon[HB_IP_MAX] = "";

	if (nodeid && (nodeid > HB_NODEID_MAX || pool_ip_canon(ip, canon) != 0)) {
		char q[80];

		quote_printable(q, sizeof(q), ip ? ip : "", ip ? strlen(ip) : 0);
		log_err("%s: node id %" PRIu32 " with address \"%s\": no slot of ours (node ids "
			"are 1..%d, the address an IP literal)", hb->path, nodeid, q, HB_NODEID_MAX);
		nodeid = 0;
	}
	if (nodeid == hb->self && strcmp(canon, hb->self_ip) == 0)
		return;
	hb->self = nodeid;
	memcpy(hb->self_ip, nodeid ? canon : "", nodeid ? sizeof(canon) : 1);
	hb->last_ok = -1;
	own_restart(hb);
}

void heartbeat_set_writing(struct heartbeat *hb, bool on)
{
	if (on == hb->writing)
		return;
	hb->writing = on;
	if (on)
		own_restart(hb);
	else
		stall_arm(hb);   /* stops it */
}

void heartbeat_mark_fenced(struct heartbeat *hb)
{
	hb->writing = false;
	stall_arm(hb);
	if (!hb->self)
		return;
	hb->fence_pending = true;
	start_round(hb);   /* or when the round in flight ends */
}

void heartbeat_slot(const struct heartbeat *hb, uint32_t nodeid, struct hb_view *v)
{
	const struct hb_node *n;

	memset(v, 0, sizeof(*v));
	if (nodeid < 1 || nodeid > HB_NODEID_MAX || !hb->nodes[nodeid].seen)
		return;
	n = &hb->nodes[nodeid];
	v->seen = true;
	v->seq = n->seq;
	v->age_ms = loop_now(hb->loop) - n->changed;
	v->fenced = n->fenced;
	memcpy(v->ip, n->ip, sizeof(v->ip));
}

int64_t heartbeat_own_age(const struct heartbeat *hb)
{
	return own_age_at(hb, loop_now(hb->loop));
}

void heartbeat_on_stall(struct heartbeat *hb, void (*cb)(void *), void *arg)
{
	hb->on_stall = cb;
	hb->stall_arg = arg;
}
