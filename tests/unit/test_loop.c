/* test_loop.c - the event loop: timer order, cancellation, wake-ups,
 * fd events and deferred frees. */
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "harness.h"
#include "agent/base/loop.h"
#include "agent/base/util.h"

static struct loop *L;
static char order[64];
static int norder;

static void mark(struct timer *t)
{
	order[norder++] = *(const char *)t->data;
	order[norder] = '\0';
	if (*(const char *)t->data == 'z')
		loop_stop(L);
}

TEST(timers_fire_in_deadline_order)
{
	struct timer t[6];
	const char *names = "cabdxz";
	int64_t delay[6] = { 30, 10, 20, 40, 25, 60 };

	L = loop_new();
	norder = 0;
	for (int i = 0; i < 6; i++) {
		timer_init(&t[i], mark, (void *)(names + i));
		timer_start(L, &t[i], delay[i]);
	}
	timer_stop(L, &t[4]);            /* 'x' never fires */
	timer_start(L, &t[0], 5);        /* 'c' moves to the front */
	CHECK(!timer_armed(&t[4]));
	loop_run(L);
	CHECK_STR(order, "cabdz");
	loop_free(L);
}

static int64_t fired[500];
static int nfired, nexpect;

static void record(struct timer *t)
{
	fired[nfired++] = t->deadline;
	if (nfired == nexpect)
		loop_stop(L);
}

TEST(many_timers_fire_in_order)
{
	static struct timer t[500];
	bool ordered = true;

	L = loop_new();
	nfired = 0;
	nexpect = 0;
	for (int i = 0; i < 500; i++) {
		timer_init(&t[i], record, NULL);
		timer_start(L, &t[i], (i * 7919) % 50);
	}
	/* cancel a third of them, from the middle of the heap too */
	for (int i = 0; i < 500; i++) {
		if (i % 3 == 0)
			timer_stop(L, &t[i]);
		else
			nexpect++;
	}
	loop_run(L);
	for (int i = 1; i < nfired; i++)
		if (fired[i] < fired[i - 1])
			ordered = false;
	CHECK_INT(nfired, nexpect);
	CHECK(ordered);
	loop_free(L);
}

static int reads;

static void on_pipe(struct io *io, uint32_t ev)
{
	char b[16];

	if (ev & EPOLLIN) {
		if (read(io->fd, b, sizeof(b)) > 0)
			reads++;
		else
			reads += 100; /* woken without data: a wake-up */
	}
	if (reads == 1)
		io_wake(L, io, EPOLLIN); /* no data behind this one */
	else
		loop_stop(L);
}

static void give_up(struct timer *t) { loop_stop(L); }

TEST(fd_events_and_wakeups)
{
	struct io io;
	struct timer guard;
	int p[2];

	L = loop_new();
	timer_init(&guard, give_up, NULL);
	timer_start(L, &guard, 5000); /* a broken loop fails, it does not hang */
	reads = 0;
	CHECK(pipe(p) == 0);
	fd_set_nonblock(p[0]);
	CHECK(io_add(L, &io, p[0], EPOLLIN, on_pipe, NULL) == 0);
	CHECK(write(p[1], "x", 1) == 1);
	io_wake(L, &io, EPOLLIN); /* folded into the real event, not run twice */
	loop_run(L);
	CHECK_INT(reads, 101);
	timer_stop(L, &guard);
	io_del(L, &io);
	close(p[0]);
	close(p[1]);
	loop_free(L);
}

static int freed;
static void count_free(void *p) { freed += *(int *)p; }
static void stop_now(struct timer *t) { loop_stop(L); }

TEST(deferred_runs_after_the_turn)
{
	struct timer t;
	int one = 1;

	L = loop_new();
	freed = 0;
	loop_defer(L, count_free, &one);
	loop_defer(L, count_free, &one);
	CHECK_INT(freed, 0);
	timer_init(&t, stop_now, NULL);
	timer_start(L, &t, 0);
	loop_run(L);
	CHECK_INT(freed, 2);
	loop_free(L);
}

int main(void)
{
	RUN(timers_fire_in_deadline_order);
	RUN(many_timers_fire_in_order);
	RUN(fd_events_and_wakeups);
	RUN(deferred_runs_after_the_turn);
	return harness_done();
}
