/* storage.c - the storage table, "type\tfs_spec" per uuid. */
#include "db/storage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/store.h"

/* Split a value into out; false when it is not "type\tspec" in bounds. */
static bool parse(const char *uuid, const char *val, size_t len, struct storage *out)
{
	const char *tab = memchr(val, '\t', len);
	size_t tl, sl;

	if (!tab || strlen(uuid) != 36)
		return false;
	tl = (size_t)(tab - val);
	sl = len - tl - 1;
	if (tl == 0 || tl >= sizeof(out->type) || sl == 0 || sl >= sizeof(out->spec) ||
	    memchr(tab + 1, '\0', sl))
		return false;
	memcpy(out->uuid, uuid, 37);
	memcpy(out->type, val, tl);
	out->type[tl] = '\0';
	memcpy(out->spec, tab + 1, sl);
	out->spec[sl] = '\0';
	return true;
}

int storage_get(struct store *s, const char *uuid, struct storage *out, char *err, size_t errlen)
{
	char *val = NULL;
	int r = store_get(s, STORAGE_TABLE, uuid, &val, err, errlen);

	if (r == 1 && !parse(uuid, val, strlen(val), out)) {
		snprintf(err, errlen, "storage %.40s: damaged db record", uuid);
		r = -1;
	}
	free(val);
	return r;
}

struct find { const char *spec; struct storage *out; int found; };

static int match(const char *key, const char *val, size_t vlen, void *arg)
{
	struct find *f = arg;
	struct storage st;

	if (parse(key, val, vlen, &st) && strcmp(st.spec, f->spec) == 0) {
		*f->out = st;
		f->found = 1;
		return 1;
	}
	return 0;
}

int storage_find_spec(struct store *s, const char *spec, struct storage *out, char *err,
		      size_t errlen)
{
	struct find f = { spec, out, 0 };

	if (store_each(s, STORAGE_TABLE, match, &f, err, errlen) != 0)
		return -1;
	return f.found;
}

int storage_put(struct store *s, const struct storage *st, char *err, size_t errlen)
{
	char val[STORAGE_TYPE_MAX + STORAGE_SPEC_MAX + 2];

	snprintf(val, sizeof(val), "%s\t%s", st->type, st->spec);
	return store_put(s, STORAGE_TABLE, st->uuid, val, err, errlen);
}
