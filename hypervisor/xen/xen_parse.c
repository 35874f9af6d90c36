/* xen_parse.c - `xl info` text to struct hv_info; `xl list -v` to domains. */
#include "hypervisor/xen/xen_parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STR(field) { #field, sizeof(((struct hv_info *)0)->field), offsetof(struct hv_info, field), 's' }
#define INT(field) { #field, 0, offsetof(struct hv_info, field), 'i' }
#define U64(field) { #field, 0, offsetof(struct hv_info, field), 'u' }

static const struct {
	const char *key;
	size_t size, off;
	char kind;
} fields[] = {
	STR(host), STR(release), STR(version), STR(machine), INT(nr_cpus), INT(nr_nodes),
	INT(cores_per_socket), INT(threads_per_core), INT(cpu_mhz), STR(hw_caps),
	STR(virt_caps), U64(total_memory), U64(free_memory), INT(xen_major), INT(xen_minor),
	STR(xen_extra), STR(xen_caps), STR(cc_compiler),
};

void xen_parse_info(const char *text, struct hv_info *info)
{
	const char *line = text;

	while (*line) {
		const char *end = strchr(line, '\n'), *colon;
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char key[64], val[512];
		size_t klen, vlen;

		colon = memchr(line, ':', len);
		if (colon) {
			klen = (size_t)(colon - line);
			while (klen && (line[klen - 1] == ' ' || line[klen - 1] == '\t'))
				klen--;
			const char *v = colon + 1;
			while (v < line + len && (*v == ' ' || *v == '\t'))
				v++;
			vlen = (size_t)(line + len - v);
			if (klen && klen < sizeof(key) && vlen < sizeof(val)) {
				memcpy(key, line, klen);
				key[klen] = '\0';
				memcpy(val, v, vlen);
				val[vlen] = '\0';
				for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
					char *dst = (char *)info + fields[i].off;
					if (strcmp(key, fields[i].key) != 0)
						continue;
					if (fields[i].kind == 's')
						snprintf(dst, fields[i].size, "%s", val);
					else if (fields[i].kind == 'i')
						*(int *)dst = atoi(val);
					else
						*(uint64_t *)dst = strtoull(val, NULL, 10);
				}
			}
		}
		line += len + (end ? 1 : 0);
	}
}

/* ---- `xl list -v` --------------------------------------------------------- */

static bool is_uuid(const char *s, size_t len)
{
	if (len != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

int xen_state_of(const char *flags, enum hv_state *st)
{
	if (strlen(flags) != 6 || !strchr("r-", flags[0]) || !strchr("b-", flags[1]) ||
	    !strchr("p-", flags[2]) || !strchr("s-", flags[3]) || !strchr("-rscwS?", flags[4]) ||
	    !strchr("d-", flags[5]))
		return -1;
	if (flags[4] == 'c' || flags[4] == 'w') {      /* crashed, watchdog fired */
		*st = HV_CRASHED;
		return 1;
	}
	if (flags[5] == 'd' || (flags[3] == 's' && flags[4] == '-'))
		return 0;                               /* dying, powered off */
	*st = flags[2] == 'p' ? HV_PAUSED : HV_RUNNING;
	return 1;
}

struct tok {
	const char *p;
	size_t len;
};

static bool parse_long(const struct tok *t, long long *v)
{
	char buf[32], *end;

	if (t->len == 0 || t->len >= sizeof(buf))
		return false;
	memcpy(buf, t->p, t->len);
	buf[t->len] = '\0';
	errno = 0;
	*v = strtoll(buf, &end, 10);
	return *end == '\0' && errno == 0 && *v >= 0;
}

/* The words a row is read by, from its right end: five columns, the UUID
 * and what xl prints after it (two columns today). */
#define ROW_WORDS 16

/* One domain row: 1 with *d, 0 for a row to leave out, -1 malformed. */
static int parse_row(const char *line, size_t len, struct xen_dom *d)
{
	struct tok t[ROW_WORDS];
	size_t i = len;
	long long id, mem, vcpus;
	int first = ROW_WORDS, u = -1, r;
	char buf[32], *end;

	/* Read words from the right: the name before them may hold any
	 * number of its own. */
	while (first > 0) {
		size_t e;

		while (i && isspace((unsigned char)line[i - 1]))
			i--;
		if (!i)
			break;
		e = i;
		while (i && !isspace((unsigned char)line[i - 1]))
			i--;
		first--;
		t[first].p = line + i;
		t[first].len = e - i;
	}
	/* The UUID: the rightmost uuid-shaped word with five columns before
	 * it (the name is checked below). */
	for (int k = ROW_WORDS - 1; k >= first + 5 && u < 0; k--)
		if (is_uuid(t[k].p, t[k].len))
			u = k;
	if (u < 0)
		return -1;
	memset(d, 0, sizeof(*d));
	if (!parse_long(&t[u - 5], &id) || !parse_long(&t[u - 4], &mem) ||
	    !parse_long(&t[u - 3], &vcpus) || t[u - 2].len >= sizeof(d->flags) ||
	    t[u - 1].len >= sizeof(buf))
		return -1;
	memcpy(d->flags, t[u - 2].p, t[u - 2].len);
	d->flags[t[u - 2].len] = '\0';
	memcpy(buf, t[u - 1].p, t[u - 1].len);
	buf[t[u - 1].len] = '\0';
	/* xl prints "%8.1f": digits and a point only, so no sign, exponent,
	 * hex, nan or inf reaches the guest's CPU time. */
	if (strspn(buf, "0123456789.") != t[u - 1].len)
		return -1;
	d->cpu_seconds = strtod(buf, &end);
	if (*end || end == buf)
		return -1;
	if ((r = xen_state_of(d->flags, &d->dom.state)) < 0)
		return -1;
	{
		size_t nlen = (size_t)(t[u - 5].p - line);
		while (nlen && isspace((unsigned char)line[nlen - 1]))
			nlen--;
		if (nlen == 0 || nlen >= sizeof(d->dom.name))
			return -1;
		memcpy(d->dom.name, line, nlen);
		d->dom.name[nlen] = '\0';
	}
	memcpy(d->dom.uuid, t[u].p, 36);
	d->dom.uuid[36] = '\0';
	for (char *c = d->dom.uuid; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	d->dom.id = id;
	d->dom.memory = mem > INT32_MAX ? INT32_MAX : (int)mem;
	d->dom.vcpus = vcpus > INT32_MAX ? INT32_MAX : (int)vcpus;
	d->dom.vnc_port = -1;
	return id == 0 || r == 0 ? 0 : 1;
}

int xen_parse_list(const char *text, struct xen_dom **out, size_t *n, char *err, size_t errlen)
{
	struct xen_dom *doms = NULL, d;
	size_t cnt = 0, cap = 0;
	const char *line = text;
	bool header = false;
	int lineno = 0;

	while (*line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line), k = 0;
		int r;

		lineno++;
		while (k < len && isspace((unsigned char)line[k]))
			k++;
		if (k == len) {
			/* blank */
		} else if (!header) {
			if (len < 4 || strncmp(line, "Name", 4) != 0 || !memmem(line, len, "UUID", 4)) {
				snprintf(err, errlen, "xl list -v: line %d is not the header (Name ... UUID)",
					 lineno);
				free(doms);
				return -1;
			}
			header = true;
		} else if ((r = parse_row(line, len, &d)) < 0) {
			snprintf(err, errlen, "xl list -v: line %d does not parse: %.*s", lineno,
				 (int)(len > 200 ? 200 : len), line);
			free(doms);
			return -1;
		} else if (r == 1) {
			if (cnt == cap) {
				struct xen_dom *more;

				cap = cap ? cap * 2 : 16;
				more = realloc(doms, cap * sizeof(*doms));
				if (!more) {
					snprintf(err, errlen, "out of memory");
					free(doms);
					return -1;
				}
				doms = more;
			}
			doms[cnt++] = d;
		}
		line += len + (end ? 1 : 0);
	}
	if (!header) {
		snprintf(err, errlen, "xl list -v printed nothing");
		free(doms);
		return -1;
	}
	*out = doms;
	*n = cnt;
	return 0;
}
