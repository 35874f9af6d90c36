/* util.h - checked allocation and small helpers shared by every module.
 *
 * Out-of-memory is decided once, here: the x* allocators abort with a
 * message instead of returning NULL, so callers never carry untested
 * NULL branches (the redis zmalloc / lighttpd ck.h choice). */
#ifndef OVS_UTIL_H
#define OVS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a malloc'd formatted string; never NULL. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Monotonic clock in milliseconds. */
int64_t now_ms(void);

/* Set O_NONBLOCK / FD_CLOEXEC; return 0 or -1 with errno. */
int fd_set_nonblock(int fd);
int fd_set_cloexec(int fd);

/* Constant-time comparison of n bytes; 0 when equal. */
int ct_memcmp(const void *a, const void *b, size_t n);

/* Copy s[0..len) into out for an error message: at most 64 bytes then
 * "...", control and non-ASCII bytes shown as '?', so a hostile config
 * value cannot mess up a terminal or a log line. */
void quote_printable(char *out, size_t outlen, const char *s, size_t len);

/* A random (version 4) UUID in its 36-character text form. Aborts when
 * the system has no randomness: no identity is better than a guessable one. */
void uuid_generate_v4(char out[37]);

/* Binary search of v[0..n), stride bytes each, sorted as cmp says:
 * cmp(key, element) < 0, 0 or > 0. The index of the equal element
 * (*found true), or where key would go (*found false). */
size_t sorted_index(const void *v, size_t n, size_t stride, const void *key,
		    int (*cmp)(const void *key, const void *elem), bool *found);

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define UNUSED(x) ((void)(x))

#endif
