/* methods.c - the XML-RPC method table: one row per method, with its
 * signature and the help text shown by system.methodHelp and GET /.
 * (OpenSSH's mon_dispatch_proto20[] is the model.) */
#include "agent/rpc/methods.h"

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

	{ "get_agent_status", "S:",
	  "get_agent_status(): what the agent knows of itself, as GET /status shows it, one struct: "
	  "host {name, agent_version, uptime_s, hypervisor, hypervisor_version ('' until the "
	  "backend has told it), cpus, mem_total_mb, mem_free_mb, rss_bytes, connections}; guests "
	  "{counts (per status), list [{name, path, status, memory (MB), vcpus, ha, last_error}]}; "
	  "repositories [{uuid, source, mount, shared, mounted, total_bytes, free_bytes (-1 when not "
	  "known: not mounted, or statvfs gave no answer within 5 s)}]; bridges [{name, carrier, "
	  "ports}]; pool {in_pool, roles, master, members [{ip, roles, in_cluster, hb_age_ms (-1: "
	  "never read)}], quorate, synced, pool_ha}; hooks [the last 20 runs {hook, kind, "
	  "exit_status, duration_ms, started (Unix time), failed}, failures first]; security "
	  "{cert_subject, cert_expiry (Unix time), cert_days_left, cert_warning (under 30 days), "
	  "failed_logins [{address, user, count, last (Unix time)}] (the last hour), slowed "
	  "[{address, seconds_left}]}; requests {methods [{name, calls, faults}] (those called "
	  "since start), faults [{code, count}], latency_p50_ms, latency_p99_ms}; error ('' or what "
	  "could not be read). Counts, sizes, times and durations are i8 (64-bit integers); cpus, "
	  "connections, exit_status and fault codes are int; the latencies are doubles.",
	  m_get_agent_status },

	/* server pool (methods_pool.c) */
	{ "register_server", "s:ss,s:sss,s:ssb,s:sssss,s:ssbss,s:sssssi,s:ssbssi,s:sssssib,s:ssbssib,"
	  "s:sssssii,s:ssbssii,s:sssssss",
	  "register_server(ip, role[, flag, user, password, port, is_ssl]), on the master: "
	  "roles site (the master), utility and xen (a VM server), comma-separated, several per "
	  "server. The first call, on a server in no pool, names its own address with the site "
	  "role and makes it the master. A new server is enrolled with its agent's user and "
	  "password (port, an int, and is_ssl, a boolean, default to the master's own; flag, a "
	  "string or boolean whose meaning the original never said, is ignored): the master calls it once "
	  "with them, pins the SHA-256 of its certificate and gives it the pool credential; "
	  "from then on the agents call each other with that credential only. Registering a "
	  "member again adds roles. Faults: 1000 bad address or role, 1004 not the master or "
	  "a second site, 1008 no pool yet, 1400 the server did not join.", m_register_server },
	{ "unregister_server", "s:s",
	  "unregister_server(ip), on the master: tell the server to leave (it forgets the pool "
	  "and its credential) and remove it; success:notified=false;reason=... when it could "
	  "not be told. The master itself goes last and dissolves the pool.",
	  m_unregister_server },
	{ "list_servers", "A:",
	  "list_servers(), on the master: the pool's servers, each a struct: ip, roles, master, "
	  "port, tls, registered (ISO 8601 UTC), sha256 (the pinned certificate).",
	  m_list_servers },
	{ "get_srv_agent_status", "s:s",
	  "get_srv_agent_status(ip), on the master: success:status=reachable|unreachable;ip=;"
	  "roles=;reachable=true|false;in_cluster=true|false;mem_free=<MB>;running_guests=<n> (the "
	  "last two when reachable, else reason=...). The server is asked over the pool "
	  "credential with its certificate pinned, within 5 s.", m_get_srv_agent_status },
	{ "join_pool", "s:sss",
	  "join_pool(master_ip, credential, roles): called by a master's register_server, not "
	  "by managers: this server joins the master's pool. 1004 when it is in another pool.",
	  m_join_pool },
	{ "leave_pool", "s:",
	  "leave_pool(): called by the master's unregister_server: this server forgets its pool "
	  "and the pool credential. 1004 on the master itself.", m_leave_pool },
	{ "pool_server_status", "s:",
	  "pool_server_status(): success:mem_free=<MB>;running_guests=<n>, what "
	  "get_srv_agent_status asks each server.", m_pool_server_status },
	{ "pool_sync", "s:A,s:Ai",
	  "pool_sync(members[, seq]): the master gives each member its table after every change, "
	  "a list of {ip, roles, port, tls, registered (Unix time), sha256}; accepted from the "
	  "pool credential only (1006 otherwise). seq only grows: a push older than the one "
	  "applied is answered success:stale=...;have=... and changes nothing.", m_pool_sync },

	/* HA (methods_ha.c) */
	{ "set_pool_ha", "s:b,s:i,s:s",
	  "set_pool_ha(enable), on the master: HA for the pool on or off. On needs the pool's "
	  "cluster: when it is not up and quorate here, the master runs ovs-cluster-configure "
	  "(the nodes from the pool), gives every server the cluster's files "
	  "(pool_cluster_files), which start corosync there, and waits up to 60 s for quorum "
	  "(faults: 1200 configure failed, 1400 naming each server that did not take the "
	  "files, 1500 no quorum in time; 1004 with cluster=disable). HA applies to a guest "
	  "only when both this and its own set_vm_ha are on.", m_set_pool_ha },
	{ "set_vm_ha", "s:sb,s:si,s:ss",
	  "set_vm_ha(vm, enable), on the master: when the VM server running the guest fails, "
	  "the guest runs again on another (set_vm_preferred_servers says which).", m_set_vm_ha },
	{ "set_vm_preferred_servers", "s:ssA,s:sss",
	  "set_vm_preferred_servers(vm, mode, servers), on the master: mode Auto (any VM "
	  "server; the one with the most free memory that fits) or Manual (only the listed "
	  "ones, at least one); servers a list of VM servers' addresses (or one "
	  "comma-separated string). 1001 for an address that is not a VM server of the pool.",
	  m_set_vm_preferred_servers },
	{ "get_pool_ha_state", "S:",
	  "get_pool_ha_state(): this server's copy of the replicated pool state and its place "
	  "in the cluster: cluster, link, quorate, synced, fenced, node_id, self (its "
	  "address), master, "
	  "master_epoch, gen, pool_ha, members (addresses in the group) and guests, each "
	  "{path, ha, mode, preferred, owner, epoch, running}. Epochs are decimal strings.",
	  m_get_pool_ha_state },
	{ "get_vm_placement", "s:s,s:ss",
	  "get_vm_placement(vm[, exclude_ip]), on any server of a pool: success:ip=<server>, "
	  "the VM server the placement rule chooses for the guest now (Auto: any VM server, "
	  "Manual: its preferred ones; the most free memory that fits its vm.cfg memory; "
	  "figures within 64 MB are equal and this server wins them), never exclude_ip. 1005 "
	  "when none can take it, 1008 off a pool.", m_get_vm_placement },
	{ "pool_start_vm", "s:sss",
	  "pool_start_vm(vm, epoch, master_epoch): called by the master to start a guest it "
	  "gave this server, not by managers; accepted from the pool credential only (1006). "
	  "1004 when this server knows a newer epoch for the guest or a newer master.",
	  m_pool_start_vm },
	{ "pool_cluster_files", "s:S",
	  "pool_cluster_files(files): called by the master (set_pool_ha, and again when this "
	  "server's corosync is out of the cluster), not by managers; accepted from the pool "
	  "credential only (1006). files is a struct of base64 values named corosync.conf and "
	  "authkey (both needed), cluster.conf, repositories and repositories.options (each at "
	  "most 64 KiB); they are written where agent.ini says (corosync_dir, ocfs2_conf, "
	  "repositories_file), then ovs-cluster-configure --from-files starts corosync with "
	  "them (1200 with its words when it fails).", m_pool_cluster_files },

	/* hooks (methods_hooks.c) */
	{ "list_hook_runs", "A:,A:i,A:s",
	  "list_hook_runs([limit]): the hooks the agent ran, runs and has queued, newest first "
	  "(at most limit; the agent keeps the last 256 that ended), each a struct: hook (its "
	  "path), kind (guest, network, repository, cluster), argv, event, guest, started (ISO "
	  "8601 UTC; when queued, for one still waiting), duration_ms, queued_ms (waited for a "
	  "slot), exit_status (-1 when killed), signal, timed_out, queued, running, output_tail "
	  "(the end of stdout, then of stderr).", m_list_hook_runs },

	/* networks (methods_net.c): what the kernel reports, kept from its events */
	{ "get_network_info", "S:",
	  "The host's networks as a struct: bridges, a list of {name, state, carrier, mtu, mac, "
	  "ports (names), addresses (CIDR strings)}, and links, every other device: {name, kind "
	  "(physical, veth, tun, vlan, bond, loopback, ...), state, carrier, speed_mbps (-1 when "
	  "unknown), mtu, mac, master (a bridge's or bond's name, or ''), addresses}. carrier is "
	  "true when the device is up and its link is there.", m_get_network_info },
	{ "create_bridge", "s:ss",
	  "create_bridge(bridge, netdev): run network-bridge start netdev=<netdev> "
	  "bridge=<bridge>: make the bridge, enslave netdev and move its addresses and default "
	  "route to the bridge (an existing bridge is left as it is). Answers when the hook "
	  "has finished: success:bridge=<bridge>;netdev=<netdev>, or fault 1200 with its "
	  "exit status and last words.", m_create_bridge },
	{ "delete_bridge", "s:s",
	  "delete_bridge(bridge): run network-bridge stop bridge=<bridge>, undoing "
	  "create_bridge. Refused with fault 1004, naming them, while a guest's interface "
	  "(vif..., or a tap) is a port of the bridge; 1001 when there is no such bridge.",
	  m_delete_bridge },

	/* storage (methods_storage.c): answers are JSON strings,
	 * {"status":"SUCC","value":{...}}; failures are faults */
	{ "sp_create", "s:ss",
	  "sp_create(type, fs_spec): record storage: type OVSSPNFS with fs_spec host:/path, "
	  "OVSSPOCFS2 or OVSSPPartition with a block device. value: {uuid, type, fs_spec}; the "
	  "same fs_spec again answers the uuid it already has.", m_sp_create },
	{ "sr_create", "s:ss",
	  "sr_create(sp_uuid, name_label): make a repository on recorded storage with "
	  "ovs-makerepo (shared 1 for NFS and OCFS2, 0 for a partition; name_label is its "
	  "description); answers when it has run. value: {sp_uuid, uuid, source, mount_point, "
	  "shared, description, options, fstype, mounted}; 1200 with the script's words on "
	  "failure.", m_sr_create },
	{ "sr_do", "s:ss",
	  "sr_do(sr_uuid, action): initialize (make the five pools in the mounted repository), "
	  "mount (ovsrepositories start) or unmount (ovs-offlinerepo; 1004 naming them while a "
	  "guest of it runs here). value: the repository as get_storage_repos shows it "
	  "(unmount: {uuid, source, deleted, mounted}).", m_sr_do },
	{ "get_storage_repos", "s:",
	  "Every repository of the repositories file. value: {repositories: [{uuid, source, "
	  "mount_point, shared (C, 1, 0 or '' unknown), description, options, fstype, mounted, "
	  "size, free}]}; size and free in bytes (statvfs, in a child: null when not mounted "
	  "or not answered within 10 s).", m_get_storage_repos },
	{ "get_storage_free_space", "s:s",
	  "get_storage_free_space(sr_uuid): value {uuid, mount_point, free, total} in bytes "
	  "(statvfs f_bavail and f_blocks times f_frsize); 1004 when the repository is "
	  "offline.", m_get_storage_free_space },
	{ "add_repository", "s:sss",
	  "add_repository(source, shared, description): ovs-makerepo source shared "
	  "description; source a block device, host:/path or a directory, shared C (cluster "
	  "root), 1 or 0. value as sr_create's, without sp_uuid.", m_add_repository },
	{ "remove_repository", "s:s,s:sb,s:si",
	  "remove_repository(uuid[, delete]): ovs-offlinerepo [-d] uuid source: unmount it, "
	  "and with delete true also remove it from the repositories files. Refused with 1004, "
	  "naming them, while a guest of it runs here. value: {uuid, source, deleted, "
	  "mounted}.", m_remove_repository },

	/* guests: a guest is its directory, <ovs_root>/running_pool/<name>,
	 * or just <name>; it holds vm.cfg */
	{ "register_vm", "s:s",
	  "Register the guest directory's vm.cfg with the agent (status DOWN, or RUNNING when the "
	  "hypervisor already runs it); a missing uuid is generated and written to vm.cfg. "
	  "Returns success:uuid=<uuid>;status=<status>.", m_register_vm },
	{ "unregister_vm", "s:s", "Forget a DOWN or ERROR guest; its files stay.", m_unregister_vm },
	{ "start_vm", "s:s,s:ss",
	  "Start a guest (registering it first if needed); the optional server_ip must be this "
	  "server's. Returns success:ip=<this server's address>.", m_start_vm },
	{ "stop_vm", "s:s",
	  "Stop a running or paused guest cleanly: ACPI power button, power off after a timeout.",
	  m_stop_vm },
	{ "destroy_vm", "s:s", "Power a guest off at once (also clears an ERROR guest).",
	  m_destroy_vm },
	{ "pause_vm", "s:s", "Pause a running guest (it keeps its memory).", m_pause_vm },
	{ "unpause_vm", "s:s", "Resume a paused guest.", m_unpause_vm },
	{ "reboot_vm", "s:s", "Reboot a running guest cleanly.", m_reboot_vm },
	{ "reset_vm", "s:s", "Hard-reset a guest, like its reset button.", m_reset_vm },
	{ "suspend_vm", "s:s",
	  "Save a guest's memory to vm.state in its directory and stop it (status SUSPEND).",
	  m_suspend_vm },
	{ "resume_vm", "s:s", "Restart a suspended guest from its vm.state.", m_resume_vm },
	{ "get_vm_status", "s:s", "Return success:status=<RUNNING|DOWN|PAUSED|SUSPEND|ERROR|...>.",
	  m_get_vm_status },
	{ "xen_get_vm_perf_metrics", "s:s",
	  "Figures of a running guest: success:cpu_time=<s>;cpu_util=<0..1 since it started>;"
	  "vcpus=N;uptime=<s>;memory=<MB held>;vbd_rd_bytes;vbd_wr_bytes;vbd_rd_ops;vbd_wr_ops.",
	  m_xen_get_vm_perf_metrics },
	{ "set_vm_status", "s:ss",
	  "Overwrite the recorded status of an idle guest (repair after manual work); logged.",
	  m_set_vm_status },
	{ "list_vms", "A:",
	  "List every registered guest as a struct: path, name, uuid, status and the other "
	  "recorded fields.", m_list_vms },

	/* vm.cfg getters and setters (methods_vmcfg.c): the guest first; setters
	 * refuse a busy guest and take effect at its next start */
	{ "xen_get_vm_type", "s:s", "Return success:type=hvm (builder = 'hvm' in vm.cfg) or "
	  "success:type=pv.", m_xen_get_vm_type },
	{ "xen_get_vcpus", "s:s", "Return success:vcpus=<N> from vm.cfg (1 when unset).",
	  m_xen_get_vcpus },
	{ "xen_set_vcpus", "s:si,s:ss",
	  "Set vcpus (1 to 512) in vm.cfg, raising maxvcpus if it is lower; applies at the "
	  "guest's next start.", m_xen_set_vcpus },
	{ "xen_get_memory", "s:s",
	  "Return success:memory=<MB> from vm.cfg, with ;maxmem=<MB> when maxmem is set.",
	  m_xen_get_memory },
	{ "xen_set_memory", "s:si,s:ss",
	  "Set memory in MB (16 and up) in vm.cfg, raising maxmem if it is lower; applies at the "
	  "guest's next start.", m_xen_set_memory },
	{ "xen_get_vdisks", "s:s",
	  "Return the disks of vm.cfg: success:vdisk0=<type>:<path>,<device>,<mode>;vdisk1=... "
	  "(a cdrom drive shows as <device>:cdrom).", m_xen_get_vdisks },
	{ "xen_add_disk", "s:ss",
	  "Add a disk like 'file:/OVS/running_pool/<guest>/data.img,hdb,w' to vm.cfg: the image "
	  "must exist inside the repository root (phy: devices under /dev/) and the device name "
	  "be free; applies at the guest's next start.", m_xen_add_disk },
	{ "xen_get_vifs", "s:s",
	  "Return the network interfaces of vm.cfg: success:vif0=<mac>,<bridge>,<type>;vif1=... "
	  "(unset fields empty).", m_xen_get_vifs },
	{ "xen_set_vifs", "s:sA",
	  "Replace the vif list of vm.cfg with the given strings, each like "
	  "'mac=00:16:3e:00:00:01, bridge=xenbr0, type=ioemu'; applies at the guest's next start.",
	  m_xen_set_vifs },
	{ "xen_set_vm_vnc_password", "s:ss",
	  "Set vncpasswd in vm.cfg (at most 8 printable characters, '' for none); applies at "
	  "the guest's next start.", m_xen_set_vm_vnc_password },
	{ "xen_config_boot_sequence", "s:ss",
	  "Set an HVM guest's boot order in vm.cfg: 1 to 4 of a (floppy), c (disk), d (cdrom), "
	  "n (network), like 'cd'; applies at the guest's next start.", m_xen_config_boot_sequence },
	{ "xen_change_vm_cdrom", "s:ss",
	  "Put an ISO from inside the repository root (e.g. iso_pool) in the guest's cdrom drive "
	  "('file:<iso>,hdc:cdrom,r', added when there is none), or eject it with ''; "
	  "vm.cfg only: applies at the guest's next start.", m_xen_change_vm_cdrom },
	{ "xen_get_vm_path", "s:s", "Return success:vm_path=<directory> of a registered guest.",
	  m_xen_get_vm_path },
	{ "xen_get_vnc_port", "s:s",
	  "Return success:vnc_port=<N> of a running or paused guest's VNC console; fault 1004 "
	  "when it is not running, 1001 when it has no console.", m_xen_get_vnc_port },

	/* templates, disks, deleting guests (methods_template.c) */
	{ "create_vm_from_template", "s:ss",
	  "create_vm_from_template(template, name): make guest <name> from seed_pool/<template>.tgz "
	  "or seed_pool/<template>/ (guide 4.4): vm.cfg's disks, kernel and ramdisk re-pointed to "
	  "running_pool/<name>, fresh uuid and MACs, registered DOWN. Returns "
	  "success:vm_path=<directory>;uuid=<uuid>.", m_create_vm_from_template },
	{ "xen_create_disk", "s:si,s:ss",
	  "xen_create_disk(path, size_MB): create a sparse disk image of size_MB MiB (1 to "
	  "16777216) at path, a new file below the repository root in an existing directory.",
	  m_xen_create_disk },
	{ "delete_vm", "s:s",
	  "Delete a DOWN or ERROR guest: its directory with everything in it, and its record.",
	  m_delete_vm },

	/* installing a guest from an ISO (methods_install.c) */
	{ "install_vm_hvm", "s:siiis,s:sssss",
	  "install_vm_hvm(name, memory_MB, vcpus, disk_MB, iso): what virt-install -v did (guide "
	  "4.5): make running_pool/<name> with a sparse system.img of disk_MB MiB and an HVM "
	  "vm.cfg that boots iso (a file in <ovs_root>/iso_pool, or an absolute path below "
	  "ovs_root) from the CD-ROM, then the disk, with a VNC console; register and start it. "
	  "Returns success:vm_path=<directory>;uuid=<uuid>;vnc_port=<N>. A failed start leaves "
	  "the guest registered DOWN.", m_install_vm_hvm },

	/* live migration; the migrate_*_vm methods are what the source agent
	 * calls on the destination */
	{ "xen_migrate_vm", "s:ss,s:s",
	  "xen_migrate_vm(vm, host): move a running guest, live, to the agent at host (an IP "
	  "address, optionally :port), a server of this pool sharing the guest's repository, "
	  "called with the pool credential, its certificate pinned. Returns success once the "
	  "guest runs there. xen_migrate_vm(vm) on the pool's master: the server running it "
	  "moves it where the placement rule says (get_vm_placement).", m_xen_migrate_vm },
	{ "migrate_prepare_vm", "s:s",
	  "Agent to agent: get ready to receive a guest; returns success:uri=<where to send>.",
	  m_migrate_prepare_vm },
	{ "migrate_finish_vm", "s:s",
	  "Agent to agent: the guest's state was sent; let it run here.", m_migrate_finish_vm },
	{ "migrate_abort_vm", "s:s", "Agent to agent: drop a prepared incoming guest.",
	  m_migrate_abort_vm },

	/* the simulated hypervisor's test hooks */
	{ "sim_inject_fault", "s:ss",
	  "hypervisor=sim only: make the next (once) or every (always) start, shutdown, destroy, "
	  "pause, unpause, reboot, reset, save, restore or migrate fail; clear to stop.", m_sim_inject_fault },
	{ "sim_crash_vm", "s:s", "hypervisor=sim only: make a running guest crash.", m_sim_crash_vm },
	{ NULL, NULL, NULL, NULL },
};
