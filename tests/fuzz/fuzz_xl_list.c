/* fuzz_xl_list.c - libFuzzer target for the xl output parsers
 * (hypervisor/xen_parse.c): `xl list -v` and `xl info`.
 *
 * The input, NUL-terminated in a heap copy of exactly its size plus one
 * (so ASan catches a read past the end), is handed to both parsers:
 *
 *   1. xen_parse_list: on success every domain has a 36-character lower
 *      case UUID found in the input, a non-empty NUL-terminated name that
 *      begins a line of the input and does not end in a space, six state
 *      letters that mean the state it reports, a domid above 0, sizes and
 *      a CPU time that are not negative, no VNC port and no start time.
 *      The count matches the rows: parsing each row alone under a header
 *      gives the same domains in the same order, and one bad row fails
 *      the whole list. What parsed, printed again as xl prints it, parses
 *      to the same domains. On failure the message is a NUL-terminated
 *      string and nothing leaks.
 *   2. A row built from the input's first line as the domain name (as xl
 *      prints any name) parses back to exactly that name.
 *   3. xen_parse_info: every string field is NUL-terminated within its
 *      size and holds the last value the input gave it, or is untouched;
 *      the hypervisor field is never touched. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hypervisor/xen/xen_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEADER "Name                                        ID   Mem VCPUs\tState\tTime(s)" \
	"   UUID                            Reason-Code\tSecurity Label\n"
#define UUID "6f1b2c3d-0000-4000-8000-00000000abcd"

static int blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr(" \t\n\v\f\r", p[i]))
			return 0;
	return 1;
}

/* The name begins some line of text. */
static int begins_line(const char *text, const char *name)
{
	size_t n = strlen(name);

	for (const char *l = text; l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		if (strncmp(l, name, n) == 0)
			return 1;
	return 0;
}

static int uuid_in(const char *text, const char *uuid)
{
	for (const char *p = text; (p = strchr(p, '-')); p++)
		if (p - text >= 8 && strncasecmp(p - 8, uuid, 36) == 0)
			return 1;
	return 0;
}

static void check_dom(const char *text, const struct xen_dom *d)
{
	enum hv_state st;
	size_t nl = strnlen(d->dom.name, sizeof(d->dom.name));

	if (strnlen(d->dom.uuid, sizeof(d->dom.uuid)) != 36 || !uuid_in(text, d->dom.uuid))
		abort();
	for (int i = 0; i < 36; i++)
		if ((i == 8 || i == 13 || i == 18 || i == 23) ? d->dom.uuid[i] != '-' :
		    !strchr("0123456789abcdef", d->dom.uuid[i]))
			abort();
	if (nl == 0 || nl == sizeof(d->dom.name) || strchr(" \t\n\v\f\r", d->dom.name[nl - 1]) ||
	    strchr(d->dom.name, '\n') || !begins_line(text, d->dom.name))
		abort();
	if (strnlen(d->flags, sizeof(d->flags)) != 6 || xen_state_of(d->flags, &st) != 1 ||
	    st != d->dom.state)
		abort();
	if (d->dom.id <= 0 || d->dom.memory < 0 || d->dom.vcpus < 0 || d->dom.vnc_port != -1 ||
	    d->dom.started != 0 || !isfinite(d->cpu_seconds) || d->cpu_seconds < 0)
		abort();
}

static int same_dom(const struct xen_dom *a, const struct xen_dom *b)
{
	return strcmp(a->dom.uuid, b->dom.uuid) == 0 && strcmp(a->dom.name, b->dom.name) == 0 &&
	       a->dom.id == b->dom.id && a->dom.state == b->dom.state &&
	       a->dom.memory == b->dom.memory && a->dom.vcpus == b->dom.vcpus &&
	       a->dom.vnc_port == b->dom.vnc_port && a->dom.started == b->dom.started &&
	       strcmp(a->flags, b->flags) == 0 && a->cpu_seconds == b->cpu_seconds;
}

/* -1 with a NUL-terminated message, or 0 with every domain checked. */
static int parse(const char *text, struct xen_dom **d, size_t *n)
{
	char err[256];

	*d = NULL;
	*n = 0;
	memset(err, 'x', sizeof(err));
	if (xen_parse_list(text, d, n, err, sizeof(err)) != 0) {
		if (!memchr(err, '\0', sizeof(err)) || !err[0])
			abort();
		return -1;
	}
	if (*n && !*d)
		abort();
	for (size_t i = 0; i < *n; i++)
		check_dom(text, &(*d)[i]);
	return 0;
}

static void print_dom(FILE *f, const struct xen_dom *d)
{
	char t[400];

	/* xl's columns, with the CPU time exact instead of %8.1f: the fewest
	 * decimals that read back the same, in xl's fixed-point form (%g
	 * would write an exponent, which the parser rightly refuses). */
	for (int p = 0; p <= 30; p++) {
		snprintf(t, sizeof(t), "%.*f", p, d->cpu_seconds);
		if (strtod(t, NULL) == d->cpu_seconds)
			break;
	}
	fprintf(f, "%-40s %5lld %5d %5d     %s  %8s %s %8s %16s\n", d->dom.name, d->dom.id,
		d->dom.memory, d->dom.vcpus, d->flags, t, d->dom.uuid, "-", "-");
}

/* What parsed, printed as xl prints it, parses to the same domains. */
static void reprint(const struct xen_dom *d, size_t n)
{
	struct xen_dom *d2;
	size_t n2, len;
	char *text;
	FILE *f = open_memstream(&text, &len);

	fputs(HEADER, f);
	for (size_t i = 0; i < n; i++)
		print_dom(f, &d[i]);
	fclose(f);
	if (parse(text, &d2, &n2) != 0 || n2 != n)
		abort();
	for (size_t i = 0; i < n; i++)
		if (!same_dom(&d[i], &d2[i]))
			abort();
	free(d2);
	free(text);
}

/* Each row after the header alone: the same domains, in order; the whole
 * list fails exactly when one row does. rc is the whole list's result. */
static void rows_alone(const char *text, int rc, const struct xen_dom *d, size_t n)
{
	const char *line = text;
	size_t at = 0, len;
	int header = 0, bad = 0;

	for (; *line; line += len + (line[len] == '\n')) {
		struct xen_dom *one;
		size_t none;
		char *row;

		len = strcspn(line, "\n");
		if (blank(line, len))
			continue;
		if (!header) {
			if (strncmp(line, "Name", 4) != 0 || !memmem(line, len, "UUID", 4)) {
				if (rc == 0)
					abort();
				return;
			}
			header = 1;
			continue;
		}
		if (asprintf(&row, "Name UUID\n%.*s\n", (int)len, line) < 0)
			abort();
		if (parse(row, &one, &none) != 0) {
			bad = 1;
		} else if (rc == 0) {
			if (none > 1 || at + none > n || (none && !same_dom(&one[0], &d[at])))
				abort();
			at += none;
		}
		free(one);
		free(row);
	}
	if ((rc == 0) != (header && !bad) || (rc == 0 && at != n))
		abort();
}

/* The first line of the input as a domain's name, in a row as xl prints it. */
static void any_name(const char *text)
{
	struct xen_dom *d;
	size_t n, len = strcspn(text, "\n");
	char *row;

	while (len && strchr(" \t\v\f\r", text[len - 1]))
		len--;             /* a name's trailing spaces are lost in the columns */
	if (!len || len > 255 || blank(text, len))
		return;
	if (asprintf(&row, "%s%-40.*s %5d %5d %5d     %s  %8.1f %s %8s %16s\n", HEADER, (int)len,
		     text, 7, 512, 2, "-b----", 12.5, UUID, "-", "-") < 0)
		abort();
	if (parse(row, &d, &n) != 0 || n != 1 || strlen(d[0].dom.name) != len ||
	    memcmp(d[0].dom.name, text, len) != 0 || strcmp(d[0].dom.uuid, UUID) != 0 ||
	    d[0].dom.id != 7 || d[0].dom.memory != 512 || d[0].dom.vcpus != 2 ||
	    d[0].dom.state != HV_RUNNING || d[0].cpu_seconds != 12.5)
		abort();
	free(d);
	free(row);
}

/* ---- xl info ---- */

#define S(f) { #f, offsetof(struct hv_info, f), sizeof(((struct hv_info *)0)->f) }
static const struct {
	const char *key;
	size_t off, size;
} strs[] = {
	S(host), S(release), S(version), S(machine), S(hw_caps), S(virt_caps), S(xen_extra),
	S(xen_caps), S(cc_compiler),
};

static void info(const char *text)
{
	static struct hv_info in;
	const char *want[sizeof(strs) / sizeof(strs[0])] = { 0 };
	size_t wlen[sizeof(strs) / sizeof(strs[0])] = { 0 };
	size_t len;

	/* The model: "key : value" lines, the key's trailing blanks and the
	 * value's leading ones dropped; keys of 64 bytes and more or values of
	 * 512 and more ignored; the last line for a key wins. */
	for (const char *line = text; *line; line += len + (line[len] == '\n')) {
		const char *colon, *v;
		size_t kn;

		len = strcspn(line, "\n");
		if (!(colon = memchr(line, ':', len)))
			continue;
		for (kn = (size_t)(colon - line); kn && strchr(" \t", line[kn - 1]); kn--)
			;
		for (v = colon + 1; v < line + len && strchr(" \t", *v); v++)
			;
		if (!kn || kn >= 64 || (size_t)(line + len - v) >= 512)
			continue;
		for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
			if (strlen(strs[i].key) == kn && memcmp(strs[i].key, line, kn) == 0) {
				want[i] = v;
				wlen[i] = (size_t)(line + len - v);
			}
	}
	memset(&in, 0xa5, sizeof(in));
	xen_parse_info(text, &in);
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		const char *got = (const char *)&in + strs[i].off;
		size_t n = wlen[i] < strs[i].size - 1 ? wlen[i] : strs[i].size - 1;

		if (!want[i]) {
			for (size_t j = 0; j < strs[i].size; j++)
				if ((unsigned char)got[j] != 0xa5)
					abort();
		} else if (strnlen(got, strs[i].size) != n || memcmp(got, want[i], n) != 0) {
			abort();
		}
	}
	for (size_t j = 0; j < sizeof(in.hypervisor); j++)
		if ((unsigned char)in.hypervisor[j] != 0xa5)
			abort();  /* not xl's to say */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct xen_dom *d;
	size_t n;
	int rc;

	memcpy(text, data, size);
	text[size] = '\0';
	rc = parse(text, &d, &n);
	rows_alone(text, rc, d, n);
	if (rc == 0)
		reprint(d, n);
	free(d);
	any_name(text);
	info(text);
	free(text);
	return 0;
}
