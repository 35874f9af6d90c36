/* methods_template.c - guests made from templates: create_vm_from_template
 * (delete_vm and xen_create_disk are in methods_disk.c).
 *
 * create_vm_from_template does by machine what guide 4.4 does by hand:
 * unpack seed_pool/<template>.tgz (or copy seed_pool/<template>/) into a
 * hidden temporary directory in running_pool, point vm.cfg's disks,
 * kernel and ramdisk at the new directory, drop the template's MACs and
 * uuid for fresh ones, then rename the directory to running_pool/<name>
 * in one step and register the guest (DOWN). Every slow step is a child
 * process (tar, cp, a tree check, rm); the reply waits for them.
 *
 * A template is not trusted: tar runs with --no-same-owner and
 * --no-same-permissions (no set-id bits) and refuses '..' members and
 * strips leading '/' (GNU tar's defaults), and before the new guest gets
 * its name a check refuses device nodes, fifos, sockets and symlinks
 * that lead out of the guest directory. Nor may it unpack to more than
 * template_max_bytes (template_unpack.c; the tree check sums the files
 * too). Its vm.cfg is untrusted too: once
 * re-pointed, disk images, kernel and ramdisk must lie inside the new
 * guest's directory (an ISO cdrom may lie in <ovs_root>/iso_pool), and
 * phy: disks, bootloader, device_model(_override), vif script= and
 * passthrough keys are refused (1006) before anything reaches its name -
 * except the stock HVM device_model and kernel (hvmloader), exactly. */
#define LOG_CAT "template"
#include "agent/rpc/methods.h"
#include "agent/rpc/rpc_params.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db/guests.h"
#include "agent/base/beneath.h"
#include "agent/base/child.h"
#include "agent/base/fault.h"
#include "agent/guest/guest.h"
#include "agent/guest/jobs.h"
#include "hypervisor/hv.h"
#include "hypervisor/vmcfg.h"
#include "agent/base/log.h"
#include "agent/guest/names.h"
#include "agent/guest/repo_util.h"
#include "agent/guest/template_tmp.h"
#include "agent/guest/template_unpack.h"
#include "agent/pool/dispatch.h"
#include "agent/server/server.h"
#include "agent/base/util.h"

#define CHECK_TIMEOUT_MS (10 * 60 * 1000)  /* the unpacked-tree check */

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n > m && strcmp(s + n - m, suf) == 0;
}

/* ---- create_vm_from_template --------------------------------------------- */

static void create_cleaned(const struct child_result *res, void *arg)
{
	struct job *j = arg;
	char why[512];

	if (!child_ok(res, SLOW_TIMEOUT_MS, why, sizeof(why)))
		log_warn("could not remove the temporary directory %s: rm %s", j->tmpdir, why);
	else
		template_tmp_forget(j->srv, j->tmpdir);
	rpc_fault(j->call, j->fault, "%s", j->msg);
	job_free(j);
}

/* Fail a create: remove the temporary directory, then answer. */
static void create_fail(struct job *j, int fault, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void create_fail(struct job *j, int fault, const char *fmt, ...)
{
	va_list ap;
	char err[256];
	int n;

	va_start(ap, fmt);
	n = vasprintf(&j->msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	j->fault = fault;
	log_warn("create_vm_from_template %s: %s", j->name, j->msg);
	if (j->tmpdir && spawn_rm(j->srv, j->tmpdir, create_cleaned, j, err, sizeof(err)))
		return;
	if (j->tmpdir)
		log_warn("could not remove the temporary directory %s: %s", j->tmpdir, err);
	rpc_fault(j->call, j->fault, "%s", j->msg);
	job_free(j);
}

/* --- the tree check, run in a forked child (function mode) --- */

static struct beneath_root check_root; /* child only: the guest directory */
static size_t check_prefix;      /* child only: length of the walked path's prefix */
static unsigned long long check_total, check_max; /* child only: file sizes, their bound */

static int check_one(const char *fpath, const struct stat *st, int type, struct FTW *ftw)
{
	const char *rel = fpath + check_prefix;
	char target[PATH_MAX];
	ssize_t n;
	int fd;

	if (*rel == '/')
		rel++;
	if (type == FTW_NS || type == FTW_DNR) {
		dprintf(1, "1300 cannot read %s in the unpacked template\n", rel);
		return 1;
	}
	if (S_ISBLK(st->st_mode) || S_ISCHR(st->st_mode) || S_ISFIFO(st->st_mode) ||
	    S_ISSOCK(st->st_mode)) {
		dprintf(1, "1006 the template holds %s, a %s; templates may hold only files, "
		       "directories and symlinks within the guest directory\n", rel,
		       S_ISBLK(st->st_mode) ? "block device" : S_ISCHR(st->st_mode) ? "character device" :
		       S_ISFIFO(st->st_mode) ? "fifo" : "socket");
		return 1;
	}
	/* Apparent sizes (a sparse file counts whole; a hard link once per name). */
	if (S_ISREG(st->st_mode) && (check_total += (unsigned long long)st->st_size) > check_max) {
		dprintf(1, "1005 the unpacked template's files add up to more than template_max_bytes "
		       "(%llu bytes) (agent.ini's template_max_bytes allows larger templates)\n",
		       check_max);
		return 1;
	}
	if (S_ISLNK(st->st_mode)) {
		n = readlink(fpath, target, sizeof(target) - 1);
		if (n < 0) {
			dprintf(1, "1300 cannot read the symlink %s in the unpacked template\n", rel);
			return 1;
		}
		target[n] = '\0';
		/* Relative only: the directory moves to its name afterwards. */
		fd = target[0] == '/' ? -1 : beneath_open(&check_root, rel, O_PATH, 0, 0);
		if (fd < 0) {
			dprintf(1, "1006 the template's symlink %s -> %s leads outside the guest "
			       "directory (or nowhere)\n", rel, target);
			return 1;
		}
		close(fd);
	}
	return 0;
}

/* Find vm.cfg (top level, or in the single top-level directory holding
 * one) and walk that tree. Prints "ok <top or .>" or "<fault> <message>". */
static int check_tree(void *arg)
{
	struct job *j = arg;
	char *guest = NULL, *top = NULL;
	struct stat st;
	DIR *d;
	struct dirent *e;
	int found = 0, r;
	char *top_cfg = xasprintf("%s/vm.cfg", j->tmpdir);

	/* (a forked child: what it allocates goes with it) */
	if (lstat(top_cfg, &st) == 0) {
		if (!S_ISREG(st.st_mode)) {
			dprintf(1, "1000 the template's vm.cfg is not a regular file\n");
			return 1;
		}
		guest = j->tmpdir;
	} else if (!(d = opendir(j->tmpdir))) {
		dprintf(1, "1300 cannot read the unpacked template: %s\n", strerror(errno));
		return 1;
	} else {
		while ((e = readdir(d))) {
			char *p;
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			p = xasprintf("%s/%s", j->tmpdir, e->d_name);
			if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
				char *cfg = xasprintf("%s/vm.cfg", p);
				if (lstat(cfg, &st) == 0 && S_ISREG(st.st_mode)) {
					found++;
					top = xstrdup(e->d_name);
					guest = p;
				}
			}
		}
		closedir(d);
		if (found != 1) {
			dprintf(1, "1000 the template has %s: it must hold vm.cfg and its disk images at its "
			       "top level or in a single top-level directory\n",
			       found ? "several directories with a vm.cfg" : "no vm.cfg");
			return 1;
		}
	}
	if (beneath_root_open(&check_root, guest) != 0) {
		dprintf(1, "1300 %s: %s\n", guest, strerror(errno));
		return 1;
	}
	check_prefix = strlen(guest);
	check_total = 0;
	check_max = j->max_bytes;
	r = nftw(guest, check_one, 32, FTW_PHYS | FTW_MOUNT);
	if (r != 0) {
		if (r < 0)
			dprintf(1, "1300 cannot walk the unpacked template: %s\n", strerror(errno));
		return 1;
	}
	dprintf(1, "ok %s\n", top ? top : ".");
	return 0;
}

/* Point a path at the new guest directory when it pointed into the
 * template: a bare file name, anything under /seed_pool/<template>/, or a
 * file the new directory holds under a directory named like the template.
 * Returns 1 and fills out, 0 to keep the path, -1 for a path that would
 * leave the guest directory. A kept path is checked afterwards
 * (check_disk, check_guest_path): keeping it does not make it allowed. */
static int repoint(const struct job *j, const char *dest, const char *path, char *out, size_t outlen)
{
	const char *names[3] = { j->tmpl, j->top, NULL };
	const char *base = strrchr(path, '/'), *rest = NULL;
	char *have;
	struct stat st;

	base = base ? base + 1 : path;
	if (!*path || !*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return 0;
	if (!strchr(path, '/'))
		rest = path;
	for (int i = 0; !rest && names[i]; i++) {
		char *pat = xasprintf("/seed_pool/%s/", names[i]);
		const char *hit = strstr(path, pat);
		if (hit)
			rest = hit + strlen(pat);
		free(pat);
	}
	if (!rest) {
		/* e.g. /OVS/running_pool/<template>/system.img of an exported guest */
		size_t bl = (size_t)(base - path);
		have = xasprintf("%s/%s", j->guestdir, base);
		for (int i = 0; !rest && names[i]; i++) {
			size_t nl = strlen(names[i]);
			if (bl >= nl + 2 && path[bl - 1] == '/' && strncmp(path + bl - 1 - nl, names[i], nl) == 0 &&
			    path[bl - 2 - nl] == '/' && lstat(have, &st) == 0)
				rest = base;
		}
		free(have);
		if (!rest)
			return 0;
	}
	/* rest is relative to the guest directory: no way out of it. */
	if (!*rest || rest[0] == '/' || strstr(rest, "//") || strcmp(rest, "..") == 0 ||
	    strncmp(rest, "../", 3) == 0 || strstr(rest, "/../") || has_suffix(rest, "/.."))
		return -1;
	if ((size_t)snprintf(out, outlen, "%s/%s", dest, rest) >= outlen)
		return -1;
	return 1;
}

/* ---- what a template may leave in the new guest's vm.cfg --------------------
 *
 * A template is untrusted input, and xl create acts on vm.cfg as root.
 * After re-pointing, every file:/tap: disk, the kernel and the ramdisk must
 * lie inside the new guest's directory (an ISO cdrom may also lie in
 * <ovs_root>/iso_pool); phy: and other host block devices are refused, and
 * so are keys that make the host run something or give the guest host
 * resources. Paths are compared lexically after canonicalising; '..' is
 * refused. The tree check has already refused symlinks leading out of the
 * guest directory; an ISO must resolve beneath the repository root. */

struct places {
	char guest[PATH_MAX];     /* canonical j->target */
	char iso[PATH_MAX];       /* canonical <ovs_root>/iso_pool */
	struct beneath_root root; /* fd -1 when the root cannot be opened */
};

/* An absolute path without empty or '.' components; -1 for a relative
 * path, a '..' component or no room. */
static int canon_path(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	if (in[0] != '/' || outlen < 2)
		return -1;
	for (const char *p = in; *p;) {
		size_t len;

		while (*p == '/')
			p++;
		len = strcspn(p, "/");
		if (len == 0)
			break;
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return -1;
		if (!(len == 1 && p[0] == '.')) {
			if (o + 1 + len + 1 > outlen)
				return -1;
			out[o++] = '/';
			memcpy(out + o, p, len);
			o += len;
		}
		p += len;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return 0;
}

/* Canonical p strictly below canonical dir. */
static bool below(const char *p, const char *dir)
{
	const char *rel = beneath_strip(dir, p);

	return rel && *rel;
}

/* The longest existing prefix of canonical p (an ISO may come later)
 * resolves beneath the root. */
static bool resolves_inside(const struct beneath_root *r, const char *p)
{
	char *q = xstrdup(p), *slash;
	bool ok = false;
	int fd;

	for (;;) {
		if ((fd = beneath_open(r, q, O_PATH, 0, 0)) >= 0) {
			close(fd);
			ok = true;
			break;
		}
		if (errno != ENOENT || !(slash = strrchr(q, '/')) || slash == q)
			break;
		*slash = '\0';
	}
	free(q);
	return ok;
}

static int places_init(struct job *j, struct places *pl, char *err, size_t errlen)
{
	char *root = repo_root(j->srv), *iso = xasprintf("%s/iso_pool", root);
	int rc = 0;

	if (canon_path(j->target, pl->guest, sizeof(pl->guest)) != 0 ||
	    canon_path(iso, pl->iso, sizeof(pl->iso)) != 0) {
		snprintf(err, errlen, "the repository root %s is not a usable absolute path", root);
		rc = FAULT_INTERNAL;
	}
	if (beneath_root_open(&pl->root, root) != 0)
		pl->root.fd = -1;
	free(iso);
	free(root);
	return rc;
}

/* A kernel, ramdisk or disk image path must lie inside the new guest. */
static int check_guest_path(const struct places *pl, const char *what, const char *path,
			    char *err, size_t errlen)
{
	char c[PATH_MAX];

	if (canon_path(path, c, sizeof(c)) == 0 && below(c, pl->guest))
		return 0;
	snprintf(err, errlen, "the template's %s %.300s lies outside the new guest's directory %.300s: "
		 "a template's disk images, kernel and ramdisk must be files it carries (no '..')",
		 what, path, pl->guest);
	return FAULT_PERMISSION;
}

/* One disk item after re-pointing: 0 or a fault with err. */
static int check_disk(const struct places *pl, const struct vmcfg_disk *d, size_t i, char *err,
		      size_t errlen)
{
	char c[PATH_MAX], what[96];

	if (!d->kind[0] && !d->path[0])
		return 0; /* an empty cdrom drive */
	if (strcmp(d->kind, "phy") == 0) {
		snprintf(err, errlen, "the template's disk item %zu, phy:%.300s (%s), is a host device: "
			 "a template cannot hand a guest a host device", i + 1, d->path, d->dev);
		return FAULT_PERMISSION;
	}
	if (strcmp(d->kind, "file") != 0 && strncmp(d->kind, "tap:", 4) != 0) {
		snprintf(err, errlen, "the template's disk item %zu, %s:%.300s (%s), reaches host "
			 "storage: a template may use only file: and tap: images inside the guest "
			 "directory", i + 1, d->kind, d->path, d->dev);
		return FAULT_PERMISSION;
	}
	if (canon_path(d->path, c, sizeof(c)) == 0) {
		if (below(c, pl->guest))
			return 0;
		if (d->cdrom && below(c, pl->iso)) {
			if (strcmp(d->mode, "r") != 0) {
				snprintf(err, errlen, "the template's cdrom %s:%.300s (%s) is in the "
					 "shared %.300s but not read-only: give it mode r", d->kind, d->path,
					 d->dev, pl->iso);
				return FAULT_PERMISSION;
			}
			if (pl->root.fd < 0 || !resolves_inside(&pl->root, c)) {
				snprintf(err, errlen, "the template's cdrom %s:%.300s (%s) leads outside "
					 "the repository root", d->kind, d->path, d->dev);
				return FAULT_PERMISSION;
			}
			return 0;
		}
	}
	/* not inside the guest (nor an ISO in iso_pool): refused */
	snprintf(what, sizeof(what), "disk item %zu (%s%s)", i + 1, d->dev, d->cdrom ? ":cdrom" : "");
	if (check_guest_path(pl, what, d->path, err, errlen) != 0 && d->cdrom) {
		size_t n = strlen(err);
		if (n < errlen)
			snprintf(err + n, errlen - n, "; an ISO may also lie in %.300s", pl->iso);
	}
	return FAULT_PERMISSION;
}

/* Keys a template may not set: the host would run a program, or hand the
 * guest host hardware. always: refused even when '', [] or None. */
static const struct {
	const char *key, *why;
	bool always;
} host_keys[] = {
	{ "device_model", "names a program the host runs for the guest", true },
	{ "device_model_override", "names a program the host runs for the guest", true },
	{ "device_model_stubdomain_override", "names a program the host runs for the guest", false },
	{ "device_model_args", "adds arguments to the host's device model", false },
	{ "device_model_args_pv", "adds arguments to the host's device model", false },
	{ "device_model_args_hvm", "adds arguments to the host's device model", false },
	{ "firmware_override", "names a host file loaded into the guest", false },
	{ "pci", "hands the guest a host device", false },
	{ "iomem", "hands the guest host memory", false },
	{ "ioports", "hands the guest host I/O ports", false },
	{ "irqs", "hands the guest host interrupts", false },
	{ "dtdev", "hands the guest a host device", false },
	{ "vscsi", "hands the guest a host device", false },
	{ "usbdev", "hands the guest a host device", false },
	{ "vtpm", "hands the guest a host TPM", false },
};

/* Stock Oracle VM 2.x HVM templates name Xen's own device model and
 * firmware (guide C.3; xmexample.hvm's arch_libdir makes qemu-dm's lib64
 * on 64-bit hosts). Exactly these values, and only in an HVM guest, are
 * kept: xl ignores both (it starts its own device model and firmware) and
 * the qemu backend brings its own firmware. */
static const char *const stock_device_models[] = {
	"/usr/lib/xen/bin/qemu-dm", "/usr/lib64/xen/bin/qemu-dm", NULL };
static const char stock_hvmloader[] = "/usr/lib/xen/boot/hvmloader";

/* True when key (device_model or kernel) holds its stock HVM value. */
static bool stock_hvm_value(const struct vmcfg *cfg, const char *key)
{
	const char *builder = vmcfg_get_str(cfg, "builder"), *val = vmcfg_get_str(cfg, key);

	if (!builder || strcmp(builder, "hvm") != 0 || !val)
		return false;
	if (strcmp(key, "kernel") == 0)
		return strcmp(val, stock_hvmloader) == 0;
	for (int i = 0; strcmp(key, "device_model") == 0 && stock_device_models[i]; i++)
		if (strcmp(val, stock_device_models[i]) == 0)
			return true;
	return false;
}

static bool value_empty(const struct vmcfg_value *v)
{
	return !v || v->type == VMCFG_NONE || (v->type == VMCFG_STR && !v->str[0]) ||
	       (v->type == VMCFG_LIST && v->n == 0);
}

/* serial/parallel may only be a console, never a host file, device or socket. */
static bool console_ok(const struct vmcfg_value *v)
{
	static const char *const ok[] = { "pty", "none", "null", "vc", NULL };

	if (value_empty(v))
		return true;
	if (v->type == VMCFG_LIST) {
		for (size_t i = 0; i < v->n; i++)
			if (!console_ok(&v->items[i]))
				return false;
		return true;
	}
	if (v->type != VMCFG_STR)
		return false;
	for (int i = 0; ok[i]; i++)
		if (strcmp(v->str, ok[i]) == 0)
			return true;
	return false;
}

static int refuse_host_keys(const struct vmcfg *cfg, char *err, size_t errlen)
{
	static const char *const consoles[] = { "serial", "parallel", NULL };
	const struct vmcfg_value *v = vmcfg_get(cfg, "bootloader");

	if (v && !(v->type == VMCFG_NONE || (v->type == VMCFG_STR && !v->str[0]))) {
		snprintf(err, errlen, "the template sets bootloader = %s%.200s%s: xl create runs the "
			 "bootloader on the host as root, so a template may not name one (boot the "
			 "kernel it carries instead)", v->type == VMCFG_STR ? "'" : "",
			 v->type == VMCFG_STR ? v->str : "(not a string)",
			 v->type == VMCFG_STR ? "'" : "");
		return FAULT_PERMISSION;
	}
	for (size_t i = 0; i < sizeof(host_keys) / sizeof(host_keys[0]); i++) {
		v = vmcfg_get(cfg, host_keys[i].key);
		if (v && (host_keys[i].always || !value_empty(v)) &&
		    !stock_hvm_value(cfg, host_keys[i].key)) {
			snprintf(err, errlen, "the template sets %s, which %s: a template may not%s",
				 host_keys[i].key, host_keys[i].why,
				 strcmp(host_keys[i].key, "device_model") == 0 ?
				 " (an HVM guest, builder = 'hvm', may name Xen's stock "
				 "/usr/lib/xen/bin/qemu-dm or /usr/lib64/xen/bin/qemu-dm)" : "");
			return FAULT_PERMISSION;
		}
	}
	for (int i = 0; consoles[i]; i++) {
		v = vmcfg_get(cfg, consoles[i]);
		if (!console_ok(v)) {
			snprintf(err, errlen, "the template sets %s to a host file, device or socket: "
				 "a template may use only 'pty', 'vc', 'null' or 'none'", consoles[i]);
			return FAULT_PERMISSION;
		}
	}
	return 0;
}

/* True when the vif item has a key=value setting named key. */
static bool vif_sets(const char *item, const char *key)
{
	size_t kl = strlen(key);

	for (const char *p = item;;) {
		size_t n = strcspn(p, ",");
		const char *eq = memchr(p, '=', n), *k = p;
		if (eq) {
			size_t kn = (size_t)(eq - p);
			while (kn && (*k == ' ' || *k == '\t'))
				k++, kn--;
			while (kn && (k[kn - 1] == ' ' || k[kn - 1] == '\t'))
				kn--;
			if (kn == kl && strncasecmp(k, key, kl) == 0)
				return true;
		}
		if (!p[n])
			return false;
		p += n + 1;
	}
}

/* Rewrite vm.cfg for the guest that will live at j->target. */
static int rewrite_cfg(struct job *j, char *uuid, char *err, size_t errlen)
{
	char *file = xasprintf("%s/vm.cfg", j->guestdir), buf[8192];
	static const char *const path_keys[] = { "kernel", "ramdisk", NULL };
	struct vmcfg *cfg = NULL;
	const struct vmcfg_value *v;
	struct places pl = { .root.fd = -1 };
	long long mem = 0;
	int rc = FAULT_INVALID_ARGUMENT, r, fault = 0;

	if (vmcfg_load(file, &cfg, err, errlen) != 0)
		goto out;
	if ((r = places_init(j, &pl, err, errlen)) != 0 || (r = refuse_host_keys(cfg, err, errlen)) != 0) {
		rc = r;
		goto out;
	}
	if (vmcfg_get_int(cfg, "memory", &mem) != 0 || mem <= 0 || mem > 16 * 1024 * 1024) {
		snprintf(err, errlen, "the template's vm.cfg has no usable memory = <MB>");
		goto out;
	}
	uuid_generate_v4(uuid);
	if (vmcfg_set_str(cfg, "name", j->name) != 0 || vmcfg_set_str(cfg, "uuid", uuid) != 0) {
		snprintf(err, errlen, "cannot set name and uuid in vm.cfg");
		goto out;
	}
	/* disk: items pointing into the template now point into the guest;
	 * after that every image must lie inside it */
	if ((v = vmcfg_get(cfg, "disk")) && v->type != VMCFG_LIST) {
		snprintf(err, errlen, "the template's vm.cfg: disk must be a list of strings");
		goto out;
	}
	if (v && v->n > VMCFG_MAX_DISKS) {
		snprintf(err, errlen, "the template's vm.cfg has %zu disk items; a guest has at most %d",
			 v->n, VMCFG_MAX_DISKS);
		goto out;
	}
	if (v) {
		struct vmcfg_value nv = *v;
		size_t nitems = v->n;
		char **fresh = xcalloc(v->n ? v->n : 1, sizeof(char *));
		bool changed = false;
		nv.items = xcalloc(v->n ? v->n : 1, sizeof(*nv.items));
		for (size_t i = 0; i < v->n; i++) {
			struct vmcfg_disk d;
			char e2[256];
			nv.items[i] = v->items[i];
			if (v->items[i].type != VMCFG_STR) {
				snprintf(err, errlen, "the template's vm.cfg, disk item %zu: not a string",
					 i + 1);
				r = -2;
			} else if (vmcfg_parse_disk(v->items[i].str, &d, e2, sizeof(e2)) != 0) {
				snprintf(err, errlen, "the template's vm.cfg, disk item %zu: %s", i + 1, e2);
				r = -2;
			} else {
				r = repoint(j, j->target, d.path, buf, sizeof(buf));
				if (r < 0)
					snprintf(err, errlen, "the template's disk %.300s leads outside the guest "
						 "directory", d.path);
			}
			if (r == 1) {
				fresh[i] = xmalloc(sizeof(buf));
				if (strlen(buf) >= sizeof(d.path) ||
				    (memcpy(d.path, buf, strlen(buf) + 1),
				     vmcfg_format_disk(&d, fresh[i], sizeof(buf)) != 0)) {
					snprintf(err, errlen, "cannot rewrite disk item %zu", i + 1);
					r = -1;
				} else {
					nv.items[i].str = fresh[i];
					changed = true;
				}
			}
			if (r >= 0 && (fault = check_disk(&pl, &d, i, err, errlen)) != 0)
				r = -3;
			if (r < 0) {
				for (size_t k = 0; k < nitems; k++)
					free(fresh[k]);
				free(fresh);
				free(nv.items);
				rc = r == -2 ? FAULT_INVALID_ARGUMENT : r == -3 ? fault : FAULT_PERMISSION;
				goto out;
			}
		}
		r = changed ? vmcfg_set_value(cfg, "disk", &nv) : 0;
		for (size_t k = 0; k < nitems; k++)
			free(fresh[k]);
		free(fresh);
		free(nv.items);
		if (r != 0) {
			snprintf(err, errlen, "cannot set disk in vm.cfg");
			goto out;
		}
	}
	/* kernel, ramdisk (guide 4.4 step 2): inside the guest once re-pointed */
	for (int k = 0; path_keys[k]; k++) {
		const char *s;
		v = vmcfg_get(cfg, path_keys[k]);
		if (!v || v->type == VMCFG_NONE || (v->type == VMCFG_STR && !v->str[0]) ||
		    stock_hvm_value(cfg, path_keys[k]))
			continue;
		if (v->type != VMCFG_STR) {
			snprintf(err, errlen, "the template's vm.cfg: %s must be a string", path_keys[k]);
			goto out;
		}
		s = v->str;
		r = repoint(j, j->target, s, buf, sizeof(buf));
		if (r < 0) {
			snprintf(err, errlen, "the template's %s %.300s leads outside the guest directory",
				 path_keys[k], s);
			rc = FAULT_PERMISSION;
			goto out;
		}
		if ((fault = check_guest_path(&pl, path_keys[k], r == 1 ? buf : s, err, errlen)) != 0) {
			rc = fault;
			goto out;
		}
		if (r == 1 && vmcfg_set_str(cfg, path_keys[k], buf) != 0) {
			snprintf(err, errlen, "cannot set %s in vm.cfg", path_keys[k]);
			goto out;
		}
	}
	/* vif: a fresh MAC for every interface (guide 4.4 step 3); no script=,
	 * which the host would run as root */
	if ((v = vmcfg_get(cfg, "vif")) && v->type != VMCFG_LIST) {
		snprintf(err, errlen, "the template's vm.cfg: vif must be a list of strings");
		goto out;
	}
	if (v && v->n > VMCFG_MAX_VIFS) {
		snprintf(err, errlen, "the template's vm.cfg has %zu vif items; a guest has at most %d",
			 v->n, VMCFG_MAX_VIFS);
		goto out;
	}
	for (size_t i = 0; v && i < v->n; i++) {
		if (v->items[i].type != VMCFG_STR) {
			snprintf(err, errlen, "the template's vm.cfg, vif item %zu: not a string", i + 1);
			goto out;
		}
		if (vif_sets(v->items[i].str, "script")) {
			snprintf(err, errlen, "the template's vif item %zu sets script=: the host would run "
				 "that script as root, so a template may not name one", i + 1);
			rc = FAULT_PERMISSION;
			goto out;
		}
	}
	if (v) {
		struct vmcfg_value nv = *v;
		size_t nitems = v->n;
		char **fresh = xcalloc(v->n ? v->n : 1, sizeof(char *));
		bool changed = false;
		nv.items = xcalloc(v->n ? v->n : 1, sizeof(*nv.items));
		r = 0;
		for (size_t i = 0; i < v->n && r == 0; i++) {
			struct vmcfg_vif vif;
			char e2[256];
			nv.items[i] = v->items[i];
			if (strspn(v->items[i].str, " \t,") == strlen(v->items[i].str))
				continue; /* '' : a default interface; xl picks its MAC */
			if (vmcfg_parse_vif(v->items[i].str, &vif, e2, sizeof(e2)) != 0) {
				snprintf(err, errlen, "the template's vm.cfg, vif item %zu: %s", i + 1, e2);
				r = -1;
				break;
			}
			repo_random_mac(vif.mac);
			fresh[i] = xmalloc(512);
			if (vmcfg_format_vif(&vif, fresh[i], 512) != 0) {
				snprintf(err, errlen, "cannot rewrite vif item %zu", i + 1);
				r = -1;
				break;
			}
			nv.items[i].str = fresh[i];
			changed = true;
		}
		if (r == 0 && changed && vmcfg_set_value(cfg, "vif", &nv) != 0) {
			snprintf(err, errlen, "cannot set vif in vm.cfg");
			r = -1;
		}
		for (size_t k = 0; k < nitems; k++)
			free(fresh[k]);
		free(fresh);
		free(nv.items);
		if (r != 0)
			goto out;
	}
	if (vmcfg_save(cfg, file, err, errlen) != 0) {
		rc = FAULT_IO;
		goto out;
	}
	rc = 0;
out:
	beneath_root_close(&pl.root);
	vmcfg_free(cfg);
	free(file);
	return rc;
}

/* Everything is unpacked and checked: rewrite, rename, register, answer. */
static void create_finish(struct job *j)
{
	struct server *srv = j->srv;
	char uuid[37], err[1024];
	struct record rec;
	int fault;

	if ((fault = rewrite_cfg(j, uuid, err, sizeof(err))) != 0) {
		create_fail(j, fault, "%s", err);
		return;
	}
	if (rename_noreplace(j->guestdir, j->target) != 0) {
		int e = errno;
		create_fail(j, e == EEXIST || e == ENOTEMPTY ? FAULT_EXISTS : FAULT_IO,
			    "cannot move the new guest to %s: %s", j->target, strerror(e));
		return;
	}
	fault = guest_register(srv, j->target, &rec, err, sizeof(err));
	if (fault) {
		/* Take the directory back so the clean-up removes it. */
		if (rename_noreplace(j->target, j->guestdir) != 0)
			log_err("cannot take %s back after a failed registration: %s", j->target,
				strerror(errno));
		create_fail(j, fault, "%s", err);
		return;
	}
	record_free(&rec);
	if (strcmp(j->guestdir, j->tmpdir) == 0 || rmdir(j->tmpdir) == 0)
		template_tmp_forget(srv, j->tmpdir);
	else
		template_tmp_remove(srv, j->tmpdir); /* other top-level entries of the archive */
	log_info("created guest %s (%s) from template %s", j->target, uuid, j->tmpl_file);
	rpc_return_printf(j->call, "success:vm_path=%s;uuid=%s", j->target, uuid);
	job_free(j);
}

static void on_checked(const struct child_result *res, void *arg)
{
	struct job *j = arg;
	const char *out = res->out && res->out->data ? res->out->data : "";
	char why[512], line[1024];
	size_t n = strcspn(out, "\n");

	snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) ? n : sizeof(line) - 1), out);
	if (res->timed_out || !WIFEXITED(res->status) || WEXITSTATUS(res->status) > 1 ||
	    (WEXITSTATUS(res->status) == 0 && strncmp(line, "ok ", 3) != 0)) {
		child_ok(res, CHECK_TIMEOUT_MS, why, sizeof(why));  /* 0 is a failure too without "ok" */
		create_fail(j, FAULT_IO, "checking the unpacked template failed: it %s", why);
		return;
	}
	if (WEXITSTATUS(res->status) == 1) {
		char *end;
		long code = strtol(line, &end, 10);
		if (end == line || *end != ' ')
			create_fail(j, FAULT_IO, "checking the unpacked template failed");
		else
			create_fail(j, (int)code, "%s", end + 1);
		return;
	}
	if (strcmp(line + 3, ".") == 0) {
		j->guestdir = xstrdup(j->tmpdir);
	} else {
		if (strchr(line + 3, '/') || strcmp(line + 3, "..") == 0 || !line[3]) {
			create_fail(j, FAULT_INTERNAL, "the template check returned '%s'", line + 3);
			return;
		}
		j->top = xstrdup(line + 3);
		j->guestdir = xasprintf("%s/%s", j->tmpdir, j->top);
	}
	create_finish(j);
}

static void on_unpacked(const struct child_result *res, void *arg)
{
	struct job *j = arg;
	struct child_opts o = { .fn = check_tree, .fn_arg = j, .timeout_ms = CHECK_TIMEOUT_MS };
	char why[512], err[512];
	int fault = template_unpack_verdict(res, j->max_bytes, err, sizeof(err));

	if (fault > 0) {
		create_fail(j, fault, "%s", err);
		return;
	}
	if (fault < 0) {
		child_ok(res, SLOW_TIMEOUT_MS, why, sizeof(why));
		create_fail(j, FAULT_IO, "%s template %s failed: %s %s",
			    j->tmpl_is_dir ? "copying" : "unpacking", j->tmpl_file,
			    j->tmpl_is_dir ? "cp" : "tar", why);
		return;
	}
	if (!child_spawn(j->srv->loop, &o, on_checked, j, err, sizeof(err)))
		create_fail(j, FAULT_IO, "cannot check the unpacked template: %s", err);
}

/* Find the template in <root>/seed_pool, beneath the root: 0 and
 * j->tmpl_file (the path it was opened by, symlinks resolved, so tar and
 * cp read what was checked)/tmpl/tmpl_is_dir, or a fault with err. */
static int find_template(struct job *j, const char *root, const char *arg, char *err, size_t errlen)
{
	char *seed = xasprintf("%s/seed_pool", root), real[PATH_MAX];
	const char *name = arg;
	struct beneath_root r;
	struct stat st;
	int rc = 0, e = ENOENT, fd = -1;

	/* A full path is accepted when it names something in seed_pool itself. */
	if (arg[0] == '/') {
		const char *rel = beneath_strip(seed, arg);
		if (rel && *rel)
			name = rel;
	}
	if (!repo_name_ok(name, 255, "+")) {
		snprintf(err, errlen, "'%.300s' is not a template name: give the name of a .tgz file or "
			 "a directory in %s (letters, digits, '.', '_', '-', '+')", arg, seed);
		free(seed);
		return FAULT_INVALID_ARGUMENT;
	}
	if (beneath_root_open(&r, root) != 0) {
		snprintf(err, errlen, "repository root %s: %s", root, strerror(errno));
		free(seed);
		return FAULT_IO;
	}
	if (has_suffix(name, ".tgz") || has_suffix(name, ".tar.gz")) {
		j->tmpl_file = xasprintf("%s/%s", seed, name);
		j->tmpl = xstrndup(name, strlen(name) - (has_suffix(name, ".tgz") ? 4 : 7));
		fd = beneath_open(&r, j->tmpl_file, O_PATH, 0, 0);
		e = errno;
	} else {
		static const char *const sufs[] = { "", ".tgz", ".tar.gz", NULL };
		for (int i = 0; sufs[i]; i++) {
			char *p = xasprintf("%s/%s%s", seed, name, sufs[i]);
			fd = beneath_open(&r, p, O_PATH, 0, 0);
			e = errno;
			if (fd >= 0 || e != ENOENT) {
				j->tmpl_file = p;
				break;
			}
			free(p);
		}
		j->tmpl = xstrdup(name);
	}
	beneath_root_close(&r);
	if (fd < 0 && e == EXDEV) {
		snprintf(err, errlen, "template %s leads outside the repository root %s", j->tmpl_file,
			 root);
		rc = FAULT_PERMISSION;
	} else if (fd < 0 && (e == ENOENT || e == ENOTDIR)) {
		snprintf(err, errlen, "template '%s' not found: there is no %s/%s/ directory or %s/%s.tgz",
			 arg, seed, j->tmpl, seed, j->tmpl);
		rc = FAULT_NOT_FOUND;
	} else if (fd < 0 || fstat(fd, &st) != 0 || beneath_fd_path(fd, real, sizeof(real)) != 0) {
		snprintf(err, errlen, "%s: %s", j->tmpl_file, strerror(fd < 0 ? e : errno));
		rc = FAULT_IO;
	} else if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "template %s is neither a .tgz file nor a directory", j->tmpl_file);
		rc = FAULT_INVALID_ARGUMENT;
	} else {
		j->tmpl_is_dir = S_ISDIR(st.st_mode);
		free(j->tmpl_file);
		j->tmpl_file = xstrdup(real);
	}
	if (fd >= 0)
		close(fd);
	free(seed);
	return rc;
}

static void create_here(struct rpc_call *call, xmlrpc_value *params);

/* On a master without the utility role a utility server does it
 * (agent/pool/dispatch.h). */
void m_create_vm_from_template(struct rpc_call *call, xmlrpc_value *params)
{
	if (!pool_dispatch_utility(call, params))
		create_here(call, params);
}

static void create_here(struct rpc_call *call, xmlrpc_value *params)
{
	struct server *srv = rpc_server(call);
	char *tmpl = param_str(params, 0), *name = param_str(params, 1), *root = repo_root(srv);
	char *pool = xasprintf("%s/running_pool", root), err[1024];
	struct job *j = job_new(JOB_CREATE, srv, call);
	struct template_unpack_req req = { .envp = job_env, .timeout_ms = SLOW_TIMEOUT_MS };
	struct record rec;
	struct stat st;
	int fault, r, pfd;

	j->name = name;
	if (name_check("template name", tmpl, err, sizeof(err)) != 0 ||
	    name_check("guest name", name, err, sizeof(err)) != 0) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "%s", err);
		goto fail;
	}
	if (!repo_name_ok(name, GUEST_NAME_MAX, NULL)) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "'%.100s' is not a usable guest name: use 1 to %d "
			  "letters, digits, '.', '_' or '-' (not '.' or '..')", name, GUEST_NAME_MAX);
		goto fail;
	}
	j->target = xasprintf("%s/%s", pool, name);
	if ((fault = find_template(j, root, tmpl, err, sizeof(err))) != 0) {
		rpc_fault(call, fault, "%s", err);
		goto fail;
	}
	if (job_busy(srv, j->target) || guest_busy(srv, j->target)) {
		rpc_fault(call, FAULT_BUSY, "guest %s is being created or deleted; try again when that "
			  "has finished", name);
		goto fail;
	}
	if (lstat(j->target, &st) == 0) {
		rpc_fault(call, FAULT_EXISTS, "%s already exists; choose another name or delete_vm it",
			  j->target);
		goto fail;
	}
	r = guests_get(srv->store, j->target, &rec, err, sizeof(err));
	if (r != 0) {
		if (r > 0)
			rpc_fault(call, FAULT_EXISTS, "a guest %s is still registered (%s) though its "
				  "directory is gone; unregister_vm it first", j->target,
				  record_get(&rec, "status") ? record_get(&rec, "status") : "?");
		else
			rpc_fault(call, FAULT_IO, "%s", err);
		record_free(&rec);
		goto fail;
	}
	record_free(&rec);
	if ((fault = repo_open_pool(srv, &pfd, err, sizeof(err))) != 0) {
		rpc_fault(call, fault, "%s", err);
		goto fail;
	}
	close(pfd);
	if (template_tmp_make(srv, pool, name, &j->tmpdir, err, sizeof(err)) != 0) {
		rpc_fault(call, FAULT_IO, "%s", err);
		goto fail;
	}
	j->max_bytes = srv->cfg.template_max_bytes;
	req.src = j->tmpl_file;
	req.is_dir = j->tmpl_is_dir;
	req.dest = j->tmpdir;
	req.max_bytes = j->max_bytes;
	if (!template_unpack(srv->loop, &req, on_unpacked, j, err, sizeof(err))) {
		if (rmdir(j->tmpdir) == 0)
			template_tmp_forget(srv, j->tmpdir);
		rpc_fault(call, FAULT_IO, "cannot start %s: %s", j->tmpl_is_dir ? "cp" : "tar", err);
		goto fail;
	}
	log_info("creating guest %s from template %s", j->target, j->tmpl_file);
	job_add(j);
	free(tmpl);
	free(root);
	free(pool);
	return;
fail:
	free(tmpl);
	free(root);
	free(pool);
	job_free(j);
}
