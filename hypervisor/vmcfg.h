/* vmcfg.h - read and rewrite a Xen guest configuration file (vm.cfg).
 *
 * xm reads vm.cfg as Python; the agent accepts the subset the guide uses:
 * one `key = value` per line, where a value is a quoted string, an integer,
 * a float, True/False, None, or a list [ ... ] of those (lists nest, as in
 * disk_other_config = [['hda', 'ionice', 'sched=best-effort,prio=5']]) that
 * may span lines and carry comments. Anything else is refused with
 * "NAME:LINE: message" instead of being half understood.
 *
 * The file belongs to the administrator as much as to the agent, so a
 * rewrite keeps it as written: comments, blank lines, key order and the
 * bytes of every assignment nobody changed. A changed key is rendered in
 * canonical form in its old place (keeping a comment that trailed it), a
 * new key goes at the end, a deleted key's lines disappear. */
#ifndef OVS_VMCFG_H
#define OVS_VMCFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMCFG_MAX_SIZE (1024 * 1024) /* bytes of vm.cfg we agree to read */
#define VMCFG_MAX_KEYS 1024          /* real files have a few dozen */
#define VMCFG_MAX_DEPTH 8            /* list nesting; QoS lists use 2 */
/* Items of the disk and vif lists the agent works with: real guests have
 * a handful, and a hostile vm.cfg or caller must not make a list cost
 * more than this many items' work. */
#define VMCFG_MAX_DISKS 256
#define VMCFG_MAX_VIFS 256

enum vmcfg_type { VMCFG_STR, VMCFG_INT, VMCFG_FLOAT, VMCFG_BOOL, VMCFG_NONE, VMCFG_LIST };

/* A parsed value. Read-only for callers of vmcfg_get(); vmcfg_set_value()
 * copies one the caller built. Only the fields of `type` are meaningful. */
struct vmcfg_value {
	enum vmcfg_type type;
	char *str;                  /* VMCFG_STR */
	long long num;              /* VMCFG_INT; VMCFG_BOOL: 0 or 1 */
	double real;                /* VMCFG_FLOAT, always finite */
	struct vmcfg_value *items;  /* VMCFG_LIST */
	size_t n;                   /* VMCFG_LIST: number of items */
};

struct vmcfg;

/* Keys the guide documents (NULL-terminated); other keys are kept too. */
extern const char *const vmcfg_known_keys[];

/* Parse len bytes of text (need not be NUL-terminated) read from `name`,
 * which is used only in messages. 0 and *out on success; -1 and a message
 * "name:line: ..." in err otherwise. */
int vmcfg_parse(const char *name, const char *text, size_t len, struct vmcfg **out,
		char *err, size_t errlen);
/* Read and parse a file; the path names it in messages. */
int vmcfg_load(const char *path, struct vmcfg **out, char *err, size_t errlen);
/* Replace path atomically (temporary file in the same directory, fsync,
 * rename, fsync of the directory), keeping the old file's mode and owner,
 * 0644 for a new file. 0, or -1 and a message. */
int vmcfg_save(const struct vmcfg *c, const char *path, char *err, size_t errlen);
/* The file's text (malloc'd, NUL-terminated); *len gets its length. */
char *vmcfg_format(const struct vmcfg *c, size_t *len);
void vmcfg_free(struct vmcfg *c);

/* Keys in file order: i < vmcfg_count(c). */
size_t vmcfg_count(const struct vmcfg *c);
const char *vmcfg_key(const struct vmcfg *c, size_t i);
/* Line where the key's assignment starts; 0 when absent or added since. */
unsigned vmcfg_line(const struct vmcfg *c, const char *key);

bool vmcfg_has(const struct vmcfg *c, const char *key);
/* NULL when absent. */
const struct vmcfg_value *vmcfg_get(const struct vmcfg *c, const char *key);
/* NULL when absent or not a string. */
const char *vmcfg_get_str(const struct vmcfg *c, const char *key);
/* An int, or a string holding a decimal int (the guide writes
 * memory = "512"). 0; -1 absent; -2 any other type or text. */
int vmcfg_get_int(const struct vmcfg *c, const char *key, long long *out);
/* 0 when absent or not a list. */
size_t vmcfg_list_len(const struct vmcfg *c, const char *key);
/* NULL when absent, not a list, i out of range or the item not a string. */
const char *vmcfg_list_str(const struct vmcfg *c, const char *key, size_t i);

/* Setters replace the value in place or append the key; they return 0, or
 * -1 when the key is not an identifier (or is a Python keyword), the value
 * is malformed, or the file already has VMCFG_MAX_KEYS keys. */
int vmcfg_set_str(struct vmcfg *c, const char *key, const char *value);
int vmcfg_set_int(struct vmcfg *c, const char *key, long long value);
int vmcfg_set_list(struct vmcfg *c, const char *key, const char *const *items, size_t n);
/* Deep copy of v (lists nested at most VMCFG_MAX_DEPTH, floats finite). */
int vmcfg_set_value(struct vmcfg *c, const char *key, const struct vmcfg_value *v);
/* Render the key in canonical form from now on, value unchanged. 0 or -1 absent. */
int vmcfg_touch(struct vmcfg *c, const char *key);
/* 0, or -1 when absent. */
int vmcfg_del(struct vmcfg *c, const char *key);

/* One item of `disk`: 'file:/OVS/running_pool/g/system.img,hda,w',
 * 'tap:aio:/x.img,xvda,w', 'phy:/dev/x,hdb,w!', 'file:/x.iso,hdc:cdrom,r'
 * or an empty cdrom drive ',hdc:cdrom,r' (kind and path ""). */
struct vmcfg_disk {
	char kind[16];    /* "file", "phy", "tap:aio", "tap:qcow", ... */
	char path[4096];
	char dev[32];     /* "hda", "xvda", "hdc" (without ":cdrom") */
	bool cdrom;
	char mode[4];     /* "r", "w" or "w!" */
};

int vmcfg_parse_disk(const char *item, struct vmcfg_disk *d, char *err, size_t errlen);
/* 0, or -1 when a field is invalid or out is too small. */
int vmcfg_format_disk(const struct vmcfg_disk *d, char *out, size_t outlen);

/* One item of `vif`: 'mac=00:16:3e:73:a3:27, bridge=xenbr0, type=ioemu,
 * model=e1000, rate=10Mb/s@50ms'. Absent settings are "". '' and
 * 'type=ioemu, , bridge=xenbr0' are valid; the MAC is stored lower case. */
struct vmcfg_vif {
	char mac[18];
	char bridge[64];
	char type[16];
	char model[32];
	char rate[64];    /* NUM[GMK]{B,b}/s[@NUM[mu]s] */
	char vifname[32];
};

/* A vif's rate= as xl reads it: NUM[GMK]{B|b}/s[@NUM[m|u]s], G, M and K
 * powers of 1000, b bits and B bytes; the window (how often the credit of
 * rate x window bytes is given again) is 50 ms unless given. 0 with both
 * values, or -1 when malformed, 0, above VMCFG_RATE_MAX bytes/s or with a
 * window of 0 or above VMCFG_RATE_WINDOW_MAX_US. */
#define VMCFG_RATE_WINDOW_US 50000
#define VMCFG_RATE_WINDOW_MAX_US 10000000ULL
#define VMCFG_RATE_MAX 2147483647ULL /* bytes/s: tc's 32-bit rate, 17 Gb/s */
int vmcfg_vif_rate(const char *s, uint64_t *bytes_per_s, uint64_t *window_us);

int vmcfg_parse_vif(const char *item, struct vmcfg_vif *v, char *err, size_t errlen);
/* Canonical "mac=..., bridge=..., type=..., model=..., rate=..., vifname=..."
 * with absent settings left out. 0, or -1 when invalid or out is too small. */
int vmcfg_format_vif(const struct vmcfg_vif *v, char *out, size_t outlen);
/* Six hex pairs separated by ':', like 00:16:3e:73:a3:27 (any case). */
bool vmcfg_mac_ok(const char *s);

#endif
