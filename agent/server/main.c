/* main.c - ovs-agent: start-up, daemonising, signals, reload and stop.
 *
 *   ovs-agent --config PATH [--foreground] [--check-config] [--version]
 *
 * Without --foreground the parent waits until the daemon is listening (or
 * has failed, and then prints why), so `service ovs-agent start` reports
 * the truth. */
#define LOG_CAT "agent"
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/ssl.h>
#include <xmlrpc-c/base.h>

#include "agent/server/auth.h"
#include "agent/base/child.h"
#include "agent/server/config.h"
#include "agent/server/conn.h"
#include "db/store.h"
#include "agent/guest/guest.h"
#include "agent/guest/template_tmp.h"
#include "agent/base/hook.h"
#include "hypervisor/hv.h"
#include "agent/server/listener.h"
#include "agent/base/log.h"
#include "agent/base/loop.h"
#include "agent/net/netview.h"
#include "agent/net/bridges.h"
#include "agent/repo/repoview.h"
#include "agent/repo/repo_hooks.h"
#include "agent/rpc/perf.h"
#include "agent/server/telemetry.h"
#include "agent/server/resolve.h"
#include "agent/server/server.h"
#include "agent/pool/cluster.h"
#include "agent/server/tls.h"
#include "agent/base/util.h"
#include "agent/server/version.h"

#define DEFAULT_CONFIG "/etc/ovs-agent/agent.ini"

static struct server the_server;
static struct io signal_io;

static void usage(FILE *f)
{
	fprintf(f, "usage: ovs-agent [--config PATH] [--foreground] [--check-config] [--version]\n"
		   "  --config PATH    agent.ini to use (default $OVS_AGENT_CONFIG or " DEFAULT_CONFIG ")\n"
		   "  --foreground     do not detach; stop with Ctrl-C or SIGTERM\n"
		   "  --check-config   parse the configuration, report errors, exit\n"
		   "  --version        print the agent version\n");
}

/* ---- stop and reload --------------------------------------------------- */

static void on_stop_timeout(struct timer *t)
{
	struct server *srv = t->data;

	log_warn("shutdown_timeout passed with %d connection(s) still busy; exiting", srv->nconns);
	loop_stop(srv->loop);
}

void server_conn_gone(struct server *srv)
{
	if (srv->stopping && srv->nconns == 0 && srv->nreject == 0)
		loop_stop(srv->loop);
}

void server_begin_stop(struct server *srv)
{
	if (srv->stopping)
		return;
	srv->stopping = true;
	srv->hv_env.stopping = true;
	log_info("stopping: no new connections; finishing %d in-flight connection(s)", srv->nconns);
	listeners_close(srv);
	conn_drain_all(srv);
	timer_init(&srv->stop_timer, on_stop_timeout, srv);
	timer_start(srv->loop, &srv->stop_timer, (int64_t)srv->cfg.shutdown_timeout * 1000);
	server_conn_gone(srv);
}

/* Keys that only a restart can change are reported, not half-applied. */
static void warn_restart_keys(const struct agent_config *old, const struct agent_config *neu)
{
	static const struct { const char *name; size_t off; } keys[] = {
		{ "listen", offsetof(struct agent_config, listen) },
		{ "state_dir", offsetof(struct agent_config, state_dir) },
		{ "pid_file", offsetof(struct agent_config, pid_file) },
		{ "network_bridges", offsetof(struct agent_config, network_bridges) },
	};

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const char *a = *(char *const *)((const char *)old + keys[i].off);
		const char *b = *(char *const *)((const char *)neu + keys[i].off);
		if (strcmp(a, b) != 0)
			log_warn("%s changed; it takes effect at the next restart", keys[i].name);
	}
	if (old->port != neu->port)
		log_warn("port changed; it takes effect at the next restart");
	if (old->hypervisor != neu->hypervisor)
		log_warn("hypervisor changed; it takes effect at the next restart");
	if (old->ssl != neu->ssl)
		log_warn("ssl changed; it takes effect at the next restart");
	if (old->qemu_accel != neu->qemu_accel)
		log_warn("qemu_accel changed; it takes effect at the next restart");
}

static void reload(struct server *srv)
{
	struct agent_config neu;
	SSL_CTX *ctx = NULL;
	char err[1024];

	log_reopen();
	memset(&neu, 0, sizeof(neu));
	if (config_load(srv->cfg.path, &neu, err, sizeof(err)) != 0) {
		log_err("reload refused, keeping the running configuration: %s", err);
		return;
	}
	if (srv->ssl_ctx && !(ctx = tls_server_ctx(neu.ssl_cert, neu.ssl_key, err, sizeof(err)))) {
		log_err("reload refused, keeping the running configuration: %s", err);
		config_free(&neu);
		return;
	}
	warn_restart_keys(&srv->cfg, &neu);
	/* Restart-only keys keep their running values. */
	neu.ssl = srv->cfg.ssl;
	neu.hypervisor = srv->cfg.hypervisor;
	neu.port = srv->cfg.port;
	if (ctx) {
		/* Live connections keep the context they started with (OpenSSL
		 * reference-counts it); new ones get the new certificate. */
		SSL_CTX_free(srv->ssl_ctx);
		srv->ssl_ctx = ctx;
	}
	if (log_open(neu.log_file, neu.log_level, neu.log_syslog) != 0)
		log_err("cannot open log %s: %s; logging stays where it was", neu.log_file,
			strerror(errno));
	config_free(&srv->cfg);
	srv->cfg = neu;
	srv->hv_env.guest_stop_timeout = neu.guest_stop_timeout;
	{
		struct hook_settings hs = config_hook_settings(&srv->cfg);
		hooks_configure(srv->hooks, &hs);
	}
	repoview_configure(srv->repos, srv->cfg.ovs_root, srv->cfg.repositories_file);
	auth_flush(srv->auth);
	log_info("configuration reloaded from %s", srv->cfg.path);
}

static void on_signal(struct io *io, uint32_t events)
{
	struct server *srv = io->data;
	struct signalfd_siginfo si;

	while (read(io->fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			reload(srv);
		else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			server_begin_stop(srv);
	}
}

/* ---- start-up ---------------------------------------------------------- */

static int setup_signals(struct server *srv, char *err, size_t errlen)
{
	sigset_t set;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0 || io_add(srv->loop, &signal_io, fd, EPOLLIN, on_signal, srv) < 0) {
		snprintf(err, errlen, "signalfd: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* 10,000 connections need more than the usual 1024 descriptors. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int write_pid_file(const char *path, char *err, size_t errlen)
{
	char tmp[4096], line[32];
	int fd, n;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "pid file %.900s: %s", tmp, strerror(errno));
		return -1;
	}
	n = snprintf(line, sizeof(line), "%d\n", (int)getpid());
	if (write(fd, line, (size_t)n) != n || close(fd) != 0 || rename(tmp, path) != 0) {
		snprintf(err, errlen, "pid file %.900s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int start(struct server *srv, char *err, size_t errlen)
{
	struct agent_config *cfg = &srv->cfg;

	if (log_open(cfg->log_file, cfg->log_level, cfg->log_syslog) != 0) {
		snprintf(err, errlen, "log_file %s: %s", cfg->log_file, strerror(errno));
		return -1;
	}
	raise_fd_limit();
	if (!(srv->loop = loop_new())) {
		snprintf(err, errlen, "epoll_create: %s", strerror(errno));
		return -1;
	}
	log_set_batch(true); /* the loop flushes once per turn */
	if (setup_signals(srv, err, errlen) != 0)
		return -1;
	if (cfg->ssl && !(srv->ssl_ctx = tls_server_ctx(cfg->ssl_cert, cfg->ssl_key, err, errlen)))
		return -1;
	if (!(srv->store = store_open(cfg->state_dir, true, err, errlen)))
		return -1;
	{
		struct hook_settings hs = config_hook_settings(cfg);
		srv->hooks = hooks_new(srv->loop, &hs);
	}
	srv->hv_env = (struct hv_env){
		.loop = srv->loop, .store = srv->store, .state_dir = xstrdup(cfg->state_dir),
		.guest_stop_timeout = cfg->guest_stop_timeout, .accel = cfg->qemu_accel,
		.hooks = srv->hooks,
	};
	if (!(srv->hv = hv_open(&srv->hv_env, cfg->hypervisor, err, errlen)))
		return -1;
	srv->hv->on_event = guest_on_event;
	srv->hv->owner = srv;
	guest_reconcile(srv);
	template_tmp_cleanup(srv);
	/* Without netlink the agent still serves guests; the network
	 * methods say why they cannot answer. */
	if (!(srv->net = netview_new(srv->loop, err, errlen)))
		log_err("no network view: %s", err);
	net_bridges_up(srv->hooks, cfg->network_bridges);
	/* The view follows mountinfo from here on: ovsrepositories start,
	 * when a listed repository is not mounted, does not hold start-up. */
	srv->repos = repoview_new(srv->loop, cfg->ovs_root, cfg->repositories_file);
	repo_boot(srv->hooks, srv->repos, cfg->path);
	/* joins corosync's group when it runs; keeps trying when not */
	pool_cluster_new(srv);
	srv->auth = auth_new(srv);
	srv->resolver = resolver_new(srv->loop);
	srv->perf = perf_new();
	srv->telemetry = telemetry_new();
	if (listeners_open(srv, cfg->listen, cfg->port, err, errlen) != 0)
		return -1;
	log_info("ovs-agent %s listening on %s port %d (%s), hypervisor %s, auth %s",
		 agent_version, cfg->listen, listeners_port(srv),
		 cfg->ssl ? "https" : "http", config_hv_name(cfg->hypervisor),
		 cfg->auth == AUTH_PAM ? "pam" : "password");
	/* What start-up logged is on disk before the pid file says it is up. */
	log_flush();
	if (write_pid_file(cfg->pid_file, err, errlen) != 0)
		return -1;
	srv->started_ms = now_ms();
	return 0;
}

static void cleanup(struct server *srv)
{
	if (srv->loop) {
		/* Children still running end first, through their owners' done
		 * callbacks, while every owner still exists (child.h says why). */
		timer_stop(srv->loop, &srv->stop_timer);
		child_end_all(srv->loop);
	}
	/* Hooks between two steps (or whose child would not die) tell their
	 * owners now, while the owners exist. */
	hooks_free(srv->hooks);
	srv->hooks = NULL;
	pool_cluster_free(srv->cluster);
	listeners_close(srv);
	if (srv->cfg.pid_file && srv->started_ms)
		unlink(srv->cfg.pid_file);
	netview_free(srv->net);
	repoview_free(srv->repos);
	hv_close(srv->hv);
	free(srv->hv_env.state_dir);
	child_reap_all();
	free(srv->guest_ops);
	store_close(srv->store);
	auth_free(srv->auth);
	resolver_free(srv->resolver);
	perf_free(srv->perf);
	telemetry_free(srv->telemetry);
	SSL_CTX_free(srv->ssl_ctx);
	loop_free(srv->loop);
	config_free(&srv->cfg);
}

/* Fork; the parent waits on a pipe for "ok" or the child's error text. */
static int daemonize(int *notify_fd)
{
	char msg[1024];
	int p[2];
	ssize_t n;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		close(p[1]);
		n = read(p[0], msg, sizeof(msg) - 1);
		if (n <= 0) {
			fprintf(stderr, "ovs-agent: the daemon exited during start-up\n");
			_exit(1);
		}
		msg[n] = '\0';
		if (strcmp(msg, "ok") == 0)
			_exit(0);
		fprintf(stderr, "ovs-agent: %s\n", msg);
		_exit(1);
	}
	close(p[0]);
	setsid();
	if (chdir("/") != 0) {
		/* harmless: every path we use is absolute */
	}
	*notify_fd = p[1];
	return 0;
}

static void detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	close(fd);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "check-config", no_argument, NULL, 'k' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct server *srv = &the_server;
	const char *config = getenv("OVS_AGENT_CONFIG");
	bool foreground = false, check = false;
	char err[1024] = "";
	int c, notify = -1, rc;

	if (!config || !*config)
		config = DEFAULT_CONFIG;
	while ((c = getopt_long(argc, argv, "c:fkVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'f': foreground = true; break;
		case 'k': check = true; break;
		case 'V': printf("ovs-agent %s\n", agent_version); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (config_load(config, &srv->cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "ovs-agent: %s\n", err);
		return 1;
	}
	if (check) {
		printf("%s: configuration ok\n", config);
		config_free(&srv->cfg);
		return 0;
	}
	if (!foreground && daemonize(&notify) != 0) {
		fprintf(stderr, "ovs-agent: cannot fork: %s\n", strerror(errno));
		return 1;
	}
	if (start(srv, err, sizeof(err)) != 0) {
		if (notify >= 0) {
			if (write(notify, err, strlen(err)) < 0) {
				/* the parent reports "exited during start-up" instead */
			}
		} else {
			fprintf(stderr, "ovs-agent: %s\n", err);
		}
		log_err("cannot start: %s", err);
		cleanup(srv);
		return 1;
	}
	if (notify >= 0) {
		if (strcmp(srv->cfg.log_file, "-") != 0)
			detach_stdio();
		if (write(notify, "ok", 2) != 2) {
			/* the parent is gone; nothing to tell */
		}
		close(notify);
	}
	rc = loop_run(srv->loop);
	log_info("ovs-agent stopped");
	cleanup(srv);
	log_close();
	return rc == 0 ? 0 : 1;
}
