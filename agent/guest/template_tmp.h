/* template_tmp.h - the temporary directories create_vm_from_template
 * unpacks into (running_pool/.<name>.tmp-XXXXXX), and what a crash leaves
 * of them.
 *
 * running_pool may be shared by every server of a pool, so a directory of
 * that pattern there may be another agent's unpack in flight. The agent
 * therefore writes down the directories it makes (table "template_tmp" of
 * its own db: key the directory's name, value running_pool's path) before
 * making them, and forgets them once they are gone or renamed into place.
 * At start-up it removes what is still written down - and only that: the
 * name must have the exact pattern, lie directly in the current
 * running_pool, and be a directory (never a symlink, never followed).
 * Each removal is logged. */
#ifndef OVS_TEMPLATE_TMP_H
#define OVS_TEMPLATE_TMP_H

#include <stdbool.h>
#include <stddef.h>

struct server;

/* Write down, then make, pool/.<name>.tmp-XXXXXX (mode 0755). 0 and a
 * malloc'd *path, or -1 with err. */
int template_tmp_make(struct server *srv, const char *pool, const char *name, char **path,
		      char *err, size_t errlen);

/* The directory at path is gone (removed, or renamed to the guest's name). */
void template_tmp_forget(struct server *srv, const char *path);

/* Remove the directory at path in the background, then forget it; a
 * failure is logged (and the next start tries again). */
void template_tmp_remove(struct server *srv, const char *path);

/* At start-up: remove every directory still written down (see above). */
void template_tmp_cleanup(struct server *srv);

/* True when name is ".<guest name>.tmp-" and 6 letters or digits. */
bool template_tmp_name_ok(const char *name);

#endif
