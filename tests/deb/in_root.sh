#!/bin/bash
# shellcheck disable=SC2317,SC2016 # checks run through check(); dpkg-query formats
# tests/deb/in_root.sh DEB1 DEB2 PASSWORD: run by test_deb.py as root inside
# `unshare -m -n`: a throw-away root (an overlay of / with its upper layer on
# a tmpfs of this mount namespace), loopback only. Installs DEB1 with the
# debconf answer preseeded, upgrades to DEB2 after editing agent.ini, purges;
# then installs DEB1 without an answer (no password, not started) and purges.
# One line per check: "CHECK name ok" or "CHECK name FAIL why". The agent
# started in the root is ended by pid on exit; the mounts go with the
# namespace, the tmpfs with them.
set -u
deb1=$1 deb2=$2 pw=$3
T=/run/ovs-deb-test
M=$T/merged

check() { # check NAME COMMAND...: run COMMAND, report
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		echo "CHECK $name ok"
		[ -z "${DEB_TEST_VERBOSE:-}" ] || printf '%s\n' "$out" >&2
	else
		echo "CHECK $name FAIL $(printf '%s' "$out" | tr '\n' '|' | cut -c1-900)"
	fi
}

# shellcheck disable=SC2317 # the EXIT trap
cleanup() {
	# Every process whose root is the throw-away root (the agent, whatever
	# its pid file says), by its pid; it would keep the namespace alive.
	local d
	for d in /proc/[0-9]*; do
		[ "$(readlink "$d/root" 2>/dev/null)" = "$M" ] && kill -KILL "${d#/proc/}" 2>/dev/null
	done
	return 0
}
trap cleanup EXIT
trap 'exit 143' TERM INT

set -e
mount --make-rprivate /
mkdir -p $T
mount -t tmpfs -o size=512m,mode=0700 ovs-deb-test $T
mkdir $T/upper $T/work $M
mount -t overlay overlay -o "lowerdir=/,upperdir=$T/upper,workdir=$T/work" $M
mount --rbind /dev "$M"/dev
mount -t proc proc "$M"/proc
mount -t tmpfs tmpfs "$M"/run
mount -t tmpfs tmpfs "$M"/tmp
ip link set lo up
# invoke-rc.d starts nothing when the runlevel is unknown, as in any chroot:
# this root says runlevel 2, as a sysvinit host does (/run is a tmpfs here,
# without utmp), and has no policy-rc.d (a container's may deny every
# start). rm first: in / runlevel may be a link to systemctl.
rm -f "$M"/sbin/runlevel "$M"/usr/sbin/policy-rc.d
printf '#!/bin/sh\necho N 2\n' >"$M"/sbin/runlevel
chmod 0755 "$M"/sbin/runlevel
cp "$deb1" "$M"/tmp/ovs-agent-1.deb
cp "$deb2" "$M"/tmp/ovs-agent-2.deb
set +e

in_root() { chroot "$M" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@" </dev/null; }
url="https://admin:$pw@localhost:8899"
hello=$'echo [\'hello\']\n=> success:echo=hello'

echo_hello() {
	local out
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		out=$(in_root timeout 10 /opt/ovs-agent-2.2/utils/do_rpc.py "$url" echo hello 2>&1) &&
			[ "$out" = "$hello" ] && return 0
		sleep 0.5
	done
	printf '%s\n' "$out"
	return 1
}
running() { in_root /etc/init.d/ovs-agent status; }
not_running() { ! in_root /etc/init.d/ovs-agent status; }
no_password_in_debconf() {
	! grep -rqF -- "$pw" "$M"/var/cache/debconf/
}
key_mode() {
	[ "$(stat -c %a "$M"/etc/ovs-agent/cert/key.pem)" = 600 ] &&
		in_root openssl x509 -noout -in /etc/ovs-agent/cert/certificate.pem
}
edit_ini() {
	sed -i 's/^log_level=info$/log_level=debug/' "$M"/etc/ovs-agent/agent.ini &&
		printf '; edited by test_deb\n' >>"$M"/etc/ovs-agent/agent.ini
}
ini_kept() {
	grep -qx 'log_level=debug' "$M"/etc/ovs-agent/agent.ini &&
		grep -qx '; edited by test_deb' "$M"/etc/ovs-agent/agent.ini &&
		! ls "$M"/etc/ovs-agent/agent.ini.dpkg-* 2>/dev/null
}
version_is() { in_root dpkg-query -W -f='${Version}' ovs-agent | grep -qx "$1"; }
nothing_left() {
	local p left=
	for p in /etc/ovs-agent /etc/ovs /opt/ovs-agent-2.2 /usr/lib/ovs \
		/etc/init.d/ovs-agent /etc/init.d/ovsrepositories /etc/logrotate.d/ovs-agent \
		/lib/systemd/system/ovs-agent.service /run/ovs-agent.pid \
		/usr/share/doc/ovs-agent /var/lib/dpkg/info/ovs-agent.list; do
		[ -e "$M$p" ] || [ -L "$M$p" ] && left="$left $p"
	done
	for p in "$M"/etc/rc?.d/*ovs* "$M"/etc/systemd/system/*/ovs-agent.service; do
		[ -e "$p" ] || [ -L "$p" ] && left="$left ${p#"$M"}"
	done
	# debconf's *-old files are its backups of the previous write.
	while IFS= read -r p; do
		case $p in *-old) ;; *) left="$left ${p#"$M"}" ;; esac
	done < <(grep -lr 'ovs-agent/' "$M"/var/cache/debconf/ 2>/dev/null)
	in_root dpkg-query -W -f='${Status}' ovs-agent 2>/dev/null | grep -q . && left="$left dpkg-status"
	[ -z "$left" ] || { echo "left:$left"; return 1; }
}

check preseed in_root sh -c "echo 'ovs-agent ovs-agent/admin_password password $pw' | debconf-set-selections"
check install in_root dpkg -i /tmp/ovs-agent-1.deb
check started running
check echo_hello echo_hello
check password_not_in_debconf no_password_in_debconf
check key_0600 key_mode
check edit_ini edit_ini
check upgrade in_root dpkg -i /tmp/ovs-agent-2.deb
check upgraded_version version_is "$4"
check ini_kept ini_kept
check restarted running
check echo_after_upgrade echo_hello
check purge in_root dpkg --purge ovs-agent
check stopped not_running
check nothing_left nothing_left
# Without an answer: no password, the agent not started, the way to set one.
no_answer_install() {
	local out
	out=$(in_root dpkg -i /tmp/ovs-agent-1.deb 2>&1) || { printf '%s\n' "$out"; return 1; }
	printf '%s\n' "$out"
	grep -qF 'service ovs-agent configure' <<<"$out" &&
		! grep -q '^admin:' "$M"/etc/ovs-agent/password 2>/dev/null
}
check install_without_password no_answer_install
check not_started_without_password not_running
check purge_again in_root dpkg --purge ovs-agent
check nothing_left_again nothing_left
exit 0
