"""test_network_info.py - the network view end to end, in a network namespace
this test makes (ovs8-nv-<pid>) and deletes at the end, pass or fail:
get_network_info shows a bridge and a veth made with `ip`; a bridge port set
down shows carrier false within a second and the agent logs the uplink's
carrier loss (from the kernel's event: the agent never polls); events lost
while the agent is stopped (SIGSTOP) are made good by a full re-read;
create_bridge / delete_bridge through hooks/network-bridge; delete_bridge
refused while a guest tap (vif...) is a port.

The whole test runs inside the namespace: the file starts itself again under
`ip netns exec`, so the agent, `ip` and the XML-RPC client all see the
namespace's devices and its loopback, and nothing outside it is touched.
Needs root and iproute2; skipped otherwise.

Run: python3 tests/e2e/test_network_info.py [test_name...]
"""

import os
import shutil
import signal
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import agentfix  # noqa: E402
from tap import main  # noqa: E402

INSIDE = "OVS_NV_NETNS"      # set in the copy running inside the namespace
HOST = "127.0.0.1"
HOOKS = os.path.join(agentfix.REPO, "hooks")


def ip(*args, check=True):
    r = subprocess.run(["ip"] + list(args), capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        raise AssertionError("ip %s: %s" % (" ".join(args), r.stderr.strip()))
    return r


def can_run():
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    if not shutil.which("ip"):
        return "needs iproute2"
    return None


def hooks_ready():
    """create_bridge needs the hook runner in the agent and the script."""
    if not os.access(os.path.join(HOOKS, "network-bridge"), os.X_OK):
        return "hooks/network-bridge is not there yet"
    if not os.path.exists(os.path.join(agentfix.REPO, "agent", "base", "hook.c")):
        return "the hook runner (agent/base/hook.c) is not there yet"
    return None


def by_name(items):
    return {x["name"]: x for x in items}


class NetCase(agentfix.AgentCase):
    """An agent with the repository's hooks; devices a test makes are
    deleted after it."""
    agent_kw = {"host": HOST, "extra": {"hooks_dir": HOOKS}}

    def setUp(self):
        self.made = []

    def tearDown(self):
        for dev in reversed(self.made):
            ip("link", "del", dev, check=False)

    def link(self, *args, name):
        ip("link", "add", name, *args)
        self.made.append(name)

    def info(self):
        return self.agent.proxy().get_network_info()


@unittest.skipIf(can_run(), can_run())
class NetworkInfo(NetCase):
    def wait_for(self, pred, what, timeout=1.0):
        deadline = time.monotonic() + timeout
        while True:
            info = self.info()
            if pred(info):
                return info
            if time.monotonic() > deadline:
                self.fail("%s not seen within %.1f s: %r" % (what, timeout, info))
            time.sleep(0.05)

    def log_has(self, text, timeout=2.0):
        deadline = time.monotonic() + timeout
        while text not in self.agent.log():
            if time.monotonic() > deadline:
                self.fail("the agent log has no %r:\n%s" % (text, self.agent.log()[-3000:]))
            time.sleep(0.05)

    def test_loopback_and_shape(self):
        info = self.info()
        self.assertEqual(sorted(info), ["bridges", "links"])
        lo = by_name(info["links"])["lo"]
        self.assertEqual(lo["kind"], "loopback")
        self.assertIn("127.0.0.1/8", lo["addresses"])
        self.assertEqual(lo["master"], "")
        for key in ("name", "kind", "carrier", "speed_mbps", "mtu", "mac", "master",
                    "addresses"):
            self.assertIn(key, lo)

    def test_bridge_and_veth(self):
        self.link("type", "bridge", name="nvbr0")
        self.link("type", "veth", "peer", "name", "nvpeer0", name="nvveth0")
        ip("link", "set", "nvveth0", "master", "nvbr0")
        ip("addr", "add", "192.0.2.1/24", "dev", "nvbr0")
        ip("addr", "add", "2001:db8::1/64", "dev", "nvbr0", "nodad")
        for dev in ("nvbr0", "nvveth0", "nvpeer0"):
            ip("link", "set", dev, "up")
        want = ["192.0.2.1/24", "2001:db8::1/64"]
        info = self.wait_for(lambda i: "nvbr0" in by_name(i["bridges"]) and
                             by_name(i["bridges"])["nvbr0"]["carrier"] and
                             by_name(i["bridges"])["nvbr0"]["addresses"][:2] == want,
                             "the bridge, up, with both addresses")
        br = by_name(info["bridges"])["nvbr0"]
        self.assertEqual(br["ports"], ["nvveth0"])
        # IPv4 first, then IPv6 in address order (a link-local fe80:: may follow)
        self.assertTrue(all(a.startswith("fe80:") for a in br["addresses"][2:]), br)
        self.assertEqual(br["mtu"], 1500)
        self.assertRegex(br["mac"], r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")
        self.assertNotIn("nvbr0", by_name(info["links"]))
        veth = by_name(info["links"])["nvveth0"]
        self.assertEqual(veth["kind"], "veth")
        self.assertEqual(veth["master"], "nvbr0")
        self.assertTrue(veth["carrier"])
        self.assertEqual(veth["speed_mbps"], 10000)  # what veth reports
        self.assertEqual(by_name(info["links"])["nvpeer0"]["master"], "")
        # Gone again: the view follows deletions too.
        ip("link", "del", "nvbr0")
        self.made.remove("nvbr0")
        info = self.wait_for(lambda i: "nvbr0" not in by_name(i["bridges"]) and
                             by_name(i["links"])["nvveth0"]["master"] == "",
                             "the bridge gone and its port free")

    def test_uplink_carrier_from_events(self):
        self.link("type", "bridge", name="nvbr1")
        self.link("type", "veth", "peer", "name", "nvup1p", name="nvup1")
        ip("link", "set", "nvup1", "master", "nvbr1")
        for dev in ("nvbr1", "nvup1", "nvup1p"):
            ip("link", "set", dev, "up")
        self.wait_for(lambda i: by_name(i["links"]).get("nvup1", {}).get("carrier"),
                      "the uplink's carrier")
        t0 = time.monotonic()
        ip("link", "set", "nvup1p", "down")   # the far end: nvup1 loses its carrier
        self.wait_for(lambda i: not by_name(i["links"])["nvup1"]["carrier"],
                      "carrier false")
        self.assertLess(time.monotonic() - t0, 1.0)
        self.log_has("uplink nvup1 of bridge nvbr1 lost its carrier")
        ip("link", "set", "nvup1p", "up")
        self.wait_for(lambda i: by_name(i["links"])["nvup1"]["carrier"], "carrier back")
        self.log_has("uplink nvup1 of bridge nvbr1 has a carrier again")

    def test_lost_events_are_read_again(self):
        """Events the kernel drops while the agent is stopped (its socket's
        buffer overflows) are made good by a full re-read: what changed
        shows, what went away goes."""
        self.link("type", "bridge", name="nvlots")
        self.link("type", "bridge", name="nvgone")
        self.wait_for(lambda i: "nvgone" in by_name(i["bridges"]), "the bridges")
        n = 6000   # MTU changes: each one an RTM_NEWLINK of a few KiB
        batch = "".join("link set nvlots mtu %d\n" % (1280 + i % 200) for i in range(n))
        batch += "link add nvnew type bridge\nlink del nvgone\n"
        self.agent.signal(signal.SIGSTOP)
        try:
            self.made.append("nvnew")
            self.made.remove("nvgone")
            r = subprocess.run(["ip", "-batch", "-"], input=batch, capture_output=True,
                               text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr)
        finally:
            self.agent.signal(signal.SIGCONT)
        self.log_has("the kernel dropped events (socket buffer full); "
                     "reading the whole view again", timeout=10)
        last = 1280 + (n - 1) % 200
        self.wait_for(lambda i: "nvnew" in by_name(i["bridges"]) and
                      "nvgone" not in by_name(i["bridges"]) and
                      by_name(i["bridges"])["nvlots"]["mtu"] == last,
                      "the view as it is now", timeout=5)


@unittest.skipIf(can_run() or hooks_ready(), can_run() or hooks_ready())
class Bridges(NetCase):
    """create_bridge / delete_bridge run hooks/network-bridge."""

    def test_names_are_checked(self):
        p = self.agent.proxy()
        for bad in ("", "a" * 16, "-x", "a b", "a/b", "br;x", "..", "x\u00e9"):
            self.fault(1000, p.create_bridge, bad, "eth0")
            self.fault(1000, p.create_bridge, "nvbr9", bad)
            self.fault(1000, p.delete_bridge, bad)

    def test_delete_missing_bridge(self):
        msg = self.fault(1001, self.agent.proxy().delete_bridge, "nvnone0")
        self.assertIn("nvnone0", msg)

    def test_create_and_delete(self):
        ip("link", "add", "nvup5", "type", "veth", "peer", "name", "nvup5p")
        self.made.append("nvup5")
        ip("addr", "add", "198.51.100.5/24", "dev", "nvup5")
        for dev in ("nvup5", "nvup5p"):
            ip("link", "set", dev, "up")
        p = self.agent.proxy()
        p.create_bridge("nvbr5", "nvup5")
        self.made.insert(0, "nvbr5")
        br = by_name(self.info()["bridges"]).get("nvbr5")
        self.assertIsNotNone(br, "the bridge is there when create_bridge answers")
        self.assertIn("nvup5", br["ports"])
        self.assertIn("198.51.100.5/24", br["addresses"])
        runs = p.list_hook_runs(5)
        start = [r for r in runs if r["event"] == "create_bridge"][0]
        self.assertEqual(start["kind"], "network")
        self.assertEqual(start["exit_status"], 0)
        self.assertIn("start netdev=nvup5 bridge=nvbr5", start["argv"])
        p.delete_bridge("nvbr5")
        info = self.info()
        self.assertNotIn("nvbr5", by_name(info["bridges"]))
        self.assertIn("198.51.100.5/24", by_name(info["links"])["nvup5"]["addresses"])

    def test_delete_refused_with_a_guest_tap(self):
        ip("link", "add", "nvbr6", "type", "bridge")
        self.made.append("nvbr6")
        ip("tuntap", "add", "dev", "vif7.0", "mode", "tap")
        self.made.append("vif7.0")
        ip("link", "set", "vif7.0", "master", "nvbr6")
        p = self.agent.proxy()
        deadline = time.monotonic() + 1
        while "vif7.0" not in by_name(self.info()["bridges"]).get("nvbr6", {}).get("ports", []):
            self.assertLess(time.monotonic(), deadline, "the tap is seen as a port")
            time.sleep(0.05)
        msg = self.fault(1004, p.delete_bridge, "nvbr6")
        self.assertIn("vif7.0", msg)
        self.assertIn("nvbr6", by_name(self.info()["bridges"]))

    def test_network_bridges_at_start(self):
        """agent.ini's network_bridges: each is brought up at start; one that
        fails is logged and the agent starts anyway."""
        ip("link", "add", "nvup8", "type", "veth", "peer", "name", "nvup8p")
        self.made.append("nvup8")
        self.made.insert(0, "nvbr8")
        extra = {"hooks_dir": HOOKS, "network_bridges": "nvbr8:nvup8, nvbr9:nvnosuch"}
        with agentfix.Agent(host=HOST, extra=extra) as a:
            deadline = time.monotonic() + 30
            while "network_bridges: bridge nvbr9" not in a.log() or \
                    "network_bridges: bridge nvbr8" not in a.log():
                self.assertLess(time.monotonic(), deadline, a.log()[-3000:])
                time.sleep(0.1)
            log = a.log()
            self.assertIn("network_bridges: bridge nvbr8 on nvup8 is up", log)
            self.assertRegex(log, r"ERROR \[net\] network_bridges: bridge nvbr9 on nvnosuch "
                                  r"was not brought up: .*network-bridge")
            br = by_name(a.proxy().get_network_info()["bridges"])
            self.assertIn("nvup8", br["nvbr8"]["ports"])
            self.assertNotIn("nvbr9", br)
            a.proxy().delete_bridge("nvbr8")


# Where network-bridge writes what start did, per network namespace (its
# default: the agent gives hooks no environment of its own to change it).
BRIDGE_STATE = "/run/ovs-agent/network-bridge"


def forget_bridge_state(ino):
    """network-bridge's notes about the namespace this test made (a bridge
    a failed test left), and the directories above if they are empty."""
    shutil.rmtree(os.path.join(BRIDGE_STATE, "net-%d" % ino), ignore_errors=True)
    for d in (BRIDGE_STATE, os.path.dirname(BRIDGE_STATE)):
        try:
            os.rmdir(d)
        except OSError:
            break


def outer():
    """Make the namespace, run this file again inside it, delete it."""
    ns = "ovs8-nv-%d" % os.getpid()
    ip("netns", "add", ns)
    ino = os.stat("/run/netns/" + ns).st_ino
    child = None

    def on_term(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    try:
        env = dict(os.environ, **{INSIDE: ns})
        child = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable,
                                  os.path.abspath(__file__)] + sys.argv[1:], env=env)
        return child.wait()
    finally:
        if child and child.poll() is None:
            child.terminate()
            try:
                child.wait(20)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(10)
        ip("netns", "del", ns, check=False)
        forget_bridge_state(ino)


if __name__ == "__main__":
    if os.environ.get(INSIDE) or can_run():
        if os.environ.get(INSIDE):
            ip("link", "set", "lo", "up")
        main()
    else:
        sys.exit(outer())
