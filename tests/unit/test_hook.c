/* test_hook.c - the hook runner with real hooks (sh scripts in a temp
 * dir): timeouts that end the whole process group, output caps, the
 * queue beyond max_running, directories in name order with a veto, the
 * records, cancelling and the end of the agent. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/base/child.h"
#include "agent/base/fault.h"
#include "agent/base/hook.h"
#include "agent/base/loop.h"
#include "agent/base/utf8.h"
#include "agent/base/util.h"
#include "harness.h"

static char tmp[64];
static struct loop *loop;

/* ---- helpers ----------------------------------------------------------- */

static void write_file(const char *name, const char *text, mode_t mode)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(2);
	}
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static char *read_file(const char *name)
{
	static char text[8192];
	char path[256];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	text[0] = '\0';
	if (!(f = fopen(path, "r")))
		return text;
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

static long rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = atol(line + 6);
	if (f)
		fclose(f);
	return kb;
}

static struct hook_settings settings(int max_running)
{
	struct hook_settings s = { .dir = tmp, .max_running = max_running,
				   .max_output = 64 * 1024, .ring = 256 };

	for (int k = 0; k < HOOK_KINDS; k++)
		s.timeout_ms[k] = 20000;
	return s;
}

/* What a done callback saw. */
struct got {
	int called, fault, status;
	char msg[1200], out[70000], err[4096];
	size_t outlen;
	int order;              /* the how-manyth done this was */
};
static int dones;           /* done callbacks so far */
static int want_dones;      /* loop stops at this many */

static void on_done(void *arg, const struct hook_result *r)
{
	struct got *g = arg;

	g->called++;
	g->fault = r->fault;
	g->status = r->status;
	g->order = ++dones;
	snprintf(g->msg, sizeof(g->msg), "%s", r->msg);
	g->outlen = r->out->len;
	snprintf(g->out, sizeof(g->out), "%s", r->out->data ? r->out->data : "");
	snprintf(g->err, sizeof(g->err), "%s", r->err->data ? r->err->data : "");
	if (dones >= want_dones)
		loop_stop(loop);
}

static void on_guard(struct timer *t)
{
	*(bool *)t->data = true;
	loop_stop(loop);
}

/* Run the loop until want more done callbacks came, or ms passed. */
static bool wait_dones(int want, int ms)
{
	struct timer guard;
	bool expired = false;

	want_dones = dones + want;
	timer_init(&guard, on_guard, &expired);
	timer_start(loop, &guard, ms);
	while (dones < want_dones && !expired)
		loop_run(loop);
	timer_stop(loop, &guard);
	return dones >= want_dones;
}

static void spin(int ms)
{
	struct timer guard;
	bool expired = false;

	timer_init(&guard, on_guard, &expired);
	timer_start(loop, &guard, ms);
	while (!expired)
		loop_run(loop);
}

static struct hook_run *run(struct hooks *h, const char *name, const char *const *env,
			    int timeout_ms, struct got *g)
{
	const char *argv[] = { name, "arg one", NULL };
	struct hook_req req = { .kind = HOOK_NETWORK, .argv = argv, .env = env,
				.event = "start", .guest = "g1", .timeout_ms = timeout_ms };
	char err[512];
	struct hook_run *r = hook_run(h, &req, on_done, g, err, sizeof(err));

	if (!r)
		snprintf(g->msg, sizeof(g->msg), "refused: %s", err);
	return r;
}

/* ---- tests -------------------------------------------------------------- */

TEST(runs_with_argv_and_environment)
{
	struct hook_settings s = settings(4);
	struct hooks *h = hooks_new(loop, &s);
	const char *env[] = { "EXTRA=1", "PATH=/evil", NULL };
	struct got g = { 0 };
	struct hook_record rec[4];

	write_file("env-hook", "#!/bin/sh\necho \"args=$#:$1\"\nenv | sort\nexit 0\n", 0755);
	CHECK(run(h, "env-hook", env, 0, &g) != NULL);
	CHECK(g.called == 0);   /* never from inside hook_run */
	CHECK(wait_dones(1, 10000));
	CHECK_INT(g.fault, 0);
	CHECK(strstr(g.out, "args=1:arg one\n") != NULL);
	CHECK(strstr(g.out, "EXTRA=1\n") != NULL);
	CHECK(strstr(g.out, "OVS_HOOK_EVENT=start\n") != NULL);
	CHECK(strstr(g.out, "OVS_HOOK_KIND=network\n") != NULL);
	CHECK(strstr(g.out, "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n") != NULL);
	CHECK(strstr(g.out, "/evil") == NULL);
	CHECK(strstr(g.msg, "env-hook start: exited with status 0") == g.msg);
	CHECK_INT(hooks_records(h, rec, 4), 1);
	CHECK(strstr(rec[0].hook, "/env-hook") != NULL && rec[0].hook[0] == '/');
	CHECK(strstr(rec[0].argv, "/env-hook 'arg one'") != NULL);
	CHECK_STR(rec[0].event, "start");
	CHECK_STR(rec[0].guest, "g1");
	CHECK_STR(rec[0].kind, "network");
	CHECK_INT(rec[0].exit_status, 0);
	CHECK(!rec[0].queued && !rec[0].running && !rec[0].timed_out);
	CHECK(rec[0].started_ms > 1600000000000LL);
	{
		/* refused: a relative path with a slash, an unknown program */
		const char *bad[] = { "../x", NULL }, *none[] = { "/nonexistent/hook", NULL };
		struct hook_req req = { .kind = HOOK_GUEST, .argv = bad };
		char err[256];
		CHECK(hook_run(h, &req, on_done, &g, err, sizeof(err)) == NULL);
		CHECK(strstr(err, "absolute path or a name") != NULL);
		req.argv = none;
		CHECK(hook_run(h, &req, on_done, &g, err, sizeof(err)) == NULL);
		CHECK(strstr(err, "cannot run /nonexistent/hook") != NULL);
		CHECK_INT(hooks_records(h, rec, 4), 2);   /* the one that could not start too */
		CHECK(strstr(rec[0].tail, "No such file") != NULL);
	}
	hooks_free(h);
}

TEST(failure_is_fault_1200_with_stderr)
{
	struct hook_settings s = settings(4);
	struct hooks *h = hooks_new(loop, &s);
	struct got g = { 0 };
	struct hook_record rec;

	write_file("fail", "#!/bin/sh\necho some output\necho 'no bridge xenbr9' >&2\nexit 3\n", 0755);
	CHECK(run(h, "fail", NULL, 0, &g) != NULL);
	CHECK(wait_dones(1, 10000));
	CHECK_INT(g.fault, FAULT_HOOK);
	CHECK_STR(g.msg, "fail start: exited with status 3: no bridge xenbr9");
	CHECK_INT(hooks_records(h, &rec, 1), 1);
	CHECK_INT(rec.exit_status, 3);
	CHECK_STR(rec.tail, "some output\n[stderr] no bridge xenbr9");
	hooks_free(h);
}

TEST(timeout_kills_the_whole_group)
{
	struct hook_settings s = settings(4);
	struct hooks *h = hooks_new(loop, &s);
	char pids_env[128], *p;
	const char *env[] = { pids_env, NULL };
	struct got g = { 0 };
	struct hook_record rec;
	pid_t pids[8];
	int n = 0;
	int64_t t0;

	snprintf(pids_env, sizeof(pids_env), "PIDS=%s/pids", tmp);
	/* a child that sleeps, a grandchild that ignores SIGTERM, and itself */
	write_file("sleeper", "#!/bin/sh\n"
		   "sleep 1000 &\necho $! > \"$PIDS\"\n"
		   "(trap '' TERM; exec sleep 1000) &\necho $! >> \"$PIDS\"\n"
		   "echo $$ >> \"$PIDS\"\n"
		   "echo going to sleep\n"
		   "sleep 1000\n", 0755);
	t0 = now_ms();
	CHECK(run(h, "sleeper", env, 500, &g) != NULL);
	CHECK(wait_dones(1, 10000));
	CHECK(now_ms() - t0 < 2500);    /* not the 2 s SIGKILL grace */
	CHECK_INT(g.fault, FAULT_TIMEOUT);
	CHECK(strstr(g.msg, "sleeper start: timed out after 500 ms") == g.msg);
	CHECK(hooks_records(h, &rec, 1) == 1 && rec.timed_out);
	CHECK_INT(rec.signal, SIGTERM);
	CHECK_INT(rec.exit_status, -1);
	CHECK(strstr(rec.tail, "going to sleep") != NULL);
	p = read_file("pids");
	while (n < 8 && *p) {
		pids[n++] = (pid_t)strtol(p, &p, 10);
		while (*p == '\n')
			p++;
	}
	CHECK_INT(n, 3);
	for (int i = 0; i < n; i++) {
		for (int t = 0; t < 200 && !pid_gone(pids[i]); t++)
			usleep(10 * 1000);
		CHECK(pids[i] > 1 && pid_gone(pids[i]));
	}
	hooks_free(h);
}

TEST(output_of_100_mb_is_capped)
{
	struct hook_settings s = settings(4);
	struct hooks *h = hooks_new(loop, &s);
	static struct got g;
	struct hook_record rec;
	long before, after;
	size_t n;

	/* invalid UTF-8 and control characters at the end, then the end */
	write_file("chatty", "#!/bin/sh\n"
		   "yes 0123456789 | head -c 100000000\n"
		   "printf 'bad \\377\\001 bytes\\n\\033[31mTHE END\\n'\n"
		   "yes err | head -c 1000000 >&2\n", 0755);
	before = rss_kb();
	CHECK(run(h, "chatty", NULL, 60000, &g) != NULL);
	CHECK(wait_dones(1, 60000));
	after = rss_kb();
	CHECK_INT(g.fault, 0);
	CHECK_INT(g.outlen, 64 * 1024);
	n = strlen(g.out);
	{
		const char *end = "bad \377\001 bytes\n\033[31mTHE END\n";
		CHECK(n > strlen(end) && strcmp(g.out + n - strlen(end), end) == 0);
	}
	CHECK(after - before < 8 * 1024);
	CHECK_INT(hooks_records(h, &rec, 1), 1);
	CHECK(strlen(rec.tail) < sizeof(rec.tail));
	CHECK(utf8_valid(rec.tail, strlen(rec.tail), NULL));
	CHECK(strncmp(rec.tail, "...", 3) == 0);
	CHECK(strstr(rec.tail, "bad  bytes\n[31mTHE END\n[stderr] ...") != NULL);
	fprintf(stderr, "# RSS before %ld kB, after 100 MB of output %ld kB\n", before, after);
	hooks_free(h);
}

static struct hooks *fifty_h;
static int max_running_seen;

static void on_one_of_fifty(void *arg, const struct hook_result *r)
{
	static struct hook_record recs[64];
	size_t n = hooks_records(fifty_h, recs, 64);
	int running = 0;

	for (size_t i = 0; i < n; i++)
		running += recs[i].running;
	if (running > max_running_seen)
		max_running_seen = running;
	on_done(arg, r);
}

TEST(fifty_at_once_with_four_slots)
{
	struct hook_settings s = settings(4);
	struct hooks *h = fifty_h = hooks_new(loop, &s);
	static struct got g[50];
	static struct hook_record recs[64];
	const char *argv[] = { "quick", NULL };
	struct hook_req req = { .kind = HOOK_GUEST, .argv = argv, .event = "after_start" };
	size_t n;
	int queued = 0, running = 0, ok = 0;
	char err[256];

	write_file("quick", "#!/bin/sh\nsleep 0.05\necho done\n", 0755);
	for (int i = 0; i < 50; i++)
		CHECK(hook_run(h, &req, on_one_of_fifty, &g[i], err, sizeof(err)) != NULL);
	n = hooks_records(h, recs, 64);
	CHECK_INT(n, 50);
	for (size_t i = 0; i < n; i++) {
		queued += recs[i].queued;
		running += recs[i].running;
	}
	CHECK_INT(running, 4);
	CHECK_INT(queued, 46);
	CHECK(recs[0].queued && recs[49].running);   /* newest first */
	CHECK(wait_dones(50, 60000));
	CHECK(max_running_seen <= 4);
	for (int i = 0; i < 50; i++)
		ok += g[i].called == 1 && g[i].fault == 0;
	CHECK_INT(ok, 50);
	n = hooks_records(h, recs, 64);
	CHECK_INT(n, 50);
	queued = running = 0;
	for (size_t i = 0; i < n; i++) {
		queued += recs[i].queued || recs[i].running;
		running += recs[i].exit_status == 0 && strcmp(recs[i].tail, "done") == 0;
	}
	CHECK_INT(queued, 0);
	CHECK_INT(running, 50);
	for (size_t i = 1; i < n; i++)  /* first come, first started */
		CHECK(recs[i - 1].started_ms >= recs[i].started_ms);
	CHECK(recs[0].queued_ms > recs[49].queued_ms);  /* the last waited longest */
	hooks_free(h);
}

TEST(queue_order_and_more_slots_on_reload)
{
	struct hook_settings s = settings(1);
	struct hooks *h = hooks_new(loop, &s);
	char log_env[128];
	const char *env[] = { log_env, NULL };
	static struct got g[4];
	const char *names[] = { "a", "b", "c", "d" };
	struct hook_record recs[8];

	snprintf(log_env, sizeof(log_env), "LOG=%s/order", tmp);
	write_file("order", "", 0644);
	for (int i = 0; i < 4; i++) {
		char text[128], name[8];
		snprintf(name, sizeof(name), "%s", names[i]);
		snprintf(text, sizeof(text), "#!/bin/sh\necho %s >> \"$LOG\"\nsleep 0.1\n", names[i]);
		write_file(name, text, 0755);
		CHECK(run(h, name, env, 0, &g[i]) != NULL);
	}
	CHECK(wait_dones(4, 20000));
	CHECK_STR(read_file("order"), "a\nb\nc\nd\n");
	for (int i = 1; i < 4; i++)
		CHECK(g[i].order == g[i - 1].order + 1);
	CHECK_INT(hooks_records(h, recs, 8), 4);
	CHECK(strstr(recs[0].hook, "/d") && strstr(recs[3].hook, "/a"));
	/* one slot, four waiting; four slots after a reload: all run at once */
	write_file("order", "", 0644);
	for (int i = 0; i < 4; i++)
		CHECK(run(h, "a", env, 0, &g[i]) != NULL);
	s.max_running = 4;
	hooks_configure(h, &s);
	CHECK_INT(hooks_records(h, recs, 8), 8);
	for (int i = 0; i < 4; i++)
		CHECK(recs[i].running && !recs[i].queued);
	CHECK(wait_dones(4, 20000));
	hooks_free(h);
}

static void make_dir_hooks(void)
{
	char dir[128];

	snprintf(dir, sizeof(dir), "%s/guest.d", tmp);
	mkdir(dir, 0755);
	snprintf(dir, sizeof(dir), "%s/guest.d/40-a-dir", tmp);
	mkdir(dir, 0755);
	write_file("guest.d/20-b", "#!/bin/sh\necho \"20-b $1 $OVS_HOOK_EVENT\" >> \"$LOG\"\n"
		   "[ -z \"$VETO\" ] || { echo \"not today: $VETO\" >&2; exit 3; }\n", 0755);
	write_file("guest.d/10-a", "#!/bin/sh\necho \"10-a $1 $OVS_HOOK_EVENT\" >> \"$LOG\"\n",
		   0755);
	write_file("guest.d/30-c", "#!/bin/sh\necho \"30-c $1 $OVS_HOOK_EVENT\" >> \"$LOG\"\n",
		   0755);
	write_file("guest.d/25-not-executable", "#!/bin/sh\necho NO >> \"$LOG\"\n", 0644);
	write_file("guest.d/.05-hidden", "#!/bin/sh\necho NO >> \"$LOG\"\n", 0755);
}

static struct hook_run *run_dir(struct hooks *h, const char *dir, const char *const *env,
				bool stop, struct got *g, char *err, size_t errlen)
{
	const char *argv[] = { "(each)", "/OVS/running_pool/g1/vm.cfg", NULL };
	struct hook_req req = { .kind = HOOK_GUEST, .argv = argv, .env = env,
				.event = "before_start", .guest = "g1" };

	return hook_run_dir(h, dir, &req, stop, on_done, g, err, errlen);
}

TEST(dir_in_name_order_and_veto)
{
	struct hook_settings s = settings(4);
	struct hooks *h = hooks_new(loop, &s);
	char dir[128], log_env[128], err[256];
	const char *env[] = { log_env, NULL, NULL };
	struct got g = { 0 };
	struct hook_record recs[8];

	make_dir_hooks();
	snprintf(dir, sizeof(dir), "%s/guest.d", tmp);
	snprintf(log_env, sizeof(log_env), "LOG=%s/dirlog", tmp);
	write_file("dirlog", "", 0644);
	CHECK(run_dir(h, dir, env, true, &g, err, sizeof(err)) != NULL);
	CHECK(wait_dones(1, 20000));
	CHECK_INT(g.fault, 0);
	CHECK_STR(read_file("dirlog"), "10-a /OVS/running_pool/g1/vm.cfg before_start\n"
		  "20-b /OVS/running_pool/g1/vm.cfg before_start\n"
		  "30-c /OVS/running_pool/g1/vm.cfg before_start\n");
	CHECK_INT(hooks_records(h, recs, 8), 3);
	CHECK(strstr(recs[0].hook, "guest.d/30-c") != NULL);
	CHECK_STR(recs[2].guest, "g1");
	CHECK_STR(recs[2].kind, "guest");

	/* a veto: 20-b fails; 30-c never runs */
	env[1] = "VETO=maintenance";
	write_file("dirlog", "", 0644);
	memset(&g, 0, sizeof(g));
	CHECK(run_dir(h, dir, env, true, &g, err, sizeof(err)) != NULL);
	CHECK(wait_dones(1, 20000));
	CHECK_INT(g.fault, FAULT_HOOK);
	CHECK_STR(g.msg, "20-b before_start: exited with status 3: not today: maintenance");
	CHECK_STR(g.err, "not today: maintenance\n");
	CHECK_STR(read_file("dirlog"), "10-a /OVS/running_pool/g1/vm.cfg before_start\n"
		  "20-b /OVS/running_pool/g1/vm.cfg before_start\n");

	/* without stop_on_failure every hook runs; the failure is still told */
	write_file("dirlog", "", 0644);
	memset(&g, 0, sizeof(g));
	CHECK(run_dir(h, dir, env, false, &g, err, sizeof(err)) != NULL);
	CHECK(wait_dones(1, 20000));
	CHECK_INT(g.fault, FAULT_HOOK);
	CHECK(strstr(g.msg, "20-b before_start: exited with status 3") == g.msg);
	CHECK(strstr(read_file("dirlog"), "30-c") != NULL);

	/* a missing dir: success, nothing run, done from the loop */
	memset(&g, 0, sizeof(g));
	snprintf(dir, sizeof(dir), "%s/no-such.d", tmp);
	CHECK(run_dir(h, dir, env, true, &g, err, sizeof(err)) != NULL);
	CHECK_INT(g.called, 0);
	CHECK(wait_dones(1, 5000));
	CHECK_INT(g.fault, 0);
	CHECK_INT(hooks_records(h, recs, 8), 8);  /* 3 + 2 + 3, none for the missing dir */
	/* a file where the dir should be: refused */
	snprintf(dir, sizeof(dir), "%s/dirlog", tmp);
	CHECK(run_dir(h, dir, env, true, &g, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "Not a directory") != NULL);
	hooks_free(h);
}

TEST(cancel_and_free_in_flight)
{
	struct hook_settings s = settings(1);
	struct hooks *h = hooks_new(loop, &s);
	char pids_env[128], *p;
	const char *env[] = { pids_env, NULL };
	static struct got g[3];
	struct hook_run *r0, *r1;
	struct hook_record recs[4];
	pid_t pid;

	snprintf(pids_env, sizeof(pids_env), "PIDS=%s/cpids", tmp);
	write_file("cpids", "", 0644);
	write_file("long", "#!/bin/sh\necho $$ >> \"$PIDS\"\nexec sleep 1000\n", 0755);
	r0 = run(h, "long", env, 0, &g[0]);
	r1 = run(h, "long", env, 0, &g[1]);
	CHECK(r0 && r1 && run(h, "long", env, 0, &g[2]));
	CHECK_INT(hooks_records(h, recs, 4), 3);
	CHECK(recs[1].queued && recs[2].running);
	hook_cancel(r1);                /* queued: dropped */
	CHECK_INT(hooks_records(h, recs, 4), 2);
	spin(300);
	hook_cancel(r0);                /* running: killed; the third starts */
	p = read_file("cpids");
	pid = (pid_t)atoi(p);
	CHECK(pid > 1);
	for (int t = 0; t < 200 && !pid_gone(pid); t++)
		usleep(10 * 1000);
	CHECK(pid_gone(pid));
	CHECK_INT(hooks_records(h, recs, 4), 2);
	CHECK(recs[0].running && !recs[1].running && recs[1].signal == SIGKILL);
	spin(300);
	CHECK(g[0].called == 0 && g[1].called == 0 && g[2].called == 0);
	/* the third still runs: freeing the runner ends it and tells its owner */
	hooks_free(h);
	CHECK_INT(g[2].called, 1);
	CHECK_INT(g[2].fault, FAULT_SHUTTING_DOWN);
	pid = (pid_t)atoi(strchr(read_file("cpids"), '\n') + 1);
	for (int t = 0; t < 200 && pid > 1 && !pid_gone(pid); t++)
		usleep(10 * 1000);
	CHECK(pid > 1 && pid_gone(pid));
}

TEST(ring_is_bounded)
{
	struct hook_settings s = settings(4);
	struct hooks *h;
	static struct got g[10];
	struct hook_record recs[16];

	s.ring = 3;
	h = hooks_new(loop, &s);
	write_file("true-hook", "#!/bin/sh\nexit 0\n", 0755);
	for (int i = 0; i < 5; i++) {
		CHECK(run(h, "true-hook", NULL, 0, &g[i]) != NULL);
		CHECK(wait_dones(1, 10000));
	}
	CHECK_INT(hooks_records(h, recs, 16), 3);
	CHECK_INT(hooks_count(h), 3);
	s.ring = 2;
	hooks_configure(h, &s);
	CHECK_INT(hooks_records(h, recs, 16), 2);
	s.ring = 10;
	hooks_configure(h, &s);
	CHECK_INT(hooks_records(h, recs, 16), 2);
	CHECK_INT(hooks_records(h, recs, 1), 1);
	hooks_free(h);
}

static void cleanup(void)
{
	char cmd[128];

	/* only our own temp dir, by its exact name */
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", tmp);
	if (tmp[0] && system(cmd) != 0)
		fprintf(stderr, "# could not remove %s\n", tmp);
}

int main(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/test_hook.XXXXXX");
	if (!mkdtemp(tmp))
		return 2;
	loop = loop_new();
	RUN(runs_with_argv_and_environment);
	RUN(failure_is_fault_1200_with_stderr);
	RUN(timeout_kills_the_whole_group);
	RUN(output_of_100_mb_is_capped);
	RUN(fifty_at_once_with_four_slots);
	RUN(queue_order_and_more_slots_on_reload);
	RUN(dir_in_name_order_and_veto);
	RUN(cancel_and_free_in_flight);
	RUN(ring_is_bounded);
	child_reap_all();       /* the cancelled ones */
	loop_free(loop);
	cleanup();
	return harness_done();
}
