/* test_poolrepl.c - the pool state's ops and snapshots, and the sync of
 * several copies through a simulated group with agreed order. */
#include "harness.h"

#include <inttypes.h>
#include <stdlib.h>

#include "agent/base/buf.h"
#include "agent/cluster/poolrepl.h"
#include "agent/cluster/poolstate.h"

/* ---- poolstate -------------------------------------------------------------------- */

static int apply_buf(struct poolstate *s, struct buf *b)
{
	char err[256];
	int r = poolstate_apply(s, b->data, b->len, err, sizeof(err));
	buf_free(b);
	return r;
}

TEST(ops_apply_in_order_and_epochs_fence)
{
	struct poolstate s;
	struct buf b;
	char pref[2][POOL_IP_MAX] = { "10.0.0.2", "10.0.0.3" };
	const struct ps_guest *g;

	poolstate_init(&s);
	buf_init(&b, 0);
	ps_op_begin(&b);
	ps_op_pool_ha(&b, true);
	ps_op_vm_ha(&b, "/OVS/running_pool/a b", true);
	ps_op_pref(&b, "/OVS/running_pool/a b", true, pref, 2);
	ps_op_own(&b, "/OVS/running_pool/a b", "10.0.0.2", 1, true);
	ps_op_master(&b, "10.0.0.1", 1);
	CHECK_INT(apply_buf(&s, &b), 5);
	CHECK_INT(s.gen, 1);
	g = poolstate_find(&s, "/OVS/running_pool/a b");
	CHECK(g && g->ha && g->manual && g->running && g->npref == 2);
	CHECK_STR(g ? g->owner : NULL, "10.0.0.2");
	CHECK(poolstate_ha(&s, g));
	CHECK_STR(s.master, "10.0.0.1");

	/* an older or equal epoch changes nothing: the first delivered wins */
	buf_init(&b, 0);
	ps_op_begin(&b);
	ps_op_own(&b, "/OVS/running_pool/a b", "10.0.0.3", 1, true);
	ps_op_master(&b, "10.0.0.9", 1);
	CHECK_INT(apply_buf(&s, &b), 0);
	CHECK_INT(s.gen, 1);
	CHECK_STR(poolstate_find(&s, "/OVS/running_pool/a b")->owner, "10.0.0.2");

	buf_init(&b, 0);
	ps_op_begin(&b);
	ps_op_own(&b, "/OVS/running_pool/a b", "", 2, false);
	ps_op_forget(&b, "/OVS/running_pool/gone");
	CHECK_INT(apply_buf(&s, &b), 1);
	CHECK_STR(poolstate_find(&s, "/OVS/running_pool/a b")->owner, "");
	poolstate_free(&s);
}

TEST(malformed_ops_change_nothing)
{
	static const char *bad[] = {
		"OVSP1 OP\nHA 2\n",
		"OVSP1 OP\nHA 1\nOWN /x 10.0.0.1 x 1\n",        /* all or nothing */
		"OVSP1 OP\nOWN x 10.0.0.1 1 1\n",               /* not absolute */
		"OVSP1 OP\nOWN /a/../b 10.0.0.1 1 1\n",
		"OVSP1 OP\nOWN /a 010.0.0.1 1 1\n",             /* not canonical */
		"OVSP1 OP\nOWN /a%00 10.0.0.1 1 1\n",
		"OVSP1 OP\nOWN /a%4 10.0.0.1 1 1\n",
		"OVSP1 OP\nOWN /a 10.0.0.1 99999999999999999999 1\n",
		"OVSP1 OP\nPREF /a auto 10.0.0.1,10.0.0.1\n",
		"OVSP1 OP\nPREF /a sometimes -\n",
		"OVSP1 OP\nHA  1\n",
		"OVSP1 OP\nHA 1",                               /* no last newline */
		"OVSP1 OP\nNOPE\n",
		"OVSP1 NOPE\n",
	};
	struct poolstate s;
	char err[256];

	poolstate_init(&s);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		int r = poolstate_apply(&s, bad[i], strlen(bad[i]), err, sizeof(err));
		if (r != -1)
			fprintf(stderr, "  accepted: %s\n", bad[i]);
		CHECK_INT(r, -1);
	}
	CHECK_INT(s.gen, 0);
	CHECK(!s.pool_ha && s.n == 0);
	poolstate_free(&s);
}

TEST(snapshot_round_trip)
{
	struct poolstate s, t;
	struct buf b, c;
	char err[256];
	char pref[1][POOL_IP_MAX] = { "fe80::1" };

	poolstate_init(&s);
	buf_init(&b, 0);
	ps_op_begin(&b);
	ps_op_pool_ha(&b, true);
	ps_op_vm_ha(&b, "/r/running_pool/z", true);
	ps_op_pref(&b, "/r/running_pool/a%", false, pref, 1);
	ps_op_own(&b, "/r/running_pool/z", "10.1.1.1", 7, true);
	ps_op_master(&b, "10.1.1.1", 3);
	CHECK(apply_buf(&s, &b) > 0);
	buf_init(&b, 0);
	poolstate_encode(&s, &b);
	CHECK_INT(poolstate_decode(&t, b.data, b.len, err, sizeof(err)), 0);
	buf_init(&c, 0);
	poolstate_encode(&t, &c);
	CHECK_STR(c.data, b.data);
	CHECK(!poolstate_newer(&s, &t) && !poolstate_newer(&t, &s));
	t.gen++;
	CHECK(poolstate_newer(&t, &s));
	s.master_epoch++;
	CHECK(poolstate_newer(&s, &t));
	/* out of order guests are refused */
	{
		const char *x = "OVSP1 SNAP\nSTATE 1 1 - 0\nG /b 0 0 0 - 0 -\nG /a 0 0 0 - 0 -\n";
		struct poolstate u;
		CHECK_INT(poolstate_decode(&u, x, strlen(x), err, sizeof(err)), -1);
	}
	buf_free(&b);
	buf_free(&c);
	poolstate_free(&s);
	poolstate_free(&t);
}

/* Epochs are tokens one above the last: whatever the copy holds, the next
 * one must be accepted, and a snapshot must read back what it wrote. */
TEST(epochs_use_the_whole_range)
{
	struct poolstate s, t;
	struct buf b;
	char err[256];
	const char *over = "OVSP1 OP\nOWN /g 10.0.0.1 18446744073709551616 1\n";

	poolstate_init(&s);
	buf_init(&b, 0);
	ps_op_begin(&b);
	ps_op_own(&b, "/g", "10.0.0.1", 9999999999999999999u, true);
	ps_op_master(&b, "10.0.0.1", 9999999999999999999u);
	CHECK_INT(apply_buf(&s, &b), 2);
	buf_init(&b, 0);
	ps_op_begin(&b);
	ps_op_own(&b, "/g", "10.0.0.2", 10000000000000000000u, true);
	ps_op_master(&b, "10.0.0.2", UINT64_MAX);
	CHECK_INT(apply_buf(&s, &b), 2);
	CHECK_STR(poolstate_find(&s, "/g")->owner, "10.0.0.2");
	CHECK_INT(poolstate_apply(&s, over, strlen(over), err, sizeof(err)), -1);
	buf_init(&b, 0);
	poolstate_encode(&s, &b);
	CHECK_INT(poolstate_decode(&t, b.data, b.len, err, sizeof(err)), 0);
	CHECK(t.master_epoch == UINT64_MAX);
	buf_free(&b);
	poolstate_free(&s);
	poolstate_free(&t);
}

/* A state grown by ops past what one message carries could never be sent
 * at a view change, and no sync would finish again: the line that would
 * pass PS_SNAP_MAX is skipped, the same in every copy. */
TEST(snapshot_stays_within_one_message)
{
	struct poolstate s, t;
	struct buf b;
	char path[PS_PATH_MAX], err[256], num[16];
	int skipped = 0;

	poolstate_init(&s);
	memset(path, ' ', sizeof(path) - 1);        /* escaped: 3 bytes each */
	path[0] = '/';
	path[sizeof(path) - 5] = '\0';
	for (int i = 0; i < 400; i++) {
		snprintf(num, sizeof(num), "%04d", i);
		memcpy(path + 1, num, 4);
		buf_init(&b, 0);
		ps_op_begin(&b);
		ps_op_vm_ha(&b, path, true);
		if (apply_buf(&s, &b) == 0)
			skipped++;
	}
	CHECK(skipped > 0 && s.n < 400 && s.n > 300);
	buf_init(&b, 0);
	poolstate_encode(&s, &b);
	CHECK(b.len <= PS_SNAP_MAX);
	CHECK_INT(poolstate_decode(&t, b.data, b.len, err, sizeof(err)), 0);
	CHECK_INT(t.n, s.n);
	buf_free(&b);
	/* a guest already in may still change what keeps its size */
	buf_init(&b, 0);
	ps_op_begin(&b);
	ps_op_own(&b, t.g[0]->path, "10.0.0.1", 1, true);
	CHECK_INT(apply_buf(&t, &b), 1);
	poolstate_free(&s);
	poolstate_free(&t);
}

/* ---- a simulated group: messages go to a bus and are delivered to
 * every member in one order ------------------------------------------------------------ */

#define N 3
struct msg { uint32_t from; size_t len; char *data; };
static struct msg bus[4096];
static size_t nbus;
static int changes[N + 1], syncs[N + 1];

struct node { uint32_t id; struct poolrepl *r; bool in; };
static struct node nodes[N + 1];

static int bus_send(void *arg, const void *data, size_t len)
{
	struct node *nd = arg;
	if (nbus == 4096)
		return -1;
	bus[nbus].from = nd->id;
	bus[nbus].len = len;
	bus[nbus].data = malloc(len);
	memcpy(bus[nbus].data, data, len);
	nbus++;
	return 0;
}
static void on_changed(void *arg) { changes[((struct node *)arg)->id]++; }
static void on_synced(void *arg) { syncs[((struct node *)arg)->id]++; }
static void on_refused(void *arg, uint32_t from, const char *why)
{
	fprintf(stderr, "  node %u refused from %u: %s\n", ((struct node *)arg)->id, from, why);
}
static uint64_t last_id[N + 1];
static void on_delivered(void *arg, uint32_t from, const void *data, size_t len)
{
	if (from == ((struct node *)arg)->id && poolstate_op_id(data, len))
		last_id[from] = poolstate_op_id(data, len);
}
static const struct poolrepl_ops ops = { .send = bus_send, .changed = on_changed,
					 .synced = on_synced, .delivered = on_delivered,
					 .refused = on_refused };

/* Deliver everything on the bus, in order, to the members that are in. */
static void deliver(void)
{
	for (size_t i = 0; i < nbus; i++) {
		for (int k = 1; k <= N; k++)
			if (nodes[k].in)
				poolrepl_message(nodes[k].r, bus[i].from, bus[i].data, bus[i].len);
		free(bus[i].data);
	}
	nbus = 0;
}

static void view(void)
{
	uint32_t m[N];
	size_t n = 0;

	for (int k = 1; k <= N; k++)
		if (nodes[k].in)
			m[n++] = nodes[k].id;
	for (int k = 1; k <= N; k++)
		poolrepl_view(nodes[k].r, m, nodes[k].in ? n : 0);
}

static void propose(int k, void (*build)(struct buf *))
{
	struct buf b;
	char err[256];

	buf_init(&b, 0);
	ps_op_begin(&b);
	build(&b);
	CHECK_INT(poolrepl_propose(nodes[k].r, &b, err, sizeof(err)), 0);
	buf_free(&b);
}

static void b_ha(struct buf *b) { ps_op_id(b, 42); ps_op_pool_ha(b, true); }
static void b_own2(struct buf *b) { ps_op_own(b, "/g", "10.0.0.2", 1, true); }
static void b_own3(struct buf *b) { ps_op_own(b, "/g", "10.0.0.3", 1, true); }
static void b_master(struct buf *b) { ps_op_master(b, "10.0.0.1", 5); }

static void same_everywhere(void)
{
	struct buf a, b;

	buf_init(&a, 0);
	poolstate_encode(poolrepl_state(nodes[1].r), &a);
	for (int k = 2; k <= N; k++) {
		if (!nodes[k].in)
			continue;
		buf_init(&b, 0);
		poolstate_encode(poolrepl_state(nodes[k].r), &b);
		CHECK_STR(b.data, a.data);
		buf_free(&b);
	}
	buf_free(&a);
}

TEST(group_sync_partition_and_rejoin)
{
	struct buf b;
	char err[256];

	for (int k = 1; k <= N; k++) {
		struct poolstate s;
		poolstate_init(&s);
		nodes[k].id = (uint32_t)k;
		nodes[k].in = true;
		nodes[k].r = poolrepl_new(&s, (uint32_t)k, &ops, &nodes[k]);
	}
	/* not synced before the first view's exchange */
	buf_init(&b, 0);
	ps_op_begin(&b);
	CHECK_INT(poolrepl_propose(nodes[1].r, &b, err, sizeof(err)), -1);
	buf_free(&b);
	view();
	CHECK(!poolrepl_synced(nodes[1].r));
	deliver();
	for (int k = 1; k <= N; k++)
		CHECK(poolrepl_synced(nodes[k].r));
	propose(1, b_ha);
	propose(1, b_master);
	/* two servers race for one guest: the first delivered wins in all */
	propose(2, b_own2);
	propose(3, b_own3);
	deliver();
	same_everywhere();
	CHECK_INT(last_id[1], 42);
	CHECK_INT(last_id[2], 0);
	CHECK_STR(poolstate_find(poolrepl_state(nodes[3].r), "/g")->owner, "10.0.0.2");

	/* node 3 leaves; the others go on and change the state */
	nodes[3].in = false;
	view();
	deliver();
	propose(1, b_own3);     /* epoch 1 again: stale, changes nothing */
	{
		struct buf o;
		buf_init(&o, 0);
		ps_op_begin(&o);
		ps_op_own(&o, "/g", "10.0.0.1", 2, true);
		CHECK_INT(poolrepl_propose(nodes[2].r, &o, err, sizeof(err)), 0);
		buf_free(&o);
	}
	deliver();
	CHECK_STR(poolstate_find(poolrepl_state(nodes[1].r), "/g")->owner, "10.0.0.1");
	CHECK_STR(poolstate_find(poolrepl_state(nodes[3].r), "/g")->owner, "10.0.0.2");
	CHECK(!poolrepl_synced(nodes[3].r));

	/* node 3 returns: an op sent right after the view change waits for
	 * the exchange, and node 3 takes the newer state */
	nodes[3].in = true;
	view();
	{
		/* ops during the sync are queued by all and applied after */
		struct buf o;
		buf_init(&o, 0);
		ps_op_begin(&o);
		ps_op_vm_ha(&o, "/h", true);
		bus_send(&nodes[2], o.data, o.len);
		buf_free(&o);
	}
	deliver();
	for (int k = 1; k <= N; k++)
		CHECK(poolrepl_synced(nodes[k].r));
	same_everywhere();
	CHECK_STR(poolstate_find(poolrepl_state(nodes[3].r), "/g")->owner, "10.0.0.1");
	CHECK(poolstate_find(poolrepl_state(nodes[3].r), "/h") != NULL);

	/* a snapshot of another view is ignored */
	{
		const char *x = "OVSR1 SYNC 1,2\nOVSP1 SNAP\nSTATE 999 999 10.9.9.9 0\n";
		view();
		poolrepl_message(nodes[3].r, 1, x, strlen(x));
		deliver();
		same_everywhere();
		CHECK_STR(poolrepl_state(nodes[3].r)->master, "10.0.0.1");
	}
	for (int k = 1; k <= N; k++)
		poolrepl_free(nodes[k].r);
}

int main(void)
{
	RUN(ops_apply_in_order_and_epochs_fence);
	RUN(malformed_ops_change_nothing);
	RUN(snapshot_round_trip);
	RUN(snapshot_stays_within_one_message);
	RUN(epochs_use_the_whole_range);
	RUN(group_sync_partition_and_rejoin);
	return harness_done();
}
