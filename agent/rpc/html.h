/* html.h - the one escaping function every value on the agent's HTML
 * pages (GET /, GET /status) goes through. */
#ifndef OVS_HTML_H
#define OVS_HTML_H

#include "agent/base/buf.h"

/* Append s as HTML text or a quoted attribute value: &, <, >, " and '
 * become references; a byte that starts no valid UTF-8 sequence, and a
 * control character other than tab and newline, become U+FFFD. NULL
 * appends nothing. */
void html_escape(struct buf *out, const char *s);

#endif
