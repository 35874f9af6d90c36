/* index_page.h - the HTML page GET / shows: every method, its signatures
 * and its help text (guide 3.6: "https://hostname:8899/" in a browser). */
#ifndef OVS_INDEX_PAGE_H
#define OVS_INDEX_PAGE_H

#include "agent/base/buf.h"

struct server;

void index_page_write(struct server *srv, struct buf *out);

/* Append "string echo(string)" style lines for a signature, one per
 * alternative, separated by sep. */
void signature_describe(struct buf *out, const char *name, const char *sig, const char *sep);

#endif
