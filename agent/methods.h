/* methods.h - the handlers behind the method table (methods.c).
 * Each follows rpc.h's contract: answer exactly once, now or later. */
#ifndef OVS_METHODS_H
#define OVS_METHODS_H

#include "rpc.h"

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

/* methods_guest.c */
void m_register_vm(struct rpc_call *call, xmlrpc_value *params);
void m_unregister_vm(struct rpc_call *call, xmlrpc_value *params);
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
void m_set_vm_status(struct rpc_call *call, xmlrpc_value *params);
void m_list_vms(struct rpc_call *call, xmlrpc_value *params);
void m_sim_inject_fault(struct rpc_call *call, xmlrpc_value *params);
void m_sim_crash_vm(struct rpc_call *call, xmlrpc_value *params);

#endif
