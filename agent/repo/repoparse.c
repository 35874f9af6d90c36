/* repoparse.c - the repository files, markers and mountinfo from bytes. */
#include "agent/repo/repoparse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool repo_uuid_ok(const char *s, size_t n)
{
	if (n != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		char c = s[i];
		if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return true;
}

/* The next line of buf[0..n) from *pos: its start and length without the
 * '\n'. false at the end. Linear over the whole buffer. */
static bool next_line(const char *buf, size_t n, size_t *pos, const char **line, size_t *len)
{
	const char *nl;

	if (*pos >= n)
		return false;
	*line = buf + *pos;
	nl = memchr(*line, '\n', n - *pos);
	*len = nl ? (size_t)(nl - *line) : n - *pos;
	*pos += *len + 1;
	return true;
}

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

/* Trim blanks (and a '\r') at both ends. */
static void trim(const char **s, size_t *len)
{
	while (*len && is_blank(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len && (is_blank((*s)[*len - 1]) || (*s)[*len - 1] == '\r'))
		(*len)--;
}

/* No NUL and no control character but tab. */
static bool text_clean(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

size_t repo_parse_lines(const char *buf, size_t n, struct repo_line *out, size_t max,
			size_t text_max, size_t *skipped)
{
	size_t pos = 0, len, kept = 0, bad = 0, ulen;
	const char *line;

	if (text_max >= sizeof(out->text))
		text_max = sizeof(out->text) - 1;
	while (next_line(buf, n, &pos, &line, &len)) {
		bool dup = false;

		trim(&line, &len);
		if (len == 0 || line[0] == '#')
			continue;
		if (len >= REPO_LINE_MAX || !text_clean(line, len)) {
			bad++;
			continue;
		}
		for (ulen = 0; ulen < len && !is_blank(line[ulen]); ulen++)
			;
		if (!repo_uuid_ok(line, ulen)) {
			bad++;
			continue;
		}
		{
			const char *t = line + ulen;
			size_t tlen = len - ulen;
			trim(&t, &tlen);
			if (tlen == 0 || tlen > text_max || kept >= max) {
				bad++;
				continue;
			}
			for (size_t i = 0; i < kept && !dup; i++)
				dup = memcmp(out[i].uuid, line, 36) == 0;
			if (dup) {
				bad++;
				continue;
			}
			memcpy(out[kept].uuid, line, 36);
			out[kept].uuid[36] = '\0';
			memcpy(out[kept].text, t, tlen);
			out[kept].text[tlen] = '\0';
			kept++;
		}
	}
	if (skipped)
		*skipped = bad;
	return kept;
}

int repo_parse_marker(const char *buf, size_t n, struct repo_marker *m)
{
	size_t pos = 0, len;
	const char *line;

	memset(m, 0, sizeof(*m));
	while (next_line(buf, n, &pos, &line, &len)) {
		const char *eq, *v;
		size_t klen, vlen;

		if (len && line[len - 1] == '\r')
			len--;
		if (len == 0 || line[0] == '#' || !(eq = memchr(line, '=', len)) ||
		    !text_clean(line, len))
			continue;
		klen = (size_t)(eq - line);
		v = eq + 1;
		vlen = len - klen - 1;
#define KEY(k) (klen == sizeof(k) - 1 && memcmp(line, k, klen) == 0)
		if (KEY("OVS_REPO_UUID") && repo_uuid_ok(v, vlen)) {
			memcpy(m->uuid, v, 36);
			m->uuid[36] = '\0';
		} else if (KEY("OVS_REPO_SHARED") && vlen == 1 &&
			   (v[0] == 'C' || v[0] == '1' || v[0] == '0')) {
			m->shared = v[0];
		} else if (KEY("OVS_REPO_DESCRIPTION") && vlen <= REPO_DESC_MAX &&
			   !memchr(v, '\t', vlen)) {
			memcpy(m->desc, v, vlen);
			m->desc[vlen] = '\0';
		} else if (KEY("OVS_REPO_VERSION") && vlen >= 1 && vlen <= 4) {
			int ver = 0;
			size_t i;
			for (i = 0; i < vlen && v[i] >= '0' && v[i] <= '9'; i++)
				ver = ver * 10 + (v[i] - '0');
			if (i == vlen)
				m->version = ver;
		}
#undef KEY
	}
	return m->uuid[0] ? 0 : -1;
}

/* ---- mountinfo ------------------------------------------------------------ */

/* The next space-separated field of line[0..len) from *pos. */
static bool next_field(const char *line, size_t len, size_t *pos, const char **f, size_t *flen)
{
	const char *sp;

	if (*pos >= len)
		return false;
	*f = line + *pos;
	sp = memchr(*f, ' ', len - *pos);
	*flen = sp ? (size_t)(sp - *f) : len - *pos;
	*pos += *flen + 1;
	return *flen > 0;
}

/* Undo the kernel's octal escapes (\040 space, \011 tab, \012 newline,
 * \134 backslash) into out (cap bytes with the NUL). false when it does
 * not fit or would hold a NUL. */
static bool unescape(const char *s, size_t len, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\' && i + 3 < len && s[i + 1] >= '0' && s[i + 1] <= '3' &&
		    s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
			c = (unsigned char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		}
		if (c == '\0' || o + 1 >= cap)
			return false;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return true;
}

static bool parse_ulong(const char *s, size_t len, unsigned long *v)
{
	unsigned long x = 0;

	if (len == 0 || len > 19)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x * 10 + (unsigned long)(s[i] - '0');
	}
	*v = x;
	return true;
}

static bool parse_line(const char *line, size_t len, struct mountinfo_entry *e)
{
	const char *f, *colon;
	size_t flen, pos = 0;
	unsigned long maj, min;

	if (len > MOUNTINFO_LINE_MAX)
		return false;
	if (!next_field(line, len, &pos, &f, &flen) || !parse_ulong(f, flen, &e->id) ||
	    !next_field(line, len, &pos, &f, &flen) || !parse_ulong(f, flen, &e->parent) ||
	    !next_field(line, len, &pos, &f, &flen) || !(colon = memchr(f, ':', flen)) ||
	    !parse_ulong(f, (size_t)(colon - f), &maj) ||
	    !parse_ulong(colon + 1, flen - (size_t)(colon - f) - 1, &min) ||
	    maj > 0xfffff || min > 0xfffff)
		return false;
	e->major = (unsigned)maj;
	e->minor = (unsigned)min;
	if (!next_field(line, len, &pos, &f, &flen) || !unescape(f, flen, e->root, sizeof(e->root)) ||
	    !next_field(line, len, &pos, &f, &flen) || !unescape(f, flen, e->mnt, sizeof(e->mnt)) ||
	    !next_field(line, len, &pos, &f, &flen))    /* mount options */
		return false;
	/* optional fields up to the separator "-" */
	for (;;) {
		if (!next_field(line, len, &pos, &f, &flen))
			return false;
		if (flen == 1 && f[0] == '-')
			break;
	}
	if (!next_field(line, len, &pos, &f, &flen) ||
	    !unescape(f, flen, e->fstype, sizeof(e->fstype)) ||
	    !next_field(line, len, &pos, &f, &flen) ||
	    !unescape(f, flen, e->source, sizeof(e->source)))
		return false;
	return true;
}

size_t mountinfo_parse(const char *buf, size_t n, struct mountinfo_entry *e,
		       int (*fn)(const struct mountinfo_entry *e, void *arg), void *arg)
{
	size_t pos = 0, len, bad = 0;
	const char *line;

	while (next_line(buf, n, &pos, &line, &len)) {
		if (len == 0)
			continue;
		if (!parse_line(line, len, e)) {
			bad++;
			continue;
		}
		if (fn(e, arg) != 0)
			break;
	}
	return bad;
}

bool repo_fstype_network(const char *t)
{
	static const char *const net[] = { "nfs", "nfs4", "cifs", "smb3", "smbfs", "ceph",
					   "glusterfs", "9p", "afs", "lustre", "fuse", "ocfs2" };

	if (strncmp(t, "fuse.", 5) == 0)
		return true;
	for (size_t i = 0; i < sizeof(net) / sizeof(net[0]); i++)
		if (strcmp(t, net[i]) == 0)
			return true;
	return false;
}

void repo_human_bytes(unsigned long long b, char *out, size_t outlen)
{
	static const char *const unit[] = { "bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)b;
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, outlen, "%llu bytes", b);
	else
		snprintf(out, outlen, "%.1f %s", v, unit[u]);
}
