/* storage.h - the storage sp_create recorded (table "storage").
 *
 * One key per storage, its uuid; the value "type\tfs_spec" (type
 * OVSSPNFS, OVSSPOCFS2 or OVSSPPartition; fs_spec host:/path or a
 * device). The repositories made on it are in /etc/ovs/repositories, not
 * here: the scripts own that file. */
#ifndef OVS_STORAGE_H
#define OVS_STORAGE_H

#include <stdbool.h>
#include <stddef.h>

struct store;

#define STORAGE_TABLE "storage"
#define STORAGE_SPEC_MAX 1024   /* bytes of an fs_spec */
#define STORAGE_TYPE_MAX 32

struct storage {
	char uuid[37];
	char type[STORAGE_TYPE_MAX];
	char spec[STORAGE_SPEC_MAX + 1];
};

/* 1 found, 0 absent, -1 with err. */
int storage_get(struct store *s, const char *uuid, struct storage *out, char *err, size_t errlen);
/* The storage with this fs_spec: 1 found (out filled), 0 none, -1 with err. */
int storage_find_spec(struct store *s, const char *spec, struct storage *out, char *err,
		      size_t errlen);
/* 0 or -1 with err. */
int storage_put(struct store *s, const struct storage *st, char *err, size_t errlen);

#endif
