/* file_replace.c - atomic, durable file replacement. */
#include "agent/base/file_replace.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/base/util.h"

int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Give the replacement the old file's owner (and mode when asked); only
 * root may chown, and a failure just leaves the file owned by us. */
static int set_attrs(int fd, const char *path, int mode)
{
	struct stat st;
	int have = lstat(path, &st) == 0 && S_ISREG(st.st_mode);

	if (fchmod(fd, mode >= 0 ? (mode_t)mode : have ? st.st_mode & 07777 : 0644) < 0)
		return -1;
	if (have && (st.st_uid != geteuid() || st.st_gid != getegid()) &&
	    fchown(fd, st.st_uid, st.st_gid) < 0) {
		/* not root: the file becomes ours, which is all we can do */
	}
	return 0;
}

/* The rename is only durable once the directory entry is on disk. */
static int sync_dir_of(const char *path)
{
	char *copy = xstrdup(path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = -1;

	if (fd >= 0 && (fsync(fd) == 0 || errno == EINVAL)) /* some filesystems refuse */
		ret = 0;
	if (fd >= 0)
		close(fd);
	free(copy);
	return ret;
}

int file_replace(const char *path, const void *data, size_t len, int mode,
		 char *err, size_t errlen)
{
	char *tmp = xasprintf("%s.XXXXXX", path);
	int fd, created = 0, ret = -1;

	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot create a temporary file: %s", tmp, strerror(errno));
		goto out;
	}
	created = 1;
	if (set_attrs(fd, path, mode) < 0 || write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto out;
	}
	created = 0;
	if (sync_dir_of(path) < 0) {
		snprintf(err, errlen, "%s: cannot sync the directory: %s", path, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (created)
		unlink(tmp);
	free(tmp);
	return ret;
}
