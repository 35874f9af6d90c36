/* qemu_argv.c - vm.cfg to a QEMU argv; the rules are in qemu_argv.h.
 *
 * Everything here is checked text manipulation: the result goes straight
 * to execve(), so whatever QEMU would misparse (a comma in an option
 * value) is escaped and whatever it cannot take is refused before a
 * process is ever started. */
#include "hypervisor/qemu/qemu_argv.h"
#include "hypervisor/hv.h"
#include "hypervisor/vmcfg.h"
#include "hypervisor/vmcfg_qos.h"
#include "hypervisor/tap.h"
#include "agent/base/buf.h"
#include "agent/base/util.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PIECE_MAX 16384        /* one argument; disk paths are < 4096 */
#define SUN_PATH_MAX 108       /* sizeof(sockaddr_un.sun_path), NUL included */
#define IDE_UNITS 4            /* hda..hdd: two channels, master and slave */
#define VIRTIO_UNITS 26        /* xvda..xvdz */
#define DRIVE_SLOTS (IDE_UNITS + VIRTIO_UNITS)
_Static_assert(DRIVE_SLOTS == QEMU_IOPRIO_MAX, "one priority per drive slot");
#define MAX_MEMORY_MB (16LL * 1024 * 1024)
#define MAX_VCPUS 255          /* the pc machine's limit */
#define MAX_VNC_DISPLAY (65535 - 5900)

struct ctx {
	const struct vmcfg *cfg;
	const struct hv_guest *g;
	const struct qemu_argv_opts *o;
	char **v;                  /* QEMU_ARGV_MAX + 1 slots */
	size_t n;
	char *err;
	size_t errlen;
	bool failed;               /* the first error wins: it is the cause */
	bool iothread[DRIVE_SLOTS]; /* virtio disks with an I/O priority of their own */
};

/* ---- errors --------------------------------------------------------- */

__attribute__((format(printf, 4, 0)))
static int vfail(struct ctx *c, const char *key, bool in_cfg, const char *fmt, va_list ap)
{
	char msg[1024], line[24] = "";
	const char *dir = c->g && c->g->path && c->g->path[0] ? c->g->path : NULL;
	unsigned ln = key ? vmcfg_line(c->cfg, key) : 0;

	if (c->failed)
		return -1;
	c->failed = true;
	if (!c->err || c->errlen == 0)
		return -1;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (!in_cfg) {
		snprintf(c->err, c->errlen, "qemu: %s", msg);
		return -1;
	}
	if (ln)
		snprintf(line, sizeof(line), ":%u", ln);
	snprintf(c->err, c->errlen, "%s%svm.cfg%s: %s", dir ? dir : "", dir ? "/" : "", line, msg);
	return -1;
}

/* A problem with the guest's vm.cfg: "DIR/vm.cfg:LINE: message", the
 * line being key's, so the administrator knows what to edit. */
__attribute__((format(printf, 3, 4)))
static int cfg_fail(struct ctx *c, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(c, key, true, fmt, ap);
	va_end(ap);
	return -1;
}

/* A problem with what the backend passed: a bug, not the administrator's. */
__attribute__((format(printf, 2, 3)))
static int opt_fail(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(c, NULL, false, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- argv and escaping ---------------------------------------------- */

/* QEMU takes any byte in a value except NUL, but a control character
 * (a newline above all) would corrupt its messages, our logs and the
 * line-based tools around them, and is never what the administrator
 * meant. */
static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* Append s to an option list: QEMU's option parser ends a value at a
 * comma and reads ",," as one literal comma. */
static void put_escaped(struct buf *b, const char *s)
{
	for (const char *p = s; *p; p++)
		buf_append(b, *p == ',' ? ",," : p, *p == ',' ? 2 : 1);
}

static int push_owned(struct ctx *c, char *s)
{
	if (c->n >= QEMU_ARGV_MAX) {
		free(s);
		return cfg_fail(c, NULL, "the QEMU command line would pass %d arguments",
				QEMU_ARGV_MAX);
	}
	c->v[c->n++] = s;
	return 0;
}

static int push(struct ctx *c, const char *s)
{
	return push_owned(c, xstrdup(s));
}

/* Push the buffer's text and empty it; a piece past PIECE_MAX is refused
 * rather than cut, since a cut path names another file. */
static int push_buf(struct ctx *c, struct buf *b)
{
	if (b->failed) {
		buf_free(b);
		return cfg_fail(c, NULL, "a QEMU option would exceed %d bytes", PIECE_MAX);
	}
	return push_owned(c, buf_steal(b, NULL));
}

__attribute__((format(printf, 2, 3)))
static int pushf(struct ctx *c, const char *fmt, ...)
{
	struct buf b;
	va_list ap;

	buf_init(&b, PIECE_MAX);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	return push_buf(c, &b);
}

/* ---- typed vm.cfg access -------------------------------------------- */

/* A 0/1 style setting: an int, True/False, or a string of digits (the
 * guide writes both vnc=1 and memory="512"). 1 with *out, 0 absent, -1
 * reported. */
static int cfg_flag(struct ctx *c, const char *key, long long *out)
{
	const struct vmcfg_value *v = vmcfg_get(c->cfg, key);

	if (!v || v->type == VMCFG_NONE)
		return 0;
	if (v->type == VMCFG_INT || v->type == VMCFG_BOOL) {
		*out = v->num;
		return 1;
	}
	if (v->type == VMCFG_STR && v->str[0] && strspn(v->str, "0123456789") == strlen(v->str) &&
	    strlen(v->str) < 10) {
		*out = strtoll(v->str, NULL, 10);
		return 1;
	}
	return cfg_fail(c, key, "%s must be a number", key);
}

/* A string setting: 1 with *out, 0 absent (or None), -1 reported. */
static int cfg_str(struct ctx *c, const char *key, const char **out)
{
	const struct vmcfg_value *v = vmcfg_get(c->cfg, key);

	if (!v || v->type == VMCFG_NONE)
		return 0;
	if (v->type != VMCFG_STR)
		return cfg_fail(c, key, "%s must be a string", key);
	if (!printable(v->str))
		return cfg_fail(c, key, "%s holds a control character", key);
	*out = v->str;
	return 1;
}

/* A list of strings (absent is empty): 1 with *out, 0 absent, -1 reported. */
static int cfg_list(struct ctx *c, const char *key, const struct vmcfg_value **out)
{
	const struct vmcfg_value *v = vmcfg_get(c->cfg, key);

	if (!v || v->type == VMCFG_NONE)
		return 0;
	if (v->type != VMCFG_LIST)
		return cfg_fail(c, key, "%s must be a list like [ '...' ]", key);
	for (size_t i = 0; i < v->n; i++)
		if (v->items[i].type != VMCFG_STR)
			return cfg_fail(c, key, "%s item %zu must be a string", key, i + 1);
	*out = v;
	return 1;
}

/* ---- VNC -------------------------------------------------------------- */

/* What a vfb item 'type=vnc,vncunused=1,vnclisten=0.0.0.0,vncpasswd=foo'
 * says about VNC. */
struct vfb {
	bool vnc;
	char listen[256];
	char passwd[256];
	long long unused, display;  /* -1 when not given */
};

struct vnc {
	bool on;
	const char *listen, *passwd;  /* NULL when not given */
	long long unused, display;    /* -1 when not given */
	struct vfb vfb;
};

static int vfb_number(struct ctx *c, const char *val, long long *out)
{
	if (!val[0] || strspn(val, "0123456789") != strlen(val) || strlen(val) > 9)
		return cfg_fail(c, "vfb", "vfb: '%s' must be a number", val);
	*out = strtoll(val, NULL, 10);
	return 0;
}

static int vfb_setting(struct ctx *c, const char *key, const char *val, struct vfb *f)
{
	long long n = 0;

	if (strcmp(key, "type") == 0) {
		f->vnc = f->vnc || strcmp(val, "vnc") == 0;
	} else if (strcmp(key, "vnc") == 0) {
		if (vfb_number(c, val, &n) < 0)
			return -1;
		f->vnc = f->vnc || n != 0;
	} else if (strcmp(key, "vnclisten") == 0 || strcmp(key, "vncpasswd") == 0) {
		char *dst = key[3] == 'l' ? f->listen : f->passwd;
		if (strlen(val) >= sizeof(f->listen))
			return cfg_fail(c, "vfb", "vfb: %s is too long", key);
		strcpy(dst, val);
	} else if (strcmp(key, "vncunused") == 0) {
		return vfb_number(c, val, &f->unused);
	} else if (strcmp(key, "vncdisplay") == 0) {
		return vfb_number(c, val, &f->display);
	}
	/* sdl, display, xauthority, keymap: a local X display, not ours. */
	return 0;
}

static int vfb_parse(struct ctx *c, const char *item, struct vfb *f)
{
	char field[512];
	const char *p = item;

	memset(f, 0, sizeof(*f));
	f->unused = f->display = -1;
	for (;;) {
		size_t n = strcspn(p, ","), lead = strspn(p, " \t"), end = n;
		char *eq;

		while (end > lead && (p[end - 1] == ' ' || p[end - 1] == '\t'))
			end--;
		if (end - lead >= sizeof(field))
			return cfg_fail(c, "vfb", "vfb: a setting is too long");
		memcpy(field, p + lead, end - lead);
		field[end - lead] = '\0';
		eq = strchr(field, '=');
		if (field[0] && !eq)
			return cfg_fail(c, "vfb", "vfb: '%s' is not KEY=VALUE", field);
		if (eq) {
			*eq = '\0';
			if (vfb_setting(c, field, eq + 1, f) < 0)
				return -1;
		}
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

/* The first vfb item that asks for VNC: 1, 0 none, -1 reported. */
static int vfb_find(struct ctx *c, struct vfb *f)
{
	const struct vmcfg_value *l;
	int r = cfg_list(c, "vfb", &l);

	if (r <= 0)
		return r;
	for (size_t i = 0; i < l->n; i++) {
		if (vfb_parse(c, l->items[i].str, f) < 0)
			return -1;
		if (f->vnc)
			return 1;
	}
	return 0;
}

static int vnc_settings(struct ctx *c, struct vnc *v)
{
	long long n = 0;
	int has_vfb, r;

	memset(v, 0, sizeof(*v));
	if ((has_vfb = vfb_find(c, &v->vfb)) < 0)
		return -1;
	if ((r = cfg_flag(c, "vnc", &n)) < 0)
		return -1;
	/* An explicit vnc key decides; vfb is the PV guests' way to ask. */
	v->on = r ? n != 0 : has_vfb;
	v->listen = has_vfb && v->vfb.listen[0] ? v->vfb.listen : NULL;
	v->passwd = has_vfb && v->vfb.passwd[0] ? v->vfb.passwd : NULL;
	v->unused = has_vfb ? v->vfb.unused : -1;
	v->display = has_vfb ? v->vfb.display : -1;
	if (cfg_str(c, "vnclisten", &v->listen) < 0 || cfg_str(c, "vncpasswd", &v->passwd) < 0)
		return -1;
	if ((r = cfg_flag(c, "vncunused", &n)) < 0)
		return -1;
	if (r)
		v->unused = n;
	if ((r = cfg_flag(c, "vncdisplay", &n)) < 0)
		return -1;
	if (r)
		v->display = n;
	return 0;
}

bool qemu_wants_vnc(const struct vmcfg *cfg)
{
	struct ctx c = { .cfg = cfg };
	struct vnc v;

	return vnc_settings(&c, &v) == 0 && v.on;
}

int qemu_vnc_fixed_display(const struct vmcfg *cfg)
{
	struct ctx c = { .cfg = cfg };
	struct vnc v;

	if (vnc_settings(&c, &v) < 0 || !v.on || v.unused != 0)
		return -1;
	return v.display >= 0 && v.display <= MAX_VNC_DISPLAY ? (int)v.display : -1;
}

/* vnclisten as QEMU's -vnc wants the host: IPv6 in brackets, names and
 * IPv4 as they are, anything else refused (it would be parsed as options). */
static int vnc_host(struct ctx *c, const char *h, bool from_cfg, char *out, size_t outlen)
{
	static const char name_chars[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-";
	struct in6_addr a6;

	if (inet_pton(AF_INET6, h, &a6) == 1 && strlen(h) + 3 <= outlen) {
		snprintf(out, outlen, "[%s]", h);
		return 0;
	}
	if (h[0] && strlen(h) < outlen && strspn(h, name_chars) == strlen(h)) {
		strcpy(out, h);
		return 0;
	}
	if (from_cfg)
		return cfg_fail(c, "vnclisten", "vnclisten '%.64s' is not an address or host name", h);
	return opt_fail(c, "vnc_listen '%.64s' is not an address or host name", h);
}

static int emit_display(struct ctx *c)
{
	struct vnc v;
	char host[300];
	const char *listen;

	if (vnc_settings(c, &v) < 0)
		return -1;
	if (!v.on) {
		push(c, "-display");
		return push(c, "none");
	}
	if (c->o->vnc_display < 0 || c->o->vnc_display > MAX_VNC_DISPLAY)
		return opt_fail(c, "the guest wants VNC but vnc_display is %d (allocate one)",
				c->o->vnc_display);
	listen = v.listen ? v.listen : c->o->vnc_listen ? c->o->vnc_listen : "127.0.0.1";
	if (vnc_host(c, listen, v.listen != NULL, host, sizeof(host)) < 0)
		return -1;
	push(c, "-vnc");
	return pushf(c, "%s:%d%s", host, c->o->vnc_display,
		     v.passwd && v.passwd[0] ? ",password=on" : "");
}

/* ---- disks ------------------------------------------------------------ */

struct drive {
	struct vmcfg_disk d;
	bool ide;
	int unit;                 /* IDE index, or virtio letter - 'a' */
	const char *format;       /* NULL for an empty cdrom */
	bool cache_none;
	char path[4096 + 8];      /* d.path, with /dev/ for a bare phy: name */
};

struct disk_kind {
	const char *kind, *format;
	bool cache_none;
};

/* xl's own mapping of Xen disk kinds to QEMU formats (libxl_dm.c). */
static const struct disk_kind disk_kinds[] = {
	{ "file", "raw", false },
	{ "phy", "raw", true },       /* a block device: bypass the host's cache */
	{ "tap:aio", "raw", false },
	{ "tap:sync", "raw", false },
	{ "tap:qcow", "qcow", false },
	{ "tap:qcow2", "qcow2", false },
	{ "tap:vhd", "vpc", false },
	{ "tap:vmdk", "vmdk", false },
};

static const struct disk_kind *find_kind(const char *kind)
{
	for (size_t i = 0; i < ARRAY_SIZE(disk_kinds); i++)
		if (strcmp(disk_kinds[i].kind, kind) == 0)
			return &disk_kinds[i];
	return NULL;
}

/* hda..hdd -> IDE 0..3; xvdX, sdX -> virtio X. */
static int drive_slot(struct ctx *c, const char *shown, const char *dev, struct drive *dr)
{
	const char *rest;

	if (strncmp(dev, "ioemu:", 6) == 0)
		dev += 6; /* old xm syntax for "an emulated device" */
	dr->ide = strncmp(dev, "hd", 2) == 0;
	if (dr->ide || strncmp(dev, "sd", 2) == 0)
		rest = dev + 2;
	else if (strncmp(dev, "xvd", 3) == 0)
		rest = dev + 3;
	else
		return cfg_fail(c, "disk", "disk '%s': unknown device '%s' (use hda-hdd, xvdX "
				"or sdX)", shown, dev);
	if (rest[0] >= 'a' && rest[0] <= 'z' && rest[1] >= '0' && rest[1] <= '9')
		return cfg_fail(c, "disk", "disk '%s': %s is a partition; QEMU gives guests "
				"whole disks only", shown, dev);
	if (rest[0] < 'a' || rest[0] > 'z' || rest[1])
		return cfg_fail(c, "disk", "disk '%s': unknown device '%s'", shown, dev);
	dr->unit = rest[0] - 'a';
	if (dr->ide && dr->unit >= IDE_UNITS)
		return cfg_fail(c, "disk", "disk '%s': the IDE controller has hda to hdd only; "
				"use xvdX for more disks", shown);
	if (!dr->ide && dr->d.cdrom)
		return cfg_fail(c, "disk", "disk '%s': a cdrom must be an IDE device (hda-hdd)",
				shown);
	return 0;
}

static int drive_source(struct ctx *c, const char *shown, struct drive *dr)
{
	const struct disk_kind *k;

	if (!dr->d.kind[0])
		return 0; /* an empty cdrom drive */
	if (!(k = find_kind(dr->d.kind)))
		return cfg_fail(c, "disk", "disk '%s': disk kind '%s' is not supported by the "
				"QEMU backend (file, phy, tap:aio, tap:sync, tap:qcow, tap:qcow2, "
				"tap:vhd, tap:vmdk)", shown, dr->d.kind);
	dr->format = k->format;
	dr->cache_none = k->cache_none && !dr->d.cdrom;
	/* xm reads phy:sdb as /dev/sdb. */
	if (strcmp(dr->d.kind, "phy") == 0 && dr->d.path[0] != '/')
		snprintf(dr->path, sizeof(dr->path), "/dev/%s", dr->d.path);
	else
		snprintf(dr->path, sizeof(dr->path), "%s", dr->d.path);
	if (dr->path[0] != '/')
		return cfg_fail(c, "disk", "disk '%s': the path must be absolute (QEMU does not "
				"run in the guest's directory)", shown);
	return 0;
}

/* Parse one item into slots[]; refuses a second item for the same drive. */
static int drive_add(struct ctx *c, const char *key, const char *item, struct drive **slots)
{
	struct drive *dr = xcalloc(1, sizeof(*dr));
	char shown[80], msg[512];
	int slot;

	quote_printable(shown, sizeof(shown), item, strlen(item));
	if (vmcfg_parse_disk(item, &dr->d, msg, sizeof(msg)) < 0) {
		cfg_fail(c, key, "%s", msg);
		goto fail;
	}
	if (drive_slot(c, shown, dr->d.dev, dr) < 0 || drive_source(c, shown, dr) < 0)
		goto fail;
	slot = dr->ide ? dr->unit : IDE_UNITS + dr->unit;
	if (slots[slot]) {
		cfg_fail(c, key, "disk '%s': %s is already given by '%s'", shown, dr->d.dev,
			 slots[slot]->d.dev);
		goto fail;
	}
	slots[slot] = dr;
	return 0;
fail:
	free(dr);
	return -1;
}

/* The `cdrom` key (guide E.11) is shorthand for 'file:PATH,hdc:cdrom,r'. */
static int cdrom_key(struct ctx *c, struct drive **slots)
{
	const char *path;
	struct drive *dr;
	int r = cfg_str(c, "cdrom", &path);

	if (r <= 0 || !path[0])
		return r;
	if (slots[2]) {
		if (slots[2]->d.cdrom && strcmp(slots[2]->path, path) == 0)
			return 0;
		return cfg_fail(c, "cdrom", "cdrom = '%.64s' but the disk list already has "
				"hdc (%.64s)", path, slots[2]->path[0] ? slots[2]->path : "empty");
	}
	if (path[0] != '/')
		return cfg_fail(c, "cdrom", "cdrom: the path must be absolute");
	if (strlen(path) >= sizeof(dr->path))
		return cfg_fail(c, "cdrom", "cdrom: the path is too long");
	dr = xcalloc(1, sizeof(*dr));
	strcpy(dr->d.kind, "file");
	strcpy(dr->d.dev, "hdc");
	strcpy(dr->d.mode, "r");
	dr->d.cdrom = true;
	dr->ide = true;
	dr->unit = 2;
	dr->format = "raw";
	strcpy(dr->path, path);
	slots[2] = dr;
	return 0;
}

static int emit_drive(struct ctx *c, const struct drive *dr)
{
	struct buf b;

	buf_init(&b, PIECE_MAX);
	if (dr->format) {
		buf_puts(&b, "file=");
		put_escaped(&b, dr->path);
		buf_printf(&b, ",format=%s,", dr->format);
	}
	/* Virtio disks are explicit devices, each in letter order: only so can
	 * one take an iothread, and the guest's vda, vdb keep their order
	 * whichever has one (if=virtio devices would come after all others). */
	if (dr->ide)
		buf_printf(&b, "if=ide,index=%d,media=%s", dr->unit, dr->d.cdrom ? "cdrom" : "disk");
	else
		buf_printf(&b, "if=none,id=disk-vd%c", 'a' + dr->unit);
	if (dr->d.cdrom || strcmp(dr->d.mode, "r") == 0)
		buf_puts(&b, ",readonly=on");
	if (dr->cache_none)
		buf_puts(&b, ",cache=none");
	/* w!: shared writable (a cluster file system); without this QEMU's
	 * image locking refuses the second guest. */
	if (!dr->d.cdrom && strcmp(dr->d.mode, "w!") == 0)
		buf_puts(&b, ",file.locking=off");
	push(c, "-drive");
	push_buf(c, &b);
	if (dr->ide)
		return c->failed ? -1 : 0;
	if (c->iothread[IDE_UNITS + dr->unit]) {
		push(c, "-object");
		pushf(c, "iothread,id=io-vd%c", 'a' + dr->unit);
	}
	push(c, "-device");
	if (c->iothread[IDE_UNITS + dr->unit])
		return pushf(c, "virtio-blk-pci,drive=disk-vd%c,iothread=io-vd%c", 'a' + dr->unit,
			     'a' + dr->unit);
	return pushf(c, "virtio-blk-pci,drive=disk-vd%c", 'a' + dr->unit);
}

static void free_drives(struct drive **slots)
{
	for (size_t i = 0; i < DRIVE_SLOTS; i++) {
		free(slots[i]);
		slots[i] = NULL;
	}
}

/* The disk list and the cdrom key into slots (each slot malloc'd, the
 * caller frees with free_drives, also on error). */
static int collect_drives(struct ctx *c, struct drive **slots)
{
	const struct vmcfg_value *l = NULL;

	if (cfg_list(c, "disk", &l) < 0)
		return -1;
	for (size_t i = 0; l && i < l->n; i++)
		if (drive_add(c, "disk", l->items[i].str, slots) < 0)
			return -1;
	return cdrom_key(c, slots);
}

static int emit_disks(struct ctx *c)
{
	struct drive *slots[DRIVE_SLOTS] = { 0 };
	int ret = collect_drives(c, slots);

	for (size_t i = 0; i < DRIVE_SLOTS && ret == 0; i++)
		if (slots[i])
			ret = emit_drive(c, slots[i]);
	free_drives(slots);
	return ret;
}

/* ---- disk I/O priorities (disk_other_config ionice) -------------------- */

/* ionice(1)'s defaults: a prio alone is best-effort; best-effort and
 * realtime without a prio are 4; idle has none. */
static void ioprio_of(const struct vmcfg_disk_qos *q, int *cls, int *prio)
{
	*cls = q->ioclass >= 0 ? q->ioclass : q->prio >= 0 ? IOCLASS_BEST_EFFORT : IOCLASS_NONE;
	*prio = *cls == IOCLASS_REALTIME || *cls == IOCLASS_BEST_EFFORT ? (q->prio >= 0 ? q->prio : 4)
									 : 0;
}

static const char *ioclass_name(int cls)
{
	static const char *const names[] = { "none", "realtime", "best-effort", "idle" };

	return cls >= 0 && cls < 4 ? names[cls] : "?";
}

/* Each disk_other_config item matched to a disk of the guest: a virtio
 * disk gets an iothread of its own, IDE disks share QEMU's main thread (so
 * they must agree). out (may be NULL) gets one entry per priority to set,
 * at most DRIVE_SLOTS. */
static int plan_ioprio(struct ctx *c, struct qemu_ioprio *out, size_t *n)
{
	const struct vmcfg_value *v = vmcfg_get(c->cfg, "disk_other_config");
	struct drive *slots[DRIVE_SLOTS] = { 0 };
	struct vmcfg_disk_qos q;
	bool given[DRIVE_SLOTS] = { 0 };
	int ide_cls = -1, ide_prio = -1, ret = -1;
	const char *ide_dev = NULL;
	char msg[512];

	*n = 0;
	if (!v || v->type != VMCFG_LIST || v->n == 0)
		return 0; /* None or []; anything else vmcfg_check_qos refused */
	if (collect_drives(c, slots) < 0)
		goto out;
	for (size_t i = 0; i < v->n && i < DRIVE_SLOTS * 2; i++) {
		struct drive probe = { 0 };
		int cls, prio, slot;
		if (vmcfg_parse_disk_qos(&v->items[i], &q, msg, sizeof(msg)) < 0) {
			cfg_fail(c, "disk_other_config", "disk_other_config item %zu: %s", i + 1, msg);
			goto out;
		}
		if (drive_slot(c, q.dev, q.dev, &probe) < 0)
			goto out;
		slot = probe.ide ? probe.unit : IDE_UNITS + probe.unit;
		if (!slots[slot]) {
			cfg_fail(c, "disk_other_config", "disk_other_config item %zu: the guest has "
				 "no disk %s", i + 1, q.dev);
			goto out;
		}
		if (given[slot]) {
			cfg_fail(c, "disk_other_config", "disk_other_config item %zu: %s is given "
				 "twice", i + 1, q.dev);
			goto out;
		}
		given[slot] = true;
		ioprio_of(&q, &cls, &prio);
		if (q.ioclass < 0 && q.prio < 0)
			continue; /* '': nothing asked */
		if (probe.ide && ide_dev && (cls != ide_cls || prio != ide_prio)) {
			cfg_fail(c, "disk_other_config", "disk_other_config item %zu: %s asks "
				 "%s/%d but %s asks %s/%d: IDE disks share QEMU's main I/O thread, "
				 "so they take one priority (use xvdX disks for one each)", i + 1,
				 q.dev, ioclass_name(cls), prio, ide_dev, ioclass_name(ide_cls),
				 ide_prio);
			goto out;
		}
		if (probe.ide && ide_dev)
			continue;
		if (probe.ide) {
			ide_dev = slots[slot]->d.dev;
			ide_cls = cls;
			ide_prio = prio;
		} else {
			c->iothread[slot] = true;
		}
		if (out) {
			struct qemu_ioprio *p = &out[*n];
			memset(p, 0, sizeof(*p));
			snprintf(p->dev, sizeof(p->dev), "%s", q.dev);
			if (!probe.ide)
				snprintf(p->iothread, sizeof(p->iothread), "io-vd%c", 'a' + probe.unit);
			p->ioclass = cls;
			p->prio = prio;
		}
		++*n;
	}
	ret = 0;
out:
	free_drives(slots);
	return ret;
}

/* ---- boot ------------------------------------------------------------- */

static int emit_boot_order(struct ctx *c)
{
	const char *boot = "c";
	int r = cfg_str(c, "boot", &boot);

	if (r < 0)
		return -1;
	if (!boot[0] || strlen(boot) > 4 || strspn(boot, "acdn") != strlen(boot))
		return cfg_fail(c, "boot", "boot '%.16s': use the letters a (floppy), c (disk), "
				"d (cdrom) and n (network)", boot);
	for (const char *p = boot; *p; p++)
		if (strchr(p + 1, *p))
			return cfg_fail(c, "boot", "boot '%s' names '%c' twice", boot, *p);
	push(c, "-boot");
	return pushf(c, "order=%s", boot);
}

static int abs_path_key(struct ctx *c, const char *key, const char **out)
{
	int r = cfg_str(c, key, out);

	if (r == 1 && (*out)[0] != '/')
		return cfg_fail(c, key, "%s: the path must be absolute", key);
	return r;
}

/* PV direct boot; see the header for when it applies. */
static int emit_kernel(struct ctx *c, bool hvm)
{
	const char *kernel = NULL, *ramdisk = NULL, *root = NULL, *extra = NULL, *loader = NULL;
	int r;

	if (hvm)
		return 0; /* `kernel` is Xen's hvmloader: QEMU brings its own firmware */
	if (cfg_str(c, "bootloader", &loader) < 0)
		return -1;
	if (loader && loader[0])
		return 0;
	if ((r = abs_path_key(c, "kernel", &kernel)) <= 0)
		return r;
	if (abs_path_key(c, "ramdisk", &ramdisk) < 0 || cfg_str(c, "root", &root) < 0 ||
	    cfg_str(c, "extra", &extra) < 0)
		return -1;
	push(c, "-kernel");
	push(c, kernel);
	if (ramdisk) {
		push(c, "-initrd");
		push(c, ramdisk);
	}
	/* xm's own command line: "root=ROOT EXTRA". */
	if ((root && root[0]) || (extra && extra[0])) {
		bool both = root && root[0] && extra && extra[0];
		push(c, "-append");
		pushf(c, "%s%s%s%s", root && root[0] ? "root=" : "", root ? root : "",
		      both ? " " : "", extra ? extra : "");
	}
	return c->failed ? -1 : 0;
}

/* ---- network ---------------------------------------------------------- */

static const char *nic_model(struct ctx *c, const struct vmcfg_vif *v, const char *shown,
			     bool ne2000)
{
	/* The guide's names (Xen's, after its qemu-dm) to QEMU's devices. */
	static const char *const models[][2] = {
		{ "e1000", "e1000" }, { "e100", "i82557b" }, { "i82557b", "i82557b" },
		{ "rtl8139", "rtl8139" }, { "ne2k_pci", "ne2k_pci" }, { "pcnet", "pcnet" },
		{ "virtio", "virtio-net-pci" }, { "virtio-net-pci", "virtio-net-pci" },
		{ "virtio-net", "virtio-net-pci" },
	};

	if (!v->model[0])
		return ne2000 ? "ne2k_pci" : "e1000";
	for (size_t i = 0; i < ARRAY_SIZE(models); i++)
		if (strcmp(models[i][0], v->model) == 0)
			return models[i][1];
	cfg_fail(c, "vif", "vif '%s': model '%s' is not one of e1000, e100, i82557b, rtl8139, "
		 "virtio, ne2k_pci, pcnet", shown, v->model);
	return NULL;
}

/* A MAC that stays the guest's across restarts, in Xen's 00:16:3e range,
 * for a vif the guest layer has not given one (it writes one to vm.cfg
 * before a start). */
static void derived_mac(const char *uuid, size_t index, char *out, size_t outlen)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	/* The fourth byte stays below 0x80 as in xm's randomMAC(). */

	for (const char *p = uuid; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	h = (h ^ (uint32_t)index) * 16777619u;
	snprintf(out, outlen, "00:16:3e:%02x:%02x:%02x", (h >> 16) & 0x7f, (h >> 8) & 0xff,
		 h & 0xff);
}

static int plan_nic(struct ctx *c, const char *item, size_t index, bool ne2000,
		    struct qemu_nic *nic)
{
	struct vmcfg_vif v;
	char shown[80], msg[512];
	const char *model;

	memset(nic, 0, sizeof(*nic));
	quote_printable(shown, sizeof(shown), item, strlen(item));
	if (vmcfg_parse_vif(item, &v, msg, sizeof(msg)) < 0)
		return cfg_fail(c, "vif", "%s", msg);
	if (v.type[0] && strcmp(v.type, "ioemu") != 0 && strcmp(v.type, "netfront") != 0 &&
	    strcmp(v.type, "vif") != 0)
		return cfg_fail(c, "vif", "vif '%s': type '%s' is not ioemu, netfront or vif",
				shown, v.type);
	if (!(model = nic_model(c, &v, shown, ne2000)))
		return -1;
	if (tap_name(c->g->uuid, v.vifname, (unsigned)index, nic->ifname, msg, sizeof(msg)) < 0)
		return cfg_fail(c, "vif", "vif '%s': %s", shown, msg);
	snprintf(nic->model, sizeof(nic->model), "%s", model);
	snprintf(nic->bridge, sizeof(nic->bridge), "%s", v.bridge);
	if (v.mac[0])
		snprintf(nic->mac, sizeof(nic->mac), "%s", v.mac);
	else
		derived_mac(c->g->uuid, index, nic->mac, sizeof(nic->mac));
	if (v.rate[0] && vmcfg_vif_rate(v.rate, &nic->qos.out_rate, &nic->qos.out_window_us) < 0)
		return cfg_fail(c, "vif", "vif '%s': rate '%s' is not a rate", shown, v.rate);
	return 0;
}

/* vif_other_config's token buckets, each to the NIC with its MAC. */
static int plan_nic_qos(struct ctx *c, struct qemu_nic *nics, size_t n)
{
	const struct vmcfg_value *v = vmcfg_get(c->cfg, "vif_other_config");
	struct vmcfg_vif_qos q;
	char msg[512];

	if (!v || v->type != VMCFG_LIST)
		return 0;
	for (size_t i = 0; i < v->n; i++) {
		size_t k = 0;
		if (vmcfg_parse_vif_qos(&v->items[i], &q, msg, sizeof(msg)) < 0)
			return cfg_fail(c, "vif_other_config", "vif_other_config item %zu: %s", i + 1,
					msg);
		while (k < n && strcmp(nics[k].mac, q.mac) != 0)
			k++;
		if (k == n)
			return cfg_fail(c, "vif_other_config", "vif_other_config item %zu: no vif "
					"has the MAC %s", i + 1, q.mac);
		if (nics[k].qos.in_rate)
			return cfg_fail(c, "vif_other_config", "vif_other_config item %zu: %s is "
					"given twice", i + 1, q.mac);
		if (vmcfg_vif_qos_values(&q, &nics[k].qos.in_rate, &nics[k].qos.in_latency_us) < 0)
			return cfg_fail(c, "vif_other_config", "vif_other_config item %zu: %s: "
					"rate '%s' is not a rate", i + 1, q.mac, q.rate);
	}
	return 0;
}

/* The NICs of the vif list (out malloc'd, TAP_MAX_NICS at most). */
static int plan_nics(struct ctx *c, struct qemu_nic **out, size_t *n)
{
	const struct vmcfg_value *l = NULL;
	long long ne2000 = 0;
	struct qemu_nic *nics;

	*out = NULL;
	*n = 0;
	if (cfg_list(c, "vif", &l) < 0 || cfg_flag(c, "ne2000", &ne2000) < 0)
		return -1;
	if (l && l->n > TAP_MAX_NICS)
		return cfg_fail(c, "vif", "vif: at most %d interfaces", TAP_MAX_NICS);
	nics = xcalloc(l && l->n ? l->n : 1, sizeof(*nics));
	for (size_t i = 0; l && i < l->n; i++) {
		if (plan_nic(c, l->items[i].str, i, ne2000 != 0, &nics[i]) < 0)
			goto fail;
		for (size_t k = 0; k < i; k++)
			if (strcmp(nics[k].mac, nics[i].mac) == 0 ||
			    strcmp(nics[k].ifname, nics[i].ifname) == 0) {
				cfg_fail(c, "vif", "vif items %zu and %zu have one %s (%s)", k + 1,
					 i + 1, strcmp(nics[k].mac, nics[i].mac) == 0 ? "MAC" : "name",
					 strcmp(nics[k].mac, nics[i].mac) == 0 ? nics[i].mac
									       : nics[i].ifname);
				goto fail;
			}
	}
	if (plan_nic_qos(c, nics, l ? l->n : 0) < 0)
		goto fail;
	*out = nics;
	*n = l ? l->n : 0;
	return 0;
fail:
	free(nics);
	return -1;
}

static int emit_network(struct ctx *c)
{
	struct qemu_nic *nics = NULL;
	size_t n = 0;

	if (!c->o->with_network)
		return 0; /* no NICs asked (tests of the rest) */
	if (plan_nics(c, &nics, &n) < 0)
		return -1;
	if (c->o->n_tap_fds != n || (n && !c->o->tap_fds)) {
		free(nics);
		return opt_fail(c, "%zu taps for %zu vif items", c->o->n_tap_fds, n);
	}
	for (size_t i = 0; i < n; i++) {
		/* The agent made the tap and bridged it: QEMU only uses it. */
		push(c, "-netdev");
		pushf(c, "tap,id=net%zu,fd=%d", i, c->o->tap_fds[i]);
		push(c, "-device");
		pushf(c, "%s,netdev=net%zu,mac=%s", nics[i].model, i, nics[i].mac);
	}
	free(nics);
	return c->failed ? -1 : 0;
}

/* ---- machine and lifecycle ------------------------------------------- */

/* QoS the backend applies (not on the command line): a value it could
 * not apply is refused here, not ignored there. */
static int check_qos(struct ctx *c)
{
	const char *key = NULL;
	char msg[600];

	if (vmcfg_check_qos(c->cfg, &key, msg, sizeof(msg)) == 0)
		return 0;
	return cfg_fail(c, key, "%s", msg);
}

/* Keys that give the guest host hardware: dropping them would start a
 * guest without a device it was configured to own. */
static int refuse_passthrough(struct ctx *c)
{
	static const char *const keys[] = { "pci", "vtpm", "iomem", "ioports", "irq", "vscsi" };

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const struct vmcfg_value *v = vmcfg_get(c->cfg, keys[i]);
		if (v && ((v->type == VMCFG_LIST && v->n) || (v->type == VMCFG_STR && v->str[0])))
			return cfg_fail(c, keys[i], "%s: device passthrough is not supported by "
					"the QEMU backend", keys[i]);
	}
	return 0;
}

static int guest_type(struct ctx *c, bool *hvm)
{
	const char *builder = NULL;

	if (cfg_str(c, "builder", &builder) < 0)
		return -1;
	*hvm = builder && strcmp(builder, "hvm") == 0;
	if (builder && !*hvm && strcmp(builder, "linux") != 0)
		return cfg_fail(c, "builder", "builder '%.32s': use 'hvm' or 'linux'", builder);
	return 0;
}

static int emit_lifecycle(struct ctx *c)
{
	const char *reboot = "restart", *poweroff = "destroy";

	if (cfg_str(c, "on_reboot", &reboot) < 0 || cfg_str(c, "on_poweroff", &poweroff) < 0)
		return -1;
	if (strcmp(poweroff, "destroy") != 0)
		return cfg_fail(c, "on_poweroff", "on_poweroff '%.32s': the QEMU backend can "
				"only destroy a guest that powers off", poweroff);
	if (strcmp(reboot, "destroy") == 0)
		return push(c, "-no-reboot");
	if (strcmp(reboot, "restart") != 0)
		return cfg_fail(c, "on_reboot", "on_reboot '%.32s': the QEMU backend can "
				"restart or destroy a rebooting guest", reboot);
	return 0;
}

static int emit_extras(struct ctx *c)
{
	long long localtime = 0, usb = 0;
	const char *usbdev = NULL;

	if (cfg_flag(c, "localtime", &localtime) < 0 || cfg_flag(c, "usb", &usb) < 0 ||
	    cfg_str(c, "usbdevice", &usbdev) < 0)
		return -1;
	if (localtime) {
		push(c, "-rtc");
		push(c, "base=localtime");
	}
	if (usbdev && strcmp(usbdev, "mouse") != 0 && strcmp(usbdev, "tablet") != 0)
		return cfg_fail(c, "usbdevice", "usbdevice '%.32s': use 'mouse' or 'tablet'",
				usbdev);
	if (usb || usbdev)
		push(c, "-usb");
	if (usbdev) {
		push(c, "-device");
		pushf(c, "usb-%s", usbdev);
	}
	return c->failed ? -1 : 0;
}

static bool valid_uuid(const char *u)
{
	if (strlen(u) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? u[i] != '-' : !strchr("0123456789abcdefABCDEF", u[i]))
			return false;
	}
	return true;
}

static int check_guest(struct ctx *c)
{
	const struct hv_guest *g = c->g;

	if (!g->name || !g->name[0] || !printable(g->name))
		return cfg_fail(c, "name", "name must be non-empty and printable");
	if (!g->uuid || !valid_uuid(g->uuid))
		return cfg_fail(c, "uuid", "uuid must look like 12345678-9abc-def0-1234-56789abcdef0");
	if (g->memory <= 0 || g->memory > MAX_MEMORY_MB)
		return cfg_fail(c, "memory", "memory %d MB is out of range", g->memory);
	if (g->vcpus <= 0 || g->vcpus > MAX_VCPUS)
		return cfg_fail(c, "vcpus", "vcpus %d is out of range (1-%d)", g->vcpus, MAX_VCPUS);
	return 0;
}

static bool valid_incoming(const char *s)
{
	static const char chars[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.:-[]";

	if (strcmp(s, "defer") == 0)
		return true;
	return strncmp(s, "tcp:", 4) == 0 && s[4] && strspn(s, chars) == strlen(s);
}

/* What the backend passes must be sane too: a socket path longer than
 * sun_path would be cut silently by QEMU's bind(). */
static int check_opts(struct ctx *c)
{
	const struct qemu_argv_opts *o = c->o;

	if (!o->binary || !o->binary[0] || !printable(o->binary))
		return opt_fail(c, "no QEMU binary");
	if (!o->pid_file || !o->pid_file[0] || !printable(o->pid_file))
		return opt_fail(c, "no pid file");
	if (!o->qmp_socket || !o->qmp_socket[0] || !printable(o->qmp_socket) ||
	    strlen(o->qmp_socket) >= SUN_PATH_MAX)
		return opt_fail(c, "the QMP socket path is missing or longer than %d bytes",
				SUN_PATH_MAX - 1);
	if (!o->run_dir || !o->run_dir[0] || !printable(o->run_dir) ||
	    strlen(o->run_dir) + sizeof("/.console") + 36 > SUN_PATH_MAX)
		return opt_fail(c, "run_dir is missing or too long for a console socket path");
	if (o->incoming && !valid_incoming(o->incoming))
		return opt_fail(c, "incoming '%.64s' is not \"defer\" or tcp:HOST:PORT", o->incoming);
	return 0;
}

static int emit_head(struct ctx *c)
{
	const struct hv_guest *g = c->g;
	const struct qemu_argv_opts *o = c->o;
	long long acpi = 1;
	struct buf b;

	if (cfg_flag(c, "acpi", &acpi) < 0)
		return -1;
	push(c, o->binary);
	buf_init(&b, PIECE_MAX);
	buf_puts(&b, "guest=");
	put_escaped(&b, g->name);
	buf_puts(&b, ",debug-threads=on");
	push(c, "-name");
	push_buf(c, &b);
	push(c, "-uuid");
	push(c, g->uuid);
	push(c, "-machine");
	pushf(c, "pc,accel=%s%s", o->kvm ? "kvm" : "tcg", acpi ? "" : ",acpi=off");
	push(c, "-m");
	pushf(c, "%dM", g->memory);
	push(c, "-smp");
	pushf(c, "%d", g->vcpus);
	push(c, "-nodefaults");
	push(c, "-no-user-config");
	push(c, "-daemonize");
	push(c, "-pidfile");
	push(c, o->pid_file);
	buf_init(&b, PIECE_MAX);
	buf_puts(&b, "unix:");
	put_escaped(&b, o->qmp_socket);
	buf_puts(&b, ",server=on,wait=off");
	push(c, "-qmp");
	push_buf(c, &b);
	buf_init(&b, PIECE_MAX);
	buf_puts(&b, "socket,id=serial0,path=");
	put_escaped(&b, o->run_dir);
	buf_printf(&b, "/%s.console,server=on,wait=off", g->uuid);
	push(c, "-chardev");
	push_buf(c, &b);
	push(c, "-serial");
	push(c, "chardev:serial0");
	push(c, "-vga");
	push(c, "std");
	return c->failed ? -1 : 0;
}

static int build(struct ctx *c)
{
	bool hvm;

	size_t nprio;

	if (check_opts(c) < 0 || check_guest(c) < 0 || guest_type(c, &hvm) < 0 ||
	    refuse_passthrough(c) < 0 || check_qos(c) < 0 || plan_ioprio(c, NULL, &nprio) < 0)
		return -1;
	if (emit_head(c) < 0 || emit_display(c) < 0 || emit_lifecycle(c) < 0 ||
	    emit_extras(c) < 0 || emit_disks(c) < 0 || emit_boot_order(c) < 0 ||
	    emit_kernel(c, hvm) < 0 || emit_network(c) < 0)
		return -1;
	if (c->o->incoming) {
		/* An arriving guest waits for the agent's cont: if the source's
		 * agent dies mid-way, the guest must not run in two places. */
		push(c, "-S");
		push(c, "-incoming");
		push(c, c->o->incoming);
	} else if (c->o->start_paused) {
		push(c, "-S");
	}
	return c->failed ? -1 : 0;
}

int qemu_argv_build(const struct vmcfg *cfg, const struct hv_guest *g,
		    const struct qemu_argv_opts *o, char ***argv, char *err, size_t errlen)
{
	struct ctx c = { .cfg = cfg, .g = g, .o = o, .err = err, .errlen = errlen };

	*argv = NULL;
	if (err && errlen)
		err[0] = '\0';
	c.v = xcalloc(QEMU_ARGV_MAX + 1, sizeof(*c.v));
	if (build(&c) < 0) {
		qemu_argv_free(c.v);
		return -1;
	}
	*argv = c.v;
	return 0;
}

void qemu_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

char *qemu_argv_join(char *const *argv)
{
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; argv && argv[i]; i++)
		buf_printf(&b, "%s%s", i ? " " : "", argv[i]);
	return buf_steal(&b, NULL);
}

int qemu_nics(const struct vmcfg *cfg, const struct hv_guest *g, struct qemu_nic **nics,
	      size_t *n, char *err, size_t errlen)
{
	struct ctx c = { .cfg = cfg, .g = g, .err = err, .errlen = errlen };

	if (err && errlen)
		err[0] = '\0';
	*nics = NULL;
	*n = 0;
	if (!g->uuid || !valid_uuid(g->uuid))
		return opt_fail(&c, "no uuid");
	return plan_nics(&c, nics, n);
}

int qemu_ioprios(const struct vmcfg *cfg, const struct hv_guest *g,
		 struct qemu_ioprio out[QEMU_IOPRIO_MAX], size_t *n, char *err, size_t errlen)
{
	struct ctx c = { .cfg = cfg, .g = g, .err = err, .errlen = errlen };

	if (err && errlen)
		err[0] = '\0';
	return plan_ioprio(&c, out, n);
}
