/* repoparse.h - the repository files, markers and /proc/self/mountinfo,
 * read from bytes in memory: pure, bounded, unit-tested and fuzzed.
 *
 * Everything here is outside input (a file an operator or a script
 * wrote, a marker on a file system brought from another host, the
 * kernel's mount table with names users chose), so every line and field
 * has a bound and a line that breaks one is skipped, never cut and used.
 *
 *   repositories          lines "uuid source"   (REPO_LINE_MAX bytes)
 *   repositories.options  lines "uuid options"  (options to the end of the line)
 *   <mount point>/.ovsrepo  lines KEY=VALUE: OVS_REPO_UUID, OVS_REPO_SHARED
 *                           (C, 1 or 0), OVS_REPO_DESCRIPTION, OVS_REPO_VERSION
 * '#' comments and blank lines are skipped. uuids are lower-case
 * 8-4-4-4-12. */
#ifndef OVS_REPOPARSE_H
#define OVS_REPOPARSE_H

#include <stdbool.h>
#include <stddef.h>

#define REPO_MAX          256      /* repositories one host lists */
#define REPO_LINE_MAX     4096     /* bytes in a line of the two files */
#define REPO_SOURCE_MAX   1024     /* bytes of a source (device, host:/path, dir) */
#define REPO_OPTIONS_MAX  1024     /* bytes of a mount -o string */
#define REPO_DESC_MAX     256      /* bytes of a description */
#define REPO_MARKER_MAX   8192     /* bytes of a marker file read */
#define REPO_FILE_MAX     (REPO_MAX * 2 * REPO_LINE_MAX)   /* bytes of either file read */
#define MOUNTINFO_LINE_MAX 16384   /* longer lines are skipped */
#define MOUNTINFO_PATH_MAX 4096    /* a mount point or root, unescaped */
#define MOUNTINFO_FIELD_MAX 1024   /* fstype, source */

/* A lower-case 8-4-4-4-12 uuid, exactly 36 bytes. */
bool repo_uuid_ok(const char *s, size_t n);

/* One "uuid text" line of either file. */
struct repo_line {
	char uuid[37];
	char text[REPO_LINE_MAX];   /* source, or options; no leading/trailing blanks */
};

/* Parse the lines of buf[0..n) into out (at most max). Returns how many
 * were kept; *skipped (may be NULL) counts the malformed lines (no uuid,
 * a uuid not lower-case 8-4-4-4-12, no text, control characters, too
 * long) and the lines past max. A uuid listed twice keeps the first. */
size_t repo_parse_lines(const char *buf, size_t n, struct repo_line *out, size_t max,
			size_t text_max, size_t *skipped);

struct repo_marker {
	char uuid[37];              /* "" when missing or malformed */
	char shared;                /* 'C', '1', '0'; 0 when missing or malformed */
	char desc[REPO_DESC_MAX + 1];
	int version;                /* 0 when missing */
};
/* Parse a marker; unknown keys and bad lines are ignored. 0 when it has
 * a valid uuid, else -1. */
int repo_parse_marker(const char *buf, size_t n, struct repo_marker *m);

/* One mount of /proc/self/mountinfo (proc(5)), escapes (\040 and the
 * like) undone. */
struct mountinfo_entry {
	unsigned long id, parent;
	unsigned major, minor;
	char root[MOUNTINFO_PATH_MAX];
	char mnt[MOUNTINFO_PATH_MAX];
	char fstype[MOUNTINFO_FIELD_MAX];
	char source[MOUNTINFO_FIELD_MAX];
};
/* Call fn for every well-formed line of buf[0..n), in order; fn returns
 * non-zero to stop. Returns the number of lines skipped as malformed.
 * e is scratch space the caller owns (about 10 KiB: keep it off small
 * stacks). */
size_t mountinfo_parse(const char *buf, size_t n, struct mountinfo_entry *e,
		       int (*fn)(const struct mountinfo_entry *e, void *arg), void *arg);

/* True for file systems whose statvfs may block on a server (nfs, nfs4,
 * cifs, smb3, ceph, glusterfs, 9p, fuse.*). */
bool repo_fstype_network(const char *fstype);

/* "12.3 GiB" style: bytes in the largest unit that keeps it >= 1. */
void repo_human_bytes(unsigned long long b, char *out, size_t outlen);

#endif
