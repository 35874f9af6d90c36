/* file_replace.h - replace a file's contents atomically and durably.
 *
 * Readers see the old file or the new one, never a mix, and after return
 * the new one survives a crash: the data goes to a temporary file in the
 * same directory, is fsync'd, renamed over the old name, and the directory
 * is fsync'd. The new file keeps the old one's owner where we are allowed
 * to set it. */
#ifndef OVS_FILE_REPLACE_H
#define OVS_FILE_REPLACE_H

#include <stddef.h>

/* mode >= 0: the new file's permission bits; mode < 0: keep the old file's
 * bits (0644 for a file that did not exist). Returns 0, or -1 with a
 * message naming the file in err; the temporary file never stays behind. */
int file_replace(const char *path, const void *data, size_t len, int mode,
		 char *err, size_t errlen);

/* write(2) all of p, retrying short writes and EINTR. 0 or -1 (errno). */
int write_all(int fd, const void *p, size_t n);

#endif
