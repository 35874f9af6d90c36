/* clusterfiles.c - the cluster's files a master shares (clusterfiles.h). */
#include "agent/pool/clusterfiles.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "agent/base/file_replace.h"
#include "agent/base/util.h"
#include "agent/server/config.h"

static const struct {
	const char *name;
	int mode;
	bool required;
} files[CF_FILES] = {
	[CF_COROSYNC] = { "corosync.conf", 0644, true },
	[CF_AUTHKEY] = { "authkey", 0400, true },
	[CF_OCFS2] = { "cluster.conf", 0644, false },
	[CF_REPOS] = { "repositories", 0644, false },
	[CF_REPOS_OPTIONS] = { "repositories.options", 0644, false },
};

const char *cf_name(enum cf_file f)
{
	return files[f].name;
}

static char *cf_path(const struct agent_config *cfg, enum cf_file f)
{
	switch (f) {
	case CF_COROSYNC: return xasprintf("%s/corosync.conf", cfg->corosync_dir);
	case CF_AUTHKEY: return xasprintf("%s/authkey", cfg->corosync_dir);
	case CF_OCFS2: return xstrdup(cfg->ocfs2_conf);
	case CF_REPOS: return xstrdup(cfg->repositories_file);
	default: return xasprintf("%s.options", cfg->repositories_file);
	}
}

void cf_init(struct cf_set *s)
{
	memset(s, 0, sizeof(*s));
	for (int f = 0; f < CF_FILES; f++)
		buf_init(&s->data[f], CF_FILE_MAX);
}

void cf_free(struct cf_set *s)
{
	for (int f = 0; f < CF_FILES; f++) {
		if (s->data[f].data)
			OPENSSL_cleanse(s->data[f].data, s->data[f].len);
		buf_free(&s->data[f]);
		s->have[f] = false;
	}
}

/* path into b (bounded): 1 read, 0 it does not exist, -1 with err. */
static int read_one(const char *path, struct buf *b, int *mode, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	int rc = -1;

	buf_reset(b);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", path);
	} else if (st.st_size > CF_FILE_MAX) {
		snprintf(err, errlen, "%s is larger than %d bytes", path, CF_FILE_MAX);
	} else {
		for (;;) {
			char *p = buf_space(b, 4096);
			ssize_t n;

			if (!p) {
				snprintf(err, errlen, "%s is larger than %d bytes", path, CF_FILE_MAX);
				break;
			}
			n = read(fd, p, 4096);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				snprintf(err, errlen, "%s: %s", path, strerror(errno));
				break;
			}
			if (n == 0) {
				rc = 1;
				break;
			}
			buf_commit(b, (size_t)n);
		}
		if (mode)
			*mode = (int)(st.st_mode & 07777);
	}
	close(fd);
	return rc;
}

int cf_read(const struct agent_config *cfg, struct cf_set *s, char *err, size_t errlen)
{
	for (int f = 0; f < CF_FILES; f++) {
		char *path = cf_path(cfg, (enum cf_file)f);
		int r = read_one(path, &s->data[f], NULL, err, errlen);

		if (r == 0 && files[f].required)
			snprintf(err, errlen, "%s does not exist", path);
		free(path);
		if (r < 0 || (r == 0 && files[f].required))
			return -1;
		s->have[f] = r == 1;
	}
	return 0;
}

xmlrpc_value *cf_to_value(xmlrpc_env *env, const struct cf_set *s)
{
	xmlrpc_value *st = xmlrpc_struct_new(env);

	for (int f = 0; f < CF_FILES && !env->fault_occurred; f++) {
		xmlrpc_value *v;

		if (!s->have[f])
			continue;
		v = xmlrpc_base64_new(env, s->data[f].len, (const unsigned char *)
				      (s->data[f].data ? s->data[f].data : ""));
		if (!env->fault_occurred) {
			xmlrpc_struct_set_value(env, st, files[f].name, v);
			xmlrpc_DECREF(v);
		}
	}
	if (env->fault_occurred && st) {
		xmlrpc_DECREF(st);
		st = NULL;
	}
	return st;
}

static int by_name(const char *name)
{
	for (int f = 0; f < CF_FILES; f++)
		if (strcmp(files[f].name, name) == 0)
			return f;
	return -1;
}

int cf_from_value(xmlrpc_value *v, struct cf_set *s, char *err, size_t errlen)
{
	xmlrpc_env env;
	int n, rc = -1;

	xmlrpc_env_init(&env);
	if (xmlrpc_value_type(v) != XMLRPC_TYPE_STRUCT) {
		snprintf(err, errlen, "files is a struct of base64 values");
		goto out;
	}
	n = xmlrpc_struct_size(&env, v);
	if (env.fault_occurred || n > CF_FILES) {
		snprintf(err, errlen, "files has more than the %d known files", CF_FILES);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		xmlrpc_value *k = NULL, *val = NULL;
		const char *name = NULL;
		const unsigned char *bytes = NULL;
		size_t len = 0;
		int f = -1;

		xmlrpc_struct_read_member(&env, v, (unsigned)i, &k, &val);
		if (!env.fault_occurred)
			xmlrpc_read_string(&env, k, &name);
		if (!env.fault_occurred && (f = by_name(name)) < 0)
			snprintf(err, errlen, "'%.64s' is not one of the cluster's files "
				 "(corosync.conf, authkey, cluster.conf, repositories, "
				 "repositories.options)", name);
		else if (!env.fault_occurred && xmlrpc_value_type(val) != XMLRPC_TYPE_BASE64)
			snprintf(err, errlen, "%s is not a base64 value", name);
		else if (!env.fault_occurred && (xmlrpc_read_base64_size(&env, val, &len),
						 !env.fault_occurred) && len > CF_FILE_MAX)
			snprintf(err, errlen, "%s is larger than %d bytes", name, CF_FILE_MAX);
		else if (!env.fault_occurred && (xmlrpc_read_base64(&env, val, &len, &bytes),
						 !env.fault_occurred)) {
			buf_reset(&s->data[f]);
			if (buf_append(&s->data[f], bytes, len) < 0)
				snprintf(err, errlen, "%s is larger than %d bytes", name, CF_FILE_MAX);
			else
				s->have[f] = true;
			OPENSSL_cleanse((void *)bytes, len);
		}
		if (env.fault_occurred)
			snprintf(err, errlen, "files is a struct of base64 values");
		free((void *)bytes);
		free((char *)name);
		if (k)
			xmlrpc_DECREF(k);
		if (val)
			xmlrpc_DECREF(val);
		if (env.fault_occurred || f < 0 || !s->have[f])
			goto out;
	}
	for (int f = 0; f < CF_FILES; f++)
		if (files[f].required && !s->have[f]) {
			snprintf(err, errlen, "files has no %s", files[f].name);
			goto out;
		}
	if (s->data[CF_AUTHKEY].len < CF_AUTHKEY_MIN) {
		snprintf(err, errlen, "the authkey is shorter than %d bytes", CF_AUTHKEY_MIN);
		goto out;
	}
	for (int f = 0; f < CF_FILES; f++)
		if (f != CF_AUTHKEY && s->have[f] && memchr(s->data[f].data ? s->data[f].data : "",
							    '\0', s->data[f].len)) {
			snprintf(err, errlen, "%s is not text (a NUL byte)", files[f].name);
			goto out;
		}
	rc = 0;
out:
	xmlrpc_env_clean(&env);
	return rc;
}

/* mkdir -p of path's parent, 0755. */
static int make_parent(const char *path, char *err, size_t errlen)
{
	char *dir = xstrdup(path);
	int rc = 0;

	for (char *p = dir + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot make %s: %s", dir, strerror(errno));
			rc = -1;
			break;
		}
		*p = '/';
	}
	free(dir);
	return rc;
}

/* The lock ovsrepositories, ovs-makerepo and repoview take beside the
 * list: a script changing it now makes us fail, not wait (the loop). */
static int lock_repos(const char *file, int *fd, char *err, size_t errlen)
{
	char *dir = xstrdup(file), *slash = strrchr(dir, '/'), *lock;

	if (slash)
		*slash = '\0';
	lock = xasprintf("%s/.repositories.lock", slash ? (*dir ? dir : "/") : ".");
	*fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (*fd < 0)
		snprintf(err, errlen, "%s: %s", lock, strerror(errno));
	else if (flock(*fd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, errlen, "%s is held (a repository script runs): try again", lock);
		close(*fd);
		*fd = -1;
	}
	free(lock);
	free(dir);
	return *fd < 0 ? -1 : 0;
}

int cf_write(const struct agent_config *cfg, const struct cf_set *s, bool changed[CF_FILES],
	     char *err, size_t errlen)
{
	int lock = -1, rc = 0;
	struct buf old;

	buf_init(&old, CF_FILE_MAX);
	for (int f = 0; f < CF_FILES && rc == 0; f++) {
		char *path;
		int mode = -1, r;

		changed[f] = false;
		if (!s->have[f])
			continue;
		path = cf_path(cfg, (enum cf_file)f);
		if ((f == CF_REPOS || f == CF_REPOS_OPTIONS) && lock < 0 &&
		    (make_parent(path, err, errlen) < 0 ||
		     lock_repos(cfg->repositories_file, &lock, err, errlen) < 0)) {
			rc = -1;
		} else if ((r = read_one(path, &old, &mode, err, errlen)) < 0) {
			rc = -1;
		} else if (r == 1 && mode == files[f].mode && old.len == s->data[f].len &&
			   memcmp(old.data ? old.data : "", s->data[f].data ? s->data[f].data : "",
				  old.len) == 0) {
			/* the same already */
		} else if (make_parent(path, err, errlen) < 0 ||
			   file_replace(path, s->data[f].data ? s->data[f].data : "", s->data[f].len,
					files[f].mode, err, errlen) < 0) {
			rc = -1;
		} else {
			changed[f] = true;
		}
		if (old.data)
			OPENSSL_cleanse(old.data, old.len);
		free(path);
	}
	if (lock >= 0)
		close(lock);
	buf_free(&old);
	return rc;
}

void cf_env_make(struct cf_env *env, const struct agent_config *cfg)
{
	const char *dump = getenv("OVS_DB_DUMP");
	size_t k = 0;

	memset(env, 0, sizeof(*env));
	env->e[k++] = xasprintf("OVS_COROSYNC_DIR=%s", cfg->corosync_dir);
	env->e[k++] = xasprintf("OVS_OCFS2_CONF=%s", cfg->ocfs2_conf);
	env->e[k++] = xasprintf("OVS_REPOSITORIES=%s", cfg->repositories_file);
	env->e[k++] = xasprintf("OVS_ROOT=%s", cfg->ovs_root);
	if (cfg->path)
		env->e[k++] = xasprintf("OVS_AGENT_CONFIG=%s", cfg->path);
	if (dump && *dump && strlen(dump) < 1024)
		env->e[k++] = xasprintf("OVS_DB_DUMP=%s", dump);
	env->e[k] = NULL;
}

void cf_env_free(struct cf_env *env)
{
	for (size_t i = 0; i < sizeof(env->e) / sizeof(env->e[0]); i++)
		free(env->e[i]);
	memset(env, 0, sizeof(*env));
}
