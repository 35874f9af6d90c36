/* template_unpack.h - unpack a template (.tgz) or copy one (a directory)
 * into a new guest's temporary directory, never to more than
 * template_max_bytes.
 *
 * The bound holds against a hostile archive:
 *   - the decompressed tar stream is counted on its way from gzip to tar,
 *     and tar is killed once it passes the bound: every byte tar writes
 *     comes from that stream, so the disk space used stays within it;
 *   - tar (or cp) runs with RLIMIT_FSIZE at the bound, so no one file,
 *     a sparse one included, grows past it (writing or truncating beyond
 *     it kills the process with SIGXFSZ);
 *   - a directory template's files are summed before cp starts;
 *   - the tree check then sums the unpacked files' sizes (apparent size,
 *     each hard link counted once per name) and refuses the total beyond
 *     the bound before the guest gets its name (methods_template.c).
 * The unpacking processes die with the agent (PR_SET_PDEATHSIG), so a
 * killed agent leaves no tar writing into a directory nobody owns. */
#ifndef OVS_TEMPLATE_UNPACK_H
#define OVS_TEMPLATE_UNPACK_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/base/child.h"

struct template_unpack_req {
	const char *src;                 /* the .tgz file, or the template directory */
	bool is_dir;
	const char *dest;                /* the (empty) temporary directory */
	unsigned long long max_bytes;    /* template_max_bytes */
	const char *const *envp;         /* environment of tar, gzip and cp */
	int timeout_ms;
};

/* Start the unpacking child; done is called as for child_spawn. NULL with
 * err when it could not start. req is used only during the call. */
struct child *template_unpack(struct loop *loop, const struct template_unpack_req *req,
			      child_done_cb done, void *arg, char *err, size_t errlen);

/* What the finished child says: 0 when the template is in place; a fault
 * code with msg for a template over the bound (or a file it could not
 * open); -1 for any other failure, which the caller describes from the
 * exit status and the stderr tail (tar's, gzip's or cp's own words). */
int template_unpack_verdict(const struct child_result *res, unsigned long long max_bytes,
			    char *msg, size_t msglen);

#endif
