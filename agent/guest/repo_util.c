/* repo_util.c - see repo_util.h. */
#include "agent/guest/repo_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>

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

bool repo_inside(const char *real, const char *real_root)
{
	size_t n = strlen(real_root);

	if (strcmp(real_root, "/") == 0)
		return true;
	return strncmp(real, real_root, n) == 0 && (real[n] == '/' || real[n] == '\0');
}

void repo_random_mac(char out[18])
{
	unsigned char b[3];

	if (RAND_bytes(b, sizeof(b)) != 1)
		abort();
	snprintf(out, 18, "00:16:3e:%02x:%02x:%02x", b[0] & 0x7f, b[1], b[2]);
}
