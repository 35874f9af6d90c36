/* test_record.c - db records (db/record.c), the LMDB store (db/store.c)
 * and guest records (db/guests.c), each store test on a fresh db in a
 * temp dir. */
#include "harness.h"
#include "db/guests.h"
#include "db/record.h"
#include "db/store.h"
#include "agent/base/buf.h"
#include "agent/base/util.h"

#include <lmdb.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/test_record.XXXXXX";
static char err[1024];
static int db_count;

/* A new, empty db directory for one test. */
static char *new_db_dir(void)
{
	char *d = xasprintf("%s/db%d", dir, ++db_count);

	mkdir(d, 0700);
	return d;
}

static void remove_db_dir(char *d)
{
	char *f = xasprintf("%s/data.mdb", d), *l = xasprintf("%s/lock.mdb", d);

	unlink(f);
	unlink(l);
	rmdir(d);
	free(f);
	free(l);
	free(d);
}

/* ---- record.c ---------------------------------------------------------- */

TEST(record_set_get_replace)
{
	struct record r;

	record_init(&r);
	CHECK(record_get(&r, "status") == NULL);
	CHECK_INT(record_set(&r, "status", "DOWN"), 0);
	CHECK_INT(record_set(&r, "name", "g1"), 0);
	CHECK_STR(record_get(&r, "status"), "DOWN");
	CHECK_INT(record_set(&r, "status", "RUNNING"), 0);
	CHECK_STR(record_get(&r, "status"), "RUNNING");
	CHECK_INT(r.n, 2);
	CHECK_STR(r.keys[0], "status");     /* replacing keeps the field's place */
	record_free(&r);
	CHECK_INT(r.n, 0);
}

TEST(record_refuses_bad_keys_and_newlines)
{
	struct record r;

	record_init(&r);
	CHECK_INT(record_set(&r, "", "x"), -1);
	CHECK_INT(record_set(&r, "Status", "x"), -1);
	CHECK_INT(record_set(&r, "a-b", "x"), -1);
	CHECK_INT(record_set(&r, "a=b", "x"), -1);
	CHECK_INT(record_set(&r, "a b", "x"), -1);
	CHECK_INT(record_set(&r, "ok_1", "two\nlines"), -1);
	CHECK_INT(record_set(&r, "ok_1", ""), 0);
	CHECK_INT(r.n, 1);
	record_free(&r);
}

TEST(record_del_keeps_order)
{
	struct record r;

	record_init(&r);
	record_set(&r, "a", "1");
	record_set(&r, "b", "2");
	record_set(&r, "c", "3");
	CHECK_INT(record_del(&r, "b"), 1);
	CHECK_INT(record_del(&r, "b"), 0);
	CHECK_INT(r.n, 2);
	CHECK_STR(r.keys[0], "a");
	CHECK_STR(r.keys[1], "c");
	CHECK_STR(record_get(&r, "c"), "3");
	record_free(&r);
}

TEST(record_get_int)
{
	struct record r;

	record_init(&r);
	record_set(&r, "n", "42");
	record_set(&r, "neg", "-7");
	record_set(&r, "junk", "12x");
	record_set(&r, "empty", "");
	CHECK_INT(record_get_int(&r, "n", 0), 42);
	CHECK_INT(record_get_int(&r, "neg", 0), -7);
	CHECK_INT(record_get_int(&r, "junk", 5), 5);
	CHECK_INT(record_get_int(&r, "empty", 5), 5);
	CHECK_INT(record_get_int(&r, "absent", -1), -1);
	CHECK_INT(record_set_int(&r, "n", 1LL << 40), 0);
	CHECK_INT(record_get_int(&r, "n", 0), 1LL << 40);
	record_free(&r);
}

TEST(record_format_parse_round_trip)
{
	struct record r, back;
	char *text, *again;

	record_init(&r);
	record_init(&back);
	record_set(&r, "status", "DOWN");
	record_set(&r, "error", "a=b c=d");    /* '=' inside a value */
	record_set(&r, "empty", "");
	record_set(&r, "future_field", "kept as is");
	text = record_format(&r);
	CHECK_STR(text, "status=DOWN\nerror=a=b c=d\nempty=\nfuture_field=kept as is\n");
	CHECK_INT(record_parse(&back, text, strlen(text)), 0);
	CHECK_INT(back.n, 4);
	CHECK_STR(record_get(&back, "error"), "a=b c=d");
	CHECK_STR(record_get(&back, "empty"), "");
	again = record_format(&back);
	CHECK_STR(again, text);
	free(text);
	free(again);
	record_free(&r);
	record_free(&back);
}

TEST(record_parse_edges)
{
	struct record r;
	static const char nul[] = "a=1\nb=x\0y\n";

	record_init(&r);
	CHECK_INT(record_parse(&r, "a=1\n\n\nb=2", 9), 0);     /* blank lines, no final \n */
	CHECK_INT(r.n, 2);
	CHECK_STR(record_get(&r, "b"), "2");
	CHECK_INT(record_parse(&r, "c=3\n", 4), 0);             /* replaces the contents */
	CHECK_INT(r.n, 1);
	CHECK(record_get(&r, "a") == NULL);
	CHECK_INT(record_parse(&r, "", 0), 0);
	CHECK_INT(r.n, 0);
	CHECK_INT(record_parse(&r, "a=1\nnoequals\n", 13), -1);
	CHECK_INT(record_parse(&r, "Bad=1\n", 6), -1);
	CHECK_INT(record_parse(&r, "=1\n", 3), -1);
	CHECK_INT(record_parse(&r, nul, sizeof(nul) - 1), -1);
	record_free(&r);
}

/* ---- store.c ----------------------------------------------------------- */

TEST(store_put_get_del)
{
	char *d = new_db_dir(), *v = NULL;
	struct store *s = store_open(d, true, err, sizeof(err));

	CHECK(s != NULL);
	if (!s)
		goto out;
	CHECK_INT(store_get(s, "pool", "master_ip", &v, err, sizeof(err)), 0);
	CHECK(v == NULL);
	CHECK_INT(store_put(s, "pool", "master_ip", "10.0.0.1", err, sizeof(err)), 0);
	CHECK_INT(store_get(s, "pool", "master_ip", &v, err, sizeof(err)), 1);
	CHECK_STR(v, "10.0.0.1");
	free(v);
	CHECK_INT(store_put(s, "pool", "master_ip", "", err, sizeof(err)), 0);
	CHECK_INT(store_get(s, "pool", "master_ip", &v, err, sizeof(err)), 1);
	CHECK_STR(v, "");
	free(v);
	CHECK_INT(store_del(s, "pool", "master_ip", err, sizeof(err)), 1);
	CHECK_INT(store_del(s, "pool", "master_ip", err, sizeof(err)), 0);
	CHECK_INT(store_del(s, "never_made", "k", err, sizeof(err)), 0);
	CHECK_INT(store_get(s, "pool", "master_ip", &v, err, sizeof(err)), 0);
	store_close(s);
out:
	remove_db_dir(d);
}

TEST(store_tables_are_separate_and_persist)
{
	char *d = new_db_dir(), *v = NULL;
	struct store *s = store_open(d, true, err, sizeof(err));

	CHECK(s != NULL);
	if (!s)
		goto out;
	store_put(s, "pool", "k", "pool value", err, sizeof(err));
	store_put(s, "vm", "k", "vm value", err, sizeof(err));
	store_close(s);
	s = store_open(d, false, err, sizeof(err));   /* reopen: committed means on disk */
	CHECK(s != NULL);
	if (!s)
		goto out;
	CHECK_INT(store_get(s, "pool", "k", &v, err, sizeof(err)), 1);
	CHECK_STR(v, "pool value");
	free(v);
	CHECK_INT(store_get(s, "vm", "k", &v, err, sizeof(err)), 1);
	CHECK_STR(v, "vm value");
	free(v);
	CHECK_INT(store_get(s, "meta", "schema", &v, err, sizeof(err)), 1);
	CHECK_INT(atoi(v), STORE_SCHEMA);
	free(v);
	store_close(s);
out:
	remove_db_dir(d);
}

struct collect {
	char keys[16][64];
	int n, stop_after;
};

static int collect_key(const char *key, const char *val, size_t vlen, void *arg)
{
	struct collect *c = arg;

	if (c->n < 16)
		snprintf(c->keys[c->n], sizeof(c->keys[0]), "%s", key);
	c->n++;
	CHECK_INT(vlen, strlen(val));
	return c->stop_after && c->n >= c->stop_after;
}

TEST(store_each_key_order_and_stop)
{
	static const char *in[] = { "/OVS/running_pool/b", "/OVS/running_pool/a10",
				    "/OVS/repo/running_pool/z", "/OVS/running_pool/a2",
				    "/OVS/running_pool/A" };
	static const char *sorted[] = { "/OVS/repo/running_pool/z", "/OVS/running_pool/A",
					"/OVS/running_pool/a10", "/OVS/running_pool/a2",
					"/OVS/running_pool/b" };
	char *d = new_db_dir();
	struct store *s = store_open(d, true, err, sizeof(err));
	struct collect c;

	CHECK(s != NULL);
	if (!s)
		goto out;
	for (size_t i = 0; i < ARRAY_SIZE(in); i++)
		CHECK_INT(store_put(s, "t", in[i], "v", err, sizeof(err)), 0);
	memset(&c, 0, sizeof(c));
	CHECK_INT(store_each(s, "t", collect_key, &c, err, sizeof(err)), 0);
	CHECK_INT(c.n, 5);
	for (int i = 0; i < 5 && i < c.n; i++)
		CHECK_STR(c.keys[i], sorted[i]);
	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	CHECK_INT(store_each(s, "t", collect_key, &c, err, sizeof(err)), 0);
	CHECK_INT(c.n, 2);
	memset(&c, 0, sizeof(c));
	CHECK_INT(store_each(s, "no_such_table", collect_key, &c, err, sizeof(err)), 0);
	CHECK_INT(c.n, 0);
	store_close(s);
out:
	remove_db_dir(d);
}

TEST(store_open_without_create)
{
	char *missing = xasprintf("%s/does-not-exist", dir), *d = new_db_dir();
	struct store *s = store_open(missing, false, err, sizeof(err));

	CHECK(s == NULL);
	CHECK(strstr(err, missing) != NULL);
	s = store_open(d, false, err, sizeof(err));        /* an empty dir: not an agent db */
	CHECK(s == NULL);
	CHECK(strstr(err, "no schema version") != NULL);
	store_close(s);
	free(missing);
	remove_db_dir(d);
}

TEST(store_newer_schema_refused)
{
	char *d = new_db_dir(), *newer = xasprintf("%d", STORE_SCHEMA + 1);
	struct store *s = store_open(d, true, err, sizeof(err));

	CHECK(s != NULL);
	if (!s)
		goto out;
	CHECK_INT(store_put(s, "meta", "schema", newer, err, sizeof(err)), 0);
	store_close(s);
	err[0] = '\0';
	s = store_open(d, false, err, sizeof(err));
	CHECK(s == NULL);
	CHECK(strstr(err, "newer") != NULL);
	CHECK(strstr(err, newer) != NULL);
	store_close(s);
	err[0] = '\0';
	s = store_open(d, true, err, sizeof(err));         /* creating does not override it */
	CHECK(s == NULL);
	CHECK(strstr(err, "newer") != NULL);
	store_close(s);
out:
	free(newer);
	remove_db_dir(d);
}

TEST(store_current_schema_accepted)
{
	char *d = new_db_dir(), *cur = xasprintf("%d", STORE_SCHEMA);
	struct store *s = store_open(d, true, err, sizeof(err));

	if (s)
		store_put(s, "meta", "schema", cur, err, sizeof(err));
	store_close(s);
	s = store_open(d, false, err, sizeof(err));
	CHECK(s != NULL);
	store_close(s);
	free(cur);
	remove_db_dir(d);
}

/* 1 when key i is there, with the value the writer gave it. */
static int read_one(struct store *s, int i)
{
	char k[32], want[32], *v = NULL;
	int r;

	snprintf(k, sizeof(k), "k%03d", i);
	snprintf(want, sizeof(want), "value-%03d", i);
	r = store_get(s, "t", k, &v, err, sizeof(err));
	if (r == 1)
		CHECK_STR(v, want);
	free(v);
	return r == 1;
}

/* Another process writes while this one reads: every committed put is
 * seen, none is torn (the db tools and the agent work like this). */
TEST(store_two_processes)
{
	char *d = new_db_dir();
	struct store *s = store_open(d, true, err, sizeof(err));
	int status = -1, seen = 0;
	pid_t pid;

	CHECK(s != NULL);
	if (!s)
		goto out;
	pid = fork();
	if (pid == 0) {
		/* The parent's env must not be used after fork: open our own. */
		struct store *c = store_open(d, false, err, sizeof(err));
		int bad = !c;
		for (int i = 0; c && i < 200; i++) {
			char k[32], val[32];
			snprintf(k, sizeof(k), "k%03d", i);
			snprintf(val, sizeof(val), "value-%03d", i);
			bad |= store_put(c, "t", k, val, err, sizeof(err)) != 0;
		}
		store_close(c);
		_exit(bad);
	}
	/* Read while the child writes, then whatever is left once it is done. */
	for (int i = 0; i < 5000 && seen < 200; i++) {
		if (read_one(s, seen))
			seen++;
		else
			usleep(1000);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	while (seen < 200 && read_one(s, seen))
		seen++;
	CHECK_INT(seen, 200);
	store_close(s);
out:
	remove_db_dir(d);
}

/* ---- guests.c ---------------------------------------------------------- */

TEST(guest_status_names)
{
	static const char *ok[] = { "RUNNING", "DOWN", "PAUSED", "SUSPEND", "ERROR",
				    "STARTING", "STOPPING", "MIGRATING" };
	static const char *bad[] = { "", "down", "Running", "RUNNINGX", "SUSPENDED", " DOWN" };

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		CHECK(guest_status_valid(ok[i]));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK(!guest_status_valid(bad[i]));
}

TEST(guest_path_for_names_and_paths)
{
	char *p = guest_path_for("/OVS", "guest");

	CHECK_STR(p, "/OVS/running_pool/guest");
	free(p);
	p = guest_path_for("/srv/ovs", "my guest");
	CHECK_STR(p, "/srv/ovs/running_pool/my guest");
	free(p);
	p = guest_path_for("/OVS", "/OVS/repo/running_pool/g");
	CHECK_STR(p, "/OVS/repo/running_pool/g");
	free(p);
}

/* The key by spelling alone, for a root with and without a trailing '/'
 * and a root of "/". */
TEST(guest_key_spellings)
{
	static const struct { const char *root, *arg, *key; } c[] = {
		{ "/OVS", "g", "/OVS/running_pool/g" },
		{ "/OVS/", "g", "/OVS/running_pool/g" },
		{ "/OVS", "/OVS/running_pool/g/", "/OVS/running_pool/g" },
		{ "/OVS", "/OVS/repo/running_pool/g", "/OVS/repo/running_pool/g" },
		{ "/", "g", "/running_pool/g" },
		{ "/", "/repo/running_pool/g", "/repo/running_pool/g" },
		{ "/OVS", "/OVSX/running_pool/g", NULL },
		{ "/OVS", "/OVS/running_pool/../running_pool/g", NULL },
		{ "/OVS", "/OVS//running_pool/g", NULL },
		{ "/OVS", "/OVS/running_pool", NULL },
		{ "/OVS", "/OVS/a/b/running_pool/g", NULL },
		{ "/OVS", "../g", NULL },
	};
	char e[256];

	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		char *k = guest_key(c[i].root, c[i].arg, e, sizeof(e));
		if (c[i].key)
			CHECK_STR(k, c[i].key);
		else
			CHECK(k == NULL);
		free(k);
	}
}

TEST(guests_put_get_stamps)
{
	char *d = new_db_dir();
	struct store *s = store_open(d, true, err, sizeof(err));
	struct record r, back;
	long long created;

	record_init(&r);
	record_init(&back);
	CHECK(s != NULL);
	if (!s)
		goto out;
	CHECK_INT(guests_get(s, "/OVS/running_pool/g", &back, err, sizeof(err)), 0);
	record_set(&r, "name", "g");
	record_set(&r, "status", GUEST_DOWN);
	record_set(&r, "future_field", "x");
	CHECK_INT(guests_put(s, "/OVS/running_pool/g", &r, err, sizeof(err)), 0);
	CHECK(record_get(&r, "created") != NULL);   /* stamped in the caller's record */
	created = record_get_int(&r, "created", 0);
	CHECK(created > 0);
	CHECK(record_get_int(&r, "updated", 0) >= created);
	CHECK_INT(guests_get(s, "/OVS/running_pool/g", &back, err, sizeof(err)), 1);
	CHECK_STR(record_get(&back, "status"), "DOWN");
	CHECK_STR(record_get(&back, "future_field"), "x");
	CHECK_INT(record_get_int(&back, "created", 0), created);
	record_set(&back, "created", "1000");       /* kept on a rewrite */
	record_set(&back, "status", GUEST_RUNNING);
	CHECK_INT(guests_put(s, "/OVS/running_pool/g", &back, err, sizeof(err)), 0);
	record_free(&r);        /* guests_get initialises, it does not free */
	CHECK_INT(guests_get(s, "/OVS/running_pool/g", &r, err, sizeof(err)), 1);
	CHECK_INT(record_get_int(&r, "created", 0), 1000);
	CHECK_STR(record_get(&r, "status"), "RUNNING");
	CHECK_INT(guests_del(s, "/OVS/running_pool/g", err, sizeof(err)), 1);
	CHECK_INT(guests_del(s, "/OVS/running_pool/g", err, sizeof(err)), 0);
	record_free(&r);
	CHECK_INT(guests_get(s, "/OVS/running_pool/g", &r, err, sizeof(err)), 0);
	CHECK_INT(r.n, 0);
	store_close(s);
out:
	record_free(&r);
	record_free(&back);
	remove_db_dir(d);
}

struct guest_list {
	char paths[8][64];
	char status[8][16];
	int n;
};

static int collect_guest(const char *path, const struct record *rec, void *arg)
{
	struct guest_list *l = arg;
	const char *st = record_get(rec, "status");

	if (l->n < 8) {
		snprintf(l->paths[l->n], sizeof(l->paths[0]), "%s", path);
		snprintf(l->status[l->n], sizeof(l->status[0]), "%s", st ? st : "");
	}
	l->n++;
	return 0;
}

TEST(guests_each_in_path_order_and_damaged_records)
{
	static const char *names[] = { "zeta", "alpha", "mid" };
	char *d = new_db_dir();
	struct store *s = store_open(d, true, err, sizeof(err));
	struct guest_list l;
	struct record r;

	CHECK(s != NULL);
	if (!s)
		goto out;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char *p = guest_path_for("/OVS", names[i]);
		record_init(&r);
		record_set(&r, "name", names[i]);
		record_set(&r, "status", GUEST_DOWN);
		CHECK_INT(guests_put(s, p, &r, err, sizeof(err)), 0);
		record_free(&r);
		free(p);
	}
	/* Written behind guests.c's back: not a record. */
	CHECK_INT(store_put(s, GUESTS_TABLE, "/OVS/running_pool/broken", "no equals sign",
			    err, sizeof(err)), 0);
	memset(&l, 0, sizeof(l));
	CHECK_INT(guests_each(s, collect_guest, &l, err, sizeof(err)), 0);
	CHECK_INT(l.n, 4);
	CHECK_STR(l.paths[0], "/OVS/running_pool/alpha");
	CHECK_STR(l.paths[1], "/OVS/running_pool/broken");
	CHECK_STR(l.status[1], "ERROR");
	CHECK_STR(l.paths[2], "/OVS/running_pool/mid");
	CHECK_STR(l.paths[3], "/OVS/running_pool/zeta");
	CHECK_STR(l.status[3], "DOWN");
	CHECK_INT(guests_get(s, "/OVS/running_pool/broken", &r, err, sizeof(err)), -1);
	CHECK(strstr(err, "damaged") != NULL);
	record_free(&r);
	store_close(s);
out:
	remove_db_dir(d);
}

/* ---- record_scan, transactions, the uuid index ------------------------- */

TEST(record_scan_reads_as_record_parse)
{
	static const char *const in[] = {
		"", "a=1\n", "a=1\nb=2\na=3\n", "a=1\n\n\nb=\n", "k=v", "k=a=b\nz=\r\n",
		"noequals\n", "a=1\nBad=1\n", "=1\n", "a-b=1\n", "a=1\nb",
	};
	struct record_field f[8];
	struct record r;

	record_init(&r);
	for (size_t i = 0; i < ARRAY_SIZE(in); i++) {
		int want = record_parse(&r, in[i], strlen(in[i])) == 0 ? (int)r.n : -1;
		int n = record_scan(in[i], strlen(in[i]), f, ARRAY_SIZE(f));
		CHECK_INT(n, want);
		for (int j = 0; j < n && j < want; j++) {
			char *k = xstrndup(f[j].key, f[j].klen), *v = xstrndup(f[j].val, f[j].vlen);
			CHECK_STR(k, r.keys[j]);
			CHECK_STR(v, r.vals[j]);
			free(k);
			free(v);
		}
	}
	CHECK_INT(record_scan("a\0=1\n", 5, f, ARRAY_SIZE(f)), -1);
	CHECK_INT(record_scan("a=1\nb=2\nc=3\n", 12, f, 2), -2);
	CHECK_INT(record_scan("a=1\nb=2\na=3\n", 12, f, 2), 2);  /* a repeat is no new field */
	CHECK_INT(record_scan("a=1\nb=2\nc=3\nbad\n", 16, f, 2), -2); /* before the bad line */
	record_free(&r);
}

static int count_kv(const char *key, size_t klen, const char *val, size_t vlen, void *arg)
{
	(*(int *)arg)++;
	CHECK(klen == 1 && vlen == 1 && key[0] == val[0]);
	return 0;
}

TEST(store_txn_several_tables_all_or_nothing)
{
	static const char *const ab[] = { "a", "b", NULL }, *const a_only[] = { "a", NULL };
	char *d = new_db_dir(), *v = NULL;
	struct store *s = store_open(d, true, err, sizeof(err));
	struct store_txn *t;
	const char *view;
	size_t len;
	int n = 0;

	CHECK(s != NULL);
	if (!s)
		goto out;
	t = store_txn_begin(s, true, ab, err, sizeof(err));
	CHECK_INT(store_txn_put(t, "a", "k", "k", 1, err, sizeof(err)), 0);
	CHECK_INT(store_txn_put(t, "b", "k", "k", 1, err, sizeof(err)), 0);
	CHECK_INT(store_txn_get(t, "a", "k", &view, &len, err, sizeof(err)), 1);
	CHECK(len == 1 && view[0] == 'k');
	store_txn_abort(t);
	CHECK_INT(store_get(s, "a", "k", &v, err, sizeof(err)), 0);
	CHECK_INT(store_get(s, "b", "k", &v, err, sizeof(err)), 0);
	t = store_txn_begin(s, true, ab, err, sizeof(err));
	CHECK_INT(store_txn_put(t, "a", "k", "k", 1, err, sizeof(err)), 0);
	CHECK_INT(store_txn_put(t, "a", "x", "x", 1, err, sizeof(err)), 0);
	CHECK_INT(store_txn_put(t, "b", "k", "k", 1, err, sizeof(err)), 0);
	CHECK_INT(store_txn_put(t, "c", "k", "k", 1, err, sizeof(err)), -1);  /* not named */
	CHECK(strstr(err, "not named") != NULL);
	CHECK_INT(store_txn_del(t, "b", "nothing", err, sizeof(err)), 0);
	CHECK_INT(store_txn_commit(t, err, sizeof(err)), 0);
	CHECK_INT(store_get(s, "b", "k", &v, err, sizeof(err)), 1);
	free(v);
	t = store_txn_begin(s, false, a_only, err, sizeof(err));
	CHECK_INT(store_txn_each(t, "a", count_kv, &n, err, sizeof(err)), 0);
	CHECK_INT(n, 2);
	store_txn_abort(t);
	t = store_txn_begin(s, true, ab, err, sizeof(err));
	CHECK_INT(store_txn_clear(t, "a", err, sizeof(err)), 0);
	CHECK_INT(store_txn_del(t, "b", "k", err, sizeof(err)), 1);
	CHECK_INT(store_txn_commit(t, err, sizeof(err)), 0);
	CHECK_INT(store_get(s, "a", "x", &v, err, sizeof(err)), 0);
	CHECK_INT(store_get(s, "b", "k", &v, err, sizeof(err)), 0);
	store_close(s);
out:
	remove_db_dir(d);
}

#define U1 "11111111-1111-4111-8111-111111111111"
#define U2 "22222222-2222-4222-8222-222222222222"

static void put_guest(struct store *s, const char *path, const char *uuid)
{
	struct record r;

	record_init(&r);
	record_set(&r, "status", GUEST_DOWN);
	if (uuid)
		record_set(&r, "uuid", uuid);
	CHECK_INT(guests_put(s, path, &r, err, sizeof(err)), 0);
	record_free(&r);
}

/* The first guest holding uuid (except `except`), "" when none. */
static char found[256];
static const char *find(struct store *s, const char *uuid, const char *except)
{
	char *p = NULL;
	int r = guests_find_uuid(s, uuid, except, &p, err, sizeof(err));

	CHECK(r >= 0);
	snprintf(found, sizeof(found), "%s", r == 1 ? p : "");
	free(p);
	return found;
}

static const char *index_of(struct store *s, const char *uuid)
{
	char *v = NULL;

	snprintf(found, sizeof(found), "%s",
		 store_get(s, GUESTS_UUID_TABLE, uuid, &v, err, sizeof(err)) == 1 ? v : "(none)");
	free(v);
	return found;
}

static int set_uuid(struct record *rec, bool exists, void *arg, char *e, size_t elen)
{
	if (!arg)
		return 2;                       /* delete */
	if (strcmp(arg, "refuse") == 0) {
		record_set(rec, "uuid", "changed-then-refused");
		snprintf(e, elen, "refused");
		return -2;
	}
	record_set(rec, "uuid", arg);
	return 0;
}

TEST(guests_uuid_index_follows_every_write)
{
	char *d = new_db_dir(), longu[GUESTS_UUID_MAX + 2];
	struct store *s = store_open(d, true, err, sizeof(err));

	CHECK(s != NULL);
	if (!s)
		goto out;
	put_guest(s, "/OVS/running_pool/b", U1);
	put_guest(s, "/OVS/running_pool/c", U2);
	put_guest(s, "/OVS/running_pool/none", NULL);
	CHECK_STR(find(s, U1, NULL), "/OVS/running_pool/b");
	CHECK_STR(find(s, U1, "/OVS/running_pool/b"), "");
	CHECK_STR(find(s, U2, "/OVS/running_pool/b"), "/OVS/running_pool/c");
	CHECK_STR(find(s, "", NULL), "");
	/* Two guests, one uuid (a copied vm.cfg, a db tool): both, in path order. */
	put_guest(s, "/OVS/running_pool/d", U1);
	put_guest(s, "/OVS/running_pool/a", U1);
	CHECK_STR(index_of(s, U1), "/OVS/running_pool/a\n/OVS/running_pool/b\n/OVS/running_pool/d");
	CHECK_STR(find(s, U1, "/OVS/running_pool/a"), "/OVS/running_pool/b");
	put_guest(s, "/OVS/running_pool/b", U1);          /* a rewrite moves nothing */
	CHECK_STR(index_of(s, U1), "/OVS/running_pool/a\n/OVS/running_pool/b\n/OVS/running_pool/d");
	CHECK_INT(guests_update(s, "/OVS/running_pool/b", set_uuid, U2, err, sizeof(err)), 0);
	CHECK_STR(index_of(s, U1), "/OVS/running_pool/a\n/OVS/running_pool/d");
	CHECK_STR(index_of(s, U2), "/OVS/running_pool/b\n/OVS/running_pool/c");
	CHECK_INT(guests_update(s, "/OVS/running_pool/d", set_uuid, "refuse", err, sizeof(err)), -2);
	CHECK_STR(index_of(s, "changed-then-refused"), "(none)");
	CHECK_STR(index_of(s, U1), "/OVS/running_pool/a\n/OVS/running_pool/d");
	CHECK_INT(guests_update(s, "/OVS/running_pool/d", set_uuid, NULL, err, sizeof(err)), 2);
	CHECK_INT(guests_del(s, "/OVS/running_pool/a", err, sizeof(err)), 1);
	CHECK_STR(index_of(s, U1), "(none)");
	CHECK_STR(find(s, U1, NULL), "");
	CHECK_INT(guests_del(s, "/OVS/running_pool/c", err, sizeof(err)), 1);
	CHECK_STR(index_of(s, U2), "/OVS/running_pool/b");
	CHECK_INT(guests_update(s, "/OVS/running_pool/new", set_uuid, U1, err, sizeof(err)), 0);
	CHECK_STR(find(s, U1, NULL), "/OVS/running_pool/new");
	/* Too long to be a uuid: kept in the record, not indexed. */
	memset(longu, 'f', sizeof(longu) - 1);
	longu[sizeof(longu) - 1] = '\0';
	put_guest(s, "/OVS/running_pool/long", longu);
	CHECK_STR(find(s, longu, NULL), "");
	store_close(s);
out:
	remove_db_dir(d);
}

/* A db as an agent of schema 1 left it: tables meta and vm, no index. */
static void write_schema1_db(const char *d)
{
	static const char *const rec[][2] = {
		{ "/OVS/running_pool/b", "name=b\nuuid=" U1 "\nstatus=DOWN\n" },
		{ "/OVS/running_pool/a", "name=a\nuuid=" U1 "\nstatus=RUNNING\n" },
		{ "/OVS/running_pool/c", "uuid=" U2 "\n" },
		{ "/OVS/running_pool/no_uuid", "status=DOWN\n" },
		{ "/OVS/running_pool/broken", "uuid=" U2 "\nno equals sign\n" },
	};
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta, vm;
	MDB_val k = { 6, "schema" }, v = { 1, "1" };

	CHECK_INT(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 4);
	CHECK_INT(mdb_env_open(env, d, 0, 0600), 0);
	CHECK_INT(mdb_txn_begin(env, NULL, 0, &txn), 0);
	CHECK_INT(mdb_dbi_open(txn, "meta", MDB_CREATE, &meta), 0);
	CHECK_INT(mdb_dbi_open(txn, "vm", MDB_CREATE, &vm), 0);
	CHECK_INT(mdb_put(txn, meta, &k, &v, 0), 0);
	for (size_t i = 0; i < ARRAY_SIZE(rec); i++) {
		k = (MDB_val){ strlen(rec[i][0]), (void *)rec[i][0] };
		v = (MDB_val){ strlen(rec[i][1]), (void *)rec[i][1] };
		CHECK_INT(mdb_put(txn, vm, &k, &v, 0), 0);
	}
	CHECK_INT(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

TEST(store_schema1_db_gets_its_uuid_index_on_open)
{
	char *d = new_db_dir(), *v = NULL;
	struct store *s;

	write_schema1_db(d);
	s = store_open_existing(d, err, sizeof(err));      /* what the db tools do */
	CHECK(s != NULL);
	if (!s)
		goto out;
	CHECK_INT(store_get(s, "meta", "schema", &v, err, sizeof(err)), 1);
	CHECK_INT(atoi(v), STORE_SCHEMA);
	free(v);
	CHECK_STR(index_of(s, U1), "/OVS/running_pool/a\n/OVS/running_pool/b");
	CHECK_STR(index_of(s, U2), "/OVS/running_pool/c");     /* not the damaged one */
	CHECK_STR(find(s, U2, NULL), "/OVS/running_pool/c");
	/* Kept from then on. */
	CHECK_INT(guests_del(s, "/OVS/running_pool/a", err, sizeof(err)), 1);
	CHECK_STR(find(s, U1, NULL), "/OVS/running_pool/b");
	store_close(s);
	s = store_open(d, true, err, sizeof(err));           /* a second open builds nothing */
	CHECK(s != NULL);
	if (s)
		CHECK_STR(index_of(s, U1), "/OVS/running_pool/b");
	store_close(s);
out:
	remove_db_dir(d);
}

struct view_list {
	struct buf b;
	bool view;
};

static int view_collect(const char *path, size_t plen, const struct record_field *f, size_t n,
			void *arg)
{
	struct view_list *l = arg;

	buf_printf(&l->b, "%.*s:", (int)plen, path);
	for (size_t i = 0; i < n; i++)
		buf_printf(&l->b, " %.*s=%.*s", (int)f[i].klen, f[i].key, (int)f[i].vlen, f[i].val);
	buf_puts(&l->b, "\n");
	return 0;
}

static int each_collect(const char *path, const struct record *rec, void *arg)
{
	struct view_list *l = arg;

	buf_printf(&l->b, "%s:", path);
	for (size_t i = 0; i < rec->n; i++)
		buf_printf(&l->b, " %s=%s", rec->keys[i], rec->vals[i]);
	buf_puts(&l->b, "\n");
	return 0;
}

TEST(guests_each_view_gives_what_guests_each_gives)
{
	char *d = new_db_dir();
	struct store *s = store_open(d, true, err, sizeof(err));
	struct view_list a, b;
	struct buf many;

	buf_init(&a.b, 0);
	buf_init(&b.b, 0);
	buf_init(&many, 0);
	CHECK(s != NULL);
	if (!s)
		goto out;
	for (int i = 0; i < 100; i++)             /* more fields than a scan holds */
		buf_printf(&many, "f%d=%d\n", i, i);
	put_guest(s, "/OVS/running_pool/plain", U1);
	store_put(s, GUESTS_TABLE, "/OVS/running_pool/many", many.data, err, sizeof(err));
	buf_puts(&many, "then a bad line\n");
	store_put(s, GUESTS_TABLE, "/OVS/running_pool/many_broken", many.data, err, sizeof(err));
	store_put(s, GUESTS_TABLE, "/OVS/running_pool/dup", "a=1\nb=2\na=3\n", err, sizeof(err));
	store_put(s, GUESTS_TABLE, "/OVS/running_pool/broken", "x", err, sizeof(err));
	store_put(s, GUESTS_TABLE, "/OVS/running_pool/empty", "", err, sizeof(err));
	CHECK_INT(guests_each_view(s, view_collect, &a, err, sizeof(err)), 0);
	CHECK_INT(guests_each(s, each_collect, &b, err, sizeof(err)), 0);
	CHECK_STR(a.b.data, b.b.data);
	CHECK(strstr(a.b.data, "/OVS/running_pool/broken: status=ERROR error=damaged db record\n"));
	CHECK(strstr(a.b.data, "/OVS/running_pool/dup: a=3 b=2\n"));
	CHECK(strstr(a.b.data, "/OVS/running_pool/many_broken: status=ERROR error=damaged db"));
	store_close(s);
out:
	buf_free(&a.b);
	buf_free(&b.b);
	buf_free(&many);
	remove_db_dir(d);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(record_set_get_replace);
	RUN(record_refuses_bad_keys_and_newlines);
	RUN(record_del_keeps_order);
	RUN(record_get_int);
	RUN(record_format_parse_round_trip);
	RUN(record_parse_edges);
	RUN(store_put_get_del);
	RUN(store_tables_are_separate_and_persist);
	RUN(store_each_key_order_and_stop);
	RUN(store_open_without_create);
	RUN(store_newer_schema_refused);
	RUN(store_current_schema_accepted);
	RUN(store_two_processes);
	RUN(guest_status_names);
	RUN(guest_path_for_names_and_paths);
	RUN(guest_key_spellings);
	RUN(guests_put_get_stamps);
	RUN(guests_each_in_path_order_and_damaged_records);
	RUN(record_scan_reads_as_record_parse);
	RUN(store_txn_several_tables_all_or_nothing);
	RUN(guests_uuid_index_follows_every_write);
	RUN(store_schema1_db_gets_its_uuid_index_on_open);
	RUN(guests_each_view_gives_what_guests_each_gives);
	rmdir(dir);
	return harness_done();
}
