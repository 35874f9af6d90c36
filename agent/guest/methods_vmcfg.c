/* methods_vmcfg.c - the vm.cfg getters and setters of the 2.x agent:
 * xen_get_vm_type, xen_get/set_vcpus, xen_get/set_memory, xen_get_vdisks,
 * xen_add_disk, xen_get/set_vifs, xen_set_vm_vnc_password,
 * xen_config_boot_sequence, xen_change_vm_cdrom, plus xen_get_vm_path and
 * xen_get_vnc_port, which answer from the db.
 *
 * Every method takes the guest first (a bare name or its directory; the
 * path rules are guest_resolve()'s). Setters edit <guest>/vm.cfg through
 * vmcfg_save() (atomic, comments and untouched lines kept), refuse while
 * an operation on the guest is in flight, and take effect at the guest's
 * next start: a running guest keeps what it was started with. Paths a
 * setter writes into vm.cfg (disk images, ISOs) must lie inside the
 * repository root, phy: devices under /dev/. */
#define LOG_CAT "rpc"
#include "agent/rpc/methods.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "agent/base/beneath.h"
#include "agent/base/buf.h"
#include "db/guests.h"
#include "agent/base/dups.h"
#include "agent/base/fault.h"
#include "agent/guest/guest.h"
#include "hypervisor/vmcfg.h"
#include "agent/base/log.h"
#include "agent/guest/names.h"
#include "agent/rpc/rpc_params.h"
#include "agent/server/server.h"
#include "agent/base/util.h"

#define MEMORY_MIN_MB 16
#define MEMORY_MAX_MB (16LL * 1024 * 1024) /* guest.c's bound when starting */
#define VCPUS_MAX 512
#define VNC_PASSWD_MAX 8 /* the VNC protocol's DES key: longer is truncated */
#define VIF_TEXT_MAX 1024 /* bytes of a vif item from a caller; six settings need ~300 */
#define VIF_FORMAT_MAX 512 /* bytes of its canonical form */

/* Messages are cut at their buffer's size on purpose. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

/* A guest's vm.cfg, open for one call. */
struct gcfg {
	char *path;         /* the guest directory (db key) */
	char *file;         /* path/vm.cfg */
	struct vmcfg *cfg;
};

static void gcfg_close(struct gcfg *g)
{
	vmcfg_free(g->cfg);
	free(g->file);
	free(g->path);
	memset(g, 0, sizeof(*g));
}

/* Resolve param 0 and load its vm.cfg; a setter also refuses a busy guest.
 * 0, or -1 after answering the fault. */
static int gcfg_open(struct rpc_call *call, xmlrpc_value *params, bool setter, struct gcfg *g)
{
	struct server *srv = rpc_server(call);
	char err[512];
	int fd;

	memset(g, 0, sizeof(*g));
	if (!(g->path = guest_param(call, params, true)))
		return -1;
	if (setter && guest_busy(srv, g->path)) {
		rpc_fault(call, FAULT_BUSY, "%s is busy with another operation; try again when it "
			  "has finished", g->path);
		goto fail;
	}
	g->file = xasprintf("%s/vm.cfg", g->path);
	fd = open(g->file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			rpc_fault(call, FAULT_NOT_FOUND, "%s has no vm.cfg", g->path);
		else
			rpc_fault(call, FAULT_IO, "%s: %s", g->file, strerror(errno));
		goto fail;
	}
	close(fd);
	if (vmcfg_load(g->file, &g->cfg, err, sizeof(err)) != 0) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "%s", err);
		goto fail;
	}
	return 0;
fail:
	gcfg_close(g);
	return -1;
}

/* Write vm.cfg back and answer "success" (or the fault). */
static void gcfg_commit(struct rpc_call *call, struct gcfg *g, const char *what)
{
	char err[512];

	if (vmcfg_save(g->cfg, g->file, err, sizeof(err)) != 0) {
		rpc_fault(call, FAULT_IO, "%s", err);
		return;
	}
	log_info("%s: %s set by %s (applies at the next start)", g->file, what,
		 rpc_origin(call)->user);
	rpc_return_string(call, "success");
}

/* "<file>:<line>" of key for messages ("<file>" when the key was added). */
static const char *where(const struct gcfg *g, const char *key, char *out, size_t len)
{
	unsigned line = vmcfg_line(g->cfg, key);

	if (line)
		snprintf(out, len, "%s:%u", g->file, line);
	else
		snprintf(out, len, "%s", g->file);
	return out;
}

/* ---- string lists: disk and vif ---------------------------------------- */

static size_t list_max(const char *key)
{
	return strcmp(key, "disk") == 0 ? VMCFG_MAX_DISKS : VMCFG_MAX_VIFS;
}

/* The string items of a list key (borrowed from cfg; an absent key is an
 * empty list). 0, or -1 after answering a fault. */
static int str_list(struct rpc_call *call, const struct gcfg *g, const char *key,
		    const char ***items, size_t *n)
{
	const struct vmcfg_value *v = vmcfg_get(g->cfg, key);
	char at[PATH_MAX + 32];

	*items = NULL;
	*n = 0;
	if (!v)
		return 0;
	if (v->type != VMCFG_LIST) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "%s: %s must be a list of strings, "
			  "like %s = [ '...', '...' ]", where(g, key, at, sizeof(at)), key, key);
		return -1;
	}
	/* vm.cfg is outside input too: its lists are bounded before the work. */
	if (v->n > list_max(key)) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "%s: %s has %zu items; a guest has at most "
			  "%zu", where(g, key, at, sizeof(at)), key, v->n, list_max(key));
		return -1;
	}
	*items = xcalloc(v->n ? v->n : 1, sizeof(**items));
	for (size_t i = 0; i < v->n; i++) {
		if (v->items[i].type != VMCFG_STR) {
			rpc_fault(call, FAULT_INVALID_ARGUMENT, "%s: item %zu of %s is not a quoted "
				  "string", where(g, key, at, sizeof(at)), i, key);
			free(*items);
			*items = NULL;
			return -1;
		}
		(*items)[i] = v->items[i].str;
	}
	*n = v->n;
	return 0;
}

/* The disk list, parsed. *items are borrowed from cfg, *disks malloc'd. */
static int disk_list(struct rpc_call *call, const struct gcfg *g, const char ***items,
		     struct vmcfg_disk **disks, size_t *n)
{
	char err[512], at[PATH_MAX + 32];

	*disks = NULL;
	if (str_list(call, g, "disk", items, n) != 0)
		return -1;
	*disks = xcalloc(*n ? *n : 1, sizeof(**disks));
	for (size_t i = 0; i < *n; i++) {
		if (vmcfg_parse_disk((*items)[i], &(*disks)[i], err, sizeof(err)) != 0) {
			rpc_fault(call, FAULT_INVALID_ARGUMENT, "%s: %s",
				  where(g, "disk", at, sizeof(at)), err);
			free(*items);
			free(*disks);
			*items = NULL;
			*disks = NULL;
			return -1;
		}
	}
	return 0;
}

/* Replace the disk list with items[0..n) and save. */
static void save_disks(struct rpc_call *call, struct gcfg *g, const char **items, size_t n,
		       const char *what)
{
	if (vmcfg_set_list(g->cfg, "disk", items, n) != 0)
		rpc_fault(call, FAULT_INTERNAL, "cannot set disk in %s", g->file);
	else
		gcfg_commit(call, g, what);
}

/* ---- paths ------------------------------------------------------------- */

/* A caller's path for a message: at most 256 bytes, control bytes as '?'
 * (they are not even valid in XML). */
static const char *show(char out[264], const char *s)
{
	size_t i;

	for (i = 0; s[i] && i < 256; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	strcpy(out + i, s[i] ? "..." : "");
	return out;
}

static bool has_dot_component(const char *p)
{
	size_t n = strlen(p);

	return strstr(p, "/../") || strstr(p, "/./") || strstr(p, "//") ||
	       (n >= 3 && strcmp(p + n - 3, "/..") == 0) || (n >= 2 && strcmp(p + n - 2, "/.") == 0);
}

/* A file a setter writes into vm.cfg (what: "disk image", "ISO") must be
 * an existing regular file inside the repository root, symlinks resolved
 * beneath it. 0 or a fault code with err. */
static int check_repo_file(struct server *srv, const char *p, const char *what,
			   char resolved[PATH_MAX], char *err, size_t errlen)
{
	const char *root = srv->cfg.ovs_root, *rel;
	struct beneath_root r;
	struct stat st;
	char sp[264];
	int fd, rc = 0;

	show(sp, p);
	if (p[0] != '/') {
		snprintf(err, errlen, "%s %s: give an absolute path inside the repository root %s",
			 what, sp, root);
		return FAULT_INVALID_ARGUMENT;
	}
	if (strchr(p, ';')) {
		snprintf(err, errlen, "%s %s: ';' is not allowed in paths (it separates the "
			 "fields of the agent's replies)", what, sp);
		return FAULT_INVALID_ARGUMENT;
	}
	if (has_dot_component(p)) {
		snprintf(err, errlen, "%s %s: '.' and '..' are not allowed in paths", what, sp);
		return FAULT_PERMISSION;
	}
	if (beneath_root_open(&r, root) != 0) {
		snprintf(err, errlen, "repository root %s: %s", root, strerror(errno));
		return FAULT_IO;
	}
	if (!(rel = beneath_rel(&r, p)) || !*rel) {
		snprintf(err, errlen, "%s %s is outside the repository root %s", what, sp, root);
		beneath_root_close(&r);
		return FAULT_PERMISSION;
	}
	fd = beneath_open(&r, rel, O_PATH, 0, 0);
	if (fd < 0) {
		int e = errno;
		if (e == EXDEV) {
			snprintf(err, errlen, "%s %s leads outside the repository root %s", what, sp, root);
			rc = FAULT_PERMISSION;
		} else if (e == ENOENT || e == ENOTDIR) {
			snprintf(err, errlen, "%s %s does not exist; create it first", what, sp);
			rc = FAULT_NOT_FOUND;
		} else {
			snprintf(err, errlen, "%s %s: %s", what, sp, strerror(e));
			rc = FAULT_IO;
		}
	} else if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s %s is not a regular file", what, sp);
		rc = FAULT_INVALID_ARGUMENT;
	} else if (beneath_fd_path(fd, resolved, PATH_MAX) != 0) {
		/* vm.cfg gets the path as opened: a symlink on the way changed
		 * later must not redirect the hypervisor outside the root. */
		snprintf(err, errlen, "%s %s: %s", what, sp, strerror(errno));
		rc = FAULT_IO;
	}
	if (fd >= 0)
		close(fd);
	beneath_root_close(&r);
	return rc;
}

/* True when the device open as fd is a block device this host has
 * mounted (its root, /boot, the repository itself): handing it to a guest
 * would corrupt the host. */
static bool device_in_use_by_host(int fd)
{
	struct stat st;
	char line[4096];
	bool used = false;
	FILE *f;

	if (fstat(fd, &st) != 0 || !S_ISBLK(st.st_mode))
		return false;
	if (!(f = fopen("/proc/self/mountinfo", "re")))
		return false;
	while (!used && fgets(line, sizeof(line), f)) {
		unsigned maj, min;
		/* "36 35 98:0 /mnt1 /mnt2 rw ..." - the third field is major:minor */
		if (sscanf(line, "%*u %*u %u:%u", &maj, &min) == 2)
			used = maj == major(st.st_rdev) && min == minor(st.st_rdev);
	}
	fclose(f);
	return used;
}

/* A phy: device must be named under /dev/ and, when it exists here, stay
 * there with symlinks resolved beneath /dev (/dev/mapper/x -> ../dm-3). It
 * need not exist: shared storage may appear on this server only later. */
static int check_device(const char *p, char *err, size_t errlen)
{
	const char *rel = beneath_strip("/dev", p);
	struct beneath_root dev;
	char sp[264];
	bool used = false;
	int fd = -1, e = 0;

	show(sp, p);
	if (!rel || !*rel || has_dot_component(p) || strchr(p, ';')) {
		snprintf(err, errlen, "phy: device %s must be a path under /dev/ (like "
			 "/dev/mapper/guest-disk), without '.', '..' or ';'", sp);
		return FAULT_PERMISSION;
	}
	if (beneath_root_open(&dev, "/dev") == 0) {
		fd = beneath_open(&dev, rel, O_PATH, 0, 0);
		e = errno;
		if (fd >= 0) {
			used = device_in_use_by_host(fd);
			close(fd);
		}
		beneath_root_close(&dev);
	}
	if (fd < 0 && e == EXDEV) {
		snprintf(err, errlen, "phy: device %s leads outside /dev/", sp);
		return FAULT_PERMISSION;
	}
	if (used) {
		snprintf(err, errlen, "phy: device %s holds a file system this server has mounted; "
			 "a guest may not write to it", sp);
		return FAULT_PERMISSION;
	}
	return 0;
}

/* Check a disk's source; 0 or a fault code with err. */
static int check_disk_source(struct server *srv, struct vmcfg_disk *d, char *err, size_t errlen)
{
	if (!d->kind[0] && !d->path[0])
		return 0; /* an empty cdrom drive */
	if (strcmp(d->kind, "phy") == 0)
		return check_device(d->path, err, errlen);
	/* Image formats with backing files or extents (qcow, vmdk, vhd) name
	 * further files inside the image, which QEMU would open as root: only
	 * raw images can be attached over the API. */
	if (strcmp(d->kind, "file") == 0 || strcmp(d->kind, "tap:aio") == 0 ||
	    strcmp(d->kind, "tap:sync") == 0) {
		char real[PATH_MAX];
		int fault = check_repo_file(srv, d->path, d->cdrom ? "ISO" : "disk image", real,
					    err, errlen);
		if (!fault)
			snprintf(d->path, sizeof(d->path), "%s", real);
		return fault;
	}
	if (strncmp(d->kind, "tap:", 4) == 0) {
		snprintf(err, errlen, "disk type '%s:' can name files outside the repository inside "
			 "the image; attach raw images (file: or tap:aio:) over the API", d->kind);
		return FAULT_PERMISSION;
	}
	snprintf(err, errlen, "disk type '%s:' cannot be added here; use file:, tap:aio: (or "
		 "another tap: driver) or phy:", d->kind);
	return FAULT_INVALID_ARGUMENT;
}

/* ---- getters ----------------------------------------------------------- */

void m_xen_get_vm_type(struct rpc_call *call, xmlrpc_value *params)
{
	struct gcfg g;
	const char *b;

	if (gcfg_open(call, params, false, &g) != 0)
		return;
	b = vmcfg_get_str(g.cfg, "builder");
	rpc_return_printf(call, "success:type=%s", b && strcmp(b, "hvm") == 0 ? "hvm" : "pv");
	gcfg_close(&g);
}

/* vcpus (default 1, as xm); 0 or -1 after answering. */
static int get_vcpus(struct rpc_call *call, struct gcfg *g, long long *n)
{
	char at[PATH_MAX + 32];
	int r = vmcfg_get_int(g->cfg, "vcpus", n);

	if (r == -1) {
		*n = 1;
		return 0;
	}
	if (r != 0 || *n < 1 || *n > VCPUS_MAX) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "%s: vcpus must be a number from 1 to %d",
			  where(g, "vcpus", at, sizeof(at)), VCPUS_MAX);
		return -1;
	}
	return 0;
}

void m_xen_get_vcpus(struct rpc_call *call, xmlrpc_value *params)
{
	struct gcfg g;
	long long n;

	if (gcfg_open(call, params, false, &g) != 0)
		return;
	if (get_vcpus(call, &g, &n) == 0)
		rpc_return_printf(call, "success:vcpus=%lld", n);
	gcfg_close(&g);
}

/* A memory key in MB: 0, 1 absent, or -1 after answering. */
static int get_mb(struct rpc_call *call, struct gcfg *g, const char *key, long long *mb)
{
	char at[PATH_MAX + 32];
	int r = vmcfg_get_int(g->cfg, key, mb);

	if (r == -1)
		return 1;
	if (r != 0 || *mb <= 0 || *mb > MEMORY_MAX_MB) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "%s: %s must be a number of MB",
			  where(g, key, at, sizeof(at)), key);
		return -1;
	}
	return 0;
}

void m_xen_get_memory(struct rpc_call *call, xmlrpc_value *params)
{
	struct gcfg g;
	long long mem, maxmem;
	int r;

	if (gcfg_open(call, params, false, &g) != 0)
		return;
	if ((r = get_mb(call, &g, "memory", &mem)) == 1)
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "%s has no memory setting; set one with "
			  "xen_set_memory", g.file);
	if (r != 0)
		goto out;
	if ((r = get_mb(call, &g, "maxmem", &maxmem)) == 0)
		rpc_return_printf(call, "success:memory=%lld;maxmem=%lld", mem, maxmem);
	else if (r == 1)
		rpc_return_printf(call, "success:memory=%lld", mem);
out:
	gcfg_close(&g);
}

void m_xen_get_vdisks(struct rpc_call *call, xmlrpc_value *params)
{
	struct gcfg g;
	const char **items;
	struct vmcfg_disk *disks;
	size_t n;
	struct buf b;

	if (gcfg_open(call, params, false, &g) != 0)
		return;
	if (disk_list(call, &g, &items, &disks, &n) != 0) {
		gcfg_close(&g);
		return;
	}
	buf_init(&b, 0);
	buf_puts(&b, "success");
	for (size_t i = 0; i < n; i++) {
		char text[sizeof(disks[i].kind) + sizeof(disks[i].path) + 64];
		if (vmcfg_format_disk(&disks[i], text, sizeof(text)) != 0)
			snprintf(text, sizeof(text), "%s", items[i]);
		buf_printf(&b, "%svdisk%zu=%s", i ? ";" : ":", i, text);
	}
	rpc_return_string(call, b.data);
	buf_free(&b);
	free(items);
	free(disks);
	gcfg_close(&g);
}

void m_xen_get_vifs(struct rpc_call *call, xmlrpc_value *params)
{
	struct gcfg g;
	const char **items;
	size_t n;
	struct buf b;
	char err[512], at[PATH_MAX + 32];

	if (gcfg_open(call, params, false, &g) != 0)
		return;
	if (str_list(call, &g, "vif", &items, &n) != 0) {
		gcfg_close(&g);
		return;
	}
	buf_init(&b, 0);
	buf_puts(&b, "success");
	for (size_t i = 0; i < n; i++) {
		struct vmcfg_vif v;
		if (vmcfg_parse_vif(items[i], &v, err, sizeof(err)) != 0) {
			rpc_fault(call, FAULT_INVALID_ARGUMENT, "%s: %s",
				  where(&g, "vif", at, sizeof(at)), err);
			goto out;
		}
		buf_printf(&b, "%svif%zu=%s,%s,%s", i ? ";" : ":", i, v.mac, v.bridge, v.type);
	}
	rpc_return_string(call, b.data);
out:
	buf_free(&b);
	free(items);
	gcfg_close(&g);
}

/* ---- setters ----------------------------------------------------------- */

void m_xen_set_vcpus(struct rpc_call *call, xmlrpc_value *params)
{
	struct gcfg g;
	long long n, max;

	if (param_int_arg(call, params, 1, "vcpus", 1, VCPUS_MAX, "", &n) != 0 ||
	    gcfg_open(call, params, true, &g) != 0)
		return;
	vmcfg_set_int(g.cfg, "vcpus", n);
	/* xm refuses vcpus above maxvcpus: keep the ceiling at least as high. */
	if (vmcfg_get_int(g.cfg, "maxvcpus", &max) == 0 && max < n)
		vmcfg_set_int(g.cfg, "maxvcpus", n);
	gcfg_commit(call, &g, "vcpus");
	gcfg_close(&g);
}

void m_xen_set_memory(struct rpc_call *call, xmlrpc_value *params)
{
	struct gcfg g;
	long long mb, max;

	if (param_int_arg(call, params, 1, "memory", MEMORY_MIN_MB, MEMORY_MAX_MB, " MB", &mb) != 0 ||
	    gcfg_open(call, params, true, &g) != 0)
		return;
	vmcfg_set_int(g.cfg, "memory", mb);
	/* maxmem is the balloon's ceiling: never below memory. */
	if (vmcfg_get_int(g.cfg, "maxmem", &max) == 0 && max < mb)
		vmcfg_set_int(g.cfg, "maxmem", mb);
	gcfg_commit(call, &g, "memory");
	gcfg_close(&g);
}

void m_xen_add_disk(struct rpc_call *call, xmlrpc_value *params)
{
	struct server *srv = rpc_server(call);
	char *item = param_str(params, 1), err[512], text[sizeof(((struct vmcfg_disk *)0)->path) + 64];
	struct vmcfg_disk d, *disks = NULL;
	const char **items = NULL, **next = NULL;
	struct gcfg g = { 0 };
	size_t n;
	int fault;

	if (name_check("disk", item, err, sizeof(err)) != 0) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "%s", err);
		goto out;
	}
	if (vmcfg_parse_disk(item, &d, err, sizeof(err)) != 0) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "%s", err);
		goto out;
	}
	if ((fault = check_disk_source(srv, &d, err, sizeof(err))) != 0) {
		rpc_fault(call, fault, "%s", err);
		goto out;
	}
	if (vmcfg_format_disk(&d, text, sizeof(text)) != 0) {
		char shown[80];
		quote_printable(shown, sizeof(shown), item, strlen(item));
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "disk '%s' cannot be written to vm.cfg", shown);
		goto out;
	}
	if (gcfg_open(call, params, true, &g) != 0 || disk_list(call, &g, &items, &disks, &n) != 0)
		goto out;
	if (n >= VMCFG_MAX_DISKS) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "%s already has %zu disks; a guest has at most "
			  "%d", g.path, n, VMCFG_MAX_DISKS);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(disks[i].dev, d.dev) == 0) {
			rpc_fault(call, FAULT_EXISTS, "device %s is already used by disk '%s' of %s; "
				  "choose another device name", d.dev, items[i], g.path);
			goto out;
		}
		if (d.path[0] && strcmp(disks[i].path, d.path) == 0) {
			rpc_fault(call, FAULT_EXISTS, "%s is already attached to %s as %s", d.path,
				  g.path, disks[i].dev);
			goto out;
		}
	}
	next = xcalloc(n + 1, sizeof(*next));
	memcpy(next, items, n * sizeof(*next));
	next[n] = text;
	save_disks(call, &g, next, n + 1, "disk");
out:
	free(next);
	free(items);
	free(disks);
	gcfg_close(&g);
	free(item);
}

void m_xen_change_vm_cdrom(struct rpc_call *call, xmlrpc_value *params)
{
	char real_iso[PATH_MAX] = "";
	struct server *srv = rpc_server(call);
	char *iso = param_str(params, 1), err[512], text[sizeof(((struct vmcfg_disk *)0)->path) + 64];
	struct vmcfg_disk d, *disks = NULL;
	const char **items = NULL, **next = NULL;
	struct gcfg g = { 0 };
	size_t n, slot;
	int fault;

	if (name_check("ISO image name", iso, err, sizeof(err)) != 0) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "%s", err);
		goto out;
	}
	if (iso[0] && (fault = check_repo_file(srv, iso, "ISO", real_iso, err, sizeof(err))) != 0) {
		rpc_fault(call, fault, "%s", err);
		goto out;
	}
	if (gcfg_open(call, params, true, &g) != 0 || disk_list(call, &g, &items, &disks, &n) != 0)
		goto out;
	/* The first cdrom drive changes media; without one, hdc gets one. */
	for (slot = 0; slot < n && !disks[slot].cdrom; slot++)
		;
	memset(&d, 0, sizeof(d));
	snprintf(d.dev, sizeof(d.dev), "%s", slot < n ? disks[slot].dev : "hdc");
	d.cdrom = true;
	strcpy(d.mode, "r");
	if (iso[0]) {
		strcpy(d.kind, "file");
		snprintf(d.path, sizeof(d.path), "%s", real_iso);
	}
	if (slot == n && n >= VMCFG_MAX_DISKS) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "%s has no cdrom drive and already %zu disks; "
			  "a guest has at most %d", g.path, n, VMCFG_MAX_DISKS);
		goto out;
	}
	if (slot == n) {
		for (size_t i = 0; i < n; i++) {
			if (strcmp(disks[i].dev, d.dev) == 0) {
				rpc_fault(call, FAULT_EXISTS, "%s has no cdrom drive and hdc is used by "
					  "disk '%s'; add a drive on another device with xen_add_disk",
					  g.path, items[i]);
				goto out;
			}
		}
	}
	if (vmcfg_format_disk(&d, text, sizeof(text)) != 0) {
		char shown[80];
		quote_printable(shown, sizeof(shown), iso, strlen(iso));
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "ISO path '%s' cannot be written to vm.cfg "
			  "(characters like ',' or quotes are not allowed)", shown);
		goto out;
	}
	next = xcalloc(n + 1, sizeof(*next));
	memcpy(next, items, n * sizeof(*next));
	next[slot] = text;
	save_disks(call, &g, next, slot == n ? n + 1 : n, "cdrom");
out:
	free(next);
	free(items);
	free(disks);
	gcfg_close(&g);
	free(iso);
}

/* The first vif of list[0..n) that cannot be taken, checked in the order
 * a caller reads the list: a string, parsable, its MAC unique so far,
 * writable. Each string is bounded before it is parsed; MACs are compared
 * by sorting, never pairwise. 0, or -1 after answering the fault. */
static int read_vifs(struct rpc_call *call, xmlrpc_value *list, int n, struct vmcfg_vif *vifs,
		     char **texts)
{
	xmlrpc_env env;
	const char **macs = xcalloc((size_t)n + 1, sizeof(*macs));
	char err[512], why[480];
	size_t first, second;
	int bad = n, rc = -1;           /* the index of the first failure */

	xmlrpc_env_init(&env);
	for (int i = 0; i < n && bad == n; i++) {
		xmlrpc_value *v = NULL;
		const char *s = NULL;

		xmlrpc_array_read_item(&env, list, i, &v);
		if (!env.fault_occurred && xmlrpc_value_type(v) == XMLRPC_TYPE_STRING)
			xmlrpc_read_string(&env, v, &s);
		if (v)
			xmlrpc_DECREF(v);
		xmlrpc_env_clean(&env);
		xmlrpc_env_init(&env);
		if (!s) {
			snprintf(err, sizeof(err), "vif %d is not a string like "
				 "'mac=00:16:3e:00:00:01, bridge=xenbr0'", i);
		} else if (strlen(s) > VIF_TEXT_MAX) {
			snprintf(err, sizeof(err), "vif %d is %zu bytes long; a vif is at most %d "
				 "bytes", i, strlen(s), VIF_TEXT_MAX);
		} else if (vmcfg_parse_vif(s, &vifs[i], why, sizeof(why)) != 0) {
			snprintf(err, sizeof(err), "vif %d: %s", i, why);
		} else {
			macs[i] = vifs[i].mac;
			texts[i] = xmalloc(VIF_FORMAT_MAX);
			if (vmcfg_format_vif(&vifs[i], texts[i], VIF_FORMAT_MAX) != 0) {
				snprintf(err, sizeof(err), "vif %d cannot be written to vm.cfg", i);
			} else {
				free((char *)s);
				continue;
			}
		}
		free((char *)s);
		bad = i;
	}
	xmlrpc_env_clean(&env);
	/* A duplicate before the failure (or at it: a vif that parsed but
	 * cannot be written has its MAC) is what the caller meets first. */
	if (dups_first(macs, (size_t)(bad < n ? bad + 1 : n), &first, &second))
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "vif %zu and vif %zu have the same MAC address "
			  "%s; each needs its own", first, second, vifs[second].mac);
	else if (bad < n)
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "%s", err);
	else
		rc = 0;
	free(macs);
	return rc;
}

void m_xen_set_vifs(struct rpc_call *call, xmlrpc_value *params)
{
	xmlrpc_env env;
	xmlrpc_value *list = NULL;
	struct vmcfg_vif *vifs = NULL;
	char **texts = NULL;
	struct gcfg g = { 0 };
	int n = 0;

	xmlrpc_env_init(&env);
	xmlrpc_array_read_item(&env, params, 1, &list);
	if (!env.fault_occurred)
		n = xmlrpc_array_size(&env, list);
	if (env.fault_occurred) {
		rpc_fault(call, FAULT_INVALID_PARAMS, "the second parameter must be an array of strings");
		goto out;
	}
	/* The count first: nothing below may grow with a caller's list. */
	if (n > VMCFG_MAX_VIFS) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "%d vifs given; a guest has at most %d vifs",
			  n, VMCFG_MAX_VIFS);
		goto out;
	}
	vifs = xcalloc((size_t)n + 1, sizeof(*vifs));
	texts = xcalloc((size_t)n + 1, sizeof(*texts));
	if (read_vifs(call, list, n, vifs, texts) != 0 || gcfg_open(call, params, true, &g) != 0)
		goto out;
	if (vmcfg_set_list(g.cfg, "vif", (const char *const *)texts, (size_t)n) != 0)
		rpc_fault(call, FAULT_INTERNAL, "cannot set vif in %s", g.file);
	else
		gcfg_commit(call, &g, "vif");
out:
	if (texts)
		for (int i = 0; i < n; i++)
			free(texts[i]);
	free(texts);
	free(vifs);
	if (list)
		xmlrpc_DECREF(list);
	xmlrpc_env_clean(&env);
	gcfg_close(&g);
}

void m_xen_set_vm_vnc_password(struct rpc_call *call, xmlrpc_value *params)
{
	char *pw = param_str(params, 1);
	struct gcfg g;

	if (strlen(pw) > VNC_PASSWD_MAX) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "VNC passwords are at most %d characters "
			  "(the VNC protocol ignores the rest); this one has %zu", VNC_PASSWD_MAX,
			  strlen(pw));
		goto out;
	}
	for (const unsigned char *p = (const unsigned char *)pw; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			rpc_fault(call, FAULT_INVALID_ARGUMENT, "VNC password holds a control "
				  "character; use printable characters");
			goto out;
		}
	}
	if (gcfg_open(call, params, true, &g) != 0)
		goto out;
	/* '' means no password; the value itself never reaches the log. */
	vmcfg_set_str(g.cfg, "vncpasswd", pw);
	gcfg_commit(call, &g, "vncpasswd");
	gcfg_close(&g);
out:
	memset(pw, 0, strlen(pw));
	free(pw);
}

void m_xen_config_boot_sequence(struct rpc_call *call, xmlrpc_value *params)
{
	char *seq = param_str(params, 1), shown[80];
	size_t n = strlen(seq);
	struct gcfg g;

	for (char *p = seq; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	quote_printable(shown, sizeof(shown), seq, n);
	if (n < 1 || n > 4 || strspn(seq, "acdn") != n) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "boot sequence '%s' must be 1 to 4 of the "
			  "letters a (floppy), c (hard disk), d (cdrom), n (network), like 'cd'",
			  shown);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (strchr(seq + i + 1, seq[i])) {
			rpc_fault(call, FAULT_INVALID_ARGUMENT, "boot sequence '%s' names '%c' twice",
				  shown, seq[i]);
			goto out;
		}
	}
	if (gcfg_open(call, params, true, &g) != 0)
		goto out;
	vmcfg_set_str(g.cfg, "boot", seq);
	gcfg_commit(call, &g, "boot");
	gcfg_close(&g);
out:
	free(seq);
}

/* ---- from the db -------------------------------------------------------- */

/* The registered guest's record: 0, or -1 after answering. */
static int registered(struct rpc_call *call, const char *path, struct record *rec)
{
	char err[512];
	int r = guests_get(rpc_server(call)->store, path, rec, err, sizeof(err));

	if (r < 0)
		rpc_fault(call, FAULT_IO, "%s", err);
	else if (r == 0)
		rpc_fault(call, FAULT_NOT_FOUND, "%s is not a registered guest (register_vm "
			  "registers it)", path);
	return r == 1 ? 0 : -1;
}

void m_xen_get_vm_path(struct rpc_call *call, xmlrpc_value *params)
{
	char *path = guest_param(call, params, false);
	struct record rec;

	if (!path)
		return;
	record_init(&rec);
	if (registered(call, path, &rec) == 0)
		rpc_return_printf(call, "success:vm_path=%s", path);
	record_free(&rec);
	free(path);
}

void m_xen_get_vnc_port(struct rpc_call *call, xmlrpc_value *params)
{
	char *path = guest_param(call, params, false);
	struct record rec;
	const char *st;
	long long port;

	if (!path)
		return;
	record_init(&rec);
	if (registered(call, path, &rec) != 0)
		goto out;
	st = record_get(&rec, "status");
	if (!st || (strcmp(st, GUEST_RUNNING) != 0 && strcmp(st, GUEST_PAUSED) != 0)) {
		rpc_fault(call, FAULT_STATE, "%s is %s; it has a VNC console only while it runs",
			  path, st ? st : "in no known state");
		goto out;
	}
	port = record_get_int(&rec, "vnc_port", -1);
	if (port <= 0 || port > 65535)
		rpc_fault(call, FAULT_NOT_FOUND, "%s has no VNC console (vnc = 1 in vm.cfg gives it "
			  "one at its next start)", path);
	else
		rpc_return_printf(call, "success:vnc_port=%lld", port);
out:
	record_free(&rec);
	free(path);
}
