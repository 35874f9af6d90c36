/* repo_hooks.c - the repository scripts' environment, and the start-up run. */
#define LOG_CAT "repo"
#include "agent/repo/repo_hooks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/base/hook.h"
#include "agent/base/log.h"
#include "agent/base/util.h"
#include "agent/repo/repoview.h"

void repo_env_make(struct repo_env *env, const struct repoview *rv, const char *config)
{
	const char *dump = getenv("OVS_DB_DUMP");
	size_t k = 0;

	memset(env, 0, sizeof(*env));
	env->e[k++] = xasprintf("OVS_ROOT=%s", repoview_root(rv));
	env->e[k++] = xasprintf("OVS_REPOSITORIES=%s", repoview_file(rv));
	if (config)
		env->e[k++] = xasprintf("OVS_AGENT_CONFIG=%s", config);
	if (dump && *dump && strlen(dump) < 1024)
		env->e[k++] = xasprintf("OVS_DB_DUMP=%s", dump);
	env->e[k] = NULL;
}

void repo_env_free(struct repo_env *env)
{
	for (size_t i = 0; i < sizeof(env->e) / sizeof(env->e[0]); i++)
		free(env->e[i]);
	memset(env, 0, sizeof(*env));
}

static void boot_done(void *arg, const struct hook_result *r)
{
	if (r->fault)
		log_err("ovsrepositories start: %s", r->msg);
	else
		log_info("ovsrepositories start: done");
}

void repo_boot(struct hooks *h, struct repoview *rv, const char *config)
{
	static const char *const argv[] = { "ovsrepositories", "start", NULL };
	struct hook_req req = { .kind = HOOK_REPOSITORY, .argv = argv, .event = "start" };
	struct repo_env env;
	char *path, err[256];
	struct stat st;
	size_t missing = 0;

	for (size_t i = 0; i < repoview_count(rv); i++)
		missing += !repoview_at(rv, i)->mounted;
	if (!missing)
		return;
	path = xasprintf("%s/ovsrepositories", hooks_dir(h));
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || access(path, X_OK) != 0) {
		log_info("%zu repositor%s not mounted and there is no %s to mount them", missing,
			 missing == 1 ? "y is" : "ies are", path);
		free(path);
		return;
	}
	free(path);
	repo_env_make(&env, rv, config);
	req.env = (const char *const *)env.e;
	log_info("%zu repositor%s not mounted: running ovsrepositories start", missing,
		 missing == 1 ? "y is" : "ies are");
	if (!hook_run(h, &req, boot_done, NULL, err, sizeof(err)))
		log_err("cannot run ovsrepositories start: %s", err);
	repo_env_free(&env);
}
