/* repo_util.h - small helpers of the methods that make things in the
 * repository (ovs_root): guests from templates (methods_template.c),
 * blank disks, guests installed from an ISO (methods_install.c). */
#ifndef OVS_REPO_UTIL_H
#define OVS_REPO_UTIL_H

#include <stdbool.h>
#include <stddef.h>

struct server;

#define GUEST_NAME_MAX 64                  /* bytes of a new guest's name */
#define DISK_MAX_MB    16777216LL          /* 16 TiB: largest disk we create */

/* Names of guests and templates: 1 to max of [A-Za-z0-9._-] plus the
 * characters of extra (may be NULL), not "." or "..". */
bool repo_name_ok(const char *s, size_t max, const char *extra);

/* The configured root without trailing slashes (malloc'd). */
char *repo_root(struct server *srv);

/* Open <root>/running_pool, made when missing, beneath the root (see
 * agent/base/beneath.h) as an O_PATH directory. 0 with *pfd, or a fault
 * code with err (1006 when it leads outside the root). */
int repo_open_pool(struct server *srv, int *pfd, char *err, size_t errlen);

/* A random MAC in the range xend hands out: 00:16:3e:00:00:00-7f:ff:ff.
 * Aborts when the system has no randomness. */
void repo_random_mac(char out[18]);

#endif
