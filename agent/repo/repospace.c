/* repospace.c - free space against a new file's size. */
#define LOG_CAT "repo"
#include "agent/repo/repospace.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>

#include "agent/base/fault.h"
#include "agent/base/log.h"
#include "agent/repo/repoparse.h"
#include "agent/repo/repoview.h"

int repo_free_bytes(int dfd, unsigned long long *free_bytes)
{
	struct statvfs sv;

	if (fstatvfs(dfd, &sv) != 0)
		return -1;
	*free_bytes = (unsigned long long)sv.f_bavail * sv.f_frsize;
	return 0;
}

void repo_room_msg(char *err, size_t errlen, const char *what, unsigned long long need,
		   const char *where, unsigned long long free_bytes)
{
	char n[32], f[32];

	repo_human_bytes(need, n, sizeof(n));
	repo_human_bytes(free_bytes, f, sizeof(f));
	snprintf(err, errlen, "%s needs %s (%llu bytes) but %s has only %s (%llu bytes) free",
		 what, n, need, where, f, free_bytes);
}

int repo_room(const struct repoview *rv, const char *path, int dfd, unsigned long long need,
	      const char *what, char *err, size_t errlen)
{
	unsigned long long free_bytes;

	if (repoview_path_network(rv, path))
		return 0;
	if (repo_free_bytes(dfd, &free_bytes) != 0) {
		log_debug("statvfs %s: %s; the space is not checked", path, strerror(errno));
		return 0;
	}
	if (need <= free_bytes)
		return 0;
	repo_room_msg(err, errlen, what, need, path, free_bytes);
	return FAULT_NO_RESOURCES;
}
