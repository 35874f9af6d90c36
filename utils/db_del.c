/* db_del - remove a guest: its db record and its directory.
 *
 *   db_del [--config PATH] [--force] [--keep-files] vm GUEST
 *
 * GUEST is a name in <ovs_root>/running_pool/ or the guest's absolute path,
 * which must be <ovs_root>/running_pool/<name> or
 * <ovs_root>/<repository>/running_pool/<name>. The files go first and the
 * db entry last, so a removal that fails half way can be run again. Exit 0
 * done, 1 error or refused, 2 usage. */
#include "agent/base/beneath.h"
#include "db/guests.h"
#include "db/record.h"
#include "db/store.h"
#include "agent/base/util.h"
#include "utils/tool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROG "db_del"
/* Guest directories are shallow; anything deeper is not what we think it
 * is, and each level holds a file descriptor. */
#define MAX_DEPTH 32

struct args {
	const char *name;
	bool force;
	bool keep_files;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " [--config PATH] [--force] [--keep-files] vm GUEST\n"
		"Remove GUEST's db entry and its directory (recursively; symbolic links\n"
		"are removed, never followed). GUEST is a name in <ovs_root>/running_pool/\n"
		"or the guest's path under <ovs_root>/running_pool/ or\n"
		"<ovs_root>/*/running_pool/.\n"
		"  --force        also remove a guest that is RUNNING, PAUSED, STARTING,\n"
		"                 STOPPING or MIGRATING, or whose db entry is missing\n"
		"  --keep-files   remove only the db entry\n"
		"  --config PATH  agent.ini to read (default $OVS_AGENT_CONFIG, else\n"
		"                 " TOOL_DEFAULT_CONFIG ")\n"
		"Exit 0 done, 1 error or refused, 2 usage.\n");
}

/* 0 with a filled, 1 for --help, -1 on a usage error. */
static int parse_args(struct tool *t, int argc, char **argv, struct args *a)
{
	const struct tool_flag flags[] = {
		{ "force", 'f', &a->force },
		{ "keep-files", 0, &a->keep_files },
		{ NULL, 0, NULL },
	};
	int first, r;

	memset(a, 0, sizeof(*a));
	if ((r = tool_options(t, argc, argv, flags, &first)) != 0)
		return r;
	if (argc - first != 2)
		return -1;
	if (strcmp(argv[first], "vm") != 0) {
		fprintf(stderr, PROG ": unknown table \"%s\" (only vm)\n", argv[first]);
		return -1;
	}
	a->name = argv[first + 1];
	return 0;
}

/* The guest's db key (and directory), or NULL with the reason said. */
static char *guest_dir(const char *ovs_root, const char *arg)
{
	char err[1024], *key = guest_key(ovs_root, arg, err, sizeof(err));

	if (!key)
		fprintf(stderr, PROG ": %s\n", err);
	return key;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Names in the directory fd, read in full before any is removed (removing
 * while readdir runs may skip entries). NULL with errno on error. */
static char **list_dir(int fd, size_t *count)
{
	DIR *d = fdopendir(dup(fd));
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;

	if (!d)
		return NULL;
	for (;;) {
		errno = 0;
		if (!(e = readdir(d)))
			break;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = xstrdup(e->d_name);
	}
	if (errno != 0) {
		int saved = errno;
		free_names(names, n);
		closedir(d);
		errno = saved;
		return NULL;
	}
	*count = n;
	closedir(d);
	return names ? names : xcalloc(1, sizeof(*names));
}

static int remove_tree(int dfd, const char *name, const char *shown, dev_t dev, int depth,
		       size_t *files);

/* Remove everything inside the directory dfd/name, then the directory. */
static int remove_dir(int dfd, const char *name, const char *shown, dev_t dev, int depth,
		      size_t *files)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char **names;
	size_t n = 0;
	int ret = 0;

	if (fd < 0 || !(names = list_dir(fd, &n))) {
		fprintf(stderr, PROG ": %s: %s\n", shown, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (size_t i = 0; i < n && ret == 0; i++) {
		char *sub = xasprintf("%s/%s", shown, names[i]);
		ret = remove_tree(fd, names[i], sub, dev, depth + 1, files);
		free(sub);
	}
	free_names(names, n);
	close(fd);
	if (ret == 0 && unlinkat(dfd, name, AT_REMOVEDIR) < 0) {
		fprintf(stderr, PROG ": cannot remove %s: %s\n", shown, strerror(errno));
		return -1;
	}
	return ret;
}

/* Remove dfd/name whatever it is; a symbolic link is removed, not
 * followed. Staying on device dev keeps a mount inside the guest's
 * directory (an ISO, a shared disk) out of reach. */
static int remove_tree(int dfd, const char *name, const char *shown, dev_t dev, int depth,
		       size_t *files)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		fprintf(stderr, PROG ": %s: %s\n", shown, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dfd, name, 0) < 0) {
			fprintf(stderr, PROG ": cannot remove %s: %s\n", shown, strerror(errno));
			return -1;
		}
		(*files)++;
		return 0;
	}
	if (st.st_dev != dev) {
		fprintf(stderr, PROG ": %s is another file system (a mount?); unmount it first\n",
			shown);
		return -1;
	}
	if (depth > MAX_DEPTH) {
		fprintf(stderr, PROG ": %s is nested deeper than %d levels; not removing\n",
			shown, MAX_DEPTH);
		return -1;
	}
	return remove_dir(dfd, name, shown, dev, depth, files);
}

/* The directory holding the guest, opened beneath ovs_root (see
 * agent/base/beneath.h): a symbolic link on the way may not lead the
 * removal out of ovs_root, and everything after is removed relative to
 * this fd, so nothing swapped in meanwhile can redirect it. -1 when
 * refused or failed (reported), or when it does not exist (*missing set,
 * not reported). */
static int open_parent(const char *ovs_root, const char *path, bool *missing)
{
	char *parent = xstrndup(path, (size_t)(strrchr(path, '/') - path));
	struct beneath_root r;
	int fd = -1;

	*missing = false;
	if (beneath_root_open(&r, ovs_root) != 0) {
		fprintf(stderr, PROG ": %s: %s\n", ovs_root, strerror(errno));
		free(parent);
		return -1;
	}
	fd = beneath_open(&r, parent, O_RDONLY | O_DIRECTORY, 0, 0);
	if (fd < 0 && errno == EXDEV) {
		/* Only to say where it leads: the refusal is beneath_open's. */
		char *where = realpath(parent, NULL);
		fprintf(stderr, PROG ": refusing to remove %s: %s is really %s, outside %s\n", path,
			parent, where ? where : "elsewhere", ovs_root);
		free(where);
	} else if (fd < 0 && errno == ENOENT) {
		*missing = true;
	} else if (fd < 0) {
		fprintf(stderr, PROG ": %s: %s\n", parent, strerror(errno));
	}
	beneath_root_close(&r);
	free(parent);
	return fd;
}

/* Remove the guest's directory (or the symbolic link standing for it).
 * 0 done or nothing there, -1 refused or failed (reported). */
static int remove_files(const char *ovs_root, const char *path)
{
	const char *name = strrchr(path, '/') + 1;
	size_t files = 0;
	bool missing;
	struct stat st;
	int dfd = open_parent(ovs_root, path, &missing), ret = -1;

	if (dfd < 0) {
		if (missing)
			printf("no files at %s\n", path);
		return missing ? 0 : -1;
	}
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			printf("no files at %s\n", path);
		else
			fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
		ret = errno == ENOENT ? 0 : -1;
	} else if ((ret = remove_tree(dfd, name, path, st.st_dev, 0, &files)) == 0) {
		if (S_ISLNK(st.st_mode))
			printf("removed symbolic link %s (its target was left alone)\n", path);
		else if (S_ISDIR(st.st_mode))
			printf("removed directory %s (%zu files)\n", path, files);
		else
			printf("removed file %s\n", path);
	}
	close(dfd);
	return ret;
}

static bool status_busy(const char *s)
{
	return (GS_BIT(guest_status_parse(s)) & (GS_BIT(GS_RUNNING) | GS_BIT(GS_PAUSED) |
		GS_BIT(GS_STARTING) | GS_BIT(GS_STOPPING) | GS_BIT(GS_MIGRATING))) != 0;
}

/* 0 when the guest may go; 1 refused or error (reported). *found tells
 * whether the db has an entry for it. */
static int check_guest(struct store *s, const char *path, bool force, bool *found)
{
	struct record rec;
	char err[1024];
	int r = guests_get(s, path, &rec, err, sizeof(err)), ret = 0;
	const char *status = r == 1 ? record_get(&rec, "status") : NULL;

	*found = r == 1;
	if (r < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		ret = 1;
	} else if (r == 0 && !force) {
		fprintf(stderr, PROG ": no such guest in the db: %s (--force removes its "
			"files anyway)\n", path);
		ret = 1;
	} else if (status_busy(status) && !force) {
		fprintf(stderr, PROG ": %s is %s; stop it first, or use --force\n", path, status);
		ret = 1;
	}
	record_free(&rec);
	return ret;
}

static int del_guest(struct store *s, const struct agent_config *cfg, const struct args *a)
{
	char err[1024];
	char *path = guest_dir(cfg->ovs_root, a->name);
	bool found = false;
	int ret = 1;

	if (!path)
		return 1;
	if (check_guest(s, path, a->force, &found) != 0)
		goto out;
	if (!a->keep_files && remove_files(cfg->ovs_root, path) != 0)
		goto out;
	if (!found && a->keep_files) {
		fprintf(stderr, PROG ": no such guest in the db: %s\n", path);
		goto out;
	}
	if (found && guests_del(s, path, err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		goto out;
	}
	printf(found ? "removed db entry %s\n" : "no db entry for %s\n", path);
	ret = 0;
out:
	free(path);
	return ret;
}

int main(int argc, char **argv)
{
	struct tool t = { .prog = PROG };
	struct args a;
	int r = parse_args(&t, argc, argv, &a);

	if (r != 0)
		return tool_usage_exit(r, usage);
	if ((r = tool_open(&t)) == 0)
		r = del_guest(t.store, &t.cfg, &a);
	tool_close(&t);
	return r;
}
