/* json.h - a bounded JSON reader and writer over xmlrpc-c values.
 *
 * A JSON integer becomes XMLRPC_TYPE_INT when it fits in 32 bits,
 * XMLRPC_TYPE_I8 when it fits in 64, and XMLRPC_TYPE_DOUBLE beyond (QEMU's
 * uint64 values above INT64_MAX); json_int64() reads any of them. null
 * becomes XMLRPC_TYPE_NIL. Strings are UTF-8 without NUL bytes, in both
 * directions; xmlrpc-c cannot hold characters past U+FFFD (emoji and the
 * like), so the reader replaces those with U+FFFD.
 *
 * Why our own JSON: xmlrpc-c 1.33's <xmlrpc-c/json.h> serializer aborts
 * the process (_FORTIFY_SOURCE: buffer overflow in its \u escaping) on a
 * string holding a control character such as 0x01, and writes 0x1f raw;
 * its parser recurses without limit (a megabyte of '[' is a segfault),
 * rejects exponents (QEMU prints doubles with %.17g, so 1e-05 happens),
 * turns \ud83d\ude00 into CESU-8, accepts "[1,2," and "n" for null, and
 * reads every integer as i8. */
#ifndef OVS_JSON_H
#define OVS_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <xmlrpc-c/base.h>

#include "agent/base/buf.h"

#define JSON_MAX_DEPTH    128           /* nested objects/arrays */
#define JSON_MAX_MEMBERS  1024          /* per object: xmlrpc-c inserts in linear time */
#define JSON_MAX_VALUES   262144        /* per message: each costs ~100 bytes in memory */

/* Parse exactly n bytes as one JSON value (any type) with the bounds
 * above. Returns a new reference, or NULL with a message in err. */
xmlrpc_value *json_parse(const char *p, size_t n, char *err, size_t errlen);

/* Append v as compact JSON to out. Returns 0, or -1 with a message in err
 * (a value JSON cannot carry, too deep, or out->max reached). */
int json_write(struct buf *out, xmlrpc_value *v, char *err, size_t errlen);

/* Append s[0..n) as a JSON string to out; errors as json_write (a NUL
 * byte or invalid UTF-8 in s). */
int json_write_string(struct buf *out, const char *s, size_t n, char *err, size_t errlen);

/* Read an integer result whatever its xmlrpc-c type (INT, I8, or a DOUBLE
 * holding an integral value in range). Returns 0, or -1 when v is not a
 * whole number that fits in int64_t. */
int json_int64(xmlrpc_value *v, int64_t *out);

#endif
