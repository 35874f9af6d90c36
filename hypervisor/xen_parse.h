/* xen_parse.h - parse `xl info` output ("key : value" lines). */
#ifndef OVS_XEN_PARSE_H
#define OVS_XEN_PARSE_H

#include "hv.h"

/* Overwrite the fields of info that the text names; unknown keys are
 * ignored, malformed lines skipped. */
void xen_parse_info(const char *text, struct hv_info *info);

#endif
