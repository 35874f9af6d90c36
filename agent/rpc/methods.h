/* methods.h - the handlers behind the method table (methods.c).
 * Each follows rpc.h's contract: answer exactly once, now or later. */
#ifndef OVS_METHODS_H
#define OVS_METHODS_H

#include "agent/rpc/rpc.h"
#include "db/pool.h"

/* methods_system.c */
void m_list_methods(struct rpc_call *call, xmlrpc_value *params);
void m_method_help(struct rpc_call *call, xmlrpc_value *params);
void m_method_signature(struct rpc_call *call, xmlrpc_value *params);
void m_multicall(struct rpc_call *call, xmlrpc_value *params);

/* methods_host.c */
void m_echo(struct rpc_call *call, xmlrpc_value *params);
void m_get_agent_version(struct rpc_call *call, xmlrpc_value *params);
void m_get_master_ip(struct rpc_call *call, xmlrpc_value *params);
void m_xen_get_xm_info(struct rpc_call *call, xmlrpc_value *params);
void m_sys_perf_info(struct rpc_call *call, xmlrpc_value *params);

/* methods_status.c */
void m_get_agent_status(struct rpc_call *call, xmlrpc_value *params);

/* methods_pool.c */
void m_register_server(struct rpc_call *call, xmlrpc_value *params);
void m_unregister_server(struct rpc_call *call, xmlrpc_value *params);
void m_list_servers(struct rpc_call *call, xmlrpc_value *params);
void m_get_srv_agent_status(struct rpc_call *call, xmlrpc_value *params);
void m_join_pool(struct rpc_call *call, xmlrpc_value *params);
void m_leave_pool(struct rpc_call *call, xmlrpc_value *params);
void m_pool_server_status(struct rpc_call *call, xmlrpc_value *params);
void m_pool_sync(struct rpc_call *call, xmlrpc_value *params);
/* For the methods only the pool's master serves: 0 with its address
 * and this server's, or the call answered (1008, 1004, 1300) and -1. */
int pool_master_only(struct rpc_call *call, char master[POOL_IP_MAX], char self[POOL_IP_MAX]);

/* methods_ha.c */
void m_set_pool_ha(struct rpc_call *call, xmlrpc_value *params);
void m_set_vm_ha(struct rpc_call *call, xmlrpc_value *params);
void m_set_vm_preferred_servers(struct rpc_call *call, xmlrpc_value *params);
void m_get_pool_ha_state(struct rpc_call *call, xmlrpc_value *params);
void m_get_vm_placement(struct rpc_call *call, xmlrpc_value *params);
void m_pool_start_vm(struct rpc_call *call, xmlrpc_value *params);
void m_pool_cluster_files(struct rpc_call *call, xmlrpc_value *params);

/* methods_hooks.c */
void m_list_hook_runs(struct rpc_call *call, xmlrpc_value *params);

/* methods_net.c */
void m_get_network_info(struct rpc_call *call, xmlrpc_value *params);
void m_create_bridge(struct rpc_call *call, xmlrpc_value *params);
void m_delete_bridge(struct rpc_call *call, xmlrpc_value *params);

/* methods_storage.c */
void m_sp_create(struct rpc_call *call, xmlrpc_value *params);
void m_sr_create(struct rpc_call *call, xmlrpc_value *params);
void m_sr_do(struct rpc_call *call, xmlrpc_value *params);
void m_get_storage_repos(struct rpc_call *call, xmlrpc_value *params);
void m_get_storage_free_space(struct rpc_call *call, xmlrpc_value *params);
void m_add_repository(struct rpc_call *call, xmlrpc_value *params);
void m_remove_repository(struct rpc_call *call, xmlrpc_value *params);

/* methods_vmcfg.c */
void m_xen_get_vm_type(struct rpc_call *call, xmlrpc_value *params);
void m_xen_get_vcpus(struct rpc_call *call, xmlrpc_value *params);
void m_xen_set_vcpus(struct rpc_call *call, xmlrpc_value *params);
void m_xen_get_memory(struct rpc_call *call, xmlrpc_value *params);
void m_xen_set_memory(struct rpc_call *call, xmlrpc_value *params);
void m_xen_get_vdisks(struct rpc_call *call, xmlrpc_value *params);
void m_xen_add_disk(struct rpc_call *call, xmlrpc_value *params);
void m_xen_get_vifs(struct rpc_call *call, xmlrpc_value *params);
void m_xen_set_vifs(struct rpc_call *call, xmlrpc_value *params);
void m_xen_set_vm_vnc_password(struct rpc_call *call, xmlrpc_value *params);
void m_xen_config_boot_sequence(struct rpc_call *call, xmlrpc_value *params);
void m_xen_change_vm_cdrom(struct rpc_call *call, xmlrpc_value *params);
void m_xen_get_vm_path(struct rpc_call *call, xmlrpc_value *params);
void m_xen_get_vnc_port(struct rpc_call *call, xmlrpc_value *params);

/* methods_template.c */
void m_create_vm_from_template(struct rpc_call *call, xmlrpc_value *params);
void m_xen_create_disk(struct rpc_call *call, xmlrpc_value *params);
void m_delete_vm(struct rpc_call *call, xmlrpc_value *params);

/* methods_migrate.c */
void m_xen_migrate_vm(struct rpc_call *call, xmlrpc_value *params);
void m_migrate_prepare_vm(struct rpc_call *call, xmlrpc_value *params);
void m_migrate_finish_vm(struct rpc_call *call, xmlrpc_value *params);
void m_migrate_abort_vm(struct rpc_call *call, xmlrpc_value *params);

/* methods_install.c */
void m_install_vm_hvm(struct rpc_call *call, xmlrpc_value *params);

/* methods_guest.c */
void m_register_vm(struct rpc_call *call, xmlrpc_value *params);
void m_unregister_vm(struct rpc_call *call, xmlrpc_value *params);
/* Start the guest at path on this server and answer call with
 * success:ip=<this server> (dispatch.c's choice may be this server). */
void start_vm_here(struct rpc_call *call, const char *path);
void m_start_vm(struct rpc_call *call, xmlrpc_value *params);
void m_stop_vm(struct rpc_call *call, xmlrpc_value *params);
void m_destroy_vm(struct rpc_call *call, xmlrpc_value *params);
void m_pause_vm(struct rpc_call *call, xmlrpc_value *params);
void m_unpause_vm(struct rpc_call *call, xmlrpc_value *params);
void m_reboot_vm(struct rpc_call *call, xmlrpc_value *params);
void m_reset_vm(struct rpc_call *call, xmlrpc_value *params);
void m_suspend_vm(struct rpc_call *call, xmlrpc_value *params);
void m_resume_vm(struct rpc_call *call, xmlrpc_value *params);
void m_get_vm_status(struct rpc_call *call, xmlrpc_value *params);
void m_xen_get_vm_perf_metrics(struct rpc_call *call, xmlrpc_value *params);
void m_set_vm_status(struct rpc_call *call, xmlrpc_value *params);
void m_list_vms(struct rpc_call *call, xmlrpc_value *params);
void m_sim_inject_fault(struct rpc_call *call, xmlrpc_value *params);
void m_sim_crash_vm(struct rpc_call *call, xmlrpc_value *params);

#endif
