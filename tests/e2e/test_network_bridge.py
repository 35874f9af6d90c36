#!/usr/bin/env python3
"""test_network_bridge.py - hooks/network-bridge and hooks/vif-bridge on
real links, in network namespaces the test makes.

Each test gets two fresh namespaces: ovs8-nb-<pid>-<n> (the "host") and
ovs8-nbp-<pid>-<n> (its peer). The host's eth0 (or eth1) is one end of a
veth whose other end, peer0, is in the peer; the host has 10.8.1.2/24 and
fd08:1::2/64 on it, a default route (IPv4 and IPv6) via the peer's .1 and
one more static route. The scripts run inside the host namespace with
OVS_NETWORK_BRIDGE_STATE in a temp dir. Both namespaces and the dir are
removed after each test, pass or fail. Needs root, iproute2, ping.

Run: python3 tests/e2e/test_network_bridge.py [test_name...]
Prints one TAP line per test (see tap.py); exits 1 when any failed.
"""

import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from tap import main  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
NETWORK_BRIDGE = os.path.join(ROOT, "hooks", "network-bridge")
VIF_BRIDGE = os.path.join(ROOT, "hooks", "vif-bridge")
TIMEOUT = 30            # every subprocess
HOST_V4, PEER_V4 = "10.8.1.2", "10.8.1.1"
HOST_V6, PEER_V6 = "fd08:1::2", "fd08:1::1"
STATIC_NET = "192.168.77.0/24"
_seq = itertools.count()


def run(*argv, env=None, check=True):
    """argv's result (stdout and stderr as text); fails the test on a
    non-zero exit when check."""
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=TIMEOUT, env=env)
    if check and r.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (" ".join(argv), r.returncode,
                                                   r.stdout, r.stderr))
    return r


def can_run():
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    for tool in ("ip", "ping"):
        if not shutil.which(tool):
            return "%s is not installed" % tool
    return None


@unittest.skipIf(can_run(), can_run())
class NsCase(unittest.TestCase):
    """Two namespaces joined by a veth: the host's NETDEV and the peer's
    peer0, addressed and routed as the module docstring says."""
    maxDiff = None
    netdev = "eth0"

    def setUp(self):
        n = next(_seq)
        self.ns = "ovs8-nb-%d-%d" % (os.getpid(), n)
        self.peer = "ovs8-nbp-%d-%d" % (os.getpid(), n)
        self.made = []
        self.state = tempfile.mkdtemp(prefix="ovs8-nb-state.")
        self.addCleanup(shutil.rmtree, self.state, True)
        for ns in (self.ns, self.peer):
            run("ip", "netns", "add", ns)
            self.made.append(ns)
            self.addCleanup(run, "ip", "netns", "del", ns, check=False)
        h, p = self.ip_host, self.ip_peer
        run("ip", "-n", self.ns, "link", "add", self.netdev, "type", "veth",
            "peer", "name", "peer0", "netns", self.peer)
        h("addr", "add", HOST_V4 + "/24", "dev", self.netdev)
        h("addr", "add", HOST_V6 + "/64", "dev", self.netdev, "nodad")
        p("addr", "add", PEER_V4 + "/24", "dev", "peer0")
        p("addr", "add", PEER_V6 + "/64", "dev", "peer0", "nodad")
        for ns_ip, dev in ((h, self.netdev), (h, "lo"), (p, "peer0"), (p, "lo")):
            ns_ip("link", "set", dev, "up")
        h("route", "add", "default", "via", PEER_V4)
        h("-6", "route", "add", "default", "via", PEER_V6)
        h("route", "add", STATIC_NET, "via", PEER_V4, "metric", "10")

    # -- helpers -----------------------------------------------------------
    def ip_host(self, *args):
        return run("ip", "-n", self.ns, *args).stdout

    def ip_peer(self, *args):
        return run("ip", "-n", self.peer, *args).stdout

    def env(self, **extra):
        e = dict(os.environ, OVS_NETWORK_BRIDGE_STATE=self.state)
        e.update(extra)
        return e

    def nb(self, *args, ok=True):
        """network-bridge ARGS in the host namespace; must exit 0 when ok."""
        r = run("ip", "netns", "exec", self.ns, NETWORK_BRIDGE, *args,
                env=self.env(), check=False)
        if ok:
            self.assertEqual(r.returncode, 0, "network-bridge %s:\n%s%s"
                             % (" ".join(args), r.stdout, r.stderr))
        return r

    def vb(self, *args, ok=True, **env):
        r = run("ip", "netns", "exec", self.ns, VIF_BRIDGE, *args,
                env=self.env(**env), check=False)
        if ok:
            self.assertEqual(r.returncode, 0, "vif-bridge %s:\n%s%s"
                             % (" ".join(args), r.stdout, r.stderr))
        return r

    def links(self):
        return {l["ifname"]: l for l in json.loads(self.ip_host("-j", "link", "show"))}

    def addrs(self, dev):
        """dev's global addresses, "addr/prefix"."""
        out = json.loads(self.ip_host("-j", "addr", "show", "dev", dev))
        return sorted("%s/%d" % (a["local"], a["prefixlen"])
                      for l in out for a in l.get("addr_info", [])
                      if a.get("scope") == "global")

    def route_dev(self, family, dst):
        routes = json.loads(self.ip_host(family, "-j", "route", "show", dst))
        self.assertEqual(len(routes), 1, routes)
        return routes[0]["dev"]

    def settle(self):
        """Wait (at most 10 s) until no address is tentative: the kernel
        adds a link-local address's route once its DAD is done."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            out = json.loads(self.ip_host("-j", "addr", "show"))
            if not any(a.get("tentative") for l in out for a in l.get("addr_info", [])):
                return
            time.sleep(0.1)
        self.fail("addresses still tentative after 10 s")

    def snapshot(self):
        """Everything start could change: links (name, master, flags, MAC),
        addresses and routes of both families."""
        self.settle()
        links = {n: (l.get("master"), sorted(l.get("flags", [])), l.get("address"))
                 for n, l in self.links().items()}
        addrs = {n: self.addrs(n) for n in links}
        routes = [sorted(self.ip_host(f, "route", "show", "table", "all").splitlines())
                  for f in ("-4", "-6")]
        return links, addrs, routes

    def peer_reaches_host(self):
        run("ip", "netns", "exec", self.peer, "ping", "-c", "1", "-W", "3", HOST_V4)
        run("ip", "netns", "exec", self.peer, "ping", "-6", "-c", "1", "-W", "3", HOST_V6)
        run("ip", "netns", "exec", self.ns, "ping", "-c", "1", "-W", "3", PEER_V4)

    def assert_bridged(self, bridge="xenbr0"):
        netdev = self.netdev
        self.assertEqual(self.addrs(bridge), sorted([HOST_V4 + "/24", HOST_V6 + "/64"]))
        self.assertEqual(self.addrs(netdev), [])
        self.assertEqual(self.links()[netdev].get("master"), bridge)
        self.assertIn("UP", self.links()[bridge]["flags"])
        self.assertEqual(self.route_dev("-4", "default"), bridge)
        self.assertEqual(self.route_dev("-6", "default"), bridge)
        self.assertEqual(self.route_dev("-4", STATIC_NET), bridge)
        self.peer_reaches_host()

    def assert_unbridged(self, bridge="xenbr0", bridge_gone=True):
        netdev = self.netdev
        self.assertEqual(self.addrs(netdev), sorted([HOST_V4 + "/24", HOST_V6 + "/64"]))
        self.assertIsNone(self.links()[netdev].get("master"))
        self.assertEqual(bridge not in self.links(), bridge_gone)
        self.assertEqual(self.route_dev("-4", "default"), netdev)
        self.assertEqual(self.route_dev("-6", "default"), netdev)
        self.assertEqual(self.route_dev("-4", STATIC_NET), netdev)
        self.peer_reaches_host()

    def state_files(self):
        return [f for _, _, fs in os.walk(self.state) for f in fs if not f.startswith(".")]


class NetworkBridge(NsCase):
    # -- network-bridge ----------------------------------------------------
    def test_start_moves_addresses_and_routes(self):
        r = self.nb("start", "netdev=eth0", "bridge=xenbr0")
        self.assertIn("xenbr0 up on eth0", r.stdout)
        self.assert_bridged()
        # The bridge keeps eth0's MAC: neighbours' ARP caches stay right.
        links = self.links()
        self.assertEqual(links["xenbr0"]["address"], links["eth0"]["address"])
        self.assertEqual(self.state_files(), ["xenbr0"])

    def test_host_stays_reachable(self):
        """A TCP connection from the peer to the host lives through start
        and stop (nothing is renamed or taken down on the way)."""
        server = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, sys.executable, "-c", ECHO_SERVER, HOST_V4],
            stdout=subprocess.PIPE, text=True)
        self.addCleanup(_end, server)
        self.assertEqual(server.stdout.readline().strip(), "listening")
        client = subprocess.Popen(
            ["ip", "netns", "exec", self.peer, sys.executable, "-c", ECHO_CLIENT, HOST_V4],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.addCleanup(_end, client)

        def echo(word):
            client.stdin.write(word + "\n")
            client.stdin.flush()
            self.assertEqual(client.stdout.readline().strip(), word)
        echo("before")
        self.nb("start", "netdev=eth0", "bridge=xenbr0")
        echo("bridged")
        self.nb("stop", "netdev=eth0", "bridge=xenbr0")
        echo("after")

    def test_second_start_changes_nothing(self):
        self.nb("start", "netdev=eth0", "bridge=xenbr0")
        before = self.snapshot()
        r = self.nb("start", "netdev=eth0", "bridge=xenbr0")
        self.assertIn("nothing changed", r.stdout)
        self.assertEqual(self.snapshot(), before)
        # With no arguments too: the default route is on xenbr0 now.
        r = self.nb("start")
        self.assertIn("nothing changed", r.stdout)
        self.assertEqual(self.snapshot(), before)

    def test_status(self):
        r = self.nb("status", "bridge=xenbr0", ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("bridge xenbr0 does not exist", r.stderr)
        self.nb("start", "netdev=eth0", "bridge=xenbr0")
        self.ip_host("tuntap", "add", "dev", "vif1.0", "mode", "tap")
        self.vb("online", "vif=vif1.0", "bridge=xenbr0")
        for args in (["bridge=xenbr0"], []):
            out = self.nb("status", *args).stdout.splitlines()
            self.assertIn("bridge: xenbr0 (made by network-bridge start on eth0)", out)
            self.assertIn("state: up", out)
            ports = [l for l in out if l.startswith("ports:")]
            self.assertEqual(sorted(ports[0].split()[1:]), ["eth0", "vif1.0"])
            self.assertIn("address: %s/24" % HOST_V4, out)
            self.assertIn("address: %s/64" % HOST_V6, out)
            self.assertIn("route: default via %s" % PEER_V4, out)

    def test_stop_restores(self):
        before = self.snapshot()
        self.nb("start", "netdev=eth0", "bridge=xenbr0")
        r = self.nb("stop", "netdev=eth0", "bridge=xenbr0")
        self.assertIn("xenbr0 removed", r.stdout)
        self.assert_unbridged()
        self.assertEqual(self.state_files(), [])
        # The same links, addresses and routes as before start.
        after = self.snapshot()
        self.assertEqual(after[0], before[0])
        self.assertEqual(after[1], before[1])
        self.assertEqual(after[2][0], before[2][0])
        # Once more: nothing to do.
        r = self.nb("stop", "bridge=xenbr0")
        self.assertIn("nothing to do", r.stdout)

    def test_stop_with_defaults(self):
        """No arguments: the default route's device (eth0), bridge xenbr0;
        stop finds it again from the default route, now on xenbr0."""
        self.nb("start")
        self.assert_bridged()
        self.nb("stop")
        self.assert_unbridged()

    def test_stop_refuses_while_other_ports(self):
        self.nb("start", "netdev=eth0", "bridge=xenbr0")
        for vif in ("vif1.0", "vif2.0"):
            self.ip_host("tuntap", "add", "dev", vif, "mode", "tap")
            self.vb("online", "vif=" + vif, "bridge=xenbr0")
        r = self.nb("stop", "bridge=xenbr0", ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("xenbr0 still has other ports: vif1.0 vif2.0", r.stderr)
        self.assert_bridged()
        for vif in ("vif1.0", "vif2.0"):
            self.vb("offline", "vif=" + vif, "bridge=xenbr0")
        self.nb("stop", "bridge=xenbr0")
        self.assert_unbridged()

    def test_bridge_not_made_by_start(self):
        """An existing bridge is used and kept; one start did not touch is
        never removed."""
        self.ip_host("link", "add", "xenbr0", "type", "bridge")
        self.nb("start", "netdev=eth0", "bridge=xenbr0")
        self.assert_bridged()
        r = self.nb("stop", "bridge=xenbr0")
        self.assertIn("kept", r.stdout)
        self.assert_unbridged(bridge_gone=False)
        self.ip_host("link", "add", "br9", "type", "bridge")
        r = self.nb("stop", "bridge=br9", ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("br9 was not made by network-bridge start", r.stderr)
        self.assertIn("br9", self.links())
        # A state file left by an older namespace with this one's inode
        # number names other links (index/MAC): it is not believed.
        d = os.path.join(self.state, "net-%d" % os.stat("/run/netns/" + self.ns).st_ino)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "br9"), "w") as f:
            f.write("netdev=eth0\ncreated=1\nnetdev_up=1\nnetdev_id=2/02:00:00:00:00:01\n"
                    "bridge_id=3/02:00:00:00:00:01\naddr inet 10.9.9.9/24\n")
        r = self.nb("stop", "bridge=br9", ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("br9 was not made by network-bridge start", r.stderr)
        self.assertIn("br9", self.links())
        self.assertEqual(self.state_files(), [])

    def test_refusals(self):
        r = self.nb("start", "netdev=eth7", "bridge=xenbr0", ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("netdev eth7 does not exist", r.stderr)
        self.ip_host("link", "add", "br1", "type", "bridge")
        self.ip_host("link", "set", "eth0", "master", "br1")
        r = self.nb("start", "netdev=eth0", "bridge=xenbr0", ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("eth0 is a port of br1 already", r.stderr)
        self.assertNotIn("xenbr0", self.links())
        self.assertEqual(self.state_files(), [])

    def test_bad_arguments(self):
        for args in ([], ["frobnicate"], ["start", "stop"], ["start", "foo=1"],
                     ["start", "netdev=a/b"], ["start", "netdev=eth:0"],
                     ["start", "bridge=a b"], ["start", "bridge=" + "x" * 16],
                     ["start", "netdev=-j"], ["start", "vifnum=x"]):
            r = self.nb(*args, ok=False)
            self.assertEqual(r.returncode, 2, (args, r.stdout, r.stderr))
            self.assertIn("usage: network-bridge start|stop|status", r.stderr)
        self.assertNotIn("xenbr0", self.links())
        for args, env in (([], {}), (["up"], {}), (["online"], {}),
                          (["online", "vif=a/b"], {}), (["online", "vif=v", "mac=zz"], {}),
                          (["online", "bridge=x"], {"vif": "v" * 16})):
            r = self.vb(*args, ok=False, **env)
            self.assertEqual(r.returncode, 2, (args, r.stdout, r.stderr))
            self.assertIn("usage: vif-bridge online|offline|add|remove", r.stderr)

    # -- vif-bridge --------------------------------------------------------
    def test_vif_bridge(self):
        self.nb("start", "netdev=eth0", "bridge=xenbr0")
        self.ip_host("tuntap", "add", "dev", "vif3.0", "mode", "tap")
        # Arguments.
        self.vb("online", "vif=vif3.0", "bridge=xenbr0", "mac=00:16:3e:0a:0b:0c")
        link = self.links()["vif3.0"]
        self.assertEqual(link.get("master"), "xenbr0")
        self.assertIn("UP", link["flags"])
        self.assertEqual(link["address"], "fe:16:3e:0a:0b:0c")
        self.vb("offline", "vif=vif3.0", "bridge=xenbr0")
        link = self.links()["vif3.0"]
        self.assertIsNone(link.get("master"))
        self.assertNotIn("UP", link["flags"])
        # The environment, as the agent passes it; no bridge: the first one.
        self.vb("online", vif="vif3.0")
        self.assertEqual(self.links()["vif3.0"].get("master"), "xenbr0")
        self.vb("offline", vif="vif3.0", bridge="xenbr0")
        self.assertIsNone(self.links()["vif3.0"].get("master"))
        # xl's emulated twin: add/remove with type_if=tap and INTERFACE.
        self.vb("add", "type_if=tap", INTERFACE="vif3.0", bridge="xenbr0")
        self.assertEqual(self.links()["vif3.0"].get("master"), "xenbr0")
        self.vb("online", "type_if=tap", INTERFACE="vif3.0", bridge="nosuch")  # not for a tap
        self.vb("remove", "type_if=tap", INTERFACE="vif3.0", bridge="xenbr0")
        self.assertIsNone(self.links()["vif3.0"].get("master"))
        # A tap already gone: offline has nothing to do.
        self.ip_host("link", "del", "vif3.0")
        r = self.vb("offline", "vif=vif3.0", "bridge=xenbr0")
        self.assertIn("nothing to do", r.stdout)
        self.nb("stop", "bridge=xenbr0")
        self.assert_unbridged()

    def test_vif_bridge_missing_bridge(self):
        self.ip_host("tuntap", "add", "dev", "vif4.0", "mode", "tap")
        r = self.vb("online", "vif=vif4.0", "bridge=xenbr0", ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("bridge xenbr0 does not exist", r.stderr)
        r = self.vb("online", ok=False, vif="vif4.0")
        self.assertEqual(r.returncode, 1)
        self.assertIn("none exists", r.stderr)
        r = self.vb("online", "vif=vif4.0", "bridge=eth0", ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("eth0 is not a bridge", r.stderr)
        self.assertIsNone(self.links()["vif4.0"].get("master"))

    # -- the scripts themselves --------------------------------------------
    def test_shellcheck(self):
        if not shutil.which("shellcheck"):
            self.skipTest("shellcheck is not installed")
        run("shellcheck", NETWORK_BRIDGE, VIF_BRIDGE)


class GuideLine(NsCase):
    """The guide's `network-script 'network-bridge netdev=eth1 bridge=xenbr0'`,
    on a host whose NIC is eth1."""
    netdev = "eth1"

    def test_guide_line(self):
        line = ["netdev=eth1", "bridge=xenbr0"]
        # As printed, it has no command, and Xen's script has no default one:
        r = self.nb(*line, ok=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("no command", r.stderr)
        # xend (and the agent) run a network-script with the command put
        # right after the script's name.
        self.nb("start", *line)
        self.assert_bridged("xenbr0")
        self.assertNotIn("xenbr1", self.links())
        # Xen finds the command anywhere among the arguments.
        self.nb(*line, "stop")
        self.assert_unbridged("xenbr0")

    def test_default_bridge_number(self):
        """eth1 -> xenbr1 (the guide's defaults), and Xen 3's vifnum=1."""
        self.nb("start", "netdev=eth1")
        self.assert_bridged("xenbr1")
        self.nb("stop", "netdev=eth1")
        self.assert_unbridged("xenbr1")
        self.nb("start", "vifnum=1")
        self.assert_bridged("xenbr1")
        self.nb("stop", "vifnum=1")
        self.assert_unbridged("xenbr1")


GUEST_DIR = os.environ.get("OVS_GUEST_DIR", os.path.join(ROOT, "build", "guest"))
QEMU = os.environ.get("OVS_AGENT_QEMU", "/usr/bin/qemu-system-x86_64")
GUEST_V4 = "10.8.1.10"
GUEST_MAC = "00:16:3e:08:01:0a"
BOOT_TIMEOUT = 120      # TCG on a busy host


def guest_missing():
    if not os.path.exists(os.path.join(GUEST_DIR, "initrd.img")):
        return "no test guest image (tests/guest/build.sh %s)" % GUEST_DIR
    if not os.access(QEMU, os.X_OK):
        return "no %s" % QEMU
    if not os.path.exists("/dev/net/tun"):
        return "no /dev/net/tun"
    return None


@unittest.skipIf(guest_missing(), guest_missing())
class GuestNet(NsCase):
    """The test guest (tests/guest) with each of QEMU's NIC models, its tap
    on a bridge network-bridge made over eth0 and put there by vif-bridge:
    it is reachable from the host and from the peer on the far side of the
    uplink, reaches the peer itself, and moves bytes both ways through its
    TCP services (tests/guest/README.md)."""

    def boot(self, model):
        self.nb("start", "netdev=eth0", "bridge=xenbr0")
        self.ip_host("tuntap", "add", "dev", "vif1.0", "mode", "tap")
        self.vb("online", vif="vif1.0", bridge="xenbr0", mac=GUEST_MAC)
        kernel = os.path.join(GUEST_DIR, "vmlinux")
        if not os.path.exists(kernel):
            kernel = os.path.join(GUEST_DIR, "vmlinuz")
        serial = os.path.join(self.state, "serial.log")
        qemu = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, QEMU, "-machine", "pc,accel=tcg", "-m", "256",
             "-nodefaults", "-no-user-config", "-display", "none",
             "-kernel", kernel, "-initrd", os.path.join(GUEST_DIR, "initrd.img"),
             "-append", "console=ttyS0 quiet panic=-1 ovs.ip=%s/24 ovs.gw=%s"
             % (GUEST_V4, PEER_V4),
             "-serial", "file:" + serial,
             "-netdev", "tap,id=n0,ifname=vif1.0,script=no,downscript=no",
             "-device", "%s,netdev=n0,mac=%s" % (model, GUEST_MAC)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.addCleanup(_end, qemu)
        deadline = time.monotonic() + BOOT_TIMEOUT
        text = ""
        while "OVS-GUEST READY" not in text:
            if qemu.poll() is not None:
                self.fail("QEMU exited with %s: %s" % (qemu.returncode, qemu.stderr.read()))
            if time.monotonic() > deadline:
                self.fail("no OVS-GUEST READY in %d s; serial:\n%s" % (BOOT_TIMEOUT, text))
            time.sleep(0.1)
            if os.path.exists(serial):
                with open(serial, errors="replace") as f:
                    text = f.read()
        self.assertIn("OVS-GUEST NET eth0 %s" % GUEST_V4, text)
        return qemu

    def check_guest(self, model):
        qemu = self.boot(model)
        for ns in (self.ns, self.peer):
            run("ip", "netns", "exec", ns, "ping", "-c", "1", "-W", "5", GUEST_V4)
        r = run("ip", "netns", "exec", self.ns, sys.executable, "-c", GUEST_CLIENT,
                GUEST_V4, PEER_V4)
        got = json.loads(r.stdout)
        self.assertEqual(got["ping"], "ok " + PEER_V4)
        self.assertEqual(got["ping_bad"], "bad address")
        self.assertEqual(got["echo"], "hello")
        self.assertEqual(got["counted"], got["sent"])
        # Far below what TCG manages (10-300 MB/s): only that bytes flow.
        self.assertGreater(got["tx_rate"], 1e6)
        self.assertGreater(got["rx_rate"], 1e6)
        print("# %s: guest transmit %.1f MB/s, guest receive %.1f MB/s"
              % (model, got["tx_rate"] / 1e6, got["rx_rate"] / 1e6), flush=True)
        _end(qemu)
        self.vb("offline", vif="vif1.0", bridge="xenbr0")
        self.nb("stop", "bridge=xenbr0")
        self.assert_unbridged()

    def test_e1000(self):
        self.check_guest("e1000")

    def test_i82557b(self):
        self.check_guest("i82557b")

    def test_rtl8139(self):
        self.check_guest("rtl8139")

    def test_virtio(self):
        self.check_guest("virtio-net-pci")


# Run in the host namespace: the guest's services (tests/guest/README.md),
# each for a second at most; prints what it saw as JSON.
GUEST_CLIENT = r"""
import json, socket, sys, time
guest, peer = sys.argv[1:3]
def conn(port):
    return socket.create_connection((guest, port), timeout=20)
def line(port, data):
    c = conn(port); c.sendall(data); c.shutdown(socket.SHUT_WR)
    r = c.makefile().readline().strip(); c.close(); return r
out = {"ping": line(7005, peer.encode() + b"\n"), "ping_bad": line(7005, b"x;y\n"),
       "echo": line(7004, b"hello\n")}
c, n, t = conn(7002), 0, time.monotonic()
while time.monotonic() - t < 1:
    n += len(c.recv(1 << 16))
out["tx_rate"] = n / (time.monotonic() - t); c.close()
c, n, t, block = conn(7003), 0, time.monotonic(), bytes(1 << 16)
while time.monotonic() - t < 1:
    n += c.send(block)
c.shutdown(socket.SHUT_WR)
out["counted"] = int(c.makefile().readline()); out["sent"] = n
out["rx_rate"] = n / (time.monotonic() - t); c.close()
c = conn(7001); c.sendall(bytes(1 << 20)); c.close()
print(json.dumps(out))
"""


ECHO_SERVER = r"""
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 7007)); s.listen(1); s.settimeout(60)
print("listening", flush=True)
c, _ = s.accept(); c.settimeout(60)
while True:
    b = c.recv(4096)
    if not b: break
    c.sendall(b)
"""
ECHO_CLIENT = r"""
import socket, sys
c = socket.create_connection((sys.argv[1], 7007), timeout=20)
f = c.makefile("rwb")
for line in sys.stdin:
    f.write(line.encode()); f.flush()
    sys.stdout.write(f.readline().decode()); sys.stdout.flush()
"""


def _end(p):
    """End a helper process this test started, by its pid."""
    if p.poll() is None:
        p.kill()
    p.wait(timeout=TIMEOUT)
    for f in (p.stdin, p.stdout, p.stderr):
        if f:
            f.close()


if __name__ == "__main__":
    main()
