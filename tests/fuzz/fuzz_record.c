/* fuzz_record.c - libFuzzer target for the db record parser and writer.
 *
 * The input goes to record_parse as (pointer, length) in a heap copy of
 * exactly that size, so ASan catches a read past the end. A small model
 * of the format, written apart from record.c, says what the parse must
 * give: -1 exactly when a non-empty line has no '=', a key outside
 * [a-z0-9_]+ or a NUL; otherwise each key once, in the order it first
 * appears, with the value of its last line. Then:
 *   - what parsed formats, parses back to the same fields, and formats
 *     again to the same text; input already in that form (no blank or
 *     repeated lines, a final newline) comes back byte for byte;
 *   - get, copy, set and delete agree with the fields and keep their order;
 *   - a failed parse still leaves a record that frees cleanly;
 *   - record_scan (no copy) gives the same fields as views, or -2 when
 *     there are more than it was given room for (maybe before it reaches
 *     a bad line). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "db/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One field as the model sees it: views into the input. */
struct field {
	const char *k, *v;
	size_t kn, vn;
};

static int key_ok(const char *k, size_t n)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
			return 0;
	return 1;
}

/* The model: 0 with fields[*n] (views inside text), or -1. *canon is set
 * when formatting must give back the text itself. */
static int model(const char *text, size_t len, struct field *f, size_t *n, int *canon)
{
	size_t i = 0;

	*n = 0;
	*canon = len == 0 || text[len - 1] == '\n';
	while (i < len) {
		const char *line = text + i, *nl = memchr(line, '\n', len - i), *eq;
		size_t ln = nl ? (size_t)(nl - line) : len - i, j;

		i += ln + (nl ? 1 : 0);
		if (!ln) {
			*canon = 0;
			continue;
		}
		eq = memchr(line, '=', ln);
		if (!eq || memchr(line, '\0', ln) || !key_ok(line, (size_t)(eq - line)))
			return -1;
		for (j = 0; j < *n; j++)
			if (f[j].kn == (size_t)(eq - line) && memcmp(f[j].k, line, f[j].kn) == 0)
				break;
		if (j == *n) {
			f[j].k = line;
			f[j].kn = (size_t)(eq - line);
			(*n)++;
		} else {
			*canon = 0;
		}
		f[j].v = eq + 1;
		f[j].vn = ln - f[j].kn - 1;
	}
	return 0;
}

static int same_view(const char *s, const char *p, size_t n)
{
	return strlen(s) == n && memcmp(s, p, n) == 0;
}

static int same_record(const struct record *a, const struct record *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->keys[i], b->keys[i]) != 0 || strcmp(a->vals[i], b->vals[i]) != 0)
			return 0;
	return 1;
}

/* format -> parse -> same fields; format again -> same text. */
static char *round_trip(const struct record *r)
{
	struct record back;
	char *text = record_format(r), *again;

	record_init(&back);
	if (record_parse(&back, text, strlen(text)) != 0 || !same_record(r, &back))
		abort();
	again = record_format(&back);
	if (strcmp(text, again) != 0)
		abort();
	free(again);
	record_free(&back);
	return text;
}

/* Edit a copy: replace every value (places kept), delete every other key. */
static void edit(const struct record *r)
{
	struct record c;
	size_t n = r->n;

	record_copy(&c, r);
	if (!same_record(&c, r))
		abort();
	for (size_t i = 0; i < n; i++) {
		if (record_set(&c, r->keys[i], "x=y") != 0 || c.n != n ||
		    strcmp(c.keys[i], r->keys[i]) != 0 || strcmp(record_get(&c, r->keys[i]), "x=y") != 0)
			abort();
		if (record_set(&c, r->keys[i], "a\nb") != -1)
			abort();
	}
	for (size_t i = 0; i < n; i += 2)
		if (record_del(&c, r->keys[i]) != 1 || record_del(&c, r->keys[i]) != 0 ||
		    record_get(&c, r->keys[i]) != NULL)
			abort();
	if (c.n != n / 2)
		abort();
	for (size_t i = 0; i < c.n; i++)
		if (strcmp(c.keys[i], r->keys[2 * i + 1]) != 0)
			abort();
	free(round_trip(&c));
	record_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct record r;
	struct field *f = malloc((size / 2 + 1) * sizeof(*f));  /* a field takes >= 2 bytes */
	char *copy = malloc(size ? size : 1), *text;
	size_t n;
	int canon, want, got;

	memcpy(copy, data, size);
	want = model(copy, size, f, &n, &canon);
	record_init(&r);
	got = record_parse(&r, copy, size);
	if (got != want)
		abort();
	{
		struct record_field sf[8];
		int k = record_scan(copy, size, sf, 8);
		/* -2 may come before a bad line is reached. */
		if (want < 0 ? k != -1 && k != -2 : n > 8 ? k != -2 : k != (int)n)
			abort();
		for (int i = 0; i < k; i++)
			if (sf[i].key != f[i].k || sf[i].klen != f[i].kn || sf[i].val != f[i].v ||
			    sf[i].vlen != f[i].vn)
				abort();
	}
	if (got == 0) {
		if (r.n != n)
			abort();
		for (size_t i = 0; i < n; i++) {
			if (!same_view(r.keys[i], f[i].k, f[i].kn) || !same_view(r.vals[i], f[i].v, f[i].vn))
				abort();
			if (record_get(&r, r.keys[i]) != r.vals[i])
				abort();
			(void)record_get_int(&r, r.keys[i], 0);
		}
		text = round_trip(&r);
		if (canon && (strlen(text) != size || memcmp(text, copy, size) != 0))
			abort();
		free(text);
		edit(&r);
	}
	record_free(&r);
	if (r.n != 0 || r.keys || r.vals)
		abort();
	free(copy);
	free(f);
	return 0;
}
