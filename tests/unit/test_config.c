/* test_config.c - agent.ini parsing: defaults, every key, every error. */
#include "harness.h"
#include "agent/server/config.h"
#include "agent/server/acl.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

static char err[1024];

/* Parse a NUL-terminated text as "agent.ini". */
static int parse(const char *text, struct agent_config *cfg)
{
	strcpy(err, "untouched");
	return config_parse("agent.ini", text, strlen(text), cfg, err, sizeof(err));
}

/* The error for text, or "" when it parses (the config is freed). */
static const char *parse_err(const char *text)
{
	struct agent_config cfg;

	if (parse(text, &cfg) == 0) {
		config_free(&cfg);
		return "";
	}
	return err;
}

static int is_zeroed(const struct agent_config *cfg)
{
	static const struct agent_config zero;

	return memcmp(cfg, &zero, sizeof(zero)) == 0;
}

static enum acl_verdict check_v4(const struct agent_config *cfg, const char *a,
				 const char *name)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, a, &sin.sin_addr);
	return acl_check(cfg->allow, cfg->deny, (struct sockaddr *)&sin, name);
}

/* Write text to a fresh temp file; returns its malloc'd path. */
static char *write_temp(const void *text, size_t len)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *path = malloc(strlen(dir) + 32);
	int fd;

	sprintf(path, "%s/test_config.XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		abort();
	close(fd);
	return path;
}

TEST(defaults)
{
	struct agent_config cfg;

	config_defaults(&cfg);
	CHECK(cfg.path == NULL);
	CHECK_STR(cfg.listen, "*");
	CHECK_INT(cfg.port, 8899);
	CHECK(cfg.ssl);
	CHECK_STR(cfg.ssl_cert, "/etc/ovs-agent/cert/certificate.pem");
	CHECK_STR(cfg.ssl_key, "/etc/ovs-agent/cert/key.pem");
	CHECK_STR(cfg.allow_spec, "*");
	CHECK_STR(cfg.deny_spec, "");
	CHECK(cfg.allow != NULL && cfg.deny != NULL);
	CHECK_INT(check_v4(&cfg, "192.0.2.1", NULL), ACL_ALLOW);
	CHECK_INT(cfg.auth, AUTH_PASSWORD);
	CHECK_STR(cfg.password_file, "/etc/ovs-agent/password");
	CHECK_STR(cfg.pam_service, "ovs-agent");
	CHECK_INT(cfg.auth_cache_ttl, 300);
	CHECK_INT(cfg.auth_fail_limit, 5);
	CHECK_INT(cfg.auth_fail_delay_max, 30);
	CHECK_STR(cfg.state_dir, "/etc/ovs-agent/db");
	CHECK_STR(cfg.log_file, "/opt/ovs-agent-2.2/logs/ovs-agent.log");
	CHECK_INT(cfg.log_level, LOG_INFO);
	CHECK(!cfg.log_syslog);
	CHECK_STR(cfg.pid_file, "/run/ovs-agent.pid");
	CHECK_INT(cfg.hypervisor, HV_QEMU);
	CHECK_STR(cfg.ovs_root, "/OVS");
	CHECK_STR(cfg.hooks_dir, "/usr/lib/ovs");
	CHECK_STR(cfg.repositories_file, "/etc/ovs/repositories");
	CHECK_INT(cfg.max_header_bytes, 16384);
	CHECK_INT(cfg.max_body_bytes, 4194304);
	CHECK_INT(cfg.idle_timeout, 60);
	CHECK_INT(cfg.request_timeout, 30);
	CHECK_INT(cfg.max_connections, 1024);
	CHECK_INT(cfg.max_unauth_connections, 256);
	CHECK_INT(cfg.shutdown_timeout, 30);
	CHECK_INT(cfg.guest_stop_timeout, 120);
	CHECK(cfg.template_max_bytes == (size_t)64 << 30);
	CHECK_INT(cfg.hook_timeout_guest, 60);
	CHECK_INT(cfg.hook_timeout_network, 30);
	CHECK_INT(cfg.hook_timeout_repository, 120);
	CHECK_INT(cfg.hook_timeout_cluster, 60);
	CHECK_INT(cfg.hooks_max_running, 8);
	CHECK_STR(cfg.guest_hooks_dir, "/usr/lib/ovs/guest.d");
	config_free(&cfg);
	CHECK(is_zeroed(&cfg));
	config_free(&cfg); /* twice is harmless */
	config_free(NULL);
}

TEST(empty_file_is_defaults)
{
	struct agent_config cfg;

	CHECK_INT(config_parse("x.ini", "", 0, &cfg, err, sizeof(err)), 0);
	CHECK_STR(cfg.path, "x.ini");
	CHECK_INT(cfg.port, 8899);
	CHECK_STR(cfg.allow_spec, "*");
	config_free(&cfg);
	/* NULL text with length 0 is fine too. */
	CHECK_INT(config_parse("x.ini", NULL, 0, &cfg, err, sizeof(err)), 0);
	config_free(&cfg);
}

TEST(every_key)
{
	struct agent_config cfg;
	const char *text =
	    "[server]\n"
	    "listen = 127.0.0.1 , ::1\n"
	    "port=9000\n"
	    "ssl=disable\n"
	    "ssl_cert=/c/cert.pem\n"
	    "ssl_key=/c/key.pem\n"
	    "allow=10.0.0.1, 10.0.0.2,  10.1.*\n"
	    "deny=10.1.1.1\n"
	    "auth=pam\n"
	    "password_file=/p/pw\n"
	    "pam_service=ovs-agent.test_1\n"
	    "auth_cache_ttl=0\n"
	    "auth_fail_limit=1000\n"
	    "auth_fail_delay_max=3600\n"
	    "state_dir=/s\n"
	    "log_file=/l/agent.log\n"
	    "log_level=debug\n"
	    "syslog=yes\n"
	    "pid_file=/r/a.pid\n"
	    "hypervisor=sim\n"
	    "ovs_root=/o\n"
	    "hooks_dir=/h\n"
	    "repositories_file=/e/repos\n"
	    "max_header_bytes=1024\n"
	    "max_body_bytes=1073741824\n"
	    "idle_timeout=86400\n"
	    "request_timeout=1\n"
	    "max_connections=1000000\n"
	    "max_unauth_connections=1000000\n"
	    "shutdown_timeout=0\n";

	CHECK_INT(parse(text, &cfg), 0);
	CHECK_STR(cfg.path, "agent.ini");
	CHECK_STR(cfg.listen, "127.0.0.1,::1");
	CHECK_INT(cfg.port, 9000);
	CHECK(!cfg.ssl);
	CHECK_STR(cfg.ssl_cert, "/c/cert.pem");
	CHECK_STR(cfg.ssl_key, "/c/key.pem");
	CHECK_STR(cfg.allow_spec, "10.0.0.1, 10.0.0.2,  10.1.*");
	CHECK_STR(cfg.deny_spec, "10.1.1.1");
	CHECK_INT(check_v4(&cfg, "10.0.0.2", NULL), ACL_ALLOW);
	CHECK_INT(check_v4(&cfg, "10.1.7.7", NULL), ACL_ALLOW);
	CHECK_INT(check_v4(&cfg, "10.1.1.1", NULL), ACL_DENY);
	CHECK_INT(check_v4(&cfg, "10.0.0.3", NULL), ACL_DENY);
	CHECK_INT(cfg.auth, AUTH_PAM);
	CHECK_STR(cfg.password_file, "/p/pw");
	CHECK_STR(cfg.pam_service, "ovs-agent.test_1");
	CHECK_INT(cfg.auth_cache_ttl, 0);
	CHECK_INT(cfg.auth_fail_limit, 1000);
	CHECK_INT(cfg.auth_fail_delay_max, 3600);
	CHECK_STR(cfg.state_dir, "/s");
	CHECK_STR(cfg.log_file, "/l/agent.log");
	CHECK_INT(cfg.log_level, LOG_DEBUG);
	CHECK(cfg.log_syslog);
	CHECK_STR(cfg.pid_file, "/r/a.pid");
	CHECK_INT(cfg.hypervisor, HV_SIM);
	CHECK_STR(cfg.ovs_root, "/o");
	CHECK_STR(cfg.hooks_dir, "/h");
	CHECK_STR(cfg.guest_hooks_dir, "/h/guest.d");  /* follows hooks_dir */
	CHECK_STR(cfg.repositories_file, "/e/repos");
	CHECK_INT(cfg.max_header_bytes, 1024);
	CHECK_INT(cfg.max_body_bytes, 1073741824);
	CHECK_INT(cfg.idle_timeout, 86400);
	CHECK_INT(cfg.request_timeout, 1);
	CHECK_INT(cfg.max_connections, 1000000);
	CHECK_INT(cfg.max_unauth_connections, 1000000);
	CHECK_INT(cfg.shutdown_timeout, 0);
	config_free(&cfg);
	CHECK(is_zeroed(&cfg));
}

TEST(hook_keys)
{
	struct agent_config cfg;

	CHECK_INT(parse("guest_hooks_dir=/site/hooks\nhooks_dir=/h\nhook_timeout_guest=5\n"
			"hook_timeout_network=1\nhook_timeout_repository=86400\n"
			"hook_timeout_cluster=7\nhooks_max_running=1024\n", &cfg), 0);
	CHECK_STR(cfg.guest_hooks_dir, "/site/hooks");
	CHECK_INT(cfg.hook_timeout_guest, 5);
	CHECK_INT(cfg.hook_timeout_network, 1);
	CHECK_INT(cfg.hook_timeout_repository, 86400);
	CHECK_INT(cfg.hook_timeout_cluster, 7);
	CHECK_INT(cfg.hooks_max_running, 1024);
	config_free(&cfg);
	CHECK_STR(parse_err("hook_timeout_guest=0\n"),
	    "agent.ini:1: hook_timeout_guest must be a number from 1 to 86400, not '0'");
	CHECK_STR(parse_err("hooks_max_running=1025\n"),
	    "agent.ini:1: hooks_max_running must be a number from 1 to 1024, not '1025'");
	CHECK(strstr(parse_err("guest_hooks_dir=guest.d\n"), "must be an absolute path") != NULL);
}

TEST(enum_values)
{
	struct agent_config cfg;

	CHECK_INT(parse("ssl=enable\nsyslog=no\nauth=password\nhypervisor=xen\n"
	    "log_level=error\n", &cfg), 0);
	CHECK(cfg.ssl);
	CHECK(!cfg.log_syslog);
	CHECK_INT(cfg.auth, AUTH_PASSWORD);
	CHECK_INT(cfg.hypervisor, HV_XEN);
	CHECK_INT(cfg.log_level, LOG_ERR);
	config_free(&cfg);
	CHECK_INT(parse("hypervisor=qemu\nlog_level=warning\n", &cfg), 0);
	CHECK_INT(cfg.hypervisor, HV_QEMU);
	CHECK_INT(cfg.qemu_accel, ACCEL_AUTO);
	CHECK_INT(cfg.log_level, LOG_WARNING);
	config_free(&cfg);
	CHECK_INT(parse("qemu_accel=tcg\n", &cfg), 0);
	CHECK_INT(cfg.qemu_accel, ACCEL_TCG);
	config_free(&cfg);
	CHECK_INT(parse("log_level=info\n", &cfg), 0);
	CHECK_INT(cfg.log_level, LOG_INFO);
	config_free(&cfg);
}

TEST(names)
{
	CHECK_STR(config_hv_name(HV_SIM), "sim");
	CHECK_STR(config_hv_name(HV_QEMU), "qemu");
	CHECK_STR(config_hv_name(HV_XEN), "xen");
	CHECK_STR(config_hv_name((enum hv_kind)42), "unknown");
	CHECK_STR(config_log_level_name(LOG_ERR), "error");
	CHECK_STR(config_log_level_name(LOG_WARNING), "warning");
	CHECK_STR(config_log_level_name(LOG_INFO), "info");
	CHECK_STR(config_log_level_name(LOG_DEBUG), "debug");
	CHECK_STR(config_log_level_name(LOG_NOTICE), "unknown");
}

TEST(syntax)
{
	struct agent_config cfg;
	const char *text =
	    "\xef\xbb\xbf; a comment = with equals\r\n"
	    "   # indented comment\r\n"
	    "\r\n"
	    "\t\r\n"
	    "[ovs-agent]\r\n"
	    "  port\t=  1234  \r\n"
	    "[another section]\n"
	    "ssl_cert=/a b/#not a comment;either\n"
	    "pid_file=/x=y\n"
	    "allow=\n"
	    "log_file=-";  /* last line without newline */

	CHECK_INT(parse(text, &cfg), 0);
	CHECK_INT(cfg.port, 1234);
	CHECK_STR(cfg.ssl_cert, "/a b/#not a comment;either");
	CHECK_STR(cfg.pid_file, "/x=y");
	CHECK_STR(cfg.allow_spec, "");
	CHECK_INT(check_v4(&cfg, "127.0.0.1", NULL), ACL_DENY);
	CHECK_STR(cfg.log_file, "-");
	config_free(&cfg);

	/* Leading zeros are still decimal. */
	CHECK_INT(parse("port=00080\n", &cfg), 0);
	CHECK_INT(cfg.port, 80);
	config_free(&cfg);
}

TEST(listen)
{
	struct agent_config cfg;

	CHECK_INT(parse("listen=*\n", &cfg), 0);
	CHECK_STR(cfg.listen, "*");
	config_free(&cfg);
	CHECK_INT(parse("listen= 0.0.0.0 \n", &cfg), 0);
	CHECK_STR(cfg.listen, "0.0.0.0");
	config_free(&cfg);
	CHECK_INT(parse("listen=::,10.0.0.1,fe80::1:2\n", &cfg), 0);
	CHECK_STR(cfg.listen, "::,10.0.0.1,fe80::1:2");
	config_free(&cfg);

	CHECK_STR(parse_err("listen=\n"),
	    "agent.ini:1: listen needs at least one address ('*' for all)");
	CHECK_STR(parse_err("listen=localhost\n"),
	    "agent.ini:1: listen: 'localhost' is not an IPv4 or IPv6 address");
	CHECK_STR(parse_err("listen=10.0.0.1,,10.0.0.2\n"),
	    "agent.ini:1: listen has an empty address");
	CHECK_STR(parse_err("listen=10.0.0.1,\n"),
	    "agent.ini:1: listen has an empty address");
	CHECK_STR(parse_err("listen=*,::1\n"),
	    "agent.ini:1: listen: '*' already means every address; list either "
	    "'*' or addresses");
	CHECK_STR(parse_err("listen=[::1]\n"),
	    "agent.ini:1: listen: '[::1]' is not an IPv4 or IPv6 address");
	CHECK_STR(parse_err("listen=10.0.0.1:8899\n"),
	    "agent.ini:1: listen: '10.0.0.1:8899' is not an IPv4 or IPv6 address");
	CHECK(parse_err("listen=1111:2222:3333:4444:5555:6666:7777:8888:9999\n")[0] != '\0');
}

TEST(numbers)
{
	CHECK_STR(parse_err("port=0\n"),
	    "agent.ini:1: port must be a number from 1 to 65535, not '0'");
	CHECK_STR(parse_err("port=65536\n"),
	    "agent.ini:1: port must be a number from 1 to 65535, not '65536'");
	CHECK_STR(parse_err("port=\n"),
	    "agent.ini:1: port must be a number from 1 to 65535, not ''");
	CHECK_STR(parse_err("port=-1\n"),
	    "agent.ini:1: port must be a number from 1 to 65535, not '-1'");
	CHECK_STR(parse_err("port=+80\n"),
	    "agent.ini:1: port must be a number from 1 to 65535, not '+80'");
	CHECK_STR(parse_err("port=0x50\n"),
	    "agent.ini:1: port must be a number from 1 to 65535, not '0x50'");
	CHECK_STR(parse_err("port=80 # http\n"),
	    "agent.ini:1: port must be a number from 1 to 65535, not '80 # http'");
	CHECK_STR(parse_err("port=99999999999999999999999999999\n"),
	    "agent.ini:1: port must be a number from 1 to 65535, not "
	    "'99999999999999999999999999999'");
	CHECK_STR(parse_err("max_header_bytes=1023\n"),
	    "agent.ini:1: max_header_bytes must be a number from 1024 to 1048576, not '1023'");
	CHECK_STR(parse_err("max_header_bytes=1048577\n"),
	    "agent.ini:1: max_header_bytes must be a number from 1024 to 1048576, not '1048577'");
	CHECK_STR(parse_err("max_body_bytes=1073741825\n"),
	    "agent.ini:1: max_body_bytes must be a number from 1024 to 1073741824, not '1073741825'");
	CHECK(parse_err("idle_timeout=0\n")[0] != '\0');
	CHECK(parse_err("idle_timeout=86401\n")[0] != '\0');
	CHECK(parse_err("request_timeout=0\n")[0] != '\0');
	CHECK(parse_err("max_connections=0\n")[0] != '\0');
	CHECK(parse_err("max_connections=1000001\n")[0] != '\0');
	CHECK(parse_err("max_unauth_connections=0\n")[0] != '\0');
	CHECK(parse_err("auth_cache_ttl=86401\n")[0] != '\0');
	CHECK(parse_err("auth_fail_limit=0\n")[0] != '\0');
	CHECK(parse_err("auth_fail_limit=1001\n")[0] != '\0');
	CHECK(parse_err("auth_fail_delay_max=3601\n")[0] != '\0');
	CHECK(parse_err("shutdown_timeout=3601\n")[0] != '\0');
	CHECK_STR(parse_err("port=65535\nauth_fail_delay_max=0\n"), "");
}

TEST(template_max_bytes)
{
	struct agent_config cfg;

	CHECK_INT(parse("template_max_bytes=1048576\n", &cfg), 0);
	CHECK(cfg.template_max_bytes == 1048576);
	config_free(&cfg);
	CHECK_INT(parse("template_max_bytes = 1125899906842624\n", &cfg), 0);
	CHECK(cfg.template_max_bytes == (size_t)1 << 50);
	config_free(&cfg);
	CHECK_STR(parse_err("template_max_bytes=1048575\n"),
	    "agent.ini:1: template_max_bytes must be a number from 1048576 to "
	    "1125899906842624, not '1048575'");
	CHECK_STR(parse_err("\ntemplate_max_bytes=1125899906842625\n"),
	    "agent.ini:2: template_max_bytes must be a number from 1048576 to "
	    "1125899906842624, not '1125899906842625'");
	CHECK(parse_err("template_max_bytes=64G\n")[0] != '\0');
	CHECK(parse_err("template_max_bytes=\n")[0] != '\0');
	CHECK(parse_err("template_max_bytes=99999999999999999999999\n")[0] != '\0');
}

TEST(unauth_vs_max)
{
	struct agent_config cfg;

	CHECK_STR(parse_err("max_connections=10\n\nmax_unauth_connections=11\n"),
	    "agent.ini:3: max_unauth_connections (11) must not exceed max_connections (10)");
	/* Order does not matter; the later line is named. */
	CHECK_STR(parse_err("max_unauth_connections=11\nmax_connections=10\n"),
	    "agent.ini:2: max_unauth_connections (11) must not exceed max_connections (10)");
	/* Against the default max_connections (1024). */
	CHECK_STR(parse_err("# x\nmax_unauth_connections=1025\n"),
	    "agent.ini:2: max_unauth_connections (1025) must not exceed max_connections (1024)");
	/* Lowering max_connections below the default 256 unauth. */
	CHECK_STR(parse_err("max_connections=100\n"),
	    "agent.ini:1: max_unauth_connections (256) must not exceed max_connections (100)");
	CHECK_INT(parse("max_connections=10\nmax_unauth_connections=10\n", &cfg), 0);
	CHECK_INT(cfg.max_unauth_connections, 10);
	config_free(&cfg);
}

TEST(enums_bad)
{
	CHECK_STR(parse_err("ssl=on\n"),
	    "agent.ini:1: ssl must be enable|disable, not 'on'");
	CHECK_STR(parse_err("ssl=Enable\n"),
	    "agent.ini:1: ssl must be enable|disable, not 'Enable'");
	CHECK_STR(parse_err("syslog=true\n"),
	    "agent.ini:1: syslog must be yes|no, not 'true'");
	CHECK_STR(parse_err("auth=ldap\n"),
	    "agent.ini:1: auth must be password|pam, not 'ldap'");
	CHECK_STR(parse_err("hypervisor=kvm\n"),
	    "agent.ini:1: hypervisor must be sim|qemu|xen, not 'kvm'");
	CHECK_STR(parse_err("log_level=trace\n"),
	    "agent.ini:1: log_level must be error|warning|info|debug, not 'trace'");
	CHECK_STR(parse_err("hypervisor=\n"),
	    "agent.ini:1: hypervisor must be sim|qemu|xen, not ''");
	CHECK_STR(parse_err("qemu_accel=hvf\n"),
	    "agent.ini:1: qemu_accel must be auto|kvm|tcg, not 'hvf'");
}

TEST(paths)
{
	CHECK_STR(parse_err("state_dir=\n"), "agent.ini:1: state_dir must not be empty");
	CHECK_STR(parse_err("state_dir=db\n"),
	    "agent.ini:1: state_dir must be an absolute path, not 'db'");
	CHECK_STR(parse_err("log_file=logs/a.log\n"),
	    "agent.ini:1: log_file must be an absolute path or '-' for stderr, not 'logs/a.log'");
	CHECK_STR(parse_err("log_file=\n"), "agent.ini:1: log_file must not be empty");
	CHECK_STR(parse_err("pid_file=-\n"),
	    "agent.ini:1: pid_file must be an absolute path, not '-'");
	CHECK(parse_err("ssl_cert=cert.pem\n")[0] != '\0');
	CHECK(parse_err("ssl_key=\n")[0] != '\0');
	CHECK(parse_err("password_file=pw\n")[0] != '\0');
	CHECK(parse_err("ovs_root=OVS\n")[0] != '\0');
	CHECK(parse_err("hooks_dir=~/hooks\n")[0] != '\0');
	CHECK(parse_err("repositories_file=\n")[0] != '\0');
	CHECK_STR(parse_err("pam_service=\n"),
	    "agent.ini:1: pam_service must be a PAM service name (letters, digits, "
	    "'-', '_', '.'), not ''");
	CHECK(parse_err("pam_service=../etc/passwd\n")[0] != '\0');
	CHECK(parse_err("pam_service=a b\n")[0] != '\0');
}

TEST(acl_errors)
{
	CHECK_STR(parse_err("port=1\nallow=10.0.0.1, 10.1.1.1/33\n"),
	    "agent.ini:2: allow: bad address pattern '10.1.1.1/33' "
	    "(IPv4 prefix length must be 0-32)");
	CHECK_STR(parse_err("deny=10.1.1.300\n"),
	    "agent.ini:1: deny: bad address pattern '10.1.1.300' (not an IPv4 address)");
}

TEST(cluster_keys)
{
	struct agent_config cfg;

	CHECK_INT(parse("ovs_root=/srv/ovs\n", &cfg), 0);
	CHECK(cfg.cluster);
	CHECK_STR(cfg.cluster_root, "/srv/ovs");        /* follows ovs_root */
	CHECK_INT(cfg.hb_interval, 1);
	CHECK_INT(cfg.hb_timeout, 3);
	CHECK_INT(cfg.fence_timeout, 4);
	CHECK_STR(cfg.corosync_dir, "/etc/corosync");
	CHECK_STR(cfg.ocfs2_conf, "/etc/ocfs2/cluster.conf");
	config_free(&cfg);
	CHECK_INT(parse("cluster_root=/c\novs_root=/o\ncluster=disable\nfence_timeout=9\n"
			"corosync_dir=/t/cs\nocfs2_conf=/t/o2.conf\n", &cfg), 0);
	CHECK_STR(cfg.cluster_root, "/c");
	CHECK_STR(cfg.corosync_dir, "/t/cs");
	CHECK_STR(cfg.ocfs2_conf, "/t/o2.conf");
	CHECK(!cfg.cluster);
	CHECK_INT(cfg.fence_timeout, 9);
	config_free(&cfg);
	CHECK_STR(parse_err("hb_interval=5\nhb_timeout=5\n"),
	    "agent.ini:2: hb_timeout (5) must be more than hb_interval (5): a slot is stale "
	    "only after missing a write");
}

TEST(key_errors)
{
	CHECK_STR(parse_err("\n\nprot=1\n"),
	    "agent.ini:3: unknown key 'prot' (did you mean 'port'?)");
	CHECK_STR(parse_err("Port=1\n"),
	    "agent.ini:1: unknown key 'Port' (did you mean 'port'?)");
	CHECK(strncmp(parse_err("frobnicate=1\n"),
	    "agent.ini:1: unknown key 'frobnicate' (known keys: listen, port, ssl,", 68) == 0);
	CHECK(strstr(err, "template_max_bytes, hook_timeout_guest, hook_timeout_network, "
		      "hook_timeout_repository, hook_timeout_cluster, hooks_max_running, "
		      "guest_hooks_dir, cluster, cluster_root, hb_interval, hb_timeout, "
		      "fence_timeout, corosync_dir, ocfs2_conf)") != NULL);
	CHECK_STR(parse_err("port=1\nssl=enable\nport=2\n"),
	    "agent.ini:3: duplicate key 'port' (already set on line 1)");
	CHECK_STR(parse_err("port 8899\n"),
	    "agent.ini:1: expected key=value, not 'port 8899'");
	CHECK_STR(parse_err("=8899\n"), "agent.ini:1: missing key before '='");
	CHECK_STR(parse_err("  = \n"), "agent.ini:1: missing key before '='");
	CHECK_STR(parse_err("[server\n"),
	    "agent.ini:1: bad section header '[server' (expected '[name]')");
	CHECK_STR(parse_err("[]\n"),
	    "agent.ini:1: bad section header '[]' (expected '[name]')");
	/* The key is not split at inner blanks. */
	CHECK_STR(parse_err("po rt=1\n"),
	    "agent.ini:1: unknown key 'po rt' (did you mean 'port'?)");
}

TEST(bytes)
{
	struct agent_config cfg;
	static const char nul[] = "port=1\nssl=en\0able\n";
	static const char cr[] = "port=1\rssl=enable\n";

	CHECK_INT(config_parse("agent.ini", nul, sizeof(nul) - 1, &cfg, err,
	    sizeof(err)), -1);
	CHECK_STR(err, "agent.ini:2: NUL byte in the file (is it a text file?)");
	CHECK(is_zeroed(&cfg));
	CHECK_INT(config_parse("agent.ini", cr, sizeof(cr) - 1, &cfg, err,
	    sizeof(err)), -1);
	CHECK_STR(err, "agent.ini:1: control character 0x0d in line");
	CHECK_STR(parse_err("port=1\n\x1b[31m=1\n"),
	    "agent.ini:2: control character 0x1b in line");
	/* Non-ASCII bytes are quoted safely in messages. */
	CHECK(strncmp(parse_err("k\xc3\xa9y=1\n"), "agent.ini:1: unknown key 'k??y' (", 33) == 0);
	/* Only the given length is read: the text need not end in NUL. */
	CHECK_INT(config_parse("agent.ini", "port=12345", 7, &cfg, err, sizeof(err)), 0);
	CHECK_INT(cfg.port, 12);
	config_free(&cfg);
}

TEST(error_frees)
{
	struct agent_config cfg;
	char small[16];

	/* A failure after several allocating keys leaves cfg zeroed. */
	CHECK_INT(parse("listen=::1\nallow=10.*\nstate_dir=/x\nport=0\n", &cfg), -1);
	CHECK(is_zeroed(&cfg));
	/* A tiny or absent error buffer is not overrun. */
	CHECK_INT(config_parse("agent.ini", "bogus=1\n", 8, &cfg, small,
	    sizeof(small)), -1);
	CHECK_STR(small, "agent.ini:1: un");
	CHECK_INT(config_parse("agent.ini", "bogus=1\n", 8, &cfg, NULL, 0), -1);
	CHECK(is_zeroed(&cfg));
}

TEST(load)
{
	struct agent_config cfg;
	const char text[] = "port=7777\r\nallow=10.0.0.0/8\r\n";
	char *path = write_temp(text, sizeof(text) - 1);
	char *big, *bigpath, want[512];

	CHECK_INT(config_load(path, &cfg, err, sizeof(err)), 0);
	CHECK_STR(cfg.path, path);
	CHECK_INT(cfg.port, 7777);
	CHECK_INT(check_v4(&cfg, "10.9.9.9", NULL), ACL_ALLOW);
	CHECK_INT(check_v4(&cfg, "11.9.9.9", NULL), ACL_DENY);
	config_free(&cfg);
	unlink(path);
	free(path);

	/* Errors name the file. */
	path = write_temp("port=1\nport=2\n", 14);
	CHECK_INT(config_load(path, &cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:2: duplicate key 'port' (already set on line 1)", path);
	CHECK_STR(err, want);
	CHECK(is_zeroed(&cfg));
	unlink(path);
	free(path);

	CHECK_INT(config_load("/nonexistent/agent.ini", &cfg, err, sizeof(err)), -1);
	CHECK_STR(err, "/nonexistent/agent.ini: No such file or directory");
	CHECK(is_zeroed(&cfg));
	CHECK_INT(config_load("/", &cfg, err, sizeof(err)), -1);
	CHECK_STR(err, "/: Is a directory");

	/* Exactly 1 MiB of comment is read; one byte more is refused. */
	big = malloc(1024 * 1024 + 1);
	memset(big, '#', 1024 * 1024 + 1);
	big[1024 * 1024 - 1] = '\n';
	bigpath = write_temp(big, 1024 * 1024);
	CHECK_INT(config_load(bigpath, &cfg, err, sizeof(err)), 0);
	config_free(&cfg);
	unlink(bigpath);
	free(bigpath);
	bigpath = write_temp(big, 1024 * 1024 + 1);
	CHECK_INT(config_load(bigpath, &cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: file is larger than 1048576 bytes", bigpath);
	CHECK_STR(err, want);
	unlink(bigpath);
	free(bigpath);
	free(big);

	/* An empty file gives the defaults. */
	path = write_temp("", 0);
	CHECK_INT(config_load(path, &cfg, err, sizeof(err)), 0);
	CHECK_INT(cfg.port, 8899);
	config_free(&cfg);
	unlink(path);
	free(path);
}

TEST(network_bridges)
{
	struct agent_config cfg;

	CHECK_INT(parse("", &cfg), 0);
	CHECK_STR(cfg.network_bridges, "");
	config_free(&cfg);
	CHECK_INT(parse("network_bridges = xenbr0:eth0, xenbr1:eth1\n", &cfg), 0);
	CHECK_STR(cfg.network_bridges, "xenbr0:eth0, xenbr1:eth1");
	config_free(&cfg);
	CHECK_STR(parse_err("\nnetwork_bridges = xenbr0:eth0,xenbr0:eth1\n"),
		  "agent.ini:2: network_bridges names bridge xenbr0 twice");
	CHECK(strstr(parse_err("network_bridges = a b:eth0\n"), "agent.ini:1: network_bridges: ")
	      != NULL);
	CHECK(strstr(parse_err("network_bridges = xenbr0:\n"), "must not be empty") != NULL);
}

int main(void)
{
	RUN(defaults);
	RUN(empty_file_is_defaults);
	RUN(every_key);
	RUN(hook_keys);
	RUN(enum_values);
	RUN(names);
	RUN(syntax);
	RUN(listen);
	RUN(numbers);
	RUN(template_max_bytes);
	RUN(unauth_vs_max);
	RUN(enums_bad);
	RUN(paths);
	RUN(acl_errors);
	RUN(cluster_keys);
	RUN(key_errors);
	RUN(bytes);
	RUN(error_frees);
	RUN(load);
	RUN(network_bridges);
	return harness_done();
}
