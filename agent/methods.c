/* methods.c - the XML-RPC method table: one row per method, with its
 * signature and the help text shown by system.methodHelp and GET /.
 * (OpenSSH's mon_dispatch_proto20[] is the model.) */
#include "methods.h"

#include <stddef.h>

const struct method method_table[] = {
	/* standard introspection */
	{ "system.listMethods", "A:", "Return the names of every method this agent serves.",
	  m_list_methods },
	{ "system.methodHelp", "s:s", "Return the help text of the named method.", m_method_help },
	{ "system.methodSignature", "A:s",
	  "Return the signatures of the named method: a list of [result type, parameter types...].",
	  m_method_signature },
	{ "system.multicall", "A:A",
	  "Run a list of calls ({'methodName': name, 'params': [...]}) in order; return a list "
	  "holding [result] or {'faultCode', 'faultString'} for each.", m_multicall },

	/* host */
	{ "echo", "s:s", "Test the connection: echo hello returns success:echo=hello.", m_echo },
	{ "get_agent_version", "s:", "Return success:agent_version=<release>-<build>.",
	  m_get_agent_version },
	{ "get_master_ip", "s:",
	  "Return success:ip=<address> of this server's pool master; fault 1008 when the "
	  "server is not in a pool.", m_get_master_ip },
	{ "xen_get_xm_info", "s:",
	  "Return host and hypervisor facts as xm info names them: host, release, nr_cpus, "
	  "cpu_mhz, total_memory and free_memory (MB), xen_major, xen_minor, xen_extra, ...",
	  m_xen_get_xm_info },
	{ "sys_perf_info", "s:",
	  "Return success:cpu_idle=<0..1>;mem_free=<MB>: the host's idle CPU share since the "
	  "previous call and its available memory.", m_sys_perf_info },
	{ NULL, NULL, NULL, NULL },
};
