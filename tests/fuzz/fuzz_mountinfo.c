/* fuzz_mountinfo.c - libFuzzer target for agent/repo/repoparse.c: the
 * /proc/self/mountinfo parser, the repositories file's lines and the
 * .ovsrepo marker, all outside input.
 *
 * The input, in a heap copy of exactly its size (so ASan catches a read
 * past the end), goes to each parser. Checked: every mountinfo entry's
 * strings are NUL-terminated within their fields, hold no NUL before it
 * and no more bytes than the input; the entries plus the skipped lines
 * never exceed the input's lines; kept repository lines have valid
 * uuids, distinct, and texts within the bound with no control
 * character but tab; a marker that parses has a valid uuid, a shared
 * flag of C, 1, 0 or none, and a description within its bound. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/repo/repoparse.h"

struct count { size_t n, input; };

static int check_entry(const struct mountinfo_entry *e, void *arg)
{
	struct count *c = arg;
	size_t l;

	c->n++;
	if (!memchr(e->root, '\0', sizeof(e->root)) || !memchr(e->mnt, '\0', sizeof(e->mnt)) ||
	    !memchr(e->fstype, '\0', sizeof(e->fstype)) ||
	    !memchr(e->source, '\0', sizeof(e->source)))
		abort();
	l = strlen(e->root) + strlen(e->mnt) + strlen(e->fstype) + strlen(e->source);
	if (l > c->input || !*e->mnt || !*e->fstype || !*e->source)
		abort();
	return 0;
}

static struct repo_line lines[REPO_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = malloc(size ? size : 1);
	struct mountinfo_entry *e = malloc(sizeof(*e));
	struct count c = { 0, size };
	struct repo_marker m;
	size_t nlines = 1, bad, kept, skipped;

	memcpy(p, data, size);
	for (size_t i = 0; i < size; i++)
		nlines += p[i] == '\n';
	bad = mountinfo_parse(p, size, e, check_entry, &c);
	if (c.n + bad > nlines)
		abort();

	kept = repo_parse_lines(p, size, lines, REPO_MAX, REPO_SOURCE_MAX, &skipped);
	if (kept > REPO_MAX || kept + skipped > nlines)
		abort();
	for (size_t i = 0; i < kept; i++) {
		size_t tl = strlen(lines[i].text);
		if (!repo_uuid_ok(lines[i].uuid, strlen(lines[i].uuid)) || tl == 0 ||
		    tl > REPO_SOURCE_MAX)
			abort();
		for (size_t k = 0; k < tl; k++) {
			unsigned char ch = (unsigned char)lines[i].text[k];
			if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				abort();
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(lines[i].uuid, lines[j].uuid) == 0)
				abort();
	}

	if (repo_parse_marker(p, size < REPO_MARKER_MAX ? size : REPO_MARKER_MAX, &m) == 0) {
		if (!repo_uuid_ok(m.uuid, strlen(m.uuid)))
			abort();
		if (m.shared && m.shared != 'C' && m.shared != '1' && m.shared != '0')
			abort();
		if (strlen(m.desc) > REPO_DESC_MAX)
			abort();
	}
	free(e);
	free(p);
	return 0;
}
