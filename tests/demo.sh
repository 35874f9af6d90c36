#!/bin/sh
# demo.sh BUILD_DIR - run a throwaway agent in the foreground (make demo).
#
# Everything lives in a temp dir removed on exit: a self-signed certificate,
# agent.ini (127.0.0.1, port 8899 or $DEMO_PORT, HTTPS, the simulated
# hypervisor), the password file with a random password for admin, the
# state, pid and hooks places. The log goes to this terminal. Ctrl-C stops
# the agent.
set -eu

if [ "$#" -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
build=$(cd "$1" && pwd) || exit 1
agent=$build/bin/ovs-agent
passwd_tool=$build/bin/ovs-agent-passwd
do_rpc=$build/bin/do_rpc
for prog in "$agent" "$passwd_tool" "$do_rpc"; do
	if [ ! -x "$prog" ]; then
		echo "demo: $prog is missing: build first (make)" >&2
		exit 1
	fi
done
port=${DEMO_PORT:-8899}
case "$port" in
'' | *[!0-9]*)
	echo "demo: DEMO_PORT must be a number" >&2
	exit 2
	;;
esac

dir=$(mktemp -d "${TMPDIR:-/tmp}/ovs-agent-demo.XXXXXX")
child=
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	if [ -n "$child" ]; then
		kill -TERM "$child" 2>/dev/null || true
		wait "$child" 2>/dev/null || true
		child=
	fi
	rm -rf -- "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$dir/cert" "$dir/db" "$dir/hooks" "$dir/OVS/running_pool" \
	"$dir/OVS/seed_pool" "$dir/OVS/iso_pool" "$dir/OVS/publish_pool" \
	"$dir/OVS/sharedDisk"
: >"$dir/repositories"
if ! out=$(openssl req -x509 -newkey rsa:2048 -sha256 -nodes -days 30 \
	-subj "/CN=localhost" -keyout "$dir/cert/key.pem" \
	-out "$dir/cert/certificate.pem" 2>&1); then
	echo "demo: openssl: $out" >&2
	exit 1
fi
chmod 0600 "$dir/cert/key.pem"

cfg=$dir/agent.ini
cat >"$cfg" <<EOF
; agent.ini of the ovs-agent demo (removed when the demo ends)
listen=127.0.0.1
port=$port
ssl=enable
ssl_cert=$dir/cert/certificate.pem
ssl_key=$dir/cert/key.pem
allow=*
deny=
auth=password
password_file=$dir/password
state_dir=$dir/db
log_file=-
log_level=info
pid_file=$dir/ovs-agent.pid
hypervisor=sim
ovs_root=$dir/OVS
hooks_dir=$dir/hooks
repositories_file=$dir/repositories
EOF

password=$(openssl rand -base64 12 | tr -d '/+=')
printf '%s\n' "$password" | "$passwd_tool" --config "$cfg" admin

cat <<EOF

  ovs-agent demo: https://127.0.0.1:$port/ (self-signed certificate)
  config:    $cfg
  user:      admin
  password:  $password

  In another terminal try:
    $do_rpc https://admin:$password@127.0.0.1:$port echo hello

  Ctrl-C stops the agent and removes $dir.

EOF

# In the background so the traps can run and stop it; a non-interactive
# shell starts it with SIGINT ignored, so Ctrl-C reaches it as our SIGTERM.
"$agent" --config "$cfg" --foreground </dev/null &
child=$!
rc=0
wait "$child" || rc=$?
child=
if [ "$rc" -ne 0 ]; then
	echo "demo: the agent exited with status $rc (port $port busy? set DEMO_PORT)" >&2
fi
exit "$rc"
