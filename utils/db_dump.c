/* db_dump - list a table of the agent's db.
 *
 *   db_dump [--config PATH] [vm|pool|meta|sim]
 *
 * vm (the default): one line per guest, in path order,
 *   "<path> status=<s> name=<n> uuid=<u> <field>=<value>..."
 * pool, meta: one "<key>=<value>" line per key, in key order.
 * sim: the simulated hypervisor's guests, "<uuid> name=... state=..." (tests
 * compare it with the vm table).
 * Reads one consistent snapshot, so it is safe while the agent runs.
 * Exit 0 done, 1 error, 2 usage. */
#include "db/guests.h"
#include "db/record.h"
#include "db/store.h"
#include "agent/base/util.h"
#include "utils/tool.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG "db_dump"

/* Shown first, in this order, because they are what a person looks for;
 * the other fields follow in record order. */
static const char *const lead_fields[] = { "status", "name", "uuid" };

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " [--config PATH] [vm|pool|meta|sim]\n"
		"List a table of the agent's db: vm (default) prints one line per guest,\n"
		"\"<path> status=.. name=.. uuid=.. <field>=<value>...\", in path order;\n"
		"pool and meta print one <key>=<value> line per key; sim lists the\n"
		"simulated hypervisor's guests, one per line.\n"
		"  --config PATH  agent.ini to read (default $OVS_AGENT_CONFIG, else\n"
		"                 " TOOL_DEFAULT_CONFIG ")\n"
		"Exit 0 done, 1 error, 2 usage.\n");
}

/* 0 with *table set, 1 for --help, -1 on a usage error. */
static int parse_args(struct tool *t, int argc, char **argv, const char **table)
{
	int first, r;

	*table = GUESTS_TABLE;
	if ((r = tool_options(t, argc, argv, NULL, &first)) != 0)
		return r;
	if (argc - first > 1)
		return -1;
	if (argc - first == 1)
		*table = argv[first];
	if (strcmp(*table, GUESTS_TABLE) != 0 && strcmp(*table, "pool") != 0 &&
	    strcmp(*table, "meta") != 0 && strcmp(*table, "sim") != 0) {
		fprintf(stderr, PROG ": unknown table \"%s\" (vm, pool, meta or sim)\n", *table);
		return -1;
	}
	return 0;
}

static bool is_lead(const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(lead_fields); i++)
		if (strcmp(key, lead_fields[i]) == 0)
			return true;
	return false;
}

static int print_guest(const char *path, const struct record *rec, void *arg)
{
	fputs(path, stdout);
	for (size_t i = 0; i < ARRAY_SIZE(lead_fields); i++) {
		const char *v = record_get(rec, lead_fields[i]);
		if (v)
			printf(" %s=%s", lead_fields[i], v);
	}
	for (size_t i = 0; i < rec->n; i++)
		if (!is_lead(rec->keys[i]))
			printf(" %s=%s", rec->keys[i], rec->vals[i]);
	putchar('\n');
	return 0;
}

static int print_key(const char *key, const char *val, size_t vlen, void *arg)
{
	printf("%s=%s\n", key, val);
	return 0;
}

/* A table whose values are records: "<key> field=value ..." per line. */
static int print_record(const char *key, const char *val, size_t vlen, void *arg)
{
	struct record r;

	record_init(&r);
	printf("%s", key);
	if (record_parse(&r, val, vlen) == 0)
		for (size_t i = 0; i < r.n; i++)
			printf(" %s=%s", r.keys[i], r.vals[i]);
	else
		printf(" (damaged record)");
	printf("\n");
	record_free(&r);
	return 0;
}

int main(int argc, char **argv)
{
	struct tool t = { .prog = PROG };
	const char *table;
	struct store *s;
	char err[1024];
	int r = parse_args(&t, argc, argv, &table);

	if (r != 0)
		return tool_usage_exit(r, usage);
	if (tool_open(&t) != 0) {
		tool_close(&t);
		return 1;
	}
	s = t.store;
	if (strcmp(table, GUESTS_TABLE) == 0)
		r = guests_each(s, print_guest, NULL, err, sizeof(err));
	else
		r = store_each(s, table, strcmp(table, "sim") == 0 ? print_record : print_key, NULL,
			       err, sizeof(err));
	if (r != 0)
		fprintf(stderr, PROG ": %s\n", err);
	tool_close(&t);
	return r != 0 || fflush(stdout) != 0 ? 1 : 0;
}
