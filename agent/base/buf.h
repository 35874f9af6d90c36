/* buf.h - a growable byte buffer with a hard maximum size.
 *
 * Every byte that arrives from the network or a child lands in a buf with a
 * bound (OpenSSH sshbuf's max_size). Appends past the bound fail and set
 * `failed`, so a builder can append many pieces and check once at the end
 * (libvirt virBuffer). The data is always NUL-terminated for convenience;
 * the terminator is not counted in len. */
#ifndef OVS_BUF_H
#define OVS_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;   /* owned; NULL until the first append */
	size_t len;   /* bytes in use */
	size_t cap;   /* bytes allocated (excluding the NUL slot) */
	size_t max;   /* hard bound on len; 0 means SIZE_MAX */
	int failed;   /* set once an append would have passed max */
};

void buf_init(struct buf *b, size_t max);
/* Append n bytes; 0 on success, -1 (and b->failed) when past max. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Make room for n more bytes and return a pointer to them (len unchanged),
 * or NULL when past max. Follow with buf_commit(b, used). */
char *buf_space(struct buf *b, size_t n);
void buf_commit(struct buf *b, size_t n);
/* Drop the first n bytes. */
void buf_consume(struct buf *b, size_t n);
/* Empty the buffer, keep memory. */
void buf_reset(struct buf *b);
/* Release memory; the buffer stays usable (empty). */
void buf_free(struct buf *b);
/* Hand the data to the caller (malloc'd, NUL-terminated); buffer becomes empty. */
char *buf_steal(struct buf *b, size_t *len);

#endif
