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

/* True when real (a realpath) is real_root or below it. */
bool repo_inside(const char *real, const char *real_root);

/* A random MAC in the range xend hands out: 00:16:3e:00:00:00-7f:ff:ff.
 * Aborts when the system has no randomness. */
void repo_random_mac(char out[18]);

#endif
