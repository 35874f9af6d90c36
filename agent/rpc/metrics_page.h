/* metrics_page.h - GET /metrics: the agent's facts in the Prometheus text
 * exposition format 0.0.4, for a Prometheus scraping with basic_auth.
 *
 * The facts are status_facts' snapshot, the one get_agent_status and
 * GET /status read too. The renderer is pure: it writes what a struct
 * status_facts holds and reads nothing else, so a unit test feeds it
 * made-up facts. Names follow Prometheus' conventions: ovs_agent_ prefix
 * (process_ for the process facts every exporter shares), base units
 * (seconds, bytes), _total on counters. Label values are escaped as the
 * format says (backslash, double quote, newline) and made valid UTF-8 (a
 * bad byte becomes U+FFFD): hook, user and repository names come from
 * outside. */
#ifndef OVS_METRICS_PAGE_H
#define OVS_METRICS_PAGE_H

#include "agent/base/buf.h"
#include "agent/rpc/status_facts.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Append the exposition of f to out. */
void metrics_page_write(const struct status_facts *f, struct buf *out);

/* Append s as a label value's contents (without the quotes). */
void metrics_label_value(struct buf *out, const char *s);

/* text: the page; the callee may take its data (respond_taking),
 * whatever is left is freed after (as status_page_cb). */
typedef void (*metrics_page_cb)(void *arg, struct buf *text);
/* Gather the facts (status_facts_gather: never blocks) and call done
 * from the loop with the page: at once, or when the repositories' sizes
 * child answers. */
void metrics_page_serve(struct server *srv, metrics_page_cb done, void *arg);

#endif
