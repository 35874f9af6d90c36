/* utf8.h - UTF-8 decoding, encoding, validation and cutting, written once
 * for every module.
 *
 * "Valid" is RFC 3629: no overlong forms, no surrogates (U+D800-U+DFFF),
 * nothing past U+10FFFF. NUL is a valid character here; callers that
 * carry C strings refuse it themselves. */
#ifndef OVS_UTF8_H
#define OVS_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length (1-4) of the valid sequence at p[0..n), its code point in *cp;
 * 0 when p does not start a valid sequence (or n == 0). */
size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *cp);

/* Encode code point cp into out: the length (1-4), or 0 when cp is not a
 * character UTF-8 may carry (a surrogate U+D800-U+DFFF, or past
 * U+10FFFF); out is then untouched. Not NUL-terminated. */
size_t utf8_encode(uint32_t cp, char out[4]);

/* True when s[0..n) is valid UTF-8. Otherwise false, and *bad_at (when
 * not NULL) is the offset of the first byte that starts no valid
 * sequence, which is also the length of the longest valid prefix. */
bool utf8_valid(const char *s, size_t n, size_t *bad_at);

/* The length of the longest valid UTF-8 prefix of s[0..n). */
size_t utf8_valid_prefix(const char *s, size_t n);

/* The largest length <= max at which the NUL-terminated s can be cut
 * without splitting a multi-byte character: strlen(s) when that is no
 * more than max. Only reads s up to s[max]. Invalid bytes are not
 * characters and may be cut anywhere. */
size_t utf8_cut(const char *s, size_t max);

#endif
