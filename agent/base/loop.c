/* loop.c - epoll event loop with a timer heap and a wake-up queue. */
#include "agent/base/loop.h"
#include "agent/base/log.h"
#include "agent/base/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define LOOP_MAX_EVENTS 256

struct deferred {
	void (*fn)(void *);
	void *arg;
	struct deferred *next;
};

struct loop {
	struct deferred *deferred;
	int epfd;
	bool stop;
	int64_t now;
	struct timer **heap;    /* min-heap on deadline */
	size_t nheap, capheap;
	struct io *wake_head, *wake_tail;
	struct io *dirty;       /* watchers whose interest changed this turn */
};

struct loop *loop_new(void)
{
	struct loop *loop = xcalloc(1, sizeof(*loop));

	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		free(loop);
		return NULL;
	}
	loop->now = now_ms();
	return loop;
}

static void run_deferred(struct loop *loop);

void loop_free(struct loop *loop)
{
	if (!loop)
		return;
	run_deferred(loop);
	close(loop->epfd);
	free(loop->heap);
	free(loop);
}

void loop_stop(struct loop *loop) { loop->stop = true; }

void loop_defer(struct loop *loop, void (*fn)(void *), void *arg)
{
	struct deferred *d = xmalloc(sizeof(*d));

	d->fn = fn;
	d->arg = arg;
	d->next = loop->deferred;
	loop->deferred = d;
}

static void run_deferred(struct loop *loop)
{
	while (loop->deferred) {
		struct deferred *d = loop->deferred;
		loop->deferred = d->next;
		d->fn(d->arg);
		free(d);
	}
}
int64_t loop_now(const struct loop *loop) { return loop->now; }

/* ---- fd watchers ------------------------------------------------------- */

int io_add(struct loop *loop, struct io *io, int fd, uint32_t events, io_cb cb, void *data)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };

	io->fd = fd;
	io->events = io->kernel_events = events;
	io->dirty = false;
	io->dirty_next = NULL;
	io->cb = cb;
	io->data = data;
	io->wake_events = 0;
	io->wake_next = NULL;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		io->fd = -1;
		return -1;
	}
	return 0;
}

int io_mod(struct loop *loop, struct io *io, uint32_t events)
{
	if (io->fd < 0)
		return 0;
	io->events = events;
	if (!io->dirty && events != io->kernel_events) {
		io->dirty = true;
		io->dirty_next = loop->dirty;
		loop->dirty = io;
	}
	return 0;
}

/* Tell the kernel about interest changes, once per turn. */
static void sync_interest(struct loop *loop)
{
	while (loop->dirty) {
		struct io *io = loop->dirty;
		loop->dirty = io->dirty_next;
		io->dirty = false;
		io->dirty_next = NULL;
		if (io->fd >= 0 && io->events != io->kernel_events) {
			struct epoll_event ev = { .events = io->events, .data.ptr = io };
			if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, io->fd, &ev) == 0)
				io->kernel_events = io->events;
		}
	}
}

static void wake_unlink(struct loop *loop, struct io *io)
{
	struct io **pp = &loop->wake_head, *prev = NULL;

	while (*pp && *pp != io) {
		prev = *pp;
		pp = &(*pp)->wake_next;
	}
	if (!*pp)
		return;
	*pp = io->wake_next;
	if (loop->wake_tail == io)
		loop->wake_tail = prev;
	io->wake_next = NULL;
	io->wake_events = 0;
}

void io_del(struct loop *loop, struct io *io)
{
	if (io->wake_events)
		wake_unlink(loop, io);
	if (io->dirty) {
		struct io **pp = &loop->dirty;
		while (*pp && *pp != io)
			pp = &(*pp)->dirty_next;
		if (*pp)
			*pp = io->dirty_next;
		io->dirty = false;
		io->dirty_next = NULL;
	}
	if (io->fd >= 0)
		epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	io->fd = -1;
	io->events = io->kernel_events = 0;
}

void io_wake(struct loop *loop, struct io *io, uint32_t events)
{
	if (io->fd < 0)
		return;
	if (io->wake_events) {
		io->wake_events |= events;
		return;
	}
	io->wake_events = events;
	io->wake_next = NULL;
	if (loop->wake_tail)
		loop->wake_tail->wake_next = io;
	else
		loop->wake_head = io;
	loop->wake_tail = io;
}

/* Run the wake-ups queued before this turn; ones queued while running wait
 * for the next turn so a busy watcher cannot starve the others. */
static void run_wakeups(struct loop *loop)
{
	struct io *io = loop->wake_head, *last = loop->wake_tail;

	while (io) {
		struct io *next = io->wake_next;
		uint32_t ev = io->wake_events;
		bool was_last = io == last;

		loop->wake_head = next;
		if (!next)
			loop->wake_tail = NULL;
		io->wake_next = NULL;
		io->wake_events = 0;
		io->cb(io, ev);
		if (was_last)
			break;
		io = loop->wake_head;
	}
}

/* ---- timers: a binary min-heap, heap_idx is index + 1 ------------------- */

static void heap_set(struct loop *loop, size_t i, struct timer *t)
{
	loop->heap[i] = t;
	t->heap_idx = i + 1;
}

static void heap_up(struct loop *loop, size_t i)
{
	struct timer *t = loop->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (loop->heap[parent]->deadline <= t->deadline)
			break;
		heap_set(loop, i, loop->heap[parent]);
		i = parent;
	}
	heap_set(loop, i, t);
}

static void heap_down(struct loop *loop, size_t i)
{
	struct timer *t = loop->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= loop->nheap)
			break;
		if (c + 1 < loop->nheap && loop->heap[c + 1]->deadline < loop->heap[c]->deadline)
			c++;
		if (t->deadline <= loop->heap[c]->deadline)
			break;
		heap_set(loop, i, loop->heap[c]);
		i = c;
	}
	heap_set(loop, i, t);
}

void timer_init(struct timer *t, timer_cb cb, void *data)
{
	memset(t, 0, sizeof(*t));
	t->cb = cb;
	t->data = data;
}

void timer_stop(struct loop *loop, struct timer *t)
{
	struct timer *moved;
	size_t i;

	if (!t->heap_idx)
		return;
	i = t->heap_idx - 1;
	t->heap_idx = 0;
	loop->nheap--;
	if (i == loop->nheap)
		return;
	moved = loop->heap[loop->nheap];
	heap_set(loop, i, moved);
	heap_up(loop, i);
	heap_down(loop, moved->heap_idx - 1);
}

void timer_start(struct loop *loop, struct timer *t, int64_t ms)
{
	timer_stop(loop, t);
	t->deadline = loop->now + (ms < 0 ? 0 : ms);
	if (loop->nheap == loop->capheap) {
		loop->capheap = loop->capheap ? loop->capheap * 2 : 64;
		loop->heap = xrealloc(loop->heap, loop->capheap * sizeof(*loop->heap));
	}
	loop->heap[loop->nheap] = t;
	t->heap_idx = ++loop->nheap;
	heap_up(loop, loop->nheap - 1);
}

static void run_timers(struct loop *loop)
{
	while (loop->nheap && loop->heap[0]->deadline <= loop->now) {
		struct timer *t = loop->heap[0];
		timer_stop(loop, t);
		t->cb(t);
	}
}

static int next_timeout(struct loop *loop)
{
	int64_t d;

	if (loop->wake_head || loop->deferred)
		return 0;
	if (!loop->nheap)
		return -1;
	d = loop->heap[0]->deadline - now_ms();
	if (d <= 0)
		return 0;
	return d > 60000 ? 60000 : (int)d;
}

int loop_run(struct loop *loop)
{
	struct epoll_event evs[LOOP_MAX_EVENTS];

	loop->stop = false;
	while (!loop->stop) {
		int n;

		sync_interest(loop);
		log_flush(); /* this turn's lines, in one write */
		n = epoll_wait(loop->epfd, evs, LOOP_MAX_EVENTS, next_timeout(loop));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		loop->now = now_ms();
		for (int i = 0; i < n; i++) {
			struct io *io = evs[i].data.ptr;
			/* Removed by an earlier callback of this batch: its owner
			 * is only freed after the batch, so the memory is valid. */
			if (io->fd < 0)
				continue;
			/* A queued wake-up for this watcher is folded in, not run twice. */
			uint32_t ev = evs[i].events;
			if (io->wake_events) {
				ev |= io->wake_events;
				wake_unlink(loop, io);
			}
			io->cb(io, ev);
		}
		run_timers(loop);
		run_wakeups(loop);
		run_deferred(loop);
	}
	run_deferred(loop);
	return 0;
}
