/* xen_parse.h - parse the xl toolstack's text output: `xl info` ("key :
 * value" lines) and `xl list -v` (the domain table). */
#ifndef OVS_XEN_PARSE_H
#define OVS_XEN_PARSE_H

#include <stddef.h>

#include "hypervisor/hv.h"

/* Overwrite the fields of info that the text names; unknown keys are
 * ignored, malformed lines skipped. */
void xen_parse_info(const char *text, struct hv_info *info);

/* One row of `xl list -v`. */
struct xen_dom {
	struct hv_dom dom;      /* uuid, name, id (domid), state, memory (MB),
				 * vcpus (online); vnc_port -1, started 0 */
	double cpu_seconds;     /* the Time(s) column */
	char flags[8];          /* the State column as printed, "-b----" */
};

/* What a State column means to the agent: 1 with *st when the domain
 * counts as existing (running, blocked, idle, paused, crashed, or in the
 * middle of a reboot or a save), 0 when it has powered off and is only
 * waiting to be cleaned up (shutdown for poweroff, or dying). -1 when the
 * column is not six of xl's state letters. */
int xen_state_of(const char *flags, enum hv_state *st);

/* Parse the whole output of `xl list -v` (header line, then one line per
 * domain: Name ID Mem VCPUs State Time(s) UUID Reason-Code Security-Label).
 * Domain-0 (domid 0) and powered-off/dying domains are left out. Names may
 * hold spaces: the row is read from its UUID leftwards. Strict: any row
 * that does not parse fails the whole list (a domain silently missing would
 * look like one that disappeared). Returns 0 with *out (malloc'd, may be
 * NULL when *n is 0), or -1 with a message in err. */
int xen_parse_list(const char *text, struct xen_dom **out, size_t *n, char *err, size_t errlen);

#endif
