/* methods_install.c - install_vm_hvm: a new hardware virtualized guest
 * that boots an installer ISO, what `virt-install -v -c <iso> --vnc` did
 * (guide 4.5, appendix A).
 *
 * In one go on the loop, nothing slow: check the arguments, make
 * running_pool/<name>/ (mkdir: one name, one winner), a sparse
 * system.img of the asked size (ftruncate), a vm.cfg that boots the ISO
 * from the CD-ROM first, then the disk; register the guest and start it.
 * The reply waits for the start and carries the VNC port to install
 * through. A failure before the start takes back everything made; a
 * failed start leaves the guest registered DOWN for the manager to fix
 * and start (or delete_vm). */
#define LOG_CAT "install"
#include "agent/rpc/methods.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "db/guests.h"
#include "agent/base/beneath.h"
#include "agent/base/fault.h"
#include "agent/guest/guest.h"
#include "hypervisor/vmcfg.h"
#include "agent/base/log.h"
#include "agent/guest/names.h"
#include "agent/guest/repo_util.h"
#include "agent/repo/repospace.h"
#include "agent/pool/dispatch.h"
#include "agent/rpc/rpc_params.h"
#include "agent/server/server.h"
#include "agent/base/util.h"

#define MEM_MIN_MB   16
#define MEM_MAX_MB   1048576       /* 1 TiB */
#define VCPUS_MAX    64
#define IMAGE_NAME   "system.img"

/* What the reply needs once the start has finished. */
struct install {
	struct rpc_call *call;
	char *path;
	char uuid[37];
};

/* Check the ISO argument: an existing regular file inside the root, given
 * as an absolute path or as a file name in <root>/iso_pool. 0 and the
 * malloc'd absolute path as opened (symlinks resolved beneath the root) in
 * *out, or a fault with err. */
static int check_iso(const char *root, const char *arg, char **out, char *err, size_t errlen)
{
	char real[PATH_MAX], *path;
	struct beneath_root r = { .fd = -1 };
	const char *rel;
	struct stat st;
	int rc = 0, fd = -1;

	*out = NULL;
	if (!*arg) {
		snprintf(err, errlen, "no ISO image given: name a file in %s/iso_pool or give its "
			 "absolute path below %s", root, root);
		return FAULT_INVALID_ARGUMENT;
	}
	if (!strchr(arg, '/')) {
		path = xasprintf("%s/iso_pool/%s", root, arg);
	} else if (arg[0] != '/') {
		snprintf(err, errlen, "ISO image '%.300s': give an absolute path below %s or a file "
			 "name in %s/iso_pool", arg, root, root);
		return FAULT_INVALID_ARGUMENT;
	} else {
		path = xstrdup(arg);
	}
	if (!(rel = beneath_strip(root, path))) {
		snprintf(err, errlen, "ISO image %.300s is outside the repository root %s; copy it "
			 "into %s/iso_pool", path, root, root);
		rc = FAULT_PERMISSION;
		goto out;
	}
	for (const char *p = path + 1; *p;) {
		size_t len = strcspn(p, "/");
		if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.')) {
			snprintf(err, errlen, "ISO image %.300s: empty, '.' and '..' components are not "
				 "allowed", path);
			rc = FAULT_PERMISSION;
			goto out;
		}
		p += len + (p[len] == '/');
	}
	if (beneath_root_open(&r, root) != 0) {
		snprintf(err, errlen, "repository root %s: %s", root, strerror(errno));
		rc = FAULT_IO;
		goto out;
	}
	if ((fd = beneath_open(&r, rel, O_PATH, 0, 0)) < 0) {
		int e = errno;
		if (e == EXDEV) {
			snprintf(err, errlen, "ISO image %.300s leads outside the repository root %s",
				 path, root);
			rc = FAULT_PERMISSION;
			goto out;
		}
		snprintf(err, errlen, "ISO image %.300s: %s%s", path, strerror(e),
			 e == ENOENT || e == ENOTDIR ? "; copy the installation ISO there first" : "");
		rc = e == ENOENT || e == ENOTDIR ? FAULT_NOT_FOUND : e == EACCES ? FAULT_PERMISSION
										: FAULT_IO;
		goto out;
	}
	if (fstat(fd, &st) != 0 || beneath_fd_path(fd, real, sizeof(real)) != 0) {
		snprintf(err, errlen, "ISO image %.300s: %s", path, strerror(errno));
		rc = FAULT_IO;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "ISO image %.300s is not a regular file", path);
		rc = FAULT_INVALID_ARGUMENT;
		goto out;
	}
	/* vm.cfg gets the path as opened: a symlink on the way changed later
	 * must not redirect the hypervisor outside the root. */
	*out = xstrdup(real);
out:
	if (fd >= 0)
		close(fd);
	beneath_root_close(&r);
	free(path);
	return rc;
}

/* Write <dir>/vm.cfg for the new guest. 0, or a fault with err. */
static int write_cfg(const char *dir, const char *name, const char *uuid, long long mem,
		     long long vcpus, const char *iso, char *err, size_t errlen)
{
	char *file = xasprintf("%s/vm.cfg", dir), *img = xasprintf("%s/" IMAGE_NAME, dir);
	char disk0[4200], disk1[4200], vif0[256], mac[18], when[64], *head;
	const char *disks[2] = { disk0, disk1 }, *vifs[1] = { vif0 };
	struct vmcfg_disk d;
	struct vmcfg_vif v;
	struct vmcfg *cfg = NULL;
	time_t now = time(NULL);
	struct tm tm;
	int rc = FAULT_INTERNAL;

	memset(&d, 0, sizeof(d));
	snprintf(d.kind, sizeof(d.kind), "file");
	snprintf(d.dev, sizeof(d.dev), "hda");
	snprintf(d.mode, sizeof(d.mode), "w");
	if (snprintf(d.path, sizeof(d.path), "%s", img) >= (int)sizeof(d.path) ||
	    vmcfg_format_disk(&d, disk0, sizeof(disk0)) != 0) {
		snprintf(err, errlen, "the guest directory %.300s cannot be named in a vm.cfg disk item",
			 dir);
		rc = FAULT_INVALID_ARGUMENT;
		goto out;
	}
	snprintf(d.dev, sizeof(d.dev), "hdc");
	d.cdrom = true;
	snprintf(d.mode, sizeof(d.mode), "r");
	if (snprintf(d.path, sizeof(d.path), "%s", iso) >= (int)sizeof(d.path) ||
	    vmcfg_format_disk(&d, disk1, sizeof(disk1)) != 0) {
		snprintf(err, errlen, "ISO image %.300s cannot be named in a vm.cfg disk item (a path "
			 "with ',', quotes, spaces or control characters?); rename it", iso);
		rc = FAULT_INVALID_ARGUMENT;
		goto out;
	}
	/* virt-install's order: type, mac, bridge */
	repo_random_mac(mac);
	snprintf(vif0, sizeof(vif0), "type=ioemu, mac=%s, bridge=xenbr0", mac);
	if (vmcfg_parse_vif(vif0, &v, err, errlen) != 0)
		goto out;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	head = xasprintf("# %s: a hardware virtualized guest made by install_vm_hvm on %s.\n"
			 "# It boots the installer from the CD-ROM image (boot = 'dc': CD-ROM, then\n"
			 "# disk); install through the VNC console. Afterwards xen_change_vm_cdrom\n"
			 "# can eject the image and xen_config_boot_sequence set boot = 'c'.\n",
			 name, when);
	if (vmcfg_parse(file, head, strlen(head), &cfg, err, errlen) != 0) {
		free(head);
		goto out;
	}
	free(head);
	if (vmcfg_set_str(cfg, "name", name) || vmcfg_set_str(cfg, "uuid", uuid) ||
	    vmcfg_set_int(cfg, "memory", mem) || vmcfg_set_int(cfg, "vcpus", vcpus) ||
	    vmcfg_set_str(cfg, "builder", "hvm") || vmcfg_set_list(cfg, "disk", disks, 2) ||
	    vmcfg_set_list(cfg, "vif", vifs, 1) || vmcfg_set_int(cfg, "vnc", 1) ||
	    vmcfg_set_int(cfg, "vncunused", 1) || vmcfg_set_str(cfg, "boot", "dc") ||
	    vmcfg_set_str(cfg, "on_reboot", "restart") || vmcfg_set_str(cfg, "on_crash", "restart")) {
		snprintf(err, errlen, "cannot compose vm.cfg");
		goto out;
	}
	if (vmcfg_save(cfg, file, err, errlen) != 0) {
		rc = FAULT_IO;
		goto out;
	}
	rc = 0;
out:
	vmcfg_free(cfg);
	free(img);
	free(file);
	return rc;
}

static void on_started(void *arg, int fault, const char *msg, const struct record *rec)
{
	struct install *in = arg;
	const char *port = rec ? record_get(rec, "vnc_port") : NULL;

	if (fault) {
		const char *st = rec ? record_get(rec, "status") : NULL;
		log_warn("installed %s (%s) but could not start it: %s", in->path, in->uuid, msg);
		rpc_fault(in->call, fault, "%s was installed (uuid %s) but did not start: %s. It stays "
			  "registered%s%s with its files: fix the cause and start_vm it, or delete_vm it",
			  in->path, in->uuid, msg ? msg : "failed", st ? " " : "", st ? st : "");
	} else if (port && *port && port[0] != '-') {
		log_info("installing %s (%s): VNC console on port %s", in->path, in->uuid, port);
		rpc_return_printf(in->call, "success:vm_path=%s;uuid=%s;vnc_port=%s", in->path, in->uuid,
				  port);
	} else {
		log_warn("installing %s (%s): the backend reports no VNC console", in->path, in->uuid);
		rpc_return_printf(in->call, "success:vm_path=%s;uuid=%s", in->path, in->uuid);
	}
	free(in->path);
	free(in);
}

static void install_here(struct rpc_call *call, xmlrpc_value *params);

/* On a pool's master the VM server with room does it (agent/pool/dispatch.h). */
void m_install_vm_hvm(struct rpc_call *call, xmlrpc_value *params)
{
	long long mem = 0;

	if (param_int(params, 1, &mem) < 0)
		mem = 0;        /* install_here says what is wrong with it */
	if (!pool_dispatch_install(call, params, mem, install_here))
		install_here(call, params);
}

static void install_here(struct rpc_call *call, xmlrpc_value *params)
{
	struct server *srv = rpc_server(call);
	char *name = param_str(params, 0), *iso_arg = param_str(params, 4), *root = repo_root(srv);
	char *pool = xasprintf("%s/running_pool", root), *path = NULL, *iso = NULL, *img = NULL;
	char *cfg = NULL, err[1024], msg[1024], uuid[37];
	bool made_dir = false, made_img = false, made_cfg = false, registered = false;
	long long mem = 0, vcpus = 0, mb = 0;
	struct install *in;
	struct record rec;
	struct stat st;
	int fault, fd, r, pfd = -1, gfd = -1;

	record_init(&rec);
	/* -- the arguments -- */
	if (name_check("guest name", name, err, sizeof(err)) != 0 ||
	    name_check("ISO image name", iso_arg, err, sizeof(err)) != 0) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "%s", err);
		goto out;
	}
	if (!repo_name_ok(name, GUEST_NAME_MAX, NULL)) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "'%.100s' is not a usable guest name: use 1 to %d "
			  "letters, digits, '.', '_' or '-' (not '.' or '..')", name, GUEST_NAME_MAX);
		goto out;
	}
	if (param_int_arg(call, params, 1, "memory_MB", MEM_MIN_MB, MEM_MAX_MB, " MB", &mem) != 0 ||
	    param_int_arg(call, params, 2, "vcpus", 1, VCPUS_MAX, "", &vcpus) != 0 ||
	    param_int_arg(call, params, 3, "disk_MB", 1, DISK_MAX_MB, " MB", &mb) != 0)
		goto out;
	if ((fault = check_iso(root, iso_arg, &iso, err, sizeof(err))) != 0) {
		rpc_fault(call, fault, "%s", err);
		goto out;
	}
	/* -- the name is free -- */
	if ((fault = guest_resolve(srv, name, false, &path, err, sizeof(err))) != 0) {
		rpc_fault(call, fault, "%s", err);
		goto out;
	}
	if (guest_busy(srv, path)) {
		rpc_fault(call, FAULT_BUSY, "%s is busy with another operation", path);
		goto out;
	}
	if (lstat(path, &st) == 0) {
		rpc_fault(call, FAULT_EXISTS, "%s already exists; choose another name or delete_vm it",
			  path);
		goto out;
	}
	r = guests_get(srv->store, path, &rec, err, sizeof(err));
	if (r != 0) {
		if (r > 0)
			rpc_fault(call, FAULT_EXISTS, "a guest %s is still registered (%s) though its "
				  "directory is gone; unregister_vm it first", path,
				  record_get(&rec, "status") ? record_get(&rec, "status") : "?");
		else
			rpc_fault(call, FAULT_IO, "%s", err);
		goto out;
	}
	record_free(&rec);
	record_init(&rec);
	/* From here on the pool and the new guest are reached by fd, from a
	 * pool that lies beneath the root. */
	if ((fault = repo_open_pool(srv, &pfd, err, sizeof(err))) != 0) {
		rpc_fault(call, fault, "%s", err);
		goto out;
	}
	/* The sparse disk counted whole: the guest will fill it. */
	if ((fault = repo_room(srv->repos, pool, pfd, (unsigned long long)mb << 20,
			       "the guest's disk", err, sizeof(err))) != 0) {
		rpc_fault(call, fault, "cannot install %s: %s", name, err);
		goto out;
	}
	/* -- make it: directory, disk, vm.cfg, record -- */
	if (mkdirat(pfd, name, 0755) != 0) {
		int e = errno;
		rpc_fault(call, e == EEXIST ? FAULT_EXISTS : e == ENOSPC || e == EDQUOT ?
			  FAULT_NO_RESOURCES : FAULT_IO, "cannot create %s: %s%s", path, strerror(e),
			  e == EEXIST ? "; choose another name" : "");
		goto out;
	}
	made_dir = true;
	img = xasprintf("%s/" IMAGE_NAME, path);
	if ((gfd = openat(pfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		fault = FAULT_IO;
		snprintf(msg, sizeof(msg), "%s: %s", path, strerror(errno));
		goto fail;
	}
	fd = openat(gfd, IMAGE_NAME, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
		    0644);
	if (fd < 0) {
		fault = FAULT_IO;
		snprintf(msg, sizeof(msg), "cannot create %s: %s", img, strerror(errno));
		goto fail;
	}
	made_img = true;
	if (fchmod(fd, 0644) != 0 || ftruncate(fd, (off_t)mb << 20) != 0) {
		int e = errno;
		close(fd);
		fault = e == EFBIG || e == ENOSPC || e == EINVAL || e == EDQUOT ? FAULT_NO_RESOURCES
										: FAULT_IO;
		snprintf(msg, sizeof(msg), "cannot make the %lld MB disk %s: %s", mb, img, strerror(e));
		goto fail;
	}
	if (close(fd) != 0) {
		fault = FAULT_IO;
		snprintf(msg, sizeof(msg), "%s: %s", img, strerror(errno));
		goto fail;
	}
	uuid_generate_v4(uuid);
	cfg = xasprintf("%s/vm.cfg", path);
	made_cfg = true;   /* vmcfg_save may leave it behind even when it fails */
	if ((fault = write_cfg(path, name, uuid, mem, vcpus, iso, msg, sizeof(msg))) != 0)
		goto fail;
	registered = true; /* guest_register may have written the record before failing */
	if ((fault = guest_register(srv, path, &rec, err, sizeof(err))) != 0) {
		snprintf(msg, sizeof(msg), "cannot register %.300s: %.600s", path, err);
		goto fail;
	}
	record_free(&rec);
	record_init(&rec);
	log_info("installing guest %s (%s): %lld MB, %lld vcpus, %lld MB disk, CD-ROM %s", path, uuid,
		 mem, vcpus, mb, iso);
	/* -- start it; the reply waits -- */
	in = xcalloc(1, sizeof(*in));
	in->call = call;
	in->path = xstrdup(path);
	memcpy(in->uuid, uuid, sizeof(in->uuid));
	guest_run(srv, path, GOP_START, on_started, in);
	goto out;
fail:
	/* Take back what this call made, newest first, then answer: whoever
	 * reads the fault finds nothing left. */
	log_warn("install_vm_hvm %s: %s", path, msg);
	if (registered && guests_del(srv->store, path, err, sizeof(err)) < 0)
		log_err("install %s: cannot remove the record: %s", path, err);
	if (made_cfg && gfd >= 0 && unlinkat(gfd, "vm.cfg", 0) != 0 && errno != ENOENT)
		log_err("install %s: cannot remove %s: %s", path, cfg, strerror(errno));
	if (made_img && unlinkat(gfd, IMAGE_NAME, 0) != 0 && errno != ENOENT)
		log_err("install %s: cannot remove %s: %s", path, img, strerror(errno));
	if (made_dir && unlinkat(pfd, name, AT_REMOVEDIR) != 0)
		log_err("install %s: cannot remove %s: %s", path, path, strerror(errno));
	rpc_fault(call, fault, "%s", msg);
out:
	if (gfd >= 0)
		close(gfd);
	if (pfd >= 0)
		close(pfd);
	record_free(&rec);
	free(cfg);
	free(img);
	free(iso);
	free(path);
	free(pool);
	free(root);
	free(iso_arg);
	free(name);
}
