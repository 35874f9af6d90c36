/* repo_util.c - see repo_util.h. */
#include "agent/guest/repo_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/rand.h>

#include "agent/base/beneath.h"
#include "agent/base/fault.h"
#include "agent/server/server.h"
#include "agent/base/util.h"

bool repo_name_ok(const char *s, size_t max, const char *extra)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '.' || *p == '_' || *p == '-' || (extra && *p && strchr(extra, *p))))
			return false;
	return true;
}

char *repo_root(struct server *srv)
{
	char *r = xstrdup(srv->cfg.ovs_root);
	size_t n = strlen(r);

	while (n > 1 && r[n - 1] == '/')
		r[--n] = '\0';
	return r;
}

int repo_open_pool(struct server *srv, int *pfd, char *err, size_t errlen)
{
	char *root = repo_root(srv), *pool = xasprintf("%s/running_pool", root);
	struct beneath_root r;
	int rc = 0;

	*pfd = -1;
	if (beneath_root_open(&r, root) != 0) {
		snprintf(err, errlen, "repository root %s: %s", root, strerror(errno));
		rc = FAULT_IO;
	} else if (mkdirat(r.fd, "running_pool", 0755) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", pool, strerror(errno));
		rc = FAULT_IO;
	} else if ((*pfd = beneath_open(&r, "running_pool", O_PATH | O_DIRECTORY, 0, 0)) < 0) {
		rc = errno == EXDEV ? FAULT_PERMISSION : FAULT_IO;
		if (errno == EXDEV)
			snprintf(err, errlen, "%s leads outside the repository root %s", pool, root);
		else
			snprintf(err, errlen, "%s: %s", pool, strerror(errno));
	}
	beneath_root_close(&r);
	free(pool);
	free(root);
	return rc;
}

void repo_random_mac(char out[18])
{
	unsigned char b[3];

	if (RAND_bytes(b, sizeof(b)) != 1)
		abort();
	snprintf(out, 18, "00:16:3e:%02x:%02x:%02x", b[0] & 0x7f, b[1], b[2]);
}
