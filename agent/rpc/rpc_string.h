/* rpc_string.h - the one rule for text that goes out in a reply.
 *
 * A reply must stay well-formed XML whatever a vm.cfg, a hook or a db
 * record holds. Text that is valid UTF-8 made only of characters XML 1.0
 * can carry goes out unchanged. Other text goes out escaped, in the style
 * of Python's backslashreplace: each byte that is not valid UTF-8 or that
 * belongs to a character XML cannot carry (C0 controls but TAB, LF, CR;
 * U+FFFE; U+FFFF), or xmlrpc-c cannot (anything beyond U+FFFF), becomes
 * \xNN, and, in such text only, each backslash becomes \\, so the
 * escaping can be undone. */
#ifndef OVS_RPC_STRING_H
#define OVS_RPC_STRING_H

#include <stdbool.h>
#include <stddef.h>
#include <xmlrpc-c/base.h>

/* True when s[0..n) can go out unchanged. */
bool rpc_text_ok(const char *s, size_t n);

/* s[0..n) as it goes out: a malloc'd, NUL-terminated copy, escaped when
 * rpc_text_ok() is false. */
char *rpc_text_wire(const char *s, size_t n);

/* An xmlrpc-c string value of s under the rule above; never NULL. */
xmlrpc_value *rpc_string_new(const char *s);
xmlrpc_value *rpc_string_new_lp(const char *s, size_t n);

#endif
