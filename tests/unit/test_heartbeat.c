/* test_heartbeat.c - the heartbeat with a real loop, real children and a
 * temp file: two nodes see each other, one that stops writing goes
 * stale, a fenced slot is seen as fenced, a file that blocks (a FIFO
 * without a reader makes open block, as a hung mount would) stalls us
 * once and we recover, a hostile file yields only its valid slots. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/base/child.h"
#include "agent/base/log.h"
#include "agent/base/loop.h"
#include "agent/cluster/hbslot.h"
#include "agent/cluster/heartbeat.h"
#include "tests/unit/harness.h"

#define INTERVAL 100
#define TIMEOUT  400

static struct loop *L;
static char dir[64], path[128];

/* Run the loop until pred() or max_ms passed; pred()'s last answer. */
struct wait { bool (*pred)(void); };
static struct wait waiting;

static void on_poll(struct timer *t)
{
	if (waiting.pred && waiting.pred())
		loop_stop(L);
	else
		timer_start(L, t, 10);
}

static void on_deadline(struct timer *t) { loop_stop(L); }

static bool run_until(bool (*pred)(void), int max_ms)
{
	struct timer poll, deadline;

	waiting.pred = pred;
	timer_init(&poll, on_poll, NULL);
	timer_init(&deadline, on_deadline, NULL);
	timer_start(L, &poll, 0);
	timer_start(L, &deadline, max_ms);
	loop_run(L);
	timer_stop(L, &poll);
	timer_stop(L, &deadline);
	waiting.pred = NULL;
	return pred ? pred() : true;
}

static struct heartbeat *a, *b;
static int stalls_a, stalls_b;
static int64_t age_at_stall;

static void stall_a(void *arg)
{
	stalls_a++;
	age_at_stall = heartbeat_own_age(a);
}

static void stall_b(void *arg) { stalls_b++; }

static struct hb_view view(struct heartbeat *hb, uint32_t id)
{
	struct hb_view v;

	heartbeat_slot(hb, id, &v);
	return v;
}

static bool both_seen(void) { return view(a, 2).seen && view(b, 1).seen; }
static uint64_t seq_a2, seq_b1;
static bool both_advanced(void) { return view(a, 2).seq > seq_a2 + 2 && view(b, 1).seq > seq_b1 + 2; }
static bool b_stale(void) { return view(a, 2).age_ms > TIMEOUT; }
static bool b_fenced(void) { return view(a, 2).fenced; }
static bool a_stalled(void) { return stalls_a > 0; }
static bool a_stalled_twice(void) { return stalls_a > 1; }
static bool a_fresh(void) { return heartbeat_own_age(a) < TIMEOUT / 2; }

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_heartbeat.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(path, sizeof(path), "%s/.server_pool_hb", dir);
	L = loop_new();
	stalls_a = stalls_b = 0;
}

/* Free, let the loop reap what was cancelled, remove the files. */
static void teardown(void)
{
	heartbeat_free(a);
	heartbeat_free(b);
	a = b = NULL;
	run_until(NULL, 50);
	child_reap_all();
	loop_free(L);
	unlink(path);
	rmdir(dir);
}

TEST(two_nodes)
{
	struct hb_view v;
	struct stat st;

	setup();
	a = heartbeat_new(L, path, INTERVAL, TIMEOUT);
	b = heartbeat_new(L, path, INTERVAL, TIMEOUT);
	heartbeat_on_stall(a, stall_a, NULL);
	heartbeat_on_stall(b, stall_b, NULL);
	CHECK(heartbeat_own_age(a) == INT64_MAX);
	heartbeat_set_self(a, 1, "10.0.0.1");
	heartbeat_set_self(b, 2, "::ffff:10.0.0.2");
	heartbeat_set_writing(a, true);
	heartbeat_set_writing(b, true);
	CHECK(run_until(both_seen, 3000));
	seq_a2 = view(a, 2).seq;
	seq_b1 = view(b, 1).seq;
	CHECK(run_until(both_advanced, 3000));
	v = view(a, 2);
	CHECK(v.age_ms >= 0 && v.age_ms < TIMEOUT);
	CHECK_STR(v.ip, "::ffff:10.0.0.2");
	CHECK(!v.fenced);
	v = view(b, 1);
	CHECK(v.age_ms >= 0 && v.age_ms < TIMEOUT);
	CHECK_STR(v.ip, "10.0.0.1");
	CHECK(heartbeat_own_age(a) < TIMEOUT && heartbeat_own_age(b) < TIMEOUT);
	CHECK(view(a, 1).seen && !view(a, 3).seen && !view(a, 0).seen && !view(a, 256).seen);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644 &&
	      st.st_size == 3 * HB_SLOT_SIZE);

	/* b stops: a sees it go stale; b is not writing, so no stall. */
	heartbeat_set_writing(b, false);
	CHECK(run_until(b_stale, 3000));
	CHECK(heartbeat_own_age(a) < TIMEOUT);
	CHECK(heartbeat_own_age(b) > TIMEOUT);
	CHECK_INT(stalls_a, 0);
	CHECK_INT(stalls_b, 0);
	CHECK(!view(a, 2).fenced);

	/* b fenced: written once, seen by a. */
	heartbeat_mark_fenced(b);
	CHECK(run_until(b_fenced, 3000));
	CHECK(view(b, 2).fenced);
	CHECK(!view(a, 1).fenced);
	CHECK_INT(stalls_b, 0);
	teardown();
}

/* How many lines of the log file hold s. */
static int log_lines(const char *logpath, const char *s)
{
	char line[1024];
	int n = 0;
	FILE *f = fopen(logpath, "re");

	while (f && fgets(line, sizeof(line), f))
		n += strstr(line, s) != NULL;
	if (f)
		fclose(f);
	return n;
}

TEST(blocked_file_stalls_once)
{
	char logpath[160];

	setup();
	snprintf(logpath, sizeof(logpath), "%s/log", dir);
	CHECK(log_open(logpath, LOG_INFO, false) == 0);
	a = heartbeat_new(L, path, INTERVAL, TIMEOUT);
	heartbeat_on_stall(a, stall_a, NULL);
	heartbeat_set_self(a, 1, "10.0.0.1");
	heartbeat_set_writing(a, true);
	CHECK(run_until(a_fresh, 3000));

	/* A FIFO in place of the file: the child blocks in open, is killed
	 * by its timeout, and the next one blocks again. */
	CHECK(unlink(path) == 0);
	CHECK(mkfifo(path, 0600) == 0);
	CHECK(run_until(a_stalled, 3000));
	CHECK(age_at_stall > TIMEOUT && age_at_stall < TIMEOUT + INTERVAL);
	run_until(NULL, 3 * INTERVAL);
	CHECK_INT(stalls_a, 1);
	CHECK(heartbeat_own_age(a) > TIMEOUT + 3 * INTERVAL);

	/* The file back: the next round writes it again; a second stall is
	 * a new one. */
	CHECK(unlink(path) == 0);
	CHECK(run_until(a_fresh, 3000));
	CHECK_INT(stalls_a, 1);
	CHECK(unlink(path) == 0);
	CHECK(mkfifo(path, 0600) == 0);
	CHECK(run_until(a_stalled_twice, 3000));
	CHECK_INT(stalls_a, 2);

	/* Not writing: no stall however old. */
	heartbeat_set_writing(a, false);
	run_until(NULL, TIMEOUT + 2 * INTERVAL);
	CHECK_INT(stalls_a, 2);

	/* Said once each per stall, not every round: the rounds that timed
	 * out (one in two intervals) are not logged one by one. */
	log_close();
	CHECK_INT(log_lines(logpath, "): stalled"), 2);
	CHECK_INT(log_lines(logpath, "no longer stalled"), 1);
	CHECK(log_lines(logpath, "timed out after 200 ms (said once") >= 2);
	CHECK(log_lines(logpath, "timed out after 200 ms (said once") <= 3);   /* a slow round */
	CHECK_INT(log_lines(logpath, "[child]"), 0);
	unlink(logpath);
	teardown();   /* with a child blocked in open */
}

static bool a_sees_3(void) { return view(a, 3).seen; }

TEST(hostile_file)
{
	static char file[HB_FILE_SIZE];
	struct hb_slot s3 = { .nodeid = 3, .ip = "10.0.0.3", .seq = 7, .unix_ms = 1 },
		       s5 = { .nodeid = 5, .ip = "10.0.0.5", .seq = 7, .unix_ms = 1 };
	int fd;

	setup();
	memset(file, 'x', sizeof(file));
	CHECK(hbslot_encode(&s3, file + 3 * HB_SLOT_SIZE) == 0);
	CHECK(hbslot_encode(&s5, file + 4 * HB_SLOT_SIZE) == 0);     /* not its slot */
	CHECK(hbslot_encode(&s5, file + 5 * HB_SLOT_SIZE) == 0);
	file[5 * HB_SLOT_SIZE + 20] = '\t';                           /* then broken */
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	CHECK(fd >= 0 && write(fd, file, sizeof(file)) == (ssize_t)sizeof(file));
	close(fd);

	a = heartbeat_new(L, path, INTERVAL, TIMEOUT);   /* reads only */
	CHECK(run_until(a_sees_3, 3000));
	CHECK(view(a, 3).seq == 7);
	CHECK_STR(view(a, 3).ip, "10.0.0.3");
	for (uint32_t i = 1; i <= HB_NODEID_MAX; i++)
		if (i != 3)
			CHECK(!view(a, i).seen);
	CHECK(heartbeat_own_age(a) == INT64_MAX);
	teardown();
}

int main(void)
{
	RUN(two_nodes);
	RUN(blocked_file_stalls_once);
	RUN(hostile_file);
	return harness_done();
}
