/* methods_disk.c - a guest deleted, a blank disk created: delete_vm,
 * xen_create_disk.
 *
 * delete_vm takes a DOWN or ERROR guest that the hypervisor no longer
 * has, renames its directory out of the guest namespace
 * (.<name>.del-<hex>), drops its record, then removes the files with rm
 * in a child; the reply waits for it. xen_create_disk makes a sparse file
 * of the given size below the repository root, never through '..' or a
 * symlink leading out, and never over an existing file. */
#define LOG_CAT "template"
#include "agent/rpc/methods.h"
#include "agent/rpc/rpc_params.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/rand.h>

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
#include "agent/repo/repospace.h"
#include "agent/server/server.h"
#include "agent/base/util.h"

static void rand_hex(char *out, size_t nbytes)
{
	unsigned char b[16];

	if (nbytes > sizeof(b) || RAND_bytes(b, (int)nbytes) != 1)
		abort();
	for (size_t i = 0; i < nbytes; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

/* ---- delete_vm ------------------------------------------------------------ */

static void on_deleted(const struct child_result *res, void *arg)
{
	struct job *j = arg;
	char why[512];

	if (child_ok(res, SLOW_TIMEOUT_MS, why, sizeof(why))) {
		log_info("deleted guest %s", j->target);
		rpc_return_string(j->call, "success");
	} else {
		log_err("deleting %s: rm %s", j->target, why);
		rpc_fault(j->call, FAULT_IO, "%s is no longer a guest, but some of its files could not "
			  "be removed and are left in %s: rm %s", j->target, j->deldir, why);
	}
	job_free(j);
}

void m_delete_vm(struct rpc_call *call, xmlrpc_value *params)
{
	struct server *srv = rpc_server(call);
	char *arg = param_str(params, 0), *path = NULL, err[512], hex[17], *slash, *parent = NULL;
	char *delname = NULL, *rmpath = NULL;
	const char *uuid = NULL, *status;
	struct beneath_root rt;
	struct vmcfg *cfg = NULL;
	struct record rec;
	struct hv_dom dom;
	struct stat st;
	struct job *j;
	int fault, r, pfd = -1;

	record_init(&rec);
	if ((fault = guest_resolve(srv, arg, true, &path, err, sizeof(err))) != 0) {
		rpc_fault(call, fault, "%s", err);
		goto out;
	}
	if (job_busy(srv, path) || guest_busy(srv, path)) {
		rpc_fault(call, FAULT_BUSY, "%s is busy with another operation", path);
		goto out;
	}
	r = guests_get(srv->store, path, &rec, err, sizeof(err));
	if (r < 0) {
		rpc_fault(call, FAULT_IO, "%s", err);
		goto out;
	}
	if (r == 1) {
		status = record_get(&rec, "status");
		if (!status || (strcmp(status, GUEST_DOWN) != 0 && strcmp(status, GUEST_ERROR) != 0)) {
			rpc_fault(call, FAULT_STATE, "%s is %s; only a DOWN or ERROR guest can be deleted "
				  "(stop_vm or destroy_vm it first)", path, status ? status : "in no state");
			goto out;
		}
		uuid = record_get(&rec, "uuid");
	} else {
		/* Not registered: its vm.cfg may still name a guest the backend runs. */
		char *file = xasprintf("%s/vm.cfg", path);
		if (vmcfg_load(file, &cfg, err, sizeof(err)) == 0)
			uuid = vmcfg_get_str(cfg, "uuid");
		free(file);
	}
	if (uuid && *uuid && hv_lookup(srv->hv, uuid, &dom, err, sizeof(err)) == 1) {
		rpc_fault(call, FAULT_STATE, "the hypervisor still has guest %s (uuid %s); destroy_vm it "
			  "first", path, uuid);
		goto out;
	}
	/* The pool directory holding the guest, beneath the root; everything
	 * after works on it by fd, and rm reaches it through /proc. */
	slash = strrchr(path, '/');
	parent = xstrndup(path, (size_t)(slash - path));
	if (beneath_root_open(&rt, srv->cfg.ovs_root) != 0) {
		rpc_fault(call, FAULT_IO, "repository root %s: %s", srv->cfg.ovs_root, strerror(errno));
		goto out;
	}
	pfd = beneath_open(&rt, parent, O_PATH | O_DIRECTORY, 0, 0);
	beneath_root_close(&rt);
	if (pfd < 0) {
		if (errno == EXDEV)
			rpc_fault(call, FAULT_PERMISSION, "%s leads outside the repository root", path);
		else
			rpc_fault(call, FAULT_IO, "%s: %s", parent, strerror(errno));
		goto out;
	}
	if (fstatat(pfd, slash + 1, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
	    !(S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode))) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "%s is not a guest directory", path);
		goto out;
	}
	/* Move it out of the guest namespace first: from here on nothing can
	 * start it, and the removal happens on a name nobody else uses. */
	j = job_new(JOB_DELETE, srv, call);
	j->target = xstrdup(path);
	j->pool_fd = pfd;
	pfd = -1;
	rand_hex(hex, 8);
	delname = xasprintf(".%s.del-%s", slash + 1, hex);
	j->deldir = xasprintf("%s/%s", parent, delname);
	if (rename_noreplace_at(j->pool_fd, slash + 1, delname) != 0) {
		rpc_fault(call, FAULT_IO, "cannot remove %s: %s", path, strerror(errno));
		job_free(j);
		goto out;
	}
	if (r == 1 && guests_del(srv->store, path, err, sizeof(err)) < 0) {
		if (rename_noreplace_at(j->pool_fd, delname, slash + 1) != 0)
			log_err("cannot put %s back: %s", path, strerror(errno));
		rpc_fault(call, FAULT_IO, "cannot remove %s from the db: %s", path, err);
		job_free(j);
		goto out;
	}
	beneath_child_path(j->pool_fd, err, sizeof(err));
	rmpath = xasprintf("%s/%s", err, delname);
	if (!spawn_rm(srv, rmpath, on_deleted, j, err, sizeof(err))) {
		rpc_fault(call, FAULT_IO, "%s is no longer a guest, but its files are left in %s: %s",
			  path, j->deldir, err);
		job_free(j);
		goto out;
	}
	log_info("deleting guest %s (%s)", path, j->deldir);
	job_add(j);
out:
	if (pfd >= 0)
		close(pfd);
	vmcfg_free(cfg);
	record_free(&rec);
	free(rmpath);
	free(delname);
	free(parent);
	free(path);
	free(arg);
}

/* ---- xen_create_disk ------------------------------------------------------- */

void m_xen_create_disk(struct rpc_call *call, xmlrpc_value *params)
{
	struct server *srv = rpc_server(call);
	char *path = param_str(params, 0), *root = repo_root(srv), *parent = NULL, *base;
	struct beneath_root rt = { .fd = -1 };
	const char *below;
	long long mb = 0;
	int dfd = -1, fd = -1;
	char err[512];

	if (name_check("disk file name", path, err, sizeof(err)) != 0) {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "%s", err);
		goto out;
	}
	if (param_int_arg(call, params, 1, "size_MB", 1, DISK_MAX_MB, " MB", &mb) != 0)
		goto out;
	if (!(below = beneath_strip(root, path)) || !*below) {
		rpc_fault(call, FAULT_PERMISSION, "%.300s is outside the repository root %s; disks are "
			  "created below it", path, root);
		goto out;
	}
	for (const char *p = path + 1; *p;) {
		size_t len = strcspn(p, "/");
		if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.')) {
			rpc_fault(call, FAULT_PERMISSION, "%.300s: empty, '.' and '..' components are not "
				  "allowed in disk paths", path);
			goto out;
		}
		p += len + (p[len] == '/');
	}
	if (path[strlen(path) - 1] == '/') {
		rpc_fault(call, FAULT_INVALID_ARGUMENT, "%.300s names a directory, not a disk file", path);
		goto out;
	}
	parent = xstrdup(path);
	base = strrchr(parent, '/');
	*base++ = '\0';
	if (beneath_root_open(&rt, root) != 0) {
		rpc_fault(call, FAULT_IO, "repository root %s: %s", root, strerror(errno));
		goto out;
	}
	/* The disk is made in the directory held open, beneath the root. */
	if ((dfd = beneath_open(&rt, parent, O_PATH | O_DIRECTORY, 0, 0)) < 0) {
		if (errno == EXDEV)
			rpc_fault(call, FAULT_PERMISSION, "%s leads outside the repository root %s",
				  parent, root);
		else
			rpc_fault(call, errno == ENOENT || errno == ENOTDIR ? FAULT_NOT_FOUND : FAULT_IO,
				  "directory %s: %s; create it first", parent, strerror(errno));
		goto out;
	}
	/* A sparse disk is counted whole: the guest will fill it. */
	if (faccessat(dfd, base, F_OK, AT_SYMLINK_NOFOLLOW) != 0 &&
	    repo_room(srv->repos, parent, dfd, (unsigned long long)mb << 20, "a disk of that size",
		      err, sizeof(err)) != 0) {
		rpc_fault(call, FAULT_NO_RESOURCES, "cannot make %s %lld MB: %s", path, mb, err);
		goto out;
	}
	fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0644);
	if (fd < 0) {
		rpc_fault(call, errno == EEXIST ? FAULT_EXISTS : FAULT_IO, "%s: %s%s", path,
			  strerror(errno), errno == EEXIST ? "; choose another file name" : "");
		goto out;
	}
	if (fchmod(fd, 0644) != 0 || ftruncate(fd, (off_t)mb << 20) != 0) {
		int e = errno;
		unlinkat(dfd, base, 0);
		rpc_fault(call, e == EFBIG || e == ENOSPC || e == EINVAL ? FAULT_NO_RESOURCES : FAULT_IO,
			  "cannot make %s %lld MB: %s", path, mb, strerror(e));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		unlinkat(dfd, base, 0);
		rpc_fault(call, FAULT_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	log_info("created disk %s (%lld MB, sparse)", path, mb);
	rpc_return_string(call, "success");
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	beneath_root_close(&rt);
	free(parent);
	free(root);
	free(path);
}
