/* test_pool.c - the server pool's keys in the store (db/pool.c): roles and
 * addresses as the methods take them, members, master and credential. */
#include "harness.h"
#include "db/pool.h"
#include "db/store.h"
#include "agent/base/util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/test_pool.XXXXXX";
static char err[1024];

TEST(roles_parse_and_format)
{
	char text[POOL_ROLES_TEXT_MAX];
	unsigned r;

	CHECK_INT(pool_roles_parse("xen", &r, err, sizeof(err)), 0);
	CHECK_INT(r, POOL_XEN);
	CHECK_INT(pool_roles_parse(" xen , site,utility", &r, err, sizeof(err)), 0);
	CHECK_INT(r, POOL_ROLES_ALL);
	pool_roles_format(r, text);
	CHECK_STR(text, "site,utility,xen");
	pool_roles_format(POOL_XEN | POOL_UTILITY, text);
	CHECK_STR(text, "utility,xen");
	pool_roles_format(0, text);
	CHECK_STR(text, "");
	CHECK_INT(pool_roles_parse("master", &r, err, sizeof(err)), -1);
	CHECK(strstr(err, "'master' is not a role"));
	CHECK_INT(pool_roles_parse("xen,xen", &r, err, sizeof(err)), -1);
	CHECK(strstr(err, "given twice"));
	CHECK_INT(pool_roles_parse("", &r, err, sizeof(err)), -1);
	CHECK_INT(pool_roles_parse("xen,", &r, err, sizeof(err)), -1);
	CHECK_INT(pool_roles_parse(",xen", &r, err, sizeof(err)), -1);
	CHECK_INT(pool_roles_parse("Xen", &r, err, sizeof(err)), -1);
	CHECK_INT(pool_roles_parse(NULL, &r, err, sizeof(err)), -1);
}

TEST(ip_canon)
{
	char ip[POOL_IP_MAX];

	CHECK_INT(pool_ip_canon("127.0.0.2", ip), 0);
	CHECK_STR(ip, "127.0.0.2");
	CHECK_INT(pool_ip_canon("0:0::1", ip), 0);
	CHECK_STR(ip, "::1");
	CHECK_INT(pool_ip_canon("127.0.0.256", ip), -1);
	CHECK_INT(pool_ip_canon("127.1", ip), -1);
	CHECK_INT(pool_ip_canon("host.example", ip), -1);
	CHECK_INT(pool_ip_canon("[::1]", ip), -1);
	CHECK_INT(pool_ip_canon("", ip), -1);
	CHECK_INT(pool_ip_canon(NULL, ip), -1);
}

TEST(members_master_credential)
{
	char *d = xasprintf("%s/db", dir), ip[POOL_IP_MAX], sec[POOL_SECRET_HEX + 1], *v = NULL;
	struct store *s;
	struct pool_member m = { .ip = "127.0.0.3", .roles = POOL_XEN | POOL_UTILITY,
				 .port = 8899, .tls = true, .registered = 1234 }, g, *all;
	size_t n;

	mkdir(d, 0700);
	s = store_open(d, true, err, sizeof(err));
	CHECK(s);
	if (!s)
		goto out;
	CHECK_INT(pool_master_get(s, ip, err, sizeof(err)), 0);
	CHECK_INT(pool_secret_get(s, sec, err, sizeof(err)), 0);
	CHECK_INT(pool_member_get(s, "127.0.0.3", &g, err, sizeof(err)), 0);
	memset(m.sha256, 'a', POOL_FP_HEX);
	CHECK_INT(pool_member_put(s, &m, err, sizeof(err)), 0);
	m.roles = POOL_ROLES_ALL;
	snprintf(m.ip, sizeof(m.ip), "127.0.0.2");
	m.sha256[0] = '\0';
	CHECK_INT(pool_member_put(s, &m, err, sizeof(err)), 0);

	CHECK_INT(pool_member_get(s, "127.0.0.3", &g, err, sizeof(err)), 1);
	CHECK_INT(g.roles, POOL_XEN | POOL_UTILITY);
	CHECK_INT(g.port, 8899);
	CHECK(g.tls);
	CHECK_INT(g.registered, 1234);
	CHECK_INT(strlen(g.sha256), POOL_FP_HEX);
	/* the key the cluster scripts read */
	CHECK_INT(store_get(s, POOL_TABLE, "server.127.0.0.3", &v, err, sizeof(err)), 1);
	CHECK_STR(v, "utility,xen");
	free(v);
	/* one line, so db_dump pool shows one line per key */
	CHECK_INT(store_get(s, POOL_TABLE, "member.127.0.0.3", &v, err, sizeof(err)), 1);
	CHECK(strncmp(v, "port=8899 tls=1 registered=1234 sha256=aaaa", 43) == 0);
	CHECK(!strchr(v, '\n'));
	free(v);

	CHECK_INT(pool_members(s, &all, &n, err, sizeof(err)), 0);
	CHECK_INT(n, 2);
	if (n == 2) {
		CHECK_STR(all[0].ip, "127.0.0.2");
		CHECK_INT(all[0].roles, POOL_ROLES_ALL);
		CHECK_STR(all[0].sha256, "");
		CHECK_STR(all[1].ip, "127.0.0.3");
	}
	free(all);

	CHECK_INT(pool_self_get(s, ip, err, sizeof(err)), 0);
	CHECK_INT(pool_join(s, "127.0.0.2", "127.0.0.3", "00ff", err, sizeof(err)), 0);
	CHECK_INT(pool_self_get(s, ip, err, sizeof(err)), 1);
	CHECK_STR(ip, "127.0.0.3");
	CHECK_INT(pool_master_get(s, ip, err, sizeof(err)), 1);
	CHECK_STR(ip, "127.0.0.2");
	CHECK_INT(pool_secret_get(s, sec, err, sizeof(err)), 1);
	CHECK_STR(sec, "00ff");

	/* a member's copy of the master's table */
	{
		struct pool_member copy[1] = { { .ip = "127.0.0.4", .roles = POOL_XEN, .port = 1 } };
		CHECK_INT(pool_members_replace(s, copy, 1, err, sizeof(err)), 0);
		CHECK_INT(pool_members(s, &all, &n, err, sizeof(err)), 0);
		CHECK_INT(n, 1);
		if (n == 1)
			CHECK_STR(all[0].ip, "127.0.0.4");
		free(all);
		CHECK_INT(pool_members_replace(s, copy, 0, err, sizeof(err)), 0);
		CHECK_INT(pool_members(s, &all, &n, err, sizeof(err)), 0);
		CHECK_INT(n, 0);
		free(all);
		CHECK_INT(pool_master_get(s, ip, err, sizeof(err)), 1);
		CHECK_INT(pool_member_put(s, &g, err, sizeof(err)), 0);
	}
	CHECK_INT(pool_member_del(s, "127.0.0.3", err, sizeof(err)), 1);
	CHECK_INT(pool_member_del(s, "127.0.0.3", err, sizeof(err)), 0);
	CHECK_INT(store_get(s, POOL_TABLE, "member.127.0.0.3", &v, err, sizeof(err)), 0);
	CHECK_INT(pool_members(s, &all, &n, err, sizeof(err)), 0);
	CHECK_INT(n, 0);
	free(all);

	/* a member elected master numbers its pushes after the last it took */
	{
		long long have;
		CHECK_INT(pool_members_sync(s, NULL, 0, 41, &have, err, sizeof(err)), 1);
		CHECK_INT(pool_sync_seq_next(s, err, sizeof(err)), 42);
		CHECK_INT(pool_sync_seq_next(s, err, sizeof(err)), 43);
		CHECK_INT(pool_master_set(s, "127.0.0.3", err, sizeof(err)), 0);
		CHECK_INT(pool_master_get(s, ip, err, sizeof(err)), 1);
		CHECK_STR(ip, "127.0.0.3");
		CHECK_INT(pool_ha_state_put(s, "OVSP1 SNAP\nSTATE 1 1 - 0\n", err, sizeof(err)), 0);
		CHECK_INT(pool_ha_state_get(s, &v, err, sizeof(err)), 1);
		free(v);
	}
	CHECK_INT(pool_leave(s, err, sizeof(err)), 0);
	CHECK_INT(pool_ha_state_get(s, &v, err, sizeof(err)), 0);     /* gone with the pool */
	CHECK_INT(pool_master_get(s, ip, err, sizeof(err)), 0);
	CHECK_INT(pool_secret_get(s, sec, err, sizeof(err)), 0);
	CHECK_INT(pool_self_get(s, ip, err, sizeof(err)), 0);
	CHECK_INT(pool_members(s, &all, &n, err, sizeof(err)), 0);
	CHECK_INT(n, 0);
	free(all);
	store_close(s);
out:
	{
		char *f = xasprintf("%s/data.mdb", d), *l = xasprintf("%s/lock.mdb", d);
		unlink(f);
		unlink(l);
		free(f);
		free(l);
	}
	rmdir(d);
	free(d);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(roles_parse_and_format);
	RUN(ip_canon);
	RUN(members_master_credential);
	rmdir(dir);
	return harness_done();
}
