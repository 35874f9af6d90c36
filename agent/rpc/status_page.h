/* status_page.h - GET /status: the agent's status as one HTML page for a
 * person with a browser, rendered from the status_facts snapshot (the
 * same facts get_agent_status and /metrics give).
 *
 * The page loads nothing: no script, no image, no external stylesheet;
 * its one inline stylesheet is allowed by its hash in the
 * Content-Security-Policy the page is sent with. Every value on it goes
 * through html_escape (guest names come from vm.cfg, hook output from
 * the hooks, user names from the network). */
#ifndef OVS_STATUS_PAGE_H
#define OVS_STATUS_PAGE_H

#include "agent/base/buf.h"

struct server;
struct status_facts;

#define STATUS_PAGE_TYPE "text/html; charset=utf-8"
#define STATUS_PAGE_MAX (32u << 20)   /* past this, a short page says so */

/* The header lines sent with the page besides Content-Type, each ending
 * "\r\n": the Content-Security-Policy (default-src 'none', the
 * stylesheet by its sha256), nosniff, no-store, no referrer. Static. */
const char *status_page_headers(void);

/* html: the page; the callee may take its data (buf_steal or a struct
 * copy followed by buf_init), whatever is left is freed after. */
typedef void (*status_page_cb)(void *arg, struct buf *html);
/* Gather the facts (status_facts_gather: never blocks) and call cb from
 * the loop with the page. */
void status_page_serve(struct server *srv, status_page_cb cb, void *arg);

/* Render f into out. */
void status_page_render(const struct status_facts *f, struct buf *out);

#endif
