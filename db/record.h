/* record.h - one db record: an ordered list of key=value text fields.
 *
 * Records are stored as "key=value\n" lines, so the db tools can show and
 * set any field by name, and a field added by a newer agent survives a
 * rewrite by an older tool. Keys are [a-z0-9_]+; values hold no newline
 * (record_set refuses one). */
#ifndef OVS_RECORD_H
#define OVS_RECORD_H

#include <stddef.h>

struct record {
	size_t n, cap;
	char **keys;    /* owned */
	char **vals;    /* owned */
};

void record_init(struct record *r);
void record_free(struct record *r);
/* dst (uninitialised or freed) becomes a copy of src. */
void record_copy(struct record *dst, const struct record *src);
/* NULL when absent. */
const char *record_get(const struct record *r, const char *key);
long long record_get_int(const struct record *r, const char *key, long long dflt);
/* Add or replace; 0, or -1 for a bad key or a value holding a newline. */
int record_set(struct record *r, const char *key, const char *val);
int record_set_int(struct record *r, const char *key, long long val);
/* 1 removed, 0 absent. */
int record_del(struct record *r, const char *key);
/* Give field `from` the key `to`, in its place; a field `to` already there
 * is removed. 1 renamed, 0 `from` absent, -1 a bad key. */
int record_rename(struct record *r, const char *from, const char *to);
/* Parse "key=value\n" text (replacing r's contents); -1 on a bad line. */
int record_parse(struct record *r, const char *text, size_t len);
/* record_parse without a copy, for readers of many records: fill f[0..max)
 * with views into text. Returns the number of fields, -1 for a bad line
 * (as record_parse), or -2 when the record has more than max fields, which
 * may be found before a bad line is: then use record_parse. Same result as
 * record_parse: a key seen twice keeps its first place and takes its last
 * value. */
struct record_field {
	const char *key, *val;  /* not NUL-terminated */
	size_t klen, vlen;
};
int record_scan(const char *text, size_t len, struct record_field *f, size_t max);

/* malloc'd "key=value\n..." text. */
char *record_format(const struct record *r);

#endif
