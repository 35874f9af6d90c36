/* qemu.c - QEMU/KVM backend: real guests, KVM when /dev/kvm works, TCG
 * otherwise.
 *
 * Each guest is a QEMU that daemonizes (-daemonize), so it outlives the
 * agent, with its QMP socket, pid file and serial console socket in
 * <state_dir>/qemu/. The store's "qemu" table remembers which guests run;
 * at start-up the agent re-attaches to the ones still alive. A guest's
 * exit is watched with a pidfd (it is not our child once daemonized), its
 * state changes through QMP events; what nobody asked for is reported to
 * the agent through hv->on_event.
 *
 * Stop is clean: the ACPI power button (system_powerdown), then power-off
 * after guest_stop_timeout. Reboot sends Ctrl-Alt-Del, which guests treat
 * as a clean reboot; reset is the reset button. Suspend writes the guest's
 * state to a file through QEMU's migration to a file descriptor we pass
 * over QMP (no shell, no path on a command line); resume starts a QEMU that
 * waits for incoming state (-incoming defer) and feeds it the file the
 * same way.
 *
 * NICs: before QEMU starts, each vif item gets a tap the agent makes, its
 * QoS and `vif-bridge online` (qemu_net.h); QEMU gets the taps as fds.
 * QEMU starts paused (-S): the disks' I/O priorities (disk_other_config
 * ionice) are set on its threads, then `cont` lets the guest run. When
 * QEMU has gone, `vif-bridge offline` runs for each NIC. */
#define LOG_CAT "qemu"
#include "hypervisor/hv.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "agent/base/child.h"
#include "db/record.h"
#include "db/store.h"
#include "agent/base/fault.h"
#include "agent/base/json.h"
#include "agent/base/log.h"
#include "agent/base/loop.h"
#include "hypervisor/qemu/qemu_argv.h"
#include "hypervisor/qemu/qemu_net.h"
#include "hypervisor/qemu/qmp.h"
#include "agent/base/util.h"
#include "hypervisor/vmcfg.h"

#define QEMU_TABLE "qemu"
#define LAUNCH_TIMEOUT_MS 60000  /* QEMU's start until it daemonizes */
#define QMP_TIMEOUT_MS 30000
#define KILL_WAIT_MS 10000       /* SIGKILL until the process is gone */
#define VNC_DISPLAYS 100         /* displays :0..:99, ports 5900..5999 */
#define MIGRATE_POLL_MS 50       /* query-migrate interval while state moves */
#define MIGRATE_TIMEOUT_MS (30 * 60 * 1000)

struct qemu {
	char binary[256];
	bool kvm;
	int major, minor;
	char extra[64];
	bool have_version;
	char *run_dir;
	struct qguest *guests;
	/* VNC displays of guests still launching, so two starts at once do
	 * not pick the same one. */
	unsigned char launching_vnc[VNC_DISPLAYS];
};

/* An operation waiting on a guest (a QMP reply, a migration): when the
 * guest's QEMU dies first, forget_guest() fails it, so no client waits
 * forever and nothing points at a freed guest. Embedded first in each
 * operation's struct. */
struct qpend {
	struct qpend *next;
	void (*fail)(struct qpend *p, const char *why);
};

/* A running guest. */
struct qguest {
	struct qpend *pending;   /* operations waiting on it */
	struct qguest *next;
	struct hv *hv;
	char uuid[40];
	char name[256];
	pid_t pid;
	struct io pidfd_io;
	struct qmp *qmp;
	enum hv_state state;
	int memory, vcpus, vnc;
	/* an operation that ends when the process exits (stop, destroy) */
	hv_done_cb exit_done;
	void *exit_arg;
	struct timer exit_timer;
	bool forced;             /* the clean stop timed out; powered off */
	struct qnet *net;        /* its NICs on the host (qemu_net.h) */
};

/* An operation that waits for a QMP reply. */
struct qop {
	struct qpend pend;
	struct qguest *g;
	hv_done_cb done;
	void *arg;
	enum hv_state after;     /* state on success */
};

/* A start in progress: the launcher child, then the QMP handshake. */
struct qstart {
	struct qpend pend;       /* while its first query-status is out */
	struct hv *hv;
	struct qguest *g;
	hv_done_cb done;
	void *arg;
	char *path;
	char *restore_file;      /* resume: the state to load, else NULL */
	char *incoming;          /* migration target: "tcp:IP:PORT", else NULL */
	char *vnc_password;      /* vncpasswd: set over QMP, never on a command line */
	struct qnet *net;        /* the NICs, until the guest (g->net) has them */
	char **argv;             /* QEMU's, while the NICs go online */
	struct qemu_ioprio prio[QEMU_IOPRIO_MAX]; /* disk I/O priorities to set */
	size_t nprio;
};

/* A save or restore: the migration runs in QEMU, we poll its status. */
struct qmig {
	struct qpend pend;
	int fd;                  /* save: the open temporary state file, else -1 */
	char *file, *tmp;        /* save: the state file and its temporary name */
	struct qguest *g;
	struct qstart *start;    /* restore: the start it finishes */
	hv_done_cb done;
	void *arg;
	struct timer poll;
	int64_t deadline;
	bool saving;             /* the state leaves this QEMU (save, migrate out) */
	bool incoming_only;      /* migrate in: the stream was set up at launch */
};

static struct qemu *Q(struct hv *hv) { return hv->priv; }

static void pend_add(struct qguest *g, struct qpend *p, void (*fail)(struct qpend *, const char *))
{
	p->fail = fail;
	p->next = g->pending;
	g->pending = p;
}

static void pend_del(struct qguest *g, struct qpend *p)
{
	struct qpend **pp = &g->pending;

	while (*pp && *pp != p)
		pp = &(*pp)->next;
	if (*pp)
		*pp = p->next;
}

static char *run_file(struct hv *hv, const char *uuid, const char *ext)
{
	return xasprintf("%s/%s.%s", Q(hv)->run_dir, uuid, ext);
}

/* ---- the guests table (survives agent restarts) -------------------------- */

static void save_guest(struct qguest *g)
{
	struct record r;
	char *text, err[256];

	record_init(&r);
	record_set(&r, "name", g->name);
	record_set_int(&r, "pid", g->pid);
	record_set_int(&r, "memory", g->memory);
	record_set_int(&r, "vcpus", g->vcpus);
	record_set_int(&r, "vnc", g->vnc);
	record_set(&r, "state", g->state == HV_PAUSED ? "paused" : "running");
	if (g->net) {
		char *nics = qnet_format(g->net);
		if (nics[0])
			record_set(&r, "nics", nics);
		free(nics);
	}
	text = record_format(&r);
	if (store_put(g->hv->env->store, QEMU_TABLE, g->uuid, text, err, sizeof(err)) != 0)
		log_err("cannot record guest %s: %s", g->uuid, err);
	free(text);
	record_free(&r);
}

static void forget_guest(struct qguest *g)
{
	struct qemu *q = Q(g->hv);
	struct qguest **pp = &q->guests;
	char err[256];

	store_del(g->hv->env->store, QEMU_TABLE, g->uuid, err, sizeof(err));
	while (*pp && *pp != g)
		pp = &(*pp)->next;
	if (*pp)
		*pp = g->next;
	if (g->pidfd_io.fd >= 0) {
		int fd = g->pidfd_io.fd;
		io_del(g->hv->env->loop, &g->pidfd_io);
		close(fd);
	}
	timer_stop(g->hv->env->loop, &g->exit_timer);
	/* Answer what waits on the guest before its QMP goes (closing QMP
	 * drops the callbacks those operations were waiting for). */
	while (g->pending) {
		struct qpend *p = g->pending;
		g->pending = p->next;
		p->fail(p, "the guest's QEMU exited");
	}
	qmp_close(g->qmp);
	g->qmp = NULL;
	/* Its taps went with QEMU: the rest of its NICs goes now. */
	qnet_release(g->hv->env, g->net);
	g->net = NULL;
	loop_defer(g->hv->env->loop, free, g);
}

static struct qguest *find_guest(struct hv *hv, const char *uuid)
{
	for (struct qguest *g = Q(hv)->guests; g; g = g->next)
		if (strcmp(g->uuid, uuid) == 0)
			return g;
	return NULL;
}

static void report(struct qguest *g, enum hv_event ev)
{
	if (g->hv->on_event)
		g->hv->on_event(g->hv, g->uuid, ev);
}

/* ---- process exit and QMP events ----------------------------------------- */

static void on_exit_event(struct io *io, uint32_t events)
{
	struct qguest *g = io->data;
	struct hv *hv = g->hv;
	hv_done_cb done = g->exit_done;
	void *arg = g->exit_arg;
	char uuid[40];

	log_info("guest %s (pid %d) has exited%s", g->uuid, (int)g->pid,
		 g->forced ? " after a forced power-off" : "");
	snprintf(uuid, sizeof(uuid), "%s", g->uuid);
	g->exit_done = NULL;
	forget_guest(g);
	if (done)
		done(arg, 0, NULL);
	else if (hv->on_event)
		hv->on_event(hv, uuid, HV_EV_GONE);
}

static void on_qmp_event(void *arg, const char *event, xmlrpc_value *data)
{
	struct qguest *g = arg;

	if (strcmp(event, "STOP") == 0 && g->state != HV_PAUSED) {
		g->state = HV_PAUSED;
		save_guest(g);
		report(g, HV_EV_PAUSED);
	} else if (strcmp(event, "RESUME") == 0 && g->state != HV_RUNNING) {
		g->state = HV_RUNNING;
		save_guest(g);
		report(g, HV_EV_RUNNING);
	} else if (strcmp(event, "GUEST_PANICKED") == 0) {
		g->state = HV_CRASHED;
		report(g, HV_EV_CRASHED);
	}
	/* SHUTDOWN and RESET need nothing: the exit (pidfd) or nothing follows. */
}

static void on_qmp_state(void *arg, enum qmp_state st, const char *why)
{
	struct qguest *g = arg;

	if (st == QMP_CLOSED) {
		/* QEMU closes QMP as it exits; the pidfd tells the rest. */
		log_debug("QMP of guest %s closed: %s", g->uuid, why);
		qmp_close(g->qmp);
		g->qmp = NULL;
	}
}

/* Watch a guest's process and talk QMP to it. 0, or -1 when the process
 * is already gone. */
static int watch_guest(struct qguest *g)
{
	char err[256], *sock;
	int pfd = pidfd_open(g->pid, 0);

	if (pfd < 0)
		return -1;
	fd_set_cloexec(pfd);
	io_add(g->hv->env->loop, &g->pidfd_io, pfd, EPOLLIN, on_exit_event, g);
	sock = run_file(g->hv, g->uuid, "qmp");
	g->qmp = qmp_connect(g->hv->env->loop, sock, on_qmp_state, on_qmp_event, g, err, sizeof(err));
	if (!g->qmp)
		log_warn("guest %s: no QMP: %s", g->uuid, err);
	free(sock);
	return 0;
}

static struct qguest *new_guest(struct hv *hv, const char *uuid)
{
	struct qguest *g = xcalloc(1, sizeof(*g));

	g->hv = hv;
	snprintf(g->uuid, sizeof(g->uuid), "%s", uuid);
	g->pidfd_io.fd = -1;
	g->vnc = -1;
	g->state = HV_RUNNING;
	return g;
}

/* ---- open: find QEMU, re-attach to the guests that still run -------------- */

/* Is pid a QEMU running guest uuid? (A pid may have been reused.) */
static bool is_our_qemu(pid_t pid, const char *uuid)
{
	char path[64], buf[8192];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	for (ssize_t i = 0; i < n; i++)
		if (!buf[i])
			buf[i] = ' ';
	buf[n] = '\0';
	return strstr(buf, uuid) && strstr(buf, "qemu");
}

static int reattach_one(const char *key, const char *val, size_t vlen, void *arg)
{
	struct hv *hv = arg;
	struct record r;
	struct qguest *g;

	record_init(&r);
	if (record_parse(&r, val, vlen) == 0) {
		g = new_guest(hv, key);
		g->pid = (pid_t)record_get_int(&r, "pid", 0);
		snprintf(g->name, sizeof(g->name), "%s", record_get(&r, "name") ? record_get(&r, "name") : "");
		g->memory = (int)record_get_int(&r, "memory", 0);
		g->vcpus = (int)record_get_int(&r, "vcpus", 0);
		g->vnc = (int)record_get_int(&r, "vnc", -1);
		g->state = record_get(&r, "state") && strcmp(record_get(&r, "state"), "paused") == 0 ?
			   HV_PAUSED : HV_RUNNING;
		g->net = qnet_parse(record_get(&r, "nics"), g->name);
		if (record_get(&r, "nics") && !g->net)
			log_warn("guest %s: unreadable nics '%s' in the guests table", key,
				 record_get(&r, "nics"));
		g->next = Q(hv)->guests;
		Q(hv)->guests = g;
		if (g->pid > 0 && is_our_qemu(g->pid, key) && watch_guest(g) == 0) {
			log_info("re-attached to guest %s (pid %d)", key, (int)g->pid);
		} else {
			log_info("guest %s (pid %d) is no longer running", key, (int)g->pid);
			forget_guest(g);
		}
	}
	record_free(&r);
	return 0;
}

static int qemu_open(struct hv *hv, char *err, size_t errlen)
{
	struct qemu *q = xcalloc(1, sizeof(*q));
	const char *env = getenv("OVS_AGENT_QEMU");
	struct utsname u;
	int fd;

	uname(&u);
	if (env && *env)
		snprintf(q->binary, sizeof(q->binary), "%s", env);
	else
		snprintf(q->binary, sizeof(q->binary), "/usr/bin/qemu-system-%s",
			 strcmp(u.machine, "aarch64") == 0 ? "aarch64" : u.machine);
	if (access(q->binary, X_OK) != 0) {
		snprintf(err, errlen, "hypervisor=qemu: %s: %s (install Debian's qemu-system-x86, "
			 "or set hypervisor=sim for a simulated host)", q->binary, strerror(errno));
		free(q);
		return -1;
	}
	if (hv->env->accel != ACCEL_TCG) {
		fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
		q->kvm = fd >= 0;
		if (fd >= 0) {
			close(fd);
		} else if (hv->env->accel == ACCEL_KVM) {
			snprintf(err, errlen, "qemu_accel=kvm: /dev/kvm: %s (qemu_accel=tcg runs "
				 "guests without it)", strerror(errno));
			free(q);
			return -1;
		}
	}
	q->run_dir = xasprintf("%s/qemu", hv->env->state_dir);
	if (mkdir(q->run_dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", q->run_dir, strerror(errno));
		free(q->run_dir);
		free(q);
		return -1;
	}
	hv->priv = q;
	log_info("QEMU backend: %s with %s", q->binary,
		 q->kvm ? "KVM" : hv->env->accel == ACCEL_TCG ? "TCG (qemu_accel=tcg)"
							       : "TCG (no usable /dev/kvm)");
	if (store_each(hv->env->store, QEMU_TABLE, reattach_one, hv, err, errlen) != 0)
		log_err("cannot read the running guests: %s", err);
	return 0;
}

static void qemu_close(struct hv *hv)
{
	struct qemu *q = Q(hv);

	/* The guests keep running: only our watchers go. */
	while (q->guests) {
		struct qguest *g = q->guests;
		q->guests = g->next;
		if (g->pidfd_io.fd >= 0) {
			int fd = g->pidfd_io.fd;
			io_del(hv->env->loop, &g->pidfd_io);
			close(fd);
		}
		timer_stop(hv->env->loop, &g->exit_timer);
		qmp_close(g->qmp);
		qnet_free(g->net);
		free(g);
	}
	free(q->run_dir);
	free(q);
}

/* ---- host information ----------------------------------------------------- */

struct info_req {
	struct hv *hv;
	hv_info_cb done;
	void *arg;
};

static void fill(struct hv *hv, struct hv_info *info)
{
	struct qemu *q = Q(hv);
	uint64_t used = 0;

	hv_host_facts(info);
	for (struct qguest *g = q->guests; g; g = g->next)
		used += (uint64_t)g->memory;
	snprintf(info->hypervisor, sizeof(info->hypervisor), "%s", q->kvm ? "kvm" : "tcg");
	info->xen_major = q->major;
	info->xen_minor = q->minor;
	snprintf(info->xen_extra, sizeof(info->xen_extra), "%s", q->extra);
	snprintf(info->xen_caps, sizeof(info->xen_caps), "hvm-%s%s", info->machine,
		 q->kvm ? "" : "-tcg");
	(void)used; /* MemAvailable already counts the guests' QEMU processes */
}

/* "QEMU emulator version 7.2.19 (Debian 1:7.2+dfsg-7+deb12u18)" */
static void on_version(const struct child_result *res, void *arg)
{
	struct info_req *r = arg;
	struct qemu *q = Q(r->hv);
	struct hv_info info;
	const char *p = res->out->data ? strstr(res->out->data, "version ") : NULL;

	if (p && sscanf(p + 8, "%d.%d%63[^ \n]", &q->major, &q->minor, q->extra) >= 2)
		q->have_version = true;
	if (!q->have_version) {
		char why[512];
		char msg[600];
		if (child_ok(res, 10000, why, sizeof(why)))
			snprintf(why, sizeof(why), "printed no version");
		log_err("%s --version %s", q->binary, why);
		snprintf(msg, sizeof(msg), "cannot read the QEMU version: qemu --version %s", why);
		r->done(r->arg, NULL, msg);
		free(r);
		return;
	}
	fill(r->hv, &info);
	r->done(r->arg, &info, NULL);
	free(r);
}

static const char *const child_env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL };

static void qemu_info(struct hv *hv, hv_info_cb done, void *arg)
{
	struct qemu *q = Q(hv);
	const char *argv[] = { q->binary, "--version", NULL };
	struct child_opts o = { .argv = argv, .envp = child_env, .timeout_ms = 10000 };
	struct info_req *r;
	struct hv_info info;
	char err[256];

	if (q->have_version) {
		fill(hv, &info);
		done(arg, &info, NULL);
		return;
	}
	r = xcalloc(1, sizeof(*r));
	r->hv = hv;
	r->done = done;
	r->arg = arg;
	if (!child_spawn(hv->env->loop, &o, on_version, r, err, sizeof(err))) {
		free(r);
		done(arg, NULL, err);
	}
}

/* ---- start ----------------------------------------------------------------- */

static int free_vnc_display(struct hv *hv)
{
	for (int d = 0; d < VNC_DISPLAYS; d++) {
		bool used = Q(hv)->launching_vnc[d] != 0;
		for (struct qguest *g = Q(hv)->guests; g && !used; g = g->next)
			used = g->vnc == d;
		if (!used)
			return d;
	}
	return -1;
}

static void start_finish(struct qstart *s, int fault, const char *msg)
{
	s->done(s->arg, fault, msg);
	/* NICs no guest took (QEMU never ran, or failed): undone here. */
	qnet_release(s->hv->env, s->net);
	qemu_argv_free(s->argv);
	free(s->restore_file);
	free(s->incoming);
	if (s->vnc_password) {
		OPENSSL_cleanse(s->vnc_password, strlen(s->vnc_password));
		free(s->vnc_password);
	}
	free(s->path);
	free(s);
}

static void restore_begin(struct qstart *s);

static void on_vnc_password(void *arg, xmlrpc_value *ret, const char *err_class, const char *desc)
{
	if (err_class)
		log_err("guest %s: cannot set its VNC password: %s", (const char *)arg,
			desc ? desc : err_class);
	free(arg);
}

/* The VNC server was started with password=on: give it the password. */
static void set_vnc_password(struct qguest *g, const char *pw)
{
	xmlrpc_env env;
	xmlrpc_value *args;

	xmlrpc_env_init(&env);
	args = xmlrpc_build_value(&env, "{s:s,s:s}", "protocol", "vnc", "password", pw);
	if (!env.fault_occurred) {
		char *uuid = xstrdup(g->uuid);
		if (!g->qmp || qmp_execute(g->qmp, "set_password", args, QMP_TIMEOUT_MS,
					   on_vnc_password, uuid) < 0) {
			log_err("guest %s: cannot set its VNC password: no QMP", g->uuid);
			free(uuid);
		}
		xmlrpc_DECREF(args);
	}
	xmlrpc_env_clean(&env);
}

static void start_fail(struct qpend *p, const char *why)
{
	start_finish((struct qstart *)p, FAULT_HYPERVISOR, why);
}

/* The start cannot complete once QEMU runs: it must not linger, nor be
 * taken for the guest. */
static void start_abort(struct qstart *s, int fault, const char *msg)
{
	kill(s->g->pid, SIGKILL);
	forget_guest(s->g);
	start_finish(s, fault, msg);
}

static void on_start_cont(void *arg, xmlrpc_value *ret, const char *err_class, const char *desc)
{
	struct qstart *s = arg;
	char msg[512];

	pend_del(s->g, &s->pend);
	if (err_class) {
		snprintf(msg, sizeof(msg), "cont: %s", desc ? desc : err_class);
		start_abort(s, FAULT_HYPERVISOR, msg);
		return;
	}
	start_finish(s, 0, NULL);
}

/* The guest's hardware and host side are ready: let it run (or wait for
 * its state, for a resume or an arriving migration). */
static void start_run(struct qstart *s)
{
	struct qguest *g = s->g;

	if (s->restore_file) {
		restore_begin(s);
		return;
	}
	if (s->incoming) {
		/* Waiting for the source: the URI is the answer. */
		g->state = HV_PAUSED;
		save_guest(g);
		start_finish(s, 0, s->incoming);
		return;
	}
	/* Started with -S, so that nothing ran before the priorities were set. */
	if (!g->qmp || qmp_execute(g->qmp, "cont", NULL, QMP_TIMEOUT_MS, on_start_cont, s) < 0) {
		start_abort(s, FAULT_HYPERVISOR, "no QMP connection to let the guest run");
		return;
	}
	pend_add(g, &s->pend, start_fail);
}

/* ioprio_set(2) on one thread, classes and levels as ionice(1). */
static int set_ioprio(pid_t tid, int cls, int prio)
{
	return (int)syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, (int)tid,
			    (cls << 13) | prio);
}

static const char *thread_of(const struct qemu_ioprio *p)
{
	return p->iothread[0] ? p->iothread : "QEMU's main thread";
}

/* query-iothreads: [{"id": "io-vdb", "thread-id": 1234, ...}, ...] */
static void on_iothreads(void *arg, xmlrpc_value *ret, const char *err_class, const char *desc)
{
	struct qstart *s = arg;
	char msg[512];
	xmlrpc_env env;
	int n;

	pend_del(s->g, &s->pend);
	if (err_class) {
		snprintf(msg, sizeof(msg), "query-iothreads: %s", desc ? desc : err_class);
		start_abort(s, FAULT_HYPERVISOR, msg);
		return;
	}
	xmlrpc_env_init(&env);
	n = xmlrpc_array_size(&env, ret);
	for (size_t i = 0; i < s->nprio; i++) {
		struct qemu_ioprio *p = &s->prio[i];
		int64_t tid = 0;
		for (int k = 0; p->iothread[0] && !env.fault_occurred && k < n && !tid; k++) {
			xmlrpc_value *it = NULL, *id = NULL, *th = NULL;
			const char *name = NULL;
			xmlrpc_array_read_item(&env, ret, k, &it);
			if (it)
				xmlrpc_struct_find_value(&env, it, "id", &id);
			if (id)
				xmlrpc_read_string(&env, id, &name);
			if (name && strcmp(name, p->iothread) == 0 && it)
				xmlrpc_struct_find_value(&env, it, "thread-id", &th);
			if (th && (json_int64(th, &tid) != 0 || tid <= 0))
				tid = -1;
			free((char *)name);
			if (th)
				xmlrpc_DECREF(th);
			if (id)
				xmlrpc_DECREF(id);
			if (it)
				xmlrpc_DECREF(it);
		}
		if (!p->iothread[0])
			tid = s->g->pid;
		if (tid <= 0 || tid > INT32_MAX || set_ioprio((pid_t)tid, p->ioclass, p->prio) != 0) {
			snprintf(msg, sizeof(msg), "disk %s: cannot set the I/O priority of %s: %s",
				 p->dev, thread_of(p), tid <= 0 ? "QEMU does not have it" :
				 strerror(errno));
			xmlrpc_env_clean(&env);
			start_abort(s, FAULT_HYPERVISOR, msg);
			return;
		}
		log_info("guest %s: disk %s runs in %s (thread %lld) at I/O priority %d/%d",
			 s->g->uuid, p->dev, thread_of(p), (long long)tid, p->ioclass, p->prio);
	}
	xmlrpc_env_clean(&env);
	start_run(s);
}

/* disk_other_config: each iothread's thread (QMP names them) and QEMU's
 * main thread get their I/O priority before the guest runs. */
static void start_ioprio(struct qstart *s)
{
	struct qguest *g = s->g;

	if (s->nprio == 0) {
		start_run(s);
		return;
	}
	if (!g->qmp || qmp_execute(g->qmp, "query-iothreads", NULL, QMP_TIMEOUT_MS, on_iothreads,
				   s) < 0) {
		start_abort(s, FAULT_HYPERVISOR, "no QMP connection to find the disks' I/O threads");
		return;
	}
	pend_add(g, &s->pend, start_fail);
}

static void on_launched(const struct child_result *res, void *arg)
{
	struct qstart *s = arg;
	struct qguest *g = s->g;

	if (g->vnc >= 0 && g->vnc < VNC_DISPLAYS)
		Q(s->hv)->launching_vnc[g->vnc] = 0; /* the guest (or nobody) holds it now */
	char *pidfile = run_file(s->hv, g->uuid, "pid"), buf[32] = "", msg[1024];
	int fd;
	ssize_t n;

	/* QEMU holds the taps now (or never will): ours go. */
	qnet_close_fds(s->net);
	memcpy(msg, "QEMU ", 6);
	if (!child_ok(res, LAUNCH_TIMEOUT_MS, msg + 5, sizeof(msg) - 5)) {
		free(pidfile);
		free(g);
		start_finish(s, FAULT_HYPERVISOR, msg);
		return;
	}
	fd = open(pidfile, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	free(pidfile);
	buf[n > 0 ? n : 0] = '\0';
	g->pid = (pid_t)atoi(buf);
	g->net = s->net; /* the guest's from now on: released when it goes */
	s->net = NULL;
	g->next = Q(s->hv)->guests;
	Q(s->hv)->guests = g;
	if (g->pid <= 0 || watch_guest(g) != 0) {
		forget_guest(g);
		start_finish(s, FAULT_HYPERVISOR, "QEMU started but exited at once");
		return;
	}
	save_guest(g);
	log_info("guest %s started: pid %d%s", g->uuid, (int)g->pid,
		 g->vnc >= 0 ? "" : ", no VNC");
	if (s->vnc_password && g->vnc >= 0)
		set_vnc_password(g, s->vnc_password);
	start_ioprio(s);
}

/* The NICs are on their bridges: start QEMU with their taps. */
static void on_online(void *arg, int fault, const char *msg)
{
	struct qstart *s = arg;
	struct qemu *q = Q(s->hv);
	struct qguest *g = s->g;
	struct child_opts co = { 0 };
	char err[1024];
	size_t nfds;

	if (fault) {
		if (g->vnc >= 0 && g->vnc < VNC_DISPLAYS)
			q->launching_vnc[g->vnc] = 0;
		free(g);
		start_finish(s, fault, msg);
		return;
	}
	co.argv = (const char *const *)s->argv;
	co.envp = child_env;
	co.timeout_ms = LAUNCH_TIMEOUT_MS;
	co.max_output = 16384;
	co.keep_fds = qnet_fds(s->net, &nfds);
	co.n_keep_fds = nfds;
	if (!child_spawn(s->hv->env->loop, &co, on_launched, s, err, sizeof(err))) {
		if (g->vnc >= 0 && g->vnc < VNC_DISPLAYS)
			q->launching_vnc[g->vnc] = 0;
		free(g);
		start_finish(s, FAULT_HYPERVISOR, err);
	}
}

static void launch(struct hv *hv, const struct hv_guest *gg, const char *restore_file,
		   const char *incoming, hv_done_cb done, void *arg)
{
	struct qemu *q = Q(hv);
	struct qemu_argv_opts o = { 0 };
	struct qstart *s;
	struct qguest *g;
	struct qnet *net;
	char **argv = NULL, err[1024], *qmp, *pid, *console;
	int fault = 0;

	if (find_guest(hv, gg->uuid)) {
		snprintf(err, sizeof(err), "a guest with uuid %s is already running", gg->uuid);
		done(arg, FAULT_STATE, err);
		return;
	}
	/* Refused before anything is made on the host: a vm.cfg QEMU or the
	 * I/O priorities cannot take (checked again below, with the taps). */
	{
		size_t nprio;
		struct qemu_ioprio prio[QEMU_IOPRIO_MAX];
		if (qemu_ioprios(gg->cfg, gg, prio, &nprio, err, sizeof(err)) < 0) {
			done(arg, FAULT_INVALID_ARGUMENT, err);
			return;
		}
	}
	/* The NICs' host side (bridges checked, taps made, QoS set) first:
	 * QEMU's command line names the taps' fds. */
	if (!(net = qnet_open(hv->env, gg, &fault, err, sizeof(err)))) {
		done(arg, fault, err);
		return;
	}
	g = new_guest(hv, gg->uuid);
	snprintf(g->name, sizeof(g->name), "%s", gg->name);
	g->memory = gg->memory;
	g->vcpus = gg->vcpus;
	qmp = run_file(hv, gg->uuid, "qmp");
	pid = run_file(hv, gg->uuid, "pid");
	console = run_file(hv, gg->uuid, "console");
	unlink(qmp);
	unlink(pid);
	unlink(console);
	o.binary = q->binary;
	o.kvm = q->kvm;
	o.qmp_socket = qmp;
	o.pid_file = pid;
	o.run_dir = q->run_dir;
	o.vnc_display = -1;
	o.incoming = restore_file ? "defer" : incoming;
	o.with_network = true;
	o.tap_fds = qnet_fds(net, &o.n_tap_fds);
	o.start_paused = true;
	if (qemu_wants_vnc(gg->cfg)) {
		int fixed = qemu_vnc_fixed_display(gg->cfg);
		o.vnc_display = g->vnc = fixed >= 0 ? fixed : free_vnc_display(hv);
	}
	if (qemu_argv_build(gg->cfg, gg, &o, &argv, err, sizeof(err)) != 0) {
		free(g);
		qnet_release(hv->env, net);
		done(arg, FAULT_INVALID_ARGUMENT, err);
		goto out;
	}
	{
		char *line = qemu_argv_join(argv);
		log_info("starting guest %s: %s", gg->uuid, line);
		free(line);
	}
	s = xcalloc(1, sizeof(*s));
	s->hv = hv;
	s->g = g;
	s->done = done;
	s->arg = arg;
	s->path = xstrdup(gg->path);
	s->restore_file = restore_file ? xstrdup(restore_file) : NULL;
	s->incoming = incoming ? xstrdup(incoming) : NULL;
	if (vmcfg_get_str(gg->cfg, "vncpasswd") && vmcfg_get_str(gg->cfg, "vncpasswd")[0])
		s->vnc_password = xstrdup(vmcfg_get_str(gg->cfg, "vncpasswd"));
	qemu_ioprios(gg->cfg, gg, s->prio, &s->nprio, err, sizeof(err));
	s->net = net;
	s->argv = argv;
	argv = NULL;
	if (g->vnc >= 0 && g->vnc < VNC_DISPLAYS)
		q->launching_vnc[g->vnc] = 1;
	qnet_online(net, on_online, s);
out:
	qemu_argv_free(argv);
	free(qmp);
	free(pid);
	free(console);
}

static void qemu_start(struct hv *hv, const struct hv_guest *gg, hv_done_cb done, void *arg)
{
	launch(hv, gg, NULL, NULL, done, arg);
}

/* ---- suspend to a file and resume from it ----------------------------------- */

static void mig_free(struct qmig *m)
{
	if (m->fd >= 0)
		close(m->fd);
	if (m->tmp)
		unlink(m->tmp);         /* a save that did not complete */
	free(m->tmp);
	free(m->file);
	free(m);
}

static void mig_report(struct qmig *m, int fault, const char *msg)
{
	if (m->start)
		start_finish(m->start, fault, msg);
	else
		m->done(m->arg, fault, msg);
	mig_free(m);
}

static void mig_end(struct qmig *m, int fault, const char *msg)
{
	struct qguest *g = m->g;

	pend_del(g, &m->pend);
	timer_stop(g->hv->env->loop, &m->poll);
	if (m->start && fault) {
		/* The half-restored QEMU must not linger, nor be taken for the
		 * guest: forget it now, the guest stays suspended. */
		kill(g->pid, SIGKILL);
		forget_guest(g);
	}
	mig_report(m, fault, msg);
}

/* The guest's QEMU died while its state was moving. */
static void mig_fail(struct qpend *p, const char *why)
{
	struct qmig *m = (struct qmig *)p;

	timer_stop(m->g->hv->env->loop, &m->poll);
	mig_report(m, FAULT_HYPERVISOR, why);
}

static void on_cont(void *arg, xmlrpc_value *ret, const char *err_class, const char *desc)
{
	struct qmig *m = arg;
	char msg[512];

	if (err_class) {
		snprintf(msg, sizeof(msg), "resume: cont: %s", desc ? desc : err_class);
		mig_end(m, FAULT_HYPERVISOR, msg);
		return;
	}
	m->g->state = HV_RUNNING;
	save_guest(m->g);
	mig_end(m, 0, NULL);
}

static void on_saved_quit(void *arg, xmlrpc_value *ret, const char *err_class, const char *desc)
{
	/* QEMU exits after "quit"; the pidfd finishes the operation. */
}

static void mig_poll(struct timer *t);
static void wait_exit(struct qguest *g, int ms, hv_done_cb done, void *arg);

static struct qmig *mig_new(struct qguest *g, hv_done_cb done, void *arg, bool saving)
{
	struct qmig *m = xcalloc(1, sizeof(*m));

	m->g = g;
	m->fd = -1;
	m->done = done;
	m->arg = arg;
	m->saving = saving;
	timer_init(&m->poll, mig_poll, m);
	m->deadline = loop_now(g->hv->env->loop) + MIGRATE_TIMEOUT_MS;
	pend_add(g, &m->pend, mig_fail);
	return m;
}

static void on_migrate_status(void *arg, xmlrpc_value *ret, const char *err_class, const char *desc)
{
	struct qmig *m = arg;
	xmlrpc_env env;
	xmlrpc_value *st = NULL;
	const char *status = NULL;
	char msg[512];

	if (err_class) {
		snprintf(msg, sizeof(msg), "query-migrate: %s", desc ? desc : err_class);
		mig_end(m, FAULT_HYPERVISOR, msg);
		return;
	}
	xmlrpc_env_init(&env);
	xmlrpc_struct_find_value(&env, ret, "status", &st);
	if (st)
		xmlrpc_read_string(&env, st, &status);
	if (!status || strcmp(status, "active") == 0 || strcmp(status, "setup") == 0 ||
	    strcmp(status, "device") == 0 || strcmp(status, "pre-switchover") == 0) {
		if (loop_now(m->g->hv->env->loop) > m->deadline)
			mig_end(m, FAULT_TIMEOUT, "the guest's state was not written in time");
		else
			timer_start(m->g->hv->env->loop, &m->poll, MIGRATE_POLL_MS);
	} else if (strcmp(status, "completed") == 0) {
		if (m->saving) {
			/* Saved: the guest is paused; end its QEMU and report once
			 * the process is gone. A state file becomes visible under
			 * its name only now, complete and on disk. */
			struct qguest *g = m->g;
			hv_done_cb done = m->done;
			void *darg = m->arg;
			if (m->fd >= 0 && (fsync(m->fd) != 0 || rename(m->tmp, m->file) != 0)) {
				snprintf(msg, sizeof(msg), "cannot store %s: %s", m->file,
					 strerror(errno));
				mig_end(m, FAULT_IO, msg);
				goto out;
			}
			free(m->tmp);
			m->tmp = NULL;
			pend_del(g, &m->pend);
			timer_stop(g->hv->env->loop, &m->poll);
			mig_free(m);
			qmp_execute(g->qmp, "quit", NULL, QMP_TIMEOUT_MS, on_saved_quit, NULL);
			wait_exit(g, KILL_WAIT_MS, done, darg);
		} else {
			qmp_execute(m->g->qmp, "cont", NULL, QMP_TIMEOUT_MS, on_cont, m);
		}
	} else {
		snprintf(msg, sizeof(msg), "migration %s", status);
		mig_end(m, FAULT_HYPERVISOR, msg);
	}
out:
	if (st)
		xmlrpc_DECREF(st);
	free((char *)status);
	xmlrpc_env_clean(&env);
}

static void mig_poll(struct timer *t)
{
	struct qmig *m = t->data;

	if (!m->g->qmp || qmp_execute(m->g->qmp, "query-migrate", NULL, QMP_TIMEOUT_MS,
				      on_migrate_status, m) < 0)
		mig_end(m, FAULT_HYPERVISOR, "lost QMP while moving the guest's state");
}

static void on_migrate_started(void *arg, xmlrpc_value *ret, const char *err_class,
			       const char *desc)
{
	struct qmig *m = arg;
	char msg[512];

	if (err_class) {
		snprintf(msg, sizeof(msg), "%s: %s", m->saving ? "migrate" : "migrate-incoming",
			 desc ? desc : err_class);
		mig_end(m, FAULT_HYPERVISOR, msg);
		return;
	}
	timer_start(m->g->hv->env->loop, &m->poll, MIGRATE_POLL_MS);
}

/* Hand QEMU the open state file, then start the migration to or from it. */
static int mig_begin(struct qmig *m, const char *file)
{
	struct qguest *g = m->g;
	xmlrpc_env env;
	xmlrpc_value *args;
	struct stat st;
	int fd, rc = -1;

	/* Never through a symlink someone planted in the guest's directory:
	 * save into a new temporary file, renamed when complete; resume only
	 * from a regular file. */
	if (m->saving) {
		m->file = xstrdup(file);
		m->tmp = xasprintf("%s.tmp", file);
		unlink(m->tmp);
		fd = open(m->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0) {
			free(m->tmp);
			m->tmp = NULL;
			return -1;
		}
		m->fd = dup(fd);
		fd_set_cloexec(m->fd);
	} else {
		fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return -1;
		if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
			close(fd);
			errno = EINVAL;
			return -1;
		}
	}
	xmlrpc_env_init(&env);
	args = xmlrpc_build_value(&env, "{s:s}", "uri", "fd:ovs-state");
	if (!env.fault_occurred && g->qmp &&
	    qmp_send_fd(g->qmp, fd, "ovs-state", QMP_TIMEOUT_MS, NULL, NULL) > 0 &&
	    qmp_execute(g->qmp, m->saving ? "migrate" : "migrate-incoming", args, QMP_TIMEOUT_MS,
			on_migrate_started, m) > 0)
		rc = 0;
	if (!env.fault_occurred)
		xmlrpc_DECREF(args);
	xmlrpc_env_clean(&env);
	close(fd); /* qmp_send_fd keeps its own copy until sent */
	return rc;
}

/* ---- live migration ------------------------------------------------------- */

/* A free TCP port on ip for QEMU to listen on (the small race with other
 * programs is QEMU's to report: the start fails and the caller retries). */
static int free_port(const char *ip)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, port = -1, v6 = strchr(ip, ':') != NULL;

	memset(&ss, 0, sizeof(ss));
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, ip, &a->sin6_addr) != 1)
			return -1;
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		if (inet_pton(AF_INET, ip, &a->sin_addr) != 1)
			return -1;
		len = sizeof(*a);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&ss, len) == 0 &&
	    getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		port = ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
				: ((struct sockaddr_in *)&ss)->sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static void qemu_migrate_listen(struct hv *hv, const struct hv_guest *g, const char *ip,
				hv_done_cb done, void *arg)
{
	int port = free_port(ip);
	char uri[128];

	if (port < 0) {
		done(arg, FAULT_NO_RESOURCES, "no free TCP port for the incoming migration");
		return;
	}
	snprintf(uri, sizeof(uri), strchr(ip, ':') ? "tcp:[%s]:%d" : "tcp:%s:%d", ip, port);
	launch(hv, g, NULL, uri, done, arg);
}

static void qemu_migrate_send(struct hv *hv, const char *uuid, const char *uri, hv_done_cb done,
			      void *arg)
{
	struct qguest *g = find_guest(hv, uuid);
	struct qmig *m;
	xmlrpc_env env;
	xmlrpc_value *args;
	char msg[256];

	if (!g || g->exit_done || !g->qmp) {
		snprintf(msg, sizeof(msg), "guest %s is not running here", uuid);
		done(arg, FAULT_STATE, msg);
		return;
	}
	m = mig_new(g, done, arg, true);
	xmlrpc_env_init(&env);
	args = xmlrpc_build_value(&env, "{s:s}", "uri", uri);
	if (env.fault_occurred ||
	    qmp_execute(g->qmp, "migrate", args, QMP_TIMEOUT_MS, on_migrate_started, m) < 0) {
		pend_del(g, &m->pend);
		mig_free(m);
		done(arg, FAULT_HYPERVISOR, "cannot start the migration over QMP");
	}
	if (!env.fault_occurred)
		xmlrpc_DECREF(args);
	xmlrpc_env_clean(&env);
}

static void qemu_migrate_finish(struct hv *hv, const char *uuid, hv_done_cb done, void *arg)
{
	struct qguest *g = find_guest(hv, uuid);
	struct qmig *m;
	char msg[256];

	if (!g || !g->qmp) {
		snprintf(msg, sizeof(msg), "no incoming guest %s here", uuid);
		done(arg, FAULT_STATE, msg);
		return;
	}
	m = mig_new(g, done, arg, false);
	m->incoming_only = true;
	timer_start(hv->env->loop, &m->poll, 0);
}

static void qemu_save(struct hv *hv, const char *uuid, const char *file, hv_done_cb done, void *arg)
{
	struct qguest *g = find_guest(hv, uuid);
	struct qmig *m;
	char msg[512];

	if (!g || g->exit_done) {
		snprintf(msg, sizeof(msg), "guest %s is not running", uuid);
		done(arg, FAULT_STATE, msg);
		return;
	}
	m = mig_new(g, done, arg, true);
	if (mig_begin(m, file) != 0) {
		snprintf(msg, sizeof(msg), "cannot save guest %s to %s: %s", uuid, file,
			 errno ? strerror(errno) : "QMP unavailable");
		pend_del(g, &m->pend);
		mig_free(m);
		done(arg, FAULT_IO, msg);
	}
}

/* Called by on_launched once the waiting QEMU runs. */
static void restore_begin(struct qstart *s)
{
	struct qmig *m = mig_new(s->g, NULL, NULL, false);
	char msg[512];

	m->start = s;
	if (mig_begin(m, s->restore_file) != 0) {
		snprintf(msg, sizeof(msg), "cannot resume from %s: %s", s->restore_file,
			 errno ? strerror(errno) : "QMP unavailable");
		m->start = NULL;
		pend_del(s->g, &m->pend);
		mig_free(m);
		kill(s->g->pid, SIGKILL);
		forget_guest(s->g);
		start_finish(s, FAULT_IO, msg);
	}
}

static void qemu_restore(struct hv *hv, const struct hv_guest *g, const char *file,
			 hv_done_cb done, void *arg)
{
	if (access(file, R_OK) != 0) {
		char msg[512];
		snprintf(msg, sizeof(msg), "state file %s: %s", file, strerror(errno));
		done(arg, FAULT_IO, msg);
		return;
	}
	launch(hv, g, file, NULL, done, arg);
}

/* ---- actions --------------------------------------------------------------- */

static void on_stop_timeout(struct timer *t)
{
	struct qguest *g = t->data;

	/* The clean stop did not finish in time: power off. */
	log_warn("guest %s did not stop within guest_stop_timeout; powering it off", g->uuid);
	g->forced = true;
	kill(g->pid, SIGKILL);
}

static void wait_exit(struct qguest *g, int ms, hv_done_cb done, void *arg)
{
	g->exit_done = done;
	g->exit_arg = arg;
	timer_init(&g->exit_timer, on_stop_timeout, g);
	timer_start(g->hv->env->loop, &g->exit_timer, ms);
}

static void op_fail(struct qpend *p, const char *why)
{
	struct qop *o = (struct qop *)p;

	o->done(o->arg, FAULT_HYPERVISOR, why);
	free(o);
}

static void on_op_reply(void *arg, xmlrpc_value *ret, const char *err_class, const char *desc)
{
	struct qop *o = arg;
	char msg[512];

	pend_del(o->g, &o->pend);
	if (err_class) {
		snprintf(msg, sizeof(msg), "QMP %s: %s", err_class, desc ? desc : "");
		o->done(o->arg, FAULT_HYPERVISOR, msg);
	} else {
		if (o->g && (o->after == HV_RUNNING || o->after == HV_PAUSED) && o->g->state != o->after) {
			o->g->state = o->after;
			save_guest(o->g);
		}
		o->done(o->arg, 0, NULL);
	}
	free(o);
}

static int qmp_op(struct qguest *g, const char *cmd, xmlrpc_value *args, enum hv_state after,
		  hv_done_cb done, void *arg)
{
	struct qop *o = xcalloc(1, sizeof(*o));

	o->g = g;
	o->done = done;
	o->arg = arg;
	o->after = after;
	if (!g->qmp || qmp_execute(g->qmp, cmd, args, QMP_TIMEOUT_MS, on_op_reply, o) < 0) {
		free(o);
		return -1;
	}
	pend_add(g, &o->pend, op_fail);
	return 0;
}

static void qemu_act(struct hv *hv, const char *uuid, enum hv_action a, hv_done_cb done, void *arg)
{
	struct qguest *g = find_guest(hv, uuid);
	char msg[256];
	int rc = 0;

	if (!g) {
		snprintf(msg, sizeof(msg), "guest %s is not running", uuid);
		done(arg, FAULT_STATE, msg);
		return;
	}
	if (g->exit_done) {
		snprintf(msg, sizeof(msg), "guest %s is already stopping", uuid);
		done(arg, FAULT_BUSY, msg);
		return;
	}
	switch (a) {
	case HV_SHUTDOWN:
		/* A paused guest cannot hear its power button: let it run. */
		if (g->state == HV_PAUSED && g->qmp)
			qmp_execute(g->qmp, "cont", NULL, QMP_TIMEOUT_MS, NULL, NULL);
		if (!g->qmp || qmp_execute(g->qmp, "system_powerdown", NULL, QMP_TIMEOUT_MS, NULL,
					   NULL) < 0) {
			kill(g->pid, SIGKILL);
			g->forced = true;
		}
		wait_exit(g, (int64_t)hv->env->guest_stop_timeout * 1000, done, arg);
		return;
	case HV_DESTROY:
		g->forced = true;
		kill(g->pid, SIGKILL);
		wait_exit(g, KILL_WAIT_MS, done, arg);
		return;
	case HV_PAUSE:
		rc = qmp_op(g, "stop", NULL, HV_PAUSED, done, arg);
		break;
	case HV_UNPAUSE:
		rc = qmp_op(g, "cont", NULL, HV_RUNNING, done, arg);
		break;
	case HV_RESET:
		rc = qmp_op(g, "system_reset", NULL, HV_RUNNING, done, arg);
		break;
	case HV_REBOOT: {
		/* QEMU cannot ask a guest to reboot; Ctrl-Alt-Del can, and guests
		 * treat it as a clean reboot. */
		xmlrpc_env env;
		xmlrpc_value *keys;
		xmlrpc_env_init(&env);
		keys = xmlrpc_build_value(&env, "{s:(" "{s:s,s:s}{s:s,s:s}{s:s,s:s}" ")}", "keys",
					  "type", "qcode", "data", "ctrl", "type", "qcode", "data",
					  "alt", "type", "qcode", "data", "delete");
		rc = env.fault_occurred ? -1 : qmp_op(g, "send-key", keys, g->state, done, arg);
		if (!env.fault_occurred)
			xmlrpc_DECREF(keys);
		xmlrpc_env_clean(&env);
		break;
	}
	}
	if (rc < 0) {
		snprintf(msg, sizeof(msg), "guest %s: its QMP connection is not available", uuid);
		done(arg, FAULT_HYPERVISOR, msg);
	}
}

static int qemu_list(struct hv *hv, struct hv_dom **doms, size_t *n, char *err, size_t errlen)
{
	size_t count = 0, i = 0;

	for (struct qguest *g = Q(hv)->guests; g; g = g->next)
		count++;
	*doms = xcalloc(count ? count : 1, sizeof(**doms));
	for (struct qguest *g = Q(hv)->guests; g; g = g->next, i++) {
		struct hv_dom *d = &(*doms)[i];
		snprintf(d->uuid, sizeof(d->uuid), "%s", g->uuid);
		snprintf(d->name, sizeof(d->name), "%s", g->name);
		d->id = g->pid;
		d->state = g->state;
		d->memory = g->memory;
		d->vcpus = g->vcpus;
		d->vnc_port = g->vnc >= 0 ? 5900 + g->vnc : -1;
	}
	*n = count;
	return 0;
}

/* ---- usage figures ------------------------------------------------------- */

struct qstats {
	struct qpend pend;
	struct qguest *g;
	hv_stats_cb done;
	void *arg;
	struct hv_stats st;
};

/* CPU time, age and resident memory of a process, from /proc. */
static int proc_usage(pid_t pid, struct hv_stats *st)
{
	char path[64], buf[4096], *p;
	unsigned long long utime, stime, start;
	long ticks = sysconf(_SC_CLK_TCK);
	double uptime = 0;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "re")))
		return -1;
	n = (int)fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n > 0 ? n : 0] = '\0';
	/* The command name may hold spaces: fields start after the last ')'. */
	if (!(p = strrchr(buf, ')')) ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
			  "%*d %*d %llu", &utime, &stime, &start) != 3)
		return -1;
	if ((f = fopen("/proc/uptime", "re"))) {
		if (fscanf(f, "%lf", &uptime) != 1)
			uptime = 0;
		fclose(f);
	}
	st->cpu_seconds = (double)(utime + stime) / (double)ticks;
	st->uptime = uptime - (double)start / (double)ticks;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "re"))) {
		while (fgets(buf, sizeof(buf), f))
			if (strncmp(buf, "VmRSS:", 6) == 0)
				st->memory_kb = strtoull(buf + 6, NULL, 10);
		fclose(f);
	}
	return 0;
}

static uint64_t member_u64(xmlrpc_value *s, const char *key)
{
	xmlrpc_env env;
	xmlrpc_value *v = NULL;
	int64_t x = 0;

	xmlrpc_env_init(&env);
	xmlrpc_struct_find_value(&env, s, key, &v);
	if (v) {
		if (json_int64(v, &x) != 0 || x < 0)
			x = 0;
		xmlrpc_DECREF(v);
	}
	xmlrpc_env_clean(&env);
	return (uint64_t)x;
}

/* query-blockstats: [{"device": ..., "stats": {"rd_bytes": ..., ...}}, ...] */
static void stats_fail(struct qpend *p, const char *why)
{
	struct qstats *q = (struct qstats *)p;

	q->done(q->arg, NULL, FAULT_STATE, why);
	free(q);
}

static void on_blockstats(void *arg, xmlrpc_value *ret, const char *err_class, const char *desc)
{
	struct qstats *q = arg;
	xmlrpc_env env;

	if (q->g)
		pend_del(q->g, &q->pend);
	xmlrpc_env_init(&env);
	for (int i = 0; ret && !err_class && i < xmlrpc_array_size(&env, ret); i++) {
		xmlrpc_value *dev = NULL, *st = NULL;
		xmlrpc_array_read_item(&env, ret, i, &dev);
		if (dev)
			xmlrpc_struct_find_value(&env, dev, "stats", &st);
		if (st) {
			q->st.rd_bytes += member_u64(st, "rd_bytes");
			q->st.wr_bytes += member_u64(st, "wr_bytes");
			q->st.rd_ops += member_u64(st, "rd_operations");
			q->st.wr_ops += member_u64(st, "wr_operations");
			xmlrpc_DECREF(st);
		}
		if (dev)
			xmlrpc_DECREF(dev);
	}
	xmlrpc_env_clean(&env);
	/* Without QMP the disk figures stay zero; the rest is still true. */
	q->done(q->arg, &q->st, 0, NULL);
	free(q);
}

static void qemu_stats(struct hv *hv, const char *uuid, hv_stats_cb done, void *arg)
{
	struct qguest *g = find_guest(hv, uuid);
	struct qstats *q;
	char msg[256];

	if (!g) {
		snprintf(msg, sizeof(msg), "guest %s is not running", uuid);
		done(arg, NULL, FAULT_STATE, msg);
		return;
	}
	q = xcalloc(1, sizeof(*q));
	q->done = done;
	q->arg = arg;
	if (proc_usage(g->pid, &q->st) != 0) {
		free(q);
		snprintf(msg, sizeof(msg), "cannot read /proc/%d of guest %s", (int)g->pid, uuid);
		done(arg, NULL, FAULT_IO, msg);
		return;
	}
	if (!g->qmp || qmp_execute(g->qmp, "query-blockstats", NULL, QMP_TIMEOUT_MS, on_blockstats,
				   q) < 0) {
		on_blockstats(q, NULL, "Closed", NULL);
		return;
	}
	q->g = g;
	pend_add(g, &q->pend, stats_fail);
}

const struct hv_ops hv_qemu_ops = {
	.name = "qemu",
	.open = qemu_open,
	.close = qemu_close,
	.info = qemu_info,
	.start = qemu_start,
	.act = qemu_act,
	.save = qemu_save,
	.restore = qemu_restore,
	.list = qemu_list,
	.migrate_listen = qemu_migrate_listen,
	.migrate_send = qemu_migrate_send,
	.migrate_finish = qemu_migrate_finish,
	.stats = qemu_stats,
};
