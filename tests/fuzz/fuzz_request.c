/* fuzz_request.c - libFuzzer target for the whole request path: the input is
 * what a client sends on one plain-HTTP connection (one request or several,
 * pipelined). It goes through the real conn.c state machine, http.c, basic
 * auth (auth.c), XML-RPC parsing and dispatch (rpc.c) to the methods, with
 * the `sim` hypervisor over a throwaway ovs_root and state_dir; what comes
 * back is checked:
 *
 *   - the reply stream is a sequence of complete HTTP/1.1 responses (status
 *     line, head, Content-Length body), nothing after `Connection: close`;
 *   - every whole request sent before the half-close is answered, in order,
 *     unless an answer closed the connection;
 *   - every 200 text/xml body (an XML-RPC reply) is well-formed XML without
 *     a DTD (libxml2, no network, no entities) whose root is methodResponse;
 *   - the connection ends by itself within GUARD_MS;
 *   - no descriptor is left open and (ASan/LSan) no memory leaks: the loop
 *     runs until the client end reads EOF, and the deferred frees of that
 *     turn run before the input is over; work that goes on after the reply
 *     (a background rm) gets SETTLE_MS to close what it opened.
 *
 * Auth stays fast: LLVMFuzzerInitialize sends one request with the fixed
 * credential admin:secret, whose check puts it in the credential cache for
 * auth_cache_ttl (a day); every input carrying `Authorization: Basic
 * YWRtaW46c2VjcmV0` is then a cache hit. Other credentials are checked as
 * in production except that auth_check_in_process (auth.h) runs the
 * checker in this process, not a forked child: a fork of the fuzzer cost
 * ~50 ms of page-table copies and copy-on-write faults, and ~3% of inputs
 * carry a valid-looking credential that is not cached, so forks took two
 * thirds of the time. The password file holds the cheapest yescrypt hash
 * and unknown users' dummy hash is made cheap (crypt_rn below);
 * auth_fail_delay_max=0 keeps the failure slow-down from ever sleeping.
 *
 * Guests and files the methods create persist from input to input (the
 * agent's own state does too); every WIPE_EVERY inputs ovs_root and the
 * state_dir are emptied and re-seeded, so neither grows without bound.
 *
 * Methods that take absolute paths (xen_create_disk, xen_add_disk, ...) need
 * the root's name, which mkdtemp makes up: in the input, every "/tmp/fuzzreq.
 * XXXXXX" (the template, as written) is replaced by the real directory, of
 * the same length, so Content-Length stays right. ovs_root is <that>/ovs.
 *
 * No call leaves the machine: connect() is replaced below (live migration
 * would otherwise dial any address an input names). FUZZ_REQUEST_LOG=path
 * keeps the agent's debug log (default /dev/null: formatted, not kept);
 * FUZZ_REQUEST_SHOW=1 prints every reply. */
#include <crypt.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "agent/base/buf.h"
#include "agent/base/child.h"
#include "agent/base/log.h"
#include "agent/base/loop.h"
#include "agent/base/util.h"
#include "agent/guest/guest.h"
#include "agent/repo/repoview.h"
#include "agent/rpc/perf.h"
#include "agent/server/auth.h"
#include "agent/server/config.h"
#include "agent/server/conn.h"
#include "agent/server/http.h"
#include "agent/server/resolve.h"
#include "agent/server/server.h"
#include "db/store.h"
#include "hypervisor/hv.h"

#define GUARD_MS 8000           /* a connection not done by then is a hang
				 * (said before tests/run.sh's -timeout=10) */
#define SETTLE_MS 5000          /* for work that goes on after the reply */
#ifndef WIPE_EVERY
#define WIPE_EVERY 10000        /* inputs between resets of ovs_root/state_dir */
#endif
#define REPLY_MAX (64u << 20)   /* more reply than this from one input is a bug */
#define ROOT_TEMPLATE "/tmp/fuzzreq.XXXXXX"
#define AUTH_HEADER "Authorization: Basic YWRtaW46c2VjcmV0\r\n"   /* admin:secret */

static struct server srv;
static char root[] = ROOT_TEMPLATE; /* made by mkdtemp */
static pid_t owner;             /* only this process removes root */
static unsigned long inputs;
static bool show_replies;       /* FUZZ_REQUEST_SHOW=1: print them on stderr */

/* ---- no network -------------------------------------------------------- */

/* The methods may be asked to call another agent (xen_migrate_vm to any
 * address): every IP connection is refused as if nobody listened, so the
 * fuzzer never sends a packet. Local (AF_UNIX) connections go through. */
int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	if (sa && sa->sa_family != AF_UNIX) {
		errno = ECONNREFUSED;
		return -1;
	}
	return (int)syscall(SYS_connect, fd, sa, len);
}

/* ---- cheap password checks --------------------------------------------- */

/* passwd.c checks an unknown user's password against a dummy hash of the
 * default yescrypt cost, so timing does not tell whether the user exists:
 * 16 MiB and ~100 ms in the checking child, for every mutated user name.
 * Here that one setting is computed at the cheapest cost instead. Its
 * result still cannot equal the dummy hash, so the answer (no match) is the
 * production one; only the time changes. */
typedef char *(*crypt_rn_fn)(const char *, const char *, void *, int);
static char cheap_setting[CRYPT_GENSALT_OUTPUT_SIZE];

char *crypt_rn(const char *phrase, const char *setting, void *data, int size)
{
	static crypt_rn_fn real;

	if (!real && !(real = (crypt_rn_fn)dlsym(RTLD_NEXT, "crypt_rn")))
		abort();
	if (setting && cheap_setting[0] && strncmp(setting, "$y$j9T$", 7) == 0)
		setting = cheap_setting;
	return real(phrase, setting, data, size);
}

/* Most of the fuzzer's memory is ASan's quarantine of freed blocks (256 MiB
 * by default). Every fork (an uncached password check) copies the page
 * tables of all of it and pays a copy-on-write fault per page touched
 * after, so forks were most of the time. 32 MiB still holds many inputs'
 * worth of freed blocks; ASAN_OPTIONS overrides this. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "quarantine_size_mb=32";
}

/* ---- what main.c provides to the modules ------------------------------- */

void server_conn_gone(struct server *s) { (void)s; }
void server_begin_stop(struct server *s) { (void)s; }

/* ---- files ------------------------------------------------------------- */

static _Noreturn void die(const char *what)
{
	fprintf(stderr, "fuzz_request: %s: %s\n", what, strerror(errno));
	abort();
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((flag == FTW_DP ? rmdir(path) : unlink(path)) != 0 && errno != ENOENT)
		fprintf(stderr, "fuzz_request: cannot remove %s: %s\n", path, strerror(errno));
	return 0;
}

static void rm_tree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static void put_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!(f = fopen(path, "we")) || fputs(text, f) < 0 || fclose(f) != 0)
		die(path);
}

static void make_dir(const char *fmt, const char *arg)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), fmt, root, arg);
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		die(path);
}

/* ovs_root with a guest g1 (registered by seed_state) and a template
 * directory seed_pool/tmpl; an empty state_dir. */
static void seed_files(void)
{
	char dir[PATH_MAX], cfg[1024];

	make_dir("%s/ovs", "");
	make_dir("%s/state", "");
	make_dir("%s/ovs/running_pool", "");
	make_dir("%s/ovs/seed_pool", "");
	make_dir("%s/ovs/iso_pool", "");
	make_dir("%s/ovs/running_pool/%s", "g1");
	make_dir("%s/ovs/seed_pool/%s", "tmpl");
	snprintf(dir, sizeof(dir), "%s/ovs/running_pool/g1", root);
	snprintf(cfg, sizeof(cfg),
		 "name = 'g1'\nmemory = 64\nvcpus = 1\nbuilder = 'hvm'\n"
		 "disk = [ 'file:%s/system.img,hda,w', ]\n"
		 "vif = [ 'mac=00:16:3e:00:00:01, type=ioemu, bridge=xenbr0' ]\nvnc = 1\n", dir);
	put_file(dir, "vm.cfg", cfg);
	put_file(dir, "system.img", "");
	snprintf(dir, sizeof(dir), "%s/ovs/seed_pool/tmpl", root);
	snprintf(cfg, sizeof(cfg),
		 "name = 'tmpl'\nmemory = '64'\nvcpus = 1\n"
		 "disk = [ 'file:%s/system.img,hda,w', ]\n"
		 "vif = ['type=ioemu, mac=00:16:3e:73:a3:27, bridge=xenbr0']\n", dir);
	put_file(dir, "vm.cfg", cfg);
	put_file(dir, "system.img", "");
	snprintf(dir, sizeof(dir), "%s/ovs/iso_pool", root);
	put_file(dir, "boot.iso", "");
}

/* Remove the directories of fuzzers that died without their atexit (a
 * crash): the pid in their pid file is gone. */
static void sweep_stale(void)
{
	DIR *d = opendir("/tmp");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[PATH_MAX], text[32] = "";
		long pid;
		FILE *f;

		if (strncmp(e->d_name, "fuzzreq.", 8) != 0 || strlen(e->d_name) != 14)
			continue;
		snprintf(path, sizeof(path), "/tmp/%s/pid", e->d_name);
		if ((f = fopen(path, "re"))) {
			if (!fgets(text, sizeof(text), f))
				text[0] = '\0';
			fclose(f);
		}
		pid = strtol(text, NULL, 10);
		if (pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH)) {
			snprintf(path, sizeof(path), "/tmp/%s", e->d_name);
			rm_tree(path);
		}
	}
	closedir(d);
}

/* Descriptors open now; with show, list them on stderr. Read with
 * getdents64 into a stack buffer: opendir's 32 KiB malloc, freed into
 * ASan's quarantine at every input, was a sixth of the fuzzer's time. */
static int count_fds(bool show)
{
	_Alignas(struct dirent64) char buf[4096];
	char path[300], target[PATH_MAX];
	int fd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC), n = 0;
	ssize_t got;

	if (fd < 0)
		die("/proc/self/fd");
	while ((got = getdents64(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < got;) {
			const struct dirent64 *e = (const struct dirent64 *)(buf + off);
			ssize_t len;

			off += e->d_reclen;
			if (e->d_name[0] == '.')
				continue;
			n++;
			if (!show)
				continue;
			snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
			len = readlink(path, target, sizeof(target) - 1);
			target[len > 0 ? len : 0] = '\0';
			fprintf(stderr, "  fd %s -> %s\n", e->d_name, target);
		}
	}
	if (got < 0)
		die("getdents64");
	close(fd);
	return n;
}

/* List our child processes (for the report of a descriptor leak). */
static void show_children(void)
{
	char path[64], list[4096] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	if ((f = fopen(path, "re"))) {
		if (!fgets(list, sizeof(list), f))
			list[0] = '\0';
		fclose(f);
	}
	fprintf(stderr, "fuzz_request: child processes: %s\n", list[0] ? list : "none");
	for (char *tok = strtok(list, " \n"); tok; tok = strtok(NULL, " \n")) {
		char cmd[512];
		size_t n = 0;

		snprintf(path, sizeof(path), "/proc/%s/cmdline", tok);
		if ((f = fopen(path, "re"))) {
			n = fread(cmd, 1, sizeof(cmd) - 1, f);
			fclose(f);
		}
		for (size_t i = 0; i < n; i++)
			if (!cmd[i])
				cmd[i] = ' ';
		cmd[n] = '\0';
		fprintf(stderr, "  %s: %s\n", tok, cmd);
	}
}

/* ---- one connection ---------------------------------------------------- */

struct client {
	struct io io;
	struct timer guard;
	const uint8_t *data;
	size_t size, sent;
	struct buf reply;
	bool done;
};

static void client_end(struct client *cl)
{
	cl->done = true;
	io_del(srv.loop, &cl->io);
	timer_stop(srv.loop, &cl->guard);
	loop_stop(srv.loop);
}

/* Writes the input (then half-closes), reads the reply until EOF. */
static void on_client(struct io *io, uint32_t events)
{
	struct client *cl = io->data;
	char chunk[65536];

	if (cl->sent < cl->size && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		ssize_t n = send(io->fd, cl->data + cl->sent, cl->size - cl->sent, MSG_NOSIGNAL);
		if (n > 0)
			cl->sent += (size_t)n;
		else if (n < 0 && errno != EAGAIN)
			cl->sent = cl->size;  /* the agent closed early: stop sending */
		if (cl->sent == cl->size) {
			shutdown(io->fd, SHUT_WR);
			io_mod(srv.loop, io, EPOLLIN);
		}
	}
	for (;;) {
		ssize_t n = read(io->fd, chunk, sizeof(chunk));
		if (n > 0) {
			if (cl->reply.len + (size_t)n > REPLY_MAX) {
				fprintf(stderr, "fuzz_request: more than %u bytes of reply\n", REPLY_MAX);
				abort();
			}
			buf_append(&cl->reply, chunk, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		client_end(cl);  /* EOF, or a reset after the agent closed */
		return;
	}
}

static void on_guard(struct timer *t)
{
	struct client *cl = t->data;

	fprintf(stderr, "fuzz_request: the connection was not done after %d ms "
		"(%zu of %zu input bytes sent, %zu reply bytes)\n",
		GUARD_MS, cl->sent, cl->size, cl->reply.len);
	abort();
}

/* Serve data[0..size) on one fresh connection; the reply goes to *reply
 * (the caller frees it). */
static void run_connection(const uint8_t *data, size_t size, struct buf *reply)
{
	struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons(40000),
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct client cl = { .data = data, .size = size };
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
		die("socketpair");
	buf_init(&cl.reply, 0);
	if (io_add(srv.loop, &cl.io, sv[1], EPOLLIN | EPOLLOUT, on_client, &cl) != 0)
		die("epoll");
	if (!size) {
		shutdown(sv[1], SHUT_WR);
		io_mod(srv.loop, &cl.io, EPOLLIN);
	}
	timer_init(&cl.guard, on_guard, &cl);
	timer_start(srv.loop, &cl.guard, GUARD_MS);
	conn_accept(&srv, sv[0], (struct sockaddr *)&peer, sizeof(peer), false);
	while (!cl.done)
		loop_run(srv.loop);  /* returns at the end of the turn that saw EOF */
	close(sv[1]);
	*reply = cl.reply;
}

static void on_tick(struct timer *t)
{
	(void)t;
	loop_stop(srv.loop);
}

/* Work may go on after the reply (a background rm of a template's leftover
 * directory): run the loop until every descriptor it holds is closed again,
 * or SETTLE_MS. */
static void settle(int fds_before)
{
	int64_t deadline = now_ms() + SETTLE_MS;
	struct timer tick;

	timer_init(&tick, on_tick, NULL);
	while (count_fds(false) != fds_before && now_ms() < deadline) {
		timer_start(srv.loop, &tick, 1);
		loop_run(srv.loop);
	}
	timer_stop(srv.loop, &tick);
}

/* ---- checking the reply ------------------------------------------------ */

static _Noreturn void bad_reply(const char *why, const struct buf *reply, size_t at)
{
	fprintf(stderr, "fuzz_request: bad reply at byte %zu: %s\n--- reply (%zu bytes) ---\n",
		at, why, reply->len);
	fwrite(reply->data, 1, reply->len < 8192 ? reply->len : 8192, stderr);
	fprintf(stderr, "\n---\n");
	abort();
}

static const char *find_crlf2(const char *p, size_t n)
{
	return memmem(p, n, "\r\n\r\n", 4);
}

static void check_xml(const char *body, size_t n, const struct buf *reply, size_t at)
{
	xmlDocPtr doc = xmlReadMemory(body, (int)n, "reply.xml", NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlNodePtr top;

	if (!doc) {
		const xmlError *e = xmlGetLastError();
		fprintf(stderr, "fuzz_request: libxml2: line %d: %s", e ? e->line : 0,
			e && e->message ? e->message : "?\n");
		bad_reply("the XML-RPC reply is not well-formed XML", reply, at);
	}
	if (doc->intSubset || doc->extSubset)
		bad_reply("the XML-RPC reply has a DTD", reply, at);
	top = xmlDocGetRootElement(doc);
	if (!top || !top->name || strcmp((const char *)top->name, "methodResponse") != 0)
		bad_reply("the XML-RPC reply's root is not methodResponse", reply, at);
	xmlFreeDoc(doc);
}

/* Walk the responses; returns how many final (not 100) ones there were,
 * and in *closed whether the last said Connection: close. */
static int check_reply(const struct buf *reply, bool *closed_out)
{
	const char *p = reply->data;
	size_t n = reply->len, at = 0;
	bool closed = false;
	int count = 0;

	while (at < n) {
		const char *head = p + at, *end;
		size_t head_len, left = n - at, cl;
		struct http_response res;
		bool xml;
		int status;

		if (closed)
			bad_reply("bytes after a Connection: close response", reply, at);
		if (left < 13 || memcmp(head, "HTTP/1.1 ", 9) != 0 ||
		    sscanf(head + 9, "%3d", &status) != 1 || status < 100 || status > 599 ||
		    head[12] != ' ')
			bad_reply("no status line", reply, at);
		if (!(end = find_crlf2(head, left)))
			bad_reply("incomplete response head", reply, at);
		head_len = (size_t)(end - head) + 4;
		if (status == 100) {    /* interim: head only */
			at += head_len;
			continue;
		}
		count++;
		/* The final head, read by the same parser the agent's clients use
		 * (peer.c, do_rpc): the agent must write what they can read. */
		if (http_parse_response_head(head, left, left, &res) != (int)head_len)
			bad_reply("a response head its clients cannot read", reply, at);
		if (res.content_length < 0)
			bad_reply("no Content-Length", reply, at);
		cl = (size_t)res.content_length;
		xml = res.content_type.n == 8 && memcmp(res.content_type.p, "text/xml", 8) == 0;
		closed = !res.keep_alive;
		at += head_len;
		/* A response to HEAD has the length but no body; only the page and
		 * errors can answer a HEAD, never an XML-RPC reply. */
		if (!xml && (at == n || (n - at >= 7 && memcmp(p + at, "HTTP/1.", 7) == 0)) && cl)
			continue;
		if (n - at < cl)
			bad_reply("body shorter than its Content-Length", reply, at);
		if (xml && status != 200)
			bad_reply("text/xml with a status other than 200", reply, at);
		if (xml)
			check_xml(p + at, cl, reply, at);
		at += cl;
	}
	*closed_out = closed;
	return count;
}

/* The bytes of the request at data[0..size): 0 when incomplete (head or
 * body), -1 when its head can never be valid. */
static long request_len(const uint8_t *data, size_t size)
{
	struct http_request r;
	int h = http_parse_head((const char *)data, size, srv.cfg.max_header_bytes, &r);
	size_t total;

	if (h <= 0)
		return h < 0 ? -1 : 0;
	total = (size_t)h + (size_t)(r.content_length > 0 ? r.content_length : 0);
	return total <= size ? (long)total : 0;
}

/* Every request the client sent before its half-close is answered, in
 * order, unless an answer closed the connection: after `answers` kept-alive
 * answers, what is left of the input must not be a whole request (or a
 * head that can never be valid, which gets a 400). */
static void check_all_answered(const uint8_t *data, size_t size, int answers,
			       const struct buf *reply)
{
	size_t pos = 0;
	long len;

	for (int i = 0; i < answers; i++) {
		if ((len = request_len(data + pos, size - pos)) <= 0)
			return;  /* answered though incomplete or bad: it closed, checked already */
		pos += (size_t)len;
	}
	if (request_len(data + pos, size - pos) != 0) {
		fprintf(stderr, "fuzz_request: the request at input byte %zu got no answer "
			"(%d answered before it)\n", pos, answers);
		bad_reply("a request sent before the half-close was not answered", reply, reply->len);
	}
}

/* ---- set-up ------------------------------------------------------------ */

static void open_state(void)
{
	char err[1024];

	if (!(srv.store = store_open(srv.cfg.state_dir, true, err, sizeof(err)))) {
		fprintf(stderr, "fuzz_request: %s\n", err);
		abort();
	}
	free(srv.hv_env.state_dir);
	srv.hv_env = (struct hv_env){
		.loop = srv.loop, .store = srv.store, .state_dir = xstrdup(srv.cfg.state_dir),
		.guest_stop_timeout = srv.cfg.guest_stop_timeout, .accel = srv.cfg.qemu_accel,
		.hooks = srv.hooks,
	};
	if (!(srv.hv = hv_open(&srv.hv_env, srv.cfg.hypervisor, err, sizeof(err)))) {
		fprintf(stderr, "fuzz_request: %s\n", err);
		abort();
	}
	srv.hv->on_event = guest_on_event;
	srv.hv->owner = &srv;
	guest_reconcile(&srv);
}

/* Run a request and insist on a 200 with "success" in it. */
static void must_succeed(const char *method, const char *arg)
{
	char body[512], req[1024];
	struct buf reply;
	bool closed;
	int n;

	n = snprintf(body, sizeof(body),
		     "<?xml version=\"1.0\"?><methodCall><methodName>%s</methodName><params>"
		     "<param><value><string>%s</string></value></param></params></methodCall>",
		     method, arg);
	n = snprintf(req, sizeof(req), "POST /RPC2 HTTP/1.1\r\nHost: fuzz\r\n" AUTH_HEADER
		     "Content-Type: text/xml\r\nContent-Length: %d\r\n\r\n%s", n, body);
	run_connection((const uint8_t *)req, (size_t)n, &reply);
	if (check_reply(&reply, &closed) != 1 || !memmem(reply.data, reply.len, "HTTP/1.1 200 ", 13) ||
	    !memmem(reply.data, reply.len, "success", 7))
		bad_reply("set-up request failed", &reply, 0);
	buf_free(&reply);
}

static void seed_state(void)
{
	seed_files();
	open_state();
	must_succeed("register_vm", "g1");
}

/* Empty ovs_root and the state_dir and start again from the seed. The
 * loop, auth (and its cache), the resolver and guest operations in memory
 * stay: between inputs no operation holds the store or the backend. */
static void wipe_state(void)
{
	char path[PATH_MAX];

	hv_close(srv.hv);
	srv.hv = NULL;
	store_close(srv.store);
	srv.store = NULL;
	snprintf(path, sizeof(path), "%s/ovs", root);
	rm_tree(path);
	snprintf(path, sizeof(path), "%s/state", root);
	rm_tree(path);
	seed_state();
}

/* admin:secret, hashed with the cheapest yescrypt cost (the setting is
 * kept for crypt_rn above): a wrong password for admin, a common mutation,
 * is then checked in a millisecond, not the ~100 ms of the default cost. */
static void write_password_file(char *path, size_t len)
{
	struct crypt_data cd;
	char line[CRYPT_OUTPUT_SIZE + 16];
	const char *salt, *hash;

	memset(&cd, 0, sizeof(cd));
	salt = crypt_gensalt_rn("$y$", 1, NULL, 0, cheap_setting, sizeof(cheap_setting));
	if (!salt || !(hash = crypt_r("secret", salt, &cd)) || hash[0] == '*')
		die("crypt");
	snprintf(line, sizeof(line), "admin:%s\n", hash);
	put_file(root, "password", line);
	snprintf(path, len, "%s/password", root);
}

static void teardown(void)
{
	if (getpid() != owner)
		return;
	hooks_free(srv.hooks);
	repoview_free(srv.repos);
	hv_close(srv.hv);
	free(srv.hv_env.state_dir);
	child_reap_all();
	free(srv.guest_ops);
	store_close(srv.store);
	auth_free(srv.auth);
	resolver_free(srv.resolver);
	perf_free(srv.perf);
	loop_free(srv.loop);
	config_free(&srv.cfg);
	log_close();
	rm_tree(root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *log_path = getenv("FUZZ_REQUEST_LOG");
	char ini[4096], pw[PATH_MAX], err[1024];
	int n;

	(void)argc;
	(void)argv;
	show_replies = getenv("FUZZ_REQUEST_SHOW") && strcmp(getenv("FUZZ_REQUEST_SHOW"), "1") == 0;
	signal(SIGPIPE, SIG_IGN);
	/* sim operations complete on the next loop turn, not after 20 ms. */
	setenv("OVS_AGENT_SIM_DELAY_MS", "0", 1);
	sweep_stale();
	if (!mkdtemp(root))
		die("mkdtemp");
	owner = getpid();
	atexit(teardown);
	snprintf(pw, sizeof(pw), "%d\n", (int)owner);
	put_file(root, "pid", pw);
	write_password_file(pw, sizeof(pw));
	n = snprintf(ini, sizeof(ini),
		     "listen=127.0.0.1\nport=8899\nssl=disable\nallow=*\nauth=password\n"
		     "password_file=%s\nauth_cache_ttl=86400\nauth_fail_limit=1000\n"
		     "auth_fail_delay_max=0\nstate_dir=%s/state\nlog_file=-\nlog_level=debug\n"
		     "pid_file=%s/agent.pid\nhypervisor=sim\novs_root=%s/ovs\nhooks_dir=%s/hooks\n"
		     "repositories_file=%s/repositories\nrequest_timeout=30\nidle_timeout=60\n",
		     pw, root, root, root, root, root);
	if (config_parse("fuzz_request.ini", ini, (size_t)n, &srv.cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_request: %s\n", err);
		abort();
	}
	if (log_open(log_path ? log_path : "/dev/null", LOG_DEBUG, false) != 0)
		die("log");
	if (!(srv.loop = loop_new()))
		die("epoll_create");
	/* As in the daemon, one write per loop turn; a kept log is written
	 * line by line, so it is whole when the fuzzer stops at a crash. */
	log_set_batch(!log_path);
	srv.auth = auth_new(&srv);
	srv.resolver = resolver_new(srv.loop);
	srv.perf = perf_new();
	{
		/* As main.c: guest events run hook_run_dir (guest_hooks_dir
		 * does not exist here, so no hook runs, but the path does). */
		struct hook_settings hs = config_hook_settings(&srv.cfg);
		srv.hooks = hooks_new(srv.loop, &hs);
	}
	/* The storage methods read it; no repository is listed, so none
	 * is mounted and no script runs (hooks_dir is empty). */
	srv.repos = repoview_new(srv.loop, srv.cfg.ovs_root, srv.cfg.repositories_file);
	srv.started_ms = now_ms();
	auth_check_in_process = true;
	/* The first request checks admin:secret for real and caches it. */
	seed_state();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf reply;
	uint8_t *copy;
	int answers, fds, fds_before;
	bool closed;

	if (++inputs % WIPE_EVERY == 0)
		wipe_state();
	/* Counted per input: libFuzzer starts a symbolizer (two pipes) between
	 * inputs when it first reports a new function. */
	fds_before = count_fds(false);
	/* The template's name stands for the real directory (same length). */
	copy = xmalloc(size + 1);
	memcpy(copy, data, size);
	for (uint8_t *p = copy; (p = memmem(p, size - (size_t)(p - copy), ROOT_TEMPLATE,
					    sizeof(root) - 1)); p += sizeof(root) - 1)
		memcpy(p, root, sizeof(root) - 1);
	run_connection(copy, size, &reply);
	if (show_replies && reply.len)
		fprintf(stderr, "--- reply ---\n%s\n---\n", reply.data);
	answers = check_reply(&reply, &closed);
	if (!closed)
		check_all_answered(copy, size, answers, &reply);
	buf_free(&reply);
	free(copy);
	settle(fds_before);
	if ((fds = count_fds(false)) != fds_before) {
		fprintf(stderr, "fuzz_request: %d descriptors open after the input, %d before:\n",
			fds, fds_before);
		count_fds(true);
		show_children();
		abort();
	}
	return 0;
}
