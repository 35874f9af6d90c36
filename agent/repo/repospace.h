/* repospace.h - is there room in a repository for a new file?
 *
 * f_bavail * f_frsize of the file system holding a directory against the
 * size asked, whole: a sparse disk counts at its full size, since the
 * guest will fill it. Used by xen_create_disk, install_vm_hvm and the
 * template unpacker (in its child). */
#ifndef OVS_REPOSPACE_H
#define OVS_REPOSPACE_H

#include <stddef.h>

struct repoview;

/* The free bytes of the file system holding the open directory dfd.
 * 0, or -1 with errno. */
int repo_free_bytes(int dfd, unsigned long long *free_bytes);

/* "<what> needs 64.0 MiB (67108864 bytes) but <where> has only 5.9 MiB
 * (6184960 bytes) free" into err. */
void repo_room_msg(char *err, size_t errlen, const char *what, unsigned long long need,
		   const char *where, unsigned long long free_bytes);

/* Room for need bytes in dfd (path names it, for the message)? 0 yes,
 * or not known (a network file system, where statvfs may block the loop,
 * or statvfs failed: the write itself will say); FAULT_NO_RESOURCES
 * (1005) with err when not. */
int repo_room(const struct repoview *rv, const char *path, int dfd, unsigned long long need,
	      const char *what, char *err, size_t errlen);

#endif
