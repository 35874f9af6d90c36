#!/bin/bash
# tests/check_layers.sh - includes point one way only.
#
#   agent/base      includes nothing outside itself
#   db              agent/base, db
#   hypervisor      agent/base, db, hypervisor (never the agent: backends get
#                   a struct hv_env, and no backend names struct server)
#   agent/net       agent/base, agent/net (the network view)
#   agent/repo      agent/base, db, hypervisor, agent/repo (the repositories)
#   agent/cluster   agent/base, db, agent/cluster (corosync, the replicated
#                   pool state, the heartbeat: nothing of the guests or RPC)
#   agent/server, agent/rpc, agent/guest, agent/pool   any of the above and
#                   each other (agent/pool: HA, fencing, placement)
#   utils           any of the above, and utils/ (code the tools share)
#
# Every include of the project's own headers is spelled from the root
# ("agent/base/buf.h"). Prints one TAP line per rule; exit status 1 when
# any include points the wrong way.
cd "$(dirname "$0")/.." || exit 2
bad=0

# check NAME ALLOWED_REGEX FILES...: every quoted include must match.
check() {
	local name=$1 allowed=$2 f line inc found=0
	shift 2
	for f in "$@"; do
		while IFS= read -r line; do
			inc=${line#*\"}
			inc=${inc%%\"*}
			if ! [[ $inc =~ $allowed ]]; then
				echo "# $f: #include \"$inc\" breaks the rule for $name"
				found=1
			fi
		done < <(grep -E '^[[:space:]]*#[[:space:]]*include[[:space:]]+"' "$f")
	done
	if [ $found -eq 0 ]; then
		echo "ok - layers: $name"
	else
		echo "not ok - layers: $name"
		bad=1
	fi
}

shopt -s nullglob globstar
check "agent/base includes only agent/base" '^agent/base/[a-z0-9_]+\.h$' agent/base/*.[ch]
check "db includes agent/base and db" '^(agent/base|db)/[a-z0-9_]+\.h$' db/*.[ch]
check "hypervisor includes agent/base, db and hypervisor" \
	'^(agent/base|db|hypervisor(/qemu|/xen)?)/[a-z0-9_]+\.h$' hypervisor/**/*.[ch]
check "agent/net includes agent/base and agent/net" '^agent/(base|net)/[a-z0-9_]+\.h$' \
	agent/net/*.[ch]
check "agent/repo includes agent/base, db, hypervisor and agent/repo" \
	'^(agent/(base|repo)|db|hypervisor(/qemu|/xen)?)/[a-z0-9_]+\.h$' agent/repo/*.[ch]
check "agent/cluster includes agent/base, db and agent/cluster" \
	'^(agent/(base|cluster)|db)/[a-z0-9_]+\.h$' agent/cluster/*.[ch]
check "agent/server, rpc, guest, pool include the layers below and each other" \
	'^(agent/(base|net|repo|cluster|server|rpc|guest|pool)|db|hypervisor(/qemu|/xen)?)/[a-z0-9_]+\.h$' \
	agent/server/*.[ch] agent/rpc/*.[ch] agent/guest/*.[ch] agent/pool/*.[ch]
check "utils include by path from the root" \
	'^(agent/(base|net|repo|cluster|server|rpc|guest|pool)|db|hypervisor(/qemu|/xen)?|utils)/[a-z0-9_]+\.h$' utils/*.[ch]

if grep -n 'struct server\b' hypervisor/**/*.[ch] >/dev/null; then
	grep -n 'struct server\b' hypervisor/**/*.[ch] | sed 's/^/# /'
	echo "not ok - layers: no backend names struct server"
	bad=1
else
	echo "ok - layers: no backend names struct server"
fi
exit $bad
