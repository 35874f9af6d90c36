/* names.h - the one rule for names that come from outside: file and guest
 * names from callers, guest names read from vm.cfg.
 *
 * A name is valid UTF-8 (utf8.h) and holds no control character
 * (0x00-0x1f, 0x7f): no newline, tab or escape. Such bytes would split
 * the agent's log lines, db records and ';'-separated replies, reach
 * terminals raw, and most of them cannot be carried in XML 1.0 at all. */
#ifndef OVS_NAMES_H
#define OVS_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/* The offset of the first byte of s[0..n) that breaks the rule, or n
 * when none does; *control (may be NULL) says whether that byte is a
 * control character (else it starts no valid UTF-8 sequence, or a
 * character beyond U+FFFF, which xmlrpc-c 1.33 cannot carry). */
size_t name_bad_byte(const char *s, size_t n, bool *control);

/* 0 when the NUL-terminated s follows the rule. Otherwise -1 and err gets
 * "<what> '<s shown>' has a control character at byte N (0x0a)" or
 * "<what> '<s shown>' is not valid UTF-8 at byte N"; s is shown cut to
 * about 64 bytes, with the offending bytes as '?'. */
int name_check(const char *what, const char *s, char *err, size_t errlen);

/* s for a message: at most max bytes (cut on a character boundary, then
 * "..."), control characters and invalid UTF-8 as '?'. out has room for
 * max + 4 bytes. */
void name_show(char *out, const char *s, size_t max);

#endif
