/* clusterfiles.h - the cluster's files a pool's master shares with its
 * members (guide 9.3: "the master copies the configuration and the
 * repository list to every server of the pool"): corosync.conf and
 * authkey (agent.ini corosync_dir), o2cb's cluster.conf (ocfs2_conf), the
 * repositories list and its options (repositories_file[.options]).
 *
 * On the wire (pool_cluster_files) a struct of base64 values named by the
 * fixed names below; nothing else is accepted. Each file is at most
 * CF_FILE_MAX bytes; corosync.conf and authkey are always there, the others
 * only when the master has them (a member keeps its own otherwise). */
#ifndef OVS_POOL_CLUSTERFILES_H
#define OVS_POOL_CLUSTERFILES_H

#include <stdbool.h>
#include <stddef.h>

#include <xmlrpc-c/base.h>

#include "agent/base/buf.h"

struct agent_config;

enum cf_file { CF_COROSYNC, CF_AUTHKEY, CF_OCFS2, CF_REPOS, CF_REPOS_OPTIONS, CF_FILES };
#define CF_FILE_MAX (64 * 1024)
#define CF_AUTHKEY_MIN 128              /* ovs-cluster-configure's check */

const char *cf_name(enum cf_file f);    /* "corosync.conf", "authkey", ... */

struct cf_set {
	bool have[CF_FILES];
	struct buf data[CF_FILES];
};
void cf_init(struct cf_set *s);
void cf_free(struct cf_set *s);         /* wipes the authkey */

/* This server's files as agent.ini places them: 0, or -1 with err (a
 * required one missing, one too large or unreadable). */
int cf_read(const struct agent_config *cfg, struct cf_set *s, char *err, size_t errlen);

/* The set as pool_cluster_files sends it (a struct of base64), or NULL
 * with env's fault. */
xmlrpc_value *cf_to_value(xmlrpc_env *env, const struct cf_set *s);
/* And back, checked (names from the fixed set only, sizes bounded,
 * corosync.conf and authkey present): 0, or -1 with err. */
int cf_from_value(xmlrpc_value *v, struct cf_set *s, char *err, size_t errlen);

/* Write the files the set has (each by file_replace, its mode: authkey
 * 0400, the others 0644; missing parent directories made 0755; the
 * repositories files under the repositories lock the scripts take).
 * A file whose content and mode are already those is left alone.
 * changed[f] says which were written. 0, or -1 with err. */
int cf_write(const struct agent_config *cfg, const struct cf_set *s, bool changed[CF_FILES],
	     char *err, size_t errlen);

/* The environment ovs-cluster-configure documents, from agent.ini:
 * OVS_COROSYNC_DIR, OVS_OCFS2_CONF, OVS_REPOSITORIES, OVS_ROOT,
 * OVS_AGENT_CONFIG (db_dump reads the pool state through it), and
 * OVS_DB_DUMP when the agent's own environment has it. NULL-terminated,
 * for hook_req.env; cf_env_free after hook_run (which copies it). */
struct cf_env { char *e[7]; };
void cf_env_make(struct cf_env *env, const struct agent_config *cfg);
void cf_env_free(struct cf_env *env);

#endif
