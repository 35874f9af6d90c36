/* test_guest_state.c - guest statuses and their one table of names, and
 * the typed view of a guest record (db/guests.c). */
#include "harness.h"
#include "db/guests.h"
#include "db/record.h"
#include "db/store.h"
#include "agent/base/util.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

TEST(status_names_round_trip)
{
	static const char *const names[] = { "RUNNING", "DOWN", "PAUSED", "SUSPEND", "ERROR",
					     "STARTING", "STOPPING", "MIGRATING" };

	CHECK_INT(GS_COUNT, ARRAY_SIZE(names) + 1);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		enum guest_status s = guest_status_parse(names[i]);
		CHECK(s != GS_NONE);
		CHECK_STR(guest_status_name(s), names[i]);
	}
	CHECK(guest_status_name(GS_NONE) == NULL);
	CHECK(guest_status_name(GS_COUNT) == NULL);
	CHECK_STR(GUEST_DOWN, "DOWN");
	CHECK_STR(GUEST_MIGRATING, "MIGRATING");
}

TEST(status_parse_is_exact)
{
	static const char *const bad[] = { "", "down", "Running", "RUNNINGX", "SUSPENDED",
					   " DOWN", "DOWN ", "NONE" };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK_INT(guest_status_parse(bad[i]), GS_NONE);
	CHECK_INT(guest_status_parse(NULL), GS_NONE);
}

TEST(status_join_lists_in_enum_order)
{
	char buf[128];

	CHECK_STR(guest_status_join(GS_ALL, ", ", " or ", buf, sizeof(buf)),
		  "RUNNING, DOWN, PAUSED, SUSPEND, ERROR, STARTING, STOPPING or MIGRATING");
	CHECK_STR(guest_status_join(GS_BIT(GS_ERROR) | GS_BIT(GS_DOWN), ",", ",", buf, sizeof(buf)),
		  "DOWN,ERROR");
	CHECK_STR(guest_status_join(GS_BIT(GS_SUSPEND), ",", ",", buf, sizeof(buf)), "SUSPEND");
	CHECK_STR(guest_status_join(0, ",", ",", buf, sizeof(buf)), "");
	/* GS_NONE has no name, so it never shows. */
	CHECK_STR(guest_status_join(GS_BIT(GS_NONE) | GS_BIT(GS_PAUSED), ",", ",", buf,
				    sizeof(buf)), "PAUSED");
	/* A short buffer is cut, still terminated. */
	CHECK_STR(guest_status_join(GS_ALL, ", ", ", ", buf, 8), "RUNNING");
}

/* ---- record <-> struct ---------------------------------------------------- */

static const char every_field[] =
	"name=g1\nuuid=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\nmemory=512\nvcpus=2\nha=0\n"
	"status=RUNNING\ncreated=1000\nupdated=2000\nhost=localhost\nop=stop\n"
	"op_started=1700000000\nsave_file=/OVS/running_pool/g1/vm.state\nerror=it crashed\n"
	"hv_id=7\nvnc_port=-1\nfuture_field=a=b\n";

/* A record parsed from text, viewed. */
static void view(struct guest_state *g, const char *text)
{
	struct record r;

	record_init(&r);
	CHECK_INT(record_parse(&r, text, strlen(text)), 0);
	guest_state_adopt(g, &r);
	CHECK_INT(r.n, 0);      /* taken over */
	record_free(&r);
}

/* g's record as text equals want. */
static void check_text(const struct guest_state *g, const char *want)
{
	char *text = record_format(&g->rec);

	CHECK_STR(text, want);
	free(text);
}

TEST(read_decodes_every_field)
{
	struct guest_state g;

	view(&g, every_field);
	CHECK_INT(g.status, GS_RUNNING);
	CHECK_STR(g.name, "g1");
	CHECK_STR(g.uuid, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
	CHECK_STR(g.host, "localhost");
	CHECK_STR(g.op, "stop");
	CHECK_STR(g.save_file, "/OVS/running_pool/g1/vm.state");
	CHECK_STR(g.error, "it crashed");
	CHECK_INT(g.memory, 512);
	CHECK_INT(g.vcpus, 2);
	CHECK_INT(g.ha, 0);
	CHECK_INT(g.op_started, 1700000000);
	CHECK_INT(g.hv_id, 7);
	CHECK_INT(g.vnc_port, -1);      /* a value, not "absent" */
	check_text(&g, every_field);    /* reading changes nothing */
	guest_state_free(&g);
}

TEST(absent_fields_read_as_absent)
{
	struct guest_state g;

	guest_state_init(&g);
	CHECK_INT(g.status, GS_NONE);
	CHECK(!g.name && !g.uuid && !g.host && !g.op && !g.save_file && !g.error);
	CHECK_INT(g.memory, GUEST_NO_INT);
	CHECK_INT(g.hv_id, GUEST_NO_INT);
	CHECK_INT(g.op_started, GUEST_NO_INT);
	check_text(&g, "");
	guest_state_free(&g);
}

TEST(words_it_does_not_know_are_kept)
{
	static const char text[] = "status=SLEEPING\nmemory=lots\nhv_id=\nname=x\n";
	struct guest_state g;

	view(&g, text);
	CHECK_INT(g.status, GS_NONE);
	CHECK_INT(g.memory, GUEST_NO_INT);
	CHECK_INT(g.hv_id, GUEST_NO_INT);
	CHECK_STR(g.name, "x");
	check_text(&g, text);           /* not rewritten unless set */
	guest_set_int(&g, GF_MEMORY, 1024);
	CHECK_INT(g.memory, 1024);
	check_text(&g, "status=SLEEPING\nmemory=1024\nhv_id=\nname=x\n");
	guest_unset(&g, GF_HV_ID);      /* removed even when not a number */
	guest_set_status(&g, GS_ERROR);
	check_text(&g, "status=ERROR\nmemory=1024\nname=x\n");
	guest_state_free(&g);
}

TEST(set_in_place_add_at_the_end_remove)
{
	struct guest_state g;

	view(&g, "name=g\nstatus=DOWN\nfuture=1\nhv_id=3\n");
	guest_set_status(&g, GS_STARTING);
	CHECK_INT(g.status, GS_STARTING);
	CHECK_INT(guest_set(&g, GF_OP, "start"), 0);
	guest_set_int(&g, GF_OP_STARTED, 1234);
	guest_unset(&g, GF_HV_ID);
	CHECK_INT(g.hv_id, GUEST_NO_INT);
	CHECK_STR(g.op, "start");
	CHECK_INT(g.op_started, 1234);
	check_text(&g, "name=g\nstatus=STARTING\nfuture=1\nop=start\nop_started=1234\n");
	/* A value holding a newline is refused and changes nothing. */
	CHECK_INT(guest_set(&g, GF_OP, "x\ny"), -1);
	CHECK_STR(g.op, "start");
	CHECK_INT(guest_set(&g, GF_HOST, "a\n"), -1);
	CHECK(g.host == NULL);
	/* Except an error message: it is kept, on one line. */
	CHECK_INT(guest_set(&g, GF_ERROR, "qemu said:\r\nno\n"), 0);
	CHECK_STR(g.error, "qemu said:  no ");
	/* Setting a field to its own value is safe (the view owns its copies). */
	CHECK_INT(guest_set(&g, GF_NAME, g.name), 0);
	CHECK_STR(g.name, "g");
	guest_unset(&g, GF_OP);
	guest_unset(&g, GF_OP_STARTED);
	guest_unset(&g, GF_HOST);       /* absent already: nothing happens */
	CHECK(g.op == NULL);
	check_text(&g, "name=g\nstatus=STARTING\nfuture=1\nerror=qemu said:  no \n");
	guest_unset(&g, GF_ERROR);
	CHECK(g.error == NULL);
	guest_set_status(&g, GS_NONE);
	CHECK_INT(g.status, GS_NONE);
	check_text(&g, "name=g\nfuture=1\n");
	guest_state_free(&g);
}

TEST(every_field_has_its_own_key)
{
	static const struct {
		enum guest_field f;
		const char *key;
	} text_fields[] = {
		{ GF_NAME, "name" }, { GF_UUID, "uuid" }, { GF_HOST, "host" }, { GF_OP, "op" },
		{ GF_SAVE_FILE, "save_file" }, { GF_ERROR, "error" },
	}, int_fields[] = {
		{ GF_MEMORY, "memory" }, { GF_VCPUS, "vcpus" }, { GF_HA, "ha" },
		{ GF_OP_STARTED, "op_started" }, { GF_HV_ID, "hv_id" }, { GF_VNC_PORT, "vnc_port" },
	};
	struct guest_state g;

	CHECK_INT(ARRAY_SIZE(text_fields) + ARRAY_SIZE(int_fields) + 1, GF_COUNT);
	guest_state_init(&g);
	for (size_t i = 0; i < ARRAY_SIZE(text_fields); i++) {
		CHECK_INT(guest_set(&g, text_fields[i].f, text_fields[i].key), 0);
		CHECK_INT(g.rec.n, i + 1);
		CHECK_STR(record_get(&g.rec, text_fields[i].key), text_fields[i].key);
	}
	for (size_t i = 0; i < ARRAY_SIZE(int_fields); i++) {
		guest_set_int(&g, int_fields[i].f, (long long)i * 10 - 5);
		CHECK_INT(record_get_int(&g.rec, int_fields[i].key, 999), (long long)i * 10 - 5);
	}
	guest_set_status(&g, GS_SUSPEND);
	CHECK_STR(record_get(&g.rec, "status"), "SUSPEND");
	CHECK_INT(g.rec.n, GF_COUNT);
	/* The view read back from the record it wrote is the same view. */
	{
		struct guest_state back;
		guest_state_read(&back, &g.rec);
		CHECK_STR(back.name, "name");
		CHECK_STR(back.error, "error");
		CHECK_STR(back.save_file, "save_file");
		CHECK_INT(back.vnc_port, 45);
		CHECK_INT(back.memory, -5);
		CHECK_INT(back.status, GS_SUSPEND);
		guest_unset(&back, GF_NAME);       /* a copy: g keeps its own */
		CHECK_STR(g.name, "name");
		guest_state_free(&back);
	}
	guest_state_free(&g);
}

/* ---- record_rename --------------------------------------------------------- */

TEST(record_rename_keeps_the_place)
{
	struct record r;
	char *text;

	record_init(&r);
	record_parse(&r, "a=1\nb=2\nc=3\n", 12);
	CHECK_INT(record_rename(&r, "b", "x"), 1);
	CHECK_INT(record_rename(&r, "nope", "y"), 0);
	CHECK_INT(record_rename(&r, "a", "Bad Key"), -1);
	CHECK_INT(record_rename(&r, "x", "c"), 1);      /* the old c goes */
	CHECK_INT(record_rename(&r, "a", "a"), 1);
	text = record_format(&r);
	CHECK_STR(text, "a=1\nc=2\n");
	free(text);
	record_free(&r);
}

/* ---- records of the older format: last_error folded into error ------------- */

/* A record of the older format read through the view: its text now, and
 * whether the view says it changed. */
static void check_fold(const char *old, const char *want, bool upgraded)
{
	struct guest_state g;

	view(&g, old);
	check_text(&g, want);
	CHECK_INT(g.upgraded, upgraded);
	guest_state_free(&g);
}

TEST(last_error_of_older_records_read_as_error)
{
	struct guest_state g;

	/* Only last_error: it becomes error, in its place. */
	check_fold("name=g\nstatus=DOWN\nlast_error=start failed\nhost=localhost\n",
		   "name=g\nstatus=DOWN\nerror=start failed\nhost=localhost\n", true);
	/* Both, and the guest is not ERROR: the error it had is over; the last
	 * failure is what the record says now. */
	check_fold("status=RUNNING\nerror=the guest crashed\nlast_error=stop failed\n",
		   "status=RUNNING\nerror=stop failed\n", true);
	/* Both, and the guest is ERROR: error explains that; it stays. */
	check_fold("status=ERROR\nerror=the guest crashed\nlast_error=start failed\nx=1\n",
		   "status=ERROR\nerror=the guest crashed\nx=1\n", true);
	/* The current format: nothing to do. */
	check_fold("name=g\nstatus=ERROR\nerror=e\n", "name=g\nstatus=ERROR\nerror=e\n", false);
	/* The copy is brought up to date; the record read is not touched. */
	{
		struct record r;
		record_init(&r);
		record_parse(&r, "status=DOWN\nlast_error=x\n", 25);
		guest_state_read(&g, &r);
		CHECK_STR(g.error, "x");
		CHECK_STR(record_get(&r, "last_error"), "x");
		CHECK(record_get(&g.rec, "last_error") == NULL);
		guest_state_free(&g);
		record_free(&r);
	}
}

static char dir[] = "/tmp/test_guest_state.XXXXXX";
static char err[1024];

/* Remove a db directory the store made (its two files). */
static void remove_db(const char *d)
{
	static const char *const files[] = { "data.mdb", "lock.mdb" };

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		char *p = xasprintf("%s/%s", d, files[i]);
		unlink(p);
		free(p);
	}
	rmdir(d);
}

/* A db as the previous agent left it: a guest that failed an operation,
 * one that never did, a damaged record and another table. */
static void write_old_db(const char *d)
{
	struct store *s = store_open(d, true, err, sizeof(err));

	CHECK(s != NULL);
	if (!s)
		return;
	/* Written by the previous version: schema 1, no uuid index yet. */
	CHECK_INT(store_put(s, "meta", "schema", "1", err, sizeof(err)), 0);
	CHECK_INT(store_put(s, GUESTS_TABLE, "/OVS/running_pool/a",
			    "name=a\nstatus=DOWN\ncreated=5\nupdated=6\nlast_error=no memory\n",
			    err, sizeof(err)), 0);
	CHECK_INT(store_put(s, GUESTS_TABLE, "/OVS/running_pool/b",
			    "name=b\nstatus=RUNNING\ncreated=5\nupdated=6\n", err, sizeof(err)), 0);
	CHECK_INT(store_put(s, GUESTS_TABLE, "/OVS/running_pool/c", "damaged", err,
			    sizeof(err)), 0);
	CHECK_INT(store_put(s, "pool", "last_error", "x", err, sizeof(err)), 0);
	store_close(s);
}

static void check_value(struct store *s, const char *table, const char *key, const char *want)
{
	char *v = NULL;

	CHECK_INT(store_get(s, table, key, &v, err, sizeof(err)), 1);
	CHECK_STR(v, want);
	free(v);
}

static int write_back(struct guest_state *g, bool exists, void *arg, char *e, size_t elen)
{
	return 0;
}

TEST(old_db_loads_and_is_brought_up_to_date_record_by_record)
{
	char *d = xasprintf("%s/old", dir);
	struct store *s;
	struct guest_state g;
	char *v = NULL;

	mkdir(d, 0700);
	write_old_db(d);
	s = store_open(d, false, err, sizeof(err));
	CHECK(s != NULL);
	if (!s)
		goto out;
	/* Opening it builds the uuid index (schema 2); the records themselves
	 * are brought up to date one by one, as they are written. */
	check_value(s, "meta", "schema", "2");
	CHECK_INT(STORE_SCHEMA, 2);
	/* Reading changes nothing on disk... */
	CHECK_INT(guest_state_get(s, "/OVS/running_pool/a", &g, err, sizeof(err)), 1);
	CHECK_STR(g.error, "no memory");
	CHECK_INT(g.status, GS_DOWN);
	CHECK(g.upgraded);
	guest_state_free(&g);
	check_value(s, GUESTS_TABLE, "/OVS/running_pool/a",
		    "name=a\nstatus=DOWN\ncreated=5\nupdated=6\nlast_error=no memory\n");
	/* ...writing it back brings it up to date. */
	CHECK_INT(guest_state_update(s, "/OVS/running_pool/a", write_back, NULL, err, sizeof(err)),
		  0);
	CHECK_INT(store_get(s, GUESTS_TABLE, "/OVS/running_pool/a", &v, err, sizeof(err)), 1);
	CHECK(v && strncmp(v, "name=a\nstatus=DOWN\ncreated=5\nupdated=", 37) == 0);
	CHECK(v && strstr(v, "\nerror=no memory\n") && !strstr(v, "last_error"));
	free(v);
	CHECK_INT(guest_state_get(s, "/OVS/running_pool/b", &g, err, sizeof(err)), 1);
	CHECK(!g.upgraded && !g.error);
	guest_state_free(&g);
	CHECK_INT(guest_state_get(s, "/OVS/running_pool/c", &g, err, sizeof(err)), -1);
	guest_state_free(&g);
	check_value(s, "pool", "last_error", "x");      /* other tables are not guests */
	store_close(s);
out:
	remove_db(d);
	free(d);
}

/* ---- through the store --------------------------------------------------- */

static int stop_it(struct guest_state *g, bool exists, void *arg, char *e, size_t elen)
{
	if (!exists) {
		snprintf(e, elen, "gone");
		return -2;
	}
	guest_set_status(g, GS_DOWN);
	guest_unset(g, GF_HV_ID);
	return *(int *)arg;
}

TEST(update_through_the_view_keeps_other_fields)
{
	struct store *s = store_open(dir, true, err, sizeof(err));
	struct guest_state g;
	struct record r;
	int keep = 0;

	CHECK(s != NULL);
	if (!s)
		return;
	CHECK_INT(guest_state_get(s, "/OVS/running_pool/g", &g, err, sizeof(err)), 0);
	CHECK_INT(g.status, GS_NONE);
	guest_set(&g, GF_NAME, "g");
	guest_set_status(&g, GS_RUNNING);
	guest_set_int(&g, GF_HV_ID, 4);
	CHECK_INT(guest_state_put(s, "/OVS/running_pool/g", &g, err, sizeof(err)), 0);
	guest_state_free(&g);
	/* A db tool adds a field of its own meanwhile. */
	CHECK_INT(guests_get(s, "/OVS/running_pool/g", &r, err, sizeof(err)), 1);
	record_set(&r, "note", "kept");
	CHECK_INT(guests_put(s, "/OVS/running_pool/g", &r, err, sizeof(err)), 0);
	record_free(&r);
	CHECK_INT(guest_state_update(s, "/OVS/running_pool/g", stop_it, &keep, err, sizeof(err)), 0);
	CHECK_INT(guest_state_get(s, "/OVS/running_pool/g", &g, err, sizeof(err)), 1);
	CHECK_INT(g.status, GS_DOWN);
	CHECK_INT(g.hv_id, GUEST_NO_INT);
	CHECK_STR(record_get(&g.rec, "note"), "kept");
	CHECK(record_get(&g.rec, "updated") != NULL);
	guest_state_free(&g);
	/* fn's refusal passes through and writes nothing. */
	CHECK_INT(guest_state_update(s, "/OVS/running_pool/none", stop_it, &keep, err,
				     sizeof(err)), -2);
	CHECK_STR(err, "gone");
	CHECK_INT(guests_get(s, "/OVS/running_pool/none", &r, err, sizeof(err)), 0);
	record_free(&r);
	store_close(s);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(status_names_round_trip);
	RUN(status_parse_is_exact);
	RUN(status_join_lists_in_enum_order);
	RUN(read_decodes_every_field);
	RUN(absent_fields_read_as_absent);
	RUN(words_it_does_not_know_are_kept);
	RUN(set_in_place_add_at_the_end_remove);
	RUN(every_field_has_its_own_key);
	RUN(update_through_the_view_keeps_other_fields);
	RUN(record_rename_keeps_the_place);
	RUN(last_error_of_older_records_read_as_error);
	RUN(old_db_loads_and_is_brought_up_to_date_record_by_record);
	remove_db(dir);
	return harness_done();
}
