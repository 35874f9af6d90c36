/* record.c - key=value records for the db. */
#include "db/record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/base/buf.h"
#include "agent/base/util.h"

void record_init(struct record *r) { memset(r, 0, sizeof(*r)); }

void record_free(struct record *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->keys[i]);
		free(r->vals[i]);
	}
	free(r->keys);
	free(r->vals);
	memset(r, 0, sizeof(*r));
}

void record_copy(struct record *dst, const struct record *src)
{
	record_init(dst);
	for (size_t i = 0; i < src->n; i++)
		record_set(dst, src->keys[i], src->vals[i]);
}

static long find(const struct record *r, const char *key)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->keys[i], key) == 0)
			return (long)i;
	return -1;
}

const char *record_get(const struct record *r, const char *key)
{
	long i = find(r, key);

	return i < 0 ? NULL : r->vals[i];
}

long long record_get_int(const struct record *r, const char *key, long long dflt)
{
	const char *v = record_get(r, key);
	char *end;
	long long x;

	if (!v || !*v)
		return dflt;
	x = strtoll(v, &end, 10);
	return *end ? dflt : x;
}

static int valid_key_n(const char *k, size_t n)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
			return 0;
	return 1;
}

static int valid_key(const char *k) { return valid_key_n(k, strlen(k)); }

int record_set(struct record *r, const char *key, const char *val)
{
	long i;

	if (!valid_key(key) || strchr(val, '\n'))
		return -1;
	if ((i = find(r, key)) >= 0) {
		free(r->vals[i]);
		r->vals[i] = xstrdup(val);
		return 0;
	}
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->keys = xrealloc(r->keys, r->cap * sizeof(*r->keys));
		r->vals = xrealloc(r->vals, r->cap * sizeof(*r->vals));
	}
	r->keys[r->n] = xstrdup(key);
	r->vals[r->n] = xstrdup(val);
	r->n++;
	return 0;
}

int record_set_int(struct record *r, const char *key, long long val)
{
	char n[32];

	snprintf(n, sizeof(n), "%lld", val);
	return record_set(r, key, n);
}

int record_del(struct record *r, const char *key)
{
	long i = find(r, key);

	if (i < 0)
		return 0;
	free(r->keys[i]);
	free(r->vals[i]);
	memmove(&r->keys[i], &r->keys[i + 1], (r->n - (size_t)i - 1) * sizeof(*r->keys));
	memmove(&r->vals[i], &r->vals[i + 1], (r->n - (size_t)i - 1) * sizeof(*r->vals));
	r->n--;
	return 1;
}

int record_rename(struct record *r, const char *from, const char *to)
{
	long i;

	if (!valid_key(to))
		return -1;
	if (find(r, from) < 0)
		return 0;
	if (strcmp(from, to) != 0)
		record_del(r, to);
	i = find(r, from);
	free(r->keys[i]);
	r->keys[i] = xstrdup(to);
	return 1;
}

int record_parse(struct record *r, const char *text, size_t len)
{
	size_t i = 0;

	record_free(r);
	while (i < len) {
		const char *line = text + i, *nl = memchr(line, '\n', len - i), *eq;
		size_t n = nl ? (size_t)(nl - line) : len - i;
		char *k, *v;
		int bad;

		i += n + (nl ? 1 : 0);
		if (!n)
			continue;
		eq = memchr(line, '=', n);
		if (!eq)
			return -1;
		k = xstrndup(line, (size_t)(eq - line));
		v = xstrndup(eq + 1, n - (size_t)(eq - line) - 1);
		bad = memchr(line, '\0', n) != NULL || record_set(r, k, v) != 0;
		free(k);
		free(v);
		if (bad)
			return -1;
	}
	return 0;
}

int record_scan(const char *text, size_t len, struct record_field *f, size_t max)
{
	size_t i = 0, n = 0;

	/* A NUL is in some non-empty line, which makes the record bad: one
	 * look at the whole text, not one per line. */
	if (memchr(text, '\0', len))
		return -1;
	while (i < len) {
		const char *line = text + i, *nl = memchr(line, '\n', len - i), *eq;
		size_t ln = nl ? (size_t)(nl - line) : len - i, j, klen;

		i += ln + (nl ? 1 : 0);
		if (!ln)
			continue;
		eq = memchr(line, '=', ln);
		if (!eq || !valid_key_n(line, klen = (size_t)(eq - line)))
			return -1;
		for (j = 0; j < n; j++)
			if (f[j].klen == klen && memcmp(f[j].key, line, klen) == 0)
				break;
		if (j == n) {
			if (n == max)
				return -2;
			f[n].key = line;
			f[n++].klen = klen;
		}
		f[j].val = eq + 1;
		f[j].vlen = ln - klen - 1;
	}
	return (int)n;
}

char *record_format(const struct record *r)
{
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < r->n; i++)
		buf_printf(&b, "%s=%s\n", r->keys[i], r->vals[i]);
	return buf_steal(&b, NULL);
}
