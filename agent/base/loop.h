/* loop.h - the agent's one event loop: fd watchers, timers, wake-ups.
 *
 * Everything the daemon waits for is an fd in one epoll set: listening
 * sockets, connections, the signalfd, child pidfds and pipes, later QMP and
 * netlink sockets. Timers live in a binary heap and the epoll timeout is the
 * nearest deadline. A watcher can also be woken without the kernel: bytes
 * buffered inside OpenSSL, or a request already in our buffer, never make
 * the fd readable again, so io_wake() queues a callback for the next turn.
 *
 * Ownership: the loop never owns a watcher or a timer; they are embedded in
 * the objects that use them, and must be removed (io_del/timer_stop) before
 * that object is freed. Callbacks may add, change or remove any watcher or
 * timer, including their own. */
#ifndef OVS_LOOP_H
#define OVS_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct io;
struct timer;

typedef void (*io_cb)(struct io *io, uint32_t events);
typedef void (*timer_cb)(struct timer *t);

struct io {
	int fd;                 /* -1 when not registered */
	uint32_t events;        /* wanted epoll interest */
	uint32_t kernel_events; /* interest the kernel has; synced before sleeping */
	struct io *dirty_next;  /* on the loop's list of watchers to sync */
	bool dirty;
	io_cb cb;
	void *data;
	uint32_t wake_events;   /* queued by io_wake, 0 when not queued */
	struct io *wake_next;
};

struct timer {
	int64_t deadline;       /* now_ms() based */
	size_t heap_idx;        /* 0 when not armed, else index + 1 */
	timer_cb cb;
	void *data;
};

struct loop *loop_new(void);
void loop_free(struct loop *loop);

/* Run until loop_stop(); returns 0, or -1 if epoll_wait failed. */
int loop_run(struct loop *loop);
void loop_stop(struct loop *loop);

/* Register fd with the given epoll interest (may be 0). Returns 0 or -1. */
int io_add(struct loop *loop, struct io *io, int fd, uint32_t events, io_cb cb, void *data);
/* Change interest. Applied to the kernel just before the loop sleeps, so a
 * request served within one turn (read -> call -> write -> read) costs no
 * epoll_ctl at all; callbacks must therefore tolerate an event they no
 * longer asked for. */
int io_mod(struct loop *loop, struct io *io, uint32_t events);
/* Unregister (does not close the fd). Safe on an unregistered io. */
void io_del(struct loop *loop, struct io *io);
/* Call io->cb(io, events) on the next turn, before sleeping. */
void io_wake(struct loop *loop, struct io *io, uint32_t events);

void timer_init(struct timer *t, timer_cb cb, void *data);
/* (Re)arm to fire once, ms milliseconds from now. */
void timer_start(struct loop *loop, struct timer *t, int64_t ms);
void timer_stop(struct loop *loop, struct timer *t);
static inline bool timer_armed(const struct timer *t) { return t->heap_idx != 0; }

/* Call fn(arg) at the end of this turn, after every callback of the batch:
 * the way to free an object whose watcher may still have an event queued
 * in the batch being processed (redis freeClientAsync). */
void loop_defer(struct loop *loop, void (*fn)(void *), void *arg);

/* Time in ms cached at the start of this turn (cheap to read often). */
int64_t loop_now(const struct loop *loop);

#endif
