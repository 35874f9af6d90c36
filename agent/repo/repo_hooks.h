/* repo_hooks.h - the repository scripts (ovs-makerepo, ovs-offlinerepo,
 * ovsrepositories) as the agent runs them: through the hook runner
 * (kind repository), bare names looked up in hooks_dir, with the
 * environment that points them at the agent's files. */
#ifndef OVS_REPO_HOOKS_H
#define OVS_REPO_HOOKS_H

struct hooks;
struct repoview;

/* OVS_ROOT, OVS_REPOSITORIES, OVS_AGENT_CONFIG, and OVS_DB_DUMP when the
 * agent's own environment has it: a NULL-terminated list to pass as
 * hook_req.env; repo_env_free() after hook_run (which copies it). */
struct repo_env { char *e[5]; };
void repo_env_make(struct repo_env *env, const struct repoview *rv, const char *config);
void repo_env_free(struct repo_env *env);

/* At start-up: when <hooks_dir>/ovsrepositories exists and a listed
 * repository is not mounted, run "ovsrepositories start" (not waited
 * for: the view follows the mounts it makes). */
void repo_boot(struct hooks *h, struct repoview *rv, const char *config);

#endif
